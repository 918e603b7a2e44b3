"""FrameDecoder unit tests against wire protocol v1 (devices/PROTOCOL.md).

Faults are injected so that the protocol leaves no doubt which counter each one must land
in, which lets the tests demand exact counts:
- garbage is 0xFF followed by fewer than 254 non-zero bytes and then 0x00: a COBS block
  that announces 254 bytes and ends early, so it can only be *malformed* (never a CRC
  error, never a packet, never split into several chunks);
- a CRC error is a well-formed packet whose CRC bytes were flipped before COBS encoding,
  so it decodes to the right size and fails the CRC check alone;
- a corrupted DATA frame is a lost frame too, so it appears as a gap when later frames
  arrive; the tests corrupt frames in the middle of the stream for that reason;
- a reboot moves the device clock back by at least REBOOT_BACKSTEP_US, so it cannot be
  mistaken for a stale duplicate (seq and clock a little behind the newest frame).
"""

from __future__ import annotations

import numpy as np
import pytest

from forceplate.io.decoder import MAX_PACKET_BYTES, REBOOT_BACKSTEP_US, FrameDecoder
from forceplate.io.protocol import HEADER, PacketType, crc16, encode_fields, encode_packet
from stream_helpers import FEEDS, decode, expect_stats
from cobs import cobs

PERIOD_US = 1000  # 1 kHz
N_CH = 8


def rows(n: int, n_ch: int = N_CH, dtype: str = "<i4", seed: int = 0) -> np.ndarray:
    """Random counts over the whole range of the type, extremes included."""
    info = np.iinfo(np.dtype(dtype))
    out = np.random.default_rng(seed).integers(info.min, info.max, size=(n, n_ch), endpoint=True)
    out[0, 0], out[-1, -1] = info.min, info.max
    return out.astype(dtype)


def data_packets(seqs, ts, counts) -> list[bytes]:
    return [encode_packet(PacketType.DATA, int(s), int(t), r.tobytes()) for s, t, r in zip(seqs, ts, counts)]


def bad_crc(packet: bytes) -> bytes:
    """The same packet with both CRC bytes flipped (still valid COBS, right size)."""
    raw = bytearray(cobs.decode(packet[:-1]))
    raw[-2] ^= 0xFF
    raw[-1] ^= 0xFF
    return cobs.encode(bytes(raw)) + b"\x00"


def garbage(n: int, seed: int) -> bytes:
    """Malformed for certain (see the module docstring), ended by a delimiter."""
    assert n < 254
    body = np.random.default_rng(seed).integers(1, 256, size=n, dtype=np.uint8).tobytes()
    return b"\xff" + body + b"\x00"




@pytest.mark.parametrize("n_ch, dtype", [(8, "<i4"), (16, "<i2")], ids=["dual-plate-int32", "insole-int16"])
def test_round_trip(n_ch, dtype):
    n = 500
    counts = rows(n, n_ch, dtype)
    seqs, ts = np.arange(n) + 100, np.arange(n) * PERIOD_US + 7
    data = b"".join(data_packets(seqs, ts, counts))
    dec = FrameDecoder(n_ch, dtype)
    seq, t, got, gaps = decode(dec, data)
    np.testing.assert_array_equal(seq, seqs)
    np.testing.assert_array_equal(t, ts * 1e-6)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, counts)
    assert gaps == []
    expect_stats(dec, data, frames=n)


def faulty_stream():
    """Every kind of fault in one stream, for the partial-read test: batches then take the
    fast path or the slow path depending on where the reads split, and must not differ."""
    n = 400
    counts = rows(n, seed=1)
    seqs, ts = (np.arange(n) + 65_300) % 65_536, (np.arange(n) * PERIOD_US + 2**32 - 150_000) % 2**32
    packets = data_packets(seqs, ts, counts)
    packets[50] = bad_crc(packets[50])
    del packets[120:125]
    packets.insert(200, packets[199])  # duplicate
    packets.insert(60, garbage(40, seed=2))
    packets.insert(10, encode_packet(PacketType.ACK, 0, 0, b"START"))
    return b"".join(packets)


