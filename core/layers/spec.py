"""Declarative layer entries: one `LayerSpec` per layer type feeds the palette, the
inspector, shape inference, the compiler and code export.

Nothing here imports torch: shape inference runs on every edit and at GUI start-up, so
builders import torch lazily when they are called.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Sequence


class ShapeError(Exception):
    """A layer cannot accept its input. `message` says what is wrong, `fix` what to do."""

    def __init__(self, message: str, fix: str = ""):
        super().__init__(message)
        self.message = message
        self.fix = fix


class ParamError(ValueError):
    """A parameter value is out of range or of the wrong type."""

    def __init__(self, param: str, message: str, fix: str = ""):
        super().__init__(message)
        self.param = param
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class TensorType:
    """A tensor's per-sample shape (the batch dimension B is implicit) and dtype kind."""

    shape: tuple[int, ...]
    dtype: str = "float"  # "float" or "long" (token ids, class labels)

    def __str__(self) -> str:
        return "[" + ", ".join(["B", *map(str, self.shape)]) + "]"

    @property
    def rank(self) -> int:
        return len(self.shape)

    def with_shape(self, *shape: int) -> "TensorType":
        return TensorType(tuple(int(s) for s in shape), self.dtype)


# ---------------------------------------------------------------- parameter kinds
MAX_INT = 2**40   # larger than any real size; bigger numbers come from crafted files


