"""A wheel install (not editable), used from another directory, finds its bundled data."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stderr}")
    return next(out.glob("forceplate-*.whl"))


@pytest.mark.slow
def test_wheel_carries_profiles_and_records(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "forceplate/_bundled/profiles/dual-plate-ads1256.toml" in names
    assert "forceplate/_bundled/calibration/SIM-DP-0001.toml" in names
    assert "forceplate/_bundled/PROTOCOL.md" in names


@pytest.mark.slow
def test_installed_wheel_runs_from_elsewhere(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import forceplate.resources as r, forceplate.profiles as p, forceplate.calibration as c;"
            "print(r.profiles_dir()); p.load_profile('dual-plate-ads1256'); print(c.find_record('SIM-DP-0001').source)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert str(site) in result.stdout and "_bundled" in result.stdout
    demo = subprocess.run([sys.executable, "-m", "forceplate", "demo", "--headless", "--duration", "1.5", "--record",
                           "t.h5", "--device", "sim://dual-plate?speed=8&reps=1"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert demo.returncode == 0, demo.stderr
    analyzed = subprocess.run([sys.executable, "-m", "forceplate", "analyze", "t.h5", "--json"],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert analyzed.returncode == 0, analyzed.stderr
    assert '"reps"' in analyzed.stdout
