"""File ▸ Export… with quantization: the Quantize choice shows for ONNX only, reaches core.export,
and the report puts the float32 and quantized file sizes and test accuracies side by side."""
from .test_export_dialog import export, open_dialog, pick_format, win  # noqa: F401  (win is a fixture)


def test_quantize_choice_for_onnx_only_and_report_side_by_side(win, tmp_path, qtbot, dialogs):  # noqa: F811
    dlg = open_dialog(win)
    pick_format(dlg, "source")
    assert dlg.quantize.isHidden()
    pick_format(dlg, "onnx")
    assert dlg.quantize.isVisibleTo(dlg) and dlg.quantize.currentData() is None
    dlg.quantize.setCurrentIndex(dlg.quantize.findData("int8-dynamic"))
    ok, worker = export(qtbot, dlg, "onnx", tmp_path / "out" / "q.onnx")
    assert ok, dlg.message.text()
    assert worker.job["quantize"] == "int8-dynamic"
    info = worker.result.info
    assert info["size_quantized"] == (tmp_path / "out" / "q.onnx").stat().st_size
    assert info["metric"] == "test_accuracy" and 0 <= info["metric_quantized"] <= 1
    text = dlg.result_text.text()
    assert "<table>" in text and "float32" in text and "int8-dynamic" in text
    assert "file size" in text and "test accuracy" in text and text.count(" %") >= 2
    assert "not smaller" in text    # 163 weights: the mlp is too small for int8 to pay off, and says so
    dlg.close()
