"""The lifter's own reference: standing weight, each foot's neutral CoP and medial direction.

"Medial" is perpendicular to each foot's long axis, toward the arch (toward the other
foot). The axes come, in this order, from a stated set-up (toe-out from the lifter's
forward), the insole's own frame, or an estimate from the squats themselves
(:func:`estimate_axes`); with none of these, the lifter's frame (feet parallel, forward
perpendicular to the line between the feet). Never the lab's x axis: plates sit turned in
labs and lifters do not face +y.

The neutral CoP is the lifter's own standing: the CoP just before each rep starts
(the standing moment between reps, 0.2 s is enough; real sets often have no standing
start), the median over the last few reps (:func:`rep_references`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forceplate.errors import ForceplateError
from forceplate.processing.median import median

G = 9.80665  # standard gravity (m/s^2), the package's one definition: weight (N) = mass (kg) * G
QUIET_WINDOW_S = 1.0
QUIET_MAX_S = 5.0
MIN_STANDING_N = 200.0
DEFAULT_FOOT_WIDTH_MM = 100.0


class NoBaseline(ForceplateError):
    """No standing and no rep was found to take a reference from."""


@dataclass(frozen=True)
class Baseline:
    """What a trial's shifts and reps are measured against, with where each part came from."""

    body_weight_n: float  # standing weight on the plates: lifter and bar (N)
    start_s: float  # first rest stretch used (s), NaN when the trial has none
    end_s: float
    neutral_cop_mm: dict  # foot -> (2,) lab frame: median of the reps' reference CoPs
    medial_unit: dict  # foot -> (2,) unit vector toward the arch
    toe_out_deg: dict  # foot -> degrees the foot is turned out from the lifter's forward
    axis_source: str = "set-up"  # or "insole frame", "the static trial's standing sway (...)", "estimated from N reps", "lifter's frame"
    foot_width_mm: float = DEFAULT_FOOT_WIDTH_MM
    weight_source: str = "standing"  # reps.GIVEN (a static trial), "standing", "rep cycles", ...
    # the weight source is an external pull's (a flywheel: the standing force is not the body weight)
    pulled: bool = False
    load_kg: float | None = None  # bar or external load, when the trial states it
    axis_uncertainty_deg: dict = field(default_factory=dict)  # foot -> 95 % half-width, None if not estimated

    @property
    def lifter_weight_n(self) -> float:
        """The lifter alone: the standing weight less a stated load."""
        return self.body_weight_n - (self.load_kg or 0.0) * G

    @property
    def mass_kg(self) -> float:
        """The lifter's mass (kg), the bar's stated load taken off."""
        return self.lifter_weight_n / G

    def as_dict(self) -> dict:
        def rounded(value, digits):
            return None if value is None or not np.isfinite(value) else round(float(value), digits)

        return {
            "standing_weight_n": round(self.body_weight_n, 2),
            "weight_source": self.weight_source,
            "pulled": self.pulled,
            "body_weight_n": round(self.lifter_weight_n, 2),
            "mass_kg": round(self.mass_kg, 2),
            "load_kg": self.load_kg,
            "start_s": rounded(self.start_s, 3),
            "end_s": rounded(self.end_s, 3),
            "neutral_cop_mm": {k: [rounded(c, 2) for c in v] for k, v in self.neutral_cop_mm.items()},
            "toe_out_deg": {foot: round(float(angle), 1) for foot, angle in self.toe_out_deg.items()},
            "axis_source": self.axis_source,
            "axis_uncertainty_deg": dict(self.axis_uncertainty_deg),
            "foot_width_mm": self.foot_width_mm,
        }


def medial_units(toe_out_deg: dict[str, float]) -> dict[str, np.ndarray]:
    """Unit vectors toward each foot's arch, for feet turned out by ``toe_out_deg[foot]``."""
    left, right = np.radians(toe_out_deg["left"]), np.radians(toe_out_deg["right"])
    return {"left": np.array([np.cos(left), np.sin(left)]), "right": np.array([-np.cos(right), np.sin(right)])}


