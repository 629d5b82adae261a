"""FusedStep calls torch's fused optimizer kernels directly: the same weights and optimizer state
as `optimizer.step()`, bit for bit, and `optimizer.step()` itself wherever the shortcut would differ."""
import copy

import pytest
import torch
from torch import nn

from layerlab.core.train.fused_step import FusedStep

OPTIMIZERS = {
    "adam": lambda ps: torch.optim.Adam(ps, lr=3e-3, fused=True),
    "adam_decay_amsgrad": lambda ps: torch.optim.Adam(ps, lr=3e-3, weight_decay=1e-2, amsgrad=True, fused=True),
    "adam_decoupled_maximize": lambda ps: torch.optim.Adam(ps, lr=1e-3, weight_decay=1e-2, decoupled_weight_decay=True,
                                                           maximize=True, betas=(0.8, 0.99), fused=True),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=3e-3, weight_decay=5e-2, fused=True),
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.05, fused=True),
    "momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3, fused=True),
    "nesterov": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, fused=True),
}


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))


def _groups(net, same=False):
    """Two groups, as LayerLab builds them (weights, then biases without decay); `same`: equal
    settings, which FusedStep serves with one kernel call."""
    weights = [p for p in net.parameters() if p.dim() >= 2]
    others = [p for p in net.parameters() if p.dim() < 2]
    return [{"params": weights}, {"params": others} if same else {"params": others, "weight_decay": 0.0, "lr": 1e-3}]


def _train(net, opt, step, steps=25, scheduler=None, drop_grad_at=None):
    g = torch.Generator().manual_seed(1)
    for i in range(steps):
        x = torch.randn(32, 12, generator=g)
        y = torch.randint(0, 3, (32,), generator=g)
        loss = nn.functional.cross_entropy(net(x), y)
        for p in net.parameters():
            p.grad = None
        loss.backward()
        if i == drop_grad_at:
            net[2].bias.grad = None            # a parameter without a gradient this step
        step()
        if scheduler is not None:
            scheduler.step()


def _same(a_net, a_opt, b_net, b_opt):
    for pa, pb in zip(a_net.parameters(), b_net.parameters()):
        assert torch.equal(pa, pb)
        sa, sb = a_opt.state[pa], b_opt.state[pb]
        assert sa.keys() == sb.keys()
        for k in sa:
            if isinstance(sa[k], torch.Tensor):
                assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("same", [False, True], ids=["groups_differ", "groups_alike"])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_bit_identical_to_optimizer_step_with_a_schedule(kind, same):
    ref_net, net = _net(), _net()
    ref_opt, opt = OPTIMIZERS[kind](_groups(ref_net, same)), OPTIMIZERS[kind](_groups(net, same))
    fused = FusedStep(opt)
    assert fused.usable
    calls, kernel = [], fused._kernel
    fused._kernel = lambda *a: (calls.append(1), kernel(*a))
    max_lr = [0.01, 0.01] if same else [0.01, 0.002]
    ref_sched = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=max_lr, total_steps=25)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=25)
    _train(ref_net, ref_opt, ref_opt.step, scheduler=ref_sched)
    _train(net, opt, fused, scheduler=sched)
    _same(ref_net, ref_opt, net, opt)
    assert fused.fallbacks == 1              # only the first step (it creates the state) went through optimizer.step
    assert len(calls) == 24 * (1 if same else 2)     # groups alike: one kernel call a step for both


@pytest.mark.parametrize("kind", ["adam", "sgd"])      # plain SGD keeps no state: its groups are watched
def test_falls_back_for_a_missing_gradient_hooks_and_replaced_state(kind):
    ref_net, net = _net(), _net()
    ref_opt, opt = OPTIMIZERS[kind](_groups(ref_net)), OPTIMIZERS[kind](_groups(net))
    fused = FusedStep(opt)
    _train(ref_net, ref_opt, ref_opt.step, steps=10, drop_grad_at=4)
    _train(net, opt, fused, steps=10, drop_grad_at=4)
    _same(ref_net, ref_opt, net, opt)
    assert fused.fallbacks == 2              # the first step and the step with a missing gradient

    from torch.optim.optimizer import register_optimizer_step_post_hook

    handle = register_optimizer_step_post_hook(lambda *a: None)
    try:
        _train(ref_net, ref_opt, ref_opt.step, steps=3)
        _train(net, opt, fused, steps=3)
    finally:
        handle.remove()
    assert fused.fallbacks == 5              # a registered step hook runs: every step goes through optimizer.step

    saved = ref_opt.state_dict()                   # resume: the state is replaced (each its own copy:
    for g in saved["param_groups"]:
        g["lr"] *= 0.5                             # with other settings than the groups had
    ref_opt.load_state_dict(copy.deepcopy(saved))  # load_state_dict keeps the tensors it is given)
    opt.load_state_dict(copy.deepcopy(saved))
    _train(ref_net, ref_opt, ref_opt.step, steps=5)
    _train(net, opt, fused, steps=5)
    _same(ref_net, ref_opt, net, opt)
    assert fused.fallbacks == 6              # one step to pick up the new state tensors, then the kernel again


@pytest.mark.parametrize("make", [
    lambda ps: torch.optim.Adam(ps, lr=1e-3),                    # foreach, not fused
    lambda ps: torch.optim.RMSprop(ps, lr=1e-3),
    lambda ps: torch.optim.Adam(ps, lr=torch.tensor(1e-3), fused=True),
])
def test_other_optimizers_always_use_optimizer_step(make):
    ref_net, net = _net(), _net()
    ref_opt, opt = make(_groups(ref_net)), make(_groups(net))
    fused = FusedStep(opt)
    assert not fused.usable
    _train(ref_net, ref_opt, ref_opt.step, steps=6)
    _train(net, opt, fused, steps=6)
    _same(ref_net, ref_opt, net, opt)
    assert fused.fallbacks == 6


def test_trainer_run_matches_optimizer_step(tmp_path, monkeypatch):
    """A whole LayerLab run (per-step cosine schedule, weight decay, clipping) ends with the same
    weights whether the loop calls the kernels directly or optimizer.step every step."""
    from safetensors.torch import load_file

    from layerlab.core.project import load_project
    from layerlab.core.resources import template_path
    from layerlab.core.train import Trainer
    from layerlab.core.train import fused_step

    project = load_project(template_path("mlp"))
    spec = project.training
    spec.epochs, spec.schedule, spec.weight_decay, spec.clip = 3, "cosine", 1e-3, "norm"
    direct = []
    real_kernels = fused_step.FusedStep._kernels
    monkeypatch.setattr(fused_step.FusedStep, "_kernels", lambda self, *a: (direct.append(1), real_kernels(self, *a)))
    assert Trainer(project, run_dir=tmp_path / "fused").fit().status == "finished"
    assert len(direct) > 10
    monkeypatch.setattr(fused_step.FusedStep, "__call__", lambda self: self.optimizer.step())
    assert Trainer(project, run_dir=tmp_path / "plain").fit().status == "finished"
    a, b = load_file(tmp_path / "fused" / "last.safetensors"), load_file(tmp_path / "plain" / "last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
