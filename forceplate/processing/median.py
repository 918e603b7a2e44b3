"""``np.median`` of floats, to the bit, without importing ``numpy.ma``.

numpy's median checks its result for NaN through ``np.ma.isMaskedArray``, and ``np.ma`` is
imported on that first call: 42-45 M instructions, a tenth of ``forceplate analyze`` of a
minute (issue 14), paid by every command whose analysis takes a median of floats. Pure numpy,
no I/O.
"""

from __future__ import annotations

import numpy as np


def median(x, axis: int | None = None, overwrite_input: bool = False):
    """``np.median(x, axis=axis)``, the same bits and type, for an array (or a sequence) of floats:
    numpy's own steps (partition around the middle value or two and the largest, numpy's mean
    of the middle ones, so a -0.0 comes out 0.0 and float32 stays float32; NaN where a NaN is,
    that NaN itself; an empty input NaN with numpy's warnings), less the masked-array check.
    ``overwrite_input``: partition x itself, as np.median's (no copy; x is left partitioned).
    Anything but floats goes to ``np.median``, which checks nothing for them."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return np.median(x, axis=axis, overwrite_input=overwrite_input)
    size = x.size if axis is None else x.shape[axis]
    middle = [size // 2 - 1, size // 2] if size % 2 == 0 else [size // 2]
    if not overwrite_input:
        part = np.partition(x, middle + [-1], axis=axis)  # flattened when axis is None
    else:
        part = x.ravel() if axis is None else x  # ravel: a view where x is contiguous, as numpy's
        part.partition(middle + [-1], axis=-1 if axis is None else axis)
    axis = 0 if axis is None else axis
    take = [slice(None)] * part.ndim
    take[axis] = slice(middle[0], middle[-1] + 1)
    result = np.mean(part[tuple(take)], axis=axis)
    if size == 0:
        return result
    largest = part.take(-1, axis=axis)  # NaN wherever there is one: partition sorts NaN last
    nan = np.isnan(largest)
    if not nan.any():
        return result
    if isinstance(result, np.generic):
        return largest
    np.copyto(result, largest, where=nan)
    return result
