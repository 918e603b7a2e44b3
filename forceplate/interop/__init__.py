"""Files and streams of the lab ecosystem in and out: C3D, vendor insole exports, CSV, LSL.

Importers turn a file into a complete trial (``forceplate.storage.writer.write_trial``):
the file's values are the stored "counts" (float64, units in attributes) and a calibration
record written at import turns them into N and N*m, so an imported trial is read and
analysed like a recorded one. Optional dependencies (``ezc3d``, ``pylsl``) are imported
only when used; without them the error says which extra to install.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forceplate.calibration.record import toml_value
from forceplate.errors import FileFormatError


def require(module: str, extra: str = "interop"):
    """Import an optional dependency, or raise a one-line error naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise FileFormatError(f"{module} is not installed: pip install 'forceplate[{extra}]'") from None


def toml_table(values: dict) -> str:
    return "".join(f"{key} = {toml_value(v)}\n" for key, v in values.items())


def calibration_toml(serial: str, profile_id: str, scales: list[float], matrices: list[tuple[list[int], list]] = (),
                     method: str = "", offsets: list[float] | None = None) -> str:
    """A calibration record: ``physical = scale * (value - offset)`` per channel (offsets 0 by
    default), or a matrix over a block of channels (``physical = matrix @ value``)."""
    offsets = [0.0] * len(scales) if offsets is None else [float(o) for o in offsets]
    text = toml_table({"serial": serial, "profile": profile_id, "offsets_counts": offsets,
                       "newtons_per_count": [float(s) for s in scales], "method": method})
    for channels, values in matrices:
        text += "\n[[matrices]]\n" + toml_table({"channels": list(channels),
                                                 "values": [[float(v) for v in row] for row in values]})
    return text


