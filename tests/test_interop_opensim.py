"""`forceplate import` of OpenSim ground-reaction files and of the jump and landing formats,
against the real files in ../shared/data (their own columns are the truth)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from forceplate.cli import main
from forceplate.interop.amti_csv import read_amti_csv
from forceplate.interop.fz_text import read_fz_text
from forceplate.interop.opensim import read_plates, read_table
from forceplate.interop.squat_jump_csv import read_squat_jump_index
from forceplate.processing.forces import COP_MIN_FORCE_N, plate_forces
from forceplate.storage.reader import open_trial

# file -> foot -> (plate number in column order, its label): PROVENANCE.md of each folder
OPENSIM_FILES = {
    "real-squats/grf_Squat2.mot": {"right": (1, ""), "left": (2, "1_")},
    "real-drop-jumps/DJ1_forces.mot": {"right": (1, "R_"), "left": (2, "L_")},
    "real-drop-jumps/DJ2_forces.mot": {"right": (1, "R_"), "left": (2, "L_")},
}


def import_file(tmp_path, source, *options) -> tuple[int, object]:
    out = tmp_path / "imported.h5"
    code = main(["import", str(source), "-o", str(out), *map(str, options)])
    return code, out


def feet(path):
    """Per foot: vertical force (N), CoP (n, 2) mm in the trial's axes; the plate device; its attributes."""
    trial = open_trial(path)
    (device,) = trial.devices.values()
    _, physical = device.uniform()
    with h5py.File(path) as f:
        attrs = dict(f["acquisition"][device.name].attrs)
    fz, cop = plate_forces(physical, device.profile)
    return fz, cop, device, physical, attrs, trial


def file_plates(path, delimiter=None):
    return {p.number: p for p in read_plates(path, read_table(path, delimiter))}


@pytest.mark.parametrize("name", sorted(OPENSIM_FILES))
def test_opensim_file_imports_with_its_own_forces_and_cop(shared_data, tmp_path, name, capsys):
    code, out = import_file(tmp_path, shared_data / name)
    assert code == 0
    fz, cop, device, _, attrs, _ = feet(out)
    plates = file_plates(shared_data / name)
    assigned = json.loads(attrs["plates"])
    for foot, (number, label) in OPENSIM_FILES[name].items():
        assert (assigned[foot]["number"], assigned[foot]["label"]) == (number, label)
        plate = plates[number]
        # vertical force: the file's ground_force_vy, sample for sample
        assert len(fz[foot]) == len(plate.force_n)
        np.testing.assert_allclose(fz[foot], plate.force_n[:, 1], rtol=0, atol=1e-9)
        # CoP: trial (x, y) = OpenSim (z, x), mm, where the plate is loaded; NaN where not
        loaded = plate.force_n[:, 1] >= COP_MIN_FORCE_N
        expected = np.column_stack([plate.point_m[:, 2], plate.point_m[:, 0]]) * 1000.0
        assert loaded.sum() > 1000
        np.testing.assert_allclose(cop[foot][loaded], expected[loaded], rtol=0, atol=1e-6)
        assert np.isnan(cop[foot][~loaded]).all()
    # x runs to the subject's right: the right foot's CoP lies to the right of the left's
    assert np.nanmedian(cop["right"][:, 0]) > np.nanmedian(cop["left"][:, 0]) + 200
    rate = 1.0 / np.median(np.diff(read_table(shared_data / name).data[:, 0]))
    assert device.profile.rate_hz == pytest.approx(rate)
    dropped = json.loads(attrs["dropped_plates"])
    assert dropped == (["FP3 (3_)"] if "DJ" in name else [])  # the unused, all-zero 3_ plate
    assert "left = FP2" in capsys.readouterr().out


def test_squat2_by_geometry_and_overridden(shared_data, tmp_path):
    """grf_Squat2 has no R_/L_ prefixes: the plate at the larger OpenSim z (+0.21 m) is the
    right foot; --left/--right swap it."""
    source = shared_data / "real-squats/grf_Squat2.mot"
    _, out = import_file(tmp_path, source)
    assert {f: p["assigned_by"] for f, p in json.loads(feet(out)[4]["plates"]).items()} == {
        "left": "geometry", "right": "geometry"}
    swapped = tmp_path / "swapped.h5"
    assert main(["import", str(source), "-o", str(swapped), "--left", "1", "--right", "2"]) == 0
    fz, _, _, _, attrs, _ = feet(swapped)
    np.testing.assert_allclose(fz["left"], file_plates(source)[1].force_n[:, 1], atol=1e-9)
    assert json.loads(attrs["plates"])["left"] == {"number": 1, "label": "", "assigned_by": "option"}


