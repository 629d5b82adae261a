"""What an export will write, worked out before it writes anything: existing files are replaced
only when the caller says so (`--force` on the command line, a confirmation naming every file in
the app), and nothing is ever written into another training run's folder."""
from __future__ import annotations

from pathlib import Path

from .outcome import ExportError

RUN_MARKERS = ("last.state.safetensors", "metrics.csv")


def planned_files(project, fmt: str, out) -> list[Path]:
    """Every file the export of `project` in `fmt` to `out` writes (each exporter's own naming)."""
    out = Path(out)
    if fmt == "native":
        return [out / n for n in ("project.layerlab.json", "weights.safetensors", "preprocessing.json",
                                  "export.json")]
    if fmt == "onnx":
        return [out if out.suffix == ".onnx" else
                out.with_suffix(out.suffix + ".onnx") if out.suffix else out.with_suffix(".onnx")]
    if fmt == "pt2":
        return [out if out.suffix == ".pt2" else out.with_suffix(".pt2")]
    if fmt == "source":
        py = out if out.suffix == ".py" else out.with_suffix(".py")
        return [py, py.with_suffix(".safetensors"), py.with_name(py.stem + ".preprocess.safetensors")]
    if fmt == "card":
        md = out if out.suffix.lower() == ".md" else out.with_suffix(".md")
        return [md, md.with_name(md.stem + "_loss.png")]
    if fmt == "train-script":
        py = out if out.suffix == ".py" else out.with_suffix(".py")
        from .train_script import TABULAR
        ds = project.data.dataset      # the data file shipped beside the script (the corpus, a built-in table)
        beside = ["corpus.txt"] if ds == "text" else [f"{ds}.csv.gz"] if ds in ("digits", *TABULAR) else []
        return [py] + [py.with_name(n) for n in beside]
    return []


def existing_files(project, fmt: str, out) -> list[Path]:
    """The planned files that exist already (what an export would replace)."""
    return [p for p in planned_files(project, fmt, out) if p.exists() or p.is_symlink()]


def is_run_folder(folder: Path) -> bool:
    return any((folder / m).is_file() for m in RUN_MARKERS)


def guard(project, fmt: str, out, run_dir=None, force: bool = False) -> None:
    """ExportError when the export would write into another run's folder, or replace files
    without `force`."""
    own = Path(run_dir).resolve() if run_dir else None
    for folder in {p.parent for p in planned_files(project, fmt, out)}:
        if folder.is_dir() and is_run_folder(folder) and folder.resolve() != own:
            raise ExportError(f"{folder} is the folder of another training run, and exporting there would replace "
                              "its files and break its resume: export to another folder")
    there = existing_files(project, fmt, out)
    for p in there:
        if not p.is_file() or p.is_symlink():
            raise ExportError(f"{p} exists and is not a plain file: export to another path")
    if there and not force:
        names = ", ".join(str(p) for p in there)
        raise ExportError(f"the export would replace {names}: pass --force to replace "
                          f"{'it' if len(there) == 1 else 'them'}, or choose another --out")
