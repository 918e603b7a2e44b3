"""Reading trials: ``open_trial(path)`` -> :class:`Trial` with numpy arrays, metadata and stored results."""

from __future__ import annotations

import json
import math
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from forceplate import storage
from forceplate.errors import CalibrationError, CorruptTrial, ProfileError, UnsupportedSchema, one_line
from forceplate.storage.probe import check_finishes
from forceplate.storage.schema import FLAT_REP_TABLE, READABLE_VERSIONS, REP_COLUMNS, SCHEMA, SCHEMA_VERSION, SIDE_COLUMNS, SIDES
from forceplate.storage.schema import nested_rep

if TYPE_CHECKING:  # parse_record and parse_profile are imported where a device is read: a header needs neither
    from forceplate.calibration.record import CalibrationRecord
    from forceplate.profiles import DeviceProfile


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
    # (trial time s, frames skipped) of each gap too long to keep on the grid: see grid_index
    discontinuities: list = field(default_factory=list)

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
        index = self.grid_index()
        physical = record.to_physical(self.counts)
        if index[-1] + 1 == len(index):  # no frame lost: the grid is the frames
            newtons = physical
        else:
            newtons = np.full((int(index[-1]) + 1, self.profile.n_channels), np.nan)
            newtons[index] = physical
        del physical
        t = np.arange(len(newtons)) / self.rate_hz
        return t, newtons

    def grid_index(self) -> np.ndarray:
        """Each frame's row on the uniform grid: its seq minus the first, except that the grid
        holds at most :data:`MAX_GAP_S` of NaN per gap and, over the trial, at most
        :data:`MAX_LOST_RATIO` times the frames received (and never less than one long gap).

        A longer hole (a device whose sequence numbers jump, a damaged file) becomes a
        discontinuity: the frames after it follow on after ``MAX_GAP_S``, so later rows sit
        earlier than their seq says, and :attr:`discontinuities` lists each one as
        (trial time of the first frame after it in s, frames skipped). Memory stays bounded
        by the frames actually stored.
        """
        holes = np.diff(self.seq)
        holes -= 1  # in place, as the steps below: an hour's frames are 29 MB an int64 array
        longest = int(MAX_GAP_S * self.rate_hz)
        budget = max(longest, int(MAX_LOST_RATIO * len(self.seq)))
        capped = np.minimum(holes, longest)
        if capped.sum() > budget:  # many plausible-looking gaps: keep the shortest, cap the rest
            order = np.argsort(capped, kind="stable")
            over = np.cumsum(capped[order]) > budget
            capped[order[over]] = 0
        cut = np.flatnonzero(capped < holes)
        skipped = holes[cut] - capped[cut]
        del holes
        capped += 1  # each frame's step on the grid
        index = np.zeros(len(self.seq), dtype=np.int64)
        np.cumsum(capped, out=index[1:])
        self.discontinuities = [(float(index[i + 1] / self.rate_hz), int(frames)) for i, frames in zip(cut, skipped)]
        return index


    def rows(self, column: str, block: slice) -> np.ndarray:
        """``column``'s rows ``block`` ("counts", "t_device_s" or "t_host_s"): a slice of the
        array, or for a stored trial's column not read yet, read from the file alone."""
        return getattr(self, column)[block]

    def release(self) -> None:
        """Let go of columns read from the trial file (a stored trial's: read again when next
        used), so a long trial's raw counts are not held beside the analysis' arrays."""


