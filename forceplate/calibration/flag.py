"""A person's own reference for the knee-collapse flag (``forceplate calibrate flag``).

The lifter does a few normal reps and a few deliberate knees-in reps. Per foot, the normal
reps' peak medial shifts give the person's normal (the same rule the analysis applies to a
trial's own reps, :func:`~forceplate.processing.analysis.personal_normal_mm`), and one threshold
scale for both feet is chosen so that every normal rep sits below mild by a margin and every
knees-in rep reaches moderate: the geometric middle of the scales that do both, so a normal
rep may grow by the same ratio as a knees-in rep may shrink before either is graded otherwise.
When no scale does both (the knees-in reps are not far enough above the normal ones) the
reference is refused, saying by how much.

A reference is a small TOML file per subject in the lab's folder
(``$FORCEPLATE_HOME/calibration/flag/SUBJECT.toml``, or the XDG data dir), with the date, the
source trials, the algorithm version and the figures. ``analyze`` of a trial whose subject
attribute names it grades with its normal and scale, and says so in the results.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forceplate.calibration.record import toml_value
from forceplate.errors import CalibrationError
from forceplate.processing.analysis import ALGORITHM_VERSION, Analysis, personal_normal_mm
from forceplate.processing.valgus import Thresholds
from forceplate.profiles import SIDES, number_in, plain_name, toml_data
from forceplate.resources import user_calibration_dir

MIN_REPS = 3  # full reps of each kind per foot: fewer say nothing of a person's spread
BELOW_MILD_MARGIN_MM = 1.0  # the largest normal rep stays this far below mild
SCALE_RANGE = (0.25, 4.0)  # of the default thresholds (mild 3.5 mm): beyond, the reps were not squats as meant
NORMAL_RANGE_MM = (0.0, 40.0)  # a foot's normal peak shift
TOE_OUT_RANGE_DEG = (-45.0, 60.0)  # as --toe-out takes
PEAK_LIMIT_MM = 50.0  # a rep's peak shift beyond half a foot's width is the foot moving, not a knee
REFERENCE_FORMAT = 1  # of the TOML file; a reader refuses any other
DEFAULTS = Thresholds()


@dataclass(frozen=True)
class FlagReference:
    """One person's normal peak shift per foot (mm) and threshold scale, with where they came from."""

    subject: str
    normal_mm: dict  # foot -> the normal the grades start from (mm)
    threshold_scale: float  # of the default mild/moderate/severe thresholds
    date: str  # ISO 8601 day of the calibration
    algorithm_version: str  # of the analysis that measured the reps
    normal_trials: tuple[str, ...]  # "FILE" or "FILE reps 1-3"
    knees_in_trials: tuple[str, ...]
    normal_peaks_mm: dict = field(default_factory=dict)  # foot -> each normal rep's peak shift (mm)
    knees_in_peaks_mm: dict = field(default_factory=dict)
    toe_out_deg: dict | None = None  # foot -> the normal reps' foot axes (deg from the lifter's forward)
    source: str = ""  # the file it was read from or written to

    def thresholds(self, extra_scale: float = 1.0) -> Thresholds:
        """The person's thresholds, times ``extra_scale`` (``--threshold-scale`` on top)."""
        return DEFAULTS.scaled(self.threshold_scale * extra_scale)

    def summary(self) -> dict:
        """What a trial analysed with it stores and shows: which reference, and its figures."""
        return {"subject": self.subject, "file": self.source, "date": self.date,
                "algorithm_version": self.algorithm_version, "threshold_scale": round(self.threshold_scale, 3),
                "normal_mm": {foot: round(self.normal_mm[foot], 2) for foot in SIDES},
                "toe_out_deg": None if self.toe_out_deg is None else {f: round(self.toe_out_deg[f], 1) for f in SIDES}}

    def describe(self) -> str:
        t = self.thresholds()
        return (f"flag reference of {self.subject} ({self.date}, {self.source}): normal left "
                f"{self.normal_mm['left']:.1f} mm, right {self.normal_mm['right']:.1f} mm; thresholds x"
                f"{self.threshold_scale:.2f}: mild {t.mild_mm:.1f}, moderate {t.moderate_mm:.1f}, "
                f"severe {t.severe_mm:.1f} mm over the normal"
                + ("" if self.toe_out_deg is None else f"; foot axes of the normal reps: toe-out left "
                   f"{self.toe_out_deg['left']:.0f}, right {self.toe_out_deg['right']:.0f} deg"))


def parse_reps(text: str | None, what: str) -> set[int] | None:
    """'1-3', '4,6' or '1-3,5' as 1-based rep numbers; None (all reps) for None."""
    if text is None:
        return None
    reps = set()
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d{1,4})\s*(?:-\s*(\d{1,4})\s*)?", part)
        low, high = (int(match[1]), int(match[2] or match[1])) if match else (0, -1)
        if not 1 <= low <= high:
            raise CalibrationError(f"{what} {text!r}: rep numbers from 1, like 1-3 or 4,6")
        reps.update(range(low, high + 1))
    return reps


