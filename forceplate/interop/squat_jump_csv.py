"""OpenSim-style two-plate force file wrapped in CSV (the squat-jump-dual-fp recordings),
and its hand-labelled phase index.

Force file: UTF-8 with a BOM, every line padded with commas; ``key=value`` header lines up
to ``endheader``, a line of column names, then rows of ``time`` and per plate k
``ground_force{k}_v{x,y,z}`` (N; y is vertical, x anterior, z medio-lateral),
``ground_force{k}_p{x,y,z}`` (CoP) and ``ground_torque{k}_{x,y,z}`` (y: free moment, N*m).

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
from forceplate.processing.forces import COP_MIN_FORCE_N

PLATES = ("FP1", "FP2")


@dataclass(frozen=True)
class SquatJumpRecording:
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
    rows = _csv_rows(path)
    end = next((i for i, row in enumerate(rows) if row and row[0].strip() == "endheader"), None)
    if end is None or end + 1 >= len(rows):
        raise FileFormatError(f"{path}: no 'endheader' line followed by column names")
    header = {}
    for row in rows[:end]:
        key, _, value = row[0].partition("=")
        header[key.strip()] = value.strip()
    names = [name.strip() for name in rows[end + 1] if name.strip()]
    wanted = ["time"] + [f"ground_force{k}_{q}" for k in (1, 2) for q in ("vx", "vy", "vz", "px", "pz")] + [
        f"ground_torque{k}_y" for k in (1, 2)]
    missing = [name for name in wanted if name not in names]
    if missing:
        raise FileFormatError(f"{path}: column(s) missing: {', '.join(missing)}")
    try:
        data = np.array([[float(cell) for cell in row[:len(names)]] for row in rows[end + 2:] if any(row)])
    except ValueError as exc:
        raise FileFormatError(f"{path}: bad data row ({exc})") from None
    if data.ndim != 2 or data.shape[1] != len(names):
        raise FileFormatError(f"{path}: data rows are missing or shorter than the {len(names)} named columns")
    if "nRows" in header and header["nRows"].isdigit() and int(header["nRows"]) != len(data):
        raise FileFormatError(f"{path}: header says nRows={header['nRows']}, found {len(data)} rows (truncated?)")

    def columns(pattern: str, axes: str) -> np.ndarray:
        """(n, 2 plates, len(axes)) from the columns ``pattern.format(plate, axis)``."""
        return np.stack([data[:, [names.index(pattern.format(k, a)) for a in axes]] for k in (1, 2)], axis=1)

    force = columns("ground_force{}_v{}", "xyz")
    cop_mm = columns("ground_force{}_p{}", "xz") * 1000.0
    cop_mm[force[:, :, 1] < COP_MIN_FORCE_N] = np.nan
    free_moment = columns("ground_torque{}_{}", "y")[:, :, 0]
    time_s = data[:, names.index("time")]
    if len(time_s) < 2 or not np.all(np.diff(time_s) > 0):
        raise FileFormatError(f"{path}: time column is not increasing")
    rate_hz = float(np.round(1.0 / np.median(np.diff(time_s)), 6))
    return SquatJumpRecording(time_s, rate_hz, force, cop_mm, free_moment)


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
        phases[row[0].strip()] = list(zip(bounds[::2], bounds[1::2]))
    return phases


def _csv_rows(path: Path) -> list[list[str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FileFormatError(f"{path}: cannot read ({exc})") from None
