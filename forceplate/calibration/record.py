"""Calibration records: one TOML file per device serial.

A record holds, per channel, the zero offset (counts) and the scale (newtons per count):
``force_N = (counts - offset) * scale``. Six-axis plates replace the scales of their six
channels by a 6x6 matrix (``[[matrices]]``: Fx Fy Fz in N, Mx My Mz in N*m), so cross-talk
between channels is corrected; a block's ``origin_offset_mm`` moves the manufacturer's
moment origin onto the profile's. FSR-type insole sensors, which are not linear, may carry
a response curve per sensor (``[curves]``). Raw counts are never changed by calibration, so
a trial can be re-analysed later with a corrected record. The format is described in
calibration/CALIBRATION.md.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from forceplate.errors import CalibrationError
from forceplate.resources import bundled_calibration_dir, user_calibration_dir
from forceplate.profiles import plain_name, toml_data

@dataclass(frozen=True)
class MatrixBlock:
    """A manufacturer's matrix over some channels: physical = values @ (counts - offsets).

    ``origin_offset_mm`` (x, y, z, lab axes) is where the manufacturer's moment origin lies
    relative to the profile's plate origin; moments are moved onto the profile's origin.
    """

    channels: tuple[int, ...]
    values: np.ndarray
    origin_offset_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def effective(self) -> np.ndarray:
        """The block as applied: moments about the profile's origin (M' = M + r x F)."""
        if not any(self.origin_offset_mm):
            return self.values
        rx, ry, rz = (v / 1000.0 for v in self.origin_offset_mm)
        move = np.eye(6)
        # The profile's convention (dual-six-axis.toml) makes moments those of (-Fx, -Fy, Fz)
        # about the origin, so moving the origin by r adds r x (-Fx, -Fy, Fz).
        cross = np.array([[0.0, -rz, ry], [rz, 0.0, -rx], [-ry, rx, 0.0]])
        move[3:, :3] = cross @ np.diag([-1.0, -1.0, 1.0])
        return move @ self.values


@dataclass(frozen=True)
class ResponseCurves:
    """Per-sensor response of FSR-type sensors, for every channel of the device:

    ``force_N = newtons_at_full_scale * sign(z) * (|z| / full_scale_counts) ** exponent``
    with ``z = counts - offset``. ``newtons_at_full_scale`` is signed like
    ``newtons_per_count`` (negative for inverted boards); exponent 1 is the linear record.
    """

    full_scale_counts: np.ndarray
    newtons_at_full_scale: np.ndarray
    exponent: np.ndarray

    def force_n(self, zeroed_counts: np.ndarray) -> np.ndarray:
        ratio = np.abs(zeroed_counts) / self.full_scale_counts
        return self.newtons_at_full_scale * np.sign(zeroed_counts) * ratio**self.exponent

    def zeroed_counts(self, force_n: np.ndarray) -> np.ndarray:
        ratio = np.asarray(force_n, dtype=np.float64) / self.newtons_at_full_scale
        return np.sign(ratio) * self.full_scale_counts * np.abs(ratio) ** (1.0 / self.exponent)


@dataclass(frozen=True)
class CalibrationRecord:
    """A device's calibration (one per serial): counts -> physical units by offsets, gains and a
    matrix, with insole curves, residuals and dates (calibration/CALIBRATION.md)."""

    serial: str
    profile: str
    offsets_counts: np.ndarray
    newtons_per_count: np.ndarray
    matrix: np.ndarray  # (channels, channels): physical = matrix @ (counts - offsets)
    date: str = ""
    valid_until: str = ""
    operator: str = ""
    method: str = ""
    source: str = ""
    toml_text: str = field(default="", repr=False)
    blocks: tuple[MatrixBlock, ...] = ()
    curves: ResponseCurves | None = None
    residuals: dict = field(default_factory=dict)

    def to_physical(self, counts: np.ndarray) -> np.ndarray:
        """Raw counts (n, channels) -> each channel in its unit: N (forces), N*m (moments)."""
        # one float64 array, scaled in place: a live reader calls this 50 times a second (issue 14)
        zeroed = np.subtract(counts, self.offsets_counts, dtype=np.float64)
        if self.curves is not None:
            return self.curves.force_n(zeroed)
        if self._diagonal:
            zeroed *= self.newtons_per_count
            return zeroed
        return zeroed @ self.matrix.T

    def to_counts(self, physical: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_physical` (float counts), for simulators and checks."""
        if self.curves is not None:
            return self.curves.zeroed_counts(physical) + self.offsets_counts
        return np.linalg.solve(self.matrix, np.asarray(physical, dtype=np.float64).T).T + self.offsets_counts

    @cached_property
    def _diagonal(self) -> bool:
        # the record does not change: asked once, not at each block a live reader converts
        return not np.any(self.matrix - np.diag(np.diag(self.matrix)))

    @property
    def n_channels(self) -> int:
        return len(self.offsets_counts)

    def check_matches(self, serial: str, n_channels: int) -> None:
        if self.serial != serial:
            raise CalibrationError(
                f"{self.source}: field 'serial' is {self.serial!r}, the device is {serial!r}"
            )
        if len(self.offsets_counts) != n_channels:
            raise CalibrationError(
                f"{self.source}: field 'offsets_counts' has {len(self.offsets_counts)} channels,"
                f" the device has {n_channels}"
            )

    def is_expired(self, today: dt.date | None = None) -> bool:
        if not self.valid_until:
            return False
        today = today or dt.date.today()
        return dt.date.fromisoformat(self.valid_until) < today

    def updated(self, **changes) -> CalibrationRecord:
        """A new record with fields changed (offsets, scales, blocks, curves, metadata);
        the matrix and the TOML text are rebuilt, so the record saves and reloads as is."""
        draft = replace(self, **changes)
        return parse_record(record_toml(draft), source=changes.get("source", self.source))


