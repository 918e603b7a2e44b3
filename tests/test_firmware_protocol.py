"""The firmware's C framing (devices/firmware/common/forceplate_protocol.h), compiled with
gcc and checked byte for byte against the protocol and forceplate's own decoder; and the
plate sketch built for a real AVR board when Debian's Arduino core is installed."""

import shutil
import struct
import subprocess
from binascii import crc_hqx
from pathlib import Path

import numpy as np
import pytest
from cobs import cobs

from forceplate.io.decoder import FrameDecoder
from forceplate.io.protocol import PacketType, decode_fields

FIRMWARE = Path(__file__).resolve().parents[1] / "devices" / "firmware"
AVR_CORE = Path("/usr/share/arduino/hardware/arduino/avr")  # Debian's arduino-core-avr


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path_factory.mktemp("firmware") / "frame_packets"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Werror", "-o", str(exe),
                    str(FIRMWARE / "test" / "frame_packets.c")], check=True, capture_output=True)
    return exe


def frame(harness, records) -> bytes:
    stdin = b"".join(struct.pack("<BHIH", ptype, seq, t_us, len(payload)) + payload
                     for ptype, seq, t_us, payload in records)
    return subprocess.run([str(harness)], input=stdin, capture_output=True, check=True).stdout


def test_data_packets_decode_with_frame_decoder(harness):
    rng = np.random.default_rng(7)
    counts = rng.integers(-(1 << 23), 1 << 23, size=(300, 8)).astype("<i4")
    counts[5] = 0  # a payload of zeros: the worst case for COBS
    counts[6] = -1  # and one without a single zero
    seqs = [(65500 + i) % 65536 for i in range(len(counts))]  # across the u16 wrap
    times = [(0xFFFF0000 + 1000 * i) % (1 << 32) for i in range(len(counts))]  # and the u32 wrap
    wire = frame(harness, [(PacketType.DATA, s, t, row.tobytes()) for s, t, row in zip(seqs, times, counts)])
    decoder = FrameDecoder(8, "<i4")
    batch = decoder.feed(wire)
    assert decoder.stats.crc_errors == 0 and decoder.stats.malformed == 0
    np.testing.assert_array_equal(batch.counts, counts)
    assert list(np.diff(batch.seq)) == [1] * (len(counts) - 1) and batch.gaps == []
    np.testing.assert_allclose(np.diff(batch.t_device_s), 1e-3)


def test_bytes_match_the_protocol_exactly(harness):
    long_info = "".join(f"key{i}=value{i}\n" for i in range(40)).encode()  # > 254 bytes without a zero
    records = [(PacketType.INFO, 1, 2, long_info), (PacketType.ACK, 3, 4, b"START"),
               (PacketType.STATUS, 0, 0, b""), (PacketType.DATA, 9, 0, bytes(32)),
               (PacketType.DATA, 10, 77, b"\xff" * 254)]
    wire = frame(harness, records)
    chunks = wire.split(b"\x00")
    assert chunks.pop() == b"" and len(chunks) == len(records)
    for chunk, (ptype, seq, t_us, payload) in zip(chunks, records):
        body = struct.pack("<BBHI", ptype, 1, seq, t_us) + payload
        # The CRC goes most significant byte first, so the CRC of the whole packet is 0.
        assert cobs.decode(chunk) == body + crc_hqx(body, 0xFFFF).to_bytes(2, "big")
        assert crc_hqx(cobs.decode(chunk), 0xFFFF) == 0
        assert chunk == cobs.encode(cobs.decode(chunk)), "the canonical COBS encoding"
    decoder = FrameDecoder(8, "<i4")
    decoder.feed(wire[: wire.index(b"\x00") + 1])
    assert decoder.messages == [(PacketType.INFO, decode_fields(long_info))]


def test_command_line_reader(harness):
    typed = b"INFO?\r\nSTART\n" + b"X" * 40 + b"\nRATE 500\n"  # a line too long to be a command is dropped
    lines = subprocess.run([str(harness), "lines"], input=typed, capture_output=True, check=True).stdout
    assert lines.splitlines() == [b"INFO?", b"START", b"RATE 500"]


@pytest.mark.skipif(shutil.which("avr-g++") is None or not AVR_CORE.is_dir(),
                    reason="no AVR toolchain (Debian: apt-get install arduino-core-avr)")
def test_plate_sketch_builds_for_a_leonardo(tmp_path):
    """Compile and link plate4.ino with the Arduino core, as the IDE would, with warnings
    as errors, and check it fits the ATmega32u4 (28 KiB flash, 2.5 KiB RAM)."""
    flags = ["-Os", "-mmcu=atmega32u4", "-DF_CPU=16000000L", "-DARDUINO=10819", "-DARDUINO_AVR_LEONARDO",
             "-DARDUINO_ARCH_AVR", "-DUSB_VID=0x2341", "-DUSB_PID=0x8036", '-DUSB_MANUFACTURER="Unknown"',
             '-DUSB_PRODUCT="Arduino Leonardo"', "-ffunction-sections", "-fdata-sections",
             f"-I{AVR_CORE / 'cores/arduino'}", f"-I{AVR_CORE / 'variants/leonardo'}",
             f"-I{AVR_CORE / 'libraries/SPI/src'}", f"-I{FIRMWARE / 'common'}"]
    cxx = ["avr-g++", "-std=gnu++11", "-fno-exceptions", "-fno-threadsafe-statics", *flags]
    objects = []

    def build(command, source, warnings=()):
        obj = tmp_path / f"{len(objects)}.o"
        result = subprocess.run([*command, *warnings, "-c", str(source), "-o", str(obj)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        objects.append(str(obj))

    build([*cxx, "-x", "c++", "-include", "Arduino.h"], FIRMWARE / "plate4" / "plate4.ino",
          ["-Wall", "-Wextra", "-Werror"])
    # Debian's core pairs WString.cpp with an avr-gcc whose float.h lacks DECIMAL_DIG in
    # C++; the sketch uses no String, so the link does not need it.
    core = [source for source in AVR_CORE.glob("cores/arduino/*.c*") if source.name != "WString.cpp"]
    for source in [*core, AVR_CORE / "libraries/SPI/src/SPI.cpp"]:
        build(cxx if source.suffix == ".cpp" else ["avr-gcc", *flags], source)
    elf = tmp_path / "plate4.elf"
    subprocess.run(["avr-gcc", "-mmcu=atmega32u4", "-Os", "-Wl,--gc-sections", "-o", str(elf), *objects, "-lm"],
                   check=True, capture_output=True)
    sizes = subprocess.run(["avr-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    section = {line.split()[0]: int(line.split()[1]) for line in sizes.splitlines() if line.startswith(".")}
    assert section[".text"] + section[".data"] <= 28672
    assert section[".data"] + section[".bss"] <= 2560 - 512, "leave 512 bytes of RAM for the stack"
