"""Tab-separated vertical-force text files: a header of plate names (``FP1<TAB>FP2``),
then one row per sample of the vertical force under each plate (N). CRLF or LF.

The files do not state their sampling rate. DEFAULT_RATE_HZ = 1000 is inferred for the
vertical-jumps-fz recordings: 5000 rows make the documented 5 s trials, and at 1000 Hz
the jump heights from flight time and from take-off velocity agree to within 4 mm
(docs/validation.md); pass ``rate_hz`` for any other source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forceplate.errors import FileFormatError, one_line
from forceplate.interop import read_lines

DEFAULT_RATE_HZ = 1000.0


@dataclass(frozen=True)
class VerticalForces:
    names: tuple[str, ...]  # plate names from the header, in column order
    fz_n: np.ndarray  # (n, plates)
    rate_hz: float

    @property
    def time_s(self) -> np.ndarray:
        return np.arange(len(self.fz_n)) / self.rate_hz


def read_fz_text(path: str | Path, rate_hz: float = DEFAULT_RATE_HZ) -> VerticalForces:
    """Read a vertical-force text file; raises FileFormatError naming the file and the problem."""
    path = Path(path)
    if not rate_hz > 0:
        raise FileFormatError(f"{path}: sampling rate must be positive, got {rate_hz}")
    lines = [line for line in read_lines(path) if line.strip()]
    if len(lines) < 2:
        raise FileFormatError(f"{path}: needs a header line and at least one row of forces")
    names = tuple(name.strip() for name in lines[0].split("\t"))
    if any(_is_number(name) for name in names):
        raise FileFormatError(f"{path}: first line is not a header of plate names: {lines[0][:60]!r}")
    try:
        fz = np.loadtxt(lines[1:], delimiter="\t", ndmin=2)
    except ValueError as exc:
        raise FileFormatError(f"{path}: bad data row ({one_line(exc)})") from None
    if fz.shape[1] != len(names):
        raise FileFormatError(f"{path}: rows have {fz.shape[1]} columns, the header names {len(names)}")
    return VerticalForces(names, fz, float(rate_hz))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
