"""The live window: what the rep table, the biofeedback tiles, the pressure maps and the
controls show and do.

Most tests give the window a fake session (``tests/fake_session.py``: a simulated set through
the real live analysis, fed as fast as it computes) and drive its refresh themselves; a few
keep the real path end to end (a recorded trial replayed, an unplug, the window on a real X
server, ``run_window``)."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtGui

from forceplate.live.display import debian_package, missing_libraries, window_problem
from forceplate.live.pressure import PressureMap
from forceplate.live.terminal import describe
from forceplate.live.audio import CHANNEL, SAMPLE_RATE_HZ, CuePlayer, tone, wav_bytes
from forceplate.live.window import COLUMNS, NOT_GRADED, SEVERITY_COLOURS, LiveWindow, SideIndicator, _font, run_window
from forceplate.processing.streaming import Event
from forceplate.session import Session
from forceplate.session_view import SessionView
from forceplate.storage.reader import open_trial

from fake_session import FakeSession

URL = "sim://dual-plate?speed=4&reps=4&valgus=2:right:moderate,4:left:severe"
EXPECTED_FLAGS = {1: ("none", "none"), 2: ("none", "moderate"), 3: ("none", "none"), 4: ("severe", "none")}
# the first rep on plates with no stated toe-out teaches the foot axes: not graded, and not shown as passed
EXPECTED_TABLE = {**EXPECTED_FLAGS, 1: (NOT_GRADED, NOT_GRADED)}
WAIT_MS = 25_000


@pytest.fixture
def session():
    """A fake session of URL's set (4 reps: rep 2 right moderate, rep 4 left severe)."""
    return FakeSession(reps=4, valgus="2:right:moderate,4:left:severe")


def shown(qtbot, session, size=None) -> LiveWindow:
    window = LiveWindow(session)
    qtbot.addWidget(window)
    if size:
        window.resize(*size)
    window.show()
    return window


@pytest.fixture
def window(qtbot, session):
    return shown(qtbot, session)


REFRESH_EVERY_S = 0.5  # of the set's time per window refresh: a refresh costs ~10 ms, the set is 30 s


def play(window, session, seconds: float = float("inf"), until=lambda: False) -> None:
    """Feed the fake session block by block, the window refreshed after each as its timer would."""
    fed = 0.0
    while fed < seconds and not until():
        more = session.play(REFRESH_EVERY_S)
        fed += REFRESH_EVERY_S
        window.refresh()
        if not more:
            return


def real_window(qtbot, urls, **kwargs):
    """A window on a started real session of ``urls``; the session is closed after the test."""
    session = Session(urls)
    session.start()
    window = LiveWindow(SessionView(session), **kwargs)
    qtbot.addWidget(window)
    window.show()
    return session, window


def test_the_fake_session_has_the_views_interface(session, insole_session):
    """The window's tests run on the fake: it must offer all the window may read of a real session."""
    public = {name for name in dir(SessionView) if not name.startswith("_")}
    real = Session(["sim://dual-plate"])
    try:
        public |= {name for name in vars(SessionView(real)) if not name.startswith("_")}
    finally:
        real.close()
    for fake in (session, insole_session):
        assert public <= set(dir(fake)), public - set(dir(fake))


def rep_rows(window) -> dict[int, dict[str, object]]:
    """The rep table as {rep: {column: item}}."""
    table = window.table
    return {int(table.item(row, 0).text()): {name: table.item(row, col) for col, name in enumerate(COLUMNS)}
            for row in range(table.rowCount())}


def reps_finished(window, count: int) -> bool:
    rows = rep_rows(window)
    return len(rows) >= count and all(rows[rep]["Depth m"].text() for rep in range(1, count + 1))


def ready_for_keys(qtbot, window, session) -> None:
    """Play until the baseline, then give the window the keyboard."""
    play(window, session, until=lambda: session.baseline is not None)
    assert session.baseline is not None
    window.activateWindow()
    qtbot.waitActive(window)


def shown_events(window, kind: str) -> list:
    """A list that fills with the events of ``kind`` as the window shows them."""
    events = []
    window.event_shown.connect(lambda event: events.append(event) if event.kind == kind else None)
    return events


