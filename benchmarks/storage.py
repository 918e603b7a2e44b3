"""Storage figures: write throughput, file size per minute, open + analyse a 10-minute trial.

Run: python benchmarks/storage.py   (writes benchmarks/results/storage.txt)

The trial is a 10-minute dual-plate recording (1000 Hz, 8 x int32 load-cell counts) made
by the simulator's model and emulator in memory, written through the real TrialWriter
thread in read-sized batches, as a session would. Insoles are not measured: there is no
insole device yet.
"""

from __future__ import annotations

import platform
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from forceplate import __version__, open_trial
from forceplate.calibration.record import find_record
from forceplate.io.device import Frames
from forceplate.offline import analyze_trial, save_analysis
from forceplate.profiles import load_profile
from forceplate.sim.emulator import PlateEmulator
from forceplate.sim.squat import SquatModel, SquatPlan, Subject
from forceplate.storage.reader import read_header
from forceplate.storage.recovery import recover_trial
from forceplate.storage.writer import TrialWriter
from results_file import publish

SERIAL = "SIM-DP-0001"
TRIAL_S = 600.0
BATCH_FRAMES = (10, 50)  # a read returns what arrived: ~10 frames at 100 Hz reads, 50 at the 50 ms timeout


def simulated_counts(duration_s: float):
    profile = load_profile("dual-plate-ads1256")
    calibration = find_record(SERIAL)
    plan = SquatPlan(reps=int((duration_s - 3.0) // SquatPlan().rep_period_s),
                     valgus={i: ("left" if i % 2 else "right", "moderate") for i in range(3, 200, 7)})
    model = SquatModel(Subject(), plan, seed=1)
    t = np.arange(int(duration_s * profile.rate_hz)) / profile.rate_hz
    device = SimpleNamespace(url="sim://dual-plate", profile=profile, calibration=calibration,
                             info={"model": "benchmark", "serial": SERIAL, "firmware": "sim-1"})
    return device, PlateEmulator(profile, calibration, model, seed=1).counts(t)


def write(path: Path, device, counts: np.ndarray, batch: int) -> float:
    """Seconds to write ``counts`` through the writer thread in ``batch``-frame reads, closed."""
    n = len(counts)
    seq = np.arange(n)
    t_device = seq / device.profile.rate_hz
    start = time.perf_counter()
    writer = TrialWriter(path, {"subject": "bench", "load_kg": 0.0, "exercise": "squat"})
    writer.add_device(SERIAL, device)
    writer.start()
    for i in range(0, n, batch):
        sl = slice(i, i + batch)
        writer.write_frames(SERIAL, Frames(seq=seq[sl], t_device_s=t_device[sl], counts=counts[sl],
                                           t_host_s=t_device[sl]))
    writer.close()
    return time.perf_counter() - start


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    lines = [f"forceplate {__version__} storage benchmark, {time.strftime('%Y-%m-%d')}, Python "
             f"{platform.python_version()}, {platform.machine()}",
             f"trial: {TRIAL_S / 60:g} min dual plate, 1000 Hz, 8 channels int32 (insoles: no device yet, not measured)"]
    device, counts = simulated_counts(TRIAL_S)
    with tempfile.TemporaryDirectory() as tmp:
        for batch in BATCH_FRAMES:
            path = Path(tmp) / f"trial{batch}.h5"
            seconds = write(path, device, counts, batch)
            lines.append(f"write, {batch}-frame batches: {seconds:.2f} s for {TRIAL_S:g} s of data = "
                         f"{TRIAL_S / seconds:.0f}x real time ({len(counts) / seconds / 1e3:.0f} k frames/s)")
        size_mb = path.stat().st_size / 1e6
        lines.append(f"file size: {size_mb:.2f} MB per {TRIAL_S / 60:g} min = {size_mb / (TRIAL_S / 60):.2f} MB/min "
                     f"(raw counts alone {counts.nbytes / 1e6 / (TRIAL_S / 60):.2f} MB/min; seq, t_device, t_host "
                     "8 bytes each per frame)")
        trial, open_s = timed(lambda: open_trial(path))
        analysis, analyse_s = timed(lambda: analyze_trial(trial))
        _, save_s = timed(lambda: save_analysis(trial, analysis))
        _, header_s = timed(lambda: read_header(path))
        lines.append(f"open_trial (all raw data into memory): {open_s:.2f} s")
        lines.append(f"analyze_trial: {analyse_s:.2f} s ({len(analysis.reps)} reps)")
        lines.append(f"open + analyse: {open_s + analyse_s:.2f} s")
        lines.append(f"save results (/processing): {save_s * 1e3:.0f} ms; read_header with results: {header_s * 1e3:.0f} ms")
        _, recover_s = timed(lambda: recover_trial(path))
        lines.append(f"recover (reads every chunk and rebuilds; a complete file is then left as it was): "
                     f"{recover_s:.2f} s")
    publish("storage", lines)


if __name__ == "__main__":
    main()
