"""Quiet-standing baseline: body weight, each foot's neutral CoP and medial direction.

"Medial" is perpendicular to each foot's long axis, toward the arch. The axis comes from
the set-up: feet turned out by ``toe_out_deg`` each (0 = parallel, pointing forward along
+y of the lab frame), or is estimated from the squats themselves
(:func:`estimate_toe_out_deg`): the CoP of a squatting foot travels toward the heel along
the foot's axis, so measuring medial shift along the lab's x axis with turned-out feet
would mistake that travel for a shift.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from forceplate.errors import ForceplateError

G = 9.80665
QUIET_WINDOW_S = 1.0
QUIET_MAX_S = 5.0
MIN_STANDING_N = 200.0
DEFAULT_FOOT_WIDTH_MM = 100.0


class NoBaseline(ForceplateError):
    """No quiet standing was found to take a baseline from."""


@dataclass(frozen=True)
class Baseline:
    body_weight_n: float
    start_s: float
    end_s: float
    neutral_cop_mm: dict  # foot -> (2,) lab frame
    medial_unit: dict  # foot -> (2,) unit vector toward the arch
    toe_out_deg: dict  # foot -> degrees the foot is turned out
    axis_source: str = "set-up"  # or "estimated from N reps", "insole frame"
    foot_width_mm: float = DEFAULT_FOOT_WIDTH_MM

    @property
    def mass_kg(self) -> float:
        return self.body_weight_n / G

    def as_dict(self) -> dict:
        return {
            "body_weight_n": round(self.body_weight_n, 2),
            "mass_kg": round(self.mass_kg, 2),
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "neutral_cop_mm": {k: [round(float(c), 2) for c in v] for k, v in self.neutral_cop_mm.items()},
            "toe_out_deg": {foot: round(float(angle), 1) for foot, angle in self.toe_out_deg.items()},
            "axis_source": self.axis_source,
            "foot_width_mm": self.foot_width_mm,
        }


def medial_units(toe_out_deg: dict[str, float]) -> dict[str, np.ndarray]:
    """Unit vectors toward each foot's arch, for feet turned out by ``toe_out_deg[foot]``."""
    left, right = np.radians(toe_out_deg["left"]), np.radians(toe_out_deg["right"])
    return {"left": np.array([np.cos(left), np.sin(left)]), "right": np.array([-np.cos(right), np.sin(right)])}


def foot_axis(medial_unit: np.ndarray) -> np.ndarray:
    """A foot's heel-to-toe unit vector: the perpendicular of its medial direction that
    points forward (+y), for either foot."""
    perpendicular = np.array([-medial_unit[1], medial_unit[0]])
    return perpendicular if perpendicular[1] >= 0 else -perpendicular


def with_toe_out(baseline: Baseline, toe_out_deg: dict[str, float], source: str) -> Baseline:
    """The same baseline with other foot axes."""
    return replace(baseline, toe_out_deg=dict(toe_out_deg), medial_unit=medial_units(toe_out_deg), axis_source=source)


MIN_HEEL_TRAVEL_MM = 4.0  # a rep whose CoP moved less than this says nothing about the axis
MIN_AXIS_REPS = 3


def estimate_toe_out_deg(cop_mm: np.ndarray, neutral_mm: np.ndarray, foot: str, bottoms: list[int],
                         half_window: int) -> tuple[float, int] | None:
    """A foot's turn-out (deg) from where its CoP sits at the bottom of each rep.

    At the bottom of a squat the CoP has travelled toward the heel along the foot's axis;
    the median over reps of that direction resists the minority of reps in which the knee
    caved in and pushed the CoP toward the arch as well. Returns the angle and the number
    of reps it rests on, or None with fewer than three usable reps.
    """
    angles = []
    for bottom in bottoms:
        window = cop_mm[max(bottom - half_window, 0): bottom + half_window + 1]
        travel = np.nanmean(window, axis=0) - neutral_mm
        if not np.all(np.isfinite(travel)) or np.hypot(*travel) < MIN_HEEL_TRAVEL_MM:
            continue
        toward_toes = -travel
        sideways = -toward_toes[0] if foot == "left" else toward_toes[0]  # toes out = away from the other foot
        angles.append(np.degrees(np.arctan2(sideways, toward_toes[1])))
    if len(angles) < MIN_AXIS_REPS:
        return None
    return float(np.median(angles)), len(angles)


def quiet_mask(total_n: np.ndarray, rate_hz: float, window_s: float = 0.2, reference_n: float | None = None,
               tolerance: float = 0.01) -> np.ndarray:
    """Samples inside a still window: force steady (std) and, given a reference, near it.

    Window statistics are trailing (causal), so live and offline agree.
    """
    n = max(2, int(round(window_s * rate_hz)))
    x = np.asarray(total_n, dtype=float)
    c1 = np.cumsum(np.concatenate([[0.0], x]))
    c2 = np.cumsum(np.concatenate([[0.0], x * x]))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - n, 0)
    count = idx - lo
    mean = (c1[idx] - c1[lo]) / count
    var = np.maximum((c2[idx] - c2[lo]) / count - mean**2, 0.0)
    level = reference_n if reference_n is not None else np.abs(mean)
    still = (np.sqrt(var) < np.maximum(3.0, tolerance * level)) & (count >= n)
    if reference_n is not None:
        still &= np.abs(mean - reference_n) < tolerance * reference_n
    return still & (mean > MIN_STANDING_N)


def find_quiet_standing(total_n: np.ndarray, rate_hz: float) -> slice | None:
    """The first stretch of at least 1 s of quiet standing (at most 5 s of it)."""
    window = int(round(QUIET_WINDOW_S * rate_hz))
    still = quiet_mask(total_n, rate_hz, window_s=QUIET_WINDOW_S)
    hits = np.flatnonzero(still)
    if len(hits) == 0:
        return None
    start = hits[0] - window + 1
    end = hits[0] + 1
    while end < len(still) and still[end] and end - start < QUIET_MAX_S * rate_hz:
        end += 1
    if end < len(still) and end - start > window:
        # A trailing window notices movement only once it has moved its statistics: the
        # last quarter second before "not quiet" may already be the start of the squat.
        end = max(start + window, end - window // 4)
    return slice(max(start, 0), end)


def estimate_baseline(t: np.ndarray, fz: dict, cop: dict, rate_hz: float, toe_out_deg: float = 0.0,
                      foot_width_mm: float = DEFAULT_FOOT_WIDTH_MM) -> Baseline:
    total = sum(fz.values())
    quiet = find_quiet_standing(total, rate_hz)
    if quiet is None:
        raise NoBaseline("no quiet standing (at least 1 s, steady force) found for the baseline")
    return Baseline(
        body_weight_n=float(np.mean(total[quiet])),
        start_s=float(t[quiet.start]),
        end_s=float(t[quiet.stop - 1]),
        neutral_cop_mm={foot: np.nanmean(cop[foot][quiet], axis=0) for foot in cop},
        medial_unit=medial_units({"left": toe_out_deg, "right": toe_out_deg}),
        toe_out_deg={"left": toe_out_deg, "right": toe_out_deg},
        foot_width_mm=foot_width_mm,
    )


def medial_shift_mm(cop_mm: np.ndarray, baseline: Baseline, foot: str) -> np.ndarray:
    """CoP displacement toward the arch relative to quiet standing (mm, + = medial)."""
    return (cop_mm - baseline.neutral_cop_mm[foot]) @ baseline.medial_unit[foot]
