"""The analysis against simulated ground truth, on sessions drawn at random per seed.

Each session is drawn from its own seed over what real lifters and set-ups do (feet
turned out 0-40 deg each, lifter and plates turned in the lab, CoP travel -130..+40 mm
along the foot, back-to-back reps, little or no standing first, 1.2-6 s reps with pauses
and partial reps, 100 Hz-2 kHz, noise, sway, load changes, collapse in the descent, at the
bottom or in the ascent, knees-out reps), played by the three squat models through every
device set (forceplate.validation). Prints the figures against issue 12's goals, then
a table per factor so that a weak spot shows; writes benchmarks/results/validation_battery.txt
and .json.

    python3 benchmarks/validation_battery.py [--sessions 200] [--first-seed 1] [--quick] [--no-live]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter

import numpy as np

from forceplate.validation import (BOTTOM_TOLERANCE_S, DEVICE_SETS, FACTORS, GENERATORS, TARGETS, battery, by_factor,
                                   meets, quick_battery, run_session, summarize)
from results_file import RESULTS_DIR, publish

COLUMNS = (f"  {'bin':<18} {'reps':>5}  {'F1':>5}  {'prec':>5}  {'rec':>5}  {'rec|f':>5}  {'side':>5}  "
           f"{'cl m+':>6}  {'cl any':>6}  "
           f"{'k-out m+':>7}  {'depth %':>9}  {'live ms':>11}  {'miss':>5}  {'raised ms':>9}  {'liveF1':>6}  {'agree':>5}")
LEGEND = ("F1: reps, bottom within 0.15 s; prec/rec: moderate/severe flags per (rep, side); rec|f: recall on the reps "
          "found; side: flagged feet == "
          "collapsing feet; cl m+ / cl any: moderate+ / any flags per 50 clean sides; k-out m+: moderate+ flags / "
          "knees-out sides; depth %: |error| p50/p95; live ms: latency p50/p95 (never: > half / > 5 % missed); "
          "miss: share of moderate/severe sides with no live flag; raised ms: latency p50/p95 of the live flags that came; "
          "liveF1: live's reps (rep_end), bottom within 0.15 s; agree: (rep, side) found live and offline with the same "
          "moderate/severe verdict")


def _ms(value: float) -> str:
    return "never" if np.isinf(value) else "-" if np.isnan(value) else f"{1000 * value:.0f}"


def _f(value: float, digits: int = 3) -> str:
    return "-" if np.isnan(value) else f"{value:.{digits}f}"


def row(label: str, s) -> str:
    knees = f"{s.knees_out_strong}/{s.knees_out_sides}" if s.knees_out_sides else "-"
    depth = f"{_f(s.depth_error_p50_pct, 0)}/{_f(s.depth_error_p95_pct, 0)}"
    live = f"{_ms(s.live_p50_s)}/{_ms(s.live_p95_s)}"
    raised = f"{_ms(s.live_raised_p50_s)}/{_ms(s.live_raised_p95_s)}"
    return (f"  {label:<18} {s.reps:5d}  {_f(s.rep_f1):>5}  {_f(s.precision):>5}  {_f(s.recall):>5}  "
            f"{_f(s.recall_found):>5}  "
            f"{_f(s.side_correct):>5}  {_f(s.clean_strong_per_50, 1):>6}  {_f(s.clean_any_per_50, 1):>6}  "
            f"{knees:>7}  {depth:>9}  {live:>11}  {_f(s.live_missed, 2):>5}  {raised:>9}  "
            f"{_f(s.live_rep_f1):>6}  {_f(s.live_offline_agree):>5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="sessions to draw (default 200)")
    parser.add_argument("--first-seed", type=int, default=1, help="seed of the first session (default 1)")
    parser.add_argument("--quick", action="store_true", help="the tests' quick battery instead")
    parser.add_argument("--no-live", action="store_true", help="offline only (no live latency)")
    args = parser.parse_args()
    specs = quick_battery() if args.quick else battery(args.sessions, args.first_seed)
    started = time.perf_counter()
    results = []
    for k, spec in enumerate(specs, start=1):
        results.append(run_session(spec, live=not args.no_live))
        if k % 25 == 0:
            print(f"{k}/{len(specs)} sessions, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    elapsed = time.perf_counter() - started
    records = [r for result in results for r in result.records]
    overall = summarize(records)
    seeds = [s.seed for s in specs]
    lines = [f"{len(specs)} sessions (seeds {min(seeds)}-{max(seeds)}; {'quick battery' if args.quick else 'drawn'}), "
             f"device sets {', '.join(DEVICE_SETS)}; generators {', '.join(GENERATORS)}; {elapsed:.0f} s",
             "analysis called as a user would: analyze_feet(toe_out_deg=None) on plates (foot axes not stated), "
             "0 on insoles (their frame); StreamingAnalyzer in 20 ms blocks"]
    problems = Counter(r.problem.split(":")[0] + ": " + r.problem.split(":", 2)[1].strip()
                       for r in results if r.problem)
    live_notes = Counter(r.live_problem for r in results if r.live_problem)
    lines += [f"offline {what}: {n} sessions" for what, n in problems.most_common()]
    lines += [f"{note}: {n} sessions" for note, n in live_notes.most_common()]
    # counted by kind: how many reps or stretches of standing each one used is left out
    axes = Counter(re.sub(r" (from \d+ reps?|\(\d+ stretches, [\d.]+ s\))", "", r.axis_source)
                   for r in results if r.axis_source and not r.spec.insoles_only)
    lines.append("plates, foot axes used offline: " + "; ".join(f"{source}: {n}" for source, n in axes.most_common()))
    lines.append(f"all: {overall.reps} reps, {overall.clean_sides} clean sides, {overall.knees_out_sides} knees-out sides")
    for label, key, op, target in TARGETS:
        value = getattr(overall, key)
        shown = (_ms(value) + (" ms" if np.isfinite(value) else "") if key == "live_p95_s"
                 else f"{value:.3f}" if isinstance(value, float) else str(value))
        verdict = "PASS" if meets(overall, key, op, target) else "FAIL"
        lines.append(f"  {label:<42} {shown:>9}   target {op} {target:g}   {verdict}")
    lines += [f"  {'precision / recall on the reps found':<42} {overall.precision_found:9.3f} / {_f(overall.recall_found)}",
              f"  {'moderate/severe flags per 50 clean sides':<42} {overall.clean_strong_per_50:9.2f}",
              f"  {'flags of any grade per 50 clean sides':<42} {overall.clean_any_per_50:9.2f}",
              f"  {'depth error p50 / p95 (%)':<42} {_f(overall.depth_error_p50_pct, 1):>9} / "
              f"{_f(overall.depth_error_p95_pct, 1)}",
              f"  {'live latency p50 (ms); no live flag':<42} {_ms(overall.live_p50_s):>9}; "
              f"{_f(100 * overall.live_missed, 1)} % of moderate/severe sides",
              f"  {'live latency of the flags that came p50/p95 (ms)':<42} {_ms(overall.live_raised_p50_s):>9} / "
              f"{_ms(overall.live_raised_p95_s)}",
              f"  {'live rep F1; live and offline agree (m+)':<42} {_f(overall.live_rep_f1):>9}; "
              f"{_f(overall.live_offline_agree)} of the (rep, side) both found",
              f"rep F1: a found rep matches a true one when their bottoms are within {BOTTOM_TOLERANCE_S} s; "
              "precision/recall per (rep, side), moderate or severe; live latency from the moment the true "
              "collapse shift (foot frame) crossed the mild threshold, a missing flag counted as never",
              "", "per factor (" + LEGEND + ")", COLUMNS]
    table = {}
    for factor in FACTORS:
        lines.append(f" {factor}")
        table[factor] = {}
        for label, scores in by_factor(records, factor):
            lines.append(row(label, scores))
            table[factor][label] = scores.as_dict()
    publish("validation_battery", "validation battery", lines)
    (RESULTS_DIR / "validation_battery.json").write_text(json.dumps({
        "sessions": len(specs), "seeds": [min(seeds), max(seeds)], "quick": args.quick, "elapsed_s": round(elapsed, 1),
        "targets": [dict(zip(("label", "key", "op", "target"), t)) for t in TARGETS],
        "overall": overall.as_dict(), "per_factor": table,
        "offline_problems": dict(problems), "live_notes": dict(live_notes), "axis_sources": dict(axes),
        "per_session": [_session_line(r) for r in results],
    }, indent=1) + "\n")


def _session_line(result) -> dict:
    """One session's draw and figures: to find the seeds where the analysis goes wrong."""
    spec, scores = result.spec, summarize(result.records)
    return {"seed": spec.seed, "devices": spec.devices, "generator": spec.generator, "family": spec.family,
            "rate_hz": spec.rate_hz, "facing_deg": round(spec.facing_deg, 1), "problem": result.problem,
            "axis_source": result.axis_source, "reps": scores.reps, "rep_f1": round(scores.rep_f1, 3),
            "precision": None if np.isnan(scores.precision) else round(scores.precision, 3),
            "recall": None if np.isnan(scores.recall) else round(scores.recall, 3)}


if __name__ == "__main__":
    main()
