"""Recovery of a trial file left by a crash (``forceplate recover``).

A killed recording leaves a file whose superblock still says "open for writing" (and
"SWMR writer" when SWMR mode was on): HDF5 then refuses a normal open. Recovery rebuilds
the readable content into a fresh, cleanly closed file:

1. if even an SWMR reader cannot open it, clear the status flags in a *copy* (what
   ``h5clear -s`` does; that tool is not on every machine, so it is done here);
2. read every device's rows up to the last flush, chunk by chunk: a damaged chunk (bad
   checksum) loses only its own rows, in every column, and becomes a gap; trim rows a crash
   cut short (one array grown, its neighbour not yet), keep the events;
3. write them to a new file, mark it ``recovered`` with a ``recovery`` report;
4. move the original aside to ``NAME.crashed.h5`` and put the new file in its place.

The original is never modified; it is only renamed once the new file is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import h5py
import numpy as np

from forceplate.errors import CorruptTrial, TrialError, one_line
from forceplate.storage.reader import check_fits_in_file, open_h5, read_header
from forceplate.storage.writer import FREE_SPACE_RESERVE_BYTES, now_iso

# Per-frame columns, appended together: a crash can leave them of different lengths.
FRAME_COLUMNS = ("counts", "seq", "t_device", "t_host")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 looks for the superblock at 0 and then at 512, 1024, 2048, ... (after a user block).
SUPERBLOCK_OFFSETS = (0, 512, 1024, 2048, 4096)


def recover_trial(path: str | Path) -> dict:
    """Rebuild ``path`` after a crash; returns what was kept (also stored as ``recovery``)."""
    path = Path(path)
    backup = path.with_name(f"{path.stem}.crashed{path.suffix}")
    fresh = path.with_name(f"{path.name}.recovering")
    work = path.with_name(f"{path.name}.unlocked")
    for other in (fresh, work):
        if other.exists():
            raise TrialError(f"{other}: exists (an interrupted recovery?); move it away first")
    _check_space(path)
    try:
        source, flags_cleared = _readable(path, work)
        read_header(source)  # refuses foreign files and newer schema versions
        report = {"path": str(path), "action": "recovered", "backup": str(backup),
                  "status_flags_cleared": flags_cleared}
        try:
            _rebuild(source, fresh, report)
        except OSError as exc:
            if exc.errno is not None:  # the file system's refusal (disk full), not HDF5's
                raise TrialError(f"{fresh}: cannot write the recovered trial ({exc.strerror}); "
                                 f"{path} is unchanged") from None
            raise CorruptTrial(f"{path}: damaged beyond recovery ({one_line(exc)}); the file is unchanged") from None
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise CorruptTrial(f"{path}: damaged beyond recovery ({one_line(exc)}); the file is unchanged") from None
        damaged = any(d["unreadable_rows"] for d in report["devices"].values())
        if report["was_closed"] and not (flags_cleared or damaged):
            return {"path": str(path), "action": "none",
                    "reason": "the file was closed cleanly and reads whole; nothing to recover"}
        if backup.exists():
            raise TrialError(f"{backup}: exists (an earlier recovery?); move it away first")
        os.replace(path, backup)
        os.replace(fresh, path)
        return report
    finally:
        for leftover in (fresh, work):
            leftover.unlink(missing_ok=True)


def _check_space(path: Path) -> None:
    """Refuse at once when the rebuilt file (and an unlocked copy) may not fit: HDF5 cannot
    close a file whose write failed for want of space (it crashes the process)."""
    try:
        stat = os.statvfs(path.parent)
        size = path.stat().st_size
    except (OSError, AttributeError):
        return
    free, needed = stat.f_bavail * stat.f_frsize, 2 * size + FREE_SPACE_RESERVE_BYTES
    if free < needed:
        raise TrialError(f"{path}: not enough free space to recover it ({free >> 20} MB free, "
                         f"{-(-needed >> 20)} MB needed); the file is unchanged")


def _readable(path: Path, work: Path) -> tuple[Path, bool]:
    """A path HDF5 can open read-only: the file itself, or an unlocked copy of it."""
    try:
        open_h5(path).close()
        return path, False
    except CorruptTrial as exc:
        if "locked" not in str(exc):
            raise
    try:
        shutil.copyfile(path, work)
    except OSError as exc:
        raise TrialError(f"{work}: cannot copy the trial to unlock it ({exc.strerror}); {path} is unchanged") from None
    clear_status_flags(work)
    return work, True


def _readable_rows(ds: h5py.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``ds`` that read back, chunk by chunk, and a mask of which rows they are.

    A chunk that does not read (bad checksum, cut short) loses its own rows only; every
    other chunk is kept, before and after it.
    """
    _fitting(ds)
    step = ds.chunks[0] if ds.chunks else max(ds.shape[0], 1)
    blocks, readable = [], np.zeros(ds.shape[0], bool)
    for start in range(0, ds.shape[0], step):
        try:
            blocks.append(ds[start:start + step])
        except (OSError, RuntimeError):
            continue
        readable[start:start + step] = True
    return (np.concatenate(blocks) if blocks else ds[:0]), readable


