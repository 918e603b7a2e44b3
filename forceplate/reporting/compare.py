"""Trials side by side: per-rep and per-set metrics, differences, flagged share vs load."""

from __future__ import annotations

import math

from forceplate.storage.schema import SIDES  # not forceplate.profiles: compare builds no profile classes

# A comparison of trials whose metrics the library index holds (library/index.py) is put
# together from them alone: numpy and the exercise tables are imported where a trial's own
# metrics are computed, and these are restated (a test checks them) from modules that bring
# numpy (the analysis) or more than this needs (the history).
GRADES = ("none", "mild", "moderate", "severe")  # forceplate.processing.valgus.GRADES
MIN_LOADS = 3  # forceplate.library.history.MIN_LOADS: a load trend takes light, middle and heavy
PER_10_KG = 10.0


def _mean(values) -> float | None:
    import numpy as np

    finite = [v for v in values if v is not None and math.isfinite(v)]
    return round(float(np.mean(finite)), 3) if finite else None


def _max(values) -> float | None:
    import numpy as np

    finite = [v for v in values if v is not None and math.isfinite(v)]
    return round(float(np.max(finite)), 3) if finite else None


def rep_metrics(rep: dict, normal_mm: dict | None = None) -> dict:
    """The compared metrics of one rep (a rep of ``Analysis.as_dict()``); ``normal_mm``: per
    side, the normal its trial graded from (the summary's ``normal_shift_mm``; 0 when absent)."""
    out = {}
    for side in SIDES:
        shift = rep[side]["medial_shift_mm"]
        out[f"{side}_shift_mm"] = shift
        # what was graded: trials of different lifters (or sessions) start their grades at different normals
        normal = (normal_mm or {}).get(side) or 0.0
        out[f"{side}_over_normal_mm"] = None if shift is None else round(shift - normal, 2)
        out[f"{side}_flag"] = rep[side]["flag"]
    out["asymmetry_pct"] = rep["asymmetry_pct"]
    out["depth_m"] = rep["depth_m"]
    return out


def set_metrics(results: dict) -> dict:
    """One trial (one set) summarised: flagged share, medial shift, asymmetry, depth."""
    reps = results["reps"]
    n = len(reps)
    out = {"reps": n}
    for side in SIDES:
        flagged = sum(r[side]["flag"] != "none" for r in reps)
        out[f"{side}_flagged"] = flagged
        out[f"{side}_mean_shift_mm"] = _mean(r[side]["medial_shift_mm"] for r in reps)
        out[f"{side}_max_shift_mm"] = _max(r[side]["medial_shift_mm"] for r in reps)
    flagged = sum(any(r[s]["flag"] != "none" for s in SIDES) for r in reps)
    out["flagged_reps"] = flagged
    out["flagged_share_pct"] = round(100.0 * flagged / n, 1) if n else None
    # asymmetry is signed (left minus right); its mean keeps the side, its size is abs
    out["mean_asymmetry_pct"] = _mean(r["asymmetry_pct"] for r in reps)
    out["mean_depth_m"] = _mean(r["depth_m"] for r in reps)
    return out


def difference(first: dict, other: dict) -> dict:
    """``other - first`` for every numeric metric both have; flags as grade steps (+ worse)."""
    out = {}
    for key, a in first.items():
        b = other.get(key)
        if key.endswith("_flag") and a is not None and b is not None:
            out[key.replace("_flag", "_grade_steps")] = GRADES.index(b) - GRADES.index(a)
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            out[key] = round(b - a, 3) if math.isfinite(a) and math.isfinite(b) else None
    return out


