"""Biomechanical squat models with ground truth: what plates and insoles see under a lifter.

A set is described once (:class:`Subject`: the person and where their feet stand in the
lab; :class:`SquatPlan`: the reps, each a :class:`RepPlan`) and played by a model. Each
model gives, at any time (s), each foot's vertical force (N) and centre of pressure (CoP,
mm, lab frame), and the exact per-rep ground truth (:class:`RepTruth`).

Every CoP pattern is made in the foot's own frame (along the foot, + toward the toes;
medial, + toward the arch) and then placed in the lab: each foot turned out by its own
angle, the lifter facing any direction (``Subject.facing_deg``), the feet off their
nominal spots. The foot-frame patterns are

- travel along the foot at the bottom (real squats: 50-127 mm toward the heels, some
  lifters toward the toes), ``RepPlan.cop_travel_mm``;
- the person's healthy medial drift (a few mm either way in normal reps, not collapse),
  ``RepPlan.healthy_medial_mm``;
- knee collapse (dynamic valgus): a medial shift graded by its peak, starting in the
  descent, at the bottom or in the ascent (:class:`Collapse`); this is the only part the
  flag should grade, and :meth:`SquatModelBase.medial_shift_mm` returns it alone;
- knees out: a lateral shift, which must never flag (``RepPlan.knees_out_mm``);
- sway: a few slow sinusoids per foot and axis, longer along the foot than across it
  (``Subject.sway_elongation``; real standing on both feet sways each foot's CoP along the
  foot: 10-15 times longer than wide in the KU Leuven squat's standing, 50 in the KTH static trial).

:class:`SquatModel` (here) moves the body as a point mass on minimum-jerk paths and ties
the travel along the foot to depth. :mod:`forceplate.sim.squat_lean` and
:mod:`forceplate.sim.squat_linkage` are models with other mechanics, so that the analysis is
never tuned to one generator.
Everything is a deterministic function of time and the seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from forceplate.processing.baseline import G  # noqa: F401 - squat_lean and validation take it from here
from forceplate.processing.median import median
from forceplate.profiles import SIDES

SEVERITY_SHIFT_MM = {"mild": 5.0, "moderate": 10.0, "severe": 16.0}  # a labelled rep's typical peak
COLLAPSE_PHASES = ("descent", "bottom", "ascent")
TRUTH_GRID_HZ = 1000.0  # truth peaks are measured on this grid
SWAY_ALONG_MM = 0.9  # amplitude of each of a foot's sway sinusoids along the foot (times 0.5-1, sway_scale)
PARTIAL_FRACTION = 0.6  # a rep shallower than this share of the set's median depth is partial


@dataclass
class Subject:
    """The simulated lifter: mass and load (kg), stance and feet (mm, deg), weight share, facing in
    the lab."""

    mass_kg: float = 75.0
    load_kg: float = 0.0  # barbell
    stance_width_mm: float = 440.0  # centre of left foot to centre of right foot
    foot_length_mm: float = 260.0
    foot_width_mm: float = 100.0
    toe_out_deg: float = 0.0  # each foot turned out by this much, unless set per foot below
    left_share: float = 0.5  # share of body weight on the left foot
    toe_out_left_deg: float | None = None
    toe_out_right_deg: float | None = None
    facing_deg: float = 0.0  # the lifter turned counter-clockwise from facing the lab's +y
    stance_centre_mm: tuple[float, float] = (0.0, 0.0)  # midpoint between the feet, lab frame
    foot_offset_mm: dict = field(default_factory=dict)  # foot -> (x, y) lab-frame offset from its spot
    sway_scale: float = 1.0  # multiplies the default sway (about 0.9 mm along the foot)
    sway_elongation: float = 1.8  # standing sway along the foot / across it (amplitudes; real feet: 10-50)

    def toe_out(self, foot: str) -> float:
        own = self.toe_out_left_deg if foot == "left" else self.toe_out_right_deg
        return self.toe_out_deg if own is None else own


@dataclass
class Collapse:
    """Knee collapse in one rep on one foot: a medial CoP shift peaking at ``peak_mm``."""

    severity: str  # mild | moderate | severe
    peak_mm: float  # foot frame, toward the arch
    phase: str = "descent"  # where it starts: descent | bottom | ascent
    onset_fraction: float = 0.5  # where in that phase (0-1)


@dataclass
class RepPlan:
    """One simulated rep in full: tempo (s), depth (m), CoP travel and healthy drift (mm), collapse
    and knees out per foot."""

    descent_s: float
    bottom_s: float
    ascent_s: float
    rest_s: float  # standing after this rep (0: the next rep follows at once)
    depth_m: float
    cop_travel_mm: float = -12.0  # along the foot at the bottom (+ toward the toes)
    healthy_medial_mm: dict = field(default_factory=dict)  # foot -> medial drift at the bottom, normal reps
    collapse: dict = field(default_factory=dict)  # foot -> Collapse
    knees_out_mm: dict = field(default_factory=dict)  # foot -> peak lateral shift (mm, > 0)

    @property
    def duration_s(self) -> float:
        return self.descent_s + self.bottom_s + self.ascent_s


@dataclass
class SquatPlan:
    """The reps of a set. Without ``rep_plans``, every rep has the tempo, depth and heel
    travel given here and ``valgus`` labels reps; with them, each rep is its own."""

    reps: int = 8
    baseline_s: float = 3.0  # quiet standing before the first rep
    descent_s: float = 1.5
    bottom_s: float = 0.3
    ascent_s: float = 1.2
    rest_s: float = 1.0
    depth_m: float = 0.45
    heel_travel_mm: float = 12.0  # CoP travel toward the heel at full depth
    valgus: dict[int, tuple[str, str]] = field(default_factory=dict)  # rep (1-based) -> (side, severity)
    rep_plans: list[RepPlan] | None = None
    start_in_first_rep_s: float = 0.0  # the recording starts this far into the first rep (no standing)
    flywheel_n: float = 0.0  # a flywheel strap's peak downward pull during each rep (N, both feet)
    load_drift: float = 0.0  # the standing force changes by this share over the set (load, support)
    tail_s: float = 1.0  # standing after the last rep's rest (0: the recording ends with the rep)

    @property
    def rep_period_s(self) -> float:
        return self.descent_s + self.bottom_s + self.ascent_s + self.rest_s

    def uniform_reps(self, rng: np.random.Generator) -> list[RepPlan]:
        """Each rep as the uniform fields say; a labelled rep's peak varies +-15% around its
        grade's typical value, as people differ."""
        peaks = {rep: SEVERITY_SHIFT_MM[severity] * rng.uniform(0.85, 1.15)
                 for rep, (_, severity) in sorted(self.valgus.items())}
        out = []
        for i in range(1, self.reps + 1):
            collapse = {}
            if i in self.valgus:
                side, severity = self.valgus[i]
                collapse[side] = Collapse(severity, peaks[i])
            out.append(RepPlan(self.descent_s, self.bottom_s, self.ascent_s, self.rest_s, self.depth_m,
                               -self.heel_travel_mm, collapse=collapse))
        return out


