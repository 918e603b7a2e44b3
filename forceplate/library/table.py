"""Tables of a trial library: one row per rep and side, one row per trial, as Parquet or CSV.

Rows are built from whatever keys the analysis results have (``Analysis.as_dict()`` or the
stored /processing), so a new per-rep or per-side result becomes a new column without a
change here. Units are in the column names, as in the analysis keys (``_s``, ``_m``,
``_n``, ``_mm``, ``_pct``); ``rep``, ``partial``, ``flag`` and ``phase`` have none.
"""

from __future__ import annotations

import csv
from pathlib import Path

from forceplate.errors import ForceplateError
from forceplate.profiles import SIDES

IDENTITY_COLUMNS = ("file", "subject", "date", "created", "exercise", "load_kg")
ERROR_COLUMN = "error"
SIDE_COLLISION_PREFIX = "foot_"  # a per-side key that is also a per-rep key gets this prefix
TABLE_FORMATS = (".parquet", ".csv")
# read back from CSV as text whatever they look like: a subject "007" is not the number 7,
# a date stays as written, algorithm version "0.2" is not a number
TEXT_COLUMNS = ("file", "subject", "date", "created", "exercise", "side", "flag", "phase", "algorithm_version",
                ERROR_COLUMN)


def trial_identity(file: str, attrs: dict | None) -> dict:
    """Which trial: file, subject, session date (YYYY-MM-DD), creation time, exercise, load (kg)."""
    attrs = attrs or {}
    created = str(attrs.get("created", "")) or None
    load = attrs.get("load_kg")
    return {"file": file, "subject": attrs.get("subject") or None, "date": created[:10] if created else None,
            "created": created, "exercise": attrs.get("exercise") or None,
            "load_kg": None if load is None else float(load)}


def flatten(value, prefix: str = "", out: dict | None = None) -> dict:
    """Nested dicts and lists as one level: ``{"a": {"b": 1}, "c": [2, 3]}`` -> ``a_b``, ``c_0``, ``c_1``."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}_{key}" if prefix else str(key), out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            flatten(item, f"{prefix}_{i}", out)
    else:
        out[prefix] = value
    return out


def rep_rows(identity: dict, results: dict) -> list[dict]:
    """One row per rep and side: the trial's identity, ``rep`` (its index), ``side``, the
    rep's own results (depth, duration, asymmetry, ...) and that side's (shift, flag, ...)."""
    rows = []
    for rep in results["reps"]:
        per_rep = flatten({k: v for k, v in rep.items() if k != "index" and not (k in SIDES and isinstance(v, dict))})
        for side in SIDES:
            row = {**identity, "rep": rep.get("index"), "side": side, **per_rep}
            for key, value in flatten(rep.get(side) or {}).items():
                row[SIDE_COLLISION_PREFIX + key if key in row else key] = value
            row[ERROR_COLUMN] = None
            rows.append(row)
    return rows


def trial_row(identity: dict, attrs: dict, results: dict) -> dict:
    """One row per trial: identity, whether the recording completed, and the flattened
    summary (reps, flagged per side, baseline, thresholds, algorithm version, ...)."""
    return {**identity, "complete": bool(attrs.get("complete", False)), **flatten(results["summary"]),
            ERROR_COLUMN: None}


def failure_row(identity: dict, error: str) -> dict:
    return {**identity, ERROR_COLUMN: error}


def columns_of(rows: list[dict]) -> list[str]:
    """Every column any row has, in the order they first appear (identity first, error last)."""
    seen = dict.fromkeys(IDENTITY_COLUMNS)
    for row in rows:
        seen.update(dict.fromkeys(row))
    seen.pop(ERROR_COLUMN, None)
    return [*seen, ERROR_COLUMN]


def check_table_path(path: str | Path) -> Path:
    """The output's format from its extension, and a folder to write it in; else a one-line error."""
    path = Path(path)
    if path.suffix.lower() not in TABLE_FORMATS:
        raise ForceplateError(f"{path}: a table is written as {' or '.join(TABLE_FORMATS)} (by the extension)")
    if not path.parent.is_dir():
        raise ForceplateError(f"{path}: no such folder {path.parent}")
    return path


def write_table(rows: list[dict], path: str | Path) -> Path:
    """``rows`` as Parquet (pyarrow) or CSV by ``path``'s extension; a cell a row lacks is
    null (Parquet) or empty (CSV)."""
    path = check_table_path(path)
    columns = columns_of(rows)
    if path.suffix.lower() == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, columns, restval="")
            writer.writeheader()
            writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({column: _arrow_column([row.get(column) for row in rows]) for column in columns}), path)
    return path


def _arrow_column(values: list):
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds (a number in one trial, text in another)
        return pa.array([None if v is None else str(v) for v in values])


def read_table(path: str | Path) -> list[dict]:
    """Rows of a table written by :func:`write_table` (Parquet or CSV)."""
    path = Path(path)
    if not path.is_file():
        raise ForceplateError(f"{path}: no such file")
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    try:
        if path.suffix.lower() == ".csv":
            # only empty cells are missing: "NA" could be a subject's id
            options = pcsv.ConvertOptions(null_values=[""], strings_can_be_null=True,
                                          column_types={column: pa.string() for column in TEXT_COLUMNS})
            table = pcsv.read_csv(path, convert_options=options)
        else:
            table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ForceplateError(f"{path}: not a readable table ({str(exc).splitlines()[0]})") from None
    if "file" not in table.column_names:
        raise ForceplateError(f"{path}: not a table made by 'forceplate batch' (no 'file' column)")
    return table.to_pylist()
