"""Ordinary bad input through the CLI (issue 13): one line naming the file and the field,
exit 2, never a traceback; outputs are never overwritten without --force."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz_helpers import record_sim_trial, run_cli

FSR_CSV = "diy-fsr-insole-esp32/COMBO_LOG002.CSV"
MOTICON = "moticon-opengo/walk_with_events.txt"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "interop.md"


def _mapping_text() -> str:
    return re.search(r"```toml\n(# DIY FSR.*?)```", DOCS.read_text(encoding="utf-8"), re.S).group(1)


def _import(tmp_path, source: Path, *extra: str):
    return run_cli(["import", str(source), "-o", str(tmp_path / "out.h5"), *extra], timeout_s=20)


def _one_line(outcome, *named: str) -> None:
    assert outcome.failure is None, outcome.describe()
    assert outcome.status == 2, outcome.describe()
    for word in named:
        assert word in outcome.stderr, outcome.stderr


@pytest.mark.parametrize("edit, named", [
    (('rate_hz = 20.0', 'rate_hz = 0'), "rate_hz"),
    (('rate_hz = 20.0', 'rate_hz = -20'), "rate_hz"),
    (('rate_hz = 20.0', 'rate_hz = nan'), "rate_hz"),
    (('rate_hz = 20.0', 'rate_hz = inf'), "rate_hz"),
    (('rate_hz = 20.0', 'rate_hz = 20.0\ndelimiter = ""'), "delimiter"),
    (('missing_flag_mask = 1 ', 'missing_flag_mask = "x" '), "missing_flag_mask"),
    (('newtons_per_unit = -0.04', 'newtons_per_unit = nan'), "newtons_per_unit"),
    (('[left]', 'x = ' + "[" * 5000 + "]" * 5000 + '\n[left]'), "TOML"),
])
def test_a_bad_mapping_is_one_line_naming_the_field(shared_data, tmp_path, edit, named):
    mapping = tmp_path / "map.toml"
    mapping.write_text(_mapping_text().replace(*edit, 1))
    _one_line(_import(tmp_path, shared_data / FSR_CSV, "--mapping", str(mapping)), str(mapping), named)


def test_a_csv_frame_id_of_1e9_is_refused_without_allocating(shared_data, tmp_path):
    lines = (shared_data / FSR_CSV).read_text().splitlines(keepends=True)
    row = lines[2].split(",")
    row[1] = "1000000000"
    lines[2] = ",".join(row)
    source = tmp_path / "LOG.CSV"
    source.write_text("".join(lines))
    mapping = tmp_path / "map.toml"
    mapping.write_text(_mapping_text())
    outcome = _import(tmp_path, source, "--mapping", str(mapping))
    _one_line(outcome, "frame_id")
    assert outcome.peak_rss_mb < 300


def test_a_moticon_time_of_1e12_is_refused_without_allocating(shared_data, tmp_path):
    lines = (shared_data / MOTICON).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("# time\t")) + 5
    cells = lines[at].split("\t")
    cells[0] = "1e12"
    lines[at] = "\t".join(cells)
    source = tmp_path / "walk.txt"
    source.write_text("".join(lines), encoding="utf-8")
    outcome = _import(tmp_path, source, "--format", "moticon")
    _one_line(outcome, "time")
    assert outcome.peak_rss_mb < 300


@pytest.mark.parametrize("edit, named", [
    (("rate_hz = 1000.0", "rate_hz = -1000.0"), "rate_hz"),
    (("rate_hz = 1000.0", "rate_hz = 1e-300"), "rate_hz"),
    (("rate_hz = 1000.0", "rate_hz = inf"), "rate_hz"),
])
def test_a_bad_profile_is_one_line_naming_the_field(tmp_path, edit, named):
    from forceplate.errors import ProfileError
    from forceplate.profiles import parse_profile
    from forceplate.resources import profiles_dir

    text = (profiles_dir() / "dual-plate-ads1256.toml").read_text()
    assert edit[0] in text
    with pytest.raises(ProfileError, match=named):
        parse_profile(text.replace(*edit), where="p.toml")


def test_degenerate_plate_cells_are_refused():
    from forceplate.errors import ProfileError
    from forceplate.profiles import parse_profile
    from forceplate.resources import profiles_dir

    text = (profiles_dir() / "dual-plate-ads1256.toml").read_text()
    degenerate = re.sub(r"cells_mm = \[[^\n]*\]", "cells_mm = [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]", text)
    assert degenerate != text
    with pytest.raises(ProfileError, match="cells_mm"):
        parse_profile(degenerate, where="p.toml")


def test_a_calibration_record_nested_5000_deep_is_one_line(tmp_path):
    from forceplate.calibration.record import load_record
    from forceplate.errors import CalibrationError

    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(CalibrationError, match="deep.toml"):
        load_record(path)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record_sim_trial(tmp_path_factory.mktemp("inputs-recorded"), seconds=2)


def test_record_into_a_missing_folder_is_one_line(tmp_path):
    _one_line(run_cli(["record", "--device", "sim://dual-plate?speed=8", "-o", str(tmp_path / "no" / "x.h5"),
                       "--duration", "1"], timeout_s=30), "x.h5")


def test_record_creates_its_file_exclusively(tmp_path, monkeypatch):
    """The exists-check and the create are one step: a file appearing in between is not overwritten."""
    from forceplate.errors import TrialError
    from forceplate.storage.writer import TrialWriter

    path = tmp_path / "race.h5"
    path.write_bytes(b"another recording's bytes")
    with pytest.raises(TrialError, match="exists"):
        TrialWriter(path)
    assert path.read_bytes() == b"another recording's bytes"


@pytest.mark.slow
def test_analyze_into_a_closed_pipe_is_quiet(recorded):
    """``analyze ... | head -1``: the reader is gone before the output is written. A pipe whose
    read end is already closed makes that certain (with ``head`` a short output may fit the
    pipe's buffer before head exits, and the test would pass without the fix)."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, "-m", "forceplate", "analyze", str(recorded), "--json"],
                                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    piped = subprocess.run(f"{sys.executable} -m forceplate analyze {recorded} --json | head -1", shell=True,
                           capture_output=True, text=True, timeout=60)
    assert piped.stderr == "" and piped.stdout.count("\n") == 1, piped.stderr


def test_report_is_not_overwritten_without_force(recorded, tmp_path):
    report = tmp_path / "r.html"
    report.write_text("an earlier report")
    _one_line(run_cli(["analyze", str(recorded), "--report", str(report)]), "r.html", "--force")
    assert report.read_text() == "an earlier report"
    outcome = run_cli(["analyze", str(recorded), "--report", str(report), "--force"])
    assert outcome.status == 0, outcome.describe()
    assert report.read_text() != "an earlier report"


def test_a_truth_file_is_not_overwritten(tmp_path):
    trial = tmp_path / "sim.h5"
    truth = tmp_path / "sim.truth.json"
    truth.write_text("the truth of another session")
    outcome = run_cli(["record", "--device", "sim://dual-plate?speed=8", "-o", str(trial), "--duration", "1"],
                      timeout_s=30)
    _one_line(outcome, "truth.json")
    assert truth.read_text() == "the truth of another session"


@pytest.mark.parametrize("option", [["--load-kg", "nan"], ["--load-kg", "5000"], ["--toe-out", "nan"],
                                    ["--toe-out", "1e9"], ["--threshold-scale", "nan"], ["--threshold-scale", "inf"]])
def test_options_a_trial_would_store_are_checked_before_recording(tmp_path, option):
    """A value the trial's reader would refuse (load_kg, setup_toe_out_deg) is refused on the command line."""
    trial = tmp_path / "t.h5"
    outcome = run_cli(["record", "--device", "sim://dual-plate?speed=8", "-o", str(trial), "--duration", "1",
                       *option], timeout_s=30)
    assert outcome.status == 2 and option[0] in outcome.stderr and not trial.exists(), outcome.describe()


@pytest.mark.parametrize("first", ["1e300", "0.5", "1", "-1", "12"])
def test_a_calibration_matrix_over_impossible_channels_is_one_line(first):
    """Channel numbers that are not distinct whole channels of the device (1e300 also made
    numpy warn on stderr; 0.5 was read as channel 0) are refused naming the field."""
    import warnings

    from forceplate.calibration.record import parse_record
    from forceplate.errors import CalibrationError

    text = (Path(__file__).resolve().parents[1] / "calibration" / "SIM-6A-0001.toml").read_text(encoding="utf-8")
    damaged = text.replace("channels = [0,", f"channels = [{first},", 1)
    assert damaged != text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CalibrationError, match="matrices.*'channels'"):
            parse_record(damaged, source="six-axis.toml")


