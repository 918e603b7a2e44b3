"""Session: devices -> (HDF5 writer, live pipeline, ring buffer for plots).

One reader thread per device reads frames, hands them to the trial writer (raw counts,
always) and to the live pipeline of its pair of feet (calibrated forces -> rep and flag
events). A plate device carries both feet; two insoles (one per foot, each on its own
port and clock) are merged onto the host clock first. The faces (terminal view, GUI)
only drain events and peek at the ring buffers. An unplugged device is reported at once,
the recording goes on with the others, and the device is reopened when it comes back.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from forceplate.errors import DeviceDisconnected, DeviceError, ForceplateError
from forceplate.io.clock import ClockSync
from forceplate.io.device import Device, open_device
from forceplate.processing.forces import insole_cop_to_lab, insole_forces, plate_forces
from forceplate.processing.merge import FootMerger
from forceplate.processing.streaming import Event, StreamingAnalyzer
from forceplate.processing.valgus import Thresholds
from forceplate.ringbuffer import RingBuffer
from forceplate.storage.writer import TrialWriter

PLOT_SECONDS = 30.0
RECONNECT_INTERVAL_S = 0.5


@dataclass
class Feet:
    """One analysed pair of feet: a plate device, or a left and a right insole."""

    analyzer: StreamingAnalyzer
    ring: RingBuffer
    merger: FootMerger | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class DeviceLink:
    name: str
    device: Device
    feet: Feet | None  # None: no calibration record, raw counts are recorded only
    clock: ClockSync = field(default_factory=ClockSync)
    state: str = "connected"  # connected | streaming | disconnected | stopped
    message: str = ""
    seq0: int | None = None
    reconnects: int = 0
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def analyzer(self) -> StreamingAnalyzer | None:
        return self.feet.analyzer if self.feet else None

    @property
    def ring(self) -> RingBuffer | None:
        return self.feet.ring if self.feet else None


def _feet(rate_hz: float, toe_out_deg: float, thresholds: Thresholds, merged: bool) -> Feet:
    ring = RingBuffer(int(PLOT_SECONDS * rate_hz), {"t": 1, "fz_left": 1, "fz_right": 1, "cop_left": 2,
                                                    "cop_right": 2, "shift_left": 1, "shift_right": 1})
    return Feet(StreamingAnalyzer(rate_hz, toe_out_deg, thresholds), ring, FootMerger(rate_hz) if merged else None)


class Session:
    def __init__(self, urls: list[str], record_path=None, metadata: dict | None = None,
                 toe_out_deg: float = 0.0, thresholds: Thresholds | None = None):
        self.links: list[DeviceLink] = []
        self.events: queue.Queue[Event] = queue.Queue()
        self.thresholds = thresholds or Thresholds()
        self.toe_out_deg = toe_out_deg
        self.writer: TrialWriter | None = None
        self._stop = threading.Event()
        self._t0: float | None = None
        devices: list[Device] = []
        try:
            for url in urls:
                devices.append(open_device(url))
            self.links = self._links(devices)
            if record_path:
                self.writer = TrialWriter(record_path, {"setup_toe_out_deg": toe_out_deg, **(metadata or {})})
                for link in self.links:
                    self.writer.add_device(link.name, link.device)
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
            if device.calibration is not None and device.profile.plates:
                feet = _feet(device.profile.rate_hz, self.toe_out_deg, self.thresholds, merged=False)
            elif device.calibration is not None and device.profile.insole is not None:
                foot = device.info.get("foot", "")
                if foot not in ("left", "right") or foot in insoles:
                    raise ForceplateError(f"{device.url}: an insole must say foot=left or foot=right, one of each")
                insoles[foot] = device
            links.append(DeviceLink(name, device, feet))
        if insoles:
            # insoles are analysed on the lab (host) clock: toe-out is 0 in their own frame
            pair = _feet(max(d.profile.rate_hz for d in insoles.values()), 0.0, self.thresholds,
                         merged=True) if len(insoles) == 2 else None
            for link in links:
                if link.device in insoles.values():
                    link.feet = pair
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
        if self.writer:
            self.writer.start()
        self._t0 = time.monotonic()
        for link in self.links:
            link.device.start()
            link.state = "streaming"
            link.thread = threading.Thread(target=self._read_loop, args=(link,), name=f"read {link.name}", daemon=True)
            link.thread.start()

    def elapsed_s(self) -> float:
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    def _read_loop(self, link: DeviceLink) -> None:
        while not self._stop.is_set():
            try:
                frames = link.device.read()
            except DeviceDisconnected as exc:
                self._lost(link, str(exc))
                continue
            if self.writer:
                self.writer.write_frames(link.name, frames)
            if len(frames):
                link.clock.update(frames.t_device_s, frames.t_host_s)
                if link.seq0 is None:
                    link.seq0 = int(frames.seq[0])
                if link.feet is not None:
                    self._analyse(link, frames)

    def _lost(self, link: DeviceLink, message: str) -> None:
        """Report the loss at once, then try to reopen the device until the session stops."""
        link.state, link.message = "disconnected", message
        self._emit(Event("device_disconnected", self.elapsed_s(), data={"device": link.name, "message": message}))
        while not self._stop.wait(RECONNECT_INTERVAL_S):
            try:
                link.device.reconnect()
            except DeviceError as exc:
                link.message = f"{message}; reconnecting: {exc}"
                continue
            link.state, link.message = "streaming", ""
            link.reconnects += 1
            self._emit(Event("device_reconnected", self.elapsed_s(), data={"device": link.name,
                                                                         "message": f"{link.name} reconnected"}))
            return

    def _analyse(self, link: DeviceLink, frames) -> None:
        device, feet = link.device, link.feet
        physical = device.calibration.to_physical(frames.counts)
        if feet.merger is None:
            t = (frames.seq - link.seq0) / device.profile.rate_hz
            fz, cop = plate_forces(physical, device.profile)
            self._push(feet, t, fz, cop)
            return
        foot = device.info["foot"]
        fz, cop_foot, _ = insole_forces(physical, device.profile.insole)
        # Both feet on the clock of the pair's first insole, through the host clock: a
        # device clock keeps the device's sense of time (a sped-up simulator too).
        reference = next(other for other in self.links if other.feet is feet)
        if not reference.clock.ready:
            return
        t = reference.clock.to_device(link.clock.to_host(frames.t_device_s))
        with feet.lock:
            feet.merger.add(foot, t, fz, insole_cop_to_lab(cop_foot, foot, device.profile.insole))
            t, fz, cop = feet.merger.pop()
            if len(t):
                self._push(feet, t, fz, cop)

    def _push(self, feet: Feet, t, fz, cop) -> None:
        block, events = feet.analyzer.push(t, fz, cop)
        feet.ring.append(t=block.t, fz_left=block.fz["left"], fz_right=block.fz["right"],
                         cop_left=block.cop["left"], cop_right=block.cop["right"],
                         shift_left=block.shift["left"], shift_right=block.shift["right"])
        for event in events:
            self._emit(event)

    def _emit(self, event: Event) -> None:
        self.events.put(event)
        if self.writer:
            self.writer.write_event(event.t_s, event.kind, event.rep, event.side, event.severity, event.phase,
                                    event.value, text=event.data.get("message", ""))

    def mark(self, text: str) -> None:
        """A user mark (set boundary, note) at the current session time."""
        self._emit(Event("mark", self.elapsed_s(), data={"message": text}))

    def drain_events(self) -> list[Event]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def status(self) -> list[dict]:
        return [{"device": link.name, "url": link.device.url, "state": link.state, "message": link.message,
                 "rate_hz": link.device.profile.rate_hz, "reconnects": link.reconnects,
                 **(link.device.decoder.stats.as_dict() if link.device.decoder else {})}
                for link in self.links]

    @property
    def any_disconnected(self) -> bool:
        return any(link.state == "disconnected" for link in self.links)

    def close(self) -> None:
        """Stop reading, close devices and finish the trial file; safe to call twice."""
        self._stop.set()
        for link in self.links:
            if link.thread is not None:
                link.thread.join(timeout=2.0)
            try:
                link.device.close()
            except DeviceError:
                pass
            if link.state != "disconnected":
                link.state = "stopped"
        if self.writer:
            writer, self.writer = self.writer, None
            stats = {link.name: link.device.decoder.stats.as_dict() for link in self.links if link.device.decoder}
            writer.close(device_stats=stats)
