"""What a face (the live window) reads of a running session, and the few things it may ask of it.

The window draws from this view only: the plotted pair of feet's samples and state (its ring
buffer, rate, baseline, phase), where the plates and insoles are, each insole's newest sensor
forces, the thresholds, the events, the devices' status; and asks through it for the
session's thread-safe calls (a new baseline, a mark, thresholds, a recording). It never
reaches into the session's links or analysers, so a test can give the window any object with
this interface: a fake session fed with samples as fast as it likes
(``tests/fake_session.py``), instead of a device played in real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from forceplate.processing.baseline import Baseline
from forceplate.processing.streaming import Event
from forceplate.processing.valgus import Thresholds
from forceplate.profiles import SIDES, InsoleLayout, Plate
from forceplate.ringbuffer import RingBuffer


@dataclass(frozen=True)
class InsoleSensors:
    """An analysed insole: its foot, sensor layout and recent calibrated sensor forces
    (a ring buffer with columns ``t``, host s, and ``newtons``, N per sensor)."""

    foot: str
    layout: InsoleLayout
    ring: RingBuffer


class SessionView:
    """A read-only view of a :class:`~forceplate.session.Session` for a face.

    Plots follow the session's first analysed pair of feet (``analysed`` is False when no
    device is calibrated: raw counts are recorded only); events come from all of them.
    """

    def __init__(self, session):
        self._session = session
        self._feet = session.feet[0] if session.feet else None
        self.analysed = self._feet is not None
        self.rate_hz: float | None = self._feet.analyzer.rate_hz if self._feet else None
        # t (s), fz_left/right (N), cop_left/right (mm), shift_left/right (mm): peek only
        self.feet_ring: RingBuffer | None = self._feet.ring if self._feet else None
        self.plates: dict[str, Plate] = {plate.foot: plate for link in session.links
                                         if self._feet is not None and link.feet is self._feet
                                         for plate in link.device.profile.plates}
        self.insoles: dict[str, InsoleSensors] = {
            link.device.info["foot"]: InsoleSensors(link.device.info["foot"], link.device.profile.insole, link.sensors)
            for link in session.links if link.sensors is not None}
        self.toe_out_deg = session.toe_out_deg  # as stated for the session (None: learnt from the reps)

    @property
    def baseline(self) -> Baseline | None:
        """The plotted feet's current baseline (a new object each time it is taken again)."""
        return self._feet.analyzer.baseline if self._feet else None

    @property
    def normal_mm(self) -> dict:
        """The plotted feet's normal peak shift per foot (mm), where the grades start."""
        return self._feet.analyzer.normal_mm if self._feet else dict.fromkeys(SIDES, 0.0)

    @property
    def phase(self) -> str:
        """The plotted feet's phase now: standing, descent, bottom or ascent."""
        return self._feet.analyzer.phase if self._feet else "standing"

    @property
    def thresholds(self) -> Thresholds:
        return self._session.thresholds

    @property
    def recording(self) -> Path | None:
        return self._session.recording

    @property
    def recording_error(self) -> str | None:
        """Why the recording stopped (the trial file could not be written on), else None."""
        return self._session.recording_error

    def elapsed_s(self) -> float:
        return self._session.elapsed_s()

    def drain_events(self, wait_s: float = 0.0) -> list[Event]:
        """The session's events not drained yet, waiting up to ``wait_s`` for one (Session.drain_events)."""
        return self._session.drain_events(wait_s)

    def status(self) -> list[dict]:
        return self._session.status()

    # --- what the operator asks of the session (its thread-safe calls) -----------------

    def capture_baseline(self) -> None:
        """Every analysed pair of feet takes its baseline again."""
        for feet in self._session.feet:
            feet.analyzer.capture_baseline()

    def mark(self, text: str) -> None:
        self._session.mark(text)

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self._session.set_thresholds(thresholds)

    def start_recording(self, path, metadata: dict | None = None) -> None:
        self._session.start_recording(path, metadata)

    def stop_recording(self) -> Path | None:
        return self._session.stop_recording()
