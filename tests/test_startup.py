"""Start-up (issue 14): what a command imports before it does its work. Each module a command
does not need costs its import, and each dataclass in it about a millisecond to build, on
every run (benchmarks/startup.py measures the CPU)."""

import subprocess
import sys

import pytest

from forceplate.cli import COMMAND_MODULES, MODULE_OF_COMMAND, build_parser


def commands_of(parser) -> list[str]:
    return list(next(a for a in parser._actions if a.dest == "command").choices)


def test_each_command_module_adds_the_commands_the_table_names():
    # a run of one command builds its own module's parser only, found by this table
    for module, names in COMMAND_MODULES.items():
        assert commands_of(build_parser(names[0])) == list(names), module
    assert commands_of(build_parser()) == list(MODULE_OF_COMMAND)
    assert commands_of(build_parser("--help")) == commands_of(build_parser("no-such-command")) == list(MODULE_OF_COMMAND)


def test_exercise_names_and_aliases_are_unique_so_a_name_is_found_in_its_own_module():
    from forceplate.exercises import lookup, own_module, registry

    words = [word for exercise in registry().values() for word in (exercise.name, *exercise.aliases)]
    assert len(words) == len(set(words))
    for name, exercise in registry().items():
        assert own_module(name) is exercise and lookup(name.upper()) is exercise
        for alias in exercise.aliases:
            assert own_module(alias) is None and lookup(alias) is exercise
    assert own_module("model") is None and own_module("__init__") is None and own_module("no such") is None


# What none of them needs: the other commands' modules, the other exercises and their
# processing, the notebook API, scipy/dask/pyarrow (a second of CPU), the plotting report.
NEVER = ("scipy", "dask", "pyarrow", "pyqtgraph", "forceplate.api", "forceplate.cli.batch", "forceplate.cli.calibrate",
         "forceplate.cli.live", "forceplate.cli.interop", "forceplate.cli.devices", "forceplate.cli.history",
         "forceplate.processing.recognise", "forceplate.processing.jumps", "forceplate.exercises.jumping", "forceplate.exercises.quiet_standing",
         "forceplate.reporting.html", "forceplate.sim", "forceplate.io")
# What reading stored results needs neither: the analysis and its processing, the writer,
# calibration records, device profiles (three frozen dataclasses), TOML.
NOT_FOR_STORED_RESULTS = ("forceplate.processing.analysis", "forceplate.processing.reps", "forceplate.processing.baseline",
                          "forceplate.processing.movement", "forceplate.storage.writer",
                          "forceplate.calibration", "forceplate.profiles", "forceplate.processing.forces", "tomllib")


def test_the_feet_the_trial_schema_restates_are_the_profiles():
    # restated so that a header, a trial list or a comparison builds no profile classes
    from forceplate.profiles import SIDES
    from forceplate.storage.schema import SIDES as schema_sides

    assert schema_sides == SIDES


def test_what_compare_restates_is_the_analysis_and_the_history():
    # restated so that a comparison answered from the library index imports neither (numpy)
    from forceplate.library.history import MIN_LOADS
    from forceplate.processing.valgus import GRADES
    from forceplate.reporting import compare

    assert compare.GRADES == GRADES and compare.MIN_LOADS == MIN_LOADS


def imported_by(command: list[str], cwd) -> set[str]:
    probe = ("import contextlib, io, sys; from forceplate.cli import main\n"
             f"with contextlib.redirect_stdout(io.StringIO()): status = main({command!r})\n"
             "assert status == 0, status\n"
             "print(' '.join(sys.modules))")
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd)
    assert ran.returncode == 0, (command, ran.stderr)
    return set(ran.stdout.split())


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


@pytest.fixture(scope="module")
def stored_trials(tmp_path_factory):
    from forceplate.library.simulated import SimulatedTrial, write_simulated_trial

    folder = tmp_path_factory.mktemp("library")
    for name in ("a.h5", "b.h5"):
        write_simulated_trial(folder / name, SimulatedTrial(reps=3, seed=1))
        saved = subprocess.run([sys.executable, "-m", "forceplate", "analyze", name, "--save"], cwd=folder,
                               capture_output=True, text=True)
        assert saved.returncode == 0, saved.stderr
    return folder


@pytest.mark.parametrize("command", [["trials", "."], ["compare", "a.h5", "b.h5"]])
def test_trials_and_compare_on_stored_results_import_no_analysis(stored_trials, command):
    modules = imported_by(command, stored_trials)
    assert loaded(modules, NEVER + NOT_FOR_STORED_RESULTS) == []
    assert "forceplate.exercises.squat" in modules  # the probe saw the command's own imports


def test_analyze_of_a_squat_imports_the_squat_only(stored_trials):
    # the trial's exercise attribute names the squat: no registry, no recognition
    modules = imported_by(["analyze", "a.h5"], stored_trials)
    assert loaded(modules, NEVER + ("forceplate.exercises.single_leg_squat", "forceplate.storage.writer")) == []
    assert "forceplate.processing.analysis" in modules
