"""Start-up costs (issue 14): ``forceplate --help`` and analyze / trials / compare on a 1-minute trial.

Each figure is the CPU (user + system) of a child process, the best of several runs, beside
the reference measured in the same run: a bare ``python -c pass``. Targets: ``--help`` <= 3x
the reference; ``analyze``, ``trials`` and ``compare`` <= 0.3 s of CPU on a 1-minute 1 kHz
dual-plate trial. The import of ``scipy.signal`` alone (what processing/filters.py imported)
is shown too, since it was most of what those commands cost (the analysis no longer imports
scipy: processing/filters.py), and that of numpy and h5py together: the floor every command
that reads a trial stands on (h5py's import runs ``uname -p`` in a child process, through
``platform``). The machine's load average is printed with the figures: on shared cores each
costs more CPU when the others are busy (caches, frequency), so the ratios to the reference
say more than the milliseconds; with ``--instructions`` (valgrind installed) each is also
counted in instructions, which the load does not change (the process itself: the metadata
prober's forked child, killed at exit, writes no count), with ``OPENBLAS_NUM_THREADS=1``: numpy's
OpenBLAS otherwise starts a thread per core whose spinning adds 10-25 M instructions that vary
from run to run. The children may write and read bytecode (``__pycache__``), as an installed
package has it: without it, with PYTHONDONTWRITEBYTECODE set, every run compiles forceplate's
sources again (about 0.15 s). ``trials`` and ``compare`` run twice over: with the library
index turned off (``FORCEPLATE_NO_CACHE``: each trial's header read through h5py), and
answered from it (forceplate/library/index.py; the warm-up run fills it, the counted runs read
it: no numpy, no h5py). Writes benchmarks/results/startup.txt.

    python3 benchmarks/startup.py [--runs 5] [--instructions]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from forceplate.library import index
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from results_file import publish

HELP_TARGET_X = 3.0
COMMAND_TARGET_S = 0.3
REPS_PER_MINUTE = 22  # with the simulated library's 2.6 s reps, its 2 s of standing before and after


CHILD_ENV = {name: value for name, value in os.environ.items()
             if name not in ("PYTHONDONTWRITEBYTECODE", index.CACHE_DIR_ENV, index.NO_CACHE_ENV)}
NO_INDEX = {index.NO_CACHE_ENV: "1"}
COUNTED = {"OPENBLAS_NUM_THREADS": "1"}  # no spinning BLAS threads in the counts


def child_cpu_s(argv: list[str], cwd: Path, env: dict) -> float:
    """User + system CPU seconds of one run of ``argv`` (which must succeed), ``env`` added to the environment."""
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**CHILD_ENV, **env})
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {process.stderr.read().decode()}")
    return usage.ru_utime + usage.ru_stime


def best_cpu_s(argv: list[str], cwd: Path, runs: int, env: dict) -> float:
    child_cpu_s(argv, cwd, env)  # writes any bytecode not cached yet (and fills the library index)
    return min(child_cpu_s(argv, cwd, env) for _ in range(runs))


def instructions(argv: list[str], cwd: Path, env: dict) -> int:
    """Instructions one run of ``argv`` executes (valgrind's callgrind; the process and any
    child that exits normally)."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.%p", *argv], cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**CHILD_ENV, **COUNTED, **env}, check=True)
        return sum(int(line.split()[1]) for dump in Path(out).iterdir()
                   for line in dump.read_text().splitlines() if line.startswith("totals:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command; the best counts (default 5)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each one's instructions under valgrind (a few minutes)")
    args = parser.parse_args()
    python = [sys.executable]
    forceplate = [*python, "-m", "forceplate"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trial = write_simulated_trial(folder / "one_minute.h5", SimulatedTrial(reps=REPS_PER_MINUTE, seed=1))
        library = folder / "library"
        library.mkdir()
        for name in ("a.h5", "b.h5"):
            shutil.copy(trial, library / name)
            child_cpu_s([*forceplate, "analyze", str(library / name), "--save"], folder, {})
        time.sleep(index.SETTLED_S)  # the index keeps a trial only once its file has settled
        indexed = {index.CACHE_DIR_ENV: str(folder / "cache")}
        trials = [*forceplate, "trials", str(library)]
        compare = [*forceplate, "compare", str(library / "a.h5"), str(library / "b.h5")]
        commands = {  # name -> (argv, environment added)
            "--help": ([*forceplate, "--help"], {}),
            "import scipy.signal": ([*python, "-c", "import scipy.signal"], {}),
            "import numpy": ([*python, "-c", "import numpy"], {}),
            "import numpy, h5py (the floor)": ([*python, "-c", "import numpy, h5py"], {}),
            "analyze (1-minute trial)": ([*forceplate, "analyze", str(trial)], {}),
            "trials (2 trials, results stored)": (trials, NO_INDEX),
            "compare (2 trials, results stored)": (compare, NO_INDEX),
            "trials (the same, from the index)": (trials, indexed),
            "compare (the same, from the index)": (compare, indexed),
        }
        reference = best_cpu_s([*python, "-c", "pass"], folder, args.runs, {})
        figures = {name: best_cpu_s(argv, folder, args.runs, env) for name, (argv, env) in commands.items()}
        counted = {}
        if args.instructions:
            counted = {name: instructions(argv, folder, env)
                       for name, (argv, env) in [("python -c pass", ([*python, "-c", "pass"], {})), *commands.items()]
                       if "scipy" not in name}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [f"CPU (user + system) of a child process, best of {args.runs} runs; reference, same run: "
             f"python -c pass = {reference * 1000:.0f} ms; load average at the end {load}"]
    for name, cpu_s in figures.items():
        verdict = ""
        if name == "--help":
            verdict = f"; target <= {HELP_TARGET_X:g}x: {'PASS' if cpu_s <= HELP_TARGET_X * reference else 'FAIL'}"
        elif not name.startswith("import"):
            verdict = f"; target <= {COMMAND_TARGET_S:g} s: {'PASS' if cpu_s <= COMMAND_TARGET_S else 'FAIL'}"
        lines.append(f"{name:36} {cpu_s * 1000:6.0f} ms = {cpu_s / reference:5.1f}x python -c pass{verdict}")
    if counted:
        lines.append("instructions (valgrind, OPENBLAS_NUM_THREADS=1), the same commands: the machine's load changes "
                     "none of them")
        lines += [f"{name:36} {count / 1e6:6.0f} M  = {count / counted['python -c pass']:5.1f}x python -c pass"
                  for name, count in counted.items()]
    publish("startup", "start-up costs", lines)


if __name__ == "__main__":
    main()