def test_drop_jump_plate_choice(shared_data, tmp_path):
    """--plates keeps the plates named, even an unloaded one; R_ still says the right foot."""
    source = shared_data / "real-drop-jumps/DJ1_forces.mot"
    code, out = import_file(tmp_path, source, "--plates", "1,3")
    assert code == 0
    fz, cop, _, _, attrs, _ = feet(out)
    plates = json.loads(attrs["plates"])
    assert plates["right"]["label"] == "R_" and plates["left"]["label"] == "3_"
    assert np.all(fz["left"] == 0) and np.isnan(cop["left"]).all()  # no load: CoP undefined, never 0


def plate_columns(t, z_m: float, forward_n: float, vertical_n=None) -> dict:
    """One plate's nine columns: a vertical force ramp to 600 N (or ``vertical_n``), shear
    forward and to the right, a point swaying forward at ``z_m``, a free moment of 1.5 N*m."""
    n = len(t)
    return {"ground_force_vx": np.full(n, forward_n),
            "ground_force_vy": np.linspace(0, 600, n) if vertical_n is None else vertical_n,
            "ground_force_vz": np.full(n, 5.0), "ground_force_px": 0.1 + 0.01 * np.sin(t),
            "ground_force_py": np.zeros(n), "ground_force_pz": np.full(n, z_m),
            "ground_torque_x": np.zeros(n), "ground_torque_y": np.full(n, 1.5), "ground_torque_z": np.zeros(n)}


def write_mot(path, t, plates: dict, rows=None):
    """An OpenSim storage file (spaces, two blank lines after endheader) of ``plates``
    (label -> columns), the rows ``rows`` (default all)."""
    cols = {"time": t, **{label + name: c for label, columns in plates.items() for name, c in columns.items()}}
    rows = range(len(t)) if rows is None else rows
    text = "Coordinates\nversion=1\nnRows=%d\nnColumns=%d\ninDegrees=yes\nendheader\n\n\n" % (len(rows), len(cols))
    text += "   ".join(cols) + "\n" + "\n".join("  ".join(f"{c[i]:.8f}" for c in cols.values()) for i in rows) + "\n"
    path.write_text(text)
    return path


def test_more_loaded_plates_than_feet_a_skipped_row_and_a_lone_plate(tmp_path):
    t = np.arange(300) / 1000.0
    light = np.full(len(t), 100.0)
    plates = {"1_": plate_columns(t, 0.3, 0.0), "2_": plate_columns(t, -0.3, 0.0, light),
              "R_": plate_columns(t, 0.1, 0.0, light)}
    rows = [i for i in range(len(t)) if i != 150]
    code, out = import_file(tmp_path, write_mot(tmp_path / "three.mot", t, plates, rows))
    assert code == 0
    fz, cop, _, _, attrs, _ = feet(out)
    # R_ first (its prefix says the foot), then the most loaded of the others: 1_
    assert {f: (p["label"], p["assigned_by"]) for f, p in json.loads(attrs["plates"]).items()} == {
        "right": ("R_", "column prefix"), "left": ("1_", "the other foot")}
    assert json.loads(attrs["dropped_plates"]) == ["FP2 (2_)"] and attrs["missing_rows"] == 1
    assert len(fz["left"]) == len(t) and np.isnan(fz["left"][150]) and np.isnan(cop["left"][150]).all()
    assert np.isfinite(fz["left"][[149, 151]]).all()
    lone = tmp_path / "lone.h5"
    assert main(["import", str(out.parent / "three.mot"), "-o", str(lone), "--plates", "2"]) == 0
    assert json.loads(feet(lone)[4]["plates"]) == {"left": {"number": 2, "label": "2_", "assigned_by": "lone plate"}}


def test_axis_mapping_and_blank_lines_spaces_and_prefixes(tmp_path):
    """A made-up file: spaces, blank lines after endheader, L_ at the larger z (the prefix
    wins over the geometry), forward shear, a free moment and a point off the centre."""
    n = 200
    t = np.arange(n) / 500.0
    source = write_mot(tmp_path / "made.sto", t, {label: plate_columns(t, z, fx) for label, z, fx in
                                                  (("R_", -0.2, 30.0), ("L_", 0.2, -10.0))})
    code, out = import_file(tmp_path, source)
    assert code == 0
    fz, cop, device, physical, attrs, _ = feet(out)
    assert device.profile.rate_hz == 500.0
    assert json.loads(attrs["plates"])["left"] == {"number": 2, "label": "L_", "assigned_by": "column prefix"}
    for plate in device.profile.plates:
        f = physical[:, plate.channels[:3]]
        m = physical[:, plate.channels[3:]]
        shear_forward = 30.0 if plate.foot == "right" else -10.0
        # trial x = OpenSim z (right), y = OpenSim x (forward), z = OpenSim y (up)
        np.testing.assert_allclose(f[:, 0], 5.0, atol=1e-9)
        np.testing.assert_allclose(f[:, 1], shear_forward, atol=1e-9)
        np.testing.assert_allclose(f[:, 2], np.linspace(0, 600, n), atol=1e-6)
        loaded = f[:, 2] >= COP_MIN_FORCE_N
        # moments are about the plate centre: moved back to the CoP, Mz is the file's free moment
        r = (cop[plate.foot] - np.asarray(plate.center_mm)) / 1000.0
        free = m[:, 2] - (r[:, 0] * f[:, 1] - r[:, 1] * f[:, 0])
        np.testing.assert_allclose(free[loaded], 1.5, atol=1e-6)
        z_mm = -200.0 if plate.foot == "right" else 200.0
        np.testing.assert_allclose(cop[plate.foot][loaded, 0], z_mm, atol=1e-6)
        np.testing.assert_allclose(cop[plate.foot][loaded, 1], 1000 * (0.1 + 0.01 * np.sin(t[loaded])), atol=1e-5)
        assert np.isnan(cop[plate.foot][~loaded]).all()