def check_fits_trial(record: CalibrationRecord, devices: dict[str, int]) -> None:
    """Raise unless ``record`` belongs to one of a trial's devices (serial -> channel count)."""
    if record.serial not in devices:
        raise CalibrationError(f"{record.source}: field 'serial' is {record.serial!r}, the trial's devices are "
                               f"{', '.join(sorted(devices))}")
    record.check_matches(record.serial, devices[record.serial])


def record_warning(record: CalibrationRecord | None, serial: str, today: dt.date | None = None) -> str | None:
    """A one-line warning when a device has no calibration record or an expired one, else None."""
    if record is None:
        return (f"{serial}: no calibration record (looked in {user_calibration_dir()} and "
                f"{bundled_calibration_dir()}): raw counts are recorded, no forces; run 'forceplate calibrate'")
    if record.is_expired(today):
        return f"{serial}: calibration record {record.source} expired on {record.valid_until}; recalibrate"
    return None


def _numbers(data: dict, key: str, source: str, n: int | None = None, ndim: int = 1) -> np.ndarray:
    if key not in data:
        raise CalibrationError(f"{source}: missing field '{key}'")
    try:
        values = np.asarray(data[key], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise CalibrationError(f"{source}: field '{key}' must be a list of numbers") from None
    if values.ndim != ndim or (n is not None and values.shape[0] != n):
        want = f"{n} numbers" if ndim == 1 else "rows of numbers"
        raise CalibrationError(f"{source}: field '{key}' must be {want}, has shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise CalibrationError(f"{source}: field '{key}' has a value that is not a finite number")
    return values


def _date(data: dict, key: str, source: str) -> str:
    if key not in data:
        return ""
    value = data[key]
    if isinstance(value, dt.datetime):
        value = value.date()
    try:
        return (value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))).isoformat()
    except ValueError:
        raise CalibrationError(f"{source}: field '{key}' is {value!r}, not a date (YYYY-MM-DD)") from None


def _block(block: dict, where: str, n_channels: int) -> MatrixBlock:
    if not isinstance(block, dict) or "channels" not in block or "values" not in block:
        raise CalibrationError(f"{where} needs 'channels' and 'values'")
    channels = _numbers(block, "channels", where)
    whole = np.all((channels == np.round(channels)) & (channels >= 0) & (channels < n_channels))
    if not whole or len(np.unique(channels)) != len(channels):
        raise CalibrationError(f"{where}: field 'channels' must be distinct channel numbers from 0 to {n_channels - 1}")
    channels = channels.astype(int)
    values = _numbers(block, "values", where, ndim=2)
    if values.shape != (len(channels), len(channels)):
        raise CalibrationError(f"{where}: field 'values' must be square over existing channels")
    origin = (0.0, 0.0, 0.0)
    if "origin_offset_mm" in block:
        if len(channels) != 6:
            raise CalibrationError(f"{where}: field 'origin_offset_mm' needs a six-axis block (6 channels)")
        origin = tuple(float(v) for v in _numbers(block, "origin_offset_mm", where, 3))
    return MatrixBlock(tuple(int(c) for c in channels), values, origin)


