"""A fake live session for the window's tests: a simulated set through the device's emulator and
calibration record and the real live analysis, fed as fast as it computes (no device, no
threads, no real time), behind the interface the window reads (``forceplate.session_view``)."""

from __future__ import annotations

import functools
import queue
from pathlib import Path

import numpy as np

from forceplate.calibration.record import find_record
from forceplate.processing.forces import insole_foot, plate_forces
from forceplate.processing.streaming import Event, StreamingAnalyzer
from forceplate.processing.valgus import Thresholds
from forceplate.profiles import SIDES, load_profile
from forceplate.ringbuffer import RingBuffer
from forceplate.session import PLOT_SECONDS, SENSOR_SECONDS
from forceplate.session_view import InsoleSensors
from forceplate.sim.emulator import InsoleEmulator, PlateEmulator
from forceplate.sim.squat import SquatModel, SquatPlan, Subject
from forceplate.sim.urls import parse_valgus

BLOCK_S = 0.1  # samples handed to the analysis at a time


@functools.lru_cache(maxsize=8)
def _recorded_set(reps: int, valgus: str, insoles: bool, seed: int, tail_s: float) -> tuple:
    """Times (s), per-foot force (N) and CoP (mm), per-insole sensor forces (N), rate (Hz) and
    duration (s) of a simulated set, through the emulator and calibration record (read only:
    cached, shared by the tests)."""
    # standing after the set for ``tail_s``: long enough for the window to call the set done
    plan = SquatPlan(reps=reps, depth_m=0.45, valgus=parse_valgus(valgus), tail_s=tail_s)
    model = SquatModel(Subject(mass_kg=75.0), plan, seed=seed)
    if insoles:
        profile = load_profile("insole16")
        t = np.arange(int(model.duration_s * profile.rate_hz)) / profile.rate_hz
        fz, cop, sensors = {}, {}, {}
        for foot in SIDES:
            record = find_record(f"SIM-IN16-{foot[0].upper()}")
            sensors[foot] = record.to_physical(InsoleEmulator(profile, record, model, foot, seed=seed).counts(t))
            fz[foot], cop[foot], _ = insole_foot(sensors[foot], foot, profile.insole)
        return t, fz, cop, sensors, profile.rate_hz, model.duration_s
    profile = load_profile("dual-plate-ads1256")
    record = find_record("SIM-DP-0001")
    t = np.arange(int(model.duration_s * profile.rate_hz)) / profile.rate_hz
    fz, cop = plate_forces(record.to_physical(PlateEmulator(profile, record, model, seed=seed).counts(t)), profile)
    return t, fz, cop, {}, profile.rate_hz, model.duration_s


class FakeSession:
    """A set of ``reps`` squats (``valgus`` as in a ``sim://`` URL: rep:side:grade,...) by the
    simulator's model on the dual plate, or on a left and a right insole; :meth:`play` feeds
    the next seconds of it."""

    def __init__(self, reps: int = 4, valgus: str = "2:right:moderate,4:left:severe", insoles: bool = False,
                 seed: int = 0, thresholds: Thresholds | None = None, tail_s: float = 10.0):
        recorded = _recorded_set(reps, valgus, insoles, seed, tail_s)
        t, self._fz, self._cop, self._sensors, self.rate_hz, self.duration_s = recorded
        self.thresholds = thresholds or Thresholds()
        self.toe_out_deg = None
        self.plates, self.insoles = {}, {}
        if insoles:
            profile = load_profile("insole16")
            for foot in SIDES:
                ring = RingBuffer(max(1, int(SENSOR_SECONDS * self.rate_hz)), {"t": 1, "newtons": profile.n_channels})
                self.insoles[foot] = InsoleSensors(foot, profile.insole, ring)
            toe_out = 0.0  # an insole's frame follows the foot
        else:
            self.plates = {plate.foot: plate for plate in load_profile("dual-plate-ads1256").plates}
            toe_out = None
        self._t = t
        self.analysed = True
        self.analyzer = StreamingAnalyzer(self.rate_hz, toe_out, self.thresholds)
        self.feet_ring = RingBuffer(int(PLOT_SECONDS * self.rate_hz), {
            "t": 1, "fz_left": 1, "fz_right": 1, "cop_left": 2, "cop_right": 2, "shift_left": 1, "shift_right": 1})
        self._fed = 0
        self._events: queue.Queue[Event] = queue.Queue()
        self.recording = None
        self.recorded: list[tuple] = []  # (path, metadata) of each recording started
        self.marks: list[str] = []

    # --- feeding ------------------------------------------------------------------------

    def play(self, seconds: float) -> bool:
        """Feed the next ``seconds`` of the set (False once it is all fed)."""
        end = min(len(self._t), self._fed + int(round(seconds * self.rate_hz)))
        block = max(1, int(BLOCK_S * self.rate_hz))
        for lo in range(self._fed, end, block):
            sl = slice(lo, min(lo + block, end))
            if self.analyzer.thresholds is not self.thresholds:
                self.analyzer.thresholds = self.thresholds
            out, events = self.analyzer.push(self._t[sl], {f: self._fz[f][sl] for f in SIDES},
                                             {f: self._cop[f][sl] for f in SIDES})
            self.feet_ring.append(t=out.t, fz_left=out.fz["left"], fz_right=out.fz["right"],
                                  cop_left=out.cop["left"], cop_right=out.cop["right"],
                                  shift_left=out.shift["left"], shift_right=out.shift["right"])
            for foot, insole in self.insoles.items():
                insole.ring.append(t=self._t[sl], newtons=self._sensors[foot][sl])
            for event in events:
                self._events.put(event)
        self._fed = end
        return end < len(self._t)

    # --- the SessionView interface ------------------------------------------------------

    @property
    def baseline(self):
        return self.analyzer.baseline

    @property
    def phase(self) -> str:
        return self.analyzer.phase

    def elapsed_s(self) -> float:
        return self._fed / self.rate_hz

    def drain_events(self) -> list[Event]:
        out = []
        while not self._events.empty():
            out.append(self._events.get())
        return out

    def status(self) -> list[dict]:
        return [{"device": "FAKE", "url": "fake://", "state": "streaming", "message": "", "recording_error": "",
                 "rate_hz": self.rate_hz, "reconnects": 0, "frames": self._fed, "lost_frames": 0, "crc_errors": 0}]

    def capture_baseline(self) -> None:
        self.analyzer.capture_baseline()

    def mark(self, text: str) -> None:
        self.marks.append(text)
        self._events.put(Event("mark", self.elapsed_s(), data={"message": text}))

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._events.put(Event("thresholds", self.elapsed_s(), data={"message": "thresholds"}))

    def start_recording(self, path, metadata: dict | None = None) -> None:
        self.recorded.append((path, metadata))
        self.recording = Path(path)

    def stop_recording(self):
        path, self.recording = self.recording, None
        return path
