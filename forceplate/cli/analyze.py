"""``forceplate analyze``: the rep table of a saved trial, for the exercise it shows."""

from __future__ import annotations

import json

from forceplate.cli.common import SIDES, add_analysis_options, check_new_output, thresholds, write_output
from forceplate.errors import ForceplateError


def register(add_command) -> None:
    command = add_command("analyze", "analyse a saved trial as its exercise: reps, phases, flags", run_analyze, """\
  forceplate analyze trial.h5              rep table
  forceplate analyze trial.h5 --json       the same as one JSON object
  forceplate analyze trial.h5 --calibration SIM-DP-0001.toml   re-analyse with another record
  forceplate analyze trial.h5 --report trial.html     self-contained HTML report with plots
  forceplate analyze trial.h5 --save                  store the results in the trial (/processing)
  forceplate analyze jump.h5 --exercise countermovement_jump   flights, heights, RSI, phases
  forceplate analyze eo.h5 --exercise quiet_standing --eyes-closed ec.h5   sway, eyes open vs closed
  forceplate analyze trial.h5 --flag-reference P01.toml   grade against this person's reference

a squat trial whose subject has a flag reference in the lab's folder ('forceplate calibrate flag')
is graded against it, and the results say so; --no-flag-reference grades against the trial's own reps.

exercises (docs/exercises.md): squat, single_leg_squat, countermovement_jump, squat_jump,
drop_jump, drop_landing, sit_to_stand, quiet_standing, isometric_squat, force_summary (walking:
no reps). Without --exercise: the trial's exercise attribute, else recognised from the force pattern
(and said so).""")
    command.add_argument("file", metavar="FILE.h5")
    command.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    command.add_argument("--calibration", metavar="RECORD.toml", help="use this calibration record instead of the stored one")
    command.add_argument("--report", metavar="REPORT.html", help="also write an HTML report with plots")
    command.add_argument("--force", action="store_true", help="overwrite an existing --report file")
    command.add_argument("--save", action="store_true",
                         help="store the results in the trial file under /processing (replacing earlier ones)")
    command.add_argument("--exercise", metavar="NAME",
                         help="analyse as this exercise (default: the trial's exercise attribute, else recognised)")
    command.add_argument("--eyes-closed", metavar="FILE.h5",
                         help="quiet standing: the eyes-closed trial to compare with this (eyes-open) one")
    reference = command.add_mutually_exclusive_group()
    reference.add_argument("--flag-reference", metavar="REF.toml",
                           help="squat: grade the flag against this person's reference (default: the subject's "
                                "reference in the lab's folder, if any; --threshold-scale multiplies its thresholds)")
    reference.add_argument("--no-flag-reference", action="store_true",
                           help="squat: grade against the trial's own reps, even when the subject has a reference")
    add_analysis_options(command)


def run_analyze(args) -> int:
    from forceplate.calibration.record import check_fits_trial, load_record
    from forceplate.exercises import check_exercise_options, choose, finish_summary, run
    from forceplate.exercises.model import NotThisExercise, Options
    from forceplate.offline import TrialFeet, release_long_counts, save_analysis, save_exercise_results
    from forceplate.processing.quality import recording_quality
    from forceplate.storage.reader import open_trial

    check_new_output(args.report, args.force)
    trial = open_trial(args.file)
    calibration = load_record(args.calibration) if args.calibration else None
    if calibration is not None:
        check_fits_trial(calibration, {name: d.profile.n_channels for name, d in trial.devices.items()})
    # Before the analysis: its float64 temporaries and the analysis' arrays are then not yet held.
    quality = {name: recording_quality(d, calibration) for name, d in trial.devices.items()}
    release_long_counts(trial)
    feet_of = TrialFeet(trial, calibration)
    exercise, chosen_by = choose(args.exercise, trial.attrs, feet_of)
    check_exercise_options(exercise.name, args.file, bool(args.flag_reference), bool(args.eyes_closed))
    reference = flag_reference(args, trial.attrs) if exercise.name == "squat" else None
    options = Options(args.toe_out, reference.thresholds(args.threshold_scale) if reference else thresholds(args),
                      static=open_trial(args.static) if args.static else None, flag_reference=reference)
    if args.eyes_closed:
        options.eyes_closed = TrialFeet(open_trial(args.eyes_closed), None)()
    try:
        exercise, chosen_by, report, analysis = run(exercise, chosen_by, trial, calibration, options, feet_of)
    except NotThisExercise as exc:
        raise NotThisExercise(f"{args.file}: {exc} (exercise chosen by {chosen_by}; choose another with --exercise)") \
            from None
    if args.save and analysis is not None:
        save_analysis(trial, analysis, calibration, reference)
    elif args.save:
        save_exercise_results(trial, exercise, report, calibration, args.eyes_closed)
    if args.report:
        from forceplate.reporting.html import render, render_exercise  # only for a report: ~20 ms to import
    if args.report and analysis is not None:
        # the first analysed device's profile: a plate's outline is drawn, an insole has none
        profile = trial.devices[analysis.devices[0]].profile
        write_output(args.report, render(report, analysis, profile, trial.attrs, str(args.file), trial=trial), args.force)
    elif args.report:
        write_output(args.report, render_exercise(report, exercise, feet_of(), trial.attrs, str(args.file)), args.force)
    finish_summary(report, exercise, chosen_by, feet_of)
    summary = report["summary"]
    summary["file"] = str(args.file)
    summary["complete"] = trial.complete
    summary["recovered"] = trial.recovered
    summary["quality"] = quality
    if args.json:
        print(json.dumps(report, indent=1))
    elif exercise.kind == "squat":
        print_table(report)
    else:
        print_exercise_table(report, exercise)
    return 0


