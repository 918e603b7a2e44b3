"""Session: devices -> (HDF5 writer, live pipeline, ring buffer for plots).

One reader thread per device reads frames, hands them to the recording
(:class:`~forceplate.recording_sink.RecordingSink`: raw counts, always) and to the live
pipeline of its pair of feet (:meth:`Session._analyse`: calibrated forces -> rep and flag
events). A plate device carries both feet; two insoles (one per foot, each on its own port
and clock) are paired first (:class:`~forceplate.insole_pair.InsolePair`, as offline pairs
them). The faces (terminal view, GUI) only drain events and read the session through
:class:`~forceplate.session_view.SessionView`. An unplugged device is reported at once,
the recording goes on with the others, and the device is reopened when it comes back.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


from forceplate.errors import DeviceDisconnected, DeviceError, ForceplateError, one_line
from forceplate.events import EventKind
from forceplate.insole_pair import HISTORY_S, InsolePair
from forceplate.io.clock import ClockSync
from forceplate.io.device import Device, open_device
from forceplate.processing.forces import plate_forces
from forceplate.processing.streaming import Event, StreamingAnalyzer
from forceplate.processing.valgus import Thresholds
from forceplate.profiles import SIDES
from forceplate.recording_sink import RecordingSink, joined
from forceplate.ringbuffer import RingBuffer

PLOT_SECONDS = 30.0
SENSOR_SECONDS = 1.0  # insole sensor history kept for the pressure map, which shows the newest
RECONNECT_INTERVAL_S = 0.5
# Frames go to the live analysis in blocks of at least this long. A call into it costs about
# the same whatever the block's size (0.5-0.9 ms here in December 2026, issue 14), and a
# device read returns what arrived, a few ms of frames: one call per read took a fifth of a
# core at 1 kHz. Frames are held until the block is full or the oldest of them arrived this
# long ago, so holding adds at most this much (plus one read) to the flag latency. A device
# read brings about 20 ms of frames (io/device.py READ_GATHER_S), give or take a frame of
# the port's packets: the block is a little shorter than that, so each read is analysed as
# it comes and only a read cut short is held for the next one.
ANALYSIS_BLOCK_S = 0.015
# Feet whose events are not announced (insoles next to plates: they only feed plots) and
# devices not analysed (raw counts only) are read and fed in longer blocks:
# no flag waits on them, and a plot redrawn 30 times a second hardly shows 50 ms steps. Their
# devices are read every PLOT_ONLY_READ_S (Device.gather_s), each read held until it spans
# PLOT_ONLY_BLOCK_S, a little less, as ANALYSIS_BLOCK_S is for a 20 ms read. A 100 Hz insole
# read every 20 ms brought 2 frames a wake: its reader cost 1.5 % of a core (issue 14).
PLOT_ONLY_READ_S = 0.05
PLOT_ONLY_BLOCK_S = 0.04
# Insoles whose pairing only keeps the history another device's reps take their arch load
# from (beside plates, nothing plotted) are paired in blocks this long, and at once when a rep
# asks for its values (Session._pair_held): paired at each read they cost 0.5-1 % of a core
# each (the clock, the CoP and regions, the resampling; issue 14).
HISTORY_ONLY_BLOCK_S = 1.0
# Plates beside such insoles keep their force with its device and host times; the clock fit
# that puts it on the insoles' clock is fed and read when a rep asks, and at the latest once
# this share of that history has come in, so that no arrival goes unseen by the fit.
PLATE_CLOCK_EVERY = 0.5
# A device that sends nothing for this long (and at least 10 frame periods) without
# unplugging has stalled: reported live, and recorded as an event where the gap begins.
STALL_S = 1.0


@dataclass
class Feet:
    """One analysed pair of feet: a plate device, or a left and a right insole."""

    analyzer: StreamingAnalyzer
    ring: RingBuffer
    pair: InsolePair | None = None  # two insoles: their pairing onto one clock and grid
    # Taken by each insole's reader around the pairing, and by the plates' reader pairing what
    # the insoles hold when a rep asks (re-entrant: the holding and the pairing both take it).
    lock: threading.RLock = field(default_factory=threading.RLock)
    # With plates and insoles together the plates' reps and flags are the session's; the
    # insoles' own analysis then only feeds their plots, so no rep is announced twice.
    announces: bool = True
    # Whether its blocks are analysed: a pair that announces nothing and that nothing draws or
    # publishes (insoles beside plates in a session without a window or an LSL stream) only
    # keeps its pairing and history for the plates' reps; its analysis would cost about 2 %
    # of a core for nothing (the segmentation every 0.2 s).
    analysed: bool = True
    # Insoles: the pair's first insole, whose device clock both feet are put on.
    reference: DeviceLink | None = None
    # Plates with a pair of insoles beside them: the insoles' feet, and the plates' recent
    # force per foot that the arch shares are of (N; columns t, plate trial s; t_device and
    # t_host, s, for the clock fit that puts them on the insole pair's clock when a rep asks;
    # left, right), the plates' clock fit and how many of those rows it has been fed.
    insoles: Feet | None = None
    plate_fz: RingBuffer | None = None
    plate_clock: ClockSync | None = None
    plate_clock_rows: int = 0


@dataclass
class DeviceLink:
    """One device of a session: the open device, the feet it feeds (None: recorded raw), its
    clock fit, connection state, what its reader thread holds for the analysis, and why the
    thread stopped if it did."""

    name: str
    device: Device
    feet: Feet | None  # None: no calibration record, raw counts are recorded only
    clock: ClockSync = field(default_factory=ClockSync)
    # Whether anything maps this device's times through its clock fit (an insole of a pair; plates
    # with insoles beside them, for the arch shares): only then is it fitted, at each block.
    clock_read: bool = False
    state: str = "connected"  # connected | streaming | stalled | disconnected | failed | stopped
    message: str = ""
    seq0: int | None = None
    reconnects: int = 0
    thread: threading.Thread | None = field(default=None, repr=False)
    # An analysed insole's calibrated force per sensor (N), columns t (host s) and newtons.
    sensors: RingBuffer | None = None
    unanalysed: list = field(default_factory=list, repr=False)  # Frames read, not yet analysed
    unanalysed_frames: int = 0
    last_frame_s: float = 0.0  # monotonic time of the newest frame read (of the start, before any)
    stalled: bool = False
    error: str = ""  # why this device's reader thread stopped (the run then fails)


def _announces(link: DeviceLink) -> bool:
    """Whether a flag or a rep the session announces waits on this device's frames."""
    return link.feet is not None and link.feet.announces


