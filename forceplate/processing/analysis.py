"""Offline analysis of both feet's force and CoP: reps, medial shift, flags.

Zero-lag filters; the live pipeline (:mod:`forceplate.processing.streaming`) runs the
same reference, shift, hold, grading and phase rules with causal filters, and both
produce :class:`RepResult`.

Each rep's medial shift is the CoP's movement toward the arch, perpendicular to that
foot's own axis, from the lifter's standing just before the rep (:func:`rep_reference`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forceplate.processing import ALGORITHM_VERSION
from forceplate.processing.baseline import (
    MIN_AXIS_REPS,
    Baseline,
    FootAxes,
    NoBaseline,
    SwayStretch,
    estimate_axes,
    forward_direction,
    rep_reference,
    rest_sway_axes,
    running_reference,
    stated_axes,
    sway_stretch,
    turned_to_sway,
)
from forceplate.processing.filters import COP_CUTOFF_HZ, FORCE_CUTOFF_HZ, zero_lag
from forceplate.processing.insole import arch_share, pronation_index
from forceplate.processing.median import median
from forceplate.processing.movement import runs
from forceplate.processing.reps import PHASES, Rep, Segmentation, phases, segment_reps
from forceplate.processing.valgus import Thresholds, held_shift
from forceplate.profiles import SIDES

AXIS_WINDOW_S = 0.05  # half-width of the window around each rep's axis sample for the foot axis
AXIS_DEPTH_FRACTION = 0.6  # of the descent: where the CoP's travel along the foot is measured
NORMAL_QUANTILE = 0.25  # of the reps' peak shifts: the lifter's normal rep
NORMAL_ALLOWANCE_MM = 1.5  # peak held shift that sway and noise alone give in a rep


@dataclass
class SideResult:
    """One foot in one rep: the largest held medial shift, its grade and when it happened."""

    medial_shift_mm: float  # largest shift held for the minimum duration (mm, + toward the arch)
    medial_shift_pct: float  # of foot width
    flag: str
    onset_phase: str | None  # phase when the held shift first reached the mild threshold (the live cue's)
    peak_phase: str | None  # phase at the largest held shift
    onset_s: float | None  # first moment the held shift reached the mild threshold
    arch_load_pct: float | None = None  # insoles: peak rise of the arch's load share over baseline (points)
    pronation_index: float | None = None  # insoles: peak rise of medial-minus-lateral share (points)

    def as_dict(self) -> dict:
        out = {
            "medial_shift_mm": _rounded(self.medial_shift_mm, 2),
            "medial_shift_pct": _rounded(self.medial_shift_pct, 1),
            "flag": self.flag,
            "onset_phase": self.onset_phase,
            "peak_phase": self.peak_phase,
            "phase": self.peak_phase,  # kept for readers of algorithm 0.2: the peak phase
            "onset_s": _rounded(self.onset_s, 3),
        }
        if self.arch_load_pct is not None:
            out["arch_load_pct"] = _rounded(self.arch_load_pct, 1)
            out["pronation_index"] = _rounded(self.pronation_index, 1)
        return out


def _rounded(value: float | None, digits: int) -> float | None:
    """JSON has no NaN: an undefined value is null; no -0.0."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits) + 0.0


@dataclass
class RepResult:
    """One rep: its timing and depth, each foot's result, and the force asymmetry."""

    rep: Rep
    sides: dict[str, SideResult]
    asymmetry_pct: float  # (left - right) / (left + right) of mean vertical force during the rep, %

    def as_dict(self) -> dict:
        r = self.rep
        return {
            "index": r.index,
            "start_s": round(r.start_s, 3),
            "bottom_s": round(r.bottom_s, 3),
            "end_s": round(r.end_s, 3),
            "duration_s": round(r.end_s - r.start_s, 3),
            "depth_m": _rounded(r.depth_m, 3),
            "partial": r.partial,
            "peak_force_n": round(r.peak_force_n, 1),
            "asymmetry_pct": _rounded(self.asymmetry_pct, 1),
            **{side: self.sides[side].as_dict() for side in SIDES},
        }


