"""``forceplate calibrate flag``: a person's knee-collapse reference, end to end through the CLI.

One simulated person records a session of normal reps and one of deliberate knees-in reps
(collapse on both feet, on purpose); the reference they give is stored in the lab's folder,
and ``analyze`` of a third trial of that person, every rep with a mild collapse, grades it
with the reference (its own reps would take the collapse for the person's normal).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pytest

from forceplate.calibration.flag import (BELOW_MILD_MARGIN_MM, FlagReference, file_name, fit_reference, parse_reference,
                                         reference_toml)
from forceplate.errors import CalibrationError
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.processing.valgus import GRADES, Thresholds
from forceplate.sim.squat import Collapse, RepPlan
from forceplate.storage.reader import read_header

SUBJECT = "P01"
KNEES_IN_MM = 10.0  # the deliberate collapse's peak, both feet (the simulator's "moderate")
MILD_MM = 5.5  # the third trial's collapse in every rep: the middle of the default mild band


def reps(collapse_mm: float | None, n: int = 5) -> list[RepPlan]:
    """``n`` reps of the simulator's tempo (1 s down, 0.2 s bottom, 0.8 s up, 0.6 s rest), each
    collapsing on both feet by ``collapse_mm`` (None: normal reps)."""
    collapse = {foot: Collapse("moderate", collapse_mm) for foot in ("left", "right")} if collapse_mm else {}
    return [RepPlan(1.0, 0.2, 0.8, 0.6, 0.45, -12.0, collapse=dict(collapse)) for _ in range(n)]


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flag")
    made = {}
    for name, plans, seed in (("normal", reps(None), 11), ("knees_in", reps(KNEES_IN_MM), 12),
                              ("mild", reps(MILD_MM), 13),
                              ("normal_again", reps(None), 18), ("one_set", reps(None, 3) + reps(KNEES_IN_MM, 3), 14)):
        made[name] = write_simulated_trial(folder / f"{name}.h5", SimulatedTrial(subject=SUBJECT, seed=seed,
                                                                                  rep_plans=plans))
    made["jump"] = write_simulated_trial(folder / "jump.h5", SimulatedTrial(subject=SUBJECT, seed=15,
                                                                            exercise="countermovement_jump"))
    made["other"] = write_simulated_trial(folder / "other.h5", SimulatedTrial(subject="../lab/P 02", seed=16,
                                                                             rep_plans=reps(None)))
    made["other_knees_in"] = write_simulated_trial(folder / "other_knees_in.h5",
                                                   SimulatedTrial(subject="../lab/P 02", seed=17,
                                                                  rep_plans=reps(KNEES_IN_MM)))
    return made


def forceplate(home, *args):
    env = {**os.environ, "FORCEPLATE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "forceplate", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def refused(result, *words):
    """Exit 2 and one line on stderr, naming each of ``words``, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr + result.stdout
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def calibrated(trials, tmp_path_factory):
    """The lab's folder after calibrating P01 from the normal and knees-in trials."""
    home = tmp_path_factory.mktemp("home")
    result = forceplate(home, "calibrate", "flag", "--normal", trials["normal"], "--knees-in", trials["knees_in"])
    assert result.returncode == 0, result.stderr
    return home, result


def grades(home, path, *options) -> list[str]:
    result = forceplate(home, "analyze", path, "--json", *options)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    return report, [rep[foot]["flag"] for rep in report["reps"] for foot in ("left", "right")]


@pytest.mark.slow
def test_the_reference_puts_normal_reps_below_mild_and_knees_in_at_moderate(calibrated):
    home, result = calibrated
    path = home / "calibration" / "flag" / f"{SUBJECT}.toml"
    assert f"saved {path}" in result.stdout
    data = tomllib.loads(path.read_text())
    assert data["subject"] == SUBJECT and data["algorithm_version"] and data["date"]
    assert data["normal_trials"][0].endswith("normal.h5") and data["knees_in_trials"][0].endswith("knees_in.h5")
    assert all(abs(data["toe_out_deg"][foot]) < 10 for foot in ("left", "right"))  # the simulated feet point forward
    thresholds = Thresholds().scaled(data["threshold_scale"])
    for foot in ("left", "right"):
        normal = data["normal_mm"][foot]
        assert len(data["normal_peaks_mm"][foot]) == 5 and len(data["knees_in_peaks_mm"][foot]) == 5
        assert max(data["normal_peaks_mm"][foot]) - normal + BELOW_MILD_MARGIN_MM <= thresholds.mild_mm
        assert min(data["knees_in_peaks_mm"][foot]) - normal >= thresholds.moderate_mm
        # the simulated knees-in reps peak near KNEES_IN_MM in the foot frame
        assert KNEES_IN_MM * 0.7 < min(data["knees_in_peaks_mm"][foot]) < KNEES_IN_MM * 1.3


