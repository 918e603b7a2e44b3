"""Moticon OpenGo text exports: 16 pressures per foot (N/cm²) -> a left and a right insole.

Format (the vendor's "text export"): ``# key: value`` header lines, a ``# time<TAB>...``
column header, then tab-separated rows. Per foot ``pressure 1..16 [N/cm²]``, IMU columns,
``total force [N]`` and ``center of pressure X/Y [-0.5...+0.5]``; optional event columns
(``Right Events label[]`` + ``Right Events[]``). Empty cells are missing data (an insole
that started late or dropped a packet), never zero; so is a time step with no row.

Stored values are the pressures (N/cm²); the calibration record multiplies each by its
sensor's effective area (cm²) from ``moticon-opengo16.toml``, scaled by one factor fitted
per file against the file's own total force (the areas depend on the insole size, which
only scales them). The IMU columns, the step counters and the vendor's total force and CoP
are not stored: the force and CoP are recomputed from the pressures (``vendor_columns``
gives the vendor's, for checks).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forceplate.errors import FileFormatError
from forceplate.interop import insole_pair, numbers, on_grid, read_lines
from forceplate.processing.median import median
from forceplate.profiles import RATE_RANGE_HZ, load_profile, number_in

PROFILE_ID = "moticon-opengo16"
SENSORS = 16
FEET = ("left", "right")
PRESSURE = "{foot} pressure {k}[N/cm²]"
TOTAL = "{foot} total force[N]"
COP = "{foot} center of pressure {axis}[-0.5...+0.5]"
MAX_PRESSURE_N_CM2 = 1000.0  # 10 MPa: beyond any insole sensor (OpenGo reads up to about 50 N/cm²)
MAX_TOTAL_FORCE_N = 1e5  # N: ten tonnes on one foot is no measurement
MAX_TIME_S = 1e7  # s: four months; a recording's time column beyond that is damage
MIN_FIT_FORCE_N = 50.0  # rows used to fit the area scale: clearly loaded, so rounding matters little


@dataclass(frozen=True)
class MoticonExport:
    """A Moticon OpenGo text export as read: header lines, column names, time (s) and the data rows
    as text."""

    header: dict  # "# key: value" lines
    columns: list[str]
    time_s: np.ndarray  # (n,) as in the file (a dropped row leaves a step of 2 samples)
    cells: list[list[str]]  # data rows, tab-split, as text

    def numeric(self, names: list[str], path: Path) -> np.ndarray:
        """(n, len(names)) floats, NaN for empty cells; raises naming a missing column."""
        missing = [name for name in names if name not in self.columns]
        if missing:
            raise FileFormatError(f"{path}: no column {missing[0]!r} (is this a Moticon OpenGo text export?)")
        idx = [self.columns.index(name) for name in names]
        return numbers(path, [[row[i] if i < len(row) else "" for i in idx] for row in self.cells],
                       len(self.header) + 2, len(idx))


def parse_moticon(path: str | Path) -> MoticonExport:
    path = Path(path)
    lines = read_lines(path)
    at = next((i for i, line in enumerate(lines) if line.startswith("# time\t")), None)
    if at is None:
        raise FileFormatError(f"{path}: no '# time<TAB>...' column header (not a Moticon OpenGo text export)")
    header = {}
    for line in lines[:at]:
        key, _, value = line.lstrip("# ").partition(":")
        header[key.strip()] = value.strip()
    columns = lines[at][2:].split("\t")
    cells = [line.split("\t") for line in lines[at + 1:] if line.strip()]
    if not cells:
        raise FileFormatError(f"{path}: no data rows after the column header")
    export = MoticonExport(header, columns, np.empty(0), cells)
    time_s = export.numeric(["time"], path)[:, 0]
    if not np.isfinite(time_s).all():
        raise FileFormatError(f"{path}: a data row has no time")
    if np.abs(time_s).max() > MAX_TIME_S:
        raise FileFormatError(f"{path}: a time of {np.abs(time_s).max():g} s, beyond any recording "
                              f"(at most {MAX_TIME_S:g} s)")
    return MoticonExport(header, columns, time_s, cells)


def vendor_columns(export: MoticonExport, path: Path, foot: str) -> tuple[np.ndarray, np.ndarray]:
    """The vendor's total force (n,) N and CoP (n, 2) normalised X, Y, rows as in the file."""
    values = export.numeric([TOTAL.format(foot=foot)] + [COP.format(foot=foot, axis=a) for a in "XY"], path)
    return values[:, 0], values[:, 1:]


