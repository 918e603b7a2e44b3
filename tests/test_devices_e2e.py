"""The hardware path end to end: simulator firmware on a pty or TCP, the real driver reading it."""

import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager

import numpy as np
import pytest

from conftest import ctrl_c_as_at_a_terminal

from forceplate import open_trial
from forceplate.io import open_device
from forceplate.io.firmware import FirmwareServer
from forceplate.io.transport import firmware_for
from forceplate.offline import analyze_trial
from forceplate.session import Session
from forceplate.sim.urls import open_simulator
from test_cli import assert_one_line_error, forceplate

RATE_HZ = 1000


def read_until(device, n_frames, timeout_s=30.0):
    batches = []
    got = 0
    deadline = time.monotonic() + timeout_s
    while got < n_frames and time.monotonic() < deadline:
        frames = device.read()
        if len(frames):
            batches.append(frames)
            got += len(frames)
    return batches


def drain(device, quiet_s=0.3):
    """Stop the device and read what is still in flight until the line goes quiet."""
    device.stop()
    batches, last = [], time.monotonic()
    while time.monotonic() - last < quiet_s:
        frames = device.read()
        if len(frames):
            batches.append(frames)
            last = time.monotonic()
    return batches


def expected_counts(url, seq):
    """What the simulator sent for frames ``seq``: a twin of its emulator, same seed."""
    twin = open_simulator(url)
    try:
        all_counts = twin.emulator.counts(twin.model_time(np.arange(seq.max() + 1)))
    finally:
        twin.close()
    return all_counts[seq]


def test_sixty_seconds_at_1khz_every_frame_arrives_identical():
    url = "sim://dual-plate?speed=20&seed=4"
    with open_device(url) as device:
        device.start()
        batches = read_until(device, 60 * RATE_HZ)
        stats = device.decoder.stats
    seq = np.concatenate([b.seq for b in batches])[: 60 * RATE_HZ]
    counts = np.concatenate([b.counts for b in batches])[: 60 * RATE_HZ]
    np.testing.assert_array_equal(seq, np.arange(60 * RATE_HZ))
    np.testing.assert_array_equal(counts, expected_counts(url, seq))
    assert stats.crc_errors == stats.malformed == stats.lost_frames == stats.duplicates == 0


def test_injected_faults_are_counted_exactly_and_no_bad_frame_passes():
    url = "sim://dual-plate?speed=20&seed=8&garbage=0.02&crc=0.01&drop=0.01"
    device = open_device(url)
    try:
        device.start()
        batches = read_until(device, 20 * RATE_HZ) + drain(device)
        stats = device.decoder.stats
        injected = device.transport.firmware.faults.injected
        sent = device.transport.firmware.samples_sent
    finally:
        device.close()
    seq = np.concatenate([b.seq for b in batches])
    counts = np.concatenate([b.counts for b in batches])
    assert injected["garbage"] > 50 and injected["crc"] > 50 and injected["drop"] > 50
    assert 0.005 < injected["garbage_bytes"] / stats.bytes_in < 0.02  # about 1% of the bytes are junk
    assert stats.malformed == injected["garbage"]
    assert stats.crc_errors == injected["crc"]
    trailing = sent - 1 - int(seq[-1])  # frames lost after the last good one are not yet a gap
    assert stats.lost_frames == injected["drop"] + injected["crc"] - trailing
    assert len(seq) + injected["drop"] + injected["crc"] == sent
    np.testing.assert_array_equal(counts, expected_counts(url, seq))  # every frame that passed is good


@contextmanager
def served_on_tcp(url):
    """``url``'s stand-in served on 127.0.0.1 (as ``simulate --listen`` does); yields the socket:// URL."""
    make_firmware = firmware_for(url)
    server = FirmwareServer("127.0.0.1", 0, lambda connection, replug: make_firmware(url, replug=replug,
                                                                                      connection=connection))
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        yield f"socket://127.0.0.1:{server.port}"
    finally:
        stop.set()
        thread.join(timeout=5.0)


