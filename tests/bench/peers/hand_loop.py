"""Plain PyTorch: pre-shuffled tensors sliced into batches, Adam, cross-entropy. With --tuned, what
LayerLab resolves on CPU done by hand: channels_last weights and batches for a conv net and
Adam(fused=True), torch eager at its best (the ceiling for a loop that runs torch's own kernels)."""
import time

import torch
import torch.nn.functional as F

from tests.bench.peers.common import load, parse, report
from tests.bench.peers.torch_models import build

a = parse()
torch.set_num_threads(1)
torch.manual_seed(0)
xt, yt, xs, ys = (torch.from_numpy(v) for v in load(a.data))
model = build(a.model)
fmt = torch.channels_last if a.tuned and a.model == "cnn" else torch.contiguous_format
model = model.to(memory_format=fmt)
opt = torch.optim.Adam(model.parameters(), lr=a.lr, fused=True if a.tuned else None)
n = len(xt)
model.train()
t0 = time.perf_counter()
for _ in range(a.epochs):
    perm = torch.randperm(n)
    xb_all, yb_all = xt[perm], yt[perm]
    if xb_all.dim() == 4:
        xb_all = xb_all.contiguous(memory_format=fmt)
    for i in range(0, n, a.batch):
        loss = F.cross_entropy(model(xb_all[i:i + a.batch]), yb_all[i:i + a.batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
seconds = time.perf_counter() - t0
model.eval()
with torch.no_grad():
    acc = (model(xs).argmax(1) == ys).float().mean().item()
report("pytorch hand loop" + (" (channels_last, fused Adam)" if a.tuned else ""), n, a.epochs, seconds, acc)
