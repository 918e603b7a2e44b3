"""A device URL scheme in one module, as docs/ARCHITECTURE.md's "A new transport" says:
``counting://``, a dual plate whose every channel counts its samples. Used by
tests/test_transport.py, which lets the registry find it by its name."""

import numpy as np

from forceplate.io.codec import codec_for
from forceplate.io.firmware import Firmware
from forceplate.io.transport import register_scheme
from forceplate.profiles import load_profile


class CountingBoard(Firmware):
    def __init__(self, url, replug=False, connection=None):
        profile = load_profile("dual-plate-ads1256")
        self.n_channels = profile.n_channels
        info = {"model": "counting board", "serial": "COUNT-1", "channels": profile.n_channels,
                "rate_hz": f"{profile.rate_hz:g}", "profile": profile.id}
        super().__init__(info, profile.rate_hz, codec_for(profile.sample_format), speed=5.0, connection=connection)

    def _encode(self, n):
        counts = np.repeat(n[:, None], self.n_channels, axis=1).astype("<i4")
        return self.codec.encode_frames(n, np.round(n * 1e3).astype(np.int64), counts)


register_scheme("counting", firmware=CountingBoard, example="counting://board")