def test_flags_reach_the_rep_table_and_the_indicators(qtbot, window, session, tmp_path):
    shown_at_flag, shown_at_start = [], []

    def record(event):
        # What a user saw the moment the window had shown this event.
        if event.kind == "flag":
            tile = window.indicators[event.side]
            shown_at_flag.append((event.rep, event.side, event.severity, tile.state, tile.text(), window.cue.text()))
        elif event.kind == "rep_start":
            row = rep_rows(window)[event.rep]
            shown_at_start.append((event.rep, {s: t.state for s, t in window.indicators.items()},
                                   row["Rep"].font().bold()))
            assert row["Left"].text() == row["Right"].text() == (NOT_GRADED if event.rep == 1 else "none")

    window.event_shown.connect(record)
    play(window, session)
    window.grab().save(str(tmp_path / "live-window.png"))

    rows = rep_rows(window)
    assert sorted(rows) == [1, 2, 3, 4]
    for rep, (left, right) in EXPECTED_TABLE.items():
        assert (rows[rep]["Left"].text(), rows[rep]["Right"].text()) == (left, right), rep
        for column, severity in (("Left", left), ("Right", right)):
            assert rows[rep][column].background().color().name() == SEVERITY_COLOURS[severity]
        assert float(rows[rep]["Depth m"].text()) == pytest.approx(0.45, abs=0.05)
        assert not rows[rep]["Rep"].font().bold()  # no rep is under way any more
    for rep, side in ((2, "R"), (4, "L")):
        assert rows[rep][f"{side} onset phase"].text() in ("descent", "bottom", "ascent")
        assert rows[rep][f"{side} peak phase"].text() in ("descent", "bottom", "ascent")
    assert float(rows[2]["R shift mm"].text()) >= 7.5
    assert float(rows[4]["L shift mm"].text()) >= 12.5

    assert {(rep, side) for rep, side, *_ in shown_at_flag} == {(2, "right"), (4, "left")}
    final = {(rep, side): shown for rep, side, *shown in shown_at_flag}
    severity, state, text, cue = final[(2, "right")]
    assert (severity, state) == ("moderate", "collapse") and "RIGHT" in text and "MODERATE" in text
    assert cue == "RIGHT: KNEES OUT"
    severity, state, text, cue = final[(4, "left")]
    assert (severity, state) == ("severe", "collapse") and "LEFT" in text and "KNEES OUT" in cue
    assert "SEVERE" in text and "MODERATE" not in text
    mild = [shown for shown in shown_at_flag if shown[2] == "mild"]
    assert all(state == "mild" for _, _, _, state, _, _ in mild)

    # Each rep starts with both tiles back at ok (the first: learning the feet, not ok) and its
    # row marked as the one under way.
    assert [rep for rep, _, _ in shown_at_start] == [1, 2, 3, 4]
    for rep, states, bold in shown_at_start:
        assert states == dict.fromkeys(("left", "right"), "learning" if rep == 1 else "ok") and bold


@pytest.mark.parametrize("severity, words", [("none", "OK"), ("mild", "MILD"), ("moderate", "MODERATE"),
                                             ("severe", "SEVERE"), (NOT_GRADED, "LEARNING")])
def test_a_tile_says_its_grade_in_words(qtbot, severity, words):
    """Moderate and severe are both a collapse, but a coach must tell them apart without colours."""
    tile = SideIndicator("left")
    qtbot.addWidget(tile)
    tile.show_severity(severity)
    others = {"OK", "MILD", "MODERATE", "SEVERE", "LEARNING"} - {words}
    assert words in tile.text() and not any(f">{w}<" in tile.text() for w in others)


def test_onset_and_peak_phase_in_the_rep_table(qtbot, window, session):
    """The onset phase is the one the cue named when the shift crossed the threshold; it stays at
    rep end, when the peak phase (where the shift was largest) arrives beside it."""
    flags, ends = shown_events(window, "flag"), shown_events(window, "rep_end")
    play(window, session)
    assert reps_finished(window, 4)
    rows = rep_rows(window)
    for rep, side in ((2, "right"), (4, "left")):
        first_flag = next(f for f in flags if (f.rep, f.side) == (rep, side))
        end = next(e for e in ends if e.rep == rep).data[side]
        prefix = side[0].upper()
        assert rows[rep][f"{prefix} onset phase"].text() == end.get("onset_phase", first_flag.phase)
        assert rows[rep][f"{prefix} peak phase"].text() == end.get("peak_phase", end["phase"])
    assert rows[1]["L onset phase"].text() == rows[1]["L peak phase"].text() == "-"  # no flag, no phase


def test_terminal_names_both_phases():
    side = {"medial_shift_mm": 9.8, "flag": "moderate", "phase": "ascent", "onset_s": 8.1}
    data = {"depth_m": 0.45, "start_s": 7.0, "end_s": 9.5, "left": {"medial_shift_mm": 1.0, "flag": "none",
                                                                    "phase": None}}
    before_lead = describe(Event("rep_end", 9.5, rep=3, data={**data, "right": side}))
    assert "right moderate 9.8 mm (peak ascent)" in before_lead and "left none" in before_lead
    named = describe(Event("rep_end", 9.5, rep=3, data={**data, "right": {**side, "onset_phase": "bottom",
                                                                          "peak_phase": "ascent"}}))
    assert "right moderate 9.8 mm (onset bottom, peak ascent)" in named


def test_window_paints_with_live_data(qtbot, window, session):
    """A paint through Qt and pyqtgraph: this is where a broken binding (PySide6 6.12 on 3.11) aborts."""
    play(window, session, until=lambda: session.baseline is not None and session.feet_ring.written > 2000)
    qtbot.wait(100)
    pixmap = window.grab()
    assert not pixmap.isNull() and pixmap.width() > 800
    image = pixmap.toImage()
    sampled = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 23)}
    assert len(sampled) > 10  # drawn content, not a blank surface
    assert len(window.force_curve["left"].getData()[0]) > 0


