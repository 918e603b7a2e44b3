"""Lab Streaming Layer loopback: a sped-up simulated session published and read back in one process."""

from __future__ import annotations

import importlib.util
import json
import time

import numpy as np
import pytest

from forceplate.cli import main
from forceplate.storage.reader import open_trial

# pylsl is imported only after LSLAPICFG is set (the fixture): liblsl reads it once per process.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("pylsl") is None, reason="pylsl is not installed")

DEVICE = "sim://dual-plate?speed=8&reps=2&valgus=2:left:severe"


@pytest.fixture(scope="module")
def lsl(tmp_path_factory):
    """pylsl with its streams kept on this machine (and quiet)."""
    config = tmp_path_factory.mktemp("lsl") / "lsl_api.cfg"
    config.write_text("[multicast]\nResolveScope = machine\n[ports]\nIPv6 = disable\n[log]\nlevel = -3\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LSLAPICFG", str(config))
        import pylsl

        yield pylsl


def _channels(info) -> list[tuple[str, str, str]]:
    out, channel = [], info.desc().child("channels").child("channel")
    while not channel.empty():
        out.append((channel.child_value("label"), channel.child_value("unit"), channel.child_value("type")))
        channel = channel.next_sibling()
    return out


def test_loopback_feet_and_events(lsl, tmp_path):
    from forceplate.interop.lsl import LslPublisher
    from forceplate.session import Session

    session = Session([DEVICE])
    publisher = LslPublisher(session)
    try:
        session.start()
        events_info = lsl.resolve_byprop("name", "forceplate-events", 1, 5.0)
        feet_info = lsl.resolve_byprop("name", "forceplate-feet", 1, 5.0)
        assert events_info and feet_info
        events_in, feet_in = lsl.StreamInlet(events_info[0]), lsl.StreamInlet(feet_info[0])
        events_in.open_stream(5.0)
        feet_in.open_stream(5.0)
        info = feet_in.info(5.0)
        assert _channels(info) == [("fz_left", "N", "Force"), ("fz_right", "N", "Force"),
                                   ("cop_left_x", "mm", "CoP"), ("cop_left_y", "mm", "CoP"),
                                   ("cop_right_x", "mm", "CoP"), ("cop_right_y", "mm", "CoP")]
        assert info.nominal_srate() == session.feet[0].analyzer.rate_hz
        samples, events = [], []
        deadline = time.monotonic() + 15.0  # the session itself lasts a few seconds at speed 8
        while time.monotonic() < deadline and not (len(samples) > 100 and any(e["event"] == "flag" for e in events)):
            chunk, _ = feet_in.pull_chunk(timeout=0.0)
            samples += chunk
            markers, _ = events_in.pull_chunk(timeout=0.1)
            events += [json.loads(m[0]) for m in markers]
    finally:
        session.close()
        publisher.close()
    assert len(samples) > 100
    feet = np.asarray(samples)
    loaded = feet[:, 0] > 100
    assert loaded.any() and np.isfinite(feet[loaded, 2:4]).all()  # a loaded foot has a CoP
    flags = [e for e in events if e["event"] == "flag"]
    assert flags, events
    assert {"t_s", "rep", "side", "severity", "phase", "value_mm"} <= set(flags[0])
    assert flags[0]["side"] == "left"


def test_lsl_record_makes_a_trial(lsl, tmp_path, capsys):
    from forceplate.interop.lsl import LslPublisher
    from forceplate.session import Session

    session = Session([DEVICE])
    publisher = LslPublisher(session)
    out = tmp_path / "feet.h5"
    try:
        session.start()
        assert main(["lsl-record", "forceplate-feet", "-o", str(out), "--duration", "2", "--timeout", "5"]) == 0
    finally:
        session.close()
        publisher.close()
    trial = open_trial(out)
    (device,) = trial.devices.values()
    assert len(device.counts) > 100 and device.rate_hz == session.feet[0].analyzer.rate_hz
    capsys.readouterr()
    # A part of a session, with no exercise attribute: recognised from the force pattern, and
    # analysed as it (or, when its segmentation finds nothing to measure, as the force summary).
    assert main(["analyze", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["exercise_chosen_by"].startswith("recognised from the force pattern")
    assert summary["file"] == str(out) and summary["complete"]


@pytest.mark.slow
def test_missing_stream_is_one_line(lsl, tmp_path, capsys):
    assert main(["lsl-record", "no-such-stream", "-o", str(tmp_path / "x.h5"), "--duration", "1",
                 "--timeout", "0.5"]) == 2
    assert "no LSL stream named 'no-such-stream'" in capsys.readouterr().err


def test_lsl_url_is_a_device_read_by_the_same_driver(lsl):
    """lsl://forceplate-feet: the stream bridged onto the wire protocol, forces and CoP kept."""
    from forceplate.interop.lsl import LslPublisher
    from forceplate.io.device import open_device
    from forceplate.processing.forces import plate_forces
    from forceplate.session import Session

    session = Session([DEVICE])
    publisher = LslPublisher(session)
    try:
        session.start()
        with open_device("lsl://forceplate-feet?timeout=5") as device:
            assert device.profile.rate_hz == session.feet[0].analyzer.rate_hz  # the stream's rate, from INFO
            device.start()
            batches, deadline = [], time.monotonic() + 15.0
            while sum(map(len, batches)) < 500 and time.monotonic() < deadline:
                frames = device.read()
                if len(frames):
                    batches.append(frames)
            published = session.feet[0].ring.peek()
    finally:
        session.close()
        publisher.close()
    counts = np.concatenate([b.counts for b in batches])
    assert len(counts) >= 500 and device.decoder.stats.lost_frames == 0
    fz, cop = plate_forces(device.calibration.to_physical(counts), device.profile)
    # every bridged force is one the session published (to the bridge's 1 mN)
    published_fz = np.asarray(published["fz_left"], dtype=np.float32)
    nearest = np.abs(fz["left"][:, None] - published_fz[None, :]).min(axis=1)
    assert np.percentile(nearest, 95) < 0.01
    loaded = fz["left"] > 100
    assert np.isfinite(cop["left"][loaded]).all()
    assert np.nanmedian(cop["left"][loaded, 0]) < -100  # the left foot stands left of the centre
