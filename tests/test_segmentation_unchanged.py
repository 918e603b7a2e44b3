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
# The simulated force rounded to a micronewton before it is segmented: the simulator's
# sines and exponentials take numpy's SIMD paths, whose last bits differ between CPUs
# (AVX-512 and AVX2 machines gave different digests of the same session), while the
# filters and the segmentation give the same bits on both (the real squats' digests)
FORCE_DECIMALS = 6


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
    fz = {foot: np.round(rec.fz[foot], FORCE_DECIMALS) for foot in rec.fz}
    filtered = {foot: zero_lag(fz[foot], FORCE_CUTOFF_HZ, rec.rate_hz) for foot in fz}
    total = total_force(filtered)
    yield "offline", (rec.t, total, rec.rate_hz, None, True)
    step = int(rec.rate_hz // LIVE_RATE_HZ)
    t_live, f_live = rec.t[::step], total[::step]
    for end in range(4 * 20, len(t_live) + 1, LIVE_EVERY):
        lo = max(0, end - LIVE_WINDOW)
        yield f"live {end}", (t_live[lo:end], f_live[lo:end], LIVE_RATE_HZ, None, True)
    raw = fz["left"] + fz["right"]
    yield "given weight", (rec.t, raw, rec.rate_hz, float(np.median(raw)), False)
    stepped_off = raw.copy()
    n = len(stepped_off)
    stepped_off[n // 3:n // 3 + int(0.7 * rec.rate_hz)] = 0.0
    stepped_off[n // 2:n // 2 + 5] = np.nan
    yield "stepped off", (rec.t, stepped_off, rec.rate_hz, None, False)


# (seed, devices, generator) -> label -> digest, recorded from reps.py before issue 14's change
# (29dd35a's, on the rounded force: FORCE_DECIMALS), and again where a rule changed since: the
# tops between reps with no rest anchored between them (_tops: session 4 and live windows)
SESSIONS = {
    (3, 'plates4', 'min-jerk'): {
        "offline": "416843cd9dab28e0", "given weight": "226d3f0d71ecadd9", "stepped off": "e8930acfff26edf4"},
    (4, 'insoles16', 'lean'): {
        "offline": "3a026fec9b748ef8", "given weight": "b205201874f3809c", "stepped off": "8d85df765096e159"},
    (8, 'plates6', 'linkage'): {
        "offline": "5109f3d99e1d178a", "given weight": "b1017e69740216a4", "stepped off": "33bcfc8e010bbc1c"},
}
LIVE = {  # the same sessions, live's windows: label (the window's last sample) -> digest
    (3, 'plates4', 'min-jerk'): {
        "live 80": "2e51ef814a96fb61", "live 253": "8f3e7c2a6467b8b3", "live 426": "3935d66b0f976156",
        "live 599": "3e5e43866c5043dc", "live 772": "a50465783a2a0971", "live 945": "5b59aeda774ce369",
        "live 1118": "2d40b16797b16189", "live 1291": "515cd1d7fd68989b", "live 1464": "050ce88029015008",
        "live 1637": "9d215a3f32d328d3", "live 1810": "74e170b9f1e7d121", "live 1983": "948316667eba2d80",
        "live 2156": "ecb8892058ef52cb", "live 2329": "a6f1b147513e266e"},
    (4, 'insoles16', 'lean'): {
        "live 80": "d2d17c0bf0719f45", "live 253": "b11847b24070e72d", "live 426": "0adfcfe0d0f98695",
        "live 599": "f80fd66751710e03", "live 772": "e26752a3b4e99c34", "live 945": "8a49d19c66c911a8",
        "live 1118": "256e129da8dd3583", "live 1291": "404b644482ec91f4", "live 1464": "9afd60e226a52d91",
        "live 1637": "8ca771b2ed39d77f", "live 1810": "407a2d4aecf08bc6", "live 1983": "624ed01ed0c0ea5b",
        "live 2156": "5af4f8878800610f"},
    (8, 'plates6', 'linkage'): {
        "live 80": "a182f3f089888e06", "live 253": "11211740fbde7739", "live 426": "01455ed62993a7b4",
        "live 599": "c90e61e407c191cc", "live 772": "949ad0ffb9024065", "live 945": "5ea95b606f0802e2",
        "live 1118": "7194a32fc45537c5", "live 1291": "df669a97fc58b4ee", "live 1464": "496421386780a160",
        "live 1637": "125b6b523afc2669", "live 1810": "79621285acc780c4", "live 1983": "ead086f78d51e9d1",
        "live 2156": "10ffdbb3f51d821a", "live 2329": "112f3bc2382cfc13", "live 2502": "97474345e6f197d5"},
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
