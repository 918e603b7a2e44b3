"""``forceplate demo``, ``live`` and ``simulate``."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from forceplate.cli.common import (LSL_HELP, add_analysis_options, add_metadata_options, check_new_output, metadata,
                                   thresholds, write_output)
from forceplate.errors import ForceplateError

DEMO_URL = "sim://dual-plate"
DEMO_DURATION_S = 40.0


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
        command.add_argument("--duration", type=float, metavar="S",
                             help="stop after S seconds"
                                  + (f" (default: the window stays until closed, the terminal view stops after "
                                     f"{DEMO_DURATION_S:g} s; 0 = until closed or Ctrl-C)" if is_demo
                                     else " (default: until the window is closed or Ctrl-C)"))
        command.set_defaults(headless_duration_s=DEMO_DURATION_S if is_demo else None)
        command.add_argument("--tv", action="store_true",
                             help="start the window full screen with only the tiles, the cue and the rep count, "
                                  "for a screen 3-4 m away (F toggles, Esc leaves)")
        command.add_argument("--sound", action="store_true",
                             help="sound a tone on each flag: low in the left channel for the left knee, high in "
                                  "the right for the right; 1-3 pulses for mild, moderate, severe")
        command.add_argument("--record", metavar="FILE.h5", help="save the trial to this HDF5 file")
        command.add_argument("--lsl", action="store_true", help=LSL_HELP)
        add_analysis_options(command, offline=False)
        add_metadata_options(command)
    simulate = add_command("simulate", "run a simulated device on a pseudo-terminal (or TCP) for another program to open",
                           run_simulate, """\
  forceplate simulate 'sim://dual-plate?reps=5'    prints the pseudo-terminal to open
  forceplate simulate sim://dual-plate --listen 127.0.0.1:5000
                                                   serves it on TCP: record --device socket://127.0.0.1:5000
  forceplate simulate 'replay://squat.h5' --listen 0.0.0.0:5000    a saved trial as a network device""")
    simulate.add_argument("url", nargs="?", default=DEMO_URL, metavar="URL",
                          help=f"a simulated device: sim://KIND?options, replay://FILE.h5 or lsl://STREAM (default {DEMO_URL})")
    simulate.add_argument("--listen", metavar="HOST:PORT",
                          help="serve the device on TCP, one host at a time, like a board on Wi-Fi (port 0: any free "
                               "port; the URL to open is printed)")
    simulate.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")


def run_live(args) -> int:
    from forceplate.calibration.record import record_warning
    from forceplate.live.terminal import format_status, run_terminal
    from forceplate.session import Session
    from forceplate.session_view import SessionView

    urls = args.device or [DEMO_URL]
    if args.duration is not None and not 0 <= args.duration < float("inf"):  # NaN fails too
        raise ForceplateError(f"--duration {args.duration:g}: a duration is 0 (until stopped) or more seconds")
    if args.record and Path(args.record).exists():
        raise ForceplateError(f"{args.record}: file exists; choose another name (trials are never overwritten)")
    if args.record:  # a simulator's ground truth goes beside the trial: never over another's
        check_new_output(Path(args.record).with_suffix(".truth.json"))
    headless = args.headless or not _window_can_open()
    duration = session_duration_s(args, headless)
    session = Session(urls, record_path=args.record, metadata=metadata(args), toe_out_deg=args.toe_out,
                      thresholds=thresholds(args), plotted=not headless or bool(args.lsl))
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
            run_terminal(SessionView(session), duration, stop=session.stop)
        else:
            from forceplate.live.window import run_window

            run_window(session, duration, tv=args.tv, audio=args.sound, exercise=getattr(args, "exercise", "squat"))
    finally:
        try:
            session.close()  # a failed recording raises here: one line from main, no "saved"
        finally:
            if publisher is not None:  # after the session: its reader threads hand it events
                publisher.close()
        print(f"status: {format_status(SessionView(session))}")
        if args.record:
            truth = session.ground_truth
            if truth is not None:
                path = Path(args.record).with_suffix(".truth.json")
                write_output(path, json.dumps({"reps": [r.as_dict() for r in truth]}, indent=1))
            print(f"saved {args.record}")
            store_analysis(args)
    return 1 if session.any_disconnected else 0


def store_analysis(args) -> None:
    """Analyse a recording just saved and store the results in it, saying so in one line
    (``record``, ``live --record`` and ``demo --record`` end the same way)."""
    from forceplate.cli.analyze import flag_reference
    from forceplate.exercises import lookup
    from forceplate.offline import analyze_trial, save_analysis
    from forceplate.storage.reader import open_trial

    trial = open_trial(args.record)
    exercise = lookup(str(trial.attrs.get("exercise") or "squat"))
    if exercise is not None and exercise.name != "squat":  # recorded as another exercise: analysed as it
        store_exercise_analysis(trial, exercise, args)
        return
    try:
        reference = flag_reference(args, trial.attrs)
        analysis = analyze_trial(trial, toe_out_deg=args.toe_out, flag_reference=reference,
                                 thresholds=reference.thresholds(args.threshold_scale) if reference else thresholds(args))
    except ForceplateError as exc:
        print(f"not analysed: {exc}", file=sys.stderr)
        return
    save_analysis(trial, analysis, flag_reference=reference)
    s = analysis.as_dict()["summary"]
    graded = f", graded with {reference.subject}'s flag reference" if reference else ""
    print(f"analysed: {s['reps']} reps, {s['flagged_reps']} flagged{graded} (stored in {args.record}:/processing)")


def store_exercise_analysis(trial, exercise, args) -> None:
    """``store_analysis`` of a recording of another exercise than the squat (``--exercise``)."""
    from forceplate.offline import TrialFeet, save_exercise_results
    from forceplate.exercises.model import Options

    try:
        results, _ = exercise.run_trial(trial, None, Options(args.toe_out, thresholds(args)), TrialFeet(trial, None))
    except ForceplateError as exc:
        print(f"not analysed: {exc}", file=sys.stderr)
        return
    save_exercise_results(trial, exercise, results, None, None)
    count = results["summary"]["reps"]
    print(f"analysed as {exercise.name}: {count} {exercise.kind} rep{'' if count == 1 else 's'} "
          f"(stored in {args.record}:/processing)")


def session_duration_s(args, headless: bool) -> float | None:
    """How long the session runs (None: until the window is closed or Ctrl-C).

    A demo in the terminal ends by itself; a window stays while someone looks at it, unless
    ``--duration`` says otherwise (0: until stopped).
    """
    if args.duration is not None:
        return args.duration or None
    return getattr(args, "headless_duration_s", None) if headless else None


def _window_can_open() -> bool:
    """Whether the window can show here; if not, says why (and what to install) on stderr.

    Asked before the session opens devices or the trial file: a Qt that cannot start aborts
    the process, which would leave an empty trial behind under the name asked for.
    """
    from forceplate.live.display import has_display, window_problem

    problem = window_problem() if has_display() else "no display found"
    if problem:
        print(f"forceplate: {problem}; showing the terminal view (use --headless to silence this)", file=sys.stderr)
    return problem is None


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[IPv6]:PORT`` too), the port 0..65535; else one line."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ForceplateError(f"--listen {text[:100]!r}: HOST:PORT with a port 0-65535 (e.g. 127.0.0.1:5000)")
    return host, int(port)


def run_simulate(args) -> int:
    from forceplate.io.transport import firmware_for

    url = args.url if "://" in args.url else f"sim://{args.url}"
    if args.duration is not None and not args.duration > 0:
        raise ForceplateError(f"--duration {args.duration:g}: a duration is a positive number of seconds")
    address = None if args.listen is None else listen_address(args.listen)
    make_firmware = firmware_for(url)
    stop = threading.Event()
    if args.duration is not None:
        timer = threading.Timer(args.duration, stop.set)
        timer.daemon = True  # Ctrl-C before the end must not wait for it
        timer.start()
    try:
        if address is None:
            firmware = make_firmware(url)
            print(firmware.port_path, flush=True)
            print(f"simulated {url} on {firmware.port_path}: open it as a serial port (Ctrl-C to stop)", file=sys.stderr)
            try:
                stop.wait()
            finally:
                firmware.close()
        else:
            _serve(url, make_firmware, address, stop)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    return 0


def _serve(url: str, make_firmware, address: tuple[str, int], stop) -> None:
    """``simulate --listen``: the device served on TCP until ``stop``, one host at a time."""
    from forceplate.io.firmware import FirmwareServer

    make_firmware(url).close()  # a bad URL is refused now, not when a host connects
    server = FirmwareServer(*address, lambda connection, replug: make_firmware(url, replug=replug,
                                                                               connection=connection))
    host = f"[{server.host}]" if ":" in server.host else server.host
    print(f"socket://{host}:{server.port}", flush=True)
    print(f"simulated {url} on TCP {host}:{server.port}: open socket://{host}:{server.port} (Ctrl-C to stop)",
          file=sys.stderr)
    server.serve(stop)
