"""Quantized ONNX: the float32 export (preprocessing included) made smaller with onnxruntime's own
tools: `int8-dynamic` (weights int8, activations quantized on the fly), `int8-static` (weights
and activations int8 in QDQ form, ranges calibrated on batches of the raw training split) and
`fp16` (weights and arithmetic in float16, inputs and outputs kept float32).

The report compares the float32 model and the quantized one side by side: file size, and the
test split's accuracy (classification) or mean absolute error (regression), both measured with
onnxruntime on the raw test inputs exactly as a user would feed them."""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from .outcome import ExportError, Exported
from .prepared import Prepared

MODES = ("int8-dynamic", "int8-static", "fp16")     # cmd_export lists them again (torch-free register)
QUANT_KEYS = ("quantize", "size_float32", "size_quantized", "metric", "metric_float32", "metric_quantized")
CALIBRATION_SAMPLES = 1024     # enough for stable activation ranges on small nets; seconds to run
BATCH = 256
# the layers that hold weights: quantizing the preprocessing arithmetic too cost 2-3 points of digits
# accuracy (its input range is wide), for no size gain
STATIC_OPS = ["Conv", "Gemm", "MatMul"]


def export_quantized(prep: Prepared, out: str | os.PathLike, mode: str, *, opset: int | None = None,
                     base_dir=None) -> Exported:
    """Write `prep` as ONNX quantized by `mode` to `out`; `.info` holds both models' figures."""
    from .onnx_export import export_onnx

    if mode not in MODES:
        raise ExportError(f"unknown quantization {mode!r}: use one of {', '.join(MODES)}")
    out = Path(out)
    if out.suffix != ".onnx":
        out = out.with_name(out.name + ".onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    splits, data_note = _raw_splits(prep, base_dir)
    if mode == "int8-static" and splits is None:
        raise ExportError(f"int8-static needs calibration batches from the training split, but {data_note}: "
                          "fix the project's data set, or use --quantize int8-dynamic")
    with tempfile.TemporaryDirectory(prefix=".layerlab-quant-", dir=out.parent) as tmp:
        tmp = Path(tmp)
        float_done = export_onnx(prep, tmp / "float32.onnx", opset=opset, verify=True)
        strip_debug_info(float_done[0])
        quantized = tmp / "quantized.onnx"
        _quantize(float_done[0], quantized, mode, splits)
        strip_debug_info(quantized)
        info = dict(float_done.info, quantize=mode, size_float32=float_done[0].stat().st_size,
                    size_quantized=quantized.stat().st_size)
        warnings = []
        if splits is not None:
            info.update(_compare(float_done[0], quantized, splits))
        else:
            warnings.append(f"test accuracy not measured: {data_note}")
        if info["size_quantized"] >= info["size_float32"]:
            warnings.append("the quantized file is not smaller: this network has too few weights for "
                            f"{mode} to pay off (the quantization parameters outweigh the savings)")
        if warnings:
            info["warnings"] = warnings
        os.replace(quantized, out)
    return Exported([out], info)


def strip_debug_info(path: Path) -> None:
    """Drop the exporter's per-node debugging records (Python stack traces with this machine's file
    paths, FX node dumps): a deployed file needs none of it. Done to the float32 baseline too, so
    the sizes compared differ by quantization alone."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    onnx.save(model, str(path))


def _raw_splits(prep: Prepared, base_dir):
    """(x_train, x_test, y_test, task) before preprocessing (the ONNX graph preprocesses), or
    (None, why) when the project's data cannot be loaded here."""
    from ..data import DataError, load

    spec = dataclasses.replace(prep.project.data, preprocessing="none")   # same seeded split, raw values
    try:
        ds = load(spec, base_dir)
    except (DataError, OSError, MemoryError) as e:
        return None, f"the project's data could not be loaded ({str(e).splitlines()[0][:200]})"
    if tuple(ds.input_shape) != tuple(prep.compiled.input_type.shape):
        return None, (f"the data set's samples are shaped {list(ds.input_shape)} but the network takes "
                      f"{list(prep.compiled.input_type.shape)}")
    return (ds.x_train.numpy(), ds.x_test.numpy(), ds.y_test.numpy(), ds.task), ""


def _quantize(src: Path, dst: Path, mode: str, splits) -> None:
    """onnxruntime.quantization on a shape-inferred, optimized copy of `src`."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .quiet import quiet_exporters

    pre = dst.with_name("prepared.onnx")
    try:
        with quiet_exporters():
            if mode == "fp16":
                _to_float16(src, dst)
                return
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            if mode == "int8-dynamic":
                quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QUInt8,
                                 extra_options={"MatMulConstBOnly": True})
            else:
                quantize_static(str(pre), str(dst), _Calibration(splits[0], _input_name(pre)),
                                quant_format=QuantFormat.QDQ, per_channel=True, op_types_to_quantize=STATIC_OPS,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    except ExportError:
        raise
    except Exception as e:  # onnxruntime raises many kinds; the user needs one line
        raise ExportError(f"{mode} quantization failed ({type(e).__name__}: {str(e).splitlines()[0][:300]}): "
                          "export without --quantize, or try another quantization") from None


def _to_float16(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))


def _input_name(path: Path) -> str:
    import onnx
    return onnx.load(str(path), load_external_data=False).graph.input[0].name


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over the first raw training samples."""

    def __init__(self, x_train, input_name: str):
        self.feeds = [{input_name: x_train[i:i + 64]} for i in range(0, min(len(x_train), CALIBRATION_SAMPLES), 64)]
        self.rewind()

    def get_next(self):
        return next(self.batches, None)

    def rewind(self):
        self.batches = iter(self.feeds)


def evaluate_onnx(path, x, y, task: str) -> dict[str, float]:
    """Test metrics of an ONNX model on raw inputs: accuracy for classification, MAE otherwise."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outs = [session.run(None, {name: x[i:i + BATCH]})[0] for i in range(0, len(x), BATCH)]
    pred = np.concatenate(outs) if outs else np.zeros((0,))
    if task == "classification":
        return {"accuracy": float((pred.argmax(-1) == y).mean()) if len(y) else float("nan")}
    return {"mae": float(np.abs(pred.reshape(y.shape) - y).mean()) if len(y) else float("nan")}


def _compare(float_path: Path, quant_path: Path, splits) -> dict:
    _, x_test, y_test, task = splits
    before = evaluate_onnx(float_path, x_test, y_test, task)
    after = evaluate_onnx(quant_path, x_test, y_test, task)
    key = next(iter(before))
    return {"metric": f"test_{key}", "metric_float32": before[key], "metric_quantized": after[key],
            "test_samples": int(len(y_test))}


def size_text(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.2f} MiB"


def comparison_rows(info: dict) -> list[tuple[str, str, str]]:
    """(what, float32, quantized) rows for the CLI and the dialog."""
    rows = [("file size", size_text(info["size_float32"]), size_text(info["size_quantized"]))]
    if "metric" in info:
        fmt = (lambda v: f"{100 * v:.2f} %") if info["metric"] == "test_accuracy" else (lambda v: f"{v:.4g}")
        rows.append((info["metric"].replace("_", " "), fmt(info["metric_float32"]), fmt(info["metric_quantized"])))
    return rows


def comparison_table(info: dict) -> str:
    """A plain-text table: what | float32 | <mode>."""
    rows = [("", "float32", info["quantize"]), *comparison_rows(info)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
