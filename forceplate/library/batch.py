"""Batch analysis of a trial library on a Dask cluster (``forceplate batch``).

The client finds the trial files and sends each worker a path, never the data: the worker
reads the file, reuses the results stored in it when this algorithm version made them with
the same parameters (as ``trials`` and ``compare`` do), else analyses the raw counts and
stores the results in the file (as ``analyze --save``), and sends back the rows of the
per-rep and per-trial tables. A file that fails gives an error row; the batch goes on.

Workers on other machines must see the files at the same paths (a shared folder) and run
the same forceplate version; :func:`check_workers` says so before anything is submitted.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

from forceplate import __version__
from forceplate.errors import ForceplateError, TrialError
from forceplate.library.table import failure_row, rep_rows, trial_identity, trial_row
from forceplate.exercises.model import ALGORITHM_VERSION as EXERCISES_VERSION
from forceplate.processing.valgus import Thresholds

# Peak memory of an analysis per raw value (frame x channel) in the file: 1.6 GB for a
# 60-minute 1 kHz 8-channel trial (issue 14); benchmarks/batch_library.py measures it again.
ANALYSIS_BYTES_PER_RAW_VALUE = 56
# Share of a worker's memory (per thread) an analysis may plan to use: Dask pauses a worker
# at 80 % and restarts it at 95 %, and the interpreter and libraries hold some of the rest.
MEMORY_HEADROOM = 0.6
WORKER_WAIT_S = 30.0  # how long to wait for a scheduler's first worker


@dataclass(frozen=True)
class TrialFilter:
    """Which trials to take, by their stored metadata; None takes any."""

    subject: str | None = None
    exercise: str | None = None
    since: dt.date | None = None  # sessions on or after this day

    def matches(self, attrs: dict) -> bool:
        if self.subject is not None and attrs.get("subject") != self.subject:
            return False
        if self.exercise is not None and attrs.get("exercise") != self.exercise:
            return False
        if self.since is not None:
            created = str(attrs.get("created", ""))[:10]
            return bool(created) and created >= self.since.isoformat()
        return True


@dataclass(frozen=True)
class Settings:
    """Analysis parameters sent with every path (the same for the whole batch)."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    toe_out_deg: float | str | None = None  # None: each trial's recorded set-up


@dataclass
class Outcome:
    """What a worker sends back for one file: ``status`` is "stored" (results reused),
    "analysed", "skipped" (the filter left it out) or "failed" (``error`` says why)."""

    file: str
    status: str
    reps: list[dict] = field(default_factory=list)
    trial: dict | None = None
    error: str | None = None
    note: str | None = None  # analysed but the results could not be stored in the file


def find_trials(paths) -> list[Path]:
    """Trial files among ``paths``: files as given, folders searched recursively for ``*.h5``
    (the ``*.crashed.h5`` copies that ``recover`` keeps are left out); sorted, no repeats."""
    found = []
    for given in map(Path, paths):
        if given.is_dir():
            found += sorted(p for p in given.rglob("*.h5") if not p.name.endswith(".crashed.h5"))
        elif given.is_file():
            found.append(given)
        else:
            raise ForceplateError(f"{given}: no such file or folder")
    return list(dict.fromkeys(found))


def analyse_file(path: str, display: str, wanted: TrialFilter, settings: Settings) -> Outcome:
    """One trial, on whichever machine runs it: never raises, a failure is an Outcome."""
    from forceplate import storage
    from forceplate.storage.reader import read_header

    storage.probe_metadata = True  # a library's files come from anywhere; one hanging HDF5 read would stall the worker

    attrs = None
    try:
        header = read_header(path)
        attrs = header.attrs
        if not wanted.matches(attrs):
            return Outcome(display, "skipped")
        results, status, note = _stored(header, settings), "stored", None
        if results is None:
            results, note = _analyse_and_store(path, settings)
            status = "analysed"
        # what the trial says it is (a lunge stays a lunge), else the exercise recognised from its force
        identity = trial_identity(display, attrs)
        identity["exercise"] = identity["exercise"] or results["summary"].get("exercise", "squat")
        return Outcome(display, status, rep_rows(identity, results), trial_row(identity, attrs, results), note=note)
    except ForceplateError as exc:
        # the worker's absolute path is named as the user named the file
        return _failed(display, attrs, str(exc).replace(path, display))
    except MemoryError:
        return _failed(display, attrs, f"{display}: ran out of memory while analysing")
    except Exception as exc:  # noqa: BLE001 - a bug on one file must not stop the library
        return _failed(display, attrs, f"{display}: internal error ({type(exc).__name__}: {exc})")


def _failed(display: str, attrs: dict | None, error: str) -> Outcome:
    identity = trial_identity(display, attrs)
    return Outcome(display, "failed", [failure_row(identity, error)], failure_row(identity, error), error)


def _stored(header, settings: Settings) -> dict | None:
    """The stored results when they can stand for a fresh analysis with ``settings``: another
    exercise's when this version made them, a squat's by ``offline.reusable_results`` (the
    test ``offline.trial_results`` applies)."""
    stored = header.results
    if stored is not None and stored["summary"].get("algorithm_version") == EXERCISES_VERSION:
        return stored  # another exercise's results: no squat thresholds or toe-out in them
    from forceplate.offline import reusable_results

    return stored if reusable_results(header, settings.thresholds, settings.toe_out_deg) else None


