"""``forceplate calibrate``: tare, known weights, six-axis matrix, insole curves, verification.

Each step is a wizard at a terminal (prompts for what the flags did not say, tells the
operator where to put each mass, asks before saving) and a script with ``--yes`` (every
value from flags). Against ``sim://`` devices the simulator places the loads itself.
``calibrate flag`` is of a person, not a device: recorded normal and knees-in squat trials
give that person's knee-collapse flag reference (:mod:`forceplate.calibration.flag`).
"""

from __future__ import annotations

import contextlib
import json
import sys

from forceplate.errors import CalibrationError, ForceplateError

STEPS = ("tare", "weights", "matrix", "insole", "verify", "flag")
PLATE_MASS_KG = 20.0  # default known mass on a plate
INSOLE_MASS_KG = 5.0  # on one insole sensor (about 2 cm across): what a calibration rig's weight stack puts there


def register(add_command) -> None:
    command = add_command("calibrate", "calibrate a device: tare, known weights, 6x6 matrix, insole curves, verify",
                          run_calibrate, """\
  forceplate calibrate tare --device /dev/ttyACM0
  forceplate calibrate weights --device /dev/ttyACM0 --mass-kg 20 --operator AB
  forceplate calibrate matrix --serial AMTI-1234 --plate left --file left_matrix.txt --record AMTI-1234.toml
  forceplate calibrate insole --device /dev/rfcomm0 --masses-kg 2,5,10
  forceplate calibrate insole --device /dev/rfcomm0 --body-mass 72
  forceplate calibrate verify --device sim://dual-plate
  forceplate calibrate weights --device 'sim://dual-plate?gain_error=0.03&seed=1' --yes -o sim.toml
  forceplate calibrate flag --normal normal.h5 --knees-in knees_in.h5 --subject P01
  forceplate calibrate flag --normal set.h5 --normal-reps 1-3 --knees-in set.h5 --knees-in-reps 4-6
  forceplate calibrate flag --show --subject P01
records are saved in the lab's folder ($FORCEPLATE_HOME/calibration or ~/.local/share/forceplate/calibration;
flag references in its flag/ folder, where analyze finds them) unless -o says otherwise; see
calibration/CALIBRATION.md for the procedure, the README's "A person's own flag reference" for the flag""")
    steps = command.add_subparsers(dest="step", metavar="STEP")
    parsers = {
        "tare": steps.add_parser("tare", help="zero the offsets of the empty, still device"),
        "weights": steps.add_parser("weights", help="known masses at known positions -> per-cell gains"),
        "matrix": steps.add_parser("matrix", help="import a six-axis plate's 6x6 matrix (file or entries)"),
        "insole": steps.add_parser("insole", help="insole sensor curves from known loads, or scale from body weight"),
        "verify": steps.add_parser("verify", help="force and CoP errors at known loads, pass/fail"),
    }
    _add_flag_step(steps)
    for name, p in parsers.items():
        if name != "matrix":
            p.add_argument("--device", required=True, metavar="URL", help="serial port or sim://KIND?options")
        p.add_argument("--record", metavar="REC.toml",
                       help="start from this record (default: the device's own, found by serial)")
        p.add_argument("--yes", action="store_true", help="ask nothing: every value from flags (for scripts)")
        if name != "verify":
            p.add_argument("-o", "--output", metavar="REC.toml", help="where to save (default: the lab's folder)")
            p.add_argument("--operator", default=None, help="who calibrated, stored in the record")
    parsers["tare"].add_argument("--max-load-n", type=float, default=50.0, metavar="N",
                                 help="refuse to tare a plate reading more than this (default 50 N)")
    for name in ("weights", "verify"):
        parsers[name].add_argument("--mass-kg", type=float, metavar="KG",
                                   help=f"the known mass (default {PLATE_MASS_KG:g} kg on a plate, "
                                        f"{INSOLE_MASS_KG:g} kg on one insole sensor)")
        parsers[name].add_argument("--plate", action="append", metavar="NAME", help="only this plate (repeatable)")
        parsers[name].add_argument("--positions", metavar="X,Y;X,Y;...",
                                   help="lab positions (mm) to load; default a 3 x 3 grid on each plate")
    parsers["verify"].add_argument("--max-force-error-pct", type=float, default=1.0, metavar="PCT",
                                   help="FAIL when any load's force is off by more than this, in %% of the known "
                                        "load (default 1)")
    parsers["verify"].add_argument("--max-cop-error-mm", type=float, default=5.0, metavar="MM",
                                   help="FAIL when any load's CoP is farther than this from where it was put, "
                                        "in mm (default 5; plates only)")
    parsers["verify"].add_argument("--no-tare", action="store_true", help="verify the stored offsets too")
    parsers["verify"].add_argument("--json", action="store_true", help="print one JSON object")
    matrix = parsers["matrix"]
    matrix.add_argument("--serial", help="the plate amplifier's serial (default: the record's)")
    matrix.add_argument("--plate", required=True, metavar="NAME", help="which plate of the profile (left, right)")
    source = matrix.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", metavar="MATRIX.txt", help="36 numbers, row by row (Fx Fy Fz Mx My Mz)")
    source.add_argument("--entries", metavar="'a11 a12 ... a66'", help="the 36 numbers, row by row")
    matrix.add_argument("--scale", type=float, default=1.0,
                        help="multiply every entry (e.g. volts per count / amplifier gain when the matrix is per volt)")
    matrix.add_argument("--origin-offset-mm", metavar="DX,DY,DZ",
                        help="the manufacturer's moment origin relative to the profile's plate origin")
    insole = parsers["insole"]
    how = insole.add_mutually_exclusive_group(required=True)
    how.add_argument("--masses-kg", metavar="M1,M2,...", help="known masses put on each sensor in turn (2 or more)")
    how.add_argument("--body-mass", type=float, metavar="KG", help="scale from quiet standing of a person this heavy")
    insole.add_argument("--foot-share", type=float, default=0.5,
                        help="share of body weight on this foot in quiet standing (default 0.5)")


