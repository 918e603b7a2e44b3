"""Device emulators: the simulator speaking protocol v1 on a pseudo-terminal or TCP.

A :class:`SimulatedDevice` is a firmware stand-in (:mod:`forceplate.io.firmware`): it
answers ``INFO?``, streams in real time (or ``speed`` times faster) after ``START`` and
stops after ``STOP``, in the framing of its profile's ``sample_format`` (binary packets,
or the ASCII line mode of a DIY board). Any program opens its pseudo-terminal
(``port_path``) as a serial port, so the simulator exercises exactly the driver used for
hardware.

Emulators turn the squat model into raw counts through the device's calibration record,
so counts -> calibration -> forces gives back the model (plus the noise asked for). To play
a device being calibrated, the emulator's record can be a hidden "true" one that differs
from the bundled record, and a :class:`StaticScene` replaces the person: the host places
known masses at known positions (in-process, through :meth:`StaticScene.place`).
:class:`SensorFaults` adds what trial quality checks look for: zero drift, a saturating
channel, a dead one.
"""

from __future__ import annotations

import fcntl
import struct
import termios
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from forceplate.calibration.record import CalibrationRecord
from forceplate.io.codec import codec_for
from forceplate.io.firmware import Firmware
from forceplate.io.protocol import PacketType
from forceplate.processing.baseline import G
from forceplate.processing.forces import NEUTRAL_COP_FRACTION
from forceplate.profiles import DeviceProfile
from forceplate.sim.squat import SquatModel

# A model's samples (a function of time) are computed this far ahead in one call and sent as
# they come due: a call costs about the same for 1 sample as for 250 (0.4 ms for a dual plate,
# 0.8 ms for an insole), so computing per write took more CPU than everything the host does,
# and a quarter of a second ahead still 1.1 % of a core per insole (0.4 % a second ahead,
# December 2026). Without transmission faults their frames are made with them, in one batch
# (io/protocol.py encode_data_packets), and each write sends a slice of those bytes. A
# StaticScene is computed as it is sent: the host places its loads at any moment.
COMPUTE_AHEAD_S = 1.0
SATURATE_AT = 100.0  # a saturating channel's full scale, in its unit (N): reached during squats
WOBBLE_HZ = 3.0  # a placed load that is still settling (or a bumped plate) rocks at about this rate
SHEAR_FRACTION = 0.03  # horizontal force of a squatting foot, share of its vertical force
UNPLUG_DRAIN_S = 0.2  # an unplug waits at most this long for the host to read what was sent


@dataclass(frozen=True)
class SensorFaults:
    """Sensor faults: every channel's zero drifts by ``drift_per_min`` (its unit per minute of
    model time); channel ``saturate`` clips at :data:`SATURATE_AT`; channel ``dead`` reads a
    constant (its zero)."""

    drift_per_min: float = 0.0
    saturate: int | None = None
    dead: int | None = None

    def apply(self, physical: np.ndarray, t: np.ndarray, calibration: CalibrationRecord,
              dtype: np.dtype, noise_counts: np.ndarray | float = 0.0) -> np.ndarray:
        """Noisy physical values (n, channels) at model times ``t`` -> wire counts (plus
        ``noise_counts``: noise that arises after the sensor's response, in counts)."""
        physical = physical + self.drift_per_min * (np.asarray(t)[:, None] / 60.0)
        if self.saturate is not None:
            physical[:, self.saturate] = np.minimum(physical[:, self.saturate], SATURATE_AT)
        counts = _quantize(calibration.to_counts(physical) + noise_counts, dtype)
        if self.dead is not None:
            counts[:, self.dead] = np.round(calibration.offsets_counts[self.dead])
        return counts


