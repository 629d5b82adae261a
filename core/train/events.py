"""What a training run reports, and how it is steered.

Events are plain dataclasses passed to `on_event(event)` in the training thread (no Qt, no
torch tensors: every field is a Python number, string, list or dict, safe to hand to another
thread). `ProbeSnapshot` (probes.py) and `Diagnosis` (diagnosis.py) come from their own modules.

`Control` is polled by the trainer after every optimizer step: `stop()` ends the run within one
step, `pause()` blocks the training thread on a `threading.Event` (no busy-waiting) until
`resume()` or `stop()`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunResult:
    status: str                       # "finished", "stopped" or "failed"
    run_dir: str = ""
    epochs_run: int = 0               # last completed epoch (1-based; 0 = none)
    total_epochs: int = 0
    monitor: str = "val_loss"
    best_epoch: int = 0               # epoch with the best monitored value (0 = none yet)
    best_value: float | None = None
    restored_epoch: int | None = None  # epoch whose weights the model holds at the end, if restored
    stopped_early: bool = False       # early stopping ran out of patience
    val_metrics: dict[str, float] = field(default_factory=dict)   # last epoch: val_loss, val_accuracy, ...
    test_metrics: dict[str, float] = field(default_factory=dict)  # test_loss, test_accuracy, ... (final weights)
    seconds: float = 0.0
    samples_per_s: float = 0.0        # training samples per second over the run's epochs
    message: str = ""                 # failure / stop reason
    fix: str = ""
    loss_at_init: float | None = None           # measured before step 1 (init_loss.py)
    expected_loss_at_init: float | None = None  # ln N for N-class cross-entropy, ...
    val_ece: float | None = None      # expected calibration error, 15 bins (calibration.py); classifiers only
    test_ece: float | None = None
    reliability: dict[str, Any] = field(default_factory=dict)   # split -> ece, count, confidence, accuracy per bin
    class_report: dict[str, Any] = field(default_factory=dict)   # "val"/"test": metrics.class_report
    val_roc_auc: float | None = None  # binary classifiers only (curves.py)
    test_roc_auc: float | None = None
    val_pr_auc: float | None = None   # average precision
    test_pr_auc: float | None = None
    curves: dict[str, Any] = field(default_factory=dict)   # split -> roc, pr (≤ 200 points), by_threshold
    val_perplexity: float | None = None   # next-token runs only (generate.py): exp(mean cross-entropy)
    test_perplexity: float | None = None
    INIT_KEYS = ("loss_at_init", "expected_loss_at_init")   # (a class attribute: no annotation)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict
        return asdict(self)


@dataclass
class RunStarted:
    run_dir: str
    config: dict[str, Any]
    steps_per_epoch: int
    total_epochs: int
    start_epoch: int = 1              # > 1 when resuming
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0
    device: str = "cpu"
    task: str = "classification"
    metric_names: list[str] = field(default_factory=list)  # EpochEnd.metrics keys, in CSV order
    lrs: list[float] = field(default_factory=list)          # LR at each epoch's start (lr_curve; flat for plateau)
    loss_at_init: float | None = None           # the loss before step 1 (init_loss.py)
    expected_loss_at_init: float | None = None  # what a network that knows nothing scores (ln N, ...)


@dataclass
class Step:
    step: int                         # global optimizer step (1-based, counts across resumes)
    epoch: int
    batch: int                        # batch within the epoch (1-based)
    batches: int                      # batches per epoch
    loss: float                       # mean training loss over the steps since the previous Step
    lr: float
    samples_per_s: float              # since the previous Step


@dataclass
class EpochEnd:
    epoch: int
    train_loss: float                 # mean over the epoch's batches (weights change while it is measured)
    val_loss: float
    metrics: dict[str, float]         # val_accuracy, val_f1 (classification) or val_mae, val_r2
    lr: float                         # the LR of the epoch's last step
    grad_norms: dict[str, float]      # node name -> L2 norm of its parameters' gradients (last batch)
    update_ratios: dict[str, float]   # node name -> ‖Δw‖ / ‖w‖ of the last optimizer step
    seconds: float                    # wall time of the epoch (training + validation, pauses excluded)
    best_epoch: int
    improved: bool                    # this epoch set a new best of the monitored metric
    patience_left: int | None = None  # None when early stopping is off
    samples_per_s: float = 0.0


@dataclass
class DiagnosisEvent:
    epoch: int                        # 0 = before training (checks at initialization)
    diagnoses: list[Any]              # diagnosis.Diagnosis items


@dataclass
class Paused:
    epoch: int
    step: int


@dataclass
class Resumed:
    epoch: int
    step: int


@dataclass
class Finished:
    result: RunResult


@dataclass
class Stopped:
    result: RunResult


@dataclass
class Failed:
    message: str
    fix: str = ""
    result: RunResult | None = None
    layer: str | None = None          # the layer named in the message, if any
    problems: list[Any] = field(default_factory=list)  # preflight problems, when it failed before training


class Control:
    """Pause / resume / stop a run from any thread. The trainer reads `pending` once per step
    (an attribute read), and only then looks at what was asked."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = False
        self.pending = False

    def pause(self) -> None:
        self._running.clear()
        self.pending = True

    def resume(self) -> None:
        self._running.set()
        self.pending = self._stop

    def stop(self) -> None:
        self._stop = True
        self.pending = True
        self._running.set()           # wake a paused run so it can stop

    @property
    def stopped(self) -> bool:
        return self._stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block while paused; True once running (or stopping)."""
        return self._running.wait(timeout)