def flag_reference(args, attrs):
    """The flag reference a squat is graded with: ``--flag-reference``, else the subject's in the
    lab's folder (none with ``--no-flag-reference``)."""
    from forceplate.calibration.flag import find_reference, load_reference

    thresholds(args)  # the scale is checked whether or not a reference is found
    if getattr(args, "no_flag_reference", False):
        return None
    subject = attrs.get("subject") or None
    if getattr(args, "flag_reference", None):
        reference = load_reference(args.flag_reference)
        if subject and reference.subject != subject:
            raise ForceplateError(f"{args.flag_reference}: the flag reference of {reference.subject!r}; "
                                  f"the trial is of {subject!r}")
        return reference
    return find_reference(subject)


def trial_exercise_results(path, toe_out_deg=None, chosen_thresholds=None, header=None):
    """(trial header or trial, exercise, results) of a saved trial, for compare and export: a
    squat through ``offline.trial_results`` (stored results reused when they match), another
    exercise's stored results when this version made them, else a fresh analysis as the exercise
    its ``exercise`` attribute names or the force pattern shows. ``header``: the trial's header
    when the caller has read it already."""
    from forceplate.exercises import get, own_module
    from forceplate.exercises.model import ALGORITHM_VERSION
    from forceplate.storage.reader import open_trial, read_header

    header = header or read_header(path)
    stored = header.results
    if stored is not None and stored["summary"].get("algorithm_version") == ALGORITHM_VERSION:
        return header, get(stored["summary"]["exercise"]), stored  # an alias, or an error naming the known ones
    from forceplate.offline import trial_results

    named = own_module(str(header.attrs.get("exercise") or ""))
    if named is not None and named.name == "squat":  # what choose() gives; the header is not read again
        header, results = trial_results(path, toe_out_deg, chosen_thresholds, header)
        return header, named, results
    from forceplate.exercises import choose, run
    from forceplate.exercises.model import Options
    from forceplate.offline import TrialFeet

    trial = None

    def feet_of():
        nonlocal trial
        trial = trial or open_trial(path)
        return TrialFeet(trial, None)()

    exercise, chosen_by = choose(None, header.attrs, feet_of)
    if exercise.name == "squat":
        header, results = trial_results(path, toe_out_deg, chosen_thresholds)
        return header, exercise, results
    trial = trial or open_trial(path)
    exercise, _, results, _ = run(exercise, chosen_by, trial, None, Options(toe_out_deg, chosen_thresholds), feet_of)
    return trial, exercise, results


