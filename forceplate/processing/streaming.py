"""The live pipeline: blocks of calibrated channel forces in, rep and flag events out.

It runs the offline building blocks (baseline, still detection, medial shift, held shift,
grading) with causal filters and a rep state machine, so a flag is raised while the rep
is under way: as soon as a foot's medial shift has been held above a threshold for the
minimum duration, not when the rep ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forceplate.processing.baseline import (
    QUIET_WINDOW_S,
    Baseline,
    NoBaseline,
    estimate_baseline,
    medial_shift_mm,
)
from forceplate.processing.filters import COP_CUTOFF_HZ, FORCE_CUTOFF_HZ, Causal
from forceplate.processing.reps import (
    MIN_DEPTH_M,
    STILL_WINDOW_S,
    V_MOVING,
    V_PHASE,
    V_REST,
    V_STILL,
    acceleration,
    still_mask,
)
from forceplate.processing.valgus import GRADES, Thresholds, held_shift
from forceplate.profiles import SIDES

BASELINE_SEARCH_S = 10.0  # keep this much history while waiting for quiet standing


@dataclass
class Event:
    kind: str  # baseline | rep_start | flag | rep_end
    t_s: float
    rep: int = 0
    side: str = ""
    severity: str = ""
    phase: str = ""
    value: float = float("nan")  # mm for flags
    data: dict = field(default_factory=dict)


@dataclass
class Block:
    """Processed samples of one push, for plots: time (s), per-foot force (N), CoP and shift (mm)."""

    t: np.ndarray
    fz: dict
    cop: dict
    shift: dict


class _SideState:
    def __init__(self):
        self.grade = 0
        self.peak = -np.inf
        self.peak_phase = ""
        self.onset_s = None


class StreamingAnalyzer:
    """Both feet's vertical force and CoP (lab frame) in, at ``rate_hz``; events out."""

    def __init__(self, rate_hz: float, toe_out_deg: float = 0.0, thresholds: Thresholds | None = None):
        self.rate_hz = rate_hz
        self.toe_out_deg = toe_out_deg
        self.thresholds = thresholds or Thresholds()
        self._force_filter = {foot: Causal(FORCE_CUTOFF_HZ, self.rate_hz) for foot in SIDES}
        self._cop_filter = {foot: Causal(COP_CUTOFF_HZ, self.rate_hz, width=2) for foot in SIDES}
        self.baseline: Baseline | None = None
        self._baseline_requested = False
        self._history: list[tuple] = []
        self._still_tail = np.empty(0)
        self._held_n = max(1, int(round(self.thresholds.min_duration_s * self.rate_hz)))
        self._shift_tail = {foot: np.empty(0) for foot in SIDES}
        self._v = 0.0
        self.rep = 0
        self._reset_rep()

    def capture_baseline(self) -> None:
        """Take a new baseline from the next quiet second of standing.

        Safe to call from another thread (the GUI): the request is carried out at the start
        of the next :meth:`push`, in the thread that feeds the analyzer.
        """
        self._baseline_requested = True

    def _reset_rep(self):
        self.phase = "standing"
        self._confirmed = False
        self._pos = 0.0
        self._deepest = 0.0
        self._start_s = 0.0
        self._last_down_s = self._first_up_s = None
        self._ascending = False
        self._peak_force = 0.0
        self._sides = {foot: _SideState() for foot in SIDES}

    def push(self, t: np.ndarray, fz_raw: dict, cop_raw: dict) -> tuple[Block, list[Event]]:
        """Process each foot's vertical force (N) and CoP (n, 2) mm at trial times ``t`` (s)."""
        if self._baseline_requested:
            self._baseline_requested = False
            self.baseline, self._history = None, []
            self._reset_rep()
        fz = {foot: self._force_filter[foot](fz_raw[foot])[:, 0] for foot in SIDES}
        cop = {foot: self._cop_filter[foot](cop_raw[foot]) for foot in SIDES}
        events: list[Event] = []
        if self.baseline is None:
            events += self._seek_baseline(t, fz, cop)
        if self.baseline is None:
            nan = np.full(len(t), np.nan)
            return Block(t, fz, cop, {foot: nan for foot in SIDES}), events
        shift = {foot: medial_shift_mm(cop[foot], self.baseline, foot) for foot in SIDES}
        events += self._track(t, fz, shift)
        return Block(t, fz, cop, shift), events

    def _seek_baseline(self, t, fz, cop) -> list[Event]:
        self._history.append((t, fz, cop))
        ht = np.concatenate([h[0] for h in self._history])
        keep = ht >= ht[-1] - BASELINE_SEARCH_S
        hfz = {foot: np.concatenate([h[1][foot] for h in self._history])[keep] for foot in SIDES}
        hcop = {foot: np.concatenate([h[2][foot] for h in self._history])[keep] for foot in SIDES}
        self._history = [(ht[keep], hfz, hcop)]
        if ht[keep][-1] - ht[keep][0] < QUIET_WINDOW_S:
            return []
        try:
            self.baseline = estimate_baseline(ht[keep], hfz, hcop, self.rate_hz, self.toe_out_deg)
        except NoBaseline:  # keep waiting for quiet standing
            return []
        self._history = []
        return [Event("baseline", float(ht[-1]), value=self.baseline.body_weight_n, data=self.baseline.as_dict())]

    def _track(self, t, fz, shift) -> list[Event]:
        bw = self.baseline.body_weight_n
        total = fz["left"] + fz["right"]
        window = np.concatenate([self._still_tail, total])
        still = still_mask(window, bw, self.rate_hz)[-len(total):]
        self._still_tail = window[-int(round(STILL_WINDOW_S * self.rate_hz)):]
        accel = acceleration(total, bw)
        held = {}
        for foot in SIDES:
            w = np.concatenate([self._shift_tail[foot], shift[foot]])
            held[foot] = held_shift(w, self.rate_hz, self.thresholds.min_duration_s)[-len(total):]
            self._shift_tail[foot] = w[-self._held_n:]
        events: list[Event] = []
        dt = 1.0 / self.rate_hz
        for i in range(len(t)):
            v = 0.0 if still[i] else self._v + accel[i] * dt
            self._v = v
            ti = float(t[i])
            if self.phase == "standing":
                if v >= -V_REST:
                    self._start_s, self._pos = ti, 0.0
                    continue
                self.phase = "descent"
            self._pos += v * dt
            self._deepest = min(self._deepest, self._pos)
            self._peak_force = max(self._peak_force, float(total[i]))
            if v < -V_STILL:
                self._last_down_s = ti
            elif v > V_STILL and self._first_up_s is None and self._last_down_s is not None and self._pos < -MIN_DEPTH_M:
                self._first_up_s = ti
            if v > V_MOVING:
                self._ascending = True
            self.phase = "descent" if v < -V_PHASE else "ascent" if v > V_PHASE else "bottom"
            if not self._confirmed:
                if self._pos < -MIN_DEPTH_M:
                    self._confirmed = True
                    self.rep += 1
                    events.append(Event("rep_start", self._start_s, rep=self.rep))
                elif v >= -V_REST:  # a dip that came back before it was deep enough
                    self._reset_rep()
                    self._start_s = ti
                    continue
            if self._confirmed:
                events += self._flags(ti, held, i)
                if self._ascending and v <= V_REST:
                    events.append(self._finish(ti))
                    self._reset_rep()
        return events

    def _flags(self, ti: float, held: dict, i: int) -> list[Event]:
        events = []
        for foot in SIDES:
            s = self._sides[foot]
            value = float(held[foot][i])
            if value > s.peak:
                s.peak, s.peak_phase = value, self.phase
            grade = GRADES.index(self.thresholds.grade(value))
            if grade > s.grade:
                s.grade = grade
                if s.onset_s is None:
                    s.onset_s = ti
                events.append(Event("flag", ti, rep=self.rep, side=foot, severity=GRADES[grade],
                                    phase=self.phase, value=value))
        return events

    def _finish(self, ti: float) -> Event:
        bottom = (self._last_down_s + self._first_up_s) / 2 if self._first_up_s else ti
        width = self.baseline.foot_width_mm
        sides = {}
        for foot in SIDES:
            s = self._sides[foot]
            flagged = s.grade > 0
            sides[foot] = {
                "medial_shift_mm": round(s.peak, 2) if np.isfinite(s.peak) else None,
                "medial_shift_pct": round(100 * s.peak / width, 1) if np.isfinite(s.peak) else None,
                "flag": GRADES[s.grade],
                "phase": s.peak_phase if flagged else None,
                "onset_s": round(s.onset_s, 3) if s.onset_s is not None else None,
            }
        worst = max(SIDES, key=lambda foot: self._sides[foot].grade)
        return Event("rep_end", ti, rep=self.rep, side=worst if self._sides[worst].grade else "",
                     severity=GRADES[self._sides[worst].grade],
                     data={"index": self.rep, "start_s": round(self._start_s, 3), "bottom_s": round(bottom, 3),
                           "end_s": round(ti, 3), "depth_m": round(-self._deepest, 3),
                           "peak_force_n": round(self._peak_force, 1), **sides})
