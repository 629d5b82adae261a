"""The model card's calibration section: the temperature applied to these weights' exports and
ECE before / after per split (from the run's calibration.json), or the uncalibrated ECE from
result.json with how to calibrate."""
from __future__ import annotations

from pathlib import Path

from ..train.calibration import FILE
from ..train.run_files import read_json


def _fit_for(prep, run: Path | None) -> dict | None:
    if run is None or prep.temperature is None:
        return None
    cal = read_json(run / FILE)
    fits = cal.get("fits") if isinstance(cal.get("fits"), list) else [cal]
    return next((f for f in fits if isinstance(f, dict) and f.get("temperature") == prep.temperature), None)


def _num(v) -> str:
    return f"{v:.4f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "–"


def calibration_lines(prep, run: Path | None, result: dict) -> list[str]:
    lines = ["", "## Calibration", ""]
    fit = _fit_for(prep, run)
    if prep.temperature is not None:
        lines.append(f"- Temperature T = {prep.temperature:.6g} (temperature scaling fitted on the validation "
                     "split): the ONNX, .pt2 and source exports of these weights output logits / T. "
                     "Predictions (argmax) and accuracy are unchanged.")
    if fit:
        lines += ["", "| split | ECE before | ECE after | NLL before | NLL after | accuracy |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for split in ("val", "test"):
            s = fit.get(split)
            if isinstance(s, dict):
                lines.append(f"| {split} | {_num(s.get('ece_before'))} | {_num(s.get('ece_after'))} | "
                             f"{_num(s.get('nll_before'))} | {_num(s.get('nll_after'))} | {_num(s.get('accuracy'))} |")
        return lines
    ece = {k: result.get(k) for k in ("val_ece", "test_ece") if isinstance(result.get(k), (int, float))}
    if prep.temperature is None and not ece:
        return []
    if prep.temperature is None:
        lines.append("- Not calibrated (outputs are the network's raw logits): "
                     + ", ".join(f"{k.replace('_', ' ')} {_num(v)}" for k, v in ece.items())
                     + " (expected calibration error, 15 bins). `layerlab calibrate RUN` fits a temperature.")
    return lines
