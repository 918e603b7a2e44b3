"""Each exercise on the real recordings in ../shared/data, through ``forceplate import``
and ``forceplate analyze``. Expected figures: the folders' PROVENANCE.md and
docs/validation.md."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import SHARED_DATA
from exercise_trials import analyze_json, analyze_text, imported, trial_feet, write_feet_trial

from forceplate.interop.amti_csv import read_amti_csv
from forceplate.interop.fz_text import read_fz_text
from forceplate.interop.squat_jump_csv import read_squat_jump_index
from forceplate.processing.landing import segment_landings
from forceplate.processing.posturography import sway

# docs/validation.md: flight times measured by segment_jumps on these files
JUMP_FILES = {"CMJ": ("countermovement_jump", 0.509), "SJ": ("squat_jump", 0.470), "DJ": ("drop_jump", 0.485)}
# real-drop-jumps/PROVENANCE.md: peak vertical force per side in the first landing (N)
DROP_JUMP_PEAKS = {"DJ1": {"right": 1979.0, "left": 1240.0}, "DJ2": {"right": 2188.0, "left": 1206.0}}


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    return tmp_path_factory.mktemp("exercise-trials")


@pytest.fixture(scope="module")
def data():
    """shared_data for module-scoped fixtures (the trials they write are reused)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.mark.parametrize("name", list(JUMP_FILES))
def test_jump_files_recognised_and_measured(shared_data, trials, name):
    # the files do not say which plate is under which foot: FP1 is the left, as in docs/validation.md
    trial = imported(shared_data / "vertical-jumps-fz" / f"Dual-{name}-Fz.txt", trials / f"{name}.h5")
    expected_exercise, expected_flight_s = JUMP_FILES[name]
    report = analyze_json(trial)
    summary = report["summary"]
    assert summary["exercise"] == expected_exercise
    assert summary["exercise_chosen_by"].startswith("recognised from the force pattern")
    assert summary["collapse_flag"].startswith("not applied")
    [jump] = report["reps"]
    assert jump["kind"] == "jump"
    assert jump["flight_s"] == pytest.approx(expected_flight_s, abs=0.010)
    assert jump["landing_s"] - jump["takeoff_s"] == pytest.approx(jump["flight_s"], abs=0.002)
    assert jump["jump_height_m"] == pytest.approx(9.80665 * jump["flight_s"] ** 2 / 8, abs=0.001)
    assert jump["rsi"] == pytest.approx(jump["jump_height_m"] / jump["contact_s"], abs=0.01)
    assert 40 < jump["symmetry"]["left_share_pct"] < 60
    assert [p["name"] for p in jump["phases"]][-2:] == ["propulsion", "flight"]
    assert summary["body_weight_n"] == pytest.approx(662.0, rel=0.02)


@pytest.mark.slow
def test_countermovement_jump_phases_and_table(shared_data, trials):
    forces = read_fz_text(shared_data / "vertical-jumps-fz" / "Dual-CMJ-Fz.txt")
    # written here, to carry an exercise attribute
    trial = write_feet_trial(trials / "cmj-table.h5", {"left": forces.fz_n[:, 0], "right": forces.fz_n[:, 1]},
                             forces.rate_hz, exercise="countermovement_jump")
    [jump] = analyze_json(trial)["reps"]
    names = [p["name"] for p in jump["phases"]]
    assert names == ["unweighting", "braking", "propulsion", "flight"]
    ends = [p["end_s"] for p in jump["phases"]]
    assert ends == sorted(ends) and jump["phases"][-1]["end_s"] == jump["landing_s"]
    # impulse-momentum and flight time agree (docs/validation.md: within 4 mm)
    assert jump["jump_height_impulse_m"] == pytest.approx(jump["jump_height_m"], abs=0.01)
    done = analyze_text(trial)
    assert done.returncode == 0, done.stderr
    assert "exercise chosen by the trial's exercise attribute" in done.stdout
    header = next(line for line in done.stdout.splitlines() if "flight s" in line)
    assert "take-off s" in header and "RSI" in header and "medial shift" not in done.stdout