@pytest.mark.parametrize("over", ["pty", "tcp"])
def test_unplugged_device_is_reported_recording_survives_and_resumes(tmp_path, over):
    """A pty that vanishes (a pulled cable) and a TCP device that hangs up (a board whose
    Wi-Fi dropped) are the same disconnect: reported, recorded as one gap, reopened."""
    path = tmp_path / "unplug.h5"
    url = "sim://dual-plate?speed=4&unplug_at=8&seed=2"
    with ExitStack() as stack:
        if over == "tcp":
            url = stack.enter_context(served_on_tcp(url))
        session = Session([url], record_path=path)
        session.start()
        events, deadline = [], time.monotonic() + 20
        while time.monotonic() < deadline and not any(e.kind == "device_reconnected" for e in events):
            events += session.drain_events()
            time.sleep(0.05)
        ring = session.feet[0].ring
        reconnected_at, deadline = ring.written, time.monotonic() + 10
        while ring.written < reconnected_at + RATE_HZ and time.monotonic() < deadline:  # a second of frames since
            time.sleep(0.05)
        session.close()
    events += session.drain_events()
    lost = [e for e in events if e.kind == "device_disconnected"]
    assert len(lost) == 1 and "disconnected" in lost[0].data["message"]
    assert any(e.kind == "device_reconnected" for e in events)
    trial = open_trial(path)
    assert trial.complete
    device = trial.devices["SIM-DP-0001"]
    before = device.seq[device.seq < 8 * RATE_HZ]
    assert len(before) >= 7.9 * RATE_HZ  # everything up to the unplug is in the file
    assert len(device.gaps) == 1
    first_missing, missing = device.gaps[0]
    assert first_missing == before[-1] + 1 and missing > 0
    after = device.seq[device.seq > first_missing]
    assert len(after) > 0.5 * RATE_HZ and np.all(np.diff(device.seq) > 0)
    # trial time keeps running through the outage: the gap is the outage on the host clock
    outage_s = device.t_host_s[len(before)] - device.t_host_s[len(before) - 1]
    assert missing / RATE_HZ == pytest.approx(outage_s, abs=0.3)
    assert len(analyze_trial(trial).reps) >= 1


