"""The table of a non-squat exercise, the same in every face: the exercise's own columns
(:attr:`Exercise.columns`), each with its unit and its one format (the column's ``fmt``:
the terminal table, the HTML report, compare and the CSV export all round with it).

Quiet standing has no reps: its rows are the sway measures of both feet, each foot and the
eyes-closed trial. Every other exercise has one row per rep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A field's unit from its key's ending, for keys the exercise's field table names only by
# their last part (``symmetry.left_share_pct``, ``left.cop_path_mm``); longest ending first.
UNIT_BY_ENDING = (("impulse_n_s", "N*s"), ("_n_s", "N/s"), ("_mm2", "mm^2"), ("_mm_s", "mm/s"), ("_m_s", "m/s"), ("_pct", "%"),
                  ("_mm", "mm"), ("_bw", "x body weight"), ("_kg", "kg"), ("_s", "s"), ("_m", "m"), ("_n", "N"))


# The instants among the exercises' per-rep fields (trial times); every other field ending in
# _s is a duration. A set's mean instant means nothing, so compare leaves them out.
MOMENT_KEYS = ("start_s", "takeoff_s", "landing_s", "touchdown_s", "peak_s", "onset_s", "seat_off_s",
               "standing_s", "end_s")

# Exercises with no reps, whose rows are summary measures: kind -> (summary key of both feet's
# measures, of each foot's). Quiet standing's sway; the force summary of a trial with no reps.
SUMMARY_KINDS = {"balance": ("posturography", "posturography_by_foot"), "forces": ("forces", "forces_by_foot")}


@dataclass(frozen=True)
class TableColumn:
    """One column of an exercise's table with its unit, as every face shows it."""

    header: str  # as the terminal table heads it
    key: str  # a dotted path into a rep (or a sway measure)
    unit: str  # "" for a count or a word
    fmt: str  # the column's format spec: ".3f", ".0f", "d", "s"

    def cell(self, row: dict) -> str:
        """The value of ``row`` at this column, formatted; "-" when missing or not finite, never "-0"."""
        return formatted(value_at(row, self.key), self.fmt)


def value_at(row: dict, key: str):
    value = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def formatted(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if fmt.endswith("f") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(round(float(value), int(fmt[1:-1] or 0)) + 0.0, fmt)
    if fmt == "d" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(int(value), "d")
    return str(value)


def unit_of(exercise, key: str) -> str:
    """The unit of ``key`` in the exercise's field table (by its whole or last part), else from its ending."""
    units = {f.name: f.unit for f in exercise.fields}
    last = key.split(".")[-1]
    for name in (key, last):
        if name in units and name not in ("index",):
            return "" if units[name] in ("-", "ratio") else units[name]
    return next((unit for ending, unit in UNIT_BY_ENDING if last.endswith(ending)), "")


def columns(exercise) -> list[TableColumn]:
    return [TableColumn(c.header, c.key, unit_of(exercise, c.key), c.fmt) for c in exercise.columns]


def numeric_columns(exercise) -> list[TableColumn]:
    """The columns that hold a measured number (not the rep number, not a word, not an instant)."""
    return [c for c in columns(exercise) if c.fmt.endswith("f") and c.key not in MOMENT_KEYS]


def rows(exercise, results: dict) -> list[tuple[str, dict]]:
    """(label, row) of the exercise's table: each rep, or quiet standing's sway rows."""
    s = results["summary"]
    if exercise.kind not in SUMMARY_KINDS:
        return [(str(r["index"]), r) for r in results["reps"]]
    combined, by_foot = SUMMARY_KINDS[exercise.kind]
    out = [("both feet", s.get(combined))]
    out += [(f"{foot} foot", v) for foot, v in (s.get(by_foot) or {}).items()]
    if s.get("posturography_eyes_closed"):
        out += [("eyes closed", s["posturography_eyes_closed"]), ("Romberg EC/EO", s.get("romberg_quotient"))]
    return [(label, row or {}) for label, row in out]


def set_values(exercise, results: dict) -> dict:
    """One trial summarised: per numeric column its mean over the reps (quiet standing: both
    feet's measures), keyed ``<key>`` with the column's unit; ``reps`` the count."""
    if exercise.kind in SUMMARY_KINDS:
        row = rows(exercise, results)[0][1]
        return {"reps": 0, **{c.key: value_at(row, c.key) for c in numeric_columns(exercise)}}
    out = {"reps": len(results["reps"])}
    for c in numeric_columns(exercise):
        finite = [float(v) for r in results["reps"] for v in [value_at(r, c.key)]
                  if isinstance(v, (int, float)) and math.isfinite(v)]
        out[c.key] = round(sum(finite) / len(finite), 6) if finite else None
    return out
