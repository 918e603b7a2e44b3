"""Insole imports (Moticon OpenGo, PhysioNet gait, CSV through a mapping) against ../shared/data."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from forceplate.cli import main
from forceplate.errors import FileFormatError
from forceplate.interop.csv_import import read_insole_csv
from forceplate.interop.moticon import PRESSURE, parse_moticon, read_moticon, vendor_columns
from forceplate.interop.physionet import parse_physionet, read_physionet
from forceplate.processing.forces import insole_forces
from forceplate.profiles import load_profile
from forceplate.storage.reader import open_trial
from forceplate.storage.writer import write_trial

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOCS = Path(__file__).resolve().parents[1] / "docs" / "interop.md"
MOTICON = {"moticon-opengo/230927_102114.txt": (1751, 7), "moticon-opengo/walk_with_events.txt": (499, 3)}
# forceplate CoP vs the vendor's, in the vendor's normalised units (1e-3 = 0.27 mm along a
# 265 mm insole); size 3 is looser: its areas are proportional to size 7's within about 2 %.
COP_MEDIAN, COP_MAX = 5e-4, 1e-3
FSR = "diy-fsr-insole-esp32/COMBO_LOG002.CSV"



def foot_frame_to_normalised(cop_mm: np.ndarray, profile_text: str) -> np.ndarray:
    """A CoP in the foot frame (mm) in the vendor's normalised X, Y, by the profile's convention
    (its ``normalised_*`` keys): the importer's placement undone, to compare with the vendor's CoP."""
    p = tomllib.loads(profile_text)
    x = cop_mm[:, 1] / p["normalised_length_mm"] - 0.5
    y = cop_mm[:, 0] / (p["normalised_width_mm"] * p["normalised_y_medial_sign"])
    return np.column_stack([x, y])


def _trial(tmp_path, devices, metadata, events):
    path = tmp_path / "imported.h5"
    write_trial(path, devices, metadata, events)
    return path, open_trial(path)


def _feet(trial) -> dict:
    """foot -> (device, total N, CoP in the foot frame mm), from the stored values and record."""
    out = {}
    for d in trial.devices.values():
        total, cop, _ = insole_forces(d.calibration.to_physical(d.counts), d.profile.insole)
        out[d.info["foot"]] = (d, total, cop)
    return out


def open_channel_units(path, name) -> str:
    import h5py

    with h5py.File(path, "r") as f:
        return f["acquisition"][name]["counts"].attrs["channel_units"]


def _mapping(tmp_path) -> Path:
    """The DIY FSR mapping of docs/interop.md, so the documented example is the tested one."""
    block = re.search(r"```toml\n(# DIY FSR.*?)```", DOCS.read_text(encoding="utf-8"), re.S).group(1)
    path = tmp_path / "fsr.toml"
    path.write_text(block)
    return path


@pytest.mark.parametrize("name", sorted(MOTICON))
def test_moticon_import_matches_vendor(shared_data, tmp_path, name):
    rows, size = MOTICON[name]
    path, trial = _trial(tmp_path, *read_moticon(shared_data / name))
    export = parse_moticon(shared_data / name)
    sample = np.round((export.time_s - export.time_s[0]) * 100).astype(int)
    feet = _feet(trial)
    assert set(feet) == {"left", "right"}
    for foot, (device, total, cop) in feet.items():
        assert device.profile.n_channels == 16 and device.rate_hz == 100.0
        assert device.counts.shape == (rows, 16)
        assert json.loads(open_channel_units(path, device.name)) == ["N/cm²"] * 16
        vendor_total, vendor_cop = vendor_columns(export, shared_data / name, foot)
        ours = foot_frame_to_normalised(cop[sample], device.profile.toml_text)
        # the vendor writes an exact (0, 0) CoP below 50 N: no CoP there
        compared = np.isfinite(vendor_cop).all(axis=1) & (vendor_cop != 0).any(axis=1)
        assert compared.sum() > 300
        error = np.abs(ours[compared] - vendor_cop[compared])
        assert np.isfinite(error).all()
        assert np.median(error) < COP_MEDIAN and error.max() < COP_MAX, (foot, np.median(error), error.max())
        loaded = np.isfinite(vendor_total) & (vendor_total > 50)
        relative = np.abs(total[sample][loaded] - vendor_total[loaded]) / vendor_total[loaded]
        assert np.median(relative) < 0.01
    assert f"insole size {size}" in trial.attrs["notes"]


def test_moticon_missing_cells_are_nan_not_zero(shared_data, tmp_path):
    """230927_102114.txt: the left insole starts 0.5 s late, drops rows 108-113, and one time
    step (16.43 -> 16.45 s) has no row at all: NaN samples, never zeros."""
    _, trial = _trial(tmp_path, *read_moticon(shared_data / "moticon-opengo/230927_102114.txt"))
    feet = _feet(trial)
    left = feet["left"][0].counts
    right = feet["right"][0].counts
    assert np.isnan(left[:50]).all() and np.isfinite(left[50]).all()
    assert np.isnan(left[108:114]).all()
    assert np.isnan(left[1644]).all() and np.isnan(right[1644]).all()  # the missing time row
    assert len(left) == 1751  # 17.50 s at 100 Hz, the missing row included


def test_moticon_events_become_marks(shared_data, tmp_path):
    _, _, events = read_moticon(shared_data / "moticon-opengo/walk_with_events.txt")
    assert len(events) == 16
    assert events[0][:2] == (pytest.approx(0.20), "mark") and events[0][-1] == "Left Event 1"
    assert {e[-1].split()[0] for e in events} == {"Left", "Right"}


def test_moticon_profile_is_the_files_own_fit(shared_data):
    """The profile's areas and positions are what least squares recovers from the export."""
    path = shared_data / "moticon-opengo/230927_102114.txt"
    export = parse_moticon(path)
    profile = load_profile("moticon-opengo16")
    blocks = []
    for foot in ("left", "right"):
        pressure = export.numeric([PRESSURE.format(foot=foot, k=k) for k in range(1, 17)], path)
        total, cop = vendor_columns(export, path, foot)
        ok = np.isfinite(pressure).all(axis=1) & (total > 50)
        blocks.append((pressure[ok], total[ok], cop[ok]))
    pressure, total, cop = (np.concatenate(x) for x in zip(*blocks))
    area_cm2 = np.linalg.lstsq(pressure, total, rcond=None)[0]
    assert np.abs(pressure @ area_cm2 - total).max() < 0.6  # the export rounds the total to 1 N
    np.testing.assert_allclose(area_cm2 * 100, profile.insole.sensor_area_mm2, atol=0.1)
    share = pressure * area_cm2 / (pressure @ area_cm2)[:, None]
    position = np.linalg.lstsq(share, cop, rcond=None)[0]  # (16, 2) normalised X, Y
    assert np.abs(share @ position - cop).max() < 2e-4
    np.testing.assert_allclose(foot_frame_to_normalised(profile.insole.sensors_mm, profile.toml_text), position,
                               atol=6e-4)  # the profile keeps 0.1 mm: 5e-4 of a 100 mm width