@pytest.mark.parametrize("seed", range(5))
def test_partial_reads_give_the_same_frames_as_one_read(seed):
    data = faulty_stream()
    whole = FrameDecoder(N_CH)
    expected = decode(whole, data)
    for how in ("random", "bytes"):
        split = FrameDecoder(N_CH)
        got = decode(split, data, how, seed)
        for a, b in zip(got[:3], expected[:3]):
            np.testing.assert_array_equal(a, b)
        assert got[3] == expected[3]
        assert split.stats == whole.stats
        assert split.messages == whole.messages


@pytest.mark.parametrize("how", FEEDS)
def test_seq_and_device_time_wrap(how):
    n = 40
    seq0, t0 = 65_520, 2**32 - 20 * PERIOD_US + 3
    seqs, ts = np.arange(n) + seq0, np.arange(n) * PERIOD_US + t0
    packets = data_packets(seqs, ts, rows(n))
    # Drop the frames that carry seq 65535 and 0, the wrap itself.
    lost = [i for i, s in enumerate(seqs) if s % 65_536 in (65_535, 0)]
    data = b"".join(p for i, p in enumerate(packets) if i not in lost)
    dec = FrameDecoder(N_CH)
    seq, t, _, gaps = decode(dec, data, how)
    keep = np.setdiff1d(np.arange(n), lost)
    np.testing.assert_array_equal(seq, seqs[keep])
    np.testing.assert_array_equal(t, ts[keep] * 1e-6)
    assert gaps == [(65_535, 2)]
    expect_stats(dec, data, frames=n - 2, lost_frames=2)


@pytest.mark.parametrize("how", FEEDS)
def test_dropped_frames_are_gaps(how):
    n = 200
    packets = data_packets(np.arange(n), np.arange(n) * PERIOD_US, rows(n))
    dropped = {10: 1, 20: 3, 50: 10, 150: 40}  # first missing seq: count
    gone = {s for first, k in dropped.items() for s in range(first, first + k)}
    data = b"".join(p for s, p in enumerate(packets) if s not in gone)
    dec = FrameDecoder(N_CH)
    seq, _, _, gaps = decode(dec, data, how)
    np.testing.assert_array_equal(seq, sorted(set(range(n)) - gone))
    assert gaps == list(dropped.items())
    expect_stats(dec, data, frames=n - len(gone), lost_frames=len(gone))


@pytest.mark.parametrize("how", FEEDS)
def test_duplicates_are_dropped_and_counted(how):
    n = 100
    counts = rows(n)
    packets = data_packets(np.arange(n), np.arange(n) * PERIOD_US, counts)
    # Immediate repeats (same seq), a frame sent twice again later (a stale one, seq and
    # clock a few frames behind) and the very last frame repeated.
    stream = packets[:30] + [packets[29]] * 3 + packets[30:70] + [packets[65]] + packets[70:] + [packets[-1]]
    data = b"".join(stream)
    dec = FrameDecoder(N_CH)
    seq, _, got, gaps = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(n))
    np.testing.assert_array_equal(got, counts)
    assert gaps == []
    expect_stats(dec, data, frames=n, duplicates=5)


REBOOT_CASES = {
    # seq restarts below the last one and the clock goes back 1.5 s.
    "seq-back": (0, 1500),
    # Last seq 40499: 0 is 25037 ahead modulo 65536, so only the clock (40 s back) tells.
    "seq-looks-ahead": (39_000, 1500),
}