def test_mark_baseline_and_pause_keys(qtbot, window, session):
    ready_for_keys(qtbot, window, session)
    marks = shown_events(window, "mark")
    qtbot.keyClick(window, QtCore.Qt.Key.Key_M)
    qtbot.waitUntil(lambda: len(marks) == 1, timeout=5000)
    assert marks[0].data["message"] == "mark 1"

    first = session.baseline
    qtbot.keyClick(window, QtCore.Qt.Key.Key_B)
    play(window, session, until=lambda: session.baseline is not None and session.baseline is not first)
    assert session.baseline is not None and session.baseline is not first

    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    # A button's shortcut clicks it with a short animation, not at once.
    qtbot.waitUntil(window.pause_button.isChecked, timeout=2000)
    frozen = window.force_curve["left"].getData()[0].copy()
    play(window, session, seconds=1.0)
    assert (window.force_curve["left"].getData()[0] == frozen).all()


def test_run_window_returns_after_duration(qtbot):
    """run_window on a real session, as the CLI calls it."""
    session = Session([URL])
    session.start()
    started = time.monotonic()
    try:
        run_window(session, duration_s=1.0)
    finally:
        session.close()
    assert session.elapsed_s() >= 1.0
    assert time.monotonic() - started < 10


# --- insoles: the pressure map ---------------------------------------------------------



def test_pressure_map_interpolates_inside_the_outline():
    square = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]])
    sensors = np.array([[25.0, 25.0], [75.0, 75.0]])
    pressure = PressureMap(sensors, square, cell_mm=10.0)
    image = pressure.image(np.array([10.0, 50.0]))
    assert image.shape == (11, 11) and pressure.rect == (0.0, 0.0, 110.0, 110.0)
    inside = np.isfinite(image)
    assert inside[:10, :10].all() and not inside[10, :].any() and not inside[:, 10].any()
    # A weighted mean of the sensors: within their range, each sensor's value near it.
    assert image[inside].min() >= 10.0 and image[inside].max() <= 50.0
    assert image[2, 2] == pytest.approx(10.0, abs=3.0) and image[7, 7] == pytest.approx(50.0, abs=3.0)


GYM_SCREEN = (1600, 1000)  # a gym laptop's screen


@pytest.fixture
def insole_session():
    """A left and a right insole, 3 reps, rep 2 left severe."""
    return FakeSession(reps=3, valgus="2:left:severe", insoles=True)


@pytest.fixture
def insole_window(qtbot, insole_session):
    return shown(qtbot, insole_session, GYM_SCREEN)


def test_insole_session_shows_a_pressure_map_per_foot(qtbot, insole_window, insole_session):
    window, session = insole_window, insole_session
    assert set(window.insoles) == {"left", "right"}
    play(window, session, until=lambda: session.baseline is not None
         and all(np.isfinite(image.image).any() for image in window.pressure_image.values()))
    for foot, insole in window.insoles.items():
        image = window.pressure_image[foot].image
        newtons = insole.sensors.peek()["newtons"]
        kpa = newtons * 1000.0 / session.insoles[foot].layout.sensor_area_mm2
        # Drawn from this foot's sensors: within their range (about half the body weight on each foot)
        shown = image[np.isfinite(image)]
        assert kpa.min() - 1 <= shown.min() and shown.max() <= kpa.max() + 1 and shown.max() > 20
        assert np.isnan(image[0, 0])  # a corner of the rectangle is outside the foot
        # Placed where the session puts that foot's CoP: the left insole left of the midline.
        x, _, width, _ = insole.map.rect
        assert (x + width / 2 < 0) == (foot == "left")
    assert window.pressure_bar.levels()[1] >= max(np.nanmax(i.image) for i in window.pressure_image.values())
    qtbot.wait(200)
    image = window.grab().toImage()
    assert not image.isNull()


# --- recording from the window ---------------------------------------------------------

def test_recording_started_and_stopped_from_the_window(qtbot, window, session, tmp_path):
    """The dialog's file and metadata go to the session's start_recording; the button stops it.
    (What a recording started mid-session stores: tests/test_devices_e2e.py, on the real session.)"""
    ready_for_keys(qtbot, window, session)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.record_dialog is not None and window.record_dialog.isVisible(), timeout=5000)
    dialog = window.record_dialog
    assert dialog.exercise.currentText() == "squat" and dialog.exercise.findText("drop_landing") >= 0
    path = tmp_path / "from-gui.h5"
    dialog.path.setText(str(path))
    dialog.subject.setText("S07")
    dialog.load_kg.setValue(40.0)
    dialog.notes.setText("knee wraps")
    dialog.accept()
    assert session.recording == path
    assert session.recorded == [(str(path), {"subject": "S07", "exercise": "squat", "load_kg": 40.0,
                                             "notes": "knee wraps"})]
    play(window, session, seconds=1.0)
    assert "REC from-gui.h5" in window.recording_status.text()
    window.record_button.click()
    assert session.recording is None and window.recording_status.text() == ""
    assert str(path) in window.statusBar().currentMessage()