def rep_peaks(analysis: Analysis, reps: set[int] | None, where: str) -> dict[str, list[float]]:
    """Per foot, the peak medial shift (mm) of each full rep chosen (1-based; None: all)."""
    found = {r.rep.index for r in analysis.reps}
    if reps is not None and not reps <= found:
        missing = ", ".join(map(str, sorted(reps - found)))
        raise CalibrationError(f"{where}: no rep {missing} (the analysis found {len(found)} reps)")
    chosen = [r for r in analysis.reps if not r.rep.partial and (reps is None or r.rep.index in reps)]
    return {foot: [r.sides[foot].medial_shift_mm for r in chosen if np.isfinite(r.sides[foot].medial_shift_mm)]
            for foot in SIDES}


def fit_reference(subject: str, normal_peaks: dict, knees_in_peaks: dict, normal_trials, knees_in_trials,
                  date: str | None = None, toe_out_deg: dict | None = None) -> FlagReference:
    """The reference from each foot's normal and knees-in rep peaks (mm), or one
    :class:`CalibrationError` line saying why they do not make one and by how much.
    ``toe_out_deg``: the foot axes the peaks were measured on (kept with the reference)."""
    ratio = DEFAULTS.moderate_mm / DEFAULTS.mild_mm
    normal, lowest, highest = {}, [], []
    for foot in SIDES:
        for kind, peaks, trials in (("normal", normal_peaks, normal_trials), ("knees-in", knees_in_peaks, knees_in_trials)):
            values = peaks.get(foot, [])
            where = f"{kind} reps" + (f" ({'; '.join(trials)})" if trials else "")
            if len(values) < MIN_REPS:
                raise CalibrationError(f"{where}: {len(values)} full rep(s) with a {foot}-foot shift, "
                                       f"need at least {MIN_REPS}")
            if max(abs(v) for v in values) > PEAK_LIMIT_MM:
                raise CalibrationError(f"{where}: a {foot}-foot shift of {max(values, key=abs):.1f} mm is beyond "
                                       f"{PEAK_LIMIT_MM:g} mm: the foot moved, not the knee")
        normal[foot] = personal_normal_mm(normal_peaks[foot])
        top = max(normal_peaks[foot]) - normal[foot] + BELOW_MILD_MARGIN_MM  # mild must lie above this
        weakest = min(knees_in_peaks[foot]) - normal[foot]  # moderate must lie at or below this
        if weakest < ratio * top:
            raise CalibrationError(
                f"the {foot} foot's knees-in reps do not separate from its normal reps: the weakest knees-in rep "
                f"is {weakest:+.1f} mm over the normal ({normal[foot]:.1f} mm), the largest normal rep "
                f"{top - BELOW_MILD_MARGIN_MM:.1f} mm over it; knees-in must reach {ratio * top:.1f} mm "
                f"({ratio * top - weakest:.1f} mm more): push the knees further in, or repeat the normal reps")
        lowest.append(top / DEFAULTS.mild_mm)
        highest.append(weakest / DEFAULTS.moderate_mm)
    low, high = max(lowest), min(highest)
    if low > high:
        raise CalibrationError(f"the feet need different thresholds: the {SIDES[int(np.argmax(lowest))]} foot's normal "
                               f"reps need a scale of at least {low:.2f}, the {SIDES[int(np.argmin(highest))]} foot's "
                               f"knees-in reps at most {high:.2f}; repeat the reps")
    scale = math.sqrt(low * high)
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise CalibrationError(f"these reps give a threshold scale of {scale:.2f}, outside the plausible "
                               f"[{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}]: were they squats on both plates?")
    return FlagReference(subject, normal, scale, date or dt.date.today().isoformat(), ALGORITHM_VERSION,
                         tuple(normal_trials), tuple(knees_in_trials),
                         {foot: list(normal_peaks[foot]) for foot in SIDES},
                         {foot: list(knees_in_peaks[foot]) for foot in SIDES}, _toe_out(toe_out_deg, "the normal reps' foot axes"))


def _toe_out(value, source: str) -> dict | None:
    """Per-foot toe-out (deg) checked as ``--toe-out`` is, or None when not known."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CalibrationError(f"{source}: field 'toe_out_deg' must be a table of left and right degrees")
    return {foot: number_in(value.get(foot), *TOE_OUT_RANGE_DEG, source, f"toe_out_deg.{foot}", CalibrationError)
            for foot in SIDES}


# --- files ------------------------------------------------------------------------------

def reference_dir() -> Path:
    """The lab's folder of flag references, beside its calibration records."""
    return user_calibration_dir() / "flag"


def file_name(subject: str) -> str:
    """A file name for any subject: the name itself when plain, else its plain characters and a
    hash of the whole (so '../x' is never a path and 'a/b' and 'a_b' never share a file)."""
    if plain_name(subject):
        return f"{subject}.toml"
    import hashlib  # only here: loading OpenSSL costs every analyze of a plainly named subject ~4 ms

    plain = re.sub(r"[^A-Za-z0-9_-]", "_", subject)[:40].lstrip("_-") or "subject"
    return f"{plain}-{hashlib.sha256(subject.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}.toml"


