"""Device: one lifecycle for every device (open, info, start, read, stop, close).

``open_device(url)`` accepts a serial port (``/dev/ttyACM0``, ``COM3``), a pyserial URL
(``serial:///dev/ttyUSB0``), ``sim://KIND?options`` (the simulator, over a real
pseudo-terminal, read by this same driver), ``replay://FILE.h5?options`` (a recorded
device played back the same way) or ``lsl://STREAM`` (a Lab Streaming Layer feet stream,
bridged the same way). The answer to ``INFO?`` tells the wire mode:
a binary INFO packet or an ASCII ``# INFO`` line (devices/PROTOCOL.md).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

import numpy as np
import serial

from forceplate.calibration.record import CalibrationRecord, find_record
from forceplate.errors import BadDeviceURL, DeviceDisconnected, DeviceError, DeviceNotFound, HandshakeError
from forceplate.io.ascii import AsciiDecoder
from forceplate.io.decoder import DecoderStats, FrameBatch, FrameDecoder, StreamDecoder
from forceplate.io.protocol import Command, PacketType
from forceplate.errors import ProfileError
from forceplate.profiles import RATE_RANGE_HZ, DeviceProfile, device_profile, number_in, plain_name

HANDSHAKE_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 0.05
# Protocol v1's line speed (devices/PROTOCOL.md); native-USB boards ignore it.
BAUD_RATE = 921600


@dataclass
class Frames(FrameBatch):
    """A batch of frames with the host's clock: ``t_host_s`` is ``time.monotonic()`` based."""

    t_host_s: np.ndarray = None


class NoInfoAnswer(HandshakeError):
    """Nothing answered INFO? in time. ``stats`` are the binary decoder's counters, so a
    caller can tell silence from a device speaking something else."""

    def __init__(self, message: str, stats: DecoderStats):
        # what to check, in the user's words (the message alone names only the protocol's INFO?)
        heard = (f"{stats.bytes_in} bytes came back, but not from a forceplate device: is another device on this port?"
                 if stats.bytes_in else "nothing came back: is the device plugged in and switched on, and is this its port?")
        super().__init__(f"{message}; {heard} ('forceplate devices' lists the ports and what answers on each)")
        self.stats = stats


def wait_for_info(read_bytes, timeout_s: float, source: str) -> tuple[dict[str, str], type[StreamDecoder]]:
    """Read with ``read_bytes()`` until an INFO arrives, in either wire mode; the INFO
    fields and the decoder class of the mode they came in. The caller sends ``INFO?``.

    Raises :class:`NoInfoAnswer` (its message starting with ``source``) after ``timeout_s``.
    """
    # Each mode's decoder reads the other mode's bytes as garbage, so both can listen;
    # with no channels expected, a streaming device's frames count as malformed.
    probes = (FrameDecoder(0), AsciiDecoder(0))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = read_bytes()
        for probe in probes:
            probe.feed(data)
            for ptype, fields in probe.messages:
                if ptype == PacketType.INFO:
                    return fields, type(probe)
            probe.messages.clear()
    raise NoInfoAnswer(f"{source}: no device answered INFO? within {timeout_s:g} s", probes[0].stats)


