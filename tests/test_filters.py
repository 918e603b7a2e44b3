"""processing/filters.py against scipy, which it stands in for so that the analysis starts
without importing scipy (issue 14): Butterworth designs, the forward-backward filter and the
sliding-window minimum, maximum and mean."""

import numpy as np
import pytest
from scipy import ndimage, signal

from forceplate.processing import filters

RATE_HZ = 1000.0


def force_like(n: int, seed: int) -> np.ndarray:
    """A random walk around a standing weight: the slow, large signals the filters see."""
    return 700.0 + np.cumsum(np.random.default_rng(seed).normal(size=n))


def long_double_forward_backward(sos: np.ndarray, x: np.ndarray, mirror: str, pad: int) -> np.ndarray:
    """sosfiltfilt's recipe run sample by sample in extended precision: the truth both are held to."""
    b0, b1, b2, _, a1, a2 = (np.longdouble(v) for v in sos[0])
    x = x.astype(np.longdouble)
    first, last = x[pad:0:-1], x[-2:-(pad + 2):-1]
    if mirror == "odd":
        first, last = 2 * x[0] - first, 2 * x[-1] - last
    work = np.concatenate((first, x, last))
    for view in (work, work[::-1]):
        c = view[0]
        y = (b0 + b1 + b2) / (1 + a1 + a2) * c  # steady state of a constant input
        z2 = b2 * c - a2 * y
        z1 = b1 * c - a1 * y + z2
        for i in range(len(view)):
            v = view[i]
            view[i] = b0 * v + z1
            z1, z2 = b1 * v - a1 * view[i] + z2, b2 * v - a2 * view[i]
    return work[pad:len(work) - pad]


@pytest.mark.parametrize("kind", ["lowpass", "highpass"])
@pytest.mark.parametrize("cutoff_hz, rate_hz", [(20, 1000), (10, 1000), (4, 2000), (1, 100), (0.08, 1000), (45, 100), (600, 1000)])
def test_designs_are_scipys_butterworth(kind, cutoff_hz, rate_hz):
    expected = signal.butter(2, min(cutoff_hz, 0.45 * rate_hz), btype=kind, fs=rate_hz, output="sos")
    np.testing.assert_allclose(filters.design(cutoff_hz, rate_hz, kind), expected, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("cutoff_hz, rate_hz", [(20.0, 1000.0), (10.0, 1000.0), (4.0, 1000.0), (1.0, 1000.0),
                                              (20.0, 100.0), (10.0, 100.0), (45.0, 100.0)])
def test_zero_lag_is_scipys_sosfiltfilt(cutoff_hz, rate_hz):
    x = np.column_stack([force_like(200_000, 1), force_like(200_000, 2)])
    expected = signal.sosfiltfilt(filters.design(cutoff_hz, rate_hz), x, axis=0)
    got = filters.zero_lag(x, cutoff_hz, rate_hz)
    assert got.shape == x.shape
    # both round: the lower the cutoff, the more digits the recursion loses (see the truth test)
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-11 * np.abs(expected).max())
    np.testing.assert_allclose(filters.zero_lag(x[:, 0], cutoff_hz, rate_hz), got[:, 0], rtol=1e-14)


@pytest.mark.parametrize("mirror", ["odd", "even"])
def test_high_pass_is_scipys_sosfiltfilt(mirror):
    x = force_like(100_000, 3)
    pad = int(RATE_HZ / 0.08)
    expected = signal.sosfiltfilt(filters.design(0.08, RATE_HZ, "highpass"), x, padtype=mirror, padlen=pad)
    got = filters.high_pass(x, 0.08, RATE_HZ, mirror)
    # A 0.08 Hz high-pass of a signal a hundred times its output: both lose some digits
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8 * np.abs(expected).max())


@pytest.mark.parametrize("kind, cutoff_hz, pad", [("lowpass", 10.0, filters.ODD_PAD_SAMPLES), ("lowpass", 4.0, 9),
                                                   ("lowpass", 1.0, 9), ("highpass", 0.08, 12_500)])
def test_forward_backward_is_as_close_to_the_truth_as_scipy(kind, cutoff_hz, pad):
    x = force_like(30_000, 4)
    sos = filters.design(cutoff_hz, RATE_HZ, kind)
    truth = long_double_forward_backward(sos, x, "odd", pad)
    scale = float(np.abs(truth).max())
    ours = float(np.abs(filters._forward_backward(sos, x, "odd", pad) - truth).max()) / scale
    scipys = float(np.abs(signal.sosfiltfilt(sos, x, padtype="odd", padlen=pad) - truth).max()) / scale
    assert ours < max(20 * scipys, 1e-12), (ours, scipys)


@pytest.mark.parametrize("chunk", [1, 1000, 4096, 50_000])
def test_the_blocks_give_the_same_bits_however_many_are_taken_together(chunk, monkeypatch):
    """A chunk holds whole blocks side by side (the last, shorter block alone); how many it holds
    changes no bit: each block's sums are its own row's."""
    x = np.column_stack([force_like(123_457, 8), force_like(123_457, 9)])
    designs = [(10.0, 1000.0), (20.0, 100.0), (1.0, 2000.0)]
    reference = [(filters.zero_lag(x, *design), filters.zero_lag(x[:, 1], *design)) for design in designs]
    high = filters.high_pass(x[:, 0], 0.08, RATE_HZ, "even")
    filters._block_terms.cache_clear()
    monkeypatch.setattr(filters, "CHUNK_SAMPLES", chunk)
    for design, (together, alone) in zip(designs, reference):
        assert np.array_equal(filters.zero_lag(x, *design), together)
        assert np.array_equal(filters.zero_lag(x[:, 1], *design), alone)
    assert np.array_equal(filters.high_pass(x[:, 0], 0.08, RATE_HZ, "even"), high)
    filters._block_terms.cache_clear()


