"""Acceptance against third-party recordings in ../shared/data (skipped when absent).

Expected figures come from each folder's PROVENANCE.md; measured ones are in
docs/validation.md.
"""

from functools import lru_cache

import numpy as np
import pytest

from forceplate.errors import FileFormatError, ForceplateError
from forceplate.interop.amti_csv import read_amti_csv
from forceplate.interop.fz_text import read_fz_text
from forceplate.interop.squat_jump_csv import read_squat_jump_csv, read_squat_jump_index
from forceplate.processing.baseline import find_quiet_standing
from forceplate.processing.forces import six_axis_cop_mm
from forceplate.processing.jumps import segment_jumps
from forceplate.processing.reps import segment_reps
from forceplate.profiles import Plate

# AMTI 3265: 19.75 in square. The export carries no placement, so the plate centre is the
# lab origin; PROVENANCE verified the vendor CoP needs no origin-depth term.
AMTI_PLATE = Plate("AMTI 3265", "left", (0, 1, 2, 3, 4, 5), (0.0, 0.0), (501.65, 501.65), type="six-axis",
                   origin_depth_mm=0.0)

SQUAT_JUMP_COLUMNS = ["time"] + [f"ground_{q}{k}_{a}" for k in (1, 2) for q, axes in
                                  (("force", ("vx", "vy", "vz", "px", "py", "pz")), ("torque", "xyz")) for a in axes]

# PROVENANCE: flight times at 1000 Hz and body weights from the quiet seconds.
JUMPS = {
    "CMJ": dict(flight_s=0.51, body_weight_n=663.0),
    "SJ": dict(flight_s=0.47, body_weight_n=661.0),
    "DJ": dict(flight_s=0.49, body_weight_n=665.0),
}


# shared_data is function-scoped (it skips); the readings behind it are cached per run.
@lru_cache(maxsize=None)
def _read_amti(data):
    return read_amti_csv(data / "amti-quiet-standing" / "test.csv")


@lru_cache(maxsize=None)
def _read_jumps(data):
    out = {}
    for name in JUMPS:
        forces = read_fz_text(data / "vertical-jumps-fz" / f"Dual-{name}-Fz.txt")
        # The files do not say which plate is under which foot: FP1 is passed as "left".
        out[name] = (forces, segment_jumps(forces.fz_n[:, 0], forces.fz_n[:, 1], forces.rate_hz))
    return out


@lru_cache(maxsize=None)
def _read_squat_jumps(data):
    folder = data / "squat-jump-dual-fp"
    recording = read_squat_jump_csv(folder / "BFR007_squat_jump.csv")
    analysis = segment_jumps(recording.vertical_n[:, 0], recording.vertical_n[:, 1], recording.rate_hz)
    return recording, analysis, read_squat_jump_index(folder / "BFR007_index.csv")


@pytest.fixture
def amti(shared_data):
    return _read_amti(shared_data)


@pytest.fixture
def jumps(shared_data):
    return _read_jumps(shared_data)


@pytest.fixture
def squat_jumps(shared_data):
    return _read_squat_jumps(shared_data)


def test_amti_six_axis_cop_matches_vendor(amti):
    fz, cop_mm = six_axis_cop_mm(amti.six_axis, AMTI_PLATE)
    error_mm = np.linalg.norm(cop_mm - amti.vendor_cop_mm, axis=1)[~amti.dropout]
    # the vendor prints metres to 6 decimals: 0.5 mm is its rounding, not our error
    assert np.median(error_mm) < 1.0
    assert np.percentile(error_mm, 95) < 1.0
    assert amti.rate_hz == 100.0


def test_amti_dropout_rows_give_nan_never_zero(amti):
    assert np.flatnonzero(amti.dropout).tolist() == [1, 2, 15600, 15601, 15602, 15603, 15604]
    _, cop_mm = six_axis_cop_mm(amti.six_axis, AMTI_PLATE)
    assert np.isnan(cop_mm[amti.dropout]).all()
    assert np.isnan(amti.vendor_cop_mm[amti.dropout]).all()
    assert not np.isnan(cop_mm[~amti.dropout]).any()


def test_amti_body_weight_from_quiet_standing(amti):
    fz = amti.forces_n[:, 2]
    quiet = find_quiet_standing(fz, amti.rate_hz)
    assert quiet is not None
    assert np.mean(fz[quiet]) == pytest.approx(582.0, rel=0.01)


@pytest.mark.parametrize("name", list(JUMPS))
def test_jump_body_weight_count_and_flight(jumps, name):
    forces, analysis = jumps[name]
    assert forces.names == ("FP1", "FP2") and forces.fz_n.shape == (5000, 2)
    assert analysis.body_weight_n == pytest.approx(JUMPS[name]["body_weight_n"], rel=0.02)
    assert len(analysis.jumps) == 1
    jump = analysis.jumps[0]
    assert jump.flight_time_s == pytest.approx(JUMPS[name]["flight_s"], abs=0.01)
    assert jump.height_flight_m == pytest.approx(9.80665 * jump.flight_time_s**2 / 8)
    assert 0.4 < jump.left_share < 0.6


def test_countermovement_jump_phases_in_order(jumps):
    jump = jumps["CMJ"][1].jumps[0]
    assert jump.kind == "standing"
    assert jump.unweighting_start < jump.braking_start < jump.propulsion_start < jump.take_off < jump.landing
    # impulse-momentum and flight time are independent: their agreement supports 1000 Hz
    assert jump.height_impulse_m == pytest.approx(jump.height_flight_m, abs=0.01)


