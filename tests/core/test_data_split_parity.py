"""The split draws exactly what sklearn's train_test_split draws (same seeds, same samples), without
importing sklearn on the training path."""
import sys
import subprocess

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from layerlab.core.data.splits import _train_test_split

CASES = [(n, k, n_test, seed, skew) for n in (10, 37, 200) for k in (2, 3, 7) for n_test in (1, 3, 9)
         for seed in (0, 1, 12345, 2**32 - 1) for skew in (False, True)]


def _labels(n, k, skew, seed):
    rng = np.random.default_rng(seed)
    p = np.arange(1, k + 1, dtype=float) ** (3 if skew else 0)
    return rng.choice(k, size=n, p=p / p.sum())


@pytest.mark.parametrize("stratified", [False, True])
def test_split_matches_sklearn_draw_for_draw(stratified):
    compared = refused = 0
    for n, k, n_test, seed, skew in CASES:
        idx = np.arange(100, 100 + n)                     # not 0..n-1: index arrays are mapped through
        y = _labels(n, k, skew, seed) if stratified else None
        try:
            want = train_test_split(idx, test_size=n_test, random_state=seed, stratify=y)
        except ValueError:
            with pytest.raises(ValueError):
                _train_test_split(idx, n_test, seed, y)
            refused += 1
            continue
        got = _train_test_split(idx, n_test, seed, y)
        assert [a.tolist() for a in got] == [a.tolist() for a in want], (n, k, n_test, seed, skew)
        compared += 1
    assert compared > 50 and (refused > 5 if stratified else refused == 0)


def _digits_mlp(path):
    from layerlab.core.project import save_project
    from tests.bench.peers.projects import project_for
    save_project(project_for("mlp", 1, 200, 1e-3), path)


@pytest.mark.parametrize("which", ["spiral", "digits_mlp"])
def test_training_on_the_cli_imports_no_sklearn_pandas_scipy_or_torch_compiler(tmp_path, which):
    """Set-up time: scikit-learn, pandas, SciPy, matplotlib, Captum, optuna and torch's compiler
    (torch._dynamo, imported by torch.optim unless core/train/lazy_dynamo.py stands in) each cost
    seconds and a spiral or digits run needs none of them."""
    from layerlab.core.resources import template_path
    project = tmp_path / f"{which}.layerlab.json"     # a copy: train may write the project back
    if which == "spiral":
        project.write_bytes(template_path("mlp").read_bytes())
    else:
        _digits_mlp(project)
    code = ("import sys\nfrom layerlab.core.cli import main\n"
            f"sys.argv = ['layerlab', 'train', {str(project)!r}, '--epochs', '1', '--out', "
            f"{str(tmp_path / 'run')!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "from layerlab.core.train.lazy_dynamo import real_loaded\n"
            "print(sorted(m for m in ('sklearn', 'pandas', 'scipy', 'matplotlib', 'captum', 'optuna', 'sympy') "
            "if m in sys.modules) + (['torch._dynamo'] if real_loaded() else []))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "test_accuracy" in r.stdout, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout + r.stderr
