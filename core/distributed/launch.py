"""Starting `layerlab train PROJECT --nproc N`: torchrun with N workers of this package.

    launch(project_path, nproc, args) -> exit code
        python -m torch.distributed.run --standalone --nproc_per_node N -m layerlab.core.distributed PROJECT ...

Workers print their own one-line messages (`layerlab train: …`). torchrun's own log lines and,
when a worker fails, its ChildFailedError report (a Python traceback) are held back: the failing
worker has already said why, and where it could not (killed by a signal) one line here says which
rank ended how.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from typing import Any

# torchrun's own lines: glog-style log lines "W1201 08:35:27.262000 23280 torch/distributed/..."
_LOG_LINE = re.compile(r"^[DIWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ +\S+\]")
_FAILED = re.compile(r"failed \(exitcode: (-?\d+)\) local_rank: (\d+)")


def worker_args(args: Any) -> list[str]:
    """`layerlab train` options (a Namespace, or a list of strings passed as is) as worker flags."""
    if args is None:
        return []
    if isinstance(args, (list, tuple)):
        return [str(a) for a in args]
    out: list[str] = []
    for name in ("epochs", "device", "seed", "out", "resume", "batch_size", "lr", "class_weights", "sampler"):
        value = getattr(args, name, None)
        if value is not None:      # weights as --class-weights=W1,W2: they may start with "-"
            flag = f"--{name.replace('_', '-')}"
            out += [f"{flag}={value}"] if name == "class_weights" else [flag, str(value)]
    return out + [f"--{flag.replace('_', '-')}" for flag in ("json", "quiet", "sync_bn") if getattr(args, flag, False)]


def launch_command(project_path, nproc: int, args: Any = None) -> list[str]:
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ValueError(f"--nproc must be a whole number ≥ 1 (got {nproc!r})")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
            "-m", "layerlab.core.distributed", str(project_path), *worker_args(args)]


def launch(project_path, nproc: int, args: Any = None, env: dict[str, str] | None = None,
           timeout: float | None = None) -> int:
    """Train `project_path` with `nproc` DDP workers here. Exit code: 0 finished, 1 failed, 2 refused
    before training, 124 past `timeout` (torchrun and its workers, one process group, are killed), 130 Ctrl-C."""
    run_env = dict(os.environ if env is None else env)
    run_env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # cores shared out
    return run_torchrun(launch_command(project_path, nproc, args), run_env, timeout)


def run_torchrun(cmd: list[str], env: dict[str, str] | None = None, timeout: float | None = None,
                 stderr=None) -> int:
    """Run a torchrun command line, passing the workers' stderr through and holding torchrun's back."""
    stderr = stderr or sys.stderr
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, errors="replace",
                            start_new_session=timeout is not None)
    said: dict[str, Any] = {"worker_lines": 0, "failed": None}
    reader = threading.Thread(target=_filter, args=(proc.stderr, stderr, said), daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = 124
    except KeyboardInterrupt:                     # torchrun got the Ctrl-C too and stops its workers
        proc.wait()
        code = 130
    reader.join(timeout=10)
    if code == 1 and said["failed"] and said["failed"][0] == 2:
        code = 2                                  # a worker refused before training (it said why)
    if code not in (0, 124, 130) and said["failed"] and not said["worker_lines"]:
        exit_code, rank = said["failed"]
        how = f"signal {-exit_code} ({signal.Signals(-exit_code).name})" if exit_code < 0 else f"exit code {exit_code}"
        print(f"layerlab train: worker rank {rank} ended with {how}: see its output above", file=stderr, flush=True)
    return code


def _filter(source, sink, said: dict) -> None:
    """Copy worker lines to `sink`; drop torchrun's log lines and, after a failure, its report."""
    report = False
    for line in source:
        if _LOG_LINE.match(line):
            found = _FAILED.search(line)
            if found and said["failed"] is None:
                said["failed"] = (int(found.group(1)), int(found.group(2)))
                report = True                     # everything torchrun prints from here is its report
            continue
        if report:
            continue
        if line.startswith("layerlab train:"):
            said["worker_lines"] += 1
        sink.write(line)
        sink.flush()
