"""An insole's pressure map: sensor values interpolated on a grid inside the foot outline,
and the stylised footprint drawn around it (the live window and the HTML report share both).

Inverse-distance weights from every grid cell to every sensor are computed once per layout,
so a refresh is one matrix product (cells x sensors) @ (sensors,). Pure numpy, no Qt.
"""

from __future__ import annotations

import numpy as np

from forceplate.processing.baseline import foot_axis

CELL_MM = 4.0  # grid spacing: finer than the sensors (about 25 mm apart), coarse enough to be free
POWER = 2.0  # inverse-distance exponent: each sensor dominates its own neighbourhood
NEAREST_MM = 8.0  # distances are floored here, so a cell on a sensor does not take its value alone
FOOT_LENGTH_MM = 260.0  # drawing only: an adult foot, for the outline around the quiet-standing CoP


def inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which ``points`` (n, 2) lie inside the closed ``polygon`` (m, 2): even-odd ray casting."""
    x, y = points[:, 0][:, None], points[:, 1][:, None]
    x0, y0 = polygon[:, 0][None, :], polygon[:, 1][None, :]
    x1, y1 = np.roll(polygon[:, 0], -1)[None, :], np.roll(polygon[:, 1], -1)[None, :]
    straddles = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing_x = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return np.count_nonzero(straddles & (x < crossing_x), axis=1) % 2 == 1


class PressureMap:
    """Sensors at ``sensors_mm`` (n, 2) and a foot ``outline_mm`` (m, 2), in one frame (mm).

    ``image(values)`` gives a (nx, ny) array over :attr:`rect` (x, y, width, height in mm),
    first index x: the sensor values spread over the foot, NaN outside it.
    """

    def __init__(self, sensors_mm: np.ndarray, outline_mm: np.ndarray, cell_mm: float = CELL_MM):
        low, high = outline_mm.min(axis=0), outline_mm.max(axis=0)
        nx, ny = (np.ceil((high - low) / cell_mm).astype(int) + 1)
        self.rect = (float(low[0]), float(low[1]), nx * cell_mm, ny * cell_mm)
        gx, gy = np.meshgrid(low[0] + (np.arange(nx) + 0.5) * cell_mm, low[1] + (np.arange(ny) + 0.5) * cell_mm,
                             indexing="ij")
        centres = np.column_stack([gx.ravel(), gy.ravel()])
        self._cells = np.flatnonzero(inside(centres, outline_mm))
        distance = np.linalg.norm(centres[self._cells, None, :] - sensors_mm[None, :, :], axis=2)
        weights = np.maximum(distance, NEAREST_MM) ** -POWER
        self._weights = weights / weights.sum(axis=1, keepdims=True)
        self.shape = (int(nx), int(ny))

    def image(self, values: np.ndarray) -> np.ndarray:
        out = np.full(self.shape[0] * self.shape[1], np.nan)
        out[self._cells] = self._weights @ values
        return out.reshape(self.shape)


def foot_outline(center: np.ndarray, medial_unit: np.ndarray, width_mm: float,
                 length_mm: float = FOOT_LENGTH_MM) -> np.ndarray:
    """A stylised footprint (closed, (n, 2) mm): narrow heel, wide forefoot, arch on the medial side."""
    half_length = length_mm / 2
    angle = np.linspace(0, 2 * np.pi, 73)
    along = half_length * np.sin(angle)  # heel (-) to toe (+)
    across = (width_mm / 2) * np.cos(angle) * (0.8 + 0.2 * along / half_length)
    arch = 1 - 0.3 * np.exp(-(((along + 0.05 * length_mm) / (0.14 * length_mm)) ** 2))
    across = np.where(across > 0, across * arch, across)
    return center + across[:, None] * medial_unit + along[:, None] * foot_axis(medial_unit)
