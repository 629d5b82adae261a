"""Sampling from a next-token model (core/train/generate.py): seeded, greedy within the vocabulary,
the tiny transformer beating the unigram perplexity, the training process's "generate" job and
`layerlab generate`."""
import json
import string

import pytest

from layerlab.core.cli import main
from layerlab.core.project import load_project
from layerlab.core.resources import template_path
from layerlab.core.train import Trainer
from layerlab.core.train.generate import generate_run, perplexity, unigram_perplexity
from layerlab.core.train.model_views import run_job

from .test_train_cli import spiral_project


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny transformer template trained 10 epochs on the bundled corpus (~25 s on one core)."""
    p = load_project(template_path("tiny_transformer"))
    p.training.epochs, p.training.device, p.training.probe_every = 10, "cpu", 0
    run = tmp_path_factory.mktemp("gen") / "run"
    trainer = Trainer(p, run_dir=run)
    assert trainer.fit().status == "finished"
    return trainer, run


def test_validation_perplexity_beats_the_unigram_perplexity(trained):
    trainer, _ = trained
    s, ds = trainer.setup, trainer.dataset
    ppl = perplexity(s.compiled.module, s.data["x_val"], s.data["y_val"])
    unigram = unigram_perplexity(ds.y_train, ds.y_val, ds.num_classes)
    assert ppl < unigram, f"validation perplexity {ppl:.2f} vs unigram {unigram:.2f}"
    saved = json.loads((trained[1] / "result.json").read_text())
    assert saved["val_perplexity"] == pytest.approx(ppl, rel=1e-6) and saved["test_perplexity"] > 1
    assert 10 < unigram < 40      # English characters: about 2^4.5


def test_same_seed_same_text_and_greedy_stays_in_the_vocabulary(trained):
    trainer, run = trained
    a = generate_run(run, "The ", 60, 1.0, 10, seed=3, with_perplexity=False)
    b = generate_run(run, "The ", 60, 1.0, 10, seed=3, with_perplexity=False)
    c = generate_run(run, "The ", 60, 1.0, 10, seed=4, with_perplexity=False)
    assert a["text"] == b["text"] and len(a["ids"]) == 60 and a["text"] != c["text"]
    greedy = generate_run(run, "The ", 120, 0.0, 0, seed=0, with_perplexity=False)
    corpus = set(trainer.dataset.y_train.reshape(-1).tolist())
    assert set(greedy["ids"]) <= corpus, "greedy sampling produced a token the corpus never uses"
    assert all(ch in string.printable for ch in greedy["text"])
    # greedy ignores the seed
    assert generate_run(run, "The ", 120, 0.0, 0, seed=9, with_perplexity=False)["text"] == greedy["text"]


def test_generate_job_in_the_training_process_matches_the_run_folder(trained):
    trainer, run = trained
    value, error, _ = run_job(trainer, "generate", {"prompt": "It ", "length": 40, "temperature": 0.8,
                                                    "top_k": 20, "seed": 1})
    assert error == ""
    assert value["text"] == generate_run(run, "It ", 40, 0.8, 20, 1, with_perplexity=False)["text"]
    assert value["val_perplexity"] == pytest.approx(perplexity(trainer.setup.compiled.module,
                                                               trainer.setup.data["x_val"], trainer.setup.data["y_val"]))
    _, error, _ = run_job(trainer, "generate", {"length": 0})
    assert error.startswith("ValueError: length 0")


def test_cli_prints_text_and_refuses_other_runs_in_one_line(trained, tmp_path, capsys):
    _, run = trained
    assert main(["generate", str(run), "--prompt", "The ", "--length", "30", "--temperature", "0.7",
                 "--top-k", "12", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The ") and len(out.splitlines()[0]) >= 4
    assert main(["generate", str(run), "--length", "10", "--json", "--seed", "5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["ids"]) == 10 and data["val_perplexity"] > 1
    spiral = tmp_path / "spiral"
    Trainer(load_project(spiral_project(tmp_path, epochs=1)), run_dir=spiral).fit()
    capsys.readouterr()
    assert main(["generate", str(spiral), "--length", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("layerlab generate: ") and "text data set" in err and len(err.strip().splitlines()) == 1
    assert main(["generate", str(tmp_path / "nothing")]) == 2
