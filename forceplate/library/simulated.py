"""A library of simulated trial files, written as fast as the disk allows.

Each trial is the simulator's squat model turned into raw counts through the bundled
calibration record (as ``sim://dual-plate`` streams them) and recorded through the real
:class:`~forceplate.storage.writer.TrialWriter`, without waiting for real time: for tests,
benchmarks and trying ``forceplate batch`` and ``history`` on a library of many trials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from forceplate.calibration.record import find_record
from forceplate.io.device import Frames
from forceplate.profiles import load_profile
from forceplate.sim.emulator import PlateEmulator
from forceplate.sim.squat import RepPlan, SquatModel, SquatPlan, Subject
from forceplate.storage.writer import TrialWriter

PROFILE, SERIAL = "dual-plate-ads1256", "SIM-DP-0001"
BLOCK_S = 0.1  # frames reach the writer in blocks of this length, as from a reader thread
END_STANDING_S = 1.0  # standing after the last rep


@dataclass
class SimulatedTrial:
    """One trial of a library: who, when, what load, and which reps collapse on which side."""

    subject: str = "P01"
    created: str = "2026-01-05T10:00:00"  # ISO 8601: the session's date and time
    load_kg: float = 0.0
    exercise: str = "squat"
    reps: int = 3
    valgus: dict[int, tuple[str, str]] = field(default_factory=dict)  # rep (1-based) -> (side, severity)
    left_share: float = 0.5  # share of the weight on the left foot (0.5: symmetric)
    mass_kg: float = 75.0
    seed: int = 0
    rest_s: float = 0.6
    rep_plans: list[RepPlan] | None = None  # each rep in full (healthy drift, collapse on both feet), instead of reps/valgus


def write_simulated_trial(path: str | Path, spec: SimulatedTrial) -> Path:
    """Record ``spec`` as a complete dual-plate trial at ``path`` (1 kHz, raw int32 counts)."""
    profile = load_profile(PROFILE)
    record = find_record(SERIAL)
    plan = SquatPlan(reps=spec.reps, baseline_s=2.0, descent_s=1.0, bottom_s=0.2, ascent_s=0.8, rest_s=spec.rest_s,
                     valgus=dict(spec.valgus), rep_plans=spec.rep_plans, tail_s=END_STANDING_S)
    model = SquatModel(Subject(mass_kg=spec.mass_kg, load_kg=spec.load_kg, left_share=spec.left_share), plan,
                       seed=spec.seed)
    n = int(round(model.duration_s * profile.rate_hz))
    seq = np.arange(n)
    t = seq / profile.rate_hz
    counts = PlateEmulator(profile, record, model, seed=spec.seed).counts(t)
    device = SimpleNamespace(url=f"sim://dual-plate?seed={spec.seed}", profile=profile, calibration=record,
                             info={"model": "forceplate simulator", "serial": SERIAL, "firmware": "sim",
                                   "channels": profile.n_channels})
    writer = TrialWriter(path, {"subject": spec.subject, "created": spec.created, "load_kg": float(spec.load_kg),
                                "exercise": spec.exercise, "notes": "simulated"})
    writer.add_device(SERIAL, device)
    writer.start()
    block = int(BLOCK_S * profile.rate_hz)
    for lo in range(0, n, block):
        sl = slice(lo, lo + block)
        writer.write_frames(SERIAL, Frames(seq=seq[sl], t_device_s=t[sl], counts=counts[sl], gaps=[],
                                           t_host_s=t[sl]))
    writer.close(device_stats={SERIAL: {"frames": n, "crc_errors": 0}})
    return Path(path)