class StoredColumn:
    """A per-frame column of a trial file, read when first used: a plate analysis reads its
    counts a block at a time and never the device and host clocks (an hour at 1 kHz: 58 MB)."""

    def __init__(self, path: Path, name: str, rows: int):
        self.path, self.name, self.rows = path, name, rows

    def read(self, block: slice = slice(None)) -> np.ndarray:
        """The column's rows ``block`` (of its first ``rows``, what the trial was opened with)."""
        lo, hi, _ = block.indices(self.rows)
        for attempt in range(LIVE_READ_ATTEMPTS):
            try:
                # the file's metadata was probed when the trial was opened: not again for each block
                with _reading(self.path, probe=False) as f:
                    values = f[self.name][lo:max(lo, hi)]
                break
            except _LiveReadFailed as exc:
                if attempt == LIVE_READ_ATTEMPTS - 1:
                    raise CorruptTrial(str(exc)) from None
                time.sleep(0.2)
        if len(values) != max(0, hi - lo):
            raise CorruptTrial(f"{self.path}:/{self.name}: shorter than when the trial was opened (the file changed)")
        return values


class StoredDeviceRecording(DeviceRecording):
    """A device of a trial file (:func:`open_trial`): its counts and clocks are
    :class:`StoredColumn` until first used, then held like any recording's (its sequence
    numbers are read at once, to check them, and may be let go like the others)."""

    def _lazy(column: str):  # noqa: N805 (a property maker used in the class body)
        def get(self):
            value = self.__dict__[column]
            if isinstance(value, StoredColumn):
                self.__dict__.setdefault("_sources", {})[column] = value
                value = self.__dict__[column] = value.read()
            return value

        def put(self, value):
            self.__dict__.get("_sources", {}).pop(column, None)  # what is set now is not released
            self.__dict__[column] = value

        return property(get, put)

    counts, seq, t_device_s, t_host_s = _lazy("counts"), _lazy("seq"), _lazy("t_device_s"), _lazy("t_host_s")

    def held_from(self, column: str, values: np.ndarray, source: StoredColumn) -> None:
        """``column`` read already (``values``, from ``source``): held, and let go by :meth:`release`."""
        self.__dict__[column] = values
        self.__dict__.setdefault("_sources", {})[column] = source
    del _lazy

    def rows(self, column: str, block: slice) -> np.ndarray:
        value = self.__dict__[column]
        return value.read(block) if isinstance(value, StoredColumn) else value[block]

    def release(self) -> None:
        self.__dict__.update(self.__dict__.pop("_sources", {}))


# A longer gap in a device's sequence numbers is not kept as NaN rows (see grid_index).
MAX_GAP_S = 60.0
MAX_LOST_RATIO = 10.0


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
    """A trial file as read: its header, each device's recording (counts and clocks read from
    the file when first used) and the session's events."""

    devices: dict[str, DeviceRecording]
    events: np.ndarray


