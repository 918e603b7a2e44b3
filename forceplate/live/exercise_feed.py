"""A non-squat exercise measured live, for the window's exercise selector. No Qt.

The live pipeline (processing/streaming.py) knows squats only. For the other exercises the
window hands this the session's ring buffer of the feet (the last 30 s) about once a second;
the exercise's own offline analysis (``Exercise.analyze``, as ``forceplate analyze`` runs it)
measures it, and each rep is kept once it is complete: its last phase ended at least
:data:`SETTLED_S` before the newest sample, so a rep is never shown half measured, and
measured while it was wholly in the buffer. Times are put on the session clock.

Assumption: a rep (a jump, a landing, a rise, a pull) and the second of standing its
segmentation weighs the body by fit in the buffer; a longer one is not measured live.
"""

from __future__ import annotations

import numpy as np

from forceplate.exercises.model import Feet, NotThisExercise, Options, with_force_gaps_filled
from forceplate.reporting.exercise_table import MOMENT_KEYS, rows  # instants go onto the session clock

SETTLED_S = 1.0


class LiveExercise:
    """The reps of ``exercise`` found so far in a session (``reps``, in the order they happened)
    and, for quiet standing, the sway of the buffer (``sway_rows``); ``note`` says why nothing
    could be measured (no standing to weigh by yet, ...)."""

    def __init__(self, exercise, options: Options | None = None):
        self.exercise = exercise
        self.options = options or Options()
        self._reps: dict[float, dict] = {}  # session time of the rep's start -> the rep
        self.sway_rows: list[tuple[str, dict]] = []
        self.note = ""

    @property
    def reps(self) -> list[dict]:
        return [dict(rep, index=i) for i, (_, rep) in enumerate(sorted(self._reps.items()), start=1)]

    def update(self, columns: dict, rate_hz: float) -> bool:
        """Measure the buffer ``columns`` (a ring peek: t, fz_left, fz_right, cop_left, cop_right);
        True when what is shown changed."""
        t = np.asarray(columns["t"], float)
        if len(t) < 2 * rate_hz:
            return False
        feet = with_force_gaps_filled(Feet(t - t[0], {side: columns[f"fz_{side}"] for side in ("left", "right")},
                                           {side: columns[f"cop_{side}"] for side in ("left", "right")}, rate_hz))
        try:
            result = self.exercise.analyze(feet, self.options).as_dict()
        except NotThisExercise as exc:
            changed, self.note = self.note != str(exc), str(exc)
            return changed
        self.note = ""
        if self.exercise.kind == "balance":
            self.sway_rows = rows(self.exercise, result)
            return True
        newest, before = float(t[-1]), len(self._reps)
        for rep in result["reps"]:
            ends = [p["end_s"] for p in rep.get("phases", []) if p["end_s"] is not None]
            starts = [p["start_s"] for p in rep.get("phases", []) if p["start_s"] is not None]
            if not ends or t[0] + max(ends) > newest - SETTLED_S:
                continue  # still under way, or its end not yet settled
            key = round(float(t[0] + min(starts)), 1)
            if not any(abs(key - seen) < 0.3 for seen in self._reps):  # the same rep in an earlier window
                self._reps[key] = _on_session_clock(rep, float(t[0]))
        return len(self._reps) != before


def _on_session_clock(rep: dict, t0_s: float) -> dict:
    moved = {k: (round(v + t0_s, 3) if k in MOMENT_KEYS and isinstance(v, (int, float)) else v) for k, v in rep.items()}
    moved["phases"] = [{**p, **{k: round(p[k] + t0_s, 3) for k in ("start_s", "end_s") if p[k] is not None}}
                       for p in rep.get("phases", [])]
    return moved
