"""Processing against simulator ground truth, on a reduced battery (the full one is in benchmarks/)."""

import pytest

from forceplate.validation import DEVICE_SETS, TEMPOS, SessionSpec, run_session, summarize


@pytest.fixture(scope="module")
def scores():
    specs = []
    for k, devices in enumerate(DEVICE_SETS):
        for j, tempo in enumerate(TEMPOS):
            specs.append(SessionSpec(devices=devices, tempo=tempo, seed=500 + 10 * k + j, mass_kg=(50, 80, 120)[j % 3],
                                     load_kg=(0, 40)[k % 2], toe_out_deg=(0, 15, 30)[(k + j) % 3],
                                     noise=(1.0, 3.0)[j % 2], reps=8, valgus_rate=0.5 if j % 2 == 0 else 0.0))
    return [run_session(spec) for spec in specs]


def test_reps_are_found(scores):
    assert summarize(scores).rep_f1 >= 0.98


def test_moderate_and_severe_reps_are_flagged_on_the_right_side(scores):
    overall = summarize(scores)
    assert overall.precision >= 0.90 and overall.recall >= 0.90
    assert overall.side_correct >= 0.95


def test_clean_sessions_raise_at_most_one_flag_per_50_reps(scores):
    assert summarize(scores).false_flags_per_50_reps <= 1.0


def test_live_flags_come_within_150_ms(scores):
    overall = summarize(scores)
    assert overall.latency_median_s <= 0.150
    assert overall.latency_p95_s <= 0.150


def test_every_device_set_contributes(scores):
    for devices in DEVICE_SETS:
        part = summarize([s for s in scores if s.spec.devices == devices])
        assert part.reps > 0 and part.rep_f1 >= 0.95, devices
