"""The knee-collapse (dynamic valgus) flag: a medial CoP shift that is held, graded.

A foot is flagged in a rep when its medial shift stays above a threshold for at least
``min_duration_s``; the grade is the largest shift held that long. Defaults suit adult
feet on plates (mm of CoP travel toward the arch from quiet standing); a per-person
setting scales them (``Thresholds.scaled``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from forceplate.processing.filters import minimum_filter1d

GRADES = ("none", "mild", "moderate", "severe")


@dataclass(frozen=True)
class Thresholds:
    """The knee-collapse grades: a held medial shift (mm over the lifter's normal) of at least
    ``mild_mm``, ``moderate_mm``, ``severe_mm``, held ``min_duration_s``."""

    mild_mm: float = 3.5
    moderate_mm: float = 7.5
    severe_mm: float = 12.5
    min_duration_s: float = 0.03

    def scaled(self, factor: float) -> "Thresholds":
        return replace(self, mild_mm=self.mild_mm * factor, moderate_mm=self.moderate_mm * factor,
                       severe_mm=self.severe_mm * factor)

    def grade(self, shift_mm: float) -> str:
        if not np.isfinite(shift_mm) or shift_mm < self.mild_mm:
            return "none"
        if shift_mm < self.moderate_mm:
            return "mild"
        if shift_mm < self.severe_mm:
            return "moderate"
        return "severe"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def held_samples(rate_hz: float, min_duration_s: float) -> int:
    """The samples a shift must be held for: ``min_duration_s`` at ``rate_hz``, at least one."""
    return max(1, int(round(min_duration_s * rate_hz)))


def held_shift(shift_mm: np.ndarray, rate_hz: float, min_duration_s: float, last: int | None = None) -> np.ndarray:
    """At each sample, the smallest shift of the trailing ``min_duration_s`` window (NaN as
    -inf; at the array's start the window holds fewer); ``last``: only the last this many.

    A value v here means the shift has stayed at or above v for the whole window, so a
    single noisy spike never raises a flag. Trailing (causal), so live agrees with offline.
    """
    n = held_samples(rate_hz, min_duration_s)
    x = np.where(np.isnan(shift_mm), -np.inf, shift_mm)
    if last is None:
        # origin shifts the window so that it ends at the current sample
        return minimum_filter1d(x, size=n, origin=(n - 1) // 2, mode="nearest")
    return _trailing_minimum_tail(x, n, last)


def _trailing_minimum_tail(x: np.ndarray, n: int, k: int) -> np.ndarray:
    """The running filter's last ``k`` values, by doubling windows in a few array minimums: a
    live block's (issue 14), where the filter, made for whole trials, takes 20 us of the
    block's 100; a minimum is exact, so the bits agree."""
    need = k + n - 1
    # before the array's first sample the window holds fewer: its first repeated is the same
    x = np.concatenate((np.full(need - len(x), x[0]), x)) if len(x) < need else x[len(x) - need:]
    width = 1  # x[i]: the smallest of the original's [i, i + width)
    while 2 * width <= n:
        x = np.minimum(x[:-width], x[width:])
        width *= 2
    if width < n:  # two overlapping windows of ``width`` cover one of ``n``
        x = np.minimum(x[:len(x) - (n - width)], x[n - width:])
    return x
