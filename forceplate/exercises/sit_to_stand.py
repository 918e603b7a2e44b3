"""Sit-to-stand: rise from a seat to standing. Onset, seat-off, standing, rise time, peak
force and left/right shares (rules in forceplate.processing.sit_to_stand)."""

from __future__ import annotations

from dataclasses import dataclass

from forceplate.exercises.model import COMMON_FIELDS, SYMMETRY_FIELD, Column, Exercise, ExerciseResult, Feet
from forceplate.exercises.model import Options, fields_table, foot_symmetry, phase, seconds
from forceplate.processing.sit_to_stand import segment_rises

FIELDS = COMMON_FIELDS + fields_table("""
onset_s | s | the force leaves the seated level by 5 robust SD (null when the recording starts later)
seat_off_s | s | peak foot force between onset and standing (the seat hands the body to the feet)
standing_s | s | from here the force stays within +-5 % of body weight for 0.2 s
rise_time_s | s | standing_s - seat_off_s
duration_s | s | standing_s - onset_s (null without an onset)
peak_force_n | N | peak total vertical force under the feet (at seat-off)
peak_force_bw | x body weight | peak_force_n / body weight
""") + (SYMMETRY_FIELD,)


@dataclass(frozen=True)
class SitToStand(Exercise):
    """Sit-to-stand: each rise's onset, seat-off, standing and per-foot impulse."""

    def analyze(self, feet: Feet, options: Options) -> ExerciseResult:
        rate = feet.rate_hz
        analysis = self.segmented(segment_rises, feet.fz, rate)
        weight = analysis.body_weight_n
        reps = []
        for rise in analysis.rises:
            reps.append({
                "index": rise.index, "kind": self.kind, "onset_s": seconds(rise.onset, rate),
                "seat_off_s": seconds(rise.seat_off, rate), "standing_s": seconds(rise.standing, rate),
                "rise_time_s": round((rise.standing - rise.seat_off) / rate, 3),
                "duration_s": None if rise.onset is None else round((rise.standing - rise.onset) / rate, 3),
                "peak_force_n": round(rise.peak_force_n, 1), "peak_force_bw": round(rise.peak_force_n / weight, 2),
                "phases": ([phase("pre-seat-off", rise.onset, rise.seat_off, rate)] if rise.onset is not None else [])
                + [phase("rise", rise.seat_off, rise.standing, rate)],
                "symmetry": foot_symmetry("vertical impulse, seat-off to standing", rise.impulse_n_s),
            })
        notes = [] if reps else ["no rise found: no seated level followed by standing"]
        if any(r["onset_s"] is None for r in reps):
            notes.append("the recording starts during the first rise: its onset and duration are unknown")
        return self.result(feet, reps, notes, body_weight_n=round(weight, 1),
                           body_weight_source=analysis.body_weight_source)


EXERCISE = SitToStand(
    name="sit_to_stand", title="sit-to-stand", kind="sit_to_stand",
    segmentation="total vertical force under the feet: steady seated and standing levels, seat-off at the peak "
                 "force between them (processing/sit_to_stand.py)",
    fields=FIELDS,
    columns=(Column("rise", "index", "d", 4), Column("onset s", "onset_s"), Column("seat-off s", "seat_off_s", ".3f", 10),
             Column("standing s", "standing_s", ".3f", 10), Column("rise time s", "rise_time_s", ".3f", 11),
             Column("peak N", "peak_force_n", ".1f"), Column("peak BW", "peak_force_bw", ".2f"),
             Column("L share %", "symmetry.left_share_pct", ".1f", 9)),
    collapse_flag="not applied: the CoP rules are validated for squats only", aliases=("sts", "chair_rise"))
