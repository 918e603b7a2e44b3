"""Clock synchronisation: each device's clock mapped onto the host clock.

Every frame carries the device's time stamp and is stamped again by the host when it
arrives. Arrival is late by a transport delay that is never negative and varies (USB
polling, Bluetooth bursts, scheduling), so the points ``(t_device, t_host - t_device)``
scatter above a line whose intercept is the clock offset and whose slope is the drift.
That line is taken as the lower envelope of every arrival (Moon, Skelly and Towsley 1999,
"Estimation and removal of clock skew from network delay measurements"): of the lines below
all the points, the one closest to them in sum, which is the edge of their lower convex hull
over the points' mean device time.

Until December 2026 the line was a least-squares fit through each 1 s window's earliest
arrival. It followed any window whose every frame came late, and with a clock that drifts
fast (a simulator or a replay run 4x, -0.75 s/s) a window's earliest arrival is its last
frame, whatever its delay: under load a simulated insole pair's feet moved 0.1-0.4 s apart
and the pair showed reps in its standing. The envelope holds every point that can bear on
it (the hull's vertices, a few dozen), so neither the drift nor late windows bias it.

A device read stamps its frames back from the moment it returned by their device times
(io/device.py), so all frames of one read share one lag, and only the read's last frame is an
arrival: with a clock that runs fast the earlier ones lie below the line (by 60 ms in a 20 ms
read at 4x). Only the frame where the lag steps, each read's last, goes into the hull.

Assumed: the transport never delivers a frame before its device time stamp says it was
made, on the fitted line, and the device's clock runs at a steady rate. A single frame
stamped too late by its device (a lag below the true line) pins the envelope where a mean
would barely move; a device that reboots (its unwrapped clock then continues one sample on,
decoder.py) keeps its old offset, so its later frames map early by the time it was away.
"""

from __future__ import annotations

import bisect

import numpy as np

# Frames whose lags differ by less than this came in one read (the rounding of ~1e6 s host
# times is ~1e-10 s; two reads' lags differ by their delays' jitter, microseconds at least).
SAME_READ_S = 1e-7
# Batches longer than this are reduced to their own lower hull in numpy before the hull is
# extended point by point in Python (a live block of 2-20 frames goes straight in).
VECTORISED_BATCH = 256


def _lower_hull(t: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """Indices of the lower convex hull of points sorted by ``t`` (strictly increasing):
    quickhull, each level one numpy pass over the points still below a chord."""
    stack, vertices = [np.arange(len(t))], []
    while stack:
        idx = stack.pop()
        a, b = idx[0], idx[-1]
        inner = idx[1:-1]
        if not len(inner):
            vertices += [a, b]
            continue
        under = lag[inner] - (lag[a] + (lag[b] - lag[a]) * (t[inner] - t[a]) / (t[b] - t[a]))  # below the chord a-b
        deepest = int(np.argmin(under))
        if under[deepest] >= 0:
            vertices += [a, b]
            continue
        below, deepest = inner[under < 0], inner[deepest]
        left, right = below[below < deepest], below[below > deepest]
        stack.append(np.concatenate([[deepest], right, [b]]))
        stack.append(np.concatenate([[a], left, [deepest]]))
    return np.unique(vertices)


class ClockSync:
    """Fits ``t_host = t_device + offset + drift * t_device`` from (device, host) pairs."""

    def __init__(self):
        self.restart()

    def restart(self) -> None:
        """Forget every arrival (a new fit, or the device's clock count started again, perhaps
        at a new offset)."""
        # lower convex hull of all (device time, lag) points so far, in device-time order
        self._hull_t: list[float] = []
        self._hull_lag: list[float] = []
        self._points = 0
        self._sum_t = 0.0  # of all points' device times, for their mean
        self._fit: tuple[float, float] | None = None  # offset (s), drift (s/s); None: fit again

    def update(self, t_device: np.ndarray, t_host: np.ndarray) -> None:
        if len(t_device) == 0:
            return
        t_device = np.asarray(t_device, float)
        lag = np.asarray(t_host, float) - t_device
        read_ends = np.append(np.abs(np.diff(lag)) > SAME_READ_S, True)
        t_device, lag = t_device[read_ends], lag[read_ends]
        # Frames come in device-time order; a repeated or earlier time stamp adds nothing the
        # hull can use in order, and is left out.
        newer = t_device > (self._hull_t[-1] if self._hull_t else -np.inf)
        newer[1:] &= np.diff(t_device) > 0
        t_device, lag = t_device[newer], lag[newer]
        if not len(t_device):
            return
        self._points += len(t_device)  # the reads' ends: the mean is over reads, about evenly spread
        self._sum_t += float(t_device.sum())
        if len(t_device) > VECTORISED_BATCH:
            keep = _lower_hull(t_device, lag)
            t_device, lag = t_device[keep], lag[keep]
        hull_t, hull_lag = self._hull_t, self._hull_lag
        for t, y in zip(t_device.tolist(), lag.tolist()):
            # pop the last vertex while it is not below the chord from the one before it to the new point
            while len(hull_t) >= 2 and ((hull_t[-1] - hull_t[-2]) * (y - hull_lag[-2])
                                        - (hull_lag[-1] - hull_lag[-2]) * (t - hull_t[-2])) <= 0:
                hull_t.pop()
                hull_lag.pop()
            hull_t.append(t)
            hull_lag.append(y)
        self._fit = None

    @property
    def ready(self) -> bool:
        """True once at least one arrival has been seen."""
        return bool(self._hull_t)

    @property
    def offset_drift(self) -> tuple[float, float]:
        """Clock offset (s) and drift (s per s, e.g. 2e-4 for 200 ppm) of the fit."""
        if self._fit is None:
            self._fit = self._envelope()
        return self._fit

    def _envelope(self) -> tuple[float, float]:
        """The hull edge over the points' mean device time; with one point, its lag."""
        hull_t, hull_lag = self._hull_t, self._hull_lag
        if not hull_t:
            return 0.0, 0.0
        if len(hull_t) == 1:
            return hull_lag[0], 0.0
        k = min(max(bisect.bisect_right(hull_t, self._sum_t / self._points), 1), len(hull_t) - 1)
        drift = (hull_lag[k] - hull_lag[k - 1]) / (hull_t[k] - hull_t[k - 1])
        return hull_lag[k - 1] - drift * hull_t[k - 1], drift

    def to_host(self, t_device: np.ndarray) -> np.ndarray:
        """Device time (s) -> host time (s) on the fitted line."""
        offset, drift = self.offset_drift
        t_device = np.asarray(t_device, float)
        return t_device + offset + drift * t_device

    def to_device(self, t_host: np.ndarray) -> np.ndarray:
        """Host time (s) -> this device's time (s): the inverse of :meth:`to_host`."""
        offset, drift = self.offset_drift
        return (np.asarray(t_host, float) - offset) / (1.0 + drift)


def fit_clock(t_device: np.ndarray, t_host: np.ndarray) -> ClockSync:
    """A :class:`ClockSync` fitted on a whole recording (offline alignment)."""
    sync = ClockSync()
    sync.update(t_device, t_host)
    return sync
