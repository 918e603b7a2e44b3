"""Two feet from two devices (insoles on two ports, each with its own clock) on one time grid."""

from __future__ import annotations

import numpy as np

from forceplate.profiles import SIDES


class FootMerger:
    """Collects each foot's samples on the common (host) clock and releases both feet,
    interpolated onto a uniform grid, up to the latest time both have reached."""

    def __init__(self, rate_hz: float):
        self.rate_hz = rate_hz
        self._buf = {foot: (np.empty(0), np.empty(0), np.empty((0, 2))) for foot in SIDES}
        self._next_t: float | None = None

    def add(self, foot: str, t: np.ndarray, fz: np.ndarray, cop: np.ndarray) -> None:
        bt, bf, bc = self._buf[foot]
        # A refined clock fit may move new samples behind old ones: keep time increasing.
        newer = t > (bt[-1] if len(bt) else -np.inf)
        newer &= np.concatenate([[True], np.diff(t) > 0])
        t, fz, cop = t[newer], fz[newer], cop[newer]
        self._buf[foot] = (np.concatenate([bt, t]), np.concatenate([bf, fz]), np.concatenate([bc, cop]))

    def pop(self) -> tuple[np.ndarray, dict, dict]:
        """Grid times (s) and each foot's force (N) and CoP (mm) on them, ready so far."""
        if any(len(self._buf[f][0]) < 2 for f in SIDES):
            return np.empty(0), {}, {}
        if self._next_t is None:
            self._next_t = max(self._buf[f][0][0] for f in SIDES)
        end = min(self._buf[f][0][-1] for f in SIDES)
        n = int(np.floor((end - self._next_t) * self.rate_hz)) + 1
        if n <= 0:
            return np.empty(0), {}, {}
        grid = self._next_t + np.arange(n) / self.rate_hz
        fz, cop = {}, {}
        for foot in SIDES:
            bt, bf, bc = self._buf[foot]
            fz[foot] = np.interp(grid, bt, bf)
            cop[foot] = np.column_stack([np.interp(grid, bt, bc[:, k]) for k in range(2)])
            keep = bt >= grid[-1] - 1.0 / self.rate_hz  # the last sample before the next grid point
            keep[max(np.argmax(keep) - 1, 0)] = True
            self._buf[foot] = (bt[keep], bf[keep], bc[keep])
        self._next_t = grid[-1] + 1.0 / self.rate_hz
        return grid, fz, cop
