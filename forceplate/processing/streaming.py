"""The live pipeline: blocks of both feet's force and CoP in, rep and flag events out.

Live runs the offline rules themselves, not a copy of them: every SEGMENT_EVERY_S the
offline segmentation (:func:`forceplate.processing.reps.segment_reps`) runs on the last
LIVE_WINDOW_S of the summed force (decimated to SEGMENT_RATE_HZ: it is low-passed at
20 Hz), and what it finds drives the events:

- the weight, once the window holds rest or two whole rep cycles (at once when the set
  starts standing; no second of standing is needed), then followed as offline follows it;
- a rep under way: a descent since the last rep's end that has gone MIN_DEPTH_M down. From
  then on each block's medial shift (offline's reference, foot axis, held shift, the
  lifter's normal and the grades) raises a ``flag`` the moment it exceeds a grade, in the
  phase of the velocity integrated on from the segmentation's latest sample;
- in back-to-back reps (no rest between them), the next rep as soon as the segmentation
  has the rep under way ending and a descent after it: its flags are its own, while the rep
  before waits for its report with the grades it showed;
- a rep done: the segmentation's rep, reported once its ascent has come to rest, as
  ``rep_end`` carrying the rep as offline reports it (``RepResult``): timing and depth from
  the segmentation, each foot's shift from the buffered CoP by :func:`side_result`;
- when the stream ends (:meth:`StreamingAnalyzer.finish`), every rep the window holds that
  was not reported yet: a set that stops with its last rep loses none of them;
- under an external pull (a flywheel: the force is not the weight, so no velocity and no
  phase), the segmentation's reps from the force's humps, each graded when it is done, as
  offline grades it; no flag during such a rep.

What live cannot know yet, it learns from the reps done so far: the foot axes (unless
stated; turned to the standing sway of the stretches of standing so far, as offline turns them)
and the lifter's normal, measured again along the axes each time they change (as
offline measures every rep along the axes it estimated from them all). The first rep only teaches them and raises no flag, as
offline a single rep is its own normal: the real KU Leuven squat, knees out, moves the CoP
toward the arch in the foot's frame, and graded against zero it read as collapse.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from forceplate.events import EventKind
from forceplate.processing.analysis import (RepResult, SideResult, axis_sample, personal_normal_mm, side_result,
                                            standing_sway_turn)
from forceplate.processing.baseline import (
    Baseline,
    FootAxes,
    estimate_axes,
    forward_direction,
    rep_reference,
    running_reference,
    stated_axes,
    sway_stretch,
)
from forceplate.processing.filters import COP_CUTOFF_HZ, FORCE_CUTOFF_HZ, Causal
from forceplate.processing.movement import runs
from forceplate.processing.reps import (
    GIVEN,
    MIN_DEPTH_M,
    V_MOVING,
    V_REST,
    Rep,
    acceleration,
    phase_at,
    phases,
    segment_reps,
    window_samples,
)
from forceplate.processing.valgus import GRADES, Thresholds, held_samples, held_shift
from forceplate.profiles import SIDES

LIVE_WINDOW_S = 16.0  # force kept for the segmentation: two whole slow reps (up to 6.6 s) and more
SEGMENT_EVERY_S = 0.2  # how often it runs (~5-10 ms each on 16 s): a rep's start is seen this late at most
SEGMENT_RATE_HZ = 100.0  # the force is low-passed at 20 Hz: 100 samples a second keep the reps
REP_DONE_MARGIN_S = 0.1  # a rep ending closer than this to the window's end may still be rising
REST_CONFIRM_S = 0.3  # rest still under way at the window's end anchors a rep once this long
REP_DONE_WAIT_S = 1.5  # a rep with no rest or rep after it yet is reported this long after its end
SAME_REP_START_S = 0.5  # how much later than live's start the segmentation may start the same rep
NORMAL_REPS_KEPT = 50  # the lifter's normal comes from the last this many reps (bounded memory)
SWAY_STRETCHES_KEPT = 50  # the foot axes' standing sway: the last this many stretches of standing (bounded memory)
WEIGHED = ("standing", "rep cycles")  # weight sources that measured the weight (not a median force)


@dataclass
class Event:
    """Something the live pipeline (or the session) says happened, at ``t_s`` on the session's
    clock: a rep started or ended, a foot's flag rose to ``severity`` (``value``: the held
    medial shift, mm) in ``phase``, the baseline was measured (``value``: the standing weight,
    N); ``data`` carries the rest (a rep's results as offline reports them)."""

    kind: EventKind
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


class _Window:
    """The newest ``n`` rows of a stream in a numpy array twice that long: the window is a view
    (the segmentation reads it every SEGMENT_EVERY_S without a copy; deques of 1600 samples
    took 1 ms to turn into arrays), and the rows move back to the array's start only once
    every ``n`` rows appended."""

    def __init__(self, n: int, width: int = 1):
        self._n = n
        self._data = np.empty((2 * n, width) if width > 1 else 2 * n)
        self._end = 0  # one past the newest row
        self._held = 0

    def __len__(self) -> int:
        return self._held

    def extend(self, rows: np.ndarray) -> None:
        rows = rows[-self._n:]
        k = len(rows)
        if self._end + k > len(self._data):
            keep = min(self._held, self._n - k)
            self._data[:keep] = self._data[self._end - keep:self._end]
            self._end = keep
        self._data[self._end:self._end + k] = rows
        self._end += k
        self._held = min(self._held + k, self._n)

    def view(self) -> np.ndarray:
        """The rows held, oldest first (valid until the next :meth:`extend`)."""
        return self._data[self._end - self._held:self._end]


@dataclass
class _OpenRep:
    """A rep whose flags were raised live and whose report waits for the segmentation: the
    next rep began before this one could be reported (back-to-back reps)."""

    number: int
    start_s: float
    reference: dict  # foot -> standing CoP (mm) the rep is measured from
    sides: dict  # foot -> _SideState: the grades already shown


def _same_rep(r: Rep, start_s: float) -> bool:
    """Whether the segmentation's rep ``r`` is the one live began at ``start_s``: the
    segmentation's start moves by a tenth of a second or two as the weight is followed."""
    return r.bottom_s > start_s and r.start_s < start_s + SAME_REP_START_S


class _SideState:
    def __init__(self):
        self.grade = 0
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
        # both feet in one filter call each (a call costs ~0.2 ms whatever its length)
        self._force_filter = Causal(FORCE_CUTOFF_HZ, self.rate_hz, width=len(SIDES))
        self._cop_filter = Causal(COP_CUTOFF_HZ, self.rate_hz, width=2 * len(SIDES))
        self._step = max(1, int(self.rate_hz // SEGMENT_RATE_HZ))
        self._seg_rate = self.rate_hz / self._step
        self._baseline_requested = False
        self._restart()

    def _restart(self) -> None:
        self.baseline: Baseline | None = None
        self.weight_n = self._given_weight
        self._weight_source = GIVEN if self._given_weight else "standing"
        self._pulled = False
        n = int(LIVE_WINDOW_S * self._seg_rate)
        self._buf_t = _Window(n)
        self._buf_force = _Window(n)
        self._buf_cop = {foot: _Window(n, 2) for foot in SIDES}
        self._skip = 0  # samples to skip before the next one kept (decimation across blocks)
        self._last_segment_s = -np.inf
        self._v = 0.0
        self._shift_tail = {foot: np.empty(0) for foot in SIDES}
        self._standing_cops = {foot: [] for foot in SIDES}
        self._travel = {foot: [] for foot in SIDES}
        self._sway = {foot: deque(maxlen=SWAY_STRETCHES_KEPT) for foot in SIDES}  # the standing before each rep
        self._rep_cops = deque(maxlen=NORMAL_REPS_KEPT)  # per done rep: foot -> CoP minus reference (mm)
        self._normals = dict.fromkeys(SIDES, 0.0)
        self._reference = None
        self._axes: FootAxes | None = None
        self.rep = 0
        self._last_end_s = -np.inf
        self._waiting: _OpenRep | None = None
        self._reset_rep()

    def capture_baseline(self) -> None:
        """Forget the standing weight, the foot axes and the lifter's normal, and learn them again.

        Safe to call from another thread (the GUI): the request is carried out at the start
        of the next :meth:`push`, in the thread that feeds the analyzer.
        """
        self._baseline_requested = True

    def _reset_rep(self) -> None:
        self.phase = "standing"
        self._in_rep = False
        self._start_s = float("nan")
        self._sides = {foot: _SideState() for foot in SIDES}

    def push(self, t: np.ndarray, fz_raw: dict, cop_raw: dict) -> tuple[Block, list[Event]]:
        """Process each foot's vertical force (N) and CoP (n, 2) mm at trial times ``t`` (s)."""
        if self._baseline_requested:
            self._baseline_requested = False
            self._restart()
        t = np.asarray(t, dtype=float)
        forces = self._force_filter(np.column_stack([fz_raw[foot] for foot in SIDES]))
        cops = self._cop_filter(np.column_stack([np.asarray(cop_raw[foot], dtype=float).reshape(-1, 2)
                                                 for foot in SIDES]))
        fz = {foot: forces[:, k] for k, foot in enumerate(SIDES)}
        cop = {foot: cops[:, 2 * k:2 * k + 2] for k, foot in enumerate(SIDES)}
        total = fz["left"] + fz["right"]
        self._keep(t, total, cop)
        events: list[Event] = []
        if len(t) and t[-1] - self._last_segment_s >= SEGMENT_EVERY_S and self._window_ready():
            self._last_segment_s = float(t[-1])
            events += self._segment()
        if self.weight_n is None or not len(t):
            nan = np.full(len(t), np.nan)
            return Block(t, fz, cop, {foot: nan for foot in SIDES}), events
        v = self._v + np.cumsum(acceleration(total, self.weight_n)) / self.rate_hz
        self._v = float(v[-1])
        shift = self._shift(cop)
        if self._in_rep:
            # the held shift of a block looks back over the tail of the blocks before it; the
            # tail is only read in a rep, and a rep starts with an empty one (_catch_up)
            recent = {foot: np.concatenate([self._shift_tail[foot], shift[foot]]) for foot in SIDES}
            events += self._flags(t, recent, v)
            # as long as the thresholds' window now: they may be changed mid-session (set_thresholds)
            held_n = held_samples(self.rate_hz, self.thresholds.min_duration_s)
            self._shift_tail = {foot: recent[foot][-held_n:] for foot in SIDES}
        else:
            self.phase = "standing"
        return Block(t, fz, cop, shift), events

    @property
    def normal_mm(self) -> dict:
        """Each foot's normal peak shift (mm) learned from the reps so far, where the grades
        start (0 until a rep is done): what a view draws the thresholds from."""
        return dict(self._normals)

    def quiet_until_s(self) -> float | None:
        """The trial time (s) before which no block can raise an event, or None when every
        block may. A block raises flags only, and only in a rep under way once the foot axes
        are known (:meth:`_graded`) and while a foot has a grade left to reach; everything
        else (a rep begun, reported, the weight) comes from the segmentation, due at the
        returned time. A session with nothing plotted then reads less often (issue 14)."""
        if self._in_rep and self._graded() and any(side.grade < len(GRADES) - 1 for side in self._sides.values()):
            return None
        return self._last_segment_s + SEGMENT_EVERY_S

    def _keep(self, t, total, cop) -> None:
        """Every ``_step``-th sample into the segmentation's window, counted across blocks."""
        taken = len(range(self._skip, len(t), self._step))
        take = slice(self._skip, None, self._step)
        self._skip = self._skip + taken * self._step - len(t)
        self._buf_t.extend(t[take])
        self._buf_force.extend(total[take])
        for foot in SIDES:
            self._buf_cop[foot].extend(cop[foot][take])

    def finish(self) -> list[Event]:
        """The stream has ended: every rep the window holds that was not reported yet is
        reported now, the last one up to the last sample (a set that stops with its last rep)."""
        return self._segment(final=True) if self._window_ready() else []

    def _window_ready(self) -> bool:
        """Whether the window holds enough force for the segmentation to run on."""
        return len(self._buf_t) >= 4 * window_samples(self._seg_rate)

    # --- the segmentation's view ---------------------------------------------------------
    def _segment(self, final: bool = False) -> list[Event]:
        times = self._buf_t.view()
        seg = segment_reps(times, self._buf_force.view(), self._seg_rate, weight_n=self._given_weight,
                           filtered=True)
        events: list[Event] = []
        if self._given_weight is None and seg.weight_source not in WEIGHED and not seg.pulled:
            return events  # no rest nor two whole cycles yet: the force is not the weight yet
        first = self.weight_n is None
        self.weight_n = seg.weight_n
        self._weight_source, self._pulled = seg.weight_source, seg.pulled
        self._v = float(seg.velocity[-1])
        cops = {foot: self._buf_cop[foot].view() for foot in SIDES}
        if first:
            self.baseline = self._current_baseline(cops)
            events.append(Event(EventKind.BASELINE, float(times[-1]), value=self.weight_n, data=self.baseline.as_dict()))
        last = len(times) - 1
        margin = int(REP_DONE_MARGIN_S * self._seg_rate)
        for k, r in enumerate(seg.reps):
            # done once the velocity is anchored after it (rest, or the top before the next
            # rep): until then its end is integrated forward, undrifted, and its bottom may move
            anchored = self._rest_confirmed(seg.rest[r.end:]) or k + 1 < len(seg.reps)
            if r.bottom_s > self._last_end_s and (final or r.end < last - margin and (
                    anchored or times[-1] - r.end_s > REP_DONE_WAIT_S)):
                events += self._rep_done(r, seg, times, cops)
        if not self._in_rep and not final:
            start = self._descent_start(seg.velocity, times, self._last_end_s)
            if start is not None:
                events += self._begin_rep(start, times, cops)
        elif self._in_rep and self._waiting is None and not final:
            events += self._next_rep_under_way(seg, times, cops)
        if self._in_rep and seg.rest[-1] and not any(r.start_s <= self._start_s + 0.5 and r.end >= last - margin for r in seg.reps) \
                and times[-1] - self._start_s > LIVE_WINDOW_S / 2:
            self._reset_rep()  # a dip the segmentation never made a rep of
        return events

    def _rest_confirmed(self, rest: np.ndarray) -> bool:
        """Whether ``rest`` (the segmentation's rest after a rep, to the window's end) holds rest
        that is known to be rest: rest the body has left again, or REST_CONFIRM_S of it. At the
        window's end the middle of a slow ascent (the force at the weight, the velocity not yet
        measured against what follows) reads as rest too, and a rep anchored there is cut short
        (its bottom came 0.2-0.8 s late)."""
        if not rest.any():
            return False
        if not rest[-1]:
            return True  # rest the body has left again
        moving = np.flatnonzero(~rest)
        under_way_from = int(moving[-1]) + 1 if len(moving) else 0  # the rest still under way
        return len(rest) - under_way_from >= REST_CONFIRM_S * self._seg_rate or bool(rest[:under_way_from].any())

    def _next_rep_under_way(self, seg, times: np.ndarray, cops: dict) -> list[Event]:
        """In back-to-back reps the next descent starts before the rep under way can be
        reported (no rest anchors its end yet): once the segmentation has that rep ending and a
        descent after it, the next rep begins, so its flags are its own; the rep before keeps
        the grades it showed and is reported when the segmentation has settled it."""
        current = next((r for r in seg.reps if _same_rep(r, self._start_s)), None)
        if current is None or current.end >= len(times) - 1 - int(REP_DONE_MARGIN_S * self._seg_rate):
            return []
        start = self._descent_start(seg.velocity, times, current.end_s)
        if start is None:
            return []
        self._waiting = _OpenRep(self.rep, self._start_s, self._reference, self._sides)
        self._reset_rep()
        return self._begin_rep(start, times, cops)

    def _descent_start(self, v: np.ndarray, times: np.ndarray, after_s: float) -> int | None:
        """A descent since ``after_s`` (the last rep's end) that has gone MIN_DEPTH_M down: its start."""
        after = int(np.searchsorted(times, after_s, side="right"))
        down = np.flatnonzero(v[after:] < -V_MOVING)
        if not len(down):
            return None
        start = after + int(down[0])
        while start > after and v[start - 1] < -V_REST:
            start -= 1
        drop = -np.cumsum(v[start:]) / self._seg_rate
        return start if drop.max() >= MIN_DEPTH_M else None

    def _begin_rep(self, start: int, times: np.ndarray, cops: dict) -> list[Event]:
        """A rep is under way: its reference CoP from the standing just before its start."""
        self.rep += 1
        self._in_rep = True
        self._start_s = float(times[start])
        earliest = int(np.searchsorted(times, self._last_end_s))  # a reference looks no further back
        for foot in SIDES:
            self._standing_cops[foot].append(rep_reference(cops[foot], start, earliest, self._seg_rate))
        self._reference = {foot: running_reference(self._standing_cops[foot]) for foot in SIDES}
        self.baseline = self._current_baseline()
        # "graded": False while the foot axes are still being learned (the first rep on plates
        # with no stated set-up): the view must not show such a rep as one the knees passed
        return [Event(EventKind.REP_START, self._start_s, rep=self.rep, data={"graded": self._graded()})] \
            + self._catch_up(times, cops)

    def _catch_up(self, times: np.ndarray, cops: dict) -> list[Event]:
        """The shift since the rep's start, from the window: a flag crossed before the rep (or,
        in the first rep, its foot axis) was known is raised now."""
        start = int(np.searchsorted(times, self._start_s))
        shift = {foot: (cops[foot][start:] - self._reference[foot]) @ self.baseline.medial_unit[foot]
                 for foot in SIDES}
        events = []
        if self._graded():
            held = {foot: held_shift(shift[foot], self._seg_rate, self.thresholds.min_duration_s) for foot in SIDES}
            events = self._raise(float(times[-1]), {foot: float(np.nanmax(held[foot], initial=-np.inf))
                                                    for foot in SIDES}, self._phase_now())
        # the window's samples are decimated: the next block's held shift starts afresh
        self._shift_tail = {foot: np.empty(0) for foot in SIDES}
        return events

    def _phase_now(self) -> str:
        return phase_at(self._v) if self._in_rep else "standing"

    def _rep_done(self, r: Rep, seg, times: np.ndarray, cops: dict) -> list[Event]:
        """The segmentation's rep ``r`` is over: reported as offline reports it."""
        events: list[Event] = []
        waiting = self._waiting if self._waiting is not None and _same_rep(r, self._waiting.start_s) else None
        if waiting is not None:  # the rep before the one under way (back-to-back reps)
            self._waiting = None
            number, reference, shown = waiting.number, waiting.reference, waiting.sides
        else:
            if not self._in_rep or self._start_s > r.bottom_s:
                if self._in_rep:  # what was taken for this rep's start was the next rep's
                    self._reset_rep()
                events += self._begin_rep(r.start, times, cops)
            number, reference, shown = self.rep, self._reference, self._sides
        in_rep = np.zeros(len(times), dtype=bool)
        in_rep[r.start:r.end + 1] = True
        code = phases(seg.velocity, in_rep)
        sl = slice(r.start, r.end + 1)
        width = self.baseline.foot_width_mm
        graded = self._graded()  # as it is graded now, before this rep teaches the axes
        sides = {}
        for foot in SIDES:
            shift = (cops[foot] - reference[foot]) @ self.baseline.medial_unit[foot]
            held = held_shift(shift, self._seg_rate, self.thresholds.min_duration_s)
            normal = self._normals[foot] if graded else np.inf
            found = side_result(held, code, times, sl, self.thresholds, width, normal)
            live = shown[foot]
            if GRADES.index(found.flag) < live.grade:
                # a flag already shown stays: the lifter was told it
                found = SideResult(found.medial_shift_mm, found.medial_shift_pct, GRADES[live.grade],
                                   live.onset_phase, found.peak_phase or live.onset_phase, live.onset_s)
            sides[foot] = found
        self._rep_cops.append({foot: cops[foot][sl] - reference[foot] for foot in SIDES})
        if not r.partial:
            at = axis_sample(seg.velocity, r, self._seg_rate)
            for foot in SIDES:
                self._travel[foot].append(cops[foot][at] - reference[foot])
        self._keep_standing(seg.rest, times, cops, r.start)
        self._learn_axes()
        self._learn_normals()
        rep = Rep(number, 0, 0, 0, r.start_s, r.bottom_s, r.end_s, r.depth_m, r.peak_force_n, r.partial)
        result = RepResult(rep, sides, float("nan"))  # the force asymmetry is offline's (each foot's force is not kept)
        worst = max(SIDES, key=lambda foot: GRADES.index(sides[foot].flag))
        data = {**result.as_dict(), "graded": graded}
        for key in ("asymmetry_pct", "partial"):
            data.pop(key)
        self._last_end_s = r.end_s
        if waiting is None:
            self._reset_rep()
        events.append(Event(EventKind.REP_END, r.end_s, rep=number, side=worst if sides[worst].flag != "none" else "",
                            severity=sides[worst].flag, data=data))
        if waiting is not None:  # the rep under way, graded along what this report taught (axes, normal)
            events += self._catch_up(times, cops)
        return events

    # --- each block ---------------------------------------------------------------------
    def _shift(self, cop) -> dict:
        if self._reference is None or self.baseline is None:
            return {foot: np.full(len(cop[foot]), np.nan) for foot in SIDES}
        return {foot: (cop[foot] - self._reference[foot]) @ self.baseline.medial_unit[foot] for foot in SIDES}

    def _graded(self) -> bool:
        """Flags are graded once the foot axes are known: stated, or learned from a completed rep."""
        return self.toe_out_deg is not None or any(len(v) for v in self._travel.values())

    def _flags(self, t: np.ndarray, recent: dict, v: np.ndarray) -> list[Event]:
        """Flags of this block: the first sample where each foot's held shift exceeds a new grade
        (``recent``: each foot's shift of the block, after the tail of those before it)."""
        events: list[Event] = []
        self.phase = phase_at(float(v[-1]))
        if not self._graded():
            return events
        limits = (self.thresholds.mild_mm, self.thresholds.moderate_mm, self.thresholds.severe_mm)
        for foot in SIDES:
            if self._sides[foot].grade == len(limits):
                continue  # severe already: nothing higher to raise
            held = held_shift(recent[foot], self.rate_hz, self.thresholds.min_duration_s, last=len(t))
            excess = held - self._normals[foot]
            excess = np.where(np.isfinite(excess), excess, -np.inf)
            if excess.max() < limits[self._sides[foot].grade]:
                continue  # a new grade needs the next limit reached somewhere
            grade = np.searchsorted(limits, excess, side="right")
            for level in range(self._sides[foot].grade + 1, int(grade.max(initial=0)) + 1):
                i = int(np.argmax(grade >= level))  # the first sample at this grade or above
                events += self._raise_one(foot, level, float(t[i]), phase_at(float(v[i])), float(held[i]))
        return events

    def _raise(self, ti: float, held: dict, phase: str) -> list[Event]:
        events = []
        for foot in SIDES:
            grade = GRADES.index(self.thresholds.grade(held[foot] - self._normals[foot]))
            if grade > self._sides[foot].grade:
                events += self._raise_one(foot, grade, ti, phase, held[foot])
        return events

    def _raise_one(self, foot: str, grade: int, ti: float, phase: str, value: float) -> list[Event]:
        s = self._sides[foot]
        s.grade = grade
        if s.onset_s is None:
            s.onset_s, s.onset_phase = ti, phase
        return [Event(EventKind.FLAG, ti, rep=self.rep, side=foot, severity=GRADES[grade], phase=phase, value=value)]

    # --- baseline and axes --------------------------------------------------------------
    def _current_baseline(self, cops=None) -> Baseline:
        if self._reference is not None:
            neutral = dict(self._reference)
        else:
            neutral = {foot: np.nanmean(cops[foot][-window_samples(self._seg_rate):], axis=0)
                       if cops is not None and np.isfinite(cops[foot]).any() else np.full(2, np.nan) for foot in SIDES}
        axes = self._axes or self._fallback_axes(neutral)
        return Baseline(self.weight_n, float("nan"), float("nan"), neutral, axes.medial_unit, axes.toe_out_deg,
                        axes.source, weight_source=self._weight_source, pulled=self._pulled,
                        axis_uncertainty_deg=axes.uncertainty_deg)

    def _fallback_axes(self, neutral) -> FootAxes:
        forward = forward_direction(neutral["left"], neutral["right"])
        if self.toe_out_deg is not None:
            stated = self.toe_out_deg if isinstance(self.toe_out_deg, dict) else dict.fromkeys(SIDES, self.toe_out_deg)
            return stated_axes(stated, forward, self.axes_source)
        return stated_axes(dict.fromkeys(SIDES, 0.0), forward, "lifter's frame (learning the foot axes)")

    def _learn_normals(self) -> None:
        """Each foot's normal from the reps done, measured along the axes known now: a rep
        measured before them (the first, in the lifter's frame) would otherwise keep the heel
        slide of turned-out feet in the normal (40 mm at 30 degrees turned out)."""
        for foot in SIDES:
            peaks = [float(np.nanmax(held_shift(rel[foot] @ self.baseline.medial_unit[foot], self._seg_rate,
                                                self.thresholds.min_duration_s), initial=np.nan))
                     for rel in self._rep_cops]
            self._normals[foot] = personal_normal_mm(peaks)

    def _keep_standing(self, rest: np.ndarray, times: np.ndarray, cops: dict, rep_start: int) -> None:
        """The standing between the rep before and the rep reported now, stretch by stretch. Taken
        once the rep is done, when the segmentation has seen more than a second after it: nearer the
        window's end its rest still changes with the samples that follow."""
        after = int(np.searchsorted(times, self._last_end_s, side="right"))
        for lo, hi in runs(rest[after:rep_start]):
            for foot in SIDES:
                if (stretch := sway_stretch(cops[foot][after + lo:after + hi], self._seg_rate)) is not None:
                    self._sway[foot].append(stretch)

    def _learn_axes(self) -> None:
        if self.toe_out_deg is not None or self._reference is None:
            return
        neutral = self._reference
        fallback = self._fallback_axes(neutral)
        travel = {foot: np.array(self._travel[foot]).reshape(-1, 2) for foot in SIDES}
        forward = forward_direction(neutral["left"], neutral["right"])
        # live learns from what it has: from the first rep on (offline wants three usable reps)
        self._axes = standing_sway_turn(estimate_axes(travel, forward, fallback, min_reps=1),
                                        {foot: list(self._sway[foot]) for foot in SIDES}, self._seg_rate, forward, travel)
        self.baseline = self._current_baseline()
