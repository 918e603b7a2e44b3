"""Fuzzing what a device says (issue 13): binary and ASCII streams with hostile sequence
numbers, INFO answers with hostile fields, and mutated profiles. Nothing raises anything
but the package's own errors, and what is accepted stays within bounds (lost frames within
the budget, rates in range, serials plain names)."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forceplate.errors import ForceplateError
from forceplate.io.ascii import AsciiDecoder, encode_line, encode_message
from forceplate.io.decoder import MAX_GAP_S, MAX_LOST_RATIO, MAX_MESSAGES, FrameDecoder
from forceplate.io.protocol import PacketType, encode_fields, encode_packet
from forceplate.profiles import RATE_RANGE_HZ, parse_profile, plain_name
from forceplate.resources import profiles_dir

from fuzz_helpers import HOSTILE_NUMBERS, mutate_text

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
N_CH = 4
PERIOD_US = 1000


def _budget(decoder) -> int:
    return max(int(MAX_GAP_S * 1e6 / PERIOD_US), MAX_LOST_RATIO * decoder.stats.frames)


@FUZZ
@given(steps=st.lists(st.integers(-40000, 70000), min_size=1, max_size=400),
       t_steps=st.lists(st.integers(-2_000_000, 5_000_000), min_size=1, max_size=400),
       statuses=st.integers(0, 5), cut=st.integers(1, 300))
def test_binary_streams_with_hostile_sequence_numbers(steps, t_steps, statuses, cut):
    decoder = FrameDecoder(N_CH, sample_period_us=PERIOD_US)
    seq, t, stream = 0, 0, []
    for i, step in enumerate(steps):
        seq += step
        t += t_steps[i % len(t_steps)]
        stream.append(encode_packet(PacketType.DATA, seq, t, np.full(N_CH, i, "<i4").tobytes()))
        stream += [encode_packet(PacketType.STATUS, seq, t, encode_fields({"battery_pct": i}))] * statuses
    data = b"".join(stream)
    frames = 0
    for start in range(0, len(data), cut):
        batch = decoder.feed(data[start:start + cut])
        frames += len(batch)
        assert (np.diff(batch.seq) > 0).all()
    assert decoder.stats.lost_frames <= _budget(decoder)
    assert len(decoder.messages) <= MAX_MESSAGES
    assert frames == decoder.stats.frames


@FUZZ
@given(t_steps=st.lists(st.integers(-2_000_000, 3_000_000_000), min_size=1, max_size=300),
       junk=st.lists(st.sampled_from([b"#", b"# INFO rate_hz=inf", b"1e9,1,2,3,4", b",,,,", b"\xff\xfe"]), max_size=20))
def test_ascii_streams_with_hostile_clocks(t_steps, junk):
    decoder = AsciiDecoder(N_CH, sample_period_us=PERIOD_US)
    t, lines = 0, []
    for i, step in enumerate(t_steps):
        t += step
        lines.append(encode_line(t, [i] * N_CH))
        if junk and i % 7 == 0:
            lines.append(junk[i % len(junk)] + b"\n")
    lines.append(encode_message(PacketType.STATUS, {"battery_pct": 1}))
    decoder.feed(b"".join(lines))
    assert decoder.stats.lost_frames <= _budget(decoder)


INFO_VALUES = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.text(max_size=30),
                        st.sampled_from(["../../etc/passwd", "/etc/x.toml", "a/b", "..", "SIM-DP-0001",
                                         "dual-plate-ads1256", "insole16", "x" * 200, "8", "1000"]))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["serial", "profile", "rate_hz", "channels", "foot", "model"]),
                              INFO_VALUES, max_size=6))
def test_hostile_info_is_refused_or_bounded(fields):
    from forceplate.io.device import Device
    from forceplate.io.codec import BINARY as Mode

    info = {"serial": "SIM-DP-0001", "profile": "dual-plate-ads1256", "rate_hz": "1000", "channels": "8", **fields}
    device = Device(None, "fuzz://device")
    try:
        device._configure(info, Mode)
    except ForceplateError:
        return
    low, high = RATE_RANGE_HZ
    assert low <= device.profile.rate_hz <= high
    assert not info.get("serial") or plain_name(info["serial"])
    assert str(device.profile.n_channels) == info["channels"]


PROFILES = sorted(p.name for p in profiles_dir().glob("*.toml"))


@FUZZ
@given(name=st.sampled_from(PROFILES), seed=st.integers(0, 2**32 - 1))
def test_mutated_profiles_are_refused_or_plausible(name, seed):
    text = (profiles_dir() / name).read_text(encoding="utf-8")
    data, _ = mutate_text(text, random.Random(seed))
    try:
        profile = parse_profile(data.decode("utf-8", errors="replace"), where=name)
    except ForceplateError:
        return
    assert RATE_RANGE_HZ[0] <= profile.rate_hz <= RATE_RANGE_HZ[1]
    for plate in profile.plates:
        assert np.isfinite(plate.center_mm).all() and min(plate.size_mm) > 0
