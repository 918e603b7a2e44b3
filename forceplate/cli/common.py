"""Options shared by several commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from forceplate.errors import ForceplateError


def add_analysis_options(command, toe_out_default: float | None = 0.0) -> None:
    """``toe_out_default`` None: an offline command, which also takes "auto" and defaults
    to the set-up recorded in the trial."""
    offline = toe_out_default is None
    command.add_argument("--toe-out", type=_toe_out if offline else float, default=toe_out_default,
                         metavar="DEG|auto" if offline else "DEG",
                         help="how far each foot is turned out, degrees; medial is perpendicular to the foot's axis"
                              + (" ('auto': estimated per foot from the reps; default: as recorded)" if offline
                                 else " (default 0)"))
    command.add_argument("--threshold-scale", type=float, default=1.0, metavar="X",
                         help="scale the flag thresholds (mild 3.5, moderate 7.5, severe 12.5 mm) for this person")


def _toe_out(text: str):
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of degrees or 'auto'") from None


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