def _events(export: MoticonExport, time_s: np.ndarray) -> list[tuple]:
    """``X Events label[]`` / ``X Events[]`` column pairs as trial marks, e.g. "Right Event 1"."""
    out = []
    for label_column in (c for c in export.columns if c.endswith(" label[]")):
        value_column = label_column.replace(" label[]", "[]")
        side = label_column.split(" ")[0]
        li = export.columns.index(label_column)
        vi = export.columns.index(value_column) if value_column in export.columns else None
        for t, row in zip(time_s, export.cells, strict=True):
            label = row[li].strip() if li < len(row) else ""
            if label:
                value = row[vi].strip() if vi is not None and vi < len(row) else ""
                text = f"{side} {label} {value.removesuffix('.00')}".strip()
                out.append((float(t), "mark", 0, "", "", "", float("nan"), text))
    return sorted(out)


def read_moticon(path: str | Path) -> tuple[list, dict, list[tuple]]:
    """A Moticon OpenGo text export as a left and a right insole device, trial metadata, events."""
    path = Path(path)
    export = parse_moticon(path)
    steps = np.diff(export.time_s)
    if len(steps) == 0 or median(steps) <= 0:
        raise FileFormatError(f"{path}: the time column does not increase")
    rate_hz = number_in(float(np.round(1.0 / median(steps), 3)), *RATE_RANGE_HZ, str(path),
                        "rate_hz (from the time column)", FileFormatError)
    index = np.round((export.time_s - export.time_s[0]) * rate_hz)
    profile = load_profile(PROFILE_ID)
    area_cm2 = profile.insole.sensor_area_mm2 / 100.0
    feet, area_scale = {}, {}
    for foot in FEET:
        pressure = export.numeric([PRESSURE.format(foot=foot, k=k) for k in range(1, SENSORS + 1)], path)
        implausible = np.isfinite(pressure) & (np.abs(pressure) > MAX_PRESSURE_N_CM2)
        if implausible.any():
            row, sensor = np.argwhere(implausible)[0]
            raise FileFormatError(f"{path}: {PRESSURE.format(foot=foot, k=sensor + 1)} is {pressure[row, sensor]:g} "
                                  f"in data row {row + 1}, outside the plausible range (at most {MAX_PRESSURE_N_CM2:g})")
        pressure[~np.isfinite(pressure).all(axis=1)] = np.nan  # a foot's row is whole or missing
        total, _ = vendor_columns(export, path, foot)
        if np.nanmax(np.abs(total), initial=0.0) > MAX_TOTAL_FORCE_N:
            row = int(np.nanargmax(np.abs(total)))
            raise FileFormatError(f"{path}: {TOTAL.format(foot=foot)} is {total[row]:g} in data row {row + 1}, outside "
                                  f"the plausible range (at most {MAX_TOTAL_FORCE_N:g} N)")
        modelled = pressure @ area_cm2
        fit = np.isfinite(modelled) & np.isfinite(total) & (total > MIN_FIT_FORCE_N)
        # One scale for the insole size (sizes scale the sensors alike; see the profile).
        area_scale[foot] = float(total[fit] @ modelled[fit] / (modelled[fit] @ modelled[fit])) if fit.any() else 1.0
        feet[foot] = (on_grid(index, pressure, path, "times"), area_cm2 * area_scale[foot], None)
    size = export.header.get("Size", "?")
    devices = insole_pair(
        path, "moticon", profile, rate_hz, feet, "N/cm²",
        method=f"sensor areas of {PROFILE_ID} x the per-file scale fitted to the export's total force",
        attrs={"insole_size": size, "sensor_insoles": export.header.get("Sensor insoles", ""),
               "area_scale": json.dumps(area_scale)})
    metadata = {"notes": f"imported from {path.name} (Moticon OpenGo, insole size {size})"
                         + (f": {export.header['Notes']}" if export.header.get("Notes") else ""),
                "setup_toe_out_deg": 0.0, "created": _start_time(export.header)}
    return devices, metadata, _events(export, index / rate_hz)


def _start_time(header: dict) -> str | None:
    """The export's 'Start time' ("27.09.2023 10:21:14.922", the recording computer's local
    time, no zone) as ISO 8601 to the second, or None."""
    try:
        return dt.datetime.strptime(header.get("Start time", ""), "%d.%m.%Y %H:%M:%S.%f").isoformat(timespec="seconds")
    except ValueError:
        return None