def _add_flag_step(steps) -> None:
    flag = steps.add_parser("flag", help="a person's knee-collapse flag reference from normal and knees-in reps")
    flag.add_argument("--normal", metavar="FILE.h5", help="a squat trial of normal reps (at least 3)")
    flag.add_argument("--knees-in", metavar="FILE.h5", help="a squat trial of deliberate knees-in reps (at least 3)")
    flag.add_argument("--normal-reps", metavar="1-3", help="only these reps of --normal (default all full reps)")
    flag.add_argument("--knees-in-reps", metavar="4-6", help="only these reps of --knees-in (default all full reps)")
    flag.add_argument("--subject", help="whose reference (default: the trials' subject attribute)")
    flag.add_argument("--show", action="store_true", help="print the stored reference of --subject")
    flag.add_argument("-o", "--output", metavar="REF.toml", help="where to save (default: the lab's folder)")


class _Operator:
    """Prompts at a terminal; with ``--yes`` (or no terminal) asks nothing."""

    def __init__(self, args):
        self.interactive = not args.yes and sys.stdin.isatty()

    def ask(self, question: str, default: str) -> str:
        if not self.interactive:
            return default
        answer = input(f"{question} [{default}]: ").strip()
        return answer or default

    def confirm(self, question: str) -> bool:
        return not self.interactive or self.ask(question + " (y/n)", "y").lower().startswith("y")

    def place(self, step) -> None:
        """Tell the operator what to put on the device and wait for Enter."""
        if sys.stdin.isatty():  # even with --yes: only a person can put the mass down
            text = "Remove everything from the device and step away" if step is None else f"Put {step.describe()}"
            input(f"{text}; press Enter when it is still ")
            return
        raise CalibrationError("placing known loads needs an operator at a terminal (or a sim:// device)")


@contextlib.contextmanager
def _calibration_device(url: str, operator: _Operator, loads: bool):
    """An open, streaming device and how loads get onto it: with ``loads``, a sim:// device
    plays an empty device and its in-process scene takes the loads; else the operator does."""
    from forceplate.io import open_device

    with contextlib.ExitStack() as stack:
        if url.startswith("sim://") and loads:
            from forceplate.sim.urls import open_simulator

            sim = open_simulator(url + ("&" if "?" in url else "?") + "static=1")
            stack.callback(sim.close)
            scene = sim.emulator.model

            def place(step) -> None:
                scene.clear()
                if step is not None:
                    scene.place(step.mass_kg, plate=step.plate, position_mm=step.position_mm, sensor=step.sensor)

            device = stack.enter_context(open_device(sim.port_path))
        else:
            device = stack.enter_context(open_device(url))
            place = operator.place
        device.start()
        yield device, place


