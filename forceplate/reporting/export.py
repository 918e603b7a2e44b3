"""CSV export of a trial: raw counts per device, forces and CoP per foot, the rep table.

Every header cell is ``name [unit]``. Written in blocks so a long trial can report progress.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forceplate.errors import TrialError
from forceplate.processing.analysis import SIDES, Analysis
from forceplate.storage.reader import Trial
from forceplate.storage.schema import rep_row, rep_table_units

BLOCK_ROWS = 50_000


def _write_table(path: Path, header: list[str], columns: list[np.ndarray], formats: list[str], progress) -> None:
    n = len(columns[0])
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(header) + "\n")
        for start in range(0, n, BLOCK_ROWS):
            block = np.column_stack([c[start:start + BLOCK_ROWS] for c in columns]).astype(object)
            np.savetxt(f, block, fmt=formats, delimiter=",")
            progress(path.name, min(start + BLOCK_ROWS, n), n)


def export_csv(trial: Trial, analysis: Analysis, results: dict, out_dir: str | Path,
               progress=lambda name, done, total: None) -> list[Path]:
    """Write the CSV files into ``out_dir`` (created; existing files are not overwritten)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [f"{name}_raw.csv" for name in trial.devices] + ["feet.csv", "reps.csv"]
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
        header += [f"fz_{side} [N]", f"cop_{side}_x [mm]", f"cop_{side}_y [mm]", f"medial_shift_{side} [mm]"]
        columns += [analysis.fz[side], *analysis.cop[side].T, analysis.shift[side]]
    _write_table(path, header, columns, ["%.4f"] + ["%.3f"] * (len(columns) - 1), progress)
    written.append(path)
    path = out_dir / "reps.csv"
    header = [f"{column} [{unit}]" for column, unit in rep_table_units().items()]
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(header) + "\n")
        for rep in results["reps"]:
            f.write(",".join(str(cell) for cell in rep_row(rep)) + "\n")
    written.append(path)
    return written
