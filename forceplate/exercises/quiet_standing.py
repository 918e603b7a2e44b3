"""Quiet standing (balance): sway measures of each foot's CoP and of both feet together
(forceplate.processing.posturography), and an eyes-open/eyes-closed pair compared."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.exercises.model import Column, Exercise, ExerciseResult, Feet, NotThisExercise, Options, fields_table
from forceplate.processing.posturography import ELLIPSE_FORMULA, combined_cop, romberg_quotients, standing_only, sway

MEASURES = fields_table(f"""
path_length_mm | mm | CoP path length (10 Hz low-pass)
mean_velocity_mm_s | mm/s | path_length_mm / duration_s
range_ml_mm | mm | medio-lateral (lab x) range, max - min
range_ap_mm | mm | antero-posterior (lab y) range
sd_ml_mm | mm | medio-lateral SD
sd_ap_mm | mm | antero-posterior SD
ellipse95_area_mm2 | mm^2 | 95 % prediction-ellipse area: {ELLIPSE_FORMULA}
start_s | s | start of the measured stretch: the longest with a known CoP, the total force within 10 % of its
    median and each loaded foot's within 25 % of its own
duration_s | s | length of the measured stretch
""")
FIELDS = fields_table(f"""
summary.posturography | - | sway measures of both feet together (force-weighted CoP):
    {", ".join(f.name for f in MEASURES)}
summary.posturography_by_foot | - | the same per foot (left, right; null for a foot with under 5 s of CoP)
summary.posturography_eyes_closed | - | the same for the eyes-closed trial (--eyes-closed)
summary.romberg_quotient | ratio | eyes-closed / eyes-open of each measure
""") + MEASURES


def _sway_of(feet: Feet, which: str = "") -> tuple[dict, dict]:
    """Combined and per-foot sway of one trial; raises NotThisExercise without 5 s of CoP."""
    cop = standing_only(feet.fz, feet.cop)
    try:
        combined = sway(combined_cop(feet.fz, cop), feet.rate_hz)
    except ValueError as exc:
        raise NotThisExercise(f"cannot analyse {which}as quiet standing: {exc}") from None
    by_foot = {}
    for foot, foot_cop in cop.items():
        try:
            by_foot[foot] = sway(foot_cop, feet.rate_hz).as_dict()
        except ValueError:
            by_foot[foot] = None  # that foot was not on a plate long enough
    return combined, by_foot


@dataclass(frozen=True)
class QuietStanding(Exercise):
    """Quiet standing: CoP sway of both feet and of each, and with an eyes-closed trial the Romberg
    quotients."""

    def analyze(self, feet: Feet, options: Options) -> ExerciseResult:
        combined, by_foot = _sway_of(feet)
        total = sum(np.asarray(x, dtype=float) for x in feet.fz.values())
        result = self.result(feet, [], [], body_weight_n=round(float(np.nanmedian(total)), 1),
                             posturography=combined.as_dict(), posturography_by_foot=by_foot)
        summary = result.summary
        if options.eyes_closed is not None:
            closed, closed_by_foot = _sway_of(options.eyes_closed, "the eyes-closed trial ")
            summary.update(posturography_eyes_closed=closed.as_dict(), posturography_eyes_closed_by_foot=closed_by_foot,
                           romberg_quotient=romberg_quotients(combined, closed))
        if options.eyes_closed is None:
            result.notes.append("eyes open and closed are compared when the eyes-closed trial is given "
                                "(--eyes-closed FILE.h5)")
        return result


EXERCISE = QuietStanding(
    name="quiet_standing", title="quiet standing (balance)", kind="balance",
    segmentation="no reps: the longest stretch of the trial with a known CoP (at least 5 s)",
    fields=FIELDS, columns=tuple(Column(f.name, f.name, ".1f", 12) for f in MEASURES[:7]),
    collapse_flag="not applied: nothing moves", aliases=("balance", "posturography", "romberg", "quiet_stance"))
