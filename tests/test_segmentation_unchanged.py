"""The segmentation made cheaper (issue 14) finds what it found before, to the bit.

Each case's :class:`~forceplate.processing.reps.Segmentation` (every rep's indices, times,
depth, peak force and partial flag, the velocity, the rest, the weight, its source and the pull
flag) is held to a digest recorded from ``reps.py`` as it was before (commit 29dd35a) on the
same input, filtered by today's ``filters.py`` (the filters made cheaper the same day move
their output by up to 3e-12 of the signal, so the digests were recorded again from 29dd35a's
``reps.py`` on their output; a change of the filters asks for the same): whole battery sessions at their native rate as offline segments them, live's 16 s
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


# (seed, devices, generator) -> label -> digest, recorded from reps.py before issue 14's change
SESSIONS = {
    (3, "plates4", "min-jerk"): {
        "offline": "a637fa6c00073694", "given weight": "4f041d80287fb7d3", "stepped off": "94fa9a9936605aea"},
    (4, "insoles16", "lean"): {
        "offline": "efec332cf1f410c4", "given weight": "457b4fa99f25e951", "stepped off": "bb6a751318a50327"},
    (8, "plates6", "linkage"): {
        "offline": "e025eabf9061cb91", "given weight": "bf883f24ccf5c9f6", "stepped off": "a1b42c1ac5a54b38"},
}
LIVE = {  # the same sessions, live's windows: label (the window's last sample) -> digest
    (3, "plates4", "min-jerk"): {
        "live 80": "adae7a23ec1927c4", "live 253": "8f3e7c2a6467b8b3", "live 426": "f10138030a5fecac",
        "live 599": "9a2f369c2ae43d93", "live 772": "87a359d051f4eb9f", "live 945": "7869cfcce5fcf4ea",
        "live 1118": "510c3460b63470b6", "live 1291": "bbb956bacd745f46", "live 1464": "e86f00288df0c59d",
        "live 1637": "f9e1fc3578e1e3a4", "live 1810": "9666da2a6f40e7f1", "live 1983": "0c971a358086f299",
        "live 2156": "402465d1c28a1f84", "live 2329": "214d7b866465992c"},
    (4, "insoles16", "lean"): {
        "live 80": "a4b7e9ff7fc9d707", "live 253": "6ea202744c1dbd9e", "live 426": "d9ed78de93121ce5",
        "live 599": "fa00fb019bdc141c", "live 772": "52c05163444c5fbf", "live 945": "960a0fc5e2c79ad7",
        "live 1118": "7bd5b18ea552873a", "live 1291": "e70e09b03960581f", "live 1464": "38c07ceb2a8e441d",
        "live 1637": "cb5613bc30b9b9df", "live 1810": "2fe02b07d9c0ba6c", "live 1983": "5551bff7a888f3b8",
        "live 2156": "c8ad37736f5cdf4f"},
    (8, "plates6", "linkage"): {
        "live 80": "626755a4838f8cee", "live 253": "df21fda34033319b", "live 426": "bf48ad44102e71f9",
        "live 599": "b291531e3cc2b7b7", "live 772": "abc7c55723bae2fc", "live 945": "15b31d575301d306",
        "live 1118": "a02bae9ae3d6dfdb", "live 1291": "96bf6bc53232255b", "live 1464": "20372fa2eef9905e",
        "live 1637": "e6ae811758c9e268", "live 1810": "d4962ca9a567a5f5", "live 1983": "b97cd50d36e61cdb",
        "live 2156": "0e54952bdb3bf911", "live 2329": "2297e4f00de92dff", "live 2502": "89d100b6e60ec59b"},
}
REAL = {  # real-squats file -> digest of the whole recording as offline segments it
    "grf_Squat2.mot": "8c637b4095b61a7e",
    "S1_FlywheelSquat.c3d": "7418e8f070d47e99",
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
