"""core/train/lazy_dynamo.py: an eager run never imports torch._dynamo, and everything that needs the
real module still gets it (each case in a fresh interpreter: sys.modules is per process)."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_optimizer_steps_and_checkpoints_without_the_compiler_and_match_the_real_module():
    code = """
    import sys, torch
    from layerlab.core.train import lazy_dynamo
    stand_in = {install}
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(m.parameters(), lr=0.1, fused=True)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    for _ in range(5):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step(); sched.step()
    opt.load_state_dict(opt.state_dict())
    print(repr((stand_in, lazy_dynamo.real_loaded(), [round(v, 6) for v in m[0].weight.flatten().tolist()])))
    """
    with_stand_in = eval(_run(code.format(install="lazy_dynamo.install()")))
    without = eval(_run(code.format(install="False; import torch._dynamo")))
    assert with_stand_in[:2] == (True, False)     # stood in, and the real compiler was never imported
    assert without[1] is True
    assert with_stand_in[2] == without[2]         # bit-identical weights


def test_the_real_module_loads_when_asked_for_and_compile_still_works():
    out = _run("""
    import sys, torch
    from layerlab.core.train import lazy_dynamo
    assert lazy_dynamo.install()
    m = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)       # disabled by the stand-in, before the real load
    assert not lazy_dynamo.real_loaded()
    from torch._dynamo.eval_frame import OptimizedModule   # a submodule import loads the real package
    import torch._dynamo as real
    assert lazy_dynamo.real_loaded() and sys.modules["torch._dynamo"] is real and torch._dynamo is real
    assert sys.modules["torch._dynamo.eval_frame"].OptimizedModule is OptimizedModule
    assert real.eval_frame.__spec__.loader is not None and "Existing" not in type(real.eval_frame.__spec__.loader).__name__
    f = torch.compile(lambda a: (a * 2).sum(), backend="eager")
    out = f(torch.ones(3))
    opt.zero_grad(); m(torch.ones(1, 3)).sum().backward(); opt.step()   # the cached wrappers defer to the real disable
    print(float(out), real.config.__name__)
    """)
    assert out == "6.0 torch._dynamo.config"


def test_attribute_access_on_the_stand_in_loads_the_real_module():
    out = _run("""
    import sys, torch
    from layerlab.core.train import lazy_dynamo
    lazy_dynamo.install()
    cfg = torch._dynamo.config                      # what init_process_group and others reach for
    print(lazy_dynamo.real_loaded(), type(sys.modules["torch._dynamo"]).__name__, cfg.__name__)
    """)
    assert out == "True module torch._dynamo.config"


def test_install_does_nothing_when_the_compiler_is_already_imported_or_turned_off():
    assert _run("""
    import torch._dynamo
    from layerlab.core.train import lazy_dynamo
    print(lazy_dynamo.install())
    """) == "False"
    r = subprocess.run([sys.executable, "-c", "from layerlab.core.train import lazy_dynamo; print(lazy_dynamo.install())"],
                       capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "LAYERLAB_EAGER_DYNAMO": "1"})
    assert r.stdout.strip() == "False", r.stderr