def on_grid(index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows placed at their sample number (``index``, any order, the smallest is sample 0):
    a sample no row arrived for is a NaN row, never interpolated; of two rows for one sample
    the first in the file is kept."""
    index = np.asarray(index, dtype=np.int64)
    index = index - index.min()
    out = np.full((int(index.max()) + 1, values.shape[1]), np.nan)
    first = np.unique(index, return_index=True)[1]
    out[index[first]] = values[first]
    return out


def imported_profile_text(profile, rate_hz: float, note: str) -> str:
    """A bundled profile's TOML for an imported device: the file's rate, values kept as float64
    (what ``write_trial`` stores), ``note`` (where the data came from) as a leading comment."""
    text = re.sub(r'(?m)^sample_format\s*=.*$', 'sample_format = "float64"', profile.toml_text)
    text = re.sub(r'(?m)^rate_hz\s*=.*$', f"rate_hz = {float(rate_hz)!r}", text)
    return "".join(f"# {line}\n" for line in note.splitlines()) + text


def insole_pair(path: Path, source_format: str, profile, rate_hz: float, feet: dict, unit: str, method: str,
                attrs: dict | None = None) -> list:
    """The left and right insole devices of an imported file (``write_trial`` input).

    ``feet``: foot -> (values (n, sensors) in ``unit``, N per unit per sensor, offsets in
    ``unit`` or None). Both devices get the same clock (sample number / rate), so the
    analysis aligns them sample for sample.
    """
    from forceplate.profiles import parse_profile
    from forceplate.storage.writer import DeviceArrays

    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)
    imported = parse_profile(imported_profile_text(profile, rate_hz, f"{profile.id}, imported from {path.name}"),
                             where=f"{path} (imported profile)")
    devices = []
    for foot, (values, scales, offsets) in feet.items():
        name = f"{source_format}-{stem}-{foot}"
        devices.append(DeviceArrays(
            name=name, profile=imported, counts=np.asarray(values, dtype=np.float64),
            channel_units=[unit] * imported.n_channels,
            info={"serial": name, "model": f"{source_format} import", "firmware": "", "foot": foot,
                  "source_file": path.name},
            calibration_toml=calibration_toml(name, profile.id, list(scales), method=method, offsets=offsets),
            url=f"file://{path.resolve()}",
            attrs={"source_file": path.name, "source_format": source_format, "foot": foot, **(attrs or {})}))
    return devices


def read_lines(path: Path) -> list[str]:
    """A text file's lines (UTF-8, BOM or not, LF or CRLF), or a one-line error."""
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: cannot read as UTF-8 text ({exc})") from None


def numbers(path: Path, rows: list[list[str]], first_line: int, width: int) -> np.ndarray:
    """Text cells -> (rows, width) floats; an empty or absent trailing cell is NaN (missing,
    not zero). ``first_line`` is the 1-based line of the first row, for the error message."""
    out = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        if len(row) > width:
            raise FileFormatError(f"{path}: line {first_line + i}: {len(row)} cells, the header names {width}")
        for j, cell in enumerate(row):
            if cell.strip():
                try:
                    out[i, j] = float(cell)
                except ValueError:
                    raise FileFormatError(f"{path}: line {first_line + i}: {cell!r} is not a number") from None
    return out


@dataclass(frozen=True)
class ImportedPlate:
    """One plate under one foot of an imported file, for :func:`plate_device`.

    ``values`` (n, 6) are what the trial stores (the file's numbers, or what the importer
    computed from them), each in ``channel_units``; ``to_lab`` (6, 6) maps them to Fx Fy Fz
    (N) and Mx My Mz (N*m) about the centre of the plate's top surface, in the trial's axes
    (x to the subject's right, y forward, z up; mm). A component the file does not have is
    a NaN column with an identity row, so everything computed from it (the CoP) is NaN.
    """

    name: str
    foot: str
    values: np.ndarray
    channel_names: list[str]
    channel_units: list[str]
    to_lab: np.ndarray
    center_mm: tuple[float, float]
    size_mm: tuple[float, float]


def plate_device(path: Path, source_format: str, rate_hz: float, plates: list[ImportedPlate], note: str,
                 attrs: dict | None = None):
    """The six-axis plate device of an imported file (``write_trial`` input): one profile
    (``note`` says where the geometry came from) and one calibration record holding each
    plate's ``to_lab`` block."""
    from forceplate.profiles import parse_profile
    from forceplate.storage.writer import DeviceArrays

    name = f"{source_format}-" + re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)
    profile_id = f"{source_format}-import"
    plates_toml, matrices = "", []
    for k, plate in enumerate(plates):
        channels = list(range(6 * k, 6 * k + 6))
        plates_toml += "\n[[plates]]\n" + toml_table({
            "name": plate.name, "foot": plate.foot, "type": "six-axis", "channels": channels,
            "center_mm": [float(x) for x in plate.center_mm], "size_mm": [float(x) for x in plate.size_mm],
            "origin_depth_mm": 0.0})
        matrices.append((channels, np.asarray(plate.to_lab, dtype=float).tolist()))
    profile_text = ("".join(f"# {line}\n" for line in note.splitlines())
                    + toml_table({"id": profile_id, "kind": "dual-plate", "description": f"{source_format} import: {path.name}",
                                  "rate_hz": float(rate_hz), "sample_format": "float64",
                                  "channels": [c for p in plates for c in p.channel_names]}) + plates_toml)
    profile = parse_profile(profile_text, where=f"{path} (imported profile)")
    # The scales repeat the matrices' diagonals: CalibrationRecord.to_physical uses the scales
    # alone (column by column, so a NaN column stays in its place) when every matrix is diagonal.
    scales = [row[i] for _, block in matrices for i, row in enumerate(block)]
    diagonal = all(not np.any(np.asarray(b) - np.diag(np.diag(b))) for _, b in matrices)
    record = calibration_toml(name, profile_id, scales, [] if diagonal else matrices,
                              method=f"from the columns of {path.name} ({source_format})")
    return DeviceArrays(
        name=name, profile=profile, counts=np.column_stack([p.values for p in plates]),
        channel_units=[u for p in plates for u in p.channel_units],
        info={"serial": name, "model": f"{source_format} import", "firmware": "", "source_file": path.name},
        calibration_toml=record, url=f"file://{path.resolve()}",
        attrs={"source_file": path.name, "source_format": source_format, **(attrs or {})})
