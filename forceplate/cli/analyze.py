"""``forceplate analyze``: the rep table of a saved trial."""

from __future__ import annotations

import json

from forceplate.cli.common import add_analysis_options, check_new_output, thresholds, write_output
from forceplate.profiles import SIDES


def register(add_command) -> None:
    command = add_command("analyze", "analyse a saved trial: reps, medial shift, flags", run_analyze, """\
  forceplate analyze trial.h5              rep table
  forceplate analyze trial.h5 --json       the same as one JSON object
  forceplate analyze trial.h5 --calibration SIM-DP-0001.toml   re-analyse with another record
  forceplate analyze trial.h5 --report trial.html     self-contained HTML report with plots
  forceplate analyze trial.h5 --save                  store the results in the trial (/processing)""")
    command.add_argument("file", metavar="FILE.h5")
    command.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    command.add_argument("--calibration", metavar="RECORD.toml", help="use this calibration record instead of the stored one")
    command.add_argument("--report", metavar="REPORT.html", help="also write an HTML report with plots")
    command.add_argument("--force", action="store_true", help="overwrite an existing --report file")
    command.add_argument("--save", action="store_true",
                         help="store the results in the trial file under /processing (replacing earlier ones)")
    add_analysis_options(command)


def run_analyze(args) -> int:
    from forceplate.calibration.record import check_fits_trial, load_record
    from forceplate.offline import analyze_trial, save_analysis
    from forceplate.processing.quality import recording_quality
    from forceplate.reporting.html import render
    from forceplate.storage.reader import open_trial

    check_new_output(args.report, args.force)
    trial = open_trial(args.file)
    calibration = load_record(args.calibration) if args.calibration else None
    if calibration is not None:
        check_fits_trial(calibration, {name: d.profile.n_channels for name, d in trial.devices.items()})
    static = open_trial(args.static) if args.static else None
    analysis = analyze_trial(trial, calibration, args.toe_out, thresholds(args), static=static)
    report = analysis.as_dict()
    if args.save:
        save_analysis(trial, analysis, calibration)
    if args.report:
        # the first analysed device's profile: a plate's outline is drawn, an insole has none
        profile = trial.devices[analysis.devices[0]].profile
        html = render(report, analysis, profile, trial.attrs, str(args.file), trial=trial)
        write_output(args.report, html, args.force)
    report["summary"]["file"] = str(args.file)
    report["summary"]["complete"] = trial.complete
    report["summary"]["recovered"] = trial.recovered
    report["summary"]["quality"] = {name: recording_quality(d, calibration) for name, d in trial.devices.items()}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_table(report)
    return 0


def _depth(depth_m) -> str:
    return "    - " if depth_m is None else f"{depth_m:>5.2f}m"


def print_table(report: dict) -> None:
    s = report["summary"]
    b = s["baseline"]
    state = "" if s["complete"] else "  [recovered after a crash]" if s["recovered"] else "  [recording incomplete]"
    print(f"{s['file']}: {s['duration_s']:.1f} s, body weight {b['body_weight_n']:.1f} N ({b['mass_kg']:.1f} kg), "
          f"{s['reps']} reps, {s['flagged_reps']} flagged" + state)
    print(f"standing weight {b['standing_weight_n']:.1f} N from {b['weight_source']}; foot axes: {b['axis_source']} "
          f"(toe-out left {b['toe_out_deg']['left']:.0f}, right {b['toe_out_deg']['right']:.0f} deg)")
    for name, q in s["quality"].items():
        print(f"quality {name}: " + ("ok" if q["ok"] else "; ".join(q["flags"])))
    print(f"{'rep':>3} {'start':>7} {'bottom':>7} {'end':>7} {'depth':>6}  {'left shift':>10} {'flag':<9}{'phase':<8}"
          f"{'right shift':>11} {'flag':<9}{'phase':<8}")
    for r in report["reps"]:
        # no CoP (a vertical-force-only file): no shift
        cells = "".join(f"{_mm(r[s]['medial_shift_mm']):>11} {r[s]['flag']:<9}{r[s]['phase'] or '-':<8}" for s in SIDES)
        print(f"{r['index']:>3} {r['start_s']:>6.2f}s {r['bottom_s']:>6.2f}s {r['end_s']:>6.2f}s {_depth(r['depth_m'])}  {cells}"
              + ("  partial" if r["partial"] else ""))


def _mm(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} mm"
