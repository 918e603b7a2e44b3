"""The ``forceplate`` command: parses arguments and prints; computes nothing itself.

Each command group is a module here with a ``register(add_command)`` function; a new
command is one new module plus one line in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from forceplate import __version__
from forceplate.errors import ForceplateError

COMMAND_MODULES = ("live", "analyze", "trials", "devices", "interop", "calibrate", "batch", "history")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forceplate",
        description="Dual force plates and pressure insoles for squats: forces, centre of pressure, "
                    "medial load shift and live knee-collapse (valgus) flags.",
        epilog="Run 'forceplate COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"forceplate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_command(name: str, help_text: str, handler, examples: str = "") -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text,
                                 epilog=f"examples:\n{examples}" if examples else None,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        command.set_defaults(handler=handler)
        return command

    for module in COMMAND_MODULES:
        importlib.import_module(f"forceplate.cli.{module}").register(add_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    status = _main(argv)
    from forceplate.storage.writer import UNCLOSABLE

    if UNCLOSABLE:  # an HDF5 file whose write failed: the library would crash closing it at exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _main(argv: list[str] | None) -> int:
    import forceplate.storage

    forceplate.storage.probe_metadata = True  # every trial this command opens came from outside
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except ForceplateError as exc:
        print(f"forceplate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``forceplate analyze ... | head -1``): nothing left to say.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
