"""How a person's flag reference (``calibrate flag``) grades their trials, on simulated persons.

Per seed, one simulated person (with a healthy medial drift in every rep, drawn per foot in
0 to ``--drift-mm``) records three trials of 5 reps (dual plate, 1 kHz, through the
real TrialWriter): normal reps, deliberate knees-in reps (a collapse on both feet, peak drawn
per person in 8-14 mm, each rep within +-15 % of it) and a set with a mild collapse in every rep
(peak drawn in 4.5-6.5 mm, the same spread). The reference comes from the first two as
``calibrate flag`` makes it (the knees-in trial on the normal trial's foot axes); then each
trial is graded with it as ``analyze`` does (on the reference's foot axes), and the mild set also against its own reps (no reference).
Prints and writes benchmarks/results/flag_reference-driftX.txt: per seed the scale, the normal and the
grade counts over the rep-sides; then the totals.

    python3 benchmarks/flag_reference.py [--seeds 12] [--drift-mm 6]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

import numpy as np

from forceplate.calibration.flag import fit_reference, rep_peaks
from forceplate.errors import CalibrationError
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.offline import analyze_trial
from forceplate.sim.squat import Collapse, RepPlan
from forceplate.storage.reader import open_trial

RESULTS = Path(__file__).parent / "results"


def plans(rng: np.random.Generator, peak_mm: float | None, drift_mm: dict, n: int = 5) -> list[RepPlan]:
    """``n`` reps of the simulator's tempo with the person's healthy medial drift, each
    collapsing on both feet by about ``peak_mm`` (None: normal reps)."""
    return [RepPlan(1.0, 0.2, 0.8, 0.6, 0.45, -12.0, healthy_medial_mm=dict(drift_mm),
                    collapse={foot: Collapse("moderate", peak_mm * rng.uniform(0.85, 1.15)) for foot in ("left", "right")}
                    if peak_mm else {}) for _ in range(n)]


def grades(analysis) -> collections.Counter:
    return collections.Counter(r.sides[foot].flag for r in analysis.reps for foot in ("left", "right"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--drift-mm", type=float, default=0.0,
                        help="each person's healthy medial drift at the bottom, drawn per foot in [0, this] mm")
    args = parser.parse_args()
    lines, totals = [], collections.defaultdict(collections.Counter)
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            knees_in_mm, mild_mm = rng.uniform(8.0, 14.0), rng.uniform(4.5, 6.5)
            drift = {foot: rng.uniform(0.0, args.drift_mm) for foot in ("left", "right")}
            paths = {}
            for k, (name, peak) in enumerate((("normal", None), ("knees_in", knees_in_mm), ("mild", mild_mm))):
                paths[name] = write_simulated_trial(Path(folder) / f"{seed}-{name}.h5",
                                                    SimulatedTrial(subject=f"S{seed}", seed=1000 * seed + k,
                                                                   rep_plans=plans(rng, peak, drift)))
            normal = analyze_trial(open_trial(paths["normal"]))
            knees_in = analyze_trial(open_trial(paths["knees_in"]), toe_out_deg=dict(normal.baseline.toe_out_deg))
            try:
                reference = fit_reference(f"S{seed}", rep_peaks(normal, None, "normal"),
                                          rep_peaks(knees_in, None, "knees-in"), [], [],
                                          toe_out_deg=dict(normal.baseline.toe_out_deg))
            except CalibrationError as exc:
                lines.append(f"seed {seed}: knees-in {knees_in_mm:.1f} mm: refused: {exc}")
                totals["refused"]["seeds"] += 1
                continue
            row = {name: grades(analyze_trial(open_trial(path), thresholds=reference.thresholds(),
                                              flag_reference=reference)) for name, path in paths.items()}
            row["mild, own reps"] = grades(analyze_trial(open_trial(paths["mild"])))
            for name, counts in row.items():
                totals[name].update(counts)
            lines.append(f"seed {seed}: drift {drift['left']:.1f}/{drift['right']:.1f} mm, knees-in {knees_in_mm:.1f} mm, "
                         f"mild {mild_mm:.1f} mm; scale "
                         f"{reference.threshold_scale:.2f}, normal {reference.normal_mm['left']:.1f}/"
                         f"{reference.normal_mm['right']:.1f} mm; "
                         + "; ".join(f"{name}: {dict(counts)}" for name, counts in row.items()))
    lines.append("totals over rep-sides: " + "; ".join(f"{name}: {dict(c)}" for name, c in totals.items()))
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"flag_reference-drift{args.drift_mm:g}.txt").write_text(f"{__doc__.splitlines()[0]}\n--seeds {args.seeds} --drift-mm {args.drift_mm:g}\n{text}")


if __name__ == "__main__":
    main()
