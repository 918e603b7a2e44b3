"""Validation against simulated ground truth: sessions drawn at random over what real lifters do.

Each session is drawn from its own seed (:func:`draw_session`): the person, where the feet
stand and how far each is turned out, which way the lifter faces in the lab, how the CoP
travels along the foot, tempo, pauses, rest between reps, how much standing comes first,
rate, noise, sway (its size, and how much longer along the foot than across), load changes,
and which reps collapse (in which phase, how badly) or go knees-out. It is played by one of
three squat models with different mechanics (:mod:`forceplate.sim.squat`,
:mod:`forceplate.sim.squat_lean`, :mod:`forceplate.sim.squat_linkage`) through a device set's
emulators (raw counts through the calibration records, as on the pseudo-terminal), then
analysed through the public calls only: ``analyze_feet`` offline and
``StreamingAnalyzer.push`` live. The foot axes are not stated (``toe_out_deg=None``: real
set-ups rarely state them); insoles analyse in their own frame (0), as ``offline`` does.

Scores are kept per (rep, side) with every factor of the session, rep and foot, so that
:func:`summarize` gives the figures for any subset and :func:`by_factor` a table per
factor, where a weak spot shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from forceplate.calibration.record import find_record
from forceplate.errors import ForceplateError, one_line
from forceplate.events import EventKind
from forceplate.insole_pair import InsolePair, PairedFeet
from forceplate.processing.analysis import SIDES, analyze_feet
from forceplate.processing.forces import plate_forces
from forceplate.processing.streaming import StreamingAnalyzer
from forceplate.processing.valgus import Thresholds
from forceplate.profiles import load_profile
from forceplate.sim.emulator import InsoleEmulator, PlateEmulator
from forceplate.sim.squat import (COLLAPSE_PHASES, G, Collapse, RepPlan, SquatModel, SquatPlan, Subject,
                                  rotation)
from forceplate.sim.squat_lean import LeanSquatModel
from forceplate.sim.squat_linkage import LinkageSquatModel

DEVICE_SETS = {
    "plates4": ("dual-plate-ads1256", "SIM-DP-0001"),
    "plates6": ("dual-six-axis", "SIM-6A-0001"),
    "insoles16": ("insole16", "SIM-IN16"),
    "insoles8": ("insole8", "SIM-IN8"),
    "plates4+insoles16": ("dual-plate-ads1256", "SIM-DP-0001"),
}
GENERATORS = {"min-jerk": SquatModel, "lean": LeanSquatModel, "linkage": LinkageSquatModel}
PLATE_RATES_HZ = (100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0)
INSOLE_RATES_HZ = (100.0, 200.0)
NOISE_DRAWN = (0.5, 4.0)  # the session's device noise factor, log-uniform
SWAY_ELONGATION_DRAWN = (1.5, 20.0)  # standing sway along the foot / across it, log-uniform (real: 10-50;
# down to nearly round, which other generators may draw and the axes must survive)
INSOLE_SENSOR_NOISE_N = (0.1, 2.5)  # what that factor spans on an insole's sensor (N)
# Collapse peaks (mm toward the arch, foot frame) per grade, apart from each other so that
# a grade is never a coin toss at a threshold.
SEVERITY_BANDS_MM = {"mild": (4.0, 6.0), "moderate": (9.0, 12.0), "severe": (14.0, 20.0)}
STRONG = ("moderate", "severe")
COP_TRAVEL_MM = (-130.0, 40.0)  # along the foot at the bottom (+ toward the toes), at the session's depth
INSOLE_HEEL_TRAVEL_LIMIT_MM = -65.0  # an insole's CoP cannot leave its sensors: heel sensors sit ~80 mm behind
HEALTHY_MEDIAL_MM = 5.0  # a person's normal medial drift at the bottom, either way (real: -7 to +6 mm)
BOTTOM_TOLERANCE_S = 0.15  # a found rep matches a true one if their bottoms are this close
LIVE_BLOCK_S = 0.02  # the live pipeline is fed in blocks like a reader thread's
LIVE_FLAG_GRACE_S = 0.5  # a live flag may come this long after the rep's true end


@dataclass
class SessionSpec:
    """One session, fully drawn: reproducible from ``seed`` alone via :func:`draw_session`."""

    seed: int = 0
    devices: str = "plates4"
    generator: str = "min-jerk"
    subject: Subject = field(default_factory=Subject)
    plan: SquatPlan = field(default_factory=SquatPlan)
    rate_hz: float | None = None  # None: the device profile's
    noise: float = 1.0  # multiplies the devices' default noise
    lab_rotation_deg: float = 0.0  # the plates (and the lifter on them) turned in the lab
    lab_origin_mm: tuple[float, float] = (0.0, 0.0)  # where the device frame's origin sits in the lab
    stated_toe_out_deg: float | None = None  # what the set-up tells the analysis; None: estimate
    family: str = "collapse"  # collapse | clean | knees-out

    @property
    def insoles_only(self) -> bool:
        return self.devices.startswith("insoles")

    @property
    def facing_deg(self) -> float:
        """The lifter's facing in the lab (deg, (-180, 180], 0 = +y), plates and lifter together."""
        return float((self.lab_rotation_deg + self.subject.facing_deg + 180.0) % 360.0 - 180.0)

    @classmethod
    def plain(cls, devices: str = "plates4", reps: int = 10, seed: int = 0, toe_out_deg: float = 0.0,
              valgus: dict | None = None) -> "SessionSpec":
        """What the first analysis was built for: lab-aligned plates, feet turned out equally and
        stated, 3 s of standing first, 1 s rests, 12 mm of heel travel (speed benchmarks, and
        the check that the scoring gives such a session full marks)."""
        return cls(seed=seed, devices=devices, subject=Subject(toe_out_deg=toe_out_deg),
                   plan=SquatPlan(reps=reps, valgus=valgus or {}), stated_toe_out_deg=toe_out_deg)


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def draw_session(seed: int, devices: str | None = None, generator: str | None = None,
                 reps: tuple[int, int] = (4, 10)) -> SessionSpec:
    """A session drawn at random over what real lifters and set-ups do (module docstring);
    ``devices`` and ``generator`` fix those two, ``reps`` bounds the set's length."""
    rng = np.random.default_rng([seed, 20261201])
    devices = devices or str(rng.choice(list(DEVICE_SETS)))
    generator = generator or str(rng.choice(list(GENERATORS)))
    insoles = devices.startswith("insoles")
    mass = _uniform(rng, 50, 120)
    load = 0.0 if rng.random() < 0.5 else _uniform(rng, 10, 80)
    subject = Subject(
        mass_kg=mass, load_kg=load, stance_width_mm=_uniform(rng, 340, 520), left_share=_uniform(rng, 0.44, 0.56),
        toe_out_left_deg=_uniform(rng, 0, 40), toe_out_right_deg=_uniform(rng, 0, 40),
        # on plates the feet must stay on them: the lifter turns a little on the plates, the
        # plates turn in the lab (below); an insole's frame follows the foot whatever the facing
        facing_deg=_uniform(rng, -180, 180) if insoles else _uniform(rng, -15, 15),
        foot_offset_mm={foot: tuple(rng.uniform(-40, 40, 2)) for foot in SIDES},
        sway_scale=float(np.exp(rng.uniform(np.log(0.5), np.log(3.0)))),
    )
    lab_rotation = 0.0 if insoles or rng.random() < 0.3 else _uniform(rng, -180, 180)
    family = str(rng.choice(["collapse", "clean", "knees-out"], p=[0.55, 0.2, 0.25]))
    n_reps = int(rng.integers(reps[0], reps[1] + 1))
    rep_s = _uniform(rng, 1.2, 6.0)  # descent + pause + ascent
    pause = 0.0 if rng.random() < 0.5 else _uniform(rng, 0.1, min(1.5, 0.3 * rep_s))
    descent_share = _uniform(rng, 0.35, 0.6)
    rest = _uniform(rng, 0.0, 0.5) if rng.random() < 0.8 else _uniform(rng, 0.5, 1.5)
    depth = _uniform(rng, 0.25, 0.55)
    lo_travel = max(COP_TRAVEL_MM[0], INSOLE_HEEL_TRAVEL_LIMIT_MM) if insoles else COP_TRAVEL_MM[0]
    travel = _uniform(rng, lo_travel, COP_TRAVEL_MM[1])
    habitual = {foot: _uniform(rng, -HEALTHY_MEDIAL_MM, HEALTHY_MEDIAL_MM) for foot in SIDES}
    rep_plans = []
    for _ in range(n_reps):
        jitter = _uniform(rng, 0.9, 1.1)
        rep_depth = depth * _uniform(rng, 0.92, 1.08)
        if rng.random() < 0.1:  # a partial rep
            rep_depth = depth * _uniform(rng, 0.35, 0.55)
        moving = (rep_s - pause) * jitter
        quickest = _quickest_half_s(rep_depth)
        rep = RepPlan(descent_s=max(moving * descent_share, quickest), bottom_s=pause * jitter,
                      ascent_s=max(moving * (1 - descent_share), quickest),
                      rest_s=rest * _uniform(rng, 0.7, 1.3), depth_m=rep_depth,
                      cop_travel_mm=travel * rep_depth / depth * _uniform(rng, 0.9, 1.1),
                      healthy_medial_mm={foot: habitual[foot] + float(rng.normal(0, 1.0)) for foot in SIDES})
        _draw_knee_pattern(rng, rep, family)
        rep_plans.append(rep)
    standing = 0.0 if rng.random() < 0.4 else _uniform(rng, 0.2, 3.0)
    tail = 0.0 if rng.random() < 0.4 else _uniform(rng, 0.2, 2.0)  # the recording may stop with the last rep
    if tail == 0.0:
        rep_plans[-1].rest_s = 0.0
    mid_movement = standing == 0.0 and rng.random() < 0.3
    plan = SquatPlan(
        reps=n_reps, baseline_s=standing, depth_m=depth, rep_plans=rep_plans,
        start_in_first_rep_s=_uniform(rng, 0.05, 0.4) * rep_plans[0].descent_s if mid_movement else 0.0,
        flywheel_n=_uniform(rng, 0.3, 1.0) * mass * G if rng.random() < 0.1 else 0.0,
        load_drift=_uniform(rng, -0.05, 0.10) if rng.random() < 0.25 else 0.0, tail_s=tail,
    )
    if plan.flywheel_n:
        _continuous_flywheel_set(plan)
    rate = float(rng.choice(INSOLE_RATES_HZ if insoles else PLATE_RATES_HZ))
    noise = float(np.exp(rng.uniform(*np.log(NOISE_DRAWN))))
    origin = tuple(rng.uniform(-400, 400, 2)) if lab_rotation else (0.0, 0.0)
    # drawn last, so that every earlier draw of a seed stays what it was before sway had a shape
    subject = replace(subject, sway_elongation=float(np.exp(rng.uniform(*np.log(SWAY_ELONGATION_DRAWN)))))
    return SessionSpec(seed=seed, devices=devices, generator=generator, subject=subject, plan=plan, rate_hz=rate,
                       noise=noise, lab_rotation_deg=lab_rotation, lab_origin_mm=origin, family=family)


