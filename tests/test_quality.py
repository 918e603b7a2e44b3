"""Trial quality: saturated, dead (flat) and drifting channels, from the pure function to
``forceplate analyze`` on trials recorded from a faulty simulator."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from forceplate.calibration.record import bundled_record
from forceplate.io.device import Frames
from forceplate.processing.quality import quality_summary
from forceplate.profiles import load_profile
from forceplate.sim.urls import open_simulator
from forceplate.storage.writer import TrialWriter

from test_cli import forceplate


def simulated_trial(path, url, seconds):
    """A complete trial of ``seconds`` from the simulator at ``url``, made faster than real
    time: the emulator's counts go straight to the writer (the wire path is tested elsewhere)."""
    sim = open_simulator(url)
    try:
        serial, profile = sim.info["serial"], sim.emulator.profile
        n = int(seconds * profile.rate_hz)
        seq = np.arange(n)
        counts = sim.emulator.counts(sim.model_time(seq))
        device = SimpleNamespace(url=url, profile=profile, calibration=bundled_record(serial), info=sim.info)
    finally:
        sim.close()
    writer = TrialWriter(path, {"subject": "Q1"})
    writer.add_device(serial, device)
    writer.start()
    t = seq / profile.rate_hz
    writer.write_frames(serial, Frames(seq=seq, t_device_s=t, counts=counts, gaps=[], t_host_s=t))
    writer.close()
    return path, counts


def test_clean_counts_are_ok_and_each_fault_is_named():
    profile = load_profile("dual-plate-ads1256")
    record = bundled_record("SIM-DP-0001")
    rng = np.random.default_rng(1)
    t = np.arange(20000) / 1000.0
    physical = 90.0 + rng.normal(0, 0.3, (len(t), 8))
    counts = np.round(record.to_counts(physical)).astype(np.int32)
    assert quality_summary(counts, t, record, profile)["ok"]
    counts[:, 2] = 12345  # dead
    counts[5000:5100, 6] = counts[:, 6].max() + 50  # pinned at full scale for 0.1 s
    q = quality_summary(counts, t, record, profile)
    assert not q["ok"]
    assert q["flat"] == ["left_front_medial"] and q["saturated"] == ["right_front_lateral"]
    assert abs(q["zero_drift_n_per_min"]) < 1.0


def test_drift_saturation_and_dead_channel_from_the_simulator_reach_analyze_json(tmp_path):
    path, counts = simulated_trial(tmp_path / "faulty.h5", "sim://dual-plate?seed=3&reps=4&drift=2&saturate=1&dead=6",
                                   22.0)
    result = forceplate("analyze", str(path), "--json")
    assert result.returncode == 0, result.stderr
    q = json.loads(result.stdout)["summary"]["quality"]["SIM-DP-0001"]
    assert not q["ok"]
    assert q["saturated"] == ["left_rear_medial"] and q["flat"] == ["right_front_lateral"]
    assert q["zero_drift_n_per_min"] > 3.0 and any("zero drifts" in flag for flag in q["flags"])
    table = forceplate("analyze", str(path)).stdout.splitlines()
    assert table[1].startswith("quality SIM-DP-0001: left_rear_medial saturates")


def test_zero_drift_is_measured_on_quiet_standing(tmp_path):
    from forceplate import open_trial
    from forceplate.processing.quality import recording_quality

    path, _ = simulated_trial(tmp_path / "drift.h5", "sim://dual-plate?seed=5&reps=4&drift=2", 22.0)
    q = recording_quality(open_trial(path).devices["SIM-DP-0001"])
    # 8 channels each drifting 2 N/min: the device's total drifts 16 N/min
    assert q["zero_drift_n_per_min"] == pytest.approx(16.0, abs=0.5)
    assert q["flags"] and q["saturated"] == q["flat"] == []


def test_a_clean_simulated_trial_has_no_quality_flags(tmp_path):
    path, _ = simulated_trial(tmp_path / "clean.h5", "sim://dual-plate?seed=3&reps=4", 22.0)
    from forceplate import open_trial
    from forceplate.processing.quality import recording_quality

    q = recording_quality(open_trial(path).devices["SIM-DP-0001"])
    assert q["ok"], q["flags"]
    assert abs(q["zero_drift_n_per_min"]) < 1.0 and q["drift_span_s"] > 10
