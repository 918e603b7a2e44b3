"""Insole regional loading: arch share and a pronation index, against quiet standing.

When the knee caves in, the foot pronates: the arch (medial midfoot) takes more of the
load and pressure moves from the lateral to the medial column. Both are measured as a
share of the foot's total force, so they do not depend on body weight or calibration
scale, and reported as the change from the person's quiet-standing baseline.
"""

from __future__ import annotations

import numpy as np

MEDIAL_REGIONS = ("medial_midfoot", "medial_forefoot", "hallux")
LATERAL_REGIONS = ("lateral_midfoot", "lateral_forefoot")


def region_shares(regions: dict[str, np.ndarray], total: np.ndarray) -> dict[str, np.ndarray]:
    """Each region's share of the foot's total force (%), NaN where the foot is unloaded."""
    with np.errstate(invalid="ignore", divide="ignore"):
        loaded = np.where(total > 20.0, total, np.nan)
        return {name: 100.0 * force / loaded for name, force in regions.items()}


def arch_share(regions: dict, total: np.ndarray) -> np.ndarray:
    """Medial midfoot (arch) share of the foot's load (%)."""
    return region_shares({"medial_midfoot": regions["medial_midfoot"]}, total)["medial_midfoot"]


def pronation_index(regions: dict, total: np.ndarray) -> np.ndarray:
    """Medial minus lateral column share of the foot's load (%, + = toward the arch)."""
    medial = sum(regions[r] for r in MEDIAL_REGIONS if r in regions)
    lateral = sum(regions[r] for r in LATERAL_REGIONS if r in regions)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (medial - lateral) / np.where(total > 20.0, total, np.nan)
