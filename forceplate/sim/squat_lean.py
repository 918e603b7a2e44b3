"""A second squat model with other mechanics than :class:`forceplate.sim.squat.SquatModel`.

Recordings from other generators are run against the product, so the validation plays
every set through two models that agree on the plan and the truth but not on the physics:

- Hip path: each rep's target is an asymmetric cosine (descent and ascent skewed by their
  own exponents) plus a slow smoothed random wander; the body follows the target through
  a spring-damper (a servo of 2.5-4.5 Hz, damping 0.6-0.9), so the centre of mass lags,
  rounds the turns and may overshoot. Vertical force is ``m * (g + a)`` with ``a`` the
  double derivative of the body's path, plus a small 8-12 Hz muscle ripple under load.
- CoP along the foot follows the trunk: hips going back pull it toward the heels in step
  with depth, the forward lean of the trunk pushes it toward the toes and peaks later
  (out of the hole), so its shape in time is not the depth's. The healthy medial drift
  follows the lean too.
- Collapse is a skewed pulse (fast rise, slower release) with a 4-7 Hz knee wobble, not a
  plateau; knees out follows depth.

The truth (start, end, bottom, depth) is measured on the body's path, not the target.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import cont2discrete, lfilter

from forceplate.profiles import SIDES
from forceplate.sim.squat import G, Collapse, RepPlan, SquatModelBase, collapse_window, smoothstep

GRID_HZ = 4000.0  # the body's path is integrated on this grid and interpolated to any device time
WANDER_RMS_M = 0.0002  # slow random wander of the hips while standing and squatting
WANDER_SMOOTH_S = 0.25
WANDER_GRID_HZ = 100.0
RIPPLE_SHARE = 0.006  # muscle ripple amplitude at full depth, share of the standing force
BOTTOM_LEVEL = 0.98  # the bottom is the middle of where the body is this deep of its deepest


class LeanSquatModel(SquatModelBase):
    """The second squat generator: spring-damper hips after a skewed cosine target, CoP travel from
    hips back and a later trunk lean, pulse-shaped collapse with wobble."""

    generator = "lean"

    def __init__(self, subject=None, plan=None, seed: int = 0):
        super().__init__(subject, plan, seed)
        rng = self._rng
        n = len(self.reps)
        self._skew = rng.uniform(0.8, 1.3, size=(n, 2))  # descent, ascent exponents
        self._servo_hz = rng.uniform(2.5, 4.5)
        self._damping = rng.uniform(0.6, 0.9)
        self._lean_lag_s = rng.uniform(0.05, 0.35)  # the trunk's forward lean peaks this long after the bottom
        self._lean_exponent = rng.uniform(0.7, 1.5)
        self._lean_push_mm = rng.uniform(10.0, 70.0)  # CoP travel toward the toes the lean alone would make
        self._ripple_hz = rng.uniform(8.0, 12.0)
        self._wobble_hz = rng.uniform(4.0, 7.0, size=n)
        self._pulse_power = rng.uniform(2.0, 4.0, size=n)
        self._lo = min(0.0, float(self.rep_starts_s[0]) if n else 0.0) - 1.0
        self._grid = self._lo + np.arange(int((self.duration_s + 1.0 - self._lo) * GRID_HZ) + 1) / GRID_HZ
        self._integrate(rng)

    # --- the body's path, once, on a fine grid ----------------------------------------------
    def _target_fraction(self, t: np.ndarray, lag_s: float = 0.0) -> np.ndarray:
        """The target's depth fraction (0 standing, 1 at the bottom), ``lag_s`` late."""
        k, tau = self._phase(t - lag_s)
        d, b, a, _ = self._rep_values(k)
        skew = np.vstack([self._skew, [[1.0, 1.0]]])[k]
        frac = np.zeros_like(t)
        down = tau < d
        frac[down] = (1 - np.cos(np.pi * (tau[down] / d[down]) ** skew[down, 0])) / 2
        frac[(tau >= d) & (tau < d + b)] = 1.0
        up = (tau >= d + b) & (tau < d + b + a)
        # clipped: tau - d - b can come out a rounding below 0 where tau >= d + b, and a negative
        # base to a fractional power is NaN (a NaN count on the emulated wire)
        rising = np.clip((tau[up] - d[up] - b[up]) / a[up], 0.0, 1.0)
        frac[up] = (1 + np.cos(np.pi * rising ** skew[up, 1])) / 2
        return frac

    def _integrate(self, rng: np.random.Generator) -> None:
        t = self._grid
        k, _ = self._phase(t)
        target = -self._target_fraction(t) * self._rep_table["depth_m"][k]
        # smoothed on a coarse grid (a fine-grid kernel would be slow); the servo smooths the joins
        coarse = t[0] + np.arange(int((t[-1] - t[0]) * WANDER_GRID_HZ) + 2) / WANDER_GRID_HZ
        wander = np.interp(t, coarse, gaussian_filter1d(rng.normal(size=len(coarse)), WANDER_SMOOTH_S * WANDER_GRID_HZ))
        target = target + WANDER_RMS_M * wander / max(float(np.std(wander)), 1e-12)
        w, z = 2 * np.pi * self._servo_hz, self._damping
        num, den, _ = cont2discrete(([w * w], [1.0, 2 * z * w, w * w]), 1.0 / GRID_HZ, method="bilinear")
        drop = lfilter(np.ravel(num), den, target - target[0]) + target[0]  # starts at rest
        self._drop = drop
        self._acc = np.gradient(np.gradient(drop, t), t)
        self._lean = self._target_fraction(t, self._lean_lag_s) ** self._lean_exponent
        # hips back: as much toward the heels as makes each rep's travel at its bottom what the plan says
        bottoms = [self.rep_bottom_s(i) for i in range(1, len(self.reps) + 1)]
        lean_at_bottom = np.interp(bottoms, t, self._lean)
        self._hips_back_mm = np.array([self._lean_push_mm * lean - rep.cop_travel_mm
                                       for lean, rep in zip(lean_at_bottom, self.reps, strict=True)] + [0.0])

    def _on_grid(self, values: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self._grid, values)

    def vertical(self, t):
        t = np.asarray(t, dtype=np.float64)
        drop, acc = self._on_grid(self._drop, t), self._on_grid(self._acc, t)
        mass = self._total_mass_kg(t)
        depth_fraction = -drop / max(self.plan.depth_m, 1e-9)
        ripple = RIPPLE_SHARE * mass * G * np.clip(depth_fraction, 0, 1) * np.sin(2 * np.pi * self._ripple_hz * t)
        return drop, mass * (G + acc) + ripple + self._flywheel_n(t)

    def rep_bottom_s(self, index: int) -> float:
        t0, rep = self.rep_start_s(index), self.reps[index - 1]
        inside = (self._grid >= t0) & (self._grid <= t0 + rep.duration_s + 0.3)
        deep = -self._drop[inside]
        at = self._grid[inside][deep >= BOTTOM_LEVEL * deep.max()]
        return float((at[0] + at[-1]) / 2)

    def rep_depth_m(self, index: int) -> float:
        t0, rep = self.rep_start_s(index), self.reps[index - 1]
        inside = (self._grid >= t0) & (self._grid <= t0 + rep.duration_s + 0.3)
        return float(-self._drop[inside].min())

    # --- the CoP in the foot frame --------------------------------------------------------
    def along_foot_mm(self, t, drop_m):
        k, _ = self._phase(t)
        frac = -drop_m / np.maximum(self._rep_table["depth_m"][k], 1e-9)
        frac = np.where(np.isfinite(frac) & (self._rep_table["depth_m"][k] > 0), frac, 0.0)
        return -self._hips_back_mm[k] * frac + self._lean_push_mm * self._on_grid(self._lean, t)

    def healthy_medial_mm(self, t, drop_m):
        k, _ = self._phase(t)
        lean = self._on_grid(self._lean, t)
        return {foot: np.array([r.healthy_medial_mm.get(foot, 0.0) for r in self.reps] + [0.0])[k] * lean
                for foot in SIDES}

    def medial_shift_mm(self, t):
        return self._collapse_patterns(np.asarray(t, dtype=np.float64), self._pulse)

    def _pulse(self, tau: np.ndarray, rep: RepPlan, c: Collapse) -> np.ndarray:
        """A skewed pulse ``(x e^(1-x))^p`` peaking one rise time after onset, with a knee
        wobble, let go by the rep's end."""
        i = next(j for j, r in enumerate(self.reps) if r is rep)  # equal plans may repeat: by identity
        onset, rise, _, _ = collapse_window(rep, c)
        x = np.maximum((tau - onset) / rise, 0.0)
        pulse = (x * np.exp(1.0 - x)) ** self._pulse_power[i]
        wobble = 1.0 + 0.06 * np.sin(2 * np.pi * self._wobble_hz[i] * np.maximum(tau - onset, 0.0))
        taper = 1.0 - smoothstep((tau - (rep.duration_s - 0.2 * rep.ascent_s)) / (0.2 * rep.ascent_s))
        return pulse * wobble * taper

    def knees_out_mm(self, t):
        t = np.asarray(t, dtype=np.float64)
        k, _ = self._phase(t)
        frac = np.clip(self._target_fraction(t), 0.0, 1.0) ** 0.7
        return {foot: np.array([r.knees_out_mm.get(foot, 0.0) for r in self.reps] + [0.0])[k] * frac
                for foot in SIDES}
