"""Repeats: k seeds of one set-up, mean ± std per epoch and of the final metrics."""
import statistics

from layerlab.core.cli import main
from layerlab.core.experiments.repeats import aggregate, read_metrics, run_repeats
from layerlab.core.project import load_project

from .sweep_support import spiral_file


def test_k_seeds_give_mean_and_std_that_match_the_run_folders(tmp_path, capsys):
    path = spiral_file(tmp_path, epochs=3)
    results, agg = run_repeats(load_project(path), 3, tmp_path / "rep")
    assert [r.status for r in results] == ["finished"] * 3 and agg.runs == 3
    tables = [read_metrics(r.run_dir) for r in results]
    assert agg.epochs == [1, 2, 3]
    for i in range(3):
        values = [t[i]["val_loss"] for t in tables]
        assert abs(agg.mean["val_loss"][i] - statistics.fmean(values)) < 1e-12
        assert abs(agg.std["val_loss"][i] - statistics.stdev(values)) < 1e-12
    assert agg.std["train_loss"][0] > 0              # the seeds really differ
    mean, std = agg.final["test_accuracy"]
    finals = [r.test_metrics["test_accuracy"] for r in results]
    assert abs(mean - statistics.fmean(finals)) < 1e-12 and abs(std - statistics.stdev(finals)) < 1e-12
    assert aggregate([tmp_path / "nothing"]).runs == 0
    assert main(["repeat", str(path), "--seeds", "2", "--out", str(tmp_path / "cli")]) == 0
    assert "val_accuracy" in capsys.readouterr().out and (tmp_path / "cli" / "seed-1" / "metrics.csv").is_file()