class StaticScene:
    """Loads resting on a device instead of a person: what the host placed, nothing moves.

    Duck-types :class:`SquatModel` for the emulators (``sample``, ``truth``). A load is a mass
    at a lab position on a plate (by the plate's name) or on one insole sensor (by index);
    ``wobble_n`` rocks it (a plate being bumped, a load still settling).
    """

    def __init__(self, profile: DeviceProfile):
        self.profile = profile
        self._lock = threading.Lock()
        self._loads: list[tuple] = []  # (plate name or None, position_mm or None, sensor or None, N, wobble N)

    def place(self, mass_kg: float, plate: str | None = None, position_mm=None, sensor: int | None = None,
              wobble_n: float = 0.0) -> None:
        names = {p.name for p in self.profile.plates}
        if (plate is None) == (sensor is None) or (plate is not None and plate not in names):
            raise ValueError(f"a load goes on one plate ({', '.join(sorted(names))}) or one insole sensor")
        with self._lock:
            self._loads.append((plate, None if position_mm is None else np.asarray(position_mm, float), sensor,
                                mass_kg * G, wobble_n))

    def clear(self) -> None:
        with self._lock:
            self._loads = []

    def truth(self) -> list:
        return []

    def _force_n(self, t: np.ndarray, weight_n: float, wobble_n: float) -> np.ndarray:
        return weight_n + wobble_n * np.sin(2 * np.pi * WOBBLE_HZ * t)

    def sample(self, t: np.ndarray) -> tuple[dict, dict]:
        """Vertical force (N) and CoP (n, 2) mm per foot, like :meth:`SquatModel.sample`."""
        t = np.asarray(t, dtype=np.float64)
        with self._lock:
            loads = list(self._loads)
        forces, cops = {}, {}
        for plate in self.profile.plates:
            mine = [(pos, self._force_n(t, w, wob)) for name, pos, _, w, wob in loads if name == plate.name]
            total = sum((f for _, f in mine), np.zeros_like(t))
            moment = sum((f[:, None] * pos[None, :] for pos, f in mine), np.zeros((len(t), 2)))
            with np.errstate(invalid="ignore", divide="ignore"):
                cop = np.where(total[:, None] != 0, moment / total[:, None], np.asarray(plate.center_mm)[None, :])
            forces[plate.foot], cops[plate.foot] = total, cop
        return forces, cops

    def sensor_newtons(self, t: np.ndarray, n_sensors: int) -> np.ndarray:
        """Force (N) on each insole sensor (n, sensors)."""
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros((len(t), n_sensors))
        with self._lock:
            for _, _, sensor, weight_n, wobble_n in self._loads:
                if sensor is not None:
                    out[:, sensor] += self._force_n(t, weight_n, wobble_n)
        return out


class PlateEmulator:
    """Counts of a dual plate (load cells or six-axis) carrying a :class:`SquatModel`."""

    def __init__(self, profile: DeviceProfile, calibration: CalibrationRecord, model: SquatModel,
                 noise_n: float = 0.3, seed: int = 0, sensor_faults: SensorFaults | None = None):
        self.profile = profile
        self.calibration = calibration
        self.model = model
        self.sensor_faults = sensor_faults or SensorFaults()
        # Moment channels get the force noise times a 5 cm lever: about what a plate shows.
        self._noise = np.full(profile.n_channels, noise_n)
        for plate in profile.plates:
            if plate.type == "six-axis":
                self._noise[list(plate.channels[3:])] = noise_n * 0.05
        self._rng = np.random.default_rng(seed + 7919)

    def physical(self, t: np.ndarray) -> np.ndarray:
        """Each channel in its unit at model times ``t``: N per load cell, or Fx..Mz (N, N*m)."""
        forces, cops = self.model.sample(t)
        out = np.zeros((len(t), self.profile.n_channels))
        for plate in self.profile.plates:
            fz, cop = forces[plate.foot], cops[plate.foot]
            if plate.type == "six-axis":
                out[:, plate.channels] = _six_axis_outputs(t, fz, cop, plate)
            else:
                out[:, plate.channels] = _bilinear_weights(plate.cells_mm, cop) * fz[:, None]
        return out

    def counts(self, t: np.ndarray) -> np.ndarray:
        noisy = self.physical(t) + self._rng.normal(0.0, 1.0, (len(t), self.profile.n_channels)) * self._noise
        return self.sensor_faults.apply(noisy, t, self.calibration, self.profile.wire_dtype)


