"""FrameDecoder throughput against a minimal decoder measured in the same run.

Encodes dual-plate DATA frames (8 x int32, 44 bytes on the wire), feeds them to a fresh
decoder in 4 KiB reads (what a serial read of a busy port returns) and reports MB/s and
frames/s. The reference is the least any decoder of protocol v1 must do with the same C
calls: split at the delimiters, COBS-decode each packet, CRC each packet, one
``np.frombuffer`` over the join; no accounting. Runs of the two alternate, so both see the
same machine; each is timed in the CPU time of its thread (other processes on a shared
machine then slow both alike instead of whichever ran while they were busy), and the
ratio is judged on the medians. Targets (issue 14): >= 110 MB/s, which is 0.75 of the
reference's 145.8 MB/s measured on this machine kind; the ratio is the figure that does not
depend on how busy the machine is. Results also go to benchmarks/results/decoder_throughput.txt.

    python3 benchmarks/decoder_throughput.py [--frames 200000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from binascii import crc_hqx
from itertools import repeat

import numpy as np
from cobs import cobs

from forceplate.io.decoder import FrameDecoder
from forceplate.io.protocol import HEADER, encode_data
from results_file import publish

N_CH = 8
RATE_HZ = 1000
READ_BYTES = 4096
TARGET_MB_S = 110.0
TARGET_RATIO = 0.75  # 110 / 145.8: the target relative to the reference on this machine kind


def make_stream(n_frames: int) -> bytes:
    rng = np.random.default_rng(0)
    counts = rng.integers(-(2**23), 2**23, size=(n_frames, N_CH)).astype("<i4")
    # Start near both wraps so the run includes them, as a long session would.
    t_us = np.arange(n_frames, dtype=np.int64) * (1_000_000 // RATE_HZ) + 2**32 - 10_000_000
    return encode_data(65_000, t_us, counts)


def reads_of(stream: bytes) -> list[bytes]:
    return [stream[i : i + READ_BYTES] for i in range(0, len(stream), READ_BYTES)]


def decode_once(reads: list[bytes], n_frames: int) -> float:
    """CPU seconds FrameDecoder takes for ``reads``; checks that every frame came out."""
    decoder = FrameDecoder(N_CH, "<i4", sample_period_us=1_000_000 // RATE_HZ)
    start = time.thread_time()
    for read in reads:
        decoder.feed(read)
    elapsed = time.thread_time() - start
    # A benchmark of a decoder that drops frames would be meaningless.
    stats = decoder.stats
    assert stats.frames == n_frames and stats.lost_frames == stats.malformed == stats.crc_errors == 0, stats
    return elapsed


def reference_once(reads: list[bytes], n_frames: int) -> float:
    """CPU seconds of the minimal decoder (see the module docstring) for ``reads``."""
    record = np.dtype([("header", "V", HEADER.size), ("counts", "<i4", (N_CH,)), ("crc", ">u2")])
    pending, frames = b"", 0
    start = time.thread_time()
    for read in reads:
        chunks = (pending + read).split(b"\x00")
        pending = chunks.pop()
        packets = list(map(cobs.decode, chunks))
        if any(map(crc_hqx, packets, repeat(0xFFFF))):
            raise AssertionError("the benchmark stream has a bad CRC")
        frames += len(np.frombuffer(b"".join(packets), record))
    elapsed = time.thread_time() - start
    assert frames == n_frames
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):  # one core, as one reader thread per device gets
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    stream = make_stream(args.frames)
    reads = reads_of(stream)
    decoder_s, reference_s = [], []
    for _ in range(args.repeats):
        reference_s.append(reference_once(reads, args.frames))
        decoder_s.append(decode_once(reads, args.frames))

    def figures(seconds: float) -> str:
        return f"{seconds:.3f} s  {len(stream) / seconds / 1e6:6.1f} MB/s  {args.frames / seconds / 1e3:7.1f} k frames/s"

    lines = [
        f"{args.frames} dual-plate frames ({N_CH} x int32, {len(stream) / args.frames:g} bytes on the wire, "
        f"{len(stream) / 1e6:.2f} MB), fed in {READ_BYTES}-byte reads, {args.repeats} alternating runs, "
        f"CPU time of the decoding thread; load average {os.getloadavg()[0]:.1f} at the start "
        f"({os.cpu_count()} cores in the machine)",
    ]
    for name, times in (("FrameDecoder", decoder_s), ("reference (cobs + crc_hqx + frombuffer)", reference_s)):
        lines.append(f"{name}: best {figures(min(times))}; median {figures(statistics.median(times))}")
    # Judged on the medians: a target met only by the luckiest run is not met.
    mb_s = len(stream) / statistics.median(decoder_s) / 1e6
    ratio = statistics.median(reference_s) / statistics.median(decoder_s)
    lines.append(f"FrameDecoder / reference: {ratio:.2f} (best runs {min(reference_s) / min(decoder_s):.2f}); "
                 f"1 kHz dual plate = {len(stream) / args.frames * RATE_HZ / 1e3:g} kB/s, "
                 f"{mb_s * 1e6 / (len(stream) / args.frames * RATE_HZ):.0f} x real time")
    lines.append(f"target: >= {TARGET_MB_S:g} MB/s (median {mb_s:.1f}: {'PASS' if mb_s >= TARGET_MB_S else 'FAIL'}), "
                 f">= {TARGET_RATIO:g} x the reference (median {ratio:.2f}: "
                 f"{'PASS' if ratio >= TARGET_RATIO else 'FAIL'})")
    publish("decoder_throughput", "FrameDecoder throughput", lines)


if __name__ == "__main__":
    main()
