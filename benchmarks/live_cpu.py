"""CPU of a live session: what a lab laptop spends recording and watching (issue 14).

Two figures, each the CPU of a child process read from /proc (user + system, all its
threads) over a steady stretch that leaves out start-up and the analysis at the end:

- ``record`` reading a 1 kHz dual plate from a ``forceplate simulate`` process: the
  simulator runs in its own process, so its CPU is not the recorder's (target <= 3 % of a core);
- ``live --headless`` with the plates and two 100 Hz insoles simulated in-process, so the
  three firmware stand-ins count (target <= 10 % of a core).

The reference measured in the same run is what decoding the plate's wire stream alone costs
(the same bytes in 4 KiB reads; also shown in one read per simulator write), in this process.

Beside it, where the recorder's figure goes: a session as ``record`` runs it (no plots, a trial
recorded) in this process, reading a separate simulator, its reader thread's CPU (from
/proc/self/task) with one stage after another left out (the reads spaced out while no flag can
come, a saving; the segmentation; the rest of the live analysis; the calibration and plate
forces), each variant run twice in turns: the differences
are each stage's cost in the session, the rest is reading and recording; and the writer
thread's. The same code costs several times more there than in a loop (shown: the live
analysis alone, fed from memory in 20 ms blocks, and one decode of a read hot and after a
20 ms sleep), as a thread that sleeps between its wakes finds its caches cold on a machine
other jobs share. Last, the three simulators of the live figure alone (their firmware threads'
CPU, each drained by one reader thread here).
Frames lost must be 0. Writes benchmarks/results/live_cpu.txt (with the load average, since
other jobs on the machine slow every figure).

    python3 benchmarks/live_cpu.py [--seconds 20] [--part-seconds 10]
"""

from __future__ import annotations

import argparse
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

import numpy as np

from forceplate.io.decoder import FrameDecoder
from forceplate.io.device import READ_GATHER_S
from forceplate.io.firmware import TICK_S
from forceplate.io.protocol import encode_data
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.offline import plate_recording
from forceplate.processing.forces import plate_forces
from forceplate.processing.streaming import Block, StreamingAnalyzer
from forceplate.session import HISTORY_ONLY_BLOCK_S, PLOT_ONLY_READ_S, Session
from forceplate.sim.urls import open_simulator
from forceplate.storage.reader import open_trial
from results_file import publish

WARMUP_S = 5.0  # imports, handshake, first fits: not what a session costs while it runs
PLATES = "sim://dual-plate?seed=3&reps=40"
INSOLES = ("sim://insole?foot=left&seed=3&reps=40", "sim://insole?foot=right&seed=3&reps=40")
TARGETS = {"record": 3.0, "live": 10.0}  # % of one core
TICKS_S = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_S


def steady_cpu_pct(process: subprocess.Popen, seconds: float) -> float:
    """% of a core the process uses from WARMUP_S on, over ``seconds``."""
    time.sleep(WARMUP_S)
    c0, t0 = cpu_s(process.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_s(process.pid), time.monotonic()
    return 100.0 * (c1 - c0) / (t1 - t0)


def forceplate(*args: str, stdout=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "forceplate", *args], stdout=stdout,
                            stderr=subprocess.STDOUT, text=True)


def lost_frames(output: str) -> str:
    """The status line's frame counts, and whether any frame was lost."""
    status = next((line for line in output.splitlines() if line.startswith("status:")), "status: none")
    lost = sum(int(n) for n in re.findall(r"(\d+) lost", status))
    return f"{'0 lost' if lost == 0 and 'frames' in status else 'FRAMES LOST OR MISSING'}: {status[8:]}"


