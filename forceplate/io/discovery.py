"""Port discovery: which serial ports exist, and which of them has a forceplate device.

``discover()`` lists the ports pyserial sees (plus any paths given) and, unless told not
to, probes each one: opens it, sends ``INFO?`` and listens for a short while. A probe
never raises and never blocks for long: a port that is busy, absent, not ours to open or
that speaks something else comes back as a :class:`ProbeStatus` with a short reason.
Nothing here prints; the ``forceplate devices`` command does.
"""

from __future__ import annotations

import errno
import threading
import time
from dataclasses import asdict, dataclass, field
from enum import Enum

import serial
from serial.tools import list_ports

from forceplate.io.device import NoInfoAnswer, wait_for_info
from forceplate.io.protocol import Command
from forceplate.io.transport import BAUD_RATE

PROBE_TIMEOUT_S = 0.5
# Opening and closing a port is normally instant, but some drivers (Bluetooth serial
# links connecting, USB adapters mid-unplug) block inside the kernel; a probe that has
# not finished this long after its deadline is reported as stuck and abandoned.
STUCK_GRACE_S = 1.0
READ_SLICE_S = 0.05


class ProbeStatus(str, Enum):
    """What a probe found on a port (the value is what ``--json`` prints)."""

    FOUND = "forceplate"  # a device answered INFO?
    NO_ANSWER = "no answer"  # the port opened, nothing came back
    OTHER = "other device"  # bytes came back, but no forceplate INFO
    BUSY = "busy"  # another program holds the port
    ABSENT = "absent"  # no such port
    DENIED = "permission denied"
    NOT_SERIAL = "not a serial port"  # a file or directory, not a tty
    STUCK = "stuck"  # the driver blocked in open, write or close
    ERROR = "error"  # anything else; the reason says what


@dataclass(frozen=True)
class SerialPort:
    """A serial port as the operating system describes it (USB fields None when unknown)."""

    path: str
    description: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    manufacturer: str | None = None

    @property
    def usb_id(self) -> str | None:
        """``VID:PID`` in hex, as ``lsusb`` prints it."""
        return None if self.vid is None or self.pid is None else f"{self.vid:04x}:{self.pid:04x}"


@dataclass
class Probe:
    """The answer (or silence) on one port. ``info`` holds the device's INFO fields."""

    status: ProbeStatus
    reason: str = ""
    info: dict[str, str] = field(default_factory=dict)
    mode: str | None = None  # the codec's name ("binary" or "ascii"): how the device framed its INFO
    elapsed_s: float = 0.0


@dataclass
class DiscoveredPort:
    """A port and, when it was probed, what answered on it."""

    port: SerialPort
    probe: Probe | None = None

    def as_dict(self) -> dict:
        """JSON-ready: the port's fields, ``usb_id`` and the probe (None when not probed)."""
        out = asdict(self.port)
        out["usb_id"] = self.port.usb_id
        out["probe"] = None
        if self.probe is not None:
            out["probe"] = asdict(self.probe)
            out["probe"]["status"] = self.probe.status.value
        return out


def list_serial_ports() -> list[SerialPort]:
    """The serial ports the operating system reports, sorted by path (may be empty)."""
    return sorted(
        (SerialPort(p.device, p.description, p.vid, p.pid, p.serial_number, p.manufacturer)
         for p in list_ports.comports()),
        key=lambda port: port.path,
    )


def probe_port(path: str, timeout_s: float = PROBE_TIMEOUT_S) -> Probe:
    """Open ``path`` (a port or a pyserial URL), send ``INFO?`` and wait up to ``timeout_s``.

    Never raises for anything the port does; see :class:`ProbeStatus`.
    """
    started = time.monotonic()
    probe = _probe(path, timeout_s)
    probe.elapsed_s = round(time.monotonic() - started, 3)
    return probe


def discover(extra_paths=(), probe: bool = True, timeout_s: float = PROBE_TIMEOUT_S) -> list[DiscoveredPort]:
    """Listed ports followed by ``extra_paths`` not already listed, each probed unless
    ``probe`` is false. All ports are probed at once, so this takes about ``timeout_s``
    however many there are, and at most ``timeout_s + STUCK_GRACE_S``."""
    ports = list_serial_ports()
    listed = {port.path for port in ports}
    for path in extra_paths:
        if path not in listed:
            ports.append(SerialPort(path))
            listed.add(path)
    found = [DiscoveredPort(port) for port in ports]
    if probe:
        _probe_all(found, timeout_s)
    return found


