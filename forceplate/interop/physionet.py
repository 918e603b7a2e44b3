"""PhysioNet gait text files (gaitpdb, Infotronic insoles): 8 sensor forces per foot (N).

Format: no header, tab-separated, LF or CRLF, 19 columns: time (s), L1..L8, R1..R8 (N),
total left, total right (N). Sensor 1 is the heel, 8 the toes; the layout is
``insole8.toml`` (the documented Infotronic positions, mirror-symmetric, in the foot frame).

The time column comes from a slightly fast clock rounded to 4 decimals (a 0.0099 s step
every ~143 rows), so rows are taken as consecutive samples at the nominal 100 Hz (over two
minutes the clocks differ by about 8 ms). Swing phases are exact zeros (no missing data in
this format). Forces are stored as given (not calibrated to body weight; PhysioNet's sum is
about 1.33 x body weight in GaCo01_01), with a unit calibration record.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forceplate.errors import FileFormatError
from forceplate.interop import insole_pair, numbers, read_lines
from forceplate.profiles import load_profile

PROFILE_ID = "insole8"
RATE_HZ = 100.0
SENSORS = 8
COLUMNS = 1 + 2 * SENSORS + 2


def parse_physionet(path: str | Path) -> np.ndarray:
    """The file as an (n, 19) array: time, L1..L8, R1..R8, total left, total right."""
    path = Path(path)
    rows = [line.split() for line in read_lines(path) if line.strip()]
    if not rows:
        raise FileFormatError(f"{path}: empty file")
    if len(rows[0]) != COLUMNS:
        raise FileFormatError(f"{path}: {len(rows[0])} columns, a PhysioNet gait file has {COLUMNS} "
                              "(time, 8 left and 8 right sensors, two totals)")
    values = numbers(path, rows, 1, COLUMNS)
    if not np.isfinite(values).all():
        raise FileFormatError(f"{path}: line {int(np.argmin(np.isfinite(values).all(axis=1))) + 1} has fewer than "
                              f"{COLUMNS} numbers")
    return values


def read_physionet(path: str | Path) -> tuple[list, dict, list[tuple]]:
    """A PhysioNet gait file as a left and a right insole device, trial metadata, no events."""
    path = Path(path)
    values = parse_physionet(path)
    feet = {"left": (values[:, 1:1 + SENSORS], [1.0] * SENSORS, None),
            "right": (values[:, 1 + SENSORS:1 + 2 * SENSORS], [1.0] * SENSORS, None)}
    devices = insole_pair(path, "physionet", load_profile(PROFILE_ID), RATE_HZ, feet, "N",
                          method="sensor forces in N as recorded (Infotronic), not calibrated to body weight",
                          attrs={"source_time_span_s": float(values[-1, 0] - values[0, 0])})
    metadata = {"notes": f"imported from {path.name} (PhysioNet gait, Infotronic 8-sensor insoles)",
                "setup_toe_out_deg": 0.0}
    return devices, metadata, []
