"""The library index: what ``trials`` lists and ``compare`` compares of each trial whose
analysis results are stored in it, kept beside the trials in the user's cache folder, so that
asking again reads no HDF5 file. Reading one costs the import of numpy and h5py, 0.3 s of
CPU; a listing or a comparison answered from the index imports neither (issue 14).

An entry is one small JSON file per trial and question (``kind``: ``trials``, ``compare``;
``context``: the options the answer depends on), valid only for the file exactly as it was:
its absolute path, size, modification and change times (ns), inode and device, and for the
code that made it (:func:`code_stamp`: every module of this package). Anything else (no
entry, another file, other code, a damaged or unreadable entry, a cache folder that cannot
be written) is a miss: the caller reads the trial as it would without the index and stores
what it found. The index never holds a result the file does not: only what the file's
stored results give, never a fresh analysis.

Where: ``$FORCEPLATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/forceplate``, else
``~/.cache/forceplate`` (never the data folder: it may be read-only, shared, or on a
stick that another machine writes); ``FORCEPLATE_NO_CACHE=1`` turns it off. Deleting the
folder loses nothing but time.
"""

from __future__ import annotations

import json
import os
import stat
import time
import zlib
from pathlib import Path

FORMAT = 1  # of an entry; an entry of another format is a miss
CACHE_DIR_ENV, NO_CACHE_ENV = "FORCEPLATE_CACHE_DIR", "FORCEPLATE_NO_CACHE"
INDEX_FOLDER = "library-index"
# A file changed less than this long ago may change again within the same tick of its clock
# (FAT keeps modification times to 2 s) without its size or times changing: not stored yet.
SETTLED_S = 2.0
MAX_ENTRY_BYTES = 1 << 20  # a thousand-rep trial's comparison is ~200 kB; larger: not stored
# The folder's bounds, kept by pruning the oldest entries after a run that stored some.
MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 64 << 20
PRUNED_TO = 0.9  # of each bound, so that pruning is not needed again on the next run
STALE_TEMP_S = 3600.0  # a temporary file this old was left by a process that died writing


def cache_dir() -> Path | None:
    """The folder the index lives in, or None when the cache is turned off."""
    if os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        return None
    base = os.environ.get(CACHE_DIR_ENV)
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = os.path.join(xdg, "forceplate") if xdg else os.path.join(os.path.expanduser("~"), ".cache", "forceplate")
    return Path(base) / INDEX_FOLDER


_stamp: str | None = None


def code_stamp() -> str:
    """What identifies this package's code: where it is and each module's size and
    modification time (a checkout edited in place, another worktree or another version all
    differ). ~0.5 ms for its hundred-odd modules, once per process."""
    global _stamp
    if _stamp is None:
        package = Path(__file__).resolve().parent.parent
        lines = [str(package)]
        for folder, subfolders, files in os.walk(package):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for name in sorted(f for f in files if f.endswith(".py")):
                info = os.stat(os.path.join(folder, name))
                lines.append(f"{os.path.relpath(os.path.join(folder, name), package)} {info.st_size} {info.st_mtime_ns}")
        text = "\n".join(lines).encode()
        _stamp = f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}{len(lines)}"
    return _stamp


