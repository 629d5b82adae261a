"""The network an export starts from: the compiled graph with its weights loaded and its
preprocessing checked (`prepare` -> `Prepared`), weights written so LayerLab reads them back,
and example batches for checking an export against LayerLab's own model."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..compiler import Compiled, compile_graph
from ..project import Project
from ..weights import WeightsError, load_weights, nonfinite
from .outcome import ExportError
from .preprocessing import check_preprocessing, preprocessing_beside


@dataclass
class Prepared:
    project: Project
    compiled: Compiled
    preprocessing: dict
    weights_path: Path | None
    weights_metadata: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    temperature: float | None = None   # the run's calibration.json T for these weights: outputs are logits / T

    @property
    def module(self):
        return self.compiled.module

    @property
    def input_scale(self) -> tuple[str, str]:
        """(what the exported network takes, one line of Python that makes such inputs, or ""):
        the data source's own scaling (digits 0-16 divided by 16, pixels by 255) said exactly,
        since the preprocessing inside the export is fitted on the already scaled values."""
        from ..input_scale import input_scale

        t = self.compiled.input_type
        if t.dtype == "long":
            return f"int64 token ids shaped {t}", ""
        known = input_scale(self.project.data.dataset)
        if known is not None:
            return f"samples shaped {t}, {known[0]}", known[1]
        return f"float32 samples shaped {t}, the values as stored in the data (no rescaling)", ""


def prepare(project: Project, weights_path, preprocessing: dict | None = None) -> Prepared:
    """Compile the project's graph, load the weights (safetensors only; a pickle is refused),
    and check the preprocessing (given, or the run folder's preprocessing.json)."""
    from ..compiler import CompileError

    try:
        compiled = compile_graph(project.graph)
    except CompileError as e:
        raise ExportError(str(e)) from None
    metadata: dict[str, str] = {}
    if weights_path is not None:
        try:
            metadata = load_weights(compiled.module, compiled.node_of_module, weights_path)
        except WeightsError as e:
            raise ExportError(str(e)) from None
    compiled.module.eval()
    bad = nonfinite(compiled.module.state_dict())
    if preprocessing is None:
        preprocessing = preprocessing_beside(weights_path)
    pre = check_preprocessing(preprocessing, compiled.input_type)
    warnings = []
    if bad:
        warnings.append(f"the weights hold NaN or infinity ({', '.join(bad[:3])}{', …' if len(bad) > 3 else ''}): "
                        "the run diverged; export an earlier checkpoint or retrain")
    if weights_path is None:
        warnings.append("no weights given: the export holds the untrained, freshly initialized network")
    wanted = project.data.preprocessing
    if pre["kind"] != wanted and compiled.input_type.dtype == "float":
        warnings.append(f"the project preprocesses with {wanted} but the export applies {pre['kind']}"
                        + (" (no preprocessing.json beside the weights): pass the run's preprocessing.json"
                           if pre["kind"] == "none" else ""))
    from ..train.calibration import for_weights
    temperature, note = for_weights(weights_path)
    warnings += [note] if note else []
    return Prepared(project, compiled, pre, Path(weights_path) if weights_path else None, metadata, warnings,
                    temperature)


def save_weights_readable(module, node_of_module: dict[str, str], path, metadata: dict[str, str] | None = None):
    """core.weights.save_weights, then make sure core.weights.read_weights will accept the file.

    read_weights sniffs the first bytes for a pickle (0x80) or a zip ("PK"), but a safetensors file
    starts with its header length as a little-endian u64, whose low byte is 0x80 for one header
    size in 256: such a file would be refused as a pickle. Padding the metadata changes the length."""
    from ..weights import save_weights

    meta = dict(metadata or {})
    for pad in range(8):
        save_weights(module, node_of_module, path, metadata=meta or None)  # {} + no tensors: a broken file
        with open(path, "rb") as f:
            head = f.read(2)
        if head[:1] != b"\x80" and head != b"PK":
            return
        meta["pad"] = " " * (pad + 1)
    raise ExportError(f"{path}: could not write weights that LayerLab can read back")


def example_batch(compiled: Compiled, batch: int = 8, seed: int = 0, vocab: int | None = None):
    """A reproducible batch shaped like the network's input (token ids below the vocabulary)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    t = compiled.input_type
    if t.dtype == "long":
        if vocab is None:
            vocab = min((m.num_embeddings for m in compiled.module.modules()
                         if isinstance(m, torch.nn.Embedding)), default=2)
        return torch.randint(0, vocab, (batch, *t.shape), generator=g)
    return torch.randn(batch, *t.shape, generator=g)


def example_raw_batch(compiled: Compiled, pre: dict, batch: int = 8, seed: int = 0):
    """Raw inputs that look like data to the network: standard normal *after* preprocessing
    (z / scale + shift, or z @ matrix⁻¹ + shift), so checks run where the network was trained
    rather than on inputs the preprocessing would blow up."""
    import torch

    x = example_batch(compiled, batch, seed)
    if pre["kind"] == "none" or compiled.input_type.dtype != "float":
        return x
    z = x.reshape(batch, -1).double()
    shift = torch.tensor(pre["shift"], dtype=torch.float64)
    if pre["kind"] == "pca_whiten":
        raw = z @ torch.linalg.pinv(torch.tensor(pre["matrix"], dtype=torch.float64)) + shift
    else:
        raw = z / torch.tensor(pre["scale"], dtype=torch.float64) + shift
    return raw.float().reshape(x.shape)
