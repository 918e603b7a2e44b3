"""OpenSim ground-reaction files (``.mot``, ``.sto``): OpenSim, OpenCap and AddBiomechanics
keep measured forces this way.

Layout: header lines (``name``, ``datarows 4600`` or ``nRows=4600``, ...) up to a line
``endheader``, maybe blank lines, a line of column names, then one row per sample; cells
separated by tabs or spaces (``.mot``/``.sto``) or by commas (the squat-jump CSV variant,
:mod:`forceplate.interop.squat_jump_csv`). Columns: ``time`` (s) and per plate
``[prefix]ground_force[k]_v[xyz]`` (N), ``..._p[xyz]`` (the point of application, m) and
``[prefix]ground_torque[k]_[xyz]`` (the moment at that point, N*m; the free moment about the
vertical axis). The plate's label is ``prefix`` + ``k``: ``''``, ``1_``, ``R_``, ``L_``, ``3_``, ``1``.

Axes: OpenSim's ground frame is x forward, y up, z to the subject's right; forceplate's
trial frame is x to the subject's right, y forward, z up. So trial (x, y, z) = OpenSim
(z, x, y), a proper rotation (:data:`OPENSIM_TO_TRIAL`), applied to forces and moments.

Stored values per plate: the file's three force columns as they are (N, OpenSim axes) and
the moment about the plate's reference point c (N*m, OpenSim axes), M = (p - c) x F + T,
computed from the file's point p and torque T. The file gives no plate outline: c is the
middle of the loaded CoP path at the median height of the loaded points, and the plate's
size is that path's extent plus :data:`MARGIN_MM` on each side. The calibration record
rotates (F, M) into trial axes; then forceplate's six-axis formula (x = -My/Fz, y = Mx/Fz
from c) gives back the file's point to float rounding wherever the torque is the free
moment alone and the point lies at c's height (true of every real file in shared/data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forceplate.errors import FileFormatError
from forceplate.interop import ImportedPlate, on_grid, plate_device
from forceplate.processing.forces import COP_MIN_FORCE_N
from forceplate.processing.median import median

# trial = OPENSIM_TO_TRIAL @ opensim, for positions, forces and moments
OPENSIM_TO_TRIAL = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
MARGIN_MM = 50.0
MAX_FILE_BYTES = 512 * 2**20  # about 10 minutes of three plates at 2 kHz, as text
MAX_HEADER_LINES = 1000
ROWS_PER_BLOCK = 10000
# A time column must put every row within this share of a sample of the uniform grid.
GRID_TOLERANCE = 0.25
FORCE_COLUMN = re.compile(r"^(?P<label>.*?)ground_force(?P<number>\d*)_(?P<kind>[vp])(?P<axis>[xyz])$")
TORQUE_COLUMN = re.compile(r"^(?P<label>.*?)ground_torque(?P<number>\d*)_(?P<axis>[xyz])$")
SIDE_PREFIX = re.compile(r"^(?:(?P<right>r|right)|(?P<left>l|left))_", re.IGNORECASE)
ROW_COUNT_KEYS = ("datarows", "nrows")
COLUMN_COUNT_KEYS = ("datacolumns", "ncolumns")


@dataclass(frozen=True)
class OpenSimTable:
    """An OpenSim table (.mot, .sto) as read: header, column names, numbers."""

    header: dict[str, str]  # key (lower case) -> value, from "key=value" or "key value" lines
    names: list[str]
    data: np.ndarray  # (rows, columns) as in the file


@dataclass(frozen=True)
class OpenSimPlate:
    """One plate's ground reaction from an OpenSim table, in OpenSim's axes: force (N), point (m),
    torque (N m)."""

    label: str  # column prefix (+ number): '', '1_', 'R_', '3_', '1'
    number: int  # 1-based, in the order of the file's columns
    force_n: np.ndarray  # (n, 3) OpenSim axes
    point_m: np.ndarray  # (n, 3) OpenSim axes
    torque_nm: np.ndarray  # (n, 3) OpenSim axes, at the point

    @property
    def loaded(self) -> np.ndarray:
        """(n,) rows whose vertical force is large enough for a CoP."""
        return self.force_n[:, 1] >= COP_MIN_FORCE_N

    @property
    def side(self) -> str | None:
        """"left"/"right" when the column prefix says so (R_, L_, right_, left_)."""
        match = SIDE_PREFIX.match(self.label)
        return None if match is None else ("right" if match["right"] else "left")

    @property
    def name(self) -> str:
        plain = f"FP{self.number}"
        return plain if self.label in ("", str(self.number), plain) else f"{plain} ({self.label})"

    @property
    def lateral_m(self) -> float:
        """Median OpenSim z (toward the subject's right) of the loaded CoP; NaN when unknown."""
        z = self.point_m[self.loaded, 2]
        return float(median(z)) if np.isfinite(z).any() else float("nan")


def read_table(path: str | Path, delimiter: str | None = None) -> OpenSimTable:
    """Header, column names and numbers of an OpenSim storage file; ``delimiter`` None means
    tabs or spaces, or commas when the ``endheader`` line has them (a storage file written as
    CSV). Raises FileFormatError naming the file and the problem. The rows are converted
    block by block as they are read, so memory holds numbers, not text."""
    path = Path(path)
    lines = _numbered_lines(path)
    header, header_lines = {}, {}
    for number, line in lines:
        if line.replace(",", " ").split()[:1] == ["endheader"]:
            delimiter = delimiter or ("," if "," in line else None)
            break
        if number > MAX_HEADER_LINES:
            raise FileFormatError(f"{path}: no 'endheader' line in the first {MAX_HEADER_LINES} lines "
                                  "(not an OpenSim storage file?)")
        text = line.strip().strip(",").strip()  # "nRows=16350,,,," (CSV) or "datarows 4600"
        key, sep, value = text.partition("=")
        if not sep:
            key, _, value = text.partition(" ") if " " in text else text.partition("\t")
        header[key.strip().lower()] = value.strip()
        header_lines[key.strip().lower()] = text
    else:
        raise FileFormatError(f"{path}: no 'endheader' line (not an OpenSim storage file?)")
    body = ((number, line) for number, line in lines if line.strip(" \t,\r\n"))
    names = _cells(next(body, (0, ""))[1], delimiter)
    if not names:
        raise FileFormatError(f"{path}: no column names after 'endheader'")
    if len(set(names)) != len(names):
        raise FileFormatError(f"{path}: a column name appears twice")
    blocks, block = [], []
    for number, line in body:
        block.append((number, _cells(line, delimiter)))
        if len(block) == ROWS_PER_BLOCK:
            blocks.append(_numbers(path, block, len(names)))
            block = []
    if block:
        blocks.append(_numbers(path, block, len(names)))
    if not blocks:
        raise FileFormatError(f"{path}: no data rows after the column names")
    data = np.concatenate(blocks)
    for keys, found, what in ((ROW_COUNT_KEYS, len(data), "rows"), (COLUMN_COUNT_KEYS, len(names), "columns")):
        key = next((k for k in keys if k in header), None)
        if key is not None and header[key].isdigit() and int(header[key]) != found:
            raise FileFormatError(f"{path}: header line '{header_lines[key]}' but the file has {found} {what} (truncated?)")
    return OpenSimTable(header, names, data)


def _numbered_lines(path: Path):
    """(1-based line number, line) of a UTF-8 text file (BOM or not), or a one-line error."""
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise FileFormatError(f"{path}: empty file")
    if size > MAX_FILE_BYTES:
        raise FileFormatError(f"{path}: {size / 2**20:.0f} MB, more than the {MAX_FILE_BYTES // 2**20} MB "
                              "an OpenSim force file of a trial plausibly has")
    try:
        with path.open(encoding="utf-8-sig") as f:
            yield from enumerate(f, start=1)
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: cannot read as UTF-8 text ({exc})") from None


def _cells(line: str, delimiter: str | None) -> list[str]:
    """A line's cells; trailing empty cells (padding) dropped."""
    cells = [c.strip() for c in line.split(delimiter)]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _numbers(path: Path, rows: list[tuple[int, list[str]]], width: int) -> np.ndarray:
    """A block of rows (line number, cells) as floats; a row of another width or a cell that
    is not a number is a one-line error naming its line."""
    for line_number, cells in rows:
        if len(cells) != width:
            raise FileFormatError(f"{path}: line {line_number}: {len(cells)} cells, the column names are {width}")
    try:
        return np.array([cells for _, cells in rows], dtype=np.float64)
    except ValueError:  # find the cell for the message
        for line_number, cells in rows:
            for cell in cells:
                try:
                    float(cell)
                except ValueError:
                    raise FileFormatError(f"{path}: line {line_number}: {cell!r} is not a number") from None
        raise


def read_plates(path: str | Path, table: OpenSimTable) -> list[OpenSimPlate]:
    """Every plate the column names describe; raises FileFormatError for a plate with a
    column missing, or none at all."""
    path = Path(path)
    columns: dict[str, dict[str, int]] = {}
    for j, name in enumerate(table.names):
        match = FORCE_COLUMN.match(name) or TORQUE_COLUMN.match(name)
        if match:
            kind = match.groupdict().get("kind") or "t"
            columns.setdefault(match["label"] + match["number"], {})[kind + match["axis"]] = j
    if not columns:
        raise FileFormatError(f"{path}: no ground_force_v[xyz] columns (not a ground-reaction file?)")
    missing = [f"{label!r}: {', '.join(sorted(set(a + b for a in 'vpt' for b in 'xyz') - set(found)))}"
               for label, found in columns.items() if len(found) != 9]
    if missing:
        raise FileFormatError(f"{path}: plate column(s) missing (v = force, p = point, t = torque): "
                              + "; ".join(missing))

    def block(found: dict[str, int], kind: str) -> np.ndarray:
        return table.data[:, [found[kind + axis] for axis in "xyz"]]

    return [OpenSimPlate(label, k + 1, block(found, "v"), block(found, "p"), block(found, "t"))
            for k, (label, found) in enumerate(columns.items())]


def sample_grid(path: Path, table: OpenSimTable) -> tuple[float, np.ndarray]:
    """The rate (Hz) and each row's sample number from the ``time`` column."""
    if "time" not in table.names:
        raise FileFormatError(f"{path}: no 'time' column")
    time_s = table.data[:, table.names.index("time")]
    steps = np.diff(time_s)
    if len(time_s) < 2 or not np.all(np.isfinite(time_s)) or not np.all(steps > 0):
        raise FileFormatError(f"{path}: the time column is not increasing (or has a single row)")
    rate_hz = float(np.round(1.0 / median(steps), 6))
    position = (time_s - time_s[0]) * rate_hz
    index = np.round(position).astype(np.int64)
    if np.abs(position - index).max() > GRID_TOLERANCE or index[-1] > 2 * len(index):
        raise FileFormatError(f"{path}: the time column is not a uniform grid at {rate_hz:g} Hz")
    return rate_hz, index


def choose_feet(path: Path, plates: list[OpenSimPlate], keep: list[int] | None = None, left: int | None = None,
                right: int | None = None) -> dict[str, tuple[OpenSimPlate, str]]:
    """foot -> (plate, how it was assigned).

    ``keep`` (1-based numbers, at most two) chooses the plates; by default those that carry
    load (vertical force reaching COP_MIN_FORCE_N somewhere), the two carrying the most
    when there are more (those with an R_/L_ prefix first). ``left``/``right`` name a foot's plate; otherwise a prefix R_/L_
    says; otherwise the geometry: the plate whose loaded CoP has the larger OpenSim z
    (toward the subject's right) is the right foot; a lone plate is the left foot.
    """
    plate_numbers = [p.number for p in plates]
    named = [n for n in (*(keep or ()), left, right) if n is not None]
    if any(n not in plate_numbers for n in named):
        raise FileFormatError(f"{path}: the file has {len(plates)} plates (numbered 1 to {len(plates)}, "
                              "in column order)")
    if left is not None and left == right:
        raise FileFormatError(f"{path}: --left and --right name the same plate")
    by_number = {p.number: p for p in plates}
    if keep:
        wanted = list(dict.fromkeys(keep + [n for n in (left, right) if n is not None]))
    else:
        wanted = [p.number for p in plates if p.loaded.any() or p.number in (left, right)]
        if not wanted:
            raise FileFormatError(f"{path}: no plate carries load (vertical force below {COP_MIN_FORCE_N:g} N "
                                  "throughout); choose with --plates")
        if len(wanted) > 2:  # the plates a prefix puts under a foot first, then the most loaded
            wanted = sorted(wanted, key=lambda n: (by_number[n].side is None,
                                                   -np.nanmean(np.abs(by_number[n].force_n[:, 1]))))[:2]
    if len(wanted) > 2:
        raise FileFormatError(f"{path}: choose at most two plates, the ones under the feet (--plates 1,2)")
    chosen = {foot: (by_number[n], "option") for foot, n in (("left", left), ("right", right)) if n is not None}
    rest = [by_number[n] for n in wanted if n not in (left, right)]
    for plate in list(rest):
        if plate.side is not None and plate.side not in chosen:
            chosen[plate.side] = (plate, "column prefix")
            rest.remove(plate)
    free = [foot for foot in ("left", "right") if foot not in chosen]
    if len(rest) > len(free):
        taken = ", ".join(f"{foot} = {p.name}" for foot, (p, _) in chosen.items())
        raise FileFormatError(f"{path}: {', '.join(p.name for p in rest)} left over with {taken}; "
                              "choose with --plates, --left, --right")
    if len(rest) == 2:
        known = all(np.isfinite(p.lateral_m) for p in rest)
        how = "geometry" if known else "column order"
        if known:
            rest.sort(key=lambda p: p.lateral_m)
    else:
        how = "the other foot" if chosen else "lone plate"
        free = free[:len(rest)]  # a lone plate is the left foot, as in a C3D import
    for foot, plate in zip(free, rest, strict=True):
        chosen[foot] = (plate, how)
    return dict(sorted(chosen.items()))


def imported_plate(plate: OpenSimPlate, foot: str, index: np.ndarray) -> ImportedPlate:
    """The stored values and calibration block of one plate (module docstring)."""
    loaded = plate.point_m[plate.loaded & np.isfinite(plate.point_m).all(axis=1)]
    if len(loaded) == 0:  # a plate chosen by hand that never carries load: centre at the origin
        loaded = np.zeros((1, 3))
    low, high = loaded.min(axis=0), loaded.max(axis=0)
    reference = np.array([(low[0] + high[0]) / 2, median(loaded[:, 1]), (low[2] + high[2]) / 2])
    moment = np.cross(plate.point_m - reference, plate.force_n) + plate.torque_nm
    values = on_grid(index, np.hstack([plate.force_n, moment]))
    to_trial = np.zeros((6, 6))
    to_trial[:3, :3] = to_trial[3:, 3:] = OPENSIM_TO_TRIAL
    center_mm = (OPENSIM_TO_TRIAL @ reference)[:2] * 1000.0
    size_mm = (OPENSIM_TO_TRIAL @ (high - low))[:2] * 1000.0 + 2 * MARGIN_MM
    prefix = f"fp{plate.number}_"
    return ImportedPlate(
        name=plate.name, foot=foot, values=values,
        channel_names=[prefix + c for c in ("Fx_opensim", "Fy_opensim", "Fz_opensim", "Mx_opensim", "My_opensim",
                                            "Mz_opensim")],
        channel_units=["N"] * 3 + ["N*m"] * 3, to_lab=to_trial,
        center_mm=tuple(center_mm), size_mm=tuple(size_mm))


def read_opensim(path: str | Path, keep: list[int] | None = None, left: int | None = None, right: int | None = None,
                 delimiter: str | None = None, source_format: str = "opensim"):
    """An OpenSim ground-reaction file as a trial: (devices, metadata, events) for ``write_trial``."""
    import json

    path = Path(path)
    table = read_table(path, delimiter)
    plates = read_plates(path, table)
    rate_hz, index = sample_grid(path, table)
    feet = choose_feet(path, plates, keep, left, right)
    n_samples = int(index[-1]) + 1
    imported = [imported_plate(plate, foot, index) for foot, (plate, _) in feet.items()]
    kept = {p.number for p, _ in feet.values()}
    note = (f"Made by `forceplate import` from {path.name}: OpenSim axes (x forward, y up, z right) rotated to\n"
            "the trial's (x right, y forward, z up); plate centre and size from the loaded CoP path.")
    device = plate_device(path, source_format, rate_hz, imported, note, attrs={
        "plates": json.dumps({foot: {"number": p.number, "label": p.label, "assigned_by": how}
                              for foot, (p, how) in feet.items()}),
        "dropped_plates": json.dumps([p.name for p in plates if p.number not in kept]),
        "missing_rows": n_samples - len(index),
        "first_time_s": float(table.data[0, table.names.index("time")]),  # the file's clock at trial time 0
    })
    return [device], {"notes": f"imported from {path.name}"}, []
