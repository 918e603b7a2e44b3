"""replay://: a recorded trial played back as devices, through the same driver and session."""

import time

import numpy as np
import pytest

from forceplate.errors import BadDeviceURL, DeviceNotFound
from forceplate.io.device import open_device
from forceplate.session import Session
from forceplate.storage.reader import open_trial

# Lost frames (drop) and bad packets (crc) in the recording, to see them counted again.
URLS = ["sim://dual-plate?speed=4&drop=0.005&crc=0.002&seed=5", "sim://insole?foot=left&speed=4&seed=5"]


def record(path, urls, seconds: float) -> None:
    session = Session(urls, record_path=path)
    session.start()
    time.sleep(seconds)
    session.close()


@pytest.fixture(scope="module")
def trial_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "original.h5"
    record(path, URLS, 2.0)
    return path


def test_replay_sends_the_recorded_frames_again(trial_path, tmp_path):
    original = open_trial(trial_path)
    names = sorted(original.devices)
    urls = [f"replay://{trial_path}?speed=8"] + [f"replay://{trial_path}?device={name}&speed=8" for name in names[1:]]
    copy_path = tmp_path / "copy.h5"
    record(copy_path, urls, 1.5)
    copy = open_trial(copy_path)
    assert sorted(copy.devices) == names  # the first URL (no device=) took the first device by name
    for name in names:
        a, b = original.devices[name], copy.devices[name]
        assert np.array_equal(a.counts, b.counts) and np.array_equal(a.seq - a.seq[0], b.seq - b.seq[0])
        assert a.info == b.info and a.profile.toml_text == b.profile.toml_text
        assert a.calibration.toml_text == b.calibration.toml_text
        # Frames the recording lost are not sent: the decoder counts the same losses again.
        assert b.stats["lost_frames"] == a.stats["lost_frames"] and b.stats["crc_errors"] == 0
    assert original.devices["SIM-DP-0001"].stats["lost_frames"] > 0
    # speed=8 played 1000 Hz frames about 8x faster than they were recorded
    plate = copy.devices["SIM-DP-0001"]
    assert plate.t_host_s[-1] - plate.t_host_s[0] < 0.5 * len(plate.seq) / plate.rate_hz


def test_replay_urls(trial_path):
    with open_device(f"replay://{trial_path}?device=SIM-IN16-L") as device:
        assert device.info["foot"] == "left" and device.profile.insole is not None
        assert device.calibration.toml_text == open_trial(trial_path).devices["SIM-IN16-L"].calibration.toml_text
        assert device.ground_truth is None
    with pytest.raises(BadDeviceURL, match="unknown option"):
        open_device(f"replay://{trial_path}?rate=3")
    with pytest.raises(BadDeviceURL, match="speed"):
        open_device(f"replay://{trial_path}?speed=0")
    with pytest.raises(DeviceNotFound, match="no device 'NOPE'.*SIM-DP-0001, SIM-IN16-L"):
        open_device(f"replay://{trial_path}?device=NOPE")
    with pytest.raises(DeviceNotFound, match="no such file"):
        open_device(f"replay://{trial_path.parent / 'missing.h5'}")


# source -> replay speed: C3D 3.2 s at 2 kHz, OpenSim 4.6 s at 1 kHz, Fz-only (NaN moments)
# 5 s at 1 kHz, AMTI (one plate, NaN dropout rows) 156 s at 100 Hz
IMPORTED = {"real-squats/S1_FlywheelSquat.c3d": 8, "real-squats/grf_Squat2.mot": 8,
            "vertical-jumps-fz/Dual-CMJ-Fz.txt": 8, "amti-quiet-standing/test.csv": 64}


@pytest.mark.parametrize("source", sorted(IMPORTED))
def test_imported_trials_replay_through_record(shared_data, tmp_path, source):
    """An imported trial (float64 values, its own profile and calibration record, bundled
    nowhere) plays through replay://, the serial driver and `forceplate record` unchanged,
    NaN values and a lone plate included."""
    if source.endswith(".c3d"):
        pytest.importorskip("ezc3d")
    from forceplate.cli import main
    from forceplate.processing.forces import plate_forces

    imported, replayed = tmp_path / "imported.h5", tmp_path / "replayed.h5"
    assert main(["import", str(shared_data / source), "-o", str(imported)]) == 0
    (a,) = open_trial(imported).devices.values()
    speed = IMPORTED[source]
    duration_s = len(a.counts) / a.rate_hz / speed + 1.0
    assert main(["record", "--device", f"replay://{imported}?speed={speed}", "-o", str(replayed),
                 "--duration", f"{duration_s:.2f}"]) == 0
    (b,) = open_trial(replayed).devices.values()
    assert b.name == a.name and b.counts.dtype == np.float64
    assert b.profile.toml_text == a.profile.toml_text and b.calibration.toml_text == a.calibration.toml_text
    assert np.array_equal(a.counts, b.counts, equal_nan=True) and np.array_equal(b.seq - b.seq[0], np.arange(len(a.seq)))
    assert b.stats["lost_frames"] == 0 and b.stats["crc_errors"] == 0
    (fz_a, cop_a), (fz_b, cop_b) = (plate_forces(d.uniform()[1], d.profile) for d in (a, b))
    for foot in fz_a:
        np.testing.assert_allclose(fz_b[foot], fz_a[foot], rtol=1e-12)
        np.testing.assert_allclose(cop_b[foot], cop_a[foot], rtol=1e-12, equal_nan=True)


def test_a_recording_that_stops_with_its_last_rep_keeps_that_rep(shared_data, tmp_path, capfd):
    """The real KTH flywheel squat ends with its rep (no standing after it) under a pull that is
    not the weight: played into `record`, the recorded trial holds the rep offline finds, its
    end within 0.15 s, reported and printed when the recording stopped, and no moderate or severe flag."""
    pytest.importorskip("ezc3d")
    from forceplate.cli import main
    from forceplate.offline import analyze_trial

    imported, replayed = tmp_path / "imported.h5", tmp_path / "replayed.h5"
    assert main(["import", str(shared_data / "real-squats/S1_FlywheelSquat.c3d"), "-o", str(imported)]) == 0
    (a,) = open_trial(imported).devices.values()
    speed = 8
    assert main(["record", "--device", f"replay://{imported}?speed={speed}", "-o", str(replayed),
                 "--duration", f"{len(a.counts) / a.rate_hz / speed + 1.0:.2f}"]) == 0
    offline = analyze_trial(open_trial(imported))
    ends = [e for e in open_trial(replayed).events if e["kind"].decode() == "rep_end"]
    assert len(ends) == len(offline.reps) == 1
    assert abs(ends[0]["t_s"] - offline.reps[0].rep.end_s) <= 0.15
    assert ends[0]["severity"].decode() not in ("moderate", "severe")
    printed = capfd.readouterr().out
    assert "rep 1 done" in printed and "not the body weight" in printed and "body weight 1" not in printed
