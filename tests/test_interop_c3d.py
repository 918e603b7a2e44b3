"""C3D import and export against the real files in ../shared/data and ezc3d's own numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forceplate.cli import main
from forceplate.errors import FileFormatError
from forceplate.storage.reader import open_trial
from forceplate.storage.writer import DeviceArrays, write_trial

ezc3d = pytest.importorskip("ezc3d")
from forceplate.interop.c3d import TO_Z_UP, read_c3d, write_c3d  # noqa: E402 - needs ezc3d

# file -> (plates in the file, analog rate Hz, lab axis that is vertical)
C3D_FILES = {
    "c3d-org-samples/sample_00/Sample_Jump2.c3d": (2, 600, 2),
    "c3d-org-samples/sample_01/Eb015pi.c3d": (2, 200, 2),
    "c3d-org-samples/sample_01/Eb015pr.c3d": (2, 200, 2),
    "c3d-org-samples/sample_10/TYPE-2.C3D": (1, 1200, 2),
    "c3d-org-samples/sample_10/TYPE-4.C3D": (1, 1200, 2),
    "c3d-org-samples/sample_10/TYPE-3.c3d": (4, 60, 2),
    "c3d-org-samples/sample_25/analogfpscale04.c3d": (2, 1080, 2),
    "c3d-org-samples/sample_26/Capture0008_Standing.c3d": (2, 240, 2),
    "ezc3d-testFiles/Qualisys.c3d": (2, 2000, 2),
    "ezc3d-testFiles/Kistler.c3d": (2, 600, 1),
    "ezc3d-testFiles/BTS.c3d": (6, 1000, 1),
    "ezc3d-testFiles/FP_Type3.c3d": (2, 1000, 2),
    "ezc3d-testFiles/FP_Type1.c3d": (4, 200, 1),
    "vaila-sit-to-stand/C3D_to_CSV_02.c3d": (4, 2000, 2),
}
# ezc3d corrects type-3 CoP with FORCE_PLATFORM:FPCOPPOLY (only FP_Type3.c3d has one); we do not
COP_TOLERANCE_MM = {"ezc3d-testFiles/FP_Type3.c3d": 1.0}


def _feet(device: DeviceArrays):
    from forceplate.calibration.record import parse_record
    from forceplate.processing.forces import plate_forces

    return plate_forces(parse_record(device.calibration_toml).to_physical(device.counts), device.profile)


@pytest.mark.parametrize("name", sorted(C3D_FILES))
def test_import_matches_ezc3d(shared_data, name):
    """Plate count, rate, and per-foot Fz and CoP against ezc3d's force platform extraction."""
    n_plates, rate, vertical = C3D_FILES[name]
    device, _, _ = read_c3d(shared_data / name)
    assert device.profile.rate_hz == rate
    plates = json.loads(device.attrs["plates"])
    assert len(plates) == min(n_plates, 2)
    reference = ezc3d.c3d(str(shared_data / name), extract_forceplat_data=True)
    assert len(reference["data"]["platform"]) == n_plates
    fz, cop = _feet(device)
    for foot, plate in plates.items():
        ref = reference["data"]["platform"][plate["number"] - 1]
        to_trial = TO_Z_UP[vertical]
        ref_force = to_trial @ np.asarray(ref["force"])
        ref_cop = (to_trial @ np.asarray(ref["center_of_pressure"]))[:2].T
        sign = -1.0 if plate["sign_flipped"] else 1.0
        np.testing.assert_allclose(fz[foot], sign * ref_force[2], atol=1e-6 * max(1.0, np.abs(ref_force[2]).max()))
        loaded = fz[foot] > 50.0
        if loaded.any():
            error = np.linalg.norm(cop[foot][loaded] - ref_cop[loaded], axis=1)
            assert np.median(error) < COP_TOLERANCE_MM.get(name, 0.1), f"{foot}: median CoP error {np.median(error):.3f} mm"


