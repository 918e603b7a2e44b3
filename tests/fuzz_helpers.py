"""Running the real CLI on hostile input, bounded, and judging how it ended.

Each case runs ``forceplate.cli.main(argv)`` in a forked child (no interpreter start-up,
so hundreds of cases fit in seconds) under an address-space limit, with a wall-clock
timeout. The child's end is classified: a clean exit 0, one clear error line (exit 2),
or a failure (timeout, signal death, traceback, several lines, another exit status).
Used by the tests (tests/test_fuzz_*.py, tests/test_hostile_*.py) and by the long run
(benchmarks/fuzz_long.py).
"""

from __future__ import annotations

import os
import random
import re
import resource
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Imported once here, so each forked case starts with them loaded (a case then takes
# milliseconds, not the second an interpreter needs to import numpy, scipy and h5py).
import forceplate.cli  # noqa: E402,F401
import forceplate.offline  # noqa: E402,F401
import forceplate.interop.c3d  # noqa: E402,F401

MEMORY_LIMIT_MB = 1024  # the acceptance bound on peak RSS; also the child's address-space cap
MEMORY_LIMIT_AS_MB = 4096  # address space (numpy, Qt and HDF5 map more than they touch)


@dataclass
class Outcome:
    argv: list[str]
    status: int | None  # exit status, None when killed by a signal or timed out
    signal: int | None
    timed_out: bool
    seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str

    @property
    def failure(self) -> str | None:
        """Why this end is not acceptable, or None: exit 0, or exit 2 with one error line."""
        if self.timed_out:
            return f"no answer within the time limit ({self.seconds:.1f} s)"
        if self.signal is not None:
            return f"killed by signal {signal.Signals(self.signal).name}"
        if "Traceback" in self.stderr:
            return "traceback:\n" + self.stderr[-3000:]
        warning = re.search(r"^.*\w+Warning: .*$", self.stderr, re.M)
        if warning:  # a library's warning leaking to the user (file:line: RuntimeWarning: ...)
            return f"a Python warning on stderr: {warning[0][:300]}"
        if self.peak_rss_mb > MEMORY_LIMIT_MB:
            return f"peak RSS {self.peak_rss_mb:.0f} MB"
        if self.status == 0:
            return None
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("forceplate: error:")]
        if self.status != 2 or len(errors) != 1:
            return f"exit {self.status} with stderr:\n{self.stderr[-3000:]}"
        return None

    def describe(self) -> str:
        return f"forceplate {' '.join(self.argv)}: {self.failure}"


# Peak RSS of `forceplate analyze` of a small trial in a fresh process (measured 130 MB with
# /usr/bin/time, Python 3.11, numpy 2.4, h5py, scipy): the imports a forked child shares.
FRESH_PROCESS_MB = 130.0


