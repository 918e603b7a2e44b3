"""The live window on the simulator: what the rep table and the biofeedback tiles show a user."""

import time

import pytest
from pyqtgraph.Qt import QtCore

from forceplate.live.window import COLUMNS, SEVERITY_COLOURS, LiveWindow, run_window
from forceplate.session import Session

URL = "sim://dual-plate?speed=4&reps=4&valgus=2:right:moderate,4:left:severe"
EXPECTED_FLAGS = {1: ("none", "none"), 2: ("none", "moderate"), 3: ("none", "none"), 4: ("severe", "none")}
WAIT_MS = 25_000


@pytest.fixture
def session():
    session = Session([URL])
    session.start()
    yield session
    session.close()


@pytest.fixture
def window(qtbot, session):
    window = LiveWindow(session)
    qtbot.addWidget(window)
    window.show()
    return window


def rep_rows(window) -> dict[int, dict[str, object]]:
    """The rep table as {rep: {column: item}}."""
    table = window.table
    return {int(table.item(row, 0).text()): {name: table.item(row, col) for col, name in enumerate(COLUMNS)}
            for row in range(table.rowCount())}


def reps_finished(window, count: int) -> bool:
    rows = rep_rows(window)
    return len(rows) >= count and all(rows[rep]["Depth m"].text() for rep in range(1, count + 1))


def test_flags_reach_the_rep_table_and_the_indicators(qtbot, window, tmp_path):
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

    window.event_shown.connect(record)
    qtbot.waitUntil(lambda: reps_finished(window, 4), timeout=WAIT_MS)
    window.grab().save(str(tmp_path / "live-window.png"))

    rows = rep_rows(window)
    assert sorted(rows) == [1, 2, 3, 4]
    for rep, (left, right) in EXPECTED_FLAGS.items():
        assert (rows[rep]["Left"].text(), rows[rep]["Right"].text()) == (left, right), rep
        for column, severity in (("Left", left), ("Right", right)):
            assert rows[rep][column].background().color().name() == SEVERITY_COLOURS[severity]
        assert float(rows[rep]["Depth m"].text()) == pytest.approx(0.45, abs=0.05)
        assert not rows[rep]["Rep"].font().bold()  # no rep is under way any more
    assert rows[2]["R phase"].text() in ("descent", "bottom", "ascent")
    assert float(rows[2]["R shift mm"].text()) >= 7.5
    assert float(rows[4]["L shift mm"].text()) >= 12.5

    assert {(rep, side) for rep, side, *_ in shown_at_flag} == {(2, "right"), (4, "left")}
    final = {(rep, side): shown for rep, side, *shown in shown_at_flag}
    severity, state, text, cue = final[(2, "right")]
    assert (severity, state) == ("moderate", "collapse") and "RIGHT" in text and "COLLAPSE" in text
    assert cue == "RIGHT: KNEES OUT"
    severity, state, text, cue = final[(4, "left")]
    assert (severity, state) == ("severe", "collapse") and "LEFT" in text and "KNEES OUT" in cue
    mild = [shown for shown in shown_at_flag if shown[2] == "mild"]
    assert all(state == "mild" for _, _, _, state, _, _ in mild)

    # Each rep starts with both tiles back at ok and its row marked as the one under way.
    assert [rep for rep, _, _ in shown_at_start] == [1, 2, 3, 4]
    for _, states, bold in shown_at_start:
        assert states == {"left": "ok", "right": "ok"} and bold


def test_window_paints_with_live_data(qtbot, window):
    """A paint through Qt and pyqtgraph: this is where a broken binding (PySide6 6.12 on 3.11) aborts."""
    qtbot.waitUntil(lambda: window.feet.analyzer.baseline is not None and window.feet.ring.written > 2000,
                    timeout=WAIT_MS)
    qtbot.wait(100)
    pixmap = window.grab()
    assert not pixmap.isNull() and pixmap.width() > 800
    image = pixmap.toImage()
    sampled = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 23)}
    assert len(sampled) > 10  # drawn content, not a blank surface
    assert len(window.force_curve["left"].getData()[0]) > 0


def test_mark_baseline_and_pause_keys(qtbot, window, session):
    qtbot.waitUntil(lambda: window.feet.analyzer.baseline is not None, timeout=WAIT_MS)
    window.activateWindow()
    qtbot.waitActive(window)
    marks = []
    window.event_shown.connect(lambda event: marks.append(event) if event.kind == "mark" else None)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_M)
    qtbot.waitUntil(lambda: len(marks) == 1, timeout=5000)
    assert marks[0].data["message"] == "mark 1"

    first = window.feet.analyzer.baseline
    qtbot.keyClick(window, QtCore.Qt.Key.Key_B)
    qtbot.waitUntil(lambda: window.feet.analyzer.baseline is not None and window.feet.analyzer.baseline is not first,
                    timeout=WAIT_MS)

    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    # A button's shortcut clicks it with a short animation, not at once.
    qtbot.waitUntil(window.pause_button.isChecked, timeout=2000)
    frozen = window.force_curve["left"].getData()[0].copy()
    qtbot.wait(300)
    assert (window.force_curve["left"].getData()[0] == frozen).all()


def test_run_window_returns_after_duration(qtbot, session):
    started = time.monotonic()
    run_window(session, duration_s=1.0)
    assert session.elapsed_s() >= 1.0
    assert time.monotonic() - started < 10