def foot_axis(medial_unit: np.ndarray) -> np.ndarray:
    """A foot's heel-to-toe unit vector: the perpendicular of its medial direction that
    points forward (+y), for either foot."""
    perpendicular = np.array([-medial_unit[1], medial_unit[0]])
    return perpendicular if perpendicular[1] >= 0 else -perpendicular


MIN_TRAVEL_MM = 8.0  # a rep whose CoP moved less than this along the foot says nothing about its axis
MIN_AXIS_REPS = 3  # fewer usable reps: the estimate stands on too little (reported as uncertain)
MAX_AXIS_FROM_FORWARD_DEG = 60.0  # a foot turned further than this from the lifter's forward is no axis
REFERENCE_WINDOW_S = 0.1  # a rep's reference CoP: the mean over this long before its start
REFERENCE_REPS = 3  # ... and the median of that over the last this many reps (robust to one odd start)


@dataclass(frozen=True)
class FootAxes:
    """Each foot's medial unit vector (lab frame, toward the arch) and where it came from."""

    medial_unit: dict  # foot -> (2,)
    toe_out_deg: dict  # foot -> degrees turned out from the lifter's forward direction
    source: str  # "set-up", "insole frame", "estimated from N reps", "lifter's frame"
    uncertainty_deg: dict  # foot -> 95 % half-width of the estimate, None when not estimated
    from_reps: frozenset = frozenset()  # the feet whose axis the reps' travel gave (the others: stated or a fallback)


def forward_direction(left_mm: np.ndarray, right_mm: np.ndarray) -> np.ndarray:
    """The lifter's forward unit vector: perpendicular to the line from the left to the right foot.

    Plates turned in the lab and a lifter who does not face +y are covered: only which foot
    is which is assumed (the profile's or the import's foot assignment).
    """
    across = np.asarray(right_mm, float) - np.asarray(left_mm, float)
    norm = np.hypot(*across)
    if not np.isfinite(norm) or norm < 1.0:
        return np.array([0.0, 1.0])
    across /= norm
    return np.array([-across[1], across[0]])


