"""Calibration records: one TOML file per device serial.

A record holds, per channel, the zero offset (counts) and the scale (newtons per count):
``force_N = (counts - offset) * scale``. Six-axis plates replace the scales of their six
channels by a 6x6 matrix (``[[matrices]]``: Fx Fy Fz in N, Mx My Mz in N*m), so cross-talk
between channels is corrected. Raw counts are never changed by calibration, so
a trial can be re-analysed later with a corrected record.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forceplate.errors import CalibrationError
from forceplate.resources import bundled_calibration_dir, user_calibration_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class CalibrationRecord:
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

    def to_physical(self, counts: np.ndarray) -> np.ndarray:
        """Raw counts (n, channels) -> each channel in its unit: N (forces), N*m (moments)."""
        zeroed = np.asarray(counts, dtype=np.float64) - self.offsets_counts
        if self._diagonal:
            return zeroed * np.diag(self.matrix)  # [[matrices]] may have replaced the scales
        return zeroed @ self.matrix.T

    def to_counts(self, physical: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_physical` (float counts), for simulators and checks."""
        return np.linalg.solve(self.matrix, np.asarray(physical, dtype=np.float64).T).T + self.offsets_counts

    @property
    def _diagonal(self) -> bool:
        return not np.any(self.matrix - np.diag(np.diag(self.matrix)))

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


def parse_record(text: str, source: str = "calibration record") -> CalibrationRecord:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{source}: not valid TOML ({exc})") from None
    for key in ("serial", "profile", "offsets_counts", "newtons_per_count"):
        if key not in data:
            raise CalibrationError(f"{source}: missing field '{key}'")
    try:
        offsets = np.asarray(data["offsets_counts"], dtype=np.float64)
        scales = np.asarray(data["newtons_per_count"], dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationError(f"{source}: fields 'offsets_counts' and 'newtons_per_count' must be lists of numbers") from None
    if offsets.ndim != 1 or offsets.shape != scales.shape:
        raise CalibrationError(
            f"{source}: field 'newtons_per_count' has {scales.size} entries, 'offsets_counts' {offsets.size}"
        )
    matrix = np.diag(scales)
    for i, block in enumerate(data.get("matrices", [])):
        try:
            channels = np.asarray(block["channels"], dtype=int)
            values = np.asarray(block["values"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise CalibrationError(f"{source}: matrices[{i}] needs 'channels' and numeric 'values'") from None
        if values.shape != (len(channels), len(channels)) or channels.min() < 0 or channels.max() >= len(offsets):
            raise CalibrationError(f"{source}: field 'matrices[{i}].values' must be square over existing channels")
        matrix[np.ix_(channels, channels)] = values
    return CalibrationRecord(
        serial=str(data["serial"]),
        profile=str(data["profile"]),
        offsets_counts=offsets,
        newtons_per_count=scales,
        matrix=matrix,
        date=str(data.get("date", "")),
        valid_until=str(data.get("valid_until", "")),
        operator=str(data.get("operator", "")),
        method=str(data.get("method", "")),
        source=source,
        toml_text=text,
    )


def load_record(path: str | Path) -> CalibrationRecord:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read calibration record ({exc.strerror})") from None
    return parse_record(text, source=str(path))


def find_record(serial: str) -> CalibrationRecord | None:
    """The record for a device serial: the lab's own first, then the bundled ones."""
    for folder in (user_calibration_dir(), bundled_calibration_dir()):
        path = folder / f"{serial}.toml"
        if path.is_file():
            return load_record(path)
    return None
