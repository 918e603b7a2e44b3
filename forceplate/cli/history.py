"""``forceplate history``: one athlete's trials over time, by session and load."""

from __future__ import annotations

from pathlib import Path

from forceplate.cli.common import SIDES, add_analysis_options, show, thresholds
from forceplate.errors import ForceplateError


def register(add_command) -> None:
    command = add_command("history", "one athlete's trials over time: flags, shift, asymmetry and depth per "
                                     "session and load, the trend, and whether collapse comes with load",
                          run_history, """\
  forceplate history P07 data/                    trial files (analysed here when not yet analysed)
  forceplate history P07 reps.parquet --report P07.html     a table written by 'forceplate batch'

Asymmetry bands: green < 10 %, amber 10-25 %, red > 25 % of (left - right) / (left + right).
Collapse (moderate or severe flags) already at light load points to technique or mobility,
only at heavy load to strength; it takes trials at 3 or more loads to tell.""")
    command.add_argument("subject", metavar="SUBJECT", help="the subject id stored in the trials")
    command.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                         help="trial files, folders of trials, or per-rep tables (.parquet, .csv) made by "
                              "'forceplate batch' (default: the current folder)")
    command.add_argument("--exercise", default="squat", help="the exercise to follow (default squat)")
    command.add_argument("--report", metavar="FILE.html", help="also write the history as a self-contained HTML page")
    command.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    add_analysis_options(command)


def history_rows(paths, subject: str, settings) -> list[dict]:
    """Per-rep rows of ``subject`` from tables and trial files (these analysed here, one by
    one, reusing stored results); a file that fails is one line on stderr."""
    from forceplate.cli.batch import BatchProgress
    from forceplate.library.batch import TrialFilter, analyse_file, find_trials
    from forceplate.library.table import TABLE_FORMATS, read_table

    rows, files = [], []
    for given in map(Path, paths):
        if given.suffix.lower() in TABLE_FORMATS:
            rows += read_table(given)
        else:
            files += find_trials([given])
    progress = BatchProgress()
    wanted = TrialFilter(subject=subject)
    for done, file in enumerate(files, start=1):
        outcome = analyse_file(str(file), str(file), wanted, settings)
        progress(outcome, done, len(files))
        if outcome.status not in ("skipped", "failed"):
            rows += outcome.reps
    progress.done()
    return rows


def run_history(args) -> int:
    from forceplate.library.batch import Settings
    from forceplate.library.history import history

    rows = history_rows(args.paths, args.subject, Settings(thresholds(args), args.toe_out))
    report = history(rows, args.subject, args.exercise)
    if report["reps"] == 0:
        others = f" ({report['other_exercise_trials']} trials of other exercises)" if report["other_exercise_trials"] else ""
        raise ForceplateError(f"no {args.exercise} reps of subject {args.subject!r} in {', '.join(args.paths)}{others}")
    from forceplate.reporting.history import render_history

    show(report, args, print_history, render_history)
    return 0


def _num(value, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


def print_history(report: dict) -> None:
    sessions = report["sessions"]
    span = f", {len(sessions)} sessions ({sessions[0]['date']} to {sessions[-1]['date']})" if sessions else ""
    print(f"{report['subject']}, {'/'.join(report['exercises'])}: {report['trials']} trials, {report['reps']} reps{span}")
    if report["other_exercise_trials"]:
        print(f"({report['other_exercise_trials']} trials of other exercises left out; see --exercise)")
    print(f"\n{'date':<11}{'load kg':>8}{'trials':>7}{'reps':>5}{'L flag %':>9}{'R flag %':>9}{'L shift':>8}"
          f"{'R shift':>8}{'asym %':>8}  {'band':<6}{'depth m':>8}")
    for g in report["by_session_and_load"]:
        band = g["asymmetry"]["band"] if g["asymmetry"] else "-"
        print(f"{g['date']:<11}{_num(g['load_kg'], 'g'):>8}{g['trials']:>7}{g['reps']:>5}"
              + "".join(f"{_num(g[f'{s}_flagged_pct'], '.0f'):>9}" for s in SIDES)
              + "".join(f"{_num(g[f'{s}_mean_shift_mm']):>8}" for s in SIDES)
              + f"{_num(g['mean_asymmetry_pct'], '+.1f'):>8}  {band:<6}{_num(g['mean_depth_m'], '.2f'):>8}")
    print("(shift: mean of each rep's largest held medial shift, mm; asymmetry: (left - right) / (left + right), "
          "bands " + ", ".join(f"{b['band']} {b['range']}" for b in report["bands"]) + ")")
    trend = report["trend"]
    if trend:
        print(f"\ntrend over {trend['sessions']} sessions, per {trend['per_days']:g} days: " + (
            ", ".join(f"{label} {_num(trend[key], '+.1f')}{unit}" for label, key, unit in (
                ("left flagged", "left_flagged_pp", " pp"), ("right flagged", "right_flagged_pp", " pp"),
                ("asymmetry size", "asymmetry_size_pp", " pp"), ("depth", "mean_depth_m", " m")))
            if trend["left_flagged_pp"] is not None or trend["asymmetry_size_pp"] is not None else "-"))
        if "note" in trend:
            print(f"  note: {trend['note']}")
    print("\nknee collapse (moderate or severe flags) by load:")
    for side in SIDES:
        c = report["collapse"][side]
        cause = f" -> {c['cause']}" if c.get("cause") else ""
        print(f"  {side}: {c['answer']}{cause}: {c['reason']}")
