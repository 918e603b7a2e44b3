"""Offline analysis of a saved trial: raw counts -> calibrated forces -> :class:`Analysis`."""

from __future__ import annotations

from forceplate.calibration.record import CalibrationRecord
from forceplate.errors import TrialError
from forceplate.processing.analysis import ALGORITHM_VERSION, Analysis, analyze_feet
from forceplate.processing.forces import plate_forces
from forceplate.processing.valgus import Thresholds
from forceplate.storage.reader import Trial, TrialHeader, open_trial, read_header
from forceplate.storage.writer import write_results


def analyze_trial(trial: Trial, calibration: CalibrationRecord | None = None, toe_out_deg: float | None = None,
                  thresholds: Thresholds | None = None) -> Analysis:
    """Analyse the trial's plate device; ``calibration`` overrides the record stored in it."""
    recording = plate_recording(trial)
    t, newtons = recording.uniform(calibration)
    if len(t) < recording.rate_hz:
        raise TrialError(f"{trial.path}: only {len(t)} samples recorded, too short to analyse")
    fz, cop = plate_forces(newtons, recording.profile)
    if toe_out_deg is None:
        toe_out_deg = float(trial.attrs.get("setup_toe_out_deg", 0.0))
    return analyze_feet(t, fz, cop, recording.rate_hz, toe_out_deg, thresholds)


def plate_recording(trial: Trial):
    """The force plate device of a trial (the one analysed)."""
    plates = [d for d in trial.devices.values() if d.profile.plates]
    if not plates:
        raise TrialError(f"{trial.path}: no force plate device in this trial")
    return plates[0]


def save_analysis(trial: Trial, analysis: Analysis, calibration: CalibrationRecord | None = None) -> None:
    """Store the results under the trial file's /processing with the parameters that made them."""
    parameters = {
        "device": plate_recording(trial).name,
        "calibration": calibration.source if calibration else "stored in the trial",
        "toe_out_deg": analysis.baseline.toe_out_deg,
        "thresholds": analysis.thresholds.as_dict(),
    }
    write_results(trial.path, analysis.as_dict(), parameters)


def trial_results(path, toe_out_deg: float | None = None,
                  thresholds: Thresholds | None = None) -> tuple[TrialHeader, dict]:
    """A trial's header and results: the stored ones when they were made by this algorithm
    version with the same parameters (no raw data read), else a fresh analysis."""
    header = read_header(path)
    stored = header.results
    thresholds = thresholds or Thresholds()
    if (stored is not None and stored["summary"]["algorithm_version"] == ALGORITHM_VERSION
            and stored["parameters"]["thresholds"] == thresholds.as_dict()
            and toe_out_deg in (None, stored["parameters"]["toe_out_deg"])):
        return header, stored
    trial = open_trial(path)
    return trial, analyze_trial(trial, toe_out_deg=toe_out_deg, thresholds=thresholds).as_dict()
