"""Issue 12 on the real squats in ../shared/data/real-squats (knees out in every rep, from
motion capture): every rep found, its bottom near the markers', no moderate or severe flag.

Figures and the reasoning behind the flag are in docs/validation.md ("Real squats").
"""

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from forceplate.offline import analyze_trial, feet_arrays
from forceplate.processing.analysis import analyze_feet
from forceplate.processing.baseline import forward_direction, standing_sway_axes
from forceplate.processing.streaming import StreamingAnalyzer
from forceplate.profiles import SIDES
from forceplate.storage.reader import open_trial
from forceplate.validation import SessionSpec, simulate

BOTTOM_TOLERANCE_S = 0.15


# The KU Leuven file's feet as its markers show them (docs/validation.md): the unprefixed
# plate is under the left foot, the 1_ plate under the right
KU_LEUVEN_FEET = ("--left", "1", "--right", "2")


def imported(shared_data, tmp_path, name: str, *options: str):
    source = shared_data / "real-squats" / name
    if not source.exists():
        pytest.skip(f"{source} is not present")
    out = tmp_path / (source.stem + "".join(options) + ".h5")
    subprocess.run([sys.executable, "-m", "forceplate", "import", str(source), "-o", str(out), *options], check=True,
                   capture_output=True, text=True)
    return open_trial(out)


def strong_flags(analysis) -> list:
    return [(r.rep.index, side) for r in analysis.reps for side in SIDES
            if r.sides[side].flag in ("moderate", "severe")]


def live_events(analyzer: StreamingAnalyzer, t, fz, cop) -> list:
    """Every event of the samples pushed through ``analyzer`` in 20 ms blocks, as a reader
    thread hands them over."""
    block = int(0.02 * analyzer.rate_hz)
    events = []
    for lo in range(0, len(t), block):
        sl = slice(lo, lo + block)
        events += analyzer.push(t[sl], {f: fz[f][sl] for f in SIDES}, {f: cop[f][sl] for f in SIDES})[1]
    return events


def test_ku_leuven_wide_stance_squat(shared_data, tmp_path):
    analysis = analyze_trial(imported(shared_data, tmp_path, "grf_Squat2.mot"))
    assert len(analysis.reps) == 1  # PROVENANCE: one rep, bottom 2.01 s (pelvis drop 248 mm)
    assert abs(analysis.reps[0].rep.bottom_s - 2.01) <= BOTTOM_TOLERANCE_S
    assert strong_flags(analysis) == []
    assert analysis.baseline.weight_source == "standing"  # it stands still before and after
    assert not analysis.baseline.pulled


@pytest.mark.xfail(reason="the centre of mass drops 0.19 m where the pelvis drops 0.248 m (-23 %): "
                          "the trunk tilts forward, so the pelvis drop is not the depth force measures",
                   strict=True)
def test_ku_leuven_depth_within_15_percent_of_the_pelvis_drop(shared_data, tmp_path):
    analysis = analyze_trial(imported(shared_data, tmp_path, "grf_Squat2.mot"))
    assert analysis.reps[0].rep.depth_m == pytest.approx(0.248, rel=0.15)


def test_kth_flywheel_squat_with_its_static_trial(shared_data, tmp_path):
    trial = imported(shared_data, tmp_path, "S1_FlywheelSquat.c3d")
    static = imported(shared_data, tmp_path, "S1_StandingRef.c3d")
    for analysis in (analyze_trial(trial), analyze_trial(trial, static=static)):
        assert len(analysis.reps) == 1  # PROVENANCE: one rep, bottom 1.65 s
        assert abs(analysis.reps[0].rep.bottom_s - 1.65) <= BOTTOM_TOLERANCE_S
        assert strong_flags(analysis) == []
        # the flywheel strap pulls with a force that is not the weight: no depth is claimed
        assert np.isnan(analysis.reps[0].rep.depth_m)
        assert "external pull" in analysis.baseline.weight_source
        assert analysis.baseline.pulled and analysis.baseline.as_dict()["pulled"] is True


