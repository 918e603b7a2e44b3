"""A left and a right insole as one pair of feet: the one pairing live, offline and validation use.

Each insole is its own device with its own clock. A foot's frame times are put on the pair's
clock through the host clock (:mod:`forceplate.io.clock`):
``reference.to_device(own.to_host(t_device)) - offset_s``. The pair's clock is its first
insole's (live), the left insole's (a trial of insoles), or the plate's when plates and insoles
are recorded together (then ``offset_s`` is the plate's first device time, so the insoles land
on the plate's trial time). Each foot's calibrated sensor forces give its force, lab-frame CoP
and region forces (:func:`insole_foot`), and both feet are resampled linearly, column by
column, onto one grid: the pair's own (the span both feet cover, at the pair's rate, as
:class:`FootMerger` releases it) or a given one (a plate's).

Live, the pair also keeps its recent force and region forces, so that a rep ended on insoles
gets its arch load and pronation index by offline's rule (:func:`insole_rep_values`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forceplate.io.clock import ClockSync
from forceplate.processing.analysis import insole_rep_values
from forceplate.processing.forces import insole_foot
from forceplate.processing.merge import FootMerger
from forceplate.profiles import SIDES, InsoleLayout
from forceplate.ringbuffer import RingBuffer

HISTORY_S = 30.0  # live: force and region forces kept for the reps' arch load (a set's reps and its standing)


@dataclass
class PairedFeet:
    """Both feet on one grid: time (s, the pair's clock), per foot force (N), lab-frame CoP
    (n, 2) mm and force per named region (N)."""

    t: np.ndarray
    fz: dict
    cop: dict
    regions: dict


class InsolePair:
    """A left and a right insole on one clock and one grid.

    ``layouts``: each foot's sensor layout; ``rate_hz``: the grid's rate; ``clocks``: each
    insole's device -> host clock (fresh ones, the identity, when the feet share one clock);
    ``reference``: the clock the pair's times are on (the host clock itself when None).
    """

    def __init__(self, layouts: dict[str, InsoleLayout], rate_hz: float, clocks: dict[str, ClockSync] | None = None,
                 reference: ClockSync | None = None, offset_s: float = 0.0, history_s: float = 0.0):
        self.layouts = layouts
        self.rate_hz = rate_hz
        self.clocks = clocks or {foot: ClockSync() for foot in SIDES}
        self.reference = reference or ClockSync()
        self.offset_s = offset_s
        self._region_names = {foot: tuple(layout.regions) for foot, layout in layouts.items()}
        self._merger = FootMerger(rate_hz)
        # columns per foot: force, then each region's force
        self.history = RingBuffer(max(2, int(history_s * rate_hz)), {
            "t": 1, **{foot: 1 + len(names) for foot, names in self._region_names.items()}}) if history_s else None

    @property
    def ready(self) -> bool:
        """Live: the pair's clock has seen an arrival (before that, no time can be put on it)."""
        return self.reference.ready

    def on_pair_clock(self, foot: str, t_device_s: np.ndarray) -> np.ndarray:
        """``foot``'s device times (s) on the pair's clock, through the host clock."""
        return self.reference.to_device(self.clocks[foot].to_host(t_device_s)) - self.offset_s

    def _columns(self, foot: str, newtons: np.ndarray) -> np.ndarray:
        """Force, CoP x, CoP y, then each region's force: one column each, for the resampling."""
        fz, cop, regions = insole_foot(newtons, foot, self.layouts[foot])
        return np.column_stack([fz, cop, *(regions[name] for name in self._region_names[foot])])

    def _feet(self, t: np.ndarray, columns: dict[str, np.ndarray]) -> PairedFeet:
        return PairedFeet(t, {foot: c[:, 0] for foot, c in columns.items()},
                          {foot: c[:, 1:3] for foot, c in columns.items()},
                          {foot: {name: c[:, 3 + k] for k, name in enumerate(self._region_names[foot])}
                           for foot, c in columns.items()})

    def add(self, foot: str, t_device_s: np.ndarray, newtons: np.ndarray) -> None:
        """A block of ``foot``'s frames: device times (s) and calibrated sensor forces (N)."""
        self._merger.add(foot, self.on_pair_clock(foot, t_device_s), self._columns(foot, newtons))

    def pop(self) -> PairedFeet:
        """Both feet on the pair's grid, as far as both have arrived (live: kept as history)."""
        t, columns = self._merger.pop()
        if not len(t):
            return PairedFeet(t, {}, {}, {})
        if self.history is not None:
            self.history.append(t=t, **{foot: np.column_stack([c[:, :1], c[:, 3:]]) for foot, c in columns.items()})
        return self._feet(t, columns)

    def whole(self, recordings: dict[str, tuple[np.ndarray, np.ndarray]]) -> PairedFeet:
        """Whole recordings (foot -> (device times s, sensor forces N)) on the pair's grid."""
        for foot, (t_device_s, newtons) in recordings.items():
            self.add(foot, t_device_s, newtons)
        return self.pop()

    def on_grid(self, t: np.ndarray, recordings: dict[str, tuple[np.ndarray, np.ndarray]]) -> PairedFeet:
        """Whole recordings resampled at the given times ``t`` (s, the pair's clock: a plate's grid)."""
        columns = {}
        for foot, (t_device_s, newtons) in recordings.items():
            times, foot_columns = self.on_pair_clock(foot, t_device_s), self._columns(foot, newtons)
            columns[foot] = np.column_stack([np.interp(t, times, foot_columns[:, k])
                                             for k in range(foot_columns.shape[1])])
        return self._feet(t, columns)

    def rep_values(self, start_s: float, end_s: float) -> dict[str, dict]:
        """Live: a rep's ``arch_load_pct`` and ``pronation_index`` per foot (points over
        standing), by offline's rule on the history (its standing as the history shows it)."""
        held = self.history.peek()
        fz = {foot: held[foot][:, 0] for foot in self._region_names}
        return insole_rep_values(held["t"], fz, self._regions(held), self.rate_hz, [(start_s, end_s)])[0]

    def rep_values_of_force(self, t: np.ndarray, fz: dict, start_s: float, end_s: float) -> dict[str, dict]:
        """Live: the same for a rep another device found (plates beside the insoles): its force
        per foot (N) at times ``t`` and the rep's start and end, all on the pair's clock (s).
        The force is resampled onto the history's grid where both cover, and the shares are
        of it, as offline takes them of the plates' force."""
        held = self.history.peek()
        inside = (held["t"] >= t[0]) & (held["t"] <= t[-1]) if len(t) else np.zeros(len(held["t"]), bool)
        if inside.sum() < 2:
            return {}
        held = {name: column[inside] for name, column in held.items()}
        force = {foot: np.interp(held["t"], t, fz[foot]) for foot in self._region_names}
        return insole_rep_values(held["t"], force, self._regions(held), self.rate_hz, [(start_s, end_s)])[0]

    def _regions(self, held: dict) -> dict[str, dict]:
        return {foot: {name: held[foot][:, 1 + k] for k, name in enumerate(names)}
                for foot, names in self._region_names.items()}