def stored_text(value) -> str:
    """A string h5py gives back (bytes, or str): a byte that is no UTF-8 (a damaged file)
    becomes U+FFFD, so what the text says is still shown and the rest read."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def open_h5(path: str | Path, probe: bool = True) -> h5py.File:
    """Open a trial file read-only; as an SWMR reader when a recording holds it or was killed.

    Raises :class:`CorruptTrial` with a one-line reason (missing, not HDF5, truncated, left
    locked by a crash that only ``forceplate recover`` can clear, metadata on which the HDF5
    library hangs or crashes, otherwise unreadable). Only a file whose superblock says "open
    for writing" is re-opened as an SWMR reader, and then with few metadata read attempts:
    HDF5 retries a bad checksum with a doubling back-off (its default of 100 attempts sleeps
    for minutes on a damaged file).
    """
    path = Path(path)
    if not path.exists():
        raise CorruptTrial(f"{path}: no such file")
    if not path.is_file():
        raise CorruptTrial(f"{path}: not a file")
    if probe and storage.probe_metadata:
        check_finishes(path, _walk_metadata)
    return _open_checked(path)


def _open_checked(path: Path) -> h5py.File:
    try:
        if not h5py.is_hdf5(path):
            raise CorruptTrial(f"{path}: not an HDF5 file" + _import_hint(path))
        return _refusing_foreign_storage(path, h5py.File(path, "r"))
    except (OSError, RuntimeError) as exc:  # h5py raises RuntimeError for some damaged superblocks
        first = one_line(exc)
    truncated = re.search(r"truncated file: eof = (\d+).*stored_eof = (\d+)", first)
    if truncated:
        raise CorruptTrial(f"{path}: file is truncated ({truncated[1]} of {truncated[2]} bytes present); "
                           "it cannot be read")
    if "already open for write" not in first:
        raise CorruptTrial(f"{path}: HDF5 file cannot be opened ({first})")
    try:
        return _refusing_foreign_storage(path, _open_swmr_reader(path))
    except (OSError, RuntimeError):
        raise CorruptTrial(f"{path}: the recording did not finish and left the file locked; "
                           f"run 'forceplate recover {path}'") from None


# Events and results tables, text, attributes: walked whole (their strings are in the global heaps);
# what declares more is not read (a damaged shape could ask for terabytes).
SMALL_DATASET_BYTES = 1 << 20


def _walk_metadata(path: Path) -> None:
    """Touch every piece of metadata a read of ``path`` can touch: each object header,
    attribute and chunk index, and small datasets of anything but plain numbers whole (run by :mod:`forceplate.storage.probe`,
    in another process; h5py's low-level calls, a third faster than its objects). Errors are
    skipped: only whether it finishes, and within the prober's memory, matters."""
    try:
        f = h5py.File(path, "r")
    except (OSError, RuntimeError):
        try:
            f = _open_swmr_reader(path)
        except (OSError, RuntimeError):
            return
    with f:  # closed at once: an open read keeps a lock the caller's own write would wait for
        objects = 0

        def visit(name: bytes):
            nonlocal objects
            objects += 1
            _quietly(lambda: _touch_object(h5py.h5o.open(f.id, name)))
            return 1 if objects >= MAX_OBJECTS else None  # a value other than None stops the visit

        _quietly(lambda: _touch_object(h5py.h5o.open(f.id, b"/")))
        _quietly(lambda: h5py.h5o.visit(f.id, visit))  # objects reached by hard links only: no other file


def _touch_object(item) -> None:
    for index in range(h5py.h5a.get_num_attrs(item)):
        _quietly(lambda: _read_attribute(item, index))
    if isinstance(item, h5py.h5d.DatasetID):
        plist = item.get_create_plist()
        if plist.get_layout() == h5py.h5d.CHUNKED:
            item.get_num_chunks()  # walks the chunk index
        # data kept elsewhere (another file, a FIFO) is refused by the real read, never read
        foreign = plist.get_layout() == h5py.h5d.VIRTUAL or plist.get_external_count() > 0
        stored_bytes = item.get_space().get_simple_extent_npoints() * item.get_type().get_size()
        # plain numbers (the per-frame columns) keep nothing outside their own chunks, whose
        # index is walked above; reading them whole too (inflating a minute's clocks and
        # sequence numbers) cost the prober more than the rest of its walk
        numbers = item.get_type().get_class() in (h5py.h5t.INTEGER, h5py.h5t.FLOAT)
        if not foreign and not numbers and stored_bytes <= SMALL_DATASET_BYTES:
            item.read(h5py.h5s.ALL, h5py.h5s.ALL, np.empty(item.shape, item.dtype))


def _read_attribute(item, index: int) -> None:
    attribute = h5py.h5a.open(item, index=index)
    if attribute.get_space().get_simple_extent_npoints() * attribute.get_type().get_size() <= SMALL_DATASET_BYTES:
        attribute.read(np.empty(attribute.shape, attribute.dtype))  # strings: from their global heap


def _quietly(step) -> None:
    """``step()``, its errors skipped, except running out of memory (what the prober reports)."""
    try:
        step()
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        if "memory allocation failed" in str(exc).lower():  # HDF5's words when malloc returns NULL
            raise MemoryError(str(exc)) from None


SWMR_METADATA_READ_ATTEMPTS = 10  # enough for a read racing the writer's flush; back-off stays < 0.1 s


def _open_swmr_reader(path: Path) -> h5py.File:
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)
    if not _bound_metadata_read_attempts(fapl):
        raise OSError("cannot bound HDF5's metadata read attempts")
    fid = h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    return h5py.File(fid)


