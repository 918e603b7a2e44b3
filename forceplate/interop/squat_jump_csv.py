"""OpenSim-style two-plate force file wrapped in CSV (the squat-jump-dual-fp recordings),
and its hand-labelled phase index.

Force file: UTF-8 with a BOM, every line padded with commas; ``key=value`` header lines up
to ``endheader``, a line of column names, then rows of ``time`` and per plate k
``ground_force{k}_v{x,y,z}`` (N; y is vertical, x anterior, z medio-lateral),
``ground_force{k}_p{x,y,z}`` (CoP) and ``ground_torque{k}_{x,y,z}`` (y: free moment, N*m).

It is an OpenSim storage file with commas (read by :mod:`forceplate.interop.opensim`).
The source documents the CoP as cm; the values are metres (the two feet sit 0.34 m apart)
and are converted from metres here. An unloaded plate's CoP is parked at a constant in the
file; it is NaN here, like every CoP below processing.forces.COP_MIN_FORCE_N. The plates
are named FP1/FP2 only: the source's left/right labels contradict its own geometry.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forceplate.errors import FileFormatError
from forceplate.interop.opensim import read_opensim, read_plates, read_table, sample_grid
from forceplate.processing.forces import COP_MIN_FORCE_N

PLATES = ("FP1", "FP2")


@dataclass(frozen=True)
class SquatJumpRecording:
    """The OpenSim-style squat-jump CSV as read: two plates' 3D force (N), CoP (mm) and free moment
    (N m)."""

    time_s: np.ndarray  # (n,)
    rate_hz: float
    force_n: np.ndarray  # (n, 2 plates, 3) x anterior, y vertical, z medio-lateral
    cop_mm: np.ndarray  # (n, 2 plates, 2) x anterior, z medio-lateral; NaN when unloaded
    free_moment_nm: np.ndarray  # (n, 2 plates)
    plates: tuple[str, ...] = PLATES

    @property
    def vertical_n(self) -> np.ndarray:
        """(n, 2) vertical force per plate."""
        return self.force_n[:, :, 1]


def read_squat_jump_csv(path: str | Path) -> SquatJumpRecording:
    """Read the force file; raises FileFormatError naming the file and the problem."""
    path = Path(path)
    table = read_table(path, delimiter=",")
    plates = {p.label: p for p in read_plates(path, table)}
    if set(plates) != {"1", "2"}:
        raise FileFormatError(f"{path}: expected plates 1 and 2 (ground_force1_*, ground_force2_*), "
                              f"found {', '.join(repr(k) for k in plates)}")
    rate_hz, index = sample_grid(path, table)
    if index[-1] + 1 != len(index):
        raise FileFormatError(f"{path}: the time column skips samples")
    pair = (plates["1"], plates["2"])
    force = np.stack([p.force_n for p in pair], axis=1)
    cop_mm = np.stack([p.point_m[:, [0, 2]] for p in pair], axis=1) * 1000.0
    cop_mm[force[:, :, 1] < COP_MIN_FORCE_N] = np.nan
    free_moment = np.stack([p.torque_nm[:, 1] for p in pair], axis=1)
    time_s = table.data[:, table.names.index("time")]
    return SquatJumpRecording(time_s, rate_hz, force, cop_mm, free_moment)


def read_squat_jump_trial(path: str | Path, labels: str | Path | None = None, keep: list[int] | None = None,
                          left: int | None = None, right: int | None = None):
    """The force file as a trial (``write_trial`` input: devices, metadata, events), through
    the OpenSim importer (:func:`forceplate.interop.opensim.read_opensim`): which plate is
    under which foot comes from the geometry (the source's own side labels contradict it).
    ``labels``: the phase index file, whose phases become trial marks ("Jump 1 Eccentric
    Phase start" ... at the labelled rows, ``rep`` = the jump's number)."""
    path = Path(path)
    devices, metadata, _ = read_opensim(path, keep, left, right, delimiter=",", source_format="squat-jump-csv")
    if labels is None:
        return devices, metadata, []
    phases = read_squat_jump_index(labels)
    if devices[0].attrs["missing_rows"]:  # the labels count rows, the trial samples
        raise FileFormatError(f"{path}: the time column skips samples; the row numbers of {labels} would be off")
    rate_hz = devices[0].profile.rate_hz
    rows = len(devices[0].counts)
    events = []
    for phase, bounds in phases.items():
        for jump, pair in enumerate(bounds, start=1):
            for edge, row in zip(("start", "end"), pair, strict=True):
                if not 0 <= row < rows:
                    raise FileFormatError(f"{labels}: {phase} of jump {jump} names row {row}; "
                                          f"{path.name} has rows 0 to {rows - 1}")
                events.append((row / rate_hz, "mark", jump, "", "", "", float("nan"), f"Jump {jump} {phase} {edge}"))
    metadata["labels_file"] = Path(labels).name
    return devices, metadata, sorted(events)


def read_squat_jump_index(path: str | Path) -> dict[str, list[tuple[int, int]]]:
    """Hand-labelled phases: phase name -> one (start row, end row) per jump.

    Header ``,Jump 1 Start,Jump 1 End,...``; then one line per phase (``Event``,
    ``Eccentric Phase``, ``Concentric Phase``, ``Jump Phase``, ``Landing Phase``).
    """
    path = Path(path)
    rows = [row for row in _csv_rows(path) if any(cell.strip() for cell in row)]
    if len(rows) < 2 or len(rows[0]) < 3 or (len(rows[0]) - 1) % 2:
        raise FileFormatError(f"{path}: expected a header of 'Jump k Start, Jump k End' pairs")
    phases = {}
    for row in rows[1:]:
        try:
            bounds = [int(cell) for cell in row[1:len(rows[0])]]
        except ValueError:
            raise FileFormatError(f"{path}: phase '{row[0]}' has a non-integer row index") from None
        if len(bounds) != len(rows[0]) - 1:
            raise FileFormatError(
                f"{path}: phase '{row[0]}' has {len(bounds)} indices, expected {len(rows[0]) - 1}")
        phases[row[0].strip()] = list(zip(bounds[::2], bounds[1::2], strict=True))
    return phases


def _csv_rows(path: Path) -> list[list[str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FileFormatError(f"{path}: cannot read ({exc})") from None