def reference_toml(ref: FlagReference) -> str:
    t = ref.thresholds()
    lines = [f"# Knee-collapse flag reference of {ref.subject}, written by forceplate calibrate flag.",
             f"# Grades: mild {t.mild_mm:.2f}, moderate {t.moderate_mm:.2f}, severe {t.severe_mm:.2f} mm "
             "of held medial shift over the foot's normal.",
             f"format = {REFERENCE_FORMAT}",
             f"subject = {toml_value(ref.subject)}",
             f"date = {ref.date}",
             f"algorithm_version = {toml_value(ref.algorithm_version)}",
             f"threshold_scale = {toml_value(round(ref.threshold_scale, 4))}",
             f"normal_trials = {toml_value(list(ref.normal_trials))}",
             f"knees_in_trials = {toml_value(list(ref.knees_in_trials))}"]
    tables = [("normal_mm", ref.normal_mm), ("normal_peaks_mm", ref.normal_peaks_mm),
              ("knees_in_peaks_mm", ref.knees_in_peaks_mm)]
    for table, values in tables + ([("toe_out_deg", ref.toe_out_deg)] if ref.toe_out_deg else []):
        lines += ["", f"[{table}]"] + [f"{foot} = {toml_value(np.round(values[foot], 3))}" for foot in SIDES]
    return "\n".join(lines) + "\n"


def parse_reference(text: str, source: str) -> FlagReference:
    """A reference from TOML text; every error one line naming ``source`` and the field."""
    data = toml_data(text, source, CalibrationError)
    if data.get("format") != REFERENCE_FORMAT:
        raise CalibrationError(f"{source}: field 'format' must be {REFERENCE_FORMAT} (a flag reference file)")
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
        raise CalibrationError(f"{source}: field 'subject' must be a name of 1 to 200 characters")
    date = data.get("date")
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise CalibrationError(f"{source}: field 'date' must be a day (YYYY-MM-DD)")
    normal = data.get("normal_mm")
    if not isinstance(normal, dict):
        raise CalibrationError(f"{source}: missing table 'normal_mm' (left and right, mm)")
    figures = {foot: number_in(normal.get(foot), *NORMAL_RANGE_MM, source, f"normal_mm.{foot}", CalibrationError)
               for foot in SIDES}
    scale = number_in(data.get("threshold_scale"), *SCALE_RANGE, source, "threshold_scale", CalibrationError)
    trials = {}
    for key in ("normal_trials", "knees_in_trials"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CalibrationError(f"{source}: field '{key}' must be a list of file names")
        trials[key] = tuple(value)
    peaks = {}
    for key in ("normal_peaks_mm", "knees_in_peaks_mm"):
        table = data.get(key, {})
        if not isinstance(table, dict):
            raise CalibrationError(f"{source}: field '{key}' must be a table of left and right peaks")
        peaks[key] = {foot: [number_in(v, -PEAK_LIMIT_MM, PEAK_LIMIT_MM, source, f"{key}.{foot}", CalibrationError)
                             for v in _list(table.get(foot, []), source, f"{key}.{foot}")] for foot in SIDES}
    return FlagReference(subject, figures, scale, date.isoformat(), str(data.get("algorithm_version", "")),
                         trials["normal_trials"], trials["knees_in_trials"], peaks["normal_peaks_mm"],
                         peaks["knees_in_peaks_mm"], _toe_out(data.get("toe_out_deg"), source), source)


def _list(value, source: str, name: str) -> list:
    if not isinstance(value, list) or len(value) > 1000:
        raise CalibrationError(f"{source}: field '{name}' must be a list of numbers (mm)")
    return value


def load_reference(path: str | Path) -> FlagReference:
    path = Path(path)
    try:
        if path.stat().st_size > 1 << 20:  # a reference is a few hundred bytes
            raise CalibrationError(f"{path}: not a flag reference (larger than 1 MB)")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read flag reference ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CalibrationError(f"{path}: not a flag reference (not UTF-8 text)") from None
    return parse_reference(text, str(path))


def find_reference(subject) -> FlagReference | None:
    """The lab's reference of ``subject`` (a trial's subject attribute), or None: none stored,
    or no subject. A stored file of another subject (two names mapped to one file) is refused."""
    if not isinstance(subject, str) or not subject.strip():
        return None
    path = reference_dir() / file_name(subject)
    if not path.is_file():
        return None
    reference = load_reference(path)
    if reference.subject != subject:
        raise CalibrationError(f"{path}: a flag reference of {reference.subject!r}, not of {subject!r}")
    return reference


def save_reference(ref: FlagReference, path: str | Path | None = None) -> FlagReference:
    """Write ``ref`` to ``path`` or the lab's folder; an earlier reference there is kept as
    ``history/NAME-<its date>.toml``. Returns the reference with the file it was written to."""
    path = Path(path) if path else reference_dir() / file_name(ref.subject)
    text = reference_toml(ref)
    parse_reference(text, str(path))  # never write what cannot be read back
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            history = path.parent / "history"
            history.mkdir(exist_ok=True)
            stamp = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
            path.replace(history / f"{path.stem}-{stamp}.toml")
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot write flag reference ({exc.strerror})") from None
    return parse_reference(text, str(path))
