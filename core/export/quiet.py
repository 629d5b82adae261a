"""Silence the exporters' chatter (missing optional packages, deprecations) while they run."""
from __future__ import annotations


def quiet_exporters():
    """Context: silence the exporters' chatter (torchvision not installed, deprecations)."""
    import contextlib
    import logging
    import warnings

    @contextlib.contextmanager
    def ctx():
        loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export",
                                                   "onnxscript", "torch._dynamo")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)

    return ctx()
