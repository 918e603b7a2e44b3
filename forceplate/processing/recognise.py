"""Which exercise a recording shows, from the pattern of the vertical force under the feet.

Checked in this order, each rule on the total force (per-foot forces for the one-leg rule):

1. off the plates at the start, then both feet land within 0.15 s of each other (stepping
   onto the plates, or walking across them, lands one foot at a time): a *drop jump* when
   the first contact ends in a flight within 1 s and a quiet stretch weighs the body, else
   a *drop landing*;
2. a flight of 0.05-1.5 s from standing, both feet landing together: a *countermovement
   jump* when the force first drops below body weight (unweighting), else a *squat jump*;
3. two feet that carry the load in turn, one foot alone on its plate for over half of the
   loaded time, each foot alone for at least 0.1 s once, and a foot's time alone a step's
   (median at most 3 s; a single-leg set on one leg, then the other, lasts longer)
   (processing.movement.foot_contacts):
   *walking or stepping*, analysed as the force summary (no exercise reps; a single-leg
   squat loads one foot only, a squat or a jump both together);
4. the force stays within 10 % of its median (5th to 95th percentile: stepping on and off
   the plates is a few per cent of a trial) for at least 5 s: *quiet standing*;
5. a sit-to-stand rise (processing.sit_to_stand) whose seat-off peak overshoots the
   standing level and dips under it before settling, a moment below 35 % of the standing
   level, and the feet never off the plates (seated, the feet carry about a quarter of the
   body's weight; a squat's lowest force stays far above that, and stepping onto the
   plates starts from nothing): *sit-to-stand*;
6. a stretch of at least 1 s above 1.3 x body weight, after a quiet second to weigh from,
   without a flight: an *isometric squat*;
7. one foot carrying over 90 % of the load: a *single-leg squat*; otherwise a *squat*.

The answer is a guess from the force alone; ``analyze --exercise`` overrides it.
"""

from __future__ import annotations

import numpy as np

from forceplate.processing.baseline import NoBaseline, find_quiet_standing
from forceplate.processing.jumps import MAX_FLIGHT_S, MIN_FLIGHT_S, segment_jumps
from forceplate.processing.median import median
from forceplate.processing.movement import foot_contacts, runs, unloaded_level
from forceplate.processing.posturography import MIN_SWAY_S
from forceplate.processing.sit_to_stand import segment_rises

REBOUND_WITHIN_S = 1.0
BOTH_FEET_WITHIN_S = 0.15
FOOT_CONTACT_N = 20.0  # a foot is on its plate this far above its unloaded level
QUIET_RANGE = 0.10
ISOMETRIC_LEVEL = 1.3
ISOMETRIC_MIN_S = 1.0
SEATED_LEVEL = 0.35
RISE_OVERSHOOT = 1.05  # of the standing level
RISE_DIP = 0.95
ONE_LEG_SHARE = 0.9
WALKING_SINGLE_SUPPORT = 0.5  # share of the loaded time with one foot alone on
MAX_STEP_S = 3.0  # median stretch of one foot alone: a stance (0.4-2 s in the shared walks), not a one-leg set


