"""Calibration: records, the fitting math, and the procedures against a simulated plate whose
true gains and offsets are hidden and known."""

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from forceplate import open_trial
from forceplate.calibration.fit import (G, LoadStep, body_weight_scale, fit_cell_gains, grid_positions_mm,
                                        parse_matrix)
from forceplate.calibration.procedures import (calibrate_insole_loads, calibrate_weights, plate_steps, tare,
                                               verify)
from forceplate.calibration.record import (MatrixBlock, bundled_record, load_record, parse_record, record_toml,
                                           record_warning, save_record)
from forceplate.errors import CalibrationError
from forceplate.io import open_device
from forceplate.offline import feet_arrays
from forceplate.processing.forces import six_axis_cop_mm
from forceplate.profiles import load_profile
from forceplate.resources import bundled_calibration_dir
from forceplate.sim.urls import open_simulator

from test_cli import assert_one_line_error, forceplate
from test_quality import simulated_trial

SERIAL = "SIM-DP-0001"
HIDDEN = "sim://dual-plate?static=1&gain_error=0.03&offset_error=3000&seed=5&speed=20"


class Rig:
    """A simulated device being calibrated: the Device as a lab has it, and the simulator's
    hook that puts known loads on it (in-process)."""

    def __init__(self, url):
        self.sim = open_simulator(url)
        self.device = open_device(self.sim.port_path)
        self.device.start()
        self.scene = self.sim.emulator.model

    def place(self, step, wobble_n=0.0):
        self.scene.clear()
        if step is not None:
            self.scene.place(step.mass_kg, plate=step.plate, position_mm=step.position_mm, sensor=step.sensor,
                             wobble_n=wobble_n)

    @property
    def truth(self):
        return self.sim.emulator.calibration

    def close(self):
        self.device.close()
        self.sim.close()


@pytest.fixture
def rig(request):
    r = Rig(getattr(request, "param", HIDDEN))
    yield r
    r.close()


def quiet(_):
    pass


def forceplate_home(home, *args):
    """The command with a lab folder of its own (FORCEPLATE_HOME)."""
    env = {**os.environ, "FORCEPLATE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "forceplate", *args], capture_output=True, text=True, env=env,
                          timeout=120)


# --- records ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(bundled_calibration_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_every_bundled_record_writes_and_reads_back_the_same(path):
    record = load_record(path)
    again = parse_record(record_toml(record), "again")
    np.testing.assert_array_equal(again.matrix, record.matrix)
    np.testing.assert_array_equal(again.offsets_counts, record.offsets_counts)
    assert (again.date, again.valid_until, again.serial) == (record.date, record.valid_until, record.serial)


def test_power_curves_invert_and_reduce_to_the_linear_record():
    from forceplate.calibration.record import ResponseCurves

    record = bundled_record("SIM-FSR16-L")
    linear = ResponseCurves(np.full(16, 1000.0), record.newtons_per_count * 1000.0, np.ones(16))
    forces = np.linspace(0, 200, 32).reshape(2, 16)
    np.testing.assert_allclose(record.updated(curves=linear).to_physical(record.to_counts(forces)), forces, atol=1e-9)
    curved = record.updated(curves=ResponseCurves(linear.full_scale_counts, linear.newtons_at_full_scale,
                                                  np.full(16, 0.7)))
    np.testing.assert_allclose(curved.to_physical(curved.to_counts(forces)), forces, atol=1e-9)


def test_origin_offset_moves_moments_onto_the_profile_origin():
    """A load at a known point: moments about the manufacturer's origin, read through a block
    with that origin offset, give the true CoP about the profile's origin."""
    plate = load_profile("dual-six-axis").plates[0]
    offset_mm = np.array([12.0, -8.0, 5.0])
    f = np.array([10.0, -6.0, 700.0])
    point_m = np.array([0.05, 0.08, plate.origin_depth_mm / 1000.0])  # on the surface, from the profile origin
    # the profile's convention: moments of (-Fx, -Fy, Fz) (see dual-six-axis.toml)
    m_manufacturer = np.cross(point_m - offset_mm / 1000.0, f * [-1, -1, 1])
    block = MatrixBlock(tuple(range(6)), np.eye(6), tuple(offset_mm))
    physical = block.effective() @ np.concatenate([f, m_manufacturer])
    _, cop = six_axis_cop_mm(physical[None, :], plate)
    np.testing.assert_allclose(cop[0], np.array(plate.center_mm) + point_m[:2] * 1000.0, atol=1e-9)