def test_a_pulled_trial_shows_no_body_weight(shared_data, tmp_path):
    """Under the KTH flywheel's pull the standing force (1308 N) is the pull's as well: the
    analysis headline and the report show no body weight and no mass, and say why."""
    trial = imported(shared_data, tmp_path, "S1_FlywheelSquat.c3d")
    report = tmp_path / "kth.html"
    done = subprocess.run([sys.executable, "-m", "forceplate", "analyze", str(trial.path), "--report", str(report)],
                          capture_output=True, text=True, check=True)
    headline = done.stdout.splitlines()[0]
    assert "force under an external pull" in headline and "(no body weight)" in headline, headline
    assert "kg)" not in headline and headline.endswith(", 1 rep, 0 flagged"), headline
    html = report.read_text()
    assert "body weight (N)" not in html and "the body weight shown includes any bar" not in html
    assert "external pull" in html  # the weight source says why


def test_the_static_trial_gives_the_foot_axes_from_its_standing_sway(shared_data, tmp_path):
    """Nothing states the KTH feet's axes and one rep cannot estimate them well: the static
    trial's standing sway (50 times longer than wide) gives them, and says so."""
    trial = imported(shared_data, tmp_path, "S1_FlywheelSquat.c3d")
    static = imported(shared_data, tmp_path, "S1_StandingRef.c3d")
    analysis = analyze_trial(trial, static=static)
    assert analysis.baseline.axis_source.startswith("the static trial's standing sway")
    assert all(abs(analysis.baseline.toe_out_deg[foot]) < 15 for foot in SIDES)  # feet near parallel
    assert strong_flags(analysis) == []
    # a set that moves is no static trial: it gives the weight, no axes, and a note
    moving = analyze_trial(trial, static=imported(shared_data, tmp_path, "grf_Squat2.mot"))
    assert moving.baseline.axis_source.startswith("estimated")
    assert any("is not quiet standing" in note for note in moving.notes)
    # stated axes come first: the static trial then gives only the weight
    stated = analyze_trial(trial, toe_out_deg=10.0, static=static)
    assert stated.baseline.axis_source == "set-up" and stated.baseline.body_weight_n == analysis.baseline.body_weight_n


def test_standing_sway_runs_along_the_feet_in_a_real_recording(shared_data, tmp_path):
    """The assumption behind the static trial's axes, on the KU Leuven squat's 0.55 s of
    standing before its rep: each foot's CoP sways along a line near its heel-toe line (the
    markers: feet out 31.7 and 39.2 degrees from the pelvis's forward, 70.9 apart)."""
    feet = feet_arrays(imported(shared_data, tmp_path, "grf_Squat2.mot", *KU_LEUVEN_FEET))
    standing = feet.t <= 0.55
    cop = {foot: np.asarray(feet.cop[foot], float)[standing] for foot in SIDES}
    forward = forward_direction(cop["left"].mean(axis=0), cop["right"].mean(axis=0))
    toe_out, uncertainty = standing_sway_axes(cop, feet.rate_hz, forward)
    assert toe_out["left"] + toe_out["right"] == pytest.approx(31.7 + 39.2, abs=3)  # the lines' angle apart
    assert toe_out["left"] == pytest.approx(31.7, abs=8) and toe_out["right"] == pytest.approx(39.2, abs=8)
    assert all(0 < uncertainty[foot] < 10 for foot in SIDES)


def test_ku_leuven_shift_in_the_feet_frames_is_the_markers(shared_data, tmp_path):
    """With the feet as the markers name them and their angles stated, the rep's largest
    held shift toward the arch is PROVENANCE's, measured against the heel-toe lines (left
    +12 mm, right +1 mm), with the knees going out: a medial shift that is no collapse."""
    trial = imported(shared_data, tmp_path, "grf_Squat2.mot", *KU_LEUVEN_FEET)
    rep = analyze_trial(trial, toe_out_deg={"left": 31.0, "right": 39.0}).reps[0]
    assert rep.sides["left"].medial_shift_mm == pytest.approx(12.0, abs=3.0)
    assert rep.sides["right"].medial_shift_mm == pytest.approx(1.0, abs=3.0)
    assert rep.sides["left"].flag == rep.sides["right"].flag == "none"


