"""SyncBatchNorm on gloo (issue 18 item 4): two CPU processes, each with half a batch, normalize,
back-propagate and update running statistics exactly as one BatchNorm on the whole batch."""
from __future__ import annotations

import json

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from layerlab.core import distributed
from layerlab.core.distributed.ending import end_group, exit_process
from layerlab.core.distributed.sync_bn import GlobalBatchNorm, sync_batchnorm
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path


def _data():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 3, 5, 5, generator=g) * 2 + 1
    w = torch.randn(8, 3, 5, 5, generator=g)        # a loss that weighs every output differently
    return x, w


def _rank(rank: int, world: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    x, w = _data()
    half = slice(rank * 4, rank * 4 + 4)
    net = torch.nn.Sequential(torch.nn.BatchNorm2d(3, momentum=0.3))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([0.5, 1.5, -1.0]))
        net[0].bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    assert sync_batchnorm(net, torch.device("cpu")) == 1 and isinstance(net[0], GlobalBatchNorm)
    xr = x[half].clone().requires_grad_(True)
    for _ in range(2):                                   # two steps: running stats compound
        y = net(xr)
        loss = (y * w[half]).sum()
        xr.grad = None
        net.zero_grad()
        loss.backward()
    grads = torch.cat([net[0].weight.grad, net[0].bias.grad])
    dist.all_reduce(grads)                               # what DDP sums (before its averaging)
    torch.save({"y": y.detach(), "x_grad": xr.grad, "grads": grads, "mean": net[0].running_mean,
                "var": net[0].running_var, "n": net[0].num_batches_tracked}, f"{out}/rank{rank}.pt")
    # as a worker ends (issue 17): gloo's threads can abort a process that leaves through interpreter
    # shutdown (SIGABRT seen here in a full-suite run), so barrier, destroy, then os._exit
    end_group()
    exit_process(0)


def test_two_gloo_ranks_match_one_batchnorm_on_the_whole_batch(tmp_path):
    mp.spawn(_rank, args=(2, f"file://{tmp_path}/store", str(tmp_path)), nprocs=2, join=True)
    x, w = _data()
    ref = torch.nn.BatchNorm2d(3, momentum=0.3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([0.5, 1.5, -1.0]))
        ref.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    xf = x.clone().requires_grad_(True)
    for _ in range(2):
        y = ref(xf)
        xf.grad = None
        ref.zero_grad()
        (y * w).sum().backward()
    got = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    close = dict(rtol=1e-5, atol=1e-5)
    assert torch.allclose(torch.cat([g["y"] for g in got]), y.detach(), **close)
    assert torch.allclose(torch.cat([g["x_grad"] for g in got]), xf.grad, **close)
    for g in got:
        assert torch.allclose(g["grads"], torch.cat([ref.weight.grad, ref.bias.grad]), **close)
        assert torch.allclose(g["mean"], ref.running_mean, **close)
        assert torch.allclose(g["var"], ref.running_var, **close)
        assert int(g["n"]) == 2
    # without syncing, each half's own statistics would differ from the whole batch's
    assert not torch.allclose(x[:4].mean((0, 2, 3)), x.mean((0, 2, 3)), atol=1e-3)


def test_swap_keeps_parameters_buffers_and_a_frozen_layers_eval_hook():
    from layerlab.core.train.freeze import _keep_eval
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Sequential(torch.nn.BatchNorm1d(4)))
    params, buffers = list(net.parameters()), [b.data_ptr() for b in net.buffers()]
    net[1].register_forward_pre_hook(_keep_eval)
    assert sync_batchnorm(net, torch.device("cpu")) == 2
    assert all(a is b for a, b in zip(params, net.parameters()))     # the optimizer still holds them
    assert [b.data_ptr() for b in net.buffers()] == buffers
    assert isinstance(net[2][0], GlobalBatchNorm) and list(net[1]._forward_pre_hooks.values()) == [_keep_eval]
    net.train()
    net[1](torch.randn(2, 2, 4, 4))
    assert not net[1].training                                       # frozen: stays in eval mode


def test_sync_bn_flag_trains_a_batchnorm_net_with_two_processes(tmp_path, capfd):
    project = load_project(template_path("mlp"))
    g = project.graph
    edge = next(e for e in g.edges if e.src == "n2" and e.dst == "n3")
    g.disconnect(edge)
    bn = g.add_node("BatchNorm", {})
    g.connect("n2", bn.id)
    g.connect(bn.id, "n3")
    project.training.epochs = 2
    path = tmp_path / "bn.layerlab.json"
    save_project(project, path)
    run = tmp_path / "run"
    assert distributed.launch(path, 2, ["--out", str(run), "--sync-bn", "--json"], timeout=240) == 0
    result = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    assert result["status"] == "finished" and result["test_metrics"]["test_loss"] < 1.2
    assert json.loads((run / "config.json").read_text())["distributed"]["sync_batchnorm"] is True