def _analyse_and_store(path: str, settings: Settings) -> tuple[dict, str | None]:
    # the analysis as 'analyze --save' runs it
    from forceplate.exercises import choose, run
    from forceplate.exercises.model import Options
    from forceplate.offline import TrialFeet, analyze_trial, save_analysis, save_exercise_results, with_flag_reference
    from forceplate.storage.reader import open_trial, raw_value_count

    needed = raw_value_count(path) * ANALYSIS_BYTES_PER_RAW_VALUE
    budget = analysis_memory_budget()
    if needed > budget:
        raise TrialError(f"{path}: analysing it needs about {needed / 1e9:.1f} GB, more than the "
                         f"{budget / 1e9:.1f} GB a task of this worker may use; give workers more memory "
                         "(--memory-per-worker, or 'dask worker --memory-limit') or fewer threads")
    trial = open_trial(path)
    feet_of = TrialFeet(trial, None)
    exercise, chosen_by = choose(None, trial.attrs, feet_of)
    options = Options(settings.toe_out_deg, settings.thresholds)
    if exercise.name == "squat":  # the squat as before: its analysis object is what --save stores
        analysis = analyze_trial(trial, toe_out_deg=settings.toe_out_deg, thresholds=settings.thresholds)
        # the row as the stored results will read (no flag reference: the trial's own reps)
        results, store = with_flag_reference(analysis.as_dict(), None), functools.partial(save_analysis, trial, analysis)
    else:
        exercise, _, results, analysis = run(exercise, chosen_by, trial, None, options, feet_of)
        results["summary"]["exercise_chosen_by"] = chosen_by
        store = (functools.partial(save_analysis, trial, analysis) if analysis is not None else
                 functools.partial(save_exercise_results, trial, exercise, results, None, None))
    try:
        store()
    except TrialError as exc:  # e.g. still being recorded, or a read-only share: the results still count
        return results, str(exc)
    return results, None


def analysis_memory_budget() -> float:
    """Bytes one analysis may plan to use here: a share of the Dask worker's memory limit
    per thread, or of the memory available when not on a worker (or on one without a limit)."""
    import psutil

    limit, threads = None, 1
    try:
        from distributed import get_worker

        worker = get_worker()
        limit, threads = worker.memory_manager.memory_limit, worker.state.nthreads
    except (ImportError, ValueError):  # not running on a Dask worker
        pass
    available = limit or psutil.virtual_memory().available
    return MEMORY_HEADROOM * available / max(threads, 1)


def _forceplate_version() -> str:
    import forceplate

    return forceplate.__version__


def check_workers(client, wait_s: float = WORKER_WAIT_S) -> dict[str, str]:
    """Every worker's forceplate version, after waiting for at least one worker; a missing
    or different forceplate on a worker is a one-line error before any file is sent."""
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except TimeoutError:
        raise ForceplateError(f"scheduler {client.scheduler.address}: no worker connected within {wait_s:.0f} s "
                              "(start some with 'dask worker ADDRESS')") from None
    try:
        versions = client.run(_forceplate_version)
    except (ImportError, AttributeError) as exc:
        raise ForceplateError(f"a Dask worker cannot run forceplate ({exc}); install forceplate {__version__} "
                              "on every worker machine") from None
    other = {w: v for w, v in versions.items() if v != __version__}
    if other:
        worker, version = next(iter(other.items()))
        raise ForceplateError(f"Dask worker {worker} runs forceplate {version}, this is {__version__}: "
                              "install the same version on every worker")
    return versions


@dataclass
class BatchResult:
    """What a batch run found: one outcome per file (stored, analysed, skipped, failed) and how long
    it took (s)."""

    outcomes: list[Outcome]  # sorted by file
    seconds: float

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def rep_rows(self) -> list[dict]:
        return [row for o in self.outcomes if o.status != "skipped" for row in o.reps]

    @property
    def trial_rows(self) -> list[dict]:
        return [o.trial for o in self.outcomes if o.status != "skipped"]


def run_batch(client, files: list[Path], wanted: TrialFilter = TrialFilter(), settings: Settings = Settings(),
              on_outcome=None) -> BatchResult:
    """Analyse ``files`` on ``client``'s cluster; ``on_outcome(outcome, done, total)`` is
    called as each file finishes (in the order they finish)."""
    from distributed import as_completed

    started = time.monotonic()
    displays = [str(f) for f in files]
    futures = client.map(analyse_file, [str(f.resolve()) for f in files], displays,
                         wanted=wanted, settings=settings, pure=False)
    which = {future.key: display for future, display in zip(futures, displays, strict=True)}
    outcomes = []
    for done, future in enumerate(as_completed(futures), start=1):
        try:
            outcome = future.result()
        except Exception as exc:  # noqa: BLE001 - a worker lost (killed, out of memory) fails one file
            outcome = _failed(which[future.key], None, f"{which[future.key]}: the worker analysing it was lost "
                                                       f"({type(exc).__name__}: {exc})")
        future.release()  # the cluster forgets each result once it is here
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome, done, len(futures))
    outcomes.sort(key=lambda o: o.file)
    return BatchResult(outcomes, time.monotonic() - started)
