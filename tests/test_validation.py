"""The simulator's variety and exact truth, and issue 12's goals on the quick battery.

The ``test_target`` cases are issue 12's acceptance goals (rep F1 >= 0.98, moderate/severe
flag precision and recall >= 0.95, side >= 0.95, no moderate/severe flag on knees-out
sides, live p95 <= 150 ms) checked on randomised sessions from both generators and every
device set. Those not met yet are marked NOT_MET (expected to fail, figures in
benchmarks/results/validation_battery.txt); ``test_quick_battery_holds_todays_figures``
keeps what was reached. The other tests check the simulator and the battery themselves.
"""

from dataclasses import replace

import numpy as np
import pytest

from forceplate.processing.baseline import G
from forceplate.profiles import SIDES
from forceplate.validation import (insole_sensor_noise_n, DEVICE_SETS, GENERATORS, PLATE_RATES_HZ, SEVERITY_BANDS_MM, TARGETS,
                                   SessionSpec, draw_session, feet_in_lab, match_reps, meets, quick_battery, run_session,
                                   simulate, summarize)


@pytest.fixture(scope="module")
def quick_records():
    return [r for spec in quick_battery() for r in run_session(spec).records]


# Goals of issue 12 this analysis does not meet yet on the quick battery (figures of
# 2026-12-01: rep F1 0.84, precision 0.64, recall 0.56, side 0.83, live: 56 % of
# moderate/severe sides get no live flag; precision and recall on the reps found 1.0). They run, and say so, instead of hiding.
# strict: the battery is seeded, so a goal reached makes its test fail until this mark comes off
NOT_MET = pytest.mark.xfail(reason="issue 12 goal not met yet (benchmarks/results/validation_battery.txt)",
                            strict=True)


@pytest.mark.slow
def test_quick_battery_holds_todays_figures(quick_records):
    """Not the goals: the figures the analysis reached, so that a change that loses ground fails."""
    scores = summarize(quick_records)
    assert scores.rep_f1 >= 0.80 and scores.side_correct >= 0.80
    assert scores.knees_out_strong == 0


def _target(records, key):
    label, _, op, target = next(t for t in TARGETS if t[1] == key)
    scores = summarize(records)
    return meets(scores, key, op, target), f"{label}: {getattr(scores, key)} (target {op} {target})"


@pytest.mark.slow  # each test of the quick battery waits for its fixture (about 100 s) once
@pytest.mark.parametrize("keys", [
    pytest.param(("rep_f1",), marks=NOT_MET, id="reps are found"),
    pytest.param(("precision", "recall"), marks=NOT_MET, id="moderate and severe collapse is flagged"),
    pytest.param(("side_correct",), marks=NOT_MET, id="flags are on the collapsing side"),
    pytest.param(("knees_out_strong",), id="knees out never flags"),
    pytest.param(("live_p95_s",), marks=NOT_MET, id="live flags come within 150 ms"),
])
def test_target(quick_records, keys):
    for key in keys:
        ok, message = _target(quick_records, key)
        assert ok, message


@pytest.mark.slow
def test_quick_battery_scores_every_device_set_generator_and_knee_pattern(quick_records):
    for devices in DEVICE_SETS:
        assert summarize([r for r in quick_records if r.factors["device set"] == devices]).reps > 0, devices
    for generator in GENERATORS:
        assert summarize([r for r in quick_records if r.factors["generator"] == generator]).reps > 0, generator
    knees = {r.factors["knee (foot)"] for r in quick_records}
    assert {"neutral", "knees out"} <= knees and any(k.startswith("collapse") for k in knees)
    assert any(r.severity in ("moderate", "severe") for r in quick_records)