def run_record(folder: Path, seconds: float) -> tuple[float, float, str]:
    """CPU % of ``record`` and of the separate simulator, and the recorder's status line."""
    sim = forceplate("simulate", PLATES, "--duration", str(seconds + 2 * WARMUP_S + 30))
    try:
        pty = sim.stdout.readline().strip()
        record = forceplate("record", "--device", pty, "-o", str(folder / "record.h5"),
                            "--duration", str(seconds + WARMUP_S + 1))
        sim_c0, sim_t0 = cpu_s(sim.pid), time.monotonic()
        pct = steady_cpu_pct(record, seconds)
        sim_pct = 100.0 * (cpu_s(sim.pid) - sim_c0) / (time.monotonic() - sim_t0)
        output, _ = record.communicate(timeout=120)
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return pct, sim_pct, lost_frames(output)


def run_live(seconds: float) -> tuple[float, str]:
    devices = [arg for url in (PLATES, *INSOLES) for arg in ("--device", url)]
    live = forceplate("live", "--headless", "--duration", str(seconds + WARMUP_S + 1), *devices)
    pct = steady_cpu_pct(live, seconds)
    output, _ = live.communicate(timeout=120)
    return pct, lost_frames(output)


def task_cpu_s(native_id: int) -> float:
    """User + system CPU seconds of one of this process's threads (by its native id) so far."""
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_S


def simulators_pct(seconds: float) -> list[float]:
    """% of a core each of the live figure's simulators takes (its firmware thread: waking,
    computing ahead, framing, writing), streaming to one thread that drains their ptys."""
    simulators = [open_simulator(url) for url in (PLATES, *INSOLES)]
    ports = [os.open(sim.port_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK) for sim in simulators]
    done = threading.Event()

    def drain():
        while not done.is_set():
            for port in select.select(ports, [], [], 0.05)[0]:
                os.read(port, 1 << 16)
            time.sleep(READ_GATHER_S)

    drainer = threading.Thread(target=drain, daemon=True)
    try:
        for port in ports:
            tty.setraw(port)
            os.write(port, b"START\n")
        drainer.start()
        time.sleep(2.0)  # the first second computed ahead, caches warm
        c0, t0 = [task_cpu_s(sim._thread.native_id) for sim in simulators], time.monotonic()
        time.sleep(seconds)
        c1, elapsed = [task_cpu_s(sim._thread.native_id) for sim in simulators], time.monotonic() - t0
        return [100.0 * (b - a) / elapsed for a, b in zip(c0, c1, strict=True)]
    finally:
        done.set()
        drainer.join(timeout=2.0)
        for sim, port in zip(simulators, ports, strict=True):
            sim.close()
            os.close(port)


def decode_pct(read_s: float | None) -> float:
    """% of a core that decoding a 1 kHz dual plate's stream takes, fed in reads of ``read_s``
    of frames (the simulator's write cadence) or, with None, of 4 KiB (the bytes' own cost)."""
    seconds, rate_hz = 20, 1000
    counts = np.random.default_rng(0).integers(-(2**23), 2**23, size=(seconds * rate_hz, 8)).astype("<i4")
    stream = encode_data(0, np.arange(len(counts)) * 1000, counts)
    read_bytes = 4096 if read_s is None else int(len(stream) / seconds * read_s)
    reads = [stream[i:i + read_bytes] for i in range(0, len(stream), read_bytes)]
    decoder = FrameDecoder(8, "<i4", sample_period_us=1000)
    start = time.process_time()
    for read in reads:
        decoder.feed(read)
    assert decoder.stats.frames == len(counts)
    return 100.0 * (time.process_time() - start) / seconds


# Stages of a reader thread, each left out in turn from the full session (cumulatively: each
# variant also leaves out the ones before it), as (name, what is patched, its stand-in). The
# first is a saving: reading every 20 ms throughout, as the later variants then all do (left
# on, a session without the segmentation would stand all the time and read less often).
STAGES = (
    ("reading less often while no flag can come (a saving)", StreamingAnalyzer, "quiet_until_s",
     lambda self: None),
    ("the segmentation every 0.2 s", StreamingAnalyzer, "_segment", lambda self, final=False: []),
    ("the rest of the live analysis (StreamingAnalyzer.push)", StreamingAnalyzer, "push",
     lambda self, t, fz, cop: (Block(t, fz, cop, {}), [])),
    ("calibration and plate forces", Session, "_analyse", lambda self, link, frames: None),
)
SPLIT_ROUNDS = 2  # each variant is run this often, in turns, and its figures averaged


