"""Lab Streaming Layer (pylsl): a live session's feet and events out, a feet stream in.

Out (:class:`LslPublisher`, ``--lsl`` on ``demo``/``live``/``record``): two outlets,
- ``forceplate-events`` (type Markers, irregular rate, one string channel): one JSON object
  per session event, e.g. ``{"event": "flag", "t_s": 12.3, "rep": 2, "side": "left",
  "severity": "severe", "phase": "bottom", "value_mm": 11.2}``; NaN and empty fields are
  left out. ``t_s`` is session time; the LSL timestamp is the moment it was pushed.
- ``forceplate-feet`` (type Force, the analysed pair's rate, float32): fz_left fz_right (N),
  cop_left_x cop_left_y cop_right_x cop_right_y (mm, lab frame; NaN below 20 N), with
  label/unit/type per channel in the stream's ``desc``. A thread pushes what the session's
  ring buffer gained every ``PUSH_INTERVAL_S``; the newest sample of a push carries the
  push's LSL time, earlier ones are spaced by the nominal rate.

In, two ways, for a ``forceplate-feet`` stream (or any stream with those six labelled
channels), each foot becoming a six-axis plate whose Fx = Fy = Mz = 0 and whose moments
give the streamed CoP (:func:`feet_wrenches`):
- ``lsl://NAME`` as a device URL (``scheme_lsl.py``): the inlet's samples are sent as
  protocol packets by a firmware stand-in (profile ``lsl-feet``, counts in mN and uN*m,
  record ``LSL-FEET``), so the same driver, session, window and recorder read them;
- ``forceplate lsl-record`` (:func:`record_feet_stream`): straight into a trial file.

pylsl is imported inside the functions, so a program (or a test) can point LSLAPICFG at a
configuration file first.
"""

from __future__ import annotations

import json
import math
import os
import threading

import numpy as np

from forceplate.errors import ForceplateError
from forceplate.interop import calibration_toml, imported_profile_text, require
from forceplate.profiles import load_profile

EVENTS_STREAM = "forceplate-events"
FEET_STREAM = "forceplate-feet"
# (label, unit, type, ring column, column index)
FEET_CHANNELS = (
    ("fz_left", "N", "Force", "fz_left", None),
    ("fz_right", "N", "Force", "fz_right", None),
    ("cop_left_x", "mm", "CoP", "cop_left", 0),
    ("cop_left_y", "mm", "CoP", "cop_left", 1),
    ("cop_right_x", "mm", "CoP", "cop_right", 0),
    ("cop_right_y", "mm", "CoP", "cop_right", 1),
)
PUSH_INTERVAL_S = 0.05  # 20 pushes a second: a plot's refresh rate, few packets
EVENT_FIELDS = ("rep", "side", "severity", "phase")
QUIET_CONFIG = os.path.join(os.path.dirname(__file__), "lsl_quiet.cfg")


def quiet_pylsl():
    """pylsl, with liblsl logging errors only unless LSLAPICFG already names a configuration:
    its INFO lines on stderr would mix into the terminal's event view."""
    os.environ.setdefault("LSLAPICFG", QUIET_CONFIG)
    return require("pylsl")


class NotAFeetStream(ForceplateError):
    """An LSL stream lacks a feet stream's labelled channels or its nominal rate."""


def event_json(event) -> str:
    """A session event as the marker string (fields with no value left out)."""
    out = {"event": event.kind, "t_s": round(float(event.t_s), 4)}
    for key in EVENT_FIELDS:
        value = getattr(event, key)
        if value not in ("", None, 0):  # reps count from 1: 0 is "no rep"
            out[key] = value
    if not math.isnan(event.value):
        out["value_mm"] = round(float(event.value), 3)
    if event.data.get("message"):
        out["message"] = event.data["message"]
    return json.dumps(out)


def _feet_info(pylsl, rate_hz: float, source_id: str):
    info = pylsl.StreamInfo(FEET_STREAM, "Force", len(FEET_CHANNELS), rate_hz, pylsl.cf_float32, source_id)
    channels = info.desc().append_child("channels")
    for label, unit, kind, _, _ in FEET_CHANNELS:
        channel = channels.append_child("channel")
        channel.append_child_value("label", label)
        channel.append_child_value("unit", unit)
        channel.append_child_value("type", kind)
    info.desc().append_child("acquisition").append_child_value("manufacturer", "forceplate")
    return info


class LslPublisher:
    """Publish a live session's events and the first analysed pair of feet on LSL."""

    def __init__(self, session):
        pylsl = quiet_pylsl()
        if not session.feet:
            raise ForceplateError("--lsl: no analysed feet in this session (a device without calibration?)")
        self._pylsl = pylsl
        self._ring = session.feet[0].ring
        # Publish from now on, not the ring's history.
        self._read = self._ring.written
        rate_hz = session.feet[0].analyzer.rate_hz
        source = f"forceplate-{id(session):x}"
        self.events = pylsl.StreamOutlet(pylsl.StreamInfo(EVENTS_STREAM, "Markers", 1, pylsl.IRREGULAR_RATE,
                                                          pylsl.cf_string, f"{source}-events"))
        self.feet = pylsl.StreamOutlet(_feet_info(pylsl, rate_hz, f"{source}-feet"))
        self._stop = threading.Event()
        session.add_listener(self._on_event)
        self._thread = threading.Thread(target=self._run, name="lsl feet", daemon=True)
        self._thread.start()

    def _on_event(self, event) -> None:
        if not self._stop.is_set():
            self.events.push_sample([event_json(event)])

    def _run(self) -> None:
        while not self._stop.wait(PUSH_INTERVAL_S):
            self.push_new()

    def push_new(self) -> int:
        """Push what the ring buffer gained since the last push; returns the sample count."""
        columns, self._read = self._ring.peek_since(self._read)
        if len(columns["t"]) == 0:
            return 0
        chunk = np.column_stack([columns[name] if index is None else columns[name][:, index]
                                 for _, _, _, name, index in FEET_CHANNELS]).astype(np.float32)
        self.feet.push_chunk(chunk.tolist(), self._pylsl.local_clock())
        return len(chunk)

    def close(self) -> None:
        """Stop the thread, push what is left, and withdraw the streams (close the session
        first: its reader threads hand events to this publisher)."""
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.push_new()
        del self.events, self.feet  # destroying an outlet withdraws the stream