def test_threshold_scale_control(qtbot, window, session):
    ready_for_keys(qtbot, window, session)
    shown = shown_events(window, "thresholds")
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Plus)
    qtbot.waitUntil(lambda: window.threshold_scale.value() == pytest.approx(1.1), timeout=2000)
    assert session.thresholds.mild_mm == pytest.approx(3.85) and session.thresholds.severe_mm == pytest.approx(13.75)
    assert window.threshold_lines["moderate"].value() == pytest.approx(8.25)
    play(window, session, seconds=0.2)
    assert len(shown) == 1
    window.threshold_scale.setValue(0.8)
    assert session.thresholds.severe_mm == pytest.approx(10.0)


# --- replay ----------------------------------------------------------------------------

def record_headless(path, url: str, reps: int) -> list:
    """Record ``url`` until ``reps`` reps ended; returns the session's rep_end events."""
    session = Session([url], record_path=path)
    session.start()
    ends, deadline = [], time.monotonic() + WAIT_MS / 1000
    try:
        while len(ends) < reps and time.monotonic() < deadline:
            ends += [event for event in session.drain_events() if event.kind == "rep_end"]
            time.sleep(0.05)
    finally:
        session.close()
    assert len(ends) == reps
    return ends


def test_replay_of_a_recorded_trial_shows_the_same_flags(qtbot, tmp_path):
    path = tmp_path / "recorded.h5"
    recorded = record_headless(path, URL, reps=4)
    live_flags = {e.rep: (e.data["left"]["flag"], e.data["right"]["flag"]) for e in recorded}
    assert live_flags == EXPECTED_FLAGS

    session, window = real_window(qtbot, [f"replay://{path}?speed=4"])
    try:
        assert session.links[0].device.url.startswith("replay://")
        qtbot.waitUntil(lambda: reps_finished(window, 4), timeout=WAIT_MS)
        rows = rep_rows(window)
        assert {rep: (rows[rep]["Left"].text(), rows[rep]["Right"].text()) for rep in rows} == EXPECTED_TABLE
        assert {s: t.state for s, t in window.indicators.items()} == {"left": "collapse", "right": "ok"}
    finally:
        session.close()


# --- an unplugged device ---------------------------------------------------------------

def test_window_stays_responsive_through_an_unplug(qtbot, tmp_path):
    session, window = real_window(qtbot, ["sim://dual-plate?unplug_at=1.5"])
    try:
        window.start_recording(str(tmp_path / "unplugged.h5"), {})
        ticks, statuses, cues = [], [], []

        def tick():
            ticks.append(time.monotonic())
            statuses.append(window.device_status.text())
            cues.append(window.cue.text())

        window.timer.timeout.connect(tick)
        qtbot.waitUntil(lambda: "disconnected" in window.device_status.text(), timeout=WAIT_MS)
        lost_at = time.monotonic()
        qtbot.waitUntil(lambda: "streaming" in window.device_status.text()
                        and "reconnected 1×" in window.device_status.text(), timeout=WAIT_MS)
        back_at = time.monotonic()
        qtbot.wait(500)
        window.stop_recording()
    finally:
        session.close()

    during = [t for t in ticks if lost_at <= t <= back_at]
    # The refresh went on at its pace while the device was away (a loaded 2-core machine
    # stretches a 33 ms tick, never to a stall).
    assert len(during) >= 3 and np.diff(ticks).max() < 1.0
    assert any("#c92a2a" in s and "disconnected" in s for s in statuses)  # shown in red
    assert "DEVICE LOST" in cues and cues[-1] != "DEVICE LOST"
    # The recording went on through the outage, with the missing frames recorded as a gap.
    plate = open_trial(tmp_path / "unplugged.h5").devices["SIM-DP-0001"]
    assert len(plate.gaps) >= 1 and plate.seq[-1] > plate.gaps[0][0]


# --- where the window can and cannot open (the CLI, as a user starts it) ----------------

