"""Single-leg squat: one plate or insole loaded; the squat analysis, with the knee-collapse
flag kept on the standing leg only (the lifted foot's CoP is undefined or a touch-down)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.exercises.model import Field, Options
from forceplate.exercises.squat import SQUAT_COLUMNS, SQUAT_FIELDS, SquatExercise
from forceplate.profiles import SIDES

ONE_LEG_SHARE = 0.9  # the standing leg carries at least this share of the load


def standing_leg(fz: dict) -> tuple[str, float]:
    """The foot carrying the most vertical impulse over the trial, and its share."""
    impulse = {foot: float(np.nansum(fz[foot])) for foot in SIDES if foot in fz}
    foot = max(impulse, key=impulse.get)
    return foot, impulse[foot] / max(sum(impulse.values()), 1e-9)


@dataclass(frozen=True)
class SingleLegSquat(SquatExercise):
    """Single-leg squat: the squat's analysis, graded on the standing leg only (the lifted foot's
    values are None)."""

    def run_trial(self, trial, calibration, options: Options, feet_of) -> tuple[dict, object]:
        report, analysis = super().run_trial(trial, calibration, options, feet_of)
        leg, share = standing_leg(analysis.fz)
        lifted = next(foot for foot in SIDES if foot != leg)
        for rep in report["reps"]:
            rep["standing_leg"] = leg
            rep[lifted] = {key: None for key in rep[lifted]} | {"flag": "none"}
        summary = report["summary"]
        summary["flagged"][lifted] = 0
        summary["flagged_reps"] = sum(r[leg]["flag"] != "none" for r in report["reps"])
        summary["standing_leg"] = leg
        summary["standing_leg_share_pct"] = round(100 * share, 1)
        summary.setdefault("notes", [])
        if share < ONE_LEG_SHARE:
            summary["notes"].append(f"the {leg} foot carries only {100 * share:.0f} % of the load: "
                                    "is this a single-leg squat?")
        return report, None


EXERCISE = SingleLegSquat(
    name="single_leg_squat", title="single-leg squat", kind="squat",
    segmentation="as the squat, on the total force of the one loaded plate or insole",
    fields=SQUAT_FIELDS + (Field("standing_leg", "", "the foot carrying the load (most vertical impulse)"),),
    columns=SQUAT_COLUMNS, collapse_flag="standing leg only", aliases=("pistol_squat", "one_leg_squat"))
