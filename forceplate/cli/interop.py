"""``forceplate import``, ``export-c3d`` and ``lsl-record``: trials from and to the lab's files and streams."""

from __future__ import annotations

import argparse
from pathlib import Path

from forceplate.errors import ForceplateError


def register(add_command) -> None:
    command = add_command("import", "import a C3D file's force plates or an insole file as a trial", run_import, """\
  forceplate import jump.c3d -o jump.h5                  two plates: the smaller lab x is the left foot
  forceplate import walk.c3d -o walk.h5 --plates 3,4     choose the plates under the feet
  forceplate import walk.c3d -o walk.h5 --left 2 --right 1
  forceplate import 230927_102114.txt -o walk.h5         Moticon OpenGo text export (found by its header)
  forceplate import GaCo01_01.txt -o gait.h5             PhysioNet gait file (8 sensors per foot)
  forceplate import LOG.CSV -o fsr.h5 --mapping fsr.toml any insole CSV through a column mapping""")
    command.add_argument("file", metavar="FILE")
    command.add_argument("-o", "--output", required=True, metavar="FILE.h5", help="the trial file to create (never overwritten)")
    command.add_argument("--format", choices=FORMATS, help="the file's format (default: from the name and content; "
                                                           "csv when --mapping is given)")
    command.add_argument("--mapping", metavar="MAP.toml", help="column mapping of an insole CSV file (docs/interop.md)")
    command.add_argument("--plates", type=_plate_list, metavar="N,M", help="C3D: 1-based plate numbers to keep (at most two)")
    command.add_argument("--left", type=int, metavar="N", help="C3D: plate number under the left foot")
    command.add_argument("--right", type=int, metavar="N", help="C3D: plate number under the right foot")

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


FORMATS = ("c3d", "moticon", "physionet", "csv")


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
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            head = [f.readline() for _ in range(40)]
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read ({exc})") from None
    if any(line.startswith("# time\t") for line in head):
        return "moticon"
    if head[0].count("\t") == 18 and not head[0][:1].isalpha():
        return "physionet"
    raise FileFormatError(f"{path}: unknown format: give --format, or --mapping for an insole CSV")


def run_import(args) -> int:
    from forceplate.storage.writer import write_trial

    fmt = _format(args)
    if fmt == "csv" and not args.mapping:
        raise ForceplateError("a CSV import needs --mapping MAP.toml (see docs/interop.md)")
    if fmt != "c3d" and (args.plates or args.left or args.right):
        raise ForceplateError("--plates, --left and --right choose C3D plates; an insole file names its feet")
    if fmt == "c3d":
        from forceplate.interop.c3d import read_c3d

        device, metadata, events = read_c3d(args.file, args.plates, args.left, args.right)
        devices = [device]
    elif fmt == "moticon":
        from forceplate.interop.moticon import read_moticon

        devices, metadata, events = read_moticon(args.file)
    elif fmt == "physionet":
        from forceplate.interop.physionet import read_physionet

        devices, metadata, events = read_physionet(args.file)
    else:
        from forceplate.interop.csv_import import read_insole_csv

        devices, metadata, events = read_insole_csv(args.file, args.mapping)
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
    device, metadata = record_feet_stream(args.name, args.duration, args.timeout)
    write_trial(args.output, [device], metadata)
    print(f"{args.output}: {len(device.counts)} samples at {device.profile.rate_hz:g} Hz from LSL stream {args.name!r}")
    return 0
