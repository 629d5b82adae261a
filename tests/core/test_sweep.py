"""Sweeps with Optuna: ranges over training fields and layer parameters, ordinary run folders per
trial, pruning through the trainer's Control, slots that are never lost nor run twice."""
import json
import subprocess
import sys

import optuna
import pytest

from layerlab.core.experiments.space import Range, parse_range
from layerlab.core.experiments.study import SweepConfig, SweepError, default_storage
from layerlab.core.experiments.summary import load_summary, parallel
from layerlab.core.experiments.sweep import SweepControl, work
from layerlab.core.project import load_project
from layerlab.core.train import Trainer

from .sweep_support import spiral_file


def test_an_lr_sweep_on_the_spiral_finds_a_set_up_at_least_as_good_as_the_template(tmp_path):
    path = spiral_file(tmp_path, epochs=20)       # the same (short) budget for the template and every trial
    project = load_project(path)
    template = Trainer(load_project(path), run_dir=tmp_path / "template").fit()
    config = SweepConfig([Range("training.lr", "float", 1e-4, 1.0, True)], objective="val_accuracy", trials=6,
                         sampler="tpe", pruner="none", baseline=False, seed=0)
    url = default_storage(path)
    reports = work(project, url, "lr", tmp_path / "trials", config, base_dir=tmp_path)
    assert [r.state for r in reports] == ["COMPLETE"] * 6
    best_template = max(float(row["val_accuracy"]) for row in _metrics(template.run_dir))
    assert max(r.value for r in reports) >= best_template
    lrs = [r.params["training.lr"] for r in reports]
    assert len(set(lrs)) == 6 and all(1e-4 <= lr <= 1.0 for lr in lrs)
    for r in reports:   # each trial is an ordinary run folder holding the project as it trained
        trained = json.loads((tmp_path / "trials" / f"trial-{r.number:04d}" / "project.layerlab.json").read_text())
        assert trained["training"]["lr"] == r.params["training.lr"]
        assert max(float(row["val_accuracy"]) for row in _metrics(r.run_dirs[0])) == r.value
    assert load_project(path).training.lr == 0.01           # the project file is untouched
    assert url.endswith(f"{tmp_path}/spiral.sweeps.db") and (tmp_path / "spiral.sweeps.db").is_file()


