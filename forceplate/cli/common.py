"""Options shared by several commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from forceplate.errors import ForceplateError

# The parser of every command is built for each run, --help too, so the command modules import
# only the standard library and forceplate.errors at their top: forceplate.profiles and
# forceplate.io bring numpy, 3-4 times what Python itself takes to start. What the parser or
# the tables need from them is restated here; tests/test_cli.py checks it against the source.
SIDES = ("left", "right")  # forceplate.profiles.SIDES
PROBE_TIMEOUT_S = 0.5  # forceplate.io.discovery.PROBE_TIMEOUT_S
# the --lsl option of live and record (here: record's module need not import live's)
LSL_HELP = "publish feet forces/CoP and events on Lab Streaming Layer (forceplate-feet, forceplate-events)"


def add_analysis_options(command, offline: bool = True) -> None:
    """Foot axes and flag thresholds; an offline command also takes a static trial."""
    command.add_argument("--toe-out", type=toe_out, default=None, metavar="DEG|L,R" + ("|auto" if offline else ""),
                         help="how far the feet are turned out from the lifter's forward, degrees (one angle for both, "
                              "or left,right); medial is perpendicular to each foot's axis. Default: "
                              + ("as recorded, else estimated per foot from the reps ('auto')" if offline
                                 else "estimated per foot from the reps (the first rep learns them)"))
    command.add_argument("--threshold-scale", type=float, default=1.0, metavar="X",
                         help="scale the flag thresholds (mild 3.5, moderate 7.5, severe 12.5 mm) for this person")
    if offline:
        command.add_argument("--static", metavar="STATIC.h5",
                             help="a static trial of the same lifter on the same plates (quiet standing), "
                                  "for the standing weight when the trial itself has no standing, and the foot "
                                  "axes from each foot's standing sway when nothing states them")


def toe_out(text: str):
    """'auto', one angle, or 'left,right' angles (degrees, -45..60)."""
    if text == "auto":
        return text
    try:
        angles = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"degrees, 'left,right' degrees or 'auto', not {text!r}") from None
    if len(angles) not in (1, 2) or not all(-45.0 <= a <= 60.0 for a in angles):
        raise argparse.ArgumentTypeError(f"one or two angles between -45 and 60 degrees, not {text!r}")
    return angles[0] if len(angles) == 1 else {"left": angles[0], "right": angles[1]}


def _load_kg(text: str) -> float:
    return _stored_number(text, "load_kg", "kg")


def _stored_number(text: str, attribute: str, unit: str) -> float:
    """A number the trial stores as root ``attribute``: refused here unless its reader would accept it."""
    from forceplate.storage.reader import NUMBER_ATTRS

    low, high = NUMBER_ATTRS[attribute]
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of {unit}") from None
    if not low <= value <= high:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{unit} between {low:g} and {high:g}")
    return value


def add_metadata_options(command) -> None:
    command.add_argument("--subject", help="subject id, stored in the trial")
    command.add_argument("--load-kg", type=_load_kg, help="external load (barbell), kg")
    command.add_argument("--exercise", default="squat",
                         help="what the lifter does, stored in the trial (default squat; docs/exercises.md lists them)")
    command.add_argument("--notes", default="", help="free text stored in the trial (shoes, cues, how it felt)")


def metadata(args) -> dict:
    return {"subject": args.subject, "load_kg": args.load_kg, "exercise": args.exercise, "notes": args.notes}


def show(report: dict, args, print_text, render_html) -> None:
    """A command's result: one JSON object (``--json``) or ``print_text(report)``, and with
    ``--report FILE`` also ``render_html(report)`` written there."""
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_text(report)
    if args.report:
        write_output(args.report, render_html(report), getattr(args, "force", False))
        print(f"report written to {args.report}", file=sys.stderr)


def thresholds(args):
    from forceplate.processing.valgus import Thresholds

    return Thresholds().scaled(threshold_scale(args))


def threshold_scale(args) -> float:
    """``--threshold-scale``, checked without the analysis (compare answered from the library index)."""
    if not 0 < args.threshold_scale <= 100:  # NaN and infinity fail too
        raise ForceplateError("--threshold-scale must be a positive number (at most 100)")
    return args.threshold_scale


def check_new_output(path, force: bool = False) -> None:
    """Refuse, before any work, to overwrite an existing output unless ``force``."""
    if path and Path(path).exists() and not force:
        raise ForceplateError(f"{path}: file exists; choose another name or give --force to overwrite it")


def write_output(path, text: str, force: bool = False) -> None:
    """Write a text output: created exclusively (never over a file that appeared meanwhile)
    unless ``force``; an OS error is one line."""
    check_new_output(path, force)
    try:
        with open(path, "w" if force else "x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise ForceplateError(f"{path}: file exists; choose another name or give --force to overwrite it") from None
    except OSError as exc:
        raise ForceplateError(f"{path}: cannot write ({exc.strerror})") from None
