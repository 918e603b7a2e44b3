"""The ``forceplate`` command: parses arguments and prints; computes nothing itself.

Each command group is a module here with a ``register(add_command)`` function; a new
command is one new module plus one line in ``COMMAND_MODULES``. A run of one command builds
the parser of its own module only (the others' modules are not imported: ~10 ms of argparse
and imports); ``--help``, no command or an unknown one build them all.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from forceplate import __version__
from forceplate.errors import ForceplateError

# module -> the commands its register() adds, in --help's order (a test checks the names)
COMMAND_MODULES = {
    "live": ("demo", "live", "simulate"),
    "analyze": ("analyze",),
    "trials": ("record", "recover", "compare", "trials", "export"),
    "devices": ("devices",),
    "interop": ("import", "export-c3d", "lsl-record"),
    "calibrate": ("calibrate",),
    "batch": ("batch",),
    "history": ("history",),
}
MODULE_OF_COMMAND = {command: module for module, commands in COMMAND_MODULES.items() for command in commands}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of the module that adds ``command`` when it names one."""
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

    modules = (MODULE_OF_COMMAND[command],) if command in MODULE_OF_COMMAND else COMMAND_MODULES
    for module in modules:
        importlib.import_module(f"forceplate.cli.{module}").register(add_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    status = _main(argv)
    # an HDF5 file whose write failed: the library would crash closing it at exit (a command
    # that never imported the writer wrote nothing)
    writer = sys.modules.get("forceplate.storage.writer")
    if writer is not None and writer.UNCLOSABLE:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _main(argv: list[str] | None) -> int:
    import forceplate.storage

    forceplate.storage.probe_metadata = True  # every trial this command opens came from outside
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)  # a command comes first: top-level options are -h, --version
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
