"""Offline analysis of a dual-plate recording: baseline, reps, medial shift, flags.

Zero-lag filters; the live pipeline (:mod:`forceplate.processing.streaming`) runs the
same baseline, shift, hold and grading functions with causal filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forceplate.processing.baseline import (
    Baseline,
    estimate_baseline,
    estimate_toe_out_deg,
    medial_shift_mm,
    with_toe_out,
)
from forceplate.processing.filters import COP_CUTOFF_HZ, FORCE_CUTOFF_HZ, zero_lag
from forceplate.processing.insole import arch_share, pronation_index
from forceplate.processing.reps import PHASES, Rep, phases, segment_reps
from forceplate.processing.valgus import Thresholds, held_shift
from forceplate.profiles import SIDES

ALGORITHM_VERSION = "0.2"
AXIS_WINDOW_S = 0.05  # half-width of the window around each rep's bottom for the foot axis


@dataclass
class SideResult:
    medial_shift_mm: float  # largest shift held for the minimum duration
    medial_shift_pct: float  # of foot width
    flag: str
    phase: str | None  # phase at the largest held shift
    onset_s: float | None  # first moment the held shift reached the mild threshold
    arch_load_pct: float | None = None  # insoles: peak rise of the arch's load share over baseline (points)
    pronation_index: float | None = None  # insoles: peak rise of medial-minus-lateral share (points)

    def as_dict(self) -> dict:
        out = {
            "medial_shift_mm": _rounded(self.medial_shift_mm, 2),
            "medial_shift_pct": _rounded(self.medial_shift_pct, 1),
            "flag": self.flag,
            "phase": self.phase,
            "onset_s": _rounded(self.onset_s, 3),
        }
        if self.arch_load_pct is not None:
            out["arch_load_pct"] = _rounded(self.arch_load_pct, 1)
            out["pronation_index"] = _rounded(self.pronation_index, 1)
        return out


def _rounded(value: float | None, digits: int) -> float | None:
    """JSON has no NaN: an undefined value is null."""
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


@dataclass
class RepResult:
    rep: Rep
    sides: dict[str, SideResult]
    asymmetry_pct: float  # (left - right) / total of mean vertical force during the rep

    def as_dict(self) -> dict:
        r = self.rep
        return {
            "index": r.index,
            "start_s": round(r.start_s, 3),
            "bottom_s": round(r.bottom_s, 3),
            "end_s": round(r.end_s, 3),
            "duration_s": round(r.end_s - r.start_s, 3),
            "depth_m": round(r.depth_m, 3),
            "partial": r.partial,
            "peak_force_n": round(r.peak_force_n, 1),
            "asymmetry_pct": _rounded(self.asymmetry_pct, 1),
            **{side: self.sides[side].as_dict() for side in SIDES},
        }


@dataclass
class Analysis:
    rate_hz: float
    t: np.ndarray
    fz: dict
    cop: dict
    baseline: Baseline
    thresholds: Thresholds
    reps: list[RepResult]
    velocity: np.ndarray
    shift: dict = field(default_factory=dict)  # foot -> medial shift (mm) per sample
    toe_out_setting: float | str = 0.0  # what was asked: degrees, or "auto"
    devices: tuple[str, ...] = ()  # the trial's devices analysed (set by offline.analyze_trial)

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
                "algorithm_version": ALGORITHM_VERSION,
                "duration_s": round(float(self.t[-1] - self.t[0]), 3) if len(self.t) else 0.0,
            },
        }


def _estimated_axes(baseline: Baseline, cop: dict, reps: list[Rep], rate_hz: float) -> Baseline:
    bottoms = [r.bottom for r in reps if not r.partial]
    estimates = {foot: estimate_toe_out_deg(cop[foot], baseline.neutral_cop_mm[foot], foot, bottoms,
                                            int(AXIS_WINDOW_S * rate_hz)) for foot in SIDES}
    if any(e is None for e in estimates.values()):
        return with_toe_out(baseline, baseline.toe_out_deg, "set-up (too few reps to estimate the foot axes)")
    used = min(e[1] for e in estimates.values())
    return with_toe_out(baseline, {foot: e[0] for foot, e in estimates.items()}, f"estimated from {used} reps")


def _peak(x: np.ndarray) -> float:
    return float(np.nanmax(x)) if np.isfinite(x).any() else float("nan")


def side_result(held: np.ndarray, phase_code: np.ndarray, t: np.ndarray, sl: slice,
                thresholds: Thresholds, foot_width_mm: float) -> SideResult:
    window = held[sl]
    if len(window) == 0 or not np.isfinite(window).any():
        return SideResult(float("nan"), float("nan"), "none", None, None)
    peak_i = int(np.argmax(window))
    peak = float(window[peak_i])
    above = np.flatnonzero(window >= thresholds.mild_mm)
    return SideResult(
        medial_shift_mm=peak,
        medial_shift_pct=100.0 * peak / foot_width_mm,
        flag=thresholds.grade(peak),
        phase=PHASES[phase_code[sl][peak_i]] if peak >= thresholds.mild_mm else None,
        onset_s=float(t[sl][above[0]]) if len(above) else None,
    )


def analyze_feet(t: np.ndarray, fz: dict, cop: dict, rate_hz: float, toe_out_deg: float | None = 0.0,
                 thresholds: Thresholds | None = None, regions: dict | None = None) -> Analysis:
    """Analyse per-foot vertical force (N) and CoP (mm, lab frame) sampled at ``rate_hz``.

    ``toe_out_deg``: each foot's turn-out from the set-up, or None to estimate it per foot
    from the reps (the set-up value 0 is kept when too few reps tell).

    ``regions`` (insoles): per foot, the force on each named region (N), for the arch
    load and pronation index of each rep.
    """
    thresholds = thresholds or Thresholds()
    fz_f = {foot: zero_lag(fz[foot], FORCE_CUTOFF_HZ, rate_hz) for foot in fz}
    cop_f = {foot: zero_lag(cop[foot], COP_CUTOFF_HZ, rate_hz) for foot in cop}
    baseline = estimate_baseline(t, fz_f, cop_f, rate_hz, toe_out_deg or 0.0)
    total = sum(fz_f.values())
    reps, v = segment_reps(t, total, baseline.body_weight_n, rate_hz, filtered=True)
    if toe_out_deg is None:
        baseline = _estimated_axes(baseline, cop_f, reps, rate_hz)
    in_rep = np.zeros(len(t), dtype=bool)
    for r in reps:
        in_rep[r.start:r.end + 1] = True
    phase_code = phases(v, in_rep)
    shift = {foot: medial_shift_mm(cop_f[foot], baseline, foot) for foot in SIDES}
    held = {foot: held_shift(shift[foot], rate_hz, thresholds.min_duration_s) for foot in SIDES}
    indices = {}  # foot -> (arch share, pronation index), change from the baseline in points
    quiet = (t >= baseline.start_s) & (t <= baseline.end_s)
    for foot, foot_regions in (regions or {}).items():
        # shares of the raw forces, then filtered: two filters a foot instead of one per region
        series = (arch_share(foot_regions, fz[foot]), pronation_index(foot_regions, fz[foot]))
        indices[foot] = tuple(x - np.nanmean(x[quiet]) for x in (zero_lag(x, COP_CUTOFF_HZ, rate_hz) for x in series))
    results = []
    for r in reps:
        sl = slice(r.start, r.end + 1)
        left, right = np.mean(fz_f["left"][sl]), np.mean(fz_f["right"][sl])
        sides = {foot: side_result(held[foot], phase_code, t, sl, thresholds, baseline.foot_width_mm)
                 for foot in SIDES}
        for foot in indices:
            sides[foot].arch_load_pct = _peak(indices[foot][0][sl])
            sides[foot].pronation_index = _peak(indices[foot][1][sl])
        results.append(RepResult(r, sides, 100.0 * (left - right) / (left + right)))
    return Analysis(rate_hz, t, fz_f, cop_f, baseline, thresholds, results, v, shift,
                    "auto" if toe_out_deg is None else toe_out_deg)
