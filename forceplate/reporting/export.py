"""CSV export of a trial: raw counts per device, forces and CoP per foot, the rep table,
the events (marks, reps, flags).

Every header cell is ``name [unit]``. Written in blocks so a long trial can report progress.
A missing value (CoP of a foot off its plate, a shift never measured) is an empty cell, never
"nan"; a value that rounds to zero is written as 0, never "-0.000".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forceplate.errors import TrialError
from forceplate.events import EVENT_VALUE_UNITS
from forceplate.processing.analysis import SIDES, Analysis
from forceplate.reporting.exercise_table import rows, unit_of
from forceplate.storage.reader import Trial, stored_text
from forceplate.storage.schema import flat_rep, rep_row, rep_table_units

BLOCK_ROWS = 50_000
PHASE_KEYS = ("onset_phase", "peak_phase")  # per side: the live cue's phase and the phase at the peak


def _text_column(values: np.ndarray, fmt: str) -> np.ndarray:
    """``values`` as CSV cells: NaN -> "", -0.0 -> 0 (rounded to the format first)."""
    if fmt == "%d":
        return np.char.mod(fmt, values)
    decimals = int(fmt[2:-1]) if fmt.endswith("f") else None
    shown = np.round(values, decimals) + 0.0 if decimals is not None else values + 0.0
    cells = np.char.mod(fmt, shown)
    return np.where(np.isfinite(values), cells, "")


def _write_table(path: Path, header: list[str], columns: list[np.ndarray], formats: list[str], progress) -> None:
    n = len(columns[0])
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(header) + "\n")
        for start in range(0, n, BLOCK_ROWS):
            cells = [_text_column(np.asarray(c[start:start + BLOCK_ROWS]), fmt) for c, fmt in zip(columns, formats, strict=True)]
            if cells and len(cells[0]):
                f.write("\n".join(",".join(row) for row in zip(*cells, strict=True)) + "\n")
            progress(path.name, min(start + BLOCK_ROWS, n), n)


def _csv_cell(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, float):
        return repr(value + 0.0)  # no -0.0
    text = str(value)
    return f'"{text}"' if any(c in text for c in ',"\n') else text


def _rep_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """The rep table's header and rows, with each side's onset and peak phase where the
    stored table lacks them (results before they existed give an empty onset phase)."""
    units = rep_table_units()
    extra = [(side, key) for side in SIDES for key in PHASE_KEYS if f"{side}_{key}" not in units]
    header = [f"{column} [{unit}]" for column, unit in units.items()] + [f"{side}_{key} [phase]" for side, key in extra]
    rows = []
    for rep in results["reps"]:
        phases = {"onset_phase": lambda s: s.get("onset_phase"), "peak_phase": lambda s: s.get("peak_phase", s.get("phase"))}
        cells = list(rep_row(rep)) + [phases[key](rep[side]) for side, key in extra]
        rows.append([_csv_cell(c) for c in cells])
    return header, rows


def _exercise_rep_rows(exercise, results: dict) -> tuple[list[str], list[list[str]]]:
    """A non-squat exercise's reps: every scalar under its dotted path (phases by name), with
    units; quiet standing's sway rows (both feet, each foot, eyes closed), named in ``row``."""
    if exercise.kind == "balance":
        flat = [{"row": label, **flat_rep(values)} for label, values in rows(exercise, results)]
    else:
        flat = [flat_rep(r) for r in results["reps"]]
    keys = list(dict.fromkeys(k for r in flat for k in r))
    header = [f"{key} [{unit_of(exercise, key) or '1'}]" if not any(isinstance(r.get(key), str) for r in flat)
              else key for key in keys]
    return header, [[_csv_cell(r.get(key)) for key in keys] for r in flat]


def _event_rows(events: np.ndarray) -> list[list[str]]:
    text = stored_text
    rows = []
    for e in events:
        kind = text(e["kind"])
        value = float(e["value"])
        rows.append([_csv_cell(round(float(e["t_s"]), 3)), kind, str(int(e["rep"])) if e["rep"] else "",
                     text(e["side"]), text(e["severity"]), text(e["phase"]),
                     _csv_cell(round(value, 2)) if np.isfinite(value) else "",
                     EVENT_VALUE_UNITS.get(kind, "") if np.isfinite(value) else "", _csv_cell(text(e["text"]))])
    return rows


def export_csv(trial: Trial, analysis: Analysis, results: dict, out_dir: str | Path,
               progress=lambda name, done, total: None, exercise=None) -> list[Path]:
    """Write the CSV files into ``out_dir`` (created; existing files are not overwritten).
    ``exercise`` (other than the squat): ``results`` are its reps, ``analysis`` has no medial shift."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [f"{name}_raw.csv" for name in trial.devices] + ["feet.csv", "reps.csv", "events.csv"]
    clash = [n for n in names if (out_dir / n).exists()]
    if clash:
        raise TrialError(f"{out_dir / clash[0]}: file exists; choose another folder")
    written = []
    for name, d in trial.devices.items():
        path = out_dir / f"{name}_raw.csv"
        header = ["seq [1]", "t_device [s]", "t_host [s]", *(f"{c} [counts]" for c in d.profile.channels)]
        columns = [d.seq, d.t_device_s, d.t_host_s, *d.counts.T]
        # imported files store their values as float64 (N/cm², volts), NaN where missing
        count_format = "%d" if np.issubdtype(d.counts.dtype, np.integer) else "%.9g"
        _write_table(path, header, columns, ["%d", "%.6f", "%.6f", *[count_format] * d.profile.n_channels], progress)
        written.append(path)
    path = out_dir / "feet.csv"
    header, columns = ["t [s]"], [analysis.t]
    for side in (side for side in SIDES if side in analysis.fz):  # a lone plate has one foot
        header += [f"fz_{side} [N]", f"cop_{side}_x [mm]", f"cop_{side}_y [mm]"]
        columns += [analysis.fz[side], *analysis.cop[side].T]
        if exercise is None:
            header.append(f"medial_shift_{side} [mm]")
            columns.append(analysis.shift[side])
    _write_table(path, header, columns, ["%.4f"] + ["%.3f"] * (len(columns) - 1), progress)
    written.append(path)
    header, rows = _rep_rows(results) if exercise is None else _exercise_rep_rows(exercise, results)
    written.append(_write_rows(out_dir / "reps.csv", header, rows))
    header = ["t [s]", "kind", "rep [1]", "side", "severity", "phase", "value", "value unit", "text"]
    written.append(_write_rows(out_dir / "events.csv", header, _event_rows(trial.events)))
    return written


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(header) + "\n")
        f.writelines(",".join(row) + "\n" for row in rows)
    return path
