"""Damaged and hostile trial files: every reader ends quickly with exit 0 or one line (issue 13)."""

from __future__ import annotations

import pytest

from fuzz_helpers import record_sim_trial, run_cli

DAMAGE_TIME_LIMIT_S = 8.0  # "within seconds"; the child also pays for imports


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A short real recording from the simulator, through the CLI."""
    return record_sim_trial(tmp_path_factory.mktemp("recorded"), seconds=2)


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


def _edited(recorded, tmp_path, edit) -> str:
    """A copy of the recorded trial changed by ``edit(h5py.File)``."""
    import shutil

    import h5py

    path = tmp_path / "edited.h5"
    shutil.copyfile(recorded, path)
    with h5py.File(path, "a") as f:
        edit(f)
    return str(path)


def _first_acquisition(f):
    return f["acquisition"][next(iter(f["acquisition"]))]


def _external_link(f):
    a = _first_acquisition(f)
    del a["counts"]
    a["counts"] = __import__("h5py").ExternalLink("/etc/passwd", "/")


def _external_storage(f):
    a = _first_acquisition(f)
    shape = a["counts"].shape
    del a["counts"]
    a.create_dataset("counts", shape=shape, dtype="<i4", external=[("/etc/passwd", 0, 1 << 30)])


def _virtual(f):
    import h5py

    a = _first_acquisition(f)
    shape = a["seq"].shape
    layout = h5py.VirtualLayout(shape=shape, dtype="i8")
    layout[:] = h5py.VirtualSource("/etc/other.h5", "seq", shape=shape)
    del a["seq"]
    a.create_virtual_dataset("seq", layout)


def _attr(name, value):
    def edit(f):
        f.attrs[name] = value
    return edit


def _counts_of_the_wrong_shape(f):
    a = _first_acquisition(f)
    n = a["counts"].shape[0]
    del a["counts"]
    a.create_dataset("counts", data=__import__("numpy").zeros((n, 3), "<i4"))


def _seq_backwards(f):
    a = _first_acquisition(f)
    a["seq"][10] = -5


HOSTILE_EDITS = {
    "external link": (_external_link, "external link"),
    "external storage": (_external_storage, "external file"),
    "virtual dataset": (_virtual, "virtual dataset"),
    "schema_version array": (_attr("schema_version", [2, 2]), "schema_version"),
    "schema_version 2.9": (_attr("schema_version", 2.9), "schema_version"),
    "load_kg array": (_attr("load_kg", [1.0, 2.0]), "load_kg"),
    "toe-out text": (_attr("setup_toe_out_deg", "abc"), "setup_toe_out_deg"),
    "toe-out NaN": (_attr("setup_toe_out_deg", float("nan")), "setup_toe_out_deg"),
    "complete array": (_attr("complete", [True, False]), "complete"),
    "counts of the wrong shape": (_counts_of_the_wrong_shape, "counts"),
    "seq going back": (_seq_backwards, "seq"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_EDITS))
def test_a_hostile_trial_is_refused_naming_the_problem(recorded, tmp_path, case):
    edit, named = HOSTILE_EDITS[case]
    path = _edited(recorded, tmp_path, edit)
    for command in (["analyze", path], ["trials", str(tmp_path)]):
        outcome = run_cli(command, timeout_s=DAMAGE_TIME_LIMIT_S)
        assert outcome.failure is None, outcome.describe()
    outcome = run_cli(["analyze", path], timeout_s=DAMAGE_TIME_LIMIT_S)
    assert outcome.status == 2 and named in outcome.stderr, outcome.stderr
    assert "root:" not in outcome.stdout  # /etc/passwd never read as counts


def test_a_trial_cut_to_8_bytes_gives_one_line(recorded, tmp_path):
    cut = tmp_path / "cut.h5"
    cut.write_bytes(recorded.read_bytes()[:8])
    for command in (["analyze", str(cut)], ["recover", str(cut)], ["export", str(cut), "--csv", str(tmp_path / "c")]):
        outcome = run_cli(command, timeout_s=DAMAGE_TIME_LIMIT_S)
        assert outcome.failure is None and outcome.status == 2, outcome.describe()


def test_sequence_numbers_that_jump_keep_the_analysis_within_memory(recorded, tmp_path):
    """Seq jumping by 30000 per frame used to make a NaN grid of seq[-1] - seq[0] rows (GBs)."""
    def jumps(f):
        a = _first_acquisition(f)
        a["seq"][...] = __import__("numpy").arange(a["seq"].shape[0], dtype="i8") * 30_000

    path = _edited(recorded, tmp_path, jumps)
    outcome = run_cli(["analyze", path, "--json"], timeout_s=30)
    assert outcome.failure is None, outcome.describe()
    assert outcome.peak_rss_mb < 300, outcome.peak_rss_mb


def _flip_in_chunk(path, column: str, chunk: int) -> None:
    """Flip one byte inside stored chunk ``chunk`` of the first device's ``column``."""
    import h5py

    with h5py.File(path, "r") as f:
        ds = _first_acquisition(f)[column]
        offset = ds.id.get_chunk_info(chunk).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 10] ^= 0x01
    path.write_bytes(bytes(data))


def test_recover_keeps_every_readable_chunk_and_says_what_was_lost(recorded, tmp_path):
    import shutil

    import h5py

    path = tmp_path / "damaged.h5"
    shutil.copyfile(recorded, path)
    with h5py.File(path, "r") as f:
        stored = _first_acquisition(f)["seq"].shape[0]
        chunk_rows = _first_acquisition(f)["counts"].chunks[0]
    assert stored > 2 * chunk_rows  # the damaged chunk is the first of several
    _flip_in_chunk(path, "counts", 0)
    outcome = run_cli(["recover", str(path)], timeout_s=DAMAGE_TIME_LIMIT_S)
    assert outcome.failure is None and outcome.status == 0, outcome.describe()
    assert "LOST" in outcome.stdout and str(chunk_rows) in outcome.stdout, outcome.stdout
    with h5py.File(path, "r") as f:
        a = _first_acquisition(f)
        assert a["seq"].shape[0] == stored - chunk_rows
        assert a["counts"].shape[0] == stored - chunk_rows
        gaps = a["gaps"][()]
    assert [int(gaps[0][0]), int(gaps[0][1])] == [chunk_rows, chunk_rows] or gaps[:, 1].sum() >= chunk_rows - 1
    assert (tmp_path / "damaged.crashed.h5").exists()
    outcome = run_cli(["analyze", str(path)], timeout_s=DAMAGE_TIME_LIMIT_S)
    assert outcome.failure is None, outcome.describe()


def test_recover_of_an_unchunked_trial_gives_no_traceback(recorded, tmp_path):
    def unchunked(f):
        a = _first_acquisition(f)
        events = f["events"][()]
        del f["events"]
        f.create_dataset("events", data=events)
        seq = a["seq"][()]
        del a["seq"]
        a.create_dataset("seq", data=seq)

    path = _edited(recorded, tmp_path, unchunked)
    outcome = run_cli(["recover", path], timeout_s=DAMAGE_TIME_LIMIT_S)
    assert outcome.failure is None, outcome.describe()
