"""``forceplate analyze``: the rep table of a saved trial."""

from __future__ import annotations

import json

from forceplate.cli.common import add_analysis_options, thresholds

SIDES = ("left", "right")


def register(add_command) -> None:
    command = add_command("analyze", "analyse a saved trial: reps, medial shift, flags", run_analyze, """\
  forceplate analyze trial.h5              rep table
  forceplate analyze trial.h5 --json       the same as one JSON object
  forceplate analyze trial.h5 --calibration SIM-DP-0001.toml   re-analyse with another record""")
    command.add_argument("file", metavar="FILE.h5")
    command.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    command.add_argument("--calibration", metavar="RECORD.toml", help="use this calibration record instead of the stored one")
    add_analysis_options(command, toe_out_default=None)


def run_analyze(args) -> int:
    from forceplate.calibration.record import load_record
    from forceplate.offline import analyze_trial
    from forceplate.storage.reader import open_trial

    trial = open_trial(args.file)
    calibration = load_record(args.calibration) if args.calibration else None
    report = analyze_trial(trial, calibration, args.toe_out, thresholds(args)).as_dict()
    report["summary"]["file"] = str(args.file)
    report["summary"]["complete"] = trial.complete
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_table(report, trial.complete)
    return 0


def print_table(report: dict, complete: bool = True) -> None:
    s = report["summary"]
    b = s["baseline"]
    print(f"{s['file']}: {s['duration_s']:.1f} s, body weight {b['body_weight_n']:.1f} N ({b['mass_kg']:.1f} kg), "
          f"{s['reps']} reps, {s['flagged_reps']} flagged" + ("" if complete else "  [recording incomplete]"))
    print(f"{'rep':>3} {'start':>7} {'bottom':>7} {'end':>7} {'depth':>6}  {'left shift':>10} {'flag':<9}{'phase':<8}"
          f"{'right shift':>11} {'flag':<9}{'phase':<8}")
    for r in report["reps"]:
        cells = "".join(f"{r[s]['medial_shift_mm']:>8.1f} mm {r[s]['flag']:<9}{r[s]['phase'] or '-':<8}" for s in SIDES)
        print(f"{r['index']:>3} {r['start_s']:>6.2f}s {r['bottom_s']:>6.2f}s {r['end_s']:>6.2f}s {r['depth_m']:>5.2f}m  {cells}"
              + ("  partial" if r["partial"] else ""))
