"""Insole CSV files of any layout, read through a column-mapping TOML file (docs/interop.md).

The mapping names the sensor layout (a profile), the rate, which columns are each foot's
sensors (in the profile's channel order), how rows are placed in time (a sequence column,
or a time column), when a foot's row is missing, and a linear map from the file's values to
newtons per sensor. Rows may come in any order; a sample with no row is a NaN row.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from forceplate.errors import FileFormatError, ProfileError
from forceplate.interop import insole_pair, numbers, on_grid, read_lines
from forceplate.profiles import RATE_RANGE_HZ, load_profile, number_in, toml_data

FEET = ("left", "right")


def _mapping(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read the mapping ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{path}: the mapping is not UTF-8 text") from None
    return toml_data(text, str(path), FileFormatError)


def _text(mapping: dict, key: str, where: Path, default=None, allow_empty: bool = False) -> str:
    value = mapping.get(key, default) if default is not None else _get(mapping, key, where)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise FileFormatError(f"{where}: '{key}' must be {'' if allow_empty else 'non-empty '}text")
    return value


def _finite(value, key: str, where: Path) -> float:
    return number_in(value, -1e12, 1e12, str(where), key, FileFormatError)


def _get(mapping: dict, key: str, where: Path):
    if key not in mapping:
        raise FileFormatError(f"{where}: the mapping needs '{key}' (see docs/interop.md)")
    return mapping[key]


def _per_sensor(value, n: int, key: str, where: Path) -> list[float]:
    """A number for every sensor, or a list of one per sensor."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        values = [_finite(value, key, where)] * n
    elif isinstance(value, list):
        values = [_finite(v, key, where) for v in value]
    else:
        values = []
    if len(values) != n:
        raise FileFormatError(f"{where}: '{key}' needs one number or {n} (one per sensor)")
    return values


def read_insole_csv(path: str | Path, mapping_path: str | Path) -> tuple[list, dict, list[tuple]]:
    """An insole CSV file as a left and a right insole device, trial metadata, no events."""
    path, mapping_path = Path(path), Path(mapping_path)
    mapping = _mapping(mapping_path)
    profile_ref = _text(mapping, "profile", mapping_path)
    if profile_ref.endswith(".toml") and not Path(profile_ref).is_absolute():
        profile_ref = str(mapping_path.parent / profile_ref)  # a layout beside the mapping file
    try:
        profile = load_profile(profile_ref)
    except ProfileError as exc:
        raise FileFormatError(f"{mapping_path}: {exc}") from None
    if profile.insole is None:
        raise FileFormatError(f"{mapping_path}: profile {profile.id} has no sensor layout (sensors_mm)")
    rate_hz = number_in(_get(mapping, "rate_hz", mapping_path), *RATE_RANGE_HZ, str(mapping_path), "rate_hz",
                        FileFormatError)
    n = profile.n_channels
    delimiter = _text(mapping, "delimiter", mapping_path, default=",")
    comment = _text(mapping, "comment", mapping_path, default="#", allow_empty=True)
    lines = [(i + 1, line) for i, line in enumerate(read_lines(path))
             if line.strip() and not (comment and line.startswith(comment))]
    if len(lines) < 2:
        raise FileFormatError(f"{path}: no header and data rows")
    header = [name.strip() for name in lines[0][1].split(delimiter)]

    def column(name: str) -> int:
        if name not in header:
            raise FileFormatError(f"{path}: no column {name!r} (the mapping {mapping_path.name} names it)")
        return header.index(name)

    values = numbers(path, [line.split(delimiter) for _, line in lines[1:]], lines[1][0], len(header))
    if "order_column" in mapping:
        what = f"sequence numbers of column {mapping['order_column']!r}"
        index = values[:, column(_text(mapping, "order_column", mapping_path))]
    else:
        time_column = _text(mapping, "time_column", mapping_path)
        what = f"times of column {time_column!r}"
        time_unit_s = number_in(mapping.get("time_unit_s", 1.0), 1e-9, 3600.0, str(mapping_path), "time_unit_s",
                                FileFormatError)
        index = values[:, column(time_column)] * time_unit_s * rate_hz
    if not np.isfinite(index).all():
        raise FileFormatError(f"{path}: a row has no sequence number or time")
    index = np.round(index - index.min())
    offsets = _per_sensor(mapping.get("offset", 0.0), n, "offset", mapping_path)
    scales = _per_sensor(_get(mapping, "newtons_per_unit", mapping_path), n, "newtons_per_unit", mapping_path)
    feet, missing_rows = {}, {}
    for foot in FEET:
        table = _get(mapping, foot, mapping_path)
        names = _get(table, "columns", mapping_path) if isinstance(table, dict) else None
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise FileFormatError(f"{mapping_path}: [{foot}] needs 'columns', a list of column names")
        if len(names) != n:
            raise FileFormatError(f"{mapping_path}: [{foot}] columns names {len(names)} columns, "
                                  f"profile {profile.id} has {n} sensors")
        sensors = values[:, [column(name) for name in names]]
        missing = ~np.isfinite(sensors).all(axis=1)
        if "missing_if_all" in table:
            # a device that stands a whole foot's frame in with one value (DIY FSR: sixteen 0s,
            # which its inverted scale would read as full load)
            missing |= (sensors == _finite(table["missing_if_all"], "missing_if_all", mapping_path)).all(axis=1)
        if "missing_flag_column" in table:
            flags = values[:, column(table["missing_flag_column"])]
            mask = table.get("missing_flag_mask")
            if not isinstance(mask, int) or isinstance(mask, bool) or not 0 < mask < 2**62:
                raise FileFormatError(f"{mapping_path}: [{foot}] 'missing_flag_mask' must be a positive whole number")
            flags = np.clip(np.nan_to_num(flags), -2**62, 2**62)
            missing |= (flags.astype(np.int64) & mask) != 0
        sensors[missing] = np.nan
        missing_rows[foot] = int(missing.sum())
        feet[foot] = (on_grid(index, sensors, path, what), scales, offsets)
    unit = _text(mapping, "unit", mapping_path, default="counts")
    devices = insole_pair(path, "csv", profile, rate_hz, feet, unit,
                          method=f"linear map of the CSV mapping {mapping_path.name}: "
                                 f"N = (value - offset) * newtons_per_unit",
                          attrs={"mapping": mapping_path.read_text(encoding="utf-8"),
                                 "rows_out_of_order": int((np.diff(index) < 0).sum()),
                                 "missing_rows": json.dumps(missing_rows)})
    return devices, {"notes": f"imported from {path.name} with the mapping {mapping_path.name}",
                     "setup_toe_out_deg": 0.0}, []
