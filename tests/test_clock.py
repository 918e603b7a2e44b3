"""Two insoles with their own drifting clocks, aligned onto the host clock."""

import time

import numpy as np
import pytest

from forceplate.io import open_device
from forceplate.io.clock import ClockSync, fit_clock

RATE_HZ = 100.0


def arrivals(true_start_s, duration_s, ppm, rng):
    """Device and host time stamps of a 100 Hz device whose clock runs ``ppm`` fast.

    Frames leave the device at true times k / rate / (1 + ppm); the host sees them in
    bursts (USB/Bluetooth packets every 5-30 ms) after a delay of 1-20 ms.
    """
    n = int(duration_s * RATE_HZ)
    k = np.arange(n)
    true_t = true_start_s + k / RATE_HZ / (1 + ppm * 1e-6)
    t_device = k / RATE_HZ
    burst_edges = np.cumsum(rng.uniform(0.005, 0.030, int(duration_s / 0.005) + 10)) + true_start_s
    released = burst_edges[np.searchsorted(burst_edges, true_t)]
    t_host = released + rng.uniform(0.001, 0.020, n)
    return true_t, t_device, np.maximum.accumulate(t_host)


@pytest.mark.parametrize("ppm", [200.0, -200.0])
def test_drifting_clock_is_aligned_within_a_sample_over_ten_minutes(ppm):
    rng = np.random.default_rng(5)
    true_t, t_device, t_host = arrivals(3.7, 600.0, ppm, rng)
    aligned = fit_clock(t_device, t_host).to_host(t_device)
    error = aligned - true_t
    # the host clock is the reference: the constant part of the delay is an offset
    # common to all devices of the same kind; what matters is that it is constant
    assert np.ptp(error) < 1.0 / RATE_HZ
    _, drift = fit_clock(t_device, t_host).offset_drift
    assert drift == pytest.approx(-ppm * 1e-6 / (1 + ppm * 1e-6), abs=5e-6)


def test_two_insoles_started_apart_share_one_time_base():
    rng = np.random.default_rng(9)
    left_true, left_dev, left_host = arrivals(0.0, 600.0, +200.0, rng)
    right_true, right_dev, right_host = arrivals(2.345, 600.0, -200.0, rng)
    left = fit_clock(left_dev, left_host).to_host(left_dev)
    right = fit_clock(right_dev, right_host).to_host(right_dev)
    # the same true instant, seen by both, maps to the same host time within a sample
    probe = np.linspace(5.0, 595.0, 500)
    left_at = np.interp(probe, left_true, left)
    right_at = np.interp(probe, right_true, right)
    assert np.max(np.abs(left_at - right_at)) < 1.0 / RATE_HZ


def test_live_fit_improves_as_windows_arrive():
    rng = np.random.default_rng(2)
    true_t, t_device, t_host = arrivals(1.0, 60.0, 150.0, rng)
    sync = ClockSync()
    for lo in range(0, len(t_device), 37):
        sync.update(t_device[lo:lo + 37], t_host[lo:lo + 37])
    assert np.ptp(sync.to_host(t_device) - true_t) < 1.0 / RATE_HZ


def test_simulated_insoles_over_pty_align():
    """Two insole simulators with opposite clock errors and a late start, read for real."""
    url = "sim://insole?speed=1&seed=21&clock_ppm={ppm}&foot={foot}"
    left = open_device(url.format(ppm=200, foot="left"))
    right = open_device(url.format(ppm=-200, foot="right"))
    try:
        left.start()
        time.sleep(0.37)
        right.start()
        series = {"left": [], "right": []}
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            for name, device in (("left", left), ("right", right)):
                frames = device.read()
                if len(frames):
                    series[name].append(frames)
        syncs = {}
        for name, batches in series.items():
            syncs[name] = fit_clock(np.concatenate([b.t_device_s for b in batches]),
                                    np.concatenate([b.t_host_s for b in batches]))
        # the right insole started about 0.37 s after the left one: its device time 0 is
        # that much later on the host clock
        start_gap = syncs["right"].to_host(0.0) - syncs["left"].to_host(0.0)
        assert start_gap == pytest.approx(0.37, abs=0.03)
    finally:
        left.close()
        right.close()


def reads_stamped_as_a_device_reads_them(speed, duration_s, rng):
    """Device and host time stamps of a 100 Hz device whose clock runs ``speed`` times the
    host's (a simulator or a replay run fast), read as io/device.py reads it: every 20 ms, or
    after a stall of up to 150 ms (a reader kept off the CPU), each read's frames stamped back
    from its return by their device times. Frames are sent on time and arrive 1-5 ms later."""
    t_device = np.arange(int(duration_s * RATE_HZ)) / RATE_HZ
    sent = 10.0 + t_device / speed  # host time each frame leaves the device
    arrived = sent + rng.uniform(0.001, 0.005, len(sent))
    t_host, now, reads = np.empty(len(sent)), 10.0, [0]
    while reads[-1] < len(sent):
        now += rng.choice([0.02, 0.02, 0.02, rng.uniform(0.05, 0.15)])
        lo, hi = reads[-1], int(np.searchsorted(np.maximum.accumulate(arrived), now, side="right"))
        if hi > lo:
            t_host[lo:hi] = now - (t_device[hi - 1] - t_device[lo:hi])
            reads.append(hi)
    return sent, t_device, t_host, reads


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_a_fast_clock_read_in_backdated_reads_is_fitted_to_its_send_times(speed):
    """Each read's frames share one lag, and with a clock 4x fast all but the last lie below the
    line (a least-squares fit through windows' earliest arrivals put two such insoles 0.1-0.4 s
    of their device time apart under load): the fit is within the arrival delay of the sends."""
    rng = np.random.default_rng(3)
    sent, t_device, t_host, reads = reads_stamped_as_a_device_reads_them(speed, 30.0, rng)
    live = ClockSync()
    for lo, hi in zip(reads[:-1:2], reads[2::2]):  # blocks of two whole reads, as a session holds them
        live.update(t_device[lo:hi], t_host[lo:hi])
        live.offset_drift
    for sync in (live, fit_clock(t_device, t_host)):
        error = sync.to_host(t_device[100:]) - sent[100:]
        assert 0.0 <= error.min() and error.max() < 0.006
