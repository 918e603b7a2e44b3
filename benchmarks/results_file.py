"""Where benchmarks leave their figures: printed, and kept in benchmarks/results/NAME.txt,
each under one header line saying when and on what they were measured."""

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

from forceplate import __version__

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def code_version() -> str:
    """The commit the measured code is at ("+ changes" when the tree differs from it), or
    "no git" outside a clone: figures say which code they are of."""
    try:
        described = subprocess.run(["git", "describe", "--always", "--dirty=+ changes"], cwd=RESULTS_DIR.parent,
                                   capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "no git"
    return f"commit {described.stdout.strip()}" if described.returncode == 0 else "no git"


def publish(name: str, title: str, lines: list[str]) -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    header = (f"{title} — {dt.datetime.now():%Y-%m-%d %H:%M}, forceplate {__version__} ({code_version()}), Python "
              f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}, {cores} cores usable")
    report = "\n".join([header, *lines]) + "\n"
    print(report, end="")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.txt").write_text(report)