@pytest.mark.parametrize("generator", list(GENERATORS))
def test_the_easy_case_scores_perfectly(generator):
    """What the first analysis was built for (lab-aligned plates, feet parallel and stated,
    3 s of standing first, 1 s of rest, 12 mm of heel travel): the battery's scoring must
    give it full marks, so that what fails elsewhere is the variety, not the scoring."""
    spec = replace(SessionSpec.plain("plates4", reps=6, seed=3, valgus={2: ("left", "moderate"), 4: ("right", "severe"),
                                                                       5: ("left", "mild")}), generator=generator)
    scores = summarize(run_session(spec).records)
    assert scores.reps == 6 and scores.rep_f1 == 1.0
    assert scores.precision == scores.recall == scores.side_correct == 1.0
    assert scores.clean_any_per_50 == 0.0 and scores.live_p95_s <= 0.150


def test_sessions_are_reproducible_from_their_seed_and_differ_between_seeds():
    a, b, c = draw_session(41), draw_session(41), draw_session(42)
    assert a == b and a != c
    ra, rb = simulate(a), simulate(b)
    for foot in SIDES:
        np.testing.assert_array_equal(ra.fz[foot], rb.fz[foot])
        np.testing.assert_array_equal(ra.cop[foot], rb.cop[foot])


def test_draws_cover_what_real_lifters_do():
    specs = [draw_session(seed) for seed in range(300)]
    plates = [s for s in specs if not s.insoles_only]
    toe_out = np.array([(s.subject.toe_out_left_deg, s.subject.toe_out_right_deg) for s in specs])
    assert toe_out.min() < 3 and toe_out.max() > 37
    assert np.mean(np.abs(toe_out[:, 0] - toe_out[:, 1]) > 10) > 0.3  # feet turned out differently
    facing = np.array([s.facing_deg for s in plates])
    assert np.mean(np.abs(facing) < 15) > 0.1 and np.mean(np.abs(facing) > 90) > 0.2
    reps = [r for s in specs for r in s.plan.rep_plans]
    travel = np.array([r.cop_travel_mm for r in reps])
    assert travel.min() < -110 and travel.max() > 25
    rests = np.array([r.rest_s for r in reps])
    assert np.mean(rests < 0.1) > 0.05 and np.mean(rests <= 0.5) > 0.6
    durations = np.array([r.duration_s for r in reps])
    assert durations.min() < 1.5 and durations.max() > 5.5
    assert np.mean([r.bottom_s == 0 for r in reps]) > 0.2 and max(r.bottom_s for r in reps) > 1.0
    assert np.mean([s.plan.baseline_s == 0 for s in specs]) > 0.3
    assert any(s.plan.start_in_first_rep_s > 0 for s in specs)
    assert {s.rate_hz for s in plates} == set(PLATE_RATES_HZ)
    assert {c.phase for r in reps for c in r.collapse.values()} == {"descent", "bottom", "ascent"}
    assert {c.severity for r in reps for c in r.collapse.values()} == set(SEVERITY_BANDS_MM)
    assert any(len(r.collapse) == 2 for r in reps) and any(r.knees_out_mm for r in reps)
    assert any(s.plan.flywheel_n for s in specs) and any(s.plan.load_drift for s in specs)
    assert {s.generator for s in specs} == set(GENERATORS)
    # insole sensors from 0.1 N to 2.5 N of noise (there the summed force wanders by ~1 % of the weight)
    sensor_noise = [insole_sensor_noise_n(s.noise) for s in specs if s.insoles_only]
    assert min(sensor_noise) < 0.15 and max(sensor_noise) > 2.0
    flywheel = [s.plan for s in specs if s.plan.flywheel_n]
    # a flywheel set is continuous (a paused wheel stops pulling, the strap rewinds at once)
    assert all(r.bottom_s == 0 and r.rest_s == 0 for plan in flywheel for r in plan.rep_plans)