@pytest.mark.parametrize("how", ["whole", "at-reboot", "bytes"])
@pytest.mark.parametrize("case", REBOOT_CASES)
def test_reboot_is_counted_once_and_time_keeps_going(case, how):
    seq0, n_before = REBOOT_CASES[case]
    n_after = 300
    t0 = seq0 * PERIOD_US
    before = data_packets(np.arange(n_before) + seq0, np.arange(n_before) * PERIOD_US + t0, rows(n_before))
    after = data_packets(np.arange(n_after), np.arange(n_after) * PERIOD_US, rows(n_after, seed=1))
    first, second = b"".join(before), b"".join(after)
    assert t0 + (n_before - 1) * PERIOD_US >= REBOOT_BACKSTEP_US
    dec = FrameDecoder(N_CH, sample_period_us=PERIOD_US)
    if how == "at-reboot":  # the second batch starts with the reboot
        a, b = decode(dec, first), decode(dec, second)
        seq, t, gaps = np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]]), a[3] + b[3]
    else:
        seq, t, _, gaps = decode(dec, first + second, how)
    # The unwrapped counters go on one sample later, as if nothing had been lost.
    np.testing.assert_array_equal(seq, seq0 + np.arange(n_before + n_after))
    np.testing.assert_allclose(np.diff(t), PERIOD_US * 1e-6, rtol=0, atol=1e-9)
    assert gaps == [(seq0 + n_before, 0)]
    expect_stats(dec, first + second, frames=n_before + n_after, reboots=1)


@pytest.mark.parametrize("how", FEEDS)
def test_clock_restart_with_seq_going_on_is_a_reboot(how):
    """STOP then START after less than a second: the simulator keeps counting seq but its
    clock restarts at 0. The unwrapped clock must not leap 2**32 us (71.6 min) ahead."""
    before = data_packets(np.arange(400), np.arange(400) * PERIOD_US, rows(400))
    after = data_packets(np.arange(400, 500), np.arange(100) * PERIOD_US, rows(100, seed=1))
    data = b"".join(before + after)
    dec = FrameDecoder(N_CH, sample_period_us=PERIOD_US)
    seq, t, _, gaps = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(500))
    np.testing.assert_allclose(t, np.arange(500) * 1e-3, rtol=0, atol=1e-9)
    assert gaps == [(400, 0)]
    expect_stats(dec, data, frames=500, reboots=1)


@pytest.mark.parametrize("how", FEEDS)
def test_crc_errors_never_yield_frames(how):
    n = 100
    counts = rows(n)
    packets = data_packets(np.arange(n), np.arange(n) * PERIOD_US, counts)
    corrupt = [10, 11, 40]
    for i in corrupt:
        packets[i] = bad_crc(packets[i])
    packets.insert(70, bad_crc(encode_packet(PacketType.INFO, 0, 0, b"model=x\n")))
    data = b"".join(packets)
    dec = FrameDecoder(N_CH)
    seq, _, got, gaps = decode(dec, data, how)
    keep = np.setdiff1d(np.arange(n), corrupt)
    np.testing.assert_array_equal(seq, keep)
    np.testing.assert_array_equal(got, counts[keep])
    assert gaps == [(10, 2), (40, 1)]
    assert dec.messages == []
    expect_stats(dec, data, frames=n - 3, crc_errors=4, lost_frames=3)


@pytest.mark.parametrize("how", FEEDS)
def test_garbage_between_frames(how):
    n = 100
    counts = rows(n)
    packets = data_packets(np.arange(n), np.arange(n) * PERIOD_US, counts)
    # Also at the very start: a host opening the port in the middle of a packet.
    for k, at in enumerate([0, 1, 1, 50, 99, 100]):
        packets.insert(at + k, garbage(1 + 37 * k, seed=k))
    data = b"".join(packets)
    dec = FrameDecoder(N_CH)
    seq, _, got, gaps = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(n))
    np.testing.assert_array_equal(got, counts)
    assert gaps == []
    expect_stats(dec, data, frames=n, malformed=6)