@pytest.mark.slow
def test_record_over_tcp_from_simulate_listen_has_every_frame_as_over_a_pty(tmp_path):
    """The acceptance of issue 18: ``forceplate record --device socket://127.0.0.1:PORT`` of a
    ``forceplate simulate URL --listen`` in another process stores every frame, the same
    frames as recording the same simulator over its pseudo-terminal."""
    url = "sim://dual-plate?speed=10&seed=5&reps=2"
    server = subprocess.Popen([sys.executable, "-m", "forceplate", "simulate", url, "--listen", "127.0.0.1:0",
                               "--duration", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_at_a_terminal)
    try:
        address = server.stdout.readline().strip()
        assert address.startswith("socket://127.0.0.1:"), server.stderr.read()
        over_tcp = forceplate("record", "--device", address, "-o", str(tmp_path / "tcp.h5"), "--duration", "3")
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 0
    over_pty = forceplate("record", "--device", url, "-o", str(tmp_path / "pty.h5"), "--duration", "3")
    assert over_tcp.returncode == 0 and over_pty.returncode == 0, over_tcp.stderr + over_pty.stderr
    assert f"on {address}" in over_tcp.stdout
    tcp, pty = (open_trial(tmp_path / name).devices["SIM-DP-0001"] for name in ("tcp.h5", "pty.h5"))
    for recording in (tcp, pty):
        assert len(recording.seq) > 2 * 10 * RATE_HZ  # 3 s at 10x real time, less the start-up
        np.testing.assert_array_equal(recording.seq, np.arange(len(recording.seq)))
        assert len(recording.gaps) == 0
        assert recording.stats["lost_frames"] == recording.stats["crc_errors"] == recording.stats["malformed"] == 0
    n = min(len(tcp.seq), len(pty.seq))
    np.testing.assert_array_equal(tcp.counts[:n], pty.counts[:n])
    np.testing.assert_array_equal(tcp.counts, expected_counts(url, tcp.seq))


@pytest.mark.slow
def test_bad_network_urls_and_listen_addresses_are_one_line(tmp_path):
    out = str(tmp_path / "never.h5")
    for url, words in [("socket://127.0.0.1", ["HOST:PORT"]), ("socket://127.0.0.1:99999", ["port 1-65535"]),
                       ("socket://:5000", ["HOST:PORT"]), ("socket://127.0.0.1:x", ["HOST:PORT"]),
                       ("rfc2217://127.0.0.1", ["HOST:PORT"]), ("socket://127.0.0.1:1", ["cannot connect"])]:
        assert_one_line_error(forceplate("record", "--device", url, "-o", out, "--duration", "1"), url, *words)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        in_use = f"127.0.0.1:{taken.getsockname()[1]}"
        assert_one_line_error(forceplate("simulate", "--listen", in_use, "--duration", "1"), in_use, "cannot listen")
    for address in ("127.0.0.1", "127.0.0.1:70000", ":5000", "host:port"):
        assert_one_line_error(forceplate("simulate", "--listen", address, "--duration", "1"), "--listen", "HOST:PORT")
    assert_one_line_error(forceplate("simulate", "socket://127.0.0.1:5000", "--listen", "127.0.0.1:0"),
                          "not a simulated device")
    assert not (tmp_path / "never.h5").exists()


@pytest.mark.slow
def test_two_insoles_on_their_own_clocks_record_and_analyse(tmp_path):
    """Left and right insoles on two ports with opposite clock errors, recorded and analysed."""
    path = tmp_path / "insoles.h5"
    # real time: host-clock jitter, from which the two insoles are aligned, is magnified by any speed-up
    url = "sim://insole?speed=1&seed=31&reps=3&valgus=2:left:severe&clock_ppm={ppm}&foot={foot}"
    session = Session([url.format(ppm=200, foot="left"), url.format(ppm=-200, foot="right")], record_path=path)
    truth = session.ground_truth
    session.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(e.kind == "rep_end" and e.rep == 3 for e in session.drain_events()):
        time.sleep(0.05)
    session.close()
    analysis = analyze_trial(open_trial(path))
    assert [r.rep.index for r in analysis.reps] == [1, 2, 3]
    for found, expected in zip(analysis.reps, truth):
        # trial time starts at the later insole's first frame: compare durations. A found rep
        # starts and ends where the velocity crosses reps.V_REST, inside the model's slow
        # minimum-jerk tails (0.09-0.11 s shorter here under a loaded machine): the tolerance
        # is the bottom's, BOTTOM_TOLERANCE_S
        assert found.rep.end_s - found.rep.start_s == pytest.approx(expected.end_s - expected.start_s, abs=0.15)
    assert [r.sides["left"].flag for r in analysis.reps] == ["none", "severe", "none"]
    assert all(r.sides["right"].flag == "none" for r in analysis.reps)
    assert analysis.reps[1].sides["left"].arch_load_pct > 5.0  # the arch takes more of the load


def test_plates_with_insoles_announce_each_rep_once():
    urls = ["sim://dual-plate?speed=4&seed=6&reps=2", "sim://insole?foot=left&speed=4&seed=6&reps=2",
            "sim://insole?foot=right&speed=4&seed=6&reps=2"]
    session = Session(urls)
    session.start()
    events, deadline = [], time.monotonic() + 20
    while time.monotonic() < deadline and not any(e.kind == "rep_end" and e.rep == 2 for e in events):
        events += session.drain_events()
        time.sleep(0.05)
    session.close()
    assert [e.rep for e in events if e.kind == "rep_end"] == [1, 2]
    assert len(session.feet) == 2 and session.feet[1].ring.written > 0  # insoles still analysed for plots


def test_failed_recording_is_reported_not_silent(tmp_path, monkeypatch):
    import forceplate.storage.writer as writer_module
    from forceplate.errors import TrialError

    def broken(ds, rows):
        raise OSError("HDF5 write failed")

    monkeypatch.setattr(writer_module, "_append", broken)
    session = Session(["sim://dual-plate?speed=4&seed=2"], record_path=tmp_path / "broken.h5")
    session.start()
    deadline, events = time.monotonic() + 10.0, []
    while time.monotonic() < deadline and not any(e.kind == "recording_failed" for e in events):
        time.sleep(0.05)
        events += session.drain_events()
    failed = [e for e in events if e.kind == "recording_failed"]
    assert len(failed) == 1 and "HDF5 write failed" in failed[0].data["message"]
    assert all("HDF5 write failed" in s["recording_error"] for s in session.status())
    with pytest.raises(TrialError, match="broken.h5.*HDF5 write failed"):
        session.close()
    session.close()  # the error is reported once; closing again is quiet
