"""The live window: plots, rep table and knee-collapse biofeedback, readable from two metres.

Everything Qt happens in the GUI thread: a QTimer (about 33 Hz) drains the session's events
and peeks its ring buffers; the reader threads never touch a widget. Plot items are made once
and updated with ``setData``, on data thinned to about 50 points per second. The session
is changed only through its thread-safe calls (baseline, mark, thresholds, recording).
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg

# pyqtgraph.Qt is the binding pyqtgraph itself chose, so widgets and plots never mix bindings.
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from forceplate.errors import ForceplateError
from forceplate.events import EventKind
from forceplate.exercises import lookup as lookup_exercise
from forceplate.exercises import registry as exercises
from forceplate.exercises.model import Options
from forceplate.live.audio import CuePlayer
from forceplate.live.exercise_feed import LiveExercise
from forceplate.live.flag_dialog import FlagReferenceDialog
from forceplate.live.pressure import FOOT_LENGTH_MM, PressureMap, foot_outline
from forceplate.live.terminal import CUE, describe, set_summary, side_phases
from forceplate.processing.baseline import DEFAULT_FOOT_WIDTH_MM, Baseline, foot_axis, medial_units
from forceplate.processing.forces import insole_cop_to_lab
from forceplate.processing.streaming import SIDES, Event
from forceplate.processing.valgus import Thresholds
from forceplate.reporting.exercise_table import columns as exercise_columns
from forceplate.reporting.numbers import DECIMALS, number
from forceplate.session_view import InsoleSensors, SessionView

REFRESH_MS = 30  # 33 Hz: a late tick still leaves the redraw rate above 30 fps
TRACE_SECONDS = 10.0
TRAIL_SECONDS = 3.0
# Points per second drawn: 1 kHz data is thinned to every 20th sample. The 10 s traces span
# about 800 px (1800 in TV mode), so 500 points per curve still put one every 2-4 px or less, and a
# squat's force and shift change over tenths of a second; 100 a second cost a fifth more of
# the window's paint time (issue 14: redraws with one core busy elsewhere).
PLOT_RATE_HZ = 50.0
FRAME_MARGIN_MM = 60.0

SIDE_COLOURS = {"left": "#1f6fd1", "right": "#b03ad6"}
SIDE_LINE_WIDTHS = {"left": 4, "right": 2}  # left under right, wider: equal loads stay two visible lines
# NOT_GRADED: a rep the analysis could not grade yet (it teaches the foot axes): not "none",
# which says the knee was judged and stayed in line
NOT_GRADED = "not graded"
SEVERITY_COLOURS = {"none": "#d4ecd0", "mild": "#ffd43b", "moderate": "#ff8c1a", "severe": "#e03131",
                    NOT_GRADED: "#e9ecef"}
INDICATOR_COLOURS = {**SEVERITY_COLOURS, "none": "#2f9e44", NOT_GRADED: "#868e96"}  # a tile says ok in a strong green
CURRENT_ROW_COLOUR = "#cfe2ff"
INDICATOR_STATE = {"none": "ok", "mild": "mild", "moderate": "collapse", "severe": "collapse", NOT_GRADED: "learning"}
# What a tile says: the grade in words, and under it what the grade means for the knee.
INDICATOR_WORDS = {"none": ("OK", ""), "mild": ("MILD", "knee drifting in"),
                   "moderate": ("MODERATE", "knee collapse"), "severe": ("SEVERE", "knee collapse"),
                   NOT_GRADED: ("LEARNING", "this rep learns the feet")}
PRESSURE_COLOURMAP = "turbo"
SENSOR_DOT_MM = 2.5  # radius of an insole sensor's dot on the pressure map
THRESHOLD_SCALES = (0.5, 3.0, 0.1)  # the threshold-scale control: minimum, maximum, step
RATE_WINDOW_S = 1.0  # the status bar's sample rates are frames counted over this long
SET_PAUSE_S = 8.0  # standing this long (device time) after a rep ends the set: its summary shows
MESSAGE_MS = 8000  # status-bar messages go after this long: a stale one would mislead
ROW_HEIGHTS = (22, 34)  # the rep table's rows shrink within these (px) to show the whole set
TILE_PADDING_PX = 16  # room left each side of a tile's grade word
TV_SCALE = 2.4  # fonts in TV mode, readable from 3-4 m on a 1080p screen
EXERCISE_ANALYSIS_S = 1.0  # a non-squat exercise's buffer is measured this often (session time)

# Two phases per side: when the held shift first crossed the mild threshold (what the live cue
# named) and where it was largest; they differ when a shift starts in one phase and grows in the next.
COLUMNS = ("Rep", "Left", "L onset phase", "L peak phase", "L shift mm",
           "Right", "R onset phase", "R peak phase", "R shift mm", "Depth m")
SIDE_COLUMNS = {"left": (1, 2, 3, 4), "right": (5, 6, 7, 8)}  # severity, onset phase, peak phase, shift
DEPTH_COLUMN = 9


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


def _stated_toe_out(toe_out_deg) -> dict[str, float]:
    """Per foot, the set-up's toe-out (degrees); unstated (None: learnt from the reps), the feet
    are drawn parallel until the first baseline brings the axes."""
    if toe_out_deg is None:
        return dict.fromkeys(SIDES, 0.0)
    if isinstance(toe_out_deg, dict):
        return {side: float(toe_out_deg[side]) for side in SIDES}
    return dict.fromkeys(SIDES, float(toe_out_deg))


def _band(neutral: np.ndarray, medial_unit: np.ndarray, near_mm: float, far_mm: float) -> QtGui.QPolygonF:
    """The strip of the foot between ``near_mm`` and ``far_mm`` of medial shift from neutral."""
    axis = foot_axis(medial_unit) * FOOT_LENGTH_MM / 2
    corners = [neutral + near_mm * medial_unit - axis, neutral + far_mm * medial_unit - axis,
               neutral + far_mm * medial_unit + axis, neutral + near_mm * medial_unit + axis]
    return QtGui.QPolygonF([QtCore.QPointF(*c) for c in corners])


def _marker(path: QtGui.QPainterPath, pen: QtGui.QPen, brush: QtGui.QBrush) -> QtWidgets.QGraphicsPathItem:
    """A marker of a fixed size on screen (``path`` in pixels about its point), placed by :func:`_place`.

    A ScatterPlotItem of one point cost about 0.5 ms of Python per paint (its bounds, masks and
    fragments), four of them a quarter of the top view's paint, 30 times a second.
    """
    item = QtWidgets.QGraphicsPathItem(path)
    item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
    item.setPen(pen)
    item.setBrush(brush)
    item.setVisible(False)
    return item


def _place(marker: QtWidgets.QGraphicsItem, point_mm) -> None:
    """Show ``marker`` at ``point_mm`` (lab x, y), or hide it for None."""
    if point_mm is not None:
        marker.setPos(float(point_mm[0]), float(point_mm[1]))
    marker.setVisible(point_mm is not None)


class InsoleView:
    """Where an insole's sensors and outline are drawn (lab frame, mm), and its pressure map."""

    def __init__(self, insole: InsoleSensors):
        self.sensors = insole.ring
        self.foot = insole.foot
        layout = insole.layout
        # The insole frame placed in the lab as the session places its CoP (insole_cop_to_lab).
        self.sensors_mm = insole_cop_to_lab(layout.sensors_mm, self.foot, layout)
        self.centre_mm = insole_cop_to_lab(np.array([[0.0, layout.foot_length_mm / 2]]), self.foot, layout)[0]
        medial = np.array([1.0 if self.foot == "left" else -1.0, 0.0])
        self.outline_mm = foot_outline(self.centre_mm, medial, layout.foot_width_mm, layout.foot_length_mm)
        self.map = PressureMap(self.sensors_mm, self.outline_mm)
        # Pressure (kPa = 1000 N/mm^2) where the profile gives sensor areas, else force per sensor.
        area = layout.sensor_area_mm2
        self.scale = 1000.0 / area if area is not None else np.ones(len(self.sensors_mm))
        self.unit = "kPa" if area is not None else "N per sensor"
        self.shown = -1  # sensor samples written when last drawn

    def newest(self) -> np.ndarray | None:
        """The newest sample's values in :attr:`unit`, or None when nothing new arrived."""
        ring = self.sensors
        if ring.written == self.shown or ring.written == 0:
            return None
        self.shown = ring.written
        return ring.peek(1)["newtons"][-1] * self.scale