def _fitting(ds: h5py.Dataset) -> h5py.Dataset:
    """``ds``, unless its shape declares more than the file can hold (a damaged shape would
    make every row array below that long)."""
    check_fits_in_file(f"{ds.file.filename}:{ds.name}", ds, os.path.getsize(ds.file.filename))
    return ds


def _frame_rows(g: h5py.Group) -> tuple[dict[str, np.ndarray], int, int | None]:
    """Each per-frame column's rows where every column read back, how many rows that is,
    and the seq of the first stored frame when it was lost but its seq is known (else None)."""
    stored = min(_fitting(g[column]).shape[0] for column in FRAME_COLUMNS)
    keep = np.ones(stored, bool)
    rows, seq_readable = {}, None
    for column in FRAME_COLUMNS:
        values, readable = _readable_rows(g[column])
        full = np.zeros((g[column].shape[0], *values.shape[1:]), values.dtype)
        full[readable] = values
        rows[column] = full[:stored]
        keep &= readable[:stored]
        if column == "seq":
            seq_readable = readable[:stored]
    lost_first = int(rows["seq"][0]) if stored and not keep[0] and seq_readable[0] else None
    return {column: values[keep] for column, values in rows.items()}, int(keep.sum()), lost_first


def _damage_gaps(seq: np.ndarray) -> np.ndarray:
    """Gaps (first missing seq, count) wherever the kept frames' seq jump (the caller drops
    those the recorded gaps already give)."""
    if len(seq) < 2:
        return np.empty((0, 2), np.int64)
    jumps = np.flatnonzero(np.diff(seq) > 1)
    return np.column_stack([seq[jumps] + 1, seq[jumps + 1] - seq[jumps] - 1]).astype(np.int64)


def _copy(ds: h5py.Dataset, rows: np.ndarray, parent: h5py.Group) -> None:
    copy = parent.create_dataset(ds.name.rsplit("/", 1)[-1], data=rows, maxshape=ds.maxshape, chunks=ds.chunks,
                                 fletcher32=ds.fletcher32)
    for key, value in ds.attrs.items():
        copy.attrs[key] = value


