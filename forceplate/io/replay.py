"""``replay://FILE.h5?device=SERIAL&speed=X``: a recorded device, played back as a device.

The trial's raw counts are encoded again with the wire protocol and streamed on a
pseudo-terminal by the simulator's firmware stand-in (:class:`SimulatedDevice`), so a
replay goes through the same driver, decoder, session and window as hardware. Sequence
numbers are the recorded ones and frames the recording lost are not sent, so the decoder
counts them lost again; the device clock is the trial's (``(seq - first seq) / rate``).
START plays from the beginning at ``speed`` times real time; after the last frame the
device stays silent. The device's INFO, profile and calibration are the trial's, so an
imported trial (float64 values, a calibration record made at import) plays like a recorded one.

One URL per device: ``device=`` names one of the trial's devices (default: the first by
name); a trial with several devices is replayed by opening one URL for each.
"""

from __future__ import annotations

from urllib.parse import unquote

import numpy as np

from forceplate.errors import BadDeviceURL, DeviceNotFound, TrialError
from forceplate.io.ascii import encode_lines
from forceplate.io.device import parse_device_url
from forceplate.io.protocol import encode_data
from forceplate.sim.emulator import SimulatedDevice
from forceplate.storage.reader import DeviceRecording, open_trial

OPTIONS = {"device", "speed"}


class ReplayDevice(SimulatedDevice):
    """A :class:`DeviceRecording` streamed like firmware on the master side of a pty."""

    def __init__(self, recording: DeviceRecording, speed: float = 1.0):
        # Set before the base class starts its streaming thread.
        self.recording = recording
        self._index = recording.seq - recording.seq[0]  # each frame's place on the uniform sample grid
        self._counts = np.ascontiguousarray(recording.counts, dtype=recording.profile.wire_dtype)
        super().__init__(recording, dict(recording.info), speed=speed)
        self.calibration = recording.calibration
        # The host reads the stream with the trial's profile: an imported trial's (float64
        # values, its own plates) is bundled nowhere, and a recorded one stays as recorded.
        self.profile = recording.profile

    def _encode(self, n: np.ndarray) -> bytes:
        """The recorded frames whose place on the sample grid is in ``n``, lost ones left out."""
        lo, hi = np.searchsorted(self._index, [n[0], n[-1] + 1])
        if lo == hi:
            return b""
        index, counts = self._index[lo:hi], self._counts[lo:hi]
        t_us = np.round(index * 1e6 / self.rate_hz).astype(np.int64)
        if self.ascii:  # no sequence numbers: a missing line shows as a step of the device clock
            return encode_lines(t_us, counts)
        # encode_data numbers its packets consecutively: one call per run without a loss
        seq = self.recording.seq[lo:hi]
        runs = np.flatnonzero(np.diff(seq) != 1) + 1
        return b"".join(encode_data(int(s[0]), t, c)
                        for s, t, c in zip(np.split(seq, runs), np.split(t_us, runs), np.split(counts, runs)))


def open_replay(url: str) -> ReplayDevice:
    """A replay device for ``replay://FILE.h5?device=SERIAL&speed=X``; raises a :class:`DeviceError`."""
    target, query = parse_device_url(url, OPTIONS)
    path = unquote(target)
    try:
        speed = float(query.get("speed", 1.0))
    except ValueError:
        speed = 0.0
    if not speed > 0:
        raise BadDeviceURL(f"{url}: speed must be a positive number")
    if not path:
        raise BadDeviceURL(f"{url}: no trial file (replay://FILE.h5)")
    try:
        trial = open_trial(path)
    except TrialError as exc:
        raise DeviceNotFound(f"{url}: {exc}") from None
    names = sorted(trial.devices)
    name = query.get("device") or (names[0] if names else "")
    if name not in trial.devices:
        raise DeviceNotFound(f"{url}: no device {name!r} in the trial (it has: {', '.join(names) or 'none'})")
    recording = trial.devices[name]
    if len(recording.seq) == 0:
        raise DeviceNotFound(f"{url}: device {name} recorded no frames")
    return ReplayDevice(recording, speed)
