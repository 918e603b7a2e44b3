"""Jump segmentation from the vertical force of two plates (impulse-momentum).

Phases follow the usual force-plate definitions (McMahon et al. 2018, Strength Cond J
40(4)): *unweighting* from movement onset (force 5 SD below body weight) to the peak
downward velocity, *braking* from there to zero velocity (lowest centre of mass),
*propulsion* from there to take-off, then *flight* to landing. A squat jump starts upward
(no unweighting or braking). A jump whose ground contact begins with a landing (a drop
jump, or the next of repeated hops) is a *rebound*: braking runs from touchdown.

Airborne is judged against the plates' own unloaded reading, not against 0 N: some plates
read exact 0 with nobody on them, others carry an offset (Sample_Jump2.c3d reads about
25 N in flight). Flights are found first at a coarse 10% of body weight, which any sane
offset stays under; the unloaded level and its noise are then measured in those flights,
and the edges are placed where the force leaves that level by 5 SD (at least 10 N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.processing.baseline import G, MIN_STANDING_N, NoBaseline, find_quiet_standing, quiet_mask
from forceplate.processing.median import median
from forceplate.processing.movement import robust_sd, runs

JUMP_STILL_WINDOW_S = 0.4  # s: still before and after a jump (squats use 0.2 s: rest between reps is short)

AIRBORNE_FRACTION = 0.10  # coarse flight detection: below 10% of body weight
AIRBORNE_MARGIN_N = 10.0  # flight edges at least this far above the unloaded level
ONSET_SD = 5.0  # movement onset: force this many SD of quiet standing away from body weight
ONSET_PERSIST_S = 0.03  # ...for this long, so one noisy sample does not start a jump
# The 5-SD crossing comes after the force has begun to change; integrating from 30 ms
# earlier (Owen et al. 2014, J Strength Cond Res 28(6)) keeps the impulse before it.
ONSET_BACKOFF_S = 0.03
STANDING_TOLERANCE = 0.02  # of body weight: standing still between jumps
MIN_FLIGHT_S = 0.05  # shorter gaps in contact are a bouncing touchdown, not a flight
MAX_FLIGHT_S = 1.5  # longer off the plates is stepping off (record jumps fly about 1 s)


@dataclass(frozen=True)
class Jump:
    """One jump; events are sample indices into the input arrays.

    ``kind`` is "standing" (the contact began from standing still) or "rebound" (it began
    with a landing: a drop jump, or a hop after a hop).
    ``contact_start`` is the movement onset of a jump from standing, or the touchdown that
    begins a rebound's contact. ``unweighting_start`` and ``braking_start`` are None when
    the jump has no such phase (a squat jump has neither; a rebound brakes from touchdown).
    ``height_impulse_m`` is NaN for a rebound: the touchdown velocity is not measured.
    ``left_share`` is the left plate's share of the vertical impulse over the contact.
    """

    index: int
    kind: str
    contact_start: int
    unweighting_start: int | None
    braking_start: int | None
    propulsion_start: int
    take_off: int
    landing: int
    flight_time_s: float
    contact_time_s: float
    takeoff_velocity_m_s: float
    height_flight_m: float
    height_impulse_m: float
    peak_force_n: float
    peak_landing_force_n: float
    left_share: float


@dataclass(frozen=True)
class JumpAnalysis:
    """Body weight (N; the plates' unloaded level subtracted when a flight shows it), the
    quiet stretch it came from, the unloaded level and airborne threshold (N, None without
    a flight), and the jumps."""

    body_weight_n: float
    quiet: slice
    unloaded_n: float | None
    airborne_threshold_n: float | None
    jumps: list[Jump]

    @property
    def mass_kg(self) -> float:
        return self.body_weight_n / G


def _quiet_stretch(total_n: np.ndarray, rate_hz: float) -> slice:
    """The quiet stretch body weight comes from: the first one, or the last one when the
    recording starts off the plates (a drop jump has no quiet phase before the jump)."""
    starts_off = total_n[0] < MIN_STANDING_N
    signal = total_n[::-1] if starts_off else total_n
    quiet = find_quiet_standing(signal, rate_hz)
    if quiet is None:
        raise NoBaseline("no quiet standing (at least 1 s, steady force) found for body weight")
    if starts_off:
        return slice(len(total_n) - quiet.stop, len(total_n) - quiet.start)
    return quiet


def _flights(total_n: np.ndarray, threshold_n: float, rate_hz: float) -> list[tuple[int, int]]:
    """(first, past-last) sample of each stretch below ``threshold_n`` long enough to be a flight."""
    min_len = int(round(MIN_FLIGHT_S * rate_hz))
    return [(lo, hi) for lo, hi in runs(total_n < threshold_n) if hi - lo >= min_len]


def segment_jumps(left_n: np.ndarray, right_n: np.ndarray, rate_hz: float) -> JumpAnalysis:
    """Body weight and every jump in a recording of the vertical force under each foot (N).

    Raises NoBaseline when there is no quiet standing of at least 1 s to weigh the body.
    """
    left_n = np.asarray(left_n, dtype=float)
    right_n = np.asarray(right_n, dtype=float)
    total = left_n + right_n
    quiet = _quiet_stretch(total, rate_hz)
    # Median and MAD: the trailing-window quiet detector lets the first ramp of the
    # movement into the end of its stretch.
    standing_n = float(median(total[quiet]))
    onset_n = ONSET_SD * robust_sd(total[quiet])

    coarse = _flights(total, AIRBORNE_FRACTION * standing_n, rate_hz)
    if not coarse:
        return JumpAnalysis(standing_n, quiet, None, None, [])
    unloaded = np.concatenate([total[lo:hi] for lo, hi in coarse])
    unloaded_n = float(median(unloaded))
    threshold_n = unloaded_n + max(ONSET_SD * robust_sd(unloaded), AIRBORNE_MARGIN_N)
    flights = _flights(total, threshold_n, rate_hz)

    mass_kg = (standing_n - unloaded_n) / G
    # Steady near body weight; wider than the squat rest band (reps.still_band_n), because the level of quiet
    # standing differs between the pauses of one recording (BFR007: 881, 872, 867 N).
    still = quiet_mask(total, rate_hz, window_s=JUMP_STILL_WINDOW_S, reference_n=standing_n,
                       tolerance=STANDING_TOLERANCE)
    persist = max(1, int(round(ONSET_PERSIST_S * rate_hz)))
    backoff = int(round(ONSET_BACKOFF_S * rate_hz))
    still_n = int(round(JUMP_STILL_WINDOW_S * rate_hz))

    jumps: list[Jump] = []
    previous_landing = None
    for n_flight, (take_off, landing) in enumerate(flights):
        flight_time_s = (landing - take_off) / rate_hz
        # Off the plates at the first sample (a drop), at the last (stepping off) or for
        # too long: not a jump, though what follows may rebound from its landing.
        if take_off == 0 or landing == len(total) or flight_time_s > MAX_FLIGHT_S:
            previous_landing = landing
            continue
        search_from = previous_landing if previous_landing is not None else 0
        still_before = np.flatnonzero(still[search_from:take_off])
        unweighting = braking = None
        if len(still_before) == 0 and previous_landing is not None:
            kind, contact_start = "rebound", previous_landing
            # Touchdown velocity is unknown; take-off velocity follows from the flight time
            # (take-off and landing at the same height), so integrate back from take-off.
            v_takeoff = G * flight_time_s / 2
            impulse_to_take_off = np.cumsum((total[contact_start:take_off] - standing_n)[::-1])[::-1]
            v = v_takeoff - impulse_to_take_off / mass_kg / rate_hz
            braking = contact_start
            height_impulse_m = float("nan")
        else:
            kind = "standing"
            window_start = search_from
            if len(still_before):
                # the still mask is trailing: the movement may begin inside the last still window
                window_start = max(search_from, search_from + int(still_before[-1]) - still_n + 1)
            away = np.abs(total[window_start:take_off] - standing_n) > onset_n
            long_runs = [lo for lo, hi in runs(away) if hi - lo >= persist or hi == take_off - window_start]
            contact_start = window_start + (long_runs[0] if long_runs else 0)
            integrate_from = max(window_start, contact_start - backoff)
            v = np.cumsum(total[integrate_from:take_off] - standing_n) / mass_kg / rate_hz
            v = v[contact_start - integrate_from:]
            if total[contact_start] < standing_n:
                unweighting = contact_start
                braking = contact_start + int(np.argmin(v))
            v_takeoff = float(v[-1])
            height_impulse_m = v_takeoff**2 / (2 * G) if v_takeoff > 0 else 0.0
        if braking is None:  # a squat jump pushes from its onset
            propulsion = contact_start
        else:  # lowest centre of mass: velocity turns upward after braking
            down = np.flatnonzero(v[braking - contact_start:] <= 0)
            propulsion = braking + (int(down[-1]) + 1 if len(down) else 0)
        contact = slice(contact_start, take_off)
        next_take_off = flights[n_flight + 1][0] if n_flight + 1 < len(flights) else len(total)
        impulse_left = float(np.sum(left_n[contact]))
        jumps.append(Jump(
            index=len(jumps) + 1,
            kind=kind,
            contact_start=contact_start,
            unweighting_start=unweighting,
            braking_start=braking,
            propulsion_start=propulsion,
            take_off=take_off,
            landing=landing,
            flight_time_s=flight_time_s,
            contact_time_s=(take_off - contact_start) / rate_hz,
            takeoff_velocity_m_s=float(v_takeoff),
            height_flight_m=G * flight_time_s**2 / 8,
            height_impulse_m=float(height_impulse_m),
            peak_force_n=float(np.max(total[contact])),
            peak_landing_force_n=float(np.max(total[landing:next_take_off])),
            left_share=impulse_left / float(np.sum(total[contact])),
        ))
        previous_landing = landing
    return JumpAnalysis(standing_n - unloaded_n, quiet, unloaded_n, threshold_n, jumps)