def test_malformed_packets():
    """The other kinds PROTOCOL.md calls malformed: too short, another version, unknown
    type, DATA payload of the wrong size. Each has a valid CRC, so only the rule rejects it."""

    def packet(ptype: int, version: int, payload: bytes) -> bytes:
        raw = HEADER.pack(ptype, version, 5, 5000) + payload
        return cobs.encode(raw + crc16(raw).to_bytes(2, "big")) + b"\x00"

    good = data_packets([1, 2], [1000, 2000], rows(2))
    bad = [
        cobs.encode(b"\x02\x01\x05\x00\x00\x00\x00\x00\x00") + b"\x00",  # 9 bytes: no room for a CRC
        packet(PacketType.DATA, 2, rows(1).tobytes()),
        packet(9, 1, rows(1).tobytes()),
        packet(PacketType.DATA, 1, rows(1).tobytes()[:-1]),
        packet(PacketType.DATA, 1, rows(1).tobytes() + b"\x01"),
    ]
    data = good[0] + b"".join(bad) + good[1]
    dec = FrameDecoder(N_CH)
    seq, _, _, gaps = decode(dec, data)
    np.testing.assert_array_equal(seq, [1, 2])
    assert gaps == []
    expect_stats(dec, data, frames=2, malformed=len(bad))


@pytest.mark.parametrize("how", FEEDS)
def test_info_status_ack_become_messages(how):
    packets = data_packets(np.arange(20), np.arange(20) * PERIOD_US, rows(20))
    info = {"model": "FP-2", "serial": "A17", "firmware": "1.0", "channels": "8", "rate_hz": "1000",
            "profile": "dual-plate"}
    # The simulator stamps an ACK with the seq of the next DATA frame: that must not make it a duplicate.
    packets.insert(0, encode_packet(PacketType.INFO, 0, 0, encode_fields(info)))
    packets.insert(6, encode_packet(PacketType.ACK, 5, 5000, b"TARE"))
    packets.insert(15, encode_packet(PacketType.STATUS, 13, 13000, b"saturated=1,4\nbattery_pct=80\n"))
    data = b"".join(packets)
    dec = FrameDecoder(N_CH)
    seq, _, _, gaps = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(20))
    assert dec.messages == [
        (PacketType.INFO, info),
        (PacketType.ACK, "TARE"),
        (PacketType.STATUS, {"saturated": "1,4", "battery_pct": "80"}),
    ]
    expect_stats(dec, data, frames=20, other_packets=3)


@pytest.mark.parametrize("how", FEEDS)
@pytest.mark.parametrize("run", [MAX_PACKET_BYTES + 1, 5000, 3 * MAX_PACKET_BYTES + 7])
def test_over_long_run_is_discarded_and_counted_once(run, how):
    """A run longer than MAX_PACKET_BYTES without a delimiter is one malformed chunk,
    however many reads it arrived in, and the frames after its delimiter come out."""
    noise = np.random.default_rng(run).integers(1, 256, size=run, dtype=np.uint8).tobytes()
    packets = data_packets(np.arange(30), np.arange(30) * PERIOD_US, rows(30))
    data = b"".join(packets[:10]) + noise + b"\x00" + b"".join(packets[10:])
    dec = FrameDecoder(N_CH)
    seq, _, _, gaps = decode(dec, data, how)
    # The run swallowed nothing: it started after frame 9's delimiter and ended with its own.
    np.testing.assert_array_equal(seq, np.arange(30))
    assert gaps == []
    expect_stats(dec, data, frames=30, malformed=1)


def test_pending_packet_survives_across_reads():
    """A packet split across reads is kept until its delimiter arrives, and a long but
    legal wait (no delimiter yet, under the limit) costs nothing."""
    packet = data_packets([7], [7000], rows(1))[0]
    dec = FrameDecoder(N_CH)
    assert len(dec.feed(packet[:-1])) == 0
    batch = dec.feed(packet[-1:])
    np.testing.assert_array_equal(batch.seq, [7])
    expect_stats(dec, packet, frames=1)


