"""The trial file schema (docs/hdf5-schema.md is the reference)."""

from forceplate.profiles import SIDES

SCHEMA = "forceplate-trial"
# 2 added /processing (stored analysis results) and the recovered/recovery attributes.
SCHEMA_VERSION = 2
# Reader accepts these versions; a newer file gets a clear "upgrade forceplate" error.
# A version-1 file is a version-2 file without /processing.
READABLE_VERSIONS = (1, 2)

EVENT_FIELDS = ("t_s", "kind", "rep", "side", "severity", "phase", "value", "text")

# /processing/reps: one row per rep; the unit of each column is in its name and in the
# dataset's `unit` attribute (JSON, column -> unit).
REP_COLUMNS = {
    "index": "1", "start_s": "s", "bottom_s": "s", "end_s": "s", "duration_s": "s", "depth_m": "m",
    "partial": "1", "peak_force_n": "N", "asymmetry_pct": "%",
}
SIDE_COLUMNS = {"medial_shift_mm": "mm", "medial_shift_pct": "%", "flag": "grade", "onset_phase": "phase",
                "peak_phase": "phase", "phase": "phase", "onset_s": "s"}


def rep_table_units() -> dict[str, str]:
    """Column -> unit of /processing/reps, in column order (per-side columns are ``<side>_<name>``)."""
    return {**REP_COLUMNS, **{f"{side}_{name}": unit for side in SIDES for name, unit in SIDE_COLUMNS.items()}}


def rep_row(rep: dict) -> tuple:
    """A rep of ``Analysis.as_dict()`` as one row of the table: None -> "" (text) or NaN (numbers)."""
    def cell(value, unit):
        if unit in ("grade", "phase"):
            return value or ""
        return float("nan") if value is None else value

    return (tuple(cell(rep[name], unit) for name, unit in REP_COLUMNS.items())
            + tuple(cell(rep[side].get(name), unit) for side in SIDES for name, unit in SIDE_COLUMNS.items()))