def _rotate(v: np.ndarray, degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def stated_axes(toe_out_deg: dict, forward: np.ndarray, source: str = "set-up") -> FootAxes:
    """Feet turned out by the stated angles from the lifter's forward direction."""
    medial = {}
    for foot in ("left", "right"):
        outward = 1.0 if foot == "left" else -1.0  # the left foot turns counter-clockwise, seen from above
        axis = _rotate(forward, outward * toe_out_deg[foot])
        medial[foot] = _rotate(axis, -90.0 * outward)
    return FootAxes(medial, {f: float(toe_out_deg[f]) for f in medial}, source, dict.fromkeys(medial))


def _toe_out_of(axis: np.ndarray, forward: np.ndarray, foot: str) -> float:
    """Degrees a foot axis (either sign) is turned out from forward (+ = away from the other foot)."""
    if axis @ forward < 0:
        axis = -axis
    angle = np.degrees(np.arctan2(forward[0] * axis[1] - forward[1] * axis[0], forward @ axis))
    return float(angle if foot == "left" else -angle)


def _medial_of_line(line: np.ndarray, forward: np.ndarray, foot: str) -> np.ndarray:
    """The unit vector perpendicular to a foot's line (either sign) toward the other foot."""
    toward_other = 1.0 if foot == "left" else -1.0
    normal = np.array([-line[1], line[0]])
    across = np.array([forward[1], -forward[0]])  # left to right
    return normal if (normal @ across) * toward_other > 0 else -normal


def estimate_axes(travel_mm: dict, forward: np.ndarray, fallback: FootAxes, min_reps: int = MIN_AXIS_REPS) -> FootAxes:
    """Each foot's axis from the direction its CoP travelled at the bottom of each rep.

    ``travel_mm``: foot -> (reps, 2) CoP at each rep's bottom minus its reference (mm).
    In a squat the CoP travels along the foot, toward the heel or the toes (real squats:
    50-127 mm heel-ward; under a flywheel toe-ward): only the line matters, not the way
    along it. The median over reps (of the line's angle) resists the minority of reps in
    which a knee caved in and moved the CoP toward the arch as well; a foot needs at least
    one rep with MIN_TRAVEL_MM of travel and an axis within MAX_AXIS_FROM_FORWARD_DEG of the
    lifter's forward, else it keeps ``fallback``'s axis; fewer than ``min_reps`` usable reps
    (MIN_AXIS_REPS, or every full rep of a shorter set) leave it there too: one rep that
    travelled where the others did not may be the collapse rep. This rests on an assumption: most
    reps of a set are not collapse reps, and travel along the foot is larger than the
    collapse's medial shift.
    """
    medial, toe_out, spread, used = dict(fallback.medial_unit), dict(fallback.toe_out_deg), {}, []
    for foot, travel in travel_mm.items():
        travel = np.asarray(travel, float).reshape(-1, 2)
        keep = np.isfinite(travel).all(axis=1) & (np.hypot(travel[:, 0], travel[:, 1]) >= MIN_TRAVEL_MM)
        if keep.sum() < max(min_reps, 1):
            continue
        angles = np.arctan2(travel[keep, 1], travel[keep, 0])
        pivot = 0.5 * np.angle(np.mean(np.exp(2j * angles)))  # mean of the lines
        lines = pivot + (angles - pivot + np.pi / 2) % np.pi - np.pi / 2
        line = float(median(lines))
        axis = np.array([np.cos(line), np.sin(line)])
        turned = _toe_out_of(axis, forward, foot)
        if abs(turned) > MAX_AXIS_FROM_FORWARD_DEG:
            continue
        medial[foot] = _medial_of_line(axis, forward, foot)
        toe_out[foot] = turned
        mad = 1.4826 * float(median(np.abs(lines - line))) if len(lines) > 1 else np.nan
        spread[foot] = round(float(np.degrees(1.96 * mad / np.sqrt(len(lines)))), 1) if len(lines) >= MIN_AXIS_REPS else None
        used.append(len(lines))
    if not used:
        return fallback
    note = "" if min(used) >= MIN_AXIS_REPS and len(used) == len(travel_mm) else " (uncertain: few reps or a foot kept its fallback)"
    fewest = min(used)
    return FootAxes(medial, toe_out, f"estimated from {fewest} rep{'' if fewest == 1 else 's'}{note}",
                    {foot: spread.get(foot) for foot in medial}, frozenset(spread))


MIN_SWAY_ELONGATION = 3.0  # standing sway this much longer than wide (SD) has a direction
MIN_SWAY_DIRECTION_S = 0.5  # of standing: less says nothing about a direction
MAX_SWAY_MM = 60.0  # quiet standing keeps each foot's CoP within a few mm; this far is moving
SWAY_BANDWIDTH_HZ = 1.0  # standing sway is slower than this: about two independent samples a second


def standing_sway_axes(cop_mm: dict, rate_hz: float, forward: np.ndarray) -> tuple[dict, dict] | None:
    """Each foot's toe-out (degrees from ``forward``) from the direction its CoP swayed in quiet
    standing (a static trial), and a 95 % half-width of it; None when a foot's sway has no
    clear direction (less than MIN_SWAY_DIRECTION_S, or not MIN_SWAY_ELONGATION times longer than wide).

    This rests on an assumption: in standing on both feet each foot's CoP sways along the foot
    (the ankles rock the body forward and back; sideways sway moves weight between the feet,
    not the CoP within one). The real recordings bear it out: the KU Leuven squat's 0.55 s of
    standing swayed 10-15 times longer than wide, along lines 4-5 degrees from the markers'
    heel-toe lines (docs/validation.md); the KTH static trial 50 times longer than wide.
    The CoP is low-passed at COP_CUTOFF_HZ first, as the analysis low-passes it.
    """
    from forceplate.processing.filters import COP_CUTOFF_HZ, zero_lag

    toe_out, uncertainty = {}, {}
    for foot in ("left", "right"):
        cop = np.asarray(cop_mm[foot], dtype=float).reshape(-1, 2)
        cop = cop[np.isfinite(cop).all(axis=1)]
        if len(cop) < max(MIN_SWAY_DIRECTION_S * rate_hz, 16):
            return None
        cop = cop - median(cop, axis=0)  # only the sway matters (and no far-off origin squares to inf)
        if np.abs(cop).max() > MAX_SWAY_MM:
            return None  # a foot stepped or lifted (its CoP runs off where its force fades): no quiet standing
        smooth = np.column_stack([zero_lag(cop[:, k], COP_CUTOFF_HZ, rate_hz) for k in range(2)])
        spread, directions = np.linalg.eigh(np.cov((smooth - smooth.mean(axis=0)).T))
        narrow, long = max(float(spread[0]), 1e-12), float(spread[1])
        if long < MIN_SWAY_ELONGATION ** 2 * narrow:
            return None
        turned = _toe_out_of(directions[:, 1], forward, foot)
        if abs(turned) > MAX_AXIS_FROM_FORWARD_DEG:
            return None
        toe_out[foot] = round(turned, 1)
        uncertainty[foot] = _sway_half_width_deg(narrow, long, len(cop) / rate_hz)
    return toe_out, uncertainty


MIN_REST_SWAY_S = 0.25  # a stretch of standing between reps shorter than this says little about a direction
MIN_REST_SWAY_STRETCHES = 2  # ... and the stretches must agree with each other: one could sway by chance
MIN_REST_SWAY_ELONGATION = 5.0  # pooled standing sway between reps this much longer than wide (SD)
MAX_STRETCH_APART_DEG = 20.0  # a stretch whose own line is this far from the pooled line disagrees with it
MIN_REST_SWAY_AGREEING = 0.8  # of the standing (samples) in stretches that agree: the line is clear
MAX_SWAY_TURN_MM = 15.0  # the sideways travel at the axis sample by which the sway line may turn the reps' line
MAX_SWAY_TURN_DEG = 25.0  # ... and never further (reps that travel little along the foot bound nothing)
MAX_SWAY_TOE_IN_DEG = 20.0  # one foot's sway line turned in further than this is chance; both feet's, swapped labels


@dataclass(frozen=True)
class SwayStretch:
    """One stretch of standing: its samples and scatter about its mean (mm²), and its line."""

    samples: int
    scatter_mm2: np.ndarray  # (2, 2): sum of outer products of the CoP about the stretch's mean
    line_rad: float  # the stretch's own principal direction (an undirected line)


def sway_stretch(cop_mm: np.ndarray, rate_hz: float) -> SwayStretch | None:
    """One stretch of standing between reps, low-passed CoP (n, 2) mm; None when it is too short,
    not finite, or not standing (the CoP further than MAX_SWAY_MM from its median)."""
    cop = np.asarray(cop_mm, dtype=float).reshape(-1, 2)
    if len(cop) < max(MIN_REST_SWAY_S * rate_hz, 4) or not np.isfinite(cop).all():
        return None
    if np.abs(cop - median(cop, axis=0)).max() > MAX_SWAY_MM:
        return None
    centred = cop - cop.mean(axis=0)
    scatter = centred.T @ centred
    _, directions = np.linalg.eigh(scatter)
    return SwayStretch(len(cop), scatter, float(np.arctan2(directions[1, 1], directions[0, 1])))


def rest_sway_axes(stretches: dict, rate_hz: float, forward: np.ndarray) -> dict:
    """Per foot, (toe-out degrees from ``forward``, 95 % half-width) from the line its CoP swayed
    along in the standing between reps (``stretches``: foot -> list of :class:`SwayStretch`);
    a foot is left out when its sway has no clear, agreed direction.

    The same assumption as :func:`standing_sway_axes` (each foot's CoP sways along the foot), with
    stricter tests, because a few short stretches of a slow sway can look like a line by chance:
    at least MIN_REST_SWAY_STRETCHES stretches whose own lines lie within MAX_STRETCH_APART_DEG of
    the pooled line, holding MIN_REST_SWAY_AGREEING of the standing (the others, a stretch that
    caught the end of a rep, are left out), and their pooled sway MIN_REST_SWAY_ELONGATION times
    longer than wide. On the simulator with sway as wide as long, these tests kept the axes from
    being worse than the reps' estimate alone.
    """
    out = {}
    for foot, own in stretches.items():
        own = [s for s in own if s is not None]
        if len(own) < MIN_REST_SWAY_STRETCHES:
            continue
        weights = np.array([s.samples for s in own], dtype=float)
        _, directions = np.linalg.eigh(sum(s.scatter_mm2 for s in own))
        pooled = np.arctan2(directions[1, 1], directions[0, 1])
        apart = np.abs((np.array([s.line_rad for s in own]) - pooled + np.pi / 2) % np.pi - np.pi / 2)
        agree = apart <= np.radians(MAX_STRETCH_APART_DEG)
        if agree.sum() < MIN_REST_SWAY_STRETCHES or weights[agree].sum() < MIN_REST_SWAY_AGREEING * weights.sum():
            continue
        own, weights = [s for s, kept in zip(own, agree) if kept], weights[agree]  # one stretch that caught a step is left out
        spread, directions = np.linalg.eigh(sum(s.scatter_mm2 for s in own) / (weights.sum() - len(own)))
        narrow, long = max(float(spread[0]), 1e-12), float(spread[1])
        if long < MIN_REST_SWAY_ELONGATION ** 2 * narrow:
            continue
        turned = _toe_out_of(directions[:, 1], forward, foot)
        if abs(turned) <= MAX_AXIS_FROM_FORWARD_DEG:
            out[foot] = (turned, _sway_half_width_deg(narrow, long, weights.sum() / rate_hz))
    turned_in = {foot for foot, (turned, _) in out.items() if turned < -MAX_SWAY_TOE_IN_DEG}
    if turned_in and turned_in != {"left", "right"}:
        # One foot turned in this far is a chance line. Both are swapped labels (or a lifter
        # facing the other way): the lifter's forward is then reversed and every toe-out reads
        # with its sign flipped, while the lines, and medial (toward the other foot), are right
        # (the KU Leuven file, imported as its format says: 41 and 37 deg "in").
        out = {foot: line for foot, line in out.items() if foot not in turned_in}
    return out


def _sway_half_width_deg(narrow: float, long: float, duration_s: float) -> float:
    """95 % half-width of a sway's principal direction: its standard error is
    sqrt(narrow * long / (n (long - narrow)^2)) rad, n the independent samples (SWAY_BANDWIDTH_HZ)."""
    independent = max(2.0, 2.0 * SWAY_BANDWIDTH_HZ * duration_s)
    return round(float(np.degrees(1.96 * np.sqrt(narrow * long / (independent * (long - narrow) ** 2)))), 1)


def turned_to_sway(axes: FootAxes, sway: dict, travel: dict | None, forward: np.ndarray, described: str) -> FootAxes:
    """``axes`` with each foot in ``sway`` (:func:`rest_sway_axes`) turned to its sway line, when the
    reps' line (``travel``: foot -> (reps, 2) mm, :func:`estimate_axes`'s) differs from it by no
    more than a sideways travel of MAX_SWAY_TURN_MM at the reps' median travel explains, and by
    MAX_SWAY_TURN_DEG at most, but by more than the two lines' 95 % half-widths together (battery
    seed 27: a sway line of +-10.5 deg turned a reps' line of +-1.0 deg 11 deg off the foot, and
    a severe collapse of 17 mm read 6 mm). A foot whose reps gave no line (``axes.from_reps``: it kept the
    fallback, feet taken as parallel) takes its sway line however far that turns it: the
    fallback is no measurement to defend (the KU Leuven squat as a set: the left foot's reps
    travelled across it, 77-88 degrees from forward, so it kept 0 degrees where it stood at 31
    and its sway says 41; its heel slide then read as 20-25 mm toward the arch).

    Why: a knee that goes out (or a habit that moves the CoP toward the arch) in most reps of
    a set turns the reps' line by that sideways travel, and a rep without it then reads as a
    shift toward the arch (the battery's knees-out sets). The sway line has no such bias. A
    larger difference means one of the two is wrong; the reps' line, from more movement, stays.
    """
    medial, toe_out, uncertainty = dict(axes.medial_unit), dict(axes.toe_out_deg), dict(axes.uncertainty_deg)
    turned = []
    for foot, (toe, half_width) in sway.items():
        line = _rotate(forward, toe if foot == "left" else -toe)
        rows = np.asarray(travel[foot], float).reshape(-1, 2) if travel is not None else np.empty((0, 2))
        rows = rows[np.isfinite(rows).all(axis=1)]
        along = float(median(np.abs(rows @ line))) if len(rows) else 0.0
        reps_line = np.array([axes.medial_unit[foot][1], -axes.medial_unit[foot][0]])
        apart_deg = float(np.degrees(np.arccos(min(1.0, abs(float(reps_line @ line))))))
        if foot in axes.from_reps and apart_deg > min(MAX_SWAY_TURN_DEG, np.degrees(np.arctan2(MAX_SWAY_TURN_MM, along))):
            continue
        # ...and only when the two lines' 95 % intervals do not overlap: a sway line no surer
        # than its difference from a tight reps' line is no evidence that the reps' is biased
        if foot in axes.from_reps and apart_deg <= half_width + (axes.uncertainty_deg.get(foot) or 0.0):
            continue
        medial[foot], toe_out[foot], uncertainty[foot] = _medial_of_line(line, forward, foot), toe, half_width
        turned.append(foot)
    if not turned:
        return axes
    feet = "both feet" if len(turned) == len(medial) else f"the {turned[0]} foot"
    return FootAxes(medial, toe_out, f"{axes.source}; {feet} along the standing sway between reps ({described})",
                    uncertainty, axes.from_reps - set(turned))


def quiet_mask(total_n: np.ndarray, rate_hz: float, window_s: float = 0.2, reference_n: float | None = None,
               tolerance: float = 0.01) -> np.ndarray:
    """Samples inside a still window: force steady (std) and, given a reference, near it.

    Window statistics are trailing (causal), so live and offline agree.
    """
    n = max(2, int(round(window_s * rate_hz)))
    x = np.asarray(total_n, dtype=float)
    c1 = np.cumsum(np.concatenate([[0.0], x]))
    c2 = np.cumsum(np.concatenate([[0.0], x * x]))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - n, 0)
    count = idx - lo
    mean = (c1[idx] - c1[lo]) / count
    var = np.maximum((c2[idx] - c2[lo]) / count - mean**2, 0.0)
    level = reference_n if reference_n is not None else np.abs(mean)
    still = (np.sqrt(var) < np.maximum(3.0, tolerance * level)) & (count >= n)
    if reference_n is not None:
        still &= np.abs(mean - reference_n) < tolerance * reference_n
    return still & (mean > MIN_STANDING_N)


