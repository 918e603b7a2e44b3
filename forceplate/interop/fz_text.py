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
# The files give no plate positions: nominal ones, only for drawing (no CoP is computed).
NOMINAL_HALF_STANCE_MM = 150.0
NOMINAL_PLATE_MM = (300.0, 500.0)


@dataclass(frozen=True)
class VerticalForces:
    """An FP1/FP2 vertical-force text file as read: each plate's Fz (N) at the rate given (the file
    states none)."""

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


def read_fz_trial(path: str | Path, rate_hz: float | None = None, keep: list[int] | None = None,
                  left: int | None = None, right: int | None = None):
    """A vertical-force file as a trial (``write_trial`` input: devices, metadata, events):
    each column a six-axis plate that knows only Fz, its Fx, Fy and moments NaN, so its
    CoP is NaN. The files do not say which plate is under which foot: by default the
    first column is the left foot (``left``/``right``/``keep`` choose, 1-based columns;
    unloaded columns are dropped as in the OpenSim import)."""
    import json

    from forceplate.interop import ImportedPlate, plate_device
    from forceplate.interop.opensim import OpenSimPlate, choose_feet

    path = Path(path)
    forces = read_fz_text(path, DEFAULT_RATE_HZ if rate_hz is None else rate_hz)
    nan = np.full(len(forces.fz_n), np.nan)
    # Only the chooser's view (vertical force, no point): OpenSim's y is the vertical.
    plates = [OpenSimPlate(name, k + 1, np.column_stack([nan, fz, nan]), np.column_stack([nan, nan, nan]),
                           np.column_stack([nan, nan, nan]))
              for k, (name, fz) in enumerate(zip(forces.names, forces.fz_n.T, strict=True))]
    feet = choose_feet(path, plates, keep, left, right)
    imported = [ImportedPlate(
        name=plate.label or plate.name, foot=foot, values=np.column_stack([nan, nan, plate.force_n[:, 1], nan, nan, nan]),
        channel_names=[f"{plate.label or plate.name}_{c}" for c in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")],
        channel_units=["N"] * 3 + ["N*m"] * 3, to_lab=np.eye(6),
        center_mm=((-1.0 if foot == "left" else 1.0) * NOMINAL_HALF_STANCE_MM, 0.0), size_mm=NOMINAL_PLATE_MM)
        for foot, (plate, _) in feet.items()]
    note = (f"Made by `forceplate import` from {path.name}: vertical force only (Fx, Fy and moments NaN);\n"
            f"rate {forces.rate_hz:g} Hz ({'assumed: the file does not say' if rate_hz is None else 'given at import'}); "
            "plate positions nominal.")
    device = plate_device(path, "fz-text", forces.rate_hz, imported, note, attrs={
        "plates": json.dumps({foot: {"number": p.number, "label": p.label, "assigned_by": how}
                              for foot, (p, how) in feet.items()}),
        "rate_assumed": rate_hz is None})
    return [device], {"notes": f"imported from {path.name}"}, []
