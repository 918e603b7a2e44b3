"""Damaged and hostile trial files: every reader ends quickly with exit 0 or one line (issue 13)."""

from __future__ import annotations

import pytest

from fuzz_helpers import run_cli

DAMAGE_TIME_LIMIT_S = 8.0  # "within seconds"; the child also pays for imports


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A short real recording from the simulator, through the CLI."""
    path = tmp_path_factory.mktemp("recorded") / "trial.h5"
    outcome = run_cli(["record", "--device", "sim://dual-plate?speed=8", "-o", str(path), "--duration", "2"],
                      timeout_s=60)
    assert outcome.status == 0, outcome.describe()
    return path


@pytest.mark.parametrize("fraction", [0.0005, 0.01, 0.2, 0.5, 0.9, 0.999])
def test_a_truncated_trial_gives_one_line_within_seconds(recorded, tmp_path, fraction):
    data = recorded.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[:int(len(data) * fraction)])
    outcome = run_cli(["analyze", str(cut)], timeout_s=DAMAGE_TIME_LIMIT_S)
    assert outcome.failure is None, outcome.describe()
    assert outcome.status == 2 and str(cut) in outcome.stderr


@pytest.mark.parametrize("offset", [12, 20, 48, 100, 700, 2000, 3900])
def test_a_trial_with_a_damaged_header_gives_one_line_within_seconds(recorded, tmp_path, offset):
    data = bytearray(recorded.read_bytes())
    data[offset] ^= 0xFF
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(bytes(data))
    for command in (["analyze", str(damaged)], ["export", str(damaged), "--csv", str(tmp_path / "csv")]):
        outcome = run_cli(command, timeout_s=DAMAGE_TIME_LIMIT_S)
        assert outcome.failure is None, outcome.describe()
