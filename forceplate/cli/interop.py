"""``forceplate import``, ``export-c3d`` and ``lsl-record``: trials from and to the lab's files and streams."""

from __future__ import annotations

import argparse
from pathlib import Path

from forceplate.errors import ForceplateError


def register(add_command) -> None:
    command = add_command("import", "import a force plate file (C3D, OpenSim .mot/.sto, jump and AMTI exports) or an "
                                    "insole file as a trial", run_import, """\
  forceplate import jump.c3d -o jump.h5                  two plates: the smaller lab x is the left foot
  forceplate import walk.c3d -o walk.h5 --plates 3,4     choose the plates under the feet
  forceplate import walk.c3d -o walk.h5 --left 2 --right 1
  forceplate import grf_Squat2.mot -o squat.h5           OpenSim forces: R_/L_ prefixes or the geometry say the foot
  forceplate import DJ1_forces.mot -o dj1.h5             unloaded plates (an unused 3_ plate) are dropped
  forceplate import BFR007_squat_jump.csv -o sj.h5 --labels BFR007_index.csv   hand labels as trial marks
  forceplate import Dual-CMJ-Fz.txt -o cmj.h5 --rate 1000   FP1/FP2 vertical force text (Fz only, CoP NaN)
  forceplate import test.csv -o standing.h5              OptiTrack/AMTI six-axis CSV export
  forceplate import 230927_102114.txt -o walk.h5         Moticon OpenGo text export (found by its header)
  forceplate import GaCo01_01.txt -o gait.h5             PhysioNet gait file (8 sensors per foot)
  forceplate import LOG.CSV -o fsr.h5 --mapping fsr.toml any insole CSV through a column mapping""")
    command.add_argument("file", metavar="FILE")
    command.add_argument("-o", "--output", required=True, metavar="FILE.h5", help="the trial file to create (never overwritten)")
    command.add_argument("--format", choices=FORMATS, help="the file's format (default: from the name and content; "
                                                           "csv when --mapping is given)")
    command.add_argument("--mapping", metavar="MAP.toml", help="column mapping of an insole CSV file (docs/interop.md)")
    command.add_argument("--plates", type=_plate_list, metavar="N,M",
                         help="plate files: 1-based plate numbers to keep (at most two; OpenSim: in column order)")
    command.add_argument("--left", type=int, metavar="N", help="plate files: plate number under the left foot")
    command.add_argument("--right", type=int, metavar="N", help="plate files: plate number under the right foot")
    command.add_argument("--rate", type=float, metavar="HZ",
                         help=f"fz-text: samples per second (the files do not say; default {DEFAULT_FZ_RATE_HZ:g})")
    command.add_argument("--labels", metavar="INDEX.csv", help="squat-jump-csv: the hand-labelled phase index file")

    export = add_command("export-c3d", "export a trial's plates as a C3D file (type-2 plates, N and N*mm)",
                         run_export_c3d, """\
  forceplate export-c3d squat.h5 squat.c3d""")
    export.add_argument("file", metavar="FILE.h5")
    export.add_argument("output", metavar="OUT.c3d")

    lsl = add_command("lsl-record", "record an LSL feet stream (forceplate-feet) into a trial", run_lsl_record, """\
  forceplate lsl-record forceplate-feet -o feet.h5 --duration 60     from a 'forceplate demo --lsl' elsewhere""")
    lsl.add_argument("name", metavar="NAME", help="the LSL stream's name")
    lsl.add_argument("-o", "--output", required=True, metavar="FILE.h5", help="the trial file to create (never overwritten)")
    lsl.add_argument("--duration", type=float, required=True, metavar="S", help="seconds to record")
    lsl.add_argument("--timeout", type=float, default=5.0, metavar="S", help="how long to look for the stream (default 5)")


PLATE_FORMATS = ("c3d", "opensim", "squat-jump-csv", "fz-text", "amti-csv")
INSOLE_FORMATS = ("moticon", "physionet", "csv")
FORMATS = PLATE_FORMATS + INSOLE_FORMATS
DEFAULT_FZ_RATE_HZ = 1000.0  # forceplate.interop.fz_text.DEFAULT_RATE_HZ, without importing numpy for --help
HEAD_LINES = 60  # the AMTI export's column names are on line 35


def _plate_list(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"plate numbers like 1,2, not {text!r}") from None


def _format(args) -> str:
    """The format asked for, or the one the file's name and first lines show."""
    from forceplate.errors import FileFormatError

    if args.format:
        return args.format
    if args.mapping:
        return "csv"
    path = Path(args.file)
    if path.suffix.lower() == ".c3d":
        return "c3d"
    if path.suffix.lower() in (".mot", ".sto"):
        return "opensim"
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            head = [f.readline(4096) for _ in range(HEAD_LINES)]
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read ({exc})") from None
    if not head[0]:
        raise FileFormatError(f"{path}: empty file")
    end = next((line for line in head if line.replace(",", " ").split()[:1] == ["endheader"]), None)
    if end is not None:  # an OpenSim storage file; with commas, the squat-jump CSV variant
        return "squat-jump-csv" if "," in end else "opensim"
    if any(line.startswith("# time\t") for line in head):
        return "moticon"
    if any(line.split(",")[0].strip() == "MocapFrame" for line in head):
        return "amti-csv"
    if head[0].count("\t") == 18 and not head[0][:1].isalpha():
        return "physionet"
    if _is_fz_text(head):
        return "fz-text"
    raise FileFormatError(f"{path}: unknown format: give --format ({', '.join(FORMATS)}), "
                          "or --mapping for an insole CSV")