def _rebuild(source: Path, fresh: Path, report: dict) -> None:
    """Copy the readable content of ``source`` into ``fresh``, trimmed, marked recovered."""
    report["devices"] = {}
    with open_h5(source) as src, h5py.File(fresh, "w", libver="latest") as dst:
        # complete: the recording ended normally; recovered: rebuilt before, closed cleanly then
        report["was_closed"] = bool(src.attrs.get("complete", False)) or "recovered" in src.attrs
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for group in ("devices", "processing"):
            if group in src:
                src.copy(src[group], dst, name=group)
        acquisition = dst.create_group("acquisition")
        for name, g in src["acquisition"].items():
            out = acquisition.create_group(name)
            for key, value in g.attrs.items():
                out.attrs[key] = value
            stored = [g[column].shape[0] for column in FRAME_COLUMNS]
            columns, frames, lost_first = _frame_rows(g)
            for column, rows in columns.items():
                _copy(g[column], rows, out)
            gaps, gaps_readable = _readable_rows(g["gaps"])
            damaged = min(stored) - frames
            if damaged:  # where damaged chunks took frames, the seq jumps: record the holes as gaps
                recorded = {int(first) for first, _ in gaps}
                extra = [row for row in _damage_gaps(columns["seq"]) if int(row[0]) not in recorded]
                if lost_first is not None and frames:  # the first frames are gone: the trial now starts later
                    extra.append([lost_first, int(columns["seq"][0]) - lost_first])
                gaps = np.concatenate([gaps, np.asarray(extra, np.int64).reshape(-1, 2)])
                gaps = gaps[np.argsort(gaps[:, 0], kind="stable")]
            _copy(g["gaps"], gaps, out)
            rate_hz = float(np.asarray(g.attrs["rate_hz"]).reshape(-1)[0])
            # trimmed: rows some columns had and others not (cut short); unreadable: lost to damage
            report["devices"][name] = {"frames": frames, "seconds": round(frames / rate_hz, 3) if rate_hz > 0 else None,
                                       "trimmed_rows": max(stored) - min(stored), "unreadable_rows": damaged,
                                       "unreadable_gap_rows": int((~gaps_readable).sum())}
        events = _readable_rows(src["events"])[0]
        _copy(src["events"], events, dst)
        report["events"] = len(events)
        dst.attrs["recovered"] = now_iso()
        dst.attrs["recovery"] = json.dumps(report)


def clear_status_flags(path: Path) -> None:
    """Clear the superblock's file-consistency flags (``h5clear -s``) of a v2/v3 superblock.

    Layout (HDF5 file format spec, superblock v2/v3): signature, version, size of offsets,
    size of lengths, consistency flags (1 byte), four addresses, Jenkins lookup3 checksum.
    """
    with open(path, "r+b") as f:
        for offset in SUPERBLOCK_OFFSETS:
            f.seek(offset)
            head = f.read(12)
            if head[:8] == HDF5_SIGNATURE:
                break
        else:
            raise CorruptTrial(f"{path}: no HDF5 superblock found")
        version, size_of_offsets = head[8], head[9]
        if version < 2:
            raise CorruptTrial(f"{path}: HDF5 superblock version {version} has no status flags to clear")
        length = 12 + 4 * size_of_offsets
        f.seek(offset)
        block = bytearray(f.read(length))
        block[11] = 0
        f.seek(offset)
        f.write(bytes(block) + struct.pack("<I", lookup3(bytes(block))))


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``, as HDF5's ``H5_checksum_lookup3`` computes it."""
    m = 0xFFFFFFFF
    a = b = c = (0xDEADBEEF + len(data) + initval) & m
    rest = data
    while len(rest) > 12:
        a = (a + int.from_bytes(rest[0:4], "little")) & m
        b = (b + int.from_bytes(rest[4:8], "little")) & m
        c = (c + int.from_bytes(rest[8:12], "little")) & m
        a = (a - c) & m; a ^= _rot(c, 4); c = (c + b) & m  # noqa: E702 - the mix, as published
        b = (b - a) & m; b ^= _rot(a, 6); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= _rot(b, 8); b = (b + a) & m  # noqa: E702
        a = (a - c) & m; a ^= _rot(c, 16); c = (c + b) & m  # noqa: E702
        b = (b - a) & m; b ^= _rot(a, 19); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= _rot(b, 4); b = (b + a) & m  # noqa: E702
        rest = rest[12:]
    if not rest:
        return c
    tail = rest.ljust(12, b"\0")  # the published tail switch adds only the bytes present
    a = (a + int.from_bytes(tail[0:4], "little")) & m
    b = (b + int.from_bytes(tail[4:8], "little")) & m
    c = (c + int.from_bytes(tail[8:12], "little")) & m
    c ^= b; c = (c - _rot(b, 14)) & m  # noqa: E702 - the final mix, as published
    a ^= c; a = (a - _rot(c, 11)) & m  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & m  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & m  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & m  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & m  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & m  # noqa: E702
    return c