def forceplate_cli(*args, env_changes: dict, timeout: float = 120):
    """Run ``python3 -m forceplate`` with the environment changed (None: removed)."""
    env = {**os.environ, **{k: v for k, v in env_changes.items() if v is not None}}
    for name in (k for k, v in env_changes.items() if v is None):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "forceplate", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def unused_display() -> str:
    """A display number no X server listens on."""
    number = next(n for n in range(150, 400) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    return f":{number}"


@pytest.mark.skipif(sys.platform != "linux", reason="X11 displays are a Linux matter")
def test_a_display_qt_cannot_use_falls_back_to_the_terminal_view(tmp_path):
    """DISPLAY set, but no X server there (a forwarded display that is gone): Qt would abort
    the process (exit 134) and leave an empty trial; the CLI probes first and goes on in the terminal."""
    path = tmp_path / "squat.h5"
    done = forceplate_cli("demo", "--duration", "3", "--record", str(path),
                          env_changes={"DISPLAY": unused_display(), "QT_QPA_PLATFORM": None, "WAYLAND_DISPLAY": None})
    assert done.returncode == 0, done.stderr
    assert "showing the terminal view" in done.stderr and "the window cannot open" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1  # one line saying why, no Qt noise
    assert "baseline: body weight" in done.stdout  # the terminal view ran the session
    trial = open_trial(path)
    assert trial.complete and len(trial.devices["SIM-DP-0001"].counts) > 2000


def test_missing_xcb_libraries_are_named_with_their_debian_packages():
    absent = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}

    def load(soname):
        if soname in absent:
            raise OSError(f"{soname}: cannot open shared object file")

    assert missing_libraries(load=load) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert [debian_package(s) for s in ("libxcb-icccm.so.4", "libX11.so.6", "libxkbcommon-x11.so.0",
                                        "libxcb-render-util.so.0", "libX11-xcb.so.1")] == [
        "libxcb-icccm4", "libx11-6", "libxkbcommon-x11-0", "libxcb-render-util0", "libx11-xcb1"]
    if sys.platform == "linux":
        problem = window_problem({**os.environ, "DISPLAY": unused_display(), "QT_QPA_PLATFORM": ""}, load=load)
        assert problem.endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1")
    assert window_problem({**os.environ, "QT_QPA_PLATFORM": "offscreen"}) is None


@pytest.fixture
def xvfb_display():
    """A real X server (Xvfb) on a free display; skips when Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb xauth)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as chosen:
            number = chosen.readline().strip()
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.skipif(sys.platform != "linux", reason="Xvfb is a Linux X server")
def test_real_window_on_an_x_server(xvfb_display, tmp_path):
    """The window itself on Qt's xcb platform, started as a user does: no fallback, exit 0."""
    missing = missing_libraries()
    if missing and not os.environ.get("CI"):
        pytest.skip(f"Qt's xcb platform needs {' '.join(debian_package(s) for s in missing)}")
    path = tmp_path / "window.h5"
    done = forceplate_cli("demo", "--duration", "4", "--record", str(path),
                          env_changes={"DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": None})
    assert done.returncode == 0, done.stderr
    assert "terminal view" not in done.stderr and "baseline: body weight" not in done.stdout
    assert open_trial(path).complete


# --- the window at the gym: set summary, TV mode, layout, sound ---------------------------

def test_demo_window_stays_open_unless_a_duration_is_given():
    from forceplate.cli import build_parser
    from forceplate.cli.live import DEMO_DURATION_S, session_duration_s

    parser = build_parser()
    demo, live = parser.parse_args(["demo"]), parser.parse_args(["live", "--device", "sim://dual-plate"])
    assert session_duration_s(demo, headless=False) is None  # someone is looking at it
    assert session_duration_s(demo, headless=True) == DEMO_DURATION_S
    assert session_duration_s(parser.parse_args(["demo", "--duration", "5"]), headless=False) == 5.0
    assert session_duration_s(parser.parse_args(["demo", "--duration", "0"]), headless=True) is None
    assert session_duration_s(live, headless=True) is None


@pytest.fixture
def set_window(qtbot, session):
    """Watching the set at the size of a gym laptop's screen."""
    return shown(qtbot, session, GYM_SCREEN)


def test_set_summary_shows_after_the_set_and_stays_until_the_next(qtbot, set_window, session):
    window = set_window
    play(window, session, until=window.set_summary.isVisible)  # 4 reps and the pause after them
    assert window.set_summary.isVisible()
    text = window.set_summary.text()
    assert text.startswith("Set done: 4 reps")
    assert "left knee in 1 (rep 4)" in text and "right knee in 1 (rep 2)" in text
    assert "Worst: rep 4, left severe" in text
    play(window, session, seconds=1.5)  # the athlete looks: the summary stays
    assert window.set_summary.isVisible() and window.set_summary.text() == text
    window.show_event(Event("rep_start", 1000.0, rep=5))  # the next set begins
    assert not window.set_summary.isVisible()
    assert sorted(rep_rows(window)) == [5]


def test_the_whole_set_fits_the_table(qtbot, set_window):
    """12 reps at 1600 x 1000, the summary showing: every row in view, no scrolling."""
    window = set_window
    window.set_summary.setText("Set done: 12 reps")
    window.set_summary.show()
    none = {"flag": "none", "medial_shift_mm": 1.0, "phase": None}
    for rep in range(101, 113):
        window.show_event(Event("rep_start", rep * 4.0, rep=rep))
        data = {"start_s": rep * 4.0, "end_s": rep * 4.0 + 3, "depth_m": 0.45, "left": none, "right": none}
        window.show_event(Event("rep_end", rep * 4.0 + 3, rep=rep, data=data))
    qtbot.waitUntil(lambda: window.table.verticalScrollBar().maximum() == 0, timeout=2000)
    rows = [row for row in range(window.table.rowCount()) if window.table.item(row, 0).text().startswith("1")]
    last = window.table.visualItemRect(window.table.item(window.table.rowCount() - 1, 0))
    assert len(rows) >= 12 and window.table.viewport().rect().contains(last)


