"""Low-pass filters: zero-lag offline, causal with carried state live, same design; and
the sliding-window minimum, maximum and mean the segmentations use.

The offline filters, the designs and the sliding windows are numpy, not scipy: ``import
scipy.signal`` costs about a second of CPU and ``scipy.ndimage`` a third of one (they import
scipy.stats, scipy.special and the array-API layer), more than the analysis of a minute of
recording. Importing their private submodules instead (``scipy.signal._signaltools``) saves
nothing: Python runs the package's ``__init__`` first. Each function here is tested against
the scipy function it stands for (tests/test_filters.py). The live :class:`Causal` filter
keeps scipy's ``sosfilt`` (a block of 20 samples costs numpy's per-call overhead many times
over), imported when a live filter is made: the compiled cascade ``sosfilt`` runs, called
directly (see :func:`_compiled_cascade`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

FORCE_CUTOFF_HZ = 20.0  # squats have no content above a few Hz; load-cell noise does
COP_CUTOFF_HZ = 10.0  # CoP sways and medial shifts are slower than 2 Hz; 10 Hz keeps the live lag near 20 ms


def design(cutoff_hz: float, rate_hz: float, kind: str = "lowpass") -> np.ndarray:
    """The second-order Butterworth section (1, 6), as ``scipy.signal.butter(2, ..., output="sos")``."""
    return _designed(cutoff_hz, rate_hz, kind).copy()  # scipy's filters want a writable array


@lru_cache(maxsize=64)  # live designs the same few filters every 0.2 s
def _designed(cutoff_hz: float, rate_hz: float, kind: str) -> np.ndarray:
    # The analog prototype 1 / (s^2 + sqrt(2) s + 1) through the bilinear transform, its
    # cutoff pre-warped (what scipy.signal.butter does; tests hold the two together): three
    # lines here instead of importing scipy.signal, a second of start-up.
    k = np.tan(np.pi * min(cutoff_hz, 0.45 * rate_hz) / rate_hz)
    norm = 1.0 / (1.0 + np.sqrt(2.0) * k + k * k)
    a = [1.0, 2.0 * (k * k - 1.0) * norm, (1.0 - np.sqrt(2.0) * k + k * k) * norm]
    b = [k * k * norm, 2.0 * k * k * norm, k * k * norm] if kind == "lowpass" else [norm, -2.0 * norm, norm]
    return np.array([b + a])


def zero_lag(x: np.ndarray, cutoff_hz: float, rate_hz: float, out: np.ndarray | None = None) -> np.ndarray:
    """Offline: forward-backward filter along axis 0 (NaN stretches stay NaN). ``out``: an
    array of x's shape to hold the result, x itself to filter in place (a trial's per-foot
    arrays are then held once, not as read and filtered too). The filter runs in float64
    whatever ``out`` is: a float32 ``out`` gets the result rounded once, and a 2-D x is then
    filtered a column at a time, so its float64 working copies are one column's (the
    columns' numbers differ from filtering them together by 1e-13 of the signal: numpy
    rounds a complex product of scalars and of arrays differently)."""
    if out is not None and out.dtype != np.float64 and np.ndim(x) == 2:
        for column in range(np.shape(x)[1]):
            zero_lag(x[:, column], cutoff_hz, rate_hz, out=out[:, column])
        return out
    x = np.asarray(x, dtype=float)
    if len(x) < 16:
        filtered = x.copy()
    else:
        sos = _designed(cutoff_hz, rate_hz, "lowpass")
        nan = np.isnan(x)
        if not nan.any():
            filtered = _forward_backward(sos, x, "odd", ODD_PAD_SAMPLES)
        else:
            filtered = _forward_backward(sos, _fill_nan(x), "odd", ODD_PAD_SAMPLES)
            filtered[nan] = np.nan
    if out is None:
        return filtered
    out[...] = filtered
    return out


def high_pass(x: np.ndarray, cutoff_hz: float, rate_hz: float, mirror: str = "odd") -> np.ndarray:
    """Offline: forward-backward high-pass along axis 0 (removes offsets and slow drift).

    Padded by one period of the cutoff, or the edges ring, with the signal mirrored: "odd"
    continues a ramp as a ramp but pins the output near zero at both ends; "even" keeps the
    level at the ends but bends a ramp there."""
    x = np.asarray(x, dtype=float)
    if len(x) < 16:
        return x - np.mean(x, axis=0)
    sos = _designed(cutoff_hz, rate_hz, "highpass")
    return _forward_backward(sos, x, mirror, min(len(x) - 1, int(rate_hz / cutoff_hz)))


# scipy.signal.sosfiltfilt's default padding for one second-order section: 3 (2 + 1) samples
ODD_PAD_SAMPLES = 9
# Samples run through the filter at a time: the powers of its pole over a block stay within
# e**+-BLOCK_POLE_EXPONENT of 1, far from overflow (the longer the block, the more digits the
# sums of the rising terms lose: tests hold the result to an extended-precision truth; 120
# would double the error, 300 quadruple it), and long enough for numpy to pay (a 10 Hz
# low-pass at 1 kHz: 1,360 samples; 20 Hz at 100 Hz: 50).
BLOCK_POLE_EXPONENT = 60.0
# Samples of the filter's complex working array at a time, whole blocks side by side as the rows
# of a matrix, so that each numpy call runs over many blocks: 256 kB, small beside a trial's
# arrays (and the powers cached for each filter, as many rows, twice that).
CHUNK_SAMPLES = 1 << 14


def _forward_backward(sos: np.ndarray, x: np.ndarray, mirror: str, pad: int) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x, axis=0, padtype=mirror, padlen=pad)`` for one
    second-order section: the signal mirrored by ``pad`` samples at each end, filtered
    forward from the steady state of its first sample, then backward from the steady state
    of the forward pass's last, the padding cut off. The same numbers to 1e-13 to 1e-11 of the
    signal's scale, the lower the cutoff the fewer digits (tests check it against scipy and an
    extended-precision truth), in one working copy of ``x`` filtered in
    place: scipy's makes four."""
    first, last = x[pad:0:-1], x[-2:-(pad + 2):-1]
    if mirror == "odd":
        first, last = 2.0 * x[0] - first, 2.0 * x[-1] - last
    work = np.concatenate((first, x, last))
    _biquad_in_place(sos[0], work)
    _biquad_in_place(sos[0], work[::-1])
    return work[pad:len(work) - pad]


