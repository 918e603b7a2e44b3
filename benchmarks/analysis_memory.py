"""Peak memory of ``forceplate analyze`` on long trials (issue 14).

A 1 kHz dual-plate trial of squats (8 x int32 load-cell counts) is written through the real
TrialWriter, a minute of the simulator's counts at a time, then analysed by ``forceplate
analyze`` in a child process whose peak RSS the kernel reports (``wait4``). The reference
measured in the same run is the trial's raw counts in bytes; beside it, the peak RSS of a
child that only imports the analysis (what any analysis costs before it reads a sample).
Targets: peak <= 3x the raw counts on 60 minutes, and a 2-hour trial under 1 GB.
Writes benchmarks/results/analysis_memory.txt.

    python3 benchmarks/analysis_memory.py [--minutes 60 120]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from forceplate.calibration.record import find_record
from forceplate.io.device import Frames
from forceplate.profiles import load_profile
from forceplate.sim.emulator import PlateEmulator
from forceplate.sim.squat import SquatModel, SquatPlan, Subject
from forceplate.storage.writer import TrialWriter
from results_file import publish

SERIAL, PROFILE = "SIM-DP-0001", "dual-plate-ads1256"
PIECE_S = 60.0
TARGET_X_RAW = 3.0
TWO_HOURS_LIMIT_BYTES = 1 << 30


def write_long_trial(path: Path, minutes: float) -> int:
    """A squat trial of ``minutes`` written a minute at a time; returns its raw counts' bytes."""
    profile, record = load_profile(PROFILE), find_record(SERIAL)
    plan = SquatPlan()
    plan = SquatPlan(reps=int((minutes * 60 - 6) // plan.rep_period_s),
                     valgus={i: ("left" if i % 2 else "right", "moderate") for i in range(3, 5000, 9)})
    emulator = PlateEmulator(profile, record, SquatModel(Subject(), plan, seed=5), seed=5)
    device = SimpleNamespace(url="sim://dual-plate?seed=5", profile=profile, calibration=record,
                             info={"model": "benchmark", "serial": SERIAL, "firmware": "sim"})
    writer = TrialWriter(path, {"subject": "bench", "exercise": "squat"})
    writer.add_device(SERIAL, device)
    writer.start()
    n = int(minutes * 60 * profile.rate_hz)
    piece = int(PIECE_S * profile.rate_hz)
    for lo in range(0, n, piece):
        seq = np.arange(lo, min(lo + piece, n))
        t = seq / profile.rate_hz
        writer.write_frames(SERIAL, Frames(seq=seq, t_device_s=t, counts=emulator.counts(t), t_host_s=t))
        while writer._queue.qsize() > 2:  # a minute of counts in the queue at a time, not the hour
            time.sleep(0.05)
    writer.close()
    return n * profile.n_channels * np.dtype(profile.wire_dtype).itemsize


# The measured process is started from a small one: Linux counts in a child's peak RSS the
# memory of the process it was forked from (this one, after writing an hour's trial, or the
# imports of the simulator before it).
LAUNCHER = ("import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.PIPE); _, status, usage = os.wait4(child.pid, 0); "
            "sys.stderr.write(child.stderr.read().decode()); "
            "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime)")


def peak_rss_bytes(argv: list[str]) -> tuple[int, float]:
    """Peak RSS (bytes) and CPU seconds of one run of ``argv``, which must succeed."""
    launched = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], capture_output=True, text=True, check=True)
    status, kib, cpu_s = launched.stdout.split()
    if int(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {launched.stderr}")
    return int(kib) * 1024, float(cpu_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[60.0, 120.0])
    args = parser.parse_args()
    idle, _ = peak_rss_bytes([sys.executable, "-c", "import forceplate.offline, forceplate.cli.analyze"])
    lines = [f"peak RSS of the analysing child process (wait4); after importing the analysis alone: {idle / 1e6:.0f} MB"]
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            path = Path(tmp) / f"trial_{minutes:g}min.h5"
            raw = write_long_trial(path, minutes)
            peak, cpu_s = peak_rss_bytes([sys.executable, "-m", "forceplate", "analyze", str(path), "--json"])
            ratio = peak / raw
            verdict = f"target <= {TARGET_X_RAW:g}x: {'PASS' if ratio <= TARGET_X_RAW else 'FAIL'}"
            if minutes >= 120:
                verdict += f"; under 1 GB: {'PASS' if peak < TWO_HOURS_LIMIT_BYTES else 'FAIL'}"
            lines.append(f"{minutes:g} min (file {path.stat().st_size / 1e6:.0f} MB, raw counts {raw / 1e6:.0f} MB): "
                         f"peak {peak / 1e6:.0f} MB = {ratio:.2f}x the raw counts "
                         f"({(peak - idle) / raw:.2f}x above the imports); {cpu_s:.1f} s CPU; {verdict}")
            path.unlink()
    publish("analysis_memory", "analysis memory", lines)


if __name__ == "__main__":
    main()