@pytest.mark.slow
def test_analyze_grades_the_persons_trials_with_their_reference(calibrated, trials):
    home, _ = calibrated
    normal_report, normal = grades(home, trials["normal"])
    assert normal_report["summary"]["flag_reference"]["subject"] == SUBJECT
    assert normal == ["none"] * 10
    _, knees_in = grades(home, trials["knees_in"])
    assert all(GRADES.index(g) >= GRADES.index("moderate") for g in knees_in), knees_in


@pytest.mark.slow
def test_a_trial_of_mild_collapse_in_every_rep_is_flagged_with_the_reference_only(calibrated, trials):
    home, _ = calibrated
    report, with_reference = grades(home, trials["mild"])
    summary = report["summary"]
    assert summary["flag_reference"]["file"].endswith(f"{SUBJECT}.toml")
    assert any(note.startswith(f"flag reference of {SUBJECT}") for note in summary["notes"])
    # measured on the normal reps' foot axes: estimated from reps that all collapse, they would turn to the arch
    assert summary["baseline"]["axis_source"].startswith("the flag reference's normal reps")
    # the mild band's middle: mild, at times moderate (the scale follows this person's knees-in reps)
    assert with_reference.count("mild") >= 6 and with_reference.count("none") <= 2 and "severe" not in with_reference
    # graded against its own reps, a collapse in every rep is that lifter's normal
    report, own = grades(home, trials["mild"], "--no-flag-reference")
    assert report["summary"]["flag_reference"] is None
    assert own.count("none") >= 8


@pytest.mark.slow
def test_a_saved_analysis_stores_the_reference_in_the_trial(calibrated, trials, tmp_path):
    home, _ = calibrated
    copy = tmp_path / "mild.h5"
    copy.write_bytes(trials["mild"].read_bytes())
    result = forceplate(home, "analyze", copy, "--save")
    assert result.returncode == 0, result.stderr
    stored = read_header(copy).results
    assert stored["parameters"]["flag_reference"]["subject"] == SUBJECT
    assert stored["summary"]["flag_reference"]["threshold_scale"] == stored["parameters"]["flag_reference"][
        "threshold_scale"]
    assert stored["parameters"]["thresholds"]["mild_mm"] == pytest.approx(
        3.5 * stored["parameters"]["flag_reference"]["threshold_scale"], rel=1e-3)


@pytest.mark.slow
def test_show_prints_the_stored_reference(calibrated):
    home, _ = calibrated
    result = forceplate(home, "calibrate", "flag", "--show", "--subject", SUBJECT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"flag reference of {SUBJECT}") and "knees-in reps" in result.stdout
    refused(forceplate(home, "calibrate", "flag", "--show", "--subject", "nobody"), "no flag reference", "nobody")


@pytest.mark.slow
def test_one_trial_with_normal_and_knees_in_reps(trials, tmp_path):
    result = forceplate(tmp_path, "calibrate", "flag", "--normal", trials["one_set"], "--normal-reps", "1-3",
                        "--knees-in", trials["one_set"], "--knees-in-reps", "4-6", "-o", tmp_path / "ref.toml")
    assert result.returncode == 0, result.stderr
    reference = parse_reference((tmp_path / "ref.toml").read_text(), "ref.toml")
    assert all(len(reference.knees_in_peaks_mm[foot]) == 3 for foot in ("left", "right"))
    assert min(min(reference.knees_in_peaks_mm[f]) for f in ("left", "right")) > 2 * max(
        max(reference.normal_peaks_mm[f]) for f in ("left", "right"))


@pytest.mark.slow
def test_a_subject_with_path_characters_gets_a_safe_file_that_analyze_finds(trials, tmp_path):
    home = tmp_path / "home"
    result = forceplate(home, "calibrate", "flag", "--normal", trials["other"], "--knees-in", trials["other_knees_in"])
    assert result.returncode == 0, result.stderr
    written = list((home / "calibration" / "flag").iterdir())
    assert [p.name for p in written] == [file_name("../lab/P 02")] and "/" not in written[0].name[:-5]
    assert not (tmp_path / "lab").exists()
    report, _ = grades(home, trials["other"])
    assert report["summary"]["flag_reference"]["subject"] == "../lab/P 02"


@pytest.mark.parametrize("case", ["same reps", "too few reps", "missing file", "not a squat", "other subject",
                                  "overlapping reps", "no trials", "bad reps"])