def _starting_record(args, device=None):
    from forceplate.calibration.record import load_record

    record = load_record(args.record) if args.record else device.calibration if device else None
    if record is None:
        serial = device.name if device else "the plate"
        raise CalibrationError(f"{serial}: no calibration record to start from; give one with --record REC.toml")
    if device is not None:
        record.check_matches(device.name, device.profile.n_channels)
    return record


def _save(args, record, operator: _Operator) -> int:
    from forceplate.calibration.record import save_record

    if not operator.confirm(f"save the new record of {record.serial}?"):
        print("not saved")
        return 1
    print(f"saved {save_record(record, args.output)}")
    return 0


def _stamped(args, operator: _Operator, record, **changes):
    who = args.operator if args.operator is not None else operator.ask("operator", "")
    return record.updated(operator=who, **changes)


def _positions(text: str | None):
    if not text:
        return None
    try:
        return [tuple(float(v) for v in pair.split(",")) for pair in text.split(";") if pair.strip()]
    except ValueError:
        raise ForceplateError(f"--positions {text!r}: X,Y pairs in mm separated by ';'") from None


def _steps(args, operator: _Operator, device):
    """The known loads: a grid of positions on each plate, or (insoles) each sensor in turn."""
    from forceplate.calibration.procedures import plate_steps, sensor_steps

    profile = device.profile
    if profile.insole is not None:
        if args.plate or args.positions:
            raise ForceplateError(f"{device.name}: an insole has no plates or positions; "
                                  "each sensor is loaded in turn (--mass-kg on one sensor)")
        return sensor_steps(profile, args.mass_kg or float(operator.ask("known mass on one sensor, kg",
                                                                         f"{INSOLE_MASS_KG:g}")))
    mass = args.mass_kg or float(operator.ask("known mass, kg", f"{PLATE_MASS_KG:g}"))
    plates = args.plate or [p.name for p in profile.plates]
    return plate_steps(profile, plates, mass, _positions(args.positions))


def run_calibrate(args) -> int:
    if args.step is None:
        raise ForceplateError(f"calibrate needs a step: {', '.join(STEPS)} (see 'forceplate calibrate --help')")
    if args.step == "flag":
        return _flag(args)
    operator = _Operator(args)
    if args.step == "matrix":
        return _matrix(args, operator)
    loads = not (args.step == "insole" and args.body_mass is not None)  # body weight: a person stands on it
    with _calibration_device(args.device, operator, loads) as (device, place):
        return {"tare": _tare, "weights": _weights, "insole": _insole, "verify": _verify}[args.step](
            args, operator, device, place)


def _tare(args, operator, device, place) -> int:
    from forceplate.calibration.procedures import tare

    record = _starting_record(args, device)
    place(None)
    tared = tare(device, record, max_load_n=args.max_load_n)
    shift = tared.to_physical(record.offsets_counts[None, :])[0]
    # round, then add 0.0: a zero that rounds from below prints as +0.0, not -0.0
    print(f"{device.name}: zeros moved by {', '.join(f'{round(v, 1) + 0.0:+.1f}' for v in shift)} "
          "(each channel's unit)")
    return _save(args, _stamped(args, operator, tared), operator)


def _weights(args, operator, device, place) -> int:
    from forceplate.calibration.procedures import calibrate_weights

    record = _starting_record(args, device)
    steps = _steps(args, operator, device)
    new = calibrate_weights(device, record, place, steps, progress=print)
    change = 100.0 * (new.newtons_per_count / record.newtons_per_count - 1.0)
    print(f"{device.name}: gains changed by {', '.join(f'{c:+.2f}%' for c in change)}")
    return _save(args, _stamped(args, operator, new), operator)


def _insole(args, operator, device, place) -> int:
    from forceplate.calibration.fit import LoadStep
    from forceplate.calibration.procedures import calibrate_insole_loads, scale_insole_body_weight

    record = _starting_record(args, device)
    if args.body_mass is not None:
        new = scale_insole_body_weight(device, record, args.body_mass, args.foot_share, progress=print)
    else:
        try:
            masses = [float(m) for m in args.masses_kg.split(",")]
        except ValueError:
            raise ForceplateError(f"--masses-kg {args.masses_kg!r}: masses in kg separated by commas") from None
        steps = [LoadStep(m, sensor=s) for s in range(device.profile.n_channels) for m in masses]
        new = calibrate_insole_loads(device, record, place, steps, progress=print)
    return _save(args, _stamped(args, operator, new), operator)