def _history_only(link: DeviceLink) -> bool:
    """Whether this device's frames only keep a pair of insoles' history for another device's
    reps (insoles beside plates, their feet not analysed)."""
    return link.feet is not None and link.feet.pair is not None and not link.feet.analysed


def _feet(rate_hz: float, toe_out_deg, thresholds: Thresholds, pair: InsolePair | None = None) -> Feet:
    ring = RingBuffer(int(PLOT_SECONDS * rate_hz), {"t": 1, "fz_left": 1, "fz_right": 1, "cop_left": 2,
                                                    "cop_right": 2, "shift_left": 1, "shift_right": 1})
    return Feet(StreamingAnalyzer(rate_hz, toe_out_deg, thresholds), ring, pair)


class Session:
    """A live session on devices: a reader thread per device feeds the recording (a
    :class:`RecordingSink`) and the live analysis of each pair of feet; events go to a queue
    the faces drain (through a ``SessionView``), to listeners and to the recording."""

    def __init__(self, urls: list[str], record_path=None, metadata: dict | None = None,
                 toe_out_deg=None, thresholds: Thresholds | None = None, plotted: bool = True):
        """``plotted``: whether a face draws or publishes the feet's samples (a window, an LSL
        stream); without one, feet that announce nothing are not analysed and no samples go
        to the plots' rings (the feet's, the insoles' sensors)."""
        self.links: list[DeviceLink] = []
        self.events: queue.Queue[Event] = queue.Queue()
        self.thresholds = thresholds or Thresholds()
        self.toe_out_deg = toe_out_deg
        self._plotted = plotted
        self._stop = threading.Event()
        self._finished = False  # stop() has reported the reps still open
        self._t0: float | None = None
        self._listeners: list = []
        devices: list[Device] = []
        try:
            for url in urls:
                devices.append(open_device(url))
            self.links = self._links(devices)
            self.recording_sink = RecordingSink([(link.name, link.device) for link in self.links], toe_out_deg)
            if record_path:
                self.recording_sink.open_at_start(record_path, metadata)
        except BaseException:
            for device in devices:
                device.close()
            raise

    def _links(self, devices: list[Device]) -> list[DeviceLink]:
        links, insoles = [], {}
        for i, device in enumerate(devices):
            name = device.info.get("serial") or f"device{i}"
            if any(link.name == name for link in links):
                raise ForceplateError(f"{device.url}: device {name} is already open in this session")
            feet = None
            # The live pipeline analyses a pair of feet: a lone plate (a one-plate import) is recorded only.
            if device.calibration is not None and {p.foot for p in device.profile.plates} == set(SIDES):
                feet = _feet(device.profile.rate_hz, self.toe_out_deg, self.thresholds)
            elif device.calibration is not None and device.profile.insole is not None:
                foot = device.info.get("foot", "")
                if foot not in ("left", "right") or foot in insoles:
                    raise ForceplateError(f"{device.url}: an insole must say foot=left or foot=right, one of each")
                insoles[foot] = device
            links.append(DeviceLink(name, device, feet))
        if len(insoles) == 2:
            pair_links = [link for link in links if link.device in insoles.values()]
            # Both feet on the clock of the pair's first insole, through the host clock: a
            # device clock keeps the device's sense of time (a sped-up simulator too).
            rate_hz = max(d.profile.rate_hz for d in insoles.values())
            pair = InsolePair({foot: d.profile.insole for foot, d in insoles.items()}, rate_hz,
                              {link.device.info["foot"]: link.clock for link in pair_links},
                              reference=pair_links[0].clock, history_s=HISTORY_S)
            # insoles are analysed in their own frame: toe-out 0
            feet = _feet(rate_hz, 0.0, self.thresholds, pair)
            feet.reference = pair_links[0]
            plates = next((link for link in links if link.feet is not None and link.feet is not feet), None)
            feet.announces = plates is None
            feet.analysed = feet.announces or self._plotted
            if plates is not None:
                # the plates' reps take their arch load and pronation index from the insoles
                plates.feet.insoles = feet
                plates.feet.plate_fz = RingBuffer(int(HISTORY_S * plates.device.profile.rate_hz),
                                                  {"t": 1, "t_device": 1, "t_host": 1, "left": 1, "right": 1})
                plates.feet.plate_clock = plates.clock  # their frames' times put on the insoles' clock
            for link in pair_links:
                link.feet = feet
                link.clock_read = True
                profile = link.device.profile
                link.sensors = RingBuffer(max(1, int(SENSOR_SECONDS * profile.rate_hz)),
                                          {"t": 1, "newtons": profile.n_channels})
        for link in links:
            if not _announces(link):
                link.device.gather_s = PLOT_ONLY_READ_S
        return links

    @property
    def ground_truth(self):
        return next((link.device.ground_truth for link in self.links if link.device.ground_truth), None)

    @property
    def feet(self) -> list[Feet]:
        """The distinct analysed pairs of feet, in device order."""
        out = []
        for link in self.links:
            if link.feet is not None and all(link.feet is not f for f in out):
                out.append(link.feet)
        return out

    def start(self) -> None:
        self.recording_sink.start()
        self._t0 = time.monotonic()
        for link in self.links:
            link.device.start()
            link.state = "streaming"
            link.last_frame_s = time.monotonic()  # a device that never sends is a stall too
            link.thread = threading.Thread(target=self._read_loop, args=(link,), name=f"read {link.name}", daemon=True)
            link.thread.start()

    def elapsed_s(self) -> float:
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    def _read_loop(self, link: DeviceLink) -> None:
        """The reader thread: an unexpected error ends it, but never silently (see :meth:`close`)."""
        try:
            self._read_frames(link)
        except Exception as exc:  # noqa: BLE001 - any failure here must fail the run, not vanish
            link.error = f"{link.name}: reading stopped ({type(exc).__name__}: {one_line(exc)})"
            link.state, link.message = "failed", link.error
            self._emit(Event(EventKind.DEVICE_FAILED, self.elapsed_s(), data={"device": link.name, "message": link.error}))

    def _watch_stall(self, link: DeviceLink, frames) -> None:
        """Report a device that went silent without unplugging, and when it speaks again."""
        now = time.monotonic()
        if len(frames):
            if link.stalled:
                link.stalled = False
                link.state, link.message = "streaming", ""
                self._emit(Event(EventKind.DEVICE_RESUMED, self.elapsed_s(), data={
                    "device": link.name, "message": f"{link.name} sends again after {now - link.last_frame_s:.1f} s "
                                                    "of silence (the gap is recorded)"}))
            link.last_frame_s = now
            return
        if link.stalled:
            return
        if now - link.last_frame_s > max(STALL_S, 10 / link.device.profile.rate_hz):
            link.stalled = True
            link.state = "stalled"
            link.message = f"no frames from {link.name} for {now - link.last_frame_s:.1f} s (not unplugged)"
            self._emit(Event(EventKind.DEVICE_STALLED, self.elapsed_s(), data={"device": link.name, "message": link.message}))

    def _read_frames(self, link: DeviceLink) -> None:
        while not self._stop.is_set():
            try:
                frames = link.device.read()
            except DeviceDisconnected as exc:
                self._lost(link, str(exc))
                link.last_frame_s = time.monotonic()  # silence is counted from the reconnection
                continue
            self._watch_stall(link, frames)
            first_s = 0.0 if link.seq0 is None or not len(frames) else (
                (int(frames.seq[0]) - link.seq0) / link.device.profile.rate_hz)
            # recorded first, so that an event of this read lies on the trial's clock from its first frame
            failed = self.recording_sink.frames(link.name, frames, first_s)
            if failed:
                self._emit(Event(EventKind.RECORDING_FAILED, self.elapsed_s(), data={"message": failed}))
            self._hold_for_analysis(link, frames)
            self.recording_sink.hand_over(link.name)

    def _hold_for_analysis(self, link: DeviceLink, frames) -> None:
        """Hold a read until the block is :data:`ANALYSIS_BLOCK_S` long (:data:`PLOT_ONLY_BLOCK_S`
        for feet that only feed plots), or its oldest frame waited that long, then update the
        device's clock fit (when something reads it) and analyse the block. Insoles that only
        keep the plates' history hold theirs for :data:`HISTORY_ONLY_BLOCK_S`, then pair both
        feet's (:meth:`_pair_held`)."""
        if len(frames) and link.seq0 is None:
            link.seq0 = int(frames.seq[0])
        if _history_only(link):
            with link.feet.lock:  # the plates' reader may pair what is held
                if self._hold(link, frames, HISTORY_ONLY_BLOCK_S):
                    self._pair_held(link.feet)
        elif self._hold(link, frames, ANALYSIS_BLOCK_S if _announces(link) else PLOT_ONLY_BLOCK_S):
            held = self._take_held(link)
            if link.feet is not None:
                self._analyse(link, held)

    @staticmethod
    def _hold(link: DeviceLink, frames, block_s: float) -> bool:
        """Hold ``frames``; whether what is held now makes a block of ``block_s`` (or its oldest
        frame waited that long)."""
        if len(frames):
            link.unanalysed.append(frames)
            link.unanalysed_frames += len(frames)
        return bool(link.unanalysed_frames) and (
            link.unanalysed_frames >= block_s * link.device.profile.rate_hz
            or time.monotonic() - link.unanalysed[0].t_host_s[0] >= block_s)

    @staticmethod
    def _take_held(link: DeviceLink):
        """The frames held, as one block (None if none), the device's clock fit updated with
        them when something reads it."""
        if not link.unanalysed_frames:
            return None
        held = joined(link.unanalysed)
        link.unanalysed, link.unanalysed_frames = [], 0
        if link.clock_read:
            since = 0
            if held.restarts:  # the device's clock count started again: its offset may have stepped
                link.clock.restart()
                since = int(np.searchsorted(held.seq, held.restarts[-1]))
            link.clock.update(held.t_device_s[since:], held.t_host_s[since:])
        return held

    def _pair_held(self, insoles: Feet) -> None:
        """Pair what both insoles' readers hold: their clocks updated first, then the other
        insole's block added before the pair's first insole adds and pairs its own."""
        with insoles.lock:
            links = sorted((link for link in self.links if link.feet is insoles),
                           key=lambda link: link is insoles.reference)
            for link, held in [(link, self._take_held(link)) for link in links]:
                if held is not None:
                    self._analyse(link, held)

    def _lost(self, link: DeviceLink, message: str) -> None:
        """Report the loss at once, then try to reopen the device until the session stops."""
        link.state, link.message = "disconnected", message
        self._emit(Event(EventKind.DEVICE_DISCONNECTED, self.elapsed_s(), data={"device": link.name, "message": message}))
        while not self._stop.wait(RECONNECT_INTERVAL_S):
            try:
                link.device.reconnect()
            except DeviceError as exc:
                link.message = f"{message}; reconnecting: {exc}"
                continue
            link.state, link.message = "streaming", ""
            link.reconnects += 1
            self._emit(Event(EventKind.DEVICE_RECONNECTED, self.elapsed_s(), data={"device": link.name,
                                                                         "message": f"{link.name} reconnected"}))
            return

    def _analyse(self, link: DeviceLink, frames) -> None:
        """Calibrate a block of ``link``'s frames and feed its pair of feet's analysis."""
        device, feet = link.device, link.feet
        physical = device.calibration.to_physical(frames.counts)
        if feet.pair is None:
            t = (frames.seq - link.seq0) / device.profile.rate_hz
            fz, cop = plate_forces(physical, device.profile)
            if feet.plate_fz is not None:
                if frames.restarts:  # the plates' clock count started again: their clock fit too
                    feet.plate_clock.restart()
                    feet.plate_clock_rows = feet.plate_fz.written + int(np.searchsorted(frames.seq, frames.restarts[-1]))
                feet.plate_fz.append(t=t, t_device=frames.t_device_s, t_host=frames.t_host_s,
                                     left=fz["left"], right=fz["right"])
                if feet.plate_fz.written - feet.plate_clock_rows >= PLATE_CLOCK_EVERY * feet.plate_fz.capacity:
                    self._fit_plate_clock(feet)
            self._push(feet, t, fz, cop)
            quiet_s = feet.analyzer.quiet_until_s() if feet.announces and not self._plotted else None
            if quiet_s is not None and len(t):
                # No rep under way: nothing it reports can change before its next segmentation,
                # so the next read waits for that sample to arrive (fewer wakes while standing)
                device.defer_next_read(frames.t_host_s[-1] + (quiet_s - t[-1]))
            return
        if self._plotted:
            link.sensors.append(t=frames.t_host_s, newtons=physical)
        if not feet.pair.ready:
            return
        with feet.lock:
            feet.pair.add(device.info["foot"], frames.t_device_s, physical)
            if link is not feet.reference:
                # The pair is analysed in its first insole's thread only: one analysis call
                # per block of that insole, not one per block of either foot.
                return
            paired = feet.pair.pop()
            if len(paired.t) and feet.analysed:
                self._push(feet, paired.t, paired.fz, paired.cop)

    def _push(self, feet: Feet, t, fz, cop) -> None:
        # New thresholds (set_thresholds) are taken up here, in the thread that runs the
        # analyser and between its blocks, so no block is graded with a mix of two sets.
        if feet.analyzer.thresholds is not self.thresholds:
            feet.analyzer.thresholds = self.thresholds
        block, events = feet.analyzer.push(t, fz, cop)
        if self._plotted:  # the rings are the plots' (a window, an LSL stream): ~0.3 % of a core at 1 kHz
            feet.ring.append(t=block.t, fz_left=block.fz["left"], fz_right=block.fz["right"],
                             cop_left=block.cop["left"], cop_right=block.cop["right"],
                             shift_left=block.shift["left"], shift_right=block.shift["right"])
        self._announce(feet, events)

    def _announce(self, feet: Feet, events: list[Event]) -> None:
        if not feet.announces:
            return
        for event in events:
            if event.kind == "rep_end":
                # the insoles' arch load and pronation index of the rep, as offline gives them
                for foot, values in self._insole_values(feet, event.data["start_s"], event.data["end_s"]).items():
                    event.data[foot].update(values)
            self._emit(event)

    def _insole_values(self, feet: Feet, start_s: float, end_s: float) -> dict[str, dict]:
        """A rep's arch load and pronation index per foot from the insoles: of a pair of insoles'
        own rep, or of a plates' rep with insoles beside them (shares of the plates' force, as
        offline takes them; the plates' force put on the insoles' grid, at their 100-200 Hz, where
        the plates' 1 kHz would cost the reader a third of a second per rep); none without insoles.
        What the insoles' readers hold is paired first, so the history reaches the rep's end."""
        if feet.pair is not None:
            return feet.pair.rep_values(start_s, end_s)
        if feet.insoles is None:
            return {}
        self._pair_held(feet.insoles)
        self._fit_plate_clock(feet)
        if not feet.plate_fz.written or not feet.insoles.pair.ready:
            return {}
        held = feet.plate_fz.peek()
        t_pair = feet.insoles.pair.reference.to_device(feet.plate_clock.to_host(held["t_device"]))
        start_s, end_s = np.interp([start_s, end_s], held["t"], t_pair)
        return feet.insoles.pair.rep_values_of_force(t_pair, {foot: held[foot] for foot in SIDES}, start_s, end_s)

    @staticmethod
    def _fit_plate_clock(feet: Feet) -> None:
        """Feed the plates' clock fit the arrivals their force history took in since the last time."""
        new, feet.plate_clock_rows = feet.plate_fz.peek_since(feet.plate_clock_rows)
        feet.plate_clock.update(new["t_device"], new["t_host"])

    def add_listener(self, callback) -> None:
        """Also hand every event to ``callback(event)`` (called from reader threads; keep it quick)."""
        self._listeners.append(callback)

    def _emit(self, event: Event) -> None:
        self.events.put(event)
        for callback in self._listeners:
            callback(event)
        self.recording_sink.event(event)

    def mark(self, text: str) -> None:
        """A user mark (set boundary, note) at the current session time."""
        self._emit(Event(EventKind.MARK, self.elapsed_s(), data={"message": text}))

    def set_thresholds(self, thresholds: Thresholds) -> None:
        """Grade flags with ``thresholds`` from each analyser's next block on; safe from any thread.

        The hold time cannot change in a running session (the analysers size a window by it).
        The change is recorded as a ``thresholds`` event.
        """
        if thresholds.min_duration_s != self.thresholds.min_duration_s:
            raise ValueError("the hold time of the flag thresholds cannot change during a session")
        self.thresholds = thresholds
        self._emit(Event(EventKind.THRESHOLDS, self.elapsed_s(), data={
            "message": f"thresholds mild {thresholds.mild_mm:g}, moderate {thresholds.moderate_mm:g}, "
                       f"severe {thresholds.severe_mm:g} mm"}))

    @property
    def recording(self) -> Path | None:
        """The trial file being recorded, or None."""
        return self.recording_sink.path

    @property
    def recording_error(self) -> str:
        """Why the recording stopped, once its writer thread has failed ("" otherwise)."""
        return self.recording_sink.error

    def start_recording(self, path, metadata: dict | None = None) -> None:
        """Record the running session from now on into a new trial file (never overwritten).

        The trial starts with the next frames read: its clock (``(seq - first seq) / rate``,
        event times too) from the first of them, its decoder counters from their current values.
        """
        if self._t0 is None:
            raise ForceplateError("start the session before recording")
        self.recording_sink.start_recording(path, metadata)

    def stop_recording(self) -> Path | None:
        """Finish the trial being recorded (a complete file); returns its path, None if none.

        The stored decoder counters are those from start to stop, to within one read of each device.
        Raises :class:`TrialError` (one line) if the trial could not be written to the end.
        """
        return self.recording_sink.stop_recording()

    def drain_events(self, wait_s: float = 0.0) -> list[Event]:
        """The events not drained yet; with ``wait_s``, waiting up to that long for one when
        there is none (a face that only prints events need not wake to poll, issue 14)."""
        out = []
        if wait_s > 0:
            try:
                out.append(self.events.get(timeout=wait_s))
            except queue.Empty:
                return out
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def status(self) -> list[dict]:
        """Per device: state, message, decoder counters; ``recording_error`` once the writer failed."""
        return [{"device": link.name, "url": link.device.url, "state": link.state, "message": link.message,
                 "recording_error": self.recording_error,
                 "rate_hz": link.device.profile.rate_hz, "reconnects": link.reconnects,
                 **(link.device.decoder.stats.as_dict() if link.device.decoder else {})}
                for link in self.links]

    @property
    def any_disconnected(self) -> bool:
        return any(link.state == "disconnected" for link in self.links)

    def stop(self) -> None:
        """Stop reading and report the reps still open when the set stopped with the
        recording (each analyser's ``finish``, recorded too, as offline reports them); the
        devices are closed and the trial finished by :meth:`close`. Safe to call twice."""
        self._stop.set()
        for link in self.links:
            if link.thread is not None:
                link.thread.join(timeout=2.0)
        if not self._finished:
            self._finished = True
            for feet in self.feet:
                with feet.lock:
                    self._announce(feet, feet.analyzer.finish())

    def close(self) -> None:
        """Stop reading (:meth:`stop`), close devices and finish the trial file; safe to call twice.

        Raises :class:`TrialError` (one line) if the trial could not be written to the end.
        """
        self.stop()
        for link in self.links:
            try:
                link.device.close()
            except DeviceError:
                pass
            if link.stalled:
                self._emit(Event(EventKind.DEVICE_STALLED, self.elapsed_s(), data={
                    "device": link.name, "message": f"{link.name} sent nothing for the last "
                                                    f"{time.monotonic() - link.last_frame_s:.1f} s"}))
            if link.state not in ("disconnected", "failed"):
                link.state = "stopped"
        path = self.stop_recording()
        failed = [link.error for link in self.links if link.error]
        for link in self.links:
            link.error = ""  # reported once: a second close() is quiet
        if failed:
            kept = f"; what was read before is saved in {path}" if path else ""
            raise DeviceError("; ".join(failed) + kept)
