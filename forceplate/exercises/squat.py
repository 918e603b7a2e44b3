"""Squat: today's squat analysis (forceplate.offline.analyze_trial), unchanged, with each
rep's kind, named phases and named asymmetry added to its results."""

from __future__ import annotations

from dataclasses import dataclass

from forceplate.exercises.model import COMMON_FIELDS, SYMMETRY_FIELD, Column, Exercise, NotThisExercise, Options
from forceplate.exercises.model import fields_table

SQUAT_FIELDS = COMMON_FIELDS + fields_table("""
start_s | s | rep start (velocity-based edge, extended while the force is below body weight)
bottom_s | s | lowest point (zero vertical velocity between descent and ascent)
end_s | s | rep end
duration_s | s | end_s - start_s
depth_m | m | descent depth of the centre of mass (impulse-momentum)
partial | - | true when shallower than 60 % of the set's median depth
peak_force_n | N | peak total vertical force during the rep
asymmetry_pct | % | 100 (L - R) / (L + R) of the mean vertical force over the rep
left.medial_shift_mm / right.medial_shift_mm | mm | largest CoP shift toward the arch held 30 ms
left.flag / right.flag | - | knee-collapse grade: none, mild, moderate, severe
""") + (SYMMETRY_FIELD,)


def decorate(report: dict, kind: str) -> dict:
    """Add each rep's kind, phases (eccentric = start to bottom, concentric = bottom to end)
    and named symmetry to a squat analysis's ``as_dict()``, in place; returns it."""
    from forceplate.processing.movement import symmetry  # not imported by what only reads stored results

    for rep in report["reps"]:
        rep["kind"] = kind
        rep["phases"] = [{"name": "eccentric", "start_s": rep["start_s"], "end_s": rep["bottom_s"]},
                         {"name": "concentric", "start_s": rep["bottom_s"], "end_s": rep["end_s"]}]
        # asymmetry_pct = 100 (L - R) / (L + R), so L / (L + R) = (1 + asymmetry / 100) / 2
        share = float("nan") if rep["asymmetry_pct"] is None else (1 + rep["asymmetry_pct"] / 100) / 2
        rep["symmetry"] = {"quantity": "mean vertical force over the rep", **symmetry(share, 1 - share)}
    return report


@dataclass(frozen=True)
class SquatExercise(Exercise):
    """The squat: :func:`forceplate.offline.analyze_trial` with each rep's kind, phases and named
    symmetry added."""

    def run_trial(self, trial, calibration, options: Options, feet_of) -> tuple[dict, object]:
        from forceplate.offline import analyze_trial, with_flag_reference
        from forceplate.processing.baseline import NoBaseline
        from forceplate.processing.movement import SYMMETRY_FORMULAS

        feet_of.release()  # what the recognition read: the analysis reads the trial its own way
        try:
            analysis = analyze_trial(trial, calibration, options.toe_out_deg, options.thresholds, static=options.static,
                                     flag_reference=options.flag_reference)
        except NoBaseline as exc:  # nothing a squat is measured against (one foot, or no one standing)
            raise NotThisExercise(f"cannot analyse as {self.name}: {exc}") from None
        report = decorate(with_flag_reference(analysis.as_dict(), options.flag_reference), self.kind)
        self.check_weight(report)
        report["summary"].update(exercise=self.name, collapse_flag=self.collapse_flag, symmetry_formulas={
            **SYMMETRY_FORMULAS, "asymmetry_pct": "100 * (L - R) / (L + R) of the mean vertical force over the rep"})
        return report, analysis

    def check_weight(self, report: dict) -> None:
        """A standing weight far under the reps' peak force is no one's weight: the feet were
        off the plates much of the trial (walking across them reads 0 N as its median)."""
        weight = report["summary"]["baseline"]["body_weight_n"]
        peak = max((r["peak_force_n"] or 0.0 for r in report["reps"]), default=0.0)
        if weight < MIN_WEIGHT_OF_PEAK * peak:
            raise NotThisExercise(f"cannot analyse as {self.name}: the standing weight found ({weight:.1f} N) is under "
                                  f"{100 * MIN_WEIGHT_OF_PEAK:.0f} % of the reps' peak force ({peak:.0f} N): the feet "
                                  "were off the plates much of the trial (walking or stepping?)")


MIN_WEIGHT_OF_PEAK = 0.2  # a loaded squat peaks at 1.5-3 x body weight (bar included)
SQUAT_COLUMNS = (Column("rep", "index", "d", 3),)  # the squat keeps its own table (cli/analyze.print_table)

EXERCISE = SquatExercise(
    name="squat", title="squat", kind="squat",
    segmentation="total vertical force, impulse-momentum with zero-velocity updates (processing/reps.py); "
                 "baseline from 1 s of quiet standing",
    fields=SQUAT_FIELDS, columns=SQUAT_COLUMNS,
    collapse_flag="both legs: medial CoP shift held 30 ms, graded (processing/valgus.py)",
    aliases=("bilateral_squat", "back_squat"))