def test_squat_jumps_against_hand_labels(shared_data, trials):
    folder = shared_data / "squat-jump-dual-fp"
    labels = read_squat_jump_index(folder / "BFR007_index.csv")
    trial = imported(folder / "BFR007_squat_jump.csv", trials / "bfr007.h5")
    rate_hz = 1000.0
    report = analyze_json(trial, "--exercise", "countermovement_jump")
    jumps = report["reps"]
    assert len(jumps) == 3  # the step-off at 14.8 s is not a jump
    tolerance_s = 0.020  # the labels claim +-20 ms
    for jump, (_, concentric_end), (landing_start, _) in zip(jumps, labels["Concentric Phase"], labels["Landing Phase"]):
        assert jump["takeoff_s"] == pytest.approx(concentric_end / rate_hz, abs=tolerance_s)
        assert jump["landing_s"] == pytest.approx(landing_start / rate_hz, abs=tolerance_s)
    # a slow descent before the push is a countermovement, whatever the file is called
    assert report["summary"]["notes"] == []


def test_vaila_sit_to_stand(shared_data, trials):
    ezc3d = pytest.importorskip("ezc3d")
    source = shared_data / "vaila-sit-to-stand" / "C3D_to_CSV_02.c3d"
    report = analyze_json(imported(source, trials / "vaila.h5"))
    summary = report["summary"]
    assert summary["exercise"] == "sit_to_stand"
    assert summary["exercise_chosen_by"].startswith("recognised")
    [rise] = report["reps"]
    assert rise["kind"] == "sit_to_stand"
    # the clip starts at the operator's Nexus event Seating5 (0.01 s into the trial)
    assert rise["seat_off_s"] == pytest.approx(0.01, abs=0.02)
    assert rise["onset_s"] is None and rise["duration_s"] is None
    # standing: the centre of mass (Plug-in-Gait, 100 Hz) stops rising
    c3d = ezc3d.c3d(str(source))
    labels = c3d["parameters"]["POINT"]["LABELS"]["value"]
    com_z_mm = c3d["data"]["points"][2, labels.index("CentreOfMass")]
    velocity = np.gradient(com_z_mm) * 100.0  # mm/s
    stopped_s = np.flatnonzero(velocity < 10.0)[0] / 100.0
    assert rise["standing_s"] == pytest.approx(stopped_s, abs=0.05)
    assert rise["rise_time_s"] == pytest.approx(rise["standing_s"] - rise["seat_off_s"], abs=0.001)
    # PROVENANCE: peak 195 N, about 1.37 x the nominal 142 N (the plates weigh the child at 155 N)
    assert rise["peak_force_n"] == pytest.approx(195.0, abs=2.0)
    assert summary["body_weight_n"] == pytest.approx(155.0, abs=3.0)


@pytest.fixture(scope="module")
def amti_trial(data, trials):
    source = data / "amti-quiet-standing" / "test.csv"
    return read_amti_csv(source), imported(source, trials / "amti.h5")


def test_amti_quiet_standing_posturography(amti_trial):
    amti, trial = amti_trial
    report = analyze_json(trial)
    summary = report["summary"]
    assert summary["exercise"] == "quiet_standing" and report["reps"] == []
    measures = summary["posturography"]
    # the longest stretch without a dropout: rows 3 to 15599
    assert measures["start_s"] == pytest.approx(0.03) and measures["duration_s"] == pytest.approx(155.96)
    cop = amti.vendor_cop_mm[3:15600]
    assert measures["range_ml_mm"] == pytest.approx(np.ptp(cop[:, 0]), rel=0.05)
    assert measures["range_ap_mm"] == pytest.approx(np.ptp(cop[:, 1]), rel=0.05)
    assert measures["sd_ml_mm"] == pytest.approx(np.std(cop[:, 0]), rel=0.01)
    # large-sample 95 % ellipse: pi * chi2(0.95, 2) * sqrt(det cov)
    assert measures["ellipse95_area_mm2"] == pytest.approx(
        np.pi * 5.991 * np.sqrt(np.linalg.det(np.cov(cop, rowvar=False))), rel=0.01)
    raw_path = np.sum(np.linalg.norm(np.diff(cop, axis=0), axis=1))
    assert 0.5 * raw_path < measures["path_length_mm"] <= raw_path  # the 10 Hz low-pass removes jitter only
    assert measures["mean_velocity_mm_s"] == pytest.approx(measures["path_length_mm"] / 155.96, rel=1e-3)
    assert summary["posturography_by_foot"] == {"left": measures}  # one plate: the foot is the whole
    assert "7 lost samples of force interpolated" in summary["notes"]  # the dropout rows


def test_amti_settling_sways_more_than_the_rest(amti_trial):
    """PROVENANCE: the first ~30 s sway more (ML SD 13-27 mm per 15 s) than the rest (2-3 mm)."""
    amti, _ = amti_trial
    settling = sway(amti.vendor_cop_mm[3:3000], amti.rate_hz)
    settled = sway(amti.vendor_cop_mm[3000:15600], amti.rate_hz)
    assert settling.sd_ml_mm > 3 * settled.sd_ml_mm
    assert settling.mean_velocity_mm_s > settled.mean_velocity_mm_s


