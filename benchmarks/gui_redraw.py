"""Redraw rate and sample-to-screen latency of the live window while it records three devices.

The simulator streams in real time, on pseudo-terminals through the real driver: dual plates
at 1 kHz and a left and a right insole at 100 Hz (one person, same seed), all recorded to an
HDF5 trial while the window shows plots, the rep table and both insoles' pressure maps.

- redraw rate: paints of the trace plots per second, driven by the window's own 30 Hz timer
  in a normal event loop;
- frames lost: the decoders' counters of all three devices (and the trial's stored copy);
- latency: for each plate frame, from its host arrival time (``t_host``, as recorded) to the
  end of the first paint of the traces that includes it (the curve reaches its trial time).
  ``t_host`` is when the reader read it: reads come at most every 20 ms (io/device.py
  READ_GATHER_S), so the time a frame waited in the port's buffer before that (under 20 ms,
  about half a simulator tick on average) is not in the figure;
- headroom: refresh + synchronous repaint in a tight loop, no timer pacing.

The timed run has one core kept busy by another process (``--busy 0`` for none), as a lab
laptop running something else would; the reference measured in the same run is the rate the
window's timer asks for. Target (issue 14): >= 30 fps with one core busy, 0 frames lost.
Writes benchmarks/results/gui_redraw.txt.

    QT_QPA_PLATFORM=offscreen python3 benchmarks/gui_redraw.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402 - after the platform is chosen
from pyqtgraph.Qt import QT_LIB, QtCore, QtWidgets  # noqa: E402
from results_file import publish  # noqa: E402

from forceplate.io.device import READ_GATHER_S  # noqa: E402
from forceplate.live.window import LiveWindow  # noqa: E402
from forceplate.session import Session  # noqa: E402
from forceplate.session_view import SessionView  # noqa: E402
from forceplate.storage.reader import open_trial  # noqa: E402

SEED = 3
URLS = [f"sim://dual-plate?seed={SEED}&reps=20", f"sim://insole?foot=left&seed={SEED}&reps=20",
        f"sim://insole?foot=right&seed={SEED}&reps=20"]
WARM_UP_S = 4.0  # past the baseline, so the medial shift traces carry data
TIMER_RUN_S = 15.0
TIGHT_RUN_S = 5.0


class PaintClock:
    """When each paint of the window's traces ended, and the trial time of the newest sample shown."""

    def __init__(self, window: LiveWindow):
        self.ends: list[float] = []
        self.newest_t: list[float] = []
        original = pg.GraphicsView.paintEvent

        def timed(this, event):
            result = original(this, event)
            if this is window.traces:
                self.ends.append(time.monotonic())  # the clock of t_host
                self.newest_t.append(window.newest_drawn_s if np.isfinite(window.newest_drawn_s) else -np.inf)
            return result

        pg.GraphicsView.paintEvent = timed


class ArrivalLog:
    """Every frame a device's reader thread received: sequence number and host arrival time."""

    def __init__(self, device):
        self.seq, self.t_host = [], []
        read = device.read

        def logged():
            frames = read()
            self.seq.append(frames.seq)
            self.t_host.append(frames.t_host_s)
            return frames

        device.read = logged

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self.seq), np.concatenate(self.t_host)


def run_timer(seconds: float) -> None:
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def latencies_ms(paints: PaintClock, since: float, seq: np.ndarray, t_host: np.ndarray, seq0: int,
                 rate_hz: float) -> np.ndarray:
    """Per frame that arrived after ``since``: first paint end showing it minus its arrival (ms)."""
    ends, newest = np.array(paints.ends), np.maximum.accumulate(np.array(paints.newest_t))
    t_trial = (seq - seq0) / rate_hz
    keep = (t_host >= since) & (t_trial <= newest[-1])
    first_paint = np.searchsorted(newest, t_trial[keep] - 1e-9)  # first paint whose curve reaches the frame
    return 1000 * (ends[first_paint] - t_host[keep])


def tight_rate(app: QtWidgets.QApplication, window: LiveWindow, seconds: float) -> tuple[float, float]:
    """Redraws per second and the slowest redraw (ms) with no timer pacing."""
    window.timer.stop()
    durations = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        window.refresh()
        window.repaint()
        app.processEvents()
        durations.append(time.perf_counter() - start)
    return len(durations) / sum(durations), 1000 * max(durations)


def busy_cores(n: int) -> list[subprocess.Popen]:
    """``n`` processes that each keep a core busy until terminated."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=1, help="cores kept busy by other processes (default 1)")
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["gui_redraw"])
    trial_path = Path(tempfile.mkdtemp()) / "gui_redraw.h5"
    session = Session(URLS, record_path=trial_path)
    plate = session.links[0]
    arrivals = ArrivalLog(plate.device)
    session.start()
    try:
        window = LiveWindow(SessionView(session))
        paints = PaintClock(window)
        window.show()
        run_timer(WARM_UP_S)
        load = os.getloadavg()[0]
        spinners = busy_cores(args.busy)
        try:
            n0, since = len(paints.ends), time.monotonic()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            run_timer(TIMER_RUN_S)
            cores = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
        finally:
            for spinner in spinners:
                spinner.terminate()
                spinner.wait()
        fps = (len(paints.ends) - n0 - 1) / (paints.ends[-1] - paints.ends[n0])
        gaps_ms = 1000 * np.diff(paints.ends[n0:])
        latency = latencies_ms(paints, since, *arrivals.arrays(), plate.seq0, plate.device.profile.rate_hz)
        fastest, slowest_ms = tight_rate(app, window, TIGHT_RUN_S)
        window.close()
    finally:
        session.close()
    status = session.status()
    stored = open_trial(trial_path).devices
    trial_path.unlink()
    lines = [
        "live window redraw while recording three simulated devices in real time (same seed):",
        "  " + ", ".join(URLS),
        f"{QT_LIB} {QtCore.qVersion()}, "
        f"pyqtgraph {pg.__version__}, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}",
        f"{args.busy} core(s) kept busy by another process during the timed run; load average "
        f"{load:.1f} before it (other jobs share the machine)",
        f"redraw rate: {fps:.1f} fps over {TIMER_RUN_S:g} s = {fps * window.timer.interval() / 1000:.2f}x the "
        f"{1000 / window.timer.interval():.0f} Hz the window's timer asks for (reference); target >= 30 fps: "
        f"{'PASS' if fps >= 30 else 'FAIL'}; slowest gap between paints {gaps_ms.max():.0f} ms; process CPU "
        f"{cores:.2f} cores (3 reader threads and simulators, live analysis, HDF5 writer and GUI)",
        f"sample-to-screen latency, plate frames (host arrival, i.e. the read, -> end of the first paint showing "
        f"them; the < {READ_GATHER_S * 1000:g} ms a frame may wait in the port's buffer is not counted), "
        f"{len(latency)} frames: median {np.median(latency):.0f} ms, p95 {np.percentile(latency, 95):.0f} ms, "
        f"max {latency.max():.0f} ms",
        f"unpaced refresh + repaint: {fastest:.0f} redraws/s, slowest {slowest_ms:.1f} ms, over {TIGHT_RUN_S:g} s",
    ]
    for s in status:
        name = s["device"]
        lines.append(f"{name}: {s.get('frames', 0)} frames, lost {s.get('lost_frames', 0)}, "
                     f"CRC errors {s.get('crc_errors', 0)}; trial file: {len(stored[name].seq)} frames, "
                     f"lost {stored[name].stats.get('lost_frames', 0)}")
    publish("gui_redraw", "live window redraw", lines)


if __name__ == "__main__":
    main()
