"""Sampling from a next-token model (the `text` data set: ids are ASCII codes): an autoregressive
loop that feeds the model its own output, with temperature and top-k, seeded.

Teacher-forced validation loss hides how a model behaves on its own output; generation shows it.
Each step runs the model on the last `context` tokens (the Input's length), takes the logits of
the last position, divides them by the temperature, keeps the k largest (top-k; 0 = all) and
draws with torch.multinomial from a generator seeded with `seed`, so the same seed gives the same
text. Temperature 0 is greedy (argmax). `perplexity` is exp(mean cross-entropy) over every
position of a split (teacher forcing), shown next to the samples.

`generate_view(trainer, ...)` is the training process's "generate" job (model_views.JOBS);
`generate_run(run_dir, ...)` loads a run folder's project, weights and data (`layerlab generate`,
the dashboard after the run)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

MAX_LENGTH = 10_000


class GenerateError(ValueError):
    """Why a run cannot generate, in one line."""


def check_sequence(project) -> int:
    """The context length of a next-token project (the text data set, a causal [T] → [T, V]
    model); GenerateError otherwise."""
    from ..analysis import analyze
    if project.data.dataset != "text":
        raise GenerateError(f"'{project.name}' trains on the {project.data.dataset or 'file'} data set: "
                            "generation needs a next-token model on the text data set (the tiny_transformer template)")
    a = analyze(project.graph)
    if not a.ok or a.input_id not in a.shapes or a.output_id not in a.shapes:
        raise GenerateError(f"'{project.name}' does not compile: fix the graph first")
    t_in, t_out = a.shapes[a.input_id], a.shapes[a.output_id]
    if len(t_in.shape) != 1 or len(t_out.shape) != 2 or t_out.shape[0] != t_in.shape[0]:
        raise GenerateError(f"'{project.name}' maps {t_in} to {t_out}: generation needs a next-token "
                            "model [B, T] → [B, T, vocab]")
    return int(t_in.shape[0])


def check_params(length, temperature, top_k) -> None:
    if not 1 <= int(length) <= MAX_LENGTH:
        raise GenerateError(f"length {length}: choose 1 to {MAX_LENGTH:,} tokens")
    if not math.isfinite(float(temperature)) or float(temperature) < 0:
        raise GenerateError(f"temperature {temperature}: choose 0 (greedy) or more")
    if int(top_k) < 0:
        raise GenerateError(f"top-k {top_k}: choose 0 (all tokens) or more")


def sample(model, prompt: list[int], length: int, context: int, temperature: float = 1.0, top_k: int = 0,
           seed: int = 0, device="cpu") -> list[int]:
    """`length` new token ids after `prompt` (which must hold at least one id)."""
    check_params(length, temperature, top_k)
    gen = torch.Generator(device=device).manual_seed(int(seed))
    ids = torch.tensor([list(prompt)], dtype=torch.long, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for _ in range(int(length)):
                logits = model(ids[:, -context:])[0, -1].float()
                ids = torch.cat([ids, _pick(logits, temperature, top_k, gen)[None, None]], 1)
    finally:
        model.train(was_training)
    return ids[0, len(prompt):].tolist()


def _pick(logits: torch.Tensor, temperature: float, top_k: int, gen) -> torch.Tensor:
    if temperature == 0:
        return logits.argmax()
    z = logits / float(temperature)
    if 0 < top_k < z.numel():
        kth = torch.topk(z, int(top_k)).values[-1]
        z = z.masked_fill(z < kth, float("-inf"))
    return torch.multinomial(torch.softmax(z, -1), 1, generator=gen)[0]


def perplexity(model, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float | None:
    """exp(mean cross-entropy) over every position of (x, y), teacher-forced; None for no data."""
    if x.shape[0] == 0:
        return None
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = torch.cat([model(x[lo:lo + batch]).float() for lo in range(0, x.shape[0], batch)])
    finally:
        model.train(was_training)
    return perplexity_of(out, y, batch)


def perplexity_of(out: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float:
    """exp(mean cross-entropy) of outputs [N, T, V] already computed for targets y [N, T], summed
    in chunks of `batch` samples."""
    total = 0.0
    with torch.inference_mode():
        for lo in range(0, out.shape[0], batch):
            o, t = out[lo:lo + batch], y[lo:lo + batch]
            total += float(torch.nn.functional.cross_entropy(o.reshape(-1, o.shape[-1]), t.reshape(-1),
                                                             reduction="sum"))
    return math.exp(total / y.numel())


def unigram_perplexity(y_train: torch.Tensor, y_eval: torch.Tensor, vocab: int) -> float:
    """The perplexity on y_eval of the token frequencies of y_train (add-one smoothed): the bar a
    model that ignores context reaches."""
    counts = torch.bincount(y_train.reshape(-1), minlength=vocab).double() + 1
    logp = (counts / counts.sum()).log()
    return math.exp(-float(logp[y_eval.reshape(-1)].mean()))


def _text(prompt: str, length, temperature, top_k, seed, model, context, device, val) -> dict[str, Any]:
    from ..data.builtin import decode_text, encode_text
    ids = encode_text(prompt or "\n").tolist()
    new = sample(model, ids, length, context, float(temperature), int(top_k), int(seed), device)
    return {"prompt": prompt, "text": decode_text(new), "ids": new, "length": int(length),
            "temperature": float(temperature), "top_k": int(top_k), "seed": int(seed),
            "val_perplexity": perplexity(model, *val) if val is not None else None}


def generate_view(trainer, prompt: str = "", length: int = 200, temperature: float = 1.0, top_k: int = 0,
                  seed: int = 0) -> dict[str, Any]:
    """The training process's job: sample from the model as it is now (between two steps)."""
    s = trainer.setup
    device = s.data["x_val"].device
    val = (s.data["x_val"], s.data["y_val"])
    try:    # a plain ValueError: the dashboard shows its sentence
        context = check_sequence(trainer.project)
        out = _text(prompt, length, temperature, top_k, seed, s.compiled.module, context, device, val)
    except GenerateError as e:
        raise ValueError(str(e)) from None
    out["epoch"] = len(getattr(trainer, "history", []) or [])
    return out


