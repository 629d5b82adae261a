"""`layerlab` command line. Sub-commands live in their own modules (each has
`register(subparsers)` setting `func`); the GUI adds `layerlab gui` through the
`layerlab.commands` entry point, so core never imports it."""
from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import entry_points

# core sub-command modules, in help order
CORE_COMMANDS = ("layerlab.core.cmd_validate", "layerlab.core.cmd_train", "layerlab.core.cmd_export", "layerlab.core.cmd_explore_init",
                 "layerlab.core.cmd_import", "layerlab.core.cmd_lr_find", "layerlab.core.cmd_sweep",
                 "layerlab.core.cmd_repeat", "layerlab.core.cmd_calibrate",
                 "layerlab.core.cmd_generate")


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code `code`."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def load_project_or_exit(path):
    """The project at `path`, or a CliError (exit 2) with the loader's one-line message."""
    from .project import ProjectError, load_project
    try:
        return load_project(path)
    except ProjectError as e:
        raise CliError(str(e), 2) from None


def _unavailable(sub, name: str, error: Exception) -> None:
    def fail(args):
        raise CliError(f"this command is unavailable here ({error}): reinstall LayerLab with its GUI "
                       "dependencies (pip install layerlab)", 1)
    sub.add_parser(name, help="(unavailable)").set_defaults(func=fail)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerlab", description="Design, train and export neural networks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in CORE_COMMANDS:
        importlib.import_module(name).register(sub)
    for ep in entry_points(group="layerlab.commands"):
        try:
            ep.load()(sub)
        except ImportError as e:  # a missing optional part (e.g. no Qt) must not break headless use
            _unavailable(sub, ep.name, e)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .safe_text import SafeStream
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)   # names from files are hostile
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"layerlab {args.command}: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print(f"layerlab {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved


if __name__ == "__main__":
    # run the imported module, not this __main__ copy: sub-commands raise *its* CliError
    from layerlab.core.cli import main as _main
    sys.exit(_main())
