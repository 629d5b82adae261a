"""A folder of images with one sub-folder per class (Pillow), resized to one size, as
channel-first float32 in [0, 1]."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import Raw, plural
from .errors import DataError
from .limits import check_bytes, dataset_bytes
from .options import OPTIONS, Options, _parse_number

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
MAX_SIZE = 1024
MAX_PIXELS = 64 * 2**20   # per image file; a larger one is a decompression bomb or not a training image


def image_size(opts: Options) -> tuple[int, int]:
    default = OPTIONS["images"]["size"][0]
    v = _parse_number(opts.values.get("size", default))
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(s, int) and not isinstance(s, bool) for s in v):
        h, w = v
    elif isinstance(v, int) and not isinstance(v, bool):
        h = w = v
    else:
        raise DataError(f"data.options.size (for images) must be a whole number or [height, width] (got {v!r}): e.g. 32")
    if not (1 <= h <= MAX_SIZE and 1 <= w <= MAX_SIZE):
        raise DataError(f"data.options.size (for images) is {v!r}: use 1 to {MAX_SIZE} pixels, e.g. 32")
    return h, w


def _visible(name: str) -> bool:
    return not name.startswith(".")


def list_images(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names (sorted sub-folder names) and (file, class id) pairs, sorted for reproducibility."""
    if not root.is_dir():
        raise DataError(f"the images source needs a folder, but {root} is a file: point data.path at the folder "
                        "that holds one sub-folder per class")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and _visible(p.name))
    if len(classes) < 2:
        loose = [p for p in root.iterdir() if p.suffix.lower() in EXTENSIONS]
        what = f"{plural(len(classes), 'sub-folder')}" + (f" and {plural(len(loose), 'loose image')}" if loose else "")
        raise DataError(f"image folder {root.name} has {what}: put each class's images in its own sub-folder "
                        "(at least two classes, e.g. cats/ and dogs/)")
    files = []
    for k, name in enumerate(classes):
        found = sorted(p for p in (root / name).rglob("*")
                       if p.is_file() and p.suffix.lower() in EXTENSIONS
                       and all(_visible(part) for part in p.relative_to(root).parts))
        if not found:
            raise DataError(f"class folder {name!r} in {root.name} has no images ({', '.join(sorted(EXTENSIONS))}): "
                            "add images or remove the folder")
        files += [(p, k) for p in found]
    return classes, files


def load_images(root: Path, opts: Options, watch=None) -> Raw:
    from PIL import Image, UnidentifiedImageError

    h, w = image_size(opts)
    gray = opts.bool("grayscale", OPTIONS["images"]["grayscale"][0])
    mode, channels = ("L", 1) if gray else ("RGB", 3)
    classes, files = list_images(root)
    check_bytes(dataset_bytes(len(files) * channels * h * w),
                f"image folder {root.name} ({len(files):,} images of {channels}×{h}×{w} at data.options.size)")
    x = np.empty((len(files), channels, h, w), dtype=np.float32)
    y = np.empty(len(files), dtype=np.int64)
    for i, (path, k) in enumerate(files):
        if watch is not None:
            watch.step(i / len(files))
        try:
            with Image.open(path) as im:
                if im.width * im.height > MAX_PIXELS:   # checked from the header, before decoding
                    raise Image.DecompressionBombError(f"{im.width}×{im.height} pixels, more than "
                                                       f"{MAX_PIXELS:,}")
                im.draft(mode, (w, h))          # JPEG: decode at a reduced size when that is enough
                im = _flatten_alpha(im).convert(mode).resize((w, h), Image.Resampling.BILINEAR)
                arr = np.asarray(im, dtype=np.float32)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as e:
            rel = path.relative_to(root)
            raise DataError(f"image {rel} cannot be opened ({type(e).__name__}: {str(e)[:80]}): "
                            "remove or replace the file") from None
        x[i] = (arr[None] if gray else arr.transpose(2, 0, 1)) / 255.0
        y[i] = k
    return Raw(x=x, y=y, task="classification", num_classes=len(classes), class_names=classes)


def _flatten_alpha(im):
    """Transparent pixels become white rather than whatever colour they hide."""
    from PIL import Image
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, im)
    return im
