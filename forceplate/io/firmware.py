"""Firmware stand-ins: a device's side of protocol v1, played by the host.

A :class:`Firmware` answers ``INFO?``, ``START`` and ``STOP`` like firmware and, once
started, streams its samples in real time (or ``speed`` times faster) in its codec's
framing. It speaks on the master side of a pseudo-terminal, whose other side
(``port_path``) any program opens as a serial port, or on a connected TCP socket
(:class:`FirmwareServer`, ``forceplate simulate URL --listen``): either way the host reads
it with exactly the driver it uses for hardware. Subclasses say which bytes samples are
(:meth:`Firmware._encode`): the simulator, a replayed trial (``scheme_replay.py``), a
Lab Streaming Layer stream bridged to a device.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty

import numpy as np

from forceplate.errors import ForceplateError
from forceplate.io.codec import Codec
from forceplate.io.protocol import PacketType

# How often a streaming stand-in wakes to send what came due (and reads commands). A USB
# serial link delivers in bursts too (adapters hold bytes up to a latency timer, 16 ms by
# default on FTDI chips); every 5 ms woke each simulator and its reader 200 times a second
# for a few samples each. The host reads at most every 20 ms (io/device.py READ_GATHER_S):
# a stand-in writing as often sends each read one block.
TICK_S = 0.02
ACCEPT_POLL_S = 0.2  # how soon a server waiting for a host notices it is asked to stop
MAX_BACKLOG_S = 10.0  # samples due longer ago than this when the stand-in gets to write are lost


class Firmware:
    """Firmware stand-in for a device whose INFO fields are ``info``, sampling at
    ``rate_hz`` and framing its messages with ``codec``. With ``connection`` (a connected
    socket) it speaks there; without, on a new pseudo-terminal (``port_path``)."""

    # The stream's own profile and calibration record, when the host should use them
    # rather than the INFO's bundled profile and this machine's record for the serial (a
    # replay: the trial's). None: the host looks them up.
    profile = None
    calibration = None

    def __init__(self, info: dict, rate_hz: float, codec: Codec, speed: float = 1.0, connection=None):
        self.info = info
        self.rate_hz = rate_hz
        self.codec = codec
        self.speed = speed
        self._connection = connection
        self._slave = -1
        if connection is None:
            self._fd, self._slave = os.openpty()
            tty.setraw(self._slave)
            self.port_path = os.ttyname(self._slave)
        else:
            self._fd = connection.fileno()
            self.port_path = None
        os.set_blocking(self._fd, False)
        self._seq = 0
        self._sent = 0  # samples produced since START (sent or dropped)
        self._streaming = False
        self._t0_wall = 0.0
        self._stop = threading.Event()
        name = self.port_path or f"tcp fd {self._fd}"
        self._thread = threading.Thread(target=self._run, name=f"firmware {name}", daemon=True)
        self._thread.start()

    @property
    def samples_sent(self) -> int:
        return self._sent

    @property
    def ground_truth(self):
        """What the samples show (a simulator's per-rep labels); None when nobody knows."""
        return None

    @property
    def running(self) -> bool:
        """False once the host went away (a TCP host closed), after an unplug or a close."""
        return self._thread.is_alive()

    def close(self) -> None:
        self._stop_streaming()
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._hang_up()
        _close_fd(self._slave)
        self._slave = -1

    def unplug(self) -> None:
        """Vanish like a pulled USB cable: the host's next read fails."""
        self._stop_streaming()
        self._stop.set()
        self._hang_up()

    def _hang_up(self) -> None:
        if self._connection is not None:
            try:
                self._connection.shutdown(socket.SHUT_RDWR)  # the host reads the end of the stream
            except OSError:
                pass
            self._connection.close()
        else:
            _close_fd(self._fd)
        self._fd = -1

    def _elapsed_s(self) -> float:
        """Device time since START, in seconds."""
        return (time.monotonic() - self._t0_wall) * self.speed

    def _start_streaming(self, now: float) -> None:
        self._streaming, self._t0_wall, self._sent = True, now, 0

    def _stop_streaming(self) -> None:
        self._streaming = False

    def _stream(self) -> None:
        """Send the samples due by now; after a hold-up of more than MAX_BACKLOG_S (a host
        that does not read, a machine that stalled) the older ones are lost, as a device's
        buffer loses them: what one write makes stays bounded whatever the clock says."""
        due = int(self._elapsed_s() * self.rate_hz) - self._sent
        lost = due - int(MAX_BACKLOG_S * self.rate_hz)
        if lost > 0:
            self._sent += lost
            self._seq += lost
            due -= lost
        if due > 0:
            self._write(self._encode(np.arange(self._sent, self._sent + due)))
            self._sent += due

    def _encode(self, n: np.ndarray) -> bytes:
        """The wire bytes of samples ``n`` (counted from START)."""
        raise NotImplementedError

    def _run(self) -> None:
        pending = b""
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select([self._fd], [], [], TICK_S)
                if readable:
                    data = os.read(self._fd, 4096)
                    if not data:
                        return  # a TCP host closed its end
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        self._command(line.strip().decode("ascii", errors="replace"))
                if self._streaming:
                    self._stream()
        except (OSError, ValueError):
            return  # the pty or the connection went away: unplugged, closed or reset

    def _command(self, line: str) -> None:
        word = line.split(" ", 1)[0].upper()
        if word == "INFO?":
            self._write(self._message(PacketType.INFO, self.info))
            return
        if word == "START" and not self._streaming:
            self._start_streaming(time.monotonic())
        elif word == "STOP":
            self._stop_streaming()
        self._write(self._message(PacketType.ACK, line))

    def _message(self, ptype: PacketType, content: dict | str) -> bytes:
        return self.codec.encode_message(ptype, content, self._seq, int(round(self._sent * 1e6 / self.rate_hz)))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            try:  # nearly always room at once: waiting is only for a full buffer (a host behind)
                view = view[os.write(self._fd, view):]
            except BlockingIOError:
                select.select([], [self._fd], [], 0.1)


def _close_fd(fd: int) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass  # already gone with the pty


class FirmwareServer:
    """A firmware stand-in served on TCP, one host at a time, like a board on Wi-Fi.

    ``make_firmware(connection, replug)`` makes the stand-in for each host that connects
    (``replug``: not the first, as a device plugged back in). A host that closes its end
    hangs up its stand-in; the next host gets a fresh one. Raises :class:`ForceplateError`
    (one line) when ``host:port`` cannot be listened on.
    """

    def __init__(self, host: str, port: int, make_firmware):
        self._make_firmware = make_firmware
        try:
            self._listener = socket.create_server((host, port), backlog=1)
        except OSError as exc:
            raise ForceplateError(f"--listen {host}:{port}: cannot listen there ({exc.strerror or exc})") from None
        self._listener.settimeout(ACCEPT_POLL_S)
        self.host, self.port = self._listener.getsockname()[:2]
        self.hosts_served = 0

    def serve(self, stop: threading.Event) -> None:
        """Serve hosts one after the other until ``stop`` is set."""
        try:
            while not stop.is_set():
                try:
                    connection, _ = self._listener.accept()
                except socket.timeout:
                    continue
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    firmware = self._make_firmware(connection, self.hosts_served > 0)
                except Exception:  # the device is gone (a replayed file, an LSL stream): hang up, say why
                    connection.close()
                    raise
                self.hosts_served += 1
                try:
                    while firmware.running and not stop.wait(ACCEPT_POLL_S):
                        pass
                finally:
                    firmware.close()
        finally:
            self._listener.close()
