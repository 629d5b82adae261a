"""`layerlab import MODEL.onnx --out FOLDER [--force]`: turn an ONNX model into an editable LayerLab
project with its weights (a folder holding project.layerlab.json, weights.safetensors and
preprocessing.json). Operators without a catalogue layer are named with their node, and nothing is
written then; an existing FOLDER is replaced only with --force."""
from __future__ import annotations

import json

from .cli import CliError


def register(sub) -> None:
    p = sub.add_parser("import", help="import an ONNX model as an editable project", description=__doc__)
    p.add_argument("model", help="an .onnx file (weights inside it, not in a separate data file)")
    p.add_argument("--out", "-o", required=True, help="the project folder to create")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from .importers import OnnxImportError, import_onnx, write_imported

    try:
        imported = import_onnx(args.model)
        files = write_imported(imported, args.out, force=args.force)
    except OnnxImportError as e:
        raise CliError(str(e), 2) from None
    report = {"files": [str(f) for f in files], **imported.info}
    if args.json:
        print(json.dumps(report))
        return 0
    for f in files:
        print(f"wrote {f}")
    diff = imported.info.get("max_abs_diff")
    print(f"{imported.info['layers']} layers from {imported.info['onnx_nodes']} ONNX nodes"
          + (f", max difference to the ONNX model {diff:.2e}" if diff is not None else ""))
    print(f"open {files[0]} in LayerLab; set its data before training")
    return 0
