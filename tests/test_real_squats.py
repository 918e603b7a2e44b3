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
from forceplate.processing.streaming import StreamingAnalyzer
from forceplate.profiles import SIDES
from forceplate.storage.reader import open_trial
from forceplate.validation import SessionSpec, simulate

BOTTOM_TOLERANCE_S = 0.15


def imported(shared_data, tmp_path, name: str):
    source = shared_data / "real-squats" / name
    if not source.exists():
        pytest.skip(f"{source} is not present")
    out = tmp_path / (source.stem + ".h5")
    subprocess.run([sys.executable, "-m", "forceplate", "import", str(source), "-o", str(out)], check=True,
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


@pytest.mark.xfail(reason="the centre of mass drops 0.20 m where the pelvis drops 0.248 m (-19 %): "
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
