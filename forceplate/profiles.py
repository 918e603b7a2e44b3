"""Device profiles: channels, geometry and rates of a device kind, loaded from TOML."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forceplate.errors import ProfileError
from forceplate.resources import profiles_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# sample_format -> the dtype counts are kept in: binary DATA payloads are read as such, and
# "ascii" (the line mode of devices/PROTOCOL.md: decimal text) is kept as int32; "float64"
# holds the values of an imported file (forceplate.interop), which are not integer counts.
SAMPLE_FORMATS = {"int32": "<i4", "int16": "<i2", "ascii": "<i4", "float64": "<f8"}


PLATE_TYPES = ("load-cells", "six-axis")
SIDES = ("left", "right")  # the feet, in the order every per-foot table and plot uses


@dataclass(frozen=True)
class Plate:
    """A plate under one foot; positions in the lab frame (mm).

    ``load-cells``: one channel per vertical load cell at ``cells_mm``.
    ``six-axis``: channels Fx Fy Fz Mx My Mz about an origin ``origin_depth_mm`` below the
    centre of the top surface (``center_mm``), plate axes parallel to the lab's.
    """

    name: str
    foot: str  # "left" or "right"
    channels: tuple[int, ...]
    center_mm: tuple[float, float]
    size_mm: tuple[float, float]
    type: str = "load-cells"
    cells_mm: np.ndarray | None = None  # (n_cells, 2) x, y
    origin_depth_mm: float = 0.0


@dataclass(frozen=True)
class InsoleLayout:
    """Sensor positions of an insole in its foot frame (mm): y heel to toe, x toward the arch."""

    sensors_mm: np.ndarray  # (channels, 2)
    regions: dict  # region name -> tuple of sensor indices
    foot_length_mm: float
    foot_width_mm: float
    sensor_area_mm2: np.ndarray | None = None


@dataclass(frozen=True)
class DeviceProfile:
    id: str
    kind: str
    description: str
    rate_hz: float
    sample_format: str
    channels: tuple[str, ...]
    plates: tuple[Plate, ...] = ()
    insole: InsoleLayout | None = None
    toml_text: str = field(default="", repr=False)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def wire_dtype(self) -> np.dtype:
        return np.dtype(SAMPLE_FORMATS[self.sample_format])


def _require(table: dict, key: str, where: str):
    if key not in table:
        raise ProfileError(f"{where}: missing field '{key}'")
    return table[key]


def parse_profile(text: str, where: str = "profile") -> DeviceProfile:
    """Build a profile from TOML text; ``where`` names the source in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: not valid TOML ({exc})") from None
    channels = tuple(_require(data, "channels", where))
    fmt = _require(data, "sample_format", where)
    if fmt not in SAMPLE_FORMATS:
        raise ProfileError(f"{where}: field 'sample_format' must be one of {sorted(SAMPLE_FORMATS)}")
    plates = tuple(_plate(p, f"{where}: plates[{i}]", len(channels)) for i, p in enumerate(data.get("plates", [])))
    insole = _insole(data, where, len(channels)) if "sensors_mm" in data else None
    return DeviceProfile(
        id=_require(data, "id", where),
        kind=_require(data, "kind", where),
        description=data.get("description", ""),
        rate_hz=float(_require(data, "rate_hz", where)),
        sample_format=fmt,
        channels=channels,
        plates=plates,
        insole=insole,
        toml_text=text,
    )


def _plate(p: dict, where: str, n_channels: int) -> Plate:
    chans = tuple(int(c) for c in _require(p, "channels", where))
    if any(c < 0 or c >= n_channels for c in chans):
        raise ProfileError(f"{where}: field 'channels' names a channel the device does not have")
    foot = _require(p, "foot", where)
    if foot not in ("left", "right"):
        raise ProfileError(f"{where}: field 'foot' must be 'left' or 'right'")
    kind = p.get("type", "load-cells")
    if kind not in PLATE_TYPES:
        raise ProfileError(f"{where}: field 'type' must be one of {', '.join(PLATE_TYPES)}")
    cells = None
    if kind == "load-cells":
        cells = np.asarray(_require(p, "cells_mm", where), dtype=float)
        if cells.shape != (len(chans), 2):
            raise ProfileError(f"{where}: field 'cells_mm' needs one [x, y] per channel")
    elif len(chans) != 6:
        raise ProfileError(f"{where}: a six-axis plate has 6 channels (Fx Fy Fz Mx My Mz)")
    return Plate(
        name=_require(p, "name", where),
        foot=foot,
        channels=chans,
        center_mm=tuple(_require(p, "center_mm", where) if cells is None else p.get("center_mm", cells.mean(axis=0))),
        size_mm=tuple(_require(p, "size_mm", where) if cells is None else p.get("size_mm", np.ptp(cells, axis=0))),
        type=kind,
        cells_mm=cells,
        origin_depth_mm=float(p.get("origin_depth_mm", 0.0)),
    )


def _insole(data: dict, where: str, n_channels: int) -> InsoleLayout:
    sensors = np.asarray(data["sensors_mm"], dtype=float)
    if sensors.shape != (n_channels, 2):
        raise ProfileError(f"{where}: field 'sensors_mm' needs one [x, y] per channel")
    regions = {name: tuple(int(i) for i in idx) for name, idx in data.get("regions", {}).items()}
    if any(i < 0 or i >= n_channels for idx in regions.values() for i in idx):
        raise ProfileError(f"{where}: field 'regions' names a sensor the insole does not have")
    area = data.get("sensor_area_mm2")
    return InsoleLayout(
        sensors_mm=sensors,
        regions=regions,
        foot_length_mm=float(_require(data, "foot_length_mm", where)),
        foot_width_mm=float(_require(data, "foot_width_mm", where)),
        sensor_area_mm2=None if area is None else np.asarray(area, dtype=float),
    )


def load_profile(profile_id: str) -> DeviceProfile:
    """Load a bundled profile by id (or a path to a ``.toml`` file)."""
    path = Path(profile_id)
    if path.suffix != ".toml":
        path = profiles_dir() / f"{profile_id}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in profiles_dir().glob("*.toml")))
        raise ProfileError(f"no device profile '{profile_id}' (bundled: {known})")
    return parse_profile(path.read_text(encoding="utf-8"), where=str(path))
