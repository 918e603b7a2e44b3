"""Reading trials: ``open_trial(path)`` -> :class:`Trial` with numpy arrays, metadata and stored results."""

from __future__ import annotations

import json
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from forceplate.calibration.record import CalibrationRecord, parse_record
from forceplate.errors import CalibrationError, CorruptTrial, ProfileError, UnsupportedSchema, one_line
from forceplate.profiles import DeviceProfile, parse_profile
from forceplate.storage.schema import READABLE_VERSIONS, REP_COLUMNS, SCHEMA, SCHEMA_VERSION, SIDE_COLUMNS, SIDES


@dataclass
class DeviceRecording:
    """One device's raw stream as recorded. Time is the first dimension of every array."""

    name: str
    info: dict
    profile: DeviceProfile
    calibration: CalibrationRecord | None
    counts: np.ndarray  # (n, channels) raw counts
    seq: np.ndarray
    t_device_s: np.ndarray
    t_host_s: np.ndarray
    gaps: np.ndarray  # (k, 2): first missing seq, count
    stats: dict

    @property
    def rate_hz(self) -> float:
        return self.profile.rate_hz

    def trim(self) -> int:
        """Cut the per-frame arrays to their common length; returns the rows dropped.

        Rows appended together may be cut short by a crash (one array grown, the next not yet).
        """
        columns = (self.counts, self.seq, self.t_device_s, self.t_host_s)
        n = min(len(c) for c in columns)
        dropped = max(len(c) for c in columns) - n
        self.counts, self.seq, self.t_device_s, self.t_host_s = (c[:n] for c in columns)
        return dropped

    def uniform(self, calibration: CalibrationRecord | None = None):
        """Trial time (s) on a uniform grid by sequence number, and calibrated channel forces (N).

        Lost frames become NaN rows; nothing is interpolated here.
        """
        record = calibration or self.calibration
        if record is None:
            raise CalibrationError(f"device {self.name}: no calibration record in the trial; give one with --calibration")
        record.check_matches(self.info.get("serial", ""), self.profile.n_channels)
        if len(self.seq) == 0:
            return np.empty(0), np.empty((0, self.profile.n_channels))
        index = self.seq - self.seq[0]
        newtons = np.full((int(index[-1]) + 1, self.profile.n_channels), np.nan)
        newtons[index] = record.to_physical(self.counts)
        t = np.arange(len(newtons)) / self.rate_hz
        return t, newtons


@dataclass
class TrialHeader:
    """A trial's metadata and stored analysis results, without its raw data."""

    path: Path
    attrs: dict
    results: dict | None  # /processing as {"reps", "summary", "parameters", "analysed"}, None if never analysed

    @property
    def complete(self) -> bool:
        return bool(self.attrs.get("complete", False))

    @property
    def recovered(self) -> bool:
        return "recovered" in self.attrs


