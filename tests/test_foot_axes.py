"""Each foot's axis from the standing between reps (issue 12, item 3): the sway line, its tests,
how far it may turn the reps' line, and a knees-out set whose few plain reps read as collapse
along the reps' line alone."""

from dataclasses import replace

import numpy as np
import pytest

from forceplate.events import EventKind
from forceplate.processing import analysis, streaming
from forceplate.processing.analysis import analyze_feet
from forceplate.processing.baseline import estimate_axes, rest_sway_axes, stated_axes, sway_stretch, turned_to_sway
from forceplate.processing.streaming import StreamingAnalyzer
from forceplate.profiles import SIDES
from forceplate.sim.squat import RepPlan, SquatPlan, Subject
from forceplate.validation import SessionSpec, feet_in_lab, simulate

RATE_HZ = 100.0
FORWARD = np.array([0.0, 1.0])


def _line(foot: str, toe_out_deg: float) -> np.ndarray:
    """A foot's heel-to-toe unit vector turned out by ``toe_out_deg`` from +y."""
    turn = np.radians(toe_out_deg if foot == "left" else -toe_out_deg)
    return np.array([-np.sin(turn), np.cos(turn)])


def _stretches(foot: str, toe_out_deg, seed: int, count: int = 6, seconds: float = 0.5,
               along_mm: float = 1.0, across_mm: float = 0.1) -> list:
    """``count`` stretches of standing: slow sway along the foot (and ``across_mm`` across it),
    each line its own when ``toe_out_deg`` is a list."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    out = []
    for k in range(count):
        angle = toe_out_deg[k] if isinstance(toe_out_deg, list) else toe_out_deg
        line = _line(foot, angle)
        across = np.array([line[1], -line[0]])
        wave = np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 2 * np.pi))
        side = np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 2 * np.pi))
        out.append(sway_stretch(np.outer(along_mm * wave, line) + np.outer(across_mm * side, across)
                                + rng.normal(0, 0.02, (len(t), 2)), RATE_HZ))
    return out


def test_the_standing_between_reps_gives_each_foot_its_sway_line():
    sway = rest_sway_axes({"left": _stretches("left", 25.0, 1, seconds=0.8), "right": _stretches("right", 10.0, 101, seconds=0.8)},
                          RATE_HZ, FORWARD)
    for foot, truth in (("left", 25.0), ("right", 10.0)):
        toe_out, half_width = sway[foot]
        assert 0 < half_width < 8 and abs(toe_out - truth) <= half_width  # within its own 95 % half-width


def test_both_feet_turned_in_are_swapped_labels_and_keep_their_lines():
    """Both feet's sway reading 40 and 30 deg "in" is a swap of the labels (the lifter's forward
    reversed, every toe-out's sign flipped; medial, toward the other foot, unchanged): the lines
    are kept. One foot alone turned in that far is a chance line and is left out."""
    both = rest_sway_axes({"left": _stretches("left", -40.0, 11), "right": _stretches("right", -30.0, 12)}, RATE_HZ, FORWARD)
    assert both["left"][0] == pytest.approx(-40.0, abs=3.0) and both["right"][0] == pytest.approx(-30.0, abs=3.0)
    one = rest_sway_axes({"left": _stretches("left", -40.0, 11), "right": _stretches("right", 10.0, 12)}, RATE_HZ, FORWARD)
    assert set(one) == {"right"}


@pytest.mark.parametrize("why, stretches", [
    ("as wide as long", _stretches("left", 25.0, 3, across_mm=1.0)),
    ("one stretch (a slow sway looks like a line by chance)", _stretches("left", 25.0, 4, count=1, seconds=3.0)),
    ("the stretches' lines disagree", _stretches("left", [0.0, 40.0, -20.0, 60.0, 20.0, -40.0], 5)),
    ("turned in 35 degrees", _stretches("left", -35.0, 6)),
    ("too short", _stretches("left", 25.0, 7, seconds=0.1)),
])
def test_sway_with_no_clear_agreed_line_gives_no_axis(why, stretches):
    assert rest_sway_axes({"left": stretches}, RATE_HZ, FORWARD) == {}, why


def test_a_stretch_that_is_no_standing_is_left_out():
    cop = np.zeros((100, 2))
    cop[50:] = 200.0  # a foot stepped: its CoP is elsewhere
    assert sway_stretch(cop, RATE_HZ) is None
    cop[:] = 0.0
    cop[10] = np.nan
    assert sway_stretch(cop, RATE_HZ) is None


@pytest.mark.parametrize("reps_deg, along_mm, turned", [
    (12.0, 60.0, True),  # 8 deg apart: 8 mm sideways at 60 mm along explains it
    (0.0, 60.0, False),  # 20 deg apart: 22 mm sideways at 60 mm along, more than a knee moves the CoP
    (-10.0, 2.0, False),  # 30 deg apart: reps that hardly travel bound nothing, the cap (25) does
])
def test_the_sway_line_turns_the_reps_line_only_as_far_as_sideways_travel_explains(reps_deg, along_mm, turned):
    reps = replace(stated_axes({"left": reps_deg, "right": 10.0}, FORWARD, "estimated from 6 reps"),
                   from_reps=frozenset(SIDES))
    travel = {"left": np.tile(-along_mm * _line("left", reps_deg), (6, 1)), "right": np.zeros((6, 2))}
    axes = turned_to_sway(reps, {"left": (20.0, 2.0)}, travel, FORWARD, "6 stretches, 3.0 s")
    assert (axes.toe_out_deg["left"] == pytest.approx(20.0)) is turned
    assert axes.toe_out_deg["right"] == 10.0 and ("the left foot along the standing sway" in axes.source) is turned
    if turned:
        assert np.allclose(axes.medial_unit["left"], stated_axes({"left": 20.0, "right": 0.0}, FORWARD).medial_unit["left"])
        assert axes.uncertainty_deg["left"] == 2.0
        assert axes.from_reps == {"right"}


@pytest.mark.parametrize("sway_half_width, reps_half_width, turned", [
    (2.0, 1.0, True),  # 8 deg apart, the two lines' 95 % intervals (2 + 1 deg) apart: the reps' is biased
    (10.5, 1.0, False),  # a sway line no surer than its difference (battery seed 27): the tight reps' line stays
    (5.0, 4.0, False),  # the intervals overlap
])
def test_the_sway_line_turns_the_reps_line_only_when_they_differ_beyond_both_uncertainties(
        sway_half_width, reps_half_width, turned):
    reps = replace(stated_axes({"left": 12.0, "right": 10.0}, FORWARD, "estimated from 6 reps"),
                   from_reps=frozenset(SIDES), uncertainty_deg={"left": reps_half_width, "right": 1.0})
    travel = {"left": np.tile(-60.0 * _line("left", 12.0), (6, 1)), "right": np.zeros((6, 2))}
    axes = turned_to_sway(reps, {"left": (20.0, sway_half_width)}, travel, FORWARD, "6 stretches, 3.0 s")
    assert (axes.toe_out_deg["left"] == pytest.approx(20.0)) is turned
    assert axes.toe_out_deg["left"] == pytest.approx(20.0 if turned else 12.0)


def test_a_foot_its_reps_gave_no_line_takes_its_sway_line_however_far():
    """The left foot's reps travelled across it (the KU Leuven squat: 77-88 degrees from forward),
    so estimate_axes left it at the fallback, parallel feet: its sway (40 degrees) replaces that
    guess, while the right foot's line from its reps is turned only as far as travel explains."""
    fallback = stated_axes(dict.fromkeys(SIDES, 0.0), FORWARD, "lifter's frame")
    travel = {"left": np.tile(15.0 * _line("left", 85.0), (5, 1)), "right": np.tile(-60.0 * _line("right", 35.0), (5, 1))}
    reps = estimate_axes(travel, FORWARD, fallback)
    assert reps.from_reps == {"right"} and reps.toe_out_deg["left"] == 0.0
    axes = turned_to_sway(reps, {"left": (40.0, 2.0), "right": (5.0, 2.0)}, travel, FORWARD, "6 stretches, 7.3 s")
    assert axes.toe_out_deg["left"] == pytest.approx(40.0) and axes.uncertainty_deg["left"] == 2.0
    assert axes.toe_out_deg["right"] == pytest.approx(35.0, abs=0.1)  # 30 degrees from its reps' line: kept
    assert "the left foot along the standing sway" in axes.source


