"""Redraw rate of the live window while the simulator streams 1 kHz in real time.

Two numbers: the rate the window's own 30 Hz timer achieves in a normal event loop, and
the most redraws per second possible (refresh + synchronous repaint in a tight loop), which
is the headroom left for slower machines. Writes benchmarks/results/gui_redraw.txt.

    QT_QPA_PLATFORM=offscreen python3 benchmarks/gui_redraw.py
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg  # noqa: E402 - after the platform is chosen
from pyqtgraph.Qt import QT_LIB, QtCore, QtWidgets  # noqa: E402

from forceplate.live.window import LiveWindow  # noqa: E402
from forceplate.session import Session  # noqa: E402

URL = "sim://dual-plate?speed=1&reps=20"
WARM_UP_S = 4.0  # past the baseline, so the medial shift traces carry data
TIMER_RUN_S = 10.0
TIGHT_RUN_S = 5.0
RESULTS = Path(__file__).parent / "results" / "gui_redraw.txt"


def timer_rate(window: LiveWindow, seconds: float) -> tuple[float, float]:
    """Refreshes per second, and CPU cores the whole process used (reader threads included)."""
    ticks = []
    window.timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    loop.exec()
    cores = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    return (len(ticks) - 1) / (ticks[-1] - ticks[0]), cores


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


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["gui_redraw"])
    session = Session([URL])
    session.start()
    try:
        window = LiveWindow(session)
        window.show()
        while session.elapsed_s() < WARM_UP_S:
            app.processEvents()
            time.sleep(0.01)
        achieved, cores = timer_rate(window, TIMER_RUN_S)
        fastest, slowest_ms = tight_rate(app, window, TIGHT_RUN_S)
        stats = session.status()[0]
        window.close()
    finally:
        session.close()
    lines = [
        f"live window redraw, simulator streaming {stats['rate_hz']:g} Hz in real time ({URL})",
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {QT_LIB} "
        f"{QtCore.qVersion()}, pyqtgraph {pg.__version__}, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}",
        f"timer-driven refresh: {achieved:.1f} Hz over {TIMER_RUN_S:g} s (target {1000 / window.timer.interval():.0f} Hz), "
        f"process CPU {cores:.2f} cores (reader thread and live analysis included)",
        f"unpaced refresh + repaint: {fastest:.0f} redraws/s, slowest {slowest_ms:.1f} ms, over {TIGHT_RUN_S:g} s",
        f"frames {stats.get('frames', 0)}, lost {stats.get('lost_frames', 0)}, CRC errors {stats.get('crc_errors', 0)}",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
