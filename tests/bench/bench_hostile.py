"""`make reliability`: the hostile-file corpus (issue 13). Every case runs `layerlab <command>`
in a forked child of a process that has already imported LayerLab and torch (so start-up does
not eat the time limit), under RLIMIT_AS 3 GB and a 20 s timeout, with stdout and stderr in
files. Figures: hostile_cases, hostile_tracebacks (an exception escaping the command),
hostile_timeouts, hostile_peak_rss_mb (largest child), hostile_overwrites (protected files
changed), hostile_escapes (a terminal escape sequence printed), hostile_long_lines (a
message line over 1,000 characters) and hostile_duplicate_lines (a refusal printed twice)."""
from __future__ import annotations

import hashlib
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .common import figure

AS_LIMIT = 3 * 2**30
TIMEOUT_S = 20.0


def _child(argv: list[str], out: Path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    fd_out = os.open(out / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    fd_err = os.open(out / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd_out, 1)
    os.dup2(fd_err, 2)
    code = 0
    try:
        from layerlab.core.cli import main
        code = main(argv)
    except SystemExit as e:       # argparse
        code = e.code if isinstance(e.code, int) else 2
    except BaseException:
        sys.stderr.write("HOSTILE-TRACEBACK\n" + traceback.format_exc())
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_case(argv: list[str], out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    pid = os.fork()
    if pid == 0:
        try:
            _child(argv, out)
        finally:
            os._exit(98)
    t0, timed_out = time.monotonic(), False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - t0 > TIMEOUT_S:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.02)
    err = (out / "stderr").read_bytes().decode("utf-8", "replace")
    printed = err + (out / "stdout").read_bytes().decode("utf-8", "replace")
    return {"code": os.waitstatus_to_exitcode(status), "timed_out": timed_out, "rss_mb": usage.ru_maxrss / 1024,
            "traceback": "Traceback" in err or os.WIFSIGNALED(status) and not timed_out,
            "escape": any(c in printed for c in ("\x1b", "\x07", "\x9b")),
            "long_line": any(len(line) > 1000 for line in printed.splitlines()),
            "duplicate": _repeats(err),
            "seconds": time.monotonic() - t0, "stderr": err[-300:]}


def _repeats(err: str) -> bool:
    """The same refusal printed twice (or a first copy ending in ': ')."""
    lines = [line for line in err.splitlines() if line.strip()]
    return len(lines) != len(set(lines)) or any(line.endswith(": ") for line in lines)


def _digest(paths) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None for p in paths}


def run_corpus(root: Path, verbose: bool = False) -> tuple[list, list[dict]]:
    import torch
    from . import hostile_corpus, hostile_runs
    torch.set_num_threads(1)          # a forked child must not inherit a busy thread pool
    os.environ["LAYERLAB_MEMORY_BUDGET"] = ""      # the default: derived from RLIMIT_AS in each child
    cases = hostile_corpus.build(root / "corpus") + hostile_runs.build(root / "runs")
    results = []
    for i, case in enumerate(cases):
        before = _digest(case.protect)
        r = run_case(case.argv, root / "out" / f"{i:03d}-{case.name}")
        r["name"], r["overwrote"] = case.name, _digest(case.protect) != before
        results.append(r)
        if verbose:
            print(f"{case.name:32s} exit {r['code']:3d} {r['seconds']:5.1f} s {r['rss_mb']:7.0f} MB "
                  f"{'TRACEBACK ' if r['traceback'] else ''}{'TIMEOUT ' if r['timed_out'] else ''}"
                  f"{'OVERWROTE ' if r['overwrote'] else ''}{'ESCAPE ' if r['escape'] else ''}"
                  f"| {r['stderr'].strip().splitlines()[-1][:150] if r['stderr'].strip() else ''}", flush=True)
    return cases, results


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="layerlab-hostile-") as tmp:
        cases, results = run_corpus(Path(tmp), verbose="-v" in sys.argv)
    count = lambda key: sum(1 for r in results if r[key])   # noqa: E731
    bad = [r["name"] for r in results if r["traceback"] or r["timed_out"] or r["overwrote"]]
    note = f"failing: {', '.join(bad[:8])}" if bad else "every case ended in one line or a result"
    return [
        figure("hostile_cases", len(results), "cases", 60, note="reference: at least 60 (issue 13)"),
        figure("hostile_tracebacks", count("traceback"), "cases", 0, ratio=count("traceback"),
               note=note),
        figure("hostile_timeouts", count("timed_out"), "cases", 0, ratio=count("timed_out"),
               note=f"limit {TIMEOUT_S:.0f} s per case"),
        figure("hostile_peak_rss_mb", max(r["rss_mb"] for r in results), "MB", 2000,
               note="largest child's peak RSS (includes the imported libraries), RLIMIT_AS 3 GB"),
        figure("hostile_overwrites", count("overwrote"), "cases", 0, ratio=count("overwrote"),
               note="protected files changed"),
        figure("hostile_escapes", count("escape"), "cases", 0, ratio=count("escape"),
               note="terminal control characters printed"),
        figure("hostile_long_lines", count("long_line"), "cases", 0, ratio=count("long_line"),
               note="a printed line over 1,000 characters"),
        figure("hostile_duplicate_lines", count("duplicate"), "cases", 0, ratio=count("duplicate"),
               note="a refusal printed twice, or a line ending in ': '"),
    ]


if __name__ == "__main__":
    import json
    for fig in run():
        print(json.dumps(fig))
