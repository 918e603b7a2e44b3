"""Session: devices -> (HDF5 writer, live pipeline, ring buffer for plots).

One reader thread per device reads frames, hands them to the trial writer (raw counts,
always) and to the live pipeline (calibrated forces -> rep and flag events). The faces
(terminal view, GUI) only drain events and peek at the ring buffer.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from forceplate.errors import DeviceDisconnected, DeviceError
from forceplate.io.device import Device, open_device
from forceplate.processing.streaming import Event, StreamingAnalyzer
from forceplate.processing.valgus import Thresholds
from forceplate.ringbuffer import RingBuffer
from forceplate.storage.writer import TrialWriter

PLOT_SECONDS = 30.0


@dataclass
class DeviceLink:
    name: str
    device: Device
    analyzer: StreamingAnalyzer | None
    ring: RingBuffer
    state: str = "connected"  # connected | streaming | disconnected | stopped
    message: str = ""
    seq0: int | None = None
    thread: threading.Thread | None = field(default=None, repr=False)


class Session:
    def __init__(self, urls: list[str], record_path=None, metadata: dict | None = None,
                 toe_out_deg: float = 0.0, thresholds: Thresholds | None = None):
        self.links: list[DeviceLink] = []
        self.events: queue.Queue[Event] = queue.Queue()
        self.thresholds = thresholds or Thresholds()
        self.toe_out_deg = toe_out_deg
        self.writer: TrialWriter | None = None
        self._stop = threading.Event()
        self._t0 = None
        try:
            for i, url in enumerate(urls):
                self.links.append(self._link(open_device(url), i))
            if record_path:
                meta = {"setup_toe_out_deg": toe_out_deg, **(metadata or {})}
                self.writer = TrialWriter(record_path, meta)
                for link in self.links:
                    self.writer.add_device(link.name, link.device)
        except BaseException:
            self.close()
            raise

    def _link(self, device: Device, i: int) -> DeviceLink:
        name = device.info.get("serial") or f"device{i}"
        analyzer = None
        if device.calibration is not None and device.profile.plates:
            analyzer = StreamingAnalyzer(device.profile, self.toe_out_deg, self.thresholds)
        capacity = int(PLOT_SECONDS * device.profile.rate_hz)
        ring = RingBuffer(capacity, {"t": 1, "fz_left": 1, "fz_right": 1, "cop_left": 2, "cop_right": 2,
                                     "shift_left": 1, "shift_right": 1})
        return DeviceLink(name, device, analyzer, ring)

    @property
    def ground_truth(self):
        return next((l.device.ground_truth for l in self.links if l.device.ground_truth), None)

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
        rate = link.device.profile.rate_hz
        while not self._stop.is_set():
            try:
                frames = link.device.read()
            except DeviceDisconnected as exc:
                link.state, link.message = "disconnected", str(exc)
                self._emit(Event("device_disconnected", self._trial_time(link), data={"device": link.name, "message": str(exc)}))
                return
            if self.writer:
                self.writer.write_frames(link.name, frames)
            if not len(frames):
                continue
            if link.seq0 is None:
                link.seq0 = int(frames.seq[0])
            t = (frames.seq - link.seq0) / rate
            if link.analyzer is None:
                continue
            block, events = link.analyzer.push(t, link.device.calibration.to_physical(frames.counts))
            link.ring.append(t=block.t, fz_left=block.fz["left"], fz_right=block.fz["right"],
                             cop_left=block.cop["left"], cop_right=block.cop["right"],
                             shift_left=block.shift["left"], shift_right=block.shift["right"])
            for event in events:
                self._emit(event)

    def _trial_time(self, link: DeviceLink) -> float:
        last = link.device.decoder.last_seq if link.device.decoder else None
        if link.seq0 is None or last is None:
            return 0.0
        return (last - link.seq0) / link.device.profile.rate_hz

    def _emit(self, event: Event) -> None:
        self.events.put(event)
        if self.writer:
            self.writer.write_event(event.t_s, event.kind, event.rep, event.side, event.severity, event.phase,
                                    event.value, text=event.data.get("message", ""))

    def mark(self, text: str) -> None:
        """A user mark (set boundary, note) at the current trial time."""
        link = self.links[0]
        self._emit(Event("mark", self._trial_time(link), data={"message": text}))

    def drain_events(self) -> list[Event]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def status(self) -> list[dict]:
        return [{"device": l.name, "url": l.device.url, "state": l.state, "message": l.message,
                 "rate_hz": l.device.profile.rate_hz, **(l.device.decoder.stats.as_dict() if l.device.decoder else {})}
                for l in self.links]

    @property
    def all_disconnected(self) -> bool:
        return bool(self.links) and all(l.state == "disconnected" for l in self.links)

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
            stats = {l.name: l.device.decoder.stats.as_dict() for l in self.links if l.device.decoder}
            writer.close(device_stats=stats)
