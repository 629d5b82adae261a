"""What every peer script shares: argument parsing, the saved split, one thread, the result line."""
from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="npz with x_train, y_train, x_test, y_test")
    p.add_argument("--model", choices=("mlp", "cnn"), required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--defaults", action="store_true", help="the tool's default extras (logger, checkpoints)")
    p.add_argument("--tuned", action="store_true",
                   help="hand loop only: channels_last convolutions and fused Adam (torch eager at its best on CPU)")
    return p.parse_args()


def load(path: str):
    import numpy as np
    d = np.load(path)
    return d["x_train"], d["y_train"], d["x_test"], d["y_test"]


def report(tool: str, n_train: int, epochs: int, seconds: float, accuracy: float) -> None:
    print(json.dumps({"tool": tool, "samples_per_s": n_train * epochs / seconds, "train_s": seconds,
                      "test_accuracy": float(accuracy)}), flush=True)
