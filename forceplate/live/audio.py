"""The audio cue of a flag: a tone per side, told apart by pitch and by stereo channel.

Left is a low tone in the left channel, right a high tone in the right one, so a lifter
hears which knee without looking; the grade is the number of pulses (mild 1, moderate 2,
severe 3). Tones are WAV files written once and played by the system's own player (no
audio library: PySide6-Essentials has no QtMultimedia), without waiting for it. No Qt here.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

TONE_HZ = {"left": 440.0, "right": 880.0}  # an octave apart: distinct even on one speaker
CHANNEL = {"left": 0, "right": 1}
PULSES = {"mild": 1, "moderate": 2, "severe": 3}
PULSE_S, GAP_S = 0.12, 0.08
SAMPLE_RATE_HZ = 22050
AMPLITUDE = 0.6  # of full scale
FADE_S = 0.01  # ramps at each pulse's ends: no click
PLAYERS = (("paplay",), ("pw-play",), ("aplay", "-q"), ("afplay",))  # PulseAudio, PipeWire, ALSA, macOS


def tone(side: str, severity: str, rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """The cue as stereo samples (n, 2), float in [-1, 1]."""
    pulse_t = np.arange(int(PULSE_S * rate_hz)) / rate_hz
    ramp = np.minimum(1.0, np.minimum(pulse_t, PULSE_S - pulse_t) / FADE_S)
    pulse = AMPLITUDE * ramp * np.sin(2 * np.pi * TONE_HZ[side] * pulse_t)
    gap = np.zeros(int(GAP_S * rate_hz))
    mono = np.concatenate([np.concatenate([pulse, gap]) for _ in range(PULSES[severity])])
    stereo = np.zeros((len(mono), 2))
    stereo[:, CHANNEL[side]] = mono
    return stereo


def wav_bytes(samples: np.ndarray, rate_hz: int = SAMPLE_RATE_HZ) -> bytes:
    """16-bit PCM WAV of stereo ``samples`` (n, 2)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(rate_hz)
        f.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def system_player() -> list[str] | None:
    """The command that plays a WAV file here, or None (Windows plays through winsound)."""
    for command in PLAYERS:
        if shutil.which(command[0]):
            return list(command)
    return None


class CuePlayer:
    """Plays the cue of (side, severity); :attr:`available` says whether anything can play."""

    def __init__(self, player: list[str] | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="forceplate-cues-")
        self.files = {}
        for side in TONE_HZ:
            for severity in PULSES:
                path = Path(self._dir.name) / f"{side}-{severity}.wav"
                path.write_bytes(wav_bytes(tone(side, severity)))
                self.files[(side, severity)] = path
        self.player = player if player is not None else system_player()
        self.available = sys.platform == "win32" or self.player is not None
        self._playing: list[subprocess.Popen] = []

    def play(self, side: str, severity: str) -> bool:
        """Start the cue without waiting; False when nothing here can play it."""
        path = self.files[(side, severity)]
        if sys.platform == "win32":
            import winsound

            winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)
            return True
        if self.player is None:
            return False
        self._playing = [p for p in self._playing if p.poll() is None]  # reap the finished ones
        self._playing.append(subprocess.Popen([*self.player, str(path)], stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return True

    def close(self) -> None:
        for process in self._playing:
            if process.poll() is None:  # a cue still sounding when the window closes
                process.kill()
                process.wait()
        self._dir.cleanup()