class RecordDialog(QtWidgets.QDialog):
    """Start a recording: the trial file and what is stored with it (subject, load, notes)."""

    def __init__(self, parent: QtWidgets.QWidget, exercise: str = "squat"):
        super().__init__(parent)
        self.setWindowTitle("Record a trial")
        self.path = QtWidgets.QLineEdit(str(Path.cwd() / f"trial-{dt.datetime.now():%Y%m%d-%H%M%S}.h5"))
        self.path.setMinimumWidth(420)
        browse = QtWidgets.QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        file_row = QtWidgets.QHBoxLayout()
        file_row.addWidget(self.path, stretch=1)
        file_row.addWidget(browse)
        self.subject = QtWidgets.QLineEdit()
        # the known exercises to choose from (the window's selection first); a lab's own name may be typed
        self.exercise = QtWidgets.QComboBox()
        self.exercise.setEditable(True)
        self.exercise.addItems(list(exercises()))
        self.exercise.setCurrentText(exercise)
        self.load_kg = QtWidgets.QDoubleSpinBox()
        self.load_kg.setRange(0.0, 500.0)
        self.load_kg.setDecimals(1)
        self.load_kg.setSuffix(" kg")
        self.notes = QtWidgets.QLineEdit()
        form = QtWidgets.QFormLayout(self)
        form.addRow("File", file_row)
        form.addRow("Subject", self.subject)
        form.addRow("Exercise", self.exercise)
        form.addRow("External load", self.load_kg)
        form.addRow("Notes", self.notes)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Start recording")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _choose(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Record to", self.path.text(), "Trials (*.h5)")
        if path:
            self.path.setText(path)

    def metadata(self) -> dict:
        """The trial attributes, as ``forceplate record`` stores them (an empty subject is left out)."""
        return {"subject": self.subject.text().strip() or None, "exercise": self.exercise.currentText().strip(),
                "load_kg": self.load_kg.value(), "notes": self.notes.text()}


class SideIndicator(QtWidgets.QLabel):
    """A large LEFT / RIGHT tile: the grade in words on its colour (ok green, mild yellow,
    moderate orange, severe red), so the grade reads without telling orange from red."""

    def __init__(self, side: str):
        super().__init__()
        self.side = side
        self.scale = 1.0  # of the font sizes: TV_SCALE in TV mode
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
        grade, meaning = INDICATOR_WORDS[severity]
        k = self.scale
        # The grade as large as the tile allows: MODERATE in TV type is wider than a tile.
        grade_pt = 40 * k
        wide = QtGui.QFontMetrics(_font(round(grade_pt), bold=True)).horizontalAdvance(grade)
        grade_pt *= min(1.0, (self.width() - 2 * TILE_PADDING_PX) / max(wide, 1))
        self.setText(f"<div style='font-size: {22 * k:.0f}pt'>{self.side.upper()}</div>"
                     f"<div style='font-size: {grade_pt:.0f}pt; font-weight: bold'>{grade}</div>"
                     f"<div style='font-size: {16 * k:.0f}pt'>{meaning or '&nbsp;'}</div>")

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.show_severity(self.severity)


