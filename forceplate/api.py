"""The notebook API: a saved trial as per-foot time series, and its analysis as typed results.

::

    from forceplate.api import open_trial, analyze_trial

    trial = open_trial("squat.h5")           # per-foot TimeSeries with units and the trial's events
    trial.left["fz_n"], trial.left.time_s    # numpy arrays; trial.left.to_pandas() with pandas installed
    result = analyze_trial(trial)            # what `forceplate analyze` computes, as dataclasses
    result.reps[0]["peak_force_n"], result.units["peak_force_n"]

``analyze_trial`` runs the command's own path (exercise chosen as ``analyze`` chooses it,
``exercises.run``), so :meth:`TrialAnalysis.to_dict` is the JSON ``forceplate analyze --json``
prints, less the four keys only the command adds (file, complete, recovered, quality).
docs/notebook.md is a worked example. pandas is optional: only ``to_pandas`` needs it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forceplate.calibration.flag import FlagReference, load_reference
from forceplate.calibration.record import CalibrationRecord, check_fits_trial, load_record
from forceplate.events import EVENT_VALUE_UNITS, EventKind
from forceplate.offline import FeetArrays, TrialFeet, feet_arrays
from forceplate.processing.analysis import Analysis
from forceplate.processing.valgus import Thresholds
from forceplate.storage import reader
from forceplate.storage.reader import Trial, stored_text


def _pandas(what: str):
    try:
        import pandas
    except ImportError:
        raise ImportError(f"{what} needs pandas, which forceplate does not install: pip install pandas "
                          "(the same values are numpy arrays without it)") from None
    return pandas




@dataclass(frozen=True)
class TrialEvent:
    """One row of a trial's /events: a rep's start or end, a flag, a user's mark, a device fault."""

    t_s: float  # trial time (s)
    kind: EventKind
    rep: int  # the rep it belongs to (from 1), 0 for none
    side: str  # "left", "right" or ""
    severity: str  # a flag's grade: mild, moderate, severe; else ""
    phase: str  # a flag's phase: descent, bottom, ascent; else ""
    value: float  # in :attr:`value_unit` (a flag's held shift in mm, the baseline's weight in N); NaN when none
    text: str  # a mark's words, a fault's message; for kind OTHER the stored kind comes first
    value_unit: str = ""

    @classmethod
    def from_row(cls, row) -> TrialEvent:
        """An event from one row of the stored table (numpy structured row, h5py strings as bytes)."""
        name = stored_text(row["kind"])
        kind = EventKind.of(name)
        text = stored_text(row["text"])
        if kind is EventKind.OTHER:
            text = f"{name}: {text}" if text else name
        return cls(float(row["t_s"]), kind, int(row["rep"]), stored_text(row["side"]), stored_text(row["severity"]),
                   stored_text(row["phase"]), float(row["value"]), text, EVENT_VALUE_UNITS.get(kind, ""))


@dataclass(frozen=True)
class TimeSeries:
    """One foot's samples on the trial's time axis, each column with its unit, and the trial's
    events (after kineticstoolkit's and pynwb's TimeSeries).

    Columns: ``fz_n`` (vertical force, N), ``cop_x_mm`` and ``cop_y_mm`` (centre of pressure in
    the lab frame, mm: the plates' profile places it; an insole's CoP is placed as if the feet
    stood parallel, 440 mm apart, with y along the foot), and for insoles each region's force
    (``<region>_n``, N). A lost frame is NaN in every column; the CoP is NaN while the foot
    carries too little force to place it.
    """

    name: str  # the foot: "left" or "right"
    time_s: np.ndarray  # (n,) trial time, s
    data: dict[str, np.ndarray]  # column -> (n,) values
    units: dict[str, str]  # column -> unit ("N", "mm")
    rate_hz: float
    events: tuple[TrialEvent, ...] = ()

    def __getitem__(self, column: str) -> np.ndarray:
        return self.data[column]

    def __len__(self) -> int:
        return len(self.time_s)

    def __repr__(self) -> str:
        columns = ", ".join(f"{name} [{unit}]" for name, unit in self.units.items())
        return (f"TimeSeries({self.name!r}: {len(self)} samples at {self.rate_hz:g} Hz; {columns}; "
                f"{len(self.events)} events)")

    def events_of(self, kind: EventKind | str) -> tuple[TrialEvent, ...]:
        """The events of one kind (for this foot's side, or for no side)."""
        return tuple(e for e in self.events if e.kind == kind and e.side in ("", self.name))

    def to_pandas(self):
        """A ``pandas.DataFrame`` indexed by ``time_s``, one column per data column; its
        ``attrs`` hold ``units`` and ``events``. Raises ImportError saying so without pandas."""
        pandas = _pandas("TimeSeries.to_pandas")
        frame = pandas.DataFrame(self.data, index=pandas.Index(self.time_s, name="time_s"))
        frame.attrs.update(foot=self.name, units=dict(self.units), rate_hz=self.rate_hz, events=list(self.events))
        return frame