def load_trend(entries: list[dict]) -> dict:
    """Flagged share against external load, with a least-squares slope per 10 kg when at
    least :data:`MIN_LOADS` loads were tried (through two points a "slope" is only their
    difference). ``warnings`` says when the points are not one person's: a difference
    between people would then read as an effect of load."""
    points = sorted(
        ({"file": e["file"], "subject": e.get("subject"), "load_kg": float(e["load_kg"]),
          "flagged_share_pct": e["set"]["flagged_share_pct"]}
         for e in entries if e.get("load_kg") is not None and e["set"]["flagged_share_pct"] is not None),
        key=lambda p: p["load_kg"],
    )
    loads = {p["load_kg"] for p in points}
    subjects = sorted({p["subject"] or "no subject" for p in points})
    slope = intercept = note = None
    warnings = []
    if len(loads) >= MIN_LOADS:
        import numpy as np

        x = np.array([p["load_kg"] for p in points])
        y = np.array([p["flagged_share_pct"] for p in points])
        per_kg, at_zero = np.polyfit(x, y, 1)
        slope, intercept = round(float(per_kg) * PER_10_KG, 2), round(float(at_zero), 2)
    elif len(loads) >= 2:
        note = f"{len(loads)} loads: no trend drawn through two points; it takes at least {MIN_LOADS} loads"
    if len(loads) >= 2 and len(subjects) > 1:
        warnings.append(f"the load trend mixes {len(subjects)} subjects ({', '.join(subjects)}): a difference "
                        "between people reads as an effect of load; compare one subject's trials")
    return {"points": points, "flagged_share_pp_per_10kg": slope, "flagged_share_at_0kg_pct": intercept,
            "note": note, "warnings": warnings}


def trial_metrics(results: dict) -> dict:
    """What a comparison takes of one squat trial (its results): its set's metrics and each rep's."""
    normal = results["summary"].get("normal_shift_mm")
    return {"set": set_metrics(results), "reps": [rep_metrics(rep, normal) for rep in results["reps"]]}


def compare_metrics(trials: list[tuple[str, dict, dict]]) -> dict:
    """Squat trials side by side: per rep and per set, differences against the first, flagged
    share against load. ``trials``: (file, trial attributes, :func:`trial_metrics`) each."""
    entries = [{"file": file, "subject": attrs.get("subject"), "exercise": attrs.get("exercise"),
                "load_kg": attrs.get("load_kg"), "set": metrics["set"]}
               for file, attrs, metrics in trials]
    reps = _side_by_side(entries, [metrics["reps"] for _, _, metrics in trials])
    return {"trials": entries, "reps": reps, "load": load_trend(entries)}


def _side_by_side(entries: list[dict], reps_of: list[list[dict]]) -> list[dict]:
    """Each entry's set against the first's (``set_difference``, added), and the rows of
    the reps side by side: rep i of every trial (None where one has fewer), its differences
    from the first's."""
    for e in entries[1:]:
        e["set_difference"] = difference(entries[0]["set"], e["set"])
    rows_side_by_side = []
    for i in range(max(map(len, reps_of), default=0)):
        row = [reps[i] if i < len(reps) else None for reps in reps_of]
        rows_side_by_side.append({
            "index": i + 1,
            "trials": row,
            "difference": [difference(row[0], other) if row[0] and other else None for other in row[1:]],
        })
    return rows_side_by_side


def exercise_heading(exercise) -> dict:
    """What a comparison of trials of a non-squat exercise says of the exercise: name, title,
    what a set's values are, the compared columns with their units and formats."""
    from forceplate.reporting.exercise_table import numeric_columns

    return {"exercise": exercise.name, "title": exercise.title,
            "set_is": "both feet's sway" if exercise.kind == "balance" else "the mean of its reps",
            "columns": [{"key": c.key, "header": c.header, "unit": c.unit, "fmt": c.fmt} for c in numeric_columns(exercise)]}


def exercise_metrics(exercise, results: dict) -> dict:
    """What a comparison takes of one trial of a non-squat exercise: its set's values
    (reporting/exercise_table.py) and each row's numeric columns, labelled."""
    from forceplate.reporting.exercise_table import numeric_columns, rows, set_values, value_at

    measured = numeric_columns(exercise)
    return {"set": set_values(exercise, results),
            "reps": [{"label": label, **{c.key: value_at(row, c.key) for c in measured}}
                     for label, row in rows(exercise, results)]}


def compare_exercise_metrics(heading: dict, trials: list[tuple[str, dict, dict]]) -> dict:
    """Trials of one non-squat exercise side by side: per rep and per set (the mean of each
    rep) the exercise's own numeric columns (reporting/exercise_table.py), differences
    against the first. ``heading``: the exercise's (:func:`exercise_heading`); ``trials``:
    (file, trial attributes, :func:`exercise_metrics`) each."""
    entries = [{"file": file, "subject": attrs.get("subject"), "exercise": heading["exercise"],
                "load_kg": attrs.get("load_kg"), "set": metrics["set"]}
               for file, attrs, metrics in trials]
    reps = _side_by_side(entries, [metrics["reps"] for _, _, metrics in trials])
    return {**heading, "trials": entries, "reps": reps}