def test_layout_keeps_labels_legend_and_status_readable(qtbot, set_window, session, monkeypatch):
    window = set_window
    monkeypatch.setattr("forceplate.live.window.MESSAGE_MS", 300)
    play(window, session, until=lambda: session.baseline is not None)
    (x0, x1), (y0, y1) = window.top_view.getPlotItem().viewRange()
    for _, label in window.plate_labels:  # inside the view, not cut off at its edge
        bounds = label.mapRectToView(label.boundingRect())
        assert x0 <= bounds.left() and bounds.right() <= x1 and y0 <= bounds.top() and bounds.bottom() <= y1
    assert window.force_plot.legend is None and "left" in window.force_plot.titleLabel.text
    window.capture_baseline()
    assert window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=3000)  # no stale message


def test_tv_mode_shows_tiles_cue_and_rep_count_only(qtbot, window, session):
    ready_for_keys(qtbot, window, session)
    normal_pt = window.cue.font().pointSize()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_F)
    assert window.tv_mode and window.isFullScreen()
    hidden = (window.body, window.toolbar, window.statusBar(), window.audio)
    assert not any(widget.isVisible() for widget in hidden)
    assert all(tile.isVisible() for tile in window.indicators.values())
    assert window.rep_phase.isVisible() and window.cue.isVisible()
    assert window.cue.font().pointSize() >= 2 * normal_pt
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
    assert not window.tv_mode and all(widget.isVisible() for widget in hidden)


def test_a_tile_fits_its_grade_word(qtbot):
    tile = SideIndicator("left")
    qtbot.addWidget(tile)
    tile.resize(300, 200)
    tile.scale = 2.4
    tile.show_severity("moderate")
    size_pt = float(tile.text().split("font-size: ")[2].split("pt")[0])
    wide = QtGui.QFontMetrics(_font(round(size_pt), bold=True)).horizontalAdvance("MODERATE")
    assert wide <= 300


def test_insole_maps_are_readable_and_their_scale_can_be_fixed(qtbot, insole_window, insole_session):
    window = insole_window
    play(window, insole_session, until=lambda: insole_session.baseline is not None and window._pressure_max > 20)
    (x0, x1), _ = window.top_view.getPlotItem().viewRange()
    for insole in window.insoles.values():
        assert insole.map.rect[2] / (x1 - x0) > 0.12  # each map a readable share of the view's width
        for band in window.bands[insole.foot]:  # the threshold strips leave the map visible
            assert band.brush().style() == QtCore.Qt.BrushStyle.NoBrush
    window.pressure_limit.setValue(150.0)
    play(window, insole_session, seconds=0.5)
    assert tuple(window.pressure_bar.levels()) == (0.0, 150.0)  # fixed: not grown past 150
    window.reset_pressure_scale()
    assert window.pressure_limit.value() == 0.0 and window.pressure_bar.levels()[1] > 20


def test_each_side_has_its_own_tone():
    spectrum = {}
    for side in ("left", "right"):
        samples = tone(side, "mild")
        loud = np.abs(samples).max(axis=0)
        assert loud[CHANNEL[side]] > 0.5 and loud[1 - CHANNEL[side]] == 0  # in its own stereo channel
        power = np.abs(np.fft.rfft(samples[:, CHANNEL[side]]))
        spectrum[side] = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE_HZ)[power.argmax()]
    assert spectrum["left"] == pytest.approx(440, abs=10) and spectrum["right"] == pytest.approx(880, abs=10)
    pulses = [int(np.count_nonzero(np.diff((np.abs(tone("left", g)[:, 0]) > 0.01).astype(int)) == 1) > 0)
              for g in ("mild", "moderate", "severe")]
    assert all(pulses)
    assert len(tone("left", "severe")) == 3 * len(tone("left", "mild"))
    assert wav_bytes(tone("right", "moderate"))[:4] == b"RIFF"


class FakePlayer:
    def __init__(self):
        self.played = []

    def play(self, side, severity):
        self.played.append((side, severity))
        return True

    def close(self):
        pass


def test_sound_on_a_flag_plays_the_flagged_side(qtbot, session):
    player = FakePlayer()
    window = LiveWindow(session, audio=True, cue_player=player)
    qtbot.addWidget(window)
    window.show()
    assert window.audio.isChecked()  # --sound turns it on from the start
    play(window, session)
    assert ("right", "moderate") in player.played and ("left", "severe") in player.played
    assert {side for side, _ in player.played} == {"left", "right"}


def test_cue_player_hands_the_side_tone_to_the_system_player(tmp_path):
    """The player command gets the WAV of that side and grade; it is not waited for."""
    log = tmp_path / "played.txt"
    script = ("import sys, wave; f = wave.open(sys.argv[1]); "
              f"open({str(log)!r}, 'a').write(f'{{f.getnchannels()}} {{f.getnframes()}} {{sys.argv[1]}}\\n')")
    player = CuePlayer(player=[sys.executable, "-c", script])
    try:
        assert player.available and player.play("right", "severe")
        deadline = time.monotonic() + 10
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        player.close()
    channels, frames, path = log.read_text().split()
    assert channels == "2" and int(frames) == len(tone("right", "severe")) and path.endswith("right-severe.wav")