def _biquad_in_place(section: np.ndarray, x: np.ndarray) -> None:
    """Filter ``x`` (along axis 0) through one second-order section, in place, from the
    steady state of a constant input x[0] (scipy's ``sosfilt_zi`` times x[0]).

    The section is split into partial fractions, y = d x + 2 Re(r w) with w[n] = p w[n-1] + x[n]
    over one of its complex-conjugate poles p, and that first-order recursion is run a block
    at a time: w[s + k] = p**k (p w[s - 1] + cumsum(p**-i x[s + i])[k]). The blocks of a chunk
    are the rows of a matrix, their sums taken together, and only the state carried from the
    end of one block to the next, w[s - 1], is run block by block (a numpy call costs as much as
    filtering a few hundred samples: a 10 Hz low-pass at 1 kHz has a block every 1.4 s)."""
    b0, b1, b2, _, a1, a2 = section
    pole = (-a1 + np.sqrt(complex(a1 * a1 - 4.0 * a2))) / 2.0
    if pole.imag == 0.0:
        raise ValueError("a Butterworth section of order 2 has complex poles")
    direct = b2 / a2
    residue = (b0 + b1 / pole + b2 / pole**2) / (1.0 - pole.conjugate() / pole)
    # no longer than the signal: the powers of a slow pole (a 0.08 Hz high-pass at 1 kHz: 170,000
    # of them) cost more than the filtering of a short trial, and p**k does not depend on the count
    block = max(1, min(len(x), int(BLOCK_POLE_EXPONENT / -np.log(abs(pole)))))
    whole = len(x) // block * block
    rows = max(1, min(CHUNK_SAMPLES // block, whole // block))
    falling, weighted, last = _block_terms(pole, residue, block, rows, x.shape[1:])
    state = x[0] / (1.0 - pole)  # w before the first sample, at its steady state
    for start in range(0, whole, rows * block):
        chunk = x[start:min(start + rows * block, whole)].reshape(-1, *falling.shape[1:])  # a view: filtered in place
        state = _blocks_in_place(chunk, pole, direct, falling[:len(chunk)], weighted[:len(chunk)], last, state)
    if whole < len(x):  # the samples after the last whole block, a shorter row
        rest = len(x) - whole
        _blocks_in_place(x[whole:][None], pole, direct, falling[:1, :rest], weighted[:1, :rest], last, state)


def _blocks_in_place(rows: np.ndarray, pole: complex, direct: float, falling: np.ndarray, weighted: np.ndarray,
                     last: complex, state):
    """Filter consecutive blocks of samples (the rows of ``rows``, a view of the signal) in place
    from ``state`` (w before the first), and give w at the end of the last row (``last``: the
    pole to the power of a row's length less one; meaningless for a shorter row, which ends the signal)."""
    w = rows * falling
    carried = np.empty((len(rows),) + rows.shape[2:], dtype=complex)  # p w[s - 1] of each row
    for row, total in enumerate(w.sum(axis=1)):
        carried[row] = pole * state
        state = last * (total + carried[row])
    w[:, 0] += carried  # before the sums, not added to each (a pass over the chunk less)
    np.cumsum(w, axis=1, out=w)  # w / p**k
    w *= weighted
    rows *= direct
    rows += w.real
    return state


@lru_cache(maxsize=16)  # an analysis runs each of its few filters several times
def _block_terms(pole: complex, residue: complex, count: int, rows: int,
                 across: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, complex]:
    """pole**-k and 2 residue pole**k for k < count (2 r taken into the powers: one pass less over
    the signal), as ``rows`` equal rows and repeated over the signal's other axes (``across``):
    numpy's loops take three to four times longer over a broadcast operand than over one of
    the same shape. And pole**(count - 1)."""
    rising = _powers(pole, count)
    shape = (rows, count) + across
    falling, weighted = (np.broadcast_to(terms.reshape((1, -1) + (1,) * len(across)), shape).copy()
                         for terms in (_powers(1.0 / pole, count), 2.0 * residue * rising))
    return falling, weighted, complex(rising[-1])


def _powers(base: complex, count: int) -> np.ndarray:
    """base**k for k < count: base**(m i + j) as the product of base**(m i) and base**j (m near
    the square root of count), so only 2 sqrt(count) powers are exponentials, and each power is
    theirs to a few units in the last place (tests). A 0.08 Hz high-pass of a minute at 1 kHz
    needs 85,200 powers of each of its two bases, which as exponentials (four complex ones in
    libm each) cost more than all the filtering of an analysis (issue 14)."""
    step = max(1, int(np.ceil(np.sqrt(count))))
    rows = -(-count // step)
    return np.multiply.outer(_exponentials(base, step * np.arange(rows)), _exponentials(base, np.arange(step))).ravel()[:count]


def _exponentials(base: complex, k: np.ndarray) -> np.ndarray:
    """base**k for each k: exp(k log base) with the logarithm split into a part of 24 significant
    bits, whose multiples by k are exact (k < 2**29), and the rest (exp(k log base) in one product
    would be off by k log base units). Off the truth by the rounding of log base times k, a few
    units in the last place over a block (k |log base| <= BLOCK_POLE_EXPONENT)."""
    log = np.log(base)
    head = complex(np.float32(log.real), np.float32(log.imag))
    return np.exp(k * head) * np.exp(k * (log - head))


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


@lru_cache(maxsize=1)
def _compiled_cascade():
    """scipy's compiled second-order-section cascade, ``_sosfilt(sos, x, zi)`` (in place on
    C-ordered float64 ``x`` (signals, samples) and ``zi`` (signals, sections, 2)), which
    ``signal.sosfilt`` runs after checking and moving its arguments about: 4 us for a live
    block where ``sosfilt`` takes 85 us, twice a block, 50 blocks a second (issue 14). Private
    to scipy, so taken only if it gives exactly what ``sosfilt`` gives on a probe; None otherwise."""
    from scipy import signal

    try:
        from scipy.signal._sosfilt import _sosfilt
    except ImportError:
        return None
    sos = design(FORCE_CUTOFF_HZ, 1000.0)
    x = np.random.default_rng(0).normal(size=(5, 2))
    zi = np.random.default_rng(1).normal(size=(len(sos), 2, 2))
    expected, expected_zi = signal.sosfilt(sos, x, axis=0, zi=zi)
    columns, state = np.ascontiguousarray(x.T), np.ascontiguousarray(np.moveaxis(zi, (0, 1), (1, 2)))
    try:
        _sosfilt(sos, columns, state)
    except (TypeError, ValueError):
        return None
    if np.array_equal(columns.T, expected) and np.array_equal(np.moveaxis(state, (1, 2), (0, 1)), expected_zi):
        return _sosfilt
    return None


class Causal:
    """Live: the same Butterworth filter run forward, keeping its state between blocks."""

    def __init__(self, cutoff_hz: float, rate_hz: float, width: int = 1):
        from scipy import signal

        self._signal = signal
        self._sos = design(cutoff_hz, rate_hz)
        self._zi = None  # (width, sections, 2), as the compiled cascade keeps it
        self._width = width
        self._cascade = _compiled_cascade()

    def __call__(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=float).reshape(len(block), self._width)
        if len(block) == 0:
            return block
        missing = np.isnan(block)  # once: the filter runs on zeros there, and gives NaN there
        finite = np.where(missing, 0.0, block)
        if self._zi is None:
            self._zi = finite[0][:, None, None] * self._signal.sosfilt_zi(self._sos)[None, :, :]
        if self._cascade is None:
            out, zi = self._signal.sosfilt(self._sos, finite, axis=0, zi=np.moveaxis(self._zi, 0, -1))
            self._zi = np.moveaxis(zi, -1, 0)
        else:
            columns = np.ascontiguousarray(finite.T)  # one row per signal, filtered in place
            self._cascade(self._sos, columns, self._zi)
            out = columns.T
        out[missing] = np.nan
        return out


def minimum_filter1d(x: np.ndarray, size: int, origin: int = 0, mode: str = "nearest") -> np.ndarray:
    """``scipy.ndimage.minimum_filter1d`` of a 1-D array without NaN, edges extended
    ("nearest"): the smallest value of the ``size`` samples around each (``origin`` shifts
    the window toward earlier samples). Exact, whatever the window (no rounding in a minimum)."""
    return _running_extreme(np.minimum, x, size, origin, mode)


def maximum_filter1d(x: np.ndarray, size: int, origin: int = 0, mode: str = "nearest") -> np.ndarray:
    """``scipy.ndimage.maximum_filter1d`` as :func:`minimum_filter1d` takes the minimum."""
    return _running_extreme(np.maximum, x, size, origin, mode)


def uniform_filter1d(x: np.ndarray, size: int, mode: str = "nearest") -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d`` of a 1-D array, edges extended ("nearest"): the mean
    of the ``size`` samples around each, to the last bit as scipy computes it (a running
    sum, added up in order from the first window's, each divided by ``size``; tests hold it
    to scipy's): the segmentations' thresholds see the same numbers."""
    x = _checked(x, size, 0, mode)
    before = size // 2
    out = np.empty(len(x))  # the running sums, then the means
    out[0] = np.add.accumulate(_extended(x, before, 0, size))[-1]  # in order, as scipy: np.sum would add pairwise
    for lo in range(1, len(out), WINDOW_BLOCK_SAMPLES):  # each block carries on from the sum before it
        hi = min(lo + WINDOW_BLOCK_SAMPLES, len(out))
        entering = _extended(x, before, lo - 1 + size, hi - 1 + size)
        out[lo:hi] = np.add.accumulate(np.concatenate((out[lo - 1:lo], entering - _extended(x, before, lo - 1, hi - 1))))[1:]
    out /= size
    return out


# Samples of a sliding window's output computed at a time: its temporaries stay small beside
# the trial's arrays (a whole-trial pass would make four float64 copies at once).
WINDOW_BLOCK_SAMPLES = 1 << 16


def _checked(x: np.ndarray, size: int, origin: int, mode: str) -> np.ndarray:
    """x as a 1-D array (any float dtype: the windows read it a block at a time, in float64)."""
    if mode != "nearest":
        raise ValueError(f"mode {mode!r}: only 'nearest' (edges extended) is implemented")
    x = np.asarray(x)
    if x.ndim != 1 or not 0 <= size // 2 + origin < size:
        raise ValueError("a 1-D array and an origin inside the window")
    return x


def _extended(x: np.ndarray, before: int, lo: int, hi: int) -> np.ndarray:
    """Samples ``[lo, hi)`` of x extended by ``before`` copies of its first value and as many
    of its last as asked, in float64 (read only: a view of x where it can be): the windows
    take it a block at a time, never the whole extended signal (a copy of the trial's length)."""
    start, stop = lo - before, hi - before
    head = max(0, min(stop, 0) - start)  # samples before x[0]
    tail = max(0, stop - max(start, len(x)))  # samples after x[-1]
    inside = np.asarray(x[max(start, 0):max(0, min(stop, len(x)))], dtype=float)
    if not head and not tail:
        return inside
    return np.concatenate((np.full(head, float(x[0])), inside, np.full(tail, float(x[-1]))))


def _running_extreme(extreme: np.ufunc, x: np.ndarray, size: int, origin: int, mode: str) -> np.ndarray:
    """The running minimum or maximum (``extreme``) in O(n) whatever the window (van Herk,
    Gil and Werman): the extended signal cut into blocks of ``size``, the extreme of each
    window is that of the rest of its first block and the start of the next."""
    x = _checked(x, size, origin, mode)
    before = size // 2 + origin
    out = np.empty(len(x))
    step = max(size, WINDOW_BLOCK_SAMPLES // size * size)
    for lo in range(0, len(out), step):
        n = min(step, len(out) - lo)
        part = _extended(x, before, lo, lo + n + size - 1)
        blocks = -(-len(part) // size)
        tiles = np.concatenate((part, np.full(blocks * size - len(part), part[-1]))).reshape(blocks, size)
        from_start = extreme.accumulate(tiles, axis=1).ravel()
        to_end = extreme.accumulate(tiles[:, ::-1], axis=1)[:, ::-1].ravel()
        extreme(to_end[:n], from_start[size - 1:size - 1 + n], out=out[lo:lo + n])
    return out
