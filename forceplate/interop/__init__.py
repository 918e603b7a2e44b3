"""Files and streams of the lab ecosystem in and out: C3D, vendor insole exports, CSV, LSL.

Importers turn a file into a complete trial (``forceplate.storage.writer.write_trial``):
the file's values are the stored "counts" (float64, units in attributes) and a calibration
record written at import turns them into N and N*m, so an imported trial is read and
analysed like a recorded one. Optional dependencies (``ezc3d``, ``pylsl``) are imported
only when used; without them the error says which extra to install.
"""

from __future__ import annotations

import json

from forceplate.errors import FileFormatError


def require(module: str, extra: str = "interop"):
    """Import an optional dependency, or raise a one-line error naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise FileFormatError(f"{module} is not installed: pip install 'forceplate[{extra}]'") from None


def toml_value(value) -> str:
    """A TOML literal for a string, number, bool or (nested) list: JSON's syntax is TOML's here."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(float(value))
    return json.dumps(value, ensure_ascii=False)


def toml_table(values: dict) -> str:
    return "".join(f"{key} = {toml_value(v)}\n" for key, v in values.items())


def calibration_toml(serial: str, profile_id: str, scales: list[float], matrices: list[tuple[list[int], list]] = (),
                     method: str = "") -> str:
    """A calibration record with zero offsets: ``physical = scale * value`` per channel, or a
    matrix over a block of channels (``physical = matrix @ value``)."""
    text = toml_table({"serial": serial, "profile": profile_id, "offsets_counts": [0.0] * len(scales),
                       "newtons_per_count": [float(s) for s in scales], "method": method})
    for channels, values in matrices:
        text += "\n[[matrices]]\n" + toml_table({"channels": list(channels),
                                                 "values": [[float(v) for v in row] for row in values]})
    return text
