"""Processing speed: offline analysis of a 10-minute trial and the live pipeline's cost.

A 10-minute session of 1 kHz dual plates plus 100 Hz insoles (left and right) is made
with the simulator's emulators (raw counts through the calibration records, as recorded),
then analysed offline (forces, CoP, baseline, reps, flags, insole arch load) and pushed
through the live pipeline in 20 ms blocks. Prints x-real-time ratios and the per-sample
cost; writes benchmarks/results/processing_speed.txt.

    python3 benchmarks/processing_speed.py
"""

from __future__ import annotations

import time


from forceplate.processing.analysis import SIDES, analyze_feet
from forceplate.processing.streaming import StreamingAnalyzer
from forceplate.validation import SessionSpec, simulate
from results_file import publish

MINUTES = 10.0
BLOCK_S = 0.02


def main() -> None:
    reps = int((MINUTES * 60 - 4) // 4.0)  # the normal tempo's rep takes 4 s
    spec = SessionSpec.plain(devices="plates4+insoles16", reps=reps, seed=7, toe_out_deg=15.0)
    t, fz, cop, regions, rate, toe_out, _ = simulate(spec)
    duration = t[-1] - t[0]
    lines = [f"{duration / 60:.1f}-minute session: 1 kHz dual plates ({len(t)} samples) + 100 Hz insoles "
             f"(regions resampled onto the plates' clock), {reps} reps"]
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        analysis = analyze_feet(t, fz, cop, rate, toe_out, regions=regions)
        runs.append(time.perf_counter() - started)
    best = min(runs)
    lines.append(f"offline analysis: best {best:.3f} s of 3 ({duration / best:.0f}x real time), "
                 f"{len(analysis.reps)} reps found; target < 1 s: {'PASS' if best < 1.0 else 'FAIL'}")
    analyzer = StreamingAnalyzer(rate, toe_out)
    block = int(BLOCK_S * rate)
    started = time.perf_counter()
    for lo in range(0, len(t), block):
        sl = slice(lo, lo + block)
        analyzer.push(t[sl], {f: fz[f][sl] for f in SIDES}, {f: cop[f][sl] for f in SIDES})
    live = time.perf_counter() - started
    lines.append(f"live pipeline: {live:.2f} s for the session ({duration / live:.0f}x real time), "
                 f"{live / len(t) * 1e6:.2f} us per 1 kHz sample, {live / (len(t) / block) * 1e3:.2f} ms per 20 ms block")
    publish("processing_speed", "processing speed", lines)


if __name__ == "__main__":
    main()
