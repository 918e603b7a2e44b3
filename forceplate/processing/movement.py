"""Building blocks the exercises' segmentations share: runs of a mask, a robust spread,
the plates' unloaded (airborne) level, steady stretches, and left/right symmetry.

Everything here works on the total or per-foot vertical force (N) sampled at ``rate_hz``;
no body-weight floor is assumed (a child on the vaila sit-to-stand plates weighs 155 N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.processing.filters import uniform_filter1d
from forceplate.processing.median import median

AIRBORNE_COARSE_FRACTION = 0.10  # of the recording's 99th-percentile force: clearly off the plates
AIRBORNE_SD = 5.0  # airborne edge: this many robust SD above the unloaded level...
AIRBORNE_MARGIN_N = 10.0  # ...and at least this far above it
STEADY_FLOOR_N = 2.0  # force noise of a still person on a real plate is about 1-1.5 N

# Asymmetry formulas, named in every result that carries them (docs/exercises.md).
SYMMETRY_FORMULAS = {
    "left_share_pct": "100 * L / (L + R)",
    "asymmetry_index_pct": "100 * (L - R) / (L + R)",
    "limb_symmetry_index_pct": "100 * min(L, R) / max(L, R)",
}


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, past-last) index of each run of True."""
    padded = np.zeros(len(mask) + 2, dtype=bool)  # one comparison, no int8 copy: the live path calls it often
    padded[1:-1] = mask
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def robust_sd(x: np.ndarray) -> float:
    """1.4826 * median absolute deviation: the SD of normal noise, blind to a few outliers."""
    x = np.asarray(x, dtype=float)
    return float(1.4826 * median(np.abs(x - median(x))))


@dataclass(frozen=True)
class Unloaded:
    """The plates' reading with nobody on them (N) and the airborne threshold above it (N)."""

    level_n: float
    threshold_n: float


def unloaded_level(total_n: np.ndarray, rate_hz: float, min_s: float = 0.05) -> Unloaded | None:
    """The unloaded level measured where the force is clearly off the plates (below 10 % of
    the recording's 99th percentile for at least ``min_s``); None when never airborne.

    Airborne is relative to this level, not to 0 N: some plates read exact 0 unloaded, others
    carry an offset (Sample_Jump2.c3d reads about 25 N in flight).
    """
    coarse = total_n < AIRBORNE_COARSE_FRACTION * np.percentile(total_n, 99)
    stretches = [(lo, hi) for lo, hi in runs(coarse) if hi - lo >= max(1, int(round(min_s * rate_hz)))]
    if not stretches:
        return None
    air = np.concatenate([total_n[lo:hi] for lo, hi in stretches])
    level = float(median(air))
    return Unloaded(level, level + max(AIRBORNE_SD * robust_sd(air), AIRBORNE_MARGIN_N))


def steady_mask(total_n: np.ndarray, rate_hz: float, window_s: float, tolerance: float) -> np.ndarray:
    """Samples at the centre of a window of ``window_s`` whose force SD is below
    ``tolerance`` of its mean (at least STEADY_FLOOR_N): standing or sitting still."""
    n = max(3, int(round(window_s * rate_hz)))
    x = np.asarray(total_n, dtype=float)
    mean = uniform_filter1d(x, n, mode="nearest")
    sd = np.sqrt(np.maximum(uniform_filter1d(x * x, n, mode="nearest") - mean**2, 0.0))
    steady = sd < np.maximum(STEADY_FLOOR_N, tolerance * np.abs(mean))
    steady[: n // 2] = steady[len(x) - n // 2:] = False  # windows that run off the recording
    return steady


def steady_stretches(total_n: np.ndarray, rate_hz: float, window_s: float, tolerance: float,
                     min_s: float) -> list[tuple[int, int, float]]:
    """(first, past-last, median force N) of each steady stretch lasting at least ``min_s``."""
    mask = steady_mask(total_n, rate_hz, window_s, tolerance)
    min_n = int(round(min_s * rate_hz))
    return [(lo, hi, float(median(total_n[lo:hi]))) for lo, hi in runs(mask) if hi - lo >= min_n]


def first_settled(x: np.ndarray, start: int, level: float, band: float, hold_n: int) -> int | None:
    """The first index from ``start`` where ``x`` enters ``level +- band`` and stays inside
    for at least ``hold_n`` samples; None if it never does."""
    inside = np.abs(np.asarray(x[start:], dtype=float) - level) <= band
    for lo, hi in runs(inside):
        if hi - lo >= hold_n:
            return start + lo
    return None


def symmetry(left: float, right: float) -> dict:
    """Left/right symmetry of one quantity (an impulse, a peak force) under the named
    formulas of SYMMETRY_FORMULAS; values in percent, None when undefined."""
    total = left + right
    if not np.isfinite(total) or total <= 0:
        return dict.fromkeys(SYMMETRY_FORMULAS)
    high = max(left, right)
    return {
        "left_share_pct": round(100.0 * left / total, 1),
        "asymmetry_index_pct": round(100.0 * (left - right) / total, 1),
        "limb_symmetry_index_pct": round(100.0 * min(left, right) / high, 1) if high > 0 else None,
    }


FOOT_ON_SHARE = 0.15  # a foot is on its plate above this share of the loaded level


@dataclass(frozen=True)
class Contacts:
    """Which foot carries the load when: ``on`` per foot (bool per sample), the loaded level
    (N: the median total force while clearly loaded), the share of the loaded time with one
    foot alone on (single support), and the single-support stretches of each foot."""

    on: dict
    loaded_level_n: float
    single_support_share: float
    single_support_runs: dict


def foot_contacts(fz: dict, rate_hz: float, min_s: float = 0.1) -> Contacts:
    """Per-foot contact from the vertical force: a foot is on when it carries over
    FOOT_ON_SHARE of the loaded level (the median total force over samples above 30 % of the
    99th percentile: body weight when walking or standing). A relative threshold because
    plates read 0 N or an offset unloaded, and insoles are not calibrated to body weight."""
    feet = {foot: np.nan_to_num(np.asarray(x, dtype=float)) for foot, x in fz.items()}
    total = sum(feet.values())
    clearly_loaded = total > 0.3 * np.percentile(total, 99)
    level = float(median(total[clearly_loaded])) if clearly_loaded.any() else 0.0
    on = {foot: x > FOOT_ON_SHARE * level for foot, x in feet.items()}
    any_on = np.logical_or.reduce(list(on.values()))
    alone = {foot: mask & (np.sum(list(on.values()), axis=0) == 1) for foot, mask in on.items()}
    single = np.logical_or.reduce(list(alone.values()))
    share = float(single[any_on].mean()) if any_on.any() else 0.0
    min_n = max(1, int(round(min_s * rate_hz)))
    stretches = {foot: [(lo, hi) for lo, hi in runs(mask) if hi - lo >= min_n] for foot, mask in alone.items()}
    return Contacts(on, level, share, stretches)