def _knees_out_set(seed: int) -> SessionSpec:
    """Feet out 25 and 15 degrees, sway 15 times longer along the foot than across (real feet:
    10-50), knees out 12 mm in six reps of eight and not in reps 3 and 6: along the reps' line
    alone, the plain reps read as a shift toward the arch (the battery's knees-out sets)."""
    reps = [RepPlan(descent_s=1.2, bottom_s=0.2, ascent_s=1.0, rest_s=0.9, depth_m=0.45, cop_travel_mm=-60.0,
                    knees_out_mm={} if k in (2, 5) else dict.fromkeys(SIDES, 12.0)) for k in range(8)]
    return SessionSpec(seed=seed, devices="plates4", generator="lean",
                       subject=Subject(toe_out_left_deg=25.0, toe_out_right_deg=15.0, sway_elongation=15.0),
                       plan=SquatPlan(reps=8, baseline_s=2.0, rep_plans=reps), stated_toe_out_deg=None,
                       family="knees-out")


def _line_error_deg(truth: np.ndarray, medial: np.ndarray) -> float:
    return float(np.degrees(np.arccos(min(1.0, abs(float(truth @ medial))))))


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_a_knees_out_set_is_measured_along_the_feet_not_along_its_knees(seed, monkeypatch):
    rec = simulate(_knees_out_set(seed))
    truth = feet_in_lab(_knees_out_set(seed), rec.model)
    found = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, None)
    assert "both feet along the standing sway between reps" in found.baseline.axis_source
    assert all(_line_error_deg(truth[foot][1], found.baseline.medial_unit[foot]) < 4.0 for foot in SIDES)
    assert len(found.reps) >= 7 and not [r for r in found.reps for f in SIDES if r.sides[f].flag in ("moderate", "severe")]
    # the reps' line alone: the plain reps flagged (what the sway line is for)
    monkeypatch.setattr(analysis, "standing_sway_turn", lambda axes, *_: axes)
    alone = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, None)
    assert [r for r in alone.reps for f in SIDES if r.sides[f].flag in ("moderate", "severe")]


