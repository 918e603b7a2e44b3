"""The command line as a user meets it: real subprocesses, exit codes, one-line errors."""

import json
import subprocess
import sys

import h5py
import pytest

from forceplate import __version__


def forceplate(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "forceplate", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def assert_one_line_error(result, *words):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


def test_version_and_help():
    assert forceplate("--version").stdout.strip() == f"forceplate {__version__}"
    for command in ("demo", "live", "analyze", "simulate"):
        result = forceplate(command, "--help")
        assert result.returncode == 0 and "examples:" in result.stdout


def test_the_parser_is_built_without_numpy_so_help_starts_fast():
    # --help builds every command's parser: numpy there would triple it (issue 14); what the
    # other commands import is in test_startup.py.
    probe = "import sys; from forceplate.cli import build_parser; build_parser(); print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


def test_what_the_parser_restates_matches_its_source():
    from forceplate.cli import common
    from forceplate.io.discovery import PROBE_TIMEOUT_S
    from forceplate.profiles import SIDES

    assert common.SIDES == SIDES and common.PROBE_TIMEOUT_S == PROBE_TIMEOUT_S


@pytest.mark.slow
def test_demo_records_and_analyze_prints_json(tmp_path):
    url = "sim://dual-plate?speed=8&reps=3&valgus=2:left:severe"
    demo = forceplate("demo", "--headless", "--duration", "2.5", "--record", "t.h5", "--device", url, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "rep 2: LEFT foot" in demo.stdout and "saved t.h5" in demo.stdout
    assert "analysed: 3 reps" in demo.stdout  # the same end line as record's
    truth = json.loads((tmp_path / "t.truth.json").read_text())
    analyzed = forceplate("analyze", "t.h5", "--json", cwd=tmp_path)
    assert analyzed.returncode == 0, analyzed.stderr
    report = json.loads(analyzed.stdout)
    assert len(report["reps"]) == len(truth["reps"]) == 3
    rep = report["reps"][1]
    assert {"index", "start_s", "bottom_s", "end_s", "left", "right"} <= set(rep)
    assert {"medial_shift_mm", "flag", "phase"} <= set(rep["left"])
    assert rep["left"]["flag"] == "severe" and rep["right"]["flag"] == "none"
    assert report["summary"]["flagged"] == {"left": 1, "right": 0}
    table = forceplate("analyze", "t.h5", cwd=tmp_path)
    assert table.returncode == 0 and "severe" in table.stdout


@pytest.mark.slow
def test_demo_without_display_falls_back_to_terminal(tmp_path):
    env_less = subprocess.run(
        [sys.executable, "-m", "forceplate", "demo", "--duration", "1", "--device", "sim://dual-plate?speed=4"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")},
    )
    assert env_less.returncode == 0, env_less.stderr
    assert "no display found" in env_less.stderr and "baseline" in env_less.stdout


@pytest.mark.parametrize("url, words", [
    ("bogus://x", ["bogus://x", "scheme"]),
    ("sim://treadmill", ["treadmill", "unknown simulated device"]),
    ("sim://dual-plate?valgus=7:up:bad", ["valgus"]),
    ("sim://dual-plate?colour=red", ["unknown option"]),
    ("/dev/ttyNOPE0", ["/dev/ttyNOPE0", "cannot open port"]),
])
def test_bad_device_url_is_one_line(url, words, tmp_path):
    assert_one_line_error(forceplate("demo", "--headless", "--duration", "1", "--device", url, cwd=tmp_path), *words)


def test_missing_file_is_one_line(tmp_path):
    assert_one_line_error(forceplate("analyze", str(tmp_path / "nope.h5")), "nope.h5", "no such file")


def test_non_hdf5_file_is_one_line(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not a trial")
    assert_one_line_error(forceplate("analyze", str(path)), "notes.h5", "not an HDF5 file")


def test_analyze_of_an_importable_file_says_how_to_import_it(tmp_path):
    path = tmp_path / "squat.c3d"
    path.write_bytes(b"\x02\x50" + bytes(510))
    assert_one_line_error(forceplate("analyze", str(path)), "squat.c3d", "not an HDF5 file",
                          "import it first: forceplate import", "-o squat.h5")


def test_foreign_hdf5_file_is_one_line(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2, 3]
    assert_one_line_error(forceplate("analyze", str(path)), "other.h5", "not a forceplate trial")


def test_newer_schema_is_one_line(tmp_path):
    path = tmp_path / "future.h5"
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "forceplate-trial"
        f.attrs["schema_version"] = 99
    assert_one_line_error(forceplate("analyze", str(path)), "future.h5", "newer")


def test_existing_record_file_is_not_overwritten(tmp_path):
    path = tmp_path / "keep.h5"
    path.write_bytes(b"precious")
    result = forceplate("demo", "--headless", "--duration", "1", "--record", str(path))
    assert_one_line_error(result, "keep.h5", "exists")
    assert path.read_bytes() == b"precious"