def repeated_as_a_set(feet, copies: int, standing_s: float):
    """A real rep as a set: its samples ``copies`` times, each followed by ``standing_s`` in
    which force and CoP go from the rep's last sample back to its first, as a lifter stands up
    and settles. Every copy is the same healthy rep, so every copy must be graded the same."""
    gap = int(round(standing_s * feet.rate_hz))
    blend = np.linspace(0.0, 1.0, gap)

    def one(values):
        values = np.asarray(values, float)
        weights = blend.reshape((-1,) + (1,) * (values.ndim - 1))
        return np.concatenate([values, values[-1] * (1.0 - weights) + values[0] * weights])

    fz = {foot: np.tile(one(feet.fz[foot]), copies) for foot in SIDES}
    cop = {foot: np.concatenate([one(feet.cop[foot])] * copies) for foot in SIDES}
    return np.arange(len(fz["left"])) / feet.rate_hz, fz, cop, (len(feet.t) + gap) / feet.rate_hz


@pytest.mark.parametrize("feet", [KU_LEUVEN_FEET, ()], ids=["feet as the markers name them", "as imported by default"])
@pytest.mark.parametrize("copies, standing_s", [(5, 0.3), (4, 0.5)])
def test_the_ku_leuven_rep_as_a_set_is_graded_alike_and_not_flagged(shared_data, tmp_path, copies, standing_s, feet):
    """Copies of the healthy KU Leuven rep (knees far out) with standing between them, no
    foot axis stated. The left foot's CoP travels across the foot at the axis sample (77-88
    degrees from forward: toward the arch by 12 mm, as the markers show, and hardly heel-ward),
    so its reps give no axis; it kept the parallel-feet fallback, 31 degrees off, and its heel
    slide read as 19-26 mm toward the arch, rising over the copies: of five copies 0.3 s apart
    three were graded mild, of four 0.5 s apart two moderate. Its standing sway between the
    reps (41 degrees) replaces the fallback. Imported by default, the format's "+z is the right"
    swaps this file's feet: both sways then read as turned in (37 and 41 deg), which is how swapped
    labels look, and their lines are kept (a note says the plates may be swapped)."""
    markers_left = "left" if feet else "right"  # the foot the markers call the left, as labelled
    feet = feet_arrays(imported(shared_data, tmp_path, "grf_Squat2.mot", *feet))
    t, fz, cop, period_s = repeated_as_a_set(feet, copies, standing_s)
    analysis = analyze_feet(t, fz, cop, feet.rate_hz, None)
    assert [round(abs(r.rep.bottom_s - (2.01 + k * period_s)), 2) <= BOTTOM_TOLERANCE_S
            for k, r in enumerate(analysis.reps)] == [True] * copies
    assert strong_flags(analysis) == []
    assert "along the standing sway" in analysis.baseline.axis_source
    assert abs(analysis.baseline.toe_out_deg[markers_left]) == pytest.approx(31.0, abs=12.0)  # the markers' 31
    shifts = [r.sides[markers_left].medial_shift_mm for r in analysis.reps]
    assert max(shifts) - min(shifts) < 2.0 and shifts[0] == pytest.approx(12.0, abs=3.0)  # the markers' +12 mm
    # live, the same rule (before: a moderate flag on the fourth copy of four)
    live = StreamingAnalyzer(feet.rate_hz)
    events = live_events(live, t, fz, cop) + live.finish()
    assert len([e for e in events if e.kind == "rep_end"]) == copies
    assert [(e.rep, e.severity) for e in events if e.kind == "flag" and e.severity in ("moderate", "severe")] == []