@dataclass
class Analysis:
    """A squat analysis of both feet (:func:`analyze_feet`): the reps (:class:`RepResult`), the
    baseline and thresholds they were graded with, and the per-sample arrays behind them: time
    ``t`` (s), zero-lag filtered ``fz`` (N) and ``cop`` (mm, lab frame) per foot, vertical
    ``velocity`` (m/s) and each foot's medial ``shift`` (mm)."""

    rate_hz: float
    t: np.ndarray
    fz: dict
    cop: dict
    baseline: Baseline
    thresholds: Thresholds
    reps: list[RepResult]
    velocity: np.ndarray
    shift: dict = field(default_factory=dict)  # foot -> medial shift (mm) per sample
    toe_out_setting: float | str = "auto"  # what was asked: degrees, or "auto"
    devices: tuple[str, ...] = ()  # the trial's devices analysed (set by offline.analyze_trial)
    notes: list[str] = field(default_factory=list)  # what a reader must know about this analysis
    normal_mm: dict = field(default_factory=dict)  # foot -> the lifter's normal peak shift the grades start from

    def as_dict(self) -> dict:
        flagged = {side: sum(r.sides[side].flag != "none" for r in self.reps) for side in SIDES}
        return {
            "reps": [r.as_dict() for r in self.reps],
            "summary": {
                "reps": len(self.reps),
                "partial_reps": sum(r.rep.partial for r in self.reps),
                "flagged": flagged,
                "flagged_reps": sum(any(r.sides[s].flag != "none" for s in SIDES) for r in self.reps),
                "baseline": self.baseline.as_dict(),
                "thresholds": self.thresholds.as_dict(),
                "normal_shift_mm": {foot: _rounded(v, 2) for foot, v in self.normal_mm.items()},
                "algorithm_version": ALGORITHM_VERSION,
                "duration_s": round(float(self.t[-1] - self.t[0]), 3) if len(self.t) else 0.0,
                "notes": list(self.notes),
            },
        }


def _peak(x: np.ndarray) -> float:
    return float(np.nanmax(x)) if np.isfinite(x).any() else float("nan")


def side_result(held: np.ndarray, phase_code: np.ndarray, t: np.ndarray, sl: slice,
                thresholds: Thresholds, foot_width_mm: float, normal_mm: float = 0.0) -> SideResult:
    """A foot's result in the rep ``sl``: graded on how far the held shift exceeds the
    lifter's own normal rep (``normal_mm``, :func:`personal_normal_mm`)."""
    window = held[sl]
    if len(window) == 0 or not np.isfinite(window).any():
        return SideResult(float("nan"), float("nan"), "none", None, None, None)
    peak_i = int(np.argmax(window))
    peak = float(window[peak_i])
    above = np.flatnonzero(window >= thresholds.mild_mm + normal_mm)
    flagged = len(above) > 0
    return SideResult(
        medial_shift_mm=peak,
        medial_shift_pct=100.0 * peak / foot_width_mm,
        flag=thresholds.grade(peak - normal_mm),
        onset_phase=PHASES[phase_code[sl][above[0]]] if flagged else None,
        peak_phase=PHASES[phase_code[sl][peak_i]] if flagged else None,
        onset_s=float(t[sl][above[0]]) if flagged else None,
    )


def personal_normal_mm(peaks_mm: list[float]) -> float:
    """How far this lifter's CoP moves toward the arch in a normal rep (mm), from the peak
    held shifts of the reps so far: their NORMAL_QUANTILE quantile, less what sway alone
    gives (NORMAL_ALLOWANCE_MM); 0 for a lifter whose normal reps stay near their standing.

    Real healthy squats move the CoP toward the arch by 10-13 mm with the knees going out
    (docs/validation.md), so a rep is graded against the lifter's own normal reps, not
    against zero. A low quantile keeps the normal from rising when collapse appears in
    up to three reps of four (the seeds: collapse often appears only as the load grows).
    A lifter whose every rep collapses is not told apart from their normal: a reference
    trial or ``calibrate flag`` fixes the normal instead. One rep is its own normal.
    """
    finite = [p for p in peaks_mm if np.isfinite(p)]
    if not finite:
        return 0.0
    # "lower": a rep's own value, never a mix with a collapse rep's (in a set of three
    # with two collapse reps the normal stays the clean rep)
    return max(0.0, float(np.quantile(finite, NORMAL_QUANTILE, method="lower")) - NORMAL_ALLOWANCE_MM)


