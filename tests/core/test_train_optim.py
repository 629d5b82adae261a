"""Optimizers, decoupled weight decay per optimizer, schedules (lr_curve against torch's own
schedulers), and the regularizers: L1 / L2 as exact penalty gradients, max-norm, clipping."""
import math

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as L

from layerlab.core.specs import OPTIMIZERS, SCHEDULES, TrainSpec
from layerlab.core.train.optim import build_optimizer, build_scheduler, fast_forward, lr_curve, split_params
from layerlab.core.train.regularize import Regularizer, penalty


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize("name,cls,check", [
    ("sgd", torch.optim.SGD, lambda g: g["momentum"] == 0 and not g["nesterov"]),
    ("momentum", torch.optim.SGD, lambda g: g["momentum"] == 0.8 and not g["nesterov"]),
    ("nesterov", torch.optim.SGD, lambda g: g["momentum"] == 0.8 and g["nesterov"]),
    ("rmsprop", torch.optim.RMSprop, lambda g: g["alpha"] == 0.99),
    ("adam", torch.optim.Adam, lambda g: g["betas"] == (0.85, 0.99)),
    ("adamw", torch.optim.AdamW, lambda g: g["betas"] == (0.85, 0.99)),
])
def test_each_optimizer(name, cls, check):
    opt = build_optimizer(TrainSpec(optimizer=name, lr=0.05, momentum=0.8, beta1=0.85, beta2=0.99), net())
    assert type(opt) is cls and all(g["lr"] == 0.05 for g in opt.param_groups)
    assert check(opt.param_groups[0])


def test_weights_and_the_rest_are_separate_groups():
    m = net()
    weights, others = split_params(m)
    assert [tuple(p.shape) for p in weights] == [(8, 4), (3, 8)]
    assert len(others) == 4                           # two biases, LayerNorm weight and bias
    opt = build_optimizer(TrainSpec(optimizer="adamw", weight_decay=0.1), m)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_weight_decay_is_decoupled_for_every_optimizer(name):
    """With a zero gradient, one step shrinks weights by exactly (1 − lr·wd) and leaves biases alone."""
    m = net()
    spec = TrainSpec(optimizer=name, lr=0.1, weight_decay=0.5)
    opt = build_optimizer(spec, m)
    reg = Regularizer(spec, m, opt)
    before = [p.detach().clone() for p in m.parameters()]
    for p in m.parameters():
        p.grad = torch.zeros_like(p)
    reg.before_step()
    opt.step()
    for p, b in zip(m.parameters(), before):
        want = b * (1 - 0.1 * 0.5) if p.dim() >= 2 else b
        assert torch.allclose(p.detach(), want, atol=1e-7), name


def _reference(spec, opt, steps):
    total = spec.epochs * steps
    s = spec.schedule
    if s == "step":
        return L.StepLR(opt, spec.step_size, spec.gamma), False
    if s == "exponential":
        return L.ExponentialLR(opt, spec.gamma), False
    if s == "cosine":
        return L.CosineAnnealingLR(opt, total, spec.min_lr), True
    if s == "warmup_cosine":
        w = spec.warmup_epochs * steps
        return L.SequentialLR(opt, [L.LinearLR(opt, 0.01, 1.0, w), L.CosineAnnealingLR(opt, total - w, spec.min_lr)],
                              [w]), True
    if s == "cosine_restarts":
        return L.CosineAnnealingWarmRestarts(opt, spec.restart_epochs * steps, spec.restart_mult, spec.min_lr), True
    if s == "one_cycle":
        return L.OneCycleLR(opt, spec.lr, total_steps=total), True
    return None, False


@pytest.mark.parametrize("schedule", [s for s in SCHEDULES if s != "plateau"])
def test_lr_curve_matches_torch_schedulers(schedule):
    spec = TrainSpec(schedule=schedule, epochs=12, lr=0.1, step_size=3, gamma=0.5, warmup_epochs=2,
                     restart_epochs=2, restart_mult=2, min_lr=0.001)
    steps = 5
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=spec.lr, momentum=0.9)
    sched, per_step = _reference(spec, opt, steps)
    want = []
    for _ in range(spec.epochs):
        for _ in range(steps):
            want.append(opt.param_groups[0]["lr"])
            opt.step()
            if sched is not None and per_step:
                sched.step()
        if sched is not None and not per_step:
            sched.step()
    got = lr_curve(spec, steps)
    assert len(got) == spec.epochs * steps
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert lr_curve(spec, steps, per="epoch") == pytest.approx(want[::steps])


