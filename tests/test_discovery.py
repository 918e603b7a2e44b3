"""Port discovery against real pseudo-terminals: a simulator, silence, a foreign device."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
import serial

from forceplate.io.discovery import DiscoveredPort, ProbeStatus, discover, list_serial_ports, probe_port
from forceplate.sim.urls import open_simulator


@pytest.fixture
def simulator():
    sim = open_simulator("sim://dual-plate")
    yield sim
    sim.close()


@pytest.fixture
def silent_pty():
    """A pty with nothing behind it: the master stays open and never answers."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(slave)
    os.close(master)


def pty_device(reply: bytes):
    """A pty whose 'device' answers every command line with ``reply``; yields its path."""
    master, slave = os.openpty()
    stop = threading.Event()

    def answer():
        os.set_blocking(master, False)
        while not stop.is_set():
            try:
                if b"\n" in os.read(master, 256):
                    os.write(master, reply)
            except BlockingIOError:
                time.sleep(0.01)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return os.ttyname(slave), lambda: (stop.set(), thread.join(), os.close(slave), os.close(master))


def test_probe_reports_the_simulators_info(simulator):
    probe = probe_port(simulator.port_path)
    assert probe.status is ProbeStatus.FOUND and probe.mode == "binary"
    assert probe.info["serial"] == "SIM-DP-0001"
    assert probe.info["profile"] == "dual-plate-ads1256"
    assert probe.info["rate_hz"] == "1000"
    assert probe.info["model"] and probe.info["firmware"]


def test_probe_finds_a_device_that_is_already_streaming(simulator):
    with serial.Serial(simulator.port_path, timeout=0.1) as port:
        port.write(b"START\n")
        deadline = time.monotonic() + 5
        while not port.read(1) and time.monotonic() < deadline:  # streaming: frames arrive
            pass
    probe = probe_port(simulator.port_path)
    assert probe.status is ProbeStatus.FOUND and probe.info["serial"] == "SIM-DP-0001"


def test_silent_pty_is_no_answer_quickly(silent_pty):
    started = time.monotonic()
    probe = probe_port(silent_pty, timeout_s=0.3)
    assert probe.status is ProbeStatus.NO_ANSWER and "0.3 s" in probe.reason
    assert time.monotonic() - started < 1.5


def test_missing_path_and_non_tty_have_reasons(tmp_path):
    missing = probe_port(str(tmp_path / "ttyNOPE"))
    assert missing.status is ProbeStatus.ABSENT and missing.reason
    a_file = tmp_path / "not-a-port"
    a_file.write_text("x")
    assert probe_port(str(a_file)).status is ProbeStatus.NOT_SERIAL
    assert probe_port("nosuchscheme://x").status is ProbeStatus.ERROR


def test_port_locked_by_another_program_is_busy(simulator):
    with serial.Serial(simulator.port_path, exclusive=True):
        probe = probe_port(simulator.port_path)
    assert probe.status is ProbeStatus.BUSY and probe.reason


def test_a_device_speaking_something_else_is_reported():
    path, close = pty_device(b"OK\r\nERROR unknown command\r\n")
    try:
        probe = probe_port(path, timeout_s=0.3)
    finally:
        close()
    assert probe.status is ProbeStatus.OTHER and "bytes came back" in probe.reason


def test_ascii_line_mode_info_is_understood():
    path, close = pty_device(b"123,4,5\n# INFO model=fsr-insole-esp32 serial=FSR-0007 firmware=1.0 "
                             b"channels=16 rate_hz=20 profile=insole-diy-fsr16 foot=left\r\n")
    try:
        probe = probe_port(path, timeout_s=1.0)
    finally:
        close()
    assert probe.status is ProbeStatus.FOUND and probe.mode == "ascii"
    assert probe.info == {"model": "fsr-insole-esp32", "serial": "FSR-0007", "firmware": "1.0", "channels": "16",
                          "rate_hz": "20", "profile": "insole-diy-fsr16", "foot": "left"}


def test_discover_probes_listed_and_extra_ports_together(simulator, silent_pty):
    started = time.monotonic()
    found = discover([simulator.port_path, silent_pty, simulator.port_path], timeout_s=0.4)
    elapsed = time.monotonic() - started
    by_path = {entry.port.path: entry for entry in found}
    assert len(by_path) == len(found), "an extra port given twice is listed once"
    assert by_path[simulator.port_path].probe.status is ProbeStatus.FOUND
    assert by_path[silent_pty].probe.status is ProbeStatus.NO_ANSWER
    assert elapsed < 2.0, "ports are probed at once, not one after another"


def test_listing_without_probing_opens_nothing():
    for entry in discover(probe=False):
        assert isinstance(entry, DiscoveredPort) and entry.probe is None
    # Whatever hardware this machine has (often none), listing never fails.
    assert all(port.path for port in list_serial_ports())


def test_cli_json_probes_a_simulator_pty(simulator, tmp_path):
    result = subprocess.run([sys.executable, "-m", "forceplate", "devices", "--json", simulator.port_path,
                             str(tmp_path / "gone")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ports = {entry["path"]: entry for entry in json.loads(result.stdout)}
    assert ports[simulator.port_path]["probe"]["status"] == "forceplate"
    assert ports[simulator.port_path]["probe"]["info"]["serial"] == "SIM-DP-0001"
    assert ports[str(tmp_path / "gone")]["probe"]["status"] == "absent"


def test_cli_text_and_no_probe(simulator):
    text = subprocess.run([sys.executable, "-m", "forceplate", "devices", simulator.port_path],
                          capture_output=True, text=True, timeout=60)
    assert text.returncode == 0, text.stderr
    assert "forceplate device (binary): model=" in text.stdout and "serial=SIM-DP-0001" in text.stdout
    listed = subprocess.run([sys.executable, "-m", "forceplate", "devices", "--no-probe", "--json"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and all(entry["probe"] is None for entry in json.loads(listed.stdout))
