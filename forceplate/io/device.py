"""Device: one lifecycle for every device (open, info, start, read, stop, close).

``open_device(url)`` opens the URL's transport (:mod:`forceplate.io.transport`: a serial
port such as ``/dev/ttyACM0`` or ``COM3``, any pyserial URL such as ``socket://HOST:PORT``,
``sim://KIND?options``, ``replay://FILE.h5?options``, ``lsl://STREAM``, or a scheme a
module registered) and speaks protocol v1 over it. The answer to ``INFO?`` tells the
framing (:mod:`forceplate.io.codec`): a binary INFO packet or an ASCII ``# INFO`` line
(devices/PROTOCOL.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from forceplate.calibration.record import CalibrationRecord, find_record
from forceplate.errors import DeviceDisconnected, DeviceError, HandshakeError, ProfileError
from forceplate.io.codec import CODECS, Codec
from forceplate.io.decoder import DecoderStats, FrameBatch, StreamDecoder
from forceplate.io.protocol import Command
from forceplate.io.transport import Transport, open_transport
from forceplate.profiles import RATE_RANGE_HZ, DeviceProfile, device_profile, number_in, plain_name

HANDSHAKE_TIMEOUT_S = 2.0
# A read returns as soon as bytes arrive, and after this long without any: how soon a
# reader thread notices it is asked to stop, or that a device went silent.
READ_TIMEOUT_S = 0.05
# A read that brought frames is followed by the next no sooner than this: a reader thread
# wakes at most 50 times a second, however often the device sends (a stand-in every 10 ms, a
# USB port in 1 ms packets), and each read brings a block the live analysis takes in one
# call (session.ANALYSIS_BLOCK_S; each wake and call costs about the same whatever its size,
# issue 14). The bytes wait in the port's buffer meanwhile: at most this long, about what the
# session held them for before (they are not held there any more). A device whose frames no
# flag waits on is read less often (``Device.gather_s``, set by the session: PLOT_ONLY_READ_S).
READ_GATHER_S = 0.02
# ... unless a read brought this much: then the next follows at once. A serial port or a pty
# holds only 4 KiB until read (Linux's line discipline), and a device sending faster than
# that per READ_GATHER_S (a stand-in at 10x real time) would be held back and fall behind.
GATHER_UP_TO_BYTES = 2048


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


def wait_for_info(read_bytes, timeout_s: float, source: str) -> tuple[dict[str, str], Codec]:
    """Read with ``read_bytes()`` until an INFO arrives in any codec's framing; the INFO
    fields and that codec. The caller sends ``INFO?``.

    Raises :class:`NoInfoAnswer` (its message starting with ``source``) after ``timeout_s``.
    """
    probes = [(codec, codec.probe()) for codec in CODECS.values()]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = read_bytes()
        for codec, probe in probes:
            fields = codec.detect(probe, data)
            if fields is not None:
                return fields, codec
    raise NoInfoAnswer(f"{source}: no device answered INFO? within {timeout_s:g} s", probes[0][1].stats)


class Device:
    """A device speaking protocol v1 over a :class:`Transport`. Use :func:`open_device`."""

    def __init__(self, transport: Transport | None, url: str):
        self.url = url
        self.transport = transport
        self.info: dict[str, str] = {}
        self.profile: DeviceProfile | None = None
        self.calibration: CalibrationRecord | None = None
        self.decoder: StreamDecoder | None = None
        self.streaming = False
        self._last_frame_host_s = time.monotonic()
        self._next_read_s = 0.0  # monotonic time before which read() waits (gather_s)
        self.gather_s = READ_GATHER_S  # the least time between two reads that brought frames
        self._read_s = None  # monotonic time of the last read that brought frames
        self._bytes_per_s = 0.0  # how fast bytes came in before it (0: not known yet)

    @property
    def name(self) -> str:
        return self.info.get("serial", self.url)

    @property
    def ground_truth(self):
        """The simulator's per-rep labels, or None for hardware and replays."""
        return self.transport.ground_truth if self.transport else None

    def handshake(self, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> dict[str, str]:
        return self._configure(*self._request_info(timeout_s))

    def _request_info(self, timeout_s: float) -> tuple[dict[str, str], Codec]:
        """The INFO fields, and the codec of the framing they came in."""
        self._write(Command.INFO)
        return wait_for_info(self._read_bytes, timeout_s, self.url)

    def reconnect(self) -> None:
        """Reopen the transport after a disconnect, check it is the same device, stream again.

        The frames missed meanwhile are estimated from the host clock and recorded as a
        gap, so trial time stays true across the outage.
        """
        self.transport.reopen()
        fields, _ = self._request_info(HANDSHAKE_TIMEOUT_S)
        if fields.get("serial") != self.info.get("serial"):
            raise DeviceError(f"{self.url}: device {fields.get('serial')!r} answered, expected {self.info.get('serial')!r}")
        missing = int(round((time.monotonic() - self._last_frame_host_s) * self.profile.rate_hz))
        self.decoder.resume_after_outage(max(missing, 0))
        self.start()

    def _configure(self, fields: dict[str, str], codec: Codec) -> dict[str, str]:
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
            # A transport that knows its stream's profile (a replay: the trial's own) gives it;
            # else the INFO names a bundled one.
            self.profile = ((self.transport.profile if self.transport else None)
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
        stated = self.transport.calibration if self.transport else None
        if stated is not None:
            self.calibration = stated  # a replay's counts convert with the record they were recorded with
        else:
            self.calibration = find_record(fields.get("serial", ""))
            if self.calibration is not None:
                self.calibration.check_matches(fields.get("serial", ""), self.profile.n_channels)
        self.decoder = codec.decoder(self.profile.n_channels, self.profile.wire_dtype,
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
        """Frames that arrived since the last call: returns as bytes arrive, or after
        :data:`READ_TIMEOUT_S` without any; no sooner than ``gather_s`` (:data:`READ_GATHER_S`) after
        the last read that brought frames (and less than :data:`GATHER_UP_TO_BYTES`)."""
        wait = self._next_read_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        data = self._read_bytes()
        batch = self.decoder.feed(data)
        now = time.monotonic()
        t_host = now - (batch.t_device_s[-1] - batch.t_device_s) if len(batch) else np.empty(0)
        if len(batch):
            self._last_frame_host_s = now
            self._next_read_s = now + self.gather_s if len(data) < GATHER_UP_TO_BYTES else now
            self._bytes_per_s = len(data) / (now - self._read_s) if self._read_s is not None and now > self._read_s else 0.0
            self._read_s = now
        return Frames(batch.seq, batch.t_device_s, batch.counts, batch.gaps, batch.restarts, t_host)

    def defer_next_read(self, until_s: float) -> None:
        """Read next no sooner than ``until_s`` (monotonic), when that is later than
        ``gather_s`` would: a caller that knows nothing it reads before then can matter (a
        live analysis with no rep under way). Never longer than the device takes, at the pace
        its bytes came in, to send most of :data:`GATHER_UP_TO_BYTES` (a port holds 4 KiB until
        read), nor than :data:`READ_TIMEOUT_S` from now."""
        if not self._bytes_per_s:
            return
        now = time.monotonic()
        # at the pace bytes came in (a stand-in at 10x real time sends 10 times as many)
        fill_s = 0.8 * GATHER_UP_TO_BYTES / self._bytes_per_s  # so that no read reaches it
        self._next_read_s = max(self._next_read_s, min(until_s, now + fill_s, now + READ_TIMEOUT_S))

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read_bytes(self) -> bytes:
        return self.transport.read(READ_TIMEOUT_S)

    def _write(self, data: bytes) -> None:
        self.transport.write(data)


def open_device(url: str, handshake: bool = True) -> Device:
    """Open a device by URL and (by default) read its INFO; raises a :class:`DeviceError`."""
    device = Device(open_transport(url), url)
    if handshake:
        try:
            device.handshake()
        except Exception:
            device.close()
            raise
    return device