def references(cop: dict, reps: list[Rep], rate_hz: float) -> dict[str, np.ndarray]:
    """Per foot, the standing CoP each rep is measured against, (reps, 2) mm (causal rule)."""
    out = {}
    for foot in SIDES:
        own, chosen = [], []
        earliest = 0
        for r in reps:
            own.append(rep_reference(cop[foot], r.start, earliest, rate_hz))
            chosen.append(running_reference(own))
            earliest = r.end
        out[foot] = np.array(chosen, dtype=float).reshape(-1, 2)
    return out


def axis_sample(velocity: np.ndarray, rep: Rep, rate_hz: float) -> int:
    """The sample of a rep's descent where it has gone AXIS_DEPTH_FRACTION of its depth: the
    CoP there has travelled along the foot, and a collapse that builds toward the bottom has
    added less of its medial shift than at the bottom (live and offline use this rule)."""
    drop = -np.cumsum(velocity[rep.start:rep.bottom + 1]) / rate_hz
    if not len(drop) or not drop[-1] > 0:  # no measured descent (an external pull): the bottom
        return rep.bottom
    reached = np.flatnonzero(drop >= AXIS_DEPTH_FRACTION * drop[-1])
    return rep.start + int(reached[0])


def axis_travel(cop: dict, reps: list[Rep], refs: dict, velocity: np.ndarray, rate_hz: float) -> dict[str, np.ndarray]:
    """Per foot, (reps, 2): CoP at each full rep's :func:`axis_sample` minus its reference (mm)."""
    half = max(1, int(AXIS_WINDOW_S * rate_hz))
    at = [axis_sample(velocity, r, rate_hz) for r in reps]
    out = {}
    for foot in SIDES:
        rows = []
        for k, r in enumerate(reps):
            window = cop[foot][max(at[k] - half, 0): at[k] + half + 1]
            finite = np.isfinite(window).all(axis=1)
            rows.append(window[finite].mean(axis=0, dtype=float) - refs[foot][k] if finite.any() and not r.partial
                        else np.full(2, np.nan))
        out[foot] = np.array(rows, dtype=float).reshape(-1, 2)
    return out


def foot_axes(toe_out_deg, axes_source: str, forward: np.ndarray, travel: dict | None) -> FootAxes:
    """The axes in the documented order: stated (set-up or insole frame), else estimated from
    the reps, else the lifter's frame (feet parallel)."""
    if toe_out_deg is not None:
        stated = toe_out_deg if isinstance(toe_out_deg, dict) else dict.fromkeys(SIDES, float(toe_out_deg))
        return stated_axes(stated, forward, axes_source)
    fallback = stated_axes(dict.fromkeys(SIDES, 0.0), forward, "lifter's frame (feet taken as parallel: "
                                                                "too little travel along the feet to estimate them)")
    if travel is None:
        return fallback
    full = min(np.isfinite(rows).all(axis=1).sum() for rows in travel.values())
    return estimate_axes(travel, forward, fallback, min(MIN_AXIS_REPS, int(full)))


def rest_stretches(cop: np.ndarray, rest: np.ndarray, rate_hz: float) -> list[SwayStretch]:
    """The foot's standing between reps (and before and after them), stretch by stretch."""
    return [s for lo, hi in runs(rest) if (s := sway_stretch(cop[lo:hi], rate_hz)) is not None]


def standing_sway_turn(axes: FootAxes, stretches: dict, rate_hz: float, forward: np.ndarray,
                       travel: dict | None) -> FootAxes:
    """``axes`` turned to each foot's standing sway between reps (``stretches``: foot -> list of
    :class:`SwayStretch`) where it is clear (:func:`forceplate.processing.baseline.turned_to_sway`;
    live and offline use this rule)."""
    sway = rest_sway_axes(stretches, rate_hz, forward)
    if not sway:
        return axes
    pooled = stretches[next(iter(sway))]
    described = f"{len(pooled)} stretches, {sum(s.samples for s in pooled) / rate_hz:.1f} s"
    return turned_to_sway(axes, sway, travel, forward, described)