def test_vaila_cop_matches_stored_cop_fp1(shared_data):
    """Nexus' own COP_FP1 (lab mm) against our CoP of plate 1, at each loaded video frame."""
    path = shared_data / "vaila-sit-to-stand/C3D_to_CSV_02.c3d"
    device, _, events = read_c3d(path, left=3, right=1)
    _, cop = _feet(device)
    c3d = ezc3d.c3d(str(path))
    labels = c3d["parameters"]["POINT"]["LABELS"]["value"]
    stored = c3d["data"]["points"][:2, labels.index("COP_FP1"), :].T
    ratio = 2000 // 100
    ours = cop["right"][::ratio][: len(stored)]
    loaded = np.isfinite(ours[:, 0])
    assert loaded.sum() >= 9
    error = np.linalg.norm(ours[loaded] - stored[loaded], axis=1)
    assert np.max(error) < 0.2, error  # stored to 0.1 mm
    # EVENT marks at 12.59 s and 14.00 s; the clip starts at frame 1258 of 100 Hz (12.57 s)
    assert [e[-1] for e in events] == ["General Seating5", "General Standing5"]
    np.testing.assert_allclose([e[0] for e in events], [0.01, 1.42], atol=1e-3)


def test_type2_and_type4_agree(shared_data):
    """The same recording as a diagonal (type 2) and a full-matrix (type 4) plate: Fz agrees.

    Their CoPs differ by about 14 mm (median): the moment rows of the type-4 matrix carry
    force cross-talk the diagonal lacks. ezc3d computes the same type-4 CoP as we do (test
    above); checking against TYPE-4.xls is not done (it needs an .xls reader).
    """
    fz2, cop2 = _feet(read_c3d(shared_data / "c3d-org-samples/sample_10/TYPE-2.C3D")[0])
    fz4, cop4 = _feet(read_c3d(shared_data / "c3d-org-samples/sample_10/TYPE-4.C3D")[0])
    loaded = (fz2["left"] > 50) & (fz4["left"] > 50)
    assert np.median(np.abs(fz2["left"][loaded] - fz4["left"][loaded]) / fz4["left"][loaded]) < 0.03


def test_integer_and_float_storage_import_identically(shared_data):
    a = read_c3d(shared_data / "c3d-org-samples/sample_01/Eb015pi.c3d")[0]
    b = read_c3d(shared_data / "c3d-org-samples/sample_01/Eb015pr.c3d")[0]
    np.testing.assert_allclose(a.counts, b.counts, rtol=1e-4, atol=0.5)


def test_plate_choice(shared_data, tmp_path):
    path = shared_data / "ezc3d-testFiles/BTS.c3d"
    device, _, _ = read_c3d(path, plates=[1, 4], left=4, right=1)
    assert {p.foot: p.name for p in device.profile.plates} == {"left": "FP4", "right": "FP1"}
    with pytest.raises(FileFormatError, match="numbered 1 to 6"):
        read_c3d(path, plates=[7])
    with pytest.raises(FileFormatError, match="at most two"):
        read_c3d(path, plates=[1, 2, 3])


@pytest.mark.parametrize("name", ["c3d-org-samples/sample_00/Sample_Jump2.c3d", "vaila-sit-to-stand/C3D_to_CSV_02.c3d",
                                  "ezc3d-testFiles/Kistler.c3d", "c3d-org-samples/sample_26/Capture0008_Standing.c3d"])
def test_imported_trial_opens_analyses_and_exports(shared_data, tmp_path, capsys, name):
    out = tmp_path / "trial.h5"
    assert main(["import", str(shared_data / name), "-o", str(out)]) == 0
    trial = open_trial(out)
    (recording,) = trial.devices.values()
    assert recording.counts.dtype == np.float64 and trial.complete
    capsys.readouterr()
    status = main(["analyze", str(out)])
    err = capsys.readouterr().err
    # walking and jumping files may hold no quiet standing: then one line, never a traceback
    assert status == 0 or (status == 2 and err.count("\n") == 1 and err.startswith("forceplate: error:")), err
    if status == 0:
        assert main(["export", str(out), "--csv", str(tmp_path / "csv")]) == 0