def _metrics(run_dir):
    import csv
    with open(f"{run_dir}/metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_trial_far_behind_the_median_is_pruned_by_stopping_its_run(tmp_path):
    path = spiral_file(tmp_path, epochs=8)
    project = load_project(path)
    lr = parse_range(project, "training.lr=0.03,0.02,0.01,1e-7")
    config = SweepConfig([lr], objective="val_loss", trials=4, sampler="grid", pruner="median")
    reports = work(project, default_storage(path), "prune", tmp_path / "t", config, base_dir=tmp_path)
    assert [r.state for r in reports] == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED"]
    assert reports[3].params == {"training.lr": 1e-7}
    pruned = reports[3].run_dirs[0]
    assert json.loads(open(f"{pruned}/result.json").read())["status"] == "stopped"
    assert 2 <= len(_metrics(pruned)) < 8


def test_layer_parameters_and_choices_sweep_and_seeds_give_mean_and_std(tmp_path):
    path = spiral_file(tmp_path, epochs=4)
    project = load_project(path)
    config = SweepConfig([parse_range(project, "fc1.units=4:32"), parse_range(project, "training.optimizer=adam,sgd")],
                         objective="val_accuracy", trials=2, sampler="random", pruner="none", repeats=2, seed=1)
    reports = work(project, default_storage(path), "units", tmp_path / "t", config, base_dir=tmp_path)
    for r in reports:
        assert r.state == "COMPLETE" and len(r.run_dirs) == 2 and r.std is not None
        seeds = [json.loads(open(f"{d}/trial.json").read())["seed"] for d in r.run_dirs]
        assert seeds == [0, 1]
        units = json.loads(open(f"{r.run_dirs[0]}/project.layerlab.json").read())["graph"]["nodes"][1]["params"]
        assert units["units"] == r.params["fc1.units"]
    s = load_summary(default_storage(path), "units")
    assert [row.std for row in s.rows] == [r.std for r in reports]
    axes, rows, values = parallel(s)
    assert axes == ["fc1.units", "training.optimizer", "val_accuracy"] and len(rows) == 2
    assert all(0.0 <= x <= 1.0 for row in rows for x in row)


def test_stopping_a_worker_puts_its_slot_back_and_a_later_worker_finishes_the_study(tmp_path):
    path = spiral_file(tmp_path, epochs=6)
    project = load_project(path)
    url = default_storage(path)
    config = SweepConfig([Range("training.lr", "float", 1e-3, 1e-1, True)], trials=3, pruner="none", seed=0)
    control = SweepControl()

    def on_trial(kind, data):
        if kind == "epoch" and data[2].epoch == 2:
            control.stop()

    assert work(project, url, "stop", tmp_path / "t", config, base_dir=tmp_path, control=control,
                on_trial=on_trial) == []
    s = load_summary(url, "stop")
    assert [r.state for r in s.rows] == ["FAIL", "WAITING", "WAITING", "WAITING"]
    assert "interrupted" in s.rows[0].message
    assert s.rows[3].params == {} and s.rows[0].params == {"training.lr": 0.01}   # the baseline, requeued
    done = work(project, url, "stop", tmp_path / "t", base_dir=tmp_path)   # joins with the stored ranges
    assert sorted(r.number for r in done) == [1, 2, 3]
    assert {r.params["training.lr"] for r in done} >= {0.01}
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["trial-0000", "trial-0001", "trial-0002",
                                                                  "trial-0003"]


def test_joining_with_other_ranges_or_an_unknown_study_is_refused(tmp_path):
    path = spiral_file(tmp_path, epochs=2)
    project = load_project(path)
    url = default_storage(path)
    work(project, url, "a", tmp_path / "t", SweepConfig([Range("training.lr", "float", 1e-3, 1e-1, True)], trials=1),
         base_dir=tmp_path)
    other = SweepConfig([Range("training.lr", "float", 1e-2, 1e-1, True)], trials=1)
    with pytest.raises(SweepError, match="already exists with other ranges"):
        work(project, url, "a", tmp_path / "t", other, base_dir=tmp_path)
    with pytest.raises(SweepError, match="there is no study 'b'"):
        work(project, url, "b", tmp_path / "t", base_dir=tmp_path)
    bad = SweepConfig([Range("training.lr", "float", 1e-3, 1e-1, True)], objective="val_r2", trials=1)
    with pytest.raises(SweepError, match="does not fit a classification task"):
        work(project, url, "c", tmp_path / "t", bad, base_dir=tmp_path)


# trials long enough (~0.5 s each here) that the second worker is up before the first has claimed
# all six: at 30 epochs a trial took ~0.05 s once training got faster (issue 14), and one worker
# finished the study while the other was still importing torch (seen once in a fresh-clone CI run)
SHARED_EPOCHS = 300


def run_workers(path, storage, n_trials, extra=()):
    """Two `layerlab sweep` processes on one study, started together; their outputs."""
    cmd = [sys.executable, "-m", "layerlab.core.cli", "sweep", str(path), "--trials", str(n_trials), "--study", "two",
           "--param", "training.lr=1e-3:1e-1:log", "--pruner", "none", "--json", "--storage", storage, *extra]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    return [[json.loads(line) for line in out.splitlines() if line.startswith("{")] for out, _ in outs]


def check_no_trial_lost_or_run_twice(storage, folder, n_trials, per_worker):
    numbers = sorted(r["number"] for reports in per_worker for r in reports)
    assert numbers == list(range(n_trials)), per_worker          # every slot once, across both workers
    assert all(len(reports) >= 1 for reports in per_worker), [len(r) for r in per_worker]
    study = optuna.load_study(study_name="two", storage=storage)
    assert [t.state.name for t in study.get_trials()] == ["COMPLETE"] * n_trials
    runs = sorted(p.name for p in folder.iterdir())
    assert runs == [f"trial-{i:04d}" for i in range(n_trials)]   # one run folder per trial, no re-runs


def test_two_worker_processes_share_one_sqlite_study(tmp_path):
    path = spiral_file(tmp_path, epochs=SHARED_EPOCHS)
    storage = default_storage(path)
    per_worker = run_workers(path, storage, 6)
    check_no_trial_lost_or_run_twice(storage, tmp_path / "sweeps" / "two", 6, per_worker)


def test_show_without_a_study_is_one_line_and_creates_no_file(tmp_path, capsys):
    from layerlab.core.cli import main
    path = spiral_file(tmp_path)
    assert main(["sweep", str(path), "--show"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "there is no study file" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spiral.layerlab.json"]


def test_importances_need_no_sklearn():
    """Parameter importances come from PED-ANOVA (numpy, in optuna), not fANOVA, whose random forest
    is scikit-learn's: the packaged app leaves sklearn out and still shows them."""
    code = ("import sys\nsys.modules['sklearn'] = None\nimport optuna\n"
            "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
            "from layerlab.core.experiments.summary import importances\n"
            "s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))\n"
            "s.optimize(lambda t: 10 * t.suggest_float('lr', 1e-4, 1, log=True) + 0.01 * t.suggest_int('w', 1, 8),"
            " n_trials=8)\n"
            "imp = importances(s)\nassert set(imp) == {'lr', 'w'} and imp['lr'] > imp['w'], imp\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
