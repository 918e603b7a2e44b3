"""The live window: plots, rep table and knee-collapse biofeedback, readable from two metres.

Everything Qt happens in the GUI thread: a QTimer (about 30 Hz) drains the session's events
and peeks its ring buffer; the reader threads never touch a widget. Plot items are made once
and updated with ``setData``, on data thinned to about 100 points per second.
"""

from __future__ import annotations

import signal
import sys
import threading

import numpy as np
import pyqtgraph as pg

# pyqtgraph.Qt is the binding pyqtgraph itself chose, so widgets and plots never mix bindings.
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from forceplate.live.terminal import CUE, describe, format_status
from forceplate.processing.baseline import Baseline, medial_units
from forceplate.processing.streaming import SIDES, Event
from forceplate.session import Feet, Session

REFRESH_MS = 33
TRACE_SECONDS = 10.0
TRAIL_SECONDS = 3.0
PLOT_RATE_HZ = 100.0  # points per second drawn; 1 kHz data is thinned to every 10th sample
FOOT_LENGTH_MM = 260.0  # drawing only: an adult foot, for the outline around the quiet-standing CoP
FRAME_MARGIN_MM = 60.0

SIDE_COLOURS = {"left": "#1f6fd1", "right": "#b03ad6"}
SIDE_LINE_WIDTHS = {"left": 4, "right": 2}  # left under right, wider: equal loads stay two visible lines
SEVERITY_COLOURS = {"none": "#d4ecd0", "mild": "#ffd43b", "moderate": "#ff8c1a", "severe": "#e03131"}
INDICATOR_COLOURS = {**SEVERITY_COLOURS, "none": "#2f9e44"}  # a tile says ok in a strong green
CURRENT_ROW_COLOUR = "#cfe2ff"
INDICATOR_STATE = {"none": "ok", "mild": "mild", "moderate": "collapse", "severe": "collapse"}

COLUMNS = ("Rep", "Left", "L phase", "L shift mm", "Right", "R phase", "R shift mm", "Depth m")
SIDE_COLUMNS = {"left": (1, 2, 3), "right": (4, 5, 6)}  # severity, phase, shift
DEPTH_COLUMN = 7


def _font(points: int, bold: bool = False) -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPointSize(points)
    font.setBold(bold)
    return font


def _style_plot(plot: pg.PlotItem, left_label: str, bottom_label: str | None = None) -> None:
    """Black axes and large ticks on a white background, for reading across a room.

    No grid: on every redraw it costs more than the curves (measured, benchmarks/gui_redraw.py).
    """
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen("k")
        axis.setTextPen("k")
        axis.setStyle(tickFont=_font(12))
    plot.setLabel("left", left_label, **{"font-size": "13pt"})
    if bottom_label:
        plot.setLabel("bottom", bottom_label, **{"font-size": "13pt"})


def _foot_axis(medial_unit: np.ndarray) -> np.ndarray:
    """Heel-to-toe unit vector: the perpendicular of the medial direction that points forward."""
    perpendicular = np.array([-medial_unit[1], medial_unit[0]])
    return perpendicular if perpendicular[1] >= 0 else -perpendicular


def _foot_outline(center: np.ndarray, medial_unit: np.ndarray, width_mm: float) -> np.ndarray:
    """A stylised footprint (closed, (n, 2) mm): narrow heel, wide forefoot, arch on the medial side."""
    half_length = FOOT_LENGTH_MM / 2
    angle = np.linspace(0, 2 * np.pi, 73)
    along = half_length * np.sin(angle)  # heel (-) to toe (+)
    across = (width_mm / 2) * np.cos(angle) * (0.8 + 0.2 * along / half_length)
    arch = 1 - 0.3 * np.exp(-(((along + 0.05 * FOOT_LENGTH_MM) / (0.14 * FOOT_LENGTH_MM)) ** 2))
    across = np.where(across > 0, across * arch, across)
    return center + across[:, None] * medial_unit + along[:, None] * _foot_axis(medial_unit)