def test_squat_jump_pushes_from_the_hold(jumps):
    jump = jumps["SJ"][1].jumps[0]
    assert jump.kind == "standing"
    assert jump.unweighting_start is None and jump.braking_start is None
    assert jump.propulsion_start == jump.contact_start
    assert jump.height_impulse_m == pytest.approx(jump.height_flight_m, abs=0.01)


def test_drop_jump_starts_off_the_plates(jumps):
    _, analysis = jumps["DJ"]
    assert analysis.quiet.start > 3000  # weighed in the final quiet stretch, after the jump
    jump = analysis.jumps[0]
    assert jump.kind == "rebound"
    assert jump.contact_time_s == pytest.approx(0.25, abs=0.01)
    assert jump.braking_start == jump.contact_start < jump.propulsion_start < jump.take_off
    assert np.isnan(jump.height_impulse_m)


def test_unloaded_offset_does_not_change_the_jump(jumps):
    # Sample_Jump2.c3d reads about 25 N with nobody on the plates
    forces, plain = jumps["CMJ"]
    shifted = segment_jumps(forces.fz_n[:, 0] + 12.5, forces.fz_n[:, 1] + 12.5, forces.rate_hz)
    assert shifted.unloaded_n == pytest.approx(plain.unloaded_n + 25.0, abs=0.5)
    assert shifted.body_weight_n == pytest.approx(plain.body_weight_n, abs=0.5)
    assert shifted.jumps[0].flight_time_s == pytest.approx(plain.jumps[0].flight_time_s, abs=0.002)


def test_reps_on_the_squat_jump_hold(jumps):
    """What segment_reps makes of the SJ file (documented in docs/validation.md)."""
    forces, analysis = jumps["SJ"]
    total = forces.fz_n.sum(axis=1)
    jump = analysis.jumps[0]
    hold = slice(0, jump.contact_start)
    found = segment_reps(forces.time_s[hold], total[hold], forces.rate_hz, analysis.body_weight_n)
    # the file starts in the held squat: no descent is recorded, so there is no rep
    assert found.reps == [] and np.abs(found.velocity).max() < 0.05


def test_squat_jump_file_reads(squat_jumps):
    recording, _, labels = squat_jumps
    assert recording.rate_hz == 1000.0 and recording.force_n.shape == (16350, 2, 3)
    # metres, not the documented cm: the plates' CoPs sit about 340 mm apart medio-laterally
    standing = slice(3200, 4400)
    gap_mm = np.nanmedian(recording.cop_mm[standing, 1, 1] - recording.cop_mm[standing, 0, 1])
    assert 300 < gap_mm < 380
    assert np.isnan(recording.cop_mm[-1]).all()  # unloaded at the end: CoP undefined
    assert set(labels) == {"Event", "Eccentric Phase", "Concentric Phase", "Jump Phase", "Landing Phase"}


def test_squat_jumps_against_hand_labels(squat_jumps):
    recording, analysis, labels = squat_jumps
    assert analysis.body_weight_n == pytest.approx(875.0, rel=0.02)
    assert len(analysis.jumps) == 3  # stepping off at the end is not a jump
    tolerance = int(0.020 * recording.rate_hz)
    for jump, (ecc_start, _), (con_start, con_end), (landing_start, _) in zip(
            analysis.jumps, labels["Eccentric Phase"], labels["Concentric Phase"], labels["Landing Phase"]):
        assert jump.kind == "standing"
        assert abs(jump.take_off - con_end) <= tolerance
        assert abs(jump.landing - landing_start) <= tolerance
        # The phase labels follow force landmarks, not the centre of mass: the eccentric
        # label starts near the force minimum (after our 5-SD onset), the concentric one
        # near peak force (inside our propulsion). Only their order can be checked.
        assert jump.unweighting_start < ecc_start < jump.braking_start
        assert jump.propulsion_start < con_start < jump.take_off
        assert jump.height_impulse_m == pytest.approx(jump.height_flight_m, abs=0.015)


@pytest.mark.parametrize("reader, text, problem", [
    (read_amti_csv, "Format Version,1.0,\n\n1,2,3\n", "header"),
    (read_amti_csv, "Export Frame Rate,100,\nMocapFrame, MocapTime, Fx, Fy, Fz, Mx, My, Mz, Cx, Cy\n"
                    "0,0,x,0,0,0,0,0,0,0\n", "bad data row"),
    (read_fz_text, "FP1\tFP2\r\n1.0\t2.0\r\n3.0\r\n", "bad data row"),
    (read_fz_text, "1.0\t2.0\r\n3.0\t4.0\r\n", "header"),
    (read_squat_jump_csv, "\ufeffsquat jump\nnRows=1\n", "endheader"),
    (read_squat_jump_csv, "squat jump\nnRows=2\nendheader\n" + ",".join(SQUAT_JUMP_COLUMNS) + "\n"
                          + ",".join(["0"] * len(SQUAT_JUMP_COLUMNS)) + "\n", "nRows=2"),
    (read_squat_jump_index, ",Jump 1 Start,Jump 1 End\nEvent,90,x\n", "non-integer"),
])
def test_malformed_files_raise_one_line_errors(tmp_path, reader, text, problem):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8", newline="")
    with pytest.raises(FileFormatError) as info:
        reader(path)
    message = str(info.value)
    assert isinstance(info.value, ForceplateError)
    assert str(path) in message and problem in message and "\n" not in message