def shift_series(cop: dict, reps: list[Rep], refs: dict, axes: FootAxes) -> dict[str, np.ndarray]:
    """Per foot, the medial shift (mm) at every sample: from each rep's reference, from its
    start until the next rep starts (before the first rep, from the first rep's). Computed in
    float64, held in the CoP's own dtype (float32 CoP: float32 shift, 3e-6 mm of a 50 mm shift)."""
    out = {}
    starts = [0] + [r.start for r in reps[1:]]
    for foot in SIDES:
        shift = np.empty(len(cop[foot]), dtype=np.result_type(cop[foot].dtype, np.float32))
        # rep by rep (from each rep's start to the next's), not through a whole-trial
        # reference array and difference: the same numbers, two fewer full-length copies
        for lo, hi, reference in zip(starts, starts[1:] + [len(shift)], refs[foot]):
            shift[lo:hi] = (cop[foot][lo:hi] - reference) @ axes.medial_unit[foot]
        out[foot] = shift
    return out


def analyze_feet(t: np.ndarray, fz: dict, cop: dict, rate_hz: float, toe_out_deg=None,
                 thresholds: Thresholds | None = None, regions: dict | None = None, weight_n: float | None = None,
                 load_kg: float | None = None, axes_source: str = "set-up", normal_mm: dict | None = None,
                 filter_in_place: bool = False) -> Analysis:
    """Analyse per-foot vertical force (N) and CoP (mm, lab frame) sampled at ``rate_hz``.

    ``toe_out_deg``: each foot's turn-out from the lifter's forward, stated (degrees, or a
    dict per foot; ``axes_source`` names where it came from), or None to estimate each
    foot's axis from the reps. ``weight_n``: the standing weight (lifter and bar) from a
    static trial, else measured. ``load_kg``: the bar's load, to tell the lifter's mass.
    ``normal_mm``: per foot, the lifter's normal peak shift from a reference (else from
    this trial's own reps, :func:`personal_normal_mm`).
    ``regions`` (insoles): per foot, the force on each named region (N), for the arch load
    and pronation index of each rep.
    ``cop``: or a function that gives it, called once the reps are segmented (an hour's CoP
    is then not held beside the segmentation's temporaries; ``offline.analyze_trial``).
    ``t``: an array, or what reads like one (len, an index, a slice; ``offline.UniformTimes``,
    the analysis' array then made at its end, after the segmentation's largest temporaries).
    ``filter_in_place``: the caller gives up ``fz`` and ``cop`` (float64 or float32 arrays):
    they are low-passed where they are and become the analysis' filtered arrays, so a whole
    trial's per-foot arrays are held once, not as read and filtered too (``offline.analyze_trial``,
    which reads them in float32). The raw force is kept where the insoles' arch load needs it.
    Float32 arrays are filtered in float64 and rounded back; the total force, velocity and
    the segmentation are float64 whatever the feet's arrays are, the medial shift follows
    the CoP's dtype.
    """
    thresholds = thresholds or Thresholds()
    _check_both_feet(fz)
    if not callable(cop):
        _check_both_feet(cop)
    def place(x: np.ndarray, allowed: bool) -> np.ndarray | None:  # where the filtered array goes
        return x if (allowed and isinstance(x, np.ndarray) and x.dtype in (np.float64, np.float32)
                     and x.flags.writeable) else None

    fz_f = {foot: zero_lag(fz[foot], FORCE_CUTOFF_HZ, rate_hz, out=place(fz[foot], filter_in_place and not regions))
            for foot in fz}
    seg = segment_reps(t, total_force(fz_f), rate_hz, weight_n, filtered=True)  # the total let go once segmented
    if not seg.reps and not seg.rest.any():
        raise NoBaseline("no squat reps and no standing found: nothing to measure the feet against")
    if callable(cop):  # read now: not held beside the segmentation's temporaries
        cop = cop()
        _check_both_feet(cop)
    cop_f = {foot: zero_lag(cop[foot], COP_CUTOFF_HZ, rate_hz, out=place(cop[foot], filter_in_place)) for foot in cop}
    reps = seg.reps
    rest_refs = {foot: _rest_cop(cop_f[foot], seg) for foot in SIDES}
    refs = references(cop_f, reps, rate_hz)
    neutral = {foot: _neutral(refs[foot], rest_refs[foot]) for foot in SIDES}
    forward = forward_direction(neutral["left"], neutral["right"])
    travel = axis_travel(cop_f, reps, refs, seg.velocity, rate_hz) if reps else None
    axes = foot_axes(toe_out_deg, axes_source, forward, travel)
    if toe_out_deg is None:
        axes = standing_sway_turn(axes, {foot: rest_stretches(cop_f[foot], seg.rest, rate_hz) for foot in SIDES},
                                  rate_hz, forward, travel)
    rested = bool(seg.rest.any())  # its first and last sample, not the indices of every rest sample
    baseline = Baseline(
        body_weight_n=seg.weight_n,
        start_s=float(t[int(np.argmax(seg.rest))]) if rested else float("nan"),
        end_s=float(t[len(seg.rest) - 1 - int(np.argmax(seg.rest[::-1]))]) if rested else float("nan"),
        neutral_cop_mm=neutral, medial_unit=axes.medial_unit, toe_out_deg=axes.toe_out_deg,
        axis_source=axes.source, weight_source=seg.weight_source, pulled=seg.pulled, load_kg=load_kg,
        axis_uncertainty_deg=axes.uncertainty_deg,
    )
    in_rep = np.zeros(len(t), dtype=bool)
    for r in reps:
        in_rep[r.start:r.end + 1] = True
    phase_code = phases(seg.velocity, in_rep)
    shift = shift_series(cop_f, reps, refs, axes) if reps else {foot: np.full(len(t), np.nan) for foot in SIDES}
    normal, side_results = {}, {}
    for foot in SIDES:  # a foot at a time: one held shift of the trial's length at once, not both
        held = held_shift(shift[foot], rate_hz, thresholds.min_duration_s)
        peaks = [_peak(held[r.start:r.end + 1]) for r in reps if not r.partial]
        normal[foot] = personal_normal_mm(peaks) if normal_mm is None else normal_mm[foot]
        side_results[foot] = [side_result(held, phase_code, t, slice(r.start, r.end + 1), thresholds,
                                          baseline.foot_width_mm, normal[foot]) for r in reps]
        del held
    indices = _insole_indices(regions, fz, _standing(seg.rest, [r.start for r in reps], rate_hz), rate_hz)
    results = []
    for k, r in enumerate(reps):
        sl = slice(r.start, r.end + 1)
        left, right = np.mean(fz_f["left"][sl], dtype=float), np.mean(fz_f["right"][sl], dtype=float)
        sides = {foot: side_results[foot][k] for foot in SIDES}
        for foot in indices:
            sides[foot].arch_load_pct = _peak(indices[foot][0][sl])
            sides[foot].pronation_index = _peak(indices[foot][1][sl])
        results.append(RepResult(r, sides, 100.0 * (left - right) / (left + right)))
    analysis = Analysis(rate_hz, np.asarray(t), fz_f, cop_f, baseline, thresholds, results, seg.velocity, shift,
                        "auto" if toe_out_deg is None else toe_out_deg)
    analysis.notes = _notes(seg, baseline)
    if toe_out_deg is not None and axes_source != "insole frame" and travel is not None:
        analysis.notes += _stated_axes_notes(travel, axes, thresholds)
    analysis.notes += _outward_habit_notes(shift, reps, rate_hz, thresholds)
    analysis.normal_mm = normal
    if len([r for r in reps if not r.partial]) < 2 and normal_mm is None:
        analysis.notes.append("one full rep: it is its own normal, so no flag (give a reference trial)")
    return analysis


