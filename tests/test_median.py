"""processing/median.py: np.median's bits without importing numpy.ma (issue 14)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from forceplate.processing.median import median


def same(got, expected) -> bool:
    """The same type, dtype, shape and bits (NaN payloads and the sign of zero included)."""
    if type(got) is not type(expected):
        return False
    got, expected = np.asarray(got), np.asarray(expected)
    return got.dtype == expected.dtype and got.shape == expected.shape and got.tobytes() == expected.tobytes()


def warned(function, x):
    """function(x) and the warnings it gave, as (category, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(x)
    return result, [(w.category, str(w.message)) for w in caught]


def awkward(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Floats with ties, signed zeros, infinities and NaN now and then, at every scale."""
    x = rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4, size=shape)
    pick = rng.random(size=shape)
    x = np.where(pick < 0.15, np.round(x), x)  # ties
    x = np.where(pick < 0.05, -0.0, x)
    x = np.where(pick < 0.03, 0.0, x)
    x = np.where((pick > 0.97) & (pick < 0.98), np.inf, x)
    x = np.where((pick > 0.98) & (pick < 0.99), -np.inf, x)
    if rng.random() < 0.3:
        x = np.where(pick > 0.995, np.nan, x)
    return x.astype(dtype)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf - inf, by both (test_special_values)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_dimension_is_np_median_to_the_bit(dtype):
    rng = np.random.default_rng(1)
    for n in list(range(1, 40)) + [99, 100, 1000, 1001, 60_000]:
        for _ in range(20 if n < 100 else 3):
            x = awkward(rng, n, dtype)
            assert same(median(x), np.median(x)), (n, x)
            assert same(median(list(x)), np.median(list(x)))


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_along_an_axis_is_np_median_to_the_bit(dtype):
    rng = np.random.default_rng(2)
    for rows in (1, 2, 3, 4, 22, 315, 1440):
        for columns in (1, 2, 3):
            x = awkward(rng, (rows, columns), dtype)
            for axis in (0, 1, -1, None):
                assert same(median(x, axis=axis), np.median(x, axis=axis)), (rows, columns, axis)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_partitioned_in_place_is_np_median_in_place():
    rng = np.random.default_rng(3)
    for shape, axis in [((1001,), None), ((1000,), None), ((60, 1000), 1), ((7, 4), 0), ((6, 5), None)]:
        x = awkward(rng, shape, np.float64)
        ours, numpys = x.copy(), x.copy()
        assert same(median(ours, axis=axis, overwrite_input=True), np.median(numpys, axis=axis, overwrite_input=True))
        assert not np.array_equal(ours, x, equal_nan=True) or x.size < 3  # partitioned where it was
        assert same(median(ours, axis=axis), np.median(x, axis=axis))  # and still the same values


def test_special_values():
    cases = [[-0.0], [-0.0, -0.0], [0.0, -0.0], [np.nan], [1.0, np.nan], [np.inf, -np.inf], [np.inf, np.inf],
             [-np.inf, 1.0, np.inf], [np.float64(np.nan) * -1, 2.0, 3.0], [5.0], [1e308, 1e308]]
    for values in cases:
        (got, ours), (expected, numpys) = (warned(f, np.array(values)) for f in (median, np.median))
        assert same(got, expected) and ours == numpys, values
    assert same(median(np.array([[1.0, np.nan], [2.0, 3.0]]), axis=0), np.median(np.array([[1.0, np.nan], [2.0, 3.0]]), axis=0))


def test_empty_is_nan_with_numpys_warnings():
    (got, ours), (expected, numpys) = (warned(f, np.array([])) for f in (median, np.median))
    assert same(got, expected) and ours == numpys and ours


def test_other_types_are_np_medians():
    assert same(median(np.array([3, 1, 2, 4])), np.median(np.array([3, 1, 2, 4])))
    assert same(median([1, 2]), np.median([1, 2]))


def test_numpy_ma_is_not_imported():
    probe = ("import sys, numpy as np; from forceplate.processing.median import median; "
             "median(np.array([1.0, np.nan, 2.0])); median(np.ones((4, 2)), axis=0); median(np.array([]))"
             "; print('numpy.ma' in sys.modules)")
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
