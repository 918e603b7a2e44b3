"""Low-pass filters: zero-lag offline, causal with carried state live, same design; and
the sliding-window minimum, maximum and mean the segmentations use.

scipy is imported where a filter first runs, not with this module: ``import scipy.signal``
costs about a second of CPU and ``scipy.ndimage`` a third of one (they import scipy.stats,
scipy.special and the array-API layer), which every command that imports the analysis only
to read stored results (``trials``, ``compare``) would pay. Importing their private
submodules instead (``scipy.signal._signaltools``) saves nothing: Python runs the package's
``__init__`` first.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

FORCE_CUTOFF_HZ = 20.0  # squats have no content above a few Hz; load-cell noise does
COP_CUTOFF_HZ = 10.0  # CoP sways and medial shifts are slower than 2 Hz; 10 Hz keeps the live lag near 20 ms
ORDER = 2


def design(cutoff_hz: float, rate_hz: float, kind: str = "lowpass") -> np.ndarray:
    return _designed(cutoff_hz, rate_hz, kind).copy()  # scipy's filters want a writable array


@lru_cache(maxsize=64)  # live designs the same few filters every 0.2 s: 1.3 ms each
def _designed(cutoff_hz: float, rate_hz: float, kind: str) -> np.ndarray:
    from scipy import signal

    return signal.butter(ORDER, min(cutoff_hz, 0.45 * rate_hz), btype=kind, fs=rate_hz, output="sos")


def zero_lag(x: np.ndarray, cutoff_hz: float, rate_hz: float) -> np.ndarray:
    """Offline: forward-backward filter along axis 0 (NaN stretches stay NaN)."""
    from scipy import signal

    x = np.asarray(x, dtype=float)
    if len(x) < 16:
        return x.copy()
    sos = design(cutoff_hz, rate_hz)
    nan = np.isnan(x)
    if not nan.any():
        return signal.sosfiltfilt(sos, x, axis=0)
    filled = _fill_nan(x)
    out = signal.sosfiltfilt(sos, filled, axis=0)
    out[nan] = np.nan
    return out


def high_pass(x: np.ndarray, cutoff_hz: float, rate_hz: float, mirror: str = "odd") -> np.ndarray:
    """Offline: forward-backward high-pass along axis 0 (removes offsets and slow drift).

    Padded by one period of the cutoff, or the edges ring, with the signal mirrored: "odd"
    continues a ramp as a ramp but pins the output near zero at both ends; "even" keeps the
    level at the ends but bends a ramp there."""
    from scipy import signal

    x = np.asarray(x, dtype=float)
    if len(x) < 16:
        return x - np.mean(x, axis=0)
    sos = design(cutoff_hz, rate_hz, "highpass")
    return signal.sosfiltfilt(sos, x, axis=0, padtype=mirror, padlen=min(len(x) - 1, int(rate_hz / cutoff_hz)))


def _fill_nan(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    flat = out.reshape(len(out), -1)
    idx = np.arange(len(out))
    for column in flat.T:
        bad = np.isnan(column)
        if bad.all():
            column[:] = 0.0
        elif bad.any():
            column[bad] = np.interp(idx[bad], idx[~bad], column[~bad])
    return out


class Causal:
    """Live: the same Butterworth filter run forward, keeping its state between blocks."""

    def __init__(self, cutoff_hz: float, rate_hz: float, width: int = 1):
        from scipy import signal

        self._signal = signal
        self._sos = design(cutoff_hz, rate_hz)
        self._zi = None
        self._width = width

    def __call__(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=float).reshape(len(block), self._width)
        if len(block) == 0:
            return block
        finite = np.where(np.isnan(block), 0.0, block)
        if self._zi is None:
            zi = self._signal.sosfilt_zi(self._sos)[:, :, None]
            self._zi = zi * finite[0][None, None, :]
        out, self._zi = self._signal.sosfilt(self._sos, finite, axis=0, zi=self._zi)
        out[np.isnan(block)] = np.nan
        return out


def minimum_filter1d(x: np.ndarray, size: int, **options) -> np.ndarray:
    """``scipy.ndimage.minimum_filter1d`` (same arguments), scipy.ndimage imported when first used."""
    from scipy import ndimage

    return ndimage.minimum_filter1d(x, size, **options)


def maximum_filter1d(x: np.ndarray, size: int, **options) -> np.ndarray:
    """``scipy.ndimage.maximum_filter1d`` (same arguments), scipy.ndimage imported when first used."""
    from scipy import ndimage

    return ndimage.maximum_filter1d(x, size, **options)


def uniform_filter1d(x: np.ndarray, size: int, **options) -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d`` (same arguments), scipy.ndimage imported when first used."""
    from scipy import ndimage

    return ndimage.uniform_filter1d(x, size, **options)