def test_refusals_are_one_line_and_write_nothing(trials, tmp_path, case):
    normal, knees_in = trials["normal"], trials["knees_in"]
    args, words = {
        # normal reps given as the knees-in ones: they do not separate, and the line says by how much
        "same reps": (("--normal", normal, "--knees-in", trials["normal_again"]), ("do not separate", "mm more")),
        "too few reps": (("--normal", normal, "--normal-reps", "1-2", "--knees-in", knees_in), ("need at least 3",)),
        "missing file": (("--normal", normal, "--knees-in", tmp_path / "nothing.h5"), ("nothing.h5",)),
        "not a squat": (("--normal", trials["jump"], "--knees-in", knees_in), ("jump.h5", "squat trials")),
        "other subject": (("--normal", normal, "--knees-in", knees_in, "--subject", "P02"), ("'P01'", "'P02'")),
        "overlapping reps": (("--normal", normal, "--normal-reps", "1-3", "--knees-in", normal, "--knees-in-reps", "3-5"),
                             ("do not overlap",)),
        "no trials": ((), ("--normal",)),
        "bad reps": (("--normal", normal, "--normal-reps", "3-1", "--knees-in", knees_in), ("--normal-reps",)),
    }[case]
    refused(forceplate(tmp_path, "calibrate", "flag", *args), *words)
    assert not (tmp_path / "calibration").exists()


@pytest.mark.slow
def test_a_hostile_reference_file_is_one_line(trials, tmp_path):
    reference = fit_reference(SUBJECT, {"left": [1.0, 1.2, 0.8], "right": [1.0, 1.1, 0.9]},
                              {"left": [10.0, 11.0, 9.5], "right": [9.0, 10.0, 10.5]}, ["n.h5"], ["k.h5"])
    text = reference_toml(reference)
    for bad, words in ((text.replace(f"threshold_scale = {round(reference.threshold_scale, 4)!r}",
                                     "threshold_scale = 1e9"), ("threshold_scale", "plausible")),
                       (text.replace("format = 1", "format = 7"), ("format",)),
                       ("subject = [", ("not valid TOML",)),
                       (text.replace('subject = "P01"', 'subject = "P02"'), ("'P02'", "'P01'"))):
        path = tmp_path / "bad.toml"
        path.write_text(bad)
        refused(forceplate(tmp_path, "analyze", trials["mild"], "--flag-reference", path), "bad.toml", *words)


def test_fit_refuses_a_missing_foot_and_a_shift_no_knee_makes():
    good = [1.0, 1.2, 0.8]
    with pytest.raises(CalibrationError, match="0 full rep.*right-foot.*at least 3"):
        fit_reference(SUBJECT, {"left": good, "right": []}, {"left": [10.0] * 3, "right": [10.0] * 3}, [], [])
    with pytest.raises(CalibrationError, match="the foot moved"):
        fit_reference(SUBJECT, {"left": good, "right": good}, {"left": [10.0, 80.0, 9.0], "right": [10.0] * 3}, [], [])


def test_file_names_are_plain_and_distinct():
    names = {file_name(s) for s in ("P01", "../x", "a/b", "a_b", "", ".hidden", "é")}
    assert len(names) == 7
    assert all("/" not in n and not n.startswith((".", "-")) and n.endswith(".toml") for n in names)
    assert file_name("P01") == "P01.toml"


def test_the_scale_sits_between_what_the_normal_and_the_knees_in_reps_allow():
    normal = {"left": [1.0, 2.0, 1.5, 1.2], "right": [0.5, 1.0, 1.5, 0.8]}
    knees_in = {"left": [12.0, 14.0, 13.0], "right": [11.0, 15.0, 12.5]}
    reference = fit_reference(SUBJECT, normal, knees_in, [], [])
    assert isinstance(reference, FlagReference)
    t = reference.thresholds()
    for foot in ("left", "right"):
        assert max(normal[foot]) - reference.normal_mm[foot] + BELOW_MILD_MARGIN_MM < t.mild_mm
        assert min(knees_in[foot]) - reference.normal_mm[foot] > t.moderate_mm
    assert reference.thresholds(2.0).mild_mm == pytest.approx(2 * t.mild_mm)


@pytest.mark.slow
def test_record_stores_its_analysis_graded_with_the_subjects_reference(calibrated, tmp_path):
    home, _ = calibrated
    path = tmp_path / "recorded.h5"
    result = forceplate(home, "record", "--device", "sim://dual-plate?speed=10&reps=4&valgus=&seed=21", "-o", path,
                        "--duration", "2.5", "--subject", SUBJECT)
    assert result.returncode == 0, result.stderr
    assert f"graded with {SUBJECT}'s flag reference" in result.stdout
    stored = read_header(path).results
    assert stored["parameters"]["flag_reference"]["subject"] == SUBJECT
    # another subject's recording is graded against its own reps
    other = tmp_path / "other.h5"
    result = forceplate(home, "record", "--device", "sim://dual-plate?speed=10&reps=2&valgus=&seed=22", "-o", other,
                        "--duration", "1.5", "--subject", "P09")
    assert result.returncode == 0, result.stderr
    assert read_header(other).results["parameters"]["flag_reference"] is None