@pytest.fixture(scope="module", params=list(DROP_JUMP_PEAKS))
def drop_jump(request, data, trials):
    name = request.param
    trial = imported(data / "real-drop-jumps" / f"{name}_forces.mot", trials / f"{name}.h5")
    return (name, *trial_feet(trial), trial)


@pytest.mark.slow
def test_real_drop_jumps_one_landing_no_flag(drop_jump):
    name, rate, fz, _, trial = drop_jump
    report = analyze_json(trial, "--exercise", "drop_landing")
    summary = report["summary"]
    [landing] = report["reps"]  # the second landing, cut by the end of the recording, is not measured
    assert any("cut short" in note for note in summary["notes"])
    assert landing["kind"] == "landing"
    first_contact_s = np.flatnonzero(fz["left"] + fz["right"] > 20.0)[0] / rate
    assert landing["touchdown_s"] == pytest.approx(first_contact_s, abs=0.002)
    # no knee-collapse flag from the CoP in landings, and the output says why
    assert summary["collapse_flag"].startswith("not applied") and "23 of 24" in summary["collapse_flag"]
    assert all("flag" not in landing[foot] for foot in ("left", "right"))
    assert "flagged" not in summary
    # a drop jump leaves the plates before it stabilises: no time to stabilisation, and why
    assert landing["landing_type"] == "rebound"
    assert landing["time_to_stabilisation_s"] is None
    assert landing["stabilisation_note"] == "left the plates before stabilising"
    assert landing["takeoff_s"] - landing["touchdown_s"] == pytest.approx(0.765, abs=0.01)
    # PROVENANCE peaks per side; it does not say how it filtered: within 10 %
    for foot, peak_n in DROP_JUMP_PEAKS[name].items():
        assert landing[foot]["peak_force_n"] == pytest.approx(peak_n, rel=0.10)
    assert landing["right"]["peak_force_n"] > landing["left"]["peak_force_n"]
    assert landing["peak_force_n"] >= max(landing[f]["peak_force_n"] for f in ("left", "right"))
    assert landing["loading_rate_n_s"] > 0
    # PROVENANCE: the CoP moved toward the arch under both feet in both landings
    assert landing["left"]["cop_medial_excursion_mm"] > 0 and landing["right"]["cop_medial_excursion_mm"] > 0
    done = analyze_text(trial, "--exercise", "drop_landing")
    assert "knee-collapse flag: not applied: in 23 of 24 real landings" in done.stdout


@pytest.mark.slow
def test_real_drop_jumps_recognised(drop_jump):
    *_, trial = drop_jump
    summary = analyze_json(trial)["summary"]
    # a drop jump, but with no quiet standing to weigh it by: analysed as a landing, and said so
    assert summary["exercise"] == "drop_landing" and "analysed as a landing" in summary["exercise_chosen_by"]
    done = analyze_text(trial, "--exercise", "drop_jump")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cannot analyse as drop_jump: no quiet standing" in done.stderr and "--exercise" in done.stderr


def test_landing_after_a_jump_stabilises(shared_data):
    """The CMJ file lands and stands still: time to stabilisation is measured."""
    forces = read_fz_text(shared_data / "vertical-jumps-fz" / "Dual-CMJ-Fz.txt")
    analysis = segment_landings({"left": forces.fz_n[:, 0], "right": forces.fz_n[:, 1]}, forces.rate_hz)
    [landing] = analysis.landings
    assert analysis.body_weight_n == pytest.approx(662.0, rel=0.02)
    assert landing.flight_before_s == pytest.approx(0.509, abs=0.01)
    assert landing.stabilised is not None and landing.kind == "landing"
    settled = forces.fz_n.sum(axis=1)[landing.stabilised:landing.stabilised + 1000]
    assert np.all(np.abs(settled - analysis.body_weight_n) <= 0.05 * analysis.body_weight_n + analysis.unloaded_n)


WALKING_FILES = ["ezc3d-testFiles/Qualisys.c3d", "ezc3d-testFiles/BTS.c3d", "ezc3d-testFiles/Kistler.c3d",
                 "c3d-org-samples/sample_01/Eb015pr.c3d", "c3d-org-samples/sample_10/TYPE-3.c3d",
                 "physionet-gaitpdb/GaCo01_01.txt", "moticon-opengo/walk_with_events.txt"]