@dataclass(frozen=True)
class SideTruth:
    """What one foot really did in a simulated rep: collapse grade, peak shift (mm), onset (s),
    phase, knees out (mm)."""

    severity: str | None  # collapse grade, None for a foot without collapse
    peak_shift_mm: float  # collapse only: peak medial shift in the foot frame
    onset_s: float | None  # collapse: when the shift starts to rise
    phase: str | None  # collapse: descent | bottom | ascent
    knees_out_mm: float  # peak lateral shift (knees going out), 0 if none
    foot_frame_peak_mm: float  # largest medial CoP displacement in the foot frame (all patterns but sway)
    toe_out_deg: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RepTruth:
    """What a simulated rep really was: timing (s), depth (m), the collapse side and grade, and each
    foot's :class:`SideTruth`."""

    index: int
    start_s: float
    bottom_s: float  # middle of the pause at the bottom
    end_s: float
    depth_m: float
    valgus_side: str | None  # left, right, "both" or None
    severity: str | None  # the worse side's
    onset_s: float | None  # when the medial shift starts to rise (the earlier side)
    peak_shift_mm: float  # the worse side's
    partial: bool = False
    facing_deg: float = 0.0  # in the model's frame (the devices'); plates turned in the lab add their angle
    sides: dict = field(default_factory=dict)  # foot -> SideTruth

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "sides"}
        out["sides"] = {foot: s.as_dict() for foot, s in self.sides.items()}
        return out


