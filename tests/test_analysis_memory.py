"""Peak memory of ``forceplate analyze`` on a long trial (issue 14), measured as the benchmark
does (benchmarks/analysis_memory.py: the child's peak RSS from wait4), on a shorter trial.

Not timed. On ten minutes of 1 kHz dual plate (19 MB of int32 counts) the analysis before
the float32 feet and the segmentation's lean temporaries took 5.8x the raw counts above what
importing it costs; now 4.1x (the fixed costs weigh more here than on an hour: 2.76x there).
"""

import subprocess
import sys

import h5py
import pytest

from forceplate.library.simulated import SimulatedTrial, write_simulated_trial

MINUTES = 10
REP_PERIOD_S = 2.6  # write_simulated_trial's rep: 1 s down, 0.2 s at the bottom, 0.8 s up, 0.6 s rest
LIMIT_ABOVE_IMPORTS_X_RAW = 5.0


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
