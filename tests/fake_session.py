"""A fake live session for the window's tests: a simulated set through the device's emulator and
calibration record and the real live analysis, computed once per set and replayed block by
block as the test asks (no device, no threads, no real time), behind the interface the window
reads (``forceplate.session_view.SessionView``)."""

from __future__ import annotations

import copy
import functools
import queue
from pathlib import Path
from typing import NamedTuple

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
RING_COLUMNS = {"t": 1, "fz_left": 1, "fz_right": 1, "cop_left": 2, "cop_right": 2, "shift_left": 1, "shift_right": 1}


class Recorded(NamedTuple):
    """What the fake session plays: times (s), per-foot force (N) and lab-frame CoP (mm), each
    insole's sensor forces (N), rate (Hz), the plates' geometry, the insoles' layout, the
    toe-out the analysis is told."""

    t: np.ndarray
    fz: dict
    cop: dict
    sensors: dict
    rate_hz: float
    plates: tuple
    insole_layout: object
    toe_out_deg: float | None


@functools.lru_cache(maxsize=8)
def _recorded(source: tuple) -> Recorded:
    """A simulated set (``("sim", reps, valgus, insoles, seed, tail_s)``) through the emulator
    and calibration record, or a trial file's feet (``("trial", path)``, as ``analyze`` reads
    them). Read only: cached, shared by the tests."""
    if source[0] == "trial":
        from forceplate.offline import feet_arrays
        from forceplate.storage.reader import open_trial

        feet = feet_arrays(open_trial(source[1]))
        return Recorded(feet.t, feet.fz, feet.cop, {}, feet.rate_hz, feet.devices[0].profile.plates, None, None)
    _, reps, valgus, insoles, seed, tail_s = source
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
        return Recorded(t, fz, cop, sensors, profile.rate_hz, (), profile.insole, 0.0)  # the insole frame is the foot's
    profile = load_profile("dual-plate-ads1256")
    record = find_record("SIM-DP-0001")
    t = np.arange(int(model.duration_s * profile.rate_hz)) / profile.rate_hz
    fz, cop = plate_forces(record.to_physical(PlateEmulator(profile, record, model, seed=seed).counts(t)), profile)
    return Recorded(t, fz, cop, {}, profile.rate_hz, profile.plates, None, None)


@functools.lru_cache(maxsize=8)
def _analysed(source: tuple) -> list[tuple]:
    """The live analysis of a recording, block by block: (first and end sample, plot block,
    events, baseline, the lifter's normal and phase after the block). Computed once per recording (the analysis of
    a 30 s set takes about half a second) and replayed by each fake session of it."""
    rec = _recorded(source)
    analyzer = StreamingAnalyzer(rec.rate_hz, rec.toe_out_deg, Thresholds())
    step = max(1, int(BLOCK_S * rec.rate_hz))
    steps = []
    for lo in range(0, len(rec.t), step):
        sl = slice(lo, lo + step)
        block, events = analyzer.push(rec.t[sl], {f: rec.fz[f][sl] for f in SIDES}, {f: rec.cop[f][sl] for f in SIDES})
        steps.append((lo, min(lo + step, len(rec.t)), block, events, analyzer.baseline, analyzer.normal_mm,
                      analyzer.phase))
    return steps


