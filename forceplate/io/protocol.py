"""The wire protocol, version 1 (devices/PROTOCOL.md is the reference for firmware).

Device -> host: COBS-encoded packets, each ended by one 0x00 byte. A decoded packet is
``header | payload | crc16``: header ``<BBHI`` = type, version, sequence (u16, wraps),
device time (u32 microseconds, wraps); crc16 = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF)
over header and payload, big-endian (most significant byte first), so that the same CRC
over the whole packet, CRC included, is 0 for an intact packet: one C call, no slicing.

Host -> device: ASCII command lines ending in ``\\n`` (``INFO?``, ``START``, ``STOP``,
``TARE``, ``RATE <hz>``), easy to type in a terminal and to parse on a microcontroller.

The ASCII line mode for hobby boards (device -> host as text lines) is in ``ascii.py``.
"""

from __future__ import annotations

import struct
from binascii import crc_hqx
from enum import IntEnum
from functools import lru_cache

import numpy as np
from cobs import cobs

VERSION = 1
HEADER = struct.Struct("<BBHI")
CRC_SIZE = 2
DELIMITER = b"\x00"
SEQ_MODULO = 1 << 16
TIME_MODULO = 1 << 32
# COBS codes a run of up to 254 bytes in one code byte; packets up to this long (header,
# payload, CRC) are one block, so a batch of them is framed by array operations.
COBS_BLOCK_BYTES = 253
# The array operations cost about as much as framing 40 packets one by one (December 2026):
# fewer are framed one by one (a replayed trial's or a bridge's 20 ms of samples).
BATCH_MIN_PACKETS = 32


class PacketType(IntEnum):
    """The type byte of a protocol v1 packet (devices/PROTOCOL.md)."""

    INFO = 1  # payload: UTF-8 "key=value" lines
    DATA = 2  # payload: one sample, channels x int32 or int16 little-endian
    STATUS = 3  # payload: UTF-8 "key=value" lines (saturation, battery, error)
    ACK = 4  # payload: the command line acknowledged, UTF-8


class Command:
    """The host's commands to a device: ASCII lines (devices/PROTOCOL.md)."""

    INFO = b"INFO?\n"
    START = b"START\n"
    STOP = b"STOP\n"
    TARE = b"TARE\n"

    @staticmethod
    def rate(hz: float) -> bytes:
        return f"RATE {hz:g}\n".encode()


def crc16(data: bytes) -> int:
    return crc_hqx(data, 0xFFFF)


def encode_packet(ptype: int, seq: int, t_device_us: int, payload: bytes, corrupt_crc: bool = False) -> bytes:
    """One framed packet; ``corrupt_crc`` sends a wrong CRC (the simulator's fault injection)."""
    raw = HEADER.pack(ptype, VERSION, seq % SEQ_MODULO, t_device_us % TIME_MODULO) + payload
    crc = crc16(raw) ^ (0x5A5A if corrupt_crc else 0)
    return cobs.encode(raw + crc.to_bytes(CRC_SIZE, "big")) + DELIMITER


def encode_data(seq0: int, t_device_us: np.ndarray, samples: np.ndarray) -> bytes:
    """Encode consecutive samples (n, channels) as DATA packets starting at sequence ``seq0``."""
    return encode_data_packets(seq0 + np.arange(len(samples)), t_device_us, samples)


