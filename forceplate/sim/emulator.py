"""Device emulators: the simulator speaking protocol v1 on a pseudo-terminal.

A :class:`SimulatedDevice` owns the master side of a pty and behaves like firmware: it
answers ``INFO?``, streams DATA packets in real time (or ``speed`` times faster) after
``START`` and stops after ``STOP``. Any program can open the slave side (``port_path``)
as a serial port, so the simulator exercises exactly the driver used for hardware.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty

import numpy as np

from forceplate.calibration.record import CalibrationRecord
from forceplate.io.protocol import PacketType, encode_data, encode_fields, encode_packet
from forceplate.profiles import DeviceProfile
from forceplate.sim.squat import SIDES, SquatModel

TICK_S = 0.005


class PlateEmulator:
    """Load-cell counts of a dual 4-cell plate carrying a :class:`SquatModel`."""

    def __init__(self, profile: DeviceProfile, calibration: CalibrationRecord, model: SquatModel,
                 noise_n: float = 0.3, seed: int = 0):
        self.profile = profile
        self.calibration = calibration
        self.model = model
        self.noise_n = noise_n
        self._rng = np.random.default_rng(seed + 7919)

    def cell_forces(self, t: np.ndarray) -> np.ndarray:
        """Force on each load cell (n, channels) in newtons."""
        forces, cops = self.model.sample(t)
        out = np.zeros((len(t), self.profile.n_channels))
        for plate in self.profile.plates:
            weights = _bilinear_weights(plate.cells_mm, cops[plate.foot])
            out[:, plate.channels] = weights * forces[plate.foot][:, None]
        return out

    def counts(self, t: np.ndarray) -> np.ndarray:
        forces = self.cell_forces(t) + self._rng.normal(0.0, self.noise_n, (len(t), self.profile.n_channels))
        counts = forces / self.calibration.newtons_per_count + self.calibration.offsets_counts
        return np.round(counts).astype(self.profile.wire_dtype)


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
    return (np.where(cu > 0.5, u[:, None], 1 - u[:, None]) * np.where(cv > 0.5, v[:, None], 1 - v[:, None]))


class SimulatedDevice:
    """Firmware stand-in on the master side of a pseudo-terminal."""

    def __init__(self, emulator: PlateEmulator, info: dict, speed: float = 1.0,
                 unplug_at_s: float | None = None):
        self.emulator = emulator
        self.info = info
        self.rate_hz = emulator.profile.rate_hz
        self.speed = speed
        self.unplug_at_s = unplug_at_s
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port_path = os.ttyname(self._slave)
        self._seq = 0
        self._sent = 0  # samples sent since START
        self._streaming = False
        self._t0_wall = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sim {self.port_path}", daemon=True)
        self._thread.start()

    @property
    def samples_sent(self) -> int:
        return self._sent

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self._master = self._slave = -1

    def unplug(self) -> None:
        """Vanish like a pulled USB cable: the host's next read fails."""
        self._stop.set()
        try:
            os.close(self._master)
        except OSError:
            pass

    def _run(self) -> None:
        pending = b""
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select([self._master], [], [], TICK_S)
                if readable:
                    pending += os.read(self._master, 4096)
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        self._command(line.strip().decode("ascii", errors="replace"))
                if self._streaming:
                    self._stream()
        except OSError:
            return  # the pty went away: unplugged or closed

    def _command(self, line: str) -> None:
        word = line.split(" ", 1)[0].upper()
        if word == "INFO?":
            self._write(encode_packet(PacketType.INFO, self._seq, self._device_us(), encode_fields(self.info)))
            return
        if word == "START":
            self._streaming, self._t0_wall, self._sent = True, time.monotonic(), 0
        elif word == "STOP":
            self._streaming = False
        self._write(encode_packet(PacketType.ACK, self._seq, self._device_us(), line.encode()))

    def _device_us(self) -> int:
        return int(round(self._sent * 1e6 / self.rate_hz))

    def _stream(self) -> None:
        elapsed = (time.monotonic() - self._t0_wall) * self.speed
        if self.unplug_at_s is not None and elapsed >= self.unplug_at_s:
            self.unplug()
            return
        due = int(elapsed * self.rate_hz) - self._sent
        if due <= 0:
            return
        n = np.arange(self._sent, self._sent + due)
        t = n / self.rate_hz
        data = encode_data(self._seq, np.round(t * 1e6).astype(np.int64), self.emulator.counts(t))
        self._write(data)
        self._seq += due
        self._sent += due

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            _, writable, _ = select.select([], [self._master], [], 0.1)
            if writable:
                view = view[os.write(self._master, view):]