def _bound_metadata_read_attempts(fapl) -> bool:
    """``H5Pset_metadata_read_attempts`` (h5py does not wrap it) from the HDF5 library h5py loaded."""
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            libraries = {line.split()[-1] for line in maps if "libhdf5" in line and "hl" not in line.rsplit("/", 1)[-1]}
        for library in libraries:
            setter = getattr(ctypes.CDLL(library), "H5Pset_metadata_read_attempts", None)
            if setter is not None:
                return setter(ctypes.c_int64(fapl.id), ctypes.c_uint(SWMR_METADATA_READ_ATTEMPTS)) >= 0
    except OSError:
        pass
    return False


LIVE_READ_ATTEMPTS = 3  # a trial being recorded may be caught mid-flush: read it again


class _LiveReadFailed(CorruptTrial):
    """A read of a trial still being recorded failed; another read a little later may succeed."""


def open_trial(path: str | Path) -> Trial:
    """Read a whole trial into memory; raises :class:`CorruptTrial` or :class:`UnsupportedSchema`.

    A trial still being recorded (opened as an SWMR reader, ``complete`` false) can be caught
    while the writer is flushing, which HDF5 reports as a damaged read; it is read again, a
    little later. A finished file that reads damaged is reported at once.
    """
    path = Path(path)
    for _ in range(LIVE_READ_ATTEMPTS - 1):
        try:
            return _read_trial(path)
        except _LiveReadFailed:
            time.sleep(0.2)
    try:
        return _read_trial(path)
    except _LiveReadFailed as exc:
        raise CorruptTrial(str(exc)) from None


def _read_trial(path: Path) -> Trial:
    with _reading(path) as f:
        header = _header(path, f)
        return Trial(header.path, header.attrs, header.results, _devices(path, f), f["events"][()])


IMPORTABLE_SUFFIXES = (".c3d", ".mot", ".sto", ".csv", ".txt")


def _import_hint(path: Path) -> str:
    """For a file ``forceplate import`` reads: how to make a trial of it."""
    if path.suffix.lower() not in IMPORTABLE_SUFFIXES:
        return ""
    return f"; import it first: forceplate import {path} -o {path.with_suffix('.h5').name}"


def read_header(path: str | Path) -> TrialHeader:
    """Metadata and stored results only: fast enough to list a folder of trials."""
    path = Path(path)
    with _reading(path) as f:
        return _header(path, f)


@contextmanager
def _reading(path: Path, probe: bool = True):
    """An open trial file; HDF5 failures while reading become one-line :class:`CorruptTrial`."""
    f = open_h5(path, probe)
    live = f.swmr_mode
    try:
        with f:
            live = live and not _flag(f.attrs.get("complete", False))
            yield f
    except (KeyError, ValueError, TypeError, OSError, RuntimeError, ProfileError, CalibrationError) as exc:
        error = _LiveReadFailed if live else CorruptTrial
        raise error(f"{path}: damaged trial ({one_line(exc)}); "
                    f"'forceplate recover' keeps what is readable") from None


# Root attributes that come from outside (whoever wrote the file): their kind and, for
# numbers, the plausible range. Anything else is kept as it is and never computed with.
NUMBER_ATTRS = {"load_kg": (0.0, 1000.0), "setup_toe_out_deg": (-90.0, 90.0), "setup_toe_out_left_deg": (-90.0, 90.0),
                "setup_toe_out_right_deg": (-90.0, 90.0)}
TEXT_ATTRS = ("subject", "exercise", "notes", "created", "software", "recovered", "recovery")
MAX_OBJECTS = 10_000  # a trial holds tens; a file with more is not one


def _flag(value) -> bool:
    value = np.asarray(value)
    if value.shape != () or value.dtype.kind not in "biu":
        raise TypeError(f"a flag holds {value.dtype}{list(value.shape)}, not one boolean")
    return bool(value)