def test_a_calibration_scale_of_1e300_is_one_line_naming_the_field():
    """Found by the long fuzz run (seed 7): the forces overflowed and numpy warned on stderr."""
    from forceplate.calibration.record import parse_record
    from forceplate.errors import CalibrationError

    text = (Path(__file__).resolve().parents[1] / "calibration" / "SIM-DP-0001.toml").read_text(encoding="utf-8")
    damaged = text.replace("0.0024,", "1e300,", 1)
    assert damaged != text
    with pytest.raises(CalibrationError, match="newtons_per_count"):
        parse_record(damaged, source="r.toml")


@pytest.mark.parametrize("column, named", [
    ("left pressure 3[N/cm²]", ("left pressure 3", "plausible")),  # the long fuzz run, seed 7
    ("left total force[N]", ("left total force", "plausible")),  # seed 21: the area fit's product overflowed
    ("# time", ("time", "1e+308")),  # seed 28937 of seed 22: time x rate overflowed
])
def test_a_moticon_number_of_1e308_is_refused_in_one_line(shared_data, tmp_path, column, named):
    """Found by the long fuzz runs: numpy's overflow warnings on stderr instead of one line."""
    lines = (shared_data / MOTICON).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("# time\t"))
    cells = lines[header + 5].split("\t")
    cells[lines[header].rstrip("\n").split("\t").index(column)] = "1e308"
    lines[header + 5] = "\t".join(cells)
    source = tmp_path / "walk.txt"
    source.write_text("".join(lines), encoding="utf-8")
    _one_line(_import(tmp_path, source, "--format", "moticon"), *named)


