"""Landings from the vertical force and CoP under each foot: touchdown, peak force, loading
rate, time to stabilisation, left/right shares and each foot's CoP excursion.

A landing is a ground contact that begins after at least 50 ms off the plates (a drop from
a box, or the end of a jump's flight). Airborne is judged against the plates' unloaded
level (:func:`forceplate.processing.movement.unloaded_level`).

Time to stabilisation (vertical): the time from touchdown until the total vertical force
enters body weight +- 5 % and stays there for 1 s. A fixed band and hold: published
time-to-stabilisation methods differ (sequential averages, fitted curves), so values
compare only under the same rule. Body weight comes from the caller or from a steady half
second after the landing; when the contact ends in a take-off first (a drop jump), it is undefined (None)
and the reason is given.

The CoP is described, never judged: in 23 of 24 real landings (../shared/data/
real-drop-jumps/PROVENANCE.md) the CoP moved toward the arch whatever the knee did, so a
medial CoP excursion in a landing does not mark knee collapse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.processing.baseline import medial_units
from forceplate.processing.forces import COP_MIN_FORCE_N
from forceplate.processing.median import median
from forceplate.processing.movement import first_settled, runs, steady_stretches, unloaded_level

MIN_AIRBORNE_S = 0.05  # shorter unloaded gaps are a bouncing touchdown, not a flight
MIN_CONTACT_S = 0.15  # shorter contacts between two flights are a bounce, not a landing
STABLE_BAND = 0.05  # of body weight
STABLE_HOLD_S = 1.0
TOUCHDOWN_COP_S = 0.01  # each foot's CoP at touchdown: its mean over its first 10 ms loaded
WEIGHING_WINDOW_S = 0.5
WEIGHING_TOLERANCE = 0.02
WEIGHING_MIN_S = 0.5  # a steady half second after the landing weighs the body


@dataclass(frozen=True)
class FootLanding:
    """One foot's share of a landing: peak force (N), vertical impulse (N*s above its
    unloaded level, touchdown to the end of the landing phase) and CoP excursion (mm)."""

    peak_force_n: float
    impulse_n_s: float
    cop_path_mm: float | None
    cop_range_ml_mm: float | None  # lab x
    cop_range_ap_mm: float | None  # lab y
    cop_medial_excursion_mm: float | None  # largest CoP move toward the arch from touchdown


@dataclass(frozen=True)
class Landing:
    """One landing; indices are samples into the input arrays.

    ``end`` closes the landing phase the shares and CoP are measured over: stabilisation or
    take-off (``kind`` "rebound": the contact ends in a jump). A landing the recording ends
    in before either is not measured (``LandingAnalysis.truncated`` counts them).
    """

    index: int
    kind: str  # "landing" (stays on the plates) or "rebound" (jumps off again)
    touchdown: int
    peak: int
    end: int
    take_off: int | None
    stabilised: int | None
    stabilisation_note: str
    flight_before_s: float | None  # None when the recording starts in the air (a drop)
    peak_force_n: float
    loading_rate_n_s: float
    feet: dict[str, FootLanding]


@dataclass(frozen=True)
class LandingAnalysis:
    """A trial's landings, with the body weight (N; where it came from) and the unloaded level (N)
    they are measured against."""

    body_weight_n: float | None
    body_weight_source: str
    unloaded_n: float | None
    landings: list[Landing]
    truncated: int  # landings the recording ends in, before they stabilise or take off again


def _foot_cop(cop_mm: np.ndarray | None, fz: np.ndarray, medial: np.ndarray, rate_hz: float) -> tuple:
    """Path length, ML and AP range, and the largest move toward the arch from the CoP at
    touchdown (mm), over one landing phase; Nones when the foot's CoP is unknown."""
    if cop_mm is None:
        return None, None, None, None
    loaded = np.isfinite(cop_mm).all(axis=1) & (fz >= COP_MIN_FORCE_N)
    if loaded.sum() < 2:
        return None, None, None, None
    cop = cop_mm[loaded]
    first = cop[: max(1, int(round(TOUCHDOWN_COP_S * rate_hz)))].mean(axis=0)
    return (float(np.sum(np.linalg.norm(np.diff(cop, axis=0), axis=1))), float(np.ptp(cop[:, 0])),
            float(np.ptp(cop[:, 1])), float(np.max((cop - first) @ medial)))