def file_identity(path) -> list | None:
    """The trial file as it is now: absolute path, size (bytes), modification and change
    times (ns), inode, device; None when it cannot be stat'ed (the caller's read says why).
    The change time is the kernel's: no tool sets it back, as ``touch -d`` or ``cp -p`` do the
    modification time (on Windows it is the creation time, which does not see that)."""
    absolute = os.path.abspath(path)
    try:
        info = os.stat(absolute)
    except (OSError, ValueError):
        return None
    return [absolute, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


class LibraryIndex:
    """The entries of one ``kind`` of answer under one ``context`` (a text naming the
    options the answer depends on). ``lookup(path)`` gives ``(value, identity)``: the stored
    value (None on a miss) and the file's identity taken before the caller reads it, which
    ``store(identity, value)`` checks again after the read. Never raises."""

    def __init__(self, kind: str, context: str = ""):
        self.kind, self.context = kind, context
        self.folder = cache_dir()
        self._stored_any = False

    def _entry_path(self, identity: list) -> Path:
        # inode and device name the file while it exists (path, size and times are checked
        # inside): a changed trial's entry is replaced, never left beside the new one
        _, _, _, _, inode, device = identity
        return self.folder / f"{self.kind}-{device:x}-{inode:x}-{zlib.crc32(self.context.encode()):08x}.json"

    def lookup(self, path) -> tuple[object | None, list | None]:
        identity = file_identity(path)
        if self.folder is None or identity is None:
            return None, identity
        try:
            text = _read_regular(self._entry_path(identity), MAX_ENTRY_BYTES + 1)
            if text is None:
                return None, identity
            if len(text) > MAX_ENTRY_BYTES:
                return None, identity
            entry = json.loads(text)
            if not (isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("kind") == self.kind
                    and entry.get("context") == self.context and entry.get("file") == identity
                    and entry.get("code") == code_stamp() and isinstance(entry.get("value"), str)
                    and entry.get("crc32") == zlib.crc32(entry["value"].encode())):
                return None, identity
            return json.loads(entry["value"]), identity
        except (OSError, ValueError, RecursionError):  # no entry, unreadable, damaged (JSON errors are ValueErrors)
            return None, identity

    def store(self, identity: list | None, value) -> None:
        """Keep ``value`` (JSON-ready) for the file ``identity`` names, if the file is still
        exactly that and has settled; a failure to write is silent (the cache is only a cache)."""
        if self.folder is None or identity is None or file_identity(identity[0]) != identity:
            return  # no cache, or the file changed while the caller read it
        _, _, modified_ns, changed_ns, _, _ = identity
        if time.time_ns() - max(modified_ns, changed_ns) < SETTLED_S * 1e9:
            return
        try:
            text = json.dumps(value, separators=(",", ":"))
        except (TypeError, ValueError):  # a value JSON cannot hold (results of an unexpected shape): not kept
            return
        entry = json.dumps({"format": FORMAT, "kind": self.kind, "context": self.context, "file": identity,
                            "code": code_stamp(), "crc32": zlib.crc32(text.encode()), "value": text}).encode()
        if len(entry) > MAX_ENTRY_BYTES:
            return
        final = self._entry_path(identity)
        temporary = final.with_name(f".{final.name}.{os.getpid()}.{time.monotonic_ns():x}.tmp")
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(temporary, "xb") as out:
                out.write(entry)
            os.replace(temporary, final)  # atomic: a reader sees the old entry or the new one, whole
        except OSError:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
            return
        if not self._stored_any:
            self._stored_any = True
            prune(self.folder)


def _read_regular(path: Path, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of ``path`` when it is a regular file; None when it is something
    else (a FIFO or a device put where an entry goes would block the read or never end)."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as entry:
            return entry.read(limit)
    finally:
        os.close(descriptor)


def prune(folder: Path) -> None:
    """Keep the index within :data:`MAX_ENTRIES` and :data:`MAX_TOTAL_BYTES` by deleting the
    entries written longest ago, and delete temporary files a dead process left. Another
    process pruning or writing at the same time costs at most an entry (a miss)."""
    now = time.time()
    entries = []
    try:
        with os.scandir(folder) as found:
            for item in found:
                try:
                    info = item.stat()
                    if item.name.endswith(".tmp"):
                        if now - info.st_mtime > STALE_TEMP_S:
                            os.unlink(item.path)
                    elif item.name.endswith(".json"):
                        entries.append((info.st_mtime_ns, info.st_size, item.path))
                except OSError:
                    continue
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    if len(entries) <= MAX_ENTRIES and total <= MAX_TOTAL_BYTES:
        return
    entries.sort()
    count = len(entries)
    for _, size, path in entries:
        if count <= PRUNED_TO * MAX_ENTRIES and total <= PRUNED_TO * MAX_TOTAL_BYTES:
            break
        try:
            os.unlink(path)
        except OSError:
            pass
        count, total = count - 1, total - size
