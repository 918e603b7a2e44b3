"""The notebook API (forceplate/api.py) and its page, docs/notebook.md, whose Python blocks run here."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from forceplate.api import TimeSeries, analyze_trial, open_trial
from forceplate.events import EventKind
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.offline import feet_arrays
from forceplate.storage import reader

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebook.md"
SETUP = "# setup:"
NEEDS_PANDAS = "# needs pandas"


def python_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", NOTEBOOK.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 5, "docs/notebook.md lost its examples"
    return blocks


def run_notebook(tmp_path, monkeypatch, trial_path: Path | None) -> dict:
    """Run the page's Python blocks in one namespace in ``tmp_path``: with ``trial_path``, its
    own set-up block is left out and ``TRIAL`` is that file; the pandas block only with pandas."""
    try:
        import pandas  # noqa: F401
        has_pandas = True
    except ImportError:
        has_pandas = False
    monkeypatch.chdir(tmp_path)
    namespace = {} if trial_path is None else {"TRIAL": trial_path}
    ran = 0
    for block in python_blocks():
        if (block.startswith(SETUP) and trial_path is not None) or (block.startswith(NEEDS_PANDAS) and not has_pandas):
            continue
        exec(compile(block, f"{NOTEBOOK}:block{ran}", "exec"), namespace)  # noqa: S102 - the page's own examples
        ran += 1
    return namespace


def test_the_notebook_page_runs_on_a_simulated_set(tmp_path, monkeypatch, capsys):
    namespace = run_notebook(tmp_path, monkeypatch, None)
    result = namespace["result"]
    assert result.exercise == "squat" and len(result.reps) == 5
    flags = [rep["left.flag"] for rep in result.reps]
    assert flags[3] != "none" and flags.count("none") == 4  # the fourth rep collapses on the left, only it
    assert f"rep 4: left shift {result.squat.reps[3].sides['left'].medial_shift_mm:.1f} mm, {flags[3]}" \
        in capsys.readouterr().out


def test_the_notebook_page_runs_on_a_real_recording(shared_data, tmp_path, monkeypatch, capsys):
    folder = shared_data / "squat-jump-dual-fp"
    trial = tmp_path / "jumps.h5"
    done = subprocess.run([sys.executable, "-m", "forceplate", "import", str(folder / "BFR007_squat_jump.csv"),
                           "--labels", str(folder / "BFR007_index.csv"), "-o", str(trial)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    namespace = run_notebook(tmp_path, monkeypatch, trial)
    assert namespace["result"].exercise == "countermovement_jump" and len(namespace["result"].reps) == 3
    marks = namespace["trial"].events_of(EventKind.MARK)
    assert len(marks) == 30 and all(m.kind is EventKind.MARK for m in marks)  # the hand labels
    assert f"{marks[0].t_s:7.3f} s  {marks[0].text}" in capsys.readouterr().out


@pytest.fixture(scope="module")
def squats(tmp_path_factory) -> Path:
    return write_simulated_trial(tmp_path_factory.mktemp("api") / "squats.h5",
                                 SimulatedTrial(reps=4, valgus={2: ("right", "severe")}))


def test_the_series_are_the_trials_arrays_with_units(squats):
    series = open_trial(squats)
    arrays = feet_arrays(reader.open_trial(squats))
    for foot in ("left", "right"):
        ts = series.feet[foot]
        np.testing.assert_array_equal(ts.time_s, arrays.t)
        np.testing.assert_array_equal(ts["fz_n"], arrays.fz[foot])
        np.testing.assert_array_equal(np.column_stack([ts["cop_x_mm"], ts["cop_y_mm"]]), arrays.cop[foot])
        assert ts.units == {"fz_n": "N", "cop_x_mm": "mm", "cop_y_mm": "mm"} and ts.rate_hz == 1000.0
    assert series.devices == ("SIM-DP-0001",) and series.complete and series.attrs["subject"] == "P01"


def test_insole_series_carry_each_region_in_newtons(shared_data, tmp_path):
    trial = tmp_path / "walk.h5"
    done = subprocess.run([sys.executable, "-m", "forceplate", "import",
                           str(shared_data / "moticon-opengo" / "walk_with_events.txt"), "-o", str(trial)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    series = open_trial(trial)
    regions = feet_arrays(series.raw).regions["left"]
    assert {f"{name}_n" for name in regions} <= set(series.left.units)
    assert all(series.left.units[f"{name}_n"] == "N" for name in regions)
    np.testing.assert_array_equal(series.left["heel_n"], regions["heel"])
    assert [e.text for e in series.events[:2]] == ["Left Event 1", "Left Event 2"]


@pytest.mark.parametrize("options", [(), ("--exercise", "force_summary"), ("--toe-out", "auto")])
def test_to_dict_is_what_analyze_json_prints(squats, options):
    """One path: the command's JSON is the API's, plus the four keys only the command adds."""
    done = subprocess.run([sys.executable, "-m", "forceplate", "analyze", str(squats), "--json", *options],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    for key in ("file", "complete", "recovered", "quality"):
        del printed["summary"][key]
    exercise = options[1] if options[:1] == ("--exercise",) else None
    toe_out = options[1] if options[:1] == ("--toe-out",) else None
    assert analyze_trial(open_trial(squats), exercise, toe_out_deg=toe_out).to_dict() == printed
    assert analyze_trial(squats, exercise, toe_out_deg=toe_out).to_dict() == printed  # from its path too


def test_typed_reps_carry_units_and_the_squat_analysis(squats):
    result = analyze_trial(squats)
    assert result.exercise == "squat" and result.chosen_by == "the trial's exercise attribute"
    assert [r.index for r in result.reps] == [1, 2, 3, 4] and all(r.kind == "squat" for r in result.reps)
    assert [p.name for p in result.reps[0].phases] == ["eccentric", "concentric"]
    assert result.units["peak_force_n"] == "N" and result.units["right.medial_shift_mm"] == "mm"
    assert result.units["depth_m"] == "m" and result.units["phases.eccentric.start_s"] == "s"
    assert result.reps[1]["right.flag"] == result.squat.reps[1].sides["right"].flag != "none"
    assert result.reps[1]["right.medial_shift_mm"] == pytest.approx(result.squat.reps[1].sides["right"].medial_shift_mm,
                                                                    abs=0.005)
    assert "notes" not in result.summary and result.notes == tuple(result.to_dict()["summary"]["notes"])


def test_options_the_exercise_has_no_use_for_are_refused(squats):
    from forceplate.errors import ForceplateError

    with pytest.raises(ForceplateError, match="eyes_closed compares quiet-standing trials"):
        analyze_trial(squats, eyes_closed=squats)


def test_events_are_typed_and_an_unknown_kind_keeps_its_name():
    rows = np.array([(1.5, b"flag", 2, b"left", b"moderate", b"bottom", 8.25, b""),
                     (3.0, b"from_the_future", 0, b"", b"", b"", np.nan, b"hello")],
                    dtype=[("t_s", "f8"), ("kind", "O"), ("rep", "i4"), ("side", "O"), ("severity", "O"),
                           ("phase", "O"), ("value", "f8"), ("text", "O")])
    from forceplate.api import TrialEvent

    flag, unknown = (TrialEvent.from_row(r) for r in rows)
    assert flag.kind is EventKind.FLAG and flag.kind == "flag" and flag.value_unit == "mm" and flag.value == 8.25
    assert unknown.kind is EventKind.OTHER and unknown.text == "from_the_future: hello" and unknown.value_unit == ""
    assert f"{EventKind.REP_END}" == str(EventKind.REP_END) == "rep_end"


def _series() -> TimeSeries:
    return TimeSeries("left", np.arange(3) / 100.0, {"fz_n": np.array([1.0, 2.0, np.nan])}, {"fz_n": "N"}, 100.0)


def test_to_pandas_without_pandas_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match="needs pandas, which forceplate does not install: pip install pandas"):
        _series().to_pandas()


def test_to_pandas_keeps_time_units_and_events():
    pandas = pytest.importorskip("pandas")
    frame = _series().to_pandas()
    assert isinstance(frame, pandas.DataFrame) and frame.index.name == "time_s"
    np.testing.assert_array_equal(frame.index.to_numpy(), [0.0, 0.01, 0.02])
    assert frame.attrs["units"] == {"fz_n": "N"} and np.isnan(frame["fz_n"].iloc[2])


def test_toe_out_none_means_not_stated_when_stored_results_are_reused(tmp_path):
    """None is "not stated here" for a fresh analysis and for reusing stored results alike:
    results saved with a stated toe-out stand for that toe-out only, never for None."""
    from forceplate.offline import analyze_trial as analyze_raw
    from forceplate.offline import save_analysis, trial_results

    path = write_simulated_trial(tmp_path / "stated.h5", SimulatedTrial(reps=3))
    raw = reader.open_trial(path)
    save_analysis(raw, analyze_raw(raw, toe_out_deg=15.0))
    _, reused = trial_results(path, toe_out_deg=15.0)
    assert reused["parameters"]["toe_out_deg"] == 15.0  # stored results carry their parameters
    _, fresh = trial_results(path)
    assert "parameters" not in fresh and fresh == analyze_raw(raw).as_dict()
    assert fresh["summary"]["baseline"]["axis_source"].startswith(("estimated", "lifter's frame"))
    save_analysis(raw, analyze_raw(raw))
    assert trial_results(path)[1]["parameters"]["toe_out_deg"] == "auto"  # None asks what "auto" stored


def test_every_event_kind_the_package_emits_is_an_event_kind():
    """The live pipeline and the session emit members (``Event(EventKind.FLAG, ...)``); importers
    still name kinds as text (``(t, "mark", ...)`` rows), and each such name is a member, so a
    stored kind never reads back as OTHER."""
    package = Path(__file__).resolve().parents[1] / "forceplate"
    as_text, as_member = set(), set()
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        as_text |= set(re.findall(r'\bEvent\("([a-z_]+)"', text))
        as_text |= set(re.findall(r'\(\s*[^(),]+,\s*"(mark)",', text))
        as_member |= {EventKind[name].value for name in re.findall(r'\bEvent\(EventKind\.([A-Z_]+)', text)}
    assert {"baseline", "rep_start", "flag", "rep_end", "device_stalled"} <= as_member and "mark" in as_text
    assert as_text <= {kind.value for kind in EventKind}, as_text - {kind.value for kind in EventKind}