# both feet loaded together: squats, jumps, standing; one foot: the vaila seat-off
TOGETHER_FILES = ["c3d-org-samples/sample_26/Capture0008_Standing.c3d", "real-squats/S1_FlywheelSquat.c3d",
                  "real-squats/grf_Squat2.mot", "squat-jump-dual-fp/BFR007_squat_jump.csv",
                  "vertical-jumps-fz/Dual-CMJ-Fz.txt", "vertical-jumps-fz/Dual-SJ-Fz.txt",
                  "real-drop-jumps/DJ1_forces.mot", "vaila-sit-to-stand/C3D_to_CSV_02.c3d"]


@pytest.mark.parametrize("name", WALKING_FILES + TOGETHER_FILES)
def test_walking_is_recognised_and_nothing_else_is(shared_data, tmp_path, name):
    """Walking across the plates (or on insoles) loads one foot at a time: recognised as
    walking, analysed as the force summary; no squat, jump, landing or rise reads as walking."""
    if name.endswith(".c3d"):
        pytest.importorskip("ezc3d")
    from forceplate.processing.recognise import recognise

    rate, fz, _ = trial_feet(imported(shared_data / name, tmp_path / "t.h5"))
    exercise, reason = recognise(fz, rate)
    assert (exercise == "force_summary") == (name in WALKING_FILES), reason
    if name in WALKING_FILES:
        assert reason.startswith("walking or stepping")


