"""`layerlab export PROJECT --weights W --format F --out P`: write a trained network for use
without LayerLab (onnx, pt2, source), for LayerLab again (native), as a model card, or as a
standalone training script. PROJECT may be a run folder (its project and best weights are used)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .cli import CliError, load_project_or_exit

FORMATS = ("native", "onnx", "pt2", "source", "card", "train-script")


def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained network (native, onnx, pt2, source, card, train-script)",
                       description=__doc__)
    p.add_argument("project", help="a *.layerlab.json file, or a run folder")
    p.add_argument("--weights", "-w", help="safetensors weights (default: the run folder's best.safetensors)")
    p.add_argument("--format", "-f", required=True, choices=FORMATS, dest="fmt")
    p.add_argument("--out", "-o", required=True, help="output file (a folder for native)")
    p.add_argument("--preprocessing", help="preprocessing.json (default: the one beside the weights)")
    p.add_argument("--run", help="run folder with metrics.csv (card; default: the weights' folder)")
    p.add_argument("--opset", type=int, help="ONNX opset (default: the exporter's)")
    p.add_argument("--quantize", choices=("int8-dynamic", "int8-static", "fp16"),
                   help="onnx only: shrink with onnxruntime's quantization; reports size and test accuracy "
                        "before and after")
    p.add_argument("--no-verify", action="store_true", help="skip comparing outputs with LayerLab's model")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--force", action="store_true", help="replace files the export would overwrite")
    p.set_defaults(func=run)


def _resolve(args) -> tuple[Path, Path | None, Path | None]:
    project = Path(args.project)
    weights = Path(args.weights) if args.weights else None
    run_dir = Path(args.run) if args.run else None
    if project.is_dir():
        run_dir = run_dir or project
        if weights is None:
            for name in ("best.safetensors", "last.safetensors", "weights.safetensors"):
                if (project / name).is_file():
                    weights = project / name
                    break
        project = project / "project.layerlab.json"
    return project, weights, run_dir


def run(args) -> int:
    from .export import ExportError, export
    from .export.preprocessing import read_preprocessing

    project_path, weights, run_dir = _resolve(args)
    project = load_project_or_exit(project_path)
    if weights is None and args.fmt not in ("train-script",):
        raise CliError("--weights is required (a safetensors file, e.g. a run's best.safetensors)", 2)
    try:
        pre = read_preprocessing(args.preprocessing) if args.preprocessing else None
        paths = export(project, weights, args.fmt, args.out, pre, run_dir=run_dir, opset=args.opset,
                       verify=not args.no_verify, base_dir=project_path.resolve().parent,
                       quantize=args.quantize, force=args.force)
    except ExportError as e:
        raise CliError(str(e), 2) from None
    report = {"format": args.fmt, "files": [str(p) for p in paths], **paths.info}
    if args.json:
        print(json.dumps(report))
        return 0
    for p in paths:
        print(f"wrote {p}")
    if paths.info.get("run_project"):
        print(paths.info["run_project"])
    if args.quantize:
        from .export.quantize import QUANT_KEYS, comparison_table
        print(comparison_table(paths.info))
    else:
        QUANT_KEYS = ()
    facts = [f"{k} {v:.2e}" if k == "max_abs_diff" and isinstance(v, float) else f"{k} {v}"
             for k, v in paths.info.items()
             if k not in ("format", "folder", "warnings", "run_project", *QUANT_KEYS) and v is not None]
    if facts:
        print(", ".join(facts))
    for w in paths.info.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)
    return 0