@pytest.mark.parametrize("make_bad", ["bad_parameter_section", "truncated", "incomplete", "missing", "not_c3d"])
def test_bad_files_give_one_line(shared_data, tmp_path, capsys, make_bad):
    if make_bad == "bad_parameter_section":
        path = shared_data / "c3d-org-samples/sample_18/bad_parameter_section.c3d"
    elif make_bad == "truncated":
        path = tmp_path / "cut.c3d"
        path.write_bytes((shared_data / "c3d-org-samples/sample_00/Sample_Jump2.c3d").read_bytes()[:100_000])
    elif make_bad == "incomplete":
        path = shared_data / "c3d-org-samples/sample_28/type1.C3D"
    elif make_bad == "missing":
        path = tmp_path / "nothing.c3d"
    else:
        path = tmp_path / "text.c3d"
        path.write_text("not a c3d file\n")
    out = tmp_path / "out.h5"
    assert main(["import", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("forceplate: error:"), err
    assert not out.exists()


def _six_axis_trial(path, n=3000, rate=1000.0):
    """Two six-axis plates (origin 40 mm deep) under a swaying person, in N and N*m."""
    from forceplate.interop import calibration_toml
    from forceplate.profiles import load_profile, parse_profile

    text = load_profile("dual-six-axis").toml_text
    profile = parse_profile(text.replace('sample_format = "int32"', 'sample_format = "float64"'))
    t = np.arange(n) / rate
    rng = np.random.default_rng(3)
    columns = []
    for side, cx in (("left", -250.0), ("right", 250.0)):
        fz = 400 + 150 * np.sin(2 * np.pi * 0.5 * t) + rng.normal(0, 2, n)
        fx, fy = rng.normal(0, 10, n), rng.normal(0, 10, n)
        x, y = 0.03 * np.sin(t), 0.05 * np.cos(t)  # m from the plate centre
        dz = 0.04
        columns += [fx, fy, fz, y * fz + dz * fy, -x * fz - dz * fx, rng.normal(0, 1, n)]
    counts = np.column_stack(columns)
    device = DeviceArrays(name="SIX", profile=profile, counts=counts, channel_units=["N"] * 3 + ["N*m"] * 3 + ["N"] * 3 + ["N*m"] * 3,
                          info={"serial": "SIX"}, calibration_toml=calibration_toml("SIX", profile.id, [1.0] * 12))
    write_trial(path, [device])
    return path


def test_round_trip_trial_c3d_trial(tmp_path):
    from forceplate.calibration.record import parse_record
    from forceplate.processing.forces import plate_forces

    trial = open_trial(_six_axis_trial(tmp_path / "a.h5"))
    recording = trial.devices["SIX"]
    fz_a, cop_a = plate_forces(recording.uniform()[1], recording.profile)
    c3d_path = write_c3d(trial, tmp_path / "a.c3d")
    device, _, _ = read_c3d(c3d_path)
    fz_b, cop_b = _feet(device)
    reference = ezc3d.c3d(str(c3d_path), extract_forceplat_data=True)  # another reader of our file
    for k, foot in enumerate(("left", "right")):
        np.testing.assert_allclose(fz_b[foot], fz_a[foot], rtol=1e-3)
        np.testing.assert_allclose(cop_b[foot], cop_a[foot], atol=0.1)
        ezc3d_cop = np.asarray(reference["data"]["platform"][k]["center_of_pressure"])[:2].T
        np.testing.assert_allclose(ezc3d_cop, cop_a[foot], atol=0.1)
    assert parse_record(device.calibration_toml).serial == device.name
    with pytest.raises(FileFormatError, match="exists"):
        write_c3d(trial, c3d_path)


def test_round_trip_keeps_subject_load_date_and_events(tmp_path):
    """export-c3d then import through the CLI: the subject, load, exercise, notes, the date
    (with its zone) and every event (marks, reps, flags, with rep, side, grade, phase, value) come back."""
    from forceplate.storage.writer import EVENT_DTYPE

    events = [(0.2, "baseline", 0, "", "", "", 735.4, ""), (1.0, "rep_start", 1, "", "", "", float("nan"), ""),
              (1.4, "flag", 1, "right", "moderate", "descent", 8.25, ""), (2.1, "rep_end", 1, "right", "moderate", "", float("nan"), ""),
              (2.5, "mark", 0, "", "", "", float("nan"), "coach: knees, out")]
    metadata = {"subject": "P07", "load_kg": 42.5, "exercise": "squat", "notes": "flat shoes",
                "created": "2026-11-30T09:15:02+01:00"}
    source = _six_axis_trial(tmp_path / "a.h5")
    path = tmp_path / "b.h5"  # the same plates, with metadata and events
    trial = open_trial(source)
    write_trial(path, [DeviceArrays(name="SIX", profile=trial.devices["SIX"].profile, counts=trial.devices["SIX"].counts,
                                    channel_units=["N"] * 3 + ["N*m"] * 3 + ["N"] * 3 + ["N*m"] * 3, info={"serial": "SIX"},
                                    calibration_toml=trial.devices["SIX"].calibration.toml_text)], metadata, events)
    assert main(["export-c3d", str(path), str(tmp_path / "b.c3d")]) == 0
    assert main(["import", str(tmp_path / "b.c3d"), "-o", str(tmp_path / "c.h5")]) == 0
    back = open_trial(tmp_path / "c.h5")
    assert {k: back.attrs[k] for k in metadata} == metadata
    stored = np.array(events, dtype=EVENT_DTYPE)
    assert len(back.events) == len(stored)
    for a, b in zip(stored, back.events):
        for name in ("kind", "rep", "side", "severity", "phase", "text"):
            got = b[name].decode() if isinstance(b[name], bytes) else b[name]
            assert got == a[name], name
        assert b["t_s"] == pytest.approx(a["t_s"], abs=1e-6)
        assert (np.isnan(a["value"]) and np.isnan(b["value"])) or b["value"] == pytest.approx(a["value"])
    # another reader sees them as ordinary C3D events
    reference = ezc3d.c3d(str(tmp_path / "b.c3d"))["parameters"]
    assert list(reference["EVENT"]["LABELS"]["value"]) == ["baseline", "rep_start", "flag", "rep_end", "mark"]
    assert reference["EVENT"]["CONTEXTS"]["value"][2] == "Right"
    assert list(reference["SUBJECTS"]["NAMES"]["value"]) == ["P07"]


@pytest.mark.parametrize("name, created", [
    ("ezc3d-testFiles/BTS.c3d", "2019-05-24T15:13:57"),  # TRIAL:DATE and TIME
    ("amti-quiet-standing/test.csv", "2021-01-05T10:47:06+01:00"),  # Capture Start Time
    ("moticon-opengo/230927_102114.txt", "2023-09-27T10:21:14"),  # '# Start time:'
])
def test_imported_trials_keep_the_recordings_date(shared_data, tmp_path, name, created):
    assert main(["import", str(shared_data / name), "-o", str(tmp_path / "t.h5")]) == 0
    attrs = open_trial(tmp_path / "t.h5").attrs
    assert (attrs["created"], attrs["date_source"]) == (created, "the recording")


def test_a_c3d_files_subject_is_kept_and_a_missing_date_is_the_imports(shared_data, tmp_path):
    """Sample_Jump2 names a subject and no date: the subject is kept, the date is the import's."""
    assert main(["import", str(shared_data / "c3d-org-samples/sample_00/Sample_Jump2.c3d"), "-o", str(tmp_path / "t.h5")]) == 0
    attrs = open_trial(tmp_path / "t.h5").attrs
    assert attrs["subject"] == "HelenHayes_for_Solutions" and attrs["date_source"] == "the import"


def test_a_report_says_when_the_date_is_the_imports(shared_data, tmp_path):
    """An OpenSim file states no date: its report heads the date 'imported', not 'recorded'."""
    assert main(["import", str(shared_data / "real-squats/grf_Squat2.mot"), "-o", str(tmp_path / "t.h5")]) == 0
    assert main(["analyze", str(tmp_path / "t.h5"), "--report", str(tmp_path / "t.html")]) == 0
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert "<th>imported</th>" in page and "<th>recorded</th>" not in page
