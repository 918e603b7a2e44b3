"""Drop landing: land from a box and hold still. Peak force, loading rate, time to
stabilisation, left/right shares and each foot's CoP excursion; never a collapse flag."""

from __future__ import annotations

from dataclasses import dataclass

from forceplate.exercises.model import COMMON_FIELDS, SYMMETRY_FIELD, Column, Exercise, ExerciseResult, Feet
from forceplate.exercises.model import Options, fields_table, foot_symmetry, phase, rounded, seconds
from forceplate.processing.landing import STABLE_BAND, STABLE_HOLD_S, segment_landings

NO_FLAG = ("not applied: in 23 of 24 real landings the CoP moved toward the arch whatever the knee did "
           "(../shared/data/real-drop-jumps/PROVENANCE.md), so CoP alone cannot judge the knee in a landing; "
           "the CoP excursion is reported, not graded")

FOOT_FIELDS = ("peak_force_n", "impulse_n_s", "cop_path_mm", "cop_range_ml_mm", "cop_range_ap_mm",
               "cop_medial_excursion_mm")

EXERCISE_FIELDS = COMMON_FIELDS + fields_table(f"""
landing_type | - | 'landing' (stays on the plates) or 'rebound' (jumps off again before stabilising)
touchdown_s | s | first sample above the plates' unloaded level + 5 SD (at least 10 N) after >= 50 ms off
peak_s | s | time of the peak total vertical force
peak_force_n | N | peak total vertical force of the contact, above the unloaded level
peak_force_bw | x body weight | peak_force_n / body weight (null when body weight is unknown)
loading_rate_n_s | N/s | average loading rate: (peak force - force at touchdown) / (peak_s - touchdown_s)
time_to_stabilisation_s | s | touchdown until the total force enters body weight +- {100 * STABLE_BAND:.0f} %
    and stays for {STABLE_HOLD_S:g} s; null when it never does (see stabilisation_note)
stabilisation_note | - | why time_to_stabilisation_s is null, else empty
takeoff_s | s | take-off ending the contact (rebound), else null
flight_before_s | s | flight time before the touchdown; null for a drop (the recording starts in the air)
left.* / right.* | N, N*s, mm | per foot over touchdown to stabilisation / take-off / end: peak_force_n,
    impulse_n_s, cop_path_mm, cop_range_ml_mm (lab x), cop_range_ap_mm (lab y), cop_medial_excursion_mm
    (largest move toward the arch from the CoP of the first 10 ms; descriptive only)
""") + (SYMMETRY_FIELD,)


@dataclass(frozen=True)
class DropLanding(Exercise):
    """Drop landing: each landing's touchdown, peak force, loading rate and time to stabilisation,
    per-foot impulse and CoP excursion; never a collapse flag."""

    def analyze(self, feet: Feet, options: Options) -> ExerciseResult:
        rate = feet.rate_hz
        analysis = segment_landings(feet.fz, rate, feet.cop)
        weight = analysis.body_weight_n
        reps = []
        for landing in analysis.landings:
            per_foot = {foot: {key: rounded(getattr(result, key), 2) for key in FOOT_FIELDS}
                        for foot, result in landing.feet.items()}
            stabilised_s = None if landing.stabilised is None else round((landing.stabilised - landing.touchdown) / rate, 3)
            reps.append({
                "index": landing.index, "kind": self.kind, "landing_type": landing.kind,
                "touchdown_s": seconds(landing.touchdown, rate), "peak_s": seconds(landing.peak, rate),
                "peak_force_n": round(landing.peak_force_n, 1),
                "peak_force_bw": rounded(landing.peak_force_n / weight if weight else None, 2),
                "loading_rate_n_s": round(landing.loading_rate_n_s, 0),
                "time_to_stabilisation_s": stabilised_s, "stabilisation_note": landing.stabilisation_note,
                "takeoff_s": seconds(landing.take_off, rate), "flight_before_s": rounded(landing.flight_before_s),
                "phases": [phase("impact", landing.touchdown, landing.peak, rate),
                           phase("stabilisation" if landing.stabilised is not None else "absorption",
                                 landing.peak, landing.end, rate)],
                **per_foot,
                "symmetry": foot_symmetry("vertical impulse, touchdown to the end of the landing phase",
                                          {foot: result.impulse_n_s for foot, result in landing.feet.items()}),
            })
        notes = [NO_FLAG]
        if analysis.truncated:
            notes.append(f"{analysis.truncated} landing(s) cut short by the end of the recording, not measured")
        if not reps:
            notes.append("no landing found: no contact after at least 50 ms off the plates")
        return self.result(feet, reps, notes, body_weight_n=rounded(weight, 1),
                           body_weight_source=analysis.body_weight_source, unloaded_n=rounded(analysis.unloaded_n, 1))


EXERCISE = DropLanding(
    name="drop_landing", title="drop landing", kind="landing",
    segmentation="total vertical force: a landing is a contact after >= 50 ms below the plates' unloaded level "
                 "+ 5 SD (processing/landing.py); contacts the recording cuts within 0.15 s are not measured",
    fields=EXERCISE_FIELDS,
    columns=(Column("landing", "index", "d", 7), Column("type", "landing_type", "s", 8),
             Column("touchdown s", "touchdown_s"), Column("peak N", "peak_force_n", ".0f"),
             Column("peak BW", "peak_force_bw", ".2f"), Column("load rate N/s", "loading_rate_n_s", ".0f", 13),
             Column("TTS s", "time_to_stabilisation_s"), Column("L share %", "symmetry.left_share_pct", ".1f"),
             Column("L CoP path mm", "left.cop_path_mm", ".1f", 13), Column("R CoP path mm", "right.cop_path_mm", ".1f", 13)),
    collapse_flag=NO_FLAG, aliases=("landing", "drop_land"))
