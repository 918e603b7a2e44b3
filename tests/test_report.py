"""The report a physiotherapist hands to a client, and the CSV export: what a reader sees in
them, end to end through the CLI on recorded simulator trials."""

import csv
import json
import os
import re
import subprocess
import sys
import time

import pytest

from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.reporting.html import local_time, number, plain_summary, shift_over_normal
from forceplate.session import Session

# 8 reps at 60 kg, the left knee caving in on the last three.
SET_VALGUS = {6: ("left", "moderate"), 7: ("left", "mild"), 8: ("left", "severe")}
INSOLE_URLS = [f"sim://insole?foot={foot}&speed=8&reps=3&valgus=2:left:severe" for foot in ("left", "right")]


def forceplate(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "forceplate", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})}, cwd=cwd)


@pytest.fixture(scope="module")
def squat_set(tmp_path_factory):
    """The simulator's set, recorded through the real writer without waiting for real time
    (a loaded machine would record fewer reps in a fixed wall time)."""
    path = tmp_path_factory.mktemp("set") / "set.h5"
    return write_simulated_trial(path, SimulatedTrial(subject="S07", created="2026-12-01T08:48:21+00:00",
                                                      load_kg=60, reps=8, seed=4, valgus=SET_VALGUS))


@pytest.fixture(scope="module")
def report(squat_set):
    """The HTML report, made on a computer in Tokyo."""
    out = squat_set.with_suffix(".html")
    done = forceplate("analyze", str(squat_set), "--report", str(out), env={"TZ": "Asia/Tokyo"})
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8")


def visible_text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S))


def test_report_opens_with_a_plain_language_summary(report):
    summary = re.search(r'<p class="summary">(.*?)</p>', report).group(1)
    assert report.index('class="summary"') < report.index("<h2>")  # first, before any plot
    assert summary.startswith("3 of 8 reps at 60 kg showed the left knee caving in "
                              "(reps 6, 7 and 8, all in the last 3 reps).")
    assert "The right knee stayed in line in every rep." in summary
    assert "The largest shift was in rep 8, left foot" in summary and "(severe)" in summary
    # and the analysis' notes follow it: where the weight and the foot axes came from
    assert "<li>standing weight from " in report and "<li>foot axes: " in report


def test_report_dates_are_local_and_readable(report):
    recorded = re.search(r"<th>recorded</th><td>(.*?)</td>", report).group(1)
    assert recorded == "Tue 1 Dec 2026, 17:48 (JST)"  # 08:48 UTC, read in Tokyo
    assert "+00:00" not in report and "T0" not in recorded


def test_local_time_converts_to_the_reader_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert local_time("2026-12-01T08:48:21+00:00") == "Tue 1 Dec 2026, 09:48 (CET)"
        assert local_time("2026-07-01T08:48:21+00:00") == "Wed 1 Jul 2026, 10:48 (CEST)"
        assert local_time("not a date") == "not a date" and local_time(None) is None
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_report_tables_have_no_nan_or_negative_zero(report):
    text = visible_text(report)
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert not re.search(r"-0\.0+\b(?!\d)", text)
    assert number(-0.04, 1) == "0.0" and number(float("nan"), 1) == "-" and number(None, 2) == "-"
    # one rounding rule: depth to cm, times to 10 ms, shifts to 0.1 mm
    first = re.search(r"<tr><td>1</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", report).groups()
    assert [len(v.split(".")[1]) for v in first] == [2, 2, 2]


def test_report_colours_legends_thresholds_and_print(report):
    left, right = "#1f6fd1", "#b03ad6"
    assert f'fill="{left}"' in report and f'fill="{right}"' in report  # bars filled by side
    assert report.count(">left foot<") >= 2 and report.count(">right foot<") >= 2  # legends
    assert "severe 12.5 mm" in report and report.count('stroke-dasharray="6 3"') >= 6  # CoP threshold lines
    assert "@media print" in report and "window.print()" in report
    assert "onset phase" in report and "peak phase" in report


