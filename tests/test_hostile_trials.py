"""Damaged and hostile trial files: every reader ends quickly with exit 0 or one line (issue 13)."""

from __future__ import annotations

from pathlib import Path

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


def _counts_of_2_to_the_62(f):
    a = _first_acquisition(f)
    n = a["counts"].shape[0]
    del a["counts"]
    a.create_dataset("counts", data=__import__("numpy").full((n, 8), 2**62, "<i8"))


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
    "int64 counts of 2^62": (_counts_of_2_to_the_62, "counts: stored as int64"),
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


def _global_heap_objects(data: bytes) -> dict[bytes, int]:
    """Where each object of the file's global heap collections starts, by its first bytes.

    HDF5 file format, global heap collection: "GCOL", version 1, 3 reserved bytes, the
    collection's size (8 bytes, this header included); then its objects: heap object index
    (2 bytes), reference count (2), reserved (4), object size (8), the data padded to 8 bytes.
    Index 0 is the collection's free space, after the last object.
    """
    import struct

    objects, start = {}, data.find(b"GCOL")
    while start >= 0:
        end = start + struct.unpack_from("<Q", data, start + 8)[0]
        at = start + 16
        while at + 16 <= end:
            index, size = struct.unpack_from("<H", data, at)[0], struct.unpack_from("<Q", data, at + 8)[0]
            if index == 0:
                break
            objects.setdefault(data[at + 16:at + 16 + min(size, 16)], at)
            at += 16 + -(-size // 8) * 8
        start = data.find(b"GCOL", start + 4)
    return objects


# A string each reader reads from the global heap: the root attribute `schema` (every reader)
# and the acquisition's `decoder_stats` (only a whole read: `trials` reads the header first).
HEAP_STRINGS = {"root attribute": b"forceplate-trial", "acquisition attribute": b'{"bytes_in": '}


@pytest.mark.slow
@pytest.mark.parametrize("where", sorted(HEAP_STRINGS))
def test_a_damaged_global_heap_gives_one_line_within_seconds(recorded, tmp_path, where):
    """The HDF5 library (2.0) loops for ever, inside one C call, on a global-heap object
    whose header reads 0 (index 0 and size 0: free space that never ends); the fuzz run
    found it as bytes 2722..3199 of a trial zeroed. The reader's metadata probe turns it
    into one line."""
    folder = tmp_path / "damaged"
    damaged = _with_a_damaged_heap_object(recorded, folder, HEAP_STRINGS[where])
    data = damaged.read_bytes()
    commands = [["analyze", str(damaged)], ["export", str(damaged), "--csv", str(tmp_path / "csv")],
                ["recover", str(damaged)], ["compare", str(recorded), str(damaged)]]
    for command in commands if where == "root attribute" else commands[:1]:
        outcome = run_cli(command, timeout_s=DAMAGE_TIME_LIMIT_S)
        assert outcome.failure is None and outcome.status == 2, outcome.describe()
        assert f"{damaged}: damaged trial (the HDF5 library did not finish" in outcome.stderr, outcome.stderr
    outcome = run_cli(["trials", str(folder)], timeout_s=DAMAGE_TIME_LIMIT_S)
    assert outcome.failure is None, outcome.describe()
    assert "heap.h5" in outcome.stdout and "unreadable" in outcome.stdout, outcome.stdout
    assert damaged.read_bytes() == data  # recover left it as it was


def _with_a_damaged_heap_object(recorded, folder, starting: bytes):
    """A copy of the recorded trial, in ``folder``, whose global-heap object holding the
    string that starts with ``starting`` has its header zeroed."""
    data = bytearray(recorded.read_bytes())
    header = next(at for head, at in _global_heap_objects(bytes(data)).items() if head.startswith(starting))
    data[header:header + 16] = bytes(16)
    folder.mkdir(exist_ok=True)
    damaged = folder / "heap.h5"
    damaged.write_bytes(bytes(data))
    return damaged


@pytest.mark.slow
def test_batch_lists_a_trial_the_hdf5_library_hangs_on_as_one_failed_row(recorded, tmp_path):
    """The reads happen on Dask workers, which probe each file too: a hang there would stall the worker."""
    import csv
    import shutil

    folder = tmp_path / "library"
    damaged = _with_a_damaged_heap_object(recorded, folder, HEAP_STRINGS["root attribute"])
    shutil.copyfile(recorded, folder / "sound.h5")
    table = tmp_path / "reps.csv"
    outcome = run_cli(["batch", str(folder), "-o", str(table), "--workers", "1"], timeout_s=120)
    assert not outcome.timed_out and outcome.signal is None and "Traceback" not in outcome.stderr, outcome.describe()
    assert outcome.status == 1  # batch: some files failed, the tables are written anyway
    assert "heap.h5: damaged trial (the HDF5 library did not finish" in outcome.stderr, outcome.stderr
    with open(tmp_path / "reps.trials.csv", newline="") as f:
        rows = {Path(row["file"]).name: row for row in csv.DictReader(f)}
    assert "did not finish" in rows[damaged.name]["error"] and not rows["sound.h5"]["error"]


def _crash(path):
    import os
    import signal

    os.kill(os.getpid(), signal.SIGSEGV)


def _hang(path):
    import time

    time.sleep(60)


def test_the_metadata_probe_names_a_crash_and_a_hang_and_serves_the_next_file(recorded, tmp_path, monkeypatch):
    import time

    from forceplate.errors import CorruptTrial
    from forceplate.storage import probe
    from forceplate.storage.reader import _walk_metadata

    monkeypatch.setattr(probe, "METADATA_TIME_LIMIT_S", 0.5)
    with pytest.raises(CorruptTrial, match=r"died reading its metadata \(SIGSEGV\)"):
        probe.check_finishes(recorded, _crash)
    start = time.monotonic()
    with pytest.raises(CorruptTrial, match=r"did not finish reading its metadata in 0.5 s"):
        probe.check_finishes(recorded, _hang)
    assert time.monotonic() - start < 3
    probe.check_finishes(recorded, _walk_metadata)  # a sound file passes, on a fresh prober


def test_a_probed_file_can_be_written_at_once_and_a_forked_child_probes_on_its_own(recorded, tmp_path):
    """The prober keeps no file open (HDF5's lock would refuse the analysis storing its
    results), and a process forked from a probing one never shares its prober's pipes."""
    import os
    import shutil

    import h5py

    from forceplate.storage import probe
    from forceplate.storage.reader import _walk_metadata

    copy = tmp_path / "copy.h5"
    shutil.copyfile(recorded, copy)
    probe.check_finishes(copy, _walk_metadata)
    with h5py.File(copy, "a") as f:
        f.attrs["notes"] = "written after the probe"
    parents = probe._probers[_walk_metadata].pid
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            probe.check_finishes(copy, _walk_metadata)  # a new version of the file: walked again
            status = 0 if probe._probers[_walk_metadata].pid != parents else 4
        finally:
            os._exit(status)
    assert os.waitpid(pid, 0)[1] == 0
    probe.check_finishes(copy, _walk_metadata)
    assert probe._probers[_walk_metadata].pid == parents  # still the parent's own, answering


def test_a_damaged_string_length_cannot_make_a_reader_allocate_gigabytes(recorded, tmp_path):
    """HDF5 allocates what a variable-length string's stored length says (found by the long
    fuzz run, seed 4, case 14112: `recover` peaked at 1.3 GB); here the length of the first
    rep's left_flag in /processing/reps is set to 2 GB. The prober, capped in memory, refuses."""
    import struct

    import h5py

    with h5py.File(recorded, "r") as f:
        stored = f["processing/reps"].id
        file_type = stored.get_type()
        names = [file_type.get_member_name(i).decode() for i in range(file_type.get_nmembers())]
        length_at = stored.get_offset() + file_type.get_member_offset(names.index("left_flag"))
    data = bytearray(recorded.read_bytes())
    struct.pack_into("<I", data, length_at, 0x7FFFFFF0)  # a vlen datum: length (4 bytes), heap id
    damaged = tmp_path / "length.h5"
    damaged.write_bytes(bytes(data))
    for command in (["analyze", str(damaged)], ["recover", str(damaged)]):
        outcome = run_cli(command, timeout_s=DAMAGE_TIME_LIMIT_S)
        assert outcome.failure is None and outcome.status == 2, outcome.describe()  # failure: peak RSS > 1 GB
        assert outcome.peak_rss_mb < 300 and "needs more than 512 MB" in outcome.stderr, outcome.describe()


def test_recover_refuses_a_shape_larger_than_the_file_in_one_line(recorded, tmp_path):
    """A damaged (or hand-grown) shape of 10^10 rows made recover allocate 9 GB of row masks
    and end in a MemoryError traceback; the reader already refused it."""
    def grown(f):
        a = _first_acquisition(f)
        for column in ("counts", "seq", "t_device", "t_host"):
            a[column].resize(10**10, axis=0)
        f.attrs["complete"] = False

    path = _edited(recorded, tmp_path, grown)
    for command in (["recover", path], ["analyze", path]):
        outcome = run_cli(command, timeout_s=DAMAGE_TIME_LIMIT_S)
        assert outcome.failure is None and outcome.status == 2, outcome.describe()
        assert "declares" in outcome.stderr and "more than" in outcome.stderr and outcome.peak_rss_mb < 300, outcome.describe()


@pytest.mark.parametrize("damage", ["a key of the summary", "the summary not an object"])
def test_stored_results_of_another_shape_are_analysed_afresh(recorded, tmp_path, damage):
    """Found by the long fuzz run (seed 22, case 37001): flipped bits turned the stored summary's
    "baseline" into another key, and ``trials`` stopped with a KeyError; the raw data are the
    trial, so such results are not reused but computed again."""
    import json
    import shutil

    import h5py

    folder = tmp_path / "trials"
    folder.mkdir()
    path = folder / "t.h5"
    shutil.copy(recorded, path)
    with h5py.File(path, "r+") as f:
        summary = json.loads(f["processing"].attrs["summary"])
        if damage == "a key of the summary":
            summary["baselhne"] = summary.pop("baseline")
        else:
            summary = [summary]
        f["processing"].attrs["summary"] = json.dumps(summary)
    listed = run_cli(["trials", str(folder)], timeout_s=30)
    assert listed.failure is None, listed.describe()
    if damage == "a key of the summary":  # the raw data analysed again
        assert listed.status == 0 and "t.h5" in listed.stdout, listed.describe()
    else:  # no results at all: the file is damaged, said in one line naming it
        assert "t.h5" in listed.stdout + listed.stderr and "summary is not a JSON object" in listed.stdout + listed.stderr


def test_an_event_text_that_is_no_utf8_is_exported_with_a_replacement_character(recorded, tmp_path):
    """A damaged byte in an event's text (the long fuzz run, seed 62, case 9558: `export --csv`
    gave a UnicodeDecodeError traceback): the text is shown with U+FFFD and the rest exported."""
    import h5py

    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(recorded.read_bytes())
    with h5py.File(damaged, "r+") as f:
        events = f["events"][()]
        assert len(events), "the recorded trial has events to damage"
        events[0]["text"] = b"mark \x80\xff"
        f["events"][0] = events[0]
    outcome = run_cli(["export", str(damaged), "--csv", str(tmp_path / "csv")], timeout_s=DAMAGE_TIME_LIMIT_S)
    assert outcome.failure is None, outcome.describe()
    assert outcome.status == 0, outcome.stderr
    exported = (tmp_path / "csv" / "events.csv").read_text(encoding="utf-8")
    assert "mark \ufffd\ufffd" in exported
