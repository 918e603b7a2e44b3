"""Storage figures: write throughput, file size per minute, open + analyse a 10-minute trial.

Run: python benchmarks/storage.py   (writes benchmarks/results/storage.txt)

File size (issue 14): the dual plate's datasets as stored (shuffle + deflate), beside the
reference measured in the same run, the same frames as wire bytes; target <= 1.5 MB/min.

The trial is a 10-minute recording of dual plates (1000 Hz, 8 x int32 load-cell counts)
and a pair of 16-sensor insoles (100 Hz, 16 x int16 each), made by the simulator's model
and emulators in memory, written through the real TrialWriter thread in read-sized
batches, as a session would.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np

from forceplate import open_trial
from forceplate.calibration.record import find_record
from forceplate.io.device import Frames
from forceplate.offline import analyze_trial, save_analysis
from forceplate.profiles import load_profile
from forceplate.sim.emulator import InsoleEmulator, PlateEmulator
from forceplate.sim.squat import SquatModel, SquatPlan, Subject
from forceplate.storage.reader import read_header
from forceplate.storage.recovery import recover_trial
from forceplate.storage.writer import TrialWriter
from results_file import publish

TRIAL_S = 600.0
ARRIVAL_LAG_S = 0.002  # USB and scheduling delay of a read: fixed part, and the mean of the varying part
RNG = np.random.default_rng(0)
WIRE_BYTES_PER_FRAME = {"SIM-DP-0001": 44}  # devices/PROTOCOL.md: a dual plate's DATA packet, COBS and delimiter
FILE_TARGET_MB_MIN = 1.5
BATCH_S = (0.01, 0.05)  # a read returns what arrived: ~10 ms apart when busy, 50 ms at the read timeout
# serial, profile, foot (insoles), sim URL
DEVICES = (("SIM-DP-0001", "dual-plate-ads1256", None, "sim://dual-plate"),
           ("SIM-IN16-L", "insole16", "left", "sim://insole?foot=left"),
           ("SIM-IN16-R", "insole16", "right", "sim://insole?foot=right"))


def simulated_devices(duration_s: float) -> list[tuple]:
    """(device description, raw counts) of each device watching one squatting person."""
    plan = SquatPlan(reps=int((duration_s - 3.0) // SquatPlan().rep_period_s),
                     valgus={i: ("left" if i % 2 else "right", "moderate") for i in range(3, 200, 7)})
    model = SquatModel(Subject(), plan, seed=1)
    out = []
    for serial, profile_id, foot, url in DEVICES:
        profile, calibration = load_profile(profile_id), find_record(serial)
        t = np.arange(int(duration_s * profile.rate_hz)) / profile.rate_hz
        info = {"model": "benchmark", "serial": serial, "firmware": "sim-1", **({"foot": foot} if foot else {})}
        device = SimpleNamespace(url=url, profile=profile, calibration=calibration, info=info)
        emulator = (InsoleEmulator(profile, calibration, model, foot, seed=1) if foot
                    else PlateEmulator(profile, calibration, model, seed=1))
        out.append((device, emulator.counts(t)))
    return out


def write(path: Path, devices: list[tuple], batch_s: float) -> float:
    """Seconds to write every device's counts through the writer thread in reads of
    ``batch_s`` of data each, closed."""
    start = time.perf_counter()
    writer = TrialWriter(path, {"subject": "bench", "load_kg": 0.0, "exercise": "squat"})
    for device, _ in devices:
        writer.add_device(device.info["serial"], device)
    writer.start()
    for t0 in np.arange(0.0, TRIAL_S, batch_s):
        for device, counts in devices:
            rate = device.profile.rate_hz
            seq = np.arange(int(round(t0 * rate)), min(int(round((t0 + batch_s) * rate)), len(counts)))
            t_device = seq / rate
            # the host stamps a read's frames back from its arrival (io/device.py): a lag that varies
            t_host = t_device + ARRIVAL_LAG_S + RNG.exponential(ARRIVAL_LAG_S)
            writer.write_frames(device.info["serial"], Frames(seq=seq, t_device_s=t_device, counts=counts[seq],
                                                              t_host_s=t_host))
    writer.close()
    return time.perf_counter() - start


def filters(path: Path) -> str:
    with h5py.File(path, "r") as f:
        ds = f["acquisition/SIM-DP-0001/counts"]
        return f"shuffle {ds.shuffle}, {ds.compression} level {ds.compression_opts}, fletcher32 {ds.fletcher32}"


def device_bytes(path: Path, name: str) -> tuple[int, int]:
    """A device's per-frame datasets: bytes stored in the file, and bytes without filters."""
    with h5py.File(path, "r") as f:
        datasets = [ds for ds in f["acquisition"][name].values() if isinstance(ds, h5py.Dataset)]
        return sum(ds.id.get_storage_size() for ds in datasets), sum(ds.nbytes for ds in datasets)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    lines = [f"trial: {TRIAL_S / 60:g} min of dual plates (1000 Hz, 8 x int32) and two insoles "
             "(100 Hz, 16 x int16 each)"]
    devices = simulated_devices(TRIAL_S)
    frames = sum(len(counts) for _, counts in devices)
    with tempfile.TemporaryDirectory() as tmp:
        for batch_s in BATCH_S:
            path = Path(tmp) / f"trial{batch_s:g}.h5"
            seconds = write(path, devices, batch_s)
            lines.append(f"write, reads of {batch_s * 1e3:g} ms: {seconds:.2f} s for {TRIAL_S:g} s of data = "
                         f"{TRIAL_S / seconds:.0f}x real time ({frames / seconds / 1e3:.0f} k frames/s)")
        minutes = TRIAL_S / 60
        size_mb = path.stat().st_size / 1e6
        raw_mb = sum(counts.nbytes for _, counts in devices) / 1e6
        lines.append(f"file size: {size_mb:.2f} MB per {minutes:g} min = {size_mb / minutes:.2f} MB/min "
                     f"(raw counts alone {raw_mb / minutes:.2f} MB/min; seq, t_device, t_host "
                     f"8 bytes each per frame); filters: {filters(path)}")
        plate = "SIM-DP-0001"
        stored_mb, unfiltered_mb = (value / 1e6 / minutes for value in device_bytes(path, plate))
        wire_mb = WIRE_BYTES_PER_FRAME[plate] * TRIAL_S * 1000 / 1e6 / minutes
        lines.append(f"dual plate alone: {stored_mb:.2f} MB/min stored = {stored_mb / wire_mb:.2f}x its wire bytes "
                     f"({wire_mb:.2f} MB/min, the reference) and {stored_mb / unfiltered_mb:.2f}x the same datasets "
                     f"without filters ({unfiltered_mb:.2f} MB/min); target <= {FILE_TARGET_MB_MIN:g} MB/min: "
                     f"{'PASS' if stored_mb <= FILE_TARGET_MB_MIN else 'FAIL'}")
        trial, open_s = timed(lambda: open_trial(path))
        analysis, analyse_s = timed(lambda: analyze_trial(trial))
        _, save_s = timed(lambda: save_analysis(trial, analysis))
        _, header_s = timed(lambda: read_header(path))
        lines.append(f"open_trial (all raw data into memory): {open_s:.2f} s")
        lines.append(f"analyze_trial: {analyse_s:.2f} s ({len(analysis.reps)} reps; plates for reps and flags, "
                     "insoles for the arch load)")
        lines.append(f"open + analyse: {open_s + analyse_s:.2f} s")
        lines.append(f"save results (/processing): {save_s * 1e3:.0f} ms; read_header with results: {header_s * 1e3:.0f} ms")
        _, recover_s = timed(lambda: recover_trial(path))
        lines.append(f"recover (reads every chunk and rebuilds; a complete file is then left as it was): "
                     f"{recover_s:.2f} s")
    publish("storage", "storage", lines)


if __name__ == "__main__":
    main()
