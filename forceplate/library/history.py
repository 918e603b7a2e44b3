"""One athlete's trials over time (``forceplate history``), from per-rep table rows.

Works on the rows of :mod:`forceplate.library.table` (one per rep and side), whether they
come from a table written by ``batch`` or from trial files analysed here, so a lab can run
``batch`` on its cluster once and ask for each athlete's history from the table.

Per session (the day a trial was recorded) and load: the share of reps flagged on each
side, the mean medial shift, the asymmetry with its traffic-light band, and the depth; a
trend across sessions; and, per side, the question the coaching texts in ``shared/seeds``
start from: does the knee collapse already at light load (technique, then mobility) or only
as the load grows (strength: glutes, hamstrings)? Slight valgus "isn't a huge deal", so
only moderate and severe flags count as collapse there; any flag counts in the flagged share.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import numpy as np

from forceplate.errors import ForceplateError
from forceplate.storage.schema import SIDES  # not forceplate.profiles: compare builds no profile classes

# The exercises whose reps carry the squat's results (flag, medial shift, depth); a batch
# table names each trial's exercise as analysed, so a jump's reps never count as a squat's.
SQUAT_EXERCISES = ("squat", "single_leg_squat")

# Asymmetry bands on |asymmetry_pct|, the analysis's (left - right) / (left + right) of the
# mean vertical force in a rep, in %.
GREEN_BELOW_PCT, RED_ABOVE_PCT = 10.0, 25.0
ASYMMETRY_BANDS = {"green": "< 10 %", "amber": "10-25 %", "red": "> 25 %"}
COLLAPSE_GRADES = ("moderate", "severe")
# A pattern "appears" at some loads when at least one rep in four collapses there, and those
# loads are "clean" when at most one in ten does (a stray rep is not a pattern).
COLLAPSE_SHARE_PCT = 25.0
CLEAN_SHARE_PCT = 10.0
MIN_LOADS = 3  # light, middle, heavy: two loads cannot tell a load effect from a bad day
MIN_REPS = 3  # reps at the light and at the heavy loads, each
MIN_SESSIONS_FOR_TREND = 3  # a slope through two sessions is just their difference
TREND_PER_DAYS = 28.0  # trends are per 4 weeks


def asymmetry_band(asymmetry_pct: float | None) -> dict | None:
    """The traffic-light band of an asymmetry (%): green below 10, amber 10 to 25, red above 25."""
    if asymmetry_pct is None or not math.isfinite(asymmetry_pct):
        return None
    size = abs(asymmetry_pct)
    colour = "green" if size < GREEN_BELOW_PCT else "amber" if size <= RED_ABOVE_PCT else "red"
    return {"band": colour, "range": ASYMMETRY_BANDS[colour]}


def _mean(values) -> float | None:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return round(float(np.mean(finite)), 2) if finite else None


def _share(flags, grades=None) -> float | None:
    """Percent of reps whose flag is any grade (``grades`` None) or one of ``grades``."""
    flags = list(flags)
    if not flags:
        return None
    hits = sum((f not in (None, "none")) if grades is None else (f in grades) for f in flags)
    return round(100.0 * hits / len(flags), 1)


def _as_reps(rows: list[dict]) -> list[dict]:
    """Rows of a per-rep table (one per rep and side) regrouped as reps: ``{"row": the first
    side's row (for the per-rep values), "left": its row, "right": its row}``."""
    reps: dict[tuple, dict] = {}
    for row in rows:
        reps.setdefault((row["file"], row["rep"]), {"row": row})[row["side"]] = row
    return list(reps.values())


def _group_metrics(reps: list[dict]) -> dict:
    out = {"trials": len({r["row"]["file"] for r in reps}), "reps": len(reps)}
    for side in SIDES:
        flags = [r[side].get("flag") for r in reps if side in r]
        out[f"{side}_flagged_pct"] = _share(flags)
        out[f"{side}_collapse_pct"] = _share(flags, COLLAPSE_GRADES)
        out[f"{side}_mean_shift_mm"] = _mean(r[side].get("medial_shift_mm") for r in reps if side in r)
    out["mean_asymmetry_pct"] = _mean(r["row"].get("asymmetry_pct") for r in reps)
    out["asymmetry"] = asymmetry_band(out["mean_asymmetry_pct"])
    out["mean_depth_m"] = _mean(r["row"].get("depth_m") for r in reps)
    return out


def _slope_per_period(days: list[float], values: list[float | None]) -> float | None:
    pairs = [(d, v) for d, v in zip(days, values, strict=True) if v is not None]
    if len({d for d, _ in pairs}) < MIN_SESSIONS_FOR_TREND:
        return None
    x, y = np.array(pairs, dtype=float).T
    return round(float(np.polyfit(x, y, 1)[0]) * TREND_PER_DAYS, 2)


def _trend(sessions: list[dict]) -> dict:
    """Least-squares change per 4 weeks of each session's values (all its loads together)."""
    days = [(dt.date.fromisoformat(s["date"]) - dt.date.fromisoformat(sessions[0]["date"])).days for s in sessions]
    out = {"sessions": len(sessions), "per_days": TREND_PER_DAYS}
    for side in SIDES:
        out[f"{side}_flagged_pp"] = _slope_per_period(days, [s[f"{side}_flagged_pct"] for s in sessions])
        out[f"{side}_mean_shift_mm"] = _slope_per_period(days, [s[f"{side}_mean_shift_mm"] for s in sessions])
    sizes = [None if s["mean_asymmetry_pct"] is None else abs(s["mean_asymmetry_pct"]) for s in sessions]
    out["asymmetry_size_pp"] = _slope_per_period(days, sizes)
    out["mean_depth_m"] = _slope_per_period(days, [s["mean_depth_m"] for s in sessions])
    if len(sessions) < MIN_SESSIONS_FOR_TREND:
        out["note"] = f"too few sessions for a trend ({len(sessions)}; at least {MIN_SESSIONS_FOR_TREND})"
    elif len({tuple(s["loads_kg"]) for s in sessions}) > 1:
        out["note"] = "the sessions used different loads: the trend mixes the load's effect with time's"
    return out


def collapse_by_load(reps: list[dict], side: str) -> dict:
    """Does ``side`` collapse (moderate or severe flags) already at light load, or only as
    the load grows? Light is the lightest third of the loads tried, heavy the heaviest third."""
    by_load = defaultdict(list)
    for r in reps:
        if side in r and r["row"].get("load_kg") is not None:
            by_load[float(r["row"]["load_kg"])].append(r[side].get("flag"))
    loads = sorted(by_load)
    shares = {load: _share(flags, COLLAPSE_GRADES) for load, flags in by_load.items()}
    out = {"side": side, "loads_kg": loads, "collapse_pct_by_load": [shares[load] for load in loads]}
    if len(loads) < MIN_LOADS:
        tried = ", ".join(f"{load:g}" for load in loads) or "none recorded"
        out.update(answer="cannot tell", reason=f"trials at {len(loads)} load(s) ({tried} kg); it takes at least "
                                                f"{MIN_LOADS} loads from light to heavy to tell")
        return out
    third = max(1, len(loads) // 3)
    light, heavy = loads[:third], loads[-third:]
    light_flags = [f for load in light for f in by_load[load]]
    heavy_flags = [f for load in heavy for f in by_load[load]]
    out.update(light_kg=light, heavy_kg=heavy, light_reps=len(light_flags), heavy_reps=len(heavy_flags),
               light_collapse_pct=_share(light_flags, COLLAPSE_GRADES),
               heavy_collapse_pct=_share(heavy_flags, COLLAPSE_GRADES))
    if min(len(light_flags), len(heavy_flags)) < MIN_REPS:
        out.update(answer="cannot tell", reason=f"too few reps at the light ({len(light_flags)}) or heavy "
                                                f"({len(heavy_flags)}) loads; at least {MIN_REPS} each")
        return out
    at_light, at_heavy = out["light_collapse_pct"], out["heavy_collapse_pct"]
    if at_light >= COLLAPSE_SHARE_PCT:
        out.update(answer="already at light load", cause="technique or mobility",
                   reason=f"{at_light:g} % of reps at {_kg(light)} collapse: work on technique first "
                          "(cues, slow light reps), then mobility (hips, ankles) if it persists")
    elif at_heavy >= COLLAPSE_SHARE_PCT and at_light <= CLEAN_SHARE_PCT:
        out.update(answer="only as the load grows", cause="strength",
                   reason=f"{at_light:g} % of reps at {_kg(light)} but {at_heavy:g} % at {_kg(heavy)} collapse: "
                          "strength (glutes, hamstrings) rather than technique or mobility")
    elif at_heavy >= COLLAPSE_SHARE_PCT:
        out.update(answer="unclear", reason=f"{at_light:g} % at {_kg(light)} and {at_heavy:g} % at {_kg(heavy)}: "
                                            "some collapse at light load and more with load; both may play a part")
    else:
        out.update(answer="no collapse pattern", reason=f"{at_light:g} % at {_kg(light)}, {at_heavy:g} % at "
                                                        f"{_kg(heavy)}: below {COLLAPSE_SHARE_PCT:g} % at every load")
    return out


def _kg(loads: list[float]) -> str:
    return f"{loads[0]:g} kg" if len(loads) == 1 else f"{loads[0]:g}-{loads[-1]:g} kg"


def history(rows: list[dict], subject: str, exercise: str | None = None) -> dict:
    """``subject``'s history of ``exercise`` (None: every exercise) from per-rep rows; rows
    of other subjects and error rows are left out, and so are trials of other exercises."""
    if exercise is not None and exercise not in SQUAT_EXERCISES:
        raise ForceplateError(f"history follows squats (flags, medial shift, asymmetry, depth, collapse with load); "
                              f"{exercise} has none of these: compare its trials with 'forceplate compare'")
    mine = [r for r in rows if r.get("subject") == subject and not r.get("error") and r.get("side") in SIDES]
    other_exercises = {r["file"] for r in mine if exercise is not None and r.get("exercise") != exercise}
    reps = _as_reps([r for r in mine if r["file"] not in other_exercises])
    groups = defaultdict(list)
    days = defaultdict(list)
    for r in reps:
        date = r["row"].get("date") or "undated"
        groups[(date, r["row"].get("load_kg"))].append(r)
        days[date].append(r)
    by_load = [{"date": date, "load_kg": load, **_group_metrics(group)}
               for (date, load), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] is None,
                                                                                 kv[0][1] or 0.0))]
    sessions = [{"date": date, "loads_kg": sorted({r["row"]["load_kg"] for r in group if r["row"].get("load_kg")
                                                   is not None}), **_group_metrics(group)}
                for date, group in sorted(days.items()) if date != "undated"]
    return {
        "subject": subject,
        "exercises": sorted({r["row"].get("exercise") or "-" for r in reps}),
        "trials": len({r["row"]["file"] for r in reps}),
        "other_exercise_trials": len(other_exercises),
        "reps": len(reps),
        "by_session_and_load": by_load,
        "sessions": sessions,
        "trend": _trend(sessions) if sessions else None,
        "collapse": {side: collapse_by_load(reps, side) for side in SIDES},
        "bands": [{"band": colour, "range": label} for colour, label in ASYMMETRY_BANDS.items()],
    }