@pytest.mark.parametrize("name, markers_feet", [("grf_Squat2.mot", KU_LEUVEN_FEET),
                                                 ("S1_FlywheelSquat.c3d", ("--left", "1", "--right", "2"))])
def test_feet_that_read_as_turned_in_are_noted(shared_data, tmp_path, name, markers_feet):
    """The importer's geometry rule names both real squats' feet the other way round from their
    markers; the estimated axes then read as turned in (24 and 36 degrees), and a note says so."""
    def noted(analysis):
        return any("may be swapped" in note for note in analysis.notes)

    assert noted(analyze_trial(imported(shared_data, tmp_path, name)))
    assert not noted(analyze_trial(imported(shared_data, tmp_path, name, *markers_feet)))


def test_sway_with_no_clear_direction_gives_no_axes():
    rng = np.random.default_rng(3)
    t = np.arange(0, 2.0, 0.001)
    cop = {"left": np.column_stack([-150 + rng.normal(0, 1, len(t)), rng.normal(0, 1, len(t))]),
           "right": np.column_stack([150 + rng.normal(0, 1, len(t)), rng.normal(0, 1, len(t))])}
    assert standing_sway_axes(cop, 1000.0, np.array([0.0, 1.0])) is None
    # a CoP that runs off (a foot lifted: its force fades, its CoP leaves the plate) is no standing
    cop["left"][:, 1] += np.where(t > 1.5, 1e200, 0.0)
    assert standing_sway_axes(cop, 1000.0, np.array([0.0, 1.0])) is None


def test_one_rep_is_its_own_normal_and_says_so(shared_data, tmp_path):
    analysis = analyze_trial(imported(shared_data, tmp_path, "grf_Squat2.mot"))
    assert any("its own normal" in note for note in analysis.notes)


def test_live_finds_the_reps_and_flags_offline_finds():
    """One rep model, two paths: the same samples, live in 20 ms blocks and offline. The first
    rep teaches live the foot axes (no flag); from the second on, the same reps and flags."""
    spec = SessionSpec.plain(reps=6, seed=4, toe_out_deg=15.0,
                             valgus={2: ("left", "severe"), 4: ("right", "moderate"), 5: ("left", "severe")})
    rec = simulate(spec)
    offline = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, None)
    ends = [e.data for e in live_events(StreamingAnalyzer(rec.rate_hz), rec.t, rec.fz, rec.cop) if e.kind == "rep_end"]
    assert len(ends) == len(offline.reps) == 6
    for live_rep, offline_rep in zip(ends[1:], offline.reps[1:]):
        assert abs(live_rep["bottom_s"] - offline_rep.rep.bottom_s) < 0.3
        for side in SIDES:
            assert (live_rep[side]["flag"] in ("moderate", "severe")) == \
                (offline_rep.sides[side].flag in ("moderate", "severe")), (live_rep, offline_rep.as_dict())


def test_live_reports_the_last_rep_of_a_recording_that_stops_with_it():
    """A set recorded to the end of its last rep and no further (real sets often are): live
    sees no rest after that rep, so it is reported when the stream ends (``finish``), as
    offline reports it."""
    spec = SessionSpec.plain(reps=4, seed=3, toe_out_deg=0.0)
    spec = replace(spec, plan=replace(spec.plan, tail_s=0.0, rest_s=0.3))
    rec = simulate(spec)
    offline = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, 0.0)
    live = StreamingAnalyzer(rec.rate_hz, 0.0)
    ends = [e.data for e in live_events(live, rec.t, rec.fz, rec.cop) if e.kind == "rep_end"]
    assert len(ends) == len(offline.reps) - 1 == 3  # the last is still open
    ends += [e.data for e in live.finish() if e.kind == "rep_end"]
    assert [round(e["bottom_s"], 1) for e in ends] == [round(r.rep.bottom_s, 1) for r in offline.reps]
    assert live.finish() == []  # reported once