@pytest.mark.parametrize("offset, value, named", [
    # seed 21, case 30537: a CAL_MATRIX value numpy's matmul turned into NaN, with a warning
    (4013, 0x7F, ("FORCE_PLATFORM:CAL_MATRIX", "plausible")),
    # seed 32, case 33404: a corner that is no finite number, and np.cross's warning
    (3740, 0xFF, ("FORCE_PLATFORM:CORNERS", "finite")),
])
def test_a_c3d_plate_parameter_that_is_no_plausible_number_is_one_line(shared_data, tmp_path, offset, value, named):
    """Found by the long fuzz runs: one byte of the jump's parameter section, and numpy's
    warnings on stderr instead of one line."""
    data = bytearray((shared_data / "c3d-org-samples/sample_00/Sample_Jump2.c3d").read_bytes())
    data[offset] = value
    source = tmp_path / "jump.c3d"
    source.write_bytes(bytes(data))
    _one_line(_import(tmp_path, source), *named)


def test_c3d_plate_corners_too_far_apart_are_refused_without_numpy_warnings():
    """Finite corners of 1e200 m overflow in the plate's axes: one error, no warning on stderr."""
    import warnings

    import numpy as np

    from forceplate.errors import FileFormatError
    from forceplate.interop.c3d import _frame

    corners = np.array([[1e200, 0, 0, 1e200], [0, 0, 1e200, 1e200], [0, 0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FileFormatError, match="too far apart"):
            _frame(Path("plate.c3d"), corners)


def test_a_c3d_plate_with_no_finite_force_carries_nothing_without_numpy_warnings(shared_data, tmp_path):
    """The long fuzz run on the final code (seed 91, case 7667): one byte of FP_Type1.c3d's
    parameters (1807: 63 -> 127) leaves a plate no finite force, and choosing the loaded plates
    took its mean with numpy's "Mean of empty slice" on stderr."""
    source = shared_data / "ezc3d-testFiles/FP_Type1.c3d"
    if not source.exists():
        pytest.skip(f"{source} is not present")
    data = bytearray(source.read_bytes())
    data[1807] = 127
    damaged = tmp_path / "fp1.c3d"
    damaged.write_bytes(bytes(data))
    outcome = _import(tmp_path, damaged)
    assert outcome.failure is None, outcome.describe()  # no warning, traceback or second line
