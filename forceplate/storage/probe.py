"""A file's metadata read first in another process, under a time limit.

Some damaged metadata sends the HDF5 C library into an endless loop (HDF5 2.0: a global-heap
object whose index and size read 0, in the heap holding every string attribute) or a crash,
inside one C call that no Python timeout can interrupt. :func:`check_finishes` has a forked
*prober* process run the read first: if it does not answer within
:data:`METADATA_TIME_LIMIT_S`, or dies, the file is refused in one line and the prober is
replaced; the caller's own process never starts the read that would not end.

The prober is forked once, on the first check, and then serves one file after another over
a pipe: a file costs its walk (milliseconds), not a fork (whose copy-on-write faults cost
the parent more than the fork itself). It shares nothing writable with its parent: it closes
every inherited descriptor except its two pipes (so it cannot write to a file the parent has
open, nor keep one's lock or a serial port held), ignores Ctrl-C, and ends when the parent
closes the request pipe (the parent's exit, even by SIGKILL; a normal exit also reaps it).
An alarm with its default action ends a prober stuck past the limit even if its parent is gone.
Its address space is capped a little above what it has: a walk that would allocate more (a
damaged string length) fails, and the file is refused for it.

POSIX only (``os.fork``); elsewhere files are read directly.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from forceplate.errors import CorruptTrial

METADATA_TIME_LIMIT_S = 4.0  # a walk takes milliseconds; "within seconds" on a loaded machine too
# What a walk may allocate: a trial's metadata takes a few MB; a damaged length (HDF5 allocates
# what a variable-length string says it holds, up to 4 GB) must not take the host's memory.
MEMORY_HEADROOM_BYTES = 512 << 20
_HEADER = struct.Struct("<I")


class _ProberGone(Exception):
    """The prober had ended before it was sent this file."""


class _Prober:
    """A forked process that runs ``walk(path)`` for each path it is sent."""

    def __init__(self, walk: Callable[[Path], None]):
        to_child, self._requests = os.pipe()
        self._replies, from_child = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # never returns
            _serve(walk, to_child, from_child, keep=(to_child, from_child))
        os.close(to_child)
        os.close(from_child)
        self._open = True

    def walk(self, path: Path, time_limit_s: float) -> str | None:
        """None when the walk finished in time, else what happened (the prober is then gone)."""
        name = os.fsencode(path)
        try:
            os.write(self._requests, _HEADER.pack(len(name)) + name)
        except BrokenPipeError:  # it died since the last file (killed from outside): not this file's doing
            self._ended("")
            raise _ProberGone from None
        if not select.select([self._replies], [], [], time_limit_s)[0]:
            os.kill(self.pid, signal.SIGKILL)
            return self._ended(f"the HDF5 library did not finish reading its metadata in {time_limit_s:g} s")
        answer = os.read(self._replies, 1)
        if answer == b"d":
            return None
        if answer == b"m":  # the prober lives on: only this file asked too much
            return f"reading its metadata needs more than {MEMORY_HEADROOM_BYTES >> 20} MB of memory"
        return self._ended("the HDF5 library died reading its metadata")

    def _ended(self, what: str) -> str:
        if not self._open:
            return what
        self._open = False
        os.close(self._requests)
        os.close(self._replies)
        status = os.waitpid(self.pid, 0)[1]
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) != signal.SIGKILL:
            what += f" ({signal.Signals(os.WTERMSIG(status)).name})"
        return what

    def disown(self) -> None:
        """In a forked child of the parent: close the copies of the pipes, leave the prober be."""
        if self._open:
            self._open = False
            os.close(self._requests)
            os.close(self._replies)

    def close(self) -> None:
        """Kill and reap it (after an interrupted check, its answer can no longer be trusted)."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._ended("")


def _serve(walk, requests: int, replies: int, keep: tuple[int, int]) -> None:
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it ends us by closing the pipe
        for number in (signal.SIGTERM, signal.SIGALRM, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        low, high = sorted(keep)
        os.closerange(3, low)
        os.closerange(low + 1, high)
        os.closerange(high + 1, os.sysconf("SC_OPEN_MAX"))
        _limit_memory()
        while True:
            head = _read_exactly(requests, _HEADER.size)
            if head is None:
                break
            path = Path(os.fsdecode(_read_exactly(requests, _HEADER.unpack(head)[0]) or b""))
            signal.alarm(int(METADATA_TIME_LIMIT_S) + 2)
            answer = b"d"
            try:
                walk(path)
            except MemoryError:
                answer = b"m"
            except Exception:  # noqa: BLE001 - it finished; the caller's own read meets the same error
                pass
            signal.alarm(0)
            os.write(replies, answer)
    finally:
        os._exit(0)


def _limit_memory() -> None:
    """Address space for at most :data:`MEMORY_HEADROOM_BYTES` more than the prober has now, so
    that a damaged length (a string "of 2 GB") fails to allocate here and raises MemoryError."""
    import resource

    with open("/proc/self/status") as status:
        now = next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:")), None)
    if now is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = now + MEMORY_HEADROOM_BYTES
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _read_exactly(fd: int, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        part = os.read(fd, n - len(data))
        if not part:
            return None
        data += part
    return data


_probers: dict[Callable, _Prober] = {}  # one per kind of walk
_lock = threading.Lock()  # one check at a time: a prober serves one file at a time
_finished: set[tuple] = set()  # (walk, device, inode, size, mtime) of each walk that finished


def check_finishes(path: Path, walk: Callable[[Path], None]) -> None:
    """Raise :class:`CorruptTrial` naming ``path`` when ``walk(path)`` hangs or crashes the prober.

    Once per version of a file (device, inode, size, modification time) per process.
    """
    if not hasattr(os, "fork"):
        return
    stat = path.stat()
    version = (walk, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _lock:
        if version in _finished:
            return
        for _ in range(2):  # a prober killed from outside since the last file: fork another, once
            if walk not in _probers:
                _probers[walk] = _Prober(walk)
            try:
                problem = _probers[walk].walk(path, METADATA_TIME_LIMIT_S)
                break
            except _ProberGone:
                del _probers[walk]
                problem = "the probing process ended before reading it"
            except BaseException:  # interrupted mid-walk: its late answer would go to the next file
                _probers.pop(walk).close()
                raise
        if problem is None:
            _finished.add(version)
            return
        _probers.pop(walk, None)
    raise CorruptTrial(f"{path}: damaged trial ({problem}); it cannot be read")


def _forget_inherited() -> None:
    """In a process forked from one that probes: the probers (and the lock's state) are the
    parent's; sharing a prober's pipes would mix up the two processes' answers."""
    global _lock
    for prober in _probers.values():
        prober.disown()
    _probers.clear()
    _lock = threading.Lock()


def _end_probers() -> None:
    """At exit: reap the probers rather than leave them to init (which may not reap, in a container)."""
    for prober in _probers.values():
        prober.close()
    _probers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited)
atexit.register(_end_probers)
