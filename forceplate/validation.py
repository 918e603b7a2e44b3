"""Validation against the simulator's ground truth: a battery of simulated sessions.

Each session simulates a person (mass, load, tempo, toe-out, noise) on a device set
(4-cell plates, six-axis plates, 16- or 8-sensor insoles, or plates with insoles), turns
the model into raw counts through the device's calibration exactly as the emulators on
the pseudo-terminal do, and runs both the offline analysis and the live pipeline on them.
Scores compare what was found with the per-rep labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forceplate.calibration.record import find_record
from forceplate.processing.analysis import SIDES, analyze_feet
from forceplate.processing.forces import insole_foot, insole_forces, plate_forces
from forceplate.processing.streaming import StreamingAnalyzer
from forceplate.processing.valgus import Thresholds
from forceplate.profiles import load_profile
from forceplate.sim.emulator import InsoleEmulator, PlateEmulator
from forceplate.sim.squat import SEVERITY_SHIFT_MM, SquatModel, SquatPlan, Subject

DEVICE_SETS = {
    "plates4": ("dual-plate-ads1256", "SIM-DP-0001"),
    "plates6": ("dual-six-axis", "SIM-6A-0001"),
    "insoles16": ("insole16", "SIM-IN16"),
    "insoles8": ("insole8", "SIM-IN8"),
    "plates4+insoles16": ("dual-plate-ads1256", "SIM-DP-0001"),
}
TEMPOS = {  # descent, bottom, ascent, rest (s)
    "normal": (1.5, 0.3, 1.2, 1.0),
    "slow": (3.0, 0.5, 2.5, 1.0),
    "fast": (0.8, 0.1, 0.7, 0.8),
    "paused": (1.5, 1.5, 1.2, 1.0),
}
MATCH_TOLERANCE_S = 0.5  # a found rep matches a true one if their bottoms are this close
LIVE_BLOCK_S = 0.02  # the live pipeline is fed in blocks like a reader thread's


@dataclass
class SessionSpec:
    devices: str = "plates4"
    seed: int = 0
    mass_kg: float = 75.0
    load_kg: float = 0.0
    tempo: str = "normal"
    toe_out_deg: float = 0.0
    noise: float = 1.0  # multiplies the devices' default noise
    reps: int = 10
    valgus_rate: float = 0.4  # share of reps with a valgus label (0: a clean session)
    estimate_axis: bool = False  # plates: estimate the foot axes instead of taking the set-up toe-out

    def labels(self) -> dict[int, tuple[str, str]]:
        rng = np.random.default_rng(self.seed + 99)
        labels = {}
        for rep in range(1, self.reps + 1):
            if rng.random() < self.valgus_rate:
                labels[rep] = (str(rng.choice(SIDES)), str(rng.choice(list(SEVERITY_SHIFT_MM))))
        return labels


@dataclass
class SessionScore:
    spec: SessionSpec
    true_reps: int
    found_reps: int
    matched_reps: int
    # (rep, side) pairs: truth moderate/severe vs flagged moderate/severe, offline
    positives: int = 0
    true_positives: int = 0
    flagged_strong: int = 0
    side_checked: int = 0  # labelled reps flagged on some side
    side_correct: int = 0
    false_flags: int = 0  # flags of any grade on sides with no label
    clean_sides: int = 0
    latencies_s: list = field(default_factory=list)  # live: first flag after the shift crossed the mild threshold
    latencies_from_onset_s: list = field(default_factory=list)  # live: first flag after the pattern began
    axis_errors_deg: list = field(default_factory=list)  # estimated minus true toe-out, per foot


def simulate(spec: SessionSpec):
    """Time (s), per-foot force (N) and CoP (mm, lab frame), insole regions, rate, truth."""
    descent, bottom, ascent, rest = TEMPOS[spec.tempo]
    plan = SquatPlan(reps=spec.reps, descent_s=descent, bottom_s=bottom, ascent_s=ascent, rest_s=rest,
                     valgus=spec.labels())
    model = SquatModel(Subject(mass_kg=spec.mass_kg, load_kg=spec.load_kg, toe_out_deg=spec.toe_out_deg), plan,
                       seed=spec.seed)
    duration = plan.baseline_s + plan.reps * plan.rep_period_s + 1.0
    profile_id, serial = DEVICE_SETS[spec.devices]
    regions = None
    if spec.devices.startswith("insoles"):
        profile = load_profile(profile_id)
        t = np.arange(int(duration * profile.rate_hz)) / profile.rate_hz
        fz, cop, regions = {}, {}, {}
        for foot in SIDES:
            record = find_record(f"{serial}-{foot[0].upper()}")
            emulator = InsoleEmulator(profile, record, model, foot, noise_n=0.2 * spec.noise, seed=spec.seed)
            fz[foot], cop[foot], regions[foot] = insole_foot(record.to_physical(emulator.counts(t)), foot,
                                                             profile.insole)
        return t, fz, cop, regions, profile.rate_hz, 0.0, model
    profile = load_profile(profile_id)
    record = find_record(serial)
    t = np.arange(int(duration * profile.rate_hz)) / profile.rate_hz
    emulator = PlateEmulator(profile, record, model, noise_n=0.3 * spec.noise, seed=spec.seed)
    fz, cop = plate_forces(record.to_physical(emulator.counts(t)), profile)
    if spec.devices.endswith("insoles16"):
        regions = _insole_regions(model, spec, t)
    return t, fz, cop, regions, profile.rate_hz, spec.toe_out_deg, model


def _insole_regions(model, spec, t_plates):
    """Insole region forces resampled onto the plates' clock (plates + insoles sessions)."""
    profile = load_profile("insole16")
    t = np.arange(int(t_plates[-1] * profile.rate_hz) + 1) / profile.rate_hz
    regions = {}
    for foot in SIDES:
        record = find_record(f"SIM-IN16-{foot[0].upper()}")
        emulator = InsoleEmulator(profile, record, model, foot, noise_n=0.2 * spec.noise, seed=spec.seed)
        _, _, foot_regions = insole_forces(record.to_physical(emulator.counts(t)), profile.insole)
        regions[foot] = {name: np.interp(t_plates, t, force) for name, force in foot_regions.items()}
    return regions


