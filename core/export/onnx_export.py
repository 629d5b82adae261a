"""ONNX: `torch.onnx.export(dynamo=True)` of network(preprocess(x)), so the file takes raw inputs
exactly as LayerLab's data loader produces them (before preprocessing) and returns the network's
outputs (logits for classification). The batch axis is dynamic. The opset and the LayerLab facts
(preprocessing, input/output shapes, node names) are recorded in the model's metadata_props."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .compare import worst_diff
from .outcome import ExportError, Exported
from .prepared import Prepared, example_batch, example_raw_batch
from .preprocessing import deployable
from .quiet import quiet_exporters


def _dynamic(batch_name: str = "batch"):
    import torch
    return {"x": {0: torch.export.Dim(batch_name, min=1, max=1 << 20)}}


def export_onnx(prep: Prepared, out: str | os.PathLike, opset: int | None = None,
                verify: bool = True) -> Exported:
    import torch

    out = Path(out)
    if out.suffix != ".onnx":
        out = out.with_suffix(out.suffix + ".onnx") if out.suffix else out.with_suffix(".onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    model = deployable(prep.module, prep.preprocessing, prep.temperature)
    x = example_batch(prep.compiled, batch=4)
    c = prep.compiled
    a = c.analysis
    input_name = prep.project.graph.nodes[a.input_id].name
    output_name = prep.project.graph.nodes[a.output_id].name
    if output_name == input_name:
        output_name += "_out"
    try:
        with quiet_exporters(), torch.no_grad():
            program = torch.onnx.export(model, (x,), dynamo=True, dynamic_shapes=_dynamic(),
                                        input_names=[input_name], output_names=[output_name],
                                        opset_version=opset, optimize=True, verbose=False)
    except Exception as e:  # the exporter raises many kinds; the user needs one message
        raise ExportError(f"ONNX export failed ({type(e).__name__}: {str(e).splitlines()[0][:300]}): "
                          "try the torch.export (.pt2) or source format") from None
    opset_used = int(program.model.opset_imports.get("", opset or 0))
    meta = {
        "layerlab.format": "layerlab.onnx/1",
        "layerlab.project": prep.project.name,
        "layerlab.opset": str(opset_used),
        "layerlab.input": json.dumps({"name": input_name, "shape": ["batch", *c.input_type.shape],
                                      "dtype": "int64" if c.input_type.dtype == "long" else "float32"}),
        "layerlab.output": json.dumps({"name": output_name, "shape": ["batch", *c.output_type.shape]}),
        "layerlab.preprocessing_included": "true",
        "layerlab.input_scale": prep.input_scale[0],
        "layerlab.preprocessing": json.dumps(prep.preprocessing),
        "layerlab.nodes": json.dumps({name: nid for name, nid in c.node_of_module.items()}),
        "layerlab.torch": torch.__version__,
    }
    if prep.temperature is not None:    # calibrated: the graph ends with logits / T
        meta["layerlab.temperature"] = repr(prep.temperature)
    program.model.metadata_props.update(meta)
    program.model.doc_string = (f"{prep.project.name}: exported from LayerLab. Input: {prep.input_scale[0]}, "
                                f"before preprocessing; the training set's {prep.preprocessing['kind']} preprocessing "
                                "is part of the graph.")
    with quiet_exporters():
        program.save(str(out), external_data=False)
    info = {"format": "onnx", "opset": opset_used, "input": input_name, "output": output_name,
            "preprocessing": prep.preprocessing["kind"], "temperature": prep.temperature}
    if verify:
        info["max_abs_diff"] = verify_onnx(out, prep)
    return Exported([out], info)


def reference_outputs(prep: Prepared, x):
    """What LayerLab itself computes for raw inputs x: network(preprocess(x)) in eval mode."""
    import torch

    with torch.no_grad():
        return deployable(prep.module, prep.preprocessing, prep.temperature)(x)


def verify_onnx(path, prep: Prepared, batches=(1, 7)) -> float | None:
    """Max |onnxruntime - LayerLab| over a few batch sizes; None when onnxruntime is missing."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst = 0.0
    for i, n in enumerate(batches):
        x = example_raw_batch(prep.compiled, prep.preprocessing, batch=n, seed=100 + i)
        got = session.run(None, {name: x.numpy()})[0]
        want = reference_outputs(prep, x).numpy()
        if got.shape != want.shape:
            raise ExportError(f"{path}: ONNX output shape {got.shape} differs from LayerLab's {want.shape}")
        worst = worst_diff(worst, got, want)
    if worst > 1e-4:
        raise ExportError(f"{path}: the ONNX model differs from LayerLab's by {worst:.2e} (> 1e-4)")
    return worst


def onnx_metadata(path) -> dict[str, str]:
    """The LayerLab metadata and opset of an exported .onnx file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    meta["opset"] = str(next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), ""))
    return meta
