"""Model card (Markdown): architecture table, data and set-up, metrics, and the loss curve as PNG.

Metrics come from a run folder (metrics.csv per epoch, result.json when the trainer wrote one,
config.json for seed/device/versions) when one is given; otherwise the card says none were found.
"""
from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import Any

from ..safe_text import strip_controls
from ..train.run_files import read_json, read_metrics
from .outcome import Exported
from .prepared import Prepared


def md(text: Any) -> str:
    """User text made inert in Markdown: HTML escaped, table pipes and newlines neutralized, link
    and image brackets escaped (no `![x](http://tracker)` or `[x](javascript:…)` in a card),
    control characters removed."""
    text = strip_controls(str(text).replace("\r", " ").replace("\n", " "))
    text = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return html.escape(text, quote=False).replace("|", "\\|")


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    return md(v)


def plot_loss(rows: list[dict[str, float]], path: Path, title: str = "") -> bool:
    """Train/validation loss per epoch as a PNG (matplotlib's Agg canvas, no pyplot state)."""
    if not rows or "epoch" not in rows[0]:
        return False
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    epochs = [r["epoch"] for r in rows]
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        ys = [r.get(key, float("nan")) for r in rows]
        if any(math.isfinite(y) for y in ys):
            ax.plot(epochs, ys, marker="o" if len(rows) < 30 else None, markersize=3, label=label)
    ax.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title, parse_math=False)   # "$\\undefined$" in a name is text, not mathtext
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(str(path), format="png")
    return True


def _setup_rows(prep: Prepared, config: dict) -> list[tuple[str, str]]:
    d, t = prep.project.data, prep.project.training
    rows = [("dataset", d.dataset + (f" ({d.path})" if d.path else "")),
            ("task", d.task),
            ("split", f"train {1 - d.val_fraction - d.test_fraction:.0%} / validation {d.val_fraction:.0%} / "
                      f"test {d.test_fraction:.0%}, seed {d.seed}"),
            ("preprocessing", "none" if prep.preprocessing["kind"] == "none" else
             f"{prep.preprocessing['kind']} (statistics fitted on the training split only)")]
    if d.options:
        rows.append(("data options", ", ".join(f"{k}={v}" for k, v in sorted(d.options.items()))))
    init = t.init + (f", overrides {dict(sorted(t.init_overrides.items()))}" if t.init_overrides else "")
    if "constant" in (t.init, *t.init_overrides.values()):
        init += f" (constant {t.init_constant})"
    rows.append(("initialization", init))
    loss = t.loss
    if t.loss == "cross_entropy" and t.label_smoothing:
        loss += f", label smoothing {t.label_smoothing}"
    if t.loss == "huber":
        loss += f", delta {t.huber_delta}"
    rows.append(("loss", loss))
    opt = f"{t.optimizer}, lr {t.lr}"
    if t.optimizer in ("momentum", "nesterov", "rmsprop"):
        opt += f", momentum {t.momentum}"
    if t.optimizer in ("adam", "adamw"):
        opt += f", betas ({t.beta1}, {t.beta2})"
    rows.append(("optimizer", opt))
    sched = {"step": f"step every {t.step_size} epochs × {t.gamma}", "exponential": f"exponential × {t.gamma}/epoch",
             "cosine": f"cosine to {t.min_lr}", "warmup_cosine": f"{t.warmup_epochs} warm-up epochs, then cosine",
             "cosine_restarts": f"cosine restarts (T0 {t.restart_epochs}, ×{t.restart_mult})",
             "one_cycle": "one-cycle", "plateau": f"reduce on plateau (patience {t.plateau_patience}, × {t.gamma})",
             }.get(t.schedule, t.schedule)
    rows.append(("schedule", sched))
    reg = [f"{k} {getattr(t, k)}" for k in ("weight_decay", "l2", "l1", "max_norm") if getattr(t, k)]
    drops = [f"{n.type} '{n.name}' p={n.params.get('p')}" for n in prep.project.graph.nodes.values()
             if n.spec.category == "Regularization"]
    rows.append(("regularization", ", ".join(reg + drops) or "none"))
    rows.append(("epochs / batch size", f"{t.epochs} / {t.batch_size}"))
    rows.append(("early stopping", f"on {t.monitor}, patience {t.patience}, min delta {t.min_delta}, "
                                   f"restore best: {'yes' if t.restore_best else 'no'}" if t.early_stopping else "off"))
    if t.clip != "none":
        rows.append(("gradient clipping", f"{t.clip} {t.clip_value}"))
    rows.append(("seed", str(t.seed)))
    resolved = config.get("resolved") if isinstance(config.get("resolved"), dict) else {}
    device = resolved.get("device", config.get("device", t.device))
    rows.append(("device", str(device) + (", mixed precision" if t.mixed_precision else "")))
    return rows