def _min_jerk(x: np.ndarray) -> np.ndarray:
    """Minimum-jerk path from 0 to 1 over x in [0, 1]."""
    return x**3 * (10 - 15 * x + 6 * x**2)


def _min_jerk_acc(x: np.ndarray) -> np.ndarray:
    """Second derivative of :func:`_min_jerk` with respect to x."""
    return 60 * x - 180 * x**2 + 120 * x**3


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def rotation(angle_deg: float) -> np.ndarray:
    """Counter-clockwise rotation matrix for column vectors."""
    a = np.radians(angle_deg)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def collapse_window(rep: RepPlan, c: Collapse) -> tuple[float, float, float, float]:
    """(onset, rise, fall start, fall) in s from the rep's start: when a collapse of
    ``c.phase`` rises to its peak, holds it and lets go."""
    d, b, a = rep.descent_s, rep.bottom_s, rep.ascent_s
    f = float(np.clip(c.onset_fraction, 0.0, 1.0))
    if c.phase == "descent":  # from within the descent to the bottom, let go in the ascent
        onset = f * d
        rise = max(d - onset, 0.05 * d)
        fall_start = d + b + 0.4 * a
    elif c.phase == "bottom":  # from the last tenth of the descent to the middle of the pause
        onset = d * (0.9 + 0.1 * f) + 0.5 * f * b
        rise = 0.3 * a
        fall_start = onset + rise + 0.1 * a
    else:  # ascent: out of the hole, within its first third
        onset = d + b + f * 0.35 * a
        rise = 0.25 * a
        fall_start = onset + rise + 0.1 * a
    return onset, rise, fall_start, max(d + b + a - fall_start, 0.05 * a)


