"""Entry script of the PyInstaller app: `LayerLab [PROJECT]` opens the GUI; `LayerLab COMMAND ...`
runs a command-line sub-command (validate, train, export, ...)."""
import sys

from layerlab.core.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    commands = {"validate", "train", "export", "explore-init", "gui", "-h", "--help"}
    if not argv or argv[0] not in commands:
        argv = ["gui", *argv]
    sys.exit(main(argv))