def export_card(prep: Prepared, out: str | os.PathLike, run_dir=None) -> Exported:
    from ..project import atomic_write_text

    out = Path(out)
    if out.suffix.lower() != ".md":
        out = out.with_suffix(".md")
    out.parent.mkdir(parents=True, exist_ok=True)
    run = Path(run_dir) if run_dir else None
    rows = read_metrics(run) if run else []
    result = read_json(run / "result.json") if run else {}
    config = read_json(run / "config.json") if run else {}
    lines = _model_section(prep)
    lines += ["", "## Data and set-up", "", "| setting | value |", "| --- | --- |"]
    lines += [f"| {k} | {md(v)} |" for k, v in _setup_rows(prep, config)]
    lines += ["", "## Metrics", ""]
    paths = [out]
    if rows:
        lines += _metrics_table(rows, prep.project.training.monitor)
        png = out.with_name(out.stem + "_loss.png")
        if plot_loss(rows, png, title=prep.project.name):
            lines += ["", f"![loss curve]({png.name})", "",
                      f"*Training and validation loss per epoch ({len(rows)} epochs).*"]
            paths.append(png)
    else:
        lines.append("No metrics: export from a run folder (its best.safetensors) to include them.")
    lines += _result_table(result)
    from .calibration_card import calibration_lines
    lines += calibration_lines(prep, run, result)
    lines += _provenance(prep, run, config)
    atomic_write_text(out, "\n".join(lines))
    return Exported(paths, {"format": "card", "epochs": len(rows), "plot": len(paths) > 1})


def _model_section(prep: Prepared) -> list[str]:
    project, c = prep.project, prep.compiled
    a = c.analysis
    scale, example = prep.input_scale
    lines = [f"# {md(project.name)}: model card", ""]
    if project.description.strip():
        lines += [md(project.description.strip()), ""]
    lines += ["## Model", "",
              f"- Input: {md(scale)}; output: `{c.output_type}`",
              *([f"- Example input: `{example}`"] if example else []),
              f"- Trainable parameters: {a.total_params:,}",
              f"- Layers: {len(a.order)}", "",
              "| node | type | output shape | params |", "| --- | --- | --- | ---: |"]
    for nid in a.order:
        node = project.graph.nodes[nid]
        lines.append(f"| {md(node.name)} | {md(node.type)} | `{a.shapes[nid]}` | {a.param_counts.get(nid, 0):,} |")
    return lines


def _metrics_table(rows: list[dict], monitor: str) -> list[str]:
    """The last epoch's metrics beside the best epoch's by the monitored metric."""
    last = rows[-1]
    lower = monitor in ("val_loss", "val_mae")
    scored = [r for r in rows if monitor in r and math.isfinite(r[monitor])]
    best = (min if lower else max)(scored, key=lambda r: r[monitor]) if scored else None
    keys = [k for k in last if k not in ("epoch",)]
    lines = ["| metric | last epoch" + (f" | best epoch ({monitor})" if best else "") + " |",
             "| --- | ---:" + (" | ---:" if best else "") + " |"]
    lines.append(f"| epoch | {int(last['epoch'])}" + (f" | {int(best['epoch'])}" if best else "") + " |")
    for k in keys:
        lines.append(f"| {md(k)} | {_fmt(last.get(k))}" + (f" | {_fmt(best.get(k))}" if best else "") + " |")
    return lines


def _result_table(result: dict) -> list[str]:
    if not result:
        return []
    flat = {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool))
            and k not in ("run_dir", "monitor") and v != ""}
    for group in ("val_metrics", "test_metrics"):        # the trainer nests these
        if isinstance(result.get(group), dict):
            flat.update({k: v for k, v in result[group].items() if isinstance(v, (int, float))})
    if not flat:
        return []
    return ["", "Final result (result.json):", "", "| key | value |", "| --- | --- |",
            *(f"| {md(k)} | {_fmt(v)} |" for k, v in flat.items())]


def _provenance(prep: Prepared, run: Path | None, config: dict) -> list[str]:
    lines = ["", "## Provenance", ""]
    if prep.weights_path:
        lines.append(f"- Weights: `{md(prep.weights_path.name)}` (safetensors, keyed by node id)")
    if run:
        lines.append(f"- Run folder: `{md(run.name)}`")
    versions = config.get("versions") if isinstance(config.get("versions"), dict) else {}
    for k, v in versions.items():
        lines.append(f"- {md(k)} {md(v)}")
    return lines + ["- Made with LayerLab.", ""]