class SquatModelBase:
    """The set's timeline, the lab geometry of the feet, sway, CoP assembly and truth.

    A model says how the body moves and loads the feet (:meth:`vertical`) and how the CoP
    moves in each foot's frame (:meth:`along_foot_mm`, :meth:`medial_shift_mm` for collapse,
    :meth:`healthy_medial_mm`, :meth:`knees_out_mm`).
    """

    generator = "base"

    def __init__(self, subject: Subject | None = None, plan: SquatPlan | None = None, seed: int = 0):
        self.subject = subject or Subject()
        self.plan = plan or SquatPlan()
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.reps = list(self.plan.rep_plans) if self.plan.rep_plans is not None else self.plan.uniform_reps(rng)
        # Sway: a few slow sinusoids per foot and axis, fixed by the seed.
        self._sway_freq = rng.uniform(0.08, 0.6, size=(2, 2, 4))
        self._sway_phase = rng.uniform(0, 2 * np.pi, size=(2, 2, 4))
        across, along = SWAY_ALONG_MM / self.subject.sway_elongation, SWAY_ALONG_MM
        self._sway_amp_mm = (self.subject.sway_scale * np.array([across, along])[None, :, None]
                             * rng.uniform(0.5, 1.0, size=(2, 2, 4)))
        self._rng = rng  # models draw what they need of their own after this
        starts, at = [], self.plan.baseline_s - self.plan.start_in_first_rep_s
        for rep in self.reps:
            starts.append(at)
            at += rep.duration_s + rep.rest_s
        self.rep_starts_s = np.array(starts)
        self._rep_table = {name: np.array([getattr(r, name) for r in self.reps] + [0.0])
                           for name in ("descent_s", "bottom_s", "ascent_s", "depth_m", "cop_travel_mm")}
        self._place_feet()

    def _place_feet(self) -> None:
        """Each foot's neutral CoP, medial unit vector and heel-to-toe axis in the lab frame."""
        s = self.subject
        turn = rotation(s.facing_deg)
        half = s.stance_width_mm / 2
        self.foot_center_mm, self.medial_unit, self.foot_axis = {}, {}, {}
        for foot in SIDES:
            out = np.radians(s.toe_out(foot))
            toward_other = 1.0 if foot == "left" else -1.0  # +x is toward the other foot for the left foot
            medial = np.array([toward_other * np.cos(out), np.sin(out)])  # facing +y
            axis = np.array([-toward_other * np.sin(out), np.cos(out)])
            spot = np.array([-toward_other * half, 0.0])
            offset = np.asarray(s.foot_offset_mm.get(foot, (0.0, 0.0)), dtype=float)
            self.foot_center_mm[foot] = np.asarray(s.stance_centre_mm, dtype=float) + turn @ spot + offset
            self.medial_unit[foot] = turn @ medial
            self.foot_axis[foot] = turn @ axis

    @property
    def duration_s(self) -> float:
        """From time 0 to ``plan.tail_s`` after the last rep's rest."""
        if not self.reps:
            return self.plan.baseline_s + self.plan.tail_s
        last = self.reps[-1]
        return float(self.rep_starts_s[-1] + last.duration_s + last.rest_s + self.plan.tail_s)

    def rep_start_s(self, index: int) -> float:
        return float(self.rep_starts_s[index - 1])

    def _phase(self, t: np.ndarray):
        """Rep position (0-based, len(reps) = none) and time since that rep's start (s);
        outside every rep the time is past the rep's end ("resting")."""
        k = np.searchsorted(self.rep_starts_s, t, side="right") - 1
        n = len(self.reps)
        tau = t - self.rep_starts_s[np.clip(k, 0, max(n - 1, 0))] if n else np.full_like(t, np.inf)
        durations = np.array([r.duration_s for r in self.reps] + [0.0])
        outside = (k < 0) | (n == 0)
        k = np.where(outside, n, k)
        after = tau >= durations[k]
        k = np.where(after, n, k)
        tau = np.where(outside | after, np.inf, tau)
        return k, tau

    def _rep_values(self, k: np.ndarray) -> tuple[np.ndarray, ...]:
        tab = self._rep_table
        return tab["descent_s"][k], tab["bottom_s"][k], tab["ascent_s"][k], tab["depth_m"][k]

    # --- what a model defines -------------------------------------------------------------
    def vertical(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hip height change (m, <= 0) and total vertical force (N) at times ``t``."""
        raise NotImplementedError

    def along_foot_mm(self, t: np.ndarray, drop_m: np.ndarray) -> np.ndarray:
        """CoP travel along the foot (mm, + toward the toes), the same for both feet."""
        raise NotImplementedError

    def healthy_medial_mm(self, t: np.ndarray, drop_m: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def medial_shift_mm(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """True medial CoP shift of each foot (mm, foot frame), the collapse pattern only."""
        raise NotImplementedError

    def knees_out_mm(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """Lateral CoP shift of each foot (mm, > 0 = toward the outside), knees going out."""
        raise NotImplementedError

    def rep_bottom_s(self, index: int) -> float:
        """The true bottom of rep ``index`` (1-based): the middle of the pause."""
        r = self.reps[index - 1]
        return self.rep_start_s(index) + r.descent_s + r.bottom_s / 2

    def rep_depth_m(self, index: int) -> float:
        return self.reps[index - 1].depth_m

    # --- shared ----------------------------------------------------------------------------
    def foot_frame_shift_mm(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """Each foot's medial CoP displacement in its own frame (mm): healthy drift, collapse,
        knees out; no sway, no noise."""
        t = np.asarray(t, dtype=np.float64)
        drop, _ = self.vertical(t)
        healthy, collapse, out = self.healthy_medial_mm(t, drop), self.medial_shift_mm(t), self.knees_out_mm(t)
        return {foot: healthy[foot] + collapse[foot] - out[foot] for foot in SIDES}

    def sample(self, t: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Vertical force per foot (N) and CoP per foot (n, 2) mm, lab frame, at device times ``t`` (s)."""
        t = np.asarray(t, dtype=np.float64)
        s = self.subject
        drop, total = self.vertical(t)
        along = self.along_foot_mm(t, drop)
        healthy, collapse, out = self.healthy_medial_mm(t, drop), self.medial_shift_mm(t), self.knees_out_mm(t)
        forces, cops = {}, {}
        for k, foot in enumerate(SIDES):
            share = s.left_share if foot == "left" else 1.0 - s.left_share
            forces[foot] = total * share
            waves = np.sin(2 * np.pi * self._sway_freq[k] * t[:, None, None] + self._sway_phase[k])
            sway = (self._sway_amp_mm[k] * waves).sum(axis=2)  # (n, 2): medial, along
            medial = healthy[foot] + collapse[foot] - out[foot] + sway[:, 0]
            cops[foot] = (self.foot_center_mm[foot][None, :]
                          + (along + sway[:, 1])[:, None] * self.foot_axis[foot][None, :]
                          + medial[:, None] * self.medial_unit[foot][None, :])
        return forces, cops

    def truth(self) -> list[RepTruth]:
        depths = np.array([self.rep_depth_m(i) for i in range(1, len(self.reps) + 1)])
        median_depth = float(median(depths)) if len(depths) else 0.0
        out = []
        for i, rep in enumerate(self.reps, start=1):
            t0 = self.rep_start_s(i)
            grid = t0 + np.arange(int(rep.duration_s * TRUTH_GRID_HZ) + 1) / TRUTH_GRID_HZ
            collapse, knees_out, whole = self.medial_shift_mm(grid), self.knees_out_mm(grid), self.foot_frame_shift_mm(grid)
            sides = {}
            for foot in SIDES:
                c = rep.collapse.get(foot)
                sides[foot] = SideTruth(
                    severity=c.severity if c else None,
                    peak_shift_mm=float(collapse[foot].max()) if c else 0.0,
                    onset_s=t0 + collapse_window(rep, c)[0] if c else None,
                    phase=c.phase if c else None,
                    knees_out_mm=float(knees_out[foot].max()),
                    foot_frame_peak_mm=float(whole[foot].max()),
                    toe_out_deg=self.subject.toe_out(foot),
                )
            labelled = [foot for foot in SIDES if sides[foot].severity]
            worst = max(labelled, key=lambda foot: sides[foot].peak_shift_mm) if labelled else None
            out.append(RepTruth(
                index=i,
                start_s=t0,
                bottom_s=self.rep_bottom_s(i),
                end_s=t0 + rep.duration_s,
                depth_m=float(depths[i - 1]),
                valgus_side=("both" if len(labelled) == 2 else worst),
                severity=sides[worst].severity if worst else None,
                onset_s=min(sides[foot].onset_s for foot in labelled) if labelled else None,
                peak_shift_mm=sides[worst].peak_shift_mm if worst else 0.0,
                partial=bool(depths[i - 1] < PARTIAL_FRACTION * median_depth),
                facing_deg=self.subject.facing_deg,
                sides=sides,
            ))
        return out

    def _total_mass_kg(self, t: np.ndarray) -> np.ndarray:
        """Body and load, drifting over the set by ``plan.load_drift``."""
        s, p = self.subject, self.plan
        m = s.mass_kg + s.load_kg
        if not p.load_drift or not self.reps:
            return np.full_like(t, m)
        first, last = self.rep_starts_s[0], self.rep_starts_s[-1] + self.reps[-1].duration_s
        return m * (1.0 + p.load_drift * smoothstep((t - first) / max(last - first, 1e-9)))

    def _flywheel_n(self, t: np.ndarray) -> np.ndarray:
        """A flywheel strap's pull: it rises through the descent as the lifter brakes the
        wheel, is largest at the bottom, and falls through the ascent (the KTH lifter's force
        per foot doubled, 400 to 800-900 N, its 4 Hz peak at the markers' bottom)."""
        if not self.plan.flywheel_n:
            return np.zeros_like(t)
        k, tau = self._phase(t)
        descent, pause, ascent, _ = (np.maximum(values, 1e-9) for values in self._rep_values(k))
        inside = np.isfinite(tau)
        tau = np.where(inside, tau, 0.0)
        # 0 at the rep's start, 1/2 through the pause at the bottom, 1 at its end
        x = np.where(tau < descent, 0.5 * tau / descent,
                     np.where(tau < descent + pause, 0.5, 0.5 + 0.5 * (tau - descent - pause) / ascent))
        return self.plan.flywheel_n * np.where(inside, np.sin(np.pi * x) ** 2, 0.0)

    def _collapse_patterns(self, t: np.ndarray, shape) -> dict[str, np.ndarray]:
        """Collapse shift per foot: ``shape(tau, rep, collapse)`` (0-1 scale) times the peak, in its rep."""
        k, tau = self._phase(t)
        out = {foot: np.zeros_like(t) for foot in SIDES}
        for i, rep in enumerate(self.reps):
            mask = k == i
            if not mask.any():
                continue
            for foot, c in rep.collapse.items():
                out[foot][mask] = c.peak_mm * shape(tau[mask], rep, c)
        return out


def rise_hold_fall(tau: np.ndarray, rep: RepPlan, c: Collapse) -> np.ndarray:
    """Smooth rise to 1, hold, smooth fall: the collapse shape of :class:`SquatModel`."""
    onset, rise, fall_start, fall = collapse_window(rep, c)
    return np.minimum(smoothstep((tau - onset) / rise), 1.0 - smoothstep((tau - fall_start) / fall))


class SquatModel(SquatModelBase):
    """The body as a point mass on minimum-jerk paths (acceleration starts and ends at zero,
    as in a controlled squat), with a pause at the bottom and rest standing between reps,
    so the vertical force is ``m * (g + a(t))`` (plus a flywheel's pull) with no steps. The
    CoP travels along the foot in proportion to depth; collapse rises, holds and lets go."""

    generator = "min-jerk"

    def vertical(self, t):
        t = np.asarray(t, dtype=np.float64)
        k, tau = self._phase(t)
        d, b, a, depth = self._rep_values(k)
        pos, acc = np.zeros_like(t), np.zeros_like(t)
        down = tau < d
        x = tau[down] / d[down]
        pos[down] = -depth[down] * _min_jerk(x)
        acc[down] = -depth[down] * _min_jerk_acc(x) / d[down] ** 2
        hold = (tau >= d) & (tau < d + b)
        pos[hold] = -depth[hold]
        up = (tau >= d + b) & (tau < d + b + a)
        x = (tau[up] - d[up] - b[up]) / a[up]
        pos[up] = -depth[up] * (1 - _min_jerk(x))
        acc[up] = depth[up] * _min_jerk_acc(x) / a[up] ** 2
        return pos, self._total_mass_kg(t) * (G + acc) + self._flywheel_n(t)

    def _depth_fraction(self, t, drop_m):
        k, _ = self._phase(t)
        return -drop_m / np.maximum(self._rep_table["depth_m"][k], 1e-9)

    def along_foot_mm(self, t, drop_m):
        k, _ = self._phase(t)
        return self._rep_table["cop_travel_mm"][k] * self._depth_fraction(t, drop_m)

    def healthy_medial_mm(self, t, drop_m):
        k, _ = self._phase(t)
        fraction = self._depth_fraction(t, drop_m)
        out = {}
        for foot in SIDES:
            per_rep = np.array([r.healthy_medial_mm.get(foot, 0.0) for r in self.reps] + [0.0])
            out[foot] = per_rep[k] * fraction
        return out

    def medial_shift_mm(self, t):
        return self._collapse_patterns(np.asarray(t, dtype=np.float64), rise_hold_fall)

    def knees_out_mm(self, t):
        t = np.asarray(t, dtype=np.float64)
        k, tau = self._phase(t)
        out = {foot: np.zeros_like(t) for foot in SIDES}
        for i, rep in enumerate(self.reps):
            mask = k == i
            for foot, peak in rep.knees_out_mm.items():
                out[foot][mask] = peak * rise_hold_fall(tau[mask], rep, Collapse("mild", 1.0, "descent", 0.4))
        return out
