"""``forceplate history``: one athlete over sessions and loads, from trial files or a batch
table; asymmetry bands; the collapse-and-load question; and ``compare``'s load trend warnings."""

import json

import pytest

from forceplate.cli import main
from forceplate.library.batch import Settings, TrialFilter, analyse_file, find_trials
from forceplate.errors import ForceplateError
from forceplate.library.history import asymmetry_band, collapse_by_load, history
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.library.table import write_table

from test_cli import assert_one_line_error, forceplate

SESSIONS = {"2026-01-05": 0.5, "2026-01-19": 0.56, "2026-02-02": 0.64}  # date -> share of weight on the left
LOADS_KG = (0.0, 30.0, 60.0)


def athlete_valgus(load_kg: float) -> dict:
    """P01: the left knee caves at every load (reps 1 and 2), the right only at the heaviest (all reps)."""
    valgus = {1: ("left", "moderate"), 2: ("left", "severe")}
    if load_kg == max(LOADS_KG):
        valgus[3] = ("right", "severe")
    return valgus


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("athletes")
    seed = 0
    for date, left_share in SESSIONS.items():
        for load in LOADS_KG:
            seed += 1
            write_simulated_trial(folder / f"P01-{date}-{load:g}kg.h5",
                                  SimulatedTrial("P01", f"{date}T10:00:00", load, valgus=athlete_valgus(load),
                                                 left_share=left_share, seed=seed))
    for load in (20.0, 40.0):  # P02: two loads only
        write_simulated_trial(folder / f"P02-{load:g}kg.h5", SimulatedTrial("P02", "2026-01-06T10:00:00", load,
                                                                          valgus={1: ("right", "moderate")}, seed=50))
    write_simulated_trial(folder / "P01-lunge.h5", SimulatedTrial("P01", "2026-01-05T11:00:00", 0.0, exercise="lunge"))
    (folder / "broken.h5").write_bytes(b"not a trial at all")
    return folder


