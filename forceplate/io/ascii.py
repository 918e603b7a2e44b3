"""AsciiDecoder: protocol v1's line mode (devices/PROTOCOL.md, "ASCII mode") for hobby boards.

Device -> host, one line per sample or message, each ended by ``\\n`` (a ``\\r`` before it
is ignored)::

    t_us,c1,c2,...,cN                        a sample: decimal integers
    # INFO model=... serial=... channels=N   the answer to INFO?, space-separated key=value
    # STATUS saturated=1,4 battery_pct=80    optional, the keys of a binary STATUS packet
    # ACK START                              the command acted on

Any other line starting with ``#`` is a comment. The lines carry no sequence number and
no CRC: a sample's place in the sequence is synthesised from its clock, a step of k
nominal periods being k - 1 lost frames, and the frames then go through the same
accounting as binary ones (gaps, duplicates, reboots, wraps; see :class:`StreamDecoder`).

Complete lines are parsed together: one ``int`` per field over the join of a read's sample
lines (``map`` in C), then numpy for the checks. A read with a line that does not parse is
sorted out line by line.
"""

from __future__ import annotations

from itertools import compress, repeat

import numpy as np

from forceplate.io.decoder import FrameBatch, StreamDecoder, modular_steps
from forceplate.io.protocol import TIME_MODULO, PacketType

# Synthesised sequence numbers are unwrapped with the clock's modulus: a clock step of
# less than half its range (35 min) is then always a step forward, whatever the rate.
SEQ_MODULO = TIME_MODULO
MESSAGES = {"INFO": PacketType.INFO, "STATUS": PacketType.STATUS, "ACK": PacketType.ACK}


class AsciiDecoder(StreamDecoder):
    """Decode ASCII-mode lines for a device with ``n_channels`` counts per sample, kept as
    ``dtype`` (a line whose counts do not fit is malformed)."""

    delimiter = b"\n"
    seq_modulo = SEQ_MODULO

    def __init__(self, n_channels: int, dtype: str | np.dtype = "<i4", sample_period_us: int = 1000):
        super().__init__(n_channels, dtype, sample_period_us)
        self._limits = np.iinfo(self.dtype)
        # The synthesised seq and the clock of the previous sample line: the next line's
        # seq is this seq plus its clock step in periods.
        self._prev_line: tuple[int, int] | None = None

    def _frames(self, lines: list[bytes]) -> FrameBatch:
        lines = list(filter(b"\r".__ne__, lines))  # blank CRLF lines, like blank LF ones
        comment = np.fromiter(map(bytes.startswith, lines, repeat(b"#")), bool, len(lines))
        if comment.any():
            for line in compress(lines, comment):
                self._keep_line(line)
            lines = list(compress(lines, ~comment))
        width = self.n_channels + 1
        commas = np.fromiter(map(bytes.count, lines, repeat(b",")), np.intp, len(lines))
        right_width = commas == width - 1
        if not right_width.all():
            self.stats.malformed += int(np.count_nonzero(~right_width))
            lines = list(compress(lines, right_width))
        if not lines:
            return self._empty()
        rows = self._integers(lines, width)
        t_us, counts = rows[:, 0], rows[:, 1:]
        in_range = (counts >= self._limits.min) & (counts <= self._limits.max)
        fits = (t_us >= 0) & (t_us < TIME_MODULO) & in_range.all(axis=1)
        if not fits.all():
            self.stats.malformed += int(np.count_nonzero(~fits))
            t_us, counts = t_us[fits], counts[fits]
        return self._assemble(self._synthesise_seq(t_us), t_us, counts.astype(self.dtype))

    def _integers(self, lines: list[bytes], width: int) -> np.ndarray:
        """The lines' fields as int64 rows; lines with a field that is not an integer are
        counted as malformed and left out. ``int`` parses bytes, ignoring the ``\\r``."""
        try:
            return _parse_rows(lines, width)
        except (ValueError, OverflowError):
            pass  # one bad field stops the conversion: sort this read out line by line
        rows = []
        for line in lines:
            try:
                rows.append(_parse_rows([line], width))
            except (ValueError, OverflowError):
                self.stats.malformed += 1
        return np.concatenate(rows) if rows else np.empty((0, width), np.int64)

    def _synthesise_seq(self, t_us: np.ndarray) -> np.ndarray:
        """A sequence number per sample: the previous line's plus the clock step in nominal
        periods, rounded (negative for a clock gone back, which the unwrapping then takes
        for a stale duplicate, or a reboot when back by more than a second)."""
        if len(t_us) == 0:
            return t_us
        prev_seq, prev_t = self._prev_line or (0, int(t_us[0]))
        t_steps = modular_steps(t_us, prev_t, TIME_MODULO)
        signed = np.where(t_steps >= TIME_MODULO // 2, t_steps - TIME_MODULO, t_steps)
        seq = (prev_seq + np.cumsum(np.rint(signed / self.sample_period_us).astype(np.int64))) % SEQ_MODULO
        self._prev_line = int(seq[-1]), int(t_us[-1])
        return seq

    def _keep_line(self, line: bytes) -> None:
        """A ``#`` line: a message, or a comment (counted with the messages, not kept)."""
        word, _, rest = line[1:].decode("utf-8", errors="replace").strip().partition(" ")
        ptype = MESSAGES.get(word)
        if ptype is None:
            self.stats.other_packets += 1
        elif ptype == PacketType.ACK:
            self._keep_message(ptype, rest.strip())
        else:
            self._keep_message(ptype, parse_fields(rest))


def _parse_rows(lines: list[bytes], width: int) -> np.ndarray:
    fields = b",".join(lines).split(b",")
    return np.fromiter(map(int, fields), np.int64, len(fields)).reshape(-1, width)


def parse_fields(text: str) -> dict[str, str]:
    """``key=value key=value`` (the INFO and STATUS lines) as a dict; other words are ignored."""
    fields = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if sep:
            fields[key] = value
    return fields


def encode_line(t_us: int, counts) -> bytes:
    return ",".join(map(str, (t_us % TIME_MODULO, *counts))).encode() + b"\n"


def encode_lines(t_us: np.ndarray, samples: np.ndarray) -> bytes:
    """Consecutive samples (n, channels) as ASCII-mode lines (the simulator's encoder)."""
    return b"".join(encode_line(int(t), row) for t, row in zip(t_us, samples.tolist(), strict=True))


def encode_message(ptype: PacketType, content: dict | str) -> bytes:
    """A ``# INFO``, ``# STATUS`` or ``# ACK`` line."""
    text = content if isinstance(content, str) else " ".join(f"{k}={v}" for k, v in content.items())
    return f"# {ptype.name} {text}\n".encode()
