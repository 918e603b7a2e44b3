"""Calibration math on arrays (no I/O): stillness, tare, known-weight fits, six-axis
matrices, insole response curves, verification.

Conventions: counts are raw ADC values (n, channels); "zeroed" counts have the record's
offsets subtracted; positions are lab-frame mm (profile); forces N; masses kg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.calibration.record import CalibrationRecord, ResponseCurves
from forceplate.errors import CalibrationError
from forceplate.processing.baseline import G
from forceplate.processing.forces import plate_forces, vertical_forces

# Defaults of the checks; CALIBRATION.md explains each.
MAX_TARE_LOAD_N = 50.0  # a plate carrying more than this (per plate or insole) is loaded
MAX_STILL_STD_N = 2.0  # a plate whose vertical force varies more (std) is moving
MAX_FIT_FORCE_ERROR_PCT = 1.0  # a known-weight fit worse than this is refused
MAX_FIT_COP_ERROR_MM = 5.0
VERIFY_FORCE_LIMIT_PCT = 1.0  # verification pass/fail
VERIFY_COP_LIMIT_MM = 5.0
MAX_CURVE_ERROR_PCT = 5.0  # an insole sensor whose curve misses its loads by more is refused


@dataclass(frozen=True)
class LoadStep:
    """A known mass placed during calibration or verification: on a plate (by name) at a
    lab position, or on one insole sensor (by channel index)."""

    mass_kg: float
    plate: str | None = None
    position_mm: tuple[float, float] | None = None
    sensor: int | None = None

    @property
    def weight_n(self) -> float:
        return self.mass_kg * G

    def describe(self) -> str:
        if self.sensor is not None:
            return f"{self.mass_kg:g} kg on sensor {self.sensor}"
        return f"{self.mass_kg:g} kg on the {self.plate} plate at x={self.position_mm[0]:g}, y={self.position_mm[1]:g} mm"


def still_problems(physical: np.ndarray, profile, max_load_n: float | None = MAX_TARE_LOAD_N,
                   max_std_n: float = MAX_STILL_STD_N) -> list[str]:
    """Why a window of calibrated samples is not a still (and, with ``max_load_n``, empty)
    device: one reason per plate that moves or carries a load; empty when all is well."""
    problems = []
    for name, force in vertical_forces(physical, profile).items():
        std, mean = float(np.std(force)), float(np.mean(force))
        if std > max_std_n:
            problems.append(f"{name} is moving (force varies by {std:.1f} N std, limit {max_std_n:g} N)")
        if max_load_n is not None and abs(mean) > max_load_n:
            problems.append(f"{name} is loaded ({mean:.0f} N, limit {max_load_n:g} N): clear it")
    return problems


def plate_of(profile, name: str):
    for plate in profile.plates:
        if plate.name == name:
            return plate
    raise CalibrationError(f"no plate {name!r} in profile {profile.id} (plates: "
                           f"{', '.join(p.name for p in profile.plates)})")


def grid_positions_mm(plate, fraction: float = 0.6, n: int = 3) -> list[tuple[float, float]]:
    """``n`` x ``n`` positions on a plate, spanning ``fraction`` of its size around the centre."""
    cx, cy = plate.center_mm
    w, h = plate.size_mm
    xs = cx + np.linspace(-0.5, 0.5, n) * fraction * w
    ys = cy + np.linspace(-0.5, 0.5, n) * fraction * h
    return [(float(x), float(y)) for y in ys for x in xs]


@dataclass(frozen=True)
class GainFit:
    """Least-squares gains of one plate's load cells and how well they explain the loads."""

    plate: str
    newtons_per_count: np.ndarray  # per cell, in the plate's channel order
    force_error_pct: np.ndarray  # per load: (fitted - known) / known
    cop_error_mm: np.ndarray  # per load: distance of the fitted CoP from the known position

    def check(self, max_force_error_pct: float = MAX_FIT_FORCE_ERROR_PCT,
              max_cop_error_mm: float = MAX_FIT_COP_ERROR_MM) -> None:
        """Refuse a fit that cannot be right: loads it misses, or a gain of the wrong sign."""
        worst_f = int(np.argmax(np.abs(self.force_error_pct)))
        worst_c = int(np.argmax(self.cop_error_mm))
        if abs(self.force_error_pct[worst_f]) > max_force_error_pct or self.cop_error_mm[worst_c] > max_cop_error_mm:
            raise CalibrationError(
                f"{self.plate} plate: fit refused, load {worst_f + 1} is off by {self.force_error_pct[worst_f]:+.2f}% "
                f"(limit {max_force_error_pct:g}%), load {worst_c + 1} by {self.cop_error_mm[worst_c]:.1f} mm "
                f"(limit {max_cop_error_mm:g} mm): a wrong mass or position, or the plate moved")
        if np.any(self.newtons_per_count == 0) or len(set(np.sign(self.newtons_per_count))) > 1:
            raise CalibrationError(f"{self.plate} plate: fit refused, gains of different signs "
                                   f"({', '.join(f'{g:.3g}' for g in self.newtons_per_count)}): a cell is wired backwards")