def test_physionet_import(shared_data, tmp_path):
    name = shared_data / "physionet-gaitpdb/GaCo01_01.txt"
    raw = parse_physionet(name)
    _, trial = _trial(tmp_path, *read_physionet(name))
    feet = _feet(trial)
    for foot, column in (("left", 17), ("right", 18)):
        device, total, cop = feet[foot]
        assert device.profile.n_channels == 8 and device.rate_hz == 100.0 and len(total) == 12119
        np.testing.assert_allclose(total, raw[:, column], atol=1e-9)
    # CoP proxy of the documented layout: the left foot rolls heel to toe, on the lateral
    # half mostly (sensors 2, 4, 6 carry more than 3, 5, 7)
    _, total, cop = feet["left"]
    stance = total > 50
    assert np.nanpercentile(cop[stance, 1], 5) < 60 and np.nanpercentile(cop[stance, 1], 95) > 180
    assert np.nanmedian(cop[stance, 0]) < 0


def test_physionet_wrong_layout_is_one_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("0.0\t1\t2\n")
    with pytest.raises(FileFormatError, match="3 columns, a PhysioNet gait file has 19"):
        read_physionet(path)


def test_fsr_csv_import(shared_data, tmp_path):
    """Raw inverted counts, five rows written one late, all 814 frames placed by frame_id."""
    devices, metadata, events = read_insole_csv(shared_data / FSR, _mapping(tmp_path))
    raw = np.loadtxt(shared_data / FSR, delimiter=",", skiprows=2)
    by_frame = raw[np.argsort(raw[:, 1])]
    _, trial = _trial(tmp_path, devices, metadata, events)
    feet = _feet(trial)
    for foot, first in (("left", 18), ("right", 2)):
        device, total, _ = feet[foot]
        assert device.profile.n_channels == 16 and device.rate_hz == 20.0
        np.testing.assert_array_equal(device.counts, by_frame[:, first:first + 16])
        np.testing.assert_allclose(total, ((4095 - by_frame[:, first:first + 16]) * 0.04).sum(axis=1))
    attrs = devices[0].attrs
    assert attrs["rows_out_of_order"] == 5 and json.loads(attrs["missing_rows"]) == {"left": 0, "right": 0}