def run_session(spec: SessionSpec, thresholds: Thresholds | None = None, live: bool = True) -> SessionScore:
    thresholds = thresholds or Thresholds()
    t, fz, cop, regions, rate, toe_out, model = simulate(spec)
    truth = model.truth()
    estimate = spec.estimate_axis and not spec.devices.startswith("insoles")
    analysis = analyze_feet(t, fz, cop, rate, None if estimate else toe_out, thresholds, regions)
    score = SessionScore(spec, len(truth), len(analysis.reps), 0)
    if estimate and analysis.baseline.axis_source.startswith("estimated"):
        score.axis_errors_deg = [analysis.baseline.toe_out_deg[f] - spec.toe_out_deg for f in SIDES]
    for found in analysis.reps:
        expected = min(truth, key=lambda r: abs(r.bottom_s - found.rep.bottom_s))
        if abs(expected.bottom_s - found.rep.bottom_s) > MATCH_TOLERANCE_S:
            continue
        score.matched_reps += 1
        flagged = {side for side in SIDES if found.sides[side].flag != "none"}
        for side in SIDES:
            labelled = expected.valgus_side == side
            strong_truth = labelled and expected.severity in ("moderate", "severe")
            strong_found = found.sides[side].flag in ("moderate", "severe")
            score.positives += strong_truth
            score.flagged_strong += strong_found
            score.true_positives += strong_truth and strong_found
            if not labelled:
                score.clean_sides += 1
                score.false_flags += side in flagged
        if expected.valgus_side and flagged:
            score.side_checked += 1
            score.side_correct += flagged == {expected.valgus_side}
    if live:
        _live_latencies(score, t, fz, cop, rate, toe_out, thresholds, model, truth)
    return score


