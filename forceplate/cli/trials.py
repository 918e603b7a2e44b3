"""``forceplate record``, ``recover``, ``compare``, ``trials`` and ``export``: the trial library."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from forceplate.cli.common import (LSL_HELP, SIDES, add_analysis_options, add_metadata_options, check_new_output, show,
                                   threshold_scale, thresholds)
from forceplate.errors import ForceplateError


def register(add_command) -> None:
    record = add_command("record", "record devices to a trial file, headless (Ctrl-C ends it cleanly)", run_record, """\
  forceplate record --device /dev/ttyACM0 -o squat.h5 --subject P07 --load-kg 40
  forceplate record --device 'sim://dual-plate?speed=4' -o sim.h5 --duration 30""")
    record.add_argument("--device", action="append", metavar="URL", required=True,
                        help="device URL (repeat for several devices): a serial port or sim://dual-plate?options")
    record.add_argument("-o", "--output", dest="record", metavar="FILE.h5", required=True,
                        help="the trial file to create (never overwritten)")
    record.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    record.add_argument("--lsl", action="store_true", help=LSL_HELP)
    add_analysis_options(record, offline=False)
    add_metadata_options(record)
    record.set_defaults(headless=True)

    recover = add_command("recover", "make a trial left by a crash readable again", run_recover, """\
  forceplate recover squat.h5     rebuilds squat.h5, keeps the original as squat.crashed.h5""")
    recover.add_argument("file", metavar="FILE.h5")

    compare = add_command("compare", "compare trials rep by rep and set by set (the first is the reference)",
                          run_compare, """\
  forceplate compare before.h5 after.h5
  forceplate compare light.h5 medium.h5 heavy.h5 --json     flagged share against load_kg""")
    compare.add_argument("files", nargs="+", metavar="FILE.h5")
    compare.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    compare.add_argument("--report", metavar="FILE.html",
                         help="also write the comparison with plots (shift per rep, flagged share vs load)")
    compare.add_argument("--force", action="store_true", help="overwrite an existing --report file")
    add_analysis_options(compare)

    trials = add_command("trials", "list the trials in a folder (analysing those never analysed)", run_trials, """\
  forceplate trials data/
  forceplate trials data/ --subject P07 --exercise squat --json""")
    trials.add_argument("folder", metavar="DIR")
    trials.add_argument("--subject", help="only this subject")
    trials.add_argument("--exercise", help="only this exercise")
    trials.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    export = add_command("export", "export a trial as CSV files", run_export, """\
  forceplate export squat.h5 --csv squat_csv/    raw counts per device, forces/CoP per foot, reps""")
    export.add_argument("file", metavar="FILE.h5")
    export.add_argument("--csv", required=True, metavar="DIR", help="folder for the CSV files (created)")
    add_analysis_options(export)


class Progress:
    """A progress line on standard error, redrawn in place; silent unless stderr is a terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.active = self.stream.isatty()
        self._shown = False

    def __call__(self, label: str, done: int, total: int) -> None:
        if self.active:
            self.stream.write(f"\r{label}: {done}/{total} ({100 * done // max(total, 1)}%)\033[K")
            self.stream.flush()
            self._shown = True

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # the session's Ctrl-C path closes the file cleanly


def run_record(args) -> int:
    from forceplate.cli.live import run_live

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    return run_live(args)  # it analyses the recording and stores the results, as live --record does


def run_recover(args) -> int:
    from forceplate.storage.recovery import recover_trial

    report = recover_trial(args.file)
    if report["action"] == "none":
        print(f"{args.file}: {report['reason']}")
        return 0
    kept = "; ".join(f"{name}: {d['frames']} frames kept, {d['trimmed_rows']} cut-short rows dropped"
                     + (f", {d['unreadable_rows']} frames LOST in damaged chunks (recorded as gaps)"
                        if d["unreadable_rows"] else "")
                     for name, d in report["devices"].items())
    print(f"{args.file}: recovered ({kept}; {report['events']} events). Original kept as {report['backup']}")
    return 0