def _continuous_flywheel_set(plan: SquatPlan) -> None:
    """A flywheel set is continuous: at the bottom a paused wheel stops and its pull is
    gone, and at the top the strap rewinds at once, so no pause and no rest between reps."""
    for rep in plan.rep_plans:
        rep.descent_s += rep.bottom_s / 2
        rep.ascent_s += rep.bottom_s / 2
        rep.bottom_s = 0.0
        rep.rest_s = 0.0


MAX_SQUAT_ACCELERATION = 0.5 * G  # m/s^2: a squat's force stays within 0.5-1.5 of the weight


def _quickest_half_s(depth_m: float) -> float:
    """The shortest descent (or ascent) of ``depth_m`` a lifter who keeps their feet loaded
    makes: a minimum-jerk path peaks at 5.77 d / T^2; faster would be a drop, the plates
    reading below half the weight (or nothing: airborne)."""
    return float(np.sqrt(5.77 * depth_m / MAX_SQUAT_ACCELERATION))


def _draw_knee_pattern(rng: np.random.Generator, rep: RepPlan, family: str) -> None:
    """Collapse on one foot or both (collapse sessions), knees out (knees-out sessions, and
    some clean reps of collapse sessions)."""
    if family == "collapse" and rng.random() < 0.45:
        feet = list(SIDES) if rng.random() < 0.2 else [str(rng.choice(SIDES))]
        for foot in feet:
            severity = str(rng.choice(list(SEVERITY_BANDS_MM)))
            phase = str(rng.choice(COLLAPSE_PHASES))
            onset = _uniform(rng, 0.2, 0.7) if phase == "descent" else _uniform(rng, 0.0, 1.0)
            rep.collapse[foot] = Collapse(severity, _uniform(rng, *SEVERITY_BANDS_MM[severity]), phase, onset)
    elif (family == "knees-out" and rng.random() < 0.8) or (family == "collapse" and rng.random() < 0.2):
        for foot in SIDES:
            rep.knees_out_mm[foot] = _uniform(rng, 3.0, 15.0)