class Device:
    """A device speaking protocol v1 on a serial-like port. Use :func:`open_device`."""

    def __init__(self, port, url: str, simulator=None):
        self.url = url
        self._port = port
        self._simulator = simulator
        self.info: dict[str, str] = {}
        self.profile: DeviceProfile | None = None
        self.calibration: CalibrationRecord | None = None
        self.decoder: StreamDecoder | None = None
        self.streaming = False
        self._last_frame_host_s = time.monotonic()

    @property
    def name(self) -> str:
        return self.info.get("serial", self.url)

    @property
    def ground_truth(self):
        """The simulator's per-rep labels, or None for hardware and replays."""
        return self._simulator.ground_truth if self._simulator else None

    def handshake(self, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> dict[str, str]:
        return self._configure(*self._request_info(timeout_s))

    def _request_info(self, timeout_s: float) -> tuple[dict[str, str], type[StreamDecoder]]:
        """The INFO fields, and the decoder class of the mode they came in."""
        self._write(Command.INFO)
        return wait_for_info(self._read_bytes, timeout_s, self.url)

    def reconnect(self) -> None:
        """Reopen the port after an unplug, check it is the same device, stream again.

        The frames missed meanwhile are estimated from the host clock and recorded as a
        gap, so trial time stays true across the outage.
        """
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            pass
        path = self.url.split("://", 1)[-1]
        if self._simulator is not None:
            scheme = _scheme(self.url)
            self._simulator.close()
            self._simulator = _bridge(scheme)(self.url, replug=True) if scheme == "sim" else _bridge(scheme)(self.url)
            path = self._simulator.port_path
        self._port = _open_port(path, self.url)
        fields, _ = self._request_info(HANDSHAKE_TIMEOUT_S)
        if fields.get("serial") != self.info.get("serial"):
            raise DeviceError(f"{self.url}: device {fields.get('serial')!r} answered, expected {self.info.get('serial')!r}")
        missing = int(round((time.monotonic() - self._last_frame_host_s) * self.profile.rate_hz))
        self.decoder.resume_after_outage(max(missing, 0))
        self.start()

    def _configure(self, fields: dict[str, str], mode: type[StreamDecoder]) -> dict[str, str]:
        """Take the INFO answer: what a device says is data, checked before anything uses it.

        The serial becomes an HDF5 group and a calibration file name, so it must be a plain
        name; the profile must be a bundled id (never a path on this host); the rate must be
        plausible and the channel count the profile's.
        """
        serial = fields.get("serial", "")
        if serial and not plain_name(serial):
            raise HandshakeError(f"{self.url}: INFO serial {serial[:80]!r} is not a plain name "
                                 f"(1 to 64 letters, digits, '-', '_', '.')")
        try:
            # A bridge that knows its stream's profile (a replay: the trial's own) gives it; else
            # the INFO names a bundled one.
            self.profile = (getattr(self._simulator, "profile", None)
                            or device_profile(fields.get("profile", ""), f"{self.url}: INFO profile"))
            stated_rate = fields.get("rate_hz")
            if stated_rate is not None:
                stated_rate = number_in(stated_rate, *RATE_RANGE_HZ, f"{self.url}: INFO", "rate_hz", HandshakeError)
        except ProfileError as exc:
            raise HandshakeError(str(exc)) from None
        stated_channels = fields.get("channels")
        if stated_channels is not None and stated_channels != str(self.profile.n_channels):
            raise HandshakeError(f"{self.url}: INFO says channels={stated_channels[:20]!r}, its profile "
                                 f"{self.profile.id} has {self.profile.n_channels}")
        self.info = fields
        if stated_rate and stated_rate != self.profile.rate_hz:
            # The device says how fast it runs (after RATE, or a stream's own rate): trial
            # time is counted in its samples, so its word wins over the profile's default.
            self.profile = replace(self.profile, rate_hz=stated_rate)
        simulated = self._simulator.calibration if self._simulator is not None else None
        if simulated is not None:
            self.calibration = simulated  # a replay's counts convert with the record they were recorded with
        else:
            self.calibration = find_record(fields.get("serial", ""))
            if self.calibration is not None:
                self.calibration.check_matches(fields.get("serial", ""), self.profile.n_channels)
        self.decoder = mode(self.profile.n_channels, self.profile.wire_dtype,
                            sample_period_us=int(round(1e6 / self.profile.rate_hz)))
        return fields

    def start(self) -> None:
        self._write(Command.START)
        self.streaming = True

    def stop(self) -> None:
        if self.streaming:
            self.streaming = False
            try:
                self._write(Command.STOP)
            except DeviceDisconnected:
                pass

    def read(self) -> Frames:
        """Frames that arrived since the last call (waits at most about 50 ms)."""
        batch = self.decoder.feed(self._read_bytes())
        now = time.monotonic()
        t_host = now - (batch.t_device_s[-1] - batch.t_device_s) if len(batch) else np.empty(0)
        if len(batch):
            self._last_frame_host_s = now
        return Frames(batch.seq, batch.t_device_s, batch.counts, batch.gaps, t_host)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._port.close()
            if self._simulator is not None:
                self._simulator.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_bytes(self) -> bytes:
        try:
            return self._port.read(self._port.in_waiting or 1)
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"{self.url}: device disconnected ({exc})") from None

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"{self.url}: device disconnected ({exc})") from None


def _open_port(path: str, url: str):
    try:
        return serial.serial_for_url(path, baudrate=BAUD_RATE, timeout=READ_TIMEOUT_S)
    except ValueError as exc:
        raise BadDeviceURL(f"{url}: {exc}") from None
    except (serial.SerialException, OSError) as exc:
        raise DeviceNotFound(f"{url}: cannot open port ({exc})") from None


# Schemes whose device is a firmware stand-in on a pseudo-terminal (module, opener): the
# driver then reads it exactly as it reads hardware.
BRIDGES = {
    "sim": ("forceplate.sim.urls", "open_simulator"),
    "replay": ("forceplate.io.replay", "open_replay"),
    "lsl": ("forceplate.interop.lsl", "open_lsl_bridge"),
}


def parse_device_url(url: str, options) -> tuple[str, dict[str, str]]:
    """A bridge URL's target (netloc + path: a device kind, file or stream name) and query
    (the last value of each key, blanks kept); raises :class:`BadDeviceURL` for a key not
    in ``options``."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - set(options)
    if unknown:
        raise BadDeviceURL(f"{url}: unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(options))})")
    return parts.netloc + parts.path, query


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else ""


def _bridge(scheme: str):
    module, opener = BRIDGES[scheme]
    return getattr(importlib.import_module(module), opener)


def open_device(url: str, handshake: bool = True) -> Device:
    """Open a device by URL and (by default) read its INFO; raises a :class:`DeviceError`."""
    scheme = _scheme(url)
    simulator = None
    if scheme in BRIDGES:
        simulator = _bridge(scheme)(url)
        path = simulator.port_path
    elif scheme in ("", "serial"):
        path = url.split("://", 1)[-1]
    else:
        raise BadDeviceURL(f"{url}: unknown device URL scheme {scheme!r} (use a port such as /dev/ttyACM0, "
                           "sim://dual-plate, replay://trial.h5 or lsl://STREAM)")
    try:
        port = _open_port(path, url)
    except Exception:
        if simulator:
            simulator.close()
        raise
    device = Device(port, url, simulator)
    if handshake:
        try:
            device.handshake()
        except Exception:
            device.close()
            raise
    return device
