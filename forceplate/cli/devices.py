"""``forceplate devices``: the serial ports, and which of them has a forceplate device."""

from __future__ import annotations

import argparse
import json

from forceplate.cli.common import PROBE_TIMEOUT_S

# INFO fields in the order a person looks for them; any others follow as key=value.
INFO_ORDER = ("model", "serial", "firmware", "profile", "rate_hz")


def register(add_command) -> None:
    command = add_command("devices", "list serial ports and find the forceplate devices on them", run_devices, """\
  forceplate devices                       every port, each asked for its INFO
  forceplate devices --no-probe            list only, open nothing
  forceplate devices /dev/pts/5 --json     also probe a port that is not listed (a 'forceplate simulate' pty)""")
    command.add_argument("ports", nargs="*", metavar="PORT",
                         help="also probe these ports or pyserial URLs (the list shows only ports the system reports)")
    command.add_argument("--probe", action=argparse.BooleanOptionalAction, default=True,
                         help="open each port and send INFO? (default: on; --no-probe only lists)")
    command.add_argument("--timeout", type=float, metavar="S", default=PROBE_TIMEOUT_S,
                         help=f"how long to wait for an answer on each port (default {PROBE_TIMEOUT_S:g}; "
                              "boards that reset when the port opens need about 2)")
    command.add_argument("--json", action="store_true", help="print a JSON list, one object per port")


def run_devices(args) -> int:
    from forceplate.io.discovery import discover

    found = discover(args.ports, probe=args.probe, timeout_s=args.timeout)
    if args.json:
        print(json.dumps([entry.as_dict() for entry in found], indent=1))
    elif not found:
        print("no serial ports found")
    else:
        for entry in found:
            print(_describe(entry))
    return 0


def _describe(entry) -> str:
    """What a person reads about one :class:`~forceplate.io.discovery.DiscoveredPort`."""
    from forceplate.io.discovery import ProbeStatus

    port = entry.port
    details = [port.description, port.usb_id and f"USB {port.usb_id}",
               port.serial_number and f"serial number {port.serial_number}", port.manufacturer]
    head = port.path + "".join(f"  {d}" for d in details if d and d != "n/a")
    probe = entry.probe
    if probe is None:
        return head
    if probe.status is not ProbeStatus.FOUND:
        return f"{head}\n  {probe.status.value}: {probe.reason}"
    info = dict(probe.info)
    known = [f"{key}={info.pop(key)}" for key in INFO_ORDER if key in info]
    rest = [f"{key}={value}" for key, value in info.items()]
    return f"{head}\n  forceplate device ({probe.mode}): " + " ".join(known + rest)
