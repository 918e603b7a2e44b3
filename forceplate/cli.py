"""The ``forceplate`` command: parses arguments and prints; computes nothing itself."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from forceplate import __version__
from forceplate.errors import ForceplateError

DEMO_URL = "sim://dual-plate"
DEMO_DURATION_S = 40.0

EXAMPLES = {
    "demo": """examples:
  forceplate demo                          live window on the simulator (terminal view without a display)
  forceplate demo --headless --duration 20
  forceplate demo --record trial.h5        also save the trial (raw counts, calibration, events)
  forceplate demo --device 'sim://dual-plate?seed=4&reps=10&valgus=3:left:severe'""",
    "live": """examples:
  forceplate live --device /dev/ttyACM0 --record squat.h5
  forceplate live --device 'sim://dual-plate?speed=2' --headless""",
    "analyze": """examples:
  forceplate analyze trial.h5              rep table
  forceplate analyze trial.h5 --json       the same as one JSON object
  forceplate analyze trial.h5 --calibration SIM-DP-0001.toml   re-analyse with another record""",
    "simulate": """examples:
  forceplate simulate 'sim://dual-plate?reps=5'    prints the pseudo-terminal to open as a serial port""",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="forceplate",
        description="Dual force plates and pressure insoles for squats: forces, centre of pressure, "
                    "medial load shift and live knee-collapse (valgus) flags.",
        epilog="Run 'forceplate COMMAND --help' for a command's options and examples.",
    )
    p.add_argument("--version", action="version", version=f"forceplate {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, help_text):
        return sub.add_parser(name, help=help_text, description=help_text, epilog=EXAMPLES.get(name),
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    for name, help_text in (("demo", "run a live session on the built-in simulator"),
                            ("live", "run a live session on devices")):
        c = command(name, help_text)
        c.add_argument("--device", action="append", metavar="URL",
                       help="device URL: a serial port (/dev/ttyACM0, COM3) or sim://dual-plate?options"
                            + (f" (default {DEMO_URL})" if name == "demo" else ""),
                       required=name == "live")
        c.add_argument("--headless", action="store_true", help="terminal view instead of the window")
        c.add_argument("--duration", type=float, metavar="S",
                       default=DEMO_DURATION_S if name == "demo" else None,
                       help="stop after S seconds" + (f" (default {DEMO_DURATION_S:g}; 0 = until Ctrl-C)" if name == "demo" else ""))
        c.add_argument("--record", metavar="FILE.h5", help="save the trial to this HDF5 file")
        _analysis_options(c)
        _metadata_options(c)

    c = command("analyze", "analyse a saved trial: reps, medial shift, flags")
    c.add_argument("file", metavar="FILE.h5")
    c.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    c.add_argument("--calibration", metavar="RECORD.toml", help="use this calibration record instead of the stored one")
    _analysis_options(c, toe_out_default=None)

    c = command("simulate", "run a simulated device on a pseudo-terminal for another program to open")
    c.add_argument("url", nargs="?", default=DEMO_URL, metavar="URL")
    c.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    return p


def _analysis_options(c, toe_out_default=0.0):
    c.add_argument("--toe-out", type=float, default=toe_out_default, metavar="DEG",
                   help="how far each foot is turned out, degrees; medial is perpendicular to the foot's axis"
                        + (" (default 0)" if toe_out_default is not None else " (default: as recorded)"))
    c.add_argument("--threshold-scale", type=float, default=1.0, metavar="X",
                   help="scale the flag thresholds (mild 3.5, moderate 7.5, severe 12.5 mm) for this person")


def _metadata_options(c):
    c.add_argument("--subject", help="subject id, stored in the trial")
    c.add_argument("--load-kg", type=float, help="external load (barbell), kg")
    c.add_argument("--exercise", default="squat")
    c.add_argument("--notes", default="")


def _thresholds(args):
    from forceplate.processing.valgus import Thresholds

    if args.threshold_scale <= 0:
        raise ForceplateError("--threshold-scale must be positive")
    return Thresholds().scaled(args.threshold_scale)


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc")))


def cmd_live(args) -> int:
    from forceplate.live.terminal import format_status, run_terminal
    from forceplate.session import Session

    urls = args.device or [DEMO_URL]
    duration = None if not args.duration else args.duration
    if args.record and Path(args.record).exists():
        raise ForceplateError(f"{args.record}: file exists; choose another name (trials are never overwritten)")
    metadata = {"subject": args.subject, "load_kg": args.load_kg, "exercise": args.exercise, "notes": args.notes}
    headless = args.headless
    if not headless and not _has_display():
        print("forceplate: no display found; showing the terminal view (use --headless to silence this)",
              file=sys.stderr)
        headless = True
    session = Session(urls, record_path=args.record, metadata=metadata, toe_out_deg=args.toe_out,
                      thresholds=_thresholds(args))
    for link in session.links:
        d = link.device
        cal = d.calibration.source if d.calibration else "NONE (raw counts only, no forces)"
        print(f"{link.name}: {d.info.get('model', '?')} on {d.url}, {d.profile.rate_hz:g} Hz, calibration {cal}")
    try:
        session.start()
        if headless:
            run_terminal(session, duration)
        else:
            from forceplate.live.window import run_window

            run_window(session, duration)
    finally:
        session.close()
        print(f"status: {format_status(session)}")
        if args.record:
            truth = session.ground_truth
            if truth is not None:
                path = Path(args.record).with_suffix(".truth.json")
                path.write_text(json.dumps({"reps": [r.as_dict() for r in truth]}, indent=1))
            print(f"saved {args.record}")
    return 1 if session.all_disconnected else 0


def cmd_analyze(args) -> int:
    from forceplate.calibration.record import load_record
    from forceplate.offline import analyze_trial
    from forceplate.storage.reader import open_trial

    trial = open_trial(args.file)
    calibration = load_record(args.calibration) if args.calibration else None
    result = analyze_trial(trial, calibration, args.toe_out, _thresholds(args))
    report = result.as_dict()
    report["summary"]["file"] = str(args.file)
    report["summary"]["complete"] = trial.complete
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    s = report["summary"]
    b = s["baseline"]
    print(f"{args.file}: {s['duration_s']:.1f} s, body weight {b['body_weight_n']:.1f} N ({b['mass_kg']:.1f} kg), "
          f"{s['reps']} reps, {s['flagged_reps']} flagged" + ("" if trial.complete else "  [recording incomplete]"))
    print(f"{'rep':>3} {'start':>7} {'bottom':>7} {'end':>7} {'depth':>6}  {'left shift':>10} {'flag':<9}{'phase':<8}"
          f"{'right shift':>11} {'flag':<9}{'phase':<8}")
    for r in report["reps"]:
        cells = "".join(f"{r[s]['medial_shift_mm']:>8.1f} mm {r[s]['flag']:<9}{r[s]['phase'] or '-':<8}" for s in ("left", "right"))
        print(f"{r['index']:>3} {r['start_s']:>6.2f}s {r['bottom_s']:>6.2f}s {r['end_s']:>6.2f}s {r['depth_m']:>5.2f}m  {cells}"
              + ("  partial" if r["partial"] else ""))
    return 0


def cmd_simulate(args) -> int:
    import time

    from forceplate.sim.urls import open_simulator

    sim = open_simulator(args.url if "://" in args.url else f"sim://{args.url}")
    print(sim.port_path, flush=True)
    print(f"simulated {args.url} on {sim.port_path}: open it as a serial port (Ctrl-C to stop)", file=sys.stderr)
    try:
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = {"demo": cmd_live, "live": cmd_live, "analyze": cmd_analyze, "simulate": cmd_simulate}[args.command]
    try:
        return handler(args)
    except ForceplateError as exc:
        print(f"forceplate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
