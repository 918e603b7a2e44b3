"""The simulator's stream made cheaper without changing a byte (issue 14): DATA packets framed
in one batch, frames made a second ahead and sent as slices, an insole's sensor shares
without einsum. Each is checked against the plain per-packet / per-call formulation."""

import time

import numpy as np
import pytest

from forceplate.io.protocol import (BATCH_MIN_PACKETS, COBS_BLOCK_BYTES, HEADER, PacketType, encode_data,
                                    encode_data_packets, encode_packet)
from forceplate.profiles import SIDES, load_profile
from forceplate.sim.emulator import _centroid_weights
from forceplate.sim.urls import open_simulator


def per_packet(seq, t_us, rows) -> bytes:
    return b"".join(encode_packet(PacketType.DATA, int(s), int(t), np.ascontiguousarray(r).tobytes())
                    for s, t, r in zip(seq, t_us, rows, strict=True))


@pytest.mark.parametrize("dtype", ["<i4", "<i2", "<f8", ">i4"])
@pytest.mark.parametrize("channels", [0, 1, 8, 16, (COBS_BLOCK_BYTES - HEADER.size - 2) // 4, 61])
def test_a_batch_of_packets_is_the_bytes_of_its_packets_one_by_one(dtype, channels):
    """Zeros everywhere (small counts, zero payload bytes, seq and time wrapping through 0),
    packets of one COBS block and longer (those framed one by one), batches either side of
    BATCH_MIN_PACKETS."""
    rng = np.random.default_rng(channels)
    for n in (0, 1, BATCH_MIN_PACKETS - 1, BATCH_MIN_PACKETS, 300):
        rows = (rng.integers(-3, 3, (n, channels)) * rng.integers(0, 256, (n, channels))
                ** rng.integers(0, 4, (n, channels))).astype(dtype)
        seq = rng.integers(-70_000, 200_000, n)
        t_us = rng.integers(-(2**33), 2**34, n)
        assert encode_data_packets(seq, t_us, rows) == per_packet(seq, t_us, rows), (n, dtype, channels)
    rows = np.zeros((500, 8), "<i4")  # every byte 0 but the type and version
    assert encode_data(65_500, np.arange(500) * 1000, rows) == per_packet(65_500 + np.arange(500),
                                                                          np.arange(500) * 1000, rows)


URLS = ["sim://dual-plate?seed=3&reps=3", "sim://six-axis?seed=7", "sim://dual-plate?adc=hx711&seed=5",
        "sim://insole?foot=left&seed=2", "sim://insole?foot=right&sensors=8&seed=9",
        "sim://insole?foot=left&sensors=diy16&seed=4", "sim://dual-plate?seed=8&clock_ppm=300&stall=1,0.5"]


def sent(sim, blocks) -> bytes:
    """What the stand-in writes for the sample ranges ``blocks``, as its ticks ask for them."""
    out = []
    for lo, hi in blocks:
        out.append(sim._encode(np.arange(lo, hi)))
        sim._sent = hi
    return b"".join(out)


@pytest.mark.parametrize("url", URLS)
def test_frames_made_ahead_are_the_frames_of_the_whole_stream_framed_at_once(url):
    """A stand-in's writes, in 20 ms ticks or in late, uneven ones, after a START with the
    sequence numbers running on: the emulator's counts of the whole stream in one call,
    framed in one call by the codec."""
    seconds = 3.5
    for start_seq, jitter in ((0, None), (12_345, 1), (65_530, 2)):
        sim = open_simulator(url)
        try:
            rate = sim.rate_hz
            total = int(seconds * rate)
            rng = np.random.default_rng(jitter) if jitter is not None else None
            blocks, at = [], 0
            while at < total:
                due = max(1, int(round(0.02 * rate * (rng.uniform(0.1, 6.0) if rng is not None else 1.0))))
                blocks.append((at, min(at + due, total)))
                at += due
            sim._seq = start_seq
            stream = sent(sim, blocks)
            n = np.arange(total)
            twin = open_simulator(url)
            try:
                counts = twin.emulator.counts(twin.model_time(n))
            finally:
                twin.close()
            expected = sim.codec.encode_frames(start_seq + n, np.round(n * 1e6 / rate).astype(np.int64), counts)
            assert stream == expected, (url, start_seq, jitter)
            assert sim._seq == start_seq + total
        finally:
            sim.close()


def test_a_restart_frames_the_new_stream_from_its_own_numbers():
    """START again: samples count from 0 (on the room clock) again, the sequence numbers and the
    noise go on."""
    url = "sim://dual-plate?seed=6"
    sim = open_simulator(url)
    try:
        first = sent(sim, [(0, 20), (20, 40), (40, 1500)])
        # the stand-in's own thread must not stream from this START: its room clock's 0.0 is
        # hours ago, and it would make every sample since then (tens of GB: the suite's OOM)
        sim._stop.set()
        sim._thread.join()
        sim._start_streaming(0.0)
        again = sent(sim, [(0, 20), (20, 700)])
        rate, n = sim.rate_hz, np.arange(700)
        twin = open_simulator(url)
        try:
            twin.emulator.counts(twin.model_time(np.arange(1500)))  # the noise goes on from the first stream
            twin.model_t0_s = sim.model_t0_s
            counts = twin.emulator.counts(twin.model_time(n))
        finally:
            twin.close()
        assert len(first) == 1500 * len(again) // 700
        assert again == per_packet(1500 + n, np.round(n * 1e6 / rate).astype(np.int64), counts)
    finally:
        sim.close()


def einsum_centroid_weights(sensors_mm, cop_mm, spread_mm=70.0):
    """The sensor shares as first written (np.einsum and np.linalg.solve per Newton step)."""
    log_w0 = -np.sum((sensors_mm[None, :, :] - cop_mm[:, None, :]) ** 2, axis=2) / (2 * spread_mm**2)
    beta = np.zeros((len(cop_mm), 2))
    for _ in range(12):
        log_w = log_w0 + np.einsum("nk,sk->ns", beta, sensors_mm)
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        mean = w @ sensors_mm
        centred = sensors_mm[None, :, :] - mean[:, None, :]
        cov = np.einsum("ns,nsi,nsj->nij", w, centred, centred) + 1e-9 * np.eye(2)
        beta -= np.linalg.solve(cov, (mean - cop_mm)[:, :, None])[:, :, 0]
    return w


@pytest.mark.parametrize("profile_id", ["insole16", "insole8", "insole-diy-fsr16"])
def test_insole_sensor_shares_are_those_of_the_einsum_formulation_to_the_bit(profile_id):
    """On a simulated set's CoPs in the insole's frame (squats, collapse, sway; some near the
    heel's edge, where the tilt never converges) and on CoPs drawn anywhere over the insole."""
    sim = open_simulator("sim://insole?foot=left&seed=5&reps=4&valgus=1:left:severe,3:right:moderate&toe_out=25")
    try:
        emulator, rate = sim.emulator, sim.rate_hz
        _, cops = emulator.model.sample(np.arange(int(emulator.model.duration_s * rate)) / rate)
        sensors = load_profile(profile_id).insole.sensors_mm
        drawn = np.random.default_rng(1).uniform(sensors.min(axis=0) - 20, sensors.max(axis=0) + 20, (3000, 2))
        for foot in SIDES:
            cop = np.concatenate([emulator.foot_frame_cop_mm(cops[foot]), drawn])
            np.testing.assert_array_equal(_centroid_weights(sensors, cop), einsum_centroid_weights(sensors, cop))
    finally:
        sim.close()


def test_a_stand_in_held_up_for_hours_loses_the_old_samples_instead_of_making_them_all():
    """A START whose clock says hours have passed (a stalled machine, a host that stopped
    reading): one write makes at most MAX_BACKLOG_S of samples, the older ones lost as a
    device's buffer loses them (their sequence numbers skipped), not tens of GB of them."""
    from forceplate.io.firmware import MAX_BACKLOG_S

    sim = open_simulator("sim://dual-plate?seed=6")
    try:
        sim._stop.set()
        sim._thread.join()  # the test makes the writes, not the stand-in's thread
        written = []
        sim._write = written.append
        sim._start_streaming(time.monotonic() - 3 * 3600)
        sim._stream()
        assert abs(sim._sent - 3 * 3600 * sim.rate_hz) <= sim.rate_hz  # every sample due is counted, sent or lost
        frames = bytes(written[0]).count(sim.codec.delimiter)
        assert frames <= MAX_BACKLOG_S * sim.rate_hz + 1
        assert sim._seq >= sim._sent - 1  # the lost samples' numbers are skipped: the host sees the gap
    finally:
        sim.close()