def _verify(args, operator, device, place) -> int:
    from forceplate.calibration.procedures import verify

    record = _starting_record(args, device)
    result = verify(device, record, place, _steps(args, operator, device), tare_first=not args.no_tare,
                    force_limit_pct=args.max_force_error_pct, cop_limit_mm=args.max_cop_error_mm,
                    progress=(lambda text: None) if args.json else print)
    report = {"device": device.name, "record": record.source, **result.as_dict()}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{'load':<52} {'force error':>11} {'CoP error':>10}")
        for row in report["loads"]:
            cop = "-" if row["cop_error_mm"] is None else f"{row['cop_error_mm']:.1f} mm"
            print(f"{row['load']:<52} {row['force_error_pct']:>+10.2f}% {cop:>10}")
        cop = report["max_cop_error_mm"]
        cop_part = ("an insole sensor has no CoP" if cop is None
                    else f"CoP error {cop:.1f} mm max, limit {args.max_cop_error_mm:g} mm")
        print(f"{device.name} with {record.source}: {'PASS' if result.passed else 'FAIL'} "
              f"(force error {report['max_force_error_pct']:.2f}% max, limit {args.max_force_error_pct:g}%; "
              f"{cop_part})")
    return 0 if result.passed else 1


def _matrix(args, operator) -> int:
    from pathlib import Path

    from forceplate.calibration.fit import parse_matrix, plate_of
    from forceplate.calibration.record import MatrixBlock, find_record
    from forceplate.profiles import load_profile

    record = _starting_record(args) if args.record else find_record(args.serial or "")
    if record is None:
        raise CalibrationError(f"no calibration record for serial {args.serial!r}: give one with --record REC.toml")
    if args.serial and record.serial != args.serial:
        raise CalibrationError(f"{record.source}: field 'serial' is {record.serial!r}, not {args.serial!r}")
    plate = plate_of(load_profile(record.profile), args.plate)
    if plate.type != "six-axis":
        raise CalibrationError(f"the {args.plate} plate of {record.profile} is not a six-axis plate")
    if args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CalibrationError(f"{args.file}: cannot read the matrix ({exc})") from None
    else:
        text = args.entries
    values = parse_matrix(text) * args.scale
    try:
        origin = tuple(float(v) for v in args.origin_offset_mm.split(",")) if args.origin_offset_mm else (0.0,) * 3
    except ValueError:
        origin = ()
    if len(origin) != 3:
        raise ForceplateError(f"--origin-offset-mm {args.origin_offset_mm!r}: DX,DY,DZ in mm")
    blocks = [b for b in record.blocks if set(b.channels) != set(plate.channels)]
    blocks.append(MatrixBlock(plate.channels, values, origin))
    method = f"manufacturer matrix ({args.file or 'entries'}) for the {args.plate} plate"
    new = _stamped(args, operator, record, blocks=tuple(blocks), method=method)
    print(f"{record.serial}: {args.plate} plate matrix imported (diagonal "
          f"{', '.join(f'{v:.4g}' for v in values.diagonal())})")
    return _save(args, new, operator)


def _flag(args) -> int:
    from forceplate.calibration.flag import find_reference, save_reference
    from forceplate.flag_procedure import reference_from_trials

    if args.show:
        if not args.subject:
            raise ForceplateError("calibrate flag --show needs --subject NAME")
        reference = find_reference(args.subject)
        if reference is None:
            raise CalibrationError(f"no flag reference of {args.subject!r} in the lab's folder")
        _print_reference(reference)
        return 0
    if not (args.normal and args.knees_in):
        raise ForceplateError("calibrate flag needs --normal FILE.h5 and --knees-in FILE.h5 (or --show --subject NAME)")
    reference = reference_from_trials(args.normal, args.knees_in, args.subject, args.normal_reps, args.knees_in_reps)
    reference = save_reference(reference, args.output)
    print(f"saved {reference.source}")
    _print_reference(reference)
    return 0


def _print_reference(reference) -> None:
    print(reference.describe())
    for kind, peaks in (("normal", reference.normal_peaks_mm), ("knees-in", reference.knees_in_peaks_mm)):
        trials = reference.normal_trials if kind == "normal" else reference.knees_in_trials
        print(f"{kind} reps ({'; '.join(trials)}): " + "; ".join(
            f"{foot} " + ", ".join(f"{v:.1f}" for v in peaks[foot]) + " mm" for foot in ("left", "right")))
    print(f"measured by analysis algorithm {reference.algorithm_version}")
