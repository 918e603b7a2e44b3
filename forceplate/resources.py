"""Where bundled device profiles and calibration records live.

In a wheel they are package data under ``forceplate/_bundled``; in a source checkout they
are the top-level ``devices/`` and ``calibration/`` folders.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE_DIR / "_bundled"
_SOURCE_ROOT = _PACKAGE_DIR.parent


def profiles_dir() -> Path:
    """The folder of bundled device profiles (``*.toml``)."""
    if (_BUNDLED / "profiles").is_dir():
        return _BUNDLED / "profiles"
    return _SOURCE_ROOT / "devices" / "profiles"


def bundled_calibration_dir() -> Path:
    """The folder of calibration records shipped with the software (the simulator's)."""
    if (_BUNDLED / "calibration").is_dir():
        return _BUNDLED / "calibration"
    return _SOURCE_ROOT / "calibration"


def user_calibration_dir() -> Path:
    """A lab's own calibration records: ``$FORCEPLATE_HOME/calibration`` or the XDG data dir."""
    home = os.environ.get("FORCEPLATE_HOME")
    if home:
        return Path(home) / "calibration"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "forceplate" / "calibration"
