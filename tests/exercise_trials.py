"""Trials for the exercise tests: real recordings imported by ``forceplate import``, arrays
(simulated pulls, squats, sway; a recording with lost samples) written as trial files, so
the tests go through ``forceplate analyze`` as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from forceplate.interop import calibration_toml
from forceplate.profiles import load_profile, parse_profile
from forceplate.storage.writer import DeviceArrays, write_trial

PLATE_CENTRES_MM = {"left": (-250.0, 0.0), "right": (250.0, 0.0)}  # dual-six-axis.toml


def write_feet_trial(path: Path, fz: dict, rate_hz: float, cop_mm: dict | None = None,
                     exercise: str | None = None) -> Path:
    """A trial of two six-axis plates carrying ``fz`` (foot -> N) at ``cop_mm`` (foot ->
    (n, 2) lab mm; the plate centre when None); a missing foot is an unloaded plate."""
    text = load_profile("dual-six-axis").toml_text
    text = text.replace('sample_format = "int32"', 'sample_format = "float64"')
    text = text.replace("rate_hz = 1000.0", f"rate_hz = {float(rate_hz)!r}")
    profile = parse_profile(text)
    n = len(next(iter(fz.values())))
    columns = []
    for foot, (cx, cy) in PLATE_CENTRES_MM.items():
        force = np.asarray(fz.get(foot, np.zeros(n)), dtype=float)
        cop = (cop_mm or {}).get(foot)
        x, y = (np.zeros(n), np.zeros(n)) if cop is None else ((cop[:, 0] - cx) / 1000, (cop[:, 1] - cy) / 1000)
        x, y = np.nan_to_num(x), np.nan_to_num(y)
        columns += [np.zeros(n), np.zeros(n), force, y * force, -x * force, np.zeros(n)]
    device = DeviceArrays(name="TEST", profile=profile, counts=np.column_stack(columns),
                          channel_units=(["N"] * 3 + ["N*m"] * 3) * 2, info={"serial": "TEST"},
                          calibration_toml=calibration_toml("TEST", profile.id, [1.0] * 12))
    write_trial(path, [device], {"exercise": exercise} if exercise else {})
    return path


def imported(source: Path, trial: Path) -> Path:
    """``forceplate import SOURCE -o TRIAL`` through the real command line."""
    done = subprocess.run([sys.executable, "-m", "forceplate", "import", str(source), "-o", str(trial)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return trial


def trial_feet(trial: Path) -> tuple[float, dict, dict]:
    """Rate (Hz), vertical force (N) and lab CoP (mm) per foot of a trial file."""
    from forceplate.offline import feet_arrays
    from forceplate.storage.reader import open_trial

    feet = feet_arrays(open_trial(trial))
    return feet.rate_hz, feet.fz, feet.cop


def analyze_json(trial: Path, *options: str) -> dict:
    """``forceplate analyze TRIAL --json`` through the real command line."""
    done = subprocess.run([sys.executable, "-m", "forceplate", "analyze", str(trial), "--json", *options],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def analyze_text(trial: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forceplate", "analyze", str(trial), *options],
                          capture_output=True, text=True, timeout=120)


def isometric_pull(rate_hz: float, weight_n: float, rise: str, rfd_n_s: float, peak_net_n: float, seed: int,
                   left_share: float = 0.5) -> tuple[dict, float]:
    """Per-foot force of 2 s quiet standing, a pull rising linearly at ``rfd_n_s`` (or
    exponentially with initial slope ``rfd_n_s``) to ``peak_net_n`` above body weight, a
    2 s hold and 2 s standing again, with 1.5 N of noise; returns (fz, onset time s)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(8 * rate_hz)) / rate_hz
    onset_s = 2.0
    since = np.clip(t - onset_s, 0, None)
    if rise == "linear":
        net = np.minimum(rfd_n_s * since, peak_net_n)
    else:
        tau = peak_net_n / rfd_n_s
        net = peak_net_n * (1 - np.exp(-since / tau))
    net[t > onset_s + 4.0] = 0.0
    total = weight_n + net + rng.normal(0, 1.5, len(t))
    return {"left": left_share * total, "right": (1 - left_share) * total}, onset_s
