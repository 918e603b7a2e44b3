"""Trials side by side: per-rep and per-set metrics, differences, flagged share vs load."""

from __future__ import annotations

import math

import numpy as np

from forceplate.library.history import MIN_LOADS
from forceplate.processing.valgus import GRADES
from forceplate.storage.schema import SIDES  # not forceplate.profiles: compare builds no profile classes
from forceplate.reporting.exercise_table import numeric_columns, rows, set_values, value_at

PER_10_KG = 10.0


def _mean(values) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return round(float(np.mean(finite)), 3) if finite else None


def _max(values) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return round(float(np.max(finite)), 3) if finite else None


def rep_metrics(rep: dict) -> dict:
    """The compared metrics of one rep (a rep of ``Analysis.as_dict()``)."""
    out = {}
    for side in SIDES:
        out[f"{side}_shift_mm"] = rep[side]["medial_shift_mm"]
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


def compare(trials: list[tuple[str, dict, dict]]) -> dict:
    """``trials``: (file, trial attributes, results) each; the first is the reference."""
    entries = [{"file": file, "subject": attrs.get("subject"), "exercise": attrs.get("exercise"),
                "load_kg": attrs.get("load_kg"), "set": set_metrics(results)}
               for file, attrs, results in trials]
    for e in entries[1:]:
        e["set_difference"] = difference(entries[0]["set"], e["set"])
    reps = []
    for i in range(max((len(r["reps"]) for _, _, r in trials), default=0)):
        row = [rep_metrics(r["reps"][i]) if i < len(r["reps"]) else None for _, _, r in trials]
        reps.append({
            "index": i + 1,
            "trials": row,
            "difference": [difference(row[0], other) if row[0] and other else None for other in row[1:]],
        })
    return {"trials": entries, "reps": reps, "load": load_trend(entries)}


def compare_exercise(exercise, trials: list[tuple[str, dict, dict]]) -> dict:
    """Trials of one non-squat exercise side by side: per rep and per set (the mean of each
    rep) the exercise's own numeric columns (reporting/exercise_table.py), differences
    against the first. ``trials``: (file, trial attributes, results) each."""
    measured = numeric_columns(exercise)
    entries = [{"file": file, "subject": attrs.get("subject"), "exercise": exercise.name,
                "load_kg": attrs.get("load_kg"), "set": set_values(exercise, results)}
               for file, attrs, results in trials]
    for e in entries[1:]:
        e["set_difference"] = difference(entries[0]["set"], e["set"])
    tables = [rows(exercise, results) for _, _, results in trials]
    reps = []
    for i in range(max(map(len, tables), default=0)):
        row = [{"label": table[i][0], **{c.key: value_at(table[i][1], c.key) for c in measured}}
               if i < len(table) else None for table in tables]
        reps.append({"index": i + 1, "trials": row,
                     "difference": [difference(row[0], other) if row[0] and other else None for other in row[1:]]})
    return {"exercise": exercise.name, "title": exercise.title,
            "set_is": "both feet's sway" if exercise.kind == "balance" else "the mean of its reps",
            "columns": [{"key": c.key, "header": c.header, "unit": c.unit, "fmt": c.fmt} for c in measured],
            "trials": entries, "reps": reps}
