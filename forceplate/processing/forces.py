"""Vertical force and centre of pressure from 4-load-cell plates."""

from __future__ import annotations

import numpy as np

from forceplate.profiles import DeviceProfile

# Below this vertical force a CoP means nothing (foot off the plate): NaN, never 0.
COP_MIN_FORCE_N = 20.0


def plate_fz(physical: np.ndarray, plate) -> np.ndarray:
    """A plate's vertical force (N): its Fz channel, or the sum of its load cells."""
    if plate.type == "six-axis":
        return physical[:, plate.channels[2]]
    return physical[:, list(plate.channels)].sum(axis=1)


def vertical_forces(physical: np.ndarray, profile) -> dict[str, np.ndarray]:
    """Vertical force (N) of each plate (by name), or of the whole insole ("insole")."""
    if profile.insole is not None:
        return {"insole": physical.sum(axis=1)}
    return {p.name: plate_fz(physical, p) for p in profile.plates}


def plate_forces(physical: np.ndarray, profile: DeviceProfile) -> tuple[dict, dict]:
    """Per foot: vertical force (n,) in N and CoP (n, 2) in mm, lab frame.

    ``physical`` is (n, channels) calibrated: load-cell forces (N), or for six-axis plates
    Fx Fy Fz (N) Mx My Mz (N*m).
    """
    fz, cop = {}, {}
    # one errstate for all plates, divisions in place: a live reader calls this 50 times a second (issue 14)
    with np.errstate(invalid="ignore", divide="ignore"):
        for plate in profile.plates:
            if plate.type == "six-axis":
                fz[plate.foot], cop[plate.foot] = six_axis_cop_mm(physical[:, plate.channels], plate)
                continue
            cells = physical[:, plate.channels]
            total = cells.sum(axis=1)  # plate_fz's sum, of the cells already taken
            point = cells @ plate.cells_mm
            point /= total[:, None]
            point[total < COP_MIN_FORCE_N] = np.nan
            fz[plate.foot] = total
            cop[plate.foot] = point
    return fz, cop


def surface_wrenches(physical: np.ndarray, profile: DeviceProfile) -> dict:
    """Per foot: (F (n, 3) N, M (n, 3) N*m about the plate's surface centre, plate).

    Six-axis plates move their moments from the origin ``origin_depth_mm`` below the surface
    up to it; load-cell plates give a vertical force with the moments of their cells.
    """
    feet = {}
    for plate in profile.plates:
        block = physical[:, plate.channels]
        if plate.type == "six-axis":
            dz = plate.origin_depth_mm / 1000.0
            f = block[:, :3]
            m = block[:, 3:] + np.column_stack([-dz * f[:, 1], dz * f[:, 0], np.zeros(len(f))])
        else:
            rel_m = (plate.cells_mm - np.asarray(plate.center_mm)) / 1000.0
            fz = plate_fz(physical, plate)
            f = np.column_stack([np.zeros_like(fz), np.zeros_like(fz), fz])
            m = np.column_stack([block @ rel_m[:, 1], -(block @ rel_m[:, 0]), np.zeros_like(fz)])
        feet[plate.foot] = (f, m, plate)
    return feet


def six_axis_cop_mm(physical: np.ndarray, plate) -> tuple[np.ndarray, np.ndarray]:
    """Vertical force (N) and CoP (n, 2) in the lab frame (mm) from Fx Fy Fz Mx My Mz.

    Moments are about the plate origin, ``origin_depth_mm`` below the top surface centre:
    CoP x = (-My - dz*Fx) / Fz, CoP y = (Mx - dz*Fy) / Fz (the profile states the convention).
    """
    fx, fy, fz, mx, my = (physical[:, i] for i in range(5))
    dz = plate.origin_depth_mm / 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (-my - dz * fx) / fz * 1000.0 + plate.center_mm[0]
        y = (mx - dz * fy) / fz * 1000.0 + plate.center_mm[1]
    cop = np.column_stack([x, y])
    cop[fz < COP_MIN_FORCE_N] = np.nan
    return fz, cop


def insole_forces(sensor_newtons: np.ndarray, layout) -> tuple[np.ndarray, np.ndarray, dict]:
    """Total force (N), CoP in the foot frame (n, 2) mm, and force per region (N).

    Foot frame: y from heel to toes, x toward the arch; CoP is NaN below 20 N.
    """
    total = sensor_newtons.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cop = sensor_newtons @ layout.sensors_mm / total[:, None]
    cop[total < COP_MIN_FORCE_N] = np.nan
    regions = {name: sensor_newtons[:, list(idx)].sum(axis=1) for name, idx in layout.regions.items()}
    return total, cop, regions


STANCE_WIDTH_MM = 440.0  # nominal heel-centre distance used to place insoles in the lab frame
NEUTRAL_COP_FRACTION = 0.42  # a foot's CoP in quiet standing, share of its length from the heel


def insole_cop_to_lab(cop_foot_mm: np.ndarray, foot: str, layout) -> np.ndarray:
    """An insole CoP (foot frame) placed in the lab frame, feet parallel ``STANCE_WIDTH_MM`` apart.

    The insole frame follows the foot, so the foot axis is the lab's y axis and medial is
    toward the other foot: +x for the left foot, -x for the right. The foot's centre of
    pressure in quiet standing (``NEUTRAL_COP_FRACTION`` of its length from the heel) sits at y = 0.
    """
    side = 1.0 if foot == "left" else -1.0
    x = -side * STANCE_WIDTH_MM / 2 + side * cop_foot_mm[:, 0]
    y = cop_foot_mm[:, 1] - NEUTRAL_COP_FRACTION * layout.foot_length_mm
    return np.column_stack([x, y])


def insole_foot(physical: np.ndarray, foot: str, layout) -> tuple[np.ndarray, np.ndarray, dict]:
    """One insole's calibrated sensor forces (N) -> total force (N), lab-frame CoP (n, 2) mm
    and force per region (N): :func:`insole_forces`, then :func:`insole_cop_to_lab`."""
    total, cop_foot, regions = insole_forces(physical, layout)
    return total, insole_cop_to_lab(cop_foot, foot, layout), regions
