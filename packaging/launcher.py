"""Entry script of the PyInstaller app: `LayerLab [PROJECT]` opens the GUI; `LayerLab COMMAND ...`
runs a command-line sub-command (validate, train, export, ...)."""
import sys

from layerlab.core.cli import CORE_COMMANDS, main

# every sub-command (layerlab.core.cmd_lr_find -> lr-find); anything else opens the GUI
COMMANDS = {m.rsplit(".cmd_", 1)[1].replace("_", "-") for m in CORE_COMMANDS} | {"gui", "-h", "--help"}


def app_argv(argv: list[str]) -> list[str]:
    return argv if argv and argv[0] in COMMANDS else ["gui", *argv]


def module_argv(argv: list[str]) -> list[str] | None:
    """`[-u] -m MODULE ARGS` (as `python` takes them) -> [MODULE, ARGS...]; None for anything else."""
    if argv[:1] == ["-u"]:
        argv = argv[1:]
    return argv[1:] if argv[:1] == ["-m"] and len(argv) > 1 else None


def run_module(argv: list[str]) -> None:
    """`LayerLab [-u] -m MODULE ARGS`: run a bundled module as __main__, as `python -m` would (-u:
    unbuffered stdout / stderr). The GUI starts its training process this way (`sys.executable -m
    layerlab.core.train.child FD`), `train --nproc N` torchrun (`-m torch.distributed.run`) and
    torchrun its workers (`-u -m layerlab.core.distributed`)."""
    import runpy
    if argv[:1] == ["-u"]:
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(write_through=True)
    sys.argv = module_argv(argv)
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    if module_argv(sys.argv[1:]):
        run_module(sys.argv[1:])
    else:
        sys.exit(main(app_argv(sys.argv[1:])))