def fit_cell_gains(plate, zeroed_counts: np.ndarray, weights_n: np.ndarray, positions_mm: np.ndarray) -> GainFit:
    """Gains (N per count) of a 4-load-cell plate from known weights at known positions.

    ``zeroed_counts`` (loads, cells) are the still readings minus the tare offsets. Each load
    gives three linear equations in the gains: the cells carry its weight, and their moments
    about the load point vanish (the CoP is where the mass stands). Moment rows are divided
    by the plate's half diagonal so both kinds of equation weigh alike (in N).
    """
    z = np.asarray(zeroed_counts, dtype=np.float64)
    w = np.asarray(weights_n, dtype=np.float64)
    p = np.asarray(positions_mm, dtype=np.float64)
    cells = plate.cells_mm
    lever_mm = float(np.hypot(*plate.size_mm)) / 2
    rows = [z] + [z * (cells[None, :, k] - p[:, k:k + 1]) / lever_mm for k in (0, 1)]
    a = np.vstack(rows)
    b = np.concatenate([w, np.zeros(2 * len(w))])
    gains, _, rank, _ = np.linalg.lstsq(a, b, rcond=None)
    if rank < len(cells):
        raise CalibrationError(f"{plate.name} plate: the loads do not determine {len(cells)} gains: "
                               "use at least 3 positions not on one line")
    forces = z * gains
    total = forces.sum(axis=1)
    cop = forces @ cells / total[:, None]
    return GainFit(plate.name, gains, 100.0 * (total - w) / w, np.hypot(*(cop - p).T))


@dataclass(frozen=True)
class Verification:
    """Force error (%) and CoP error (mm) of a record at known loads, against limits."""

    steps: tuple[LoadStep, ...]
    force_error_pct: np.ndarray
    cop_error_mm: np.ndarray  # NaN for insole sensors (no CoP)
    force_limit_pct: float
    cop_limit_mm: float

    @property
    def passed(self) -> bool:
        cop_ok = np.all(np.nan_to_num(self.cop_error_mm) <= self.cop_limit_mm)
        return bool(np.all(np.abs(self.force_error_pct) <= self.force_limit_pct) and cop_ok)

    def as_dict(self) -> dict:
        cop = self.cop_error_mm[np.isfinite(self.cop_error_mm)]
        return {
            "passed": self.passed,
            "force_limit_pct": self.force_limit_pct, "cop_limit_mm": self.cop_limit_mm,
            "max_force_error_pct": float(np.max(np.abs(self.force_error_pct))),
            "max_cop_error_mm": float(cop.max()) if len(cop) else None,
            "loads": [{"load": s.describe(), "force_error_pct": round(float(f), 3),
                       "cop_error_mm": None if not np.isfinite(c) else round(float(c), 2)}
                      for s, f, c in zip(self.steps, self.force_error_pct, self.cop_error_mm, strict=True)],
        }


def verify_loads(record: CalibrationRecord, profile, steps, mean_counts: np.ndarray,
                 force_limit_pct: float = VERIFY_FORCE_LIMIT_PCT,
                 cop_limit_mm: float = VERIFY_COP_LIMIT_MM) -> Verification:
    """Errors of ``record`` at known loads: ``mean_counts`` (steps, channels) are the still
    readings with each step's load in place (a tared record: offsets are the empty device)."""
    if not len(steps):
        raise CalibrationError(f"{profile.id}: no known load to verify with")
    physical = record.to_physical(np.asarray(mean_counts, dtype=np.float64))
    force_err, cop_err = [], []
    if profile.insole is not None:
        for step, row in zip(steps, physical, strict=True):
            force_err.append(100.0 * (row[step.sensor] - step.weight_n) / step.weight_n)
            cop_err.append(np.nan)
    else:
        fz, cop = plate_forces(physical, profile)
        for i, step in enumerate(steps):
            foot = plate_of(profile, step.plate).foot
            force_err.append(100.0 * (fz[foot][i] - step.weight_n) / step.weight_n)
            cop_err.append(float(np.hypot(*(cop[foot][i] - np.asarray(step.position_mm)))))
    return Verification(tuple(steps), np.array(force_err), np.array(cop_err), force_limit_pct, cop_limit_mm)


