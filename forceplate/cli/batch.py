"""``forceplate batch``: a trial library analysed on a Dask cluster into a per-rep table."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

from forceplate.cli.common import add_analysis_options, check_new_output, thresholds
from forceplate.errors import ForceplateError

BAR_WIDTH = 24


def register(add_command) -> None:
    batch = add_command("batch", "analyse a library of trials on Dask: one per-rep table and one per-trial table",
                        run_batch, """\
  forceplate batch data/ -o reps.parquet                    local cluster, one worker per core
  forceplate batch data/ -o reps.csv --workers 2 --subject P07 --since 2026-01-01
  forceplate batch /shared/lab/trials -o reps.parquet --scheduler tcp://10.0.0.5:8786
      a lab's own cluster: 'dask scheduler' on one machine, 'dask worker tcp://10.0.0.5:8786'
      on each other one; every worker must see the files at the same paths

Rows: one per rep and side (file, subject, date, exercise, load_kg, rep, side and every
per-rep result, units in the column names); a file that cannot be analysed gives one row
with its error. Results are stored in each trial and reused while the algorithm version and
parameters match. Exit status 0, or 1 when some files failed (the tables are written anyway).""")
    batch.add_argument("paths", nargs="+", metavar="PATH", help="trial files or folders (searched recursively)")
    batch.add_argument("-o", "--output", default="reps.parquet", metavar="TABLE",
                       help="per-rep table, .parquet or .csv (default reps.parquet); the per-trial table goes "
                            "beside it as NAME.trials.parquet or .csv")
    batch.add_argument("--force", action="store_true", help="overwrite existing tables")
    where = batch.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="worker processes of the local cluster (default: one per core)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a running Dask scheduler, e.g. tcp://host:8786, instead of a local cluster")
    batch.add_argument("--memory-per-worker", default="auto", metavar="SIZE",
                       help="local cluster: memory limit of each worker, e.g. 2GB (default: the machine's "
                            "memory shared out); a trial too big for it fails alone, the worker stays up")
    batch.add_argument("--subject", help="only this subject's trials")
    batch.add_argument("--exercise", help="only this exercise")
    batch.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="only sessions on or after this day")
    add_analysis_options(batch)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a date as YYYY-MM-DD") from None


def trials_table_path(output: Path) -> Path:
    """``reps.parquet`` -> ``reps.trials.parquet``."""
    return output.with_name(f"{output.stem}.trials{output.suffix}")


class BatchProgress:
    """A progress bar on standard error with counts, rate and ETA, redrawn in place (only on
    a terminal); each failure is printed as one line above it as soon as it is known."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.active = self.stream.isatty()
        self.started = time.monotonic()
        self.failed = 0

    def __call__(self, outcome, done: int, total: int) -> None:
        if outcome.status == "failed":
            self.failed += 1
            self._clear()
            print(outcome.error, file=self.stream)
        elif outcome.note:
            self._clear()
            print(f"{outcome.file}: analysed; {outcome.note}", file=self.stream)
        if self.active:
            elapsed = time.monotonic() - self.started
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = f"{(total - done) / rate:.0f} s left" if rate > 0 else "-"
            filled = BAR_WIDTH * done // max(total, 1)
            failed = f", {self.failed} failed" if self.failed else ""
            self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} trials "
                              f"({rate:.1f}/s, {eta}{failed})\033[K")
            self.stream.flush()

    def _clear(self) -> None:
        if self.active:
            self.stream.write("\r\033[K")

    def done(self) -> None:
        self._clear()
        self.stream.flush()


def run_batch(args) -> int:
    from forceplate.library.batch import Settings, TrialFilter, find_trials
    from forceplate.library.table import check_table_path

    output = check_table_path(args.output)
    trials_output = trials_table_path(output)
    for table in (output, trials_output):  # before any work: a batch of a large library takes minutes
        check_new_output(table, args.force)
    files = find_trials(args.paths)
    wanted = TrialFilter(args.subject, args.exercise, args.since)
    settings = Settings(thresholds(args), args.toe_out)
    if not files:
        raise ForceplateError(f"no trial files (*.h5) under {', '.join(args.paths)}")
    with _DaskClient(args) as client:
        result = _run_on(client, files, wanted, settings)
    from forceplate.library.table import write_table

    write_table(result.rep_rows, output)
    write_table(result.trial_rows, trials_output)
    taken = len(result.trial_rows)
    failed = result.count("failed")
    skipped = f", {result.count('skipped')} left out by the filters" if result.count("skipped") else ""
    print(f"{len(files)} trial files in {result.seconds:.1f} s ({len(files) / max(result.seconds, 1e-9):.1f} files/s): "
          f"{result.count('analysed')} analysed, {result.count('stored')} from stored results, {failed} failed"
          f"{skipped}")
    print(f"{len(result.rep_rows)} rows (rep x side) of {taken} trials in {output}; one row per trial in {trials_output}")
    return 1 if failed else 0


def _run_on(client, files, wanted, settings):
    from forceplate.library.batch import check_workers, run_batch as run

    workers = check_workers(client)
    threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    print(f"{len(files)} trial files on {len(workers)} Dask workers ({threads} threads) at "
          f"{client.scheduler.address}" + (f"; dashboard {client.dashboard_link}" if _has_dashboard() else ""),
          file=sys.stderr)
    progress = BatchProgress()
    try:
        return run(client, files, wanted, settings, progress)
    finally:
        progress.done()


def _has_dashboard() -> bool:
    try:
        import bokeh  # noqa: F401 - Dask serves its dashboard only with bokeh installed
    except ImportError:
        return False
    return True


class _DaskClient:
    """A Dask client on the given scheduler, or on a local cluster started (and stopped) here."""

    def __init__(self, args):
        self.args = args
        self.cluster = self.client = None

    def __enter__(self):
        # Dask's own chatter is not the user's: a task's failure comes back to us as its exception, while a
        # worker whose heartbeat races the scheduler's shutdown logs a traceback at ERROR (seen in CI). The
        # workers' silence_logs lasts only while each worker runs, so the workers' processes are told
        # through the environment they inherit, which Dask reads when it is imported there (a user's
        # own setting stays).
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
        from distributed import Client, LocalCluster

        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        if self.args.scheduler:
            try:
                self.client = Client(self.args.scheduler, timeout="5s")
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise ForceplateError(f"Dask scheduler {self.args.scheduler}: cannot connect ({exc})") from None
            return self.client
        workers = self.args.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                        else os.cpu_count() or 1)
        try:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        memory_limit=self.args.memory_per_worker, silence_logs=logging.CRITICAL,
                                        # a free port: Dask's HTTP server runs with or without bokeh, and
                                        # on its default port it warns on stderr when another cluster has it
                                        dashboard_address=":0")
        except ValueError as exc:
            raise ForceplateError(f"--memory-per-worker {self.args.memory_per_worker}: {exc}") from None
        self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc_info):
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False
