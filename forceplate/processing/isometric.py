"""Isometric pulls and pushes (isometric squat, mid-thigh pull) from the vertical force.

Onset rule: the first sample where the total vertical force exceeds the quiet-standing
level by 5 SD of that level (at least 10 N) and stays above it for 30 ms; the level and SD
come from the quiet second before the pull (a 5-SD threshold as in Dos'Santos et al.
2017, J Strength Cond Res 31(12): 3463-3473; no back-off, so the windows start at a
detected, not an inferred, rise).

From onset: rate of force development RFD over 0-50, 0-100 and 0-200 ms = (F(onset + w) -
F(onset)) / w (N/s); peak force (N, gross) and net peak force (minus body weight); time to
peak (s); net impulse (N*s above body weight) over 0-100, 0-200 ms and the whole pull
(onset until the force falls back under the onset threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.processing.baseline import find_quiet_standing
from forceplate.processing.movement import runs

ONSET_SD = 5.0
ONSET_MIN_N = 10.0
ONSET_PERSIST_S = 0.03
RFD_WINDOWS_S = (0.05, 0.1, 0.2)
IMPULSE_WINDOWS_S = (0.1, 0.2)
MIN_PULL_S = 0.5  # shorter efforts above the threshold are a shuffle, not a pull


@dataclass(frozen=True)
class Pull:
    """One isometric effort; indices are samples into the input arrays. ``rfd_n_s`` and
    ``net_impulse_n_s`` map a window (ms) to N/s and N*s (None when the pull is shorter)."""

    index: int
    onset: int
    peak: int
    end: int
    peak_force_n: float
    net_peak_force_n: float
    rfd_n_s: dict
    net_impulse_n_s: dict
    total_net_impulse_n_s: float
    peak_by_foot_n: dict  # foot -> its vertical force at the peak (N)


@dataclass(frozen=True)
class IsometricAnalysis:
    """An isometric trial's pulls, with the quiet standing they are measured from (weight and its SD,
    N) and the onset threshold (N)."""

    body_weight_n: float
    baseline_sd_n: float
    onset_threshold_n: float
    pulls: list[Pull]


def segment_pulls(fz: dict, rate_hz: float) -> IsometricAnalysis:
    """Every isometric effort in per-foot vertical force ``fz`` (foot -> (n,) N).

    Raises ValueError when there is no quiet second before the first effort to weigh from.
    """
    feet = {foot: np.asarray(x, dtype=float) for foot, x in fz.items()}
    total = sum(feet.values())
    quiet = find_quiet_standing(total, rate_hz)
    if quiet is None:
        raise ValueError("no quiet standing (at least 1 s, steady force) before the pull to weigh from")
    weight = float(np.mean(total[quiet]))
    sd = float(np.std(total[quiet]))
    threshold = weight + max(ONSET_SD * sd, ONSET_MIN_N)
    persist = max(1, int(round(ONSET_PERSIST_S * rate_hz)))
    min_len = int(round(MIN_PULL_S * rate_hz))
    pulls = []
    for lo, hi in runs(total > threshold):
        if hi - lo < max(persist, min_len) or lo < quiet.stop:
            continue
        peak = lo + int(np.argmax(total[lo:hi]))
        rfd = {round(w * 1000): (float((total[lo + round(w * rate_hz)] - total[lo]) / w)
                                 if lo + round(w * rate_hz) < hi else None) for w in RFD_WINDOWS_S}
        impulse = {round(w * 1000): (float(np.sum(total[lo:lo + round(w * rate_hz)] - weight) / rate_hz)
                                     if lo + round(w * rate_hz) <= hi else None) for w in IMPULSE_WINDOWS_S}
        pulls.append(Pull(len(pulls) + 1, lo, peak, hi, float(total[peak]), float(total[peak] - weight), rfd,
                          impulse, float(np.sum(total[lo:hi] - weight) / rate_hz),
                          {foot: float(x[peak]) for foot, x in feet.items()}))
    return IsometricAnalysis(weight, sd, threshold, pulls)
