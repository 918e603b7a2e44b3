"""FrameDecoder: a byte stream in, batches of frames (numpy arrays) out.

:class:`StreamDecoder` holds what the binary mode (:class:`FrameDecoder`, here) and the
ASCII line mode (``forceplate.io.ascii.AsciiDecoder``) share. Either copes with partial
reads (a packet split across reads is kept until its delimiter arrives), garbage between
or inside packets, CRC errors, lost and duplicated frames and device reboots, and counts
each. Lost frames are recorded as gaps and never interpolated.

Throughput comes from doing the per-packet work in C. A read of DATA frames numbered on
from the last one (nearly every read of a stream) is taken whole: its chunks' lengths and
delimiters checked by comparing byte strings, one COBS decode of them run together, each
frame's type, version and sequence bytes compared with tables, one CRC pass over them all
(:meth:`FrameDecoder._intact_crc`) and one ``np.frombuffer``, handed out as views of the
read's own buffer: faster than a decoder that does nothing but COBS and CRC per packet and
``frombuffer`` (``benchmarks/decoder_throughput.py``). Other reads are split into
packets, decoded and checked with ``map`` over them; only packets that are not intact DATA
frames go through Python one by one.
"""

from __future__ import annotations

from binascii import crc_hqx
from dataclasses import dataclass, field
from itertools import compress, repeat

import numpy as np
from anycrc import Model
from cobs import cobs

from forceplate.io.protocol import (
    CRC_SIZE,
    DELIMITER,
    HEADER,
    SEQ_MODULO,
    TIME_MODULO,
    VERSION,
    PacketType,
    decode_fields,
)

# A packet longer than this without a delimiter is garbage, not a slow packet.
MAX_PACKET_BYTES = 4096
# A device clock jumping back by more than this (or a sequence restarting) is a reboot.
REBOOT_BACKSTEP_US = 1_000_000
# Lost frames are believed up to a limit; past it a jump in the sequence is a discontinuity
# (recorded as a gap of unknown length, the count going on one frame later), so a device
# whose sequence numbers jump cannot make the host hold hours of empty samples: one gap at
# most MAX_GAP_S long, and over the stream at most MAX_LOST_RATIO lost per frame received.
MAX_GAP_S = 60.0
MAX_LOST_RATIO = 10
# INFO, STATUS and ACK messages are kept for the caller to read; only the newest this many
# (a device flooding STATUS would otherwise grow the list without end).
MAX_MESSAGES = 256
# The CRC of protocol v1 (CRC-16/CCITT-FALSE: binascii.crc_hqx from 0xFFFF) a word at a time:
# over a read of 4 KiB about twenty times as fast as crc_hqx's byte loop, which was half of
# what the fast path cost. Packets checked one by one keep crc_hqx (one call each either way).
_READ_CRC = Model("CRC16-IBM-3740")
_DATA = PacketType.DATA.value  # a plain int: an enum member lookup per read costs measurably
# What the bytes of a read of consecutive DATA v1 frames hold at each frame's offset: type,
# version, and the low and high bytes of sequence numbers counting up from any start (the
# table runs past the u16 wrap). Made once and sliced per read: comparing byte strings is
# one C call, where a numpy check costs a few microseconds of a read's ~30.
_MAX_FAST_FRAMES = 1 << 16
_DATA_TYPES = bytes([_DATA]) * _MAX_FAST_FRAMES
_VERSIONS = bytes([VERSION]) * _MAX_FAST_FRAMES
_ZEROS = bytes(_MAX_FAST_FRAMES)
_SEQ_LOW = bytes(range(256)) * ((SEQ_MODULO + _MAX_FAST_FRAMES) // 256)
_SEQ_HIGH = (np.arange(SEQ_MODULO + _MAX_FAST_FRAMES) >> 8).astype(np.uint8).tobytes()


@dataclass
class DecoderStats:
    """Counters since the decoder was made; every rejected byte is accounted for somewhere."""

    bytes_in: int = 0
    frames: int = 0  # DATA frames accepted
    crc_errors: int = 0  # packets whose CRC did not match
    malformed: int = 0  # chunks that are not valid COBS, too short, wrong version or size
    lost_frames: int = 0  # sequence numbers never received
    duplicates: int = 0  # frames received twice (dropped)
    reboots: int = 0  # device restarted its sequence and clock
    discontinuities: int = 0  # sequence jumps too long to be believed as lost frames (see MAX_GAP_S)
    other_packets: int = 0  # INFO, STATUS, ACK (and ASCII-mode comment lines)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class FrameBatch:
    """Frames decoded from one ``feed``: arrays share their first dimension (time)."""

    seq: np.ndarray  # int64, unwrapped across the u16 wrap and reboots
    t_device_s: np.ndarray  # float64 seconds, unwrapped device clock
    counts: np.ndarray  # (n, channels) raw counts
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (first missing seq, count)
    # First seq of each new count of the device's clock (after an outage, a reboot or a
    # discontinuity the clock is placed on from an estimate): its offset to the host may change there.
    restarts: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.seq)


