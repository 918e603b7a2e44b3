"""``forceplate batch`` on Dask: the CLI's own LocalCluster and a scheduler and workers started
as separate processes (``dask scheduler``, ``dask worker``) give identical tables; a damaged
file is one error row; stored results are reused; filters; the table is built from whatever
keys the results have."""

import functools
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pyarrow.parquet as pq
import pytest

from forceplate.cli import main
from forceplate.cli.batch import BatchProgress
from forceplate.library import batch as library_batch
from forceplate.library.batch import Outcome, Settings, TrialFilter, analyse_file
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.library.table import read_table, rep_rows, trial_identity
from forceplate.offline import trial_results
from forceplate.storage.reader import Trial, read_header

from conftest import SHARED_DATA
from test_cli import assert_one_line_error, forceplate
from test_trials import FakeTerminal

# name -> trial; P01 over three sessions and three loads, P02 once
TRIALS = {
    "P01/2026-01-05-light.h5": SimulatedTrial("P01", "2026-01-05T09:00:00", 20.0, valgus={2: ("right", "moderate")},
                                              seed=1),
    "P01/2026-01-05-heavy.h5": SimulatedTrial("P01", "2026-01-05T09:20:00", 60.0, seed=2,
                                              valgus={1: ("left", "severe"), 3: ("right", "mild")}),
    "P01/2026-01-19-light.h5": SimulatedTrial("P01", "2026-01-19T09:00:00", 20.0, seed=3),
    "P01/2026-02-02-medium.h5": SimulatedTrial("P01", "2026-02-02T09:00:00", 40.0, seed=4, left_share=0.6),
    "P02/2026-01-06.h5": SimulatedTrial("P02", "2026-01-06T15:00:00", 0.0, seed=5, reps=2),
}
DAMAGED = "P02/2026-01-07-cut.h5"  # a trial cut short in copying: half its bytes
RECORDED = "recorded.h5"  # one trial recorded through the real CLI from the simulator on a pty
REAL = "real-flywheel-squat.h5"  # a real recording (KTH), imported from C3D: no quiet standing in it
PROCESS_TIMEOUT_S = 20


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("library")
    record = subprocess.Popen(
        [sys.executable, "-m", "forceplate", "record", "--device", "sim://dual-plate?speed=8&reps=3&valgus=3:left:moderate",
         "-o", RECORDED, "--duration", "2.2", "--subject", "P03", "--load-kg", "30"], cwd=folder,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for name, spec in TRIALS.items():
        (folder / name).parent.mkdir(exist_ok=True)
        write_simulated_trial(folder / name, spec)
    whole = (folder / "P01/2026-01-19-light.h5").read_bytes()
    (folder / DAMAGED).write_bytes(whole[:len(whole) // 2])
    if SHARED_DATA.is_dir():
        imported = forceplate("import", str(SHARED_DATA / "real-squats/S1_FlywheelSquat.c3d"), "-o", str(folder / REAL))
        assert imported.returncode == 0, imported.stderr
    _, err = record.communicate(timeout=60)
    assert record.returncode == 0, err
    for path in folder.rglob("*.h5"):  # batch is to analyse them: start from raw counts only
        if path.name != DAMAGED.split("/")[1]:
            with h5py.File(path, "a") as f:
                f.pop("processing", None)
    return folder


def _stop(processes):
    """Workers before the scheduler: a worker that lost its scheduler tries to reconnect
    (up to its death timeout) instead of stopping at once."""
    for proc in reversed(processes):
        proc.terminate()
        try:
            proc.wait(timeout=PROCESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=PROCESS_TIMEOUT_S)


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """A Dask scheduler and two workers as separate processes on 127.0.0.1, as a lab starts
    them on its machines; all stopped at the end of the module (and by their own timeouts).
    No nanny: one process per worker, so stopping it leaves no worker process behind."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    processes = [subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file), "--idle-timeout", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert processes[0].poll() is None, "dask scheduler exited"
            assert time.monotonic() < deadline, "dask scheduler did not start"
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        processes += [subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
             "--memory-limit", "1GB", "--no-dashboard", "--no-nanny", "--death-timeout", "30", "--lifetime", "900"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        yield address
    finally:
        _stop(processes)


def batch(folder, *options):
    return forceplate("batch", ".", *options, cwd=folder, timeout=180)


def rows_of(path):
    return pq.read_table(path).to_pylist() if path.suffix == ".parquet" else read_table(path)


def _copy(library, to):
    shutil.copytree(library, to)
    return to


@pytest.mark.slow
def test_local_cluster_and_separate_dask_processes_give_identical_tables(library, dask_scheduler, tmp_path):
    local, remote = _copy(library, tmp_path / "local"), _copy(library, tmp_path / "remote")
    first = batch(local, "-o", "reps.parquet", "--workers", "2")
    second = batch(remote, "-o", "reps.csv", "--scheduler", dask_scheduler)
    for result in (first, second):
        assert result.returncode == 1, result.stderr  # 1: some files failed, the tables are written anyway
        assert "Traceback" not in result.stderr
        assert f"{DAMAGED}: file is truncated" in result.stderr
    assert "on 2 Dask workers" in first.stderr and f"at {dask_scheduler}" in second.stderr
    files = len(TRIALS) + 2 + SHARED_DATA.is_dir()
    failed = 1  # the damaged file; the real flywheel squat (no standing) analyses since issue 12
    assert f"{files} trial files" in first.stdout and f"{files - failed} analysed, 0 from stored results, {failed} failed" \
        in first.stdout
    reps = rows_of(local / "reps.parquet")
    assert reps == rows_of(remote / "reps.csv")  # and Parquet and CSV say the same
    assert rows_of(local / "reps.trials.parquet") == rows_of(remote / "reps.trials.csv")

    damaged = [r for r in reps if r["file"] == DAMAGED]
    assert len(damaged) == 1 and "truncated" in damaged[0]["error"] and damaged[0]["rep"] is None
    good = [r for r in reps if r["error"] is None]
    real = [r for r in good if r["file"] == REAL]
    assert len(real) == 2 * SHARED_DATA.is_dir()  # its one rep on each side
    # each rep on each side; 3 reps recorded
    assert len(good) - len(real) == 2 * (sum(t.reps for t in TRIALS.values()) + 3)
    assert {r["file"] for r in good} == {*TRIALS, RECORDED, *([REAL] if SHARED_DATA.is_dir() else [])}
    assert [c for c in ("file", "subject", "date", "exercise", "load_kg", "rep", "side", "depth_m", "asymmetry_pct",
                        "medial_shift_mm", "flag", "error") if c not in reps[0]] == []
    flags = {(r["file"], r["rep"], r["side"]): r["flag"] for r in good}
    assert flags[("P01/2026-01-05-light.h5", 2, "right")] == "moderate"
    assert flags[("P01/2026-01-05-heavy.h5", 1, "left")] == "severe"
    assert flags[(RECORDED, 3, "left")] == "moderate"
    labelled = {(name, rep, side) for name, spec in TRIALS.items() for rep, (side, _) in spec.valgus.items()}
    flagged = {key for key, flag in flags.items() if flag != "none"}
    assert flagged - {(RECORDED, 3, "left")} <= labelled  # no flag the simulator did not put there
    light = next(r for r in good if r["file"] == "P01/2026-01-05-light.h5")
    assert (light["subject"], light["date"], light["exercise"], light["load_kg"]) == ("P01", "2026-01-05", "squat", 20.0)
    uneven = {r["asymmetry_pct"] for r in good if r["file"] == "P01/2026-02-02-medium.h5"}
    assert all(abs(a - 20.0) < 1.0 for a in uneven)  # 60 % of the weight on the left: (60 - 40) / 100

    trials = {r["file"]: r for r in rows_of(local / "reps.trials.parquet")}
    assert len(trials) == files and trials["P02/2026-01-06.h5"]["reps"] == 2
    assert trials["P01/2026-01-05-heavy.h5"]["flagged_left"] == 1 and trials["P01/2026-01-05-heavy.h5"]["complete"]
    if SHARED_DATA.is_dir():
        assert trials[REAL]["error"] is None and trials[REAL]["reps"] == 1  # no standing start needed

    # the results are now stored in each trial, and they are what offline.trial_results would reuse
    header, results = trial_results(local / "P01/2026-01-05-heavy.h5")
    assert not isinstance(header, Trial) and results["summary"]["flagged"]["left"] == 1  # the mild right rep 3 is borderline (3.4 mm held)


def run_cli(folder, monkeypatch, capsys, *argv):
    """The command in this process (no interpreter start-up): exit status, stdout, stderr."""
    monkeypatch.chdir(folder)
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_a_second_batch_reuses_stored_results_until_the_parameters_change(library, dask_scheduler, tmp_path,
                                                                          monkeypatch, capsys):
    folder = _copy(library, tmp_path / "lib")
    cli = functools.partial(run_cli, folder, monkeypatch, capsys, "batch", ".", "--scheduler", dask_scheduler)
    light = folder / "P01/2026-01-05-light.h5"
    assert cli("-o", "first.parquet")[0] == 1
    written = light.stat().st_mtime_ns
    status, out, _ = cli("-o", "again.parquet")
    analysable = len(TRIALS) + 1 + SHARED_DATA.is_dir()  # the simulated, the recorded, the real squat
    assert status == 1 and f"0 analysed, {analysable} from stored results" in out
    assert light.stat().st_mtime_ns == written  # read, not rewritten
    assert rows_of(folder / "again.parquet") == rows_of(folder / "first.parquet")
    _, out, _ = cli("-o", "scaled.parquet", "--threshold-scale", "2")
    assert f"{analysable} analysed, 0 from stored results" in out
    scaled = {(r["file"], r["rep"], r["side"]): r["flag"] for r in rows_of(folder / "scaled.parquet")}
    assert scaled[("P01/2026-01-05-light.h5", 2, "right")] == "mild"  # 10 mm is mild when the thresholds double
    assert read_header(light).results["parameters"]["thresholds"]["mild_mm"] == 7.0 and light.stat().st_mtime_ns > written


def test_filters_by_subject_exercise_and_date(library, dask_scheduler, tmp_path, monkeypatch, capsys):
    folder = _copy(library, tmp_path / "lib")
    _, out, _ = run_cli(folder, monkeypatch, capsys, "batch", ".", "-o", "p01.parquet", "--scheduler", dask_scheduler,
                        "--subject", "P01", "--since", "2026-01-19", "--exercise", "squat")
    assert "left out by the filters" in out
    rows = rows_of(folder / "p01.parquet")
    # the damaged file cannot be read, so it cannot be said not to match: it is listed with its error
    assert {r["file"] for r in rows if not r["error"]} == {"P01/2026-01-19-light.h5", "P01/2026-02-02-medium.h5"}
    assert {r["file"] for r in rows if r["error"]} == {DAMAGED}


@pytest.mark.slow
def test_bad_inputs_are_one_line_errors(tmp_path, library, monkeypatch, capsys):
    def error(*argv):
        status, _, err = run_cli(tmp_path, monkeypatch, capsys, "batch", *argv)
        assert status == 2 and "Traceback" not in err
        return err.strip().splitlines()[-1]

    assert "nowhere: no such file or folder" in error(str(tmp_path / "nowhere"))
    assert "reps.txt" in error(str(library), "-o", "reps.txt") and ".parquet" in error(str(library), "-o", "reps.txt")
    assert "no such folder" in error(str(library), "-o", str(tmp_path / "no" / "reps.csv"))
    assert "no trial files" in error(str(tmp_path))
    assert "YYYY-MM-DD" in error(str(library), "--since", "last week")
    assert "at least 1" in error(str(library), "--workers", "0")
    (tmp_path / "kept.csv").write_text("a lab's table\n")
    (tmp_path / "old.trials.csv").write_text("a lab's table\n")
    for table in ("kept.csv", "old.csv"):  # the per-rep table, or the per-trial table beside it
        assert "file exists" in error(str(library), "-o", str(tmp_path / table)) and "--force" in error(
            str(library), "-o", str(tmp_path / table))
    assert (tmp_path / "kept.csv").read_text() == (tmp_path / "old.trials.csv").read_text() == "a lab's table\n"
    refused = forceplate("batch", str(library), "-o", str(tmp_path / "r.csv"), "--scheduler", "tcp://127.0.0.1:9")
    assert_one_line_error(refused, "tcp://127.0.0.1:9", "cannot connect")


def test_a_trial_too_big_for_the_memory_fails_alone_and_is_left_unanalysed(library, tmp_path, monkeypatch):
    path = shutil.copy(library / "P02/2026-01-06.h5", tmp_path / "big.h5")
    monkeypatch.setattr(library_batch, "ANALYSIS_BYTES_PER_RAW_VALUE", 10**9)
    outcome = analyse_file(str(path), "big.h5", TrialFilter(), Settings())
    assert outcome.status == "failed" and "GB" in outcome.error and "--memory-per-worker" in outcome.error
    assert outcome.reps[0]["error"] == outcome.error and outcome.reps[0]["subject"] == "P02"
    assert read_header(path).results is None


def test_rows_follow_whatever_keys_the_results_have():
    results = {"reps": [{"index": 1, "depth_m": 0.4, "phases_s": {"descent": 1.0},
                         "left": {"flag": "mild", "onset_phase": "bottom", "axis": {"toe_out_deg": 12.0},
                                  "depth_m": 0.1},
                         "right": {"flag": "none", "onset_phase": None, "axis": {"toe_out_deg": 9.0}}}]}
    rows = rep_rows(trial_identity("t.h5", {"subject": "P9", "created": "2026-03-01T08:00:00"}), results)
    assert [(r["side"], r["flag"], r["onset_phase"], r["axis_toe_out_deg"]) for r in rows] == [
        ("left", "mild", "bottom", 12.0), ("right", "none", None, 9.0)]
    assert rows[0]["phases_s_descent"] == 1.0 and rows[0]["date"] == "2026-03-01"
    assert rows[0]["depth_m"] == 0.4 and rows[0]["foot_depth_m"] == 0.1  # a side key never hides a rep key


def test_progress_bar_counts_and_eta_on_a_terminal_and_failures_as_lines():
    terminal = FakeTerminal()
    progress = BatchProgress(terminal)
    progress(Outcome("a.h5", "analysed"), 1, 4)
    progress(Outcome("b.h5", "failed", error="b.h5: file is truncated"), 2, 4)
    progress.done()
    text = terminal.getvalue()
    assert "1/4 trials" in text and "2/4 trials" in text and "s left" in text and "1 failed" in text
    assert "\nb.h5: file is truncated\n" in text.replace("\r\033[K", "\n")
    pipe = io.StringIO()  # not a terminal: no bar, the failures still
    quiet = BatchProgress(pipe)
    quiet(Outcome("a.h5", "analysed"), 1, 2)
    quiet(Outcome("b.h5", "failed", error="b.h5: file is truncated"), 2, 2)
    quiet.done()
    assert pipe.getvalue() == "b.h5: file is truncated\n"


def test_batch_analyses_each_trial_as_its_exercise_and_reuses_it(shared_data, tmp_path):
    """A library holding a jump, a walk and a squat: each trial's rows name the exercise it
    was analysed as (recognised from the force), with that exercise's results; a second
    pass reuses what the first stored, as for squats."""
    pytest.importorskip("ezc3d")
    sources = {"cmj.h5": "vertical-jumps-fz/Dual-CMJ-Fz.txt", "walk.h5": "ezc3d-testFiles/BTS.c3d",
               "squat.h5": "real-squats/grf_Squat2.mot"}
    for name, source in sources.items():
        done = forceplate("import", str(shared_data / source), "-o", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
    first = {Path(p).name: analyse_file(str(p), Path(p).name, TrialFilter(), Settings())
             for p in sorted(tmp_path.glob("*.h5"))}
    assert {name: o.status for name, o in first.items()} == dict.fromkeys(sources, "analysed")
    assert {name: o.trial["exercise"] for name, o in first.items()} == {
        "cmj.h5": "countermovement_jump", "walk.h5": "force_summary", "squat.h5": "squat"}
    jump = first["cmj.h5"]
    assert {row["kind"] for row in jump.reps} == {"jump"} and len(jump.reps) == 2  # one jump, two sides
    assert jump.reps[0]["flight_s"] == pytest.approx(0.509, abs=0.010)  # docs/validation.md
    assert jump.trial["body_weight_n"] == pytest.approx(662.0, rel=0.02)
    walk = first["walk.h5"]
    assert walk.reps == [] and walk.trial["found"].startswith("no squat reps: walking")
    assert walk.trial["forces_by_foot_left_peak_force_n"] > 300  # not the squat's 0.0 N body weight
    assert first["squat.h5"].trial["baseline_body_weight_n"] == pytest.approx(613.0, rel=0.02)
    again = {name: analyse_file(str(tmp_path / name), name, TrialFilter(), Settings()) for name in sources}
    assert {name: o.status for name, o in again.items()} == dict.fromkeys(sources, "stored")
    assert {name: o.trial for name, o in again.items()} == {name: o.trial for name, o in first.items()}


@pytest.mark.slow
def test_the_local_clusters_workers_keep_dasks_shutdown_chatter_off_stderr(monkeypatch):
    """A worker whose heartbeat races the scheduler's shutdown logs a traceback at ERROR (CI saw
    it in the output of `batch`): the workers' own processes log Dask's messages only when critical.
    silence_logs alone lasts only while a worker runs, so this is read in the worker's process."""
    import argparse
    import logging

    from forceplate.cli.batch import _DaskClient

    import socket
    import warnings

    monkeypatch.delenv("DASK_LOGGING__DISTRIBUTED", raising=False)
    args = argparse.Namespace(scheduler=None, workers=1, memory_per_worker="auto")
    # another cluster holds Dask's default HTTP port: ours takes a free one, and says nothing
    with socket.socket() as other, warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            other.bind(("", 8787))
            other.listen()
        except OSError:  # already held (a Dask of another test): the same situation
            pass
        with _DaskClient(args) as client:
            levels = client.run(lambda: logging.getLogger("distributed.worker").getEffectiveLevel())
    assert list(levels.values()) == [logging.CRITICAL]
    assert not [w for w in warned if "already in use" in str(w.message)]
