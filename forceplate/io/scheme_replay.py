"""``replay://FILE.h5?device=SERIAL&speed=X``: a recorded device, played back as a device.

The trial's raw counts are encoded again with the wire protocol and streamed by a firmware
stand-in (:class:`ReplayFirmware`, on a pseudo-terminal or TCP), so a replay goes through
the same driver, decoder, session and window as hardware. Sequence
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
from forceplate.io.codec import codec_for
from forceplate.io.firmware import Firmware
from forceplate.io.transport import parse_device_url, register_scheme
from forceplate.storage.reader import DeviceRecording, open_trial

OPTIONS = {"device", "speed"}


class ReplayFirmware(Firmware):
    """A :class:`DeviceRecording` streamed like firmware."""

    def __init__(self, recording: DeviceRecording, speed: float = 1.0, connection=None):
        # Set before the base class starts its streaming thread.
        self.recording = recording
        self._index = recording.seq - recording.seq[0]  # each frame's place on the uniform sample grid
        self._counts = np.ascontiguousarray(recording.counts, dtype=recording.profile.wire_dtype)
        # The host reads the stream with the trial's profile and record: an imported trial's
        # (float64 values, its own plates) is bundled nowhere, and a recorded one stays as recorded.
        self.profile = recording.profile
        self.calibration = recording.calibration
        super().__init__(dict(recording.info), recording.profile.rate_hz, codec_for(recording.profile.sample_format),
                         speed, connection)

    def _encode(self, n: np.ndarray) -> bytes:
        """The recorded frames whose place on the sample grid is in ``n``, lost ones left out
        (in ASCII mode, with no sequence numbers, a missing line shows as a step of the clock)."""
        lo, hi = np.searchsorted(self._index, [n[0], n[-1] + 1])
        if lo == hi:
            return b""
        index = self._index[lo:hi]
        t_us = np.round(index * 1e6 / self.rate_hz).astype(np.int64)
        return self.codec.encode_frames(self.recording.seq[lo:hi], t_us, self._counts[lo:hi])


def open_replay(url: str, replug: bool = False, connection=None) -> ReplayFirmware:
    """The stand-in for ``replay://FILE.h5?device=SERIAL&speed=X`` (``replug`` changes
    nothing: a replay plugged back in starts again); raises a :class:`DeviceError`."""
    target, query = parse_device_url(url, OPTIONS)
    path = unquote(target)
    try:
        speed = float(query.get("speed", 1.0))
    except ValueError:
        speed = 0.0
    if not 0 < speed <= 100:  # faster than 100x the host cannot keep up, and memory grows with it
        raise BadDeviceURL(f"{url}: speed must be a number in (0, 100]")
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
    return ReplayFirmware(recording, speed, connection)


register_scheme("replay", firmware=open_replay, example="replay://trial.h5")
