"""AsciiDecoder (the ASCII line mode of devices/PROTOCOL.md) and the DIY FSR insole that
speaks it: unit tests with exact counters, a property test, and the simulator end to end."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forceplate.io.ascii import AsciiDecoder, encode_lines, encode_message
from forceplate.io.decoder import MAX_PACKET_BYTES, REBOOT_BACKSTEP_US
from forceplate.io.device import open_device
from forceplate.io.protocol import PacketType
from forceplate.profiles import load_profile
from stream_helpers import FEEDS, decode, expect_stats
from test_devices_e2e import read_until

PERIOD_US = 50_000  # 20 Hz, the DIY insole
N_CH = 16


def rows(n: int, seed: int = 0) -> np.ndarray:
    """12-bit counts, with the extremes of int32 (what a line may carry) in the first row."""
    out = np.random.default_rng(seed).integers(0, 4096, size=(n, N_CH))
    out[0, 0], out[0, -1] = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    return out


def lines(ts, counts, crlf: bool = False) -> list[bytes]:
    out = [encode_lines(np.array([t]), np.array([c])) for t, c in zip(ts, counts)]
    return [line.replace(b"\n", b"\r\n") for line in out] if crlf else out




def new_decoder() -> AsciiDecoder:
    return AsciiDecoder(N_CH, "<i4", sample_period_us=PERIOD_US)


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("how", FEEDS)
def test_round_trip(how, crlf):
    n = 300
    counts = rows(n)
    ts = np.arange(n) * PERIOD_US + 12_345
    data = b"".join(lines(ts, counts, crlf))
    dec = new_decoder()
    seq, t, got, gaps = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(n))
    np.testing.assert_array_equal(t, ts * 1e-6)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, counts)
    assert gaps == []
    expect_stats(dec, data, frames=n)


def faulty_stream() -> bytes:
    """Every kind of fault in one stream: batches take the fast or the slow path depending
    on where the reads split, and must not differ."""
    n = 200
    stream = lines(np.arange(n) * PERIOD_US + 2**32 - 3 * 1_000_000, rows(n, seed=1))
    stream[30] = b"12,not,a,number" + b",1" * 13 + b"\n"
    del stream[80:84]
    stream.insert(120, stream[119])  # duplicate
    stream.insert(40, b"# a comment\n")
    stream.insert(10, encode_message(PacketType.ACK, "START"))
    stream.insert(5, b"\xff\xfe junk\n")
    return b"".join(stream)


@pytest.mark.parametrize("seed", range(5))
def test_partial_reads_give_the_same_frames_as_one_read(seed):
    data = faulty_stream()
    whole = new_decoder()
    expected = decode(whole, data)
    assert whole.stats.malformed == 2 and whole.stats.duplicates == 1 and whole.stats.lost_frames == 5
    for how in ("random", "bytes"):
        split = new_decoder()
        got = decode(split, data, how, seed)
        for a, b in zip(got[:3], expected[:3]):
            np.testing.assert_array_equal(a, b)
        assert got[3] == expected[3]
        assert split.stats == whole.stats
        assert split.messages == whole.messages


@pytest.mark.parametrize("how", FEEDS)
def test_malformed_lines_are_counted_and_skipped(how):
    good = lines(np.arange(4) * PERIOD_US, rows(4))
    sample = b",".join([b"200000"] + [b"7"] * N_CH)
    bad = [
        b",".join([b"200000"] + [b"7"] * (N_CH - 1)),  # a field short
        sample + b",7",  # a field too many
        sample.replace(b"7", b"x", 1),  # not a number
        sample.replace(b"7", b"7.5", 1),  # not an integer
        sample.replace(b"7", b"", 1),  # an empty field
        sample.replace(b"200000", b"-1"),  # the clock is unsigned
        sample.replace(b"200000", str(2**32).encode()),  # and 32 bits
        sample.replace(b"7", str(2**31).encode(), 1),  # counts are int32
        sample.replace(b"7", b"9" * 30, 1),  # beyond any machine integer
        b"t_us,c1,c2",  # a CSV header is not a sample
        "200000,ü".encode(),
    ]
    # Blank lines (LF or CRLF) are nothing at all.
    data = b"".join(good[:2]) + b"\n\r\n" + b"\n".join(bad) + b"\n" + b"".join(good[2:])
    dec = new_decoder()
    seq, _, got, gaps = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(4))
    np.testing.assert_array_equal(got, rows(4))
    assert gaps == []
    expect_stats(dec, data, frames=4, malformed=len(bad))


@pytest.mark.parametrize("how", FEEDS)
def test_messages_and_comments(how):
    info = {"model": "fsr-insole-esp32", "serial": "FSR-0007", "firmware": "1.0", "channels": "16",
            "rate_hz": "20", "profile": "insole-diy-fsr16", "foot": "left"}
    samples = lines(np.arange(6) * PERIOD_US, rows(6))
    stream = [b"# fw=v3.1.0\n", encode_message(PacketType.INFO, info), *samples[:3],
              b"# ACK TARE\r\n", *samples[3:], b"# STATUS saturated=1,4 battery_pct=80\n", b"#\n"]
    data = b"".join(stream)
    dec = new_decoder()
    seq, _, _, _ = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(6))
    assert dec.messages == [
        (PacketType.INFO, info),
        (PacketType.ACK, "TARE"),
        (PacketType.STATUS, {"saturated": "1,4", "battery_pct": "80"}),
    ]
    expect_stats(dec, data, frames=6, other_packets=5)


@pytest.mark.parametrize("how", FEEDS)
def test_time_steps_of_several_periods_are_gaps(how):
    """A step of k nominal periods (rounded: the board's clock jitters) is k - 1 lost frames."""
    n = 120
    jitter = np.random.default_rng(3).integers(-PERIOD_US // 5, PERIOD_US // 5, size=n)
    ts = np.arange(n) * PERIOD_US + jitter + 1_000_000
    dropped = {10: 1, 20: 3, 50: 10}
    gone = {s for first, k in dropped.items() for s in range(first, first + k)}
    data = b"".join(line for i, line in enumerate(lines(ts, rows(n))) if i not in gone)
    dec = new_decoder()
    seq, t, _, gaps = decode(dec, data, how)
    keep = sorted(set(range(n)) - gone)
    np.testing.assert_array_equal(seq, keep)
    np.testing.assert_array_equal(t, ts[keep] * 1e-6)  # the device's times, not nominal ones
    assert gaps == list(dropped.items())
    expect_stats(dec, data, frames=n - len(gone), lost_frames=len(gone))


@pytest.mark.parametrize("how", FEEDS)
def test_clock_wrap_is_unwrapped(how):
    """micros() wraps at 2**32 (71.6 min): time goes on, and a gap across the wrap is a gap."""
    n = 40
    t0 = 2**32 - 20 * PERIOD_US + 777
    ts = np.arange(n) * PERIOD_US + t0
    lost = [19, 20]  # the frames on either side of the wrap
    data = b"".join(line for i, line in enumerate(lines(ts, rows(n))) if i not in lost)
    dec = new_decoder()
    seq, t, _, gaps = decode(dec, data, how)
    keep = np.setdiff1d(np.arange(n), lost)
    np.testing.assert_array_equal(seq, keep)
    np.testing.assert_array_equal(t, ts[keep] * 1e-6)
    assert gaps == [(19, 2)]
    expect_stats(dec, data, frames=n - 2, lost_frames=2)


@pytest.mark.parametrize("how", FEEDS)
def test_duplicates_and_reboot(how):
    """A repeated or slightly stale line is a duplicate; the clock going back by more than
    a second is a reboot, and the unwrapped counters go on one sample later."""
    before = lines(np.arange(60) * PERIOD_US + 5_000_000, rows(60))
    after = lines(np.arange(40) * PERIOD_US, rows(40, seed=1))
    assert 5_000_000 >= REBOOT_BACKSTEP_US
    stream = before[:30] + [before[29], before[27]] + before[30:] + after
    data = b"".join(stream)
    dec = new_decoder()
    seq, t, _, gaps = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(100))
    np.testing.assert_allclose(np.diff(t), PERIOD_US * 1e-6, rtol=0, atol=1e-9)
    assert gaps == [(60, 0)]
    expect_stats(dec, data, frames=100, duplicates=2, reboots=1)


@pytest.mark.parametrize("how", FEEDS)
def test_over_long_line_is_counted_once(how):
    samples = lines(np.arange(10) * PERIOD_US, rows(10))
    data = b"".join(samples[:5]) + b"1," * MAX_PACKET_BYTES + b"\n" + b"".join(samples[5:])
    dec = new_decoder()
    seq, _, _, _ = decode(dec, data, how)
    np.testing.assert_array_equal(seq, np.arange(10))
    expect_stats(dec, data, frames=10, malformed=1)


def test_resume_after_outage():
    before = b"".join(lines(np.arange(50) * PERIOD_US + 9_000_000, rows(50)))
    after = b"".join(lines(np.arange(10) * PERIOD_US, rows(10, seed=1)))
    dec = new_decoder()
    a = decode(dec, before)
    dec.resume_after_outage(30)
    b = decode(dec, after)
    np.testing.assert_array_equal(a[0], np.arange(50))
    np.testing.assert_array_equal(b[0], np.arange(10) + 80)
    assert b[3] == [(50, 30)]
    expect_stats(dec, before + after, frames=60, lost_frames=30)


def test_batches_are_writable():
    batch = new_decoder().feed(b"".join(lines(np.arange(5) * PERIOD_US, rows(5))))
    assert batch.counts.flags.writeable and batch.seq.flags.writeable
    batch.counts[:] = 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.lists(st.one_of(st.binary(max_size=80), st.sampled_from([b"\n", b"\r\n", b"#", b",", b"1", b"-"])),
                           max_size=80))
