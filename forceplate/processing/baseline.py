"""Quiet-standing baseline: body weight, each foot's neutral CoP and medial direction.

"Medial" is perpendicular to each foot's long axis, toward the arch. The axis comes from
the set-up: feet turned out by ``toe_out_deg`` each (0 = parallel, pointing forward along
+y of the lab frame); the CoP travel of a normal squat runs along that axis, so measuring
medial shift along the lab's x axis with turned-out feet would mistake it for a shift.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    toe_out_deg: float = 0.0
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
            "toe_out_deg": self.toe_out_deg,
            "foot_width_mm": self.foot_width_mm,
        }


def medial_units(toe_out_deg: float) -> dict[str, np.ndarray]:
    """Unit vectors toward each foot's arch, for feet turned out by ``toe_out_deg`` each."""
    th = np.radians(toe_out_deg)
    return {"left": np.array([np.cos(th), np.sin(th)]), "right": np.array([-np.cos(th), np.sin(th)])}


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
        medial_unit=medial_units(toe_out_deg),
        toe_out_deg=toe_out_deg,
        foot_width_mm=foot_width_mm,
    )


def medial_shift_mm(cop_mm: np.ndarray, baseline: Baseline, foot: str) -> np.ndarray:
    """CoP displacement toward the arch relative to quiet standing (mm, + = medial)."""
    return (cop_mm - baseline.neutral_cop_mm[foot]) @ baseline.medial_unit[foot]
