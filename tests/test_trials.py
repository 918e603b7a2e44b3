"""Recording, crash safety and the trial library, through the real command in subprocesses."""

import io
import json
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from conftest import ctrl_c_as_at_a_terminal

from forceplate import open_trial
from forceplate.cli.trials import Progress
from forceplate.offline import analyze_trial
from forceplate.storage.reader import read_header

from test_cli import forceplate

FLUSH_LOSS_S = 1.0  # the writer flushes about once a second
SLACK_S = 0.3  # a read batch (50 ms), the writer queue, process start-up of the clock


def start_record(path, url, *options):
    """Start ``forceplate record``; returns the process and when its devices started streaming."""
    proc = subprocess.Popen([sys.executable, "-m", "forceplate", "record", "--device", url, "-o", str(path), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_at_a_terminal)
    for line in proc.stdout:
        if "Ctrl-C to stop" in line:  # printed right after the session has started the devices
            return proc, time.monotonic()
    raise AssertionError(f"record did not start: {proc.stderr.read()}")


def frames_in(path) -> int:
    return len(open_trial(path).devices["SIM-DP-0001"].seq)


@pytest.mark.slow
def test_kill_9_loses_at_most_about_a_second_and_the_file_analyses(tmp_path):
    path = tmp_path / "killed.h5"
    proc, started = start_record(path, "sim://dual-plate?speed=1")
    time.sleep(3.5)
    elapsed_s = time.monotonic() - started
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    recorded_s = frames_in(path) / 1000.0  # readable as it is, as an SWMR reader
    assert elapsed_s - FLUSH_LOSS_S - SLACK_S <= recorded_s <= elapsed_s
    recovered = forceplate("recover", str(path))
    assert recovered.returncode == 0, recovered.stderr
    with h5py.File(path, "r") as f:  # a normal open works again
        assert "recovered" in f.attrs
    trial = open_trial(path)
    assert trial.recovered and len(trial.devices["SIM-DP-0001"].seq) / 1000.0 == pytest.approx(recorded_s, abs=1e-3)
    analysis = analyze_trial(trial)
    assert analysis.baseline.mass_kg == pytest.approx(75.0, abs=1.0)


@pytest.mark.slow
def test_a_second_process_reads_a_trial_while_it_is_recorded_and_ctrl_c_ends_it_cleanly(tmp_path):
    path = tmp_path / "live.h5"
    proc, _ = start_record(path, "sim://dual-plate?speed=4&reps=3", "--subject", "P3")
    deadline = time.monotonic() + 10
    while (first := open_trial(path)).devices["SIM-DP-0001"].seq.size == 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    early = first.devices["SIM-DP-0001"]
    while len((second := open_trial(path)).devices["SIM-DP-0001"].seq) <= len(early.seq) + 1000:  # a flush or two on
        assert time.monotonic() < deadline + 10
        time.sleep(0.2)
    assert not first.complete and not second.complete
    later = second.devices["SIM-DP-0001"]
    np.testing.assert_array_equal(later.counts[:len(early.seq)], early.counts)
    time.sleep(1.5)  # past the quiet-standing baseline at 4x, so the end-of-recording analysis runs
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "saved" in out and "analysed:" in out
    trial = open_trial(path)
    assert trial.complete and trial.attrs["subject"] == "P3"
    assert trial.results["summary"]["algorithm_version"] and trial.results["parameters"]["thresholds"]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Two recorded trials of one subject: light (one flagged rep) and heavy (three)."""
    folder = tmp_path_factory.mktemp("library")
    runs = [("light.h5", "20", "valgus=2:right:moderate"),
            ("heavy.h5", "60", "valgus=1:left:severe,2:right:moderate,3:left:mild")]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "forceplate", "record", "--device", f"sim://dual-plate?speed=8&reps=3&{valgus}",
         "-o", name, "--duration", "2.2", "--subject", "P1", "--load-kg", load], cwd=folder,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name, load, valgus in runs]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "analysed: 3 reps" in out
    return folder


@pytest.mark.slow
def test_record_stores_metadata_and_results(library):
    header = read_header(library / "heavy.h5")
    assert header.complete and header.attrs["load_kg"] == 60.0 and header.attrs["exercise"] == "squat"
    flags = [(r["left"]["flag"], r["right"]["flag"]) for r in header.results["reps"]]
    assert flags == [("severe", "none"), ("none", "moderate"), ("mild", "none")]


def test_analyze_writes_a_self_contained_html_report_and_saves(library, tmp_path):
    report = tmp_path / "light.html"
    copy = tmp_path / "light.h5"
    shutil.copy(library / "light.h5", copy)
    with h5py.File(copy, "a") as f:
        del f["processing"]
    result = forceplate("analyze", str(copy), "--report", str(report), "--save")
    assert result.returncode == 0, result.stderr
    text = report.read_text()
    assert text.count("<svg") == 4  # forces, CoP per foot (2), medial shift per rep
    assert "<script" not in text and "src=" not in text and "href=" not in text  # nothing to fetch
    assert "moderate" in text and "P1" in text
    assert len(read_header(copy).results["reps"]) == 3


@pytest.mark.slow
def test_compare_puts_reps_and_sets_side_by_side_and_relates_flags_to_load(library):
    result = forceplate("compare", "light.h5", "heavy.h5", "--json", cwd=library)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    light, heavy = report["trials"]
    assert light["set"]["flagged_share_pct"] == pytest.approx(100 / 3, abs=0.1)
    assert heavy["set"]["flagged_share_pct"] == 100.0
    assert heavy["set_difference"]["flagged_reps"] == 2
    first = report["reps"][0]
    assert first["trials"][0]["left_flag"] == "none" and first["trials"][1]["left_flag"] == "severe"
    assert first["difference"][0]["left_grade_steps"] == 3 and first["difference"][0]["left_shift_mm"] > 10
    assert [p["load_kg"] for p in report["load"]["points"]] == [20.0, 60.0]
    # two loads: their difference, never a slope through two points
    assert report["load"]["flagged_share_pp_per_10kg"] is None and "two points" in report["load"]["note"]
    table = forceplate("compare", "light.h5", "heavy.h5", "--report", "compare.html", cwd=library)
    assert table.returncode == 0 and "B-A" in table.stdout and "no trend drawn through two points" in table.stdout
    page = (library / "compare.html").read_text()
    assert page.count("<svg") == 3 and "<script" not in page  # shift per rep per foot, share vs load
    assert "light.h5" in page and "no trend drawn through two points" in page and "per 10 kg" not in page


@pytest.mark.slow
def test_trials_lists_filters_and_survives_a_bad_file(library, tmp_path):
    for name in ("light.h5", "heavy.h5"):
        shutil.copy(library / name, tmp_path / name)
    with h5py.File(tmp_path / "light.h5", "a") as f:
        del f["processing"]  # never analysed: the listing analyses it
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = [1]
    listing = forceplate("trials", str(tmp_path))
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert any(l.startswith("heavy.h5") and l.split()[-2:] == ["3", "3"] for l in lines)
    assert any(l.startswith("light.h5") and l.split()[-2:] == ["3", "1"] for l in lines)
    assert any(l.startswith("other.h5") and "not a forceplate trial" in l for l in lines)
    assert listing.stderr == ""  # no progress line when stderr is not a terminal
    rows = json.loads(forceplate("trials", str(tmp_path), "--subject", "P1", "--json").stdout)
    assert sorted(r["file"] for r in rows) == ["heavy.h5", "light.h5"]
    assert json.loads(forceplate("trials", str(tmp_path), "--exercise", "lunge", "--json").stdout) == []
    assert len(json.loads(forceplate("trials", str(tmp_path), "--exercise", "SQUAT", "--json").stdout)) == 2


@pytest.mark.slow
def test_export_writes_csv_with_units_in_the_headers(library, tmp_path):
    out = tmp_path / "csv"
    result = forceplate("export", str(library / "light.h5"), "--csv", str(out))
    assert result.returncode == 0, result.stderr
    raw = (out / "SIM-DP-0001_raw.csv").read_text().splitlines()
    assert raw[0].startswith("seq [1],t_device [s],t_host [s],left_rear_lateral [counts]")
    counts = open_trial(library / "light.h5").devices["SIM-DP-0001"].counts
    assert len(raw) == len(counts) + 1
    assert [int(c) for c in raw[-1].split(",")[3:]] == counts[-1].tolist()
    feet = (out / "feet.csv").read_text().splitlines()
    assert feet[0] == ("t [s],fz_left [N],cop_left_x [mm],cop_left_y [mm],medial_shift_left [mm],"
                       "fz_right [N],cop_right_x [mm],cop_right_y [mm],medial_shift_right [mm]")
    reps = (out / "reps.csv").read_text().splitlines()
    assert len(reps) == 4 and "right_flag [grade]" in reps[0] and ",moderate," in reps[2]
    again = forceplate("export", str(library / "light.h5"), "--csv", str(out))
    assert again.returncode != 0 and "exists" in again.stderr


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_only_on_a_terminal():
    tty, pipe = FakeTerminal(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress(stream)
        progress("export", 50, 200)
        progress.done()
    assert "export: 50/200 (25%)" in tty.getvalue() and tty.getvalue().endswith("\r\033[K")
    assert pipe.getvalue() == ""


def test_every_trial_command_has_help_with_examples():
    for command in ("record", "recover", "compare", "trials", "export"):
        result = forceplate(command, "--help")
        assert result.returncode == 0 and "examples:" in result.stdout


def test_missing_arguments_and_folders_are_one_line(tmp_path):
    result = forceplate("trials", str(tmp_path / "nope"))
    assert result.returncode != 0 and result.stderr.strip() == f"forceplate: error: {tmp_path / 'nope'}: no such folder"


@pytest.mark.slow
def test_insole_trial_records_saves_and_reports(tmp_path):
    """Two insoles and no plate: record stores the analysis, analyze saves it and writes a report."""
    url = "sim://insole?foot={}&speed=4&seed=5&reps=2"
    result = forceplate("record", "--device", url.format("left"), "--device", url.format("right"),
                        "-o", "insoles.h5", "--duration", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "analysed: 2 reps" in result.stdout and "not analysed" not in result.stderr
    header = read_header(tmp_path / "insoles.h5")
    assert header.results["summary"]["reps"] == 2
    assert len(header.results["parameters"]["device"].split(", ")) == 2  # both insoles
    result = forceplate("analyze", "insoles.h5", "--save", "--report", "r.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "r.html").read_text()
    # force, two CoP and shift plots, four pressure maps and their scale; no plate outline
    # (grey, stroke #888) under an insole's CoP
    assert report.count("<svg") == 9 and 'stroke="#888"' not in report and "over the plate" not in report
