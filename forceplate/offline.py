"""Offline analysis of a saved trial: raw counts -> calibrated forces -> :class:`Analysis`."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from forceplate.errors import CalibrationError, TrialError
from forceplate.processing import ALGORITHM_VERSION
from forceplate.processing.valgus import Thresholds
from forceplate.storage.reader import Trial, TrialHeader, open_trial, read_header

if TYPE_CHECKING:  # imported where used: what reads stored results (trials, compare) starts without them
    from forceplate.calibration.flag import FlagReference
    from forceplate.calibration.record import CalibrationRecord
    from forceplate.insole_pair import InsolePair
    from forceplate.processing.analysis import Analysis


# Frames calibrated at a time (about a minute at 1 kHz): a whole trial's channels in newtons
# (float64) are twice its int32 counts, and the conversion's temporaries as much again.
CALIBRATION_BLOCK_FRAMES = 1 << 16
# What a squat analysis of a plate trial holds its per-foot force and CoP in: float32 halves
# the largest arrays it keeps (three of the trial's length, 0.75x its int32 counts, instead of
# 1.5x). Calibration and filters compute in float64; each value is rounded as calibrated and
# again as filtered, each time to within 6e-8 of itself: together under 2e-3 N of a force below
# 16,000 N and under 2e-4 mm of a CoP within 1.5 m of the lab origin, against plates' noise of
# ~1 N and ~0.5 mm. The segmentation, shifts and grades compute in float64 from them
# (processing/analysis.py).
SQUAT_FEET_DTYPE = np.float32


def analyze_trial(trial: Trial, calibration: CalibrationRecord | None = None, toe_out_deg=None,
                  thresholds: Thresholds | None = None, static: Trial | None = None,
                  flag_reference: FlagReference | None = None) -> Analysis:
    """Analyse a trial's feet: its plates, or its left and right insoles.

    ``calibration`` replaces the stored record of the device with the same serial. With
    plates and insoles together, plates give forces, CoP and reps, insoles the arch load.
    ``toe_out_deg`` (the foot axes; insoles always use their own frame): degrees from the
    lifter's forward (one for both feet, or {"left": .., "right": ..}); "auto": estimated
    from the reps even when the trial states a set-up; None (what every caller passes when the
    user stated nothing): not stated here, so the trial's set-up, else the flag reference's
    normal reps, else the estimate from the reps (:func:`toe_out_asked`). ``static``: a separate
    static trial of the same lifter on the same devices, for the standing weight and, when
    nothing states the foot axes, each foot's axis from its standing sway (:func:`static_standing`).
    ``flag_reference``: the lifter's normal shift per foot from ``calibrate flag`` (the caller
    gives its thresholds, :meth:`FlagReference.thresholds`), instead of this trial's own reps;
    its foot axes (the normal reps') too, when neither the caller nor the set-up states them.
    """
    from forceplate.processing.analysis import analyze_feet

    standing = static_standing(static, calibration) if static is not None else None
    feet = feet_arrays(trial, calibration, SQUAT_FEET_DTYPE, lazy=True)
    feet.check_long_enough(trial)
    source = "set-up"
    if feet.frame_toe_out_deg is not None:
        toe_out_deg, source = feet.frame_toe_out_deg, "insole frame"
    elif toe_out_deg is None:
        toe_out_deg = stated_toe_out(trial)
        if toe_out_deg is None and standing is not None and standing.toe_out_deg is not None:
            toe_out_deg, source = dict(standing.toe_out_deg), standing.describe(static.path)
        if toe_out_deg is None and flag_reference is not None and flag_reference.toe_out_deg is not None:
            # axes estimated from reps that all collapse turn toward the arch and hide the collapse
            toe_out_deg, source = dict(flag_reference.toe_out_deg), f"the flag reference's normal reps ({flag_reference.source})"
    elif toe_out_deg == "auto":
        toe_out_deg = None
    analysis = analyze_feet(feet.t, feet.fz, feet.cop, feet.rate_hz, toe_out_deg, thresholds, feet.regions,
                            weight_n=standing.weight_n if standing is not None else None,
                            load_kg=trial_load_kg(trial), axes_source=source,
                            normal_mm=flag_reference.normal_mm if flag_reference else None, filter_in_place=True)
    if standing is not None and standing.toe_out_deg is None and source == "set-up" and toe_out_deg is None:
        analysis.notes.append(standing.describe(static.path) + ": the foot axes are estimated from the reps")
    if flag_reference is not None:
        analysis.notes.append(flag_reference.describe())
        if flag_reference.algorithm_version != ALGORITHM_VERSION:
            analysis.notes.append(f"the flag reference was measured by analysis {flag_reference.algorithm_version}, "
                                  f"this is {ALGORITHM_VERSION}: repeat 'forceplate calibrate flag'")
    analysis.devices = tuple(d.name for d in feet.devices)
    return analysis


def stated_toe_out(trial: TrialHeader):
    """The set-up's toe-out stored in the trial (degrees, or per foot), or None when not stated.
    The reader has checked each is a number in range."""
    left, right = trial.attrs.get("setup_toe_out_left_deg"), trial.attrs.get("setup_toe_out_right_deg")
    if left is not None and right is not None:
        return {"left": float(left), "right": float(right)}
    both = trial.attrs.get("setup_toe_out_deg")
    return None if both is None else float(both)


def toe_out_asked(header: TrialHeader, toe_out_deg):
    """The foot-axes setting an analysis of the trial without a flag reference stores
    (``Analysis.toe_out_setting``) when asked for ``toe_out_deg``: None is the set-up's, else "auto"."""
    if toe_out_deg is None:
        toe_out_deg = stated_toe_out(header)
    return "auto" if toe_out_deg is None else toe_out_deg


def reusable_results(header: TrialHeader, thresholds: Thresholds, toe_out_deg=None) -> bool:
    """Whether the trial's stored squat results stand for a fresh :func:`analyze_trial` with
    ``thresholds`` and ``toe_out_deg`` (no flag reference): made by this algorithm version with
    the same thresholds and the same foot axes asked (an insole's frame whatever was asked)."""
    stored = header.results
    try:
        if (stored is None or stored["summary"]["algorithm_version"] != ALGORITHM_VERSION
                or stored["parameters"]["thresholds"] != thresholds.as_dict()):
            return False
        return (stored["summary"]["baseline"].get("axis_source") == "insole frame"
                or stored["parameters"]["toe_out_deg"] == toe_out_asked(header, toe_out_deg))
    except (KeyError, TypeError, AttributeError):
        # results of another shape (a damaged file: the long fuzz run flipped a key's bits, or
        # edited by hand) stand for nothing: the raw data are analysed afresh
        return False


def trial_load_kg(trial: Trial) -> float | None:
    """The bar's load stated in the trial (kg; the reader has checked its range), or None."""
    load = trial.attrs.get("load_kg")
    return None if load is None else float(load)


STATIC_QUIET_SHARE = 0.75  # of a static trial's loaded samples quiet (baseline.quiet_mask): quiet standing
STATIC_QUIET_WINDOW_S = 0.2  # the window quiet_mask judges steadiness over


@dataclass(frozen=True)
class StaticStanding:
    """What a static trial (quiet standing) gives the analysis of a set."""

    weight_n: float  # the mean total vertical force while loaded
    toe_out_deg: dict | None  # foot -> degrees out, from the standing sway; None: no clear direction
    uncertainty_deg: dict | None  # foot -> 95 % half-width of it
    quiet: bool  # the trial is quiet standing (STATIC_QUIET_SHARE of it)

    def describe(self, path) -> str:
        if not self.quiet:
            return f"the static trial {path} is not quiet standing (it moves), so it gives no foot axes"
        if self.toe_out_deg is None:
            return f"the static trial {path}: its standing sway has no clear direction"
        return (f"the static trial's standing sway ({path}; 95 % within "
                f"{self.uncertainty_deg['left']:.1f} / {self.uncertainty_deg['right']:.1f} deg)")


def static_standing(static: Trial, calibration: CalibrationRecord | None = None) -> StaticStanding:
    """The standing weight (N) of a static trial, and each foot's axis from its standing sway
    (:func:`forceplate.processing.baseline.standing_sway_axes`) where plates measured it (an
    insole has its own frame)."""
    from forceplate.processing.baseline import forward_direction, quiet_mask, standing_sway_axes

    feet = feet_arrays(static, calibration)
    total = sum(feet.fz.values())
    loaded = np.isfinite(total) & (total > 0.5 * np.nanmedian(total))
    if loaded.sum() < 10:
        raise TrialError(f"{static.path}: no standing in this static trial")
    sway, quiet = None, quiet_mask(np.where(loaded, total, 0.0), feet.rate_hz, STATIC_QUIET_WINDOW_S) & loaded
    # quiet standing: the loaded samples are quiet, but for the trailing window's first one
    standing = bool(quiet.sum() >= STATIC_QUIET_SHARE * (loaded.sum() - STATIC_QUIET_WINDOW_S * feet.rate_hz))
    if feet.frame_toe_out_deg is None and standing:
        cop = {foot: np.asarray(feet.cop[foot], dtype=float)[quiet] for foot in ("left", "right")}
        sway = standing_sway_axes(cop, feet.rate_hz, forward_direction(np.nanmean(cop["left"], axis=0),
                                                                         np.nanmean(cop["right"], axis=0)))
    return StaticStanding(float(np.mean(total[loaded])), *(sway or (None, None)), standing)


class UniformTimes:
    """The times (s) of ``n`` samples at ``rate_hz`` from 0, ``np.arange(n) / rate_hz``, made
    only where read: the segmentation and the grades read them at a rep's samples, and an
    hour at 1 kHz is 29 MB of float64 held beside the largest temporaries of the analysis
    (:func:`analyze_trial`'s plates; ``analyze_feet`` makes the array for its ``Analysis``
    once the reps are found). An index or a slice gives what the array
    would, bit for bit; ``np.asarray`` gives the array."""

    def __init__(self, n: int, rate_hz: float):
        self.n, self.rate_hz = n, rate_hz

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        if isinstance(key, slice):
            return np.arange(*key.indices(self.n)) / self.rate_hz
        i = operator.index(key)
        if not -self.n <= i < self.n:
            raise IndexError(f"sample {i} of {self.n}")
        return np.float64(i % self.n) / self.rate_hz

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        t = np.arange(self.n) / self.rate_hz
        return t if dtype is None else t.astype(dtype, copy=False)


@dataclass(frozen=True)
class FeetArrays:
    """A trial's per-foot arrays on one time grid, as :func:`feet_arrays` reads them.

    Lost frames are NaN rows (a plate's grid is its sequence numbers); a foot's CoP is NaN
    where its force is too small to place one.
    """

    t: np.ndarray | UniformTimes  # trial time (s), from the first analysed frame (UniformTimes: lazy)
    fz: dict[str, np.ndarray]  # foot -> vertical force (N)
    # foot -> (n, 2) centre of pressure in the lab frame (mm); ``feet_arrays(lazy=True)``: a function giving it
    cop: dict[str, np.ndarray] | Callable[[], dict]
    regions: dict[str, dict[str, np.ndarray]] | None  # insoles: foot -> region name -> force (N); plates: None
    rate_hz: float
    # the toe-out the CoP frame already implies: 0 for insoles (their frame follows the foot),
    # None for plates (the lab frame: the set-up or the reps say)
    frame_toe_out_deg: float | None
    devices: tuple  # the DeviceRecordings the forces and CoP come from (the plate device, or left and right insoles)

    def check_long_enough(self, trial: Trial) -> None:
        """Raise TrialError when under a second was recorded: too short to analyse."""
        if len(self.t) < self.rate_hz:
            raise TrialError(f"{trial.path}: only {len(self.t)} samples recorded, too short to analyse")


def feet_arrays(trial: Trial, calibration: CalibrationRecord | None = None, plate_dtype=np.float64,
                lazy: bool = False) -> FeetArrays:
    """The per-foot force, CoP and insole regions of a trial's plates, else of its left and
    right insoles (mapped onto the left insole's clock), with ``calibration`` replacing the
    stored record of the device with its serial. ``plate_dtype``: of the plates' per-foot
    force and CoP (:func:`plate_feet`); the jumps and landings integrate force, so float64
    unless the caller asks (the squat: :data:`SQUAT_FEET_DTYPE`). ``lazy``: a long plate
    trial's time (without insoles) as :class:`UniformTimes` and its CoP as a function that
    gives it (:func:`plate_feet`'s ``cop_later``), made when read, as ``analyze_feet`` takes
    them (the squat); else arrays."""
    serials = {d.info.get("serial") for d in trial.devices.values()}
    if calibration is not None and calibration.serial not in serials:
        raise CalibrationError(f"{calibration.source}: field 'serial' is {calibration.serial!r}; "
                               f"the trial's devices are {', '.join(sorted(map(str, serials)))}")
    insoles = {d.info.get("foot"): d for d in trial.devices.values() if d.profile.insole is not None}
    if any(d.profile.plates for d in trial.devices.values()):
        primary = plate_recording(trial)
        t, fz, cop = plate_feet(primary, _record_for(primary, calibration), plate_dtype, cop_later=lazy)
        regions = None
        if not lazy or set(insoles) == {"left", "right"}:
            t = np.asarray(t)
        if set(insoles) == {"left", "right"}:
            # plate trial time runs from the plate's first frame
            from forceplate.io.clock import fit_clock

            pair = _insole_pair(insoles, primary.rate_hz, fit_clock(primary.t_device_s, primary.t_host_s),
                                offset_s=primary.t_device_s[0])
            regions = pair.on_grid(t, _insole_recordings(insoles, calibration)).regions
        return FeetArrays(t, fz, cop, regions, primary.rate_hz, None, (primary,))
    if set(insoles) != {"left", "right"}:
        raise TrialError(f"{trial.path}: no force plates and no left+right pair of insoles to analyse")
    pair = _insole_pair(insoles, max(d.rate_hz for d in insoles.values()))
    feet = pair.whole(_insole_recordings(insoles, calibration))
    return FeetArrays(feet.t - feet.t[0], feet.fz, feet.cop, feet.regions, pair.rate_hz, 0.0,
                      (insoles["left"], insoles["right"]))


def plate_feet(device, calibration: CalibrationRecord | None = None, dtype=np.float64,
               cop_later: bool = False) -> tuple[np.ndarray | UniformTimes, dict, dict | Callable[[], dict]]:
    """A plate device's trial time (s) on its uniform grid and, per foot, vertical force (N)
    and lab-frame CoP (mm) as ``dtype``: what ``plate_forces(device.uniform(calibration)[1])``
    gives (computed in float64, then rounded to ``dtype``), lost frames NaN rows, but
    calibrated :data:`CALIBRATION_BLOCK_FRAMES` at a time into the outputs, so the whole
    trial's calibrated channels are never held at once (nor, from a trial file whose counts
    are not read yet, its counts: ``DeviceRecording.rows``); the time then as
    :class:`UniformTimes` (``np.asarray`` makes the array). ``cop_later``: the CoP of such a
    trial is then a function that calibrates the counts again to give it (the same numbers),
    for a caller that needs it only once it is done with the force (the squat's segmentation:
    an hour's CoP in float32 is 58 MB beside its largest temporaries)."""
    from forceplate.processing.forces import plate_forces  # with it the profiles: reading stored results needs neither

    if len(device.seq) < CALIBRATION_BLOCK_FRAMES:
        t, physical = device.uniform(calibration)
        fz, cop = plate_forces(physical, device.profile)
        return t, _as(fz, dtype), _as(cop, dtype)
    record = calibration or device.calibration
    if record is None:
        raise CalibrationError(f"device {device.name}: no calibration record in the trial; give one with --calibration")
    record.check_matches(device.info.get("serial", ""), device.profile.n_channels)
    if cop_later:
        rows, fz, _ = _calibrated_in_blocks(device, record, dtype, force=True, cop=False)
        def cop_of() -> dict:
            return _calibrated_in_blocks(device, record, dtype, force=False, cop=True)[2]

        return UniformTimes(rows, device.rate_hz), fz, cop_of
    rows, fz, cop = _calibrated_in_blocks(device, record, dtype, force=True, cop=True)
    return UniformTimes(rows, device.rate_hz), fz, cop


def release_long_counts(trial: Trial) -> None:
    """Let go of the raw data read from the trial file of each device with at least
    :data:`CALIBRATION_BLOCK_FRAMES` frames, which the analysis reads again a block at a time
    (so a long trial's counts are not held beside its arrays). A shorter device's are kept
    (a few MB at most): the analysis reads them whole, and reading and inflating them again
    cost more than holding them (~15 ms of CPU for a minute of a dual plate)."""
    for device in trial.devices.values():
        if len(device.seq) >= CALIBRATION_BLOCK_FRAMES:
            device.release()


def _calibrated_in_blocks(device, record: CalibrationRecord, dtype, force: bool, cop: bool) -> tuple[int, dict, dict]:
    """:func:`plate_feet`'s grid rows and per-foot force and CoP (each only when asked for, else
    an empty dict), calibrated a block of frames at a time."""
    from forceplate.processing.forces import plate_forces

    index = device.grid_index()
    rows = int(index[-1]) + 1
    plates = device.profile.plates
    fz = {plate.foot: np.full(rows, np.nan, dtype=dtype) for plate in plates} if force else {}
    points = {plate.foot: np.full((rows, 2), np.nan, dtype=dtype) for plate in plates} if cop else {}
    for lo in range(0, len(index), CALIBRATION_BLOCK_FRAMES):
        block = slice(lo, lo + CALIBRATION_BLOCK_FRAMES)
        block_fz, block_cop = plate_forces(record.to_physical(device.rows("counts", block)), device.profile)
        for foot in fz:
            fz[foot][index[block]] = block_fz[foot]
        for foot in points:
            points[foot][index[block]] = block_cop[foot]
    del index
    device.release()  # its sequence numbers (a trial file's): read again if anything asks
    return rows, fz, points


def _as(arrays: dict, dtype) -> dict:
    """Each array as ``dtype`` (the same array when it is one already)."""
    return {key: x.astype(dtype, copy=False) for key, x in arrays.items()}


def plate_recording(trial: Trial):
    """The force plate device of a trial (the one analysed when there are plates)."""
    plates = [d for d in trial.devices.values() if d.profile.plates]
    if not plates:
        raise TrialError(f"{trial.path}: no force plate device in this trial")
    return plates[0]


def _record_for(device, calibration):
    return calibration if calibration is not None and calibration.serial == device.info.get("serial") else None


def _insole_pair(insoles: dict, rate_hz: float, reference=None, offset_s: float = 0.0) -> InsolePair:
    """A trial's left and right insoles as a pair, each clock fitted on its whole recording; on
    the left insole's clock unless ``reference`` (a plate's) is given."""
    from forceplate.insole_pair import InsolePair  # with it the device layer (forceplate.io)
    from forceplate.io.clock import fit_clock

    clocks = {foot: fit_clock(d.t_device_s, d.t_host_s) for foot, d in insoles.items()}
    return InsolePair({foot: d.profile.insole for foot, d in insoles.items()}, rate_hz, clocks,
                      reference or clocks["left"], offset_s)


def _insole_recordings(insoles: dict, calibration) -> dict:
    """Per foot, the insole's device times (s) and calibrated sensor forces (N), with the given
    record when it is this insole's, else the stored one."""
    recordings = {}
    for foot, device in insoles.items():
        record = _record_for(device, calibration) or device.calibration
        if record is None:
            raise CalibrationError(f"device {device.name}: no calibration record in the trial; give one with --calibration")
        recordings[foot] = (device.t_device_s, record.to_physical(device.counts))
    return recordings


def save_analysis(trial: Trial, analysis: Analysis, calibration: CalibrationRecord | None = None,
                  flag_reference: FlagReference | None = None) -> None:
    """Store the results of :func:`analyze_trial` under the trial file's /processing with the
    parameters that made them (the analysed devices and the flag reference among them)."""
    from forceplate.storage.writer import write_results  # not imported by what only reads results

    results = with_flag_reference(analysis.as_dict(), flag_reference)
    parameters = {
        "device": ", ".join(analysis.devices),
        "calibration": calibration.source if calibration else "stored in the trial",
        "toe_out_deg": analysis.toe_out_setting,
        "thresholds": analysis.thresholds.as_dict(),
        "flag_reference": results["summary"]["flag_reference"],
    }
    write_results(trial.path, results, parameters)


def with_flag_reference(results: dict, flag_reference: FlagReference | None) -> dict:
    """``Analysis.as_dict()`` with its summary saying which flag reference graded it (None: the
    trial's own reps), in place; returns it."""
    results["summary"]["flag_reference"] = flag_reference.summary() if flag_reference else None
    return results


def trial_results(path, toe_out_deg: float | None = None, thresholds: Thresholds | None = None,
                  header: TrialHeader | None = None) -> tuple[TrialHeader, dict]:
    """A trial's header and results: the stored ones when they were made by this algorithm
    version with the same parameters (no raw data read), else a fresh analysis. ``header``:
    the trial's, when the caller has read it already (not read again)."""
    header = header or read_header(path)
    thresholds = thresholds or Thresholds()
    if reusable_results(header, thresholds, toe_out_deg):
        return header, header.results
    trial = open_trial(path)
    return trial, analyze_trial(trial, toe_out_deg=toe_out_deg, thresholds=thresholds).as_dict()


class TrialFeet:
    """Calling it gives the trial's per-foot arrays, read on the first call only (the
    recognition and the exercise share them); ``read`` is None until then."""

    def __init__(self, trial, calibration):
        self.trial, self.calibration, self.read = trial, calibration, None
        self.read_here = False  # whether ``read`` came from the trial file (not from ``seed``)

    def __call__(self):
        if self.read is None:
            self.seed(feet_arrays(self.trial, self.calibration))
            self.read_here = True
        return self.read

    def release(self) -> None:
        """Let go of the arrays read from the trial (read again if called; seeded ones are
        kept): the squat reads the trial again in its own lean form (:func:`analyze_trial`),
        and the recognition's float64 arrays (an hour: 200 MB) are not held beside it."""
        if self.read_here:
            self.read, self.read_here = None, False

    def seed(self, feet: FeetArrays) -> None:
        """Take the trial's arrays already read (the notebook API's) instead of reading them."""
        from forceplate.exercises.model import Feet, with_force_gaps_filled

        feet.check_long_enough(self.trial)
        self.read = with_force_gaps_filled(Feet(feet.t, feet.fz, feet.cop, feet.rate_hz, feet.regions))


def save_exercise_results(trial, exercise, report: dict, calibration, eyes_closed) -> None:
    """Store a non-squat exercise's results under /processing: its reps as a flat table with
    each column's unit (from the exercise's fields), the parameters that made them."""
    from forceplate.reporting.exercise_table import unit_of
    from forceplate.storage.schema import flat_rep
    from forceplate.storage.writer import write_results

    keys = {key for rep in report["reps"] for key in flat_rep(rep)}
    parameters = {"exercise": exercise.name, "calibration": calibration.source if calibration else "stored in the trial",
                  "eyes_closed": str(eyes_closed) if eyes_closed else None}
    write_results(trial.path, report, parameters, units={key: unit_of(exercise, key) for key in keys})
