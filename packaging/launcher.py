"""Entry script of the PyInstaller app: `LayerLab [PROJECT]` opens the GUI; `LayerLab COMMAND ...`
runs a command-line sub-command (validate, train, export, ...)."""
import sys

from layerlab.core.cli import CORE_COMMANDS, main

# every sub-command (layerlab.core.cmd_lr_find -> lr-find); anything else opens the GUI
COMMANDS = {m.rsplit(".cmd_", 1)[1].replace("_", "-") for m in CORE_COMMANDS} | {"gui", "-h", "--help"}


def app_argv(argv: list[str]) -> list[str]:
    return argv if argv and argv[0] in COMMANDS else ["gui", *argv]


def run_module(argv: list[str]) -> None:
    """`LayerLab -m MODULE ARGS`: run a bundled module as __main__, as `python -m` would. The GUI
    starts its training process this way (`sys.executable -m layerlab.core.train.child FD`)."""
    import runpy
    sys.argv = argv[1:]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["-m"] and len(sys.argv) > 2:
        run_module(sys.argv[1:])
    else:
        sys.exit(main(app_argv(sys.argv[1:])))