def session_threads_pct(seconds: float, folder: Path, left_out: int) -> dict[str, float]:
    """% of a core of each thread of a session as ``record`` runs it (no plots, recorded to a
    trial), reading a separate simulator's 1 kHz dual plate, with the first ``left_out`` STAGES
    left out; keyed by thread name."""
    originals = [(owner, name, getattr(owner, name)) for _, owner, name, _ in STAGES]
    sim = forceplate("simulate", PLATES, "--duration", str(seconds + WARMUP_S + 20))
    try:
        for _, owner, name, stand_in in STAGES[:left_out]:
            setattr(owner, name, stand_in)
        session = Session([sim.stdout.readline().strip()], record_path=folder / f"parts{time.monotonic_ns()}.h5",
                          plotted=False)
        try:
            session.start()
            time.sleep(WARMUP_S)
            threads = {t.native_id: t.name for t in threading.enumerate() if t is not threading.main_thread()}
            c0, t0 = {tid: task_cpu_s(tid) for tid in threads}, time.monotonic()
            time.sleep(seconds)
            c1, elapsed = {tid: task_cpu_s(tid) for tid in threads}, time.monotonic() - t0
        finally:
            session.close()
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
        sim.terminate()
        sim.wait(timeout=10)
    return {threads[tid]: 100.0 * (c1[tid] - c0[tid]) / elapsed for tid in threads}


def record_parts(seconds: float, folder: Path) -> list[str]:
    """The reader thread's CPU in a session with each stage left out in turn, as the cost of
    each stage (differences of runs one after another, each the mean of SPLIT_ROUNDS runs: still
    a few tenths of a % of noise each on a shared machine)."""
    reader, writer = np.zeros(len(STAGES) + 1), 0.0
    for _ in range(SPLIT_ROUNDS):
        for left_out in range(len(STAGES) + 1):
            run = session_threads_pct(seconds, folder, left_out)
            reader[left_out] += next(pct for name, pct in run.items() if name.startswith("read ")) / SPLIT_ROUNDS
            if left_out == 0:
                writer += next(pct for name, pct in run.items() if name.startswith("writer ")) / SPLIT_ROUNDS
    parts = [f"{what} {before - after:.1f} %" for (what, *_), before, after in zip(STAGES, reader, reader[1:])]
    return [f"where it goes, in a session as record runs it, in this process ({SPLIT_ROUNDS} x {seconds:g} s "
            f"each): its reader thread {reader[0]:.1f} % of a core: " + "; ".join(parts)
            + f"; reading and recording (waking, the port, decoding, holding the block and the frames for the "
              f"writer) {reader[-1]:.1f} %; its writer thread {writer:.1f} %"]


def cold_decode_us() -> tuple[float, float]:
    """µs one decode of a 20 ms read of the 1 kHz dual plate takes back to back, and after a 20 ms
    sleep (what a reader thread finds after its wait: the caches other processes used meanwhile)."""
    counts = np.random.default_rng(0).integers(-(2**23), 2**23, size=(4000, 8)).astype("<i4")
    stream = encode_data(0, np.arange(len(counts)) * 1000, counts)
    read_bytes = len(stream) // 200
    reads = [stream[i:i + read_bytes] for i in range(0, len(stream), read_bytes)]
    timings = []
    for sleep_s in (0.0, READ_GATHER_S):
        decoder, spent = FrameDecoder(8, "<i4", sample_period_us=1000), 0.0
        for read in reads:
            time.sleep(sleep_s)
            started = time.thread_time()
            decoder.feed(read)
            spent += time.thread_time() - started
        timings.append(1e6 * spent / len(reads))
    return timings[0], timings[1]


