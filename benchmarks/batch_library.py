"""Batch analysis of a trial library on Dask: 1 vs 2 local workers.

A library of simulated dual-plate trials (sets of 8 reps, about 23 s at 1 kHz each,
written through the real TrialWriter) is analysed by ``forceplate.library.batch.run_batch``
on a LocalCluster of 1 and then 2 worker processes (one thread each), each time from raw
counts (the stored results are removed between runs), and once more on 2 workers with the
results stored by the run before (what a second ``batch`` over the same library costs).
Workers import forceplate before the clock starts, so the figures are the analysis, not
the start-up, which is given on its own. Peak memory per worker is its peak RSS; the
planned need of one trial (``ANALYSIS_BYTES_PER_RAW_VALUE``) is printed beside it.

    python3 benchmarks/batch_library.py [--trials 200]

Writes benchmarks/results/batch_library.txt.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import h5py

from forceplate.library.batch import ANALYSIS_BYTES_PER_RAW_VALUE, check_workers, find_trials, run_batch
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.storage.reader import raw_value_count
from results_file import publish

SUBJECTS = 10
LOADS_KG = (0.0, 20.0, 40.0, 60.0)
REPS = 8  # per trial: about 23 s at 1 kHz, so a task's analysis outweighs Dask's per-task cost
LONG_REPS = 110  # a 5-minute set, for the memory an analysis needs per raw value


def make_library(folder: Path, trials: int) -> list[Path]:
    for i in range(trials):
        spec = SimulatedTrial(subject=f"P{i % SUBJECTS:02d}", created=f"2026-01-{1 + i // (SUBJECTS * len(LOADS_KG)):02d}"
                              f"T10:00:00", load_kg=LOADS_KG[i % len(LOADS_KG)], seed=i, reps=REPS,
                              valgus={2: ("right", "moderate")} if i % 3 == 0 else {})
        write_simulated_trial(folder / f"trial{i:04d}.h5", spec)
    return find_trials([folder])


def forget_results(files: list[Path]) -> None:
    for path in files:
        with h5py.File(path, "a") as f:
            f.pop("processing", None)


def _warm_up() -> int:
    import forceplate.offline  # noqa: F401 - scipy and the analysis, imported before the clock starts
    import psutil

    return psutil.Process().memory_info().rss


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(files: list[Path], workers: int, keep_results: bool = False) -> dict:
    from distributed import Client, LocalCluster

    if not keep_results:
        forget_results(files)
    started = time.monotonic()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        check_workers(client)
        idle = client.run(_warm_up)
        startup_s = time.monotonic() - started
        cpu_before, load = client.run(_cpu_s), os.getloadavg()[0]
        result = run_batch(client, files)
        peaks = client.run(_peak_rss)
        cpu_s = sum(client.run(_cpu_s).values()) - sum(cpu_before.values())
    failed = result.count("failed")
    assert failed == 0, [o.error for o in result.outcomes if o.error][:3]
    return {"workers": workers, "seconds": result.seconds, "rate": len(files) / result.seconds, "startup_s": startup_s,
            "idle_mb": max(idle.values()) / 1e6, "peak_mb": max(peaks.values()) / 1e6,
            "analysed": result.count("analysed"), "stored": result.count("stored"),
            "cpu_ms_per_file": 1e3 * cpu_s / len(files), "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forceplate-batch-") as tmp:
        made = time.monotonic()
        files = make_library(Path(tmp), args.trials)
        made_s = time.monotonic() - made
        size_mb = sum(f.stat().st_size for f in files) / 1e6
        planned_mb = max(raw_value_count(f) for f in files) * ANALYSIS_BYTES_PER_RAW_VALUE / 1e6
        one, two = measure(files, 1), measure(files, 2)
        cached = measure(files, 2, keep_results=True)
        (Path(tmp) / "long").mkdir()
        long_file = write_simulated_trial(Path(tmp) / "long" / "long.h5", SimulatedTrial(reps=LONG_REPS))
        long = measure([long_file], 1)
        long_values = raw_value_count(long_file)
    load = os.getloadavg()[0]
    lines = [f"library: {len(files)} simulated dual-plate trials ({REPS} reps, ~23 s at 1 kHz each), {size_mb:.0f} MB, "
             f"written in {made_s:.1f} s; load average {load:.1f} when done (the machine is shared)"]
    for run, label in ((one, "1 worker "), (two, "2 workers"), (cached, "2 workers, stored results reused")):
        lines.append(f"{label}: {run['rate']:.1f} files/s ({run['seconds']:.1f} s; {run['analysed']} analysed, "
                     f"{run['stored']} stored), workers' CPU {run['cpu_ms_per_file']:.0f} ms per file, load average "
                     f"{run['load']:.1f} at the start; cluster start {run['startup_s']:.1f} s, peak RSS per worker "
                     f"{run['peak_mb']:.0f} MB ({run['idle_mb']:.0f} MB idle after imports)")
    lines.append(f"speed-up 2 vs 1 workers: {two['rate'] / one['rate']:.2f}x (ideal 2.00x on 2 free cores; "
                 f"CPU per file 2 vs 1 workers {two['cpu_ms_per_file'] / one['cpu_ms_per_file']:.2f}x, so a shortfall "
                 "at the same CPU per file is cores taken by other processes); reusing stored results: "
                 f"{cached['rate'] / two['rate']:.1f}x the analysing rate")
    lines.append(f"memory: a worker's peak is {two['peak_mb'] - two['idle_mb']:.0f} MB above its idle size; at this "
                 f"trial size fixed costs dominate (the per-value plan says {planned_mb:.0f} MB), the plan matters "
                 "for long trials:")
    per_value = (long["peak_mb"] - long["idle_mb"]) * 1e6 / long_values
    lines.append(f"one {LONG_REPS}-rep trial (about 5 minutes, {long_values / 1e6:.1f} M raw values) on a fresh "
                 f"worker: peak {long['peak_mb']:.0f} MB, {long['peak_mb'] - long['idle_mb']:.0f} MB above idle = "
                 f"{per_value:.0f} bytes per raw value; the batch plans {ANALYSIS_BYTES_PER_RAW_VALUE} "
                 f"({ANALYSIS_BYTES_PER_RAW_VALUE / per_value:.2f}x the measured): "
                 + ("conservative" if ANALYSIS_BYTES_PER_RAW_VALUE >= per_value else "too low, raise it"))
    publish("batch_library", "batch analysis of a trial library on Dask", lines)


if __name__ == "__main__":
    main()
