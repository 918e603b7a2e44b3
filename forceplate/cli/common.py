"""Options shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from forceplate.errors import ForceplateError


def add_analysis_options(command, toe_out_default: float | None = 0.0) -> None:
    """``toe_out_default`` None: an offline command, which also takes "auto" and defaults
    to the set-up recorded in the trial."""
    offline = toe_out_default is None
    command.add_argument("--toe-out", type=_toe_out if offline else _degrees, default=toe_out_default,
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
        return _degrees(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} or 'auto'") from None


def _degrees(text: str) -> float:
    """A toe-out angle: what the trial stores as setup_toe_out_deg, in the range a reader accepts."""
    return _stored_number(text, "setup_toe_out_deg", "degrees")


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
    command.add_argument("--exercise", default="squat")
    command.add_argument("--notes", default="")


def metadata(args) -> dict:
    return {"subject": args.subject, "load_kg": args.load_kg, "exercise": args.exercise, "notes": args.notes}


def thresholds(args):
    from forceplate.processing.valgus import Thresholds

    if not 0 < args.threshold_scale <= 100:  # NaN and infinity fail too
        raise ForceplateError("--threshold-scale must be a positive number (at most 100)")
    return Thresholds().scaled(args.threshold_scale)


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