def test_live_flags_of_back_to_back_reps_are_each_reps_own():
    """Reps 0.05 s apart: the next descent starts before the rep under way can be reported (no
    rest settles its end). The next rep's collapse must be raised as the next rep's, not added
    to the rep before it (which had shown a clean rep as collapsing, and the collapse late)."""
    spec = SessionSpec.plain(reps=6, seed=5, toe_out_deg=0.0, valgus={3: ("right", "moderate"), 5: ("left", "severe")})
    spec = replace(spec, plan=replace(spec.plan, rest_s=0.05, bottom_s=0.0, descent_s=0.8, ascent_s=0.7,
                                      baseline_s=0.5))
    rec = simulate(spec)
    live = StreamingAnalyzer(rec.rate_hz, 0.0)
    events = live_events(live, rec.t, rec.fz, rec.cop) + live.finish()
    ends = [e for e in events if e.kind == "rep_end"]
    flags = [e for e in events if e.kind == "flag"]
    labelled = {r.index: {f: r.sides[f].severity or "none" for f in SIDES} for r in rec.model.truth()}
    assert [e.rep for e in ends] == sorted(labelled)
    for e in ends:
        assert abs(e.data["bottom_s"] - rec.model.truth()[e.rep - 1].bottom_s) < 0.15
        assert {f: e.data[f]["flag"] for f in SIDES} == labelled[e.rep]
    assert flags and all(labelled[e.rep][e.side] != "none" for e in flags)


def test_live_reports_slow_reps_with_the_bottoms_offline_finds():
    """Slow reps (6 s, no pause) with 0.2 s between them: at the window's end the steady middle
    of a slow ascent reads as rest, and a rep anchored there was reported with its bottom up to
    0.8 s after offline's (battery seed 50). Rest still under way is trusted once REST_CONFIRM_S long."""
    spec = SessionSpec.plain(reps=5, seed=6, toe_out_deg=0.0)
    spec = replace(spec, plan=replace(spec.plan, rest_s=0.2, bottom_s=0.0, descent_s=2.2, ascent_s=3.8))
    rec = simulate(spec)
    offline = analyze_feet(rec.t, rec.fz, rec.cop, rec.rate_hz, 0.0)
    live = StreamingAnalyzer(rec.rate_hz, 0.0)
    ends = [e.data for e in live_events(live, rec.t, rec.fz, rec.cop) + live.finish() if e.kind == "rep_end"]
    assert len(ends) == len(offline.reps) == 5
    for live_rep, offline_rep in zip(ends, offline.reps):
        assert abs(live_rep["bottom_s"] - offline_rep.rep.bottom_s) < 0.05, (live_rep["bottom_s"], offline_rep.rep.bottom_s)


@pytest.mark.parametrize("name", ["grf_Squat2.mot", "S1_FlywheelSquat.c3d"])
def test_real_squats_live_find_the_rep_offline_finds(shared_data, tmp_path, name):
    """The real recordings through the live path, in 20 ms blocks, to the end of the stream
    (``finish``: the KTH squat stops with its rep, under a flywheel's pull): the same rep as
    offline, no moderate or severe flag."""
    if name.endswith(".c3d"):
        pytest.importorskip("ezc3d")
    trial = imported(shared_data, tmp_path, name)
    offline = analyze_trial(trial)
    feet = feet_arrays(trial)
    live = StreamingAnalyzer(feet.rate_hz)
    events = live_events(live, feet.t, feet.fz, feet.cop) + live.finish()
    ends = [e.data for e in events if e.kind == "rep_end"]
    assert len(ends) == len(offline.reps) == 1
    # live says a pull's weight is no body weight as offline says it (the KTH flywheel)
    (baseline,) = [e.data for e in events if e.kind == "baseline"]
    assert baseline["pulled"] is offline.baseline.pulled is name.endswith(".c3d")
    assert abs(ends[0]["bottom_s"] - offline.reps[0].rep.bottom_s) <= BOTTOM_TOLERANCE_S
    assert all(ends[0][side]["flag"] not in ("moderate", "severe") for side in SIDES)
