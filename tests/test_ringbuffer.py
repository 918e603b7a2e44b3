"""RingBuffer: peeks see whole appends, in order, also across the wrap."""

import numpy as np

from forceplate.ringbuffer import RingBuffer


def test_peek_since_returns_each_sample_once_across_the_wrap():
    ring = RingBuffer(8, {"t": 1, "xy": 2})
    seen, mark = [], ring.written
    for start in range(0, 30, 3):
        t = np.arange(start, start + 3, dtype=float)
        ring.append(t=t, xy=np.column_stack([t, -t]))
        columns, mark = ring.peek_since(mark)
        seen += columns["t"].tolist()
        np.testing.assert_array_equal(columns["xy"][:, 1], -columns["t"])
    assert seen == list(range(30))


def test_peek_since_keeps_only_what_is_still_held():
    ring = RingBuffer(4, {"t": 1})
    ring.append(t=np.arange(10.0))
    columns, mark = ring.peek_since(0)
    assert columns["t"].tolist() == [6.0, 7.0, 8.0, 9.0] and mark == 10


def test_a_thinned_peek_keeps_the_same_samples_as_the_window_slides():
    """Samples numbered a multiple of ``every`` (a plot's points stay put), across the wrap."""
    ring = RingBuffer(50, {"t": 1, "xy": 2})
    for start in range(0, 137, 7):
        t = np.arange(start, start + 7, dtype=float)
        ring.append(t=t, xy=np.column_stack([t, -t]))
        newest = ring.peek(23, every=10)
        held = np.arange(max(0, start + 7 - 23), start + 7)
        assert newest["t"].tolist() == held[held % 10 == 0].tolist()
        np.testing.assert_array_equal(newest["xy"][:, 1], -newest["t"])
    assert ring.peek(every=1)["t"].tolist() == list(range(90, 140))