GOOD = (bundled_calibration_dir() / f"{SERIAL}.toml").read_text()
BAD_RECORDS = [  # (what replaces the start of the record, the field the error must name)
    ('serial = 3\nprofile = "dual-plate-ads1256"', "'serial'"),
    ('serial = "SIM-DP-0001"\nprofile = "dual-plate-ads1256"\nvalid_until = "next year"', "'valid_until'"),
    ('serial = "SIM-DP-0001"\nprofile = "dual-plate-ads1256"\n[[matrices]]\nchannels = [0, 1]\nvalues = [[1.0]]',
     "'values'"),
    ('serial = ', "not valid TOML"),
]


@pytest.mark.parametrize("head, field", BAD_RECORDS)
def test_malformed_record_is_one_error_naming_the_file_and_field(tmp_path, head, field):
    body = GOOD.split('profile = "dual-plate-ads1256"\n', 1)[1]
    if "[[matrices]]" in head:  # a table must come after the top-level keys
        head, table = head.split("\n[[", 1)
        body += "\n[[" + table + "\n"
    path = tmp_path / "bad.toml"
    path.write_text(head + "\n" + body.replace("date = 2026-11-23\nvalid_until = 2036-11-23", "date = 2026-11-23"
                                                if "valid_until" in head else "date = 2026-11-23\nvalid_until = 2036-11-23"))
    with pytest.raises(CalibrationError) as err:
        load_record(path)
    message = str(err.value)
    assert str(path) in message and field in message and "\n" not in message


@pytest.mark.parametrize("key, value, field", [("newtons_per_count", "[0.0024, 0.0024]", "'newtons_per_count'"),
                                               ("offsets_counts", '"many"', "'offsets_counts'")])
def test_wrong_channel_lists_name_their_field(tmp_path, key, value, field):
    lines = [ln for ln in GOOD.splitlines() if not ln.startswith(("newtons_per_count", "  0.0024", "]"))]
    lines = [f"{key} = {value}" if ln.startswith(key) else ln for ln in lines]
    if key == "newtons_per_count":
        lines.append(f"{key} = {value}")
    else:
        lines.append("newtons_per_count = [0.0024]")
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CalibrationError, match=field) as err:
        load_record(path)
    assert str(path) in str(err.value)


@pytest.mark.slow
def test_mismatched_record_is_one_line_naming_file_and_field(tmp_path):
    trial, _ = simulated_trial(tmp_path / "t.h5", "sim://dual-plate?seed=1&reps=1", 8.0)
    wrong_serial = tmp_path / "other.toml"
    wrong_serial.write_text((bundled_calibration_dir() / "SIM-DP-0002.toml").read_text())
    assert_one_line_error(forceplate("analyze", str(trial), "--calibration", str(wrong_serial)),
                          str(wrong_serial), "'serial'")
    wrong_channels = tmp_path / "short.toml"
    wrong_channels.write_text(record_toml(bundled_record("SIM-IN16-L")).replace("SIM-IN16-L", SERIAL))
    assert_one_line_error(forceplate("analyze", str(trial), "--calibration", str(wrong_channels)),
                          str(wrong_channels), "'offsets_counts'")


def test_missing_and_expired_records_are_warned_about():
    assert "no calibration record" in record_warning(None, "X-1")
    record = bundled_record(SERIAL)
    assert record_warning(record, SERIAL) is None
    assert "expired on 2036-11-23" in record_warning(record, SERIAL, today=dt.date(2040, 1, 1))


def test_save_keeps_the_previous_record(tmp_path):
    record = bundled_record(SERIAL)
    path = save_record(record, tmp_path / f"{SERIAL}.toml")
    save_record(record.updated(operator="second"), path)
    assert load_record(path).operator == "second"
    assert len(list((tmp_path / "history").glob(f"{SERIAL}-*.toml"))) == 1


# --- math ------------------------------------------------------------------------------

def test_cell_gains_are_exact_on_exact_readings_and_a_wrong_mass_is_refused():
    plate = load_profile("dual-plate-ads1256").plates[0]
    true_gains = np.array([0.0024, 0.0025, 0.0023, 0.00245])
    positions = np.array(grid_positions_mm(plate))
    from forceplate.sim.emulator import _bilinear_weights

    weights = np.full(len(positions), 20 * G)
    zeroed = _bilinear_weights(plate.cells_mm, positions) * weights[:, None] / true_gains
    fit = fit_cell_gains(plate, zeroed, weights, positions)
    np.testing.assert_allclose(fit.newtons_per_count, true_gains, rtol=1e-12)
    fit.check()
    weights[4] = 25 * G  # the operator typed the wrong mass for one load
    with pytest.raises(CalibrationError, match="fit refused"):
        fit_cell_gains(plate, zeroed, weights, positions).check()
    with pytest.raises(CalibrationError, match="3 positions"):
        fit_cell_gains(plate, zeroed[:1], weights[:1], positions[:1])


