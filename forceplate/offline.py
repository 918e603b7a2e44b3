"""Offline analysis of a saved trial: raw counts -> calibrated forces -> :class:`Analysis`."""

from __future__ import annotations

from forceplate.calibration.record import CalibrationRecord
from forceplate.errors import TrialError
from forceplate.processing.analysis import Analysis, analyze_feet
from forceplate.processing.forces import plate_forces
from forceplate.processing.valgus import Thresholds
from forceplate.storage.reader import Trial


def analyze_trial(trial: Trial, calibration: CalibrationRecord | None = None, toe_out_deg: float | None = None,
                  thresholds: Thresholds | None = None) -> Analysis:
    """Analyse the trial's plate device; ``calibration`` overrides the record stored in it."""
    plates = [d for d in trial.devices.values() if d.profile.plates]
    if not plates:
        raise TrialError(f"{trial.path}: no force plate device in this trial")
    recording = plates[0]
    t, newtons = recording.uniform(calibration)
    if len(t) < recording.rate_hz:
        raise TrialError(f"{trial.path}: only {len(t)} samples recorded, too short to analyse")
    fz, cop = plate_forces(newtons, recording.profile)
    if toe_out_deg is None:
        toe_out_deg = float(trial.attrs.get("setup_toe_out_deg", 0.0))
    return analyze_feet(t, fz, cop, recording.rate_hz, toe_out_deg, thresholds)