class Recording(NamedTuple):
    """What a session's devices give the analysis, and the model that made it."""

    t: np.ndarray  # s
    fz: dict  # foot -> N
    cop: dict  # foot -> (n, 2) mm, lab frame
    regions: dict | None  # insoles: foot -> region -> N
    rate_hz: float
    toe_out_deg: float | None  # what the analysis is told: None = estimate
    model: object


def feet_in_lab(spec: SessionSpec, model) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each foot's neutral CoP (mm), medial unit vector and heel-to-toe axis in the lab frame
    of :func:`simulate`'s CoP (plates turned by ``lab_rotation_deg``); insoles: the model's."""
    if spec.insoles_only:
        return {foot: (model.foot_center_mm[foot], model.medial_unit[foot], model.foot_axis[foot]) for foot in SIDES}
    turn, origin = rotation(spec.lab_rotation_deg), np.asarray(spec.lab_origin_mm)
    return {foot: (turn @ model.foot_center_mm[foot] + origin, turn @ model.medial_unit[foot],
                   turn @ model.foot_axis[foot]) for foot in SIDES}


def simulate(spec: SessionSpec) -> Recording:
    """The session through its devices' emulators and calibration records, in the lab frame."""
    model = GENERATORS[spec.generator](spec.subject, spec.plan, seed=spec.seed)
    profile_id, serial = DEVICE_SETS[spec.devices]
    profile = load_profile(profile_id)
    rate = spec.rate_hz or profile.rate_hz
    t = np.arange(int(model.duration_s * rate)) / rate
    if spec.insoles_only:
        feet = _insole_feet(model, spec, serial, profile, t, t)
        return Recording(t, feet.fz, feet.cop, feet.regions, rate, 0.0, model)  # the insole frame is the foot's
    record = find_record(serial)
    emulator = PlateEmulator(profile, record, model, noise_n=0.3 * spec.noise, seed=spec.seed)
    fz, cop = plate_forces(record.to_physical(emulator.counts(t)), profile)
    turn, origin = rotation(spec.lab_rotation_deg), np.asarray(spec.lab_origin_mm)
    cop = {foot: c @ turn.T + origin for foot, c in cop.items()}  # NaN (unloaded) stays NaN
    regions = _insole_regions(model, spec, t) if spec.devices.endswith("insoles16") else None
    return Recording(t, fz, cop, regions, rate, spec.stated_toe_out_deg, model)