def _check_both_feet(arrays: dict) -> None:
    missing = [foot for foot in SIDES if foot not in arrays]
    if missing:
        raise NoBaseline(f"no {' and no '.join(missing)} foot: a squat is analysed on both feet "
                         "(a single-leg squat: --exercise single_leg_squat)")


def total_force(fz: dict) -> np.ndarray:
    """The feet's vertical forces summed (N), in float64 whatever their dtype."""
    total = np.zeros(len(next(iter(fz.values()))))
    for force in fz.values():
        total += force
    return total


def _rest_cop(cop: np.ndarray, seg: Segmentation) -> np.ndarray:
    finite = seg.rest & np.isfinite(cop).all(axis=1)
    return cop[finite].mean(axis=0, dtype=float) if finite.any() else np.full(2, np.nan)  # float64 sums of float32 CoP


def _neutral(rep_refs: np.ndarray, rest_cop: np.ndarray) -> np.ndarray:
    finite = np.isfinite(rep_refs).all(axis=1) if len(rep_refs) else np.zeros(0, bool)
    return median(rep_refs[finite], axis=0) if finite.any() else rest_cop


def _standing(rest: np.ndarray, rep_starts, rate_hz: float) -> np.ndarray:
    """Where the insole indices' standing level is taken: the rest stretches, else 0.1 s
    before each rep's start (sample indices)."""
    standing = rest.copy()
    if not standing.any():
        for start in rep_starts:
            standing[max(start - int(0.1 * rate_hz), 0):start + 1] = True
    return standing