def recognise(fz: dict, rate_hz: float) -> tuple[str, str]:
    """(exercise name, the reason in a few words) for per-foot vertical force ``fz`` (N)."""
    feet = {foot: np.asarray(x, dtype=float) for foot, x in fz.items()}
    total = sum(feet.values())
    unloaded = unloaded_level(total, rate_hz, MIN_FLIGHT_S)
    flights = [] if unloaded is None else [
        (lo, hi) for lo, hi in runs(total < unloaded.threshold_n) if hi - lo >= MIN_FLIGHT_S * rate_hz]
    if flights and flights[0][0] == 0 and flights[0][1] < len(total) and _both_feet_land(feet, flights, 0, rate_hz):
        touchdown = flights[0][1]
        if not any(lo - touchdown <= REBOUND_WITHIN_S * rate_hz for lo, _ in flights[1:]):
            return "drop_landing", "starts off the plates and lands"
        if find_quiet_standing(total, rate_hz) is None:
            return "drop_landing", ("starts off the plates, lands and jumps again, with no quiet standing to "
                                    "weigh a drop jump by: analysed as a landing")
        return "drop_jump", "starts off the plates, lands and jumps again"
    jumps = [(lo, hi) for k, (lo, hi) in enumerate(flights) if lo > 0 and hi < len(total)
             and hi - lo <= MAX_FLIGHT_S * rate_hz and _both_feet_land(feet, flights, k, rate_hz)]
    if jumps:
        try:
            first = segment_jumps(*_two_feet(feet), rate_hz).jumps
        except NoBaseline:
            first = []
        if first and first[0].unweighting_start is None:
            return "squat_jump", "a flight from standing, pushed without a countermovement"
        return "countermovement_jump", "a flight from standing after a countermovement"
    if len(feet) == 2:
        contacts = foot_contacts(feet, rate_hz)
        alone_s = [(hi - lo) / rate_hz for stretches in contacts.single_support_runs.values() for lo, hi in stretches]
        if (contacts.single_support_share > WALKING_SINGLE_SUPPORT and all(contacts.single_support_runs.values())
                and median(alone_s) <= MAX_STEP_S):
            return "force_summary", (f"walking or stepping: the feet carry the load in turn (one foot alone "
                                     f"{100 * contacts.single_support_share:.0f} % of the loaded time)")
    loaded = total > (unloaded.threshold_n if unloaded else 0.0)
    low, middle, high = np.percentile(total[loaded], [5, 50, 95]) if loaded.any() else (0.0, 0.0, 0.0)
    if middle > 0 and high - low < QUIET_RANGE * middle and len(total) >= MIN_SWAY_S * rate_hz:
        return "quiet_standing", "the force stays within 10 % of its median"
    if unloaded is None and _rises_from_a_seat(feet, total, rate_hz):
        return "sit_to_stand", "a rise from a seated level (feet under 35 % of body weight) to standing"
    quiet = find_quiet_standing(total, rate_hz)
    if quiet is not None and any(hi - lo >= ISOMETRIC_MIN_S * rate_hz and lo >= quiet.stop for lo, hi in
                                 runs(total > ISOMETRIC_LEVEL * float(np.mean(total[quiet])))):
        return "isometric_squat", "a sustained effort above 1.3 x body weight"
    shares = {foot: float(np.sum(x[loaded])) / max(float(np.sum(total[loaded])), 1e-9) for foot, x in feet.items()}
    if len(feet) == 2 and max(shares.values()) > ONE_LEG_SHARE:
        return "single_leg_squat", f"the {max(shares, key=shares.get)} foot carries over 90 % of the load"
    return "squat", "none of the other patterns"


def _rises_from_a_seat(feet: dict, total: np.ndarray, rate_hz: float) -> bool:
    """A sit-to-stand's signature: the force once under SEATED_LEVEL of the standing level,
    and a rise whose seat-off peak overshoots standing (>= 5 %) and dips under it (>= 5 %)
    before settling, as the body stops rising. A pull against a bar rises to its plateau
    without that dip; a seated lifter's quiet second is not standing."""
    try:
        analysis = segment_rises(feet, rate_hz)
    except ValueError:
        return False
    weight = analysis.body_weight_n
    return np.min(total) < SEATED_LEVEL * weight and any(
        total[r.seat_off] >= RISE_OVERSHOOT * weight and np.min(total[r.seat_off:r.standing]) < RISE_DIP * weight
        for r in analysis.rises)


def _both_feet_land(feet: dict, flights: list[tuple[int, int]], k: int, rate_hz: float) -> bool:
    """Both feet touch down within BOTH_FEET_WITHIN_S after flight ``k`` (always true for
    one plate): a foot is down once it is FOOT_CONTACT_N above its own unloaded level,
    measured in the flight before."""
    if len(feet) < 2:
        return True
    (lo, hi), end = flights[k], (flights[k + 1][0] if k + 1 < len(flights) else None)
    downs = []
    for x in feet.values():
        down = np.flatnonzero(x[hi:end] > median(x[lo:hi]) + FOOT_CONTACT_N)
        if not len(down):
            return False
        downs.append(int(down[0]))
    return max(downs) - min(downs) <= BOTH_FEET_WITHIN_S * rate_hz


def _two_feet(feet: dict) -> tuple[np.ndarray, np.ndarray]:
    """Left and right force; a one-plate recording is all on the left."""
    values = list(feet.values())
    return (feet.get("left", values[0]), feet.get("right", np.zeros_like(values[0])))
