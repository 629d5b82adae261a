"""Entry script of the PyInstaller app: `LayerLab [PROJECT]` opens the GUI; `LayerLab COMMAND ...`
runs a command-line sub-command (validate, train, export, ...)."""
import sys

from layerlab.core.cli import CORE_COMMANDS, main

# every sub-command (layerlab.core.cmd_lr_find -> lr-find); anything else opens the GUI
COMMANDS = {m.rsplit(".cmd_", 1)[1].replace("_", "-") for m in CORE_COMMANDS} | {"gui", "-h", "--help"}


def app_argv(argv: list[str]) -> list[str]:
    return argv if argv and argv[0] in COMMANDS else ["gui", *argv]


if __name__ == "__main__":
    sys.exit(main(app_argv(sys.argv[1:])))
