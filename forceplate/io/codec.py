"""Wire codecs: the two framings of protocol v1 (devices/PROTOCOL.md) behind one interface.

A :class:`Codec` decodes (a :class:`~forceplate.io.decoder.StreamDecoder` for a device's
channels), encodes (samples and messages as firmware and the stand-ins send them) and
detects (an INFO answer in its framing, for the handshake and port discovery). The binary
mode (COBS packets with a CRC, ``decoder.py``) and the ASCII line mode (``ascii.py``)
implement it; a profile's ``sample_format`` says which one a device speaks
(:func:`codec_for`). A new framing is one more :class:`Codec` in :data:`CODECS`.
"""

from __future__ import annotations

import numpy as np

from forceplate.io import ascii as line_mode
from forceplate.io.decoder import FrameDecoder, StreamDecoder
from forceplate.io.protocol import DELIMITER, PacketType, encode_data_packets, encode_fields, encode_packet


class Codec:
    """One framing of protocol v1. ``name`` is what discovery reports; ``sample_formats``
    the profile formats it carries."""

    name: str
    delimiter: bytes
    sample_formats: frozenset[str]
    decoder_class: type[StreamDecoder]

    def decoder(self, n_channels: int, dtype="<i4", sample_period_us: int = 1000) -> StreamDecoder:
        """A decoder for a device with ``n_channels`` counts per sample, kept as ``dtype``."""
        return self.decoder_class(n_channels, dtype, sample_period_us)

    def probe(self) -> StreamDecoder:
        """A decoder that expects no channels: it keeps messages, and counts a streaming
        device's samples as malformed (see :meth:`detect`)."""
        return self.decoder(0)

    def detect(self, probe: StreamDecoder, data: bytes) -> dict[str, str] | None:
        """Feed ``data`` to ``probe`` (from :meth:`probe`); the INFO fields once an INFO has
        arrived in this framing, else None. Each framing's decoder reads the other's bytes
        as garbage, so the probes of all codecs can listen to the same bytes."""
        probe.feed(data)
        for ptype, fields in probe.messages:
            if ptype == PacketType.INFO:
                return fields
        probe.messages.clear()
        return None

    def encode_frames(self, seq: np.ndarray, t_us: np.ndarray, counts: np.ndarray) -> bytes:
        """Samples (n, channels) with their sequence numbers and device times (us)."""
        raise NotImplementedError

    def encode_frame(self, seq: int, t_us: int, counts: np.ndarray, corrupt: bool = False) -> bytes:
        """One sample; ``corrupt``: one the host must reject (fault injection)."""
        raise NotImplementedError

    def encode_message(self, ptype: PacketType, content: dict | str, seq: int, t_us: int) -> bytes:
        """An INFO, STATUS (fields) or ACK (the command line) message."""
        raise NotImplementedError


class BinaryCodec(Codec):
    """COBS-framed packets ended by 0x00, each with a CRC-16 (``protocol.py``)."""

    name = "binary"
    delimiter = DELIMITER
    sample_formats = frozenset({"int32", "int16", "float64"})
    decoder_class = FrameDecoder

    def encode_frames(self, seq, t_us, counts) -> bytes:
        return encode_data_packets(seq, t_us, counts)

    def encode_frame(self, seq, t_us, counts, corrupt=False) -> bytes:
        return encode_packet(PacketType.DATA, seq, t_us, np.ascontiguousarray(counts).tobytes(), corrupt)

    def encode_message(self, ptype, content, seq, t_us) -> bytes:
        payload = content.encode() if isinstance(content, str) else encode_fields(content)
        return encode_packet(ptype, seq, t_us, payload)


class AsciiCodec(Codec):
    """One text line per sample or message (``ascii.py``). Lines carry no sequence number
    (the host counts samples by their clock) and no CRC (a corrupt line is a garbled field)."""

    name = "ascii"
    delimiter = line_mode.AsciiDecoder.delimiter
    sample_formats = frozenset({"ascii"})
    decoder_class = line_mode.AsciiDecoder

    def encode_frames(self, seq, t_us, counts) -> bytes:
        return line_mode.encode_lines(np.asarray(t_us), np.asarray(counts))

    def encode_frame(self, seq, t_us, counts, corrupt=False) -> bytes:
        return (b"x" if corrupt else b"") + line_mode.encode_line(t_us, np.asarray(counts).tolist())

    def encode_message(self, ptype, content, seq, t_us) -> bytes:
        if isinstance(content, dict):  # a value ends at a space in this framing: words joined by "-"
            content = {key: str(value).replace(" ", "-") for key, value in content.items()}
        return line_mode.encode_message(ptype, content)


BINARY, ASCII = BinaryCodec(), AsciiCodec()
CODECS: dict[str, Codec] = {codec.name: codec for codec in (BINARY, ASCII)}


def codec_for(sample_format: str) -> Codec:
    """The codec that carries a profile's ``sample_format`` (the profile checked it is known)."""
    return next(codec for codec in CODECS.values() if sample_format in codec.sample_formats)