def test_live_turns_the_axes_to_the_standing_sway_as_offline_does():
    """Live learns the sway line as the stretches of standing come: once it has turned both feet
    (here after the third rep; the left foot's first rest caught the end of a rep), the plain
    reps are not flagged, and its axes are offline's. A plain rep before that is graded along
    the reps' line, and a flag shown stays (docs/validation.md)."""
    rec = simulate(_knees_out_set(2))
    offline = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, None)
    live = StreamingAnalyzer(rec.rate_hz)
    block, graded_after_turning = int(0.02 * rec.rate_hz), []
    for lo in range(0, len(rec.t), block):
        sl = slice(lo, lo + block)
        turned = "both feet along the standing sway" in (live.baseline.axis_source if live.baseline else "")
        _, events = live.push(rec.t[sl], {f: rec.fz[f][sl] for f in SIDES}, {f: rec.cop[f][sl] for f in SIDES})
        if turned:
            graded_after_turning += [e.data[f]["flag"] for e in events if e.kind == EventKind.REP_END for f in SIDES]
    assert "both feet along the standing sway between reps" in live.baseline.axis_source
    assert len(graded_after_turning) >= 8 and not {"moderate", "severe"} & set(graded_after_turning)
    for foot in SIDES:
        assert live.baseline.toe_out_deg[foot] == pytest.approx(offline.baseline.toe_out_deg[foot], abs=2.0)
    assert len(live._sway["left"]) <= streaming.SWAY_STRETCHES_KEPT


def _stated_set(left_ahead_mm: float) -> SessionSpec:
    """Feet out 20 degrees each, the CoP 90 mm heel-ward at the bottom, the left foot set
    ``left_ahead_mm`` ahead of the right (lab +y is the lifter's forward here)."""
    reps = [RepPlan(descent_s=1.2, bottom_s=0.2, ascent_s=1.0, rest_s=0.8, depth_m=0.45, cop_travel_mm=-90.0)
            for _ in range(6)]
    return SessionSpec(seed=5, devices="plates4", generator="min-jerk",
                       subject=Subject(toe_out_left_deg=20.0, toe_out_right_deg=20.0,
                                       foot_offset_mm={"left": (0.0, left_ahead_mm)}),
                       plan=SquatPlan(reps=6, baseline_s=2.0, rep_plans=reps), stated_toe_out_deg=20.0)


