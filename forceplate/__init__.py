"""forceplate: dual force plates and pressure insoles for squat analysis.

The public surface is small: open a device with :func:`forceplate.io.open_device`,
read a saved trial with :func:`open_trial` (its raw counts per device), analyse arrays with
:mod:`forceplate.processing`. In a notebook, :mod:`forceplate.api` gives a trial as per-foot
time series with units and events, and its analysis as typed results (docs/notebook.md).
"""

__version__ = "0.1.0"


def open_trial(path):
    """Open a saved trial (HDF5) read-only; see :class:`forceplate.storage.reader.Trial`."""
    from forceplate.storage.reader import open_trial as _open

    return _open(path)


__all__ = ["__version__", "open_trial"]
