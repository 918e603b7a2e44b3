"""Isometric squat / mid-thigh pull: a maximal push against a fixed bar. Onset (stated
rule in forceplate.processing.isometric), RFD over 0-50/100/200 ms, peak force, impulse."""

from __future__ import annotations

from dataclasses import dataclass

from forceplate.exercises.model import COMMON_FIELDS, Column, Exercise, ExerciseResult, Feet
from forceplate.exercises.model import Options, fields_table, foot_symmetry, phase, rounded, seconds
from forceplate.processing.isometric import segment_pulls

# the windows are processing.isometric's RFD_WINDOWS_S and IMPULSE_WINDOWS_S
FIELDS = COMMON_FIELDS + fields_table("""
onset_s | s | force above body weight + 5 SD of quiet standing (at least 10 N), held 30 ms
peak_s | s | time of the peak force
end_s | s | the force falls back under the onset threshold
peak_force_n | N | peak total vertical force (gross)
net_peak_force_n | N | peak_force_n - body weight
time_to_peak_s | s | peak_s - onset_s
rfd_0_50_n_s | N/s | rate of force development (F(onset + 50 ms) - F(onset)) / 0.05 s; null if the effort is shorter
rfd_0_100_n_s | N/s | (F(onset + 100 ms) - F(onset)) / 0.1 s
rfd_0_200_n_s | N/s | (F(onset + 200 ms) - F(onset)) / 0.2 s
net_impulse_0_100_n_s | N*s | impulse above body weight, onset to +100 ms
net_impulse_0_200_n_s | N*s | impulse above body weight, onset to +200 ms
net_impulse_n_s | N*s | impulse above body weight, onset to end
symmetry | % | left/right symmetry of the vertical force at the peak (formulas as for every exercise)
""")


@dataclass(frozen=True)
class IsometricSquat(Exercise):
    """Isometric squat / mid-thigh pull: each pull's onset, rates of force development, peak and net
    force, impulses."""

    def analyze(self, feet: Feet, options: Options) -> ExerciseResult:
        rate = feet.rate_hz
        analysis = self.segmented(segment_pulls, feet.fz, rate)
        reps = []
        for pull in analysis.pulls:
            reps.append({
                "index": pull.index, "kind": self.kind, "onset_s": seconds(pull.onset, rate),
                "peak_s": seconds(pull.peak, rate), "end_s": seconds(pull.end, rate),
                "peak_force_n": round(pull.peak_force_n, 1), "net_peak_force_n": round(pull.net_peak_force_n, 1),
                "time_to_peak_s": round((pull.peak - pull.onset) / rate, 3),
                **{f"rfd_0_{ms}_n_s": rounded(v, 0) for ms, v in pull.rfd_n_s.items()},
                **{f"net_impulse_0_{ms}_n_s": rounded(v, 2) for ms, v in pull.net_impulse_n_s.items()},
                "net_impulse_n_s": round(pull.total_net_impulse_n_s, 2),
                "phases": [phase("rise", pull.onset, pull.peak, rate), phase("hold", pull.peak, pull.end, rate)],
                "symmetry": foot_symmetry("vertical force at the peak", pull.peak_by_foot_n),
            })
        notes = [] if reps else ["no effort found: the force never stayed 0.5 s above the onset threshold"]
        return self.result(feet, reps, notes, body_weight_n=round(analysis.body_weight_n, 1),
                           onset_threshold_n=round(analysis.onset_threshold_n, 1))


EXERCISE = IsometricSquat(
    name="isometric_squat", title="isometric squat / mid-thigh pull", kind="isometric",
    segmentation="total vertical force: body weight from 1 s of quiet standing before the effort; an effort is "
                 "at least 0.5 s above the onset threshold (processing/isometric.py)",
    fields=FIELDS,
    columns=(Column("pull", "index", "d", 4), Column("onset s", "onset_s"), Column("peak N", "peak_force_n", ".0f"),
             Column("net peak N", "net_peak_force_n", ".0f", 10), Column("to peak s", "time_to_peak_s", ".3f", 9),
             Column("RFD50 N/s", "rfd_0_50_n_s", ".0f", 9), Column("RFD100 N/s", "rfd_0_100_n_s", ".0f", 10),
             Column("RFD200 N/s", "rfd_0_200_n_s", ".0f", 10), Column("impulse N*s", "net_impulse_n_s", ".1f", 11)),
    collapse_flag="not applied: the feet do not move in an isometric effort",
    aliases=("mid_thigh_pull", "imtp", "isometric_mid_thigh_pull", "isometric"))
