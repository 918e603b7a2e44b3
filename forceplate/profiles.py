"""Device profiles: channels, geometry and rates of a device kind, loaded from TOML."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forceplate.errors import ProfileError
from forceplate.resources import profiles_dir

# sample_format -> the dtype counts are kept in: binary DATA payloads are read as such, and
# "ascii" (the line mode of devices/PROTOCOL.md: decimal text) is kept as int32; "float64"
# holds the values of an imported file (forceplate.interop), which are not integer counts.
SAMPLE_FORMATS = {"int32": "<i4", "int16": "<i2", "ascii": "<i4", "float64": "<f8"}


PLATE_TYPES = ("load-cells", "six-axis")
# Plausible ranges of what a profile (or a device's INFO) states; outside them a number is
# a mistake or an attack, and refused naming the field.
RATE_RANGE_HZ = (1.0, 50_000.0)
MAX_CHANNELS = 256
LENGTH_RANGE_MM = (-1e6, 1e6)  # cell and sensor positions (a lab is not a kilometre)
# A plate's centre and size only place and draw it; real C3D files carry garbage CORNERS for
# plates nobody stood on (ezc3d-testFiles/FP_Type1.c3d: 6e26 mm), which import unchanged.
ANY_FINITE = (-np.inf, np.inf)
# A device names its profile and serial (INFO profile=, serial=): plain names that become a
# bundled profile's file name, an HDF5 group and a calibration file name, never paths.
PLAIN_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def plain_name(text: str) -> bool:
    """1 to 64 letters, digits, '-', '_', '.', not starting with '.' or '-' (so never a path)."""
    return isinstance(text, str) and 0 < len(text) <= 64 and set(text) <= PLAIN_NAME_CHARACTERS \
        and text[0] not in ".-"
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
    """A device kind from its TOML profile: channels, wire sample format, rate (Hz) and geometry
    (plates in the lab frame, or an insole layout in the foot frame)."""

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


def toml_data(text: str, where: str, error=ProfileError) -> dict:
    """TOML text as a dict, or one ``error`` line naming ``where`` (a file nested thousands
    deep exhausts the parser's recursion, which is a malformed file too)."""
    if sys.version_info >= (3, 11):  # imported here: reading a trial's header parses no TOML
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise error(f"{where}: not valid TOML (nested too deep)") from None


def number_in(value, low: float, high: float, where: str, name: str, error=ProfileError) -> float:
    """``value`` as a float within [low, high], or one ``error`` line naming the field."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise error(f"{where}: field '{name}' is {value!r}, not a number") from None
    if isinstance(value, bool) or not (low <= number <= high):
        raise error(f"{where}: field '{name}' is {value!r}, outside the plausible range [{low:g}, {high:g}]")
    return number


def _positions(value, shape: tuple, where: str, name: str, bounds: tuple = LENGTH_RANGE_MM) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ProfileError(f"{where}: field '{name}' is not a list of numbers") from None
    if array.shape != shape:
        raise ProfileError(f"{where}: field '{name}' needs {'x'.join(map(str, shape))} numbers")
    low, high = bounds
    if not (np.isfinite(array).all() and (array >= low).all() and (array <= high).all()):
        raise ProfileError(f"{where}: field '{name}' holds a position outside [{low:g}, {high:g}] mm or not finite")
    return array


def parse_profile(text: str, where: str = "profile") -> DeviceProfile:
    """Build a profile from TOML text; ``where`` names the source in error messages.

    Every number is checked against a plausible range (rate, positions, sizes) and plate
    cells must span an area: a profile is as hostile as any other input.
    """
    data = toml_data(text, where)
    channels = _require(data, "channels", where)
    if not isinstance(channels, list) or not 0 < len(channels) <= MAX_CHANNELS or \
            not all(isinstance(c, str) for c in channels):
        raise ProfileError(f"{where}: field 'channels' must be a list of 1 to {MAX_CHANNELS} names")
    channels = tuple(channels)
    fmt = _require(data, "sample_format", where)
    if fmt not in SAMPLE_FORMATS:
        raise ProfileError(f"{where}: field 'sample_format' must be one of {sorted(SAMPLE_FORMATS)}")
    for key in ("id", "kind"):
        if not isinstance(_require(data, key, where), str):
            raise ProfileError(f"{where}: field '{key}' must be text")
    plates = data.get("plates", [])
    if not isinstance(plates, list) or not all(isinstance(p, dict) for p in plates):
        raise ProfileError(f"{where}: field 'plates' must be a list of tables")
    plates = tuple(_plate(p, f"{where}: plates[{i}]", len(channels)) for i, p in enumerate(plates))
    insole = _insole(data, where, len(channels)) if "sensors_mm" in data else None
    return DeviceProfile(
        id=data["id"],
        kind=data["kind"],
        description=str(data.get("description", "")),
        rate_hz=number_in(_require(data, "rate_hz", where), *RATE_RANGE_HZ, where, "rate_hz"),
        sample_format=fmt,
        channels=channels,
        plates=plates,
        insole=insole,
        toml_text=text,
    )


def _plate(p: dict, where: str, n_channels: int) -> Plate:
    try:
        chans = tuple(int(c) for c in _require(p, "channels", where))
    except (TypeError, ValueError, OverflowError):
        raise ProfileError(f"{where}: field 'channels' must be a list of channel numbers") from None
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
        cells = _positions(_require(p, "cells_mm", where), (len(chans), 2), where, "cells_mm")
        # The CoP is a weighted mean of the cells: cells on one line (or one point) cannot
        # place it in two dimensions, and every medial shift would be 0.
        if len(cells) < 3 or np.linalg.matrix_rank(cells - cells.mean(axis=0), tol=1.0) < 2:
            raise ProfileError(f"{where}: field 'cells_mm' places the cells on one line or point; "
                               "they must span the plate")
    elif len(chans) != 6:
        raise ProfileError(f"{where}: a six-axis plate has 6 channels (Fx Fy Fz Mx My Mz)")
    center = _positions(_require(p, "center_mm", where) if cells is None else p.get("center_mm", cells.mean(axis=0)),
                        (2,), where, "center_mm", ANY_FINITE)
    size = _positions(_require(p, "size_mm", where) if cells is None else p.get("size_mm", np.ptp(cells, axis=0)),
                      (2,), where, "size_mm", ANY_FINITE)
    if (size <= 0).any():
        raise ProfileError(f"{where}: field 'size_mm' must be positive")
    return Plate(
        name=str(_require(p, "name", where)),
        foot=foot,
        channels=chans,
        center_mm=tuple(float(x) for x in center),
        size_mm=tuple(float(x) for x in size),
        type=kind,
        cells_mm=cells,
        origin_depth_mm=number_in(p.get("origin_depth_mm", 0.0), *LENGTH_RANGE_MM, where, "origin_depth_mm"),
    )


def _insole(data: dict, where: str, n_channels: int) -> InsoleLayout:
    sensors = _positions(data["sensors_mm"], (n_channels, 2), where, "sensors_mm")
    regions = data.get("regions", {})
    try:
        regions = {str(name): tuple(int(i) for i in idx) for name, idx in regions.items()}
    except (AttributeError, TypeError, ValueError, OverflowError):
        raise ProfileError(f"{where}: field 'regions' must map names to lists of sensor numbers") from None
    if any(i < 0 or i >= n_channels for idx in regions.values() for i in idx):
        raise ProfileError(f"{where}: field 'regions' names a sensor the insole does not have")
    area = data.get("sensor_area_mm2")
    if area is not None:
        area = _positions(area, np.shape(area), where, "sensor_area_mm2")
        if area.shape not in ((), (n_channels,)) or (area <= 0).any():
            raise ProfileError(f"{where}: field 'sensor_area_mm2' needs one positive area per sensor")
    return InsoleLayout(
        sensors_mm=sensors,
        regions=regions,
        foot_length_mm=number_in(_require(data, "foot_length_mm", where), 1.0, 1000.0, where, "foot_length_mm"),
        foot_width_mm=number_in(_require(data, "foot_width_mm", where), 1.0, 1000.0, where, "foot_width_mm"),
        sensor_area_mm2=area,
    )


def device_profile(profile_id: str, source: str) -> DeviceProfile:
    """The bundled profile a device names in its INFO: an id, never a path on this host."""
    if not plain_name(profile_id):
        raise ProfileError(f"{source}: the device names its profile {profile_id[:80]!r}, not a bundled profile id")
    return load_profile(profile_id)


def load_profile(profile_id: str) -> DeviceProfile:
    """Load a bundled profile by id (or a path to a ``.toml`` file)."""
    path = Path(profile_id)
    if path.suffix != ".toml":
        path = profiles_dir() / f"{profile_id}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in profiles_dir().glob("*.toml")))
        raise ProfileError(f"no device profile '{profile_id}' (bundled: {known})")
    return parse_profile(path.read_text(encoding="utf-8"), where=str(path))