def _weigh_after(total_n: np.ndarray, start: int, stop: int, rate_hz: float) -> float | None:
    """Body weight from the last steady stretch of a contact (a landing that was held)."""
    stretches = steady_stretches(total_n[start:stop], rate_hz, WEIGHING_WINDOW_S, WEIGHING_TOLERANCE, WEIGHING_MIN_S)
    return stretches[-1][2] if stretches else None


def segment_landings(fz: dict, rate_hz: float, cop: dict | None = None,
                     body_weight_n: float | None = None) -> LandingAnalysis:
    """Every landing in per-foot vertical force ``fz`` (foot -> (n,) N) and, optionally,
    lab-frame CoP ``cop`` (foot -> (n, 2) mm, x toward the subject's right, feet parallel).

    ``body_weight_n``: known body weight (N); otherwise weighed from the last steady half
    second after a landing, or None (time to stabilisation is then undefined).
    """
    feet = {foot: np.asarray(x, dtype=float) for foot, x in fz.items()}
    total = sum(feet.values())
    n = len(total)
    unloaded = unloaded_level(total, rate_hz, MIN_AIRBORNE_S)
    source = "given" if body_weight_n is not None else "none: no steady half second after a landing"
    if unloaded is None:
        return LandingAnalysis(body_weight_n, source, None, [], 0)
    airborne = [(lo, hi) for lo, hi in runs(total < unloaded.threshold_n)
                if hi - lo >= int(round(MIN_AIRBORNE_S * rate_hz))]
    air_mask = np.zeros(n, dtype=bool)
    for lo, hi in airborne:
        air_mask[lo:hi] = True
    foot_unloaded = {foot: float(median(x[air_mask])) for foot, x in feet.items()}
    net = total - unloaded.level_n
    medial = medial_units({"left": 0.0, "right": 0.0})
    contacts = []
    for k, (lo, hi) in enumerate(airborne):
        if hi == n:
            continue
        take_off = airborne[k + 1][0] if k + 1 < len(airborne) else None
        contacts.append((hi, take_off, None if lo == 0 else (hi - lo) / rate_hz))
    if body_weight_n is None:
        weights = [w for touchdown, take_off, _ in contacts
                   if (w := _weigh_after(net, touchdown, take_off or n, rate_hz)) is not None]
        if weights:
            body_weight_n, source = float(median(weights)), "steady half second after the landing"

    landings, truncated = [], 0
    for touchdown, take_off, flight_before_s in contacts:
        stop = take_off if take_off is not None else n
        if stop - touchdown < MIN_CONTACT_S * rate_hz:
            truncated += take_off is None
            continue  # a bounce, or cut at once by the end of the recording
        peak = touchdown + int(np.argmax(net[touchdown:stop]))
        stabilised, note = None, ""
        if body_weight_n is not None:
            stabilised = first_settled(net[:stop], peak, body_weight_n, STABLE_BAND * body_weight_n,
                                       int(round(STABLE_HOLD_S * rate_hz)))
        if stabilised is None and take_off is None:
            truncated += 1  # the recording ends inside the landing phase: nothing to measure it to
            continue
        # without body weight no half second of the contact was steady: the take-off came first
        note = "" if stabilised is not None else "left the plates before stabilising"
        end = stabilised if stabilised is not None else stop
        phase = slice(touchdown, end)
        foot_results = {}
        for foot, x in feet.items():
            foot_cop = None if cop is None or cop.get(foot) is None else np.asarray(cop[foot], dtype=float)[phase]
            foot_results[foot] = FootLanding(
                float(np.max(x[touchdown:stop]) - foot_unloaded[foot]),
                float(np.sum(x[phase] - foot_unloaded[foot]) / rate_hz),
                *_foot_cop(foot_cop, x[phase], medial[foot], rate_hz))
        rise_s = max(peak - touchdown, 1) / rate_hz
        landings.append(Landing(
            index=len(landings) + 1, kind="rebound" if take_off is not None and stabilised is None else "landing",
            touchdown=touchdown, peak=peak, end=end, take_off=take_off, stabilised=stabilised,
            stabilisation_note=note, flight_before_s=flight_before_s, peak_force_n=float(net[peak]),
            loading_rate_n_s=float((net[peak] - net[touchdown]) / rise_s), feet=foot_results))
    return LandingAnalysis(body_weight_n, source, unloaded.level_n, landings, truncated)
