"""Reading trials: ``open_trial(path)`` -> :class:`Trial` with numpy arrays and metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from forceplate.calibration.record import CalibrationRecord, parse_record
from forceplate.errors import CalibrationError, CorruptTrial, ProfileError, UnsupportedSchema
from forceplate.profiles import DeviceProfile, parse_profile
from forceplate.storage.schema import READABLE_VERSIONS, SCHEMA, SCHEMA_VERSION


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
        newtons[index] = record.to_newtons(self.counts)
        t = np.arange(len(newtons)) / self.rate_hz
        return t, newtons


@dataclass
class Trial:
    path: Path
    attrs: dict
    devices: dict[str, DeviceRecording]
    events: np.ndarray

    @property
    def complete(self) -> bool:
        return bool(self.attrs.get("complete", False))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def open_trial(path: str | Path) -> Trial:
    """Read a whole trial into memory; raises :class:`CorruptTrial` or :class:`UnsupportedSchema`."""
    path = Path(path)
    if not path.exists():
        raise CorruptTrial(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        raise CorruptTrial(f"{path}: not an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError:
        try:  # a recording still in progress (or killed) is readable as an SWMR reader
            f = h5py.File(path, "r", swmr=True)
        except OSError as exc:
            raise CorruptTrial(f"{path}: HDF5 file cannot be opened ({exc}); try 'forceplate recover'") from None
    try:
        with f:
            return _read(path, f)
    except (KeyError, ValueError, OSError, ProfileError, CalibrationError) as exc:
        raise CorruptTrial(f"{path}: damaged trial ({exc})") from None


def _read(path: Path, f: h5py.File) -> Trial:
    attrs = {k: (_text(v) if isinstance(v, (bytes, str)) else v) for k, v in f.attrs.items()}
    if attrs.get("schema") != SCHEMA:
        raise CorruptTrial(f"{path}: HDF5 file is not a forceplate trial (no schema='{SCHEMA}' attribute)")
    version = int(attrs.get("schema_version", 0))
    if version not in READABLE_VERSIONS:
        if version > SCHEMA_VERSION:
            raise UnsupportedSchema(f"{path}: trial schema version {version} is newer than this forceplate reads "
                                    f"({SCHEMA_VERSION}); upgrade forceplate")
        raise CorruptTrial(f"{path}: unknown trial schema version {version}")
    devices = {}
    for name, g in f["devices"].items():
        a = f["acquisition"][name]
        cal_text = _text(g.attrs.get("calibration", ""))
        devices[name] = DeviceRecording(
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
    # Rows appended together may be cut short by a crash: keep the common length.
    for d in devices.values():
        n = min(len(d.counts), len(d.seq), len(d.t_device_s), len(d.t_host_s))
        d.counts, d.seq, d.t_device_s, d.t_host_s = d.counts[:n], d.seq[:n], d.t_device_s[:n], d.t_host_s[:n]
    events = f["events"][()] if "events" in f else np.empty(0)
    return Trial(path, attrs, devices, events)