def test_stated_toe_out_on_feet_set_one_ahead_of_the_other_is_noted():
    """A stated toe-out is measured from the line across the feet: 40 mm of stagger on a 400 mm
    stance tilts it by 6 degrees, and 90 mm of heel-ward travel then reads as about 9 mm of
    shift at the bottom. The analysis says so; with the feet level it says nothing."""
    for ahead_mm, noted in ((40.0, True), (0.0, False)):
        rec = simulate(_stated_set(ahead_mm))
        found = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, 20.0)
        notes = [n for n in found.notes if n.startswith("along the stated foot axes")]
        assert bool(notes) == noted, (ahead_mm, found.notes)
        if noted:
            assert "feet set one ahead of the other" in notes[0] and "(left)" in notes[0] and "(right)" in notes[0]


def test_a_foot_whose_reps_move_away_from_the_arch_is_noted():
    """The normal is never below standing, so a collapse on a foot whose healthy reps go 6 mm
    outward reads 6 mm smaller than it moved: the analysis says so for that foot only."""
    reps = [RepPlan(descent_s=1.2, bottom_s=0.2, ascent_s=1.0, rest_s=0.8, depth_m=0.45, cop_travel_mm=-60.0,
                    healthy_medial_mm={"left": -6.0, "right": 0.0}) for _ in range(6)]
    spec = SessionSpec(seed=3, devices="plates4", generator="min-jerk",
                       subject=Subject(toe_out_left_deg=15.0, toe_out_right_deg=15.0),
                       plan=SquatPlan(reps=6, baseline_s=2.0, rep_plans=reps), stated_toe_out_deg=15.0)
    rec = simulate(spec)
    found = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, 15.0)
    notes = [n for n in found.notes if "away from the arch" in n]
    assert len(notes) == 1 and "the left foot's CoP moved" in notes[0], found.notes
    assert 4.0 < float(notes[0].split(" mm ")[0].rsplit(" ", 1)[1]) < 8.0
    level = simulate(SessionSpec(seed=3, devices="plates4", generator="min-jerk",
                                 subject=Subject(toe_out_left_deg=15.0, toe_out_right_deg=15.0),
                                 plan=SquatPlan(reps=6, baseline_s=2.0, rep_plans=[
                                     RepPlan(descent_s=1.2, bottom_s=0.2, ascent_s=1.0, rest_s=0.8, depth_m=0.45,
                                             cop_travel_mm=-60.0) for _ in range(6)]), stated_toe_out_deg=15.0))
    assert not [n for n in analyze_feet(level.t, level.fz, level.cop, level.rate_hz, 15.0).notes
                if "away from the arch" in n]


def test_a_weight_from_rep_cycles_says_a_pull_would_be_in_it():
    """Back-to-back reps with no standing: the weight is the mean force over whole cycles, which
    under a flywheel or band holds the pull too (battery: depths 1.3-3.2 times true), so the
    analysis says where the weight came from and what a static trial would change."""
    reps = [RepPlan(descent_s=1.2, bottom_s=0.0, ascent_s=1.0, rest_s=0.0, depth_m=0.45, cop_travel_mm=-60.0)
            for _ in range(6)]
    rec = simulate(SessionSpec(seed=4, devices="plates4", generator="min-jerk", subject=Subject(),
                               plan=SquatPlan(reps=6, baseline_s=0.0, rep_plans=reps), stated_toe_out_deg=0.0))
    found = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, 0.0)
    assert found.baseline.weight_source == "rep cycles" and len(found.reps) == 6
    assert [n for n in found.notes if n.startswith("the weight is the mean force over whole rep cycles")
            and "--static" in n]
    standing = simulate(_stated_set(0.0))  # stands 2 s first: no such note
    assert not [n for n in analyze_feet(standing.t, standing.fz, standing.cop, standing.rate_hz, 20.0).notes
                if "whole rep cycles" in n]