def _insole_regions(model, spec: SessionSpec, t_plates: np.ndarray) -> dict:
    """Insole region forces (N) resampled onto the plates' clock (plates + insoles sessions)."""
    profile = load_profile("insole16")
    t = np.arange(int(t_plates[-1] * profile.rate_hz) + 1) / profile.rate_hz
    return _insole_feet(model, spec, "SIM-IN16", profile, t, t_plates).regions


def insole_sensor_noise_n(noise: float) -> float:
    """An insole sensor's noise (N) for the session's noise factor: log-linearly from 0.1 N at
    the quietest draw to 2.5 N at the noisiest, where the summed force of a 16-sensor insole
    wanders by about 1 % of the body weight (issue 12: another generator's insole sets at
    2.5 N per sensor lost five reps of seven)."""
    (lo, hi), (n_lo, n_hi) = NOISE_DRAWN, INSOLE_SENSOR_NOISE_N
    return n_lo * (n_hi / n_lo) ** (np.log(noise / lo) / np.log(hi / lo))


def _insole_feet(model, spec: SessionSpec, serial: str, profile, t: np.ndarray, t_out: np.ndarray) -> PairedFeet:
    """The session's two insoles emulated at times ``t`` (s), paired at ``t_out`` (s) as
    ``offline`` pairs a trial's, their one clock the identity."""
    recordings = {}
    for foot in SIDES:
        record = find_record(f"{serial}-{foot[0].upper()}")
        emulator = InsoleEmulator(profile, record, model, foot, noise_n=insole_sensor_noise_n(spec.noise), seed=spec.seed)
        recordings[foot] = (t, record.to_physical(emulator.counts(t)))
    return InsolePair(dict.fromkeys(SIDES, profile.insole), profile.rate_hz).on_grid(t_out, recordings)


