"""Fuzzing the file readers through the real CLI (issue 13).

Real recordings from ../shared/data and trials the tests record are damaged by the
mutators of tests/fuzz_helpers.py (truncation, flipped bits, set bytes, hostile numbers,
lost or repeated lines, undecodable bytes); every case must end within its time limit
with exit 0 or one clear error line: no traceback, no signal death, no hang, peak RSS
under 1 GB. Few examples per format keep the suite near 30 s; benchmarks/fuzz_long.py
runs the same cases by the hundred thousand.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_helpers import mutate_bytes, mutate_text, record_sim_trial, run_cli

CASE_TIME_LIMIT_S = 25.0  # a C3D file the parser chokes on is given up after 20 s
FUZZ = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

C3D = ("c3d-org-samples/sample_00/Sample_Jump2.c3d", "c3d-org-samples/sample_10/TYPE-2.C3D",
       "ezc3d-testFiles/FP_Type3.c3d", "c3d-org-samples/sample_01/Eb015pi.c3d")
INSOLE_TEXT = {"moticon": "moticon-opengo/walk_with_events.txt", "physionet": "physionet-gaitpdb/GaCo01_01.txt"}
FSR_CSV = "diy-fsr-insole-esp32/COMBO_LOG002.CSV"
FUZZ_LINES = 3000


def _check(outcome) -> None:
    assert outcome.failure is None, outcome.describe()


def _import(tmp_path, name: str, data: bytes, *extra: str):
    source = tmp_path / name
    source.write_bytes(data)
    output = tmp_path / "imported.h5"
    output.unlink(missing_ok=True)
    return run_cli(["import", str(source), "-o", str(output), *extra], timeout_s=CASE_TIME_LIMIT_S)


@pytest.mark.parametrize("name", C3D)
@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_damaged_c3d_files(shared_data, tmp_path, name, seed):
    data, what = mutate_bytes((shared_data / name).read_bytes(), random.Random(seed), region=8192)
    outcome = _import(tmp_path, "damaged.c3d", data)
    assert outcome.failure is None, f"{name} {what}: {outcome.describe()}"


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(INSOLE_TEXT))
@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_damaged_insole_exports(shared_data, tmp_path, kind, seed):
    text = (shared_data / INSOLE_TEXT[kind]).read_text(encoding="utf-8-sig")
    text = "".join(text.splitlines(keepends=True)[:FUZZ_LINES])  # the real file's start: same damage, less to parse
    rng = random.Random(seed)
    data, what = mutate_text(text, rng)
    outcome = _import(tmp_path, "damaged.txt", data, "--format", kind)
    assert outcome.failure is None, f"{kind} {what}: {outcome.describe()}"


def _fsr_mapping() -> str:
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs" / "interop.md"
    return re.search(r"```toml\n(# DIY FSR.*?)```", docs.read_text(encoding="utf-8"), re.S).group(1)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), damage=st.sampled_from(["csv", "mapping", "both"]))
def test_damaged_insole_csv_and_mapping(shared_data, tmp_path, seed, damage):
    rng = random.Random(seed)
    csv = (shared_data / FSR_CSV).read_bytes()
    mapping = _fsr_mapping().encode()
    what = []
    if damage in ("csv", "both"):
        csv, w = mutate_text(csv.decode("utf-8", errors="replace"), rng)
        what.append(f"csv {w}")
    if damage in ("mapping", "both"):
        mapping, w = mutate_text(mapping.decode(), rng)
        what.append(f"mapping {w}")
    (tmp_path / "map.toml").write_bytes(mapping)
    outcome = _import(tmp_path, "damaged.csv", csv, "--mapping", str(tmp_path / "map.toml"))
    assert outcome.failure is None, f"{'; '.join(what)}: {outcome.describe()}"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record_sim_trial(tmp_path_factory.mktemp("fuzz-recorded"), seconds=1.5)


@pytest.mark.slow
@settings(FUZZ, max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), command=st.sampled_from(["analyze", "export", "recover", "trials", "static"]))
def test_damaged_recorded_trials(recorded, tmp_path, seed, command):
    data, what = mutate_bytes(recorded.read_bytes(), random.Random(seed))
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # one tmp_path serves every example
    damaged = folder / "damaged.h5"
    damaged.write_bytes(data)
    argv = {"analyze": ["analyze", str(damaged)], "export": ["export", str(damaged), "--csv", str(folder / "csv")],
            "recover": ["recover", str(damaged)], "trials": ["trials", str(folder)],
            "static": ["analyze", str(recorded), "--static", str(damaged)]}[command]  # a damaged static trial
    outcome = run_cli(argv, timeout_s=CASE_TIME_LIMIT_S)
    assert outcome.failure is None, f"{what}: {outcome.describe()}"


@pytest.mark.slow
@settings(FUZZ, max_examples=15)
@given(seed=st.integers(0, 2**32 - 1))
def test_damaged_calibration_records(recorded, tmp_path, seed):
    from pathlib import Path

    bundled = Path(__file__).resolve().parents[1] / "calibration" / "SIM-DP-0001.toml"
    data, what = mutate_text(bundled.read_text(encoding="utf-8"), random.Random(seed))
    (tmp_path / "record.toml").write_bytes(data)
    outcome = run_cli(["analyze", str(recorded), "--calibration", str(tmp_path / "record.toml")],
                      timeout_s=CASE_TIME_LIMIT_S)
    assert outcome.failure is None, f"{what}: {outcome.describe()}"


@pytest.mark.parametrize("name, offset, value", [
    ("c3d-org-samples/sample_00/Sample_Jump2.c3d", 2938, 0xF1),  # crashed ezc3d (SIGSEGV)
    ("c3d-org-samples/sample_10/TYPE-2.C3D", 840, 0xAA),  # 30-55 s and 12.6 GB in ezc3d
])
def test_a_c3d_file_that_crashed_the_parser_gives_one_line_at_once(shared_data, tmp_path, name, offset, value):
    data = bytearray((shared_data / name).read_bytes())
    data[offset] = value
    outcome = _import(tmp_path, "damaged.c3d", bytes(data))
    assert outcome.failure is None, outcome.describe()
    assert outcome.status == 2 and "parameter" in outcome.stderr and outcome.seconds < 5, outcome.stderr


def test_c3d_labels_with_undecodable_bytes_import(shared_data, tmp_path):
    """ezc3d hands undecodable label bytes on as surrogates, which HDF5 cannot store."""
    data = bytearray((shared_data / "ezc3d-testFiles/FP_Type3.c3d").read_bytes())
    at = data.index(b"Channel_01")
    data[at + 1] = 0xFF
    outcome = _import(tmp_path, "labels.c3d", bytes(data))
    assert outcome.failure is None and outcome.status == 0, outcome.describe()


@pytest.mark.parametrize("name, changes", [  # found by benchmarks/fuzz_long.py (seed 2, cases 30310, 61263, 79046)
    ("ezc3d-testFiles/FP_Type1.c3d", [(858, 64), (1545, 33), (3205, 63), (3696, 99), (5941, 135)]),
    ("ezc3d-testFiles/FP_Type3.c3d", [(1005, 96), (1638, 160), (4297, 236), (5000, 96), (5442, 66), (6153, 84)]),
    ("c3d-org-samples/sample_10/TYPE-2.C3D", [(220, 64), (531, 104), (2301, 101), (2647, 67), (4719, 23),
                                              (5747, 39), (7742, 237), (8091, 12)]),
])
def test_c3d_plate_parameters_too_short_for_the_plates_are_one_line(shared_data, tmp_path, name, changes):
    data = bytearray((shared_data / name).read_bytes())
    for offset, value in changes:
        data[offset] = value
    outcome = _import(tmp_path, "short.c3d", bytes(data))
    assert outcome.failure is None and outcome.status == 2 and "FORCE_PLATFORM" in outcome.stderr, outcome.describe()


def test_c3d_samples_that_read_as_infinite_import_as_missing_without_warnings(shared_data, tmp_path):
    """Found by benchmarks/fuzz_long.py (seed 5, case 2455): a repeated block of FP_Type1.c3d
    made infinite samples, and numpy's 'invalid value encountered in matmul' reached stderr."""
    data = (shared_data / "ezc3d-testFiles/FP_Type1.c3d").read_bytes()
    outcome = _import(tmp_path, "repeated.c3d", data[:5034] + data[5034:8000] * 2 + data[8000:])
    assert outcome.failure is None and outcome.status == 0, outcome.describe()