def find_quiet_standing(total_n: np.ndarray, rate_hz: float) -> slice | None:
    """The first stretch of at least 1 s of quiet standing (at most 5 s of it)."""
    window = int(round(QUIET_WINDOW_S * rate_hz))
    still = quiet_mask(total_n, rate_hz, window_s=QUIET_WINDOW_S)
    hits = np.flatnonzero(still)
    if len(hits) == 0:
        return None
    start = hits[0] - window + 1
    end = hits[0] + 1
    while end < len(still) and still[end] and end - start < QUIET_MAX_S * rate_hz:
        end += 1
    if end < len(still) and end - start > window:
        # A trailing window notices movement only once it has moved its statistics: the
        # last quarter second before "not quiet" may already be the start of the squat.
        end = max(start + window, end - window // 4)
    return slice(max(start, 0), end)


def rep_reference(cop_mm: np.ndarray, start: int, earliest: int, rate_hz: float) -> np.ndarray:
    """A foot's CoP (mm) in the standing moment just before a rep starts at sample ``start``:
    the mean over REFERENCE_WINDOW_S, not before ``earliest`` (the previous rep's end); the
    start sample itself when there is no such moment (a recording that starts mid-rep)."""
    lo = max(earliest, start - int(round(REFERENCE_WINDOW_S * rate_hz)))
    window = cop_mm[lo:start + 1]
    finite = np.isfinite(window).all(axis=1)
    return window[finite].mean(axis=0, dtype=float) if finite.any() else np.full(2, np.nan)


def running_reference(own: list[np.ndarray]) -> np.ndarray:
    """The reference a rep is measured against: the median of its own and the previous
    REFERENCE_REPS - 1 reps' standing CoPs (causal: live and offline agree), robust to one
    rep that started with the CoP still off centre."""
    recent = np.array(own[-REFERENCE_REPS:], dtype=float).reshape(-1, 2)
    finite = np.isfinite(recent).all(axis=1)
    return median(recent[finite], axis=0) if finite.any() else np.full(2, np.nan)