def _band(neutral: np.ndarray, medial_unit: np.ndarray, near_mm: float, far_mm: float) -> QtGui.QPolygonF:
    """The strip of the foot between ``near_mm`` and ``far_mm`` of medial shift from neutral."""
    axis = _foot_axis(medial_unit) * FOOT_LENGTH_MM / 2
    corners = [neutral + near_mm * medial_unit - axis, neutral + far_mm * medial_unit - axis,
               neutral + far_mm * medial_unit + axis, neutral + near_mm * medial_unit + axis]
    return QtGui.QPolygonF([QtCore.QPointF(*c) for c in corners])


def _thinned(columns: dict[str, np.ndarray], step: int, rate_hz: float) -> dict[str, np.ndarray]:
    """Every ``step``-th sample, chosen by absolute sample number.

    A fixed stride from the start of a sliding window would pick different samples on every
    redraw and make a noisy trace shimmer; anchoring on the sample number keeps points still.
    """
    if len(columns["t"]) == 0:
        return columns
    first = (-int(round(columns["t"][0] * rate_hz))) % step
    return {name: values[first::step] for name, values in columns.items()}


class SideIndicator(QtWidgets.QLabel):
    """A large LEFT / RIGHT tile: ok (green), mild (yellow) or collapse (orange, red if severe)."""

    def __init__(self, side: str):
        super().__init__()
        self.side = side
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(260, 130)
        self.show_severity("none")

    @property
    def state(self) -> str:
        return INDICATOR_STATE[self.severity]

    def show_severity(self, severity: str) -> None:
        self.severity = severity
        text_colour = "black" if severity == "mild" else "white"
        self.setStyleSheet(f"background: {INDICATOR_COLOURS[severity]}; color: {text_colour}; border-radius: 12px;")
        self.setText(f"<div style='font-size: 22pt'>{self.side.upper()}</div>"
                     f"<div style='font-size: 40pt; font-weight: bold'>{self.state.upper()}</div>")


