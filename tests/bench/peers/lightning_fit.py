"""PyTorch Lightning: a LightningModule around the same network, DataLoader(shuffle=True).
Without --defaults: no logger, checkpoints, progress bar or model summary (Lightning at its fastest)."""
import logging
import time
import warnings

import lightning as L
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from tests.bench.peers.common import load, parse, report
from tests.bench.peers.torch_models import build

warnings.filterwarnings("ignore")
logging.getLogger("lightning").setLevel(logging.ERROR)
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
a = parse()
torch.set_num_threads(1)
torch.manual_seed(0)
xt, yt, xs, ys = (torch.from_numpy(v) for v in load(a.data))


class Module(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = build(a.model)

    def training_step(self, batch, _):
        x, y = batch
        return F.cross_entropy(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=a.lr)


class Clock(L.Callback):
    def on_train_start(self, *_):
        self.t0 = time.perf_counter()

    def on_train_end(self, *_):
        self.seconds = time.perf_counter() - self.t0


clock = Clock()
extras = {} if a.defaults else dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                                    enable_model_summary=False)
trainer = L.Trainer(max_epochs=a.epochs, accelerator="cpu", devices=1, callbacks=[clock], **extras)
module = Module()
loader = DataLoader(TensorDataset(xt, yt), batch_size=a.batch, shuffle=True)
trainer.fit(module, loader)
module.eval()
with torch.no_grad():
    acc = (module.net(xs).argmax(1) == ys).float().mean().item()
report("lightning" + (" (defaults)" if a.defaults else ""), len(xt), a.epochs, clock.seconds, acc)