@dataclass(frozen=True)
class SideRecord:
    """One foot in one true rep: its factors, what the analysis said, and the rep's figures."""

    rep_key: tuple  # (session seed, rep index): rep-level figures count once per rep
    factors: dict  # factor name -> bin label (None: the factor does not apply)
    matched: bool  # a found rep's bottom within BOTTOM_TOLERANCE_S of this rep's
    extra_found: int  # found reps matching no true rep, attributed to this one (the nearest)
    depth_error_pct: float | None  # matched reps: |found - true| / true depth
    labelled_sides: frozenset  # feet with a collapse label in this rep
    flagged_sides: frozenset  # feet flagged (any grade) in the matched found rep
    severity: str | None  # this foot's collapse grade
    knees_out: bool  # this foot's knee went out (and did not collapse)
    flag: str | None  # offline grade on this foot in the matched rep; None when the rep was missed
    extra_strong_flags: int  # moderate/severe flags on this foot in the attributed extra reps
    latency_s: float | None  # moderate/severe: first live flag minus the true crossing (inf: none came)
    live_matched: bool | None = None  # a live rep_end's bottom within BOTTOM_TOLERANCE_S (None: live not run)
    live_extra_found: int = 0  # live reps matching no true rep, attributed to this one (the nearest)
    live_flag: str | None = None  # the live rep_end's grade on this foot; None when live missed the rep


@dataclass
class SessionResult:
    """One randomised session of the battery: its spec, per-rep records, and why the offline or live
    analysis refused or crashed (None: it ran)."""

    spec: SessionSpec
    records: list
    problem: str | None = None  # the offline analysis refused or crashed
    live_problem: str | None = None
    axis_source: str | None = None


def match_reps(true_bottoms: list[float], found_bottoms: list[float],
               tolerance_s: float = BOTTOM_TOLERANCE_S) -> tuple[dict[int, int], dict[int, list[int]]]:
    """One-to-one matches true -> found (closest bottoms first, within ``tolerance_s``), and
    each unmatched found rep attributed to the nearest true rep."""
    pairs = sorted((abs(tb - fb), i, j) for i, tb in enumerate(true_bottoms) for j, fb in enumerate(found_bottoms)
                   if abs(tb - fb) <= tolerance_s)
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in pairs:
        if i not in matched and j not in used:
            matched[i] = j
            used.add(j)
    extras: dict[int, list[int]] = {}
    for j, fb in enumerate(found_bottoms):
        if j not in used and true_bottoms:
            nearest = int(np.argmin([abs(tb - fb) for tb in true_bottoms]))
            extras.setdefault(nearest, []).append(j)
    return matched, extras


def run_session(spec: SessionSpec, thresholds: Thresholds | None = None, live: bool = True) -> SessionResult:
    """Simulate ``spec``, analyse it offline (and live), and score every (rep, side)."""
    thresholds = thresholds or Thresholds()
    rec = simulate(spec)
    truth = rec.model.truth()
    result = SessionResult(spec, [])
    found = []
    try:
        analysis = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, rec.toe_out_deg, thresholds, rec.regions)
        found = analysis.reps
        result.axis_source = analysis.baseline.axis_source
    except ForceplateError as exc:  # refused (e.g. no standing to take a baseline from): no reps found
        result.problem = f"refused: {one_line(exc)}"
    except Exception as exc:  # noqa: BLE001 - a crash on a plausible session is a finding, not a stop
        result.problem = f"crashed: {type(exc).__name__}: {one_line(exc)}"
    matched, extras = match_reps([r.bottom_s for r in truth], [f.rep.bottom_s for f in found])
    latencies, live_reps = {}, None
    if live:
        (flags, live_reps), result.live_problem = _live_events(rec, thresholds)
        latencies = _latencies(flags, rec, truth, thresholds)
    live_matched, live_extras = match_reps([r.bottom_s for r in truth], [bottom for bottom, _ in live_reps or []])
    session_factors = _session_factors(spec)
    for i, (true_rep, plan) in enumerate(zip(truth, rec.model.reps, strict=True)):
        hit = found[matched[i]] if i in matched else None
        extra = [found[j] for j in extras.get(i, [])]
        flagged = frozenset(f for f in SIDES if hit and hit.sides[f].flag != "none")
        labelled = frozenset(f for f in SIDES if true_rep.sides[f].severity)
        previous_rest = rec.model.reps[i - 1].rest_s if i else None
        for foot in SIDES:
            side = true_rep.sides[foot]
            result.records.append(SideRecord(
                rep_key=(spec.seed, true_rep.index),
                factors={**session_factors, **_rep_factors(spec, true_rep, plan, foot, previous_rest)},
                matched=hit is not None,
                extra_found=len(extra) if foot == SIDES[0] else 0,  # counted once per rep
                depth_error_pct=(100 * abs(hit.rep.depth_m - true_rep.depth_m) / true_rep.depth_m) if hit else None,
                labelled_sides=labelled,
                flagged_sides=flagged,
                severity=side.severity,
                knees_out=side.knees_out_mm > 0 and side.severity is None,
                flag=hit.sides[foot].flag if hit else None,
                extra_strong_flags=sum(e.sides[foot].flag in STRONG for e in extra),
                latency_s=latencies.get((true_rep.index, foot)),
                live_matched=None if live_reps is None else i in live_matched,
                live_extra_found=len(live_extras.get(i, [])) if foot == SIDES[0] else 0,
                live_flag=live_reps[live_matched[i]][1][foot] if live_reps is not None and i in live_matched else None,
            ))
    return result