class LiveWindow(QtWidgets.QMainWindow):
    """The live view of a started session; ``duration_s`` closes it after that much session time."""

    closed = QtCore.Signal()
    event_shown = QtCore.Signal(object)  # an Event, after the window has shown it

    def __init__(self, session: Session, duration_s: float | None = None):
        super().__init__()
        self.session = session
        self.duration_s = duration_s
        # Plots follow the first analysed pair of feet; events come from all of them.
        self.feet: Feet | None = session.feet[0] if session.feet else None
        self.plates = {plate.foot: plate for link in session.links if self.feet is not None and link.feet is self.feet
                       for plate in link.device.profile.plates}
        self._rows: dict[int, int] = {}
        self._current_rep: int | None = None
        self._marks = 0
        self._shown_baseline: Baseline | None = None
        self.setWindowTitle("forceplate live")
        self.resize(1500, 950)

        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.addLayout(self._make_biofeedback())
        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        plots.addWidget(self._make_top_view())
        plots.addWidget(self._make_traces())
        plots.setSizes([560, 940])
        body = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        body.addWidget(plots)
        body.addWidget(self._make_table())
        body.setSizes([560, 240])
        layout.addWidget(body, stretch=1)
        self.setCentralWidget(central)
        self._make_status_bar()
        if self.feet is None:
            self.cue.setText("no calibrated device: recording raw counts only")

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    # --- building ---------------------------------------------------------------------

    def _make_biofeedback(self) -> QtWidgets.QHBoxLayout:
        self.indicators = {side: SideIndicator(side) for side in SIDES}
        self.cue = QtWidgets.QLabel("")
        self.cue.setFont(_font(30, bold=True))
        self.cue.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.audio = QtWidgets.QCheckBox("Beep on a flag")
        self.audio.setFont(_font(12))
        self.audio.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.rep_phase = QtWidgets.QLabel("")
        self.rep_phase.setFont(_font(22))
        self.rep_phase.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        middle = QtWidgets.QVBoxLayout()
        middle.addWidget(self.rep_phase)
        middle.addWidget(self.cue, stretch=1)
        middle.addWidget(self.audio, alignment=QtCore.Qt.AlignmentFlag.AlignCenter)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.indicators["left"], stretch=2)
        row.addLayout(middle, stretch=3)
        row.addWidget(self.indicators["right"], stretch=2)
        return row

    def _make_top_view(self) -> pg.PlotWidget:
        self.top_view = pg.PlotWidget(background="w")
        view = self.top_view.getPlotItem()
        _style_plot(view, "y forward (mm)", "x toward the subject's right (mm)")
        view.setTitle("Top view (subject faces up)", size="14pt", color="k")
        view.setAspectLocked(True)
        for plate in self.plates.values():
            (cx, cy), (w, h) = plate.center_mm, plate.size_mm
            rect = QtWidgets.QGraphicsRectItem(cx - w / 2, cy - h / 2, w, h)
            rect.setPen(pg.mkPen("#868e96", width=2))
            rect.setBrush(pg.mkBrush("#f1f3f5"))
            view.addItem(rect)
            label = pg.TextItem(plate.name.upper(), color="#495057", anchor=(0.5, 0))
            label.setFont(_font(14, bold=True))
            label.setPos(cx, cy + h / 2)
            view.addItem(label)
        self.foot_outline, self.bands, self.trail, self.cop_point, self.neutral_point = {}, {}, {}, {}, {}
        for side in SIDES:
            self.foot_outline[side] = view.plot(pen=pg.mkPen("#495057", width=2))
            self.bands[side] = []
            for severity in ("mild", "moderate", "severe"):
                band = QtWidgets.QGraphicsPolygonItem()
                band.setPen(pg.mkPen(None))
                colour = QtGui.QColor(SEVERITY_COLOURS[severity])
                colour.setAlpha(170)
                band.setBrush(QtGui.QBrush(colour))
                band.setVisible(False)
                view.addItem(band)
                self.bands[side].append(band)
            self.trail[side] = view.plot(pen=pg.mkPen(SIDE_COLOURS[side], width=3))
            self.neutral_point[side] = pg.ScatterPlotItem(symbol="+", size=16, pen=pg.mkPen("#343a40", width=2),
                                                          brush=None)
            self.cop_point[side] = pg.ScatterPlotItem(size=20, pen=pg.mkPen("w", width=2),
                                                      brush=pg.mkBrush(SIDE_COLOURS[side]))
            view.addItem(self.neutral_point[side])
            view.addItem(self.cop_point[side])
        self._draw_feet(None)
        return self.top_view

    def _make_traces(self) -> pg.GraphicsLayoutWidget:
        self.traces = pg.GraphicsLayoutWidget()
        self.traces.setBackground("w")
        self.force_plot = self.traces.addPlot(row=0, col=0)
        _style_plot(self.force_plot, "vertical force (N)")
        self.shift_plot = self.traces.addPlot(row=1, col=0)
        _style_plot(self.shift_plot, "medial shift (mm)", "trial time (s)")
        self.shift_plot.setXLink(self.force_plot)
        # Curves made with name= enter the legend themselves.
        self.force_plot.addLegend(offset=(10, 10), labelTextSize="13pt", labelTextColor="k",
                                  brush=pg.mkBrush(255, 255, 255, 200))
        self.force_curve, self.shift_curve = {}, {}
        for side in SIDES:
            pen = pg.mkPen(SIDE_COLOURS[side], width=SIDE_LINE_WIDTHS[side])
            self.force_curve[side] = self.force_plot.plot(pen=pen, name=side, connect="finite")
            self.shift_curve[side] = self.shift_plot.plot(pen=pen, connect="finite")
        thresholds = self.session.thresholds
        for severity in ("mild", "moderate", "severe"):
            mm = getattr(thresholds, f"{severity}_mm")
            line = pg.InfiniteLine(pos=mm, angle=0, movable=False,
                                   pen=pg.mkPen(SEVERITY_COLOURS[severity], width=2, style=QtCore.Qt.PenStyle.DashLine),
                                   label=f"{severity} {mm:g}", labelOpts={"position": 0.03, "color": "k",
                                                                          "anchors": [(0, 1), (0, 1)]})
            line.label.setFont(_font(11))
            self.shift_plot.addItem(line)
        # A fixed range keeps the threshold lines where the eye expects them; a larger shift clips.
        self.shift_plot.setYRange(-5.0, thresholds.severe_mm * 1.6, padding=0)
        self.shift_plot.enableAutoRange(y=False)
        for plot in (self.force_plot, self.shift_plot):
            plot.enableAutoRange(x=False)
            plot.setMouseEnabled(x=False)
        return self.traces

    def _make_table(self) -> QtWidgets.QTableWidget:
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setFont(_font(13, bold=True))
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setFont(_font(14))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        # The table never takes the keyboard, so B, M and Space always reach the shortcuts.
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        return self.table

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setFont(_font(12))
        self.device_status = QtWidgets.QLabel()
        self.device_status.setFont(_font(10))  # for the operator at the desk, not the athlete
        self.elapsed = QtWidgets.QLabel()
        self.baseline_button = self._button("Capture baseline (B)", "B", self.capture_baseline)
        self.mark_button = self._button("Mark (M)", "M", self.mark)
        self.pause_button = self._button("Pause plots (Space)", "Space", None)
        self.pause_button.setCheckable(True)
        for widget in (self.device_status, self.elapsed, self.baseline_button, self.mark_button, self.pause_button):
            bar.addPermanentWidget(widget)

    def _button(self, text: str, key: str, action) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setShortcut(QtGui.QKeySequence(key))
        # Without focus a button cannot swallow Space, which belongs to the pause shortcut.
        button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        if action is not None:
            button.clicked.connect(action)
        return button

    # --- actions ----------------------------------------------------------------------

    def capture_baseline(self) -> None:
        """Re-take every device's baseline from the next quiet second of standing."""
        for feet in self.session.feet:
            feet.analyzer.capture_baseline()
        self.statusBar().showMessage("stand still: taking a new baseline", 5000)

    def mark(self) -> None:
        self._marks += 1
        self.session.mark(f"mark {self._marks}")

    # --- the 30 Hz tick ---------------------------------------------------------------

    def refresh(self) -> None:
        """Show new events, redraw the plots (unless paused), update the status; close when due."""
        for event in self.session.drain_events():
            self.show_event(event)
        if self.feet is not None:
            if self.feet.analyzer.baseline is not self._shown_baseline:
                self._draw_feet(self.feet.analyzer.baseline)
            if not self.pause_button.isChecked():
                self._draw_plots()
            self.rep_phase.setText(self._rep_phase_text())
        # Colour in the text, not a style sheet: setText skips unchanged text, a style sheet re-polishes.
        colour = "#c92a2a" if self.session.any_disconnected else "black"
        self.device_status.setText(f"<span style='color: {colour}'>{format_status(self.session)}</span>")
        self.elapsed.setText(f"{self.session.elapsed_s():6.1f} s")
        if self.duration_s is not None and self.session.elapsed_s() >= self.duration_s:
            self.close()

    def _rep_phase_text(self) -> str:
        if self._current_rep is None:
            return f"{len(self._rows)} reps done" if self.feet.analyzer.baseline is not None else ""
        return f"rep {self._current_rep} · {self.feet.analyzer.phase}"

    def show_event(self, event: Event) -> None:
        if event.kind == "rep_start":
            self._start_rep(event.rep)
        elif event.kind == "flag":
            self._show_flag(event)
        elif event.kind == "rep_end":
            self._finish_rep(event)
        elif event.kind == "mark":
            self.statusBar().showMessage(f"{event.t_s:.2f} s  {event.data.get('message', '')}", 5000)
        elif event.kind == "device_disconnected":
            self.cue.setText("DEVICE LOST")
        elif event.kind == "device_reconnected" and self.cue.text() == "DEVICE LOST":
            self.cue.setText("")
        line = describe(event)
        if line and event.kind in ("baseline", "device_disconnected", "device_reconnected"):
            self.statusBar().showMessage(line.strip())
        self.event_shown.emit(event)

    def _start_rep(self, rep: int) -> None:
        row = self._row(rep)
        if self._current_rep is not None and self._current_rep in self._rows:
            self._highlight(self._rows[self._current_rep], False)
        self._current_rep = rep
        self._highlight(row, True)
        for indicator in self.indicators.values():
            indicator.show_severity("none")
        self.cue.setText("")

    def _show_flag(self, event: Event) -> None:
        self._set_side(self._row(event.rep), event.side, event.severity, event.phase, event.value)
        if event.rep == self._current_rep:
            self.indicators[event.side].show_severity(event.severity)
            self.cue.setText(f"{event.side.upper()}: {CUE[event.severity]}")
            if self.audio.isChecked():
                QtWidgets.QApplication.beep()

    def _finish_rep(self, event: Event) -> None:
        row = self._row(event.rep)
        data = event.data
        for side in SIDES:
            self._set_side(row, side, data[side]["flag"], data[side]["phase"], data[side]["medial_shift_mm"])
        self._set_cell(row, DEPTH_COLUMN, f"{data['depth_m']:.2f}")
        if event.rep == self._current_rep:
            self._highlight(row, False)
            self._current_rep = None

    # --- the rep table ----------------------------------------------------------------

    def _row(self, rep: int) -> int:
        """The table row of ``rep``, made (no flags yet) on first use."""
        if rep not in self._rows:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self._rows[rep] = row
            self._set_cell(row, 0, str(rep))
            for side in SIDES:
                self._set_side(row, side, "none", None, None)
            self._set_cell(row, DEPTH_COLUMN, "")
            self.table.scrollToBottom()
        return self._rows[rep]

    def _set_cell(self, row: int, column: int, text: str, background: str | None = None) -> None:
        item = self.table.item(row, column)
        if item is None:
            item = QtWidgets.QTableWidgetItem()
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            self.table.setItem(row, column, item)
        item.setText(text)
        if background is not None:
            item.setBackground(QtGui.QColor(background))

    def _set_side(self, row: int, side: str, severity: str, phase: str | None, shift_mm: float | None) -> None:
        severity_col, phase_col, shift_col = SIDE_COLUMNS[side]
        self._set_cell(row, severity_col, severity, SEVERITY_COLOURS[severity])
        self.table.item(row, severity_col).setForeground(QtGui.QColor("white" if severity == "severe" else "black"))
        self._set_cell(row, phase_col, phase or "-")
        self._set_cell(row, shift_col, "-" if shift_mm is None else f"{shift_mm:.1f}")

    def _highlight(self, row: int, current: bool) -> None:
        """Bold text for the rep under way, and a blue tint on the cells severity does not colour."""
        severity_columns = {columns[0] for columns in SIDE_COLUMNS.values()}
        for column in range(len(COLUMNS)):
            item = self.table.item(row, column)
            font = item.font()
            font.setBold(current)
            item.setFont(font)
            if column not in severity_columns:
                item.setBackground(QtGui.QColor(CURRENT_ROW_COLOUR) if current else QtGui.QBrush())

    # --- plots ------------------------------------------------------------------------

    def _foot_centres(self, baseline: Baseline | None) -> dict[str, np.ndarray]:
        """Where each foot is drawn: its quiet-standing CoP, or before a baseline its plate's centre."""
        if baseline is not None:
            return {side: np.asarray(baseline.neutral_cop_mm[side], dtype=float) for side in SIDES}
        return {side: np.asarray(plate.center_mm, dtype=float) for side, plate in self.plates.items()}

    def _draw_feet(self, baseline: Baseline | None) -> None:
        """Foot outlines, neutral points and threshold bands for ``baseline`` (plate centres before one)."""
        self._shown_baseline = baseline
        thresholds = self.session.thresholds
        medial = baseline.medial_unit if baseline else medial_units(self.session.toe_out_deg)
        centres = self._foot_centres(baseline)
        for side in SIDES:
            if side not in centres:
                continue
            neutral = centres[side]
            width = baseline.foot_width_mm if baseline else 100.0
            outline = _foot_outline(neutral, medial[side], width)
            self.foot_outline[side].setData(outline[:, 0], outline[:, 1])
            edges = (thresholds.mild_mm, thresholds.moderate_mm, thresholds.severe_mm,
                     thresholds.severe_mm + (thresholds.severe_mm - thresholds.moderate_mm))
            for band, near, far in zip(self.bands[side], edges[:-1], edges[1:]):
                band.setPolygon(_band(neutral, medial[side], near, far))
                band.setVisible(baseline is not None)
            self.neutral_point[side].setData([neutral[0]] if baseline else [], [neutral[1]] if baseline else [])
        if centres:
            self._frame_feet(np.array(list(centres.values())))
        if baseline is None:
            self.cue.setText("stand still: taking the baseline")
        elif self.cue.text().startswith("stand still"):
            self.cue.setText("")

    def _frame_feet(self, centres: np.ndarray) -> None:
        """Zoom the top view onto the feet: CoP travel is millimetres on plates of tens of centimetres."""
        reach = FOOT_LENGTH_MM / 2 + FRAME_MARGIN_MM
        self.top_view.setRange(xRange=(centres[:, 0].min() - reach / 2, centres[:, 0].max() + reach / 2),
                               yRange=(centres[:, 1].min() - reach, centres[:, 1].max() + reach), padding=0)

    def _draw_plots(self) -> None:
        rate = self.feet.analyzer.rate_hz
        step = max(1, int(round(rate / PLOT_RATE_HZ)))
        recent = _thinned(self.feet.ring.peek(int(TRACE_SECONDS * rate)), step, rate)
        t = recent["t"]
        if len(t) == 0:
            return
        for side in SIDES:
            self.force_curve[side].setData(t, recent[f"fz_{side}"])
            self.shift_curve[side].setData(t, recent[f"shift_{side}"])
            trail = recent[f"cop_{side}"][t >= t[-1] - TRAIL_SECONDS]
            self.trail[side].setData(trail[:, 0], trail[:, 1])
            self.cop_point[side].setData([trail[-1, 0]], [trail[-1, 1]])
        self.force_plot.setXRange(t[-1] - TRACE_SECONDS, t[-1], padding=0)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        self.closed.emit()
        super().closeEvent(event)


def _close_on_ctrl_c(window: LiveWindow):
    """Let Ctrl-C in the terminal close the window; returns the function that undoes it.

    Python runs signal handlers only between bytecodes, which the 30 Hz timer provides; an
    exception raised there would be swallowed by Qt, so the handler closes the window instead.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    return lambda: signal.signal(signal.SIGINT, previous)


def run_window(session: Session, duration_s: float | None) -> None:
    """Show the live window for a started session until it is closed or ``duration_s`` passes."""
    # Qt allows one QApplication: reuse pytest-qt's or a host program's. One made here stays
    # alive without a Python reference (the binding holds it as the application instance).
    if QtWidgets.QApplication.instance() is None:
        QtWidgets.QApplication(sys.argv[:1])
    window = LiveWindow(session, duration_s)
    loop = QtCore.QEventLoop()
    window.closed.connect(loop.quit)
    restore_ctrl_c = _close_on_ctrl_c(window)
    window.show()
    try:
        loop.exec()
    finally:
        restore_ctrl_c()
        window.deleteLater()
