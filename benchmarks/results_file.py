"""Where benchmarks leave their figures: printed, and kept in benchmarks/results/NAME.txt,
each under one header line saying when and on what they were measured."""

import datetime as dt
import os
import platform
from pathlib import Path

import numpy as np

from forceplate import __version__

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def publish(name: str, title: str, lines: list[str]) -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    header = (f"{title} — {dt.datetime.now():%Y-%m-%d %H:%M}, forceplate {__version__}, Python "
              f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}, {cores} cores usable")
    report = "\n".join([header, *lines]) + "\n"
    print(report, end="")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.txt").write_text(report)
