"""The lab's test battery: one module per exercise, found here by its ``EXERCISE``.

A new exercise is one new module in this package that defines ``EXERCISE`` (an
:class:`~forceplate.exercises.model.Exercise`), plus its tests; nothing else changes.
Which exercise a trial is: ``analyze --exercise NAME``, else the trial's ``exercise``
attribute when it names one, else :func:`forceplate.processing.recognise.recognise`.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from forceplate.errors import ForceplateError
from forceplate.exercises.model import Exercise, Feet


@lru_cache(maxsize=None)
def registry() -> dict[str, Exercise]:
    """Exercise name -> Exercise, for every module of this package that defines EXERCISE."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        exercise = getattr(importlib.import_module(f"{__name__}.{module.name}"), "EXERCISE", None)
        if exercise is not None:
            found[exercise.name] = exercise
    return dict(sorted(found.items()))


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def lookup(name: str) -> Exercise | None:
    """The exercise called ``name`` (or one of its aliases; case, '-' and '_' alike), or None."""
    key = _key(name)
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
    from forceplate.processing.recognise import recognise

    if requested:
        return get(requested), "--exercise"
    stored = str(attrs.get("exercise") or "")
    if stored and lookup(stored) is not None:
        return lookup(stored), "the trial's exercise attribute"
    feet: Feet = feet_of()
    name, reason = recognise(feet.fz, feet.rate_hz)
    unknown = f" (its exercise attribute {stored!r} names none)" if stored else ""
    return get(name), f"recognised from the force pattern: {reason}{unknown}"
