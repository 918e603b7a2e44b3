"""``np.median`` of floats, to the bit, without importing ``numpy.ma`` and without its checks.

numpy's median checks its result for NaN through ``np.ma.isMaskedArray``, and ``np.ma`` is
imported on that first call: 42-45 M instructions, a tenth of ``forceplate analyze`` of a
minute (issue 14), paid by every command whose analysis takes a median of floats; its other
checks and calls cost ~20 us a call, where a live segmentation takes a dozen medians. The one
median of floats of the package (the segmentation's too). Pure numpy, no I/O.
"""

from __future__ import annotations

import numpy as np


def median(x, axis: int | None = None, overwrite_input: bool = False):
    """``np.median(x, axis=axis)``, the same bits and type, for an array (or a sequence) of floats:
    numpy's own steps (partition around the middle value or two and the largest; the middle
    value, or the middle two's mean as numpy's mean adds them, from 0.0, so a -0.0 comes out
    0.0 and float32 stays float32; NaN where a NaN is, that NaN itself; an empty input NaN with
    numpy's warnings), less the masked-array check.
    ``overwrite_input``: partition x itself, as np.median's (no copy; x is left partitioned).
    Anything but floats goes to ``np.median``, which checks nothing for them."""
    x = np.asarray(x)
    if x.dtype.kind != "f" or x.size == 0:
        return np.median(x, axis=axis, overwrite_input=overwrite_input)
    if axis is None:
        part = x.ravel() if overwrite_input else x.flatten()  # ravel: a view where x is contiguous, as numpy's
        size = len(part)
    else:
        part = x if overwrite_input else x.copy()
        part = np.moveaxis(part, axis, -1)
        size = part.shape[-1]
    half = size // 2
    part.partition([half - 1, half, -1] if size % 2 == 0 else [half, -1], axis=-1)
    def at(k):  # the k-th of each row; a scalar, not a 0-d array, where the result is one number
        return part[..., k][()]

    middle = at(half) + 0.0 if size % 2 else (np.add.reduce(part[..., half - 1:half + 1], axis=-1) + 0.0)[()] / 2
    largest = at(-1)  # NaN wherever there is one: partition sorts NaN last
    nan = np.isnan(largest)
    if not nan.any():
        return middle
    if isinstance(middle, np.generic):
        return largest
    np.copyto(middle, largest, where=nan)
    return middle
