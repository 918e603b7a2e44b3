"""``calibrate flag`` from recorded trials: the one procedure the command and the window run.

Two squat trials of one person (or two rep ranges of one trial), normal reps and deliberate
knees-in reps, are analysed offline as ``analyze`` would; their reps' peak medial shifts give
the person's :class:`~forceplate.calibration.flag.FlagReference`
(:func:`~forceplate.calibration.flag.fit_reference`). Sits beside ``offline`` because it reads
and analyses trial files; the window records the two trials with the running session.
"""

from __future__ import annotations

import math
from pathlib import Path

from forceplate.calibration.flag import FlagReference, fit_reference, parse_reps, rep_peaks
from forceplate.errors import CalibrationError, ForceplateError


def reference_from_trials(normal: str | Path, knees_in: str | Path, subject: str | None = None,
                          normal_reps: str | None = None, knees_in_reps: str | None = None) -> FlagReference:
    """The flag reference of ``subject`` (default: the trials' subject attribute) from a trial of
    normal reps and one of knees-in reps; ``normal_reps`` / ``knees_in_reps`` ("1-3") choose reps
    of each (needed when both are one trial). Not saved: see ``calibration.flag.save_reference``."""
    normal, knees_in = str(normal), str(knees_in)
    chosen_normal = parse_reps(normal_reps, "--normal-reps")
    chosen_knees_in = parse_reps(knees_in_reps, "--knees-in-reps")
    if normal == knees_in and (chosen_normal is None or chosen_knees_in is None or chosen_normal & chosen_knees_in):
        raise ForceplateError("one trial for both: give --normal-reps and --knees-in-reps that do not overlap")
    normal_analysis, subject, axes = _squat_analysis(normal, subject, None)
    # The knees-in reps on the normal reps' foot axes: a deliberate collapse in every rep would turn
    # axes estimated from those reps toward the arch (the axis sample is taken in the descent).
    knees_in_analysis = normal_analysis if knees_in == normal else _squat_analysis(knees_in, subject, axes)[0]
    return fit_reference(subject, rep_peaks(normal_analysis, chosen_normal, normal),
                         rep_peaks(knees_in_analysis, chosen_knees_in, knees_in),
                         [_described(normal, normal_reps)], [_described(knees_in, knees_in_reps)], toe_out_deg=axes)


def _described(path: str, reps: str | None) -> str:
    return str(Path(path).resolve()) + (f" reps {reps}" if reps else "")


def _squat_analysis(path: str, subject: str | None, toe_out_deg):
    """A trial's squat analysis (default thresholds), its subject and the foot axes it used;
    refused when it is of another exercise or another subject than ``subject``."""
    from forceplate.exercises import lookup
    from forceplate.offline import analyze_trial
    from forceplate.storage.reader import open_trial

    trial = open_trial(path)
    exercise = lookup(str(trial.attrs.get("exercise") or "squat"))
    if exercise is None or exercise.name != "squat":
        raise CalibrationError(f"{path}: recorded as {trial.attrs.get('exercise')!r}; the flag reference needs squat trials")
    recorded = trial.attrs.get("subject") or None
    if subject and recorded and recorded != subject:
        raise CalibrationError(f"{path}: a trial of subject {recorded!r}, not {subject!r}")
    subject = subject or recorded
    if not subject:
        raise CalibrationError(f"{path}: no subject recorded; give --subject NAME")
    analysis = analyze_trial(trial, toe_out_deg=toe_out_deg)
    if not analysis.reps:
        raise CalibrationError(f"{path}: no squat reps found")
    axes = {foot: float(angle) for foot, angle in analysis.baseline.toe_out_deg.items()}
    return analysis, subject, axes if all(math.isfinite(a) for a in axes.values()) else None
