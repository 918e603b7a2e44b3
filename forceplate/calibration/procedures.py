"""Calibration procedures on a streaming device: the one module of calibration/ that talks
to a device. It takes an open :class:`~forceplate.io.device.Device` (never imports io/) and a
``place`` callback that puts a :class:`~forceplate.calibration.fit.LoadStep` on the device
(``None``: clear it): in a lab the callback prompts the operator and waits; against the
simulator it places the load in-process. The math is in :mod:`forceplate.calibration.fit`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from typing import Callable

import numpy as np

from forceplate.calibration.fit import (MAX_STILL_STD_N, MAX_TARE_LOAD_N, VERIFY_COP_LIMIT_MM, VERIFY_FORCE_LIMIT_PCT,
                                        LoadStep, body_weight_scale, fit_cell_gains, fit_insole_curves,
                                        grid_positions_mm, plate_of, scaled_record, still_problems, verify_loads)
from forceplate.calibration.record import CalibrationRecord
from forceplate.errors import CalibrationError
from forceplate.processing.baseline import G

Place = Callable[[LoadStep | None], None]
Progress = Callable[[str], None]

DRAIN_S = 0.1  # reading this long discards what the device sent before the load changed
SETTLE_S = 0.3  # device time a placed load is given to stop rocking before it is measured
WINDOW_S = 0.5  # device time averaged per reading
STILL_TIMEOUT_S = 15.0  # wall time to wait for a still reading
VALID_DAYS = 365  # a new record's validity: a lab recalibrates (or at least verifies) every year


def _drain(device) -> None:
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        device.read()


def read_still(device, record: CalibrationRecord, window_s: float = WINDOW_S, max_std_n: float = MAX_STILL_STD_N,
               timeout_s: float = STILL_TIMEOUT_S) -> np.ndarray:
    """Mean counts (channels,) over the first still ``window_s`` of device time after the
    load changed (a settled load: every plate's vertical force within ``max_std_n`` std)."""
    rate = device.profile.rate_hz
    _drain(device)
    skip, size = int(round(SETTLE_S * rate)), max(int(round(window_s * rate)), 2)
    window: deque = deque(maxlen=size)
    deadline = time.monotonic() + timeout_s
    problems = ["no frames arrived"]
    while time.monotonic() < deadline:
        for row in device.read().counts:
            if skip:
                skip -= 1
                continue
            window.append(row)
            if len(window) == size:
                counts = np.array(window, dtype=np.float64)
                problems = still_problems(record.to_physical(counts), device.profile, None, max_std_n)
                if not problems:
                    return counts.mean(axis=0)
    raise CalibrationError(f"{device.name}: not still after {timeout_s:g} s: {'; '.join(problems)}")


def tare(device, record: CalibrationRecord, window_s: float = WINDOW_S, max_load_n: float = MAX_TARE_LOAD_N,
         max_std_n: float = MAX_STILL_STD_N) -> CalibrationRecord:
    """New zero offsets from the empty, still device; refuses (says why) when a plate is
    loaded (judged with the current record) or moving."""
    rate = device.profile.rate_hz
    _drain(device)
    size, skip, rows = max(int(round(window_s * rate)), 2), int(round(SETTLE_S * rate)), []
    deadline = time.monotonic() + STILL_TIMEOUT_S
    while len(rows) < size + skip and time.monotonic() < deadline:
        rows.extend(device.read().counts)
    if len(rows) < size + skip:
        raise CalibrationError(f"{device.name}: no data to tare from (is it streaming?)")
    counts = np.array(rows[skip:skip + size], dtype=np.float64)
    problems = still_problems(record.to_physical(counts), device.profile, max_load_n, max_std_n)
    if problems:
        raise CalibrationError(f"{device.name}: refusing to tare: {'; '.join(problems)}")
    return record.updated(offsets_counts=counts.mean(axis=0), date=dt.date.today().isoformat())


def _readings(device, record, place: Place, steps, progress: Progress) -> np.ndarray:
    """Still mean counts (steps, channels) with each step's load in place; clears at the end."""
    means = []
    for i, step in enumerate(steps, 1):
        place(step)
        progress(f"[{i}/{len(steps)}] {step.describe()}: measuring")
        means.append(read_still(device, record))
    place(None)
    return np.array(means)


def _stamp(operator: str, method: str, residuals: dict) -> dict:
    today = dt.date.today()
    return {"date": today.isoformat(), "valid_until": (today + dt.timedelta(days=VALID_DAYS)).isoformat(),
            "operator": operator, "method": method, "residuals": residuals}


def calibrate_weights(device, record: CalibrationRecord, place: Place, steps: list[LoadStep], operator: str = "",
                      progress: Progress = print) -> CalibrationRecord:
    """Tare, then known masses at known positions -> per-cell gains of each load-cell plate
    with a load on it (least squares); refuses an implausible fit. The plates must be empty
    at the start."""
    profile = device.profile
    if profile.insole is not None or any(p.type != "load-cells" for p in profile.plates):
        raise CalibrationError(f"{device.name}: known-weight fits are for load-cell plates; "
                               "use 'calibrate matrix' (six-axis) or 'calibrate insole'")
    place(None)
    progress("tare: plates empty and still")
    tared = tare(device, record)
    zeroed = _readings(device, tared, place, steps, progress) - tared.offsets_counts
    gains = tared.newtons_per_count.copy()
    residuals = {}
    for plate in profile.plates:
        mine = [i for i, s in enumerate(steps) if s.plate == plate.name]
        if not mine:
            continue
        fit = fit_cell_gains(plate, zeroed[np.ix_(mine, plate.channels)], [steps[i].weight_n for i in mine],
                             [steps[i].position_mm for i in mine])
        fit.check()
        gains[list(plate.channels)] = fit.newtons_per_count
        residuals[f"{plate.name}_force_rms_pct"] = round(float(np.sqrt(np.mean(fit.force_error_pct**2))), 4)
        residuals[f"{plate.name}_cop_rms_mm"] = round(float(np.sqrt(np.mean(fit.cop_error_mm**2))), 3)
        progress(f"{plate.name} plate: gains fitted from {len(mine)} loads, force error "
                 f"{np.max(np.abs(fit.force_error_pct)):.2f}% max, CoP error {np.max(fit.cop_error_mm):.1f} mm max")
    if not residuals:
        raise CalibrationError(f"{device.name}: no load was placed on any plate")
    masses = sorted({s.mass_kg for s in steps})
    method = f"known weights: {len(steps)} loads ({', '.join(f'{m:g}' for m in masses)} kg) at known positions"
    return tared.updated(newtons_per_count=gains, **_stamp(operator, method, residuals))


def verify(device, record: CalibrationRecord, place: Place, steps: list[LoadStep], tare_first: bool = True,
           force_limit_pct: float = VERIFY_FORCE_LIMIT_PCT, cop_limit_mm: float = VERIFY_COP_LIMIT_MM,
           progress: Progress = print):
    """Force error (%) and CoP error (mm) of ``record`` at known loads, pass/fail against the
    limits. ``tare_first`` zeroes the empty device first (as before any session), so what is
    verified is the gains and geometry; without it the stored offsets are verified too."""
    if tare_first:
        place(None)
        progress("tare: device empty and still")
        record = tare(device, record)
    means = _readings(device, record, place, steps, progress)
    return verify_loads(record, device.profile, steps, means, force_limit_pct, cop_limit_mm)


def calibrate_insole_loads(device, record: CalibrationRecord, place: Place, steps: list[LoadStep],
                           operator: str = "", progress: Progress = print) -> CalibrationRecord:
    """Known masses on single sensors -> a power response curve per sensor (FSR-type)."""
    if device.profile.insole is None:
        raise CalibrationError(f"{device.name}: not an insole")
    place(None)
    progress("tare: insole unloaded")
    tared = tare(device, record)
    zeroed = _readings(device, tared, place, steps, progress) - tared.offsets_counts
    curves, error_pct = fit_insole_curves(tared, zeroed, steps)
    progress(f"curves fitted: exponents {curves.exponent.min():.2f}..{curves.exponent.max():.2f}, "
             f"worst sensor error {error_pct.max():.2f}%")
    # newtons_per_count keeps the secant at full scale, the linear reading of the same curve.
    residuals = {"sensor_max_error_pct": round(float(error_pct.max()), 3)}
    return tared.updated(curves=curves, newtons_per_count=curves.newtons_at_full_scale / curves.full_scale_counts,
                         **_stamp(operator, "known loads on single sensors, power curves", residuals))


def scale_insole_body_weight(device, record: CalibrationRecord, body_mass_kg: float, foot_share: float = 0.5,
                             duration_s: float = 2.0, operator: str = "",
                             progress: Progress = print) -> CalibrationRecord:
    """Scale an insole's record so quiet standing reads ``foot_share`` of the body weight."""
    progress(f"quiet standing for {duration_s:g} s: stand still, weight on both feet")
    expected_n = body_mass_kg * G * foot_share
    counts = read_still(device, record, window_s=duration_s, max_std_n=max(MAX_STILL_STD_N, 0.02 * expected_n))
    total = record.to_physical(counts[None, :]).sum(axis=1)
    factor = body_weight_scale(total, expected_n)
    progress(f"quiet standing read {total[0]:.0f} N, expected {expected_n:.0f} N: forces scaled by {factor:.4f}")
    method = (f"{record.method}; scaled by {factor:.4f} to {body_mass_kg:g} kg quiet standing "
              f"({foot_share:.0%} on this foot)")
    return record.updated(**scaled_record(record, factor), **_stamp(operator, method, {"body_weight_scale": factor}))


def sensor_steps(profile, mass_kg: float) -> list[LoadStep]:
    """One step per insole sensor: the mass on that sensor alone, as a calibration rig puts it."""
    return [LoadStep(mass_kg, sensor=sensor) for sensor in range(profile.n_channels)]


def plate_steps(profile, plate_names, mass_kg: float, positions_mm=None) -> list[LoadStep]:
    """One step per position (default: a 3 x 3 grid) on each named plate."""
    return [LoadStep(mass_kg, plate=name, position_mm=pos)
            for name in plate_names for pos in (positions_mm or grid_positions_mm(plate_of(profile, name)))]
