"""The scale a data source gives raw values before the fitted preprocessing: what an exported
network expects, said in its docstring, its model card and the export dialog. A user who feeds
scikit-learn's raw digits (0-16) to a network trained on [0, 1] gets wrong predictions.
Torch-free: the export dialog reads it. Keep in step with the loaders in core/data."""
from __future__ import annotations

INPUT_SCALES: dict[str, tuple[str, str]] = {
    "digits": ("float32 in [0, 1]: scikit-learn's digit images (grey levels 0-16) divided by 16",
               "x = torch.tensor(sklearn.datasets.load_digits().images / 16.0, dtype=torch.float32)[:, None]"),
    "images": ("float32 in [0, 1]: pixel values 0-255 divided by 255, channels first, at the data set's "
               "size and colour mode",
               "x = torch.tensor(pixels / 255.0, dtype=torch.float32).permute(2, 0, 1)[None]"
               "  # pixels: [H, W, C] uint8"),
    "idx": ("float32: uint8 pixel values 0-255 divided by 255 (other IDX types as stored)",
            "x = torch.tensor(images / 255.0, dtype=torch.float32)[:, None]  # images: [N, H, W] uint8"),
}


def input_scale(source: str) -> tuple[str, str] | None:
    """(what the inputs are, one line of Python that makes them) for a data source that scales its
    raw values before the fitted preprocessing; None where the network takes the values as stored."""
    return INPUT_SCALES.get(source)