def _live_latencies(score, t, fz, cop, rate, toe_out, thresholds, model, truth) -> None:
    analyzer = StreamingAnalyzer(rate, toe_out, thresholds)
    block = max(1, int(round(LIVE_BLOCK_S * rate)))
    flags = []
    for lo in range(0, len(t), block):
        sl = slice(lo, lo + block)
        _, events = analyzer.push(t[sl], {f: fz[f][sl] for f in SIDES}, {f: cop[f][sl] for f in SIDES})
        # a block is handed over when its last sample has arrived
        flags += [(e, float(t[min(lo + block, len(t)) - 1])) for e in events if e.kind == "flag"]
    true_shift = model.medial_shift_mm(t)
    for expected in truth:
        if expected.severity not in ("moderate", "severe"):
            continue
        side = expected.valgus_side
        in_rep = (t >= expected.start_s) & (t <= expected.end_s)
        crossed = t[in_rep & (true_shift[side] >= thresholds.mild_mm)]
        raised = [at for e, at in flags if e.side == side and expected.start_s <= e.t_s <= expected.end_s + 0.5]
        if len(crossed) and raised:
            score.latencies_s.append(min(raised) - crossed[0])
            score.latencies_from_onset_s.append(min(raised) - expected.onset_s)


def battery(seeds: int = 2, reps: int = 10) -> list[SessionSpec]:
    """Sessions across device sets, people, loads, tempos, toe-out and noise, plus clean ones."""
    specs = []
    masses = (50.0, 65.0, 80.0, 95.0, 120.0)
    loads = (0.0, 20.0, 60.0)
    toe_outs = (0.0, 10.0, 20.0, 30.0)
    k = 0
    for devices in DEVICE_SETS:
        for tempo in TEMPOS:
            for seed in range(seeds):
                for valgus_rate in (0.4, 0.0):
                    specs.append(SessionSpec(devices=devices, seed=1000 + k, mass_kg=masses[k % len(masses)],
                                             load_kg=loads[k % len(loads)], tempo=tempo,
                                             toe_out_deg=toe_outs[k % len(toe_outs)],
                                             noise=(1.0, 3.0)[k % 2], reps=reps, valgus_rate=valgus_rate))
                    k += 1
    for devices in ("plates4", "plates6"):  # the set-up angle unknown: foot axes from the reps
        for tempo in TEMPOS:
            for seed in range(seeds):
                specs.append(SessionSpec(devices=devices, seed=5000 + k, mass_kg=masses[k % len(masses)],
                                         tempo=tempo, toe_out_deg=toe_outs[k % len(toe_outs)] + 5.0,
                                         noise=(1.0, 3.0)[k % 2], reps=reps, valgus_rate=(0.4, 0.0)[k % 2],
                                         estimate_axis=True))
                k += 1
    return specs


@dataclass
class Scores:
    rep_f1: float
    precision: float  # moderate/severe flags
    recall: float
    side_correct: float
    false_flags_per_50_reps: float  # clean sessions
    latency_median_s: float
    latency_p95_s: float
    latency_from_onset_median_s: float
    axis_error_p95_deg: float  # sessions that estimated the foot axes
    sessions: int
    reps: int


def summarize(scores: list[SessionScore]) -> Scores:
    true_reps = sum(s.true_reps for s in scores)
    found = sum(s.found_reps for s in scores)
    matched = sum(s.matched_reps for s in scores)
    clean = [s for s in scores if s.spec.valgus_rate == 0]
    clean_reps = sum(s.matched_reps for s in clean)
    latencies = np.array([x for s in scores for x in s.latencies_s])
    from_onset = np.array([x for s in scores for x in s.latencies_from_onset_s])
    return Scores(
        rep_f1=2 * matched / (true_reps + found) if true_reps + found else float("nan"),
        precision=_ratio(sum(s.true_positives for s in scores), sum(s.flagged_strong for s in scores)),
        recall=_ratio(sum(s.true_positives for s in scores), sum(s.positives for s in scores)),
        side_correct=_ratio(sum(s.side_correct for s in scores), sum(s.side_checked for s in scores)),
        false_flags_per_50_reps=50 * _ratio(sum(s.false_flags for s in clean), clean_reps),
        latency_median_s=float(np.median(latencies)) if len(latencies) else float("nan"),
        latency_p95_s=float(np.percentile(latencies, 95)) if len(latencies) else float("nan"),
        latency_from_onset_median_s=float(np.median(from_onset)) if len(from_onset) else float("nan"),
        axis_error_p95_deg=_p95_abs([x for s in scores for x in s.axis_errors_deg]),
        sessions=len(scores),
        reps=true_reps,
    )


def _p95_abs(values: list) -> float:
    return float(np.percentile(np.abs(values), 95)) if values else float("nan")


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