def test_matrix_text_and_body_weight_scale():
    assert parse_matrix("# AMTI\n" + "\n".join(", ".join(str(float(i == j)) for j in range(6)) for i in range(6))
                        ).tolist() == np.eye(6).tolist()
    with pytest.raises(CalibrationError, match="36"):
        parse_matrix("1 2 3")
    assert body_weight_scale(np.full(100, 350.0), 367.5) == pytest.approx(1.05)


# --- procedures against the simulator ------------------------------------------------------

@pytest.mark.slow
def test_known_weights_recover_hidden_gains_and_verify_at_nine_positions(rig):
    record = rig.device.calibration
    steps = plate_steps(rig.device.profile, ["left", "right"], 20.0)
    before = verify(rig.device, record, rig.place, steps, progress=quiet)
    assert not before.passed  # 3% hidden gain errors: the bundled record is off
    new = calibrate_weights(rig.device, record, rig.place, steps, progress=quiet)
    gain_error_pct = 100 * (new.newtons_per_count / rig.truth.newtons_per_count - 1)
    assert np.max(np.abs(gain_error_pct)) < 0.5
    after = verify(rig.device, new, rig.place, steps, force_limit_pct=0.5, cop_limit_mm=2.0, progress=quiet)
    assert after.passed and len(after.steps) == 18
    assert np.max(after.cop_error_mm) < 2.0 and np.max(np.abs(after.force_error_pct)) < 0.5
    assert new.residuals["left_cop_rms_mm"] < 1.0 and "known weights" in new.method
    print(f"gain error max {np.max(np.abs(gain_error_pct)):.3f}%, CoP error max {np.max(after.cop_error_mm):.2f} mm,"
          f" force error max {np.max(np.abs(after.force_error_pct)):.3f}%")


def test_tare_refuses_a_loaded_or_moving_plate_and_zeroes_an_empty_one(rig):
    record = rig.device.calibration
    rig.place(LoadStep(20.0, plate="left", position_mm=(-220.0, 0.0)))
    with pytest.raises(CalibrationError, match=r"refusing to tare: left is loaded \(2\d\d N"):
        tare(rig.device, record)
    rig.place(LoadStep(2.0, plate="right", position_mm=(220.0, 0.0)), wobble_n=15.0)
    with pytest.raises(CalibrationError, match="refusing to tare: right is moving") as err:
        tare(rig.device, record)
    assert "loaded" not in str(err.value)
    rig.place(None)
    tared = tare(rig.device, record)
    np.testing.assert_allclose(tared.offsets_counts, rig.truth.offsets_counts, atol=60)  # 60 counts = 0.15 N


@pytest.mark.parametrize("rig", ["sim://insole?sensors=8&static=1&fsr_exponent=0.8&gain_error=0.05&seed=2&speed=20"],
                         indirect=True)
def test_insole_curves_from_known_loads_recover_a_nonlinear_sensor(rig):
    record = rig.device.calibration
    steps = [LoadStep(m, sensor=s) for s in range(8) for m in (2.0, 5.0, 10.0)]
    new = calibrate_insole_loads(rig.device, record, rig.place, steps, progress=quiet)
    np.testing.assert_allclose(new.curves.exponent, 0.8, atol=0.02)
    loads = np.array([[30.0, 60, 0, 5, 90, 20, 45, 70]])
    clean = rig.truth.to_counts(loads)  # what the true sensors read
    assert np.max(np.abs(new.to_physical(clean) - loads)[loads > 10] / loads[loads > 10]) < 0.02
    assert np.max(np.abs(record.to_physical(clean) - loads)[loads > 10] / loads[loads > 10]) > 0.05


# --- re-analysis and the command line ------------------------------------------------------

@pytest.mark.slow
def test_reanalysis_with_another_record_scales_forces_and_leaves_raw_counts(tmp_path):
    trial_path, _ = simulated_trial(tmp_path / "t.h5", "sim://dual-plate?seed=2&reps=2", 12.0)
    digest = hashlib.sha256(trial_path.read_bytes()).hexdigest()
    trial = open_trial(trial_path)
    stored = bundled_record(SERIAL)
    heavier = stored.updated(newtons_per_count=stored.newtons_per_count * 1.05, source=str(tmp_path / "h.toml"))
    saved = save_record(heavier, tmp_path / "h.toml")
    fz = feet_arrays(trial).fz
    fz2 = feet_arrays(trial, load_record(saved)).fz
    np.testing.assert_allclose(fz2["left"], fz["left"] * 1.05)
    base = json.loads(forceplate("analyze", str(trial_path), "--json").stdout)["summary"]["baseline"]
    result = forceplate("analyze", str(trial_path), "--json", "--calibration", str(saved))
    assert result.returncode == 0, result.stderr
    again = json.loads(result.stdout)["summary"]["baseline"]
    assert again["body_weight_n"] == pytest.approx(base["body_weight_n"] * 1.05, rel=1e-3)
    assert hashlib.sha256(trial_path.read_bytes()).hexdigest() == digest


