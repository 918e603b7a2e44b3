"""Quiet-standing sway measures from a centre of pressure (CoP) trace.

The CoP (mm; x medio-lateral, toward the subject's right; y antero-posterior, forward) is
low-passed at 10 Hz (zero-lag Butterworth, as the rest of the CoP processing) and measured
over its longest stretch without gaps (a dropout or an unloaded foot is NaN, never 0; the
exercise also blanks stepping on and off with :func:`standing_only`):

- path length: the sum of the distances between successive samples (mm), and mean
  velocity = path length / duration (mm/s) (Prieto et al. 1996, IEEE Trans Biomed Eng
  43(9): 956-966);
- range (max - min) and SD (about the mean) along x (ML) and y (AP), mm;
- 95 % prediction-ellipse area (mm^2), the region a new CoP sample falls in with
  probability 0.95 under a bivariate normal (Schubert & Kirchner 2014, Gait Posture 39(1):
  518-522, "Ellipse area calculations and their applicability in posturography"):

      area = pi * c * sqrt(det S),  c = 2 (n + 1)(n - 1) / (n (n - 2)) * F(0.95; 2, n - 2)

  with S the 2x2 covariance of the CoP (n - 1 denominator) and F the F distribution's
  quantile; for large n, c tends to chi2(0.95; 2) = 5.991.

The Romberg quotient of a measure is its eyes-closed value over its eyes-open value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from forceplate.processing.filters import COP_CUTOFF_HZ, zero_lag
from forceplate.processing.forces import COP_MIN_FORCE_N
from forceplate.processing.movement import runs

ELLIPSE_PROBABILITY = 0.95
MIN_SWAY_S = 5.0  # shorter quiet standing says little about sway
ELLIPSE_FORMULA = "pi * 2(n+1)(n-1)/(n(n-2)) * F(0.95; 2, n-2) * sqrt(det cov) (Schubert & Kirchner 2014)"


@dataclass(frozen=True)
class Sway:
    """Sway measures of one CoP trace; ``start_s``/``duration_s`` say which stretch."""

    start_s: float
    duration_s: float
    path_length_mm: float
    mean_velocity_mm_s: float
    range_ml_mm: float
    range_ap_mm: float
    sd_ml_mm: float
    sd_ap_mm: float
    ellipse95_area_mm2: float

    def as_dict(self) -> dict:
        return {key: round(float(value), 3) for key, value in asdict(self).items()}


def ellipse_area_mm2(cop_mm: np.ndarray, probability: float = ELLIPSE_PROBABILITY) -> float:
    """Prediction-ellipse area (mm^2) of CoP samples (n, 2), the formula in the module text."""
    from scipy import stats  # here: scipy.stats costs half a second of start-up

    n = len(cop_mm)
    c = 2.0 * (n + 1) * (n - 1) / (n * (n - 2)) * stats.f.ppf(probability, 2, n - 2)
    return float(np.pi * c * np.sqrt(max(np.linalg.det(np.cov(cop_mm, rowvar=False)), 0.0)))


def longest_valid(cop_mm: np.ndarray) -> slice:
    """The longest stretch of samples whose CoP is known (empty when none is)."""
    stretches = runs(np.isfinite(cop_mm).all(axis=1))
    if not stretches:
        return slice(0, 0)
    lo, hi = max(stretches, key=lambda r: r[1] - r[0])
    return slice(lo, hi)


def sway(cop_mm: np.ndarray, rate_hz: float) -> Sway:
    """Sway measures of a CoP trace (n, 2) mm over its longest stretch without gaps.

    Raises ValueError when that stretch is shorter than MIN_SWAY_S.
    """
    cop_mm = np.asarray(cop_mm, dtype=float)
    valid = longest_valid(cop_mm)
    cop = cop_mm[valid]
    if len(cop) < MIN_SWAY_S * rate_hz:
        raise ValueError(f"only {len(cop) / rate_hz:.1f} s of CoP without gaps; sway needs at least {MIN_SWAY_S:g} s")
    cop = zero_lag(cop, COP_CUTOFF_HZ, rate_hz)
    path = float(np.sum(np.linalg.norm(np.diff(cop, axis=0), axis=1)))
    duration = (len(cop) - 1) / rate_hz
    return Sway(valid.start / rate_hz, duration, path, path / duration, float(np.ptp(cop[:, 0])),
                float(np.ptp(cop[:, 1])), float(np.std(cop[:, 0], ddof=1)), float(np.std(cop[:, 1], ddof=1)),
                ellipse_area_mm2(cop))


def combined_cop(fz: dict, cop: dict) -> np.ndarray:
    """The CoP of both feet together (n, 2) mm: each foot's CoP weighted by its vertical
    force. NaN wherever a foot that stands on its plate at some time has no CoP (stepping
    on, lifting it): the combined CoP would jump to the other foot. A foot never on its
    plate (a one-leg stance, one plate) is left out."""
    known = {foot: np.isfinite(c).all(axis=1) for foot, c in cop.items()}
    present = [foot for foot in cop if known[foot].any()]
    if not present:
        return np.full((len(next(iter(fz.values()))), 2), np.nan)
    weights = {foot: np.asarray(fz[foot], dtype=float) for foot in present}
    total = sum(weights.values())
    moment = sum(np.nan_to_num(cop[foot]) * weights[foot][:, None] for foot in present)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = moment / total[:, None]
    out[~np.logical_and.reduce([known[foot] for foot in present]) | ~(total > 0)] = np.nan
    return out


STANDING_BAND = 0.10  # of the median total force: stepping on or off is not quiet standing
FOOT_BAND = 0.25  # of a foot's median force: the weight moving onto or off one foot is not either


def standing_only(fz: dict, cop: dict) -> dict:
    """Each foot's CoP, NaN wherever the total vertical force is more than 10 % from its
    median, or a loaded foot's force more than 25 % from its own (stepping onto or off the
    plates, moving the weight to one foot)."""
    feet = {foot: np.asarray(x, dtype=float) for foot, x in fz.items()}
    total = sum(feet.values())
    outside = ~(np.abs(total - np.nanmedian(total)) <= STANDING_BAND * np.nanmedian(total))
    for x in feet.values():
        median = np.nanmedian(x)
        if median > COP_MIN_FORCE_N:
            outside |= ~(np.abs(x - median) <= FOOT_BAND * median)
    out = {}
    for foot, c in cop.items():
        out[foot] = np.array(c, dtype=float)
        out[foot][outside] = np.nan
    return out


def romberg_quotients(eyes_open: Sway, eyes_closed: Sway) -> dict:
    """Eyes-closed over eyes-open for each sway measure (None where eyes-open is 0)."""
    open_, closed = eyes_open.as_dict(), eyes_closed.as_dict()
    return {key: round(closed[key] / open_[key], 3) if open_[key] else None
            for key in open_ if key not in ("start_s", "duration_s")}