@dataclass
class Trial(TrialHeader):
    devices: dict[str, DeviceRecording]
    events: np.ndarray


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def open_h5(path: str | Path) -> h5py.File:
    """Open a trial file read-only; as an SWMR reader when a recording holds it or was killed.

    Raises :class:`CorruptTrial` with a one-line reason (missing, not HDF5, truncated, left
    locked by a crash that only ``forceplate recover`` can clear, otherwise unreadable).
    """
    path = Path(path)
    if not path.exists():
        raise CorruptTrial(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        raise CorruptTrial(f"{path}: not an HDF5 file")
    try:
        return h5py.File(path, "r")
    except (OSError, RuntimeError) as exc:  # h5py raises RuntimeError for some damaged superblocks
        first = one_line(exc)
    truncated = re.search(r"truncated file: eof = (\d+).*stored_eof = (\d+)", first)
    if truncated:
        raise CorruptTrial(f"{path}: file is truncated ({truncated[1]} of {truncated[2]} bytes present); "
                           "it cannot be read")
    try:
        return h5py.File(path, "r", swmr=True)
    except (OSError, RuntimeError):
        pass
    if "already open for write" in first:
        raise CorruptTrial(f"{path}: the recording did not finish and left the file locked; "
                           f"run 'forceplate recover {path}'")
    raise CorruptTrial(f"{path}: HDF5 file cannot be opened ({first})")


LIVE_READ_ATTEMPTS = 3  # a trial being recorded may be caught mid-flush: read it again


def open_trial(path: str | Path) -> Trial:
    """Read a whole trial into memory; raises :class:`CorruptTrial` or :class:`UnsupportedSchema`.

    A trial still being recorded (``complete`` false) can be caught while the writer is
    flushing, which HDF5 reports as a damaged read; it is read again, a little later.
    """
    path = Path(path)
    for _ in range(LIVE_READ_ATTEMPTS - 1):
        try:
            return _read_trial(path)
        except CorruptTrial:
            if _finished(path):
                raise
            time.sleep(0.2)
    return _read_trial(path)


def _read_trial(path: Path) -> Trial:
    with _reading(path) as f:
        header = _header(path, f)
        return Trial(header.path, header.attrs, header.results, _devices(path, f), f["events"][()])


def _finished(path: Path) -> bool:
    """True unless the file says it is still being recorded (a retry could then help)."""
    try:
        with h5py.File(path, "r", swmr=True) as f:
            return bool(f.attrs.get("complete", True))
    except (OSError, RuntimeError):
        return True


def read_header(path: str | Path) -> TrialHeader:
    """Metadata and stored results only: fast enough to list a folder of trials."""
    path = Path(path)
    with _reading(path) as f:
        return _header(path, f)


@contextmanager
def _reading(path: Path):
    """An open trial file; HDF5 failures while reading become one-line :class:`CorruptTrial`."""
    f = open_h5(path)
    try:
        with f:
            yield f
    except (KeyError, ValueError, OSError, ProfileError, CalibrationError) as exc:
        raise CorruptTrial(f"{path}: damaged trial ({one_line(exc)}); "
                           f"'forceplate recover' keeps what is readable") from None


def _header(path: Path, f: h5py.File) -> TrialHeader:
    attrs = {k: (_text(v) if isinstance(v, (bytes, str)) else v) for k, v in f.attrs.items()}
    if attrs.get("schema") != SCHEMA:
        raise CorruptTrial(f"{path}: HDF5 file is not a forceplate trial (no schema='{SCHEMA}' attribute)")
    version = int(attrs.get("schema_version", 0))
    if version not in READABLE_VERSIONS:
        if version > SCHEMA_VERSION:
            raise UnsupportedSchema(f"{path}: trial schema version {version} is newer than this forceplate reads "
                                    f"({SCHEMA_VERSION}); upgrade forceplate")
        raise CorruptTrial(f"{path}: unknown trial schema version {version}")
    return TrialHeader(path, attrs, _results(f["processing"]) if "processing" in f else None)


def _results(g: h5py.Group) -> dict:
    """/processing back into the shape of ``Analysis.as_dict()`` (empty cells -> None)."""
    def cell(value):
        if isinstance(value, bytes):
            return value.decode() or None
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        return float(value)

    def number_or_none(value):
        return None if isinstance(value, float) and np.isnan(value) else value

    reps = []
    table = g["reps"][()]
    stored = set(table.dtype.names or ())  # results of older versions lack the newer columns
    for row in table:
        rep = {name: number_or_none(cell(row[name])) if name in stored else None for name in REP_COLUMNS}
        for side in SIDES:
            rep[side] = {name: number_or_none(cell(row[f"{side}_{name}"])) if f"{side}_{name}" in stored else None
                         for name in SIDE_COLUMNS}
        reps.append(rep)
    return {"reps": reps, "summary": json.loads(_text(g.attrs["summary"])),
            "parameters": json.loads(_text(g.attrs["parameters"])), "analysed": _text(g.attrs["analysed"])}


def _devices(path: Path, f: h5py.File) -> dict[str, DeviceRecording]:
    devices = {}
    for name, g in f["devices"].items():
        a = f["acquisition"][name]
        cal_text = _text(g.attrs.get("calibration", ""))
        recording = DeviceRecording(
            name=name,
            info=json.loads(_text(g.attrs["info"])),
            profile=parse_profile(_text(g.attrs["profile"]), where=f"{path}:/devices/{name} profile"),
            calibration=parse_record(cal_text, source=f"{path}:/devices/{name} calibration") if cal_text else None,
            counts=a["counts"][()],
            seq=a["seq"][()],
            t_device_s=a["t_device"][()],
            t_host_s=a["t_host"][()],
            gaps=a["gaps"][()],
            stats=json.loads(_text(a.attrs.get("decoder_stats", "{}"))),
        )
        recording.trim()
        devices[name] = recording
    return devices


def raw_value_count(path: str | Path) -> int:
    """How many raw values (frames times channels, all devices) the trial holds, from the
    datasets' shapes alone: what analysing it will cost, before reading any of it."""
    path = Path(path)
    with _reading(path) as f:
        return sum(int(np.prod(a["counts"].shape)) for a in f["acquisition"].values())
