"""Processing validated against simulator ground truth: rep detection, flags, live latency.

Runs forceplate.validation's battery (4-cell and six-axis plates, 16- and 8-sensor
insoles, plates with insoles; people of 50-120 kg, loads, four tempos, feet turned out
0-30 degrees, two noise levels; sessions with valgus labels and clean ones) and prints
the scores against the processing issue's targets. Results go to
benchmarks/results/validation_battery.txt.

    python3 benchmarks/validation_battery.py [--seeds 2]
"""

from __future__ import annotations

import argparse
import time

from forceplate.validation import DEVICE_SETS, battery, run_session, summarize
from results_file import publish

TARGETS = [
    ("rep detection F1", "rep_f1", ">=", 0.98),
    ("moderate/severe flag precision", "precision", ">=", 0.90),
    ("moderate/severe flag recall", "recall", ">=", 0.90),
    ("side correct", "side_correct", ">=", 0.95),
    ("false flags per 50 clean reps", "false_flags_per_50_reps", "<=", 1.0),
    ("live latency median (s)", "latency_median_s", "<=", 0.150),
    ("live latency p95 (s)", "latency_p95_s", "<=", 0.150),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="sessions per device set, tempo and label kind")
    args = parser.parse_args()
    specs = battery(seeds=args.seeds)
    started = time.perf_counter()
    scores = [run_session(spec) for spec in specs]
    elapsed = time.perf_counter() - started
    lines = [f"{len(specs)} sessions ({', '.join(DEVICE_SETS)}), {elapsed:.1f} s"]
    overall = summarize(scores)
    lines.append(f"all: {overall.sessions} sessions, {overall.reps} reps")
    for label, key, op, target in TARGETS:
        value = getattr(overall, key)
        ok = value >= target if op == ">=" else value <= target
        lines.append(f"  {label:<34} {value:8.3f}   target {op} {target:g}   {'PASS' if ok else 'FAIL'}")
    lines.append(f"  {'live latency from pattern onset, median (s)':<34} {overall.latency_from_onset_median_s:8.3f}"
                 "   (the pattern rises over half the descent: reference only)")
    estimated = summarize([s for s in scores if s.spec.estimate_axis])
    lines.append(f"foot axes estimated from the reps ({estimated.sessions} plate sessions, toe-out 5-35 deg): "
                 f"|error| p95 {estimated.axis_error_p95_deg:.1f} deg; F1 {estimated.rep_f1:.3f}, precision "
                 f"{estimated.precision:.3f}, recall {estimated.recall:.3f}, false/50 {estimated.false_flags_per_50_reps:.2f}")
    lines.append("latency: first live flag on the labelled side minus the moment the simulated medial shift "
                 "first exceeded the mild threshold")
    for devices in DEVICE_SETS:
        part = summarize([s for s in scores if s.spec.devices == devices])
        lines.append(f"{devices:<18} F1 {part.rep_f1:.3f}  precision {part.precision:.3f}  recall {part.recall:.3f}  "
                     f"side {part.side_correct:.3f}  false/50 {part.false_flags_per_50_reps:.2f}  "
                     f"latency median {part.latency_median_s * 1000:.0f} ms p95 {part.latency_p95_s * 1000:.0f} ms")
    publish("validation_battery", "validation battery", lines)


if __name__ == "__main__":
    main()