def _live_events(rec: Recording, thresholds: Thresholds) -> tuple[tuple[list, list], str | None]:
    """The live flags and reps of :func:`_push_all`, and why live crashed (None: it ran)."""
    try:
        return _push_all(rec, rec.toe_out_deg, thresholds), None
    except Exception as exc:  # noqa: BLE001 - a crash on a plausible session is a finding, not a stop
        return ([], []), f"live crashed: {type(exc).__name__}: {one_line(exc)}"


def _push_all(rec: Recording, toe_out_deg, thresholds: Thresholds) -> tuple[list, list]:
    """Every live flag as (side, flag time, time the block carrying it was handed over), and
    every live rep as (bottom time, foot -> grade), the reps still open at the end included
    (``finish``, as a recording that stops reports them)."""
    analyzer = StreamingAnalyzer(rec.rate_hz, toe_out_deg, thresholds)
    block = max(1, int(round(LIVE_BLOCK_S * rec.rate_hz)))
    flags, reps = [], []
    for lo in range(0, len(rec.t), block):
        sl = slice(lo, lo + block)
        _, events = analyzer.push(rec.t[sl], {f: rec.fz[f][sl] for f in SIDES}, {f: rec.cop[f][sl] for f in SIDES})
        handed_over = float(rec.t[min(lo + block, len(rec.t)) - 1])  # when the block's last sample arrived
        flags += [(e.side, e.t_s, handed_over) for e in events if e.kind == EventKind.FLAG]
        reps += [e for e in events if e.kind == EventKind.REP_END]
    reps += [e for e in analyzer.finish() if e.kind == EventKind.REP_END]
    return flags, [(e.data["bottom_s"], {foot: e.data[foot]["flag"] for foot in SIDES}) for e in reps]


def _latencies(flags: list, rec: Recording, truth: list, thresholds: Thresholds) -> dict:
    """(rep, foot) -> first live flag on that foot after the collapse began, minus the moment
    the true collapse shift (foot frame, beyond the person's normal drift) crossed the mild
    threshold; inf if no flag came."""
    shift = rec.model.medial_shift_mm(rec.t)
    out = {}
    for r in truth:
        in_rep = (rec.t >= r.start_s) & (rec.t <= r.end_s)
        for foot in SIDES:
            if r.sides[foot].severity not in STRONG:
                continue
            crossed = rec.t[in_rep & (shift[foot] >= thresholds.mild_mm)]
            if not len(crossed):
                continue
            # a flag raised before the collapse began answered something else (a drift read as medial)
            onset = r.sides[foot].onset_s
            raised = [at for side, t_s, at in flags if side == foot and onset <= t_s <= r.end_s + LIVE_FLAG_GRACE_S]
            out[(r.index, foot)] = (min(raised) - crossed[0]) if raised else float("inf")
    return out


# --- factors -------------------------------------------------------------------------------
def _bin(value: float, edges: tuple, labels: tuple) -> str:
    return labels[int(np.searchsorted(edges, value, side="right"))]


def _session_factors(spec: SessionSpec) -> dict:
    plan = spec.plan
    if plan.start_in_first_rep_s > 0:
        standing = "mid-movement"
    else:
        standing = _bin(plan.baseline_s, (1e-9, 1.0), ("none", "0.2-1 s", "1-3 s"))
    after = _bin(plan.tail_s, (1e-9, 1.0), ("none", "0.2-1 s", "1-2 s"))
    load = "flywheel" if plan.flywheel_n else "drifting" if plan.load_drift else "steady"
    facing = None if spec.insoles_only else _bin(abs(spec.facing_deg), (1.0, 45.0, 90.0, 135.0),
                                                 ("0", "1-45", "45-90", "90-135", "135-180"))
    return {
        "generator": spec.generator,
        "device set": spec.devices,
        "rate (Hz)": f"{spec.rate_hz:g}" if spec.rate_hz else "profile's",
        "standing first": standing,
        "standing after": after,
        "facing |deg|": facing,
        "noise (x default)": _bin(spec.noise, (1.0, 2.0), ("0.5-1", "1-2", "2-4")),
        "sway long/wide": None if spec.insoles_only else _bin(spec.subject.sway_elongation, (3.0, 8.0),
                                                                ("1.5-3", "3-8", "8-20")),
        "load": load,
        "session family": spec.family,
    }