def test_terminal_view_names_both_phases_and_sums_up_the_set():
    done = forceplate_cli("demo", "--headless", "--duration", "10", "--device",
                          "sim://dual-plate?speed=8&reps=3&valgus=2:right:moderate", env_changes={})
    assert done.returncode == 0, done.stderr
    flagged = next(line for line in done.stdout.splitlines() if "rep 2 done" in line)
    assert re.search(r"right moderate \d+\.\d mm \(onset (descent|bottom|ascent), peak (descent|bottom|ascent)\)",
                     flagged), flagged
    assert "Set done: 3 reps; flagged: left knee in none, right knee in 1 (rep 2)" in done.stdout
    # the first rep taught the foot axes (no --toe-out): it is not called a pass
    first = next(line for line in done.stdout.splitlines() if "rep 1 done" in line)
    assert "left not graded  right not graded (this rep taught the foot axes)" in first, first
    assert "rep 1 not graded (the foot axes were being learned)" in done.stdout


def test_liblsl_log_lines_stay_out_of_the_terminal_event_view():
    """With --lsl the terminal shows the session's events, not liblsl's INFO lines on stderr
    (unless the user points LSLAPICFG at a configuration of their own)."""
    pytest.importorskip("pylsl")
    done = forceplate_cli("demo", "--headless", "--lsl", "--duration", "3", "--device", "sim://dual-plate?speed=4",
                          env_changes={"LSLAPICFG": None})
    assert done.returncode == 0, done.stderr
    assert "baseline" in done.stdout
    assert not re.search(r"\bINFO\|", done.stdout + done.stderr), done.stderr


# --- the exercise selector (issue 15 item 6) ----------------------------------------------

def test_exercise_selector_shows_a_real_jump_in_its_own_table(qtbot, shared_data, tmp_path):
    """A real countermovement jump fed to the window (a fake session of the trial's feet, as
    the replay gives them): with the exercise chosen, the table has the jump's own columns and
    its one jump, measured as `analyze` measures the file; back to squat, the squat table and
    tiles return as they were."""
    trial = tmp_path / "cmj.h5"
    done = forceplate_cli("import", str(shared_data / "vertical-jumps-fz/Dual-CMJ-Fz.txt"), "-o", str(trial),
                          env_changes={})
    assert done.returncode == 0, done.stderr
    done = forceplate_cli("analyze", str(trial), "--json", env_changes={})
    offline = __import__("json").loads(done.stdout)["reps"][0]
    session = FakeSession(trial=trial)
    window = LiveWindow(session, exercise="countermovement_jump")
    qtbot.addWidget(window)
    window.show()
    assert window.exercise_choice.currentData() == "countermovement_jump"
    assert window.exercise_choice.findData("force_summary") == -1  # no exercise an athlete does
    headers = [window.table.horizontalHeaderItem(i).text() for i in range(window.table.columnCount())]
    assert headers[:6] == ["jump", "type", "take-off s", "landing s", "flight s", "height m"]
    assert not window.indicators["left"].isVisible() and "not applied" in window.cue.text()
    play(window, session, until=lambda: window.table.rowCount() == 1 and window.table.item(0, 4) is not None)
    cells = dict(zip(headers, (window.table.item(0, i).text() for i in range(len(headers)))))
    # live measures the plotted force, low-passed causally: within issue 15's 10 ms of the file's flight
    assert float(cells["flight s"]) == pytest.approx(offline["flight_s"], abs=0.010)
    assert float(cells["height m"]) == pytest.approx(offline["jump_height_m"], abs=0.015)
    # the moments are on the session clock, which starts where the file starts
    assert float(cells["take-off s"]) == pytest.approx(offline["takeoff_s"], abs=0.05)
    window.exercise_choice.setCurrentIndex(window.exercise_choice.findData("squat"))
    assert [window.table.horizontalHeaderItem(i).text() for i in range(window.table.columnCount())] == list(COLUMNS)
    assert window.indicators["left"].isVisible() and window.table.rowCount() == 0


def test_a_port_that_never_answers_says_what_to_check():
    """A serial port with nothing behind it (a pty nobody serves): one line, in the user's words."""
    master, slave = os.openpty()
    try:
        done = forceplate_cli("live", "--device", os.ttyname(slave), "--headless", "--duration", "1", env_changes={})
    finally:
        os.close(master)
        os.close(slave)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "is the device plugged in and switched on, and is this its port?" in done.stderr
    assert "forceplate devices" in done.stderr


@pytest.mark.parametrize("args", [("demo", "--headless", "--duration", "-3"), ("demo", "--headless", "--duration", "nan"),
                                  ("record", "--device", "sim://dual-plate", "-o", "never.h5", "--duration", "inf"),
                                  ("lsl-record", "x", "-o", "never.h5", "--duration", "nan"),
                                  ("lsl-record", "x", "-o", "never.h5", "--duration", "1", "--timeout", "-2")])
