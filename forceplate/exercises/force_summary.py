"""Force summary: a trial that is no exercise of the battery (walking, stepping across the
plates, or one the chosen exercise cannot segment) says what it found and gives each foot's
force and CoP, with no reps (issue 12 item 10: "no squat reps: ...", exit 0)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.exercises.model import Column, Exercise, ExerciseResult, Feet, Options, fields_table, rounded
from forceplate.processing.movement import foot_contacts, runs

MEASURES = fields_table("""
contact_s | s | time the foot (or both feet, for "both feet") carries over 15 % of the loaded level
contacts | - | separate contacts of at least 0.1 s
mean_force_n | N | mean vertical force while in contact
peak_force_n | N | peak vertical force
cop_range_ml_mm | mm | medio-lateral (lab x) range of the CoP while in contact
cop_range_ap_mm | mm | antero-posterior (lab y) range of the CoP while in contact
""")
FIELDS = fields_table(f"""
summary.found | - | what the trial shows instead of an exercise's reps ("no squat reps: ...")
summary.loaded_level_n | N | median total force while clearly loaded (body weight when walking or standing)
summary.single_support_pct | % | share of the loaded time with one foot alone on its plate
summary.forces | - | both feet together: {", ".join(f.name for f in MEASURES)}
summary.forces_by_foot | - | the same per foot (left, right)
""") + MEASURES
MIN_CONTACT_S = 0.1


def _measures(fz: np.ndarray, cop: np.ndarray | None, on: np.ndarray, rate_hz: float) -> dict:
    loaded_cop = None if cop is None else np.asarray(cop, dtype=float)[on]
    known = None if loaded_cop is None else loaded_cop[np.all(np.isfinite(loaded_cop), axis=1)]
    has_cop = known is not None and len(known) > 0
    return {
        "contact_s": round(float(on.sum()) / rate_hz, 3),
        "contacts": sum(hi - lo >= MIN_CONTACT_S * rate_hz for lo, hi in runs(on)),
        "mean_force_n": rounded(float(np.mean(fz[on])) if on.any() else None, 1),
        "peak_force_n": rounded(float(np.max(fz)) if len(fz) else None, 1),
        "cop_range_ml_mm": rounded(float(np.ptp(known[:, 0])) if has_cop else None, 1),
        "cop_range_ap_mm": rounded(float(np.ptp(known[:, 1])) if has_cop else None, 1),
    }


@dataclass(frozen=True)
class ForceSummary(Exercise):
    """No exercise's reps: each foot's contacts, force and CoP range, and what the trial shows
    instead."""

    def analyze(self, feet: Feet, options: Options) -> ExerciseResult:
        return self.summarised(feet, "no exercise of the battery recognised")

    def summarised(self, feet: Feet, found: str) -> ExerciseResult:
        """The force and CoP summary of ``feet``, saying ``found`` ("no squat reps: " + found)."""
        fz = {foot: np.nan_to_num(np.asarray(x, dtype=float)) for foot, x in feet.fz.items()}
        contacts = foot_contacts(fz, feet.rate_hz, MIN_CONTACT_S)
        total = sum(fz.values())
        by_foot = {foot: _measures(x, feet.cop.get(foot), contacts.on[foot], feet.rate_hz) for foot, x in fz.items()}
        both = _measures(total, None, np.logical_or.reduce(list(contacts.on.values())), feet.rate_hz)
        summary = f"no squat reps: {found}"
        return self.result(feet, [], [summary], found=summary, loaded_level_n=round(contacts.loaded_level_n, 1),
                           single_support_pct=round(100 * contacts.single_support_share, 1) if len(fz) == 2 else None,
                           forces=both, forces_by_foot=by_foot)


EXERCISE = ForceSummary(
    name="force_summary", title="force and CoP summary (no exercise reps)", kind="forces",
    segmentation="no reps: each foot's contacts (over 15 % of the loaded level) from its vertical force",
    fields=FIELDS, columns=tuple(Column(f.name, f.name, "d" if f.name == "contacts" else ".1f", 15) for f in MEASURES),
    collapse_flag="not applied: no squat reps", aliases=("walking", "gait", "stepping", "none"))