def _scalar_attr(path: Path, name: str, value):
    """A root attribute checked against its kind (and range): a damaged or hand-made trial
    names the field instead of failing later inside the analysis."""
    array = np.asarray(value)
    if name in NUMBER_ATTRS:
        low, high = NUMBER_ATTRS[name]
        if array.shape != () or array.dtype.kind not in "iuf" or not (low <= float(array) <= high):
            raise CorruptTrial(f"{path}: attribute {name} is {_shown(value)}, not a number in [{low:g}, {high:g}]")
        return float(array)
    if name in TEXT_ATTRS:
        if array.shape != () or not isinstance(value, (bytes, str)):
            raise CorruptTrial(f"{path}: attribute {name} is {_shown(value)}, not text")
        try:
            return stored_text(value)
        except UnicodeDecodeError:
            raise CorruptTrial(f"{path}: attribute {name} is not UTF-8 text") from None
    return stored_text(value) if isinstance(value, (bytes, str)) else value


def _shown(value) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _header(path: Path, f: h5py.File) -> TrialHeader:
    attrs = {k: _scalar_attr(path, k, v) for k, v in f.attrs.items()}
    if attrs.get("schema") != SCHEMA:
        raise CorruptTrial(f"{path}: HDF5 file is not a forceplate trial (no schema='{SCHEMA}' attribute)")
    version = np.asarray(attrs.get("schema_version", 0))
    if version.shape != () or version.dtype.kind not in "iu":
        raise CorruptTrial(f"{path}: schema_version is {_shown(attrs.get('schema_version'))}, not a whole number")
    version = int(version)
    if version not in READABLE_VERSIONS:
        if version > SCHEMA_VERSION:
            raise UnsupportedSchema(f"{path}: trial schema version {version} is newer than this forceplate reads "
                                    f"({SCHEMA_VERSION}); upgrade forceplate")
        raise CorruptTrial(f"{path}: unknown trial schema version {version}")
    for name in ("complete",):
        if name in attrs:
            try:
                attrs[name] = _flag(attrs[name])
            except TypeError as exc:
                raise CorruptTrial(f"{path}: attribute {name}: {exc}") from None
    return TrialHeader(path, attrs, _results(f["processing"]) if "processing" in f else None)


def _refusing_foreign_storage(path: Path, f: h5py.File) -> h5py.File:
    """``f`` when every object is inside the file itself, else closed and refused.

    A trial handed over could hold an external link, external raw storage or a virtual
    dataset: reading it would read another file of this host (``/etc/passwd`` as counts).
    """
    try:
        stat = path.stat()
        version = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if version in _SELF_CONTAINED:  # checked when opened before (a column read a block at a time)
            return f
        problem = _foreign_storage(f)
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        f.close()
        raise CorruptTrial(f"{path}: damaged trial ({one_line(exc)}); 'forceplate recover' keeps what is readable") from None
    if problem:
        f.close()
        raise CorruptTrial(f"{path}: {problem}; a trial keeps all its data inside the file, refused")
    _SELF_CONTAINED.add(version)
    return f


# (device, inode, size, modification time) of each file version found to keep all its data
# inside itself: walking a trial's objects costs about as much as reading its header
_SELF_CONTAINED: set[tuple] = set()


def _foreign_storage(f: h5py.File) -> str | None:
    """What of ``f`` keeps its data outside the file, or None; by h5py's low-level calls (its
    objects cost three times as much: about a millisecond for a trial)."""
    pending, seen = [("", f.id)], 0
    while pending:
        parent, group = pending.pop()
        for name in group:
            seen += 1
            if seen > MAX_OBJECTS:
                return f"more than {MAX_OBJECTS} objects"
            where = f"{parent}/{_link_name(name)}"
            kind = group.links.get_info(name).type
            if kind == h5py.h5l.TYPE_EXTERNAL:
                filename, target = group.links.get_val(name)
                return f"{where} is an external link to {os.fsdecode(filename)}:{_link_name(target)}"
            if kind == h5py.h5l.TYPE_SOFT:
                return f"{where} is a soft link to {_link_name(group.links.get_val(name))}"
            if kind != h5py.h5l.TYPE_HARD:
                raise TypeError("Unknown link type")  # as h5py's objects say it
            item = h5py.h5o.open(group, name)
            if isinstance(item, h5py.h5g.GroupID):
                pending.append((where, item))
            elif isinstance(item, h5py.h5d.DatasetID):
                plist = item.get_create_plist()
                if plist.get_layout() == h5py.h5d.VIRTUAL:
                    return f"{where} is a virtual dataset (its data is in other files)"
                if plist.get_external_count() > 0:
                    return f"{where} keeps its data in an external file"
    return None


