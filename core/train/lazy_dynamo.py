"""Keep torch's compiler (torch._dynamo) out of an eager training run until something needs it.

torch.optim imports torch._dynamo the first time an optimizer is built (`add_param_group`,
`zero_grad`, `state_dict` are wrapped in `torch._disable_dynamo`, which imports it on first call)
and on every step (`_use_grad_for_differentiable` runs `import torch._dynamo` and
`torch._dynamo.graph_break()`). No optimizer flag (foreach, fused, capturable) and no torch setting
avoids it in torch 2.13, and the import (sympy, inductor's config, FSDP...) costs about as long as
importing torch itself: most of a small run's set-up. In eager mode both uses do nothing:
`graph_break()` is an empty function that only a tracing compiler looks at, and `disable(fn)` only
tells a compiler to skip `fn`, and nothing can be compiling while torch._dynamo was never imported.

`install()` puts a stand-in at sys.modules["torch._dynamo"] that answers those two calls and loads
the real module the moment anything else is asked of it: another attribute (`torch._dynamo.config`,
`optimize`, `reset`, `trace_rules`...), or an import of a submodule (a meta-path finder loads the
real package first, so a submodule is never loaded twice). Functions it "disabled" while standing
in call the real `torch._dynamo.disable` of themselves once the real module is loaded, so after
`torch.compile` they are skipped by the compiler exactly as without the stand-in. `install()` does
nothing when torch._dynamo is already imported, or with LAYERLAB_EAGER_DYNAMO=1 set.
"""
from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types

NAME = "torch._dynamo"
_state: dict = {"real": None}


def real_loaded() -> bool:
    """True when the real torch._dynamo has been imported in this process."""
    mod = sys.modules.get(NAME)
    return mod is not None and not isinstance(mod, _StandIn)


def _load_real():
    real = _state["real"]
    if real is not None:
        return real
    stand_in = sys.modules.get(NAME)
    if isinstance(stand_in, _StandIn):
        del sys.modules[NAME]
    _remove_finder()
    real = importlib.import_module(NAME)      # also sets torch._dynamo to the real module
    _state["real"] = real
    return real


class _StandIn(types.ModuleType):
    """sys.modules["torch._dynamo"] until the real one is needed."""

    def graph_break(self, msg: str = "") -> None:     # an empty function outside a compiler's trace
        real = _state["real"]
        if real is not None:
            real.graph_break(msg)

    def disable(self, fn=None, recursive=True, *, reason=None, wrapping=True):
        if fn is None:
            return functools.partial(self.disable, recursive=recursive, reason=reason, wrapping=wrapping)
        cache: dict = {}

        def call(*args, **kwargs):
            real = _state["real"]
            if real is None:                          # nothing can be compiling: call it as it is
                return fn(*args, **kwargs)
            if "fn" not in cache:
                cache["fn"] = real.disable(fn, recursive, reason=reason, wrapping=wrapping)
            return cache["fn"](*args, **kwargs)
        if wrapping:
            functools.update_wrapper(call, fn)
        return call

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__") and name not in ("__path__", "__file__"):
            raise AttributeError(name)
        return getattr(_load_real(), name)


class _Finder(importlib.abc.MetaPathFinder):
    """Load the real torch._dynamo before any of its submodules is imported."""

    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith(NAME + "."):
            return None
        _load_real()
        if fullname in sys.modules:                   # the real package imported it: hand that one back
            return importlib.machinery.ModuleSpec(fullname, _Existing(), is_package=False)
        return importlib.machinery.PathFinder.find_spec(fullname, _state["real"].__path__, target)


class _Existing(importlib.abc.Loader):
    def create_module(self, spec):
        module = sys.modules[spec.name]
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.spec                   # module_from_spec overwrote it with ours


_FINDER = _Finder()


def _remove_finder() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def install() -> bool:
    """Stand in for torch._dynamo unless it is imported already; True when the stand-in is in place."""
    if NAME in sys.modules:
        return isinstance(sys.modules[NAME], _StandIn)
    if os.environ.get("LAYERLAB_EAGER_DYNAMO") == "1":
        return False
    import torch
    stand_in = _StandIn(NAME, __doc__)
    stand_in.__spec__ = importlib.machinery.ModuleSpec(NAME, None, is_package=True)
    sys.modules[NAME] = stand_in
    sys.meta_path.insert(0, _FINDER)
    torch._dynamo = stand_in
    return True