class InsoleEmulator:
    """Counts of one foot's pressure insole carrying a :class:`SquatModel`."""

    def __init__(self, profile: DeviceProfile, calibration: CalibrationRecord, model: SquatModel, foot: str,
                 noise_n: float = 0.2, seed: int = 0, sensor_faults: SensorFaults | None = None):
        self.profile = profile
        self.calibration = calibration
        self.model = model
        self.foot = foot
        self.sensor_faults = sensor_faults or SensorFaults()
        self.noise_n = noise_n
        self._rng = np.random.default_rng(seed + (104729 if foot == "left" else 130363))

    def foot_frame_cop_mm(self, cop_lab: np.ndarray) -> np.ndarray:
        """Lab-frame CoP -> the insole's frame (x toward the arch, y heel to toe)."""
        layout = self.profile.insole
        d = cop_lab - self.model.foot_center_mm[self.foot]
        x = d @ self.model.medial_unit[self.foot]
        y = d @ self.model.foot_axis[self.foot] + NEUTRAL_COP_FRACTION * layout.foot_length_mm
        return np.column_stack([x, y])

    def physical(self, t: np.ndarray) -> np.ndarray:
        if isinstance(self.model, StaticScene):  # loads on single sensors, as a calibration rig puts them
            return self.model.sensor_newtons(t, self.profile.n_channels)
        forces, cops = self.model.sample(t)
        weights = _centroid_weights(self.profile.insole.sensors_mm, self.foot_frame_cop_mm(cops[self.foot]))
        return weights * forces[self.foot][:, None]

    def counts(self, t: np.ndarray) -> np.ndarray:
        # An FSR's noise is electrical, in counts after its response curve: ``noise_n`` at the
        # linear scale. Added in newtons before a curve steeper than linear at zero (exponent > 1),
        # it would come out many times larger on an unloaded insole and fail its own tare.
        noise = self._rng.normal(0.0, 1.0, (len(t), self.profile.n_channels)) * (
            self.noise_n / np.abs(self.calibration.newtons_per_count))
        return self.sensor_faults.apply(self.physical(t), t, self.calibration, self.profile.wire_dtype, noise)


