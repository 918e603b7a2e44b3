"""OptiTrack Motive CSV export of an AMTI six-axis plate.

Layout: ``key,value,`` preamble lines (take name, rates, plate corners), blank lines, a
header ``MocapFrame, MocapTime, DeviceFrame, Fx, Fy, Fz, Mx, My, Mz, Cx, Cy, Cz`` (spaces
after the commas), then one row per frame: forces N, moments N*m, the vendor's CoP in
metres (Cx = -My/Fz, Cy = Mx/Fz about the plate origin).

Frames the device did not deliver are written as all zeros. Forces and moments are
returned as recorded there (NaN would poison the running sums of the quiet-standing
detector); the ``dropout`` mask names those rows and the vendor CoP is NaN on them,
because (0, 0) is a position, not a missing value.
"""

from __future__ import annotations

import datetime as dt

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forceplate.errors import FileFormatError, one_line
from forceplate.interop import read_lines

HEADER_FIRST = "MocapFrame"
COLUMNS = ("MocapTime", "Fx", "Fy", "Fz", "Mx", "My", "Mz", "Cx", "Cy")
MM_PER_INCH = 25.4  # Motive writes PlateLength/PlateWidth in inches (19.75 for an AMTI 3265)
DEFAULT_PLATE_MM = 500.0


@dataclass(frozen=True)
class AmtiRecording:
    """An OptiTrack/AMTI six-axis CSV export as read: forces (N), moments (N m), the vendor's CoP
    (mm), dropout rows."""

    metadata: dict  # preamble key -> value, as text
    rate_hz: float
    time_s: np.ndarray  # (n,)
    forces_n: np.ndarray  # (n, 3) Fx Fy Fz
    moments_nm: np.ndarray  # (n, 3) Mx My Mz about the plate origin
    vendor_cop_mm: np.ndarray  # (n, 2) Cx Cy, NaN on dropout rows
    dropout: np.ndarray  # (n,) bool: the device sent nothing (all channels 0)

    @property
    def six_axis(self) -> np.ndarray:
        """(n, 6) Fx Fy Fz (N) Mx My Mz (N*m): the input of processing.forces.six_axis_cop_mm."""
        return np.hstack([self.forces_n, self.moments_nm])


def read_amti_csv(path: str | Path) -> AmtiRecording:
    """Read an OptiTrack/AMTI CSV; raises FileFormatError naming the file and the problem."""
    path = Path(path)
    lines = read_lines(path)
    header_at = next((i for i, line in enumerate(lines) if line.split(",")[0].strip() == HEADER_FIRST), None)
    if header_at is None:
        raise FileFormatError(f"{path}: no '{HEADER_FIRST}, MocapTime, ...' header line")
    metadata = {}
    for line in lines[:header_at]:
        fields = line.split(",")
        if fields[0].strip():
            metadata[fields[0].strip()] = fields[1].strip() if len(fields) > 1 else ""
    names = [name.strip() for name in lines[header_at].split(",")]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise FileFormatError(f"{path}: header lacks column(s) {', '.join(missing)}")
    rows = [line for line in lines[header_at + 1:] if line.strip()]
    if not rows:
        raise FileFormatError(f"{path}: no data rows after the header")
    try:
        data = np.loadtxt(rows, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise FileFormatError(f"{path}: bad data row ({one_line(exc)})") from None
    if data.shape[1] != len(names):
        raise FileFormatError(f"{path}: rows have {data.shape[1]} fields, the header {len(names)}")
    col = {name: data[:, names.index(name)] for name in COLUMNS}
    forces = np.column_stack([col["Fx"], col["Fy"], col["Fz"]])
    moments = np.column_stack([col["Mx"], col["My"], col["Mz"]])
    dropout = np.all(forces == 0.0, axis=1) & np.all(moments == 0.0, axis=1)
    cop_mm = np.column_stack([col["Cx"], col["Cy"]]) * 1000.0
    cop_mm[dropout] = np.nan
    try:
        rate_hz = float(metadata["Export Frame Rate"])
    except (KeyError, ValueError):
        raise FileFormatError(f"{path}: preamble lacks a numeric 'Export Frame Rate'") from None
    return AmtiRecording(metadata, rate_hz, col["MocapTime"], forces, moments, cop_mm, dropout)


def read_amti_trial(path: str | Path, foot: str = "left"):
    """The plate as a trial (``write_trial`` input: devices, metadata, events): one six-axis
    plate, the file's Fx Fy Fz (N) Mx My Mz (N*m) stored as they are, the plate's axes taken
    as the trial's, its centre at the origin (the export's corner positions are all 0) and
    its size from PlateLength/PlateWidth (inches). Dropout rows are NaN rows here: a trial
    marks a sample the device never sent as missing, never as a load of 0. The file does
    not say who stands how on the one plate: ``foot`` names it (default left, as a lone
    plate of a C3D file)."""
    from forceplate.interop import ImportedPlate, plate_device

    path = Path(path)
    recording = read_amti_csv(path)
    values = recording.six_axis.copy()
    values[recording.dropout] = np.nan
    size_mm = []
    for key in ("PlateWidth", "PlateLength"):
        try:
            size_mm.append(float(recording.metadata[key]) * MM_PER_INCH)
        except (KeyError, ValueError):
            size_mm.append(DEFAULT_PLATE_MM)
    plate = ImportedPlate(
        name=recording.metadata.get("Device Name", "AMTI") or "AMTI", foot=foot, values=values,
        channel_names=["Fx", "Fy", "Fz", "Mx", "My", "Mz"], channel_units=["N"] * 3 + ["N*m"] * 3,
        to_lab=np.eye(6), center_mm=(0.0, 0.0), size_mm=tuple(size_mm))
    note = (f"Made by `forceplate import` from {path.name}: the AMTI plate's own axes, moments about its\n"
            "origin (the vendor's CoP needs no origin depth), centre at the origin.")
    device = plate_device(path, "amti-csv", recording.rate_hz, [plate], note,
                          attrs={"dropout_rows": int(recording.dropout.sum()), "take": recording.metadata.get("Take Name", "")})
    return [device], {"notes": f"imported from {path.name}", "created": _capture_start(recording.metadata)}, []


def _capture_start(metadata: dict) -> str | None:
    """The export's 'Capture Start Time' ("05 Jan 2021 10:47:06 +0100") as ISO 8601, or None."""
    try:
        return dt.datetime.strptime(metadata.get("Capture Start Time", ""), "%d %b %Y %H:%M:%S %z").isoformat()
    except ValueError:
        return None
