"""Peak memory of ``forceplate analyze`` on a long trial (issue 14), measured as the benchmark
does (benchmarks/analysis_memory.py: the child's peak RSS from wait4), on a shorter trial.

Not timed. On ten minutes of 1 kHz dual plate (19 MB of int32 counts) the analysis before
the float32 feet and the segmentation's lean temporaries took 5.8x the raw counts above what
importing it costs; 4.1x after them, 3.9x since the time grid and the CoP are made after the
segmentation (the fixed costs weigh more here than on an hour: 2.4x there).
"""

import subprocess
import sys

import h5py
import numpy as np
import pytest

from forceplate.library.simulated import SimulatedTrial, write_simulated_trial

MINUTES = 10
REP_PERIOD_S = 2.6  # write_simulated_trial's rep: 1 s down, 0.2 s at the bottom, 0.8 s up, 0.6 s rest
LIMIT_ABOVE_IMPORTS_X_RAW = 4.5


# The measured process is started from a small one: Linux counts in a child's peak RSS the
# memory of the process it was forked from (this test's, the trial just written, is larger).
LAUNCHER = ("import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "_, status, usage = os.wait4(child.pid, 0); print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)")


def peak_rss_bytes(argv: list[str]) -> int:
    """Peak RSS (bytes) of one run of ``argv``, which must succeed."""
    launched = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], capture_output=True, text=True, check=True)
    status, kib = map(int, launched.stdout.split())
    assert status == 0, launched.stderr
    return kib * 1024


@pytest.mark.slow
def test_analyze_on_ten_minutes_holds_a_bounded_multiple_of_the_raw_counts(tmp_path):
    path = tmp_path / "long.h5"
    write_simulated_trial(path, SimulatedTrial(reps=int(MINUTES * 60 / REP_PERIOD_S), valgus={5: ("left", "severe")},
                                               seed=4))
    with h5py.File(path, "r") as f:
        counts = f["acquisition/SIM-DP-0001/counts"]
        raw = counts.size * counts.dtype.itemsize  # the reference: the trial's raw counts in bytes
    assert raw > 0.95 * MINUTES * 60 * 1000 * 8 * 4  # ten minutes of 8 int32 channels at 1 kHz
    idle = peak_rss_bytes([sys.executable, "-c", "import forceplate.offline, forceplate.cli.analyze"])
    peak = peak_rss_bytes([sys.executable, "-m", "forceplate", "analyze", str(path), "--json"])
    assert (peak - idle) / raw <= LIMIT_ABOVE_IMPORTS_X_RAW, f"{peak / 1e6:.0f} MB peak, {idle / 1e6:.0f} MB imports"


@pytest.fixture(scope="module")
def unlabelled_trial(tmp_path_factory):
    """A simulated squat trial longer than a calibration block, with no exercise attribute
    (the analysis recognises it), with a lost stretch of frames."""
    path = tmp_path_factory.mktemp("lean") / "trial.h5"
    write_simulated_trial(path, SimulatedTrial(reps=30, valgus={4: ("left", "severe")}, seed=6, exercise=""))
    return path


def test_uniform_times_read_as_the_array_they_stand_for():
    from forceplate.offline import UniformTimes

    for n, rate in ((1, 1000.0), (70_001, 1000.0), (4_097, 2000.0), (999, 600.0)):
        times, whole = UniformTimes(n, rate), np.arange(n) / rate
        assert len(times) == n
        np.testing.assert_array_equal(np.asarray(times), whole)
        for i in (0, n - 1, -1, -n, n // 3, np.int64(n // 2)):
            assert times[i] == whole[i] and type(float(times[i])) is float
        for sl in (slice(None), slice(5, n // 2), slice(-10, None), slice(n // 3, 3, -2), slice(n + 5, n + 9)):
            np.testing.assert_array_equal(times[sl], whole[sl])
        with pytest.raises(IndexError):
            times[n]
        with pytest.raises(IndexError):
            times[-n - 1]


def test_the_lean_squat_analysis_gives_what_the_whole_arrays_give(unlabelled_trial):
    """analyze_trial reads the time as UniformTimes and the CoP only after the segmentation
    (a second calibration of the counts): the same analysis, array for array, as analyze_feet
    on the arrays read at once."""
    from forceplate.offline import (SQUAT_FEET_DTYPE, UniformTimes, analyze_trial, feet_arrays, plate_feet,
                                    plate_recording)
    from forceplate.processing.analysis import analyze_feet
    from forceplate.storage.reader import open_trial

    lean = analyze_trial(open_trial(unlabelled_trial))
    feet = feet_arrays(open_trial(unlabelled_trial), plate_dtype=SQUAT_FEET_DTYPE)
    assert isinstance(feet.t, np.ndarray) and isinstance(feet.cop, dict)
    whole = analyze_feet(feet.t, feet.fz, feet.cop, feet.rate_hz, load_kg=0.0, filter_in_place=True)
    assert len(lean.reps) == 30
    assert lean.as_dict()["reps"] == whole.as_dict()["reps"]
    assert lean.baseline.as_dict() == whole.baseline.as_dict()
    np.testing.assert_array_equal(lean.t, whole.t)
    assert type(lean.t) is np.ndarray
    np.testing.assert_array_equal(lean.velocity, whole.velocity)
    for foot in ("left", "right"):
        np.testing.assert_array_equal(lean.fz[foot], whole.fz[foot])
        np.testing.assert_array_equal(lean.cop[foot], whole.cop[foot])
        np.testing.assert_array_equal(lean.shift[foot], whole.shift[foot])
    t, fz, cop_later = plate_feet(plate_recording(open_trial(unlabelled_trial)), dtype=SQUAT_FEET_DTYPE, cop_later=True)
    assert isinstance(t, UniformTimes) and callable(cop_later)
    _, _, cop_at_once = plate_feet(plate_recording(open_trial(unlabelled_trial)), dtype=SQUAT_FEET_DTYPE)
    for foot, cop in cop_later().items():
        np.testing.assert_array_equal(cop, cop_at_once[foot])


def test_the_recognised_squat_lets_the_recognitions_arrays_go(unlabelled_trial):
    """A trial without an exercise attribute is read in float64 for the recognition; the squat
    analysis reads it again its own way, so those arrays are let go first, not held beside it."""
    from forceplate.exercises import choose, run
    from forceplate.exercises.model import Options
    from forceplate.offline import TrialFeet, feet_arrays
    from forceplate.processing.valgus import Thresholds
    from forceplate.storage.reader import open_trial

    trial = open_trial(unlabelled_trial)
    assert not trial.attrs.get("exercise")
    feet_of = TrialFeet(trial, None)
    exercise, chosen_by = choose(None, trial.attrs, feet_of)
    assert exercise.name == "squat" and chosen_by.startswith("recognised") and feet_of.read is not None
    _, _, report, analysis = run(exercise, chosen_by, trial, None, Options(None, Thresholds()), feet_of)
    assert feet_of.read is None and len(report["reps"]) == 30 and analysis is not None
    assert feet_of().fz["left"].dtype == np.float64  # read again when asked
    seeded = TrialFeet(trial, None)
    seeded.seed(feet_arrays(trial))
    seeded.release()
    assert seeded.read is not None  # the caller's arrays are not let go
