"""Hostile-corpus cases that need a trained run (issue 13): crafted resume states, weights of the
wrong kind, and exports over files that exist or into another run's folder."""
from __future__ import annotations

import contextlib
import io
import json
import pickle
import shutil
from pathlib import Path

from layerlab.core.resources import template_path

from .hostile_corpus import Case, base_doc

STATE = "last.state.safetensors"


def _train(root: Path, name: str, schedule: str = "cosine") -> Path:
    from layerlab.core.cli import main
    d = root / name
    d.mkdir(parents=True)
    doc = base_doc()
    doc["training"]["schedule"] = schedule
    (d / "p.layerlab.json").write_text(json.dumps(doc))
    with contextlib.redirect_stdout(io.StringIO()):     # the bench's stdout is JSON lines only
        assert main(["train", str(d / "p.layerlab.json"), "--epochs", "2", "--out", str(d / "run")]) == 0
    return d / "run"


def _tamper(src: Path, dst: Path, change) -> Path:
    import torch  # noqa: F401  (safetensors.torch needs it)
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    shutil.copytree(src, dst)
    tensors = load_file(str(dst / STATE))
    with safe_open(str(dst / STATE), framework="pt") as f:
        state = json.loads(f.metadata()["state"])
    change(tensors, state)
    save_file(tensors, str(dst / STATE), metadata={"state": json.dumps(state)})
    return dst


def _moment(t):
    return next(k for k in t if k.startswith("opt.") and k.endswith("exp_avg"))


RESUME = {
    "rng_dtype": lambda t, s: t.update({"rng.torch": t["rng.torch"].float()}),
    "rng_size": lambda t, s: t.update({"rng.shuffle": t["rng.shuffle"][:7].clone()}),
    "plateau_types": lambda t, s: s.update({"scheduler": {"best": "x", "num_bad_epochs": [1], "mode": 3}}),
    "best_string": lambda t, s: s["trainer"].update({"best_value": "0.1"}),
    "epoch_1e11": lambda t, s: s["trainer"].update({"epoch": 10**11}),
    "step_1e11": lambda t, s: s["trainer"].update({"global_step": 10**11}),
    "moment_shape": lambda t, s: t.update({_moment(t): t[_moment(t)].reshape(-1)[:3].clone()}),
    "state_huge_int": lambda t, s: s["trainer"].update({"bad_epochs": 10**40}),
}


def _weights(run: Path, dst: Path, change) -> Path:
    from safetensors.torch import load_file, save_file
    tensors = {k: change(v) for k, v in load_file(str(run / "best.safetensors")).items()}
    save_file(tensors, str(dst))
    return dst


def build(root: Path) -> list[Case]:
    import torch
    cases: list[Case] = []
    run_a, run_b = _train(root, "trained_a"), _train(root, "trained_b")
    run_p = _train(root, "trained_plateau", "plateau")
    proj = run_a / "project.layerlab.json"
    for name, change in RESUME.items():
        src = run_p if name == "plateau_types" else run_a
        dst = _tamper(src, root / f"resume_{name}", change)
        cases.append(Case(f"resume_{name}", ["train", str(dst / "project.layerlab.json"), "--resume", str(dst),
                                             "--epochs", "4"]))
    w = root / "weights"
    w.mkdir()
    for name, change in (("bool", lambda v: v > 0), ("complex", lambda v: v.to(torch.complex64)),
                         ("int64", lambda v: v.long()), ("all_nan", lambda v: v * float("nan")),
                         ("inf", lambda v: v / 0)):
        path = _weights(run_a, w / f"{name}.safetensors", change)
        for fmt, suffix in (("source", ".py"), ("onnx", ".onnx")):
            cases.append(Case(f"weights_{name}_{fmt}", ["export", str(proj), "--weights", str(path), "--format", fmt,
                                                         "--out", str(w / f"{name}_{fmt}{suffix}")]))
    (w / "pickle.safetensors").write_bytes(pickle.dumps({"n2.weight": [1.0]}, protocol=4))
    (w / "lying_header.safetensors").write_bytes((10**15).to_bytes(8, "little") + b"{" + bytes(100))
    (w / "truncated.safetensors").write_bytes((run_a / "best.safetensors").read_bytes()[:300])
    for name in ("pickle", "lying_header", "truncated"):
        cases.append(Case(f"weights_{name}", ["export", str(proj), "--weights", str(w / f"{name}.safetensors"),
                                              "--format", "native", "--out", str(w / f"{name}_native")]))
    cases += _overwrites(root, run_a, run_b)
    return cases


def _overwrites(root: Path, run_a: Path, run_b: Path) -> list[Case]:
    out = root / "exports"
    out.mkdir()
    keep = {name: out / name for name in ("important.py", "net.safetensors", "card_loss.png", "m.onnx", "m.pt2")}
    for p in keep.values():
        p.write_bytes(b"someone's work\n")
    cases = [Case("overwrite_train_script", ["export", str(run_a), "--format", "train-script", "--out",
                                             str(keep["important.py"])], [keep["important.py"]]),
             Case("overwrite_source_weights", ["export", str(run_a), "--format", "source", "--out", str(out / "net.py")],
                  [keep["net.safetensors"]]),
             Case("overwrite_card_png", ["export", str(run_a), "--format", "card", "--out", str(out / "card.md")],
                  [keep["card_loss.png"]]),
             Case("overwrite_onnx", ["export", str(run_a), "--format", "onnx", "--out", str(keep["m.onnx"])],
                  [keep["m.onnx"]]),
             Case("overwrite_pt2", ["export", str(run_a), "--format", "pt2", "--out", str(keep["m.pt2"])],
                  [keep["m.pt2"]])]
    run_b_files = [p for p in run_b.iterdir() if p.is_file()]
    for force in ((), ("--force",)):
        cases.append(Case(f"native_into_other_run{'_force' if force else ''}",
                          ["export", str(run_a), "--format", "native", "--out", str(run_b), *force], run_b_files))
    text = root / "text_project"
    text.mkdir()
    shutil.copy(template_path("tiny_transformer"), text / "p.layerlab.json")
    (text / "corpus.txt").write_text("my own corpus\n")
    cases.append(Case("overwrite_corpus_txt", ["export", str(text / "p.layerlab.json"), "--format", "train-script",
                                               "--out", str(text / "train.py")], [text / "corpus.txt"]))
    for name, doc_change in (("card_mathtext_name", lambda d: d.update({"name": r"$\undefinedmacro{x}$"})),
                             ("card_links", lambda d: d.update({"description": "![p](http://t/p.png) "
                                                                "[x](javascript:alert(1))"}))):
        run = root / name
        shutil.copytree(run_a, run)
        doc = json.loads((run / "project.layerlab.json").read_text())
        doc_change(doc)
        (run / "project.layerlab.json").write_text(json.dumps(doc))
        cases.append(Case(name, ["export", str(run), "--format", "card", "--out", str(root / f"{name}.md")]))
    return cases
