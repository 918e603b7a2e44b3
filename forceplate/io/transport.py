"""Transports: bytes to and from a device, opened from a URL whose scheme says how.

A :class:`Transport` is the whole surface a device driver needs: ``read`` (waits until
bytes arrive or a timeout passes), ``write``, ``reopen`` (after a disconnect) and
``close``. Every URL scheme is a registered :class:`Scheme`, the way pyserial's URL
handlers and python-can's backends are:

- a serial port (``/dev/ttyACM0``, ``COM3``, ``serial:///dev/ttyUSB0``) and every URL
  pyserial opens (``socket://HOST:PORT``, ``rfc2217://HOST:PORT``, ``loop://``,
  ``spy://PORT``, ``hwgrep://REGEX``) go through ``serial.serial_for_url``
  (:class:`SerialTransport`);
- a scheme played by a firmware stand-in (:mod:`forceplate.io.firmware`) registers a
  function making the stand-in; the host then reads its pseudo-terminal through the same
  serial path (:class:`FirmwareTransport`), and ``forceplate simulate URL --listen`` can
  serve it on TCP.

A scheme NAME not registered yet is looked up as a module named ``scheme_NAME.py`` in any
package of forceplate, imported only when a URL asks for it; the module registers itself
with :func:`register_scheme` (the simulator's ``sim``, the ``replay`` here, the Lab
Streaming Layer bridge's ``lsl``). So io names none of the packages above it, and a new
transport is one new module (docs/ARCHITECTURE.md, "A new transport"). Code outside forceplate (a notebook, a plugin) may call
:func:`register_scheme` itself before opening its URLs.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import select
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import serial

from forceplate.errors import BadDeviceURL, DeviceDisconnected, DeviceNotFound

# Protocol v1's line speed (devices/PROTOCOL.md); native-USB boards, ptys and sockets ignore it.
BAUD_RATE = 921600
# Ports with no file descriptor to wait on (loop://, rfc2217://) are read with pyserial's
# own timeout, this long (set once: rfc2217 sends its settings to the server on each change).
FALLBACK_TIMEOUT_S = 0.05
READ_CHUNK_BYTES = 1 << 16  # what one read takes at most: 1.5 s of a 1 kHz dual plate
SCHEME_NAME = re.compile(r"[a-z][a-z0-9+.-]*\Z")  # RFC 3986's scheme grammar, lower case
NETWORK_SCHEMES = ("socket", "rfc2217")  # pyserial's schemes whose URL is HOST:PORT


class Transport:
    """Bytes to and from one device. Raises :class:`DeviceDisconnected` when the device
    goes away (unplugged, its host closed the connection) and, from :meth:`reopen`, a
    :class:`~forceplate.errors.DeviceError` while it is still away."""

    url: str
    # The stream's own profile and calibration record when the source knows them (a
    # replay: the trial's), so the host does not look them up by the INFO answer.
    profile = None
    calibration = None

    @property
    def ground_truth(self):
        """What the stream shows (a simulator's per-rep labels); None for hardware."""
        return None

    def read(self, timeout_s: float) -> bytes:
        """The bytes that have arrived; waits up to ``timeout_s`` for the first, returning
        as soon as any arrive (b"" if none did)."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def reopen(self) -> None:
        """Open the same device again after a disconnect."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SerialTransport(Transport):
    """A port or pyserial URL opened with ``serial.serial_for_url``.

    Reads wait on the port's file descriptor (a serial port, a pty, a socket) and take
    everything that arrived in one call, so a reader wakes once per burst of data, not
    once per poll; ports without a descriptor use pyserial's blocking read.
    """

    def __init__(self, url: str, port_url: str | None = None):
        self.url = url
        self._port_url = port_url or url
        self._port = None
        self._fd = None
        self._open()

    def _open(self) -> None:
        if _scheme(self._port_url) in NETWORK_SCHEMES:
            _check_host_port(self.url, self._port_url)
        try:
            port = serial.serial_for_url(self._port_url, baudrate=BAUD_RATE, timeout=FALLBACK_TIMEOUT_S)
        except ValueError as exc:  # pyserial's answer to an unknown URL scheme or a bad option
            raise BadDeviceURL(f"{self.url}: {exc}") from None
        except (serial.SerialException, OSError) as exc:
            if _scheme(self._port_url) in NETWORK_SCHEMES:  # pyserial's message repeats the URL
                reason = getattr(exc.__context__, "strerror", None) or exc
                raise DeviceNotFound(f"{self.url}: cannot connect ({reason})") from None
            raise DeviceNotFound(f"{self.url}: cannot open port ({exc})") from None
        try:
            self._fd = port.fileno()
        except (AttributeError, OSError, ValueError, serial.SerialException):
            self._fd = None  # loop://, rfc2217://: pyserial's own read waits
        else:
            port.timeout = 0  # select waits; a read then takes what is there
        self._port = port

    def read(self, timeout_s: float) -> bytes:
        try:
            if self._fd is None:  # pyserial waits FALLBACK_TIMEOUT_S at most
                first = self._port.read(1)
                return first + self._port.read(self._port.in_waiting) if first else b""
            readable, _, _ = select.select([self._fd], [], [], timeout_s)
            return self._port.read(READ_CHUNK_BYTES) if readable else b""
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceDisconnected(f"{self.url}: device disconnected ({exc})") from None

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"{self.url}: device disconnected ({exc})") from None

    def reopen(self) -> None:
        self._close_port()
        self._open()

    def close(self) -> None:
        self._close_port()

    def _close_port(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except (serial.SerialException, OSError):
                pass
            self._port = None


class FirmwareTransport(SerialTransport):
    """A firmware stand-in (``make_firmware(replug=...)``) on a pseudo-terminal, read
    through the serial path like hardware. ``firmware`` is the stand-in (tests read its
    counters)."""

    def __init__(self, url: str, make_firmware: Callable):
        self._make_firmware = make_firmware
        self.firmware = make_firmware(replug=False)
        try:
            super().__init__(url, self.firmware.port_path)
        except Exception:
            self.firmware.close()
            raise

    @property
    def profile(self):
        return self.firmware.profile

    @property
    def calibration(self):
        return self.firmware.calibration

    @property
    def ground_truth(self):
        return self.firmware.ground_truth

    def reopen(self) -> None:
        """The device plugged back in: a new stand-in, which does not unplug itself again."""
        self._close_port()
        self.firmware.close()
        self.firmware = self._make_firmware(replug=True)
        self._port_url = self.firmware.port_path
        self._open()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.firmware.close()


@dataclass(frozen=True)
class Scheme:
    """A URL scheme: ``open(url)`` makes its transport; ``firmware(url, replug=False,
    connection=None)``, for a scheme played by a stand-in, makes the stand-in."""

    name: str
    open: Callable[[str], Transport]
    firmware: Callable | None = None
    example: str = ""


_SCHEMES: dict[str, Scheme] = {}


def register_scheme(name: str, transport: Callable[[str], Transport] | None = None, *,
                    firmware: Callable | None = None, example: str = "") -> Scheme:
    """Make ``name://`` URLs open with ``transport(url)``, or, for a scheme played by a
    firmware stand-in, with ``firmware(url, replug=False, connection=None)`` on a pty."""
    if (name and not SCHEME_NAME.match(name)) or (transport is None) == (firmware is None):
        raise ValueError(f"scheme {name!r}: a lower-case URL scheme with a transport or a firmware, not both")
    if transport is None:
        def transport(url: str) -> Transport:
            return FirmwareTransport(url, lambda replug: firmware(url, replug=replug))
    _SCHEMES[name] = Scheme(name, transport, firmware, example)
    return _SCHEMES[name]


def _serial(url: str) -> Transport:
    # serial:///dev/ttyUSB0 names the port after the scheme; other pyserial URLs go as they are.
    return SerialTransport(url, url[len("serial://"):] if _scheme(url) == "serial" else url)


register_scheme("", _serial, example="/dev/ttyACM0")
register_scheme("serial", _serial, example="serial:///dev/ttyUSB0")


def scheme(url: str) -> Scheme:
    """The registered scheme of ``url``, importing its ``scheme_NAME`` module on first use;
    raises :class:`BadDeviceURL` for a scheme nobody serves."""
    if not url.strip():
        raise BadDeviceURL("empty device URL (use a port such as /dev/ttyACM0, or sim://dual-plate)")
    name = _scheme(url)
    if name in _SCHEMES:
        return _SCHEMES[name]
    if not SCHEME_NAME.match(name):
        raise BadDeviceURL(f"{url[:200]}: {name[:40]!r} is not a URL scheme")
    module = _scheme_modules().get(name)
    if module is not None:
        importlib.import_module(module)
        if name not in _SCHEMES:
            raise BadDeviceURL(f"{url}: {module} does not register the scheme {name!r}")
        return _SCHEMES[name]
    if _pyserial_handles(name):
        return register_scheme(name, _serial, example=f"{name}://HOST:PORT" if name in NETWORK_SCHEMES else f"{name}://")
    raise BadDeviceURL(f"{url}: unknown device URL scheme {name!r} (use {', '.join(_examples(lambda s: True))} "
                       "or another pyserial URL)")


def open_transport(url: str) -> Transport:
    """The transport for ``url``; raises a :class:`~forceplate.errors.DeviceError`."""
    return scheme(url).open(url)


def firmware_for(url: str) -> Callable:
    """The stand-in maker (``firmware(url, replug=False, connection=None)``) of a scheme
    played by one; raises :class:`BadDeviceURL` for other schemes (hardware)."""
    found = scheme(url)
    if found.firmware is None:
        raise BadDeviceURL(f"{url}: not a simulated device (these are: {', '.join(_examples(lambda s: s.firmware))})")
    return found.firmware


def known_schemes() -> list[str]:
    """Registered schemes and those a ``scheme_NAME`` module would register, sorted."""
    return sorted(set(_SCHEMES) | set(_scheme_modules()) | set(NETWORK_SCHEMES) | {"loop"})


def _examples(wanted) -> list[str]:
    """An example URL of each known scheme that ``wanted(scheme)`` accepts (for messages:
    every scheme module is imported)."""
    return [found.example for found in (scheme(f"{name}://") if name else _SCHEMES[name] for name in known_schemes())
            if wanted(found)]


def parse_device_url(url: str, options) -> tuple[str, dict[str, str]]:
    """A URL's target (netloc + path: a device kind, file or stream name) and query (the
    last value of each key, blanks kept); raises :class:`BadDeviceURL` for a key not in
    ``options``."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - set(options)
    if unknown:
        raise BadDeviceURL(f"{url}: unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(options))})")
    return parts.netloc + parts.path, query


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _scheme_modules() -> dict[str, str]:
    """Scheme name -> module, for every ``scheme_NAME.py`` in a package of forceplate."""
    root = Path(__file__).resolve().parents[1]
    package = __name__.split(".", 1)[0]
    return {path.stem[len("scheme_"):]: f"{package}.{path.parent.name}.{path.stem}"
            for path in sorted(root.glob("*/scheme_*.py"))}


def _pyserial_handles(name: str) -> bool:
    """Whether pyserial has a URL handler for ``name://`` (its ``protocol_NAME`` modules)."""
    for package in serial.protocol_handler_packages:
        try:
            if importlib.util.find_spec(f"{package}.protocol_{name}") is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def _check_host_port(url: str, port_url: str) -> None:
    """A network URL names a host and a port in 1..65535 (pyserial would fail with a traceback on none)."""
    parts = urlsplit(port_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or not 0 < port < 65536:
        raise BadDeviceURL(f"{url}: a network device is {_scheme(port_url)}://HOST:PORT (port 1-65535)")
