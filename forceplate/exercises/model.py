"""What an exercise is: how its trial is segmented, which per-rep results it has (with
units), which columns its table shows, and whether the knee-collapse flag applies.

An exercise module defines ``EXERCISE``, an :class:`Exercise` (or subclass) whose
``analyze(feet, options)`` turns a trial's per-foot arrays into a JSON-ready
:class:`ExerciseResult`. The registry (:mod:`forceplate.exercises`) finds the modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forceplate.errors import ForceplateError

# baseline and movement are imported where used: what only reads stored results (trials,
# compare) needs the model, not the processing.

ALGORITHM_VERSION = "exercises-0.1"


class NotThisExercise(ForceplateError):
    """The trial cannot be analysed as the chosen exercise (no standing to weigh, no rise...)."""


@dataclass(frozen=True)
class Field:
    """One per-rep (or summary) result: its JSON key, unit and meaning."""

    name: str
    unit: str
    description: str


@dataclass(frozen=True)
class Column:
    """One column of the text table: header, the rep's JSON key, format, width."""

    header: str
    key: str
    fmt: str = ".3f"
    width: int = 8


@dataclass
class Feet:
    """A trial's per-foot arrays (what :func:`forceplate.offline.feet_arrays` returns):
    time (s), vertical force (N) and lab-frame CoP (mm, NaN when unloaded) per foot, rate."""

    t: np.ndarray
    fz: dict
    cop: dict
    rate_hz: float
    regions: dict | None = None
    force_samples_filled: int = 0  # lost frames interpolated (with_force_gaps_filled), per foot at most


def with_force_gaps_filled(feet: Feet) -> Feet:
    """Lost frames are NaN in a trial's arrays; the exercises' segmentations run on a
    continuous force, so each foot's NaN force samples are interpolated linearly between
    their neighbours (the CoP stays NaN there); ``force_samples_filled`` says how many."""
    filled, count = {}, 0
    for foot, x in feet.fz.items():
        x = np.asarray(x, dtype=float)
        bad = np.isnan(x)
        count = max(count, int(bad.sum()))
        if bad.all():
            x = np.zeros_like(x)
        elif bad.any():
            x = x.copy()
            x[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), x[~bad])
        filled[foot] = x
    return Feet(feet.t, filled, feet.cop, feet.rate_hz, feet.regions, count)


@dataclass
class Options:
    """The analysis options of ``forceplate analyze`` that exercises may use."""

    toe_out_deg: float | str | None = None
    thresholds: object = None  # processing.valgus.Thresholds
    eyes_closed: Feet | None = None  # quiet standing: the eyes-closed trial to compare with
    static: object = None  # squat: a static trial (storage.reader.Trial) for the standing weight
    flag_reference: object = None  # squat: the lifter's calibration.flag.FlagReference


@dataclass
class ExerciseResult:
    """Per-rep dicts (each with ``index``, ``kind`` and the exercise's fields) and a summary."""

    reps: list[dict]
    summary: dict
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"reps": self.reps, "summary": {**self.summary, "notes": self.notes}}


@dataclass(frozen=True)
class Exercise:
    """An exercise: ``name`` (the ``--exercise`` value), ``kind`` (each rep's ``"kind"``),
    how a trial is segmented, its per-rep fields and table columns, and the collapse flag:
    ``collapse_flag`` is "both legs", "standing leg" or "not applied: <why>"."""

    name: str
    title: str
    kind: str
    segmentation: str
    fields: tuple[Field, ...]
    columns: tuple[Column, ...]
    collapse_flag: str
    aliases: tuple[str, ...] = ()

    def analyze(self, feet: Feet, options: Options) -> ExerciseResult:
        """Per-rep results and summary of a trial's per-foot arrays."""
        raise NotImplementedError

    def run_trial(self, trial, calibration, options: Options, feet_of) -> tuple[dict, object]:
        """The JSON-ready results of a trial, and the analysis object behind them when the
        exercise has one the squat report and ``--save`` understand (else None).
        ``feet_of()`` gives the trial's :class:`Feet` (read once, shared with recognition)."""
        return self.analyze(feet_of(), options).as_dict(), None

    def segmented(self, segment, *args):
        """``segment(*args)``; its "cannot" (a ValueError, or no quiet standing to weigh
        from) becomes NotThisExercise naming this exercise."""
        from forceplate.processing.baseline import NoBaseline

        try:
            return segment(*args)
        except (ValueError, NoBaseline) as exc:
            raise NotThisExercise(f"cannot analyse as {self.name}: {exc}") from None

    def summary(self, **values) -> dict:
        """The summary every exercise starts from: its name, the flag rule, the version."""
        from forceplate.processing.movement import SYMMETRY_FORMULAS

        return {"exercise": self.name, "collapse_flag": self.collapse_flag,
                "algorithm_version": ALGORITHM_VERSION, "symmetry_formulas": dict(SYMMETRY_FORMULAS), **values}

    def result(self, feet: Feet, reps: list[dict], notes: list[str], **summary) -> ExerciseResult:
        """The result of ``reps`` with the summary every exercise has (count, duration) and ``summary``."""
        return ExerciseResult(reps, self.summary(reps=len(reps), duration_s=duration_s(feet), **summary), notes)


def seconds(index: int | None, rate_hz: float) -> float | None:
    """A sample index as trial time (s, 3 decimals), None for None."""
    return None if index is None else round(index / rate_hz, 3)


def rounded(value, digits: int = 3):
    """JSON has no NaN: an undefined value is None."""
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def phase(name: str, start: int | None, end: int | None, rate_hz: float) -> dict:
    """A rep's named phase as trial times (s)."""
    return {"name": name, "start_s": seconds(start, rate_hz), "end_s": seconds(end, rate_hz)}


def foot_symmetry(quantity: str, by_foot: dict) -> dict:
    """``{"quantity": ..., left_share_pct, asymmetry_index_pct, limb_symmetry_index_pct}`` of
    one per-foot quantity (a missing foot counts 0)."""
    from forceplate.processing.movement import symmetry

    return {"quantity": quantity, **symmetry(by_foot.get("left", 0.0), by_foot.get("right", 0.0))}


def duration_s(feet: Feet) -> float:
    return round(float(feet.t[-1] - feet.t[0]), 3) if len(feet.t) else 0.0


def fields_table(text: str) -> tuple[Field, ...]:
    """Fields from lines ``name | unit | meaning`` ('-' for no unit); a line with
    no '|' continues the meaning above it."""
    fields: list[list[str]] = []
    for line in text.strip("\n").splitlines():
        if "|" not in line:
            fields[-1][2] += " " + line.strip()
            continue
        name, unit, meaning = (cell.strip() for cell in line.split("|", 2))
        fields.append([name, "" if unit == "-" else unit, meaning])
    return tuple(Field(*f) for f in fields)


COMMON_FIELDS = fields_table("""
index | - | rep number, from 1
kind | - | what the rep is: squat, jump, landing, sit_to_stand, isometric
phases | s | the rep's named phases, each {name, start_s, end_s}
""")
SYMMETRY_FIELD = Field("symmetry", "%", "left/right symmetry of the quantity named in `symmetry.quantity`: "
                                         "left_share_pct = 100 L/(L+R), asymmetry_index_pct = 100 (L-R)/(L+R), "
                                         "limb_symmetry_index_pct = 100 min(L,R)/max(L,R)")