def _unread_bytes(fd: int) -> int:
    """Bytes waiting to be read on the pty side ``fd``; 0 when it cannot tell."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0


def _quantize(counts: np.ndarray, dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(np.round(counts), info.min, info.max).astype(dtype)


def _six_axis_outputs(t: np.ndarray, fz: np.ndarray, cop_mm: np.ndarray, plate) -> np.ndarray:
    """Fx Fy Fz (N) Mx My Mz (N*m) about the plate origin for a foot load at ``cop_mm``."""
    fx = SHEAR_FRACTION * fz * np.sin(2 * np.pi * 0.3 * t)
    fy = SHEAR_FRACTION * fz * np.sin(2 * np.pi * 0.2 * t + 1.0)
    x = (cop_mm[:, 0] - plate.center_mm[0]) / 1000.0
    y = (cop_mm[:, 1] - plate.center_mm[1]) / 1000.0
    dz = plate.origin_depth_mm / 1000.0
    mx = y * fz + dz * fy
    my = -x * fz - dz * fx
    mz = 0.002 * fz * np.sin(2 * np.pi * 0.25 * t)
    return np.column_stack([fx, fy, fz, mx, my, mz])


def _bilinear_weights(cells_mm: np.ndarray, cop_mm: np.ndarray) -> np.ndarray:
    """Share of a point load at ``cop_mm`` (n, 2) carried by each corner of a rectangle.

    The shares sum to one and their cell-position average is the load point, so the
    CoP computed from the cells is the true CoP.
    """
    x0, y0 = cells_mm.min(axis=0)
    x1, y1 = cells_mm.max(axis=0)
    u = (cop_mm[:, 0] - x0) / (x1 - x0)
    v = (cop_mm[:, 1] - y0) / (y1 - y0)
    cu = (cells_mm[:, 0] - x0) / (x1 - x0)  # 0 or 1 per cell
    cv = (cells_mm[:, 1] - y0) / (y1 - y0)
    return np.where(cu > 0.5, u[:, None], 1 - u[:, None]) * np.where(cv > 0.5, v[:, None], 1 - v[:, None])


def _centroid_weights(sensors_mm: np.ndarray, cop_mm: np.ndarray, spread_mm: float = 70.0) -> np.ndarray:
    """Smooth positive sensor shares (n, sensors) whose weighted centroid is ``cop_mm``.

    A Gaussian footprint around the CoP, exponentially tilted (a few Newton steps on the
    tilt) until the sensors' weighted average lands exactly on the CoP: so the CoP an
    analyser computes from the sensors is the model's CoP.

    The tilt's sum over two coordinates and the footprint's covariance are written out as
    the arithmetic ``np.einsum`` did (each product in its order, the sensors summed one after
    the other: summing over the leading axis), which gives the same bits in about half the
    time (the two einsums were 45 % of it; the 2 x 2 ``np.linalg.solve`` stays, for its bits).
    """
    r = sensors_mm[None, :, :]
    c = cop_mm[:, None, :]
    log_w0 = -np.sum((r - c) ** 2, axis=2) / (2 * spread_mm**2)
    x, y = sensors_mm[:, :1], sensors_mm[:, 1:]  # (sensors, 1)
    ridge = 1e-9 * np.eye(2)
    beta = np.zeros((len(cop_mm), 2))
    cov = np.empty((len(cop_mm), 2, 2))
    for _ in range(12):
        log_w = log_w0 + (beta[:, :1] * x[:, 0] + beta[:, 1:] * y[:, 0])
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        mean = w @ sensors_mm
        dx, dy = x - mean[:, 0], y - mean[:, 1]  # (sensors, n)
        w_dx, w_dy = w.T * dx, w.T * dy
        for i, j, (a, b) in ((0, 0, (w_dx, dx)), (0, 1, (w_dx, dy)), (1, 0, (w_dy, dx)), (1, 1, (w_dy, dy))):
            cov[:, i, j] = (a * b).sum(axis=0)
        beta -= np.linalg.solve(cov + ridge, (mean - cop_mm)[:, :, None])[:, :, 0]
    return w


@dataclass
class Faults:
    """Transmission faults to inject, as rates per frame; what was injected is counted."""

    garbage: float = 0.0  # bursts of junk bytes (each ends in a delimiter)
    crc: float = 0.0  # packets sent with a wrong CRC (ASCII mode has none: garbled lines)
    drop: float = 0.0  # packets never sent
    # A hostile device (tests of what the host trusts): sequence numbers advancing by this
    # per frame, STATUS packets sent after each frame, silence for a while (start s, length s).
    seq_step: int = 1
    status_per_frame: int = 0
    stall: tuple[float, float] | None = None
    injected: dict = field(default_factory=lambda: {"garbage": 0, "crc": 0, "drop": 0, "garbage_bytes": 0})

    @property
    def any(self) -> bool:
        return bool(self.garbage or self.crc or self.drop or self.seq_step != 1 or self.status_per_frame)


class _SharedClock:
    """Model time shared by the simulated devices of one person (same seed) that stream at
    the same time, like the wall clock of the room: devices started at different moments
    still watch the same squat. The clock restarts once all of them have stopped."""

    def __init__(self):
        self._lock = threading.Lock()
        self._epochs: dict[int, list] = {}  # seed -> [epoch (monotonic s), devices streaming]

    def join(self, seed: int, now: float) -> float:
        with self._lock:
            entry = self._epochs.setdefault(seed, [now, 0])
            entry[1] += 1
            return entry[0]

    def leave(self, seed: int) -> None:
        with self._lock:
            entry = self._epochs.get(seed)
            if entry is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    del self._epochs[seed]


_ROOM_CLOCK = _SharedClock()


class SimulatedDevice(Firmware):
    """The simulator's firmware stand-in (:class:`~forceplate.io.firmware.Firmware`): the
    samples of ``emulator`` (anything with a ``profile`` and ``counts``), in the framing of
    its profile, with the transmission faults asked for; on a new pseudo-terminal, or on
    ``connection`` (a connected socket)."""

    def __init__(self, emulator, info: dict, speed: float = 1.0, unplug_at_s: float | None = None,
                 clock_ppm: float = 0.0, faults: Faults | None = None, seed: int = 0, connection=None):
        self.emulator = emulator
        self.unplug_at_s = unplug_at_s
        self.clock_ppm = clock_ppm
        self.faults = faults or Faults()
        self.seed = seed
        self._rng = np.random.default_rng(seed + 31337)
        # Samples computed ahead (COMPUTE_AHEAD_S) from sample _ahead_first on: their counts and,
        # for a stream without faults, their frames (_ahead_wire; frame i starts at byte
        # _ahead_starts[i]), numbered from sequence number _ahead_seq0 at sample 0 (None: not framed).
        self._ahead = np.empty((0, 0))
        self._drop_ahead(0)
        self.model_t0_s = 0.0  # model time at START
        profile = emulator.profile
        super().__init__(info, profile.rate_hz, codec_for(profile.sample_format), speed, connection)

    @property
    def ground_truth(self):
        """The model's per-rep labels; None for a source with no model."""
        model = getattr(self.emulator, "model", None)
        return model.truth() if model is not None else None

    def model_time(self, n: np.ndarray) -> np.ndarray:
        """Model (person) time of samples n: the device clock runs clock_ppm fast."""
        return self.model_t0_s + n / self.rate_hz / (1.0 + self.clock_ppm * 1e-6)

    def _start_streaming(self, now: float) -> None:
        epoch = _ROOM_CLOCK.join(self.seed, now)
        super()._start_streaming(now)
        self.model_t0_s = (now - epoch) * self.speed
        self._drop_ahead(0)  # computed for the previous START's clock

    def _stop_streaming(self) -> None:
        if self._streaming:
            super()._stop_streaming()
            _ROOM_CLOCK.leave(self.seed)

    def _elapsed_s(self) -> float:
        return super()._elapsed_s() * (1.0 + self.clock_ppm * 1e-6)

    def _stream(self) -> None:
        elapsed = self._elapsed_s()
        if self.unplug_at_s is not None and elapsed >= self.unplug_at_s:
            self._unplug_after_sending_due()
            return
        stall = self.faults.stall
        if stall is not None and stall[0] <= elapsed < stall[0] + stall[1]:
            due = max(int(elapsed * self.rate_hz) - self._sent, 0)
            self._sent += due  # silent, as hung firmware: the samples are lost, not delayed
            self._seq += due * self.faults.seq_step
            return
        super()._stream()

    def _unplug_after_sending_due(self) -> None:
        """Unplug at ``unplug_at_s`` exactly: the samples due until then are sent, and read by
        the host, first. A pty's unread bytes vanish with it, and the host reads at most every
        20 ms (io/device.py READ_GATHER_S), so a test would otherwise see a varying tail lost."""
        due = int(self.unplug_at_s * self.rate_hz) - self._sent
        if due > 0:
            self._write(self._encode(np.arange(self._sent, self._sent + due)))
            self._sent += due
        deadline = time.monotonic() + UNPLUG_DRAIN_S
        while self.port_path is not None and _unread_bytes(self._slave) and time.monotonic() < deadline:
            time.sleep(0.002)
        self.unplug()

    def _encode(self, n: np.ndarray) -> bytes:
        """The wire bytes of samples ``n`` (consecutive, counted from START): the model's, with
        the faults asked for."""
        static = isinstance(getattr(self.emulator, "model", None), StaticScene)
        if static or self.faults.any:
            t_us = self._device_us(n)
            counts = self.emulator.counts(self.model_time(n)) if static else self._computed_ahead(n, framed=False)
            data = self._faulty(t_us, counts) if self.faults.any else self.codec.encode_frames(
                self._seq + np.arange(len(n)), t_us, counts)
        else:
            self._computed_ahead(n, framed=True)
            first = int(n[0]) - self._ahead_first
            data = self._ahead_wire[self._ahead_starts[first]:self._ahead_starts[first + len(n)]]
        self._seq += len(n) * self.faults.seq_step
        return data

    def _device_us(self, n: np.ndarray) -> np.ndarray:
        return np.round(n * 1e6 / self.rate_hz).astype(np.int64)

    def _drop_ahead(self, first: int) -> None:
        """Forget what was computed ahead; the next samples computed start at sample ``first``."""
        self._ahead, self._ahead_first = self._ahead[:0], first
        self._ahead_wire, self._ahead_starts, self._ahead_seq0 = b"", np.zeros(1, np.int64), None

    def _computed_ahead(self, n: np.ndarray, framed: bool) -> np.ndarray:
        """The emulator's counts of consecutive samples ``n``, from those computed ahead (computed
        now if they are not yet); ``framed``: their frames too, numbered on from ``self._seq``."""
        first, end = int(n[0]), int(n[-1]) + 1
        seq0 = self._seq - first if framed else None
        computed = self._ahead_first + len(self._ahead)
        if not self._ahead_first <= first <= computed:  # not where the last ones left off
            self._drop_ahead(first)
            computed = first
        if end > computed:
            # Each sample computed once and in order, so the emulator's noise is the same
            # sequence as computing the whole stream in one call.
            upto = max(end, first + int(np.ceil(COMPUTE_AHEAD_S * self.rate_hz)))
            new = self.emulator.counts(self.model_time(np.arange(computed, upto)))
            sent = first - self._ahead_first
            if framed and self._ahead_seq0 == seq0:  # the frames made so far are still good
                self._extend_frames(sent, computed, new)
            else:
                self._ahead_seq0 = None
            self._ahead = np.concatenate([self._ahead[sent:], new]) if computed > first else new
            self._ahead_first = first
        if framed and self._ahead_seq0 != seq0:  # none made yet, or numbered otherwise
            self._ahead_wire, self._ahead_starts, self._ahead_seq0 = b"", np.zeros(1, np.int64), seq0
            self._extend_frames(0, self._ahead_first, self._ahead)
        return self._ahead[first - self._ahead_first:end - self._ahead_first]

    def _extend_frames(self, sent: int, at: int, counts: np.ndarray) -> None:
        """Drop the first ``sent`` frames made ahead; add those of ``counts`` (samples from ``at`` on)."""
        n = np.arange(at, at + len(counts))
        data = self.codec.encode_frames(self._ahead_seq0 + n, self._device_us(n), counts)
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == self.codec.delimiter[0]) + 1
        cut = self._ahead_starts[sent]
        self._ahead_wire = self._ahead_wire[cut:] + data
        self._ahead_starts = np.concatenate([self._ahead_starts[sent:] - cut,
                                             ends + (self._ahead_starts[-1] - cut)])

    def _faulty(self, t_us: np.ndarray, counts: np.ndarray) -> bytes:
        f, rng, out = self.faults, self._rng, []
        delimiter = self.codec.delimiter
        for i in range(len(t_us)):
            if rng.random() < f.garbage:
                # Junk that can never decode: a COBS code byte promising more bytes than
                # follow before the delimiter, or in ASCII mode a line starting with a byte
                # that is neither a digit nor "#". One burst = one malformed chunk.
                size = int(rng.integers(2, 40))
                junk = rng.integers(1, 256, size - 1, dtype=np.uint8)
                junk[junk == delimiter[0]] = 0xFF
                out.append(b"\xff" + junk.tobytes() + delimiter)
                f.injected["garbage"] += 1
                f.injected["garbage_bytes"] += size + 1
            if rng.random() < f.drop:
                f.injected["drop"] += 1
                continue
            corrupt = rng.random() < f.crc
            f.injected["crc"] += corrupt
            out.append(self.codec.encode_frame(self._seq + i * f.seq_step, int(t_us[i]), counts[i], corrupt))
            for _ in range(f.status_per_frame):
                out.append(self._message(PacketType.STATUS, {"battery_pct": 80, "saturated": ""}))
        return b"".join(out)
