"""Simulator -> protocol over a real pseudo-terminal -> serial driver -> HDF5 -> analysis."""

import time

import numpy as np
import pytest

from forceplate import open_trial
from forceplate.offline import analyze_trial
from forceplate.session import Session

URL = "sim://dual-plate?speed=8&reps=5&seed=11&valgus=2:left:moderate,4:right:severe"
TRIAL_S = 3.0 + 5 * 4.0 + 1.5  # baseline, five reps of 4 s, a little standing after
TIMING_TOLERANCE_S = 0.05


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    path = tmp_path_factory.mktemp("e2e") / "trial.h5"
    session = Session([URL], record_path=path, metadata={"subject": "sim-11"})
    truth = session.ground_truth
    session.start()
    events = []
    deadline = time.monotonic() + 30
    while session.links[0].device.decoder.stats.frames < TRIAL_S * 1000 and time.monotonic() < deadline:
        events += session.drain_events()
        time.sleep(0.05)
    session.close()
    events += session.drain_events()
    return path, truth, events


def test_every_frame_arrives_in_order(recorded):
    path, _, _ = recorded
    device = open_trial(path).devices["SIM-DP-0001"]
    assert len(device.seq) >= TRIAL_S * 1000
    np.testing.assert_array_equal(device.seq, np.arange(device.seq[0], device.seq[0] + len(device.seq)))
    assert len(device.gaps) == 0
    assert device.stats["crc_errors"] == 0 and device.stats["malformed"] == 0
    assert device.counts.dtype == np.int32 and device.counts.shape[1] == 8


def test_trial_metadata_round_trip(recorded):
    path, _, _ = recorded
    trial = open_trial(path)
    assert trial.complete
    assert trial.attrs["subject"] == "sim-11"
    device = trial.devices["SIM-DP-0001"]
    assert device.profile.id == "dual-plate-ads1256"
    assert device.calibration.serial == "SIM-DP-0001"


def test_reps_in_file_match_ground_truth(recorded):
    path, truth, _ = recorded
    analysis = analyze_trial(open_trial(path))
    assert [r.rep.index for r in analysis.reps] == [r.index for r in truth]
    for found, expected in zip(analysis.reps, truth):
        assert found.rep.start_s == pytest.approx(expected.start_s, abs=TIMING_TOLERANCE_S)
        assert found.rep.bottom_s == pytest.approx(expected.bottom_s, abs=TIMING_TOLERANCE_S)
        assert found.rep.end_s == pytest.approx(expected.end_s, abs=TIMING_TOLERANCE_S)
        assert found.rep.depth_m == pytest.approx(expected.depth_m, abs=0.03)
        for side in ("left", "right"):
            expected_flag = expected.severity if expected.valgus_side == side else "none"
            assert found.sides[side].flag == expected_flag, (expected.index, side)


def test_live_flags_match_ground_truth(recorded):
    _, truth, events = recorded
    ends = {e.rep: e for e in events if e.kind == "rep_end"}
    assert sorted(ends) == [r.index for r in truth]
    for expected in truth:
        data = ends[expected.index].data
        assert data["start_s"] == pytest.approx(expected.start_s, abs=0.1)
        for side in ("left", "right"):
            assert data[side]["flag"] == (expected.severity if expected.valgus_side == side else "none")
    flags = [e for e in events if e.kind == "flag"]
    for expected in (r for r in truth if r.valgus_side):
        first = min((e for e in flags if e.rep == expected.index), key=lambda e: e.t_s)
        assert first.side == expected.valgus_side
        # raised during the rep, long before it ends
        assert expected.start_s < first.t_s < expected.end_s - 0.5
