"""LayerLab's Trainer.fit on the same split: the whole loop (validation, metrics, checkpoints,
default probes), timed from RunStarted to Finished."""
import tempfile
import time


from tests.bench.peers.common import load, parse, report

a = parse()
from layerlab.core.train import Trainer  # noqa: E402
from layerlab.core.train.events import Finished, RunStarted  # noqa: E402
from tests.bench.peers.projects import dataset_from, project_for  # noqa: E402

project = project_for(a.model, a.epochs, a.batch, a.lr)
ds = dataset_from(load(a.data), project)
marks = {}


def on_event(e):
    if isinstance(e, (RunStarted, Finished)):
        marks[type(e).__name__] = time.perf_counter()


with tempfile.TemporaryDirectory() as tmp:
    result = Trainer(project, ds, run_dir=tmp).fit(on_event)
acc = result.test_metrics.get("test_accuracy", float("nan"))
report("layerlab", len(ds.x_train), a.epochs, marks["Finished"] - marks["RunStarted"], acc)
