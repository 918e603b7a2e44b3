"""``forceplate demo``, ``live`` and ``simulate``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from forceplate.cli.common import add_analysis_options, add_metadata_options, metadata, thresholds
from forceplate.errors import ForceplateError

DEMO_URL = "sim://dual-plate"
DEMO_DURATION_S = 40.0
LSL_HELP = "publish feet forces/CoP and events on Lab Streaming Layer (forceplate-feet, forceplate-events)"


def register(add_command) -> None:
    demo = add_command("demo", "run a live session on the built-in simulator", run_live, """\
  forceplate demo                          live window on the simulator (terminal view without a display)
  forceplate demo --headless --duration 20
  forceplate demo --record trial.h5        also save the trial (raw counts, calibration, events)
  forceplate demo --device 'sim://dual-plate?seed=4&reps=10&valgus=3:left:severe'""")
    live = add_command("live", "run a live session on devices", run_live, """\
  forceplate live --device /dev/ttyACM0 --record squat.h5
  forceplate live --device 'sim://dual-plate?speed=2' --headless
  forceplate live --device 'replay://squat.h5?speed=4'     play a saved trial back through the window""")
    for command, is_demo in ((demo, True), (live, False)):
        command.add_argument("--device", action="append", metavar="URL", required=not is_demo,
                             help="device URL: a serial port (/dev/ttyACM0, COM3), sim://dual-plate?options "
                                  "or replay://FILE.h5?device=SERIAL&speed=X"
                                  + (f" (default {DEMO_URL})" if is_demo else ""))
        command.add_argument("--headless", action="store_true", help="terminal view instead of the window")
        command.add_argument("--duration", type=float, metavar="S", default=DEMO_DURATION_S if is_demo else None,
                             help="stop after S seconds"
                                  + (f" (default {DEMO_DURATION_S:g}; 0 = until Ctrl-C)" if is_demo else ""))
        command.add_argument("--record", metavar="FILE.h5", help="save the trial to this HDF5 file")
        command.add_argument("--lsl", action="store_true", help=LSL_HELP)
        add_analysis_options(command, offline=False)
        add_metadata_options(command)
    simulate = add_command("simulate", "run a simulated device on a pseudo-terminal for another program to open",
                           run_simulate, "  forceplate simulate 'sim://dual-plate?reps=5'    prints the pseudo-terminal to open")
    simulate.add_argument("url", nargs="?", default=DEMO_URL, metavar="URL")
    simulate.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")


def _has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc")))


def run_live(args) -> int:
    from forceplate.calibration.record import record_warning
    from forceplate.live.terminal import format_status, run_terminal
    from forceplate.session import Session

    urls = args.device or [DEMO_URL]
    duration = args.duration or None
    if args.record and Path(args.record).exists():
        raise ForceplateError(f"{args.record}: file exists; choose another name (trials are never overwritten)")
    headless = args.headless
    if not headless and not _has_display():
        print("forceplate: no display found; showing the terminal view (use --headless to silence this)",
              file=sys.stderr)
        headless = True
    session = Session(urls, record_path=args.record, metadata=metadata(args), toe_out_deg=args.toe_out,
                      thresholds=thresholds(args))
    for link in session.links:
        d = link.device
        cal = d.calibration.source if d.calibration else "NONE (raw counts only, no forces)"
        print(f"{link.name}: {d.info.get('model', '?')} on {d.url}, {d.profile.rate_hz:g} Hz, calibration {cal}")
        warning = record_warning(d.calibration, link.name)
        if warning:
            print(f"forceplate: warning: {warning}", file=sys.stderr)
    publisher = None
    try:
        if args.lsl:
            from forceplate.interop.lsl import LslPublisher

            publisher = LslPublisher(session)
        session.start()
        if headless:
            run_terminal(session, duration)
        else:
            from forceplate.live.window import run_window

            run_window(session, duration)
    finally:
        try:
            session.close()  # a failed recording raises here: one line from main, no "saved"
        finally:
            if publisher is not None:  # after the session: its reader threads hand it events
                publisher.close()
        print(f"status: {format_status(session)}")
        if args.record:
            truth = session.ground_truth
            if truth is not None:
                path = Path(args.record).with_suffix(".truth.json")
                path.write_text(json.dumps({"reps": [r.as_dict() for r in truth]}, indent=1))
            print(f"saved {args.record}")
    return 1 if session.any_disconnected else 0


def run_simulate(args) -> int:
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
