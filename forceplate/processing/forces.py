"""Vertical force and centre of pressure from 4-load-cell plates."""

from __future__ import annotations

import numpy as np

from forceplate.profiles import DeviceProfile

# Below this vertical force a CoP means nothing (foot off the plate): NaN, never 0.
COP_MIN_FORCE_N = 20.0


def plate_forces(cell_newtons: np.ndarray, profile: DeviceProfile) -> tuple[dict, dict]:
    """Per foot: vertical force (n,) in N and CoP (n, 2) in mm, lab frame.

    ``cell_newtons`` is (n, channels), each channel a calibrated load-cell force.
    """
    fz, cop = {}, {}
    for plate in profile.plates:
        cells = cell_newtons[:, plate.channels]
        total = cells.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            point = cells @ plate.cells_mm / total[:, None]
        point[total < COP_MIN_FORCE_N] = np.nan
        fz[plate.foot] = total
        cop[plate.foot] = point
    return fz, cop