class LiveWindow(QtWidgets.QMainWindow):
    """The live view of a started session (read through its :class:`SessionView`, or any object
    with that interface); ``duration_s`` closes it after that much session time."""

    closed = QtCore.Signal()
    event_shown = QtCore.Signal(object)  # an Event, after the window has shown it

    def __init__(self, session: SessionView, duration_s: float | None = None, audio: bool = False,
                 cue_player: CuePlayer | None = None, exercise: str = "squat"):
        super().__init__()
        self.session = session
        self.duration_s = duration_s
        self.plates = session.plates
        self._rows: dict[int, int] = {}
        self._onset_phase: dict[tuple[int, str], str] = {}  # (rep, side) -> phase of its first flag
        self._current_rep: int | None = None
        self._marks = 0
        self._shown_baseline: Baseline | None = None
        self._shown_normal: dict = dict.fromkeys(SIDES, 0.0)  # the lifter's normal the bands and trace start from
        self.newest_drawn_s = float("nan")  # trial time (s) of the newest sample the traces show
        self.insoles = {foot: InsoleView(insole) for foot, insole in session.insoles.items()}
        self._pressure_max = 1.0  # top of the pressure colour scale: the highest value seen, so colours compare across reps
        self._set_reps: list[Event] = []  # rep_end events of the set under way (or just finished)
        self._set_shown = False  # its summary is on screen
        self.cue_player = cue_player
        self.tv_mode = False
        self._rates: dict[str, tuple[float, int, float]] = {}  # device -> (host s, frames, Hz)
        self._recording_shown: Path | None = None  # the recording the status bar times (started here or not)
        self._recording_since_s = 0.0
        self.record_dialog: RecordDialog | None = None
        self.flag_dialog: FlagReferenceDialog | None = None
        # The control's scale is relative to the default thresholds (what --threshold-scale scales).
        self._threshold_scale0 = session.thresholds.mild_mm / Thresholds().mild_mm
        self._unscaled_thresholds = session.thresholds.scaled(1.0 / self._threshold_scale0)
        self.setWindowTitle("forceplate live")
        self.resize(1500, 950)

        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.addLayout(self._make_biofeedback())
        self.set_summary = QtWidgets.QLabel()
        self.set_summary.setFont(_font(18, bold=True))
        self.set_summary.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.set_summary.setWordWrap(True)
        self.set_summary.setStyleSheet("background: #e7f5ff; color: #1c3d5a; border-radius: 8px; padding: 6px;")
        self.set_summary.hide()
        layout.addWidget(self.set_summary)
        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        plots.addWidget(self._make_top_view())
        plots.addWidget(self._make_traces())
        # Insole pressure maps need the room to be read; plates' CoP traces need less than the traces.
        plots.setSizes([760, 840] if self.insoles else [560, 940])
        self.body = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.body.addWidget(plots)
        self.body.addWidget(self._make_table())
        self.body.setSizes([480, 370])
        layout.addWidget(self.body, stretch=1)
        self.setCentralWidget(central)
        self.live_exercise: LiveExercise | None = None  # the selected exercise, when not a squat
        self._exercise_measured_s = -np.inf
        self._make_controls()
        self._make_status_bar()
        self.audio.setChecked(audio)
        self.set_exercise(exercise)
        for key in ("F", "F11"):
            QtGui.QShortcut(QtGui.QKeySequence(key), self).activated.connect(lambda: self.set_tv_mode(not self.tv_mode))
        QtGui.QShortcut(QtGui.QKeySequence("Escape"), self).activated.connect(lambda: self.set_tv_mode(False))
        if not session.analysed:
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
        self.cue.setWordWrap(True)  # a long cue in TV type wraps instead of widening the window
        self.audio = QtWidgets.QCheckBox("Sound on a flag (left low, right high)")
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
        self.plate_labels: list[tuple[float, pg.TextItem]] = []  # (plate centre x mm, label)
        for plate in self.plates.values():
            (cx, cy), (w, h) = plate.center_mm, plate.size_mm
            rect = QtWidgets.QGraphicsRectItem(cx - w / 2, cy - h / 2, w, h)
            rect.setPen(pg.mkPen("#868e96", width=2))
            rect.setBrush(pg.mkBrush("#f1f3f5"))
            view.addItem(rect)
            # Placed inside the framed view by _frame_feet: at the plate's edge it was cut off.
            label = pg.TextItem(plate.name.upper(), color="#495057", anchor=(0.5, 1))
            label.setFont(_font(14, bold=True))
            view.addItem(label)
            self.plate_labels.append((cx, label))
        self.pressure_image = {}
        for foot, insole in self.insoles.items():
            # An image of the final shape first: setRect scales by the image's size in cells.
            image = pg.ImageItem(np.full(insole.map.shape, np.nan), levels=(0.0, self._pressure_max))
            image.setRect(QtCore.QRectF(*insole.map.rect))
            view.addItem(image)
            # The sensors as one static path: a scatter item would cost Python work on every paint.
            dots = QtGui.QPainterPath()
            for x, y in insole.sensors_mm:
                dots.addEllipse(QtCore.QPointF(x, y), SENSOR_DOT_MM, SENSOR_DOT_MM)
            sensors = QtWidgets.QGraphicsPathItem(dots)
            sensors.setPen(pg.mkPen(None))
            sensors.setBrush(pg.mkBrush(255, 255, 255, 160))
            view.addItem(sensors)
            self.pressure_image[foot] = image
        if self.insoles:
            self.pressure_bar_unit = " / ".join(sorted({insole.unit for insole in self.insoles.values()}))
            self.pressure_bar = pg.ColorBarItem(values=(0, self._pressure_max), colorMap=PRESSURE_COLOURMAP,
                                                label=self.pressure_bar_unit, interactive=False, width=15)
            self.pressure_bar.setImageItem(list(self.pressure_image.values()), insert_in=view)
        self.foot_outline, self.bands, self.trail, self.cop_point, self.neutral_point = {}, {}, {}, {}, {}
        for side in SIDES:
            self.foot_outline[side] = view.plot(pen=pg.mkPen("#495057", width=2))
            self.bands[side] = []
            for severity in ("mild", "moderate", "severe"):
                band = QtWidgets.QGraphicsPolygonItem()
                colour = QtGui.QColor(SEVERITY_COLOURS[severity])
                if side in self.insoles:  # over a pressure map: its edges only, the map stays readable
                    band.setPen(pg.mkPen(colour, width=2, style=QtCore.Qt.PenStyle.DashLine))
                else:
                    band.setPen(pg.mkPen(None))
                    colour.setAlpha(170)
                    band.setBrush(QtGui.QBrush(colour))
                band.setVisible(False)
                view.addItem(band)
                self.bands[side].append(band)
            self.trail[side] = view.plot(pen=pg.mkPen(SIDE_COLOURS[side], width=3))
            plus = QtGui.QPainterPath()
            for a, b in (((-8, 0), (8, 0)), ((0, -8), (0, 8))):
                plus.moveTo(*a)
                plus.lineTo(*b)
            self.neutral_point[side] = _marker(plus, pg.mkPen("#343a40", width=2), QtGui.QBrush())
            dot = QtGui.QPainterPath()
            dot.addEllipse(QtCore.QPointF(0, 0), 10, 10)
            self.cop_point[side] = _marker(dot, pg.mkPen("w", width=2), pg.mkBrush(SIDE_COLOURS[side]))
            view.addItem(self.neutral_point[side])
            view.addItem(self.cop_point[side])
        self._draw_feet(None)
        return self.top_view

    def _make_traces(self) -> pg.GraphicsLayoutWidget:
        self.traces = pg.GraphicsLayoutWidget()
        self.traces.setBackground("w")
        self.force_plot = self.traces.addPlot(row=0, col=0)
        _style_plot(self.force_plot, "force (N)")  # short: it stands beside the shift axis label
        self.force_plot.getAxis("bottom").setStyle(showValues=False)  # the shift plot's time axis serves both
        self.shift_plot = self.traces.addPlot(row=1, col=0)
        # two lines: in one, the label runs longer than a laptop-sized plot is tall, into the force axis above
        # the shift over the lifter's normal, where the grades (and the threshold lines) start
        _style_plot(self.shift_plot, "medial shift<br>over normal (mm)", "seconds ago")
        self.shift_plot.setXLink(self.force_plot)
        # The legend is the title, above the plot: inside it, it covered the trace.
        self.force_plot.setTitle("  ".join(f"<span style='color: {SIDE_COLOURS[side]}; font-size: 14pt; "
                                           f"font-weight: bold'>━━ {side}</span>" for side in SIDES))
        # A line at 0 N keeps zero in the force axis's automatic range: standing still it would
        # otherwise zoom onto a newton of noise and look like a wild trace.
        self.force_plot.plot([-TRACE_SECONDS, 0.0], [0.0, 0.0], pen=pg.mkPen("#999999", width=1))
        self.force_curve, self.shift_curve = {}, {}
        for side in SIDES:
            pen = pg.mkPen(SIDE_COLOURS[side], width=SIDE_LINE_WIDTHS[side])
            self.force_curve[side] = self.force_plot.plot(pen=pen, connect="finite")
            self.shift_curve[side] = self.shift_plot.plot(pen=pen, connect="finite")
        self.threshold_lines = {}
        for severity in ("mild", "moderate", "severe"):
            line = pg.InfiniteLine(angle=0, movable=False,
                                   pen=pg.mkPen(SEVERITY_COLOURS[severity], width=2, style=QtCore.Qt.PenStyle.DashLine),
                                   label=severity, labelOpts={"position": 0.03, "color": "k",
                                                              "anchors": [(0, 1), (0, 1)]})
            line.label.setFont(_font(11))
            self.shift_plot.addItem(line)
            self.threshold_lines[severity] = line
        self._draw_thresholds()
        self.shift_plot.enableAutoRange(y=False)
        for plot in (self.force_plot, self.shift_plot):
            plot.enableAutoRange(x=False)
            plot.setMouseEnabled(x=False)
        # A fixed time axis (0 = now): a scrolling one would regenerate its ticks, move the
        # threshold lines' labels and update the linked view on every redraw, which measured
        # about a third of a redraw with plates and insoles.
        self.force_plot.setXRange(-TRACE_SECONDS, 0.0, padding=0)
        return self.traces

    def _make_table(self) -> QtWidgets.QTableWidget:
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setFont(_font(13, bold=True))
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setMinimumSectionSize(ROW_HEIGHTS[0])
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHTS[1])
        self.table.horizontalHeader().setMinimumSectionSize(40)
        self.table.setWordWrap(True)
        self.table.setFont(_font(13))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        # The table never takes the keyboard, so B, M and Space always reach the shortcuts.
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        return self.table

    def _make_controls(self) -> None:
        """The operator's row: baseline, mark, pause, record, threshold scale; each with a key."""
        bar = QtWidgets.QToolBar("Controls")
        bar.setMovable(False)
        bar.setFont(_font(12))
        self.baseline_button = self._button("Capture baseline (B)", "B", self.capture_baseline)
        self.mark_button = self._button("Mark (M)", "M", self.mark)
        self.pause_button = self._button("Pause plots (Space)", "Space", None)
        self.pause_button.setCheckable(True)
        self.record_button = self._button("Record… (R)", "R", self.toggle_recording)
        self.flag_button = self._button("Calibrate…", None, self.open_flag_reference)
        self.flag_button.setToolTip("Flag reference (calibrate flag): record this lifter's normal and knees-in "
                                    "reps, fit and save their own normal and thresholds")
        self.threshold_scale = QtWidgets.QDoubleSpinBox()
        self.threshold_scale.setRange(*THRESHOLD_SCALES[:2])
        self.threshold_scale.setSingleStep(THRESHOLD_SCALES[2])
        self.threshold_scale.setDecimals(2)
        self.threshold_scale.setPrefix("× ")
        self.threshold_scale.setValue(self._threshold_scale0)
        self.threshold_scale.setToolTip("Scale of the flag thresholds for this person (+ and - keys)")
        # Without focus the box never takes the letter keys meant for the shortcuts.
        self.threshold_scale.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.threshold_scale.valueChanged.connect(self.set_threshold_scale)
        for key, steps in (("+", 1), ("=", 1), ("-", -1)):  # "=" is "+" without Shift on most layouts
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(lambda steps=steps: self.threshold_scale.stepBy(steps))
        self.tv_button = self._button("TV mode (F)", None, lambda: self.set_tv_mode(True))
        self.exercise_choice = QtWidgets.QComboBox()
        for name, exercise in exercises().items():
            if exercise.kind != "forces":  # the force summary is what a trial with no exercise gives, not a choice
                self.exercise_choice.addItem(exercise.title, name)
        self.exercise_choice.setToolTip("What the athlete does: a squat is flagged live; the other exercises' "
                                        "own table fills as each rep completes")
        self.exercise_choice.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.exercise_choice.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.exercise_choice.currentIndexChanged.connect(
            lambda i: self.set_exercise(self.exercise_choice.itemData(i)))
        for widget in (self.baseline_button, self.mark_button, self.pause_button, self.record_button, self.tv_button):
            bar.addWidget(widget)
        bar.addSeparator()
        bar.addWidget(QtWidgets.QLabel(" Exercise "))
        bar.addWidget(self.exercise_choice)
        bar.addSeparator()
        bar.addWidget(QtWidgets.QLabel(" Thresholds "))
        bar.addWidget(self.threshold_scale)
        bar.addWidget(self.flag_button)  # beside the scale it sets (at a laptop's width the bar's end folds first)
        if self.insoles:
            bar.addSeparator()
            bar.addWidget(QtWidgets.QLabel(" Pressure scale "))
            # 0 = "auto": the top grows to the highest value seen; a number fixes it.
            self.pressure_limit = QtWidgets.QDoubleSpinBox()
            self.pressure_limit.setRange(0.0, 5000.0)
            self.pressure_limit.setSingleStep(50.0)
            self.pressure_limit.setDecimals(0)
            self.pressure_limit.setSpecialValueText("auto")
            self.pressure_limit.setSuffix(f" {self.pressure_bar_unit}")
            self.pressure_limit.setToolTip("Fix the top of the pressure colour scale (auto: grows to the highest value)")
            self.pressure_limit.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            self.pressure_limit.valueChanged.connect(self.set_pressure_limit)
            bar.addWidget(self.pressure_limit)
            bar.addWidget(self._button("Reset scale", None, self.reset_pressure_scale))
        self.toolbar = bar
        self.addToolBar(QtCore.Qt.ToolBarArea.BottomToolBarArea, bar)

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setFont(_font(12))
        self.device_status = QtWidgets.QLabel()
        self.device_status.setFont(_font(10))  # for the operator at the desk, not the athlete
        self.device_status.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.recording_status = QtWidgets.QLabel()
        self.elapsed = QtWidgets.QLabel()
        for widget in (self.device_status, self.recording_status, self.elapsed):
            bar.addPermanentWidget(widget)

    def _button(self, text: str, key: str | None, action) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        if key:
            button.setShortcut(QtGui.QKeySequence(key))
        # Without focus a button cannot swallow Space, which belongs to the pause shortcut.
        button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        if action is not None:
            button.clicked.connect(action)
        return button

    # --- actions ----------------------------------------------------------------------

    def capture_baseline(self) -> None:
        """Re-take every device's baseline from the next quiet second of standing."""
        self.session.capture_baseline()
        self.statusBar().showMessage("stand still: taking a new baseline", MESSAGE_MS)

    def mark(self) -> None:
        self._marks += 1
        self.session.mark(f"mark {self._marks}")

    def set_threshold_scale(self, scale: float) -> None:
        """Grade flags from now on with the default thresholds times ``scale``; redraw their lines."""
        self.session.set_thresholds(self._unscaled_thresholds.scaled(scale))
        self._draw_thresholds()
        self._draw_feet(self._shown_baseline)
        t = self.session.thresholds
        self.statusBar().showMessage(f"thresholds ×{scale:.2f}: mild {t.mild_mm:.1f}, moderate {t.moderate_mm:.1f}, "
                                     f"severe {t.severe_mm:.1f} mm", MESSAGE_MS)

    def set_exercise(self, name: str) -> None:
        """Show ``name``'s own table: a squat (or single-leg squat) keeps the live flags, tiles
        and rep table as they are; another exercise hides the tiles (its knee-collapse flag is
        not applied) and its table fills from the buffer as each rep completes."""
        exercise = lookup_exercise(name)
        if exercise is None:  # --exercise is free text stored in the trial: a name of the lab's own
            self.statusBar().showMessage(f"exercise {name!r} is none of {', '.join(exercises())}: "
                                         "shown as a squat", MESSAGE_MS)
            exercise = lookup_exercise("squat")
        self.exercise = exercise
        index = self.exercise_choice.findData(exercise.name)
        if index != self.exercise_choice.currentIndex():
            self.exercise_choice.blockSignals(True)
            self.exercise_choice.setCurrentIndex(index)
            self.exercise_choice.blockSignals(False)
        squat = exercise.kind == "squat"
        self.live_exercise = None if squat else LiveExercise(exercise, Options(thresholds=self.session.thresholds))
        self._exercise_measured_s = -np.inf
        # the tiles, the medial shift and its bands are the squat's flag: hidden where it is not applied
        for widget in (*self.indicators.values(), self.audio, self.shift_plot):
            widget.setVisible(squat)
        self.set_summary.hide()
        self._set_reps, self._set_shown, self._rows, self._current_rep = [], False, {}, None
        headers = COLUMNS if squat else [f"{c.header}" for c in exercise_columns(exercise)]
        if exercise.kind == "balance":
            headers = ["", *headers]
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(list(headers))
        self._draw_feet(self._shown_baseline)
        self.cue.setText("" if squat else f"{exercise.title}: knee-collapse flag {exercise.collapse_flag}")
        self.cue.setFont(_font(round((30 if squat else 16) * (TV_SCALE if self.tv_mode else 1.0)), bold=True))

    def _measure_exercise(self) -> None:
        """Measure the buffer as the selected non-squat exercise (every EXERCISE_ANALYSIS_S) and show its table."""
        now = self.session.elapsed_s()
        if now - self._exercise_measured_s < EXERCISE_ANALYSIS_S or not self.session.feet_ring.written:
            return
        self._exercise_measured_s = now
        feed = self.live_exercise
        if not feed.update(self.session.feet_ring.peek(), self.session.rate_hz):
            return
        table = exercise_columns(feed.exercise)
        named = feed.exercise.kind == "balance"
        shown = feed.sway_rows if named else [(str(r["index"]), r) for r in feed.reps]
        self.table.setRowCount(len(shown))
        for row, (label, values) in enumerate(shown):
            if named:
                self._set_cell(row, 0, label)
            for column, c in enumerate(table, start=int(named)):
                self._set_cell(row, column, c.cell(values))
        count = len(feed.reps)
        if feed.note:
            self.rep_phase.setText(feed.note)
        elif named:
            self.rep_phase.setText(f"sway of the last {number(shown[0][1].get('duration_s'), 0)} s")
        else:
            self.rep_phase.setText(f"{count} {feed.exercise.kind.replace('_', '-')} rep{'' if count == 1 else 's'}")

    def set_pressure_limit(self, limit: float) -> None:
        """Fix the top of the pressure colour scale at ``limit`` (0: auto, grows to the highest value)."""
        self._pressure_max = limit if limit > 0 else 1.0
        self.pressure_bar.setLevels((0.0, self._pressure_max))

    def reset_pressure_scale(self) -> None:
        """Back to auto, starting again from what the insoles read now (a heavier lifter came and went)."""
        self.pressure_limit.setValue(0.0)
        now = [view.map.image(view.sensors.peek(1)["newtons"][-1] * view.scale)
               for view in self.insoles.values() if view.sensors.written]
        self.set_pressure_limit(max([1.0, *(float(np.nanmax(image)) for image in now)]))

    def set_tv_mode(self, on: bool) -> None:
        """Full screen with the tiles, the cue and the rep count only, in large type (F toggles, Esc leaves)."""
        if on == self.tv_mode:
            return
        self.tv_mode = on
        scale = TV_SCALE if on else 1.0
        for widget in (self.body, self.toolbar, self.statusBar()):
            widget.setVisible(not on)
        self.audio.setVisible(not on and self.live_exercise is None)
        for indicator in self.indicators.values():
            indicator.scale = scale
            indicator.setMinimumSize(int(260 * scale), int(130 * scale))
            indicator.show_severity(indicator.severity)
        self.cue.setFont(_font(round(30 * scale), bold=True))
        self.rep_phase.setFont(_font(round(22 * scale)))
        self.set_summary.setFont(_font(round(18 * scale), bold=True))
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    def toggle_recording(self) -> None:
        """Stop the recording under way, or ask where to record and start (a dialog)."""
        if self.session.recording is not None:
            self.stop_recording()
            return
        self.record_dialog = RecordDialog(self, self.exercise.name)
        self.record_dialog.accepted.connect(
            lambda: self.start_recording(self.record_dialog.path.text(), self.record_dialog.metadata()))
        self.record_dialog.open()

    def start_recording(self, path: str, metadata: dict) -> None:
        try:
            self.session.start_recording(path, metadata)
        except (ForceplateError, OSError) as exc:
            self.statusBar().showMessage(f"not recording: {exc}", 3 * MESSAGE_MS)
        self._show_recording()

    def stop_recording(self) -> None:
        try:
            path = self.session.stop_recording()
        except ForceplateError as exc:  # the writer failed: say so instead of "saved"
            path = None
            self.statusBar().showMessage(f"not saved: {exc}", 3 * MESSAGE_MS)
        if path is not None:
            self.statusBar().showMessage(f"saved {path}", 3 * MESSAGE_MS)
        self._show_recording()

    # --- the timer tick ---------------------------------------------------------------

    def refresh(self) -> None:
        """Show new events, redraw the plots (unless paused), update the status; close when due."""
        for event in self.session.drain_events():
            self.show_event(event)
        if self.session.analysed:
            if self.session.baseline is not self._shown_baseline or self.session.normal_mm != self._shown_normal:
                self._draw_feet(self.session.baseline)
            if not self.pause_button.isChecked():
                self._draw_plots()
                self._draw_pressure()
            if self.live_exercise is None:
                self.rep_phase.setText(self._rep_phase_text())
                self._end_set_when_standing()
            else:
                self._measure_exercise()
        self._fit_rows()  # the splitter or the window may have changed the table's height
        self.device_status.setText(self._device_status())
        self._show_recording()
        self.elapsed.setText(f"{self.session.elapsed_s():6.1f} s")
        if self.duration_s is not None and self.session.elapsed_s() >= self.duration_s:
            self.close()

    def _show_recording(self) -> None:
        """The recording under way and for how long, whoever started it (this window's Record,
        the flag reference's steps, or ``--record`` at launch); the Record button to match."""
        recording = self.session.recording
        if recording != self._recording_shown:
            self._recording_shown, self._recording_since_s = recording, self.session.elapsed_s()
            self.record_button.setText("Record… (R)" if recording is None else "Stop recording (R)")
        self.recording_status.setText("" if recording is None else
                                      f"<b style='color: #c92a2a'>● REC {recording.name} "
                                      f"{self.session.elapsed_s() - self._recording_since_s:.0f} s</b>")

    def open_flag_reference(self) -> None:
        """The lifter's own flag reference, recorded and fitted while they squat (a dialog)."""
        self.flag_dialog = FlagReferenceDialog(self, self.session)
        self.flag_dialog.saved.connect(self._take_flag_reference)
        self.flag_dialog.open()

    def _take_flag_reference(self, reference) -> None:
        """Grade from now on with the person's threshold scale (the control shows it within its range)."""
        low, high = THRESHOLD_SCALES[:2]
        self.threshold_scale.blockSignals(True)
        self.threshold_scale.setValue(min(max(reference.threshold_scale, low), high))
        self.threshold_scale.blockSignals(False)
        self.set_threshold_scale(reference.threshold_scale)

    def _end_set_when_standing(self) -> None:
        """After SET_PAUSE_S of device time with no rep ended, show the set's summary (until the
        next set). A rep "under way" that long is no rep (a lifter who stepped off and back on)."""
        if self._set_shown or not self._set_reps or not self.session.feet_ring.written:
            return
        newest_s = float(self.session.feet_ring.peek(1)["t"][-1])
        if newest_s - self._set_reps[-1].data["end_s"] >= SET_PAUSE_S:
            self._set_shown = True
            self.set_summary.setText(set_summary(self._set_reps))
            self.set_summary.show()

    def _device_status(self) -> str:
        """Per device: state, measured sample rate, frames lost, CRC errors, reconnections."""
        now, parts = time.monotonic(), []
        for s in self.session.status():
            frames = s.get("frames", 0)
            since, counted, rate = self._rates.get(s["device"], (now, frames, float("nan")))
            if now - since >= RATE_WINDOW_S:
                since, counted, rate = now, frames, (frames - counted) / (now - since)
            self._rates[s["device"]] = (since, counted, rate)
            text = (f"{s['device']} {s['state']} {rate:.0f} Hz · {s.get('lost_frames', 0)} lost · "
                    f"{s.get('crc_errors', 0)} CRC" + (f" · reconnected {s['reconnects']}×" if s["reconnects"] else ""))
            # Colour in the text, not a style sheet: setText skips unchanged text, a style sheet re-polishes.
            parts.append(f"<span style='color: #c92a2a'>{text}</span>" if s["state"] == "disconnected" else text)
        return " &nbsp;|&nbsp; ".join(parts)

    def _rep_phase_text(self) -> str:
        if self._current_rep is None:
            return f"{len(self._rows)} reps done" if self.session.baseline is not None else ""
        return f"rep {self._current_rep} · {self.session.phase}"

    def _fit_rows(self) -> None:
        """Rows as tall as ROW_HEIGHTS allow with every rep of the set in view, no scrolling."""
        rows = max(1, self.table.rowCount())
        height = int(np.clip(self.table.viewport().height() // rows, *ROW_HEIGHTS))
        header = self.table.verticalHeader()
        if header.defaultSectionSize() != height:
            header.setDefaultSectionSize(height)

    def show_event(self, event: Event) -> None:
        if event.kind in (EventKind.REP_START, EventKind.FLAG, EventKind.REP_END) and self.live_exercise is not None:
            pass  # the squat analysis runs on underneath (and is recorded); another exercise's table is shown
        elif event.kind == EventKind.REP_START:
            self._start_rep(event.rep, event.data.get("graded", True))
        elif event.kind == EventKind.FLAG:
            self._show_flag(event)
        elif event.kind == EventKind.REP_END:
            self._finish_rep(event)
        elif event.kind == EventKind.MARK:
            self.statusBar().showMessage(f"{event.t_s:.2f} s  {event.data.get('message', '')}", MESSAGE_MS)
        elif event.kind == EventKind.DEVICE_DISCONNECTED:
            self.cue.setText("DEVICE LOST")
        elif event.kind == EventKind.DEVICE_RECONNECTED and self.cue.text() == "DEVICE LOST":
            self.cue.setText("")
        line = describe(event)
        if line and event.kind in (EventKind.BASELINE, EventKind.DEVICE_RECONNECTED):
            self.statusBar().showMessage(line.strip(), MESSAGE_MS)
        elif line and event.kind in (EventKind.DEVICE_DISCONNECTED, EventKind.RECORDING_FAILED):  # until something replaces it
            self.statusBar().showMessage(line.strip())
        self.event_shown.emit(event)

    def _start_rep(self, rep: int, graded: bool = True) -> None:
        if self._set_shown:  # a new set: its own table and summary
            self._set_shown = False
            self._set_reps = []
            self.set_summary.hide()
            self.table.setRowCount(0)
            self._rows = {}
        row = self._row(rep)
        if self._current_rep is not None and self._current_rep in self._rows:
            self._highlight(self._rows[self._current_rep], False)
        self._current_rep = rep
        self._highlight(row, True)
        for side, indicator in self.indicators.items():
            indicator.show_severity("none" if graded else NOT_GRADED)
            if not graded:
                self._set_side(row, side, NOT_GRADED, None, None, None)
        self.cue.setText("")

    def _show_flag(self, event: Event) -> None:
        row = self._row(event.rep)
        onset = self._onset_phase.setdefault((event.rep, event.side), event.phase)  # the first flag's phase
        self._set_side(row, event.side, event.severity, onset, None, event.value)
        if event.rep == self._current_rep:
            self.indicators[event.side].show_severity(event.severity)
            self.cue.setText(f"{event.side.upper()}: {CUE[event.severity]}")
            if self.audio.isChecked():
                self._sound(event.side, event.severity)

    def _sound(self, side: str, severity: str) -> None:
        """The side's tone (made on first use); the system beep where nothing can play it."""
        if self.cue_player is None:
            self.cue_player = CuePlayer()
        if not self.cue_player.play(side, severity):
            QtWidgets.QApplication.beep()
            self.statusBar().showMessage("no audio player found (paplay, pw-play or aplay): plain beep, "
                                         "the same for both sides", MESSAGE_MS)

    def _finish_rep(self, event: Event) -> None:
        row = self._row(event.rep)
        data = event.data
        for side in SIDES:
            onset, peak = side_phases(data[side], self._onset_phase.get((event.rep, side)))
            shown = data[side]["flag"] if data.get("graded", True) or data[side]["flag"] != "none" else NOT_GRADED
            self._set_side(row, side, shown, onset, peak, data[side]["medial_shift_mm"])
        self._set_cell(row, DEPTH_COLUMN, number(data["depth_m"], DECIMALS["m"]))
        self._set_reps.append(event)
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
                self._set_side(row, side, "none", None, None, None)
            self._set_cell(row, DEPTH_COLUMN, "")
            self._fit_rows()
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

    def _set_side(self, row: int, side: str, severity: str, onset_phase: str | None, peak_phase: str | None,
                  shift_mm: float | None) -> None:
        """One side's cells; the peak phase is known only when the rep has ended."""
        severity_col, onset_col, peak_col, shift_col = SIDE_COLUMNS[side]
        self._set_cell(row, severity_col, severity, SEVERITY_COLOURS[severity])
        self.table.item(row, severity_col).setForeground(QtGui.QColor("white" if severity == "severe" else "black"))
        self._set_cell(row, onset_col, onset_phase or "-")
        self._set_cell(row, peak_col, peak_phase or "-")
        self._set_cell(row, shift_col, number(shift_mm, DECIMALS["mm"]))

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
        """Where each foot is drawn: its quiet-standing CoP, or before a baseline (and for a plate
        that gives no CoP: vertical force only) its plate's (insole's) centre."""
        centres = {**{foot: insole.centre_mm for foot, insole in self.insoles.items()},
                   **{side: np.asarray(plate.center_mm, dtype=float) for side, plate in self.plates.items()}}
        if baseline is not None:
            for side in SIDES:
                neutral = np.asarray(baseline.neutral_cop_mm[side], dtype=float)
                if np.isfinite(neutral).all():
                    centres[side] = neutral
        return centres

    def _draw_thresholds(self) -> None:
        thresholds = self.session.thresholds
        for severity, line in self.threshold_lines.items():
            mm = getattr(thresholds, f"{severity}_mm")
            line.setPos(mm)
            line.label.setFormat(f"{severity} {mm:.3g}")
        # A fixed range keeps the threshold lines where the eye expects them; a larger shift clips.
        self.shift_plot.setYRange(-5.0, thresholds.severe_mm * 1.6, padding=0)

    def _draw_feet(self, baseline: Baseline | None) -> None:
        """Foot outlines, neutral points and threshold bands for ``baseline`` (plate centres before one),
        the bands beyond each foot's normal rep (the grades start there)."""
        self._shown_baseline = baseline
        self._shown_normal = self.session.normal_mm
        thresholds = self.session.thresholds
        medial = baseline.medial_unit if baseline else medial_units(_stated_toe_out(self.session.toe_out_deg))
        centres = self._foot_centres(baseline)
        for side in SIDES:
            if side not in centres:
                continue
            neutral = centres[side]
            width = baseline.foot_width_mm if baseline else DEFAULT_FOOT_WIDTH_MM
            # An insole is the footprint itself; on a plate the foot is drawn around its neutral CoP.
            outline = self.insoles[side].outline_mm if side in self.insoles else foot_outline(neutral, medial[side], width)
            self.foot_outline[side].setData(outline[:, 0], outline[:, 1])
            edges = (thresholds.mild_mm, thresholds.moderate_mm, thresholds.severe_mm,
                     thresholds.severe_mm + (thresholds.severe_mm - thresholds.moderate_mm))
            normal = self._shown_normal[side]
            for band, near, far in zip(self.bands[side], edges[:-1], edges[1:], strict=True):
                band.setPolygon(_band(neutral, medial[side], normal + near, normal + far))
                band.setVisible(baseline is not None and self.live_exercise is None)
            _place(self.neutral_point[side], neutral if baseline else None)
        if centres:
            self._frame_feet(np.array(list(centres.values())))
        if baseline is None:
            self.cue.setText("stand still: taking the baseline")
        elif self.cue.text().startswith("stand still"):
            self.cue.setText("")

    def _frame_feet(self, centres: np.ndarray) -> None:
        """Zoom the top view onto the feet: CoP travel is millimetres on plates of tens of centimetres
        (insoles: onto the insoles themselves, so their pressure maps fill the view)."""
        if self.insoles:
            outlines = np.concatenate([view.outline_mm for view in self.insoles.values()])
            low, high = outlines.min(axis=0) - FRAME_MARGIN_MM / 3, outlines.max(axis=0) + FRAME_MARGIN_MM / 3
        else:
            reach = np.array([FOOT_LENGTH_MM / 4 + FRAME_MARGIN_MM / 2, FOOT_LENGTH_MM / 2 + FRAME_MARGIN_MM])
            low, high = centres.min(axis=0) - reach, centres.max(axis=0) + reach
        self.top_view.setRange(xRange=(low[0], high[0]), yRange=(low[1], high[1]), padding=0)
        for x, label in self.plate_labels:  # standing on the lower edge of the range asked for, always in view
            label.setPos(x, low[1])

    def _draw_plots(self) -> None:
        rate = self.session.rate_hz
        step = max(1, int(round(rate / PLOT_RATE_HZ)))
        recent = self.session.feet_ring.peek(int(TRACE_SECONDS * rate), every=step)  # thinned, the same points each time
        t = recent["t"]
        if len(t) == 0:
            return
        ago = t - t[-1]
        for side in SIDES:
            self.force_curve[side].setData(ago, recent[f"fz_{side}"])
            self.shift_curve[side].setData(ago, recent[f"shift_{side}"] - self._shown_normal[side])
            trail = recent[f"cop_{side}"][ago >= -TRAIL_SECONDS]
            self.trail[side].setData(trail[:, 0], trail[:, 1])
            newest = trail[-1] if len(trail) and np.isfinite(trail[-1]).all() else None  # no CoP: vertical force only
            _place(self.cop_point[side], newest)
        self.newest_drawn_s = float(t[-1])

    def _draw_pressure(self) -> None:
        """Each insole's newest sample as a map; the colour scale grows to the highest value seen."""
        if not self.insoles:
            return
        highest = self._pressure_max
        for foot, insole in self.insoles.items():
            values = insole.newest()
            if values is None:
                continue
            highest = max(highest, float(np.max(values)))
            self.pressure_image[foot].setImage(insole.map.image(values), autoLevels=False)
        if highest > self._pressure_max and self.pressure_limit.value() == 0:  # auto: grow to the highest
            self._pressure_max = highest
            self.pressure_bar.setLevels((0.0, highest))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        if self.cue_player is not None:
            self.cue_player.close()
        self.closed.emit()
        super().closeEvent(event)


def _close_on_ctrl_c(window: LiveWindow):
    """Let Ctrl-C in the terminal close the window; returns the function that undoes it.

    Python runs signal handlers only between bytecodes, which the refresh timer provides; an
    exception raised there would be swallowed by Qt, so the handler closes the window instead.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    return lambda: signal.signal(signal.SIGINT, previous)


def run_window(session, duration_s: float | None, tv: bool = False, audio: bool = False,
               exercise: str = "squat") -> None:
    """Show the live window for a started session until it is closed or ``duration_s`` passes
    (``tv``: start in TV mode; ``audio``: the flag sounds on; ``exercise``: the one selected)."""
    # Qt allows one QApplication: reuse pytest-qt's or a host program's. One made here stays
    # alive without a Python reference (the binding holds it as the application instance).
    if QtWidgets.QApplication.instance() is None:
        QtWidgets.QApplication(sys.argv[:1])
    window = LiveWindow(SessionView(session), duration_s, audio=audio, exercise=exercise)
    loop = QtCore.QEventLoop()
    window.closed.connect(loop.quit)
    restore_ctrl_c = _close_on_ctrl_c(window)
    window.show()
    window.set_tv_mode(tv)
    try:
        loop.exec()
    finally:
        restore_ctrl_c()
        window.deleteLater()