def foot_series(arrays: FeetArrays, foot: str, events: tuple[TrialEvent, ...] = ()) -> TimeSeries:
    """The :class:`TimeSeries` of ``foot`` from a trial's :class:`~forceplate.offline.FeetArrays`."""
    cop = arrays.cop[foot]
    data = {"fz_n": arrays.fz[foot], "cop_x_mm": cop[:, 0], "cop_y_mm": cop[:, 1]}
    units = {"fz_n": "N", "cop_x_mm": "mm", "cop_y_mm": "mm"}
    for region, force in ((arrays.regions or {}).get(foot) or {}).items():
        data[f"{region}_n"], units[f"{region}_n"] = force, "N"
    return TimeSeries(foot, arrays.t, data, units, arrays.rate_hz, events)


@dataclass
class TrialSeries:
    """A saved trial read for a notebook: each foot's :class:`TimeSeries`, the events and the
    metadata; ``raw`` is the stored trial itself (raw counts per device, calibration records)."""

    path: Path
    feet: dict[str, TimeSeries]  # "left", "right" (a single plate's trial: its one foot)
    events: tuple[TrialEvent, ...]
    attrs: dict  # the trial's metadata: subject, exercise, load_kg, set-up toe-out, notes ...
    devices: tuple[str, ...]  # the devices the feet come from
    raw: Trial
    calibration: CalibrationRecord | None = None  # the record given to open_trial (else the stored ones)
    arrays: FeetArrays | None = field(default=None, repr=False)

    def __repr__(self) -> str:
                return (f"TrialSeries({str(self.path)!r}: {self.duration_s():.1f} s from {', '.join(self.devices)}; "
                f"feet {', '.join(self.feet)}; {len(self.events)} events)")

    def duration_s(self) -> float:
        """Seconds from the first to the last sample of the feet's time axis."""
        t = next(iter(self.feet.values())).time_s
        return float(t[-1] - t[0]) if len(t) else 0.0

    @property
    def left(self) -> TimeSeries:
        return self.feet["left"]

    @property
    def right(self) -> TimeSeries:
        return self.feet["right"]

    @property
    def complete(self) -> bool:
        """False for a recording that did not finish (read as far as it was written)."""
        return self.raw.complete

    def events_of(self, kind: EventKind | str) -> tuple[TrialEvent, ...]:
        return tuple(e for e in self.events if e.kind == kind)


def open_trial(path: str | Path, calibration: CalibrationRecord | str | Path | None = None) -> TrialSeries:
    """Read a saved trial (HDF5) into per-foot time series: its plates', else its left and right
    insoles' (on the left insole's clock), calibrated with the stored records or ``calibration``
    (a record, or the path of its TOML file) for the device with its serial.

    Raises the package's errors (:class:`~forceplate.errors.CorruptTrial`, ``TrialError``,
    ``CalibrationError``) with a one-line reason.
    """
    raw = reader.open_trial(path)
    record = _record(calibration, raw)
    arrays = feet_arrays(raw, record)
    events = tuple(TrialEvent.from_row(row) for row in raw.events)
    feet = {foot: foot_series(arrays, foot, events) for foot in arrays.fz}
    return TrialSeries(Path(path), feet, events, dict(raw.attrs), tuple(d.name for d in arrays.devices),
                       raw, record, arrays)


def _record(calibration, raw: Trial) -> CalibrationRecord | None:
    if calibration is None or isinstance(calibration, CalibrationRecord):
        record = calibration
    else:
        record = load_record(calibration)
    if record is not None:
        check_fits_trial(record, {name: d.profile.n_channels for name, d in raw.devices.items()})
    return record


@dataclass(frozen=True)
class Phase:
    """A named phase of a rep (eccentric, flight, ...), in trial time (s); None where not found."""

    name: str
    start_s: float | None
    end_s: float | None


@dataclass(frozen=True)
class RepValues:
    """One rep of any exercise: its number, kind and phases, and every value it measured by its
    dotted name (``peak_force_n``, ``left.medial_shift_mm``, ``symmetry.left_share_pct``), each
    with its unit in :attr:`units` (the exercise's field table, docs/exercises.md). None: not
    measured (a foot without CoP, a phase not found)."""

    index: int  # from 1
    kind: str  # squat, jump, landing, sit_to_stand, isometric
    phases: tuple[Phase, ...]
    values: dict[str, object]
    units: dict[str, str] = field(repr=False, default_factory=dict)  # value name -> unit ("" for none)

    def __getitem__(self, name: str):
        return self.values[name]


