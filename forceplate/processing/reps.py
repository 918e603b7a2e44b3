"""Squat rep segmentation from total vertical force (impulse-momentum).

Vertical acceleration of the body's centre of mass is ``(F - BW) / m``; integrating it
gives velocity. Drift is removed by zero-velocity updates: wherever the force is steady
at body weight (standing between reps, a pause at the bottom) the body is still. A rep is
a descent (velocity below -V_MOVING) followed by an ascent (above +V_MOVING); its start
and end are where velocity leaves and returns to zero, its bottom is the middle of the
turn between descent and ascent, its depth is the integral of the descent velocity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scipy.ndimage import maximum_filter1d

from forceplate.processing.baseline import G
from forceplate.processing.filters import FORCE_CUTOFF_HZ, zero_lag

V_MOVING = 0.05  # m/s: a descent or ascent is under way
V_STILL = 0.01  # m/s: slower than this is not descending or ascending
V_REST = 0.002  # m/s: a rep starts and ends where the body is this close to rest
V_PHASE = 0.1  # m/s: slower than this between descent and ascent is "the bottom"
MIN_DEPTH_M = 0.05  # shallower dips are sway, not reps
PARTIAL_FRACTION = 0.6  # a rep shallower than this share of the set's median depth is partial
# Still: every sample of the trailing window within this band around body weight. The
# window is longer than the passage through zero acceleration in the middle of a slow
# (3 s) descent, which must not count as still.
STILL_WINDOW_S = 0.4
STILL_TOLERANCE = 0.005  # of body weight
STILL_TOLERANCE_MIN_N = 4.0  # force noise of a quiet stander on a real plate is about 1-1.5 N

PHASES = ("standing", "descent", "bottom", "ascent")


@dataclass(frozen=True)
class Rep:
    index: int
    start: int  # sample indices
    bottom: int
    end: int
    start_s: float
    bottom_s: float
    end_s: float
    depth_m: float
    peak_force_n: float
    partial: bool = False


def acceleration(total_n: np.ndarray, body_weight_n: float) -> np.ndarray:
    return (total_n - body_weight_n) * (G / body_weight_n)


def still_mask(total_n: np.ndarray, body_weight_n: float, rate_hz: float) -> np.ndarray:
    """Samples ending a window in which the force never left the band around body weight.

    Trailing (causal), so the live pipeline marks the same samples as the offline one.
    """
    n = max(2, int(round(STILL_WINDOW_S * rate_hz)))
    band = max(STILL_TOLERANCE * body_weight_n, STILL_TOLERANCE_MIN_N)
    deviation = np.abs(np.nan_to_num(np.asarray(total_n, float) - body_weight_n, nan=np.inf))
    worst = maximum_filter1d(deviation, size=n, origin=(n - 1) // 2, mode="nearest")
    worst[: n - 1] = np.inf  # not a full window yet
    return worst < band


def velocity(a: np.ndarray, still: np.ndarray, rate_hz: float) -> np.ndarray:
    """Vertical velocity (m/s), offline, from the :func:`acceleration` and :func:`still_mask`
    of the force: integrated between still stretches, de-drifted.

    Between two still stretches the integral is corrected linearly so that it returns to
    zero where the body is still again.
    """
    v = np.zeros_like(a)
    for lo, hi in _runs(~still):
        seg = np.cumsum(a[lo:hi]) / rate_hz
        if hi < len(a):  # ends in stillness: velocity must be back to zero there
            seg -= np.linspace(0.0, seg[-1], len(seg))
        v[lo:hi] = seg
    return v


def phases(v: np.ndarray, in_rep: np.ndarray) -> np.ndarray:
    """Phase code per sample (index into PHASES) from velocity, for samples inside reps."""
    code = np.zeros(len(v), dtype=np.int8)
    code[in_rep] = 2
    code[in_rep & (v < -V_PHASE)] = 1
    code[in_rep & (v > V_PHASE)] = 3
    return code


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def segment_reps(t: np.ndarray, total_n: np.ndarray, body_weight_n: float, rate_hz: float,
                 filtered: bool = False) -> tuple[list[Rep], np.ndarray]:
    """Reps in a recording and the velocity they were found from.

    ``total_n`` is the summed vertical force of both feet (N); set ``filtered`` if it is
    already low-passed.
    """
    force = total_n if filtered else zero_lag(total_n, FORCE_CUTOFF_HZ, rate_hz)
    a = acceleration(force, body_weight_n)
    still = still_mask(force, body_weight_n, rate_hz)
    v = velocity(a, still, rate_hz)
    # Below this the force is indistinguishable from standing: five standard deviations
    # of the still stretches (the usual force-plate onset rule), at least 0.2% of weight.
    # Robust (median absolute deviation): still stretches include the first gentle ramps.
    deviation = force[still] - body_weight_n
    noise_n = 1.4826 * np.median(np.abs(deviation - np.median(deviation))) if still.any() else 0.0
    a_onset = max(5 * noise_n, 0.002 * body_weight_n) * G / body_weight_n
    downs = _runs(v < -V_MOVING)
    ups = _runs(v > V_MOVING)
    reps: list[Rep] = []
    up_i = 0
    last_end = 0
    for d_lo, d_hi in downs:
        if d_lo < last_end:
            continue
        while up_i < len(ups) and ups[up_i][0] < d_hi:
            up_i += 1
        if up_i == len(ups):
            break
        u_lo, u_hi = ups[up_i]
        start = d_lo
        while start > last_end and v[start - 1] < -V_REST:
            start -= 1
        # a squat starts and ends by unweighting gently: extend while the force is still
        # measurably below body weight
        while start > last_end and a[start - 1] < -a_onset:
            start -= 1
        end = min(u_hi, len(v) - 1)
        while end < len(v) - 1 and v[end] > V_REST:
            end += 1
        while end < len(v) - 1 and a[end] < -a_onset:
            end += 1
        descending = np.flatnonzero(v[d_hi:u_lo] < -V_STILL)
        ascending = np.flatnonzero(v[d_hi:u_lo] > V_STILL)
        turn_lo = d_hi + (descending[-1] + 1 if len(descending) else 0)
        turn_hi = d_hi + (ascending[0] if len(ascending) else u_lo - d_hi)
        bottom = (turn_lo + max(turn_hi, turn_lo)) // 2
        depth = -np.sum(v[start:bottom]) / rate_hz
        if depth < MIN_DEPTH_M:
            continue
        last_end = end
        reps.append(Rep(len(reps) + 1, start, bottom, end, float(t[start]), float(t[bottom]), float(t[end]),
                        float(depth), float(np.max(force[start:end + 1]))))
    if reps:
        median_depth = float(np.median([r.depth_m for r in reps]))
        reps = [Rep(**{**r.__dict__, "partial": r.depth_m < PARTIAL_FRACTION * median_depth}) for r in reps]
    return reps, v