def _rep_factors(spec: SessionSpec, truth, plan: RepPlan, foot: str, previous_rest: float | None) -> dict:
    side = truth.sides[foot]
    knee = (f"collapse {side.phase}" if side.severity else "knees out" if side.knees_out_mm > 0 else "neutral")
    return {
        "tempo (rep s)": _bin(plan.duration_s, (2.0, 3.0, 4.5), ("1.2-2", "2-3", "3-4.5", "4.5-6.6")),
        "pause at bottom": _bin(plan.bottom_s, (0.05, 0.5), ("none", "0.1-0.5 s", "0.5-1.5 s")),
        "rest before rep": ("first rep" if previous_rest is None
                            else _bin(previous_rest, (0.1, 0.3, 0.5), ("0-0.1 s", "0.1-0.3 s", "0.3-0.5 s", ">0.5 s"))),
        "CoP travel (mm)": _bin(plan.cop_travel_mm, (-90.0, -50.0, -10.0),
                                ("-130..-90", "-90..-50", "-50..-10", "-10..+40")),
        "toe-out (deg)": None if spec.insoles_only else _bin(side.toe_out_deg, (10.0, 20.0, 30.0),
                                                              ("0-10", "10-20", "20-30", "30-40")),
        "healthy drift (mm)": _bin(plan.healthy_medial_mm.get(foot, 0.0), (-2.0, 2.0), ("<-2", "-2..2", ">2")),
        "knee (foot)": knee,
        "collapse grade": side.severity or "none",
        "partial rep": "partial" if truth.partial else "full",
    }


FACTORS = ("generator", "device set", "rate (Hz)", "tempo (rep s)", "pause at bottom", "rest before rep",
           "standing first", "standing after", "toe-out (deg)", "facing |deg|", "CoP travel (mm)", "healthy drift (mm)",
           "knee (foot)", "collapse grade", "partial rep", "noise (x default)", "sway long/wide", "load", "session family")


# Issue 12's goals on recordings from other labs and generators: what the battery checks.
TARGETS = (
    ("rep F1 (bottom within 0.15 s)", "rep_f1", ">=", 0.98),
    ("moderate/severe flag precision", "precision", ">=", 0.95),
    ("moderate/severe flag recall", "recall", ">=", 0.95),
    ("side correct", "side_correct", ">=", 0.95),
    ("moderate/severe flags on knees-out sides", "knees_out_strong", "<=", 0),
    ("live flag latency p95 (s)", "live_p95_s", "<=", 0.150),
)


def meets(scores: "Scores", key: str, op: str, target: float) -> bool:
    value = getattr(scores, key)
    return bool(value >= target if op == ">=" else value <= target)  # nan never meets a target


# --- figures -------------------------------------------------------------------------------
@dataclass
class Scores:
    """The battery's scores over sessions: rep F1, flag precision and recall (moderate/severe), side
    correctness, false flags on clean sides."""

    reps: int
    rep_f1: float  # bottom within BOTTOM_TOLERANCE_S
    precision: float  # moderate/severe flags per (rep, side)
    recall: float
    side_correct: float  # labelled reps flagged on some side: flagged feet == labelled feet
    precision_found: float  # the same on the reps that were found: the flag alone, not the segmentation
    recall_found: float
    clean_sides: int  # no collapse, no knees out
    clean_strong_per_50: float  # moderate/severe flags per 50 clean sides
    clean_any_per_50: float  # flags of any grade per 50 clean sides
    knees_out_sides: int
    knees_out_strong: int  # moderate/severe flags on knees-out sides (goal: none)
    knees_out_any: int
    depth_error_p50_pct: float
    depth_error_p95_pct: float
    live_p50_s: float  # a missing live flag counts as never (inf)
    live_p95_s: float
    live_missed: float  # share of moderate/severe sides with no live flag
    live_raised_p50_s: float  # the flags that came
    live_raised_p95_s: float
    live_rep_f1: float  # live's reps (rep_end, the open ones at the stream's end included), bottom within tolerance
    live_offline_agree: float  # (rep, side) both paths found: the same moderate/severe verdict

    def as_dict(self) -> dict:
        """JSON-ready: an undefined figure (nothing to count) is null, a latency that never came "inf"."""
        return {k: _json_figure(v) for k, v in self.__dict__.items()}


def _json_figure(value):
    if isinstance(value, float) and np.isnan(value):
        return None
    return "inf" if isinstance(value, float) and np.isinf(value) else value