def analysis_pct(folder: Path, block_s: float = 0.02) -> tuple[float, float]:
    """% of a core the live analysis of a simulated 1 kHz dual plate takes in this process, in
    blocks of ``block_s`` as a session's reader thread feeds it (its counts calibrated, plate
    forces, one ``push``), and the part of it that is the segmentation."""
    path = folder / "analysis.h5"
    write_simulated_trial(path, SimulatedTrial(reps=12, seed=3))
    device = plate_recording(open_trial(path))
    rate = device.profile.rate_hz
    analyzer, block = StreamingAnalyzer(rate), int(round(block_s * rate))
    segmenting_s, segment = 0.0, analyzer._segment

    def timed_segment():
        nonlocal segmenting_s
        started = time.process_time()
        try:
            return segment()
        finally:
            segmenting_s += time.process_time() - started

    analyzer._segment = timed_segment
    t = (device.seq - device.seq[0]) / rate
    start = time.process_time()
    for lo in range(0, len(t), block):
        fz, cop = plate_forces(device.calibration.to_physical(device.counts[lo:lo + block]), device.profile)
        analyzer.push(t[lo:lo + block], fz, cop)
    duration_s = len(t) / rate
    return 100.0 * (time.process_time() - start) / duration_s, 100.0 * segmenting_s / duration_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="steady stretch measured (default 20)")
    parser.add_argument("--part-seconds", type=float, default=10.0,
                        help="steady stretch of each run that splits the recorder's figure (default 10)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        record_pct, sim_pct, record_status = run_record(Path(tmp), args.seconds)
        live_pct, live_status = run_live(args.seconds)
        parts = record_parts(args.part_seconds, Path(tmp))
        analysis, segmentation = analysis_pct(Path(tmp))
    plates_sim, *insoles_sim = simulators_pct(min(args.seconds, 15.0))
    reference, per_write = decode_pct(None), decode_pct(TICK_S)
    hot_us, cold_us = cold_decode_us()
    lines = [f"steady {args.seconds:g} s after {WARMUP_S:g} s of start-up; CPU = user + system of the process "
             f"(all threads) from /proc; simulator writes every {TICK_S * 1000:g} ms, the host reads at most every "
             f"{READ_GATHER_S * 1000:g} ms (less often while no flag can come); load average {load:.1f} before the runs (other jobs share the machine)",
             f"reference, same run: decoding the 1 kHz dual plate's 44 kB/s takes {reference:.3f} % of a core "
             f"in 4 KiB reads, {per_write:.2f} % in one read per simulator write",
             *parts,
             f"the same code in a loop costs less: the live analysis alone, fed from memory in 20 ms blocks "
             f"(calibration, plate forces, StreamingAnalyzer.push) {analysis:.1f} %, of which the segmentation "
             f"{segmentation:.1f} %; one decode of a 20 ms read {hot_us:.0f} us back to back, {cold_us:.0f} us after "
             f"a 20 ms sleep (caches cold)",
             f"the live figure's three simulators (their firmware threads) {plates_sim + sum(insoles_sim):.1f} %: "
             f"the dual plate {plates_sim:.2f} %, the insoles {' and '.join(f'{p:.2f}' for p in insoles_sim)} %"]
    for name, pct, status, what in (
            ("record", record_pct, record_status,
             f"record, 1 kHz dual plate from a separate simulate process (simulator: {sim_pct:.1f} %)"),
            ("live", live_pct, live_status, f"live --headless, plates + two 100 Hz insoles, in-process simulators "
                                            f"(the insoles, on which no flag waits, read every "
                                            f"{PLOT_ONLY_READ_S * 1000:g} ms and paired every "
                                            f"{HISTORY_ONLY_BLOCK_S:g} s)")):
        target = TARGETS[name]
        lines.append(f"{what}: {pct:.1f} % of a core = {pct / reference:.0f}x the decoding reference; "
                     f"target <= {target:g} %: {'PASS' if pct <= target else 'FAIL'}")
        lines.append(f"  {status}")
    publish("live_cpu", "CPU of a live session", lines)


if __name__ == "__main__":
    main()