class FakeSession:
    """A set of ``reps`` squats (``valgus`` as in a ``sim://`` URL: rep:side:grade,...) by the
    simulator's model on the dual plate, or on a left and a right insole, or a trial file's
    plates (``trial``); :meth:`play` feeds the next seconds of it."""

    def __init__(self, reps: int = 4, valgus: str = "2:right:moderate,4:left:severe", insoles: bool = False,
                 seed: int = 0, thresholds: Thresholds | None = None, tail_s: float = 10.0, trial=None):
        self._source = ("trial", str(trial)) if trial is not None else ("sim", reps, valgus, insoles, seed, tail_s)
        rec = _recorded(self._source)
        self._rec, self.rate_hz = rec, rec.rate_hz
        self.thresholds = thresholds or Thresholds()
        self.toe_out_deg = None
        self.plates = {plate.foot: plate for plate in rec.plates}
        self.insoles = {foot: InsoleSensors(foot, rec.insole_layout, RingBuffer(
            max(1, int(SENSOR_SECONDS * self.rate_hz)), {"t": 1, "newtons": newtons.shape[1]}))
            for foot, newtons in rec.sensors.items()}
        self._replay = _analysed(self._source)
        self._step = 0  # the next block of the replay
        self.analyzer: StreamingAnalyzer | None = None  # analysing itself, once a new baseline was asked for
        self._baseline, self._normal, self._phase = None, dict.fromkeys(SIDES, 0.0), "standing"
        self.analysed = True
        self.feet_ring = RingBuffer(int(PLOT_SECONDS * self.rate_hz), RING_COLUMNS)
        self._events: queue.Queue[Event] = queue.Queue()
        self.recording = None
        self.recording_error = None  # a fake recording never fails
        self.recorded: list[tuple] = []  # (path, metadata) of each recording started
        self.marks: list[str] = []

    # --- feeding ------------------------------------------------------------------------

    def play(self, seconds: float) -> bool:
        """Feed the next ``seconds`` of the set, in blocks of BLOCK_S (False once it is all fed).

        The set's analysis is replayed as computed once; after :meth:`capture_baseline` the
        fake runs a fresh analyser of its own on the rest, as a real one forgets all and
        learns again. Thresholds set meanwhile change the events only from then on.
        """
        for _ in range(max(1, int(round(seconds / BLOCK_S)))):
            if self._step >= len(self._replay):
                return False
            lo, hi, block, events, self._baseline, self._normal, self._phase = self._replay[self._step]
            self._step += 1
            if self.analyzer is not None:
                self.analyzer.thresholds = self.thresholds
                rec = self._rec
                block, events = self.analyzer.push(rec.t[lo:hi], {f: rec.fz[f][lo:hi] for f in SIDES},
                                                   {f: rec.cop[f][lo:hi] for f in SIDES})
                self._baseline, self._normal, self._phase = (self.analyzer.baseline, self.analyzer.normal_mm,
                                                             self.analyzer.phase)
            self.feet_ring.append(t=block.t, fz_left=block.fz["left"], fz_right=block.fz["right"],
                                  cop_left=block.cop["left"], cop_right=block.cop["right"],
                                  shift_left=block.shift["left"], shift_right=block.shift["right"])
            for foot, insole in self.insoles.items():
                insole.ring.append(t=self._rec.t[lo:hi], newtons=self._rec.sensors[foot][lo:hi])
            for event in events:
                self._events.put(copy.deepcopy(event))  # the replay's events are shared by the tests
        return self._step < len(self._replay)

    # --- the SessionView interface ------------------------------------------------------

    @property
    def baseline(self):
        return self._baseline

    @property
    def normal_mm(self) -> dict:
        return self._normal

    @property
    def phase(self) -> str:
        return self._phase

    def elapsed_s(self) -> float:
        return self._replay[self._step - 1][1] / self.rate_hz if self._step else 0.0

    def drain_events(self) -> list[Event]:
        out = []
        while not self._events.empty():
            out.append(self._events.get())
        return out

    def status(self) -> list[dict]:
        return [{"device": "FAKE", "url": "fake://", "state": "streaming", "message": "", "recording_error": "",
                 "rate_hz": self.rate_hz, "reconnects": 0, "frames": int(self.elapsed_s() * self.rate_hz), "lost_frames": 0, "crc_errors": 0}]

    def capture_baseline(self) -> None:
        self.analyzer = StreamingAnalyzer(self.rate_hz, self._rec.toe_out_deg, self.thresholds)

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
