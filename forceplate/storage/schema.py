"""The trial file schema (docs/hdf5-schema.md is the reference)."""

# forceplate.profiles.SIDES, restated (a test checks it): reading a trial's header builds no profile classes
SIDES = ("left", "right")

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


# Exercises other than the squat store their reps as one flat table too: each scalar of a
# rep under its dotted path (``symmetry.left_share_pct``; phases as ``phases.<name>.start_s``),
# numbers as float64 (NaN for none), words as text. /processing says ``rep_table = "flat"``.
FLAT_REP_TABLE = "flat"


def flat_rep(rep: dict, prefix: str = "") -> dict:
    """A rep's scalars by dotted path; its ``phases`` list keyed by each phase's name."""
    out = {}
    for key, value in rep.items():
        if key == "phases" and isinstance(value, list):
            value = {p["name"]: {k: v for k, v in p.items() if k != "name"} for p in value}
        if isinstance(value, dict):
            out.update(flat_rep(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def nested_rep(flat: dict) -> dict:
    """:func:`flat_rep` undone (phases back as a list of ``{name, start_s, end_s}``)."""
    rep: dict = {}
    for path, value in flat.items():
        *parents, last = path.split(".")
        node = rep
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    if isinstance(rep.get("phases"), dict):
        rep["phases"] = [{"name": name, **times} for name, times in rep["phases"].items()]
    return rep