def run_compare(args) -> int:
    from forceplate.library.index import LibraryIndex
    from forceplate.reporting.compare import compare_exercise_metrics, compare_metrics

    def render(report: dict) -> str:  # only with --report: the HTML module costs ~20 ms to import
        from forceplate.reporting.html import render_comparison, render_exercise_comparison

        return render_comparison(report, thresholds(args)) if kind == "squat" else render_exercise_comparison(report)

    check_new_output(args.report, args.force)
    # what compare takes of a trial depends on the file and on these options only
    index = LibraryIndex("compare", json.dumps([args.toe_out, threshold_scale(args)]))
    chosen = None  # the thresholds: made only when a trial is read (they bring the analysis)
    trials, exercises = [], {}
    for file in args.files:
        compared, identity = index.lookup(file)
        if compared is None:
            chosen = thresholds(args) if chosen is None else chosen
            compared, from_stored_results = compared_trial(file, args.toe_out, chosen)
            if from_stored_results:
                index.store(identity, compared)
        trials.append((str(file), compared["attrs"], compared["metrics"]))
        exercises.setdefault(compared["exercise"], []).append(str(file))
    if len(exercises) > 1:
        raise ForceplateError("compare trials of one exercise; these are " +
                              "; ".join(f"{name}: {', '.join(files)}" for name, files in exercises.items()))
    kind = compared["kind"]
    if kind != "squat":
        show(compare_exercise_metrics(compared["heading"], trials), args, print_exercise_comparison, render)
        return 0
    report = compare_metrics(trials)
    for warning in report["load"]["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    show(report, args, print_comparison, render)
    return 0


def compared_trial(file, toe_out_deg, chosen_thresholds) -> tuple[dict, bool]:
    """What compare takes of one trial (JSON-ready: the library index keeps it): its
    exercise, the attributes compared, the exercise's heading (None for a squat) and the
    trial's metrics; and whether they come from the results stored in the file (else from a
    fresh analysis, which the index never keeps)."""
    from forceplate.cli.analyze import trial_exercise_results
    from forceplate.reporting.compare import exercise_heading, exercise_metrics, trial_metrics

    header, exercise, results = trial_exercise_results(file, toe_out_deg, chosen_thresholds)
    squat = exercise.kind == "squat"
    compared = {"exercise": exercise.name, "kind": exercise.kind,
                "attrs": {name: header.attrs.get(name) for name in ("subject", "exercise", "load_kg")},
                "heading": None if squat else exercise_heading(exercise),
                "metrics": trial_metrics(results) if squat else exercise_metrics(exercise, results)}
    return compared, results is header.results


def print_exercise_comparison(report: dict) -> None:
    """Per set (each column's mean over the reps) and per rep, A first, each other trial's difference from A."""
    from forceplate.reporting.exercise_table import formatted

    entries, columns = report["trials"], report["columns"]
    labels = [chr(ord("A") + i) for i in range(len(entries))]
    for label, e in zip(labels, entries, strict=True):
        load = "" if e["load_kg"] is None else f", {e['load_kg']:g} kg"
        print(f"{label}: {e['file']} ({e['subject'] or 'no subject'}, {e['exercise']}{load})")
    width = max(9, *(len(c["header"]) + 1 for c in columns))

    def line(head, values, signed=False):
        cells = [formatted(values.get(c["key"]), c["fmt"]) for c in columns]
        if signed:
            cells = [cell if cell == "-" or cell.startswith("-") else "+" + cell for cell in cells]
        return f"{head:<12}" + "".join(f"{cell:>{width}}" for cell in cells)

    print(f"\nper set ({report['set_is']})")
    print(f"{'':<12}" + "".join(f"{c['header']:>{width}}" for c in columns))
    print(line(labels[0], entries[0]["set"]))
    for label, e in zip(labels[1:], entries[1:], strict=True):
        print(line(label, e["set"]))
        print(line(f"{label}-A", e["set_difference"], signed=True))
    print("\nper rep" if report["set_is"] == "the mean of its reps" else "\nper foot")
    for row in report["reps"]:
        for i, (label, m) in enumerate(zip(labels, row["trials"], strict=True)):
            name = f"{m['label'] if m else row['index']} {label}"
            print(f"{name:<12}  (no such rep)" if m is None else line(name, m))


def _num(value, fmt=".1f", signed=False) -> str:
    """``value`` by ``fmt`` (the report's rounding: "-" when missing, never "-0.0")."""
    if value is None:
        return "-"
    if fmt.endswith("f"):
        value = round(float(value), int(fmt[1:-1])) + 0.0
    return format(value, ("+" if signed else "") + fmt)


def print_comparison(report: dict) -> None:
    entries = report["trials"]
    labels = [chr(ord("A") + i) for i in range(len(entries))]
    for label, e in zip(labels, entries, strict=True):
        load = "" if e["load_kg"] is None else f", {e['load_kg']:g} kg"
        print(f"{label}: {e['file']} ({e['subject'] or 'no subject'}, {e['exercise'] or '-'}{load})")
    print("\nper set")
    print(f"{'':<7}{'reps':>5}{'flagged':>8}{'share':>8}{'L mean':>8}{'L max':>7}{'L flag':>7}"
          f"{'R mean':>8}{'R max':>7}{'R flag':>7}{'asym %':>8}{'depth m':>8}")

    def set_line(name, m, signed=False):
        return (f"{name:<7}{_num(m['reps'], 'd', signed):>5}{_num(m['flagged_reps'], 'd', signed):>8}"
                f"{_num(m['flagged_share_pct'], '.1f', signed):>7}%"
                + "".join(f"{_num(m[f'{s}_mean_shift_mm'], '.1f', signed):>8}{_num(m[f'{s}_max_shift_mm'], '.1f', signed):>7}"
                          f"{_num(m[f'{s}_flagged'], 'd', signed):>7}" for s in SIDES)
                + f"{_num(m['mean_asymmetry_pct'], '.1f', signed):>8}{_num(m['mean_depth_m'], '.2f', signed):>8}")

    print(set_line(labels[0], entries[0]["set"]))
    for label, e in zip(labels[1:], entries[1:], strict=True):
        print(set_line(label, e["set"]))
        print(set_line(f"{label}-A", e["set_difference"], signed=True))
    print("\nper rep (medial shift mm and flag per side; differences against A)")
    print(f"{'rep':>3} {'':<5}{'L shift':>8} {'L flag':<9}{'R shift':>8} {'R flag':<9}{'asym %':>7}{'depth m':>8}")
    for row in report["reps"]:
        for i, (label, m) in enumerate(zip(labels, row["trials"], strict=True)):
            head = f"{row['index']:>3} " if i == 0 else "    "
            if m is None:
                print(f"{head}{label:<5}  (no such rep)")
                continue
            print(f"{head}{label:<5}" + "".join(f"{_num(m[f'{s}_shift_mm']):>8} {m[f'{s}_flag']:<9}" for s in SIDES)
                  + f"{_num(m['asymmetry_pct']):>7}{_num(m['depth_m'], '.2f'):>8}")
            d = row["difference"][i - 1] if i else None
            if d:
                print(f"    {label + '-A':<5}" + "".join(
                    f"{_num(d[f'{s}_shift_mm'], signed=True):>8} {_num(d[f'{s}_grade_steps'], 'd', True) + ' grade':<9}"
                    for s in SIDES) + f"{_num(d['asymmetry_pct'], signed=True):>7}{_num(d['depth_m'], '.2f', True):>8}")
    load = report["load"]
    if len(load["points"]) >= 2:
        points = ", ".join(f"{p['load_kg']:g} kg {_num(p['flagged_share_pct'])}%" for p in load["points"])
        slope = load["flagged_share_pp_per_10kg"]
        trend = (f" -> {slope:+.1f} percentage points per 10 kg" if slope is not None
                 else f" ({load['note']})" if load["note"] else "")
        print(f"\nflagged share by load: {points}{trend}")


def run_trials(args) -> int:
    from forceplate.library.index import LibraryIndex

    folder = Path(args.folder)
    if not folder.is_dir():
        raise ForceplateError(f"{folder}: no such folder")

    def wanted(subject, exercise: str) -> bool:
        return not ((args.subject and subject != args.subject) or
                    (args.exercise and exercise.casefold() != args.exercise.casefold()))

    index = LibraryIndex("trials")
    rows = []
    files = sorted(p for p in folder.rglob("*.h5") if not p.name.endswith(".crashed.h5"))
    progress = Progress()
    for i, file in enumerate(files):
        progress("analysing trials", i, len(files))
        row = {"file": str(file.relative_to(folder))}
        try:
            listed = listing(file, wanted, index)
            if listed is None:
                continue
            row.update(listed["row"])
        except ForceplateError as exc:
            if args.subject or args.exercise:
                continue  # an unreadable file cannot be said to match a filter
            row["error"] = str(exc)
        rows.append(row)
    progress.done()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'file':<28} {'subject':<10} {'date':<16} {'exercise':<20} {'load kg':>7} {'reps':>4} {'flagged':>7}")
    for r in rows:
        if "error" in r:
            print(f"{r['file']:<28} unreadable: {r['error']}")
            continue
        load = "-" if r["load_kg"] is None else f"{r['load_kg']:g}"
        flagged = "-" if r["flagged_reps"] is None else r["flagged_reps"]  # no flag outside squats
        print(f"{r['file']:<28} {r['subject'] or '-':<10} {r['date']:<16} {r['exercise'] or '-':<20} {load:>7} "
              f"{r['reps']:>4} {flagged:>7}" + ("" if r["complete"] else "  incomplete"))
    print(f"{len(rows)} trials")
    return 0


