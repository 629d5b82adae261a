"""BatchNorm statistics synchronized across DDP ranks (`training.sync_batchnorm`, `--sync-bn`).

Without it each rank normalizes with its own shard's batch statistics and DDP copies rank 0's
running statistics to the others. With it every rank normalizes with the statistics of the whole
global batch, exactly as one process with the full batch would. On CUDA this is torch's own
SyncBatchNorm; torch's refuses CPU tensors, so on gloo `GlobalBatchNorm` does the same with
autograd-aware all-reduces (torch.distributed.nn), two of them per layer per step (mean, then the
squared deviations: the variance as stable as BatchNorm's own)."""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def _world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm1d/2d/3d whose training-mode statistics are those of the batch over every rank."""

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input (got {x.dim()}-D)")

    def forward(self, x):
        if not self.training or _world() == 1:
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        dist.all_reduce(count)                                             # values per channel, all ranks
        mean = all_reduce(x.sum(dims)) / count
        centred = x - mean.reshape(shape)
        var = all_reduce((centred * centred).sum(dims)) / count          # biased, as BatchNorm normalizes
        if self.track_running_stats:
            self._update_running(mean.detach(), var.detach() * count / (count - 1).clamp(min=1))
        y = centred * torch.rsqrt(var + self.eps).reshape(shape)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    @torch.no_grad()
    def _update_running(self, mean, unbiased_var) -> None:
        self.num_batches_tracked.add_(1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - m).add_(mean, alpha=m)
        self.running_var.mul_(1 - m).add_(unbiased_var, alpha=m)


def sync_batchnorm(module: nn.Module, device: torch.device) -> int:
    """Swap every BatchNorm inside `module` (in place) for a synchronized one that keeps the same
    parameters and buffers (so the optimizer and the saved names are unchanged); returns how many."""
    swapped = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, _BatchNorm) or isinstance(child, (GlobalBatchNorm, nn.SyncBatchNorm)):
                continue
            kind = nn.SyncBatchNorm if device.type == "cuda" else GlobalBatchNorm
            new = kind(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            if child.affine:
                new.weight, new.bias = child.weight, child.bias
            if child.track_running_stats:
                new.running_mean, new.running_var = child.running_mean, child.running_var
                new.num_batches_tracked = child.num_batches_tracked
            new.train(child.training)
            new._forward_pre_hooks.update(child._forward_pre_hooks)   # a frozen layer's keep-eval hook
            setattr(parent, name, new)
            swapped += 1
    return swapped
