"""TrialWriter: appends frames to an HDF5 trial in its own thread, crash-safe.

The file is written in SWMR mode: every dataset exists from the start and grows; the
writer flushes about once a second, so a killed recording loses at most about a second
and another process can read the trial while it is being recorded
(``h5py.File(path, "r", swmr=True)``). Closing the writer marks the trial complete and
stores the decoders' counters. :func:`write_results` adds analysis results to a closed trial.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np

from forceplate import __version__
from forceplate.errors import TrialError, one_line
from forceplate.profiles import plain_name
from forceplate.storage.schema import FLAT_REP_TABLE, SCHEMA, SCHEMA_VERSION, flat_rep, rep_row, rep_table_units

FLUSH_INTERVAL_S = 1.0  # the writer thread wakes this often: appends what was handed over, flushes
CHUNK_ROWS = 4096
# Byte shuffle + deflate level 1, filters every HDF5 build has (no plugin to install for h5py,
# MATLAB, h5dump): samples change little from one to the next, so their high bytes shuffle
# into long runs. A dual plate's trial shrinks from 4.0 to about 1 MB per minute
# (benchmarks/storage.py); level 4 made a recorded one only 3 % smaller. Older trials,
# written without filters, read the same: HDF5 reads each dataset's own filters.
COMPRESSION = {"shuffle": True, "compression": "gzip", "compression_opts": 1}
# Recording stops while this much space is still free on the trial's file system: HDF5
# cannot close a file whose write failed for want of space (it crashes the process at
# exit), so the writer must never get there. A second of data is ~60 kB per device.
FREE_SPACE_RESERVE_BYTES = 4 << 20
# Files whose HDF5 writes failed anyway (another program filled the disk between checks):
# closing them again crashes the HDF5 library, so the command must end with os._exit.
UNCLOSABLE: list = []
EVENT_DTYPE = np.dtype([
    ("t_s", "f8"), ("kind", h5py.string_dtype()), ("rep", "i4"), ("side", h5py.string_dtype()),
    ("severity", h5py.string_dtype()), ("phase", h5py.string_dtype()), ("value", "f8"),
    ("text", h5py.string_dtype()),
])


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def _create_failure(path: Path, exc: OSError) -> str:
    if path.exists():
        return f"{path}: file exists; choose another name (trials are never overwritten)"
    if not path.parent.is_dir():
        return f"{path}: cannot create the trial: no folder {path.parent}"
    return f"{path}: cannot create the trial ({exc.strerror or one_line(exc)})"


def _growing(group, name, shape_tail, dtype, unit, description):
    # Fletcher-32 per chunk: a damaged chunk is reported on reading instead of read as numbers.
    ds = group.create_dataset(name, shape=(0, *shape_tail), maxshape=(None, *shape_tail), dtype=dtype,
                              chunks=(CHUNK_ROWS, *shape_tail), fletcher32=True, **COMPRESSION)
    ds.attrs["unit"] = unit
    ds.attrs["description"] = description
    return ds


def _append(ds, rows) -> None:
    rows = np.asarray(rows)
    if len(rows) == 0:
        return
    n = ds.shape[0]
    ds.resize(n + len(rows), axis=0)
    ds[n:] = rows


class TrialWriter:
    """Record devices into ``path``. Call :meth:`add_device` for each, then :meth:`start`."""

    def __init__(self, path: str | Path, metadata: dict | None = None):
        self.path = Path(path)
        # One exclusive create: never a check for the name and then a create, which two
        # recordings started at once could both pass (and the second truncate the first).
        try:
            self._file = h5py.File(self.path, "x", libver="latest")
        except (FileExistsError, OSError) as exc:
            raise TrialError(_create_failure(self.path, exc)) from None
        attrs = self._file.attrs
        attrs["schema"] = SCHEMA
        attrs["schema_version"] = SCHEMA_VERSION
        attrs["created"] = now_iso()
        attrs["software"] = f"forceplate {__version__}"
        attrs["complete"] = False
        for key, value in (metadata or {}).items():
            if value is not None:
                attrs[key] = value
        self._file.create_group("devices")
        self._file.create_group("acquisition")
        self._events = _growing(self._file, "events", (), EVENT_DTYPE, "s (t_s), mm (value)",
                                "rep, flag, baseline and user events; t_s on the trial clock")
        self._datasets: dict[str, dict] = {}
        self._queue: queue.Queue = queue.Queue()
        self._stopping = threading.Event()  # close() asks the thread to write what it holds and end
        self._thread = threading.Thread(target=self._run, name=f"writer {self.path.name}", daemon=True)
        self._t0_host: float | None = None
        self._unstored: dict[str, list] = {}  # device -> Frames handed over, appended at the next flush
        self.error: BaseException | None = None

    def add_device(self, name: str, device) -> None:
        """Describe a device (profile, calibration, info) and create its growing datasets."""
        if not plain_name(name):  # a group path such as "a/b" or ".." would make an unreadable trial
            raise TrialError(f"{self.path}: device name {name[:80]!r} is not a plain name")
        g = self._file["devices"].create_group(name)
        g.attrs["url"] = device.url
        for key in ("model", "serial", "firmware"):
            g.attrs[key] = device.info.get(key, "")
        g.attrs["kind"] = device.profile.kind
        g.attrs["info"] = json.dumps(device.info)
        g.attrs["profile_id"] = device.profile.id
        g.attrs["profile"] = device.profile.toml_text
        g.attrs["calibration"] = device.calibration.toml_text if device.calibration else ""
        a = self._file["acquisition"].create_group(name)
        a.attrs["rate_hz"] = device.profile.rate_hz
        a.attrs["channels"] = list(device.profile.channels)
        n_ch = device.profile.n_channels
        self._datasets[name] = {
            "counts": _growing(a, "counts", (n_ch,), device.profile.wire_dtype, "counts",
                               "raw ADC counts as received; calibration turns them into N"),
            "seq": _growing(a, "seq", (), "i8", "1", "frame sequence number, unwrapped"),
            "t_device": _growing(a, "t_device", (), "f8", "s", "device clock, unwrapped"),
            "t_host": _growing(a, "t_host", (), "f8", "s", "host clock at arrival, from trial start"),
            "gaps": _growing(a, "gaps", (2,), "i8", "1", "first missing seq, frames missing (0 = unknown, reboot)"),
        }

    def start(self) -> None:
        self._file.swmr_mode = True
        self._thread.start()

    def write_frames(self, name: str, frames) -> None:
        if len(frames) or frames.gaps:
            self._queue.put(("frames", name, frames))

    def write_event(self, t_s: float, kind: str, rep: int = 0, side: str = "", severity: str = "",
                    phase: str = "", value: float = float("nan"), text: str = "") -> None:
        self._queue.put(("event", (t_s, kind, rep, side or "", severity or "", phase or "", value, text)))

    def close(self, device_stats: dict | None = None) -> None:
        """Flush everything, store the decoders' counters, mark the trial complete, close.

        If the writer thread failed (disk full, an HDF5 error) the file is closed as far as
        it can be and left incomplete, so ``forceplate recover`` can rebuild what was written,
        and a :class:`TrialError` says what went wrong.
        """
        if self._thread.is_alive():
            self._stopping.set()
            self._thread.join()
        elif self.error is None:  # after a failure the queue holds what cannot be written
            self._drain()
            self._flush()
        try:
            self._file.close()
        except Exception as exc:  # noqa: BLE001 - reported below with the thread's error
            self.error = self.error or exc
            UNCLOSABLE.append(self._file)
        if self.error is not None:
            problem = f"{type(self.error).__name__}: {one_line(self.error)}"
            raise TrialError(f"{self.path}: recording stopped, the trial could not be written ({problem}); "
                             f"what was written can be rebuilt with 'forceplate recover'") from self.error
        with h5py.File(self.path, "a") as f:
            for name, stats in (device_stats or {}).items():
                f["acquisition"][name].attrs["decoder_stats"] = json.dumps(stats)
            f.attrs["complete"] = True
        _compact(self.path)

    def _check_free_space(self) -> None:
        try:
            stat = os.statvfs(self.path.parent)
        except (OSError, AttributeError):  # no statvfs (Windows): HDF5's own error then
            return
        free = stat.f_bavail * stat.f_frsize
        if free < FREE_SPACE_RESERVE_BYTES:
            raise TrialError(f"disk nearly full ({free >> 10} kB free on {self.path.parent}); recording stopped, "
                             "the frames written up to now are kept")

    def _run(self) -> None:
        """Once a flush interval (or when closed), take what was handed over and append it: the
        thread wakes once a second, not at each hand-over (10 a second per device, each a
        switch between threads; issue 14). What waits in the queue is lost in a crash as
        frames not yet flushed were before."""
        try:
            self._check_free_space()
            while not self._stopping.wait(FLUSH_INTERVAL_S):
                self._drain()
                self._flush()
                self._check_free_space()
            self._drain()
            self._flush()
        except BaseException as exc:  # noqa: BLE001 - kept for the session to report
            self.error = exc

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            self._handle(item)

    def _handle(self, item) -> None:
        if item[0] == "event":
            _append(self._events, np.array([item[1]], dtype=EVENT_DTYPE))
            return
        _, name, frames = item
        if self._t0_host is None and len(frames):
            self._t0_host = float(frames.t_host_s[0])
        self._unstored.setdefault(name, []).append(frames)

    def _flush(self) -> None:
        """Append each device's frames handed over since the last flush, then flush the file.

        One append per dataset and flush: each costs a few h5py calls (resize, write, the
        chunk's filters) whatever its size, about 1 ms for a device's five datasets, so
        appending every block the session hands over (10 a second per device) took a few %
        of a core. Frames not yet flushed are lost in a crash either way.
        """
        for name, batches in self._unstored.items():
            ds = self._datasets[name]
            _append(ds["counts"], np.concatenate([f.counts for f in batches]))
            _append(ds["seq"], np.concatenate([f.seq for f in batches]))
            _append(ds["t_device"], np.concatenate([f.t_device_s for f in batches]))
            _append(ds["t_host"], np.concatenate([f.t_host_s for f in batches]) - (self._t0_host or 0.0))
            gaps = [gap for f in batches for gap in f.gaps]
            if gaps:
                _append(ds["gaps"], np.asarray(gaps, dtype=np.int64))
        self._unstored = {}
        self._file.flush()


def _compact(path: Path) -> None:
    """Put a compact copy of the closed trial ``path`` in its place.

    Each flush writes the chunks being filled again, compressed to a new size in a new place,
    and in SWMR mode HDF5 never reuses the space of their earlier versions: a closed recording
    holds about 2.5 times its data. A copy (each dataset with its filters) holds each chunk
    once. If the copy fails (no space, the file held open elsewhere on
    Windows) the trial stays as it is, complete and readable, only larger.
    """
    fresh = path.with_name(f"{path.name}.compacting")
    try:
        # HDF5 cannot close a file whose write failed for want of space (FREE_SPACE_RESERVE_BYTES):
        # copy only with room for a copy as large as the original.
        stat = os.statvfs(path.parent)
        if stat.f_bavail * stat.f_frsize < path.stat().st_size + FREE_SPACE_RESERVE_BYTES:
            return
    except (OSError, AttributeError):  # no statvfs (Windows): the copy's own error then
        pass
    try:
        with h5py.File(path, "r") as source, h5py.File(fresh, "x", libver="latest") as target:
            for key in source.attrs:  # each with its stored type (vlen strings stay vlen)
                target.attrs.create(key, source.attrs[key], dtype=source.attrs.get_id(key).dtype)
            for name in source:
                source.copy(source[name], target, name)
        os.replace(fresh, path)
    except OSError:
        fresh.unlink(missing_ok=True)


REP_DTYPE = np.dtype([
    (column, "i4" if column == "index" else "?" if column == "partial"
     else h5py.string_dtype() if unit in ("grade", "phase") else "f8")
    for column, unit in rep_table_units().items()
])


def write_results(path: str | Path, results: dict, parameters: dict, units: dict | None = None) -> None:
    """Store analysis results (``Analysis.as_dict()``) under /processing, replacing earlier ones.

    ``parameters`` (thresholds, toe-out, calibration used) go beside the algorithm version,
    so a reader knows how the table was made; the raw counts are left untouched. ``units``
    (dotted path -> unit) marks an exercise's results other than the squat's: its reps go in
    a flat table (:func:`~forceplate.storage.schema.flat_rep`) with those units.
    """
    # the table is built before the earlier results are deleted: a failure leaves those in place
    if units is None:
        table, table_units = np.array([rep_row(r) for r in results["reps"]], dtype=REP_DTYPE), rep_table_units()
    else:
        table, table_units = _flat_rep_table(results["reps"], units)
    try:
        f = h5py.File(path, "a")
    except OSError as exc:
        raise TrialError(f"{path}: cannot write analysis results ({exc}); is it still being recorded?") from None
    with f:
        if "processing" in f:
            del f["processing"]
        g = f.create_group("processing")
        summary = results["summary"]
        g.attrs["algorithm_version"] = summary["algorithm_version"]
        g.attrs["parameters"] = json.dumps(parameters)
        g.attrs["summary"] = json.dumps(summary)
        g.attrs["analysed"] = now_iso()
        g.attrs["software"] = f"forceplate {__version__}"
        if units is not None:
            g.attrs["rep_table"] = FLAT_REP_TABLE
        reps = g.create_dataset("reps", data=table)
        reps.attrs["unit"] = json.dumps(table_units)
        reps.attrs["description"] = "one row per rep; per-side columns are prefixed left_ / right_"


def _flat_rep_table(reps: list[dict], units: dict) -> tuple[np.ndarray, dict]:
    """An exercise's reps as one compound array and its units (column -> unit)."""
    flat = [flat_rep(r) for r in reps]
    names = list(dict.fromkeys(k for r in flat for k in r)) or ["index"]  # no reps (quiet standing): an empty table
    text = {k for r in flat for k, v in r.items() if v is not None and not isinstance(v, (bool, int, float))}
    # a count (the rep number) stays an integer; a number that can be missing is float64 with NaN
    whole = {k for k in names if all(isinstance(r.get(k), int) and not isinstance(r.get(k), bool) for r in flat)}

    def cell(r, k):
        v = r.get(k)
        if k in text:
            return "" if v is None else v if isinstance(v, str) else json.dumps(v)
        return v if k in whole else np.nan if v is None else float(v)

    dtype = np.dtype([(k, h5py.string_dtype() if k in text else "i8" if k in whole else "f8") for k in names])
    return np.array([tuple(cell(r, k) for k in names) for r in flat], dtype=dtype), {k: units.get(k, "") for k in names}


@dataclass
class DeviceArrays:
    """A whole device stream held in memory, for :func:`write_trial` (imports).

    ``counts`` (n, channels) are the source's values, float64 for imported files, each
    channel in ``channel_units``; ``calibration_toml`` turns them into N and N*m.
    """

    name: str
    profile: object  # DeviceProfile
    counts: np.ndarray
    channel_units: list[str]
    info: dict
    calibration_toml: str
    url: str = ""
    attrs: dict = field(default_factory=dict)  # extra /acquisition/<name> attributes (source file, parameters)


def write_trial(path: str | Path, devices: list[DeviceArrays], metadata: dict | None = None,
                events: list[tuple] = ()) -> None:
    """Write a complete trial at once from arrays (an imported recording), never overwriting.

    Each device gets a uniform clock (``seq`` 0..n-1, ``t_device`` = ``t_host`` = seq / rate)
    and no gaps; ``events`` are rows of :data:`EVENT_DTYPE` (t_s, kind, rep, side, severity,
    phase, value, text). The layout is the recorder's, so every reader reads it unchanged.
    """
    path = Path(path)
    if path.exists():
        raise TrialError(f"{path}: file exists; choose another name")
    for d in devices:
        if d.profile.sample_format != "float64":  # counts are kept in the profile's dtype
            raise TrialError(f"device {d.name}: an imported device's profile needs sample_format = \"float64\"")
    writer = TrialWriter(path, metadata)
    for d in devices:
        writer.add_device(d.name, _ArrayDevice(d))
        ds = writer._datasets[d.name]
        ds["counts"].attrs["channel_units"] = json.dumps(d.channel_units)
        ds["counts"].attrs["unit"] = "as channel_units"
        ds["counts"].attrs["description"] = "the imported file's values (float64); calibration turns them into N, N*m"
        for key, value in d.attrs.items():
            writer._file["acquisition"][d.name].attrs[key] = value
        n = len(d.counts)
        seq = np.arange(n, dtype=np.int64)
        _append(ds["counts"], np.asarray(d.counts, dtype=np.float64))
        _append(ds["seq"], seq)
        _append(ds["t_device"], seq / d.profile.rate_hz)
        _append(ds["t_host"], seq / d.profile.rate_hz)
    if len(events):
        _append(writer._events, np.array(list(events), dtype=EVENT_DTYPE))
    writer.close()


class _ArrayDevice:
    """The attributes :meth:`TrialWriter.add_device` reads, from a :class:`DeviceArrays`."""

    def __init__(self, d: DeviceArrays):
        self.url, self.info, self.profile = d.url, d.info, d.profile
        self.calibration = SimpleNamespace(toml_text=d.calibration_toml)