def listing(file, wanted, index) -> dict | None:
    """The ``trials`` row of one trial (but its file name), with the exercise attribute the
    --exercise filter reads: from the library index, else from the file (kept in the index
    when its stored results gave it). None when ``wanted(subject, exercise attribute)`` says
    no: the trial is then not analysed."""
    listed, identity = index.lookup(file)
    if listed is not None:
        return listed if wanted(listed["row"]["subject"], listed["exercise_attribute"]) else None
    from forceplate.cli.analyze import trial_exercise_results
    from forceplate.storage.reader import read_header

    header = read_header(file)
    attrs = header.attrs
    exercise_attribute = str(attrs.get("exercise", ""))
    if not wanted(attrs.get("subject"), exercise_attribute):
        return None
    # each trial as its exercise, with its own set-up and the default thresholds
    _, exercise, results = trial_exercise_results(file, header=header)
    s = results["summary"]
    listed = {"exercise_attribute": exercise_attribute,
              "row": dict(subject=attrs.get("subject"), date=str(attrs.get("created", ""))[:16].replace("T", " "),
                          exercise=attrs.get("exercise") or exercise.name, load_kg=attrs.get("load_kg"), reps=s["reps"],
                          flagged_reps=s.get("flagged_reps"), complete=bool(attrs.get("complete", False)))}
    if results is header.results:
        index.store(identity, listed)
    return listed