def test_report_names_onset_and_peak_phase_of_each_flagged_side(report, squat_set):
    results = json.loads(forceplate("analyze", str(squat_set), "--json").stdout)
    phases = ("descent", "bottom", "ascent")
    for rep in results["reps"]:
        row = re.search(rf"<tr><td>{rep['index']}</td>(.*?)</tr>", report).group(1)
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        left_onset, left_peak = cells[6:8]  # after start, end, depth, asymmetry, shift, flag (rep: outside the match)
        if rep["left"]["flag"] == "none":
            assert (left_onset, left_peak) == ("-", "-")
        else:
            assert left_peak == rep["left"].get("peak_phase", rep["left"]["phase"]) and left_peak in phases
            assert left_onset == (rep["left"].get("onset_phase") or "-")


@pytest.mark.slow
def test_insole_report_shows_pressure_maps(tmp_path):
    path = tmp_path / "insoles.h5"
    args = [a for url in INSOLE_URLS for a in ("--device", url)]
    assert forceplate("record", *args, "-o", str(path), "--duration", "3").returncode == 0
    out = tmp_path / "insoles.html"
    done = forceplate("analyze", str(path), "--report", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "<h2>Insole pressure</h2>" in page
    for title in ("left, quiet standing", "right, quiet standing", "left, bottom of the reps",
                  "right, bottom of the reps"):
        assert f">{title}<" in page
    assert ">kPa<" in page


def test_plate_report_has_no_pressure_section(report):
    assert "Insole pressure" not in report


def side(flag="none", shift=1.0):
    return {"medial_shift_mm": shift, "flag": flag, "phase": None if flag == "none" else "bottom"}


def test_plain_summary_names_each_knee_and_the_pattern():
    reps = [{"index": i, "left": side("mild" if i <= 2 else "none", 4.0),
             "right": side("moderate" if i == 4 else "none", 9.2)} for i in range(1, 7)]
    text = plain_summary({"reps": reps}, {})
    assert text.startswith("2 of 6 reps showed the left knee caving in (reps 1 and 2, all in the first 2 reps).")
    assert "1 of 6 reps showed the right knee caving in (rep 4)." in text
    assert "The largest shift was in rep 4, right foot: 9.2 mm" in text
    one = [{"index": 1, "left": side(), "right": side()}]
    # graded against a person's flag reference, one clean rep stayed in line...
    clean = plain_summary({"reps": one, "summary": {"flag_reference": {"subject": "P01"}}}, {"load_kg": 40.0})
    assert clean == "The left knee stayed in line in the one rep at 40 kg. The right knee stayed in line in every rep."
    # ...without one it is its own normal, and the report does not claim what it could not show
    alone = plain_summary({"reps": one, "summary": {"flag_reference": None}}, {"load_kg": 40.0})
    assert alone.startswith("1 rep at 40 kg. A single full rep is its own normal, so it cannot show a knee caving in")
    assert "stayed in line" not in alone
    with_partial = plain_summary({"reps": [*one, {"index": 2, "partial": True, "left": side(), "right": side()}]}, {})
    assert with_partial.startswith("2 reps, one of them full. A single full rep is its own normal")
    assert plain_summary({"reps": []}, {}) == "No squat reps were found in this trial."


# --- the CSV export -------------------------------------------------------------------------

def test_csv_export_has_events_phases_and_clean_numbers(tmp_path):
    path = tmp_path / "marked.h5"
    session = Session(["sim://dual-plate?speed=8&reps=3&valgus=2:right:moderate"], record_path=path)
    session.start()
    try:
        ends, deadline = 0, time.monotonic() + 60
        while ends < 3 and time.monotonic() < deadline:
            events = session.drain_events()
            ends += sum(e.kind == "rep_end" for e in events)
            if any(e.kind == "rep_end" and e.rep == 1 for e in events):
                session.mark("coach: knees")
            time.sleep(0.05)
    finally:
        session.close()
    out = tmp_path / "csv"
    done = forceplate("export", str(path), "--csv", str(out))
    assert done.returncode == 0, done.stderr

    with open(out / "events.csv", encoding="utf-8") as f:
        events = list(csv.DictReader(f))
    kinds = [e["kind"] for e in events]
    assert {"baseline", "rep_start", "rep_end", "flag", "mark"} <= set(kinds)
    flag = next(e for e in events if e["kind"] == "flag")
    assert (flag["rep [1]"], flag["side"], flag["value unit"]) == ("2", "right", "mm") and float(flag["value"]) > 3
    assert next(e for e in events if e["kind"] == "mark")["text"] == "coach: knees"

    with open(out / "reps.csv", encoding="utf-8") as f:
        reps = list(csv.DictReader(f))
    assert len(reps) == 3
    assert reps[1]["right_peak_phase [phase]"] in ("descent", "bottom", "ascent")
    assert "right_onset_phase [phase]" in reps[1]
    for name in ("reps.csv", "events.csv", "feet.csv"):
        text = (out / name).read_text(encoding="utf-8")
        assert "nan" not in text.lower() and not re.search(r"(^|,)-0(\.0+)?(,|$)", text, re.M), name


@pytest.mark.slow
def test_reports_of_real_imported_trials(shared_data, tmp_path):
    """A real squat (OpenSim ground reactions, CoP given) and a real vertical-force-only jump:
    both reports open with a summary that is true to what the file can tell."""
    # the real squat is one rep, graded against itself: the summary must not call its knees in line
    cases = {"real-squats/grf_Squat2.mot": "its own normal, so it cannot show a knee caving in", "vertical-jumps-fz/Dual-SJ-Fz.txt": "no centre of pressure"}
    for name, said in cases.items():
        trial, page = tmp_path / (name.replace("/", "_") + ".h5"), tmp_path / (name.replace("/", "_") + ".html")
        done = forceplate("import", str(shared_data / name), "-o", str(trial))
        assert done.returncode == 0, done.stderr
        # the squat report (the jump file is recognised as a squat jump, which has no report yet)
        done = forceplate("analyze", str(trial), "--report", str(page), "--exercise", "squat")
        assert done.returncode == 0, done.stderr
        text = page.read_text(encoding="utf-8")
        assert said in re.search(r'<p class="summary">(.*?)</p>', text).group(1), name
        assert not re.search(r"\bnan\b", visible_text(text), re.IGNORECASE), name


# --- each exercise's own table and plots (issue 15 item 6) -------------------------------

# real recording -> (exercise it is, a table header the report must show, a word of its summary)
EXERCISE_FILES = {
    "vertical-jumps-fz/Dual-CMJ-Fz.txt": ("countermovement_jump", "flight (s)", "highest jump reached"),
    "real-drop-jumps/DJ1_forces.mot": ("drop_landing", "load rate (N/s)", "hardest landing"),
    "vaila-sit-to-stand/C3D_to_CSV_02.c3d": ("sit_to_stand", "rise time (s)", "quickest rise"),
    "amti-quiet-standing/test.csv": ("quiet_standing", "95 % ellipse area (mm^2)", "centre of pressure travelled"),
}


def _table_header(page: str) -> list[str]:
    last = page.rsplit("<table>", 1)[1]
    return [html_text(cell) for cell in re.findall(r"<th>(.*?)</th>", last.split("</tr>", 1)[0])]


def html_text(fragment: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.fixture(scope="module")
def exercise_trials(tmp_path_factory):
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    folder = tmp_path_factory.mktemp("exercises")
    trials = {}
    for name in EXERCISE_FILES:
        trial = folder / (name.split("/")[-1].rsplit(".", 1)[0] + ".h5")
        done = forceplate("import", str(SHARED_DATA / name), "-o", str(trial))
        assert done.returncode == 0, done.stderr
        trials[name] = trial
    return trials


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXERCISE_FILES))
def test_each_exercise_reports_saves_and_exports_its_own_table(exercise_trials, name, tmp_path):
    exercise, header, said = EXERCISE_FILES[name]
    trial, page = exercise_trials[name], tmp_path / "report.html"
    done = forceplate("analyze", str(trial), "--json", "--save", "--report", str(page))
    assert done.returncode == 0, done.stderr
    fresh = json.loads(done.stdout)
    assert fresh["summary"]["exercise"] == exercise
    text = page.read_text(encoding="utf-8")
    assert said in re.search(r'<p class="summary">(.*?)</p>', text, re.S).group(1)
    assert header in _table_header(text)
    assert "<svg" in text and "vertical force (N)" in text
    visible = visible_text(text)
    assert not re.search(r"\bnan\b", visible, re.IGNORECASE) and not re.search(r"(?<![\w.])-0(\.0+)?(?![\w.])", visible)

    from forceplate.storage.reader import read_header

    stored = read_header(trial).results  # --save: the same reps back, units beside them
    assert stored["summary"]["exercise"] == exercise and stored["parameters"]["exercise"] == exercise
    assert stored["reps"] == fresh["reps"]
    import h5py

    with h5py.File(trial, "r") as f:
        units = json.loads(f["processing/reps"].attrs["unit"])
    if fresh["reps"]:
        assert units["index"] == "" and units["peak_force_n"] == "N"
        assert all(units[k] == "s" for k in units if k.startswith("phases.")) and "symmetry.left_share_pct" in units

    out = tmp_path / "csv"
    done = forceplate("export", str(trial), "--csv", str(out))
    assert done.returncode == 0, done.stderr
    with open(out / "reps.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # quiet standing: both feet, then each foot on a plate
    assert len(rows) == (1 + len(fresh["summary"]["posturography_by_foot"]) if exercise == "quiet_standing"
                         else len(fresh["reps"])) > 0
    with open(out / "feet.csv", encoding="utf-8") as f:
        assert not any("medial_shift" in column for column in next(csv.reader(f)))  # a squat's measure only
    if exercise == "quiet_standing":
        assert rows[0]["row"] == "both feet"
        assert float(rows[0]["ellipse95_area_mm2 [mm^2]"]) == pytest.approx(
            fresh["summary"]["posturography"]["ellipse95_area_mm2"])
    else:
        assert float(rows[0]["peak_force_n [N]"]) == fresh["reps"][0]["peak_force_n"]


@pytest.mark.slow
def test_compare_of_one_exercise_and_refusal_across_exercises(exercise_trials, tmp_path):
    jump = exercise_trials["vertical-jumps-fz/Dual-CMJ-Fz.txt"]
    page = tmp_path / "compare.html"
    done = forceplate("compare", str(jump), str(jump), "--report", str(page))
    assert done.returncode == 0, done.stderr
    assert "flight s" in done.stdout and "B-A" in done.stdout
    text = page.read_text(encoding="utf-8")
    assert "Countermovement jump trials compared" in text and f"A: {jump.name}" in text  # legend names the trials
    done = forceplate("compare", str(jump), str(exercise_trials["amti-quiet-standing/test.csv"]))
    assert done.returncode == 2 and "compare trials of one exercise" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _one_rep_results(left_shift_mm: float, left_normal_mm: float) -> dict:
    side = {"medial_shift_mm": left_shift_mm, "flag": "none"}
    return {"summary": {"normal_shift_mm": {"left": left_normal_mm, "right": 0.0}},
            "reps": [{"left": side, "right": {"medial_shift_mm": 1.0, "flag": "none"}, "asymmetry_pct": 0.0,
                      "depth_m": 0.4}]}


def test_the_comparison_plots_each_trials_shift_over_its_own_normal():
    """Trials graded from different normals (two lifters, or one before and after a programme):
    each line is what its trial graded, so a 12 mm rep over a 10 mm normal is drawn where a
    2 mm rep over a normal of 0 is, under the mild line, not above the moderate one."""
    from forceplate.processing.valgus import Thresholds
    from forceplate.reporting.compare import compare_metrics, trial_metrics
    from forceplate.reporting.html import comparison_shift_plot

    def plot(shift_mm, normal_mm):
        metrics = trial_metrics(_one_rep_results(shift_mm, normal_mm))
        svg = comparison_shift_plot(compare_metrics([("a.h5", {}, metrics)]), "left", Thresholds())
        return metrics, re.sub(r"clip\d+", "clip", svg)  # each plot numbers its clip path anew

    over_a_normal, drawn = plot(12.0, 10.0)
    assert over_a_normal["reps"][0]["left_shift_mm"] == 12.0 and over_a_normal["reps"][0]["left_over_normal_mm"] == 2.0
    assert drawn == plot(2.0, 0.0)[1] != plot(12.0, 0.0)[1]
    # results without a normal (an exercise trial's, an older file's) are drawn from 0
    assert trial_metrics({**_one_rep_results(5.0, 0.0), "summary": {}})["reps"][0]["left_over_normal_mm"] == 5.0


@pytest.mark.slow
def test_squat_compare_report_has_a_legend_and_the_thresholds(squat_set, tmp_path):
    page = tmp_path / "compare.html"
    done = forceplate("compare", str(squat_set), str(squat_set), "--report", str(page), "--threshold-scale", "2")
    assert done.returncode == 0, done.stderr
    text = page.read_text(encoding="utf-8")
    plots = re.findall(r"<svg.*?</svg>", text, re.S)[:2]  # the left and right shift per rep
    for svg in plots:
        labels = [html_text(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]
        assert f"A: {squat_set.name}" in labels and f"B: {squat_set.name}" in labels
        # the scaled thresholds (x2 of 3.5 / 7.5 / 12.5 mm), each a dashed line with its name
        assert {"mild 7.0", "moderate 15.0", "severe 25.0"} <= set(labels)
        assert svg.count('stroke-dasharray="5 3"') == 3


@pytest.mark.slow
def test_isometric_report_shows_its_rate_of_force_development(tmp_path):
    """A simulated pull rising at 5000 N/s: the report's table has the RFD columns and the 0-100 ms value."""
    from exercise_trials import isometric_pull, write_feet_trial

    fz, _ = isometric_pull(1000.0, 800.0, "linear", 5000.0, 1500.0, seed=2)
    trial = write_feet_trial(tmp_path / "pull.h5", fz, 1000.0, exercise="isometric_squat")
    page = tmp_path / "pull.html"
    done = forceplate("analyze", str(trial), "--report", str(page))
    assert done.returncode == 0, done.stderr
    text = page.read_text(encoding="utf-8")
    header = _table_header(text)
    assert {"RFD50 (N/s)", "RFD100 (N/s)", "RFD200 (N/s)", "impulse (N*s)"} <= set(header)
    row = [html_text(c) for c in re.findall(r"<td>(.*?)</td>", text.rsplit("</tr>", 2)[-2])]
    assert float(row[header.index("RFD100 (N/s)")]) == pytest.approx(5000, rel=0.1)
    assert "strongest effort peaked at" in text and "rise" in text and "hold" in text  # phases in the legend


@pytest.mark.slow
def test_trials_lists_each_trial_as_its_exercise(exercise_trials):
    folder = next(iter(exercise_trials.values())).parent
    done = forceplate("trials", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["file"]: r for r in json.loads(done.stdout)}
    for name, trial in exercise_trials.items():
        exercise = EXERCISE_FILES[name][0]
        assert rows[trial.name]["exercise"] == exercise and rows[trial.name]["flagged_reps"] is None, name
    assert rows["Dual-CMJ-Fz.h5"]["reps"] == 1


@pytest.mark.slow
def test_a_recording_of_another_exercise_is_stored_as_it(exercise_trials, tmp_path):
    """record --exercise countermovement_jump of a replayed real jump: the end line and the stored
    results are the jump's, not a squat analysis."""
    jump = exercise_trials["vertical-jumps-fz/Dual-CMJ-Fz.txt"]
    out = tmp_path / "recorded.h5"
    done = forceplate("record", "--device", f"replay://{jump}?speed=2", "-o", str(out), "--exercise",
                      "countermovement_jump", "--duration", "4")
    assert done.returncode == 0, done.stderr
    assert "analysed as countermovement_jump: 1 jump rep (stored in" in done.stdout
    from forceplate.storage.reader import read_header

    stored = read_header(out).results
    assert stored["summary"]["exercise"] == "countermovement_jump" and len(stored["reps"]) == 1


def test_the_shift_plot_draws_what_is_graded(shared_data, tmp_path):
    """The bars are each rep's shift over the lifter's normal, so a bar crosses a grade's line
    exactly when the side has that grade. Drawn as the raw shift, the healthy KU Leuven rep's
    left foot (13.6 mm, its normal 12.1) stood above "severe 12.5 mm" and was graded none."""
    from forceplate.offline import analyze_trial
    from forceplate.storage.reader import open_trial

    trials = [tmp_path / "set.h5"]
    write_simulated_trial(trials[0], SimulatedTrial(reps=6, seed=5, valgus={3: ("left", "moderate")}))
    source = shared_data / "real-squats" / "grf_Squat2.mot"
    if source.exists():
        trials.append(tmp_path / "ku.h5")
        forceplate("import", str(source), "-o", str(trials[1]), "--left", "1", "--right", "2")
    for path in trials:
        analysis = analyze_trial(open_trial(path))
        over = shift_over_normal(analysis)
        for k, r in enumerate(analysis.reps):
            for foot in ("left", "right"):
                assert analysis.thresholds.grade(over[foot][k]) == r.sides[foot].flag, (path.name, k, foot)
    page = forceplate("analyze", str(trials[-1]), "--report", str(tmp_path / "r.html")).stdout
    assert "beyond\nthe lifter's normal rep (left" in (tmp_path / "r.html").read_text(), page