@dataclass
class TrialAnalysis:
    """A trial analysed as its exercise, as ``forceplate analyze`` does.

    ``reps`` are every exercise's reps as :class:`RepValues`; for a squat (and single-leg
    squat), ``squat`` is the typed analysis behind them: per rep a
    :class:`~forceplate.processing.analysis.RepResult` (timing in s, depth in m, each foot's
    ``SideResult``: medial shift in mm, grade, phases), the baseline, and per-sample filtered
    force (N), CoP (mm) and medial shift (mm).
    """

    exercise: str  # the exercise's name (docs/exercises.md): squat, countermovement_jump, ...
    chosen_by: str  # how: the exercise asked for, the trial's exercise attribute, or recognised (with why)
    reps: tuple[RepValues, ...]
    summary: dict  # the exercise's summary, JSON-ready, units in its keys' names
    notes: tuple[str, ...]  # what a reader must know about this analysis
    units: dict[str, str]  # rep value name -> unit
    squat: Analysis | None = None
    _report: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """The results as ``forceplate analyze --json`` prints them (a copy), less the keys the
        command adds about the file: file, complete, recovered, quality."""
        return copy.deepcopy(self._report)

    def reps_to_pandas(self):
        """The reps as a ``pandas.DataFrame``, one row per rep, a column per dotted value name
        (phases as ``phases.<name>.start_s``); ``attrs["units"]`` gives each column's unit."""
        from forceplate.storage.schema import flat_rep

        pandas = _pandas("TrialAnalysis.reps_to_pandas")
        frame = pandas.DataFrame([flat_rep(rep) for rep in self._report["reps"]])
        frame.attrs["units"] = {column: self.units.get(column, "") for column in frame.columns}
        return frame


def analyze_trial(trial: TrialSeries | Trial | str | Path, exercise: str | None = None, *,
                  calibration: CalibrationRecord | str | Path | None = None, toe_out_deg=None,
                  thresholds: Thresholds | None = None, static: TrialSeries | Trial | str | Path | None = None,
                  flag_reference: FlagReference | str | Path | None = None,
                  eyes_closed: TrialSeries | Trial | str | Path | None = None) -> TrialAnalysis:
    """Analyse a trial (as read by :func:`open_trial`, or its path) as ``exercise`` (a name from
    docs/exercises.md), else as the trial's exercise attribute names, else as its force pattern
    shows, the way ``forceplate analyze`` does.

    ``toe_out_deg`` (squats): how far each foot is turned out from the lifter's forward,
    degrees (one for both, or ``{"left": .., "right": ..}``); ``"auto"`` estimates the axes from
    the reps even when the trial states a set-up; None (the default) means *not stated here*:
    the next source in the documented order decides (the trial's set-up, an insole's own frame,
    the flag reference's normal reps, else the estimate from the reps), which is what
    ``--toe-out`` left out means. ``thresholds``: the flag grades (default 3.5 / 7.5 / 12.5 mm,
    or the flag reference's). ``static``: a static trial for the standing weight (squats).
    ``flag_reference``: a person's ``calibrate flag`` reference (or its TOML path) to grade a
    squat against, instead of the trial's own reps. ``eyes_closed``: quiet standing's
    eyes-closed trial, for the Romberg quotients.
    """
    from forceplate.exercises import check_exercise_options, choose, finish_summary, run
    from forceplate.exercises.model import Options

    series = trial if isinstance(trial, TrialSeries) else None
    raw = series.raw if series else trial if isinstance(trial, Trial) else reader.open_trial(trial)
    if calibration is None and series is not None:
        calibration = series.calibration
    record = _record(calibration, raw)
    feet_of = TrialFeet(raw, record)
    if series is not None and series.arrays is not None and record is series.calibration:
        feet_of.seed(series.arrays)
    chosen, chosen_by = choose(exercise, raw.attrs, feet_of)
    reference = load_reference(flag_reference) if isinstance(flag_reference, (str, Path)) else flag_reference
    check_exercise_options(chosen.name, raw.path, reference is not None, eyes_closed is not None, "flag_reference",
                           "eyes_closed")
    options = Options(toe_out_deg, thresholds or (reference.thresholds() if reference else None),
                      static=_raw(static), flag_reference=reference)
    if eyes_closed is not None:
        options.eyes_closed = TrialFeet(_raw(eyes_closed), None)()
    chosen, chosen_by, report, analysis = run(chosen, chosen_by, raw, record, options, feet_of)
    finish_summary(report, chosen, chosen_by, feet_of)
    units = _units(chosen, report)
    reps = tuple(_rep_values(rep, units) for rep in report["reps"])
    return TrialAnalysis(chosen.name, chosen_by, reps, {k: v for k, v in report["summary"].items() if k != "notes"},
                         tuple(report["summary"].get("notes", ())), units, analysis, report)


def _raw(source) -> Trial | None:
    if source is None or isinstance(source, Trial):
        return source
    if isinstance(source, TrialSeries):
        return source.raw
    return reader.open_trial(source)


def _units(exercise, report: dict) -> dict[str, str]:
    from forceplate.reporting.exercise_table import unit_of
    from forceplate.storage.schema import flat_rep

    names = {name for rep in report["reps"] for name in flat_rep(rep)}
    return {name: unit_of(exercise, name) for name in sorted(names)}


def _rep_values(rep: dict, units: dict[str, str]) -> RepValues:
    from forceplate.storage.schema import flat_rep

    phases = tuple(Phase(p["name"], p.get("start_s"), p.get("end_s")) for p in rep.get("phases", ()))
    values = {k: v for k, v in flat_rep({k: v for k, v in rep.items() if k != "phases"}).items()
              if k not in ("index", "kind")}
    return RepValues(int(rep["index"]), str(rep.get("kind", "")), phases, values, units)
