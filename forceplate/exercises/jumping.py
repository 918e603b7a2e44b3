"""What the three jumps share: segmentation by :func:`forceplate.processing.jumps.segment_jumps`,
their per-rep fields and table. Each jump exercise module instantiates :class:`JumpExercise`."""

from __future__ import annotations

from dataclasses import dataclass

from forceplate.exercises.model import COMMON_FIELDS, SYMMETRY_FIELD, Column, Exercise, ExerciseResult, Feet
from forceplate.exercises.model import Options, fields_table, foot_symmetry, phase, rounded, seconds
from forceplate.processing.jumps import segment_jumps

SEGMENTATION = ("total vertical force, impulse-momentum (processing/jumps.py): body weight from a quiet second, "
                "flights below the plates' unloaded level + 5 SD, onset 5 SD from body weight, phases by the "
                "centre-of-mass velocity")

JUMP_FIELDS = COMMON_FIELDS + fields_table("""
jump_type | - | 'standing' (the contact began standing still) or 'rebound' (it began with a landing)
start_s | s | contact start: movement onset, or the touchdown that began a rebound
takeoff_s | s | take-off (force falls to the unloaded level)
landing_s | s | landing after the flight (force leaves the unloaded level)
flight_s | s | flight time, take-off to landing
contact_s | s | ground contact before take-off (from onset, or from touchdown for a rebound)
jump_height_m | m | jump height from flight time, g t^2 / 8
jump_height_impulse_m | m | jump height from take-off velocity (impulse-momentum), v^2 / 2g;
    null for a rebound (touchdown velocity not measured)
takeoff_velocity_m_s | m/s | vertical velocity at take-off
rsi | m/s | reactive strength index: jump_height_m / contact_s (for a jump from standing this is the
    'modified' RSI, height over time to take-off)
peak_force_n | N | peak total vertical force during the contact
peak_landing_force_n | N | peak total vertical force after the landing
""") + (SYMMETRY_FIELD,)
JUMP_COLUMNS = (
    Column("jump", "index", "d", 4), Column("type", "jump_type", "s", 8), Column("take-off s", "takeoff_s"),
    Column("landing s", "landing_s"), Column("flight s", "flight_s"), Column("height m", "jump_height_m"),
    Column("impulse h m", "jump_height_impulse_m"), Column("contact s", "contact_s"), Column("RSI", "rsi", ".2f"),
    Column("peak N", "peak_force_n", ".0f"), Column("L share %", "symmetry.left_share_pct", ".1f"),
)


def _phases(j, rate_hz: float) -> list[dict]:
    """Unweighting and braking only when the jump had them (a squat jump has neither)."""
    out = []
    if j.unweighting_start is not None:
        out.append(phase("unweighting", j.unweighting_start, j.braking_start, rate_hz))
    if j.braking_start is not None:
        out.append(phase("braking", j.braking_start, j.propulsion_start, rate_hz))
    return out + [phase("propulsion", j.propulsion_start, j.take_off, rate_hz),
                  phase("flight", j.take_off, j.landing, rate_hz)]


@dataclass(frozen=True)
class JumpExercise(Exercise):
    """A jump of the battery (countermovement, squat or drop jump): each jump's phases, flight,
    heights and RSI from the total vertical force."""

    def analyze(self, feet: Feet, options: Options) -> ExerciseResult:
        left = feet.fz["left"] if "left" in feet.fz else next(iter(feet.fz.values()))
        right = feet.fz.get("right", left * 0.0)
        analysis = self.segmented(segment_jumps, left, right, feet.rate_hz)
        rate = feet.rate_hz
        reps = [{
            "index": j.index, "kind": self.kind, "jump_type": j.kind,
            "start_s": seconds(j.contact_start, rate), "takeoff_s": seconds(j.take_off, rate),
            "landing_s": seconds(j.landing, rate), "flight_s": round(j.flight_time_s, 3),
            "contact_s": round(j.contact_time_s, 3), "jump_height_m": round(j.height_flight_m, 3),
            "jump_height_impulse_m": rounded(j.height_impulse_m), "takeoff_velocity_m_s": rounded(j.takeoff_velocity_m_s),
            "rsi": rounded(j.height_flight_m / j.contact_time_s if j.contact_time_s > 0 else None, 2),
            "peak_force_n": round(j.peak_force_n, 1), "peak_landing_force_n": round(j.peak_landing_force_n, 1),
            "phases": _phases(j, rate),
            "symmetry": foot_symmetry("vertical impulse over the contact",
                                      {"left": j.left_share, "right": 1 - j.left_share}),
        } for j in analysis.jumps]
        notes = [] if reps else ["no jump found: no flight of 0.05-1.5 s between two contacts"]
        kinds = {r["jump_type"] for r in reps}
        expected = "rebound" if self.name == "drop_jump" else "standing"
        if kinds - {expected}:
            notes.append(f"{self.title}: expected '{expected}' jumps, found {', '.join(sorted(kinds))}")
        return self.result(feet, reps, notes, body_weight_n=round(analysis.body_weight_n, 1),
                           mass_kg=round(analysis.mass_kg, 2),
                           weighed_s=[seconds(analysis.quiet.start, rate), seconds(analysis.quiet.stop, rate)],
                           unloaded_n=rounded(analysis.unloaded_n, 1),
                           airborne_threshold_n=rounded(analysis.airborne_threshold_n, 1))


def jump_exercise(name: str, title: str, aliases: tuple[str, ...], how: str) -> JumpExercise:
    return JumpExercise(name=name, title=title, kind="jump", segmentation=f"{how}; {SEGMENTATION}",
                        fields=JUMP_FIELDS, columns=JUMP_COLUMNS,
                        collapse_flag="not applied: the CoP rules are validated for squats only", aliases=aliases)
