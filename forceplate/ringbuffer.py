"""A fixed-size ring buffer of named float columns: one writer thread appends, readers peek."""

from __future__ import annotations

import threading

import numpy as np


class RingBuffer:
    """The last ``capacity`` samples of named columns, written by one thread and peeked by another
    (the GUI) under a lock."""

    def __init__(self, capacity: int, columns: dict[str, int]):
        """``columns`` maps a name to its width (1 for a scalar per sample)."""
        self.capacity = capacity
        self._data = {name: np.full((capacity, width), np.nan) for name, width in columns.items()}
        self._written = 0
        self._lock = threading.Lock()

    @property
    def written(self) -> int:
        """Samples appended since creation (not capped by the capacity)."""
        return self._written

    def append(self, **columns: np.ndarray) -> None:
        n = len(next(iter(columns.values())))
        if n == 0:
            return
        with self._lock:
            for name, values in columns.items():
                values = np.asarray(values, dtype=float).reshape(n, -1)[-self.capacity:]
                m = len(values)
                start = (self._written + n - m) % self.capacity
                first = min(m, self.capacity - start)
                self._data[name][start:start + first] = values[:first]
                self._data[name][: m - first] = values[first:]
            self._written += n

    def peek(self, n: int | None = None, every: int = 1) -> dict[str, np.ndarray]:
        """The newest ``n`` samples (all held, by default) of every column, oldest first.

        With ``every``, only the samples whose number (counted since creation) is a multiple
        of it: a plot thinned so, redrawn as samples arrive, keeps the same points (a stride
        from the window's start would pick others on every redraw and make a noisy trace
        shimmer), and only those are copied, not the whole window (30 times a second).
        """
        with self._lock:
            return self._newest(n, every)

    def peek_since(self, written: int) -> tuple[dict[str, np.ndarray], int]:
        """The samples appended since :attr:`written` was ``written`` (those still held), and
        the count to pass next time; one consistent read, however fast the writer appends."""
        with self._lock:
            return self._newest(self._written - written), self._written

    def _newest(self, n: int | None, every: int = 1) -> dict[str, np.ndarray]:
        """The newest ``n`` samples (those numbered a multiple of ``every``); the caller holds the lock."""
        held = min(self._written, self.capacity)
        n = held if n is None else min(n, held)
        first = self._written - n
        idx = np.arange(first + (-first) % every, self._written, every) % self.capacity
        return {name: data[idx].squeeze(axis=1) if data.shape[1] == 1 else data[idx]
                for name, data in self._data.items()}