def _probe_all(found: list[DiscoveredPort], timeout_s: float) -> None:
    def run(entry: DiscoveredPort) -> None:
        entry.probe = probe_port(entry.port.path, timeout_s)

    # Daemon threads, not a pool: a thread stuck in a driver must not keep the
    # interpreter from exiting, and a pool joins its workers at exit.
    threads = [threading.Thread(target=run, args=(entry,), name=f"probe {entry.port.path}", daemon=True)
               for entry in found]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s + STUCK_GRACE_S
    for entry, thread in zip(found, threads, strict=True):
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            entry.probe = Probe(ProbeStatus.STUCK, f"the driver did not return within {timeout_s + STUCK_GRACE_S:g} s",
                                elapsed_s=timeout_s + STUCK_GRACE_S)


def _probe(path: str, timeout_s: float) -> Probe:
    try:
        # exclusive: a port another program has locked is reported busy rather than
        # having its bytes stolen; the write timeout keeps a flow-controlled port from
        # blocking the probe.
        port = serial.serial_for_url(path, baudrate=BAUD_RATE, timeout=READ_SLICE_S,
                                     write_timeout=timeout_s, exclusive=True)
    except ValueError as exc:  # pyserial's answer to an unknown URL scheme or bad setting
        return Probe(ProbeStatus.ERROR, str(exc))
    except (serial.SerialException, OSError) as exc:
        return _open_failure(exc)
    try:
        port.write(Command.INFO)
        return _listen(port, path, timeout_s)
    except (serial.SerialException, OSError) as exc:
        return Probe(ProbeStatus.ERROR, f"port failed during the probe ({exc})")
    finally:
        _close_quietly(port)


def _listen(port, path: str, timeout_s: float) -> Probe:
    try:
        info, codec = wait_for_info(lambda: port.read(port.in_waiting or 1), timeout_s, path)
    except NoInfoAnswer as exc:
        if not exc.stats.bytes_in:
            return Probe(ProbeStatus.NO_ANSWER, f"nothing came back within {timeout_s:g} s")
        reason = f"{exc.stats.bytes_in} bytes came back, but no forceplate INFO"
        if exc.stats.crc_errors:
            reason += f" ({exc.stats.crc_errors} packets failed the CRC)"
        return Probe(ProbeStatus.OTHER, reason)
    return Probe(ProbeStatus.FOUND, info=info, mode=codec.name)


_ERRNO_STATUS = {
    errno.ENOENT: ProbeStatus.ABSENT,
    errno.ENODEV: ProbeStatus.ABSENT,
    errno.ENXIO: ProbeStatus.ABSENT,
    errno.EACCES: ProbeStatus.DENIED,
    errno.EPERM: ProbeStatus.DENIED,
    errno.EBUSY: ProbeStatus.BUSY,
    errno.EAGAIN: ProbeStatus.BUSY,  # flock(LOCK_NB) on a port another program locked
    errno.ENOTTY: ProbeStatus.NOT_SERIAL,
    errno.EISDIR: ProbeStatus.NOT_SERIAL,
}
# pyserial on Windows puts the WinError's repr in the message and sets no errno; a COM
# port another program has open answers "access denied".
_WINDOWS_STATUS = {"FileNotFoundError": ProbeStatus.ABSENT, "PermissionError": ProbeStatus.BUSY}
# pyserial's own messages repeat the path and the errno twice; these say what to do.
_REASONS = {
    ProbeStatus.ABSENT: "no such port",
    ProbeStatus.DENIED: "no permission to open it (on Linux, add the user to the port's group, e.g. dialout)",
    ProbeStatus.BUSY: "another program has it open",
    ProbeStatus.NOT_SERIAL: "the path is not a terminal (tty) device",
}


def _open_failure(exc: Exception) -> Probe:
    code = getattr(exc, "errno", None)
    if code is None and exc.__context__ is not None and exc.__context__.args:
        # termios errors (a file that is not a tty) reach us only as the context
        first = exc.__context__.args[0]
        code = first if isinstance(first, int) else None
    status = _ERRNO_STATUS.get(code)
    if status is None:
        status = next((s for name, s in _WINDOWS_STATUS.items() if name in str(exc)), ProbeStatus.ERROR)
    return Probe(status, _REASONS.get(status, str(exc)))


def _close_quietly(port) -> None:
    try:
        # Drop the unsent INFO? so close() does not wait for a device that never reads.
        port.reset_output_buffer()
        port.close()
    except (serial.SerialException, OSError):
        pass
