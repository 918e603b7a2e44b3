"""Insole regional loading: arch share and a pronation index, against quiet standing.

When the knee caves in, the foot pronates: the arch (medial midfoot) takes more of the
load and pressure moves from the lateral to the medial column. Both are measured as a
share of the foot's total force, so they do not depend on body weight or calibration
scale, and reported as the change from the person's quiet-standing baseline.
"""

from __future__ import annotations

import numpy as np

from forceplate.processing.forces import COP_MIN_FORCE_N

MEDIAL_REGIONS = ("medial_midfoot", "medial_forefoot", "hallux")
LATERAL_REGIONS = ("lateral_midfoot", "lateral_forefoot")


def _share(force: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``force`` as a share of the foot's total force (%), NaN where the foot is unloaded
    (below the force at which a CoP means anything)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * force / np.where(total > COP_MIN_FORCE_N, total, np.nan)


def arch_share(regions: dict, total: np.ndarray) -> np.ndarray:
    """Medial midfoot (arch) share of the foot's load (%)."""
    return _share(regions["medial_midfoot"], total)


def pronation_index(regions: dict, total: np.ndarray) -> np.ndarray:
    """Medial minus lateral column share of the foot's load (%, + = toward the arch)."""
    medial = sum(regions[r] for r in MEDIAL_REGIONS if r in regions)
    lateral = sum(regions[r] for r in LATERAL_REGIONS if r in regions)
    return _share(medial - lateral, total)
