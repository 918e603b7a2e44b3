"""The live pipeline: blocks of both feet's force and CoP in, rep and flag events out.

It applies the offline rules (:mod:`forceplate.processing.analysis`) causally: the same
still test, velocity from the standing weight, rep references, foot axes, held shift,
personal normal, grades and phases, so a flag is raised while the rep is under way: as
soon as a foot's held medial shift exceeds the lifter's normal by a threshold.

What live cannot know yet, it learns as it goes: the standing weight comes from 0.2 s of
steady force (at once when the set starts standing, else once it is near the median force
seen so far; no second of standing is needed), or, in a set with no such moment, from the
offline segmentation of the force seen so far once it holds rest or two whole cycles; it
is re-weighed over each rep, the foot axes
from the reps done so far (unless the set-up states them; the first rep only teaches
them, so it raises no flag), the lifter's normal from the reps done so far. Each
``rep_end`` event carries the rep as the offline analysis reports it (``RepResult``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from forceplate.processing.analysis import AXIS_DEPTH_FRACTION, RepResult, SideResult, personal_normal_mm
from forceplate.processing.baseline import (
    MIN_STANDING_N,
    Baseline,
    FootAxes,
    estimate_axes,
    forward_direction,
    rep_reference,
    running_reference,
    stated_axes,
)
from forceplate.processing.filters import COP_CUTOFF_HZ, FORCE_CUTOFF_HZ, Causal
from forceplate.processing.reps import (
    BOTTOM_LEVEL,
    GIVEN,
    MAX_PLAUSIBLE_DEPTH_M,
    MIN_DEPTH_M,
    STILL_CUTOFF_HZ,
    V_MOVING,
    V_REST,
    V_STILL,
    Rep,
    acceleration,
    phase_at,
    segment_reps,
    NEAR_WEIGHT_BANDS,
    still_band_n,
    steady_band_n,
    steady_ends,
    window_samples,
)
from forceplate.processing.valgus import GRADES, Thresholds, held_shift
from forceplate.profiles import SIDES

HISTORY_S = 1.0  # filtered samples kept for the reference CoP before a rep's start
MAX_PLAUSIBLE_V = 1.5  # m/s: a squatting body moves slower; faster means the weight is wrong
CYCLE_MEMORY_S = 20.0  # force kept to re-measure the weight over whole rep cycles
MIN_CYCLE_S = 0.8  # a shorter "rep" is no whole cycle to weigh
WEIGHT_HISTORY_S = 10.0  # force kept while looking for the weight: more than one rep (up to 6.6 s)
WEIGHT_SEEK_AFTER_S = 2.5  # of force seen before the reps in it are looked for
WEIGHT_SEEK_EVERY_S = 0.5  # how often they are looked for (each look costs ~10 ms on 10 s)
WEIGHT_SEEK_RATE_HZ = 100.0  # the force is low-passed at 20 Hz: 100 samples a second keep the reps
WEIGHT_HISTORY_MIN_S = 1.0  # of force seen before its median can judge a steady window
STARTS_STANDING_S = 0.3  # steady within this long of the start: the lifter stands, whatever the median
WEIGHT_NEAR_MEDIAN = 0.02  # a steady window this close to the median force is taken as the weight
# Live cannot de-drift a rep afterwards as offline does: a fast descent leaves a few cm/s of
# error (a causal filter, a plate's non-linearity), so a still moment at up to this speed is rest
LIVE_V_ANCHOR = 0.1  # m/s (offline V_ANCHOR 0.05 on the drift-free first pass)
LONG_STILL_S = 0.4  # still this long out of a descent: at rest, whatever the integrated velocity says
REST_MEMORY_BLOCKS = 25  # the weight is the median force of the latest rest blocks (it drifts)


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
        self.peak_phase: str | None = None
        self.onset_phase: str | None = None
        self.onset_s: float | None = None


class StreamingAnalyzer:
    """Both feet's vertical force and CoP (lab frame) in, at ``rate_hz``; events out.

    ``toe_out_deg``: stated foot axes (degrees, or per foot), or None to learn them from
    the reps. ``weight_n``: the standing weight when known (a static trial).
    """

    def __init__(self, rate_hz: float, toe_out_deg=None, thresholds: Thresholds | None = None,
                 weight_n: float | None = None, axes_source: str = "set-up"):
        self.rate_hz = rate_hz
        self.toe_out_deg = toe_out_deg
        self.axes_source = axes_source
        self.thresholds = thresholds or Thresholds()
        self._given_weight = weight_n
        self._force_filter = {foot: Causal(FORCE_CUTOFF_HZ, self.rate_hz) for foot in SIDES}
        self._calm_filter = Causal(STILL_CUTOFF_HZ, self.rate_hz)  # the still test's force, as offline
        self._cop_filter = {foot: Causal(COP_CUTOFF_HZ, self.rate_hz, width=2) for foot in SIDES}
        self._held_n = max(1, int(round(self.thresholds.min_duration_s * self.rate_hz)))
        self._baseline_requested = False
        self._restart()

    def _restart(self) -> None:
        self.baseline: Baseline | None = None
        self.weight_n = self._given_weight
        self._still_tail = np.empty(0)
        self._accel_tail = np.zeros(window_samples(self.rate_hz))  # at rest before the first sample
        self._weight_history: deque = deque(maxlen=int(WEIGHT_HISTORY_S * self.rate_hz))
        self._seek_times: deque = deque(maxlen=int(WEIGHT_HISTORY_S * self.rate_hz))
        self._last_seek_s = -np.inf
        self._shift_tail = {foot: np.empty(0) for foot in SIDES}
        n = int(HISTORY_S * self.rate_hz) + 1
        self._history_t: deque = deque(maxlen=n)
        self._history_cop = {foot: deque(maxlen=n) for foot in SIDES}
        self._v = 0.0
        self._still_run = 0
        self._long_still_n = int(LONG_STILL_S * self.rate_hz)
        self._rest_means: list[float] = []
        self._since_top: list[np.ndarray] = []  # total force since the last rest or top
        self._since_top_n = 0  # samples in it
        self._standing_cops = {foot: [] for foot in SIDES}
        self._travel = {foot: [] for foot in SIDES}
        self._peaks = {foot: [] for foot in SIDES}
        self._normals = dict.fromkeys(SIDES, 0.0)
        self._reference = None
        self._axes: FootAxes | None = None
        self.rep = 0
        self._last_end_s = -np.inf
        self._reset_rep()

    def capture_baseline(self) -> None:
        """Forget the standing weight, the foot axes and the lifter's normal, and learn them again.

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
        self._path: list[tuple[float, float]] = []  # (t, height) through the rep, for its bottom
        self._descent: list[tuple] = []
        self._ascending = False
        self._peak_force = 0.0
        self._sides = {foot: _SideState() for foot in SIDES}

    def push(self, t: np.ndarray, fz_raw: dict, cop_raw: dict) -> tuple[Block, list[Event]]:
        """Process each foot's vertical force (N) and CoP (n, 2) mm at trial times ``t`` (s)."""
        if self._baseline_requested:
            self._baseline_requested = False
            self._restart()
        fz = {foot: self._force_filter[foot](fz_raw[foot])[:, 0] for foot in SIDES}
        cop = {foot: self._cop_filter[foot](cop_raw[foot]) for foot in SIDES}
        self._calm = self._calm_filter(fz["left"] + fz["right"])[:, 0]
        events: list[Event] = []
        if self.weight_n is None:
            events += self._seek_weight(t, fz, cop)
        if self.weight_n is None:
            self._remember(t, cop)
            nan = np.full(len(t), np.nan)
            return Block(t, fz, cop, {foot: nan for foot in SIDES}), events
        shift = self._shift(cop)
        events += self._track(t, fz, cop, shift)
        self._remember(t, cop)
        return Block(t, fz, cop, shift), events

    def _remember(self, t, cop) -> None:
        self._history_t.extend(t.tolist())
        for foot in SIDES:
            self._history_cop[foot].extend(cop[foot].tolist())

    def _seek_weight(self, t, fz, cop) -> list[Event]:
        """The weight from STILL_WINDOW_S of steady force near the median force so far: at rest,
        or passing through it in a slow descent, the force is the weight; a slow turn at the
        bottom is steady too but off the median by the turn's acceleration. A set that starts
        mid-rep gives it once the median has seen WEIGHT_HISTORY_MIN_S of it. Steady force from the first samples on is standing: taken at once."""
        window = np.concatenate([self._still_tail, self._calm])
        n = window_samples(self.rate_hz)
        self._still_tail = window[-n:]
        self._weight_history.extend(self._calm.tolist())
        self._seek_times.extend(t.tolist())
        if len(window) < n:
            return []
        tail = window[-n:]
        level = float(np.mean(tail))
        steady = level >= MIN_STANDING_N and np.ptp(tail) < still_band_n(level)
        starts_standing = len(self._weight_history) <= STARTS_STANDING_S * self.rate_hz
        if steady and not starts_standing:
            median = float(np.median(np.array(self._weight_history)))
            steady = (len(self._weight_history) >= WEIGHT_HISTORY_MIN_S * self.rate_hz
                      and abs(level - median) <= WEIGHT_NEAR_MEDIAN * median)
        if not steady:
            level = self._weight_from_cycles(float(t[-1]))
            if level is None:
                return []
        self._weight_history.clear()
        self._seek_times.clear()
        self.weight_n = level
        self.baseline = self._current_baseline(cop)
        return [Event("baseline", float(t[-1]), value=level, data=self.baseline.as_dict())]

    def _weight_from_cycles(self, now_s: float) -> float | None:
        """A set with no steady moment near the median force (no standing, 0-0.2 s between
        reps, a noisy or drifting sum): the offline segmentation of the force seen so far
        (:func:`segment_reps`, on at most WEIGHT_SEEK_RATE_HZ samples a second), once it
        holds a whole rep, gives the weight from its rest or its rep cycles."""
        if (len(self._weight_history) < WEIGHT_SEEK_AFTER_S * self.rate_hz
                or now_s - self._last_seek_s < WEIGHT_SEEK_EVERY_S):
            return None
        self._last_seek_s = now_s
        step = max(1, int(self.rate_hz // WEIGHT_SEEK_RATE_HZ))
        force = np.array(self._weight_history)[::step]
        seg = segment_reps(np.array(self._seek_times)[::step], force, self.rate_hz / step, filtered=True)
        if seg.weight_source not in ("standing", "rep cycles"):
            return None  # no rest nor two whole cycles yet; or an external pull: the force is not the weight
        return seg.weight_n

    def _current_baseline(self, cop=None) -> Baseline:
        if self._reference is not None:
            neutral = dict(self._reference)
        else:
            neutral = {foot: np.nanmean(cop[foot], axis=0) if cop is not None and np.isfinite(cop[foot]).any()
                       else np.full(2, np.nan) for foot in SIDES}
        axes = self._axes or self._fallback_axes(neutral)
        return Baseline(self.weight_n, float("nan"), float("nan"), neutral, axes.medial_unit, axes.toe_out_deg,
                        axes.source, weight_source=GIVEN if self._given_weight else "standing",
                        axis_uncertainty_deg=axes.uncertainty_deg)

    def _fallback_axes(self, neutral) -> FootAxes:
        forward = forward_direction(neutral["left"], neutral["right"])
        if self.toe_out_deg is not None:
            stated = self.toe_out_deg if isinstance(self.toe_out_deg, dict) else dict.fromkeys(SIDES, self.toe_out_deg)
            return stated_axes(stated, forward, self.axes_source)
        return stated_axes(dict.fromkeys(SIDES, 0.0), forward, "lifter's frame (learning the foot axes)")

    def _shift(self, cop) -> dict:
        if self._reference is None or self.baseline is None:
            return {foot: np.full(len(cop[foot]), np.nan) for foot in SIDES}
        return {foot: (cop[foot] - self._reference[foot]) @ self.baseline.medial_unit[foot] for foot in SIDES}

    def _graded(self) -> bool:
        """Flags are graded once the foot axes are known: stated, or learned from a completed rep."""
        return self.toe_out_deg is not None or any(len(v) for v in self._travel.values())

    def _track(self, t, fz, cop, shift) -> list[Event]:
        bw = self.weight_n
        total = fz["left"] + fz["right"]
        # rest as offline: steady, near the weight (and, in the loop, slow)
        window = np.concatenate([self._still_tail, self._calm])
        band = steady_band_n(total, bw)
        still = (steady_ends(window, self.rate_hz, band)
                 & (np.abs(window - bw) < NEAR_WEIGHT_BANDS * band))[-len(total):]
        self._still_tail = window[-window_samples(self.rate_hz):]
        accel = acceleration(total, bw)
        # The still window trails: the body was at rest where it began, and may be moving off by
        # its end (a slow start gains speed before the force leaves the band). At a still sample
        # the velocity is what the window's force gave since its start, not zero.
        n = window_samples(self.rate_hz)
        recent = np.concatenate([self._accel_tail, accel])
        gained = np.cumsum(np.concatenate([[0.0], recent]))
        since_window_start = (gained[n:] - gained[:-n])[-len(total):] / self.rate_hz
        self._accel_tail = recent[-n:]
        held = {}
        for foot in SIDES:
            w = np.concatenate([self._shift_tail[foot], shift[foot]])
            held[foot] = held_shift(w, self.rate_hz, self.thresholds.min_duration_s)[-len(total):]
        tails = dict(self._shift_tail)
        events: list[Event] = []
        dt = 1.0 / self.rate_hz
        for i in range(len(t)):
            # At rest: still and slow (the slow middle of a descent is steady at the weight, but fast)
            self._still_run = self._still_run + 1 if still[i] else 0
            # rest: still and slow; or still for long out of a descent (a weight a little off
            # leaves the velocity drifting where the body stands)
            settled = self._still_run >= self._long_still_n and self.phase != "descent"
            v = since_window_start[i] if still[i] and (abs(self._v) < LIVE_V_ANCHOR or settled) else self._v + accel[i] * dt
            if abs(v) > MAX_PLAUSIBLE_V or self._pos < -MAX_PLAUSIBLE_DEPTH_M:  # the weight was wrong
                self._reweigh()
                v = 0.0
            self._v = v
            ti = float(t[i])
            if self.phase == "standing":
                if v >= -V_REST:
                    self._start_s, self._pos = ti, 0.0
                    continue
                self.phase = "descent"
            self._pos += v * dt
            if self._pos < self._deepest:
                self._deepest = self._pos
            self._peak_force = max(self._peak_force, float(total[i]))
            self._path.append((ti, self._pos))
            if not self._ascending:  # the descent's path, for the foot axis (analysis.axis_sample)
                self._descent.append((-self._pos, cop["left"][i], cop["right"][i]))
            if v > V_MOVING:
                self._ascending = True
            self.phase = phase_at(v)
            if not self._confirmed:
                if self._pos < -MIN_DEPTH_M:
                    self._confirmed = True
                    self.rep += 1
                    events += self._begin_rep(t, cop)
                    shift_now = self._shift({foot: cop[foot][i:] for foot in SIDES})
                    for foot in SIDES:  # the reference is new: the held shift restarts from here
                        held[foot][i:] = held_shift(shift_now[foot], self.rate_hz, self.thresholds.min_duration_s)
                        shift[foot][i:] = shift_now[foot]
                elif v >= -V_REST:  # a dip that came back before it was deep enough
                    self._reset_rep()
                    self._start_s = ti
                    continue
            if self._confirmed:
                events += self._flags(ti, held, i)
                if self._ascending and v <= V_REST:
                    events.append(self._finish(ti))
                    self._weigh_cycles()
                    self._reset_rep()
        for foot in SIDES:
            self._shift_tail[foot] = np.concatenate([tails[foot], shift[foot]])[-self._held_n:]
        self._learn_weight(total, still)
        return events

    def _reweigh(self) -> None:
        """The weight was wrong (a set that starts mid-rep has steady moments that are no rest):
        take the mean force of the last seconds, near whole rep cycles, and start the rep over."""
        if self._since_top:
            self.weight_n = float(np.mean(np.concatenate(self._since_top)))
        self._since_top.clear()
        self._since_top_n = 0
        self._reset_rep()

    def _learn_weight(self, total: np.ndarray, still: np.ndarray) -> None:
        """Refine the weight: the median force of the rest seen so far (the same rule as
        offline); without rest, the mean force over the last whole rep cycles."""
        if self._given_weight:
            return
        self._since_top.append(total)
        self._since_top_n += len(total)
        if still.all() and self._v == 0.0:
            self._rest_means.append(float(np.median(total)))
            del self._rest_means[:-REST_MEMORY_BLOCKS]
            self.weight_n = float(np.median(self._rest_means))
        while self._since_top_n > CYCLE_MEMORY_S * self.rate_hz and len(self._since_top) > 1:
            self._since_top_n -= len(self._since_top.pop(0))

    def _begin_rep(self, t, cop) -> list[Event]:
        """A rep is under way: its reference CoP from the standing just before its start."""
        times = np.concatenate([np.array(self._history_t), t])
        start = int(np.searchsorted(times, self._start_s))
        earliest = int(np.searchsorted(times, self._last_end_s))
        for foot in SIDES:
            series = np.concatenate([np.array(self._history_cop[foot]).reshape(-1, 2), cop[foot]])
            self._standing_cops[foot].append(rep_reference(series, min(start, len(series) - 1), earliest, self.rate_hz))
        self._reference = {foot: running_reference(self._standing_cops[foot]) for foot in SIDES}
        self.baseline = self._current_baseline()
        return [Event("rep_start", self._start_s, rep=self.rep)]

    def _normal(self, foot: str) -> float:
        return self._normals[foot]

    def _flags(self, ti: float, held: dict, i: int) -> list[Event]:
        events = []
        for foot in SIDES:
            s = self._sides[foot]
            value = float(held[foot][i])
            if value > s.peak:
                s.peak, s.peak_phase = value, self.phase
            if not self._graded():
                continue
            grade = GRADES.index(self.thresholds.grade(value - self._normal(foot)))
            if grade > s.grade:
                s.grade = grade
                if s.onset_s is None:
                    s.onset_s, s.onset_phase = ti, self.phase
                events.append(Event("flag", ti, rep=self.rep, side=foot, severity=GRADES[grade],
                                    phase=self.phase, value=value))
        return events

    def _finish(self, ti: float) -> Event:
        times, heights = np.array(self._path).reshape(-1, 2).T
        deep = np.flatnonzero(heights <= BOTTOM_LEVEL * heights.min()) if len(heights) else []
        bottom_s = float(times[(deep[0] + deep[-1]) // 2]) if len(deep) else ti  # offline's rule (reps._find)
        rep = Rep(self.rep, 0, 0, 0, self._start_s, bottom_s, ti, -self._deepest, self._peak_force)
        width = self.baseline.foot_width_mm
        sides = {}
        for foot in SIDES:
            s = self._sides[foot]
            peak = s.peak if np.isfinite(s.peak) else float("nan")
            flagged = s.grade > 0
            sides[foot] = SideResult(peak, 100 * peak / width, GRADES[s.grade], s.onset_phase if flagged else None,
                                     s.peak_phase if flagged else None, s.onset_s if flagged else None)
            self._peaks[foot].append(peak)
            self._normals[foot] = personal_normal_mm(self._peaks[foot])
        axis_cop = self._axis_cop()
        if axis_cop is not None and self._reference is not None:
            for foot in SIDES:
                self._travel[foot].append(axis_cop[foot] - self._reference[foot])
        self._learn_axes()
        self._last_end_s = ti
        result = RepResult(rep, sides, float("nan"))
        worst = max(SIDES, key=lambda foot: self._sides[foot].grade)
        data = result.as_dict()
        for key in ("asymmetry_pct", "partial"):
            data.pop(key)
        return Event("rep_end", ti, rep=self.rep, side=worst if self._sides[worst].grade else "",
                     severity=GRADES[self._sides[worst].grade], data=data)

    def _weigh_cycles(self) -> None:
        """At a top: the weight is the mean force over the rep just done (from rest or the
        last top to this top, the mean force equals the weight), so an error in the weight
        does not drift the next rep's velocity; the same rule offline uses between tops."""
        if not self._given_weight and self._since_top:
            cycle = np.concatenate(self._since_top)
            if len(cycle) >= MIN_CYCLE_S * self.rate_hz:
                self.weight_n = float(np.mean(cycle))
        self._since_top.clear()
        self._since_top_n = 0

    def _axis_cop(self) -> dict | None:
        """Each foot's CoP where the descent had gone AXIS_DEPTH_FRACTION of the rep's depth."""
        if not self._descent:
            return None
        drop = np.array([d[0] for d in self._descent])
        reached = np.flatnonzero(drop >= AXIS_DEPTH_FRACTION * drop.max())
        chosen = self._descent[int(reached[0])]
        return {"left": np.asarray(chosen[1]), "right": np.asarray(chosen[2])}

    def _learn_axes(self) -> None:
        if self.toe_out_deg is not None or self._reference is None:
            return
        neutral = self._reference
        fallback = self._fallback_axes(neutral)
        travel = {foot: np.array(self._travel[foot]).reshape(-1, 2) for foot in SIDES}
        # live learns from what it has: from the first rep on (offline wants three usable reps)
        self._axes = estimate_axes(travel, forward_direction(neutral["left"], neutral["right"]), fallback, min_reps=1)
        self.baseline = self._current_baseline()