@pytest.mark.parametrize("how", FEEDS)
def test_resume_after_outage_places_the_new_count_after_the_missed_frames(how):
    """An unplugged device plugged back in counts afresh from seq 0 and clock 0; the caller
    estimates the frames missed (Device.reconnect) and the decoder records them as one gap."""
    before = b"".join(data_packets(np.arange(300) + 900, np.arange(300) * PERIOD_US + 900_000, rows(300)))
    after = b"".join(data_packets(np.arange(50), np.arange(50) * PERIOD_US, rows(50, seed=1)))
    dec = FrameDecoder(N_CH, sample_period_us=PERIOD_US)
    a = decode(dec, before + after[:20], how)  # half a packet of the old connection is pending
    dec.resume_after_outage(250)
    b = decode(dec, after, how)
    np.testing.assert_array_equal(a[0], np.arange(300) + 900)
    np.testing.assert_array_equal(b[0], np.arange(50) + 1200 + 250)
    np.testing.assert_allclose(b[1], (np.arange(50) + 1450) * 1e-3, rtol=0, atol=1e-9)
    assert a[3] == [] and b[3] == [(1200, 250)]
    expect_stats(dec, before + after[:20] + after, frames=350, lost_frames=250)


def test_crc_is_sent_big_endian_and_checks_to_zero():
    """PROTOCOL.md: CRC-16/CCITT-FALSE, MSB first, so the CRC over the whole packet is 0."""
    assert crc16(b"123456789") == 0x29B1  # the catalogued check value of CRC-16/CCITT-FALSE
    raw = cobs.decode(data_packets([3], [3000], rows(1))[0][:-1])
    assert raw[-2:] == crc16(raw[:-2]).to_bytes(2, "big")
    assert crc16(raw) == 0


def test_batches_are_writable_copies():
    """Every path hands out arrays the caller may change, and no batch shares them with another."""
    packets = data_packets(np.arange(20), np.arange(20) * PERIOD_US, rows(20))
    dec = FrameDecoder(N_CH)
    first = dec.feed(b"".join(packets[:10]))  # the stream's first read: the general path
    in_sequence = dec.feed(b"".join(packets[10:]))  # numbered on: the fast path
    with_duplicate = dec.feed(packets[-1] + b"".join(data_packets([20], [20 * PERIOD_US], rows(1))))
    assert dec.stats.duplicates == 1  # so the third batch took the general path again
    batches = (first, in_sequence, with_duplicate)
    for batch in batches:
        assert batch.counts.flags.writeable and batch.seq.flags.writeable and batch.t_device_s.flags.writeable
        batch.counts[:] = 0
    np.testing.assert_array_equal(in_sequence.seq, np.arange(10, 20))
    assert not any(np.shares_memory(a.counts, b.counts) for a in batches for b in batches if a is not b)


def test_packets_of_wrong_sizes_that_add_up_to_whole_frames_are_not_frames():
    """Two intact DATA packets, one a byte long and one a byte short, together two frames
    long after frames numbered on: counted malformed, not read as frames out of place."""
    good = data_packets(np.arange(10), np.arange(10) * PERIOD_US, rows(10))
    header = HEADER.pack(PacketType.DATA, 1, 10, 10 * PERIOD_US)
    long_payload, short_payload = bytes(4 * N_CH + 1), bytes(4 * N_CH - 1)
    odd = [cobs.encode(raw + crc16(raw).to_bytes(2, "big")) + b"\x00"
           for raw in (header + long_payload, HEADER.pack(PacketType.DATA, 1, 11, 11 * PERIOD_US) + short_payload)]
    dec = FrameDecoder(N_CH)
    dec.feed(b"".join(good))
    batch = dec.feed(b"".join(odd))
    assert len(batch) == 0 and dec.stats.malformed == 2 and dec.stats.frames == 10


