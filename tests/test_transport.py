"""Transports and codecs as seams (issue 18): io/ names no higher layer, schemes register
themselves, a new one is one module, reads wake as data arrive."""

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import forceplate.io.transport as transport
from forceplate.errors import BadDeviceURL, HandshakeError
from forceplate.io import open_device
from forceplate.io.codec import ASCII, BINARY, CODECS, codec_for
from forceplate.io.firmware import TICK_S
from forceplate.io.protocol import PacketType
from forceplate.io.transport import SerialTransport, known_schemes, register_scheme
from forceplate.profiles import SAMPLE_FORMATS
from test_devices_e2e import read_until

IO_DIR = Path(transport.__file__).parent
HIGHER = ("forceplate.sim", "forceplate.interop", "forceplate.live", "forceplate.cli", "forceplate.session")


def test_no_io_module_imports_or_names_a_higher_layer():
    for path in sorted(IO_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for name in HIGHER:
            assert name not in text and name.replace(".", "/") not in text, f"{path.name} names {name}"


def test_opening_a_replay_and_a_port_loads_no_higher_layer(tmp_path):
    """The replay scheme plays its trial with io's own stand-in: nothing of the simulator,
    interop, the faces or the session is imported to open it (or to list the ports)."""
    from forceplate.library.simulated import SimulatedTrial, write_simulated_trial

    trial = write_simulated_trial(tmp_path / "t.h5", SimulatedTrial(reps=1))
    code = (f"import sys; from forceplate.io import open_device; from forceplate.io.discovery import discover; "
            f"d = open_device('replay://{trial}'); d.close(); discover(probe=False); "
            f"print(sorted(m for m in sys.modules if m.startswith({HIGHER!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_scheme_modules_are_found_by_name_and_only_imported_when_asked_for():
    modules = transport._scheme_modules()
    assert modules == {"lsl": "forceplate.interop.scheme_lsl", "replay": "forceplate.io.scheme_replay",
                       "sim": "forceplate.sim.scheme_sim"}
    assert {"", "serial", "sim", "replay", "lsl", "socket", "rfc2217", "loop"} <= set(known_schemes())
    code = "import sys; from forceplate.io import open_device; open_device('sim://dual-plate').close(); " \
           "print('forceplate.interop.scheme_lsl' in sys.modules, 'forceplate.sim.scheme_sim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_a_new_scheme_is_one_module_found_by_its_name_and_opened_like_the_built_in_ones(monkeypatch):
    """tests/scheme_counting.py is all there is to ``counting://``: the registry imports it
    when a URL asks for the scheme, it registers itself, and the device streams."""
    monkeypatch.setattr(transport, "_SCHEMES", dict(transport._SCHEMES))  # registered for this test only
    found = transport._scheme_modules()
    monkeypatch.setattr(transport, "_scheme_modules", lambda: {**found, "counting": "scheme_counting"})
    monkeypatch.delitem(sys.modules, "scheme_counting", raising=False)
    assert "counting" in known_schemes() and "counting" not in transport._SCHEMES
    with open_device("counting://board") as device:
        assert device.info["serial"] == "COUNT-1" and device.profile.id == "dual-plate-ads1256"
        device.start()
        got = read_until(device, 500, timeout_s=10.0)
    seq = np.concatenate([f.seq for f in got])
    counts = np.concatenate([f.counts for f in got])
    np.testing.assert_array_equal(seq, np.arange(len(seq)))
    np.testing.assert_array_equal(counts[:, 3], seq)
    assert transport.firmware_for("counting://x") is sys.modules["scheme_counting"].CountingBoard


def test_unknown_and_malformed_schemes_are_refused_naming_the_known_ones():
    with pytest.raises(BadDeviceURL, match=r"unknown device URL scheme 'bogus'.*sim://.*socket://"):
        open_device("bogus://x")
    with pytest.raises(BadDeviceURL, match="is not a URL scheme"):
        open_device("no scheme://x")
    with pytest.raises(BadDeviceURL, match="empty device URL"):
        open_device(" ")
    with pytest.raises(BadDeviceURL, match="not a simulated device"):
        transport.firmware_for("/dev/ttyACM0")
    with pytest.raises(ValueError):
        register_scheme("Bad_Name", SerialTransport)


def test_a_pyserial_url_without_a_device_is_no_answer_not_a_hang():
    """loop:// echoes what the host writes: no INFO comes, the handshake gives up in time."""
    started = time.monotonic()
    with pytest.raises(HandshakeError, match="loop://: no device answered INFO"):
        open_device("loop://")
    assert time.monotonic() - started < 4.0


def test_a_read_waits_for_data_and_returns_all_of_it_at_once():
    """The reader blocks on the port rather than polling: a read wakes when bytes arrive,
    takes everything that is there in one call, and returns b"" only after its timeout."""
    master, slave = os.openpty()
    try:
        import tty

        tty.setraw(slave)
        port = SerialTransport("test pty", os.ttyname(slave))
        started = time.monotonic()
        assert port.read(0.2) == b""
        assert 0.18 < time.monotonic() - started < 0.5
        payload = bytes(range(256)) * 8
        threading.Timer(0.3, os.write, (master, payload)).start()
        started = time.monotonic()
        data = port.read(5.0)
        woke_after = time.monotonic() - started
        while len(data) < len(payload):  # a pty may hand over a large write in pieces
            data += port.read(0.5)
        assert data == payload and 0.25 < woke_after < 1.0
        port.close()
    finally:
        os.close(master)
        os.close(slave)


def test_a_streaming_simulator_wakes_the_reader_once_per_write():
    """Each read takes a whole write of the stand-in (one per tick): never a byte at a time."""
    with open_device("sim://dual-plate") as device:
        device.start()
        sizes, started = [], time.monotonic()
        while time.monotonic() - started < 1.0:
            data = device.transport.read(0.05)
            if data:
                sizes.append(len(data))
    assert len(sizes) <= 1.3 / TICK_S  # at most one read per tick of the stand-in, with slack
    assert np.median(sizes) >= 44  # whole frames, not single bytes


def test_each_profile_format_has_one_codec_and_codecs_read_only_their_own_info():
    assert {fmt: codec_for(fmt).name for fmt in SAMPLE_FORMATS} == {
        "int32": "binary", "int16": "binary", "float64": "binary", "ascii": "ascii"}
    info = {"serial": "X-1", "channels": 4}
    for codec in CODECS.values():
        message = codec.encode_message(PacketType.INFO, info, seq=0, t_us=0)
        heard = {other.name: other.detect(other.probe(), message) for other in CODECS.values()}
        assert heard[codec.name] == {"serial": "X-1", "channels": "4"}
        assert all(fields is None for name, fields in heard.items() if name != codec.name)
    rows = np.arange(12, dtype="<i4").reshape(3, 4)
    for codec in (BINARY, ASCII):
        decoder = codec.decoder(4)
        batch = decoder.feed(codec.encode_frames(np.arange(3), np.arange(3) * 1000, rows)
                             + codec.encode_frame(3, 3000, rows[0], corrupt=True))
        np.testing.assert_array_equal(batch.counts, rows)
        assert decoder.stats.crc_errors + decoder.stats.malformed == 1


def test_network_urls_name_host_and_port():
    for url in ("socket://", "socket://127.0.0.1", "socket://:80", "socket://h:0", "socket://h:65536",
                "rfc2217://h:x"):
        with pytest.raises(BadDeviceURL, match=re.escape(url) + ".*HOST:PORT"):
            SerialTransport(url)