def run(monkeypatch, capsys, folder, *argv):
    monkeypatch.chdir(folder)
    status = main(["history", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_history_per_session_and_load_with_bands_trend_and_the_load_question(library, monkeypatch, capsys):
    status, out, err = run(monkeypatch, capsys, library, "P01", ".", "--json")
    assert status == 0
    assert "broken.h5: not an HDF5 file" in err  # one line, and the history goes on
    report = json.loads(out)
    assert report["trials"] == 9 and report["reps"] == 27 and report["other_exercise_trials"] == 1
    groups = {(g["date"], g["load_kg"]): g for g in report["by_session_and_load"]}
    assert len(groups) == 9
    heavy = groups[("2026-01-05", 60.0)]
    assert heavy["right_flagged_pct"] == pytest.approx(33.3)
    assert heavy["left_flagged_pct"] == pytest.approx(66.7) and groups[("2026-01-05", 0.0)]["right_flagged_pct"] == 0
    assert heavy["right_mean_shift_mm"] > 4 > groups[("2026-01-05", 0.0)]["right_mean_shift_mm"]
    bands = [report["sessions"][i]["asymmetry"]["band"] for i in range(3)]
    assert bands == ["green", "amber", "red"]  # 0 %, 12 %, 28 % of the force more on the left
    assert [round(s["mean_asymmetry_pct"]) for s in report["sessions"]] == [0, 12, 28]
    trend = report["trend"]
    assert trend["sessions"] == 3 and trend["asymmetry_size_pp"] == pytest.approx(28, rel=0.1)  # per 28 days
    assert trend["left_flagged_pp"] == pytest.approx(0.0, abs=1e-6)
    assert report["collapse"]["left"]["answer"] == "already at light load"
    assert report["collapse"]["left"]["cause"] == "technique or mobility"
    assert report["collapse"]["right"]["answer"] == "only as the load grows"
    assert report["collapse"]["right"]["cause"] == "strength"


def test_too_few_loads_is_said_plainly(library, monkeypatch, capsys):
    status, out, _ = run(monkeypatch, capsys, library, "P02", ".")
    assert status == 0
    assert "right: cannot tell: trials at 2 load(s) (20, 40 kg); it takes at least 3 loads" in out
    assert "too few sessions for a trend (1; at least 3)" in out


def test_history_from_a_batch_table_is_the_history_from_the_files(library, monkeypatch, capsys, tmp_path):
    outcomes = [analyse_file(str(f), f.name, TrialFilter(), Settings()) for f in find_trials([library])]
    table = write_table([row for o in outcomes for row in o.reps], tmp_path / "reps.csv")
    from_files = json.loads(run(monkeypatch, capsys, library, "P01", "--json")[1])  # the current folder
    from_table = json.loads(run(monkeypatch, capsys, library, "P01", str(table), "--json")[1])
    assert from_table == from_files


@pytest.mark.slow
def test_the_report_and_errors_through_the_real_command(library, tmp_path):
    page = tmp_path / "P01.html"
    result = forceplate("history", "P01", str(library), "--report", str(page))
    assert result.returncode == 0, result.stderr
    assert "right: only as the load grows -> strength" in result.stdout
    text = page.read_text()
    assert text.count("<svg") == 2 and "<script" not in text and "href=" not in text
    assert "red (&gt; 25 %)" in text and "technique or mobility" in text
    assert_one_line_error(forceplate("history", "P99", str(library / "P02-20kg.h5")), "P99", "no squat reps")
    assert_one_line_error(forceplate("history", "P01", str(tmp_path / "missing.parquet")), "missing.parquet")


def test_asymmetry_bands_at_their_edges():
    assert [asymmetry_band(a)["band"] for a in (0.0, -9.9, 10.0, -25.0, 25.1, -40.0)] == [
        "green", "green", "amber", "amber", "red", "red"]
    assert asymmetry_band(None) is None and asymmetry_band(float("nan")) is None


def test_collapse_needs_reps_at_light_and_heavy_loads():
    def rep(load, flag):
        return {"row": {"load_kg": load}, "left": {"flag": flag}}

    # three loads, but a single rep at the heaviest: not enough to tell
    reps = [rep(0.0, "none")] * 4 + [rep(20.0, "none")] * 4 + [rep(40.0, "severe")]
    assert collapse_by_load(reps, "left")["answer"] == "cannot tell"
    reps += [rep(40.0, "moderate"), rep(40.0, "mild")]  # mild is "not a huge deal": not collapse
    answer = collapse_by_load(reps, "left")
    assert answer["answer"] == "only as the load grows" and answer["heavy_collapse_pct"] == pytest.approx(66.7)


def test_compare_fits_a_load_trend_only_through_three_loads_and_warns_across_subjects(library, monkeypatch, capsys):
    monkeypatch.chdir(library)
    one = ["P01-2026-01-05-0kg.h5", "P01-2026-01-05-30kg.h5", "P01-2026-01-05-60kg.h5"]
    assert main(["compare", *one, "--json"]) == 0
    out, err = capsys.readouterr()
    load = json.loads(out)["load"]
    assert load["flagged_share_pp_per_10kg"] == pytest.approx((100 - 200 / 3) / 6, abs=0.1) and err == ""
    assert main(["compare", "P01-2026-01-05-0kg.h5", "P02-20kg.h5", "P02-40kg.h5", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "warning: the load trend mixes 2 subjects (P01, P02)" in err
    assert json.loads(out)["load"]["warnings"]


def test_history_refuses_an_exercise_without_squat_results():
    """A jump's reps have no flag, shift or depth: history says so rather than a table of dashes."""
    rows = [{"file": "cmj.h5", "subject": "P01", "exercise": "countermovement_jump", "rep": 1, "side": side,
             "kind": "jump", "flight_s": 0.5, "error": None} for side in ("left", "right")]
    with pytest.raises(ForceplateError, match="history follows squats.*countermovement_jump"):
        history(rows, "P01", "countermovement_jump")
    assert history(rows, "P01", "squat")["reps"] == 0  # the squat's history leaves the jump out
    assert history(rows, "P01", "squat")["other_exercise_trials"] == 1