GOOD_HEADER = "name x\ndatarows 2\nendheader\n"
COLUMNS = "time\tground_force_vx\tground_force_vy\tground_force_vz\tground_force_px\tground_force_py\t" \
          "ground_force_pz\tground_torque_x\tground_torque_y\tground_torque_z\n"


@pytest.mark.parametrize("text, problem", [
    ("", "empty file"),
    ("name x\n" + COLUMNS + "0\t" + "\t".join(["1"] * 9) + "\n", "endheader"),
    ("endheader\ntime\tground_force_vx\tground_force_vy\n0\t1\t2\n", "missing"),
    (GOOD_HEADER + COLUMNS + "0\t" + "\t".join(["1"] * 9) + "\n0.001\t" + "\t".join(["x1"] + ["1"] * 8) + "\n",
     "'x1' is not a number"),
    (GOOD_HEADER + COLUMNS + "0\t" + "\t".join(["1"] * 9) + "\n", "datarows 2"),
    (GOOD_HEADER + COLUMNS + "0\t" + "\t".join(["1"] * 9) + "\n0.001\t1\t2\n", "3 cells"),
    (GOOD_HEADER + COLUMNS.replace("time", "frame") + ("0\t" + "\t".join(["1"] * 9) + "\n") * 2, "no 'time' column"),
    (GOOD_HEADER + COLUMNS + ("0\t" + "\t".join(["100"] * 9) + "\n") * 2, "not increasing"),
    ("endheader\nkey value\n", "no data rows"),
])
def test_malformed_opensim_files_give_one_line(tmp_path, capsys, text, problem):
    source = tmp_path / "bad.mot"
    source.write_text(text)
    code, out = import_file(tmp_path, source, "--format", "opensim")
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and str(source) in err and problem in err, err


def test_options_that_do_not_fit_the_format(shared_data, tmp_path, capsys):
    source = shared_data / "real-squats/grf_Squat2.mot"
    for options, problem in ((["--rate", "100"], "--rate is for fz-text"), (["--plates", "4"], "numbered 1 to 2"),
                             (["--left", "1", "--right", "1"], "same plate"),
                             (["--labels", "x.csv"], "squat-jump CSV")):
        code, out = import_file(tmp_path, source, *options)
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and problem in err, err


def test_squat_jump_csv_with_hand_labels(shared_data, tmp_path, capsys):
    folder = shared_data / "squat-jump-dual-fp"
    source = folder / "BFR007_squat_jump.csv"
    code, out = import_file(tmp_path, source, "--labels", folder / "BFR007_index.csv")
    assert code == 0 and "(squat-jump-csv:" in capsys.readouterr().out  # found from the content
    fz, cop, device, _, attrs, trial = feet(out)
    plates = file_plates(source, ",")
    # geometry, not the source's README: FP1 (z = -1.08 m) is the left-hand plate
    assert {f: p["number"] for f, p in json.loads(attrs["plates"]).items()} == {"left": 1, "right": 2}
    np.testing.assert_allclose(fz["left"], plates[1].force_n[:, 1], atol=1e-9)
    np.testing.assert_allclose(fz["right"], plates[2].force_n[:, 1], atol=1e-9)
    loaded = plates[1].force_n[:, 1] >= COP_MIN_FORCE_N
    # the file's torque x and z are not exactly 0 (up to about 1e-5 N*m): CoP within 0.001 mm
    np.testing.assert_allclose(cop["left"][loaded, 0], plates[1].point_m[loaded, 2] * 1000, atol=1e-3)
    labels = read_squat_jump_index(folder / "BFR007_index.csv")
    marks = [(float(e["t_s"]), e["text"].decode() if isinstance(e["text"], bytes) else e["text"], int(e["rep"]))
             for e in trial.events]
    assert len(marks) == 2 * sum(len(v) for v in labels.values()) == 30
    assert (0.359, "Jump 1 Eccentric Phase start", 1) in [(round(t, 6), text, rep) for t, text, rep in marks]
    assert (12.792, "Jump 3 Landing Phase end", 3) in [(round(t, 6), text, rep) for t, text, rep in marks]


