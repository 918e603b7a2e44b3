"""The kinds of event a session emits and a trial stores in /events, and their values' units.

A :class:`EventKind` is a ``str`` (``EventKind.FLAG == "flag"``), so events written before
the enum existed, JSON and the HDF5 ``kind`` column read the same.
"""

from __future__ import annotations

from enum import Enum


class EventKind(str, Enum):  # enum.StrEnum from Python 3.11 on; the package supports 3.10
    """What an event says happened (docs/hdf5-schema.md, /events)."""

    __str__ = str.__str__  # "flag", as the stored column says, not "EventKind.FLAG"
    __format__ = str.__format__

    BASELINE = "baseline"  # the standing weight (value, N) and foot axes were measured
    REP_START = "rep_start"
    FLAG = "flag"  # a foot's held medial shift crossed a grade (value: the shift, mm)
    REP_END = "rep_end"
    MARK = "mark"  # a user's mark (set boundary, note; an imported file's event label) in ``text``
    THRESHOLDS = "thresholds"  # the flag thresholds changed during the session
    DEVICE_DISCONNECTED = "device_disconnected"
    DEVICE_RECONNECTED = "device_reconnected"
    DEVICE_STALLED = "device_stalled"  # connected but sending nothing
    DEVICE_RESUMED = "device_resumed"
    DEVICE_FAILED = "device_failed"  # gave up on a device
    RECORDING_FAILED = "recording_failed"  # the trial file could not be written on
    OTHER = "other"  # read from a file: a kind this version does not know (its name kept beside it)

    @classmethod
    def of(cls, name: str) -> EventKind:
        """The kind called ``name``; :attr:`OTHER` for a name this version does not know."""
        try:
            return cls(name)
        except ValueError:
            return cls.OTHER


# What an event's ``value`` is measured in, by kind (NaN for the other kinds).
EVENT_VALUE_UNITS = {EventKind.FLAG: "mm", EventKind.BASELINE: "N"}
