"""Clock synchronisation: each device's clock mapped onto the host clock.

Every frame carries the device's time stamp and is stamped again by the host when it
arrives. Arrival is late by a transport delay that is never negative and varies (USB
polling, Bluetooth bursts, scheduling), so ``t_host - t_device`` scatters above a line
whose intercept is the clock offset and whose slope is the drift. The earliest arrival
in each window lies closest to that line: a least-squares line through those minima
gives offset and drift, and maps device time to host time to well under a millisecond
once a few windows are in.
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 1.0


class ClockSync:
    """Fits ``t_host = t_device + offset + drift * t_device`` from (device, host) pairs."""

    def __init__(self, window_s: float = WINDOW_S):
        self.window_s = window_s
        self._windows: dict[int, tuple[float, float]] = {}  # window -> (t_device, lag) of its earliest arrival
        self._fit = (0.0, 0.0)  # offset (s), drift (s/s)
        self._fitted_at: float | None = None  # newest device time when the fit was made (None: never)
        self._fitted_windows = 0  # how many windows it was made from
        self._newest_s = -np.inf  # newest device time seen

    def update(self, t_device: np.ndarray, t_host: np.ndarray) -> None:
        if len(t_device) == 0:
            return
        t_device = np.asarray(t_device, float)
        lag = np.asarray(t_host, float) - t_device
        window = np.floor(t_device / self.window_s).astype(np.int64)
        if window[0] == window[-1] and (window == window[0]).all():
            # a live block (20 ms) lies within one window: its earliest arrival, without the sort
            firsts = [int(np.argmin(lag))]
        else:
            # earliest arrival of each window in one pass: sort by (window, lag), take the firsts
            order = np.lexsort((lag, window))
            firsts = order[np.flatnonzero(np.diff(window[order], prepend=window[order[0]] - 1))]
        for i in firsts:
            w = int(window[i])
            held = self._windows.get(w)
            if held is None or lag[i] < held[1]:
                self._windows[w] = (float(t_device[i]), float(lag[i]))
        self._newest_s = max(self._newest_s, float(t_device.max()))

    def _stale(self) -> bool:
        """Whether to fit again: a window came, or one window's worth of device time since the
        fit, or the first few windows, which the earliest arrivals still refine much.

        A live session updates every block (50 times a second per device) and maps times
        with each: fitting each time (a least-squares line through up to an hour of windows)
        cost more than the update itself, and within a window the fit hardly moves.
        """
        return (self._fitted_at is None or len(self._windows) != self._fitted_windows or len(self._windows) < 3
                or self._newest_s - self._fitted_at >= self.window_s)

    @property
    def ready(self) -> bool:
        """True once at least one arrival has been seen."""
        return bool(self._windows)

    @property
    def offset_drift(self) -> tuple[float, float]:
        """Clock offset (s) and drift (s per s, e.g. 2e-4 for 200 ppm) of the fit."""
        if self._windows and self._stale():
            points = np.array(list(self._windows.values()))
            if len(points) >= 2 and np.ptp(points[:, 0]) > 0:
                drift, offset = np.polyfit(points[:, 0], points[:, 1], 1)
            else:
                drift, offset = 0.0, float(points[:, 1].min())
            self._fit = (float(offset), float(drift))
            self._fitted_at, self._fitted_windows = self._newest_s, len(self._windows)
        return self._fit

    def to_host(self, t_device: np.ndarray) -> np.ndarray:
        """Device time (s) -> host time (s) on the fitted line."""
        offset, drift = self.offset_drift
        t_device = np.asarray(t_device, float)
        return t_device + offset + drift * t_device

    def to_device(self, t_host: np.ndarray) -> np.ndarray:
        """Host time (s) -> this device's time (s): the inverse of :meth:`to_host`."""
        offset, drift = self.offset_drift
        return (np.asarray(t_host, float) - offset) / (1.0 + drift)


def fit_clock(t_device: np.ndarray, t_host: np.ndarray, window_s: float = WINDOW_S) -> ClockSync:
    """A :class:`ClockSync` fitted on a whole recording (offline alignment)."""
    sync = ClockSync(window_s)
    sync.update(t_device, t_host)
    return sync