def modular_steps(values: np.ndarray, prev: int, modulo: int) -> np.ndarray:
    """Each value minus the one before it (``prev`` before the first), modulo a power of two."""
    steps = np.empty(len(values), np.int64)
    steps[0] = values[0] - prev
    np.subtract(values[1:], values[:-1], out=steps[1:])
    return steps & (modulo - 1)  # two's complement: the non-negative remainder


class StreamDecoder:
    """What every wire mode shares: splitting the byte stream at a delimiter across reads,
    the counters, the messages, and unwrapping each frame's (seq, t_device) into gap-aware
    counters. Subclasses turn a read's complete chunks into frames (:meth:`_frames`)."""

    delimiter = DELIMITER
    max_chunk_bytes = MAX_PACKET_BYTES  # a longer run without a delimiter is garbage
    seq_modulo = SEQ_MODULO  # the wrap of the device's (or synthesised) sequence number

    def __init__(self, n_channels: int, dtype: str | np.dtype, sample_period_us: int):
        self.n_channels = n_channels
        self.sample_period_us = sample_period_us
        self.dtype = np.dtype(dtype)
        self._pending = b""
        self._discarding = False  # inside an over-long run, already counted: skip to its delimiter
        self._last_seq: int | None = None  # unwrapped
        self._last_t_us: int | None = None  # unwrapped
        # seq and t_device of the newest accepted frame as the device sent them. The steps
        # are taken from these: after a reboot the unwrapped values are no longer congruent
        # to the device's, so stepping from them would take every later frame for a reboot.
        self._last_raw: tuple[int, int] | None = None
        self._missing_after_outage = 0  # see resume_after_outage
        self.stats = DecoderStats()
        self.messages: list[tuple[PacketType, dict[str, str] | str]] = []  # the newest MAX_MESSAGES
        self.max_gap_frames = int(MAX_GAP_S * 1e6 / max(sample_period_us, 1))

    @property
    def last_seq(self) -> int | None:
        """Unwrapped sequence number of the newest accepted frame."""
        return self._last_seq

    def resume_after_outage(self, missing: int) -> None:
        """The port was reopened after an unplug: the device counts afresh, so its next
        frame is placed ``missing`` frames (estimated by the caller) after the last one,
        with one gap for the outage, instead of being compared with the old counts."""
        self._pending, self._discarding = b"", False  # bytes of the old connection
        self._last_raw = None
        self._missing_after_outage = missing

    def feed(self, data: bytes) -> FrameBatch:
        self.stats.bytes_in += len(data)
        if self._discarding:
            end = data.find(self.delimiter)
            if end < 0:
                return self._empty()
            data, self._discarding = data[end + 1 :], False
        chunks = (self._pending + data).split(self.delimiter)
        self._pending = chunks.pop()
        if len(self._pending) > self.max_chunk_bytes:
            # Count the run once and drop the rest of it too: decoding its tail as a chunk
            # of its own would count it again, and how often would depend on the read sizes.
            self.stats.malformed += 1
            self._pending = b""
            self._discarding = True
        # A read no longer than the limit can overrun it only in its first chunk (the old
        # pending bytes and its own first ones): one length, not one per chunk.
        longest = (len(chunks[0]) if chunks and len(data) <= self.max_chunk_bytes
                   else max(map(len, chunks), default=0))
        if not all(chunks):  # empty chunks: delimiters in a row (after garbage)
            chunks = list(filter(None, chunks))
        if longest > self.max_chunk_bytes:
            # The same run, arrived whole in one read: counted as in pieces above.
            kept = [c for c in chunks if len(c) <= self.max_chunk_bytes]
            self.stats.malformed += len(chunks) - len(kept)
            chunks = kept
        return self._frames(chunks) if chunks else self._empty()

    def _frames(self, chunks: list[bytes]) -> FrameBatch:
        raise NotImplementedError

    def _keep_message(self, ptype: PacketType, content: dict[str, str] | str) -> None:
        self.stats.other_packets += 1
        self.messages.append((ptype, content))
        if len(self.messages) > MAX_MESSAGES:
            del self.messages[:-MAX_MESSAGES]

    def _empty(self) -> FrameBatch:
        return FrameBatch(np.empty(0, np.int64), np.empty(0), np.empty((0, self.n_channels), self.dtype))

    def _assemble(self, seq: np.ndarray, t_us: np.ndarray, counts: np.ndarray) -> FrameBatch:
        """Unwrap the frames' raw seq and t_device (int64 arrays) against the frames before."""
        if len(seq) == 0:
            return self._empty()
        first = self._last_raw is None
        prev_seq, prev_t = (seq[0], t_us[0]) if first else self._last_raw
        seq_steps = modular_steps(seq, prev_seq, self.seq_modulo)
        t_steps = modular_steps(t_us, prev_t, TIME_MODULO)
        # Exactly the frames the slow path takes as plain steps: seq ahead by less than half
        # its range and the clock not gone back. A clock gone back means a reboot even when
        # seq looks ahead (a device rebooting after seq 32768 restarts at 0, "ahead").
        plain = (seq_steps >= 1) & (seq_steps < self.seq_modulo // 2) & (t_steps <= TIME_MODULO // 2)
        plain[0] |= first  # nothing to step from: it starts a count (see _start_count)
        steps = seq_steps[1:] if first else seq_steps
        believable = (steps <= self.max_gap_frames + 1).all() and self._believable(int(steps.sum()) - len(steps), len(seq))
        if plain.all() and believable:
            return self._unwrap_in_order(seq, t_us, seq_steps, t_steps, counts)
        return self._unwrap_one_by_one(seq, t_us, counts)

    def _believable(self, lost: int, frames: int) -> bool:
        """Whether ``lost`` more frames, with ``frames`` more received, stay within the budget."""
        budget = max(self.max_gap_frames, MAX_LOST_RATIO * (self.stats.frames + frames))
        return self.stats.lost_frames + lost <= budget

    def _start_count(self, s: int, t: int, gaps: list, restarts: list) -> tuple[int, int]:
        """Unwrapped seq and time of a frame that starts the device's count: its own values
        for the first frame ever, else the next ones after the frames an outage cost."""
        if self._last_seq is None:
            return s, t
        missing = self._missing_after_outage
        gaps.append((self._last_seq + 1, missing))
        self.stats.lost_frames += missing
        restarts.append(self._last_seq + missing + 1)
        return self._last_seq + missing + 1, self._last_t_us + (missing + 1) * self.sample_period_us

    def _unwrap_in_order(self, seq, t_us, seq_steps, t_steps, counts) -> FrameBatch:
        """Fast path: every frame follows its predecessor (with or without a gap)."""
        gaps, restarts = [], []
        if self._last_raw is None:  # steps[0] are 0: the count starts at the first frame
            start_seq, start_t = self._start_count(int(seq[0]), int(t_us[0]), gaps, restarts)
        else:
            start_seq, start_t = self._last_seq, self._last_t_us
        useq = start_seq + np.cumsum(seq_steps)
        ut = start_t + np.cumsum(t_steps)
        jumps = [(int(useq[i] - seq_steps[i] + 1), int(seq_steps[i] - 1)) for i in np.flatnonzero(seq_steps > 1)]
        self.stats.lost_frames += sum(g[1] for g in jumps)
        gaps += jumps
        self.stats.frames += len(useq)
        self._last_seq, self._last_t_us = int(useq[-1]), int(ut[-1])
        self._last_raw = int(seq[-1]), int(t_us[-1])
        return FrameBatch(useq, ut * 1e-6, counts, gaps, restarts)

    def _unwrap_one_by_one(self, seq, t_us, counts) -> FrameBatch:
        """Slow path for duplicates, reordering and reboots."""
        keep, useq, ut, gaps, restarts = [], [], [], [], []
        for i in range(len(seq)):
            s, t = int(seq[i]), int(t_us[i])
            if self._last_raw is None:
                self._last_seq, self._last_t_us = self._start_count(s, t, gaps, restarts)
            else:
                last_s, last_t = self._last_raw
                step = (s - last_s) % self.seq_modulo
                t_back = (last_t - t) % TIME_MODULO
                went_back = 0 < t_back < TIME_MODULO // 2
                if step == 0 or (step >= self.seq_modulo // 2 and went_back and t_back < REBOOT_BACKSTEP_US):
                    self.stats.duplicates += 1
                    continue
                # Any clock backstep with seq going on is a restart too (STOP then START: the
                # clock restarts, seq need not); as a plain step it would add about 2**32 us.
                if step >= self.seq_modulo // 2 or went_back:
                    # The device restarted: continue the unwrapped counters one sample
                    # later and record a gap of unknown length (0 missing frames known).
                    self.stats.reboots += 1
                    gaps.append((self._last_seq + 1, 0))
                    self._last_seq += 1
                    self._last_t_us += self.sample_period_us
                    restarts.append(self._last_seq)
                elif step > 1 and (step - 1 > self.max_gap_frames
                                   or not self._believable(step - 1, len(keep) + 1)):
                    # Too long a jump to hold as empty samples: a discontinuity, placed like a reboot.
                    self.stats.discontinuities += 1
                    gaps.append((self._last_seq + 1, 0))
                    self._last_seq += 1
                    self._last_t_us += self.sample_period_us
                    restarts.append(self._last_seq)
                else:
                    if step > 1:
                        gaps.append((self._last_seq + 1, step - 1))
                        self.stats.lost_frames += step - 1
                    self._last_seq += step
                    self._last_t_us += (t - last_t) % TIME_MODULO
            self._last_raw = s, t
            keep.append(i)
            useq.append(self._last_seq)
            ut.append(self._last_t_us)
        self.stats.frames += len(keep)
        return FrameBatch(
            np.asarray(useq, np.int64), np.asarray(ut, np.float64) * 1e-6, counts[keep], gaps, restarts
        )


class FrameDecoder(StreamDecoder):
    """Decode protocol-v1 packets for a device with ``n_channels`` of ``dtype`` samples."""

    def __init__(self, n_channels: int, dtype: str | np.dtype = "<i4", sample_period_us: int = 1000):
        super().__init__(n_channels, dtype, sample_period_us)
        self._packet_size = HEADER.size + n_channels * self.dtype.itemsize + CRC_SIZE
        # A decoded DATA packet as a record (packed, like the wire), so that a read's frames
        # parse in one call.
        self._record = np.dtype([("type", "u1"), ("version", "u1"), ("seq", "<u2"), ("t", "<u4"),
                                 ("counts", self.dtype, (n_channels,)), ("crc", ">u2")])
        # The same with the zero the fast path's one COBS decode leaves after each packet.
        self._spaced_record = np.dtype(self._record.descr + [("spacer", "u1")])
        # A zero and an intact packet (any one: see _intact_crc), and the CRC over 0 and 1 packets.
        payload = bytes(self._packet_size - CRC_SIZE)
        self._spacer_and_intact_packet = b"\x00" + payload + crc_hqx(payload, 0xFFFF).to_bytes(CRC_SIZE, "big")
        self._intact_crcs = [0xFFFF, 0]

    def feed(self, data: bytes) -> FrameBatch:
        # Most reads are DATA frames that each follow the one before: taken here in a few
        # C calls, with nothing changed until they are known to be intact DATA frames
        # numbered on. Anything else (the stream's first read, a loss, a message, a fault)
        # is split and decoded again by the general path, which checks and counts packet
        # by packet.
        last_raw = self._last_raw
        if last_raw is None or self._discarding:
            return super().feed(data)
        # A device's whole writes arrive whole: then nothing is pending to copy in front.
        stream = self._pending + data if self._pending else data
        end = stream.rfind(DELIMITER)
        pending = stream[end + 1:]
        if end <= 0 or len(pending) > self.max_chunk_bytes:
            return super().feed(data)
        # COBS makes a packet under 254 bytes one byte longer, and puts a zero after each of
        # its blocks but the last: intact frames are n chunks of that length, each ended by a
        # delimiter where it should be, and the chunks run together decode in one call to the
        # packets with a zero after each but the last (a packet under 254 bytes has no
        # 255-code block, which would leave that zero out and put the frames out of place).
        body, stride = stream[:end], self._packet_size + 1
        n, short = divmod(len(body) + 1, stride + 1)
        if short or not 0 < n <= _MAX_FAST_FRAMES or body[stride::stride + 1] != _ZEROS[:n - 1]:
            return super().feed(data)
        try:
            decoded = cobs.decode(body.replace(DELIMITER, b""))
        except cobs.DecodeError:
            return super().feed(data)
        # A buffer of the batch's own (its counts are the caller's to change), with a zero
        # after its last packet too, so that it parses as n spaced records.
        joined = bytearray(decoded)
        joined.append(0)
        first = (last_raw[0] + 1) % SEQ_MODULO
        # Each packet a frame long with a zero after it, its type, version and sequence
        # bytes where they should be, and the CRC over them all what intact packets give
        # (see _intact_crc).
        if not (len(joined) == n * stride and joined[stride - 1::stride] == _ZEROS[:n]
                and joined[0::stride] == _DATA_TYPES[:n] and joined[1::stride] == _VERSIONS[:n]
                and joined[2::stride] == _SEQ_LOW[first:first + n] and joined[3::stride] == _SEQ_HIGH[first:first + n]
                and _READ_CRC.calc(decoded) == self._intact_crc(n)):
            return super().feed(data)
        self.stats.bytes_in += len(data)
        self._pending = pending
        records = np.frombuffer(joined, self._spaced_record)
        # The clock going forward without wrapping (all reads but one every 71 minutes),
        # else the general unwrapping. While nothing is unwrapped the seconds come in one
        # step from the raw clock: the same doubles as the general path's
        # ``unwrapped_us * 1e-6`` (and in the same order as the raw clock, which is checked).
        t_raw = records["t"]
        last_t_raw, newest_t_raw = last_raw[1], t_raw.item(-1)
        if not (last_t_raw <= t_raw.item(0) and newest_t_raw - last_t_raw <= TIME_MODULO // 2
                and not np.count_nonzero(t_raw[1:] < t_raw[:-1])):
            return self._assemble(records["seq"].astype(np.int64), t_raw.astype(np.int64), records["counts"])
        unwrap = self._last_t_us - last_t_raw  # 0 until the device clock first wraps or restarts
        t_s = t_raw * 1e-6 if not unwrap else np.add(t_raw, unwrap, dtype=np.int64) * 1e-6
        last_seq = self._last_seq
        self.stats.frames += n
        self._last_raw = (first + n - 1) % SEQ_MODULO, newest_t_raw
        self._last_seq, self._last_t_us = last_seq + n, newest_t_raw + unwrap
        return FrameBatch(np.arange(last_seq + 1, last_seq + n + 1, dtype=np.int64), t_s, records["counts"], [])

    def _intact_crc(self, n: int) -> int:
        """The CRC (CRC-16/CCITT-FALSE from 0xFFFF) over n intact packets with a zero between
        each two. A packet with its CRC appended takes the CRC's state to 0, and from a given
        state the CRC is affine in the bytes, so over intact packets the state after each
        depends on n alone, whatever they hold; made once per count. One pass checks them
        all as strongly as one each: a fault in one packet changes the final state by an
        invertible map of the change it makes to that packet's own CRC, and faults in several
        cancel with the chance (2**-16) that each alone would have passed."""
        known = self._intact_crcs
        while len(known) <= n:
            known.append(crc_hqx(self._spacer_and_intact_packet, known[-1]))
        return known[n]

    def _frames(self, chunks: list[bytes]) -> FrameBatch:
        packets = self._cobs_decode(chunks)
        n, size = len(packets), self._packet_size
        joined = b"".join(packets)
        # Three passes in C establish that every packet is an intact frame: no packet
        # longer than a frame and all together n frames long, so each is a frame's size;
        # and every CRC intact.
        all_frames = (
            len(joined) == n * size
            and max(map(len, packets), default=0) == size
            and not any(map(crc_hqx, packets, repeat(0xFFFF)))
        )
        if not all_frames:
            sizes = np.fromiter(map(len, packets), np.intp, n)
            crcs = np.fromiter(map(crc_hqx, packets, repeat(0xFFFF)), np.intp, n)
            frames = (sizes == size) & (crcs == 0)
            joined = b"".join(compress(packets, frames))
        records = np.frombuffer(joined, self._record)
        is_data = (records["type"] == _DATA) & (records["version"] == VERSION)
        if not is_data.all():
            # Intact and of a frame's size, but not DATA v1: a message, or malformed.
            if all_frames:
                frames, all_frames = np.ones(n, bool), False
            frames[frames] = is_data
            records = records[is_data]
        if not all_frames:
            for packet in compress(packets, ~frames):
                self._check_other(packet)
        # Copies: the batch's arrays are the caller's to keep and change.
        return self._assemble(records["seq"].astype(np.int64), records["t"].astype(np.int64),
                              records["counts"].copy())

    def _cobs_decode(self, chunks: list[bytes]) -> list[bytes]:
        """The decoded packets; chunks that are not valid COBS are counted and left out."""
        try:
            return list(map(cobs.decode, chunks))
        except cobs.DecodeError:
            pass  # one bad chunk stops map(): sort this read out chunk by chunk
        packets = []
        for chunk in chunks:
            try:
                packets.append(cobs.decode(chunk))
            except cobs.DecodeError:
                self.stats.malformed += 1
        return packets

    def _check_other(self, packet: bytes) -> None:
        """Count or keep a decoded packet that is not an intact DATA frame of the right size."""
        if len(packet) < HEADER.size + CRC_SIZE:
            self.stats.malformed += 1
            return
        if crc_hqx(packet, 0xFFFF):
            self.stats.crc_errors += 1
            return
        ptype, version, _, _ = HEADER.unpack_from(packet)
        # An intact DATA packet gets here only with a payload of the wrong size.
        if version != VERSION or ptype not in PacketType._value2member_map_ or ptype == PacketType.DATA:
            self.stats.malformed += 1
            return
        payload = packet[HEADER.size : -CRC_SIZE]
        if ptype == PacketType.ACK:
            self._keep_message(PacketType.ACK, payload.decode("utf-8", errors="replace"))
        else:
            self._keep_message(PacketType(ptype), decode_fields(payload))