def test_schedule_shapes():
    base = dict(epochs=10, lr=1.0, min_lr=0.0)
    assert lr_curve(TrainSpec(schedule="constant", **base), 4) == [1.0] * 40
    warm = lr_curve(TrainSpec(schedule="warmup_cosine", warmup_epochs=2, **base), 4)
    assert warm[0] == pytest.approx(0.01) and max(warm) == pytest.approx(1.0) and warm.index(max(warm)) == 8
    cyc = lr_curve(TrainSpec(schedule="one_cycle", **base), 4)
    assert cyc[0] < 0.1 and max(cyc) == pytest.approx(1.0, rel=1e-3) and cyc[-1] < 1e-3
    restarts = lr_curve(TrainSpec(schedule="cosine_restarts", restart_epochs=2, restart_mult=2, **base), 4)
    assert restarts[8] == 1.0 and restarts[24] == 1.0          # cycles of 2, then 4 epochs
    assert lr_curve(TrainSpec(schedule="plateau", **base), 4, per="epoch") == [1.0] * 10


def test_plateau_follows_the_monitor_direction_and_reduces():
    for monitor, mode in (("val_loss", "min"), ("val_accuracy", "max"), ("val_r2", "max"), ("val_mae", "min")):
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
        sched, per_step = build_scheduler(TrainSpec(schedule="plateau", monitor=monitor, gamma=0.5,
                                                    plateau_patience=1), opt, 10)
        assert not per_step and sched.mode == mode
    for v in (1.0, 1.0, 1.0, 1.0):
        sched.step(v)
    assert opt.param_groups[0]["lr"] == 0.5


def test_fast_forward_equals_stepping():
    spec = TrainSpec(schedule="warmup_cosine", epochs=6, warmup_epochs=1)
    curve = lr_curve(spec, 7)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=spec.lr)
    sched, _ = build_scheduler(spec, opt, 7)
    fast_forward(sched, 17)
    assert opt.param_groups[0]["lr"] == pytest.approx(curve[17])


# ---------------------------------------------------------------- regularizers
def test_l1_and_l2_gradients_equal_the_penalty_in_the_loss():
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    spec = TrainSpec(l1=0.01, l2=0.02)
    a, b = net(), net()
    loss_a = nn.functional.cross_entropy(a(x), y) + penalty(a, 0.01, 0.02)
    loss_a.backward()
    opt = build_optimizer(spec, b)
    nn.functional.cross_entropy(b(x), y).backward()
    Regularizer(spec, b, opt).after_backward()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-6)


def test_penalties_skip_biases_and_norm_parameters():
    m = net()
    with torch.no_grad():
        p = penalty(m, 0.0, 1.0)
        assert float(p) == pytest.approx(sum(float((w ** 2).sum()) for w in (m[0].weight, m[3].weight)))


def test_max_norm_caps_each_unit_after_the_step():
    m = net()
    with torch.no_grad():
        m[0].weight.mul_(10)
    spec = TrainSpec(max_norm=0.5)
    Regularizer(spec, m, build_optimizer(spec, m)).after_step()
    norms = m[0].weight.detach().norm(dim=1)
    assert float(norms.max()) <= 0.5 + 1e-5
    conv = nn.Conv2d(2, 4, 3)
    with torch.no_grad():
        conv.weight.mul_(20)
    Regularizer(spec, conv, build_optimizer(spec, conv)).after_step()
    assert float(conv.weight.detach().flatten(1).norm(dim=1).max()) <= 0.5 + 1e-5


def test_clipping_by_norm_and_by_value():
    m = net()
    for p in m.parameters():
        p.grad = torch.full_like(p, 3.0)
    spec = TrainSpec(clip="norm", clip_value=1.0)
    Regularizer(spec, m, build_optimizer(spec, m)).after_backward()
    total = math.sqrt(sum(float((p.grad ** 2).sum()) for p in m.parameters()))
    assert total == pytest.approx(1.0, rel=1e-4)
    for p in m.parameters():
        p.grad = torch.linspace(-5, 5, p.numel()).reshape(p.shape)
    spec = TrainSpec(clip="value", clip_value=0.5)
    Regularizer(spec, m, build_optimizer(spec, m)).after_backward()
    assert all(float(p.grad.abs().max()) <= 0.5 for p in m.parameters())