def _insole_indices(regions: dict | None, fz: dict, standing: np.ndarray, rate_hz: float) -> dict:
    """Per foot (arch share, pronation index) as change from the mean over ``standing``, in points."""
    indices = {}
    for foot, foot_regions in (regions or {}).items():
        # shares of the raw forces, then filtered: two filters a foot instead of one per region
        series = (arch_share(foot_regions, fz[foot]), pronation_index(foot_regions, fz[foot]))
        filtered = [zero_lag(x, COP_CUTOFF_HZ, rate_hz) for x in series]
        indices[foot] = tuple(x - _finite_mean(x[standing]) for x in filtered)
    return indices


def insole_rep_values(t: np.ndarray, fz: dict, regions: dict, rate_hz: float,
                      spans_s: list[tuple[float, float]]) -> list[dict[str, dict]]:
    """Each rep's arch load and pronation index per foot (points over standing), by the rule
    :func:`analyze_feet` applies and as :meth:`SideResult.as_dict` gives them
    (``arch_load_pct``, ``pronation_index``): the reps given by their start and end times (s)
    on a stretch of per-foot force (N) and region forces (N) sampled at ``t`` (live: a pair
    of insoles' history, with the force of the plates beside them when there are, as offline
    takes the shares of the plates' force). Standing is the rest the segmentation finds in the stretch
    (else 0.1 s before each rep): offline's when the stretch holds the set's standing."""
    total = sum(zero_lag(fz[foot], FORCE_CUTOFF_HZ, rate_hz) for foot in fz)
    seg = segment_reps(t, total, rate_hz, filtered=True)
    starts = np.searchsorted(t, [start for start, _ in spans_s])
    indices = _insole_indices(regions, fz, _standing(seg.rest, starts, rate_hz), rate_hz)
    out = []
    for start_s, end_s in spans_s:
        sl = slice(int(np.searchsorted(t, start_s)), int(np.searchsorted(t, end_s, side="right")))
        out.append({foot: {"arch_load_pct": _rounded(_peak(arch[sl]), 1),
                           "pronation_index": _rounded(_peak(pronation[sl]), 1)}
                    for foot, (arch, pronation) in indices.items()})
    return out


def _finite_mean(x: np.ndarray) -> float:
    """NaN, not a warning, when nothing is finite (a foot off the ground whenever the body is still)."""
    finite = x[np.isfinite(x)]
    return float(finite.mean()) if len(finite) else float("nan")


TOE_IN_NOTE_DEG = 20.0  # feet turned in further than this are rare in a squat stance (0-40 deg out)