@pytest.mark.slow
def test_cli_verify_passes_on_the_simulator_and_weights_fixes_a_hidden_error(tmp_path):
    url = "sim://dual-plate?speed=20"
    ok = forceplate_home(tmp_path, "calibrate", "verify", "--device", url, "--json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["passed"] and len(report["loads"]) == 18
    off = url + "&gain_error=0.03&seed=1"
    left = ("--plate", "left")  # one plate is enough from here on, and twice as fast
    assert forceplate_home(tmp_path, "calibrate", "verify", "--device", off, "--json", *left).returncode == 1
    fitted = forceplate_home(tmp_path, "calibrate", "weights", "--device", off, "--yes", "--operator", "test", *left)
    assert fitted.returncode == 0, fitted.stderr
    assert (tmp_path / "calibration" / f"{SERIAL}.toml").is_file()
    assert forceplate_home(tmp_path, "calibrate", "verify", "--device", off, *left).returncode == 0


INSOLE = "sim://insole?foot=left&speed=20"


@pytest.mark.slow
def test_cli_verify_on_an_insole_loads_each_sensor(tmp_path):
    """Insoles have no plates: verify puts the mass on each sensor in turn (it used to end in a
    broadcast traceback with no loads at all)."""
    done = forceplate_home(tmp_path, "calibrate", "verify", "--device", INSOLE, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and [row["load"] for row in report["loads"]] == [
        f"5 kg on sensor {s}" for s in range(16)]
    assert report["max_cop_error_mm"] is None
    text = forceplate_home(tmp_path, "calibrate", "verify", "--device", INSOLE, "--mass-kg", "2")
    assert text.returncode == 0 and "PASS" in text.stdout and "no CoP" in text.stdout
    assert_one_line_error(forceplate_home(tmp_path, "calibrate", "verify", "--device", INSOLE, "--plate", "left"),
                          "insole has no plates")


@pytest.mark.slow
@pytest.mark.parametrize("exponent", ["1.3", "1.6"])
def test_a_nonlinear_insole_tares_fails_verify_and_passes_after_its_curves_are_fitted(tmp_path, exponent):
    """An FSR whose force grows as counts**exponent (>= 1.3 used to fail its own tare: the
    simulator's noise went through the steep inverse curve)."""
    url = f"{INSOLE}&sensors=8&fsr_exponent={exponent}"
    tared = forceplate_home(tmp_path, "calibrate", "tare", "--device", url, "--yes", "-o", str(tmp_path / "t.toml"))
    assert tared.returncode == 0, tared.stderr
    assert "-0.0" not in tared.stdout
    linear = forceplate_home(tmp_path, "calibrate", "verify", "--device", url, "--json")
    assert linear.returncode == 1 and json.loads(linear.stdout)["max_force_error_pct"] > 5  # the linear record misses
    fitted = forceplate_home(tmp_path, "calibrate", "insole", "--device", url, "--masses-kg", "2,5,10", "--yes",
                             "-o", str(tmp_path / "curves.toml"), "--operator", "test")
    assert fitted.returncode == 0, fitted.stderr
    verified = forceplate_home(tmp_path, "calibrate", "verify", "--device", url, "--record", str(tmp_path / "curves.toml"),
                               "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["max_force_error_pct"] < 1.0, verified.stdout


def test_cli_imports_a_six_axis_matrix(tmp_path):
    base = bundled_calibration_dir() / "SIM-6A-0001.toml"
    entries = " ".join(str(v) for v in (np.eye(6) * 0.02).ravel())
    out = tmp_path / "6a.toml"
    result = forceplate("calibrate", "matrix", "--record", str(base), "--plate", "right", "--entries", entries,
                        "--origin-offset-mm", "1,2,3", "--yes", "-o", str(out), "--operator", "AB")
    assert result.returncode == 0, result.stderr
    record = load_record(out)
    right = [b for b in record.blocks if b.channels == (6, 7, 8, 9, 10, 11)][0]
    np.testing.assert_allclose(right.values, np.eye(6) * 0.02)
    assert right.origin_offset_mm == (1.0, 2.0, 3.0) and record.operator == "AB"
    np.testing.assert_array_equal(record.matrix[:6, :6], bundled_record("SIM-6A-0001").matrix[:6, :6])
    assert_one_line_error(forceplate("calibrate", "matrix", "--record", str(base), "--plate", "left",
                                     "--entries", "1 2 3", "--yes", "-o", str(out)), "36")