def _link_name(raw: bytes):
    """A link's name (or target) as h5py's objects give it: text when UTF-8, else the bytes."""
    try:
        return raw.decode("utf8")
    except UnicodeDecodeError:
        return raw


def _results(g: h5py.Group) -> dict:
    """/processing back into the shape of ``Analysis.as_dict()`` (empty cells -> None)."""
    table = g["reps"][()]
    # column by column, as Python values (``tolist``: a thousand numpy scalars of a table
    # taken one cell at a time cost ~3 ms of a header read)
    columns = {name: _cells(table[name]) for name in table.dtype.names or ()}
    rows = [dict(zip(columns, cells)) for cells in zip(*columns.values())] if columns else [{}] * len(table)
    flat = stored_text(g.attrs.get("rep_table", "")) == FLAT_REP_TABLE  # an exercise other than the squat
    if flat:
        if not columns:
            raise TypeError("/processing/reps holds no columns")  # a damaged trial, as any unreadable results
        reps = [nested_rep(row) for row in rows]
    else:  # results of older versions lack the newer columns
        reps = [{**{name: row.get(name) for name in REP_COLUMNS},
                 **{side: {name: row.get(f"{side}_{name}") for name in SIDE_COLUMNS} for side in SIDES}} for row in rows]
    documents = {name: json.loads(stored_text(g.attrs[name])) for name in ("summary", "parameters")}
    for name, value in documents.items():
        if not isinstance(value, dict):
            raise CorruptTrial(f"{g.file.filename}:/processing: attribute {name} is not a JSON object")
    return {"reps": reps, **documents, "analysed": stored_text(g.attrs["analysed"])}


def _cells(column: np.ndarray) -> list:
    """A results column's cells as JSON values: text (empty -> None), booleans, whole numbers,
    numbers (NaN -> None). A column of scalars is converted at once; anything else (a damaged
    or hand-made table) cell by cell, as numpy gives them."""
    values = column.tolist() if column.ndim == 1 and column.dtype.shape == () and column.dtype.names is None \
        else list(column)
    return [_cell(value) for value in values]


def _cell(value):
    if isinstance(value, bytes):
        return value.decode() or None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return None if math.isnan(value) else value


def _devices(path: Path, f: h5py.File) -> dict[str, DeviceRecording]:
    from forceplate.calibration.record import parse_record
    from forceplate.profiles import parse_profile

    devices = {}
    file_bytes = path.stat().st_size
    for name, g in f["devices"].items():
        a = f["acquisition"][name]
        where = f"{path}:/acquisition/{name}"
        cal_text = stored_text(g.attrs.get("calibration", ""))
        info = json.loads(stored_text(g.attrs["info"]))
        if not isinstance(info, dict):
            raise CorruptTrial(f"{path}:/devices/{name}: attribute info is not a JSON object")
        profile = parse_profile(stored_text(g.attrs["profile"]), where=f"{path}:/devices/{name} profile")
        stats = json.loads(stored_text(a.attrs.get("decoder_stats", "{}")))
        datasets = {column: _dataset(where, a, column, file_bytes) for column in ("counts", "seq", "t_device", "t_host", "gaps")}
        _check_shapes(where, datasets, profile.n_channels, profile.wire_dtype)
        # rows appended together may be cut short by a crash (one column grown, the next not
        # yet): every per-frame column is read to the common length
        rows = min(len(datasets[column]) for column in ("counts", "seq", "t_device", "t_host"))
        recording = StoredDeviceRecording(
            name=name,
            info=info,
            profile=profile,
            calibration=parse_record(cal_text, source=f"{path}:/devices/{name} calibration") if cal_text else None,
            counts=StoredColumn(path, f"acquisition/{name}/counts", rows),
            seq=StoredColumn(path, f"acquisition/{name}/seq", rows),
            t_device_s=StoredColumn(path, f"acquisition/{name}/t_device", rows),
            t_host_s=StoredColumn(path, f"acquisition/{name}/t_host", rows),
            gaps=datasets["gaps"][()],
            stats=stats if isinstance(stats, dict) else {},
        )
        recording.held_from("seq", datasets["seq"][:rows], recording.__dict__["seq"])  # checked here, so read now
        if len(recording.seq) > 1 and not (np.diff(recording.seq) > 0).all():
            raise CorruptTrial(f"{where}/seq: sequence numbers do not increase frame by frame")
        devices[name] = recording
    return devices


