"""The one rounding rule of every face (terminal, window, HTML, compare): decimals by unit,
"-" for a missing or non-finite value, never "-0.0". The CSV export keeps the values as
analysed (empty cells for missing ones, no "-0")."""

from __future__ import annotations

import math

DECIMALS = {"mm": 1, "s": 2, "m": 2, "%": 1, "N": 1, "kg": 1}


def number(value, decimals: int) -> str:
    """``value`` to ``decimals`` places; "-" for a missing or non-finite value; no "-0.0"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{round(float(value), decimals) + 0.0:.{decimals}f}"