def generate_run(run_dir, prompt: str = "", length: int = 200, temperature: float = 1.0, top_k: int = 0,
                 seed: int = 0, base_dir=None, with_perplexity: bool = True) -> dict[str, Any]:
    """Sample from a run folder's weights (best when the run restored them, else last)."""
    from ..compiler import compile_graph
    from ..weights import WeightsError, load_weights
    from .run_files import read_json, read_project

    run = Path(run_dir)
    project = read_project(run) if run.is_dir() else None
    if project is None:
        raise GenerateError(f"{run} is not a run folder (no readable project.layerlab.json)")
    context = check_sequence(project)
    check_params(length, temperature, top_k)
    restored = read_json(run / "result.json").get("restored_epoch")
    names = ("best.safetensors", "last.safetensors") if restored else ("last.safetensors", "best.safetensors")
    path = next((run / n for n in names if (run / n).is_file()), None)
    if path is None:
        raise GenerateError(f"{run} holds no weights (best.safetensors or last.safetensors): train it first")
    compiled = compile_graph(project.graph)
    try:
        load_weights(compiled.module, compiled.node_of_module, path)
    except WeightsError as e:
        raise GenerateError(str(e)) from None
    val = None
    if with_perplexity:
        from ..data import load
        ds = load(project.data, base_dir if base_dir is not None else run.resolve().parent.parent)
        val = (ds.x_val, ds.y_val)
    out = _text(prompt, length, temperature, top_k, seed, compiled.module, context, "cpu", val)
    out["weights"] = path.name
    return out