@pytest.mark.parametrize("generator", list(GENERATORS))
def test_cop_in_the_turned_lab_frame_is_the_foot_frame_truth(generator):
    """Projected on each foot's lab-frame axes, the recorded CoP gives back the model's
    foot-frame patterns: plates and lifter turned, feet turned out unequally, no sway."""
    spec = next(s for s in (draw_session(seed, "plates4", generator) for seed in range(100, 200))
                if abs(s.lab_rotation_deg) > 60 and s.family == "collapse")
    spec = replace(spec, noise=0.0, subject=replace(spec.subject, sway_scale=0.0))
    rec = simulate(spec)
    drop, _ = rec.model.vertical(rec.t)
    along = rec.model.along_foot_mm(rec.t, drop)
    medial = rec.model.foot_frame_shift_mm(rec.t)
    for foot, (centre, medial_unit, axis) in feet_in_lab(spec, rec.model).items():
        d = rec.cop[foot] - centre
        np.testing.assert_allclose(d @ medial_unit, medial[foot], atol=0.3)
        np.testing.assert_allclose(d @ axis, along, atol=0.3)


@pytest.mark.parametrize("generator", list(GENERATORS))
def test_force_moves_the_body_the_truth_says(generator):
    """Impulse-momentum on the total force (body mass known) gives back each rep's depth."""
    spec = next(s for s in (draw_session(seed, "plates4", generator) for seed in range(300))
                if not s.plan.flywheel_n and not s.plan.load_drift and s.plan.baseline_s > 0.5)
    model = simulate(spec).model
    t = np.arange(-1.0, model.duration_s, 1e-4)
    drop, force = model.vertical(t)
    mass = spec.subject.mass_kg + spec.subject.load_kg
    velocity = np.cumsum(force / mass - G) * 1e-4
    position = np.cumsum(velocity) * 1e-4
    for r in model.truth():
        inside = (t >= r.start_s) & (t <= r.end_s + 0.3)
        depth = -(position[inside] - position[inside][0]).min()
        assert depth == pytest.approx(r.depth_m, abs=0.01)
        assert -drop[inside].min() == pytest.approx(r.depth_m, abs=0.002)


@pytest.mark.slow
@pytest.mark.parametrize("generator", list(GENERATORS))
def test_truth_grades_collapse_by_peak_and_knees_out_goes_lateral(generator):
    reps = 0
    for seed in range(30):
        spec = draw_session(seed, "plates6", generator)
        model = GENERATORS[generator](spec.subject, spec.plan, seed=spec.seed)
        for truth, plan in zip(model.truth(), model.reps):
            for foot in SIDES:
                side = truth.sides[foot]
                if side.severity:
                    lo, hi = SEVERITY_BANDS_MM[side.severity]
                    assert 0.93 * lo <= side.peak_shift_mm <= 1.07 * hi
                    assert truth.start_s <= side.onset_s < truth.end_s
                    reps += 1
                elif plan.knees_out_mm.get(foot):
                    t = np.linspace(truth.start_s, truth.end_s, 2000)
                    assert model.knees_out_mm(t)[foot].max() == pytest.approx(plan.knees_out_mm[foot], rel=0.02)
                    assert side.knees_out_mm == pytest.approx(plan.knees_out_mm[foot], rel=0.02)
                    assert model.medial_shift_mm(t)[foot].max() == 0.0
    assert reps > 20


def test_reps_match_one_to_one_within_the_tolerance():
    matched, extras = match_reps([1.0, 5.0, 9.0], [1.05, 1.1, 5.3, 9.0])
    assert matched == {0: 0, 2: 3}  # 5.3 is 0.3 s off: no match
    assert extras == {0: [1], 1: [2]}


@pytest.mark.parametrize("generator", list(GENERATORS))
def test_live_grades_against_a_normal_measured_along_the_learned_foot_axes(generator):
    """Feet turned out 30 degrees, axes not stated: live measures the first rep in the lifter's
    frame, where 70 mm of heel slide reads as 35 mm toward the arch. Kept as that rep's
    normal, it hid every later collapse; measured again along the axes learned since, the
    collapses of reps 2 and 4 are flagged live."""
    plain = SessionSpec.plain("plates4", reps=5, seed=5, toe_out_deg=30.0,
                              valgus={2: ("right", "severe"), 4: ("left", "moderate")})
    spec = replace(plain, generator=generator, stated_toe_out_deg=None,
                   plan=replace(plain.plan, heel_travel_mm=70.0))
    scores = summarize(run_session(spec).records)
    assert scores.recall == 1.0
    assert scores.live_missed == 0.0, scores
