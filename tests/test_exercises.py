"""The exercise model: registry, documented fields, the squat path kept, and the exercises
real recordings cannot test (known RFD, single-leg squat, eyes open vs closed)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from exercise_trials import analyze_json, analyze_text, isometric_pull, write_feet_trial

from forceplate.exercises import get, lookup, registry
from forceplate.processing.isometric import segment_pulls
from forceplate.processing.movement import symmetry
from forceplate.processing.posturography import ellipse_area_mm2, romberg_quotients, sway
from forceplate.sim.squat import SquatModel, SquatPlan, Subject

DOCS = Path(__file__).resolve().parents[1] / "docs" / "exercises.md"
NAMES = {"squat", "single_leg_squat", "countermovement_jump", "squat_jump", "drop_jump", "drop_landing",
         "sit_to_stand", "quiet_standing", "isometric_squat", "force_summary"}


def test_registry_holds_the_battery():
    assert set(registry()) == NAMES
    for exercise in registry().values():
        assert exercise.segmentation and exercise.collapse_flag and exercise.title
        assert exercise.collapse_flag.startswith(("both legs", "standing leg", "not applied: "))
        field_roots = {name.split(".")[0].split(" ")[0] for f in exercise.fields for name in [f.name]}
        for column in exercise.columns:  # every column shows a documented field
            assert column.key.split(".")[0] in field_roots | {"left", "right"}, (exercise.name, column.key)
    assert get("CMJ").name == "countermovement_jump" and get("mid-thigh-pull").name == "isometric_squat"
    assert lookup("knitting") is None


def test_every_field_is_documented_with_its_unit():
    text = DOCS.read_text(encoding="utf-8")
    for exercise in registry().values():
        section = text.split(f"## `{exercise.name}`")[1].split("\n## ")[0]
        for field in exercise.fields:
            row = next((line for line in section.splitlines() if line.startswith(f"| `{field.name}`")), None)
            assert row is not None, (exercise.name, field.name)
            assert f"| {field.unit} |" in row or (not field.unit and "| – |" in row), (exercise.name, row)


def test_symmetry_formulas():
    assert symmetry(60.0, 40.0) == {"left_share_pct": 60.0, "asymmetry_index_pct": 20.0,
                                    "limb_symmetry_index_pct": 66.7}
    assert symmetry(0.0, 0.0) == dict.fromkeys(("left_share_pct", "asymmetry_index_pct", "limb_symmetry_index_pct"))


def _squat_trial(path, subject: Subject, plan: SquatPlan, lifted_foot_n: float | None = None, **kwargs):
    model = SquatModel(subject, plan, seed=4)
    rate = 500.0
    t = np.arange(int((plan.baseline_s + plan.reps * plan.rep_period_s + 2) * rate)) / rate
    fz, cop = model.sample(t)
    rng = np.random.default_rng(1)
    fz = {foot: x + rng.normal(0, 1.0, len(t)) for foot, x in fz.items()}
    if lifted_foot_n is not None:  # the lifted foot's toe rests on its plate
        fz["right"] = lifted_foot_n + rng.normal(0, 0.5, len(t))
    return write_feet_trial(path, fz, rate, cop, **kwargs)


@pytest.mark.slow
def test_squat_keeps_its_keys_and_adds_kind_and_phases(tmp_path):
    plan = SquatPlan(reps=3, valgus={2: ("left", "severe")})
    trial = _squat_trial(tmp_path / "squat.h5", Subject(), plan, exercise="squat")
    report = analyze_json(trial)
    assert report["summary"]["exercise"] == "squat" and report["summary"]["reps"] == 3
    for key in ("baseline", "thresholds", "flagged", "flagged_reps", "algorithm_version", "quality"):
        assert key in report["summary"]
    rep = report["reps"][1]
    assert rep["kind"] == "squat" and rep["left"]["flag"] != "none"
    assert [p["name"] for p in rep["phases"]] == ["eccentric", "concentric"]
    assert rep["phases"][0]["end_s"] == rep["bottom_s"]
    assert rep["symmetry"]["asymmetry_index_pct"] == pytest.approx(rep["asymmetry_pct"], abs=0.11)
    done = analyze_text(trial)
    assert "left shift" in done.stdout  # the squat keeps its own table


@pytest.mark.slow
def test_single_leg_squat_flags_the_standing_leg_only(tmp_path):
    plan = SquatPlan(reps=3, depth_m=0.3, valgus={2: ("left", "severe"), 3: ("right", "severe")})
    trial = _squat_trial(tmp_path / "one-leg.h5", Subject(left_share=1.0), plan, lifted_foot_n=30.0)
    as_squat = analyze_json(trial, "--exercise", "squat")
    assert as_squat["reps"][2]["right"]["flag"] != "none"  # the toe's CoP moved: the squat flags it
    report = analyze_json(trial)
    summary = report["summary"]
    assert summary["exercise"] == "single_leg_squat" and summary["exercise_chosen_by"].startswith("recognised")
    assert summary["standing_leg"] == "left" and summary["standing_leg_share_pct"] > 90
    assert [r["left"]["flag"] != "none" for r in report["reps"]] == [False, True, False]
    assert all(r["right"]["flag"] == "none" and r["right"]["medial_shift_mm"] is None for r in report["reps"])
    assert summary["flagged"]["right"] == 0 and summary["flagged_reps"] == 1


@pytest.mark.parametrize("rate_hz, rise, rfd_n_s, seed", [
    (1000.0, "linear", 8000.0, 0), (2000.0, "linear", 5000.0, 1), (1000.0, "exponential", 20000.0, 2),
    (500.0, "exponential", 12000.0, 3),
])
def test_isometric_rfd_from_known_pulls(rate_hz, rise, rfd_n_s, seed):
    peak_net_n = 2000.0
    fz, onset_s = isometric_pull(rate_hz, 800.0, rise, rfd_n_s, peak_net_n, seed, left_share=0.45)
    analysis = segment_pulls(fz, rate_hz)
    [pull] = analysis.pulls
    # the onset lags the true start by the time the rise takes to cross the threshold (noise aside)
    lag_s = (analysis.onset_threshold_n - analysis.body_weight_n) / rfd_n_s
    assert onset_s - 0.001 <= pull.onset / rate_hz <= onset_s + lag_s + 0.0015
    for ms, measured in pull.rfd_n_s.items():
        w = ms / 1000
        if rise == "linear":
            expected = rfd_n_s if rfd_n_s * w <= peak_net_n else peak_net_n / w
        else:
            tau = peak_net_n / rfd_n_s
            expected = peak_net_n * (1 - np.exp(-w / tau)) / w
        assert measured == pytest.approx(expected, rel=0.04), ms
    assert pull.net_peak_force_n == pytest.approx(peak_net_n, abs=8.0)
    assert pull.peak_by_foot_n["left"] / pull.peak_force_n == pytest.approx(0.45, abs=0.01)
    assert pull.total_net_impulse_n_s == pytest.approx(np.sum(sum(fz.values()) - 800.0) / rate_hz, rel=0.02)


@pytest.mark.slow
def test_isometric_squat_from_the_command_line(tmp_path):
    fz, _ = isometric_pull(1000.0, 750.0, "linear", 10000.0, 1800.0, seed=5)
    trial = write_feet_trial(tmp_path / "pull.h5", fz, 1000.0)
    report = analyze_json(trial)
    assert report["summary"]["exercise"] == "isometric_squat"
    [pull] = report["reps"]
    assert pull["kind"] == "isometric"
    assert pull["rfd_0_50_n_s"] == pytest.approx(10000.0, rel=0.04)
    assert pull["rfd_0_200_n_s"] == pytest.approx(9000.0, rel=0.04)  # the ramp tops out at 180 ms
    assert pull["net_impulse_0_100_n_s"] == pytest.approx(0.5 * 10000 * 0.1**2, rel=0.1)
    done = analyze_text(trial)
    assert re.search(r"RFD50 N/s.*RFD200 N/s", done.stdout)


def _random_walk_sway(n: int, scale_mm: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 1, (n, 2)), axis=0)
    walk -= np.linspace(walk[0], walk[-1], n)  # bounded, like a stander's sway
    return scale_mm * walk / walk.std(axis=0)


@pytest.mark.slow
def test_eyes_closed_against_eyes_open(tmp_path):
    rate = 100.0
    n = int(30 * rate)
    base = _random_walk_sway(n, 3.0, seed=7)
    feet_eo = {"left": np.full(n, 350.0), "right": np.full(n, 350.0)}
    cop_eo = {"left": base + [-120.0, 0.0], "right": base + [120.0, 0.0]}
    cop_ec = {foot: 2.0 * (c - c.mean(axis=0)) + c.mean(axis=0) for foot, c in cop_eo.items()}
    eo = write_feet_trial(tmp_path / "eo.h5", feet_eo, rate, cop_eo)
    ec = write_feet_trial(tmp_path / "ec.h5", feet_eo, rate, cop_ec)
    report = analyze_json(eo, "--exercise", "quiet_standing", "--eyes-closed", str(ec))
    quotient = report["summary"]["romberg_quotient"]
    for key in ("path_length_mm", "range_ml_mm", "range_ap_mm", "sd_ml_mm", "mean_velocity_mm_s"):
        assert quotient[key] == pytest.approx(2.0, rel=0.01), key
    assert quotient["ellipse95_area_mm2"] == pytest.approx(4.0, rel=0.01)
    # both feet carry the same sway: the combined CoP sways like each foot
    summary = report["summary"]
    assert summary["posturography"]["sd_ml_mm"] == pytest.approx(summary["posturography_by_foot"]["left"]["sd_ml_mm"],
                                                                 rel=0.01)
    assert analyze_json(eo)["summary"]["exercise"] == "quiet_standing"  # recognised
    done = analyze_text(eo, "--exercise", "squat", "--eyes-closed", str(ec))
    assert done.returncode == 2 and "--eyes-closed compares quiet-standing trials" in done.stderr


def test_ellipse_area_of_a_known_normal():
    rng = np.random.default_rng(0)
    cop = rng.normal(0, 1, (200_000, 2)) * [4.0, 2.0]
    # 95 % of samples fall inside the prediction ellipse, whose area is pi * 5.991 * 4 * 2
    assert ellipse_area_mm2(cop) == pytest.approx(np.pi * 5.991 * 8.0, rel=0.01)
    measures = sway(_random_walk_sway(2000, 2.0, 1), 100.0)
    assert romberg_quotients(measures, measures)["path_length_mm"] == 1.0


def _bad_choice_trial(path: Path, shape: str) -> Path:
    t = np.arange(6000) / 1000.0
    if shape == "pull":
        fz, _ = isometric_pull(1000.0, 750.0, "linear", 10000.0, 1800.0, seed=5)
    elif shape == "bouncing":  # never still: nothing to weigh a jumper with
        fz = {"left": 350 + 150 * np.sin(2 * np.pi * t), "right": 350 + 150 * np.sin(2 * np.pi * t)}
    else:  # nobody on the plates
        fz = {"left": np.zeros_like(t), "right": np.zeros_like(t)}
    return write_feet_trial(path, fz, 1000.0)


@pytest.mark.parametrize("shape, options, message", [
    ("pull", ("--exercise", "knitting"), "unknown exercise 'knitting'; known: countermovement_jump"),
    ("bouncing", ("--exercise", "countermovement_jump"), "cannot analyse as countermovement_jump: no quiet standing"),
    ("empty", ("--exercise", "sit_to_stand"), "cannot analyse as sit_to_stand: nobody standing"),
    ("empty", ("--exercise", "quiet_standing"), "cannot analyse as quiet standing"),
    ("pull", ("--exercise", "quiet_standing", "--eyes-closed", "missing.h5"), "missing.h5"),
    # (--report and --save now work for every exercise: tests/test_report.py)
    ("pull", ("--exercise", "isometric_squat", "--eyes-closed", "t.h5"), "--eyes-closed compares quiet-standing trials"),
])
def test_bad_choices_give_one_line(tmp_path, shape, options, message):
    done = analyze_text(_bad_choice_trial(tmp_path / "t.h5", shape), *options)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def _smooth(t: np.ndarray, knots: list[tuple[float, float]]) -> np.ndarray:
    """A force through (time s, N) knots, each step a smoothstep (no corners)."""
    out = np.full_like(t, knots[0][1])
    for (t0, f0), (t1, f1) in zip(knots, knots[1:]):
        x = np.clip((t - t0) / (t1 - t0), 0, 1)
        inside = (t >= t0) & (t <= t1)
        out[inside] = f0 + (f1 - f0) * (3 * x[inside] ** 2 - 2 * x[inside] ** 3)
        out[t > t1] = f1
    return out


@pytest.mark.parametrize("rate, weight, seed", [(1000.0, 700.0, 2), (2000.0, 450.0, 5), (100.0, 950.0, 7)])
def test_sit_to_stand_from_seated_with_known_events(tmp_path, rate, weight, seed):
    """Two rises from a chair: seated at 25 % of body weight, seat-off at the peak (1.3 BW),
    a dip to 0.85 BW, standing once back within 5 % of body weight."""
    t = np.arange(int(14 * rate)) / rate
    knots = [(0.0, 0.25), (2.0, 0.25), (2.6, 1.3), (2.9, 0.85), (3.2, 1.0), (5.5, 1.0), (6.5, 0.25),
             (9.0, 0.25), (9.6, 1.3), (9.9, 0.85), (10.2, 1.0)]
    total = weight * _smooth(t, knots) + np.random.default_rng(seed).normal(0, 1.5, len(t))
    trial = write_feet_trial(tmp_path / "sts.h5", {"left": 0.4 * total, "right": 0.6 * total}, rate)
    report = analyze_json(trial)
    assert report["summary"]["exercise"] == "sit_to_stand"
    assert report["summary"]["body_weight_n"] == pytest.approx(weight, rel=0.01)
    # the force re-enters +-5 % when the last smoothstep reaches 2/3 of its way: 61 % of 0.3 s
    for rise, start in zip(report["reps"], (2.0, 9.0), strict=True):
        assert rise["onset_s"] == pytest.approx(start, abs=0.06)  # the slow start of the smoothstep
        assert rise["seat_off_s"] == pytest.approx(start + 0.6, abs=0.02)  # 1.5 N noise on a flat top
        assert rise["standing_s"] == pytest.approx(start + 0.9 + 0.61 * 0.3, abs=0.01)
        assert rise["peak_force_bw"] == pytest.approx(1.3, abs=0.015)  # the max of the noise on top
        assert rise["symmetry"]["left_share_pct"] == pytest.approx(40.0, abs=0.2)
        assert rise["duration_s"] == pytest.approx(rise["standing_s"] - rise["onset_s"], abs=0.001)


def test_one_leg_then_the_other_is_not_walking():
    """A single-leg set on the left, then one on the right: one foot alone nearly all the
    time, as in walking, but for 12 s at a time, not a step's 0.4-2 s."""
    from forceplate.processing.recognise import recognise

    rate = 500.0
    t = np.arange(int(24 * rate)) / rate
    rng = np.random.default_rng(3)
    squatting = 700.0 * (1 + 0.3 * np.sin(2 * np.pi * t / 3.0)) + rng.normal(0, 1.0, len(t))
    left_leg = t < 12.0
    fz = {"left": np.where(left_leg, squatting, 0.0), "right": np.where(left_leg, 0.0, squatting)}
    assert recognise(fz, rate)[0] != "force_summary"
    # the same two feet stepping (0.6 s each) are walking
    stepping = (t // 0.6) % 2 == 0
    fz = {"left": np.where(stepping, squatting, 0.0), "right": np.where(stepping, 0.0, squatting)}
    assert recognise(fz, rate)[0] == "force_summary"