@pytest.mark.slow
@pytest.mark.parametrize("name, found", [
    ("ezc3d-testFiles/BTS.c3d", "no squat reps: walking or stepping"),
    # a jump, but its plates read about 25 N in flight and it never stands still for 1 s
    ("c3d-org-samples/sample_00/Sample_Jump2.c3d",
     "no squat reps: the force pattern suggests countermovement_jump but cannot analyse as countermovement_jump"),
])
def test_not_a_squat_set_says_what_it_found_and_summarises(shared_data, tmp_path, name, found):
    """Issue 12 item 10: exit 0, "no squat reps: ...", the force and CoP summary; trials lists it."""
    pytest.importorskip("ezc3d")
    trial = imported(shared_data / name, tmp_path / "t.h5")
    report = analyze_json(trial)
    summary = report["summary"]
    assert report["reps"] == [] and summary["exercise"] == "force_summary"
    assert summary["found"].startswith(found) and summary["found"] in summary["notes"]
    assert summary["loaded_level_n"] > 300  # an adult, not the 0.0 N of a squat's missing standing
    for foot in ("left", "right"):
        measures = summary["forces_by_foot"][foot]
        assert measures["contacts"] >= 1 and measures["contact_s"] > 0.2
        assert 300 < measures["peak_force_n"] < 2000
        assert measures["cop_range_ml_mm"] > 0 and measures["cop_range_ap_mm"] > 0
    done = analyze_text(trial)
    assert done.returncode == 0, done.stderr
    assert f"note: {found}" in done.stdout and "left foot" in done.stdout and "cop_range_ml_mm" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "forceplate", "trials", str(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0 and "unreadable" not in listed.stdout and "force_summary" in listed.stdout


def test_drop_jump_file_as_landings(shared_data, trials):
    """vertical-jumps-fz DJ: the drop's landing rebounds, the jump's landing is held."""
    forces = read_fz_text(shared_data / "vertical-jumps-fz" / "Dual-DJ-Fz.txt")
    trial = write_feet_trial(trials / "dj-landings.h5", {"left": forces.fz_n[:, 0], "right": forces.fz_n[:, 1]},
                             forces.rate_hz)
    report = analyze_json(trial, "--exercise", "landing")
    first, second = report["reps"]
    assert first["landing_type"] == "rebound" and first["flight_before_s"] is None  # a drop: starts in the air
    assert first["takeoff_s"] - first["touchdown_s"] == pytest.approx(0.254, abs=0.005)  # docs/validation.md
    assert second["landing_type"] == "landing" and second["flight_before_s"] == pytest.approx(0.485, abs=0.01)
    assert 0.3 < second["time_to_stabilisation_s"] < 2.0
    assert report["summary"]["body_weight_n"] == pytest.approx(662.8, rel=0.01)
    assert report["summary"]["body_weight_source"] == "steady half second after the landing"


def test_lost_samples_are_interpolated_and_said(shared_data, tmp_path):
    forces = read_fz_text(shared_data / "vertical-jumps-fz" / "Dual-CMJ-Fz.txt")
    fz = {"left": forces.fz_n[:, 0].copy(), "right": forces.fz_n[:, 1].copy()}
    for x in fz.values():
        x[3200:3230] = np.nan  # 30 lost frames while standing after the landing
    report = analyze_json(write_feet_trial(tmp_path / "gaps.h5", fz, forces.rate_hz), "--exercise", "cmj")
    [jump] = report["reps"]
    assert jump["flight_s"] == pytest.approx(0.509, abs=0.01)
    assert "30 lost samples of force interpolated" in report["summary"]["notes"]


def test_quiet_standing_leaves_out_stepping_on(shared_data, tmp_path):
    """Capture0008_Standing: the subject steps onto the plates one foot at a time, then stands."""
    pytest.importorskip("ezc3d")
    trial = imported(shared_data / "c3d-org-samples" / "sample_26" / "Capture0008_Standing.c3d", tmp_path / "s.h5")
    rate, fz, _ = trial_feet(trial)
    measures = analyze_json(trial, "--exercise", "quiet_standing")["summary"]["posturography"]
    # measured only once each foot carries at least 75 % of what it carries standing
    both_on_s = max(np.flatnonzero(x > 0.75 * np.median(x))[0] for x in fz.values()) / rate
    assert measures["start_s"] >= both_on_s
    assert measures["start_s"] + measures["duration_s"] <= len(fz["left"]) / rate
    assert measures["duration_s"] > 5.0


def test_standing_after_stepping_on_is_quiet_standing(shared_data, tmp_path):
    """Capture0008_Standing.c3d: 0.5 s off the plates, one foot then the other steps on, 9 s
    standing. The steps are a few per cent of the trial: quiet standing, not a squat with no reps."""
    pytest.importorskip("ezc3d")
    trial = imported(shared_data / "c3d-org-samples/sample_26/Capture0008_Standing.c3d", tmp_path / "t.h5")
    summary = analyze_json(trial)["summary"]
    assert summary["exercise"] == "quiet_standing" and summary["exercise_chosen_by"].startswith("recognised")
    assert summary["posturography"]["start_s"] > 0.5 and summary["posturography"]["duration_s"] > 8.0
    assert summary["body_weight_n"] == pytest.approx(370.8, rel=0.01)  # the squat baseline's standing weight
    for foot in ("left", "right"):  # each foot stands still: a few mm of sway
        assert summary["posturography_by_foot"][foot]["range_ml_mm"] < 20


@pytest.mark.parametrize("name, exercise", [("vertical-jumps-fz/Dual-CMJ-Fz.txt", "countermovement_jump"),
                                            ("real-drop-jumps/DJ1_forces.mot", "drop_landing"),
                                            ("real-squats/grf_Squat2.mot", "squat")])
def test_every_asymmetry_carries_its_formula(shared_data, tmp_path, name, exercise):
    """The --json output names the formula of each asymmetry key, and the values follow it."""
    report = analyze_json(imported(shared_data / name, tmp_path / "t.h5"))
    summary = report["summary"]
    assert summary["exercise"] == exercise
    formulas = summary["symmetry_formulas"]
    assert formulas["asymmetry_index_pct"] == "100 * (L - R) / (L + R)"
    assert formulas["limb_symmetry_index_pct"] == "100 * min(L, R) / max(L, R)"
    assert ("asymmetry_pct" in formulas) == (exercise == "squat")
    for rep in report["reps"]:
        sym = rep["symmetry"]
        assert sym["quantity"]
        share = sym["left_share_pct"]  # L / (L + R), so the others follow from it
        assert sym["asymmetry_index_pct"] == pytest.approx(2 * share - 100, abs=0.2)
        assert sym["limb_symmetry_index_pct"] == pytest.approx(100 * min(share, 100 - share) / max(share, 100 - share),
                                                               abs=0.3)


def test_a_walk_forced_through_the_squat_says_why_not(shared_data, tmp_path):
    """--exercise squat on the BTS walk: the plates are empty most of the trial, so the squat
    finds no standing (or a standing weight of 0.0 N, no one's: which one turns on the
    rounding of forces of 1e-111 N) to measure the feet against; one line that says why and
    how to choose another exercise, exit 2."""
    pytest.importorskip("ezc3d")
    trial = imported(shared_data / "ezc3d-testFiles/BTS.c3d", tmp_path / "t.h5")
    done = analyze_text(trial, "--exercise", "squat")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cannot analyse as squat: " in done.stderr and "choose another with --exercise" in done.stderr
