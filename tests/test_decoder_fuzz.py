"""Property tests for FrameDecoder: no input makes it raise, nothing it yields is a frame
that was not sent intact, and how the bytes are cut into reads changes nothing.

Every frame of a generated stream carries its own index in its counts, so a yielded frame
can be traced back to the packet it was encoded from. Garbage yielding a frame would need
valid COBS of exactly the DATA size, version 1 and a matching CRC-16 (a 2**-16 chance even
then); that is what the decoder is meant to let through, and these inputs never get there.
"""

from __future__ import annotations

import numpy as np
from cobs import cobs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from forceplate.io.decoder import FrameDecoder
from forceplate.io.protocol import HEADER, VERSION, PacketType, crc16, encode_packet

N_CH = 2  # small frames: more packets per example, and garbage is closer to a frame's size
PERIOD_US = 1000
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def row(i: int) -> np.ndarray:
    return np.array([i, ~i], dtype="<i4")


def valid_payloads(stream: bytes) -> set[bytes]:
    """The DATA payloads of the packets in ``stream`` that pass every check, found with the
    reference COBS and CRC code rather than with the decoder under test."""
    found = set()
    for chunk in stream.split(b"\x00"):
        try:
            raw = cobs.decode(chunk)
        except cobs.DecodeError:
            continue
        body = raw[:-2]
        if len(raw) == HEADER.size + 4 * N_CH + 2 and crc16(body) == int.from_bytes(raw[-2:], "big"):
            if body[0] == PacketType.DATA and body[1] == VERSION:
                found.add(body[HEADER.size :])
    return found


# One step from the previous frame's (seq, t_device): mostly the next sample, sometimes a
# gap, a repeat, a stale frame, a reboot or anything at all (which also covers both wraps).
STEPS = st.one_of(
    st.just((1, PERIOD_US)),
    st.just((1, PERIOD_US)),
    st.integers(2, 40).map(lambda k: (k, k * PERIOD_US)),
    st.just((0, 0)),
    st.integers(1, 5).map(lambda k: (-k, -k * PERIOD_US)),
    st.just(None),  # reboot: both restart at 0
    st.tuples(st.integers(0, 2**16 - 1), st.integers(0, 2**32 - 1)),
)


@st.composite
def frame_streams(draw, max_frames: int = 60):
    """Encoded DATA packets with arbitrary (seq, t_device) histories, and their payloads."""
    seq, t = draw(st.integers(0, 2**16 - 1)), draw(st.integers(0, 2**32 - 1))
    packets = []
    for i in range(draw(st.integers(1, max_frames))):
        if i:
            step = draw(STEPS)
            seq, t = (0, 0) if step is None else (seq + step[0], t + step[1])
        packets.append(encode_packet(PacketType.DATA, seq, t, row(i).tobytes()))
    return packets


@st.composite
def cuts(draw, data: bytes) -> list[bytes]:
    """``data`` in reads of arbitrary sizes, 1-byte reads included."""
    out, at = [], 0
    while at < len(data):
        n = draw(st.integers(1, 64))
        out.append(data[at : at + n])
        at += n
    return out


def run(decoder: FrameDecoder, reads) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    batches = [decoder.feed(r) for r in reads]
    return (
        np.concatenate([np.empty(0, np.int64)] + [b.seq for b in batches]),
        np.concatenate([np.empty(0)] + [b.t_device_s for b in batches]),
        np.concatenate([np.empty((0, N_CH), "<i4")] + [b.counts for b in batches]),
        [g for b in batches for g in b.gaps],
    )


def assert_sane(decoder: FrameDecoder, out, allowed: set[bytes]) -> None:
    seq, t, counts, _ = out
    assert {r.tobytes() for r in counts} <= allowed
    assert decoder.stats.frames == len(seq)
    # Unwrapped counters never go back, whatever arrives.
    assert np.all(np.diff(seq) > 0)
    assert np.all(np.diff(t) >= 0)


@FUZZ
@given(st.data(), st.binary(max_size=3000))
def test_arbitrary_bytes(data, noise):
    decoder = FrameDecoder(N_CH)
    out = run(decoder, data.draw(cuts(noise)))
    assert_sane(decoder, out, valid_payloads(noise))
    assert decoder.stats.bytes_in == len(noise)


@FUZZ
@given(st.data(), frame_streams(), st.lists(st.tuples(st.integers(0), st.binary(min_size=1, max_size=80)), max_size=6))
def test_garbage_spliced_anywhere(data, packets, splices):
    """Garbage at arbitrary byte offsets (inside packets too, with or without 0x00)."""
    stream = bytearray(b"".join(packets))
    for at, junk in splices:
        at %= len(stream) + 1
        stream[at:at] = junk
    stream = bytes(stream)
    decoder = FrameDecoder(N_CH)
    out = run(decoder, data.draw(cuts(stream)))
    sent = {cobs.decode(p[:-1])[HEADER.size : -2] for p in packets}
    assert_sane(decoder, out, sent)


@FUZZ
@given(
    st.data(),
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**32 - 1),
    st.lists(st.integers(1, 30), min_size=1, max_size=40),
    st.lists(st.binary(max_size=120), min_size=2, max_size=42),
)
def test_frames_between_garbage_come_out(data, seq0, t0, steps, junk):
    """In-order frames (gaps and wraps allowed) with garbage, each ended by 0x00, before,
    between and after them: every frame comes out, with its seq and time unwrapped."""
    seqs = seq0 + np.cumsum([0, *steps[1:]])
    ts = t0 + (seqs - seq0) * PERIOD_US
    parts = [junk[0] + b"\x00"]
    for i, (s, t) in enumerate(zip(seqs, ts)):
        parts.append(encode_packet(PacketType.DATA, int(s), int(t), row(i).tobytes()))
        if i + 1 < len(junk):
            parts.append(junk[i + 1] + b"\x00")
    stream = b"".join(parts)
    decoder = FrameDecoder(N_CH)
    seq, t, counts, gaps = run(decoder, data.draw(cuts(stream)))
    np.testing.assert_array_equal(seq, seqs)
    np.testing.assert_array_equal(t, ts * 1e-6)
    np.testing.assert_array_equal(counts, [row(i) for i in range(len(seqs))])
    assert gaps == [(int(a) + 1, int(b - a) - 1) for a, b in zip(seqs, seqs[1:]) if b - a > 1]


@pytest.mark.slow
@FUZZ
@given(st.data(), frame_streams(), st.lists(st.binary(max_size=60), max_size=5))
def test_read_sizes_change_nothing(data, packets, junk):
    """One read, reads of random sizes, 1-byte reads: the same frames, gaps and counters.
    A batch takes the vectorised fast path only when all its frames are plain steps, so
    this also holds the fast path to the slow path's verdicts."""
    for i, j in enumerate(junk):
        packets.insert(data.draw(st.integers(0, len(packets))), j + b"\x00")
        if i % 2:  # messages must not disturb the sequence either
            packets.insert(data.draw(st.integers(0, len(packets))), encode_packet(PacketType.ACK, i, i, b"TARE"))
    stream = b"".join(packets)
    results = []
    for reads in ([stream], data.draw(cuts(stream)), [stream[i : i + 1] for i in range(len(stream))]):
        decoder = FrameDecoder(N_CH)
        results.append((run(decoder, reads), decoder.stats.as_dict(), decoder.messages))
    (whole, stats, messages), *others = results
    for out, other_stats, other_messages in others:
        for a, b in zip(out[:3], whole[:3]):
            np.testing.assert_array_equal(a, b)
        assert out[3] == whole[3]
        assert other_stats == stats
        assert other_messages == messages