def raw_value_count(path: str | Path) -> int:
    """How many raw values (frames times channels, all devices) the trial holds, from the
    datasets' shapes alone: what analysing it will cost, before reading any of it."""
    path = Path(path)
    with _reading(path) as f:
        return sum(int(np.prod(a["counts"].shape)) for a in f["acquisition"].values())


DEFLATE_MAX_EXPANSION = 1032


def _dataset(where: str, a: h5py.Group, column: str, file_bytes: int) -> h5py.Dataset:
    ds = a[column]
    if not isinstance(ds, h5py.Dataset):
        raise CorruptTrial(f"{where}/{column}: not a dataset")
    check_fits_in_file(f"{where}/{column}", ds, file_bytes)
    return ds


def check_fits_in_file(where: str, ds: h5py.Dataset, file_bytes: int) -> None:
    """Refuse a dataset declaring more bytes than the file holds: chunks never written read
    as fill values, so a damaged shape could ask for terabytes. A compressed dataset (trials
    since issue 14) holds more than its stored bytes, but deflate expands at most 1032-fold."""
    compressed = ds.compression is not None  # read from the dataset's creation properties: once
    if not compressed and ds.nbytes > file_bytes + (1 << 20):
        raise CorruptTrial(f"{where}: declares {ds.shape} ({ds.nbytes:,} bytes), more than the "
                           f"{file_bytes:,}-byte file holds")
    if compressed and ds.nbytes > DEFLATE_MAX_EXPANSION * ds.id.get_storage_size() + (1 << 20):
        raise CorruptTrial(f"{where}: declares {ds.shape} ({ds.nbytes:,} bytes), more than its "
                           f"{ds.id.get_storage_size():,} compressed bytes can hold")


def _check_shapes(where: str, columns: dict[str, h5py.Dataset], n_channels: int, wire_dtype) -> None:
    """Each per-frame column has the schema's shape and kind of number, or the trial is refused
    (from the datasets' shapes and types: nothing is read)."""
    expected = {"counts": ((None, n_channels), "iuf"), "seq": ((None,), "iu"), "t_device": ((None,), "f"),
                "t_host": ((None,), "f"), "gaps": ((None, 2), "iu")}
    for column, (shape, kinds) in expected.items():
        values = columns[column]
        fits = values.ndim == len(shape) and all(want is None or want == got for want, got in zip(shape, values.shape))
        if not fits or values.dtype.kind not in kinds:
            raise CorruptTrial(f"{where}/{column}: {values.dtype}{list(values.shape)}, the schema says "
                               f"{'x'.join('n' if d is None else str(d) for d in shape)} of kind {kinds}")
    if columns["counts"].dtype != np.dtype(wire_dtype):
        raise CorruptTrial(f"{where}/counts: stored as {columns['counts'].dtype}, the device's profile "
                           f"sends {np.dtype(wire_dtype)}")