def encode_data_packets(seq: np.ndarray, t_device_us: np.ndarray, samples: np.ndarray) -> bytes:
    """DATA packets of samples (n, channels) with sequence numbers ``seq`` and device times
    ``t_device_us``: the bytes of :func:`encode_packet` per sample, made for the whole batch at
    once (header, CRC and COBS as array operations: a stand-in frames a second of samples in
    a few numpy calls, where a call per packet cost it more than its model). A few packets
    (fewer than :data:`BATCH_MIN_PACKETS`), or packets longer than one COBS block
    (:data:`COBS_BLOCK_BYTES`), are framed one by one."""
    rows = np.ascontiguousarray(samples)
    n = len(rows)
    payload = rows.view(np.uint8).reshape(n, rows.dtype.itemsize * int(np.prod(rows.shape[1:])))
    size = HEADER.size + payload.shape[1] + CRC_SIZE
    t_device_us = np.asarray(t_device_us).astype(np.int64)
    if size > COBS_BLOCK_BYTES or n < BATCH_MIN_PACKETS:
        return b"".join(encode_packet(PacketType.DATA, s, t, payload[i].tobytes())
                        for i, (s, t) in enumerate(zip(np.asarray(seq).tolist(), t_device_us.tolist(), strict=True)))
    raw = np.empty((n, size), np.uint8)
    raw[:, 0], raw[:, 1] = PacketType.DATA, VERSION
    raw[:, 2:4] = (np.asarray(seq) % SEQ_MODULO).astype("<u2").view(np.uint8).reshape(n, 2)
    raw[:, 4:8] = (t_device_us % TIME_MODULO).astype("<u4").view(np.uint8).reshape(n, 4)
    raw[:, HEADER.size:-CRC_SIZE] = payload
    crc = _crc16_rows(raw[:, :-CRC_SIZE])
    raw[:, -2], raw[:, -1] = crc >> 8, crc & 0xFF
    return _cobs_rows(raw).tobytes()


@lru_cache(maxsize=16)
def _crc16_tables(length: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The CRC of protocol v1 over ``length`` bytes as a sum of each byte's own part: a CRC is
    linear in the message bits, so crc(m) = crc(zeros) ^ XOR over positions i of T[i, m[i]],
    where T[i, b] is the CRC (from 0) of byte b at position i among zeros. Returns T flat
    ((length * 256,) uint16), each position's offset into it and crc(zeros). The offsets are
    uint16 so that a row's bytes plus them index T as uint16: a quarter of the time that
    machine-word indices take to make and follow."""
    table = np.empty((length, 256), np.uint16)
    table[-1] = [crc_hqx(bytes([b]), 0) for b in range(256)]
    for i in range(length - 2, -1, -1):  # a zero byte after b carries its part one position on
        table[i] = [crc_hqx(b"\0", int(value)) for value in table[i + 1]]
    return table.ravel(), (np.arange(length) * 256).astype(np.uint16), crc16(bytes(length))


def _crc16_rows(raw: np.ndarray) -> np.ndarray:
    """:func:`crc16` of each row of ``raw`` (n, length <= 256) uint8."""
    table, offsets, of_zeros = _crc16_tables(raw.shape[1])
    return np.bitwise_xor.reduce(np.take(table, raw + offsets), axis=1) ^ np.uint16(of_zeros)


def _cobs_rows(raw: np.ndarray) -> np.ndarray:
    """``cobs.encode(row) + DELIMITER`` of each row of ``raw`` (n, length <= COBS_BLOCK_BYTES):
    (n, length + 2). A row is one COBS block: a code byte before it and each zero in it say
    how far on the next zero is, the delimiter ending the row counting as one."""
    n, length = raw.shape
    out = np.empty((n, length + 2), np.uint8)
    out[:, 0], out[:, 1:-1], out[:, -1] = 0, raw, 0  # the delimiter is 0x00
    flat = out.reshape(-1)
    zeros = np.flatnonzero(flat == 0)  # each row's code byte, its zeros and its delimiter
    flat[zeros[:-1]] = np.diff(zeros)
    out[:, -1] = 0  # a delimiter is not coded (it was given the distance to the next row's start)
    return out


def encode_fields(fields: dict) -> bytes:
    return "".join(f"{k}={v}\n" for k, v in fields.items()).encode()


def decode_fields(payload: bytes) -> dict[str, str]:
    fields = {}
    for line in payload.decode("utf-8", errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields
