"""How data-parallel runs end (issue 17): a finished run leaves nothing for interpreter shutdown
to tear down, and a rank that fails mid-run ends the whole job at once with its one-line cause."""
import io
import os
import sys
import textwrap

import torch

from layerlab.core.distributed import run_torchrun
from layerlab.core.distributed.ending import end_group, peer_gone
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path

FAILING_WORKER = textwrap.dedent("""
    import os, sys
    import torch
    if os.environ["RANK"] == "1":           # rank 1 fails for real in its 10th optimizer step (epoch 2)
        from layerlab.core.train.fused_step import FusedStep   # the loop's optimizer step
        real, calls = FusedStep.__call__, [0]
        def step(self):
            calls[0] += 1
            if calls[0] == 10:
                raise OSError(28, "No space left on device")
            return real(self)
        FusedStep.__call__ = step
    from layerlab.core.distributed.ending import exit_process
    from layerlab.core.distributed.worker import main
    exit_process(main(sys.argv[1:]))
""")


def test_a_rank_that_fails_mid_run_ends_the_job_with_its_one_line_cause(tmp_path):
    project = load_project(template_path("mlp"))          # spiral, Adam, 7 steps per rank and epoch
    project.training.epochs = 30
    path = tmp_path / "spiral.layerlab.json"
    save_project(project, path)
    wrapper = tmp_path / "failing_worker.py"
    wrapper.write_text(FAILING_WORKER)
    err = io.StringIO()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(wrapper),
           str(path), "--out", str(tmp_path / "run"), "--quiet"]
    code = run_torchrun(cmd, {**os.environ, "OMP_NUM_THREADS": "1"}, timeout=240, stderr=err)
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert code not in (0, 124), (code, lines)          # failed, and not by our timeout (no hang)
    assert lines == ["layerlab train: worker rank 1 failed: OSError: [Errno 28] No space left on device"], lines
    assert not (tmp_path / "run" / "result.json").exists()   # rank 0 never got to a finished run


def test_a_broken_collective_from_a_vanished_peer_is_not_reported_again():
    assert peer_gone(RuntimeError("[pair.cc:537] Read error [127.0.0.1]:4498: Connection reset by peer."))
    assert not peer_gone(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not peer_gone(ValueError("Connection reset by peer"))


def test_ending_without_a_process_group_is_a_no_op():
    assert not torch.distributed.is_initialized()
    end_group()