def test_fsr_missing_left_foot_rows(shared_data, tmp_path):
    """COMBO_LOG001 (held out) stores a missing left frame as sixteen 0s with flags bit 0:
    made here from LOG002, those rows must be NaN, never read as full load."""
    lines = (shared_data / FSR).read_text().splitlines()
    for i in (10, 11, 400):  # data rows (line 3 is the first)
        cells = lines[i].split(",")
        cells[18:34] = ["0"] * 16
        cells[-1] = "1"
        lines[i] = ",".join(cells)
    cells = lines[500].split(",")
    cells[2:18] = ["0"] * 16  # a right frame of zeros with no flag: missing_if_all
    lines[500] = ",".join(cells)
    copy = tmp_path / "LOG_missing.CSV"
    copy.write_text("\n".join(lines) + "\n")
    devices, *_ = read_insole_csv(copy, _mapping(tmp_path))
    left, right = (d.counts for d in devices)
    frames = [int(lines[i].split(",")[1]) - 1 for i in (10, 11, 400)]
    assert np.isnan(left[frames]).all() and np.isfinite(right[frames]).all()
    assert np.isnan(right[int(lines[500].split(",")[1]) - 1]).all()
    assert json.loads(devices[0].attrs["missing_rows"]) == {"left": 3, "right": 1}


def test_csv_mapping_errors_are_one_line(shared_data, tmp_path):
    mapping = _mapping(tmp_path)
    mapping.write_text(mapping.read_text().replace('"L_ch15"', '"L_ch16"'))
    with pytest.raises(FileFormatError, match="no column 'L_ch16'"):
        read_insole_csv(shared_data / FSR, mapping)


@pytest.mark.parametrize("name", [*sorted(MOTICON), "physionet-gaitpdb/GaCo01_01.txt", FSR])
def test_cli_import_analyze_export(shared_data, tmp_path, capsys, name):
    """Walking data has no squats: analyze says why in one line (or finds no reps); export works."""
    out = tmp_path / "trial.h5"
    extra = ["--mapping", str(_mapping(tmp_path))] if name == FSR else []
    assert main(["import", str(shared_data / name), "-o", str(out), *extra]) == 0
    assert "left, right" in capsys.readouterr().out
    status = main(["analyze", str(out), "--json"])
    captured = capsys.readouterr()
    if status == 2:
        assert captured.err.startswith("forceplate: error: ") and captured.err.count("\n") == 1
    else:
        assert status == 0 and "reps" in json.loads(captured.out)
    assert main(["export", str(out), "--csv", str(tmp_path / "csv")]) == 0
    feet_csv = (tmp_path / "csv" / "feet.csv").read_text().splitlines()
    assert feet_csv[0].startswith("t [s],fz_left [N]") and len(feet_csv) > 400
    assert "Traceback" not in capsys.readouterr().err


def test_unknown_text_format_is_one_line(shared_data, tmp_path, capsys):
    # an OpenSim marker file: text, but no format the importer knows
    assert main(["import", str(shared_data / "real-squats/markers_Squat2.trc"), "-o", str(tmp_path / "x.h5")]) == 2
    assert "unknown format" in capsys.readouterr().err