def summarize(records: list[SideRecord]) -> Scores:
    reps = {r.rep_key: r for r in records}.values()  # one record per rep for rep-level figures
    true_reps = len(reps)
    matched = sum(r.matched for r in reps)
    found = matched + sum(r.extra_found for r in records)
    positives = [r for r in records if r.severity in STRONG]
    tp = sum(r.flag in STRONG for r in positives)
    flagged_strong = sum(r.flag in STRONG for r in records) + sum(r.extra_strong_flags for r in records)
    side_checked = [r for r in reps if r.labelled_sides and r.flagged_sides]
    clean = [r for r in records if r.severity is None and not r.knees_out and r.flag is not None]
    out = [r for r in records if r.knees_out and r.flag is not None]
    # a rep found with no measurable depth (under an external pull) has no depth error
    depth = [r.depth_error_pct for r in reps if r.depth_error_pct is not None and np.isfinite(r.depth_error_pct)]
    latency = np.array([r.latency_s for r in positives if r.latency_s is not None])
    live_ran = [r for r in reps if r.live_matched is not None]
    live_found = sum(r.live_matched for r in live_ran) + sum(r.live_extra_found for r in records)
    both = [r for r in records if r.flag is not None and r.live_flag is not None]
    return Scores(
        reps=true_reps,
        rep_f1=_ratio(2 * matched, true_reps + found),
        precision=_ratio(tp, flagged_strong),
        recall=_ratio(tp, len(positives)),
        side_correct=_ratio(sum(r.flagged_sides == r.labelled_sides for r in side_checked), len(side_checked)),
        precision_found=_ratio(tp, sum(r.flag in STRONG for r in records)),
        recall_found=_ratio(tp, sum(r.flag is not None for r in positives)),
        clean_sides=len(clean),
        clean_strong_per_50=50 * _ratio(sum(r.flag in STRONG for r in clean), len(clean)),
        clean_any_per_50=50 * _ratio(sum(r.flag != "none" for r in clean), len(clean)),
        knees_out_sides=len(out),
        knees_out_strong=sum(r.flag in STRONG for r in out),
        knees_out_any=sum(r.flag != "none" for r in out),
        depth_error_p50_pct=_percentile(depth, 50),
        depth_error_p95_pct=_percentile(depth, 95),
        live_p50_s=_percentile(latency, 50),
        live_p95_s=_percentile(latency, 95),
        live_missed=_ratio(int(np.isinf(latency).sum()), len(latency)),
        live_raised_p50_s=_percentile(latency[np.isfinite(latency)], 50),
        live_raised_p95_s=_percentile(latency[np.isfinite(latency)], 95),
        live_rep_f1=_ratio(2 * sum(r.live_matched for r in live_ran), len(live_ran) + live_found),
        live_offline_agree=_ratio(sum((r.flag in STRONG) == (r.live_flag in STRONG) for r in both), len(both)),
    )


def by_factor(records: list[SideRecord], factor: str) -> list[tuple[str, Scores]]:
    """Scores per bin of ``factor``, in the bins' order of first appearance sorted by label."""
    bins: dict[str, list] = {}
    for r in records:
        label = r.factors.get(factor)
        if label is not None:
            bins.setdefault(label, []).append(r)
    return [(label, summarize(bins[label])) for label in sorted(bins)]


def _percentile(values, q: float) -> float:
    values = np.asarray(values, dtype=float)
    if not len(values):
        return float("nan")
    # numpy's interpolation between inf and a finite value gives nan: take the order statistic
    return float(np.sort(values)[min(int(np.ceil(q / 100 * len(values))) - 1, len(values) - 1)] if q else values.min())


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# --- batteries -----------------------------------------------------------------------------
def battery(sessions: int = 200, first_seed: int = 1) -> list[SessionSpec]:
    """``sessions`` sessions, each from its own seed; device sets and generators take turns
    so that each has its share, everything else is drawn."""
    specs = []
    for k in range(sessions):
        devices = list(DEVICE_SETS)[k % len(DEVICE_SETS)]
        generator = list(GENERATORS)[(k // len(DEVICE_SETS)) % len(GENERATORS)]
        specs.append(draw_session(first_seed + k, devices, generator))
    return specs


def quick_battery() -> list[SessionSpec]:
    """A short battery for the tests: every device set with both generators, short sets."""
    return [draw_session(9000 + k, list(DEVICE_SETS)[k % len(DEVICE_SETS)],
                         list(GENERATORS)[(k // len(DEVICE_SETS)) % len(GENERATORS)], reps=(4, 6))
            for k in range(2 * len(DEVICE_SETS) * len(GENERATORS))]
