"""A biomechanical squat model with ground truth.

The body is a point mass moving vertically; each rep's descent and ascent follow a
minimum-jerk position profile (acceleration starts and ends at zero, as in a controlled
squat), with a pause at the bottom and rest standing between reps, so the vertical ground
reaction force is ``(m_body + m_load) * (g + a(t))`` and has no steps. Each foot's centre of pressure (CoP) travels
toward the heel as the hips go back, sways a little, and, in reps labelled with knee
valgus, moves toward the arch (medially, perpendicular to the foot's long axis) by an
amount that grows with severity, from late descent through the bottom into the ascent.
Everything is a deterministic function of time and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forceplate.processing.baseline import foot_axis, medial_units
from forceplate.profiles import SIDES

G = 9.80665
SEVERITY_SHIFT_MM = {"mild": 5.0, "moderate": 10.0, "severe": 16.0}


@dataclass
class Subject:
    mass_kg: float = 75.0
    load_kg: float = 0.0  # barbell
    stance_width_mm: float = 440.0  # centre of left foot to centre of right foot
    foot_length_mm: float = 260.0
    foot_width_mm: float = 100.0
    toe_out_deg: float = 0.0  # each foot turned out by this much
    left_share: float = 0.5  # share of body weight on the left foot


@dataclass
class SquatPlan:
    reps: int = 8
    baseline_s: float = 3.0  # quiet standing before the first rep
    descent_s: float = 1.5
    bottom_s: float = 0.3
    ascent_s: float = 1.2
    rest_s: float = 1.0
    depth_m: float = 0.45
    heel_travel_mm: float = 12.0  # CoP travel toward the heel at full depth
    valgus: dict[int, tuple[str, str]] = field(default_factory=dict)  # rep (1-based) -> (side, severity)

    @property
    def rep_period_s(self) -> float:
        return self.descent_s + self.bottom_s + self.ascent_s + self.rest_s


@dataclass(frozen=True)
class RepTruth:
    index: int
    start_s: float
    bottom_s: float  # middle of the pause at the bottom
    end_s: float
    depth_m: float
    valgus_side: str | None
    severity: str | None
    onset_s: float | None  # when the medial shift starts to rise
    peak_shift_mm: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _min_jerk(x: np.ndarray) -> np.ndarray:
    """Minimum-jerk path from 0 to 1 over x in [0, 1]."""
    return x**3 * (10 - 15 * x + 6 * x**2)


def _min_jerk_acc(x: np.ndarray) -> np.ndarray:
    """Second derivative of :func:`_min_jerk` with respect to x."""
    return 60 * x - 180 * x**2 + 120 * x**3


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


class SquatModel:
    """Per-foot vertical force (N) and CoP (mm, lab frame) at any device time (s)."""

    def __init__(self, subject: Subject | None = None, plan: SquatPlan | None = None, seed: int = 0):
        self.subject = subject or Subject()
        self.plan = plan or SquatPlan()
        rng = np.random.default_rng(seed)
        # People differ: each labelled rep's peak shift varies +-15% around its grade's value.
        self._peak_shift_mm = {rep: SEVERITY_SHIFT_MM[severity] * rng.uniform(0.85, 1.15)
                               for rep, (_, severity) in sorted(self.plan.valgus.items())}
        # Sway: a few slow sinusoids per foot and axis, fixed by the seed.
        self._sway_freq = rng.uniform(0.08, 0.6, size=(2, 2, 4))
        self._sway_phase = rng.uniform(0, 2 * np.pi, size=(2, 2, 4))
        self._sway_amp_mm = np.array([0.5, 0.9])[None, :, None] * rng.uniform(0.5, 1.0, size=(2, 2, 4))  # mm
        half = self.subject.stance_width_mm / 2
        self.foot_center_mm = {"left": np.array([-half, 0.0]), "right": np.array([half, 0.0])}
        # Heel-to-toe axis and the medial (arch-side) unit vector of each foot, lab frame.
        self.medial_unit = medial_units(dict.fromkeys(SIDES, self.subject.toe_out_deg))
        self.foot_axis = {side: foot_axis(self.medial_unit[side]) for side in SIDES}

    def rep_start_s(self, index: int) -> float:
        return self.plan.baseline_s + (index - 1) * self.plan.rep_period_s

    def truth(self) -> list[RepTruth]:
        p = self.plan
        reps = []
        for i in range(1, p.reps + 1):
            t0 = self.rep_start_s(i)
            side, severity = p.valgus.get(i, (None, None))
            reps.append(
                RepTruth(
                    index=i,
                    start_s=t0,
                    bottom_s=t0 + p.descent_s + p.bottom_s / 2,
                    end_s=t0 + p.descent_s + p.bottom_s + p.ascent_s,
                    depth_m=p.depth_m,
                    valgus_side=side,
                    severity=severity,
                    onset_s=t0 + 0.5 * p.descent_s if side else None,
                    peak_shift_mm=self._peak_shift_mm[i] if side else 0.0,
                )
            )
        return reps

    def _phase(self, t: np.ndarray):
        """Rep index (1-based, 0 = none) and time since that rep's start."""
        p = self.plan
        since = t - p.baseline_s
        rep = np.floor(since / p.rep_period_s).astype(np.int64) + 1
        tau = since - (rep - 1) * p.rep_period_s
        outside = (since < 0) | (rep > p.reps)
        rep[outside] = 0
        tau[outside] = p.rep_period_s  # "resting"
        return rep, tau

    def kinematics(self, t: np.ndarray):
        """Hip height change (m, <= 0) and vertical acceleration (m/s^2)."""
        p = self.plan
        _, tau = self._phase(t)
        d, b, a = p.descent_s, p.bottom_s, p.ascent_s
        pos = np.zeros_like(t)
        acc = np.zeros_like(t)
        down = tau < d
        x = tau[down] / d
        pos[down] = -p.depth_m * _min_jerk(x)
        acc[down] = -p.depth_m * _min_jerk_acc(x) / d**2
        hold = (tau >= d) & (tau < d + b)
        pos[hold] = -p.depth_m
        up = (tau >= d + b) & (tau < d + b + a)
        x = (tau[up] - d - b) / a
        pos[up] = -p.depth_m * (1 - _min_jerk(x))
        acc[up] = p.depth_m * _min_jerk_acc(x) / a**2
        return pos, acc

    def medial_shift_mm(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """True medial CoP shift of each foot (mm), the valgus pattern only."""
        p = self.plan
        rep, tau = self._phase(t)
        d, b, a = p.descent_s, p.bottom_s, p.ascent_s
        rise = _smoothstep((tau - 0.5 * d) / (0.5 * d))
        fall = 1.0 - _smoothstep((tau - d - b - 0.4 * a) / (0.6 * a))
        envelope = np.minimum(rise, fall)
        out = {s: np.zeros_like(t) for s in SIDES}
        for index, (side, _) in p.valgus.items():
            mask = rep == index
            out[side][mask] = self._peak_shift_mm[index] * envelope[mask]
        return out

    def sample(self, t: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Vertical force per foot (N) and CoP per foot (n, 2) mm at device times ``t`` (s)."""
        t = np.asarray(t, dtype=np.float64)
        s = self.subject
        pos, acc = self.kinematics(t)
        total = (s.mass_kg + s.load_kg) * (G + acc)
        shift = self.medial_shift_mm(t)
        depth_fraction = -pos / max(self.plan.depth_m, 1e-9)
        forces, cops = {}, {}
        for k, side in enumerate(SIDES):
            share = s.left_share if side == "left" else 1.0 - s.left_share
            forces[side] = total * share
            waves = np.sin(2 * np.pi * self._sway_freq[k] * t[:, None, None] + self._sway_phase[k])
            sway = (self._sway_amp_mm[k] * waves).sum(axis=2)  # (n, 2): medial, forward
            cop = (
                self.foot_center_mm[side][None, :]
                - self.plan.heel_travel_mm * depth_fraction[:, None] * self.foot_axis[side][None, :]
                + shift[side][:, None] * self.medial_unit[side][None, :]
                + sway[:, 0:1] * self.medial_unit[side][None, :]
                + sway[:, 1:2] * self.foot_axis[side][None, :]
            )
            cops[side] = cop
        return forces, cops