def parse_record(text: str, source: str = "calibration record") -> CalibrationRecord:
    """A record from TOML text; every error is one line naming ``source`` and the field."""
    data = toml_data(text, source, CalibrationError)
    for key in ("serial", "profile", "offsets_counts", "newtons_per_count"):
        if key not in data:
            raise CalibrationError(f"{source}: missing field '{key}'")
    for key in ("serial", "profile"):
        if not isinstance(data[key], str) or not data[key]:
            raise CalibrationError(f"{source}: field '{key}' must be a non-empty string")
    offsets = _numbers(data, "offsets_counts", source)
    scales = _numbers(data, "newtons_per_count", source, len(offsets))
    # A 32-bit ADC's offset fits in its counts; a count worth more than 1 kN is no load cell
    # (beyond these the forces overflow into inf instead of saying which field is wrong).
    for key, values, bound in (("offsets_counts", offsets, 2.0**32), ("newtons_per_count", scales, 1e3)):
        if not np.all(np.abs(values) <= bound):
            raise CalibrationError(f"{source}: field '{key}' has a value outside the plausible range "
                                   f"[-{bound:g}, {bound:g}]")
    blocks = tuple(_block(b, f"{source}: matrices[{i}]", len(offsets)) for i, b in enumerate(data.get("matrices", [])))
    matrix = np.diag(scales)
    for block in blocks:
        matrix[np.ix_(block.channels, block.channels)] = block.effective()
    curves = None
    if "curves" in data:
        table = data["curves"]
        where = f"{source}: curves"
        curves = ResponseCurves(*(_numbers(table, key, where, len(offsets))
                                  for key in ("full_scale_counts", "newtons_at_full_scale", "exponent")))
        if np.any(curves.full_scale_counts <= 0) or np.any(curves.exponent <= 0):
            raise CalibrationError(f"{where}: fields 'full_scale_counts' and 'exponent' must be positive")
    residuals = data.get("residuals", {})
    if not isinstance(residuals, dict):
        raise CalibrationError(f"{source}: field 'residuals' must be a table")
    return CalibrationRecord(
        serial=data["serial"],
        profile=data["profile"],
        offsets_counts=offsets,
        newtons_per_count=scales,
        matrix=matrix,
        date=_date(data, "date", source),
        valid_until=_date(data, "valid_until", source),
        operator=str(data.get("operator", "")),
        method=str(data.get("method", "")),
        source=source,
        toml_text=text,
        blocks=blocks,
        curves=curves,
        residuals=residuals,
    )


def toml_value(value) -> str:
    """A TOML literal for a string, number, bool or (nested) list or array; raises
    :class:`CalibrationError` for a NaN or infinity (a record must give every channel a value)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise CalibrationError(f"cannot store {value} in a calibration record")
        return repr(float(value))  # shortest exact form, valid TOML (1e-05, 0.0024)
    return json.dumps(str(value), ensure_ascii=False)  # JSON's string escapes are TOML's


def record_toml(record: CalibrationRecord) -> str:
    """The TOML text of a record (what :func:`parse_record` reads back to the same record)."""
    lines = [f"# Calibration record of {record.serial}, written by forceplate calibrate."]
    for key in ("serial", "profile", "operator", "method"):
        lines.append(f"{key} = {toml_value(getattr(record, key))}")
    lines += [f"{key} = {getattr(record, key)}" for key in ("date", "valid_until") if getattr(record, key)]
    lines.append(f"offsets_counts = {toml_value(record.offsets_counts)}")
    lines.append(f"newtons_per_count = {toml_value(record.newtons_per_count)}")
    if record.residuals:
        lines += ["", "[residuals]"] + [f"{k} = {toml_value(v)}" for k, v in record.residuals.items()]
    if record.curves is not None:
        lines += ["", "[curves]", 'model = "power"']
        lines += [f"{k} = {toml_value(getattr(record.curves, k))}"
                  for k in ("full_scale_counts", "newtons_at_full_scale", "exponent")]
    for block in record.blocks:
        lines += ["", "[[matrices]]", f"channels = {toml_value(block.channels)}", "values = ["]
        lines += [f"  {toml_value(row)}," for row in block.values] + ["]"]
        if any(block.origin_offset_mm):
            lines.append(f"origin_offset_mm = {toml_value(block.origin_offset_mm)}")
    return "\n".join(lines) + "\n"


def load_record(path: str | Path) -> CalibrationRecord:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read calibration record ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CalibrationError(f"{path}: not a calibration record (not UTF-8 text)") from None
    return parse_record(text, source=str(path))


def find_record(serial: str) -> CalibrationRecord | None:
    """The record for a device serial: the lab's own first, then the bundled ones.

    The serial comes from the device: only a plain name is looked up (``../x`` is no file name).
    """
    if not plain_name(serial):
        return None
    for folder in (user_calibration_dir(), bundled_calibration_dir()):
        path = folder / f"{serial}.toml"
        if path.is_file():
            return load_record(path)
    return None


def bundled_record(serial: str) -> CalibrationRecord | None:
    """The record shipped with the software for ``serial`` (the simulator's own truth)."""
    if not plain_name(serial):
        return None
    path = bundled_calibration_dir() / f"{serial}.toml"
    return load_record(path) if path.is_file() else None


def save_record(record: CalibrationRecord, path: str | Path | None = None) -> Path:
    """Write a record to ``path`` or the lab's folder as SERIAL.toml; an earlier record there
    is moved to ``history/SERIAL-<its date>.toml``, never lost."""
    path = Path(path) if path else user_calibration_dir() / f"{record.serial}.toml"
    text = record_toml(record)
    parse_record(text, source=str(path))  # never write what cannot be read back
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            stamp = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
            history = path.parent / "history"
            history.mkdir(exist_ok=True)
            path.replace(history / f"{path.stem}-{stamp}.toml")
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot write calibration record ({exc.strerror})") from None
    return path