def test_a_duration_that_is_no_number_of_seconds_is_refused(args, tmp_path):
    done = subprocess.run([sys.executable, "-m", "forceplate", *args], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "seconds" in done.stderr and not (tmp_path / "never.h5").exists()


def test_quiet_standing_selected_shows_the_sway_of_the_buffer(qtbot):
    """Standing with quiet standing chosen: both feet's and each foot's sway in the table, the
    line above it says over how long (no stale 'cannot analyse' note)."""
    session = FakeSession(reps=1, valgus="")
    window = LiveWindow(session, exercise="quiet_standing")
    qtbot.addWidget(window)
    window.show()
    play(window, session, until=lambda: window.table.rowCount() == 3
         and window.rep_phase.text().startswith("sway of the last"))
    assert [window.table.item(row, 0).text() for row in range(3)] == ["both feet", "left foot", "right foot"]
    header = [window.table.horizontalHeaderItem(i).text() for i in range(window.table.columnCount())]
    path = float(window.table.item(0, header.index("path_length_mm")).text())
    assert path > 0 and "ellipse95_area_mm2" in header


def test_flag_reference_records_both_steps_fits_saves_and_grades_with_it(qtbot, window, session):
    """The window's ``calibrate flag``: each step is a squat trial the session records into the
    lab's folder (here the fake session, so the test writes a simulated trial of each step at
    the path it was asked to record), then the command's own fit, saved with the subject, and
    the window grades with the person's threshold scale."""
    from forceplate.calibration.flag import find_reference
    from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
    from forceplate.sim.squat import Collapse, RepPlan

    def reps(collapse_mm):
        collapse = {foot: Collapse("moderate", collapse_mm) for foot in ("left", "right")} if collapse_mm else {}
        return [RepPlan(1.0, 0.2, 0.8, 0.6, 0.45, -12.0, collapse=dict(collapse)) for _ in range(5)]

    window.open_flag_reference()
    dialog = window.flag_dialog
    dialog.normal_button.click()
    assert not session.recorded and "Name the lifter" in dialog.status.text()
    dialog.subject.setText("P07")
    assert not dialog.knees_in_button.isEnabled() and not dialog.fit_button.isEnabled()
    for step, collapse_mm, seed, button in (("normal", None, 11, dialog.normal_button),
                                            ("knees_in", 10.0, 12, dialog.knees_in_button)):
        button.click()
        path, metadata = session.recorded[-1]
        assert session.recording == path and metadata["subject"] == "P07" and metadata["exercise"] == "squat"
        assert path.parent.name == "trials" and step in path.name
        window.refresh()
        assert "Stop recording" in window.record_button.text() and path.name in window.recording_status.text()
        write_simulated_trial(path, SimulatedTrial(subject="P07", seed=seed, rep_plans=reps(collapse_mm)))
    dialog.fit_button.click()
    reference = find_reference("P07")
    assert reference is not None and dialog.reference == reference, dialog.status.text()
    assert "Saved" in dialog.status.text() and session.recording is None
    assert session.thresholds == reference.thresholds()
    assert [Path(t.split(" reps")[0]).name for t in reference.normal_trials + reference.knees_in_trials] == [
        p.name for p, _ in session.recorded]


def test_flag_reference_never_stops_a_recording_it_did_not_start(qtbot, window, session, tmp_path):
    window.start_recording(str(tmp_path / "operator.h5"), {"subject": "P07"})
    window.open_flag_reference()
    dialog = window.flag_dialog
    dialog.subject.setText("P07")
    dialog.normal_button.click()
    assert session.recording == tmp_path / "operator.h5" and len(session.recorded) == 1
    assert "stop it first" in dialog.status.text()


def test_the_bands_and_the_shift_trace_start_at_the_lifters_normal(qtbot, window, session):
    """Live grades a foot by how far its shift exceeds the lifter's normal rep, so the window
    draws what is graded: each foot's threshold bands that far beyond its neutral CoP, and the
    trace as the shift over the normal (drawn from zero, a lifter whose normal reps move 12 mm
    toward the arch saw the trace past "severe" with no flag)."""
    play(window, session, until=lambda: reps_finished(window, 1))
    session._normal = dict.fromkeys(("left", "right"), 0.0)
    window.refresh()
    from_standing = window.shift_curve["left"].getData()[1]
    session._normal = {"left": 12.0, "right": 0.0}  # as the analyzer reports once reps have taught it
    window.refresh()
    baseline = session.baseline
    for side, normal in session._normal.items():
        mild_band = window.bands[side][0].polygon()
        near = np.array([mild_band[0].x(), mild_band[0].y()])
        offset = (near - np.asarray(baseline.neutral_cop_mm[side])) @ np.asarray(baseline.medial_unit[side])
        assert offset == pytest.approx(normal + session.thresholds.mild_mm)
    drawn = window.shift_curve["left"].getData()[1]
    assert np.isfinite(from_standing).sum() > 100  # reps' shifts, not the NaN before the first
    np.testing.assert_allclose(drawn, from_standing - 12.0)
