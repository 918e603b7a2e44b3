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

import numpy as np
from cobs import cobs

VERSION = 1
HEADER = struct.Struct("<BBHI")
CRC_SIZE = 2
DELIMITER = b"\x00"
SEQ_MODULO = 1 << 16
TIME_MODULO = 1 << 32


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
    rows = np.ascontiguousarray(samples)
    return b"".join(
        encode_packet(PacketType.DATA, seq0 + i, int(t), rows[i].tobytes())
        for i, t in enumerate(t_device_us)
    )


def encode_fields(fields: dict) -> bytes:
    return "".join(f"{k}={v}\n" for k, v in fields.items()).encode()


def decode_fields(payload: bytes) -> dict[str, str]:
    fields = {}
    for line in payload.decode("utf-8", errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields
