"""Two feet from two devices (insoles on two ports, each with its own clock) on one time grid."""

from __future__ import annotations

import numpy as np

from forceplate.profiles import SIDES


class FootMerger:
    """Collects each foot's samples on the common clock and releases both feet, interpolated
    onto a uniform grid, up to the latest time both have reached.

    A foot's samples are any columns (force, CoP, region forces: an (n, k) array, the same k
    each time); each column is interpolated on its own, linearly.
    """

    def __init__(self, rate_hz: float):
        self.rate_hz = rate_hz
        self._buf: dict[str, tuple[np.ndarray, np.ndarray] | None] = dict.fromkeys(SIDES)
        self._next_t: float | None = None

    def add(self, foot: str, t: np.ndarray, columns: np.ndarray) -> None:
        """Samples of ``foot`` at times ``t`` (s): ``columns`` (n, k)."""
        columns = np.asarray(columns, dtype=float).reshape(len(t), -1)
        held = self._buf[foot]
        bt, bc = held if held is not None else (np.empty(0), np.empty((0, columns.shape[1])))
        # A refined clock fit may move new samples behind old ones: keep time increasing.
        newer = t > (bt[-1] if len(bt) else -np.inf)
        newer &= np.concatenate([[True], np.diff(t) > 0])
        self._buf[foot] = (np.concatenate([bt, t[newer]]), np.concatenate([bc, columns[newer]]))

    def pop(self) -> tuple[np.ndarray, dict]:
        """Grid times (s) and each foot's columns interpolated on them, ready so far."""
        if any(held is None or len(held[0]) < 2 for held in self._buf.values()):
            return np.empty(0), {}
        if self._next_t is None:
            self._next_t = max(held[0][0] for held in self._buf.values())
        end = min(held[0][-1] for held in self._buf.values())
        n = int(np.floor((end - self._next_t) * self.rate_hz)) + 1
        if n <= 0:
            return np.empty(0), {}
        grid = self._next_t + np.arange(n) / self.rate_hz
        out = {}
        for foot in SIDES:
            bt, bc = self._buf[foot]
            out[foot] = np.column_stack([np.interp(grid, bt, bc[:, k]) for k in range(bc.shape[1])])
            keep = bt >= grid[-1] - 1.0 / self.rate_hz  # the last sample before the next grid point
            keep[max(np.argmax(keep) - 1, 0)] = True
            self._buf[foot] = (bt[keep], bc[keep])
        self._next_t = grid[-1] + 1.0 / self.rate_hz
        return grid, out
