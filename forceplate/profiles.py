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

SAMPLE_FORMATS = {"int32": "<i4", "int16": "<i2"}


@dataclass(frozen=True)
class Plate:
    """A 4-load-cell plate under one foot; positions in the lab frame (mm)."""

    name: str
    foot: str  # "left" or "right"
    channels: tuple[int, ...]
    cells_mm: np.ndarray  # (n_cells, 2) x, y
    center_mm: tuple[float, float]
    size_mm: tuple[float, float]


@dataclass(frozen=True)
class DeviceProfile:
    id: str
    kind: str
    description: str
    rate_hz: float
    sample_format: str
    channels: tuple[str, ...]
    plates: tuple[Plate, ...] = ()
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
    plates = []
    for i, p in enumerate(data.get("plates", [])):
        pw = f"{where}: plates[{i}]"
        chans = tuple(int(c) for c in _require(p, "channels", pw))
        cells = np.asarray(_require(p, "cells_mm", pw), dtype=float)
        if cells.shape != (len(chans), 2):
            raise ProfileError(f"{pw}: field 'cells_mm' needs one [x, y] per channel")
        if any(c < 0 or c >= len(channels) for c in chans):
            raise ProfileError(f"{pw}: field 'channels' names a channel the device does not have")
        foot = _require(p, "foot", pw)
        if foot not in ("left", "right"):
            raise ProfileError(f"{pw}: field 'foot' must be 'left' or 'right'")
        plates.append(
            Plate(
                name=_require(p, "name", pw),
                foot=foot,
                channels=chans,
                cells_mm=cells,
                center_mm=tuple(p.get("center_mm", cells.mean(axis=0))),
                size_mm=tuple(p.get("size_mm", np.ptp(cells, axis=0))),
            )
        )
    return DeviceProfile(
        id=_require(data, "id", where),
        kind=_require(data, "kind", where),
        description=data.get("description", ""),
        rate_hz=float(_require(data, "rate_hz", where)),
        sample_format=fmt,
        channels=channels,
        plates=tuple(plates),
        toml_text=text,
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
