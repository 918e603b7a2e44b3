"""``forceplate import`` and ``forceplate export-c3d``: trials from and to the lab's C3D files."""

from __future__ import annotations

import argparse


def register(add_command) -> None:
    command = add_command("import", "import a C3D file's force plates as a trial", run_import, """\
  forceplate import jump.c3d -o jump.h5                  two plates: the smaller lab x is the left foot
  forceplate import walk.c3d -o walk.h5 --plates 3,4     choose the plates under the feet
  forceplate import walk.c3d -o walk.h5 --left 2 --right 1""")
    command.add_argument("file", metavar="FILE.c3d")
    command.add_argument("-o", "--output", required=True, metavar="FILE.h5", help="the trial file to create (never overwritten)")
    command.add_argument("--plates", type=_plate_list, metavar="N,M", help="1-based plate numbers to keep (at most two)")
    command.add_argument("--left", type=int, metavar="N", help="plate number under the left foot")
    command.add_argument("--right", type=int, metavar="N", help="plate number under the right foot")

    export = add_command("export-c3d", "export a trial's plates as a C3D file (type-2 plates, N and N*mm)",
                         run_export_c3d, """\
  forceplate export-c3d squat.h5 squat.c3d""")
    export.add_argument("file", metavar="FILE.h5")
    export.add_argument("output", metavar="OUT.c3d")


def _plate_list(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"plate numbers like 1,2, not {text!r}") from None


def run_import(args) -> int:
    from forceplate.interop.c3d import read_c3d
    from forceplate.storage.writer import write_trial

    device, metadata, events = read_c3d(args.file, args.plates, args.left, args.right)
    write_trial(args.output, [device], metadata, events)
    feet = ", ".join(f"{p.foot} = {p.name}" for p in device.profile.plates)
    print(f"{args.output}: {len(device.counts)} samples at {device.profile.rate_hz:g} Hz ({feet}), {len(events)} events")
    return 0


def run_export_c3d(args) -> int:
    from forceplate.interop.c3d import write_c3d
    from forceplate.storage.reader import open_trial

    print(write_c3d(open_trial(args.file), args.output))
    return 0