@pytest.mark.parametrize("how", ["random", "bytes"])
def test_reads_numbered_on_across_both_wraps_match_one_read(how):
    """Frames that follow each other take the fast path read after read, through the u16
    sequence wrap and the u32 clock wrap (after which the clock is unwrapped): the same
    frames, times and counters as one read through the general path."""
    n = 3000
    seqs, ts = np.arange(n) + 65_000, np.arange(n) * PERIOD_US + 2**32 - 1_000_000
    data = b"".join(data_packets(seqs, ts, rows(n)))
    whole, split = FrameDecoder(N_CH), FrameDecoder(N_CH)
    expected, got = decode(whole, data), decode(split, data, how, longest=2000)
    np.testing.assert_array_equal(got[0], seqs)
    np.testing.assert_array_equal(got[1], ts * 1e-6)
    for a, b in zip(got[:3], expected[:3]):
        np.testing.assert_array_equal(a, b)
    assert split.stats == whole.stats and got[3] == expected[3] == []


@pytest.mark.parametrize("length", [0, 1, 42, 43, 4095, 65_537])
def test_the_read_crc_is_the_protocols(length):
    from forceplate.io.decoder import _READ_CRC

    data = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8).tobytes()
    assert _READ_CRC.calc(data) == crc16(data)


def test_crc_over_intact_packets_depends_on_their_count_alone():
    """The fast path checks a read's CRCs in one pass against the value intact packets give
    (spaced by the zero its one COBS decode leaves between them), whatever they hold."""
    dec = FrameDecoder(N_CH)
    for n, seed in ((1, 0), (2, 1), (93, 2), (500, 3)):
        packets = [cobs.decode(p[:-1]) for p in data_packets(np.arange(n), np.arange(n) * PERIOD_US, rows(n, seed=seed))]
        assert crc16(b"\x00".join(packets)) == dec._intact_crc(n)


@pytest.mark.parametrize("fault", ["two crc errors", "lost delimiter", "delimiter doubled"])
def test_faults_in_a_read_numbered_on_count_as_in_the_general_path(fault):
    """A read after frames numbered on, with faults that the one-pass checks must send back
    to the packet-by-packet path: the same frames, gaps and counters as the whole stream in
    one read (the first read of a stream goes packet by packet)."""
    n = 60
    packets = data_packets(np.arange(n), np.arange(n) * PERIOD_US, rows(n))
    if fault == "two crc errors":  # in one read: the one CRC pass must not let them cancel
        packets[30], packets[41] = bad_crc(packets[30]), bad_crc(packets[41])
    elif fault == "lost delimiter":
        packets[30] = packets[30][:-1]
    else:
        packets[30] += b"\x00"
    numbered_on, whole = FrameDecoder(N_CH), FrameDecoder(N_CH)
    batches = [numbered_on.feed(b"".join(packets[:20])), numbered_on.feed(b"".join(packets[20:]))]
    expected = whole.feed(b"".join(packets))
    np.testing.assert_array_equal(np.concatenate([b.seq for b in batches]), expected.seq)
    np.testing.assert_array_equal(np.concatenate([b.counts for b in batches]), expected.counts)
    assert batches[1].gaps == expected.gaps
    assert numbered_on.stats == whole.stats


def test_each_new_count_of_the_device_clock_is_reported_where_it_starts():
    """A reboot and an outage place the device's clock on from an estimate: the batch names the
    first frame of each new count (``restarts``), where a host-clock fit must start again.
    Lost frames within one count are not a restart."""
    dec = FrameDecoder(N_CH, sample_period_us=PERIOD_US)
    steady = dec.feed(b"".join(data_packets(np.arange(1500), np.arange(1500) * PERIOD_US, rows(1500))))
    lost = dec.feed(b"".join(data_packets(np.arange(1510, 1520), np.arange(1510, 1520) * PERIOD_US, rows(10))))
    rebooted = dec.feed(b"".join(data_packets(np.arange(100), np.arange(100) * PERIOD_US, rows(100))))
    dec.resume_after_outage(250)
    resumed = dec.feed(b"".join(data_packets(np.arange(50), np.arange(50) * PERIOD_US, rows(50))))
    assert steady.restarts == [] and lost.restarts == []
    assert rebooted.restarts == [int(rebooted.seq[0])] == [1520]
    assert resumed.restarts == [int(resumed.seq[0])] == [1620 + 250]