def _is_fz_text(head: list[str]) -> bool:
    """A tab-separated header of plate names, then rows of as many numbers."""
    names, first = head[0].strip().split("\t"), head[1].strip().split("\t")
    if len(names) != len(first) or not all(name.strip()[:1].isalpha() for name in names):
        return False
    try:
        [float(cell) for cell in first]
    except ValueError:
        return False
    return True


def _check_options(args, fmt: str) -> None:
    chosen = args.plates or args.left is not None or args.right is not None
    if fmt == "csv" and not args.mapping:
        raise ForceplateError(f"{args.file}: a CSV import needs --mapping MAP.toml (see docs/interop.md)")
    if fmt in INSOLE_FORMATS and chosen:
        raise ForceplateError(f"{args.file}: --plates, --left and --right choose plates; an insole file names its feet")
    if fmt == "amti-csv" and (args.plates or {args.left, args.right} - {None, 1} or None not in (args.left, args.right)):
        raise ForceplateError(f"{args.file}: an AMTI CSV has one plate: --left 1 or --right 1 says which foot it is")
    if args.rate is not None and fmt != "fz-text":
        raise ForceplateError(f"{args.file}: --rate is for fz-text files, which do not state their rate; this one does")
    if args.rate is not None and not args.rate > 0:
        raise ForceplateError(f"{args.file}: --rate must be a positive number of samples per second, not {args.rate:g}")
    if args.labels and fmt != "squat-jump-csv":
        raise ForceplateError(f"{args.file}: --labels is the phase index of a squat-jump CSV file")


def _read(args, fmt: str):
    """(devices, metadata, events) of the file, by format."""
    if fmt == "c3d":
        from forceplate.interop.c3d import read_c3d

        device, metadata, events = read_c3d(args.file, args.plates, args.left, args.right)
        return [device], metadata, events
    if fmt == "opensim":
        from forceplate.interop.opensim import read_opensim

        return read_opensim(args.file, args.plates, args.left, args.right)
    if fmt == "squat-jump-csv":
        from forceplate.interop.squat_jump_csv import read_squat_jump_trial

        return read_squat_jump_trial(args.file, args.labels, args.plates, args.left, args.right)
    if fmt == "fz-text":
        from forceplate.interop.fz_text import read_fz_trial

        return read_fz_trial(args.file, args.rate, args.plates, args.left, args.right)
    if fmt == "amti-csv":
        from forceplate.interop.amti_csv import read_amti_trial

        return read_amti_trial(args.file, "right" if args.right == 1 else "left")
    if fmt == "moticon":
        from forceplate.interop.moticon import read_moticon

        return read_moticon(args.file)
    if fmt == "physionet":
        from forceplate.interop.physionet import read_physionet

        return read_physionet(args.file)
    from forceplate.interop.csv_import import read_insole_csv

    return read_insole_csv(args.file, args.mapping)


def run_import(args) -> int:
    from forceplate.storage.writer import write_trial

    fmt = _format(args)
    _check_options(args, fmt)
    devices, metadata, events = _read(args, fmt)
    # the trial's date is the recording's where the file states one, else the import's (said so)
    metadata["date_source"] = "the recording" if metadata.get("created") else "the import"
    write_trial(args.output, devices, metadata, events)
    d = devices[0]
    feet = ", ".join([f"{p.foot} = {p.name}" for p in d.profile.plates] or [x.info["foot"] for x in devices])
    print(f"{args.output}: {len(d.counts)} samples at {d.profile.rate_hz:g} Hz ({fmt}: {feet}), {len(events)} events")
    return 0


def run_export_c3d(args) -> int:
    from forceplate.interop.c3d import write_c3d
    from forceplate.storage.reader import open_trial

    print(write_c3d(open_trial(args.file), args.output))
    return 0


def run_lsl_record(args) -> int:
    from forceplate.interop.lsl import record_feet_stream
    from forceplate.storage.writer import write_trial

    if Path(args.output).exists():
        raise ForceplateError(f"{args.output}: file exists; choose another name (trials are never overwritten)")
    for option, value in (("--duration", args.duration), ("--timeout", args.timeout)):
        if not 0 < value < float("inf"):  # NaN fails too
            raise ForceplateError(f"{option} {value:g}: a positive number of seconds")
    device, metadata = record_feet_stream(args.name, args.duration, args.timeout)
    write_trial(args.output, [device], metadata)
    print(f"{args.output}: {len(device.counts)} samples at {device.profile.rate_hz:g} Hz from LSL stream {args.name!r}")
    return 0
