"""The segmentation made cheaper (issue 14) finds what it found before, to the bit.

Each case's :class:`~forceplate.processing.reps.Segmentation` (every rep's indices, times,
depth, peak force and partial flag, the velocity, the rest, the weight, its source and the pull
flag) is held to a digest recorded from ``reps.py`` as it was before (commit 29dd35a) on the
same input: whole battery sessions at their native rate as offline segments them, live's 16 s
windows at 100 Hz, a given weight, a step off the plates with a gap, and two real squats (one
under a flywheel's pull). The oracle behind the change compared several thousand calls field by
field (docs/ARCHITECTURE.md, issue 14); these few keep it so.
"""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from forceplate.offline import feet_arrays
from forceplate.processing.analysis import total_force
from forceplate.processing.filters import FORCE_CUTOFF_HZ, zero_lag
from forceplate.processing.reps import segment_reps
from forceplate.storage.reader import open_trial
from forceplate.validation import draw_session, simulate

LIVE_RATE_HZ = 100.0
LIVE_WINDOW = 1600  # 16 s at 100 Hz
LIVE_EVERY = 173  # samples between the windows taken (live takes one every 20)


def digest(seg) -> str:
    """Every field of a Segmentation, floats by their bits."""
    h = hashlib.sha256()
    for r in seg.reps:
        h.update(repr((r.index, r.start, r.bottom, r.end, r.start_s.hex(), r.bottom_s.hex(), r.end_s.hex(),
                       r.depth_m.hex(), r.peak_force_n.hex(), r.partial)).encode())
    h.update(seg.velocity.tobytes())
    h.update(seg.rest.tobytes())
    h.update(repr((float(seg.weight_n).hex(), seg.weight_source, seg.pulled, len(seg.reps))).encode())
    return h.hexdigest()[:16]


