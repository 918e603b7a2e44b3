"""Sit-to-stand rises from the vertical force under the feet (no seat sensor).

Rules (all on the total vertical force):

- *standing level* (body weight): the highest steady stretch (0.2 s windows, SD under 3 %
  of the level, lasting at least 0.25 s), unless the caller knows the body weight;
- *seated*: a steady stretch below 75 % of body weight (the seat carries the rest);
- *onset*: the first sample after a seated stretch where the force leaves the seated level
  by 5 robust SD (at least 2 N); None when the recording starts after it;
- *seat-off*: the peak foot force between onset and standing. The feet carry more than body
  weight only once the seat carries nothing and the body accelerates upward, so without a
  seat sensor the peak marks the hand-over; on the vaila recording the operator's Nexus
  event `Seating5` and this peak are within 10 ms (docs/exercises.md);
- *standing*: the first sample after seat-off from which the force stays within +-5 % of
  body weight for 0.2 s;
- *rise time*: seat-off to standing.

A recording that starts after seat-off (the vaila clip) has no onset, and its rise counts
only when its peak reaches 1.05 x body weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.processing.forces import COP_MIN_FORCE_N
from forceplate.processing.movement import STEADY_FLOOR_N, first_settled, robust_sd, steady_stretches

STEADY_WINDOW_S = 0.2
STEADY_TOLERANCE = 0.03
STEADY_MIN_S = 0.25
SEATED_FRACTION = 0.75
ONSET_SD = 5.0
STANDING_BAND = 0.05
STANDING_HOLD_S = 0.2
CLIPPED_RISE_PEAK = 1.05  # of body weight: a rise the recording joins late must show its peak


@dataclass(frozen=True)
class Rise:
    """One sit-to-stand; indices are samples into the input arrays."""

    index: int
    onset: int | None
    seat_off: int
    standing: int
    peak_force_n: float
    impulse_n_s: dict  # foot -> vertical impulse from seat-off to standing (N*s)


@dataclass(frozen=True)
class SitToStandAnalysis:
    """A trial's sit-to-stand rises, with the body weight (N) and where it came from."""

    body_weight_n: float
    body_weight_source: str
    rises: list[Rise]


def segment_rises(fz: dict, rate_hz: float, body_weight_n: float | None = None) -> SitToStandAnalysis:
    """Every rise from sitting to standing in per-foot vertical force ``fz`` (foot -> N).

    Raises ValueError when no steady stretch shows a standing level and none is given.
    """
    feet = {foot: np.asarray(x, dtype=float) for foot, x in fz.items()}
    total = sum(feet.values())
    stretches = steady_stretches(total, rate_hz, STEADY_WINDOW_S, STEADY_TOLERANCE, STEADY_MIN_S)
    source = "given"
    if body_weight_n is None:
        if not stretches:
            raise ValueError("no steady stretch of standing to weigh the body")
        body_weight_n, source = max(s[2] for s in stretches), "highest steady stretch"
    if body_weight_n < COP_MIN_FORCE_N:
        raise ValueError(f"nobody standing on the plates (highest steady level {body_weight_n:.1f} N)")
    band = STANDING_BAND * body_weight_n
    seated = [s for s in stretches if s[2] < SEATED_FRACTION * body_weight_n]
    standing = [s for s in stretches if abs(s[2] - body_weight_n) <= band]
    hold = int(round(STANDING_HOLD_S * rate_hz))

    rises: list[Rise] = []
    search_from = 0
    for stand_lo, stand_hi, _ in standing:
        if stand_lo < search_from:
            continue
        before = [s for s in seated if search_from <= s[0] and s[1] <= stand_lo]
        onset = None
        if before:
            lo, hi, level = before[-1]
            departs = np.flatnonzero(np.abs(total[hi:stand_lo] - level)
                                     > max(ONSET_SD * robust_sd(total[lo:hi]), STEADY_FLOOR_N))
            onset = hi + int(departs[0]) if len(departs) else hi
            window_start = onset
        elif search_from == 0 and not rises:
            window_start = 0  # the recording may start mid-rise
        else:
            search_from = stand_hi
            continue
        if stand_lo <= window_start:
            search_from = stand_hi
            continue
        seat_off = window_start + int(np.argmax(total[window_start:stand_lo]))
        if onset is None and total[seat_off] < CLIPPED_RISE_PEAK * body_weight_n:
            search_from = stand_hi
            continue
        stood = first_settled(total[:stand_hi], seat_off, body_weight_n, band, hold)
        if stood is None:
            stood = stand_lo
        rises.append(Rise(len(rises) + 1, onset, seat_off, stood, float(total[seat_off]),
                          {foot: float(np.sum(x[seat_off:stood]) / rate_hz) for foot, x in feet.items()}))
        search_from = stand_hi
    return SitToStandAnalysis(float(body_weight_n), source, rises)
