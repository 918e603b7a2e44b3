"""The lab's test battery: one module per exercise, found here by its ``EXERCISE``.

A new exercise is one new module in this package that defines ``EXERCISE`` (an
:class:`~forceplate.exercises.model.Exercise`), plus its tests; nothing else changes.
Which exercise a trial is: ``analyze --exercise NAME``, else the trial's ``exercise``
attribute when it names one, else :func:`forceplate.processing.recognise.recognise`.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING

from forceplate.errors import ForceplateError

if TYPE_CHECKING:
    from forceplate.exercises.model import Exercise, Feet

RECOGNISED = "recognised from the force pattern"


@lru_cache(maxsize=None)
def registry() -> dict[str, Exercise]:
    """Exercise name -> Exercise, for every module of this package that defines EXERCISE."""
    import pkgutil

    found = {}
    for module in pkgutil.iter_modules(__path__):
        exercise = getattr(importlib.import_module(f"{__name__}.{module.name}"), "EXERCISE", None)
        if exercise is not None:
            found[exercise.name] = exercise
    return dict(sorted(found.items()))


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def own_module(name: str) -> Exercise | None:
    """The exercise called exactly ``name`` from its own module (exercises/NAME.py), without
    importing every exercise's module as :func:`registry` does (~20 ms: the jumps', landings'
    and sway's processing too); None when no module of that name defines it (an alias,
    another spelling, no such exercise)."""
    if not (isinstance(name, str) and name.isidentifier()) or name.startswith("_"):  # not __init__
        return None
    try:
        exercise = getattr(importlib.import_module(f"{__name__}.{name}"), "EXERCISE", None)
    except ImportError:
        return None
    return exercise if getattr(exercise, "name", None) == name else None


def lookup(name: str) -> Exercise | None:
    """The exercise called ``name`` (or one of its aliases; case, '-' and '_' alike), or None.
    An exercise's own name is found in its own module (names and aliases are unique: a test)."""
    key = _key(name)
    exercise = own_module(key)
    if exercise is not None:
        return exercise
    for exercise in registry().values():
        if key == exercise.name or key in exercise.aliases:
            return exercise
    return None


def get(name: str) -> Exercise:
    """The exercise called ``name``; raises ForceplateError listing the known ones."""
    exercise = lookup(name)
    if exercise is None:
        raise ForceplateError(f"unknown exercise {name!r}; known: {', '.join(registry())}")
    return exercise


def choose(requested: str | None, attrs: dict, feet_of) -> tuple[Exercise, str]:
    """The exercise to analyse a trial as, and how it was chosen (one line for the user).

    ``feet_of()`` gives the trial's :class:`Feet`, called only when the force pattern must
    decide (no ``--exercise``, no known ``exercise`` attribute).
    """
    if requested:
        return get(requested), "--exercise"
    stored = str(attrs.get("exercise") or "")
    named = lookup(stored) if stored else None
    if named is not None:
        return named, "the trial's exercise attribute"
    from forceplate.processing.recognise import recognise

    feet: Feet = feet_of()
    name, reason = recognise(feet.fz, feet.rate_hz)
    unknown = f" (its exercise attribute {stored!r} names none)" if stored else ""
    return get(name), f"{RECOGNISED}: {reason}{unknown}"


def run(exercise: Exercise, chosen_by: str, trial, calibration, options, feet_of) -> tuple[Exercise, str, dict, object]:
    """(exercise, how it was chosen, JSON-ready results, analysis object or None) of a trial.

    An exercise the force pattern suggested but whose segmentation finds nothing to measure
    (no quiet standing to weigh a jump by, no standing for a squat) gives the force summary
    instead, saying so, so that any readable trial is analysed (issue 12 item 10); an
    exercise the user chose (``--exercise``, the trial's attribute) fails with one line.
    """
    from forceplate.exercises.model import NotThisExercise
    from forceplate.processing.baseline import NoBaseline

    if exercise.name == "force_summary" and chosen_by.startswith(RECOGNISED):  # say what was recognised
        return exercise, chosen_by, exercise.summarised(feet_of(), chosen_by[len(RECOGNISED) + 2:]).as_dict(), None
    try:
        report, analysis = exercise.run_trial(trial, calibration, options, feet_of)
        return exercise, chosen_by, report, analysis
    except (NotThisExercise, NoBaseline) as exc:
        if not chosen_by.startswith(RECOGNISED):
            raise
        found = str(exc) if isinstance(exc, NotThisExercise) else f"cannot analyse as {exercise.name}: {exc}"
    fallback = get("force_summary")
    report = fallback.summarised(feet_of(), f"the force pattern suggests {exercise.name} but {found}").as_dict()
    return fallback, f"{chosen_by}; {found}", report, None


def check_exercise_options(exercise: str, path, flag_reference: bool, eyes_closed: bool,
                           reference_option: str = "--flag-reference", eyes_option: str = "--eyes-closed") -> None:
    """Refuse options the exercise has no use for (named as the caller names them)."""
    if flag_reference and exercise != "squat":
        raise ForceplateError(f"{reference_option} grades squats; {path} is analysed as {exercise}")
    if eyes_closed and exercise != "quiet_standing":
        raise ForceplateError(f"{eyes_option} compares quiet-standing trials; {path} is analysed as {exercise}")


def finish_summary(report: dict, exercise, chosen_by: str, feet_of) -> None:
    """What ``analyze`` adds to an exercise's results, in place: how the exercise was chosen,
    and, outside the squat (whose analysis reads its own arrays), how many lost force samples
    the segmentation interpolated."""
    summary = report["summary"]
    summary["exercise_chosen_by"] = chosen_by
    if exercise.kind != "squat" and feet_of.read is not None and feet_of.read.force_samples_filled:
        summary["notes"].append(f"{feet_of.read.force_samples_filled} lost samples of force interpolated")
