"""Experiments: the LR range test, Optuna sweeps over training fields and layer parameters, and
repeats with several seeds. Everything here drives the public `Trainer(...).fit(on_event,
control)` API; nothing reaches into the training loop.

    space.py    what a sweep varies (`Range`), parsing, applying values to a project copy
    lr_find.py  the LR range test on a fresh copy of the model
    study.py    opening / creating an Optuna study with a fixed number of trial slots
    sweep.py    the worker loop: claim a slot, run it as ordinary run folders, report, prune
    repeats.py  k seeds of one set-up, mean ± std of the curves and final metrics
    summary.py  a study as plain rows for tables, plots and the CLI

Nothing imports torch or optuna at import time of this package.
"""
