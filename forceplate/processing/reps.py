"""Squat rep segmentation from total vertical force (impulse-momentum), for real sets.

Vertical acceleration of the centre of mass is ``(F - W) / m`` (W: the standing weight,
lifter and bar); integrating it gives velocity, and the velocity's runs below and above
zero are the descents and ascents. Integration drifts with any error in W, so velocity is
held at zero at *anchors*, moments the body is known to be at rest:

- standing or pausing (the force steady at W for 0.2 s **and** the drift-free first-pass
  velocity near zero: in the middle of a slow descent the force also sits at W for half a
  second, while the body moves fastest), trimmed to where the force's own integral keeps the
  velocity within V_REST_SPAN (a slow turn, or a pause running into the slow start of an
  ascent, is steady force 1-2 % of W off it); "steady" allows for body tremor, "at W" only for
  the sensors' noise; near the recording's ends, where the first pass's high-pass mirrors what
  the recording did not do, "slow" may also be judged on a later pass's anchored velocity;
- the top between two reps, where the ascent turns into the next descent (real sets have
  0-0.5 s between reps and often no standing at all).

Pass 1 finds the reps on a high-passed velocity (immune to a wrong W); each later pass
anchors at the tops found, re-estimates W when the trial has no standing (the mean force
over whole rep cycles, top to top, equals W), and integrates again, de-drifted linearly
between anchors. A recording that starts mid-rep is integrated backward from its first
anchor, so no rest is assumed at its first sample. Flights and steps off the plates
(force below a fifth of W) split the recording: no integration runs through them.

A rep is a descent (velocity below -V_MOVING) followed by an ascent (above +V_MOVING);
its start and end are where velocity leaves and returns to rest (or the tops between
back-to-back reps), its bottom is the middle of the turn, its depth the integral of the
descent velocity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from forceplate.processing.baseline import G
from forceplate.processing.filters import FORCE_CUTOFF_HZ, high_pass, maximum_filter1d, minimum_filter1d, zero_lag
from forceplate.processing.median import median
from forceplate.processing.movement import runs

V_MOVING = 0.05  # m/s: a descent or ascent is under way
V_STILL = 0.01  # m/s: slower than this is not descending or ascending
V_REST = 0.002  # m/s: a rep starts and ends where the body is this close to rest
V_PHASE = 0.1  # m/s: slower than this between descent and ascent is "the bottom"
V_ANCHOR = 0.05  # m/s: a steady stretch is rest only if the first-pass velocity (near the ends: or a later pass's) is this small
MIN_DEPTH_M = 0.05  # shallower dips are sway, not reps
BOTTOM_LEVEL = 0.98  # the bottom is the middle of where the body is this deep of its deepest
PARTIAL_FRACTION = 0.6  # a rep shallower than this share of the set's median depth is partial
# Still (used live and for the rest anchors): every sample of the trailing window within
# this band around the standing weight. Real sets stand 0.2-0.5 s between reps.
STILL_WINDOW_S = 0.2
STILL_TOLERANCE = 0.005  # of the standing weight
STILL_TOLERANCE_MIN_N = 4.0  # force noise of a quiet stander on a real plate is about 1-1.5 N
NEAR_WEIGHT_BANDS = 2  # rest: the calm force within this many steady bands of the weight
MIN_STANDING_S = 0.2  # this much rest in total gives the standing weight directly
UNLOADED_FRACTION = 0.2  # of the median force: below it, nobody stands on the plates
# Rest is judged on the force low-passed harder: standing is slow, and muscle tremor (8-12 Hz)
# or insole noise would otherwise keep a pause at the bottom from counting as rest.
STILL_CUTOFF_HZ = 4.0
FIRST_PASS_HIGH_PASS_HZ = 0.08  # removes the drift of a wrong weight, keeps reps of up to ~6 s
PASSES = 3  # anchor-and-integrate passes after the first; the reps settle in two

PHASES = ("standing", "descent", "bottom", "ascent")
GIVEN = "given (a static trial)"  # the weight's source when the caller states it
GUESSED = "median force"  # the weight's source when nothing has measured it yet


@dataclass(frozen=True)
class Rep:
    """One squat rep: sample indices into the analysed arrays and their times (s)."""

    index: int
    start: int
    bottom: int
    end: int
    start_s: float
    bottom_s: float
    end_s: float
    depth_m: float  # centre-of-mass drop from start to bottom (m); NaN when not measurable
    peak_force_n: float
    partial: bool = False


@dataclass(frozen=True)
class Segmentation:
    """The reps of a recording, the velocity they were found from, and the standing weight."""

    reps: list[Rep]
    velocity: np.ndarray  # m/s, + up
    weight_n: float  # standing weight, lifter and bar (N)
    weight_source: str  # GIVEN, "standing", "rep cycles", "median force", or under an external pull
    rest: np.ndarray  # samples at rest (standing, pausing) used as anchors
    # under an external pull (a flywheel, a band: the weight source says so): the reps come from
    # the force's humps, the force is not the weight and the velocity is not measured
    pulled: bool = False


def acceleration(total_n: np.ndarray, weight_n) -> np.ndarray:
    """Vertical acceleration (m/s^2) of the lifter (and bar) from the total vertical force,
    against a standing weight (N) that is one number or one per sample (it drifts over a set)."""
    a = total_n - weight_n
    if np.ndim(weight_n) == 0:
        a *= G / weight_n  # in place: a whole trial's acceleration is one temporary, not two
        return a
    for lo in range(0, len(a), WEIGHT_SAMPLES_BLOCK):  # G / weight a block at a time, not a third array
        a[lo:lo + WEIGHT_SAMPLES_BLOCK] *= G / weight_n[lo:lo + WEIGHT_SAMPLES_BLOCK]
    return a


def still_band_n(weight_n: float) -> float:
    return max(STILL_TOLERANCE * weight_n, STILL_TOLERANCE_MIN_N)


def window_samples(rate_hz: float) -> int:
    return max(2, int(round(STILL_WINDOW_S * rate_hz)))


def _whole_windows(window_end: np.ndarray, n: int) -> np.ndarray:
    """Every sample of each trailing window that ended at a True of ``window_end``: sample i
    is in one when a window ends in ``[i, i + n)``. That span is doubled a step at a time, in
    the mask itself (no counts of the recording's length, two int64 arrays of it)."""
    inside = np.array(window_end, dtype=bool)
    reach = 1  # inside[i]: a window ends in [i, i + reach)
    while reach < n:
        step = min(reach, n - reach)
        inside[:-step] |= inside[step:]  # numpy reads the overlap as it was
        reach += step
    return inside


def window_range(force: np.ndarray, rate_hz: float) -> np.ndarray:
    """The force's range (N) over the trailing window of STILL_WINDOW_S ending at each sample."""
    n = window_samples(rate_hz)
    hi = maximum_filter1d(force, n, origin=(n - 1) // 2, mode="nearest")
    hi -= minimum_filter1d(force, n, origin=(n - 1) // 2, mode="nearest")  # in place: one temporary fewer
    return hi


def steady_ends(force: np.ndarray, rate_hz: float, band_n: float, force_range: np.ndarray | None = None) -> np.ndarray:
    """Samples ending a window of STILL_WINDOW_S whose force range is below ``band_n``
    (trailing: live marks the same samples). ``force_range``: the force's
    :func:`window_range`, when the caller has it (the segmentation judges two bands on one range)."""
    n = window_samples(rate_hz)
    ends = (window_range(force, rate_hz) if force_range is None else force_range) < band_n
    ends[: n - 1] = False
    return ends


def steady_mask(force: np.ndarray, rate_hz: float, band_n: float, force_range: np.ndarray | None = None) -> np.ndarray:
    """Samples inside a window of STILL_WINDOW_S whose force range is below ``band_n``."""
    return _whole_windows(steady_ends(force, rate_hz, band_n, force_range), window_samples(rate_hz))


def integrate_anchored(a: np.ndarray, anchors: np.ndarray, rate_hz: float) -> np.ndarray:
    """Velocity (m/s) from acceleration, zero at ``anchors``.

    Between two anchors the integral is corrected linearly so that it returns to zero at
    the next; before the first anchor it is integrated backward from it (the recording may
    start mid-rep); after the last, forward from it. ``a`` is given up: the velocity takes its
    place (each stretch is integrated before it is overwritten), one array of the recording's
    length instead of two.
    """
    if not anchors.any():
        return _integral(a, rate_hz)
    v = a
    v[anchors] = 0.0
    for lo, hi in runs(~anchors):
        seg = v[lo:hi][::-1] if lo == 0 else v[lo:hi]  # backward before the first anchor
        seg.cumsum(out=seg)  # in place: a stretch's samples are read in order before each is overwritten
        seg /= -rate_hz if lo == 0 else rate_hz  # -(sum) / rate to the bit: a division's sign is the operands' alone
        if lo and hi < len(a):
            seg -= _ramp(seg[-1], len(seg))
    return v


def _ramp(stop: float, num: int) -> np.ndarray:
    """``np.linspace(0.0, stop, num)`` to the bit, in numpy's own steps (arange times the step,
    or divided then multiplied when the step underflows to 0, plus the start, the end set to
    ``stop``), without linspace's argument handling: ~10 us a call, a dozen calls a live segmentation."""
    y = np.arange(num, dtype=float)
    if num > 1:
        step = stop / (num - 1)
        if step == 0:
            y /= num - 1
            y *= stop
        else:
            y *= step
    else:
        y *= stop
    y += 0.0
    if num > 1:
        y[-1] = stop
    return y


def phases(v: np.ndarray, in_rep: np.ndarray) -> np.ndarray:
    """Phase code per sample (index into PHASES) from velocity, for samples inside reps."""
    code = np.zeros(len(v), dtype=np.int8)
    code[in_rep] = 2
    code[in_rep & (v < -V_PHASE)] = 1
    code[in_rep & (v > V_PHASE)] = 3
    return code


def phase_at(v: float) -> str:
    """The phase of a sample inside a rep from its vertical velocity (m/s): live and offline."""
    return "descent" if v < -V_PHASE else "ascent" if v > V_PHASE else "bottom"


@dataclass(frozen=True)
class _Found:
    start: int
    bottom: int
    end: int
    depth_m: float
    descent_end: int  # end of the descending run
    ascent_start: int


def _find(seg: np.ndarray, rate_hz: float) -> list[_Found]:
    """Descent-then-ascent pairs of the velocity ``seg`` (m/s)."""
    downs, ups = runs(seg < -V_MOVING), runs(seg > V_MOVING)
    if not downs or not ups:
        return []
    # a descent's start walks back while falling, an ascent's end on while rising (NaN stops both)
    falling, rising = seg < -V_REST, seg > V_REST
    last = len(seg) - 1
    found: list[_Found] = []
    up_i = 0
    last_end = 0
    for d_lo, d_hi in downs:
        if d_lo < last_end:
            continue
        while up_i < len(ups) and ups[up_i][0] < d_hi:
            up_i += 1
        if up_i == len(ups):
            break
        u_lo, u_hi = ups[up_i]
        # back from the descent while still falling (not past the last rep's end), on from the
        # ascent while still rising (not past the last sample): each walk stops at the first
        # sample it meets (argmin stops at the first False), not at the end of the search
        before = falling[last_end:d_lo][::-1]
        stop = int(before.argmin()) if len(before) else 0
        start = d_lo - stop if len(before) and not before[stop] else last_end
        end = min(u_hi, last)
        after = rising[end:last]
        stop = int(after.argmin()) if len(after) else 0
        end = end + stop if len(after) and not after[stop] else last
        # the bottom: the middle of where the body is within BOTTOM_LEVEL of its deepest
        drop = seg[start:end + 1].cumsum()
        drop /= -rate_hz  # -(sum) / rate to the bit: a division's sign is the operands' alone
        depth = float(drop.max())
        if depth < MIN_DEPTH_M:
            continue
        deep = drop >= BOTTOM_LEVEL * depth
        first = int(deep.argmax())
        bottom = start + ((first + len(deep) - 1 - int(deep[::-1].argmax())) // 2 if deep[first] else 0)
        last_end = end
        found.append(_Found(start, bottom, end, depth, d_hi, u_lo))
    return found


TOP_STAND_S = 0.1  # standing this long (half a still window) at the top between two reps is where they turn
TOP_REACH_S = 0.25  # ...when it lies within this of where the last pass's velocity is nearest zero


def _tops(found: list[_Found], v: np.ndarray, standing: np.ndarray | None = None, rest: np.ndarray | None = None,
          rate_hz: float = 0.0) -> list[int]:
    """The turn from one rep's ascent into the next rep's descent: where velocity is nearest zero,
    or, between reps with no ``rest`` (anchored) between them, where the force stands at the
    weight (``standing``; both or neither given) for TOP_STAND_S within TOP_REACH_S of that, the
    middle of the longest such stretch.

    Why: velocity integrated through a set that starts with no standing can be off by a few
    cm/s at the top, and its nearest-zero then sits where the body already moves (battery seed
    76: 0.077 m/s into the next descent; anchored there, the first rep's bottom came 0.18 s
    early and 12 % shallow). Force at the weight for a tenth of a second between an ascent and a
    descent is a body that stands still (the assumption: not one moving steadily); mid-ascent,
    where a slow rep's force also crosses the weight, lies further from the turn."""
    tops = []
    reach = int(TOP_REACH_S * rate_hz)
    for first, second in zip(found, found[1:]):
        lo, hi = first.ascent_start, second.descent_end
        top = lo + int(np.abs(v[lo:hi + 1]).argmin()) if hi > lo else lo
        if standing is not None and hi > lo and not rest[lo:hi + 1].any():
            near_lo, near_hi = max(lo, top - reach), min(hi, top + reach)
            stands = [(stand_hi - stand_lo, stand_lo, stand_hi) for stand_lo, stand_hi in runs(standing[near_lo:near_hi + 1])
                      if stand_hi - stand_lo >= TOP_STAND_S * rate_hz]
            if stands:
                _, stand_lo, stand_hi = max(stands)
                top = near_lo + (stand_lo + stand_hi - 1) // 2
        tops.append(top)
    return tops


def segment_reps(t: np.ndarray, total_n: np.ndarray, rate_hz: float, weight_n: float | None = None,
                 filtered: bool = False) -> Segmentation:
    """Reps in a recording of the summed vertical force of both feet (N).

    ``weight_n``: the standing weight (lifter and bar) when known (a static trial); else it
    is measured from the recording's rest, or from whole rep cycles. Set ``filtered`` if
    ``total_n`` is already low-passed.
    """
    force = np.asarray(total_n if filtered else zero_lag(total_n, FORCE_CUTOFF_HZ, rate_hz), dtype=float)
    finite = np.isfinite(force)
    level = float(median(force[finite], overwrite_input=True)) if finite.any() else 0.0  # the median sorts its copy
    if level <= 0 or len(force) < 2 * window_samples(rate_hz):
        return Segmentation([], np.zeros(len(force)), level, GUESSED, np.zeros(len(force), bool))
    if not finite.all():  # a copy only where there are gaps to zero
        force = np.where(finite, force, 0.0)
    del finite
    calm = zero_lag(force, STILL_CUTOFF_HZ, rate_hz)
    calm_range = window_range(calm, rate_hz)  # judged against two bands: the standing weight's, the rest's
    loaded = force > UNLOADED_FRACTION * level
    weight, source = (float(weight_n), GIVEN) if weight_n else _standing_weight(calm, loaded, rate_hz, level, calm_range)
    rest = np.zeros(len(force), dtype=bool)
    v = None  # made when a stretch is not the whole recording: one that is gives its own velocity
    found: list[_Found] = []
    pulled = False  # whether the weight source is a pull's (a later stretch keeps it unless it measures the weight)
    for lo, hi in runs(loaded):
        if hi - lo < 2 * window_samples(rate_hz):
            continue
        whole = hi - lo == len(force)  # a stretch's own window range differs at its edges
        part = _segment_loaded(force[lo:hi], calm[lo:hi], rate_hz, weight, source, calm_range if whole else None)
        if _plausible(part[0], part[1]):
            pulled = pulled and part[4] == source
        else:
            part = _segment_by_force_pattern(calm[lo:hi], rate_hz, part[3], source)
            pulled = True
        if whole:
            rest, v = part[2], part[1]
        else:
            v = np.zeros(len(force)) if v is None else v
            rest[lo:hi], v[lo:hi] = part[2], part[1]
        found += part[0] if not lo else [replace(f, start=f.start + lo, bottom=f.bottom + lo, end=f.end + lo,
                                                 descent_end=f.descent_end + lo, ascent_start=f.ascent_start + lo)
                                         for f in part[0]]
        weight, source = part[3], part[4]
    depths = np.array([f.depth_m for f in found])
    partial_below = PARTIAL_FRACTION * float(median(depths, overwrite_input=True)) if found else 0.0
    reps = [Rep(i + 1, f.start, f.bottom, f.end, float(t[f.start]), float(t[f.bottom]), float(t[f.end]),
                f.depth_m, float(force[f.start:f.end + 1].max()), f.depth_m < partial_below)
            for i, f in enumerate(found)]
    return Segmentation(reps, np.zeros(len(force)) if v is None else v, weight, source, rest, pulled)


def _standing_weight(force: np.ndarray, loaded: np.ndarray, rate_hz: float, level: float,
                     force_range: np.ndarray) -> tuple[float, str]:
    """The weight from the recording's steady stretches near the median force, if there are enough
    (``force_range``: the force's :func:`window_range`)."""
    steady = steady_mask(force, rate_hz, max(6.0 * _noise_n(force[loaded], rate_hz)[0], still_band_n(level) / 2), force_range)
    steady &= loaded
    weight, source = level, GUESSED
    for _ in range(3):  # the median of a squat set is near the weight; steady stretches near it are rest
        near = steady & (np.abs(force - weight) < 2 * still_band_n(weight))
        if near.sum() < MIN_STANDING_S * rate_hz:
            break
        settled = float(median(force[near], overwrite_input=True))
        if settled == weight:  # the next round would find the same stretches and the same median
            return settled, "standing"
        weight, source = settled, "standing"
    return weight, source


def _segment_loaded(force: np.ndarray, calm: np.ndarray, rate_hz: float, weight: float, source: str,
                    calm_range: np.ndarray | None):
    """Reps, velocity, rest and the weight of one stretch with someone on the plates
    (``calm_range``: the calm force's :func:`window_range`, if the caller has it).

    Rest is steady force while the drift-free velocity is small, whatever the weight: the
    standing force drifts over a set (insole sensors creep, a load changes), so the weight
    is followed in time (:func:`_weight_in_time`) instead of taken once.
    """
    # Pass 1: drift-free velocity, to tell rest from the slow middle of a descent. A wrong
    # weight integrates to a ramp, which the high-pass removes (mirrored oddly at the ends)...
    v = high_pass(_integral(acceleration(force, weight), rate_hz), FIRST_PASS_HIGH_PASS_HZ, rate_hz)
    found = _find(v, rate_hz)
    if source != GIVEN:
        # ...but the odd mirror also pins the velocity near zero at the first sample, and a
        # recording may start mid-rep. With the weight followed over the cycles found, little
        # ramp is left, and an even mirror keeps the velocity the recording starts with.
        weight_t, followed = _weight_in_time(force, [], _tops(found, v), weight, rate_hz)
        if followed:
            v = None  # the first velocity's memory is free for the second
            a = acceleration(force, weight_t)
        del weight_t  # each pass below follows the weight afresh
        if followed:
            v = high_pass(_integral(a, rate_hz), FIRST_PASS_HIGH_PASS_HZ, rate_hz, mirror="even")
            del a
            found = _find(v, rate_hz)
    band, near_band = steady_bands_n(force, weight, rate_hz)
    steady = steady_mask(calm, rate_hz, band, calm_range)
    steady_and_slow = steady & _slow(v, rate_hz)
    steady_at_ends = _ends(steady, rate_hz)  # re-judged on each pass's velocity (_rejudge_ends)
    del steady
    # ...and near the weight: a slow sinusoidal turn at the bottom is steady and slow, but
    # the force there is the weight plus the turn's acceleration
    standing = _near(calm, weight, NEAR_WEIGHT_BANDS * near_band)  # the force at the weight (the tops')
    rest = steady_and_slow & standing
    if source != GUESSED:
        rest = _at_rest_through(rest, calm, weight, rate_hz)
    levels, levels_of = [], None  # the rest's evidence of the weight, and the rest it is of
    last_tops = last_source = None  # the last pass's evidence: tops, rest (levels_of) and source
    for _ in range(PASSES):
        tops = _tops(found, v, standing, rest, rate_hz)  # at the weight the last pass followed
        # v is a pass's anchored velocity on every pass but the first (the first pass's judged already)
        widened = last_tops is not None and _rejudge_ends(steady_and_slow, steady_at_ends, v, rate_hz)
        if not widened and tops == last_tops and source == last_source and np.array_equal(rest, levels_of):
            # a pass is a function of its tops, rest, source and the slow steady stretches alone:
            # with the last pass's, this one and every one after it would repeat it to the bit
            # (a fifth of live's windows)
            break
        last_tops, last_source = tops, source
        v = None  # the last pass's velocity is not needed for this one (its tops are taken)
        if levels_of is None or not np.array_equal(rest, levels_of):
            levels, levels_of = _rest_levels(calm, rest), rest  # the rest seldom changes between passes
        weight_t = None  # the last pass's is not needed for this one's
        weight_t, followed = _weight_in_time(force, levels, tops, weight, rate_hz)
        standing = _near(calm, weight_t, NEAR_WEIGHT_BANDS * near_band)
        rest = steady_and_slow & standing
        if followed or source != GUESSED:
            rest = _at_rest_through(rest, calm, weight_t, rate_hz)
        if followed and source != GIVEN:
            source = "standing" if rest.sum() >= MIN_STANDING_S * rate_hz else "rep cycles"
        if source == GIVEN:
            weight_t = np.full(len(force), weight)
        anchors = rest.copy()
        anchors[tops] = True
        v = integrate_anchored(acceleration(force, weight_t), anchors, rate_hz)
        found = _find(v, rate_hz)
    return found, v, rest, float(median(weight_t, overwrite_input=True)), source


def _slow(v: np.ndarray, rate_hz: float) -> np.ndarray:
    """|v| below V_ANCHOR over the window around each sample (centred and cut at the ends, as
    ``maximum_filter1d``'s): no sample of it this fast, a NaN counting as fast (it makes a
    window's extremes NaN). The fast samples spread over their windows, in a mask: the same
    samples as the window's largest and smallest v, without two running extremes (issue 14)."""
    n = window_samples(rate_hz)
    within = v < V_ANCHOR
    within &= v > -V_ANCHOR
    fast = np.zeros(len(v) + n // 2, dtype=bool)  # the window reaches n // 2 samples back
    np.logical_not(within, out=fast[n // 2:])
    slow = _whole_windows(fast, n)[:len(v)]
    np.logical_not(slow, out=slow)
    return slow


# Within this much of a stretch's first and last sample the first pass's velocity is not to be
# trusted to tell rest from motion: its high-pass mirrors the integral at the ends, as if the
# recording went on the way it began or ended, and settles over about a quarter period of its
# cutoff. A recording that starts mid-rep (its true velocity at the first sample is not zero) or
# stops with a rep leaves the first pass 0.05-0.13 m/s off there, so a pause at the first rep's
# bottom or the standing after the last rep read as motion and anchored nothing (issue 12:
# first rep F1 0.88).
END_ZONE_S = 0.25 / FIRST_PASS_HIGH_PASS_HZ


def _ends(mask: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Copies of ``mask`` within END_ZONE_S of its first and of its last sample."""
    n = min(len(mask), int(END_ZONE_S * rate_hz))
    return mask[:n].copy(), mask[len(mask) - n:].copy()


def _rejudge_ends(steady_and_slow: np.ndarray, steady_at_ends: tuple[np.ndarray, np.ndarray], v: np.ndarray,
                  rate_hz: float) -> bool:
    """Near the stretch's ends (END_ZONE_S), a steady stretch is also slow where the last pass's
    anchored velocity ``v`` is (its integral runs from the anchors found since, not from the
    first pass's mirror); added to ``steady_and_slow`` in place. Only there: in the middle of a
    slow rep the anchored velocity can be small while the body moves (a rest anchored there split
    or hid the rep, seen on the battery), and there the first pass is the better judge. Returns
    whether any sample was added."""
    first, last = steady_at_ends
    n, context = len(first), window_samples(rate_hz)  # the window's reach: the zone's edge is judged whole
    if not n:
        return False
    lo = len(v) - n
    widened = False
    added = first & ~steady_and_slow[:n]
    if added.any():  # else nothing can be added: the velocity's windows are not looked at
        added &= _slow(v[:n + context], rate_hz)[:n]
        steady_and_slow[:n] |= added
        widened = bool(added.any())
    added = last & ~steady_and_slow[lo:]
    if added.any():
        added &= _slow(v[max(0, lo - context):], rate_hz)[lo - max(0, lo - context):]
        steady_and_slow[lo:] |= added
        widened = widened or bool(added.any())
    return widened


V_REST_SPAN = V_STILL  # m/s: the velocity the force may give a body at rest over a rest stretch


def _at_rest_through(rest: np.ndarray, calm: np.ndarray, weight, rate_hz: float) -> np.ndarray:
    """``rest`` trimmed to where the force keeps the body still: from each stretch's middle
    outward, until the force's integral (against the weight) has changed the velocity by
    V_REST_SPAN; stretches left shorter than a still window are dropped. A pause at the
    bottom that runs into the slow start of the ascent, or a slow turn, is steady force near
    the weight, yet 0.5 % of the weight over a second is 0.05 m/s. Only against a measured
    weight: against a guessed one (the median force, 1-2 % off on a short window) no rest
    would be left to measure it from (live would wait for two whole cycles for its weight)."""
    out = np.zeros(len(rest), dtype=bool)
    shortest = window_samples(rate_hz)
    constant = np.ndim(weight) == 0
    for lo, hi in runs(rest):
        if hi - lo < shortest:  # trimming only shortens it
            continue
        w = weight if constant else weight[lo:hi]
        u = calm[lo:hi] - w
        u *= G / w
        u.cumsum(out=u)
        u /= rate_hz
        mid = (hi - lo) // 2
        u -= u[mid]  # the middle's value is taken before it is overwritten
        np.abs(u, out=u)
        off = u > V_REST_SPAN
        # the last sample off before the middle, the first after it: each search stops at it
        before = off[mid - 1::-1]
        k = int(before.argmax())
        first = mid - k if before[k] else 0
        k = int(off[mid:].argmax())
        last = mid + k if off[mid + k] else hi - lo
        if last - first >= shortest:
            out[lo + first:lo + last] = True
    return out


def _integral(a: np.ndarray, rate_hz: float) -> np.ndarray:
    """The running integral of ``a`` sampled at ``rate_hz``: ``np.cumsum(a) / rate_hz`` in
    ``a``'s place (given up: the callers' accelerations are their own)."""
    a.cumsum(out=a)
    a /= rate_hz
    return a


def _near(x: np.ndarray, level, band: float) -> np.ndarray:
    """Where ``|x - level| < band``, with one temporary."""
    distance = x - level
    np.abs(distance, out=distance)
    return distance < band


MAX_PLAUSIBLE_DEPTH_M = 1.0  # no centre of mass drops further in a squat
MAX_PLAUSIBLE_SPEED_M_S = 2.5


def _plausible(found: list[_Found], v: np.ndarray) -> bool:
    """Whether the force moved a body the way squats do. A flywheel strap or a band pulls
    the lifter down with a force that is not the weight: integrated as if it were, the
    force reads as metres of depth (the KTH flywheel squat: 4 m)."""
    return (not found or max(f.depth_m for f in found) <= MAX_PLAUSIBLE_DEPTH_M) and \
        float(np.max([v.max(initial=0.0), -v.min(initial=0.0)])) <= MAX_PLAUSIBLE_SPEED_M_S  # no |v| array


PULLED = "an external pull (flywheel, band): depth not measurable"  # in the weight source under a pull (Segmentation.pulled)
EXTERNAL_PEAK_PROMINENCE = 0.1  # of the weight: a rep's force hump under an external load
EXTERNAL_MIN_REP_S = 0.8


def _segment_by_force_pattern(calm: np.ndarray, rate_hz: float, weight: float, source: str):
    """Reps under an external pull: each rep is a hump of the force (largest at the bottom,
    where the lifter brakes hardest), from trough to trough, its bottom the hump's peak
    (the KTH flywheel squat: 0.13 s from the markers' bottom); depth is not measurable."""
    from scipy.signal import find_peaks

    slow = zero_lag(calm, 1.0, rate_hz)
    peaks, _ = find_peaks(slow, prominence=EXTERNAL_PEAK_PROMINENCE * weight,
                          distance=max(1, int(EXTERNAL_MIN_REP_S * rate_hz)))
    found, last_end = [], 0
    for k, peak in enumerate(peaks):
        nxt = peaks[k + 1] if k + 1 < len(peaks) else len(slow)
        start = last_end + int(np.argmin(slow[last_end:peak + 1]))
        end = peak + int(np.argmin(slow[peak:nxt])) if nxt > peak else peak
        found.append(_Found(start, int(peak), end, float("nan"), int(peak), int(peak)))
        last_end = end
    return (found, np.zeros(len(calm)), np.zeros(len(calm), bool), weight,
            f"{GIVEN}; {PULLED}" if source == GIVEN else f"the median force under {PULLED}")


def steady_bands_n(force: np.ndarray, weight: float, rate_hz: float) -> tuple[float, float]:
    """How far the calm force may wander in a window and still be rest, and how far from the
    weight it may be: the still band, or six times the force's sample-to-sample noise when that
    is larger (insoles). The wander is judged on the noise throughout, body tremor included (a
    pause at the bottom trembles as the squat does); the distance from the weight on the noise of
    the quietest blocks, the sensors' alone (:func:`_noise_n`)."""
    throughout, quietest = _noise_n(force, rate_hz)
    return max(still_band_n(weight), 6.0 * throughout), max(still_band_n(weight), 6.0 * quietest)


NOISE_BLOCK_S = 1.0  # the sensors' noise is measured a block of this length at a time...
NOISE_QUIET_SHARE = 0.2  # ...and taken from the quietest fifth of the blocks
NOISE_MIN_BLOCKS = 5  # fewer blocks: the whole recording's


def _noise_n(force: np.ndarray, rate_hz: float) -> tuple[float, float]:
    """The force's sample-to-sample noise (N), a robust SD of its differences over sqrt(2):
    throughout the recording, and in its quietest blocks. Sensor noise is the same throughout;
    body tremor (3-12 Hz, 0.5-1.2 % of the weight RMS while squatting, 0.84 % on the KU Leuven
    squat) grows as the body moves, and measured throughout it would let the slow turn at the
    bottom, 1-2 % of the weight off it, pass for rest (anchored at zero velocity while moving
    at 0.05 m/s: the bottoms came 0.1-0.25 s early and a quarter shallow)."""
    if len(force) <= 2:
        return 0.0, 0.0
    steps = force[1:] - force[:-1]  # np.diff's subtraction
    np.abs(steps, out=steps)  # in place, and the medians sort them where they are: one temporary
    block = max(2, int(round(NOISE_BLOCK_S * rate_hz)))
    blocks = len(steps) // block
    quiet = None
    if blocks >= NOISE_MIN_BLOCKS:  # each block's median sorts its own row (the whole one's is the same after)
        per_block = median(steps[:blocks * block].reshape(blocks, block), axis=1, overwrite_input=True)
        k = int(NOISE_QUIET_SHARE * blocks)
        quiet = float(np.partition(per_block, k)[k])
    throughout = float(median(steps, overwrite_input=True))
    return 1.4826 * throughout / np.sqrt(2), 1.4826 * (throughout if quiet is None else quiet) / np.sqrt(2)


WEIGHT_TREND_S = 10.0  # s: the weight drifts over a set (sensor creep, a load shifting), not within a rep
WEIGHT_GRID_S = 0.5  # s: the trend is evaluated this often and interpolated between
WEIGHT_GRID_BLOCK = 256  # grid points whose kernel rows are computed at a time
WEIGHT_SAMPLES_BLOCK = 1 << 16  # samples interpolated at a time (no sample numbers of the recording's length)


def _rest_levels(calm, rest) -> list[tuple[float, float, int]]:
    """Each rest stretch's middle (sample), median calm force (N) and length (samples)."""
    return [((lo + hi) / 2, float(median(calm[lo:hi].copy(), overwrite_input=True)), hi - lo) for lo, hi in runs(rest)]


def _weight_in_time(force, rest_levels, tops, weight, rate_hz) -> tuple[np.ndarray, bool]:
    """The standing weight at every sample, from what each stretch says: each rest stretch its
    force (``rest_levels``, :func:`_rest_levels`), each whole cycle between two tops its mean
    force (over a cycle from rest to rest the mean force is the weight), each weighted by its duration.

    The evidence is smoothed into a trend (a Gaussian-weighted local line, WEIGHT_TREND_S wide),
    not joined point to point: a slow turn at the bottom or the first slow second of an ascent
    is steady force a few newtons off the weight, and a weight that followed it would hide the
    rep (0.5 % of the weight over a 3 s ascent is 0.15 m/s of velocity). Constant beyond the
    first and last evidence.
    """
    times, levels, spans = (list(column) for column in zip(*rest_levels)) if rest_levels else ([], [], [])
    for first, second in zip(tops, tops[1:]):
        if second > first:
            times.append((first + second) / 2)
            levels.append(float(force[first:second].sum() / (second - first)))  # np.mean's sum and division
            spans.append(second - first)
    if not times:
        return np.full(len(force), weight), False
    x, y, w = (np.asarray(values, dtype=float) for values in (times, levels, spans))
    step = max(1, int(WEIGHT_GRID_S * rate_hz))
    grid = np.minimum(np.maximum(np.arange(0, len(force) + step, step), x.min()), x.max())  # np.clip, without its checks
    trend = np.empty(len(grid))
    # a block of grid points at a time: the kernel is grid points x evidence, which grows with
    # the square of the recording's length (an hour: 7,200 x 2,800, 160 MB a temporary)
    for lo in range(0, len(grid), WEIGHT_GRID_BLOCK):
        at = grid[lo:lo + WEIGHT_GRID_BLOCK]
        kernel = w * np.exp(-0.5 * ((at[:, None] - x[None, :]) / (WEIGHT_TREND_S * rate_hz)) ** 2)
        total = kernel.sum(axis=1)
        mean_x = (kernel @ x) / total
        mean_y = (kernel @ y) / total
        from_mean_x = x - mean_x[:, None]
        spread = (kernel * from_mean_x ** 2).sum(axis=1)
        slope = np.divide((kernel * from_mean_x * (y - mean_y[:, None])).sum(axis=1), spread,
                          out=np.zeros_like(spread), where=spread > 1e-9 * total * rate_hz ** 2)
        trend[lo:lo + WEIGHT_GRID_BLOCK] = mean_y + slope * (at - mean_x)
    return _between_knots(trend, step, len(force)), True


def _between_knots(trend: np.ndarray, step: int, n: int) -> np.ndarray:
    """``np.interp(np.arange(n), np.arange(len(trend)) * step, trend)`` to the bit (the knots
    span the samples): each knot's value, and between two knots the slope (their difference over
    ``step``) times the samples since the first plus its value, as np.interp computes it, a row
    of samples per knot at once instead of a search for each sample (issue 14). A trend that is
    not finite (no evidence within reach of a knot) is left to np.interp, which treats NaN its way."""
    if not np.isfinite(trend).all():
        out, knots = np.empty(n), np.arange(len(trend)) * step
        for lo in range(0, n, WEIGHT_SAMPLES_BLOCK):  # no sample numbers of the recording's length
            hi = min(lo + WEIGHT_SAMPLES_BLOCK, n)
            out[lo:hi] = np.interp(np.arange(lo, hi), knots, trend)
        return out
    rows = np.empty((len(trend) - 1, step))
    np.multiply(((trend[1:] - trend[:-1]) / step)[:, None], np.arange(step, dtype=float), out=rows)
    rows += trend[:-1, None]
    rows[:, 0] = trend[:-1]
    return rows.reshape(-1)[:n]