def test_arbitrary_bytes_never_raise(data, parts):
    """Random bytes, rich in the line mode's own characters, cut into arbitrary reads."""
    stream = b"".join(parts)
    decoder = AsciiDecoder(2, sample_period_us=1000)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    bounds = sorted({0, len(stream), *cuts})
    batches = [decoder.feed(stream[a:b]) for a, b in zip(bounds, bounds[1:])]
    seq = np.concatenate([np.empty(0, np.int64)] + [b.seq for b in batches])
    t = np.concatenate([np.empty(0)] + [b.t_device_s for b in batches])
    assert decoder.stats.frames == len(seq)
    assert decoder.stats.bytes_in == len(stream)
    assert np.all(np.diff(seq) > 0) and np.all(np.diff(t) >= 0)


def test_profile_of_the_diy_insole():
    profile = load_profile("insole-diy-fsr16")
    assert profile.sample_format == "ascii" and profile.wire_dtype == np.int32
    assert profile.n_channels == 16 and profile.rate_hz == 20
    assert profile.insole.sensors_mm.shape == (16, 2)


def test_simulated_diy_insole_end_to_end():
    """Over the pty: the handshake finds ASCII mode, frames come with 16 channels, and the
    inverted raw counts calibrate to positive forces about half the default 75 kg subject's
    weight (quiet standing at the start)."""
    with open_device("sim://insole?sensors=diy16&foot=left&speed=4") as device:
        assert type(device.decoder) is AsciiDecoder
        assert device.info["serial"] == "SIM-FSR16-L" and device.profile.id == "insole-diy-fsr16"
        device.start()
        batches = read_until(device, 20, timeout_s=5.0)
        counts = np.concatenate([b.counts for b in batches])
        seq = np.concatenate([b.seq for b in batches])
        assert len(counts) >= 20 and counts.shape[1] == 16
        np.testing.assert_array_equal(seq, np.arange(len(seq)))
        assert counts.max() <= 4095 and counts.min() >= 0  # a 12-bit ADC, inverted: loaded < 4095
        forces = device.calibration.to_physical(counts)
        assert np.all(forces > -2.0)  # noise around zero on an unloaded sensor, nothing more
        total = forces.sum(axis=1)
        assert total == pytest.approx(np.full(len(total), 75 * 9.81 / 2), rel=0.05)
        assert device.decoder.stats.malformed == 0 and device.decoder.stats.lost_frames == 0
        assert (PacketType.ACK, "START") in device.decoder.messages
