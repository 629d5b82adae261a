"""The one run-folder reader: tolerant of missing, broken, huge and half-written files."""
import math

from layerlab.core.train import run_files
from layerlab.core.train.run_files import read_json, read_metrics, read_run


def test_metrics_rows_parse_and_stop_at_a_half_written_line(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,train_loss,val_loss,lr\n1,0.9,,0.1\n2,0.5,nan,0.1\n3,0.4", "utf-8")
    rows = read_metrics(tmp_path)
    assert rows[0] == {"epoch": 1, "train_loss": 0.9, "lr": 0.1}      # the empty val_loss cell is left out
    assert isinstance(rows[0]["epoch"], int) and math.isnan(rows[1]["val_loss"])
    assert len(rows) == 2                                               # "3,0.4" lacks two cells


def test_broken_missing_and_oversized_files_read_as_empty(tmp_path, monkeypatch):
    assert read_metrics(tmp_path) == [] and read_json(tmp_path / "result.json") == {}
    (tmp_path / "result.json").write_text("[1, 2]", "utf-8")
    (tmp_path / "config.json").write_text("{not json", "utf-8")
    (tmp_path / "metrics.csv").mkdir()                                 # not a regular file
    run = read_run(tmp_path)
    assert (run.config, run.result, run.rows) == ({}, {}, [])
    (tmp_path / "big.json").write_text('{"a": 1}', "utf-8")
    monkeypatch.setattr(run_files, "MAX_JSON_BYTES", 4)
    assert read_json(tmp_path / "big.json") == {}


def test_best_summary_prefers_result_json_then_the_lowest_val_loss(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,val_loss\n1,0.8\n2,0.3\n3,inf\n", "utf-8")
    assert read_run(tmp_path).best_summary() == "best val_loss 0.3"
    (tmp_path / "result.json").write_text('{"monitor": "val_accuracy", "best_value": 0.93, "best_epoch": 7}', "utf-8")
    assert read_run(tmp_path).best_summary() == "best val_accuracy 0.93 (epoch 7)"
    assert not read_run(tmp_path).has_weights()