def record_feet_stream(name: str, duration_s: float, timeout_s: float = 5.0) -> tuple:
    """Record ``duration_s`` of an LSL feet stream: (device for ``write_trial``, metadata).

    The trial's clock is the sample count at the stream's nominal rate.
    """
    import time

    pylsl = quiet_pylsl()
    found = pylsl.resolve_byprop("name", name, 1, timeout_s)
    if not found:
        raise ForceplateError(f"no LSL stream named {name!r} found within {timeout_s:g} s")
    inlet = pylsl.StreamInlet(found[0], max_buflen=max(1, int(math.ceil(duration_s)) + 5))
    info = inlet.info(timeout_s)
    columns, rate_hz = feet_columns(info)
    samples, stamps = [], []
    deadline = time.monotonic() + duration_s
    while time.monotonic() < deadline:
        chunk, ts = inlet.pull_chunk(timeout=0.1)
        samples += chunk
        stamps += ts
    inlet.close_stream()
    if not samples:
        raise ForceplateError(f"LSL stream {name!r} sent no samples in {duration_s:g} s")
    # LSL's transport is ordered and lossless: samples are consecutive as they arrive. Their
    # timestamps are not used to place them (a sped-up simulator's outpace the nominal rate).
    values = np.asarray(samples, dtype=float)[:, columns]
    return _plates_device(name, info, rate_hz, values, stamps[0]), {
        "notes": f"recorded from the LSL stream {name!r} ({info.hostname()}, source {info.source_id()!r})"}


def feet_columns(info) -> tuple[list[int], float]:
    """The stream's column of each :data:`FEET_CHANNELS` label, in that order, and its
    nominal rate; raises :class:`NotAFeetStream` when a label or the rate is missing."""
    labels = _channel_labels(info)
    wanted = [label for label, *_ in FEET_CHANNELS]
    if any(label not in labels for label in wanted):
        raise NotAFeetStream(f"LSL stream {info.name()!r} has channels {labels}; a feet stream has {wanted}")
    rate_hz = info.nominal_srate()
    if rate_hz <= 0:
        raise NotAFeetStream(f"LSL stream {info.name()!r} has no nominal rate; a feet stream has one")
    return [labels.index(label) for label in wanted], rate_hz


def _channel_labels(info) -> list[str]:
    labels, channel = [], info.desc().child("channels").child("channel")
    while not channel.empty():
        labels.append(channel.child_value("label"))
        channel = channel.next_sibling()
    return labels


def feet_wrenches(values: np.ndarray) -> np.ndarray:
    """Feet samples (n, 6: fz_left fz_right N, cop_left_x/y cop_right_x/y mm) -> per foot
    Fx Fy Fz (N), Mx My Mz (N*m) about the lab origin: Mx = y Fz, My = -x Fz, so that
    CoP x = -My/Fz, y = Mx/Fz. A NaN CoP gives NaN moments, and so a NaN CoP again."""
    columns = []
    for k in range(2):
        fz = values[:, k]
        cop_m = values[:, 2 + 2 * k:4 + 2 * k] / 1000.0
        zero = np.where(np.isnan(fz), np.nan, 0.0)  # a lost sample stays lost in every channel
        columns += [zero, zero, fz, cop_m[:, 1] * fz, -cop_m[:, 0] * fz, zero]
    return np.column_stack(columns)


def _plates_device(name: str, info, rate_hz: float, values: np.ndarray, first_timestamp_s: float):
    """Per foot Fx Fy Fz (N), Mx My Mz (N*m) about the lab origin that give the streamed CoP:
    Mx = y Fz, My = -x Fz (CoP x = -My/Fz, y = Mx/Fz); no moment where there is no CoP."""
    from forceplate.profiles import parse_profile
    from forceplate.storage.writer import DeviceArrays

    serial = f"LSL-{name}"
    # the live bridge's profile, with the stream's rate and the values kept as float64
    note = f"Made by `forceplate lsl-record` from the LSL stream {name!r}"
    profile = parse_profile(imported_profile_text(load_profile(BRIDGE_PROFILE), rate_hz, note),
                            where=f"LSL stream {name} (recorded profile)")
    return DeviceArrays(
        name=serial, profile=profile, counts=feet_wrenches(values), channel_units=["N", "N", "N", "N*m", "N*m", "N*m"] * 2,
        info={"serial": serial, "model": "LSL feet stream", "firmware": "", "source_id": info.source_id()},
        calibration_toml=calibration_toml(serial, BRIDGE_PROFILE, [1.0] * 12, method="values as streamed (N, N*m)"),
        url=f"lsl://{name}", attrs={"source_format": "lsl", "lsl_stream": name, "lsl_hostname": info.hostname(),
                                    "lsl_source_id": info.source_id(), "lsl_first_timestamp_s": float(first_timestamp_s)})


BRIDGE_SERIAL = "LSL-FEET"
BRIDGE_PROFILE = "lsl-feet"
