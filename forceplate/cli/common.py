"""Options shared by several commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from forceplate.errors import ForceplateError


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
                                  "for the standing weight when the trial itself has no standing")


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


def add_metadata_options(command) -> None:
    command.add_argument("--subject", help="subject id, stored in the trial")
    command.add_argument("--load-kg", type=float, help="external load (barbell), kg")
    command.add_argument("--exercise", default="squat")
    command.add_argument("--notes", default="")


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
        Path(args.report).write_text(render_html(report), encoding="utf-8")
        print(f"report written to {args.report}", file=sys.stderr)


def thresholds(args):
    from forceplate.processing.valgus import Thresholds

    if args.threshold_scale <= 0:
        raise ForceplateError("--threshold-scale must be positive")
    return Thresholds().scaled(args.threshold_scale)