def _short(value: Any) -> str:
    """A value for a message: crafted files hold 5,000-digit numbers and megabyte strings."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else f"a {int(value.bit_length() * 0.30103) + 1}-digit number"
    return text if len(text) <= 60 else text[:40] + "…" + text[-10:]
@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    help: str = ""

    kind = "any"

    def coerce(self, value: Any) -> Any:  # pragma: no cover - overridden
        return value


@dataclass(frozen=True)
class Int(Param):
    min: int | None = None
    max: int | None = None
    kind = "int"

    def coerce(self, value: Any) -> int:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not math.isfinite(value)) or value != int(value)):
            raise ParamError(self.name, f"{self.name} must be a whole number (got {_short(value)})",
                             f"set {self.name} to a whole number")
        v = int(value)
        if abs(v) > MAX_INT:
            raise ParamError(self.name, f"{self.name} is {_short(v)}, beyond any size a layer can have",
                             f"set {self.name} to a sensible size")
        if self.min is not None and v < self.min:
            raise ParamError(self.name, f"{self.name} must be ≥ {self.min} (got {v})",
                             f"set {self.name} to {self.min} or more")
        if self.max is not None and v > self.max:
            raise ParamError(self.name, f"{self.name} must be ≤ {self.max} (got {v})",
                             f"set {self.name} to {self.max} or less")
        return v


@dataclass(frozen=True)
class Float(Param):
    min: float | None = None
    max: float | None = None
    kind = "float"

    def coerce(self, value: Any) -> float:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, int) and abs(value) > MAX_INT) or not math.isfinite(value)):
            raise ParamError(self.name, f"{self.name} must be a finite number (got {_short(value)})",
                             f"set {self.name} to a number")
        v = float(value)
        if self.min is not None and v < self.min:
            raise ParamError(self.name, f"{self.name} must be ≥ {self.min} (got {v})",
                             f"set {self.name} to {self.min} or more")
        if self.max is not None and v > self.max:
            raise ParamError(self.name, f"{self.name} must be ≤ {self.max} (got {v})",
                             f"set {self.name} to {self.max} or less")
        return v


@dataclass(frozen=True)
class Bool(Param):
    kind = "bool"

    def coerce(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ParamError(self.name, f"{self.name} must be true or false (got {_short(value)})",
                             f"set {self.name} to true or false")
        return value


@dataclass(frozen=True)
class Choice(Param):
    options: tuple[str, ...] = ()
    kind = "choice"

    def coerce(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            raise ParamError(self.name, f"{self.name} must be one of {', '.join(self.options)} (got {_short(value)})",
                             f"pick {self.name} from {', '.join(self.options)}")
        return value


@dataclass(frozen=True)
class Dims(Param):
    """A list of positive sizes, e.g. an input shape [1, 8, 8]; -1 allowed once if `infer_one`."""

    infer_one: bool = False
    kind = "dims"

    def coerce(self, value: Any) -> tuple[int, ...]:
        if isinstance(value, str):
            try:
                # "1, 8, 8", "1 8 8" and "8x8" all parse; stray letters do not
                value = [int(v) for v in re.split(r"[,\s×]+|(?<=\d)x(?=\d)", value.strip()) if v]
            except ValueError:
                raise ParamError(self.name, f"{self.name} must be sizes separated by commas (got {_short(value)})",
                                 f"write {self.name} like 1, 8, 8") from None
        if not isinstance(value, (list, tuple)) or not value or len(value) > 8 or any(
                isinstance(v, bool) or not isinstance(v, int) or abs(v) > MAX_INT for v in value):
            raise ParamError(self.name, f"{self.name} must be up to 8 whole numbers of sensible size "
                                        f"(got {_short(value)})", f"write {self.name} like 1, 8, 8")
        dims = tuple(value)
        bad = [d for d in dims if d < 1 and not (self.infer_one and d == -1)]
        if bad or (self.infer_one and dims.count(-1) > 1):
            raise ParamError(self.name, f"{self.name} sizes must be positive (got {list(dims)})",
                             f"use positive sizes{' (and at most one -1)' if self.infer_one else ''}")
        return dims


@dataclass(frozen=True)
class Ident(Param):
    """A name: letters, digits and _, starting with a letter (a block's name)."""

    kind = "ident"

    def coerce(self, value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", value):
            raise ParamError(self.name, f"{self.name} must be a name of letters, digits and _ (got {_short(value)})",
                             f"set {self.name} to a name like res_block")
        return value


# ---------------------------------------------------------------- the entry
Infer = Callable[[SimpleNamespace, Sequence[TensorType]], TensorType]
Build = Callable[[SimpleNamespace, Sequence[TensorType]], Any]


@dataclass(frozen=True)
class LayerSpec:
    name: str
    category: str
    help: str
    infer: Infer
    build: Build | None = None            # None for Input / Output (no module)
    params: tuple[Param, ...] = ()
    inputs: int | Callable[[SimpleNamespace], int] = 1
    count: Callable[[SimpleNamespace, Sequence[TensorType]], int] | None = None  # parameter count
    key_params: tuple[str, ...] = ()      # shown on the canvas node
    activation: str = ""                  # "relu" / "tanh" / "sigmoid" / ... : drives auto init
    has_bias_param: bool = False          # owns a bias that a following norm layer makes redundant
    icon: str = "■"
    # Traits every reader asks instead of keeping its own list of type names:
    role: str = ""                        # "input" / "output": where samples enter or leave (no module)
    merge: Any = None                     # a `merge.Merge`: joins its inputs with a function, no module
    weighted: bool = False                # owns weight matrices that the init scheme sets
    linear: bool = False                  # one weight matrix over the features (Dense, Conv): auto init
                                          # resolves by the next activation; its outputs show depth spread
    width_param: str = ""                 # the parameter that sets its output width ("units", "filters")
    keeps_values: bool = False            # passes its input's values on (reshaped, or dropped only while
                                          # training): checks of what feeds the Output look through it
    module_classes: tuple[str, ...] = ()  # torch classes `build` makes, where their names differ from `name`
    cancels_bias: bool = False            # subtracts the batch mean per channel: a bias right before is redundant
    key_layer: bool = True                # False: its activations only move, drop or pool its input's, so
                                          # dashboards leave it out of the key layers
    port: str = ""                        # "in" / "out": a block's port inside its sub-graph
    block: bool = False                   # an instance of a project's block (params.block names it)
    _by_name: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self._by_name.update({p.name: p for p in self.params})

    def param(self, name: str) -> Param:
        return self._by_name[name]

    def has_param(self, name: str) -> bool:
        return name in self._by_name

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, params: dict[str, Any]) -> SimpleNamespace:
        """Defaults filled in, every value coerced and range-checked (raises ParamError)."""
        unknown = set(params) - set(self._by_name)
        if unknown:
            name = sorted(unknown)[0]
            raise ParamError(name, f"{self.name} has no parameter {name!r}",
                             f"remove it; {self.name} takes {', '.join(self._by_name) or 'no parameters'}")
        values = {p.name: p.coerce(params.get(p.name, p.default)) for p in self.params}
        return SimpleNamespace(**values)

    def arity(self, p: SimpleNamespace) -> int:
        return self.inputs(p) if callable(self.inputs) else self.inputs