def parse_matrix(text: str, size: int = 6) -> np.ndarray:
    """A ``size`` x ``size`` matrix from a manufacturer's text: numbers separated by spaces,
    commas, semicolons or new lines, row by row (lines starting with '#' are comments)."""
    body = " ".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    try:
        numbers = [float(tok) for tok in body.replace(",", " ").replace(";", " ").split()]
    except ValueError as exc:
        raise CalibrationError(f"matrix: not a number ({exc})") from None
    if len(numbers) != size * size:
        raise CalibrationError(f"matrix: {len(numbers)} numbers, a {size}x{size} matrix needs {size * size}")
    matrix = np.array(numbers).reshape(size, size)
    if not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix)) == 0.0:
        raise CalibrationError("matrix: singular or not finite (check the units and the row order)")
    return matrix


def fit_power_curve(zeroed_counts: np.ndarray, forces_n: np.ndarray, full_scale_counts: float):
    """One FSR sensor's response from known loads: ``force = a * sign(z) * (|z|/fs)**b``.

    A straight line through log|z| and log F (every load must move the reading away from
    zero, in one direction). Returns (a, b, worst error in % of each load).
    """
    z = np.asarray(zeroed_counts, dtype=np.float64)
    f = np.asarray(forces_n, dtype=np.float64)
    direction = np.sign(z)
    if len(f) < 2 or len(np.unique(np.round(f, 6))) < 2:
        raise CalibrationError("a response curve needs at least two different loads")
    if np.any(direction == 0) or len(set(direction)) > 1:
        raise CalibrationError("a load did not move the sensor's reading away from its zero (dead or unloaded sensor)")
    slope, intercept = np.polyfit(np.log(np.abs(z) / full_scale_counts), np.log(f), 1)
    a = float(np.exp(intercept)) * direction[0]
    fitted = a * direction * (np.abs(z) / full_scale_counts) ** slope
    return a, float(slope), float(np.max(np.abs(fitted - f) / f) * 100.0)


def fit_insole_curves(record: CalibrationRecord, zeroed_counts: np.ndarray, steps,
                      max_error_pct: float = MAX_CURVE_ERROR_PCT) -> tuple[ResponseCurves, np.ndarray]:
    """Per-sensor power curves from known loads on single sensors (``steps[i].sensor``).

    ``zeroed_counts`` (steps, channels). A sensor's full scale is where the record's linear
    scale reaches the heaviest load, so the curve's coefficient reads in newtons near that
    load. Returns the curves and each sensor's worst error (%); refuses misses > max_error_pct.
    """
    n = record.n_channels
    heaviest_n = max(s.weight_n for s in steps)
    full_scale = np.full(n, heaviest_n) / np.abs(record.newtons_per_count)
    a, b, err = np.array(record.newtons_per_count * full_scale), np.ones(n), np.zeros(n)
    for sensor in range(n):
        mine = [i for i, s in enumerate(steps) if s.sensor == sensor]
        if not mine:
            raise CalibrationError(f"sensor {sensor}: no known load on it (every sensor needs two or more)")
        a[sensor], b[sensor], err[sensor] = fit_power_curve(
            zeroed_counts[mine, sensor], [steps[i].weight_n for i in mine], full_scale[sensor])
    worst = int(np.argmax(err))
    if err[worst] > max_error_pct:
        raise CalibrationError(f"sensor {worst}: curve refused, misses a known load by {err[worst]:.1f}% "
                               f"(limit {max_error_pct:g}%): a wrong mass, or the load was not on that sensor only")
    return ResponseCurves(full_scale, a, b), err


def body_weight_scale(total_n: np.ndarray, body_weight_n: float) -> float:
    """The factor that makes a quiet-standing total force (N, per sample) equal the body
    weight: the mean total over the stretch (sway moves load between feet, not in total)."""
    mean = float(np.mean(total_n))
    if mean <= 0.1 * body_weight_n:
        raise CalibrationError(f"quiet standing reads {mean:.0f} N for a body weight of {body_weight_n:.0f} N: "
                               "is the person standing on the insoles, and are they connected?")
    return body_weight_n / mean


def scaled_record(record: CalibrationRecord, factor: float) -> dict:
    """The changes that scale every force of ``record`` by ``factor`` (for :meth:`updated`)."""
    changes = {"newtons_per_count": record.newtons_per_count * factor}
    if record.curves is not None:
        curves = record.curves
        changes["curves"] = ResponseCurves(curves.full_scale_counts, curves.newtons_at_full_scale * factor,
                                           curves.exponent)
    return changes
