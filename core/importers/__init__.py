"""Bring models made elsewhere into the editable graph.

    import_onnx(path) -> Imported                (graph + weights + preprocessing, in memory)
    write_imported(imported, out, force=False)   (a LayerLab folder: project, weights, preprocessing)

Operators map to catalogue layers one to one or through small fusions (MatMul+Add -> Dense,
ReduceMean over space -> GlobalAvgPool, reshapes collapse into Flatten/Reshape or vanish, a whole
exported self-attention -> MultiheadSelfAttention, a pre-norm block -> TransformerBlock);
anything else is named with its node in one `OnnxImportError` and nothing is written.
"""
from __future__ import annotations

from .onnx_import import Imported, OnnxImportError, import_onnx, write_imported  # noqa: F401