def _stated_axes_notes(travel: dict, axes: FootAxes, thresholds: Thresholds) -> list[str]:
    """A note when the reps' CoP travel, read along stated axes, is already a mild shift at each
    rep's axis sample (the median of the reps, so a minority of collapse reps does not raise it).

    A stated toe-out is measured from the line across the two feet's standing CoPs: feet set
    one ahead of the other tilt that line, and the heel-ward travel of a squat (50-127 mm in
    real squats) then reads as medial or lateral shift, 7 mm at 80 mm and 5 degrees (the
    battery with the true toe-out stated: precision/recall 0.83/0.82 against 0.92/0.91 with the
    axes estimated; docs/validation.md). The estimate follows the reps' own line instead."""
    read = {}
    for foot, rows in travel.items():
        rows = rows[np.isfinite(rows).all(axis=1)]
        if len(rows) >= MIN_AXIS_REPS:
            medial = float(median(rows @ axes.medial_unit[foot]))
            if abs(medial) >= thresholds.mild_mm:
                read[foot] = medial
    if not read:
        return []
    return ["along the stated foot axes the CoP had already moved " + ", ".join(
        f"{abs(mm):.1f} mm {'toward the arch' if mm > 0 else 'outward'} ({foot})" for foot, mm in read.items())
        + f" at {100 * AXIS_DEPTH_FRACTION:.0f} % of the descent in most reps: feet set one ahead of the other (a stated "
          "toe-out is measured from the line across the feet) or a toe-out off by a few degrees reads the CoP's "
          "travel along the foot as shift; without --toe-out the axes follow the reps' own line"]


def _outward_habit_notes(shift: dict, reps: list[Rep], rate_hz: float, thresholds: Thresholds) -> list[str]:
    """A note per foot whose CoP, in most full reps, was a mild shift or more *away* from the
    arch at the bottom (knees going out, or how this lifter squats). The lifter's normal is
    never below their standing (:func:`personal_normal_mm`: from the CoP alone a set of
    knees-out reps with a few plain ones and an outward habit with a few collapse reps look the
    same, and the plain reps must not flag), so a knee caving in from there reads smaller than
    it moved (docs/validation.md: 12 of the 13 collapses missed on the reps found)."""
    full = [r for r in reps if not r.partial]
    if len(full) < MIN_AXIS_REPS:
        return []
    half = max(1, int(AXIS_WINDOW_S * rate_hz))
    outward = {}
    for foot in SIDES:
        at_bottom = [_finite_mean(shift[foot][max(r.bottom - half, 0):r.bottom + half + 1]) for r in full]
        at_bottom = [mm for mm in at_bottom if np.isfinite(mm)]
        if len(at_bottom) >= MIN_AXIS_REPS and (typical := float(median(at_bottom))) <= -thresholds.mild_mm:
            outward[foot] = -typical
    return [f"in most reps the {foot} foot's CoP moved {mm:.1f} mm away from the arch at the bottom (knees going "
            f"out, or how this lifter squats): a shift toward the arch is graded from standing, not from these "
            f"reps, so a knee caving in from there reads up to {mm:.1f} mm less than it moved"
            for foot, mm in outward.items()]


def _notes(seg: Segmentation, baseline: Baseline) -> list[str]:
    notes = [f"standing weight from {seg.weight_source}", f"foot axes: {baseline.axis_source}"]
    turned_in = {foot: angle for foot, angle in baseline.toe_out_deg.items() if angle < -TOE_IN_NOTE_DEG}
    if turned_in and baseline.axis_source not in ("set-up", "insole frame"):
        # both real squats in ../shared read so until their feet were named as their markers show
        notes.append("the foot axes read as turned in (" + ", ".join(f"{foot} {-angle:.0f} deg"
                                                                    for foot, angle in turned_in.items())
                     + "): feet seldom turn in this far, so the left and right plates may be swapped "
                       "(forceplate import --left/--right) or the estimate is off (state --toe-out)")
    if seg.weight_source == "rep cycles" and not seg.pulled:
        # three battery sets on insoles under a flywheel, with no standing at all, read depths
        # 1.3-3.2 times true: nothing in the force tells the pull's mean from the weight
        notes.append("the weight is the mean force over whole rep cycles (too little standing in the trial): "
                     "under a flywheel or a band that mean holds the pull as well, and the weight and the "
                     "depths then read too large (a static trial, --static, gives the weight)")
    if baseline.load_kg is None and not baseline.pulled:  # under a pull no body weight is shown
        notes.append("no load_kg stated: the body weight shown includes any bar")
    if not seg.reps:
        notes.append("no squat reps found")
    return notes