def run_cli(argv: list[str], timeout_s: float = 10.0, stdin: bytes | None = None) -> Outcome:
    """``forceplate ARGV`` in a forked child; waits at most ``timeout_s``, then kills it."""
    with (tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp,
          tempfile.TemporaryFile() as inherited):
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(argv, out.fileno(), err.fileno(), inp.fileno() if stdin is not None else None, inherited.fileno())
        status = sig = None
        timed_out = False
        while True:
            done, code, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > timeout_s:
                os.kill(pid, signal.SIGKILL)
                _, code, usage = os.wait4(pid, 0)
                timed_out = True
                break
            time.sleep(0.005)
        seconds = time.monotonic() - start
        if not timed_out:
            if os.WIFSIGNALED(code):
                sig = os.WTERMSIG(code)
            else:
                status = os.WEXITSTATUS(code)
        out.seek(0)
        err.seek(0)
        inherited.seek(0)
        inherited_mb = float(inherited.read() or 0) / 1024
        # A forked child's peak counts the runner's pages it inherited: what the command itself
        # took is its growth over them, plus what a fresh `forceplate` process starts with.
        peak_mb = max(usage.ru_maxrss / 1024 - inherited_mb, 0.0) + FRESH_PROCESS_MB
        return Outcome(list(argv), status, sig, timed_out, seconds, peak_mb,
                       out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def _resident_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def _child(argv: list[str], out_fd: int, err_fd: int, in_fd: int | None, inherited_fd: int) -> None:
    code = 70
    try:
        os.write(inherited_fd, str(_resident_kb()).encode())
        limit = MEMORY_LIMIT_AS_MB * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.dup2(in_fd if in_fd is not None else os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        _warnings_as_a_fresh_process()
        from forceplate.cli import main

        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:  # noqa: BLE001 - shown as the failure it is
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 70)


def _warnings_as_a_fresh_process() -> None:
    """Python's start-up warning filters, printed to stderr: the runner (pytest) may record
    warnings instead, which would hide a warning the user would see."""
    import warnings

    warnings.resetwarnings()
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)

    def to_stderr(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = to_stderr


def record_sim_trial(folder: Path, seconds: float = 2.0) -> Path:
    """A short real recording from the simulator through ``forceplate record``: a trial to damage."""
    path = Path(folder) / "trial.h5"
    outcome = run_cli(["record", "--device", "sim://dual-plate?speed=8", "-o", str(path), "--duration", str(seconds)],
                      timeout_s=60)
    if outcome.status != 0:
        raise RuntimeError(outcome.describe())
    return path


# --- mutators of bytes and text -------------------------------------------------------------

HOSTILE_NUMBERS = ("0", "-1", "-1000", "1e-300", "1e300", "1e308", "inf", "-inf", "nan", "NaN",
                   "4611686018427387904", "99999999999999999999999", "1e9", "2.9", "-0", "0x10", "abc", "")


def mutate_bytes(data: bytes, rng: random.Random, region: int | None = None) -> tuple[bytes, str]:
    """One random damage to a binary file; returns the damaged bytes and what was done."""
    n = len(data)
    limit = min(n, region) if region else n
    kind = rng.choice(("truncate", "flip", "flip", "byte", "zero", "duplicate", "delete"))
    if kind == "truncate":
        cut = rng.randrange(0, n)
        return data[:cut], f"truncated at {cut}"
    if kind == "flip":
        out = bytearray(data)
        where = [rng.randrange(0, limit) for _ in range(rng.randint(1, 8))]
        for i in where:
            out[i] ^= 1 << rng.randrange(8)
        return bytes(out), f"bits flipped at {where}"
    if kind == "byte":
        out = bytearray(data)
        i = rng.randrange(0, limit)
        out[i] = rng.choice((0x00, 0xFF, 0xF1, 0xAA, 0x7F, 0x80, rng.randrange(256)))
        return bytes(out), f"byte {i} set to {out[i]:#04x}"
    start = rng.randrange(0, limit)
    length = rng.randint(1, 4096)
    if kind == "zero":
        return data[:start] + bytes(min(length, n - start)) + data[start + length:], f"zeroed {start}+{length}"
    if kind == "duplicate":
        return data[:start] + data[start:start + length] * 2 + data[start + length:], f"duplicated {start}+{length}"
    return data[:start] + data[start + length:], f"deleted {start}+{length}"


def mutate_text(text: str, rng: random.Random) -> tuple[bytes, str]:
    """One random damage to a text file (CSV, TOML): hostile numbers, lost lines, bad bytes."""
    lines = text.splitlines(keepends=True)
    kind = rng.choice(("number", "number", "number", "delete_line", "duplicate_line", "garbage", "truncate",
                       "swap_lines"))
    if kind == "number" and lines:
        for _ in range(20):
            i = rng.randrange(len(lines))
            spans = [m.span() for m in re.finditer(r"-?\d+(\.\d+)?(e-?\d+)?", lines[i])]
            if spans:
                a, b = rng.choice(spans)
                value = rng.choice(HOSTILE_NUMBERS)
                lines[i] = lines[i][:a] + value + lines[i][b:]
                return "".join(lines).encode(), f"line {i + 1}: a number -> {value!r}"
    if kind == "delete_line" and lines:
        i = rng.randrange(len(lines))
        del lines[i]
        return "".join(lines).encode(), f"line {i + 1} deleted"
    if kind == "duplicate_line" and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i] * rng.choice((1, 2, 50)))
        return "".join(lines).encode(), f"line {i + 1} repeated"
    if kind == "swap_lines" and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "".join(lines).encode(), f"lines {i + 1} and {j + 1} swapped"
    data = text.encode()
    if kind == "garbage":
        i = rng.randrange(len(data) + 1)
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        return data[:i] + junk + data[i:], f"{len(junk)} random bytes at {i}"
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"truncated at {cut}"


def write_case(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path
