"""Hostile devices on a pty (issue 13): what a device says is data, memory stays bounded,
valid frames are saved, a stall is reported and recorded, a dead reader fails the run."""

from __future__ import annotations

import h5py
import pytest

from fuzz_helpers import run_cli

DEVICE_MEMORY_MB = 300


def _record(tmp_path, url: str, seconds: float = 2.0):
    path = tmp_path / "hostile.h5"
    return path, run_cli(["record", "--device", url, "-o", str(path), "--duration", str(seconds)], timeout_s=60)


def _frames(path) -> int:
    with h5py.File(path, "r") as f:
        return sum(a["seq"].shape[0] for a in f["acquisition"].values())


def test_sequence_numbers_jumping_by_30000_keep_memory_bounded_and_frames_saved(tmp_path):
    path, outcome = _record(tmp_path, "sim://dual-plate?speed=4&seq_step=30000")
    assert outcome.failure is None, outcome.describe()
    assert outcome.peak_rss_mb < DEVICE_MEMORY_MB, outcome.peak_rss_mb
    assert _frames(path) > 4000  # 2 s at 4 x 1000 Hz, less start-up: every valid frame kept
    with h5py.File(path, "r") as f:
        seq = next(iter(f["acquisition"].values()))["seq"][()]
    assert seq[-1] - seq[0] < 20 * len(seq)  # jumps became discontinuities, not lost frames


def test_a_status_flood_keeps_memory_bounded_and_frames_saved(tmp_path):
    from forceplate.io.decoder import MAX_MESSAGES, FrameDecoder
    from forceplate.io.protocol import PacketType, encode_fields, encode_packet

    decoder = FrameDecoder(8)
    status = encode_packet(PacketType.STATUS, 0, 0, encode_fields({"battery_pct": 80}))
    for _ in range(100):
        decoder.feed(status * 1000)
    assert len(decoder.messages) <= MAX_MESSAGES and decoder.stats.other_packets == 100_000
    from forceplate.io.ascii import AsciiDecoder, encode_message

    ascii_decoder = AsciiDecoder(8)
    for _ in range(100):
        ascii_decoder.feed(encode_message(PacketType.STATUS, {"battery_pct": 80}) * 1000)
    assert len(ascii_decoder.messages) <= MAX_MESSAGES
    path, outcome = _record(tmp_path, "sim://dual-plate?speed=2&status_flood=3")
    assert outcome.failure is None, outcome.describe()
    assert outcome.peak_rss_mb < DEVICE_MEMORY_MB and _frames(path) > 2000


@pytest.mark.parametrize("lie, named", [
    ("rate_hz:inf", "rate_hz"), ("rate_hz:1e9", "rate_hz"), ("rate_hz:1e-6", "rate_hz"), ("rate_hz:nan", "rate_hz"),
    ("channels:3", "channels"), ("serial:a/b", "serial"), ("serial:../../../../etc/x", "serial"),
    ("profile:/etc/passwd.toml", "profile"), ("profile:../calibration/SIM-DP-0001", "profile"),
])
def test_a_device_whose_info_lies_is_refused_in_one_line(tmp_path, lie, named):
    path, outcome = _record(tmp_path, f"sim://dual-plate?speed=4&info={lie}", seconds=1)
    assert outcome.failure is None, outcome.describe()
    assert outcome.status == 2 and "INFO" in outcome.stderr and named in outcome.stderr, outcome.stderr
    assert not path.exists()


def test_a_stall_without_unplugging_is_reported_and_recorded(tmp_path):
    path, outcome = _record(tmp_path, "sim://dual-plate?speed=1&stall=1,1.5", seconds=3.5)
    assert outcome.failure is None, outcome.describe()
    with h5py.File(path, "r") as f:
        kinds = [k.decode() for k in f["events"]["kind"][()]]
    assert "device_stalled" in kinds and "device_resumed" in kinds


def test_a_reader_thread_that_dies_fails_the_run(tmp_path, monkeypatch):
    from forceplate.errors import DeviceError
    from forceplate.session import Session

    session = Session(["sim://dual-plate?speed=4"], record_path=tmp_path / "t.h5")

    def broken_read():
        raise OverflowError("cannot convert float infinity to integer")

    session.start()
    monkeypatch.setattr(session.links[0].device, "read", broken_read)
    import time

    deadline = time.monotonic() + 10
    while not session.links[0].error and time.monotonic() < deadline:  # the reader thread has read and stopped
        time.sleep(0.01)
    with pytest.raises(DeviceError, match="reading stopped .*OverflowError"):
        session.close()
    assert (tmp_path / "t.h5").exists()


def test_simulator_options_outside_plausible_ranges_are_refused(tmp_path):
    for url in ("sim://dual-plate?reps=100000000", "sim://dual-plate?speed=1e9", "sim://dual-plate?mass=nan"):
        _, outcome = _record(tmp_path, url, seconds=1)
        assert outcome.failure is None and outcome.status == 2, outcome.describe()


def test_a_stall_is_shown_live_while_it_lasts():
    """What the live views show: the device's state turns 'stalled' and an event says so
    during the silence, not only in the file afterwards."""
    import time

    from forceplate.session import Session

    session = Session(["sim://dual-plate?speed=1&stall=0.5,2"])
    session.start()
    states, events = set(), []
    try:
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            states |= {s["state"] for s in session.status()}
            events += [e for e in session.drain_events() if e.kind.startswith("device_")]
            time.sleep(0.05)
    finally:
        session.close()
    assert "stalled" in states
    stalled = [e for e in events if e.kind == "device_stalled"]
    assert stalled and "not unplugged" in stalled[0].data["message"] and 1.0 <= stalled[0].t_s <= 2.5
    assert any(e.kind == "device_resumed" for e in events)


def test_replay_speeds_outside_the_plausible_range_are_refused(tmp_path):
    from fuzz_helpers import record_sim_trial

    trial = record_sim_trial(tmp_path, seconds=1)
    for speed in ("1e9", "inf", "nan", "0", "-1"):
        _, outcome = _record(tmp_path, f"replay://{trial}?speed={speed}", seconds=1)
        assert outcome.failure is None and outcome.status == 2 and "speed" in outcome.stderr, outcome.describe()


def test_the_terminal_view_says_when_a_device_goes_silent_and_speaks_again():
    """The session's stall events (test above) as the headless terminal view prints them: a
    line while the device is silent, one when it sends again (issue 13 item 11)."""
    from forceplate.live.terminal import describe
    from forceplate.processing.streaming import Event

    silent = describe(Event("device_stalled", 1.2, data={"device": "SIM-DP-0001",
                                                         "message": "no frames from SIM-DP-0001 for 0.7 s (not unplugged)"}))
    resumed = describe(Event("device_resumed", 2.6, data={"device": "SIM-DP-0001", "message": "SIM-DP-0001 sends "
                                                          "again after 2.0 s of silence (the gap is recorded)"}))
    assert silent is not None and "DEVICE SILENT" in silent and "not unplugged" in silent and "1.20 s" in silent
    assert resumed is not None and "sends again" in resumed