@pytest.mark.parametrize("base", [0.99 + 0.05j, 0.9995 + 0.0003j, 1.0 / (0.9995 + 0.0003j), 0.4 - 0.6j])
def test_pole_powers_are_the_exponentials_to_a_few_units_in_the_last_place(base):
    """base**k as products of sqrt(count) exponentials, against the exponential of each k (what
    every power cost before) and the truth in extended precision: both off it alike, by the
    rounding of log(base) times k (at most BLOCK_POLE_EXPONENT for the real part: the blocks)."""
    count = min(170_001, int(filters.BLOCK_POLE_EXPONENT / abs(np.log(abs(base)))))  # 170,001: a two-minute high-pass
    got = filters._powers(base, count)
    exponentials = filters._exponentials(base, np.arange(count))
    assert float(np.max(np.abs(got - exponentials) / np.abs(exponentials))) < 4 * np.finfo(float).eps
    k = np.arange(count, dtype=np.longdouble)
    log = np.log(np.clongdouble(base))
    truth = np.exp(k * log.real) * (np.cos(k * log.imag) + 1j * np.sin(k * log.imag))
    bound = 4 * np.finfo(float).eps * (1 + k * abs(log))
    assert (np.abs(got - truth) / np.abs(truth) < bound).all()
    assert (np.abs(exponentials - truth) / np.abs(truth) < bound).all()


def test_nan_stretches_stay_nan_and_the_rest_is_filtered():
    x = force_like(5000, 5)
    x[1000:1200] = np.nan
    got = filters.zero_lag(x, 10.0, RATE_HZ)
    assert np.isnan(got[1000:1200]).all() and np.isfinite(np.delete(got, np.s_[1000:1200])).all()


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 54_321])
@pytest.mark.parametrize("size", [1, 2, 3, 30, 200, 201])
@pytest.mark.parametrize("block", [filters.WINDOW_BLOCK_SAMPLES, 64])
def test_sliding_windows_are_scipys_to_the_last_bit(n, size, block, monkeypatch):
    monkeypatch.setattr(filters, "WINDOW_BLOCK_SAMPLES", block)  # computed a block at a time too
    x = force_like(n, n + size)
    for origin in sorted({0, (size - 1) // 2, -(size // 2)}):
        np.testing.assert_array_equal(filters.minimum_filter1d(x, size, origin=origin, mode="nearest"),
                                      ndimage.minimum_filter1d(x, size, origin=origin, mode="nearest"))
        np.testing.assert_array_equal(filters.maximum_filter1d(x, size, origin=origin, mode="nearest"),
                                      ndimage.maximum_filter1d(x, size, origin=origin, mode="nearest"))
    for values in (x, x * x):  # the steady mask takes the SD from both means
        np.testing.assert_array_equal(filters.uniform_filter1d(values, size, mode="nearest"),
                                      ndimage.uniform_filter1d(values, size, mode="nearest"))


def test_the_analysis_imports_no_scipy():
    import subprocess
    import sys

    probe = ("import sys, numpy as np; from forceplate.processing.analysis import analyze_feet; "
             "from forceplate.processing import filters; filters.zero_lag(np.ones(100), 10, 1000); "
             "filters.high_pass(np.ones(100), 0.1, 1000); filters.minimum_filter1d(np.ones(100), 5); "
             "print(sorted(m for m in sys.modules if m.startswith('scipy')))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("width", [1, 4])
def test_the_live_filter_in_blocks_is_scipys_sosfilt_over_the_whole_signal(compiled, width, monkeypatch):
    """Causal, fed in blocks of any length, gives to the last bit what ``sosfilt`` gives over the
    whole signal from the same state (the first sample held), NaN kept where it was; with scipy's
    compiled cascade called directly (the fast path) and through ``sosfilt`` (when scipy's
    private routine is missing or answers otherwise)."""
    if not compiled:
        monkeypatch.setattr(filters, "_compiled_cascade", lambda: None)
    elif filters._compiled_cascade() is None:
        pytest.skip("this scipy's compiled cascade is not the one sosfilt runs")
    rng = np.random.default_rng(width)
    x = np.cumsum(rng.normal(size=(1000, width)), axis=0) + 700.0
    x[300:340, 0] = np.nan
    live = filters.Causal(filters.FORCE_CUTOFF_HZ, 1000.0, width=width)
    edges = np.cumsum([0, 1, 20, 3, 250, 20, 7, 1, 20]).tolist() + [len(x)]
    out = np.concatenate([live(x[lo:hi]) for lo, hi in zip(edges, edges[1:])])
    sos = filters.design(filters.FORCE_CUTOFF_HZ, 1000.0)
    finite = np.where(np.isnan(x), 0.0, x)
    expected, _ = signal.sosfilt(sos, finite, axis=0, zi=signal.sosfilt_zi(sos)[:, :, None] * finite[0][None, None, :])
    expected[np.isnan(x)] = np.nan
    assert np.array_equal(out, expected, equal_nan=True)
    assert live(x[:0]).shape == (0, width)
