"""Rep segmentation under body tremor and with no standing at either end (issue 12, item 2).

The linkage generator (forceplate/sim/squat_linkage.py) puts a 3-12 Hz tremor of 0.5-1.2 %
of the weight RMS on the force while the body moves, as real squats carry (KU Leuven: 0.84 %).
It widened the rest band until the slow turn at the bottom, and the slow start of an ascent
out of a pause, passed for rest and were anchored at zero velocity while the body moved at
0.05 m/s: the bottoms came 0.1-0.3 s early and the first rep of a set with no standing read
at a third of its depth (docs/validation.md, "A third generator").
"""

import numpy as np
import pytest

from forceplate.processing.filters import FORCE_CUTOFF_HZ, zero_lag
from forceplate.processing.reps import segment_reps
from forceplate.processing.streaming import StreamingAnalyzer
from forceplate.profiles import SIDES
from forceplate.sim.squat import SquatPlan
from forceplate.sim.squat_linkage import LinkageSquatModel

RATE_HZ = 100.0
BOTTOM_TOLERANCE_S = 0.15  # the battery's and the real squats' criterion
SUM_NOISE_N = 3.0  # white noise on the summed force, as of 16 insole sensors
SETS = range(12)  # the generator draws each set's tremor (0.5-1.2 %) and mechanics from its seed

WITH_STANDING = dict(baseline_s=2.0, descent_s=2.4, bottom_s=0.4, ascent_s=2.0, rest_s=0.8, depth_m=0.4, tail_s=1.0)
# 6 s reps, 0.3 s between them, the recording starting and ending with a rep (seeds 30 and 59)
NO_STANDING = dict(baseline_s=0.0, descent_s=3.0, bottom_s=0.4, ascent_s=2.6, rest_s=0.3, depth_m=0.42, tail_s=0.0)


def tremor_set(seed: int, plan: dict):
    """A linkage set's summed force (N) with its tremor and insole-like noise, and its truth."""
    model = LinkageSquatModel(plan=SquatPlan(reps=6, **plan), seed=seed)
    t = np.arange(0.0, model.duration_s, 1.0 / RATE_HZ)
    _, force = model.vertical(t)
    force = force + np.random.default_rng(seed).normal(0.0, SUM_NOISE_N, len(t))
    return t, force, model.truth()


def nearest(found_bottoms_s, depths_m, true_rep):
    """The found rep whose bottom is nearest the true one's: (|bottom offset| s, depth / true depth)."""
    k = int(np.argmin(np.abs(np.asarray(found_bottoms_s) - true_rep.bottom_s)))
    return abs(found_bottoms_s[k] - true_rep.bottom_s), depths_m[k] / true_rep.depth_m


def offline_offsets(plan: dict) -> list[tuple[float, float]]:
    out = []
    for seed in SETS:
        t, force, truth = tremor_set(seed, plan)
        seg = segment_reps(t, zero_lag(force, FORCE_CUTOFF_HZ, RATE_HZ), RATE_HZ, filtered=True)
        assert len(seg.reps) == len(truth), (seed, [r.bottom_s for r in seg.reps])
        out += [nearest([r.bottom_s for r in seg.reps], [r.depth_m for r in seg.reps], rep) for rep in truth]
    return out


def test_tremor_keeps_the_bottoms_and_the_depth():
    """Before: every set's reps 9 % shallow at the median and first reps at 0.65 of their depth."""
    offsets = offline_offsets(WITH_STANDING)
    assert max(o for o, _ in offsets) <= BOTTOM_TOLERANCE_S
    assert all(abs(ratio - 1) <= 0.15 for _, ratio in offsets), sorted(ratio for _, ratio in offsets)[:3]
    assert abs(np.median([ratio for _, ratio in offsets]) - 1) <= 0.06


def test_slow_reps_with_no_standing_at_either_end():
    """Before: the first rep's bottom 0.16-0.30 s early at 0.23-0.57 of its depth, every rep
    about a fifth shallow."""
    offsets = offline_offsets(NO_STANDING)
    assert max(o for o, _ in offsets) <= BOTTOM_TOLERANCE_S
    assert all(abs(ratio - 1) <= 0.2 for _, ratio in offsets), sorted(ratio for _, ratio in offsets)[:3]
    assert abs(np.median([ratio for _, ratio in offsets]) - 1) <= 0.1


@pytest.mark.parametrize("plan", [WITH_STANDING, NO_STANDING], ids=["standing", "no standing"])
def test_live_finds_the_tremor_reps_at_their_bottoms(plan):
    """Live segments the same way on its 16 s window: every rep reported once, bottom within tolerance."""
    for seed in SETS[:4]:
        t, force, truth = tremor_set(seed, plan)
        live = StreamingAnalyzer(RATE_HZ, 0.0)
        block = int(0.02 * RATE_HZ)
        cop = np.zeros((len(t), 2))
        events = []
        for lo in range(0, len(t), block):
            sl = slice(lo, lo + block)
            events += live.push(t[sl], {f: force[sl] / 2 for f in SIDES}, {f: cop[sl] for f in SIDES})[1]
        ends = [e.data for e in events + live.finish() if e.kind == "rep_end"]
        assert len(ends) == len(truth), (seed, [e["bottom_s"] for e in ends])
        bottoms = [e["bottom_s"] for e in ends]
        for rep in truth:
            assert nearest(bottoms, [1.0] * len(bottoms), rep)[0] <= BOTTOM_TOLERANCE_S, (seed, rep.index, bottoms)
