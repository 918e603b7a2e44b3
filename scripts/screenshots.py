"""Regenerates the screenshots in docs/ from the running product (README shows them).

    xvfb-run -a -s "-screen 0 1920x1080x24" python3 scripts/screenshots.py [--only NAME ...]

The windows are real ones on Qt's xcb platform under Xvfb (Debian: xvfb), grabbed once
they show what the picture is of; the reports are rendered by headless Chromium (Debian:
chromium). The real-jump pictures need ../shared/data (skipped without it). Look at every
PNG it writes before committing it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SHARED_DATA = Path(os.environ.get("FORCEPLATE_SHARED_DATA") or ROOT.parent / "shared" / "data")
WINDOW_SIZE = (1600, 1000)  # the size issue 17 asks the rep table to fit at
WAIT_S = 90.0
CHROMIUM = ("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from pyqtgraph.Qt import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])


def _wait(app, until, what: str, settle: int = 20) -> None:
    deadline = time.monotonic() + WAIT_S
    while not until():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: gave up waiting for {what}")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(settle):  # a few more refreshes so the plots show the moment
        app.processEvents()
        time.sleep(0.03)


def _window(session, **options):
    from forceplate.live.window import LiveWindow

    window = LiveWindow(session, **options)
    window.resize(*WINDOW_SIZE)
    window.show()
    return window


def _save(window, name: str) -> None:
    path = DOCS / name
    window.grab().save(str(path))
    print(path)


def live_window(app) -> None:
    """The window at the end of a set: the summary, the whole set in the table."""
    from forceplate.session import Session

    session = Session(["sim://dual-plate?speed=4&reps=8&seed=5&valgus=3:right:moderate,6:left:mild,8:left:severe"])
    session.start()
    try:
        window = _window(session)
        _wait(app, lambda: window.set_summary.isVisible(), "the set summary")
        _save(window, "live-window.png")
    finally:
        session.close()


def _flagged(app, window, side: str, severity: str) -> None:
    """Until the tile of ``side`` says ``severity`` (the flag on screen, mid-rep)."""
    _wait(app, lambda: window.indicators[side].severity == severity, f"a {severity} {side} flag", settle=4)


def insoles(app) -> None:
    """Pressure insoles during a flagged rep."""
    from forceplate.session import Session

    session = Session([f"sim://insole?foot={foot}&speed=2&reps=3&seed=2&valgus=2:left:severe" for foot in ("left", "right")])
    session.start()
    try:
        window = _window(session)
        _flagged(app, window, "left", "severe")
        _save(window, "live-window-insoles.png")
    finally:
        session.close()


def tv_mode(app) -> None:
    """TV mode during a moderate flag on the left."""
    from forceplate.session import Session

    session = Session(["sim://dual-plate?speed=2&reps=3&seed=3&valgus=2:left:moderate"])
    session.start()
    try:
        window = _window(session)
        window.set_tv_mode(True)
        _flagged(app, window, "left", "moderate")
        _save(window, "live-tv.png")
    finally:
        session.close()


def _imported(source: Path, folder: Path) -> Path | None:
    if not source.is_file():
        print(f"screenshots: {source} not present, skipped", file=sys.stderr)
        return None
    trial = folder / (source.stem + ".h5")
    subprocess.run([sys.executable, "-m", "forceplate", "import", str(source), "-o", str(trial)], check=True,
                   capture_output=True)
    return trial


def live_jump(app) -> None:
    """The exercise selector on a replayed real countermovement jump: the jump's own table."""
    from forceplate.session import Session

    with tempfile.TemporaryDirectory() as folder:
        trial = _imported(SHARED_DATA / "vertical-jumps-fz/Dual-CMJ-Fz.txt", Path(folder))
        if trial is None:
            return
        session = Session([f"replay://{trial}?speed=1"])
        session.start()
        try:
            window = _window(session, exercise="countermovement_jump")
            _wait(app, lambda: window.table.rowCount() == 1, "the jump in the table")
            _save(window, "live-window-jump.png")
        finally:
            session.close()


def _page(html: Path, name: str, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([*CHROMIUM, f"--user-data-dir={profile}", f"--window-size=1000,{height}",
                        f"--screenshot={DOCS / name}", html.as_uri()], check=True, capture_output=True, timeout=120)
    print(DOCS / name)


def report(app) -> None:
    """The top of a squat report: 8 reps at 60 kg, the left knee caving in on the last three."""
    from forceplate.library.simulated import SimulatedTrial, write_simulated_trial

    with tempfile.TemporaryDirectory() as folder:
        trial = write_simulated_trial(Path(folder) / "P07-squat-60kg.h5", SimulatedTrial(
            subject="P07", created="2026-12-01T08:48:21+00:00", load_kg=60, reps=8, seed=4,
            valgus={6: ("left", "moderate"), 7: ("left", "mild"), 8: ("left", "severe")}))
        page = trial.with_suffix(".html")
        # run beside the trial: the report names the file as the user typed it
        subprocess.run([sys.executable, "-m", "forceplate", "analyze", trial.name, "--report", page.name], check=True,
                       capture_output=True, cwd=folder)
        _page(page, "report.png", 1500)


def jump_report(app) -> None:
    """The report of a real countermovement jump: its phases and its own table."""
    with tempfile.TemporaryDirectory() as folder:
        trial = _imported(SHARED_DATA / "vertical-jumps-fz/Dual-CMJ-Fz.txt", Path(folder))
        if trial is None:
            return
        page = trial.with_suffix(".html")
        subprocess.run([sys.executable, "-m", "forceplate", "analyze", trial.name, "--report", page.name], check=True,
                       capture_output=True, cwd=folder)
        _page(page, "report-jump.png", 900)


SHOTS = {"live-window": live_window, "insoles": insoles, "tv": tv_mode, "live-jump": live_jump, "report": report,
         "jump-report": jump_report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=SHOTS, help="these pictures only")
    args = parser.parse_args()
    app = _app()
    for name in args.only or SHOTS:
        SHOTS[name](app)


if __name__ == "__main__":
    main()
