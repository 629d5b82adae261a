"""torch.export program (.pt2) of network(preprocess(x)) with a dynamic batch axis.

Load it anywhere PyTorch is installed, no LayerLab needed:

    program = torch.export.load("model.pt2")
    outputs = program.module()(raw_inputs)     # preprocessing is inside the program
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .compare import worst_diff
from .outcome import ExportError, Exported
from .prepared import Prepared, example_batch, example_raw_batch
from .preprocessing import deployable
from .quiet import quiet_exporters


def export_pt2(prep: Prepared, out: str | os.PathLike, verify: bool = True) -> Exported:
    import torch

    out = Path(out)
    if out.suffix != ".pt2":
        out = out.with_suffix(".pt2")
    out.parent.mkdir(parents=True, exist_ok=True)
    model = deployable(prep.module, prep.preprocessing, prep.temperature)
    x = example_batch(prep.compiled, batch=4)
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    try:
        with quiet_exporters(), torch.no_grad():
            program = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    except Exception as e:
        raise ExportError(f"torch.export failed ({type(e).__name__}: {str(e).splitlines()[0][:300]}): "
                          "try the ONNX or source format") from None
    c = prep.compiled
    extra = {"layerlab.json": json.dumps({
        "project": prep.project.name,
        "input_shape": ["batch", *c.input_type.shape],
        "input_dtype": "int64" if c.input_type.dtype == "long" else "float32",
        "output_shape": ["batch", *c.output_type.shape],
        "preprocessing_included": True,
        "preprocessing": prep.preprocessing["kind"],
        "temperature": prep.temperature,
        "torch": torch.__version__,
    })}
    with quiet_exporters():
        torch.export.save(program, str(out), extra_files=extra)
    info = {"format": "pt2", "preprocessing": prep.preprocessing["kind"], "temperature": prep.temperature}
    if verify:
        info["max_abs_diff"] = verify_pt2(out, prep)
    return Exported([out], info)


def verify_pt2(path, prep: Prepared, batches=(1, 5)) -> float:
    import torch

    with quiet_exporters():
        module = torch.export.load(str(path)).module()
    reference = deployable(prep.module, prep.preprocessing, prep.temperature)
    worst = 0.0
    with torch.no_grad():
        for i, n in enumerate(batches):
            x = example_raw_batch(prep.compiled, prep.preprocessing, batch=n, seed=200 + i)
            worst = worst_diff(worst, module(x), reference(x))
    if worst > 1e-5:
        raise ExportError(f"{path}: the exported program differs from LayerLab's model by {worst:.2e}")
    return worst