def run_export(args) -> int:
    from types import SimpleNamespace

    import numpy as np

    from forceplate.offline import analyze_trial, feet_arrays
    from forceplate.processing.baseline import NoBaseline
    from forceplate.reporting.export import export_csv
    from forceplate.storage.reader import open_trial

    trial = open_trial(args.file)
    exercise = _exercise_of(trial)
    try:
        if exercise.name != "squat":
            return _export_exercise(trial, exercise, args)
        analysis = analyze_trial(trial, toe_out_deg=args.toe_out, thresholds=thresholds(args))
        results = analysis.as_dict()
    except NoBaseline as exc:
        # Walking or an imported gait file has no quiet standing: its forces and CoP still
        # export; only the medial shift and the rep table need the baseline.
        print(f"not analysed: {exc}; feet.csv has no medial shift, reps.csv no reps", file=sys.stderr)
        feet = feet_arrays(trial)
        analysis = SimpleNamespace(t=feet.t, fz=feet.fz, cop=feet.cop, shift={side: np.full(len(feet.t), np.nan) for side in SIDES})
        results = {"reps": []}
    progress = Progress()
    written = export_csv(trial, analysis, results, args.csv, progress)
    progress.done()
    for path in written:
        print(path)
    return 0


def _exercise_of(trial):
    """The exercise a trial is exported as: its exercise attribute, else the force pattern's."""
    from forceplate.offline import TrialFeet
    from forceplate.exercises import choose

    return choose(None, trial.attrs, TrialFeet(trial, None))[0]


def _export_exercise(trial, exercise, args) -> int:
    """``export`` of a non-squat trial: forces and CoP per foot, the exercise's reps with units, the events."""
    from types import SimpleNamespace

    from forceplate.offline import TrialFeet
    from forceplate.exercises.model import NotThisExercise, Options
    from forceplate.reporting.export import export_csv

    feet = TrialFeet(trial, None)
    try:
        results, _ = exercise.run_trial(trial, None, Options(args.toe_out, thresholds(args)), feet)
    except NotThisExercise as exc:
        print(f"not analysed: {exc}; reps.csv has no reps", file=sys.stderr)
        results = {"reps": []}
    read = feet()
    analysis = SimpleNamespace(t=read.t, fz=read.fz, cop=read.cop)
    progress = Progress()
    written = export_csv(trial, analysis, results, args.csv, progress, exercise=exercise)
    progress.done()
    for path in written:
        print(path)
    return 0
