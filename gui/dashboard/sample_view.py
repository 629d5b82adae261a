"""The Sample tab of a next-token run (the text data set): a prompt, sliders for length,
temperature (0 = greedy) and top-k (0 = every token), a seed, and Generate. While a run trains
(or after it, while the training process keeps its model) the sample is a "generate" job in the
training process, between two steps (core/train/generate.py via model_views.JOBS); when that
process is gone, the run folder's weights are loaded in a thread. Validation perplexity
(teacher-forced) is shown beside the sample: a low perplexity with repetitive samples is what
evaluating on teacher forcing alone hides."""
from __future__ import annotations


from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSlider,
                               QSpinBox, QWidget)

from ..background import Background
from .card import Card, dim

KEY = "generate"


def _slider(name: str, lo: int, hi: int, value: int, tip: str) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal, objectName=name)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s


class SampleCard(Card):
    def __init__(self, request, parent=None):
        super().__init__("Sample", "sampleCard", parent)
        self.request = request
        self.store = None
        self.result = None
        self._shown = None
        row = QHBoxLayout()
        row.addWidget(self._controls(), 0)
        self.output = QPlainTextEdit(objectName="sampleText")
        self.output.setReadOnly(True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setPlaceholderText("Generated text appears here.")
        row.addWidget(self.output, 1)
        self.body.addLayout(row, 1)
        self.caption = dim("Train a next-token model (the tiny transformer template) to sample from it.")
        self.body.addWidget(self.caption)
        self._relay = Background(self)     # the sample dict (or None), error line
        self._relay.done.connect(self.show_result)

    def _controls(self) -> QWidget:
        box = QWidget()
        box.setFixedWidth(330)
        form = QFormLayout(box)
        form.setContentsMargins(4, 0, 4, 0)
        self.prompt = QLineEdit("The ", objectName="samplePrompt")
        self.prompt.setToolTip("The text the model continues")
        self.length = _slider("sampleLength", 10, 1000, 200, "How many characters to generate")
        self.temperature = _slider("sampleTemperature", 0, 200, 80,
                                   "Divides the logits before sampling: below 1 safer and more repetitive, above 1 "
                                   "wilder; 0 always takes the likeliest token (greedy)")
        self.top_k = _slider("sampleTopK", 0, 128, 20, "Sample only among the K likeliest tokens (0 = all)")
        self.seed = QSpinBox(objectName="sampleSeed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The same seed and settings give the same text")
        self.button = QPushButton("Generate", objectName="generateButton")
        self.button.clicked.connect(self.generate)
        self.labels = {}
        for name, w in (("prompt", self.prompt), ("length", self.length), ("temperature", self.temperature),
                        ("top-k", self.top_k), ("seed", self.seed)):
            if isinstance(w, QSlider):
                self.labels[name] = lab = QLabel()
                w.valueChanged.connect(lambda _v: self._label())
                line = QHBoxLayout()
                line.addWidget(w, 1)
                line.addWidget(lab)
                form.addRow(name, line)
            else:
                form.addRow(name, w)
        self.perplexity = QLabel("validation perplexity —", objectName="samplePerplexity")
        form.addRow(self.button)
        form.addRow(self.perplexity)
        self._label()
        return box

    def _label(self) -> None:
        t = self.temperature.value() / 100
        self.labels["length"].setText(f"{self.length.value()}")
        self.labels["temperature"].setText("greedy" if t == 0 else f"{t:.2f}")
        self.labels["top-k"].setText("all" if self.top_k.value() == 0 else f"{self.top_k.value()}")

    def params(self) -> dict:
        return {"prompt": self.prompt.text(), "length": self.length.value(),
                "temperature": self.temperature.value() / 100, "top_k": self.top_k.value(), "seed": self.seed.value()}

    # ------------------------------------------------------------ asking
    def refresh(self, store) -> None:
        key = (id(store), getattr(store, "status", None))
        if key == self._shown:
            return
        self._shown, self.store = key, store
        self.button.setEnabled(bool(getattr(store, "run_dir", "")) and store.status not in ("idle", "starting"))
        ppl = getattr(getattr(store, "result", None), "val_perplexity", None)
        if ppl is not None and self.result is None:     # the run's own figure, before any sample
            self.perplexity.setText(f"validation perplexity {ppl:.2f} (the run's result)")

    def generate(self) -> None:
        st = self.store
        if st is None or not getattr(st, "run_dir", ""):
            self.caption.setText("No run yet: press Train.")
            return
        params = self.params()
        self.button.setEnabled(False)
        self.caption.setText("Generating in the training process…" if st.active else "Generating…")
        if self.request(KEY, params):    # the answer comes through show_result (dashboard.on_job)
            return
        self.caption.setText("Generating from the run's saved weights…")
        run = st.run_dir

        def call():                    # imported in the worker: torch's modules load off the GUI thread
            from layerlab.core.train.generate import generate_run
            return generate_run(run, **params)
        self._relay.run(call, "generate")

    def show_result(self, value, error: str) -> None:
        self.button.setEnabled(True)
        if value is None:
            self.caption.setText(error or "No sample.")
            return
        self.result = value
        self.output.setPlainText(value["prompt"] + value["text"])
        ppl = value.get("val_perplexity")
        epoch = value.get("epoch")
        where = f" (epoch {epoch})" if epoch else f" ({value['weights']})" if value.get("weights") else ""
        self.perplexity.setText("validation perplexity —" if ppl is None else f"validation perplexity {ppl:.2f}{where}")
        mode = "greedy" if value["temperature"] == 0 else f"temperature {value['temperature']:.2f}"
        k = "all tokens" if value["top_k"] == 0 else f"top-{value['top_k']}"
        self.caption.setText(f"{value['length']} characters, {mode}, {k}, seed {value['seed']}. Perplexity is "
                             "teacher-forced (the model sees the true text); the sample feeds on its own output.")

    def table(self):
        v = self.result
        if not v:
            return ["prompt", "text"], []
        return ["prompt", "text", "temperature", "top_k", "seed", "val_perplexity"], [
            [v["prompt"], v["text"], v["temperature"], v["top_k"], v["seed"], v.get("val_perplexity")]]
