"""``lsl://NAME[?timeout=S]``: a Lab Streaming Layer feet stream as a device URL.

The inlet's samples (a ``forceplate-feet`` stream, or any with its six labelled channels:
``lsl.py``) become the bridge profile's int32 counts (``lsl-feet``: mN and uN*m, record
``LSL-FEET``) and are sent as DATA packets by a firmware stand-in, so the same driver,
session, window and recorder read them as hardware. Found by
:mod:`forceplate.io.transport` from this module's name when a URL asks for ``lsl://``.
"""

from __future__ import annotations

import numpy as np

from forceplate.calibration.record import find_record
from forceplate.errors import BadDeviceURL, DeviceNotFound
from forceplate.interop.lsl import BRIDGE_PROFILE, BRIDGE_SERIAL, NotAFeetStream, feet_columns, feet_wrenches, quiet_pylsl
from forceplate.io.codec import BINARY
from forceplate.io.firmware import Firmware
from forceplate.io.transport import parse_device_url, register_scheme
from forceplate.profiles import load_profile

RESOLVE_TIMEOUT_S = 5.0
MAX_RESOLVE_TIMEOUT_S = 60.0  # a longer wait for a stream looks like a hang


class LslBridge(Firmware):
    """Firmware stand-in that sends what the inlet received since the last tick, as the
    bridge profile's counts."""

    def __init__(self, inlet, columns: list[int], rate_hz: float, info: dict, connection=None):
        self._inlet = inlet
        self._columns = columns
        self._record = find_record(BRIDGE_SERIAL)
        self._n_channels = load_profile(BRIDGE_PROFILE).n_channels
        super().__init__(info, rate_hz, BINARY, connection=connection)

    def _stream(self) -> None:
        counts = self._pull()
        if len(counts):
            self._write(self._encode_pulled(np.arange(self._sent, self._sent + len(counts)), counts))
            self._sent += len(counts)

    def _pull(self) -> np.ndarray:
        chunk, _ = self._inlet.pull_chunk(timeout=0.0)
        if not chunk:
            return np.empty((0, self._n_channels), np.int32)
        wrenches = np.nan_to_num(feet_wrenches(np.asarray(chunk, dtype=float)[:, self._columns]))
        return np.round(self._record.to_counts(wrenches)).astype(np.int32)

    def _encode_pulled(self, n: np.ndarray, counts: np.ndarray) -> bytes:
        """Samples ``n`` (counted from START) with the ``counts`` the inlet gave for them."""
        data = self.codec.encode_frames(self._seq + np.arange(len(n)), np.round(n * 1e6 / self.rate_hz).astype(np.int64),
                                        counts)
        self._seq += len(n)
        return data


def open_lsl_bridge(url: str, replug: bool = False, connection=None) -> LslBridge:
    """The stand-in for ``lsl://NAME[?timeout=S]`` (``replug`` changes nothing: the stream
    is resolved again); raises a :class:`DeviceError`."""
    target, query = parse_device_url(url, {"timeout"})
    name = target.lstrip("/")
    if not name:
        raise BadDeviceURL(f"{url}: an LSL device is lsl://STREAM_NAME[?timeout=S]")
    try:
        timeout_s = float(query.get("timeout") or RESOLVE_TIMEOUT_S)  # a blank timeout: the default
    except ValueError:
        timeout_s = -1.0
    if not 0 < timeout_s <= MAX_RESOLVE_TIMEOUT_S:
        raise BadDeviceURL(f"{url}: timeout is a number of seconds in (0, {MAX_RESOLVE_TIMEOUT_S:g}]")
    pylsl = quiet_pylsl()
    found = pylsl.resolve_byprop("name", name, 1, timeout_s)
    if not found:
        raise DeviceNotFound(f"{url}: no LSL stream named {name!r} found")
    inlet = pylsl.StreamInlet(found[0], max_buflen=10)
    info = inlet.info(RESOLVE_TIMEOUT_S)
    try:
        columns, rate_hz = feet_columns(info)
    except NotAFeetStream as exc:
        raise DeviceNotFound(f"{url}: {exc}") from None
    fields = {"model": f"LSL stream {name}", "serial": BRIDGE_SERIAL, "firmware": "lsl-bridge",
              "channels": load_profile(BRIDGE_PROFILE).n_channels, "rate_hz": f"{rate_hz:g}", "profile": BRIDGE_PROFILE}
    return LslBridge(inlet, columns, rate_hz, fields, connection)


register_scheme("lsl", firmware=open_lsl_bridge, example="lsl://forceplate-feet")
