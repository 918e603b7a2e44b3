"""A third squat model: planned net force with a flat turn, a sagittal linkage for the CoP.

Submissions are judged on generators and recordings from other labs, so the validation plays
sets through models that agree on the plan (:class:`~forceplate.sim.squat.SquatPlan`) and the
truth but not on the mechanics. :class:`~forceplate.sim.squat.SquatModel` moves a point mass on
minimum-jerk paths (the force is back at the weight at the bottom), and
:mod:`forceplate.sim.squat_lean` makes the hips follow a cosine target through a spring-damper.
This one starts from the force and from the skeleton:

- **Net force first, three lobes.** Each rep's vertical acceleration is an unweighting lobe
  (the first 30-50 % of the descent), a *flat plateau* above the weight through the turn (from
  the end of that lobe to the start of the lockout lobe in the last 30-50 % of the ascent, its
  edges rising over 20-60 % of the way to the bottom, its level free to differ before and
  after the bottom) and the lockout lobe below the weight.
  The four levels are solved so that the body stops at the plan's depth at the plan's bottom
  and stands again at the rep's end; position and velocity follow by integration, so the
  force integrates back to the depth exactly. Rests on the KU Leuven squat
  (``real-squats/grf_Squat2.mot``, 2 Hz low-pass of the summed force): 0.95-0.96 of the weight
  early in the descent, above it from 1.14 to 2.81 s, a plateau of 1.035-1.049 through the
  bottom (2.0 s), 0.96 late in the ascent; at that squat's tempo and depth this model is
  above the weight at the same times (0.2 s), as high at the bottom (1.5 %), its dips 0.91-0.94
  (``tests/test_sim_linkage.py``). A pause at the bottom notches the plateau down (a hold is nearly
  static: force at the weight), so a paused lifter settles through the pause on a slow arc.
  A quick rep reshapes its lobes to keep the force within 0.5-1.5 of the weight (the
  battery's quickest tempo keeps a minimum-jerk rep so); the very quickest reach 1.7 there.
- **Tremor.** Force fluctuations of 3-12 Hz, 0.5-1.2 % of the weight RMS while moving and about
  a tenth of that standing (KU Leuven, 3-15 Hz band: 0.84 % moving, 0.11 % standing), as the
  second derivative of a sub-millimetre body motion, so force and path stay one.
- **CoP along the foot from a sagittal linkage.** Shank, thigh and trunk (Winter's segment
  lengths and masses, a bar at the shoulders when loaded, the knees 3-10 deg bent standing):
  the knee's flexion sets the ankle's dorsiflexion (0.30-0.45 rad per rad, more of it early in
  knees-first lifters, late in hips-first ones) and the trunk's lean (early or late); the CoP
  is the centre of mass over the ground. Each rep's trunk lean is solved so that the CoP at
  the bottom sits the plan's ``cop_travel_mm`` from standing (real squats: 50-127 mm toward the
  heels, some lifters toward the toes); on the way there the path follows the joints, not the
  depth (near standing the centre of mass lowers with the square of the flexion, so the joints
  move the CoP early in the descent), departing from travel in step with the flexion by at
  most 30 mm (balance keeps the centre of mass over the foot). Where the lean alone cannot
  give the travel (a deep rep with an upright trunk), the rest comes in step with the
  flexion (arms, segments not modelled). Quasi-static: the horizontal-acceleration term
  ``z x''/g`` is left out, as a free linkage's grows to hundreds of mm at a quick rep's start
  where a real lifter balances it; the real files here do not show the travel's time course
  (their foot axes are uncertain, docs/validation.md), so that course is this model's choice.
- **Weight shifts between the feet with depth.** The left foot's share moves by up to
  +-7 points from standing to the bottom, in step with the knee's flexion (KU Leuven: one
  foot's share 0.545 standing, 0.475 at the bottom).
- **The knee's flexion drives collapse and knees out.** Collapse starts where the plan says
  (:func:`~forceplate.sim.squat.collapse_window`), then follows the knee's flexion (valgus
  grows with flexion) through a 50-150 ms lag of the foot behind the knee, so a collapse
  begun in the descent peaks after the bottom and eases as the knee extends; one begun in the
  ascent follows the square root of the flexion (the knee caves driving out of the hole and
  comes back at lockout). Knees out follows the flexion lagged 100-250 ms (the push out of the
  hole), the healthy medial drift the ankle's dorsiflexion (the foot pronates as the tibia
  goes forward).

Truth keeps the others' meaning: the bottom is the middle of the pause (the velocity turns
there by construction), the depth the centre of mass's drop (the plan's), collapse peaks in
the foot's frame.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq
from scipy.signal import butter, lfilter, sosfiltfilt

from forceplate.profiles import SIDES
from forceplate.sim.squat import G, Collapse, RepPlan, SquatModelBase, collapse_window, smoothstep

GRID_HZ = 2000.0  # each rep's path is integrated on a grid this fine and interpolated to device times
TREMOR_GRID_HZ = 500.0
TREMOR_BAND_HZ = (3.0, 12.0)
# Winter (2009) anthropometry, shares of height and of body mass
SHANK_LENGTH, THIGH_LENGTH, HIP_TO_SHOULDER = 0.246, 0.245, 0.288
SHANK_MASS, THIGH_MASS, HAT_MASS, FEET_MASS = 2 * 0.0465, 2 * 0.100, 0.678, 2 * 0.0145
SHANK_COM_FROM_ANKLE, THIGH_COM_FROM_HIP, HAT_COM_FROM_HIP = 0.567, 0.433, 0.626
ANKLE_HEIGHT = 0.039
REFERENCE_KNEE_RAD = np.radians(100.0)  # the ankle's and trunk's early/late terms turn at this flexion
KNEE_TABLE_RAD = np.linspace(0.0, np.radians(165.0), 661)
TRUNK_LEAN_RANGE = (-0.2, 1.2)  # trunk lean per knee flexion (rad/rad) the solution is sought within
MAX_ACCELERATION = 0.5 * G  # m/s^2: the feet stay loaded (validation.MAX_SQUAT_ACCELERATION)
MIN_LOBE_SHARE, MAX_LOBE_SHARE = 0.2, 0.85  # the first and last lobes' share of the descent and ascent
MAX_RESHAPES = 20
MAX_OVERLAP = 0.6  # a quick rep's plateau may rise this far into its unweighting lobe
MAX_DETOUR_MM = 30.0  # the joints' CoP path departs at most this far from travel in step with the flexion
PAUSE_EDGE = 0.1  # the pause's notch rises and falls over this share of the pause
FULL_HOLD_PAUSE_S = 0.4  # a pause this long or longer holds nearly still (notch 0.95)


class LinkageSquatModel(SquatModelBase):
    """The third squat generator: net force planned in three lobes with a flat turn, CoP from a
    shank-thigh-trunk linkage, weight shifting between the feet, collapse driven by the knee."""

    generator = "linkage"

    def __init__(self, subject=None, plan=None, seed: int = 0):
        super().__init__(subject, plan, seed)
        rng = self._rng
        n = len(self.reps)
        self.height_m = rng.uniform(1.6, 1.95)
        self._standing_knee_rad = np.radians(rng.uniform(3.0, 10.0))  # knees a little bent when standing
        self._ankle_ratio = rng.uniform(0.3, 0.45)  # ankle dorsiflexion per knee flexion (rad/rad)
        self._knees_first = rng.uniform(-0.3, 0.4)  # > 0: the ankle bends early (knees first)
        self._lean_late = rng.uniform(-0.3, 0.5)  # > 0: the trunk leans late (hips back first)
        self._unweight = rng.uniform(0.3, 0.5, size=n)  # the first lobe's share of the descent
        self._lockout = rng.uniform(0.3, 0.5, size=n)  # the last lobe's share of the ascent
        self._squareness = rng.uniform(0.2, 0.6)  # the plateau's edges over this share of its half
        self._share_shift = rng.uniform(-0.07, 0.07)  # left foot's share, bottom minus standing
        self._collapse_lag_s = rng.uniform(0.05, 0.15)
        self._knees_out_lag_s = rng.uniform(0.10, 0.25)
        self._tremor_share = rng.uniform(0.005, 0.012)  # RMS tremor force while moving, share of the weight
        self._tremor_standing = rng.uniform(0.1, 0.2)  # standing tremor, share of the moving one
        self._load_share = self.subject.load_kg / max(self.subject.mass_kg + self.subject.load_kg, 1e-9)
        self._curves = [self._rep_curves(i, rep) for i, rep in enumerate(self.reps)]
        self._tremor(rng)

    # --- each rep, once, on its own grid ----------------------------------------------------
    def _rep_curves(self, i: int, rep: RepPlan) -> dict[str, np.ndarray]:
        """The rep's path (m, m/s^2), knee flexion (rad), CoP travel (mm) and knee-driven shapes
        on a grid from its start to its end."""
        steps = max(int(round(rep.duration_s * GRID_HZ)), 8)
        tau = np.linspace(0.0, rep.duration_s, steps + 1)
        acc, drop = self._path(i, rep, tau)
        bottom = int(np.argmin(np.abs(tau - (rep.descent_s + rep.bottom_s / 2))))
        knee, along, ankle = self._joints(rep, bottom, drop)
        flexion = (knee - knee[0]) / max(knee[bottom] - knee[0], 1e-9)  # 0 standing, 1 at the bottom
        ankle = (ankle - ankle[0]) / max(ankle[bottom] - ankle[0], 1e-9)  # the same for the ankle
        knees_out = self._lagged_shape(np.clip(flexion, 0.0, None) ** 1.5, self._knees_out_lag_s, rep, tau)
        curves = {"tau": tau, "acc": acc, "drop": drop, "along": along, "flexion": flexion}
        for foot in SIDES:  # the foot-frame patterns in mm; a rep without one has no curve of it (0)
            curves[f"healthy {foot}"] = rep.healthy_medial_mm.get(foot, 0.0) * ankle
            if foot in rep.collapse:
                curves[f"collapse {foot}"] = rep.collapse[foot].peak_mm * self._collapse_shape(rep, rep.collapse[foot],
                                                                                                tau, flexion)
            if rep.knees_out_mm.get(foot):
                curves[f"knees out {foot}"] = rep.knees_out_mm[foot] * knees_out
        return curves

    def _path(self, i: int, rep: RepPlan, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Acceleration (m/s^2) and drop (m, <= 0) of the centre of mass: an unweighting lobe, a
        flat plateau through the turn (its own level on either side of the bottom, notched by a
        pause) and a lockout lobe, their four levels solved so that the body is still at the
        plan's depth at the bottom and stands again at the end. A quick rep reshapes its lobes
        until the force stays within 0.5-1.5 of the weight, as the battery's quickest tempo
        keeps a minimum-jerk rep (where no shape within the limits does, the last one tried)."""
        unweight, lockout, squareness, overlap = self._unweight[i], self._lockout[i], self._squareness, 0.0
        for _ in range(MAX_RESHAPES):
            acc, drop = self._three_lobes(rep, tau, unweight, lockout, squareness, overlap)
            if acc.min() < -MAX_ACCELERATION:  # the lobes carry too much: longer lobes
                unweight, lockout = min(unweight + 0.05, MAX_LOBE_SHARE), min(lockout + 0.05, MAX_LOBE_SHARE)
            elif acc.max() > MAX_ACCELERATION:  # the turn carries too much: a longer, squarer plateau
                unweight, lockout = max(unweight - 0.03, MIN_LOBE_SHARE), max(lockout - 0.03, MIN_LOBE_SHARE)
                squareness, overlap = max(squareness - 0.05, 0.05), min(overlap + 0.1, MAX_OVERLAP)
            else:
                break
        return acc, drop

    @staticmethod
    def _three_lobes(rep: RepPlan, tau: np.ndarray, unweight: float, lockout: float, squareness: float,
                     overlap: float):
        """Acceleration and drop for lobes spanning ``unweight`` of the descent and ``lockout`` of
        the ascent, the plateau's edges ``squareness`` of the way to the bottom, rising while
        the last ``overlap`` of the unweighting lobe is still on (and falling likewise)."""
        d, b, a, total = rep.descent_s, rep.bottom_s, rep.ascent_s, rep.duration_s
        bottom = d + b / 2
        first, last = unweight * d, lockout * a
        lobe_down = np.where(tau < first, np.sin(np.pi * tau / first) ** 2, 0.0)
        lobe_up = np.where(tau > total - last, np.sin(np.pi * (total - tau) / last) ** 2, 0.0)
        # the plateau rises as the unweighting lobe ends and falls as the lockout lobe begins, so
        # the net force crosses the weight there (KU Leuven: 40 % into the descent, 44 % of the
        # ascent before the end); a quick rep's plateau may start within the lobe (``overlap``)
        rise = overlap * first + squareness * (d - first)
        fall = overlap * last + squareness * (a - last)
        plateau = (smoothstep((tau - (1 - overlap) * first) / rise)
                   * (1.0 - smoothstep((tau - (total - (1 - overlap) * last - fall)) / fall)))
        if b > 0:
            edge = PAUSE_EDGE * b
            hold = smoothstep((tau - d) / edge) * (1.0 - smoothstep((tau - (d + b - edge)) / edge))
            plateau = plateau * (1.0 - min(0.95, b / FULL_HOLD_PAUSE_S) * hold)
        blend_s = 0.4 * min(d, a)
        after = smoothstep((tau - (bottom - blend_s)) / (2 * blend_s))
        basis = np.stack([-lobe_down, plateau * (1 - after), plateau * after, -lobe_up])
        velocity, position = _integrate(basis, tau)
        at = int(np.argmin(np.abs(tau - bottom)))
        system = np.array([velocity[:, at], position[:, at], velocity[:, -1], position[:, -1]])
        levels = np.linalg.solve(system, [0.0, -rep.depth_m, 0.0, 0.0])
        return levels @ basis, levels @ position

    def _linkage(self, lean: float, knee: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centre of mass (forward, up; m, from the ankle) and ankle dorsiflexion (rad) at knee
        flexions ``knee`` (rad), the trunk leaning ``lean`` rad per rad of knee flexion at the
        reference angle."""
        h = self.height_m
        ratio = np.clip(knee / REFERENCE_KNEE_RAD, 0.0, None)
        # polynomials in the flexion, smooth through standing (a power below 1 would make the
        # centre of mass's acceleration infinite there)
        ankle = self._ankle_ratio * knee * (1 + self._knees_first * (1 - ratio))  # shank forward of vertical
        thigh = knee - ankle  # thigh behind vertical
        trunk = lean * knee * (1 + self._lean_late * (ratio - 1))  # trunk forward of vertical
        shank_length, thigh_length, trunk_length = SHANK_LENGTH * h, THIGH_LENGTH * h, HIP_TO_SHOULDER * h
        knee_x, knee_z = shank_length * np.sin(ankle), ANKLE_HEIGHT * h + shank_length * np.cos(ankle)
        hip_x, hip_z = knee_x - thigh_length * np.sin(thigh), knee_z + thigh_length * np.cos(thigh)
        ankle_z = ANKLE_HEIGHT * h
        shank_x, shank_z = SHANK_COM_FROM_ANKLE * knee_x, ankle_z + SHANK_COM_FROM_ANKLE * (knee_z - ankle_z)
        thigh_x, thigh_z = hip_x + THIGH_COM_FROM_HIP * (knee_x - hip_x), hip_z + THIGH_COM_FROM_HIP * (knee_z - hip_z)
        hat_x = hip_x + HAT_COM_FROM_HIP * trunk_length * np.sin(trunk)
        hat_z = hip_z + HAT_COM_FROM_HIP * trunk_length * np.cos(trunk)
        bar_x, bar_z = hip_x + trunk_length * np.sin(trunk), hip_z + trunk_length * np.cos(trunk)
        body = SHANK_MASS + THIGH_MASS + HAT_MASS + FEET_MASS
        x = (SHANK_MASS * shank_x + THIGH_MASS * thigh_x + HAT_MASS * hat_x) / body
        z = (FEET_MASS * 0.02 * h + SHANK_MASS * shank_z + THIGH_MASS * thigh_z + HAT_MASS * hat_z) / body
        s = self._load_share
        return (1 - s) * x + s * bar_x, (1 - s) * z + s * bar_z, ankle

    def _knee_for_drop(self, lean: float, drop: np.ndarray) -> np.ndarray | None:
        """Knee flexion (rad) that lowers the centre of mass by ``-drop`` (m); None if this lean
        cannot reach the depth within the table. Inverted as a function of the square root of the
        lowering (near straight knees the lowering grows with the square of the flexion, so
        the flexion is smooth in its root) by a C2 spline, so that the joints' paths have no
        kinks."""
        table = self._standing_knee_rad + KNEE_TABLE_RAD
        _, z, _ = self._linkage(lean, table)
        lowered = z[0] - z
        falling = np.diff(lowered) <= 0
        reach = int(np.argmax(falling)) + 1 if falling.any() else len(lowered)
        if -drop.min() > lowered[reach - 1]:
            return None
        root = np.sqrt(np.maximum(lowered[:reach], 0.0))
        return CubicSpline(root, table[:reach])(np.sqrt(np.clip(-drop, 0.0, None)))

    def _cop_travel_mm(self, lean: float, drop: np.ndarray):
        """CoP travel along the foot (mm from standing), knee flexion and ankle dorsiflexion over
        the rep, for a trunk lean; None if the lean cannot reach the depth."""
        knee = self._knee_for_drop(lean, drop)
        if knee is None:
            return None
        x, _, ankle = self._linkage(lean, knee)
        x0, _, _ = self._linkage(lean, np.array([self._standing_knee_rad]))
        return 1000.0 * (x - x0[0]), knee, ankle

    def _joints(self, rep: RepPlan, bottom: int, drop: np.ndarray):
        """Knee flexion, CoP travel (mm) and ankle dorsiflexion over the rep, the trunk's lean
        solved so that the travel at the bottom is the plan's; what the lean cannot give (a very
        deep rep with an upright trunk, a partial rep with much travel) is made up in proportion
        to the flexion (arms, unmodelled segments)."""
        low, high = TRUNK_LEAN_RANGE
        while self._knee_for_drop(low, drop) is None and low < high:
            low += 0.05  # an upright trunk may not reach a deep squat within the knee's range
        def miss(lean):
            return self._cop_travel_mm(lean, drop)[0][bottom] - rep.cop_travel_mm
        if miss(low) * miss(high) < 0:
            lean = brentq(miss, low, high, xtol=1e-5)
        else:  # the nearest the trunk can do; the rest in step with the flexion below
            lean = low if abs(miss(low)) < abs(miss(high)) else high
        along, knee, ankle = self._cop_travel_mm(lean, drop)
        flexion = (knee - knee[0]) / max(knee[bottom] - knee[0], 1e-9)
        along = along - miss(lean) * flexion
        # balance keeps the centre of mass near the straight course from standing to the bottom:
        # what the joints add to it is at most MAX_DETOUR_MM either way
        detour = along - rep.cop_travel_mm * flexion
        detour *= min(1.0, MAX_DETOUR_MM / max(float(np.abs(detour).max()), 1e-9))
        return knee, rep.cop_travel_mm * flexion + detour, ankle

    @staticmethod
    def _lagged_shape(drive: np.ndarray, lag_s: float, rep: RepPlan, tau: np.ndarray) -> np.ndarray:
        """``drive`` through a first-order lag of ``lag_s``, let go over the last 15 % of the
        ascent, scaled to peak at 1."""
        pole = np.exp(-(tau[1] - tau[0]) / lag_s)
        lagged = lfilter([1 - pole], [1, -pole], drive)
        taper = 1.0 - smoothstep((tau - (rep.duration_s - 0.15 * rep.ascent_s)) / (0.15 * rep.ascent_s))
        shape = lagged * taper
        return shape / max(float(shape.max()), 1e-12)

    def _collapse_shape(self, rep: RepPlan, c: Collapse, tau: np.ndarray, flexion: np.ndarray) -> np.ndarray:
        """From the plan's onset the knee's flexion drives the collapse (its square root for one
        begun in the ascent), through the foot's lag."""
        onset, rise, _, _ = collapse_window(rep, c)
        drive = smoothstep((tau - onset) / rise) * np.clip(flexion, 0, None) ** (0.5 if c.phase == "ascent" else 1.0)
        return self._lagged_shape(drive, self._collapse_lag_s, rep, tau)

    def _tremor(self, rng: np.random.Generator) -> None:
        """Band-limited body tremor on a coarse grid: a sub-millimetre motion whose second
        derivative gives the force its 3-12 Hz fluctuation, larger while moving."""
        lo = min(0.0, float(self.rep_starts_s[0]) if len(self.reps) else 0.0) - 1.0
        t = lo + np.arange(int((self.duration_s + 1.0 - lo) * TREMOR_GRID_HZ) + 1) / TREMOR_GRID_HZ
        sos = butter(2, TREMOR_BAND_HZ, btype="band", fs=TREMOR_GRID_HZ, output="sos")
        wobble = sosfiltfilt(sos, rng.normal(size=len(t)))
        moving = np.clip(self._rep_curve(t, "flexion"), 0.0, 1.0) ** 0.5
        motion = wobble * (self._tremor_standing + (1 - self._tremor_standing) * moving)
        unit_acc = np.gradient(np.gradient(motion, t), t)
        scale = self._tremor_share * G / max(float(np.std(np.gradient(np.gradient(wobble, t), t))), 1e-12)
        self._tremor_t, self._tremor_drop, self._tremor_acc = t, scale * motion, scale * unit_acc

    def _rep_curve(self, t: np.ndarray, name: str) -> np.ndarray:
        """A per-rep curve at times ``t`` (0 outside every rep)."""
        k, tau = self._phase(t)
        out = np.zeros_like(t)
        for i, curves in enumerate(self._curves):
            inside = k == i
            if inside.any() and name in curves:
                out[inside] = np.interp(tau[inside], curves["tau"], curves[name])
        return out

    # --- what a model defines -------------------------------------------------------------
    def vertical(self, t):
        t = np.asarray(t, dtype=np.float64)
        drop = self._rep_curve(t, "drop") + np.interp(t, self._tremor_t, self._tremor_drop)
        acc = self._rep_curve(t, "acc") + np.interp(t, self._tremor_t, self._tremor_acc)
        return drop, self._total_mass_kg(t) * (G + acc) + self._flywheel_n(t)

    def along_foot_mm(self, t, drop_m):
        return self._rep_curve(np.asarray(t, dtype=np.float64), "along")

    def healthy_medial_mm(self, t, drop_m):
        return self._per_foot(t, "healthy")

    def medial_shift_mm(self, t):
        return self._per_foot(t, "collapse")

    def knees_out_mm(self, t):
        return self._per_foot(t, "knees out")

    def _per_foot(self, t, pattern: str) -> dict[str, np.ndarray]:
        t = np.asarray(t, dtype=np.float64)
        return {foot: self._rep_curve(t, f"{pattern} {foot}") for foot in SIDES}

    def left_share(self, t: np.ndarray) -> np.ndarray:
        """The left foot's share of the vertical force: the subject's standing, shifting with the
        knee's flexion toward the bottom."""
        return self.subject.left_share + self._share_shift * np.clip(self._rep_curve(t, "flexion"), 0.0, None)

    def sample(self, t):
        t = np.asarray(t, dtype=np.float64)
        forces, cops = super().sample(t)
        total = forces["left"] + forces["right"]
        share = self.left_share(t)
        return {"left": total * share, "right": total * (1.0 - share)}, cops


def _integrate(acc: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Velocity and position (rows as ``acc``'s) from rest at ``tau[0]``, trapezoid rule."""
    velocity = _cumulative_trapezoid(acc, tau)
    return velocity, _cumulative_trapezoid(velocity, tau)


def _cumulative_trapezoid(rows: np.ndarray, tau: np.ndarray) -> np.ndarray:
    steps = (rows[:, 1:] + rows[:, :-1]) / 2 * np.diff(tau)
    return np.concatenate([np.zeros((len(rows), 1)), np.cumsum(steps, axis=1)], axis=1)