def test_fz_text_is_vertical_force_only(shared_data, tmp_path, capsys):
    source = shared_data / "vertical-jumps-fz/Dual-CMJ-Fz.txt"
    code, out = import_file(tmp_path, source)
    assert code == 0 and "(fz-text:" in capsys.readouterr().out
    fz, cop, device, physical, attrs, _ = feet(out)
    columns = read_fz_text(source).fz_n
    assert device.profile.rate_hz == 1000.0 and bool(attrs["rate_assumed"])
    np.testing.assert_array_equal(fz["left"], columns[:, 0])  # column order: the files do not say
    np.testing.assert_array_equal(fz["right"], columns[:, 1])
    assert np.isnan(cop["left"]).all() and np.isnan(cop["right"]).all()
    # analyze and export read it: a rep table without shifts, feet.csv with forces
    assert main(["analyze", str(out)]) == 0
    assert main(["export", str(out), "--csv", str(tmp_path / "csv")]) == 0
    header = (tmp_path / "csv" / "feet.csv").read_text().splitlines()[0].split(",")
    assert header[1] == "fz_left [N]" and header[2] == "cop_left_x [mm]"
    feet_csv = np.genfromtxt(tmp_path / "csv" / "feet.csv", delimiter=",", skip_header=1)
    assert len(feet_csv) == len(columns) and np.isnan(feet_csv[:, 2]).all()
    assert np.median(np.abs(feet_csv[:, 1] - columns[:, 0])) < 2.0  # the analysis low-passes its forces
    slow = tmp_path / "slow.h5"
    assert main(["import", str(source), "-o", str(slow), "--rate", "500", "--left", "2"]) == 0
    fz, _, device, _, attrs, _ = feet(slow)
    assert device.profile.rate_hz == 500.0 and not attrs["rate_assumed"]
    np.testing.assert_array_equal(fz["left"], columns[:, 1])


def test_amti_csv_against_the_vendor_cop(shared_data, tmp_path, capsys):
    source = shared_data / "amti-quiet-standing/test.csv"
    code, out = import_file(tmp_path, source)
    assert code == 0 and "(amti-csv:" in capsys.readouterr().out
    fz, cop, device, _, attrs, _ = feet(out)
    vendor = read_amti_csv(source)
    assert device.profile.rate_hz == 100.0 and attrs["dropout_rows"] == 7
    assert list(fz) == ["left"]
    ok = ~vendor.dropout
    np.testing.assert_array_equal(fz["left"][ok], vendor.forces_n[ok, 2])
    assert np.isnan(fz["left"][vendor.dropout]).all()  # a frame never sent is missing, not 0 N
    # the vendor prints its CoP to 5e-7 m
    np.testing.assert_allclose(cop["left"][ok], vendor.vendor_cop_mm[ok], atol=1e-3)
    assert main(["import", str(source), "-o", str(tmp_path / "r.h5"), "--right", "1"]) == 0
    assert list(feet(tmp_path / "r.h5")[0]) == ["right"]


@pytest.mark.parametrize("name, text, options, problem", [
    ("bad.txt", "FP1\tFP2\r\n1.0\t2.0\r\n3.0\tx\r\n", ["--format", "fz-text"], "bad data row"),
    ("bad.txt", "FP1\tFP2\r\n1.0\t2.0\r\n", ["--rate", "-5"], "--rate must be a positive"),
    ("bad.csv", "Format Version,1.0,\nMocapFrame, MocapTime, Fx\n0,0,1\n", [], "header lacks column(s)"),
    ("bad.csv", "squat jump,,\nnRows=1,,\nendheader,,\ntime,ground_force1_vx\n0,1\n", [], "plate column(s) missing"),
    ("bad.mot", "no header at all\n1 2 3\n", [], "no 'endheader'"),
])
def test_malformed_jump_and_plate_files_give_one_line(tmp_path, capsys, name, text, options, problem):
    source = tmp_path / name
    source.write_text(text, newline="")
    code, out = import_file(tmp_path, source, *options)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and str(source) in err and problem in err, err


def test_bad_label_file_gives_one_line(shared_data, tmp_path, capsys):
    labels = tmp_path / "index.csv"
    labels.write_text(",Jump 1 Start,Jump 1 End\nEvent,90,999999\n")
    code, out = import_file(tmp_path, shared_data / "squat-jump-dual-fp/BFR007_squat_jump.csv", "--labels", labels)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists() and err.count("\n") == 1 and "names row 999999" in err, err