def battery_calls(seed: int, devices: str, generator: str):
    """(label, arguments) of the calls offline and live make on a drawn session."""
    rec = simulate(draw_session(seed, devices, generator, reps=(8, 10)))
    filtered = {foot: zero_lag(rec.fz[foot], FORCE_CUTOFF_HZ, rec.rate_hz) for foot in rec.fz}
    total = total_force(filtered)
    yield "offline", (rec.t, total, rec.rate_hz, None, True)
    step = int(rec.rate_hz // LIVE_RATE_HZ)
    t_live, f_live = rec.t[::step], total[::step]
    for end in range(4 * 20, len(t_live) + 1, LIVE_EVERY):
        lo = max(0, end - LIVE_WINDOW)
        yield f"live {end}", (t_live[lo:end], f_live[lo:end], LIVE_RATE_HZ, None, True)
    raw = rec.fz["left"] + rec.fz["right"]
    yield "given weight", (rec.t, raw, rec.rate_hz, float(np.median(raw)), False)
    stepped_off = raw.copy()
    n = len(stepped_off)
    stepped_off[n // 3:n // 3 + int(0.7 * rec.rate_hz)] = 0.0
    stepped_off[n // 2:n // 2 + 5] = np.nan
    yield "stepped off", (rec.t, stepped_off, rec.rate_hz, None, False)


# (seed, devices, generator) -> label -> digest, recorded from the code before issue 14's change
SESSIONS = {
    (3, "plates4", "min-jerk"): {
        "offline": "97a474d96d6dec77", "given weight": "4a91d98d99d0232c", "stepped off": "bbe2bcc43c16f9ee"},
    (4, "insoles16", "lean"): {
        "offline": "eee5116547b26656", "given weight": "71e80b81a2d9a6d1", "stepped off": "d73e28c033f317fc"},
    (8, "plates6", "linkage"): {
        "offline": "c6646a10cfed70df", "given weight": "fbcff0755b0bb3de", "stepped off": "d7da0a4ee1679222"},
}
LIVE = {  # the same sessions, live's windows: label (the window's last sample) -> digest
    (3, "plates4", "min-jerk"): {
        "live 80": "7da3455f45abc41d", "live 253": "7d447beed296fb41", "live 426": "ffc08a7f0702443d",
        "live 599": "a426dd6fcf1f0480", "live 772": "1a9c33f55b58a681", "live 945": "a2a02c42a7f4b6c8",
        "live 1118": "6d831833b9678250", "live 1291": "c1a4b16b65b6d4bc", "live 1464": "d4909b7b0e126042",
        "live 1637": "7766bb365baabc08", "live 1810": "162404f0f7f81091", "live 1983": "102a2dd638adbf23",
        "live 2156": "e712a505b63d84a2", "live 2329": "8b409d957a8cb962"},
    (4, "insoles16", "lean"): {
        "live 80": "bd2d477aa0723861", "live 253": "07a62dc5e500d0f9", "live 426": "0104ddd10716886f",
        "live 599": "3b8bd33851a5aa63", "live 772": "f314888aa2b598fa", "live 945": "1566ac3ba22e148d",
        "live 1118": "dc6faf32c1e7ed5f", "live 1291": "4a488dab853ee21e", "live 1464": "65e2bcdb6055e9a7",
        "live 1637": "b02d2f0bf534b168", "live 1810": "f19df1d87d29f42e", "live 1983": "08627c211755d69a",
        "live 2156": "286880b7259fd3d9"},
    (8, "plates6", "linkage"): {
        "live 80": "19d689a52574ee46", "live 253": "c1318eebafd59356", "live 426": "39d78c9ad8425a14",
        "live 599": "1ed0217dbc6b0c94", "live 772": "a27c1b0460a8a6d4", "live 945": "14de5553ac48a6fc",
        "live 1118": "180d07d3f1050859", "live 1291": "9298b997c8917e7d", "live 1464": "d2d35a5d6d14c282",
        "live 1637": "19741efe6d5342c9", "live 1810": "fde0001276a2f51d", "live 1983": "e0f3f17d81bfec69",
        "live 2156": "cc3cbb4b4417e5d9", "live 2329": "ab34ea35c7c09691", "live 2502": "bdbd49abaf2ecd6d"},
}
REAL = {  # real-squats file -> digest of the whole recording as offline segments it
    "grf_Squat2.mot": "50bfcbbacd9f3c09",
    "S1_FlywheelSquat.c3d": "7b0c2463a569fba0",
}


@pytest.mark.parametrize("session", list(SESSIONS))
def test_battery_sessions_offline_and_live(session):
    for label, (t, force, rate_hz, weight_n, filtered) in battery_calls(*session):
        expected = SESSIONS[session].get(label, LIVE[session].get(label))
        assert expected is not None, label
        assert digest(segment_reps(t, force, rate_hz, weight_n, filtered)) == expected, label


def real_total(shared_data, tmp_path, name: str):
    source = shared_data / "real-squats" / name
    if not source.exists():
        pytest.skip(f"{source} is not present")
    out = tmp_path / (source.stem + ".h5")
    subprocess.run([sys.executable, "-m", "forceplate", "import", str(source), "-o", str(out)], check=True,
                   capture_output=True, text=True)
    feet = feet_arrays(open_trial(out))
    filtered = {foot: zero_lag(np.asarray(feet.fz[foot], float), FORCE_CUTOFF_HZ, feet.rate_hz) for foot in feet.fz}
    return np.asarray(feet.t, float), total_force(filtered), feet.rate_hz


@pytest.mark.parametrize("name", list(REAL))
def test_real_squats(shared_data, tmp_path, name):
    t, total, rate_hz = real_total(shared_data, tmp_path, name)
    assert digest(segment_reps(t, total, rate_hz, filtered=True)) == REAL[name]


def test_row_medians_are_numpys_to_the_bit():
    """``reps._row_medians`` stands for np.median(rows, axis=1, overwrite_input=True): odd and
    even rows, ties, signed zeros, NaN."""
    from forceplate.processing.reps import _row_medians

    rng = np.random.default_rng(14)
    for width in (2, 3, 100, 101, 1000):
        rows = np.round(rng.normal(size=(7, width)), 1)
        rows[1] = 0.0
        rows[2, ::2] = -0.0
        rows[3, width // 2] = np.nan
        expected = np.median(rows.copy(), axis=1, overwrite_input=True)
        assert _row_medians(rows.copy()).tobytes() == expected.tobytes()


def test_slow_is_the_velocitys_running_extremes():
    """``reps._slow``, the fast samples spread over their windows, marks the samples whose
    window's largest and smallest velocity (``maximum_filter1d``, ``minimum_filter1d``) are
    within V_ANCHOR, NaN and windows cut at the ends included."""
    from forceplate.processing.filters import maximum_filter1d, minimum_filter1d
    from forceplate.processing.reps import V_ANCHOR, _slow, window_samples

    rng = np.random.default_rng(14)
    for rate_hz, n in ((100.0, 1600), (1000.0, 5000), (25.0, 7), (100.0, 3)):
        v = np.cumsum(rng.normal(scale=0.01, size=n))
        v[n // 2] = np.nan
        size = window_samples(rate_hz)
        expected = ((maximum_filter1d(v, size, mode="nearest") < V_ANCHOR)
                    & (minimum_filter1d(v, size, mode="nearest") > -V_ANCHOR))
        assert np.array_equal(_slow(v, rate_hz), expected)


def test_between_knots_is_numpys_interp():
    """``reps._between_knots`` stands for np.interp of every sample between the weight trend's
    knots, to the bit, whatever the step; a trend with a NaN (np.interp's own way) too."""
    from forceplate.processing.reps import _between_knots

    rng = np.random.default_rng(14)
    for step in (1, 3, 50, 120, 300, 500, 1000):
        for knots in (2, 3, 40):
            trend = 700.0 + rng.normal(size=knots) * rng.choice([1e-3, 1.0, 30.0])
            for n in ((knots - 1) * step, (knots - 2) * step + 1):
                expected = np.interp(np.arange(n), np.arange(knots) * step, trend)
                assert _between_knots(trend, step, n).tobytes() == expected.tobytes()
    trend[1] = np.nan
    expected = np.interp(np.arange(39 * 50), np.arange(40) * 50, trend)
    assert _between_knots(trend, 50, 39 * 50).tobytes() == expected.tobytes()