def print_exercise_table(report: dict, exercise) -> None:
    """The table of a non-squat exercise: its own columns (reporting/exercise_table.py), one row
    per rep, or quiet standing's sway rows."""
    from forceplate.reporting.exercise_table import SUMMARY_KINDS, columns, rows

    s = report["summary"]
    weight = f", body weight {s['body_weight_n']:.1f} N" if s.get("body_weight_n") else ""
    state = "" if s["complete"] else "  [recovered after a crash]" if s["recovered"] else "  [recording incomplete]"
    count = "" if exercise.kind in SUMMARY_KINDS else f": {s['reps']} {exercise.kind} rep(s)"
    print(f"{s['file']}: {s['duration_s']:.1f} s{weight}, {exercise.title}{count}" + state)
    print(f"exercise chosen by {s['exercise_chosen_by']}")
    print(f"knee-collapse flag: {s['collapse_flag']}")
    for note in s.get("notes", []):
        if note != s["collapse_flag"]:
            print(f"note: {note}")
    for name, q in s["quality"].items():
        print(f"quality {name}: " + ("ok" if q["ok"] else "; ".join(q["flags"])))
    table = columns(exercise)
    label = 14 if exercise.kind in SUMMARY_KINDS else 0  # sway rows are named, reps are numbered in a column
    widths = {c.key: w.width for c, w in zip(table, exercise.columns, strict=True)}
    print(f"{'':<{label}}" + " ".join(f"{c.header:>{widths[c.key]}}" for c in table))
    for name, row in rows(exercise, report):
        print((f"{name:<{label}}" if label else "") + " ".join(f"{c.cell(row):>{widths[c.key]}}" for c in table))


def _depth(depth_m) -> str:
    return "    - " if depth_m is None else f"{depth_m:>5.2f}m"


def _phases(side: dict) -> str:
    """'onset>peak' phase of a flagged side (the same when it peaked where it began), or '-'."""
    onset, peak = side.get("onset_phase"), side.get("peak_phase")
    if not onset:
        return "-"
    return onset if peak in (None, onset) else f"{onset}>{peak}"


def print_table(report: dict) -> None:
    s = report["summary"]
    b = s["baseline"]
    state = "" if s["complete"] else "  [recovered after a crash]" if s["recovered"] else "  [recording incomplete]"
    # under a flywheel's or band's pull the standing force is the pull's too: no body weight, no mass
    weight = (f"force under an external pull {b['standing_weight_n']:.1f} N (no body weight)" if b.get("pulled")
              else f"body weight {b['body_weight_n']:.1f} N ({b['mass_kg']:.1f} kg)")
    print(f"{s['file']}: {s['duration_s']:.1f} s, {weight}, {s['reps']} rep{'' if s['reps'] == 1 else 's'}, "
          f"{s['flagged_reps']} flagged" + state)
    if s.get("exercise", "squat") != "squat":
        print(f"{s['exercise']}: knee-collapse flag on the {s['standing_leg']} (standing) leg only")
    for name, q in s["quality"].items():
        print(f"quality {name}: " + ("ok" if q["ok"] else "; ".join(q["flags"])))
    print(f"{'rep':>3} {'start':>7} {'bottom':>7} {'end':>7} {'depth':>6}  {'left shift':>10} {'flag':<9}"
          f"{'onset>peak':<15}{'right shift':>11} {'flag':<9}{'onset>peak':<15}")
    for r in report["reps"]:
        # no CoP (a vertical-force-only file, a single-leg squat's lifted foot): no shift
        cells = "".join(f"{_mm(r[s]['medial_shift_mm']):>11} {r[s]['flag']:<9}{_phases(r[s]):<15}" for s in SIDES)
        print(f"{r['index']:>3} {r['start_s']:>6.2f}s {r['bottom_s']:>6.2f}s {r['end_s']:>6.2f}s {_depth(r['depth_m'])}  {cells}"
              + ("  partial" if r["partial"] else ""))
    # after the table: the lines above stay where scripts read them
    print(f"standing weight {b['standing_weight_n']:.1f} N from {b['weight_source']}; foot axes: {b['axis_source']} "
          f"(toe-out left {b['toe_out_deg']['left']:.0f}, right {b['toe_out_deg']['right']:.0f} deg)")
    for note in s.get("notes", [])[2:]:  # the first two are the line above
        print(f"note: {note}")
    if s.get("exercise_chosen_by", "").startswith("recognised"):
        print(f"exercise {s['exercise']}, {s['exercise_chosen_by']}")


def _mm(value: float | None) -> str:
    from forceplate.reporting.numbers import number

    return "-" if value is None else f"{number(value, 1)} mm"  # never "-0.0 mm"
