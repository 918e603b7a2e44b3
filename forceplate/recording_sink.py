"""The trial a live session records: frames handed to the writer in blocks, the recording's
clock, events on it, decoder counters from start to stop.

Reader threads hand every read here while the GUI thread may start or stop a recording: one
lock makes "is there a writer, then write" one step. Frames go to the writer thread in
blocks of :data:`WRITE_BLOCK_S`; the trial's clock is ``(seq - first recorded seq) / rate``,
so a recording started mid-session puts event times (the live pipeline's clock) on it by
taking off the live time of its first frame.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from forceplate.errors import ForceplateError, one_line
from forceplate.io.device import Frames
from forceplate.processing.streaming import Event
from forceplate.storage.writer import TrialWriter

# Frames go to the writer in blocks about this long. Each hand-over costs the writer a few
# h5py calls that hold the GIL: once per read (a few ms of frames) that took a third of a
# core from the live window with plates and two insoles (benchmarks/gui_redraw.py). The
# writer flushes to disk once a second, so the block adds nothing to what a crash can lose.
WRITE_BLOCK_S = 0.1


def joined(batches: list[Frames]) -> Frames:
    """Consecutive reads of one device as one batch."""
    if len(batches) == 1:
        return batches[0]
    return Frames(np.concatenate([f.seq for f in batches]), np.concatenate([f.t_device_s for f in batches]),
                  np.concatenate([f.counts for f in batches]), [gap for f in batches for gap in f.gaps],
                  [seq for f in batches for seq in f.restarts], np.concatenate([f.t_host_s for f in batches]))


def setup_attrs(toe_out_deg) -> dict:
    """The trial attributes stating the set-up's toe-out (none when it was not stated)."""
    if toe_out_deg is None:
        return {}
    if isinstance(toe_out_deg, dict):
        return {"setup_toe_out_left_deg": toe_out_deg["left"], "setup_toe_out_right_deg": toe_out_deg["right"]}
    return {"setup_toe_out_deg": float(toe_out_deg)}


class RecordingSink:
    """Where a session's frames and events are recorded, when a recording is under way.

    ``devices``: (name, :class:`Device`) of every device of the session, in order.
    """

    def __init__(self, devices: list, toe_out_deg=None):
        self._devices = devices
        self._rates_hz = {name: device.profile.rate_hz for name, device in devices}
        self._toe_out_deg = toe_out_deg
        self.writer: TrialWriter | None = None
        self._lock = threading.Lock()
        # The recording's first frame on the live pipeline's clock (None until it is written):
        # event times minus this are on the trial's clock, (seq - first recorded seq) / rate.
        self._t0_s: float | None = 0.0
        self._stats0: dict[str, dict] = {}  # decoder counters at the start
        self.error = ""  # why the recording stopped, once its writer thread has failed
        self._unwritten: dict[str, list[Frames]] = {name: [] for name, _ in devices}  # read, not yet handed over
        self._unwritten_frames = dict.fromkeys(self._unwritten, 0)

    @property
    def path(self) -> Path | None:
        """The trial file being recorded, or None."""
        writer = self.writer
        return writer.path if writer else None

    def open_at_start(self, path, metadata: dict | None) -> None:
        """Record from the session's first frame on (its writer starts with :meth:`start`)."""
        self.writer = self._new_writer(path, metadata)

    def start(self) -> None:
        """The session starts: so does the writer opened with :meth:`open_at_start`."""
        if self.writer:
            self.writer.start()

    def _new_writer(self, path, metadata: dict | None) -> TrialWriter:
        writer = TrialWriter(path, {**setup_attrs(self._toe_out_deg), **(metadata or {})})
        for name, device in self._devices:
            writer.add_device(name, device)
        return writer

    def start_recording(self, path, metadata: dict | None = None) -> None:
        """Record from the next frames read on into a new trial file (never overwritten)."""
        if self.writer is not None:
            raise ForceplateError(f"already recording {self.writer.path}")
        if Path(path).exists():
            raise ForceplateError(f"{path}: file exists; choose another name (trials are never overwritten)")
        writer = self._new_writer(path, metadata)
        writer.start()
        with self._lock:
            self._t0_s = None
            self._stats0 = self._decoder_stats()
            self.writer = writer

    def frames(self, name: str, frames: Frames, live_t_s: float) -> str | None:
        """A read of device ``name`` (``live_t_s``: its first frame's time on the live
        pipeline's clock), held for the writer (:meth:`hand_over`); returns the message when
        the recording has just failed."""
        with self._lock:
            if self.writer and self.writer.error is not None:
                # Its thread is gone: frames handed to it would only pile up in memory.
                self._unwritten[name], self._unwritten_frames[name] = [], 0
                if self.error:
                    return None
                self.error = f"recording {self.writer.path.name} stopped: {one_line(self.writer.error)}"
                return self.error
            if not self.writer:
                return None
            if self._t0_s is None and len(frames):
                self._t0_s = live_t_s
            # Not only the writer's filter: empty reads (a device that stalls without
            # disconnecting) would otherwise pile up here until the block is full.
            if len(frames) or frames.gaps:
                self._unwritten[name].append(frames)
                self._unwritten_frames[name] += len(frames)
        return None

    def hand_over(self, name: str) -> None:
        """Hand device ``name``'s held frames to the writer once they make a block. The reader
        thread calls this after analysing its read, as it is about to sleep: the writer
        thread it wakes then does not contend for the GIL with the analysis (each such
        contention is a forced switch between them every 5 ms, issue 14)."""
        with self._lock:
            if self.writer and self.writer.error is None and \
                    self._unwritten_frames[name] >= WRITE_BLOCK_S * self._rates_hz[name]:
                self._write_unwritten(name)

    def _write_unwritten(self, name: str) -> None:
        """Hand ``name``'s held frames to the writer as one block; the caller holds the lock."""
        held, self._unwritten[name], self._unwritten_frames[name] = self._unwritten[name], [], 0
        if held:
            self.writer.write_frames(name, joined(held))

    def event(self, event: Event) -> None:
        """Record ``event`` on the trial's clock; one before the first recorded frame is at its start."""
        with self._lock:
            if self.writer:
                t0 = event.t_s if self._t0_s is None else self._t0_s
                self.writer.write_event(event.t_s - t0, event.kind, event.rep, event.side,
                                        event.severity, event.phase, event.value, text=event.data.get("message", ""))

    def stop_recording(self) -> Path | None:
        """Finish the trial being recorded (a complete file); returns its path, None if none.

        The stored decoder counters are those from start to stop, to within one read of each device.
        Raises :class:`TrialError` (one line) if the trial could not be written to the end.
        """
        with self._lock:
            if self.writer is not None and self.writer.error is None:
                for name in self._unwritten:
                    self._write_unwritten(name)
            writer, self.writer = self.writer, None
        if writer is None:
            return None
        stats = {name: {key: value - self._stats0.get(name, {}).get(key, 0) for key, value in counters.items()}
                 for name, counters in self._decoder_stats().items()}
        self.error = ""  # reported by the session's close() now; a next recording starts clean
        writer.close(device_stats=stats)
        return writer.path

    def _decoder_stats(self) -> dict[str, dict]:
        return {name: device.decoder.stats.as_dict() for name, device in self._devices if device.decoder}
