"""Trial files without devices: round trip, stored results, damaged and foreign files, recovery."""

import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forceplate import open_trial
from forceplate.calibration.record import find_record
from forceplate.errors import CorruptTrial, UnsupportedSchema
from forceplate.io.device import Frames
from forceplate.profiles import load_profile
from forceplate.storage.reader import read_header
from forceplate.storage.recovery import clear_status_flags, lookup3
from forceplate.storage.writer import TrialWriter, write_results

from test_cli import assert_one_line_error, forceplate

SERIAL = "SIM-DP-0001"
METADATA = {"subject": "P07", "load_kg": 42.5, "exercise": "squat", "notes": "after the programme",
            "setup_toe_out_deg": 10.0}


def fake_device():
    profile = load_profile("dual-plate-ads1256")
    return SimpleNamespace(url="sim://dual-plate", profile=profile, calibration=find_record(SERIAL),
                           info={"model": "test", "serial": SERIAL, "firmware": "t-1", "channels": 8})


def write_trial(path, blocks, gaps=(), events=(), close=True):
    """Record ``blocks`` of raw counts through the real writer thread; seq continues across blocks."""
    writer = TrialWriter(path, METADATA)
    writer.add_device(SERIAL, fake_device())
    writer.start()
    seq = 0
    for i, counts in enumerate(blocks):
        n = len(counts)
        writer.write_frames(SERIAL, Frames(seq=np.arange(seq, seq + n), t_device_s=np.arange(seq, seq + n) / 1000.0,
                                           counts=counts, gaps=list(gaps) if i == 0 else [],
                                           t_host_s=100.0 + np.arange(seq, seq + n) / 1000.0))
        seq += n
    for event in events:
        writer.write_event(*event)
    if close:
        writer.close(device_stats={SERIAL: {"frames": seq, "crc_errors": 0}})
    return writer


RESULTS = {
    "reps": [
        {"index": 1, "start_s": 3.0, "bottom_s": 4.6, "end_s": 6.0, "duration_s": 3.0, "depth_m": 0.45, "partial": False,
         "peak_force_n": 850.5, "asymmetry_pct": -1.5,
         "left": {"medial_shift_mm": 0.8, "medial_shift_pct": 0.8, "flag": "none", "onset_phase": None,
                  "peak_phase": None, "phase": None, "onset_s": None},
         "right": {"medial_shift_mm": 9.8, "medial_shift_pct": 9.8, "flag": "moderate", "onset_phase": "descent",
                   "peak_phase": "bottom", "phase": "bottom", "onset_s": 4.2}},
    ],
    "summary": {"reps": 1, "flagged_reps": 1, "algorithm_version": "0.1", "thresholds": {"mild_mm": 3.5}},
}
PARAMETERS = {"device": SERIAL, "calibration": "stored in the trial", "toe_out_deg": 10.0,
              "thresholds": {"mild_mm": 3.5}}

int32 = st.integers(np.iinfo(np.int32).min, np.iinfo(np.int32).max)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.lists(st.lists(int32, min_size=8, max_size=8), min_size=1, max_size=300), min_size=1, max_size=6))
def test_raw_counts_read_back_bit_identical(tmp_path_factory, blocks):
    path = tmp_path_factory.mktemp("rt") / "t.h5"
    arrays = [np.array(b, dtype=np.int32) for b in blocks]
    write_trial(path, arrays)
    device = open_trial(path).devices[SERIAL]
    expected = np.concatenate(arrays)
    assert device.counts.dtype == np.int32
    np.testing.assert_array_equal(device.counts, expected)
    np.testing.assert_array_equal(device.seq, np.arange(len(expected)))


def test_round_trip_keeps_every_array_and_all_metadata(tmp_path):
    path = tmp_path / "t.h5"
    rng = np.random.default_rng(1)
    blocks = [rng.integers(-2**31, 2**31, (n, 8), dtype=np.int32) for n in (50, 4096, 1, 5000)]
    events = [(3.0, "rep_start", 1), (4.1, "flag", 1, "left", "moderate", "bottom", 8.2, ""), (9.0, "mark", 0, "", "", "", float("nan"), "set 2")]
    write_trial(path, blocks, gaps=[(77, 3)], events=events)
    trial = open_trial(path)
    assert trial.complete and not trial.recovered and trial.results is None
    for key, value in METADATA.items():
        assert trial.attrs[key] == value
    assert trial.attrs["schema"] == "forceplate-trial" and trial.attrs["schema_version"] == 2
    device = trial.devices[SERIAL]
    np.testing.assert_array_equal(device.counts, np.concatenate(blocks))
    np.testing.assert_array_equal(device.t_device_s, np.arange(len(device.seq)) / 1000.0)
    # host time is stored relative to the first frame (one subtraction: not bit-identical)
    np.testing.assert_allclose(device.t_host_s, np.arange(len(device.seq)) / 1000.0, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(device.gaps, [[77, 3]])
    assert device.stats == {"frames": len(device.seq), "crc_errors": 0}
    source = fake_device()
    assert device.profile.toml_text == source.profile.toml_text
    assert device.calibration.toml_text == source.calibration.toml_text
    assert device.info == source.info
    assert [(e["kind"].decode(), e["rep"]) for e in trial.events] == [("rep_start", 1), ("flag", 1), ("mark", 0)]
    assert trial.events[2]["text"].decode() == "set 2" and trial.events[1]["value"] == 8.2
    with h5py.File(path) as f:
        datasets = []
        f.visititems(lambda name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        assert len(datasets) == 6
        for ds in datasets:
            assert ds.attrs["unit"] and ds.attrs["description"], ds.name


def test_stored_results_read_back_with_parameters_and_units(tmp_path):
    path = tmp_path / "t.h5"
    write_trial(path, [np.zeros((10, 8), np.int32)])
    write_results(path, RESULTS, PARAMETERS)
    write_results(path, RESULTS, PARAMETERS)  # a second analysis replaces the first
    stored = read_header(path).results
    assert stored["reps"] == RESULTS["reps"]
    assert stored["summary"] == RESULTS["summary"] and stored["parameters"] == PARAMETERS
    with h5py.File(path) as f:
        g = f["processing"]
        assert g.attrs["algorithm_version"] == "0.1"
        assert json.loads(g.attrs["parameters"]) == PARAMETERS
        units = json.loads(g["reps"].attrs["unit"])
        assert units["right_medial_shift_mm"] == "mm" and units["start_s"] == "s"
        assert set(units) == set(g["reps"].dtype.names)


def test_older_schema_version_stays_readable(tmp_path):
    path = tmp_path / "v1.h5"
    write_trial(path, [np.ones((20, 8), np.int32)])
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 1
    trial = open_trial(path)
    assert trial.attrs["schema_version"] == 1 and len(trial.devices[SERIAL].seq) == 20


def test_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "v9.h5"
    write_trial(path, [np.ones((20, 8), np.int32)])
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 9
    with pytest.raises(UnsupportedSchema, match="version 9 is newer.*upgrade forceplate"):
        open_trial(path)


def _big_trial(tmp_path):
    path = tmp_path / "t.h5"
    rng = np.random.default_rng(2)
    write_trial(path, [rng.integers(0, 2**20, (4000, 8), dtype=np.int32) for _ in range(10)])
    return path


def test_truncated_file_is_one_line_and_cannot_be_recovered(tmp_path):
    path = _big_trial(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    assert_one_line_error(forceplate("analyze", str(path)), "t.h5", "truncated")
    assert_one_line_error(forceplate("recover", str(path)), "t.h5", "truncated")
    assert path.read_bytes() == data[:len(data) // 2]  # left as it was


def test_damaged_chunk_is_one_line_and_recover_keeps_the_rows_before_and_after_it(tmp_path):
    path = _big_trial(tmp_path)
    with h5py.File(path) as f:
        ds = f["acquisition"][SERIAL]["counts"]
        offset = ds.id.get_chunk_info(3).byte_offset  # the fourth chunk of raw counts
    with open(path, "r+b") as f:
        f.seek(offset + 100)
        f.write(b"\xff" * 64)
    damaged = path.read_bytes()
    assert_one_line_error(forceplate("analyze", str(path)), "t.h5", "damaged trial")
    result = forceplate("recover", str(path))
    assert result.returncode == 0, result.stderr
    assert "35904 frames kept" in result.stdout and "4096 frames LOST" in result.stdout
    assert (tmp_path / "t.crashed.h5").read_bytes() == damaged
    trial = open_trial(path)
    assert trial.recovered and len(trial.devices[SERIAL].seq) == 40000 - 4096
    assert json.loads(trial.attrs["recovery"])["devices"][SERIAL]["unreadable_rows"] == 4096
    assert [3 * 4096, 4096] in trial.devices[SERIAL].gaps.tolist()  # the damaged chunk's frames, as a gap


CRASHING_WRITER = textwrap.dedent("""
    import os, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_storage import write_trial
    writer = write_trial({path!r}, [np.arange(8 * 3000, dtype=np.int32).reshape(3000, 8)], close=False)
    import time; time.sleep(1.5)  # past one flush
    os._exit(9)
""")


def test_file_left_locked_by_a_crash_is_recovered_with_a_copy(tmp_path):
    path = tmp_path / "crash.h5"
    script = CRASHING_WRITER.format(tests=os.path.dirname(__file__), path=str(path))
    subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    crashed = path.read_bytes()
    result = forceplate("recover", str(path))
    assert result.returncode == 0, result.stderr
    assert "3000 frames" in result.stdout and "crash.crashed.h5" in result.stdout
    assert (tmp_path / "crash.crashed.h5").read_bytes() == crashed
    with h5py.File(path, "r") as f:  # opens normally, no SWMR needed
        assert f.attrs["recovered"] and not f.attrs["complete"]
    np.testing.assert_array_equal(open_trial(path).devices[SERIAL].counts[-1], np.arange(8 * 2999, 8 * 3000))
    again = forceplate("recover", str(path))
    assert again.returncode == 0 and "nothing to recover" in again.stdout


def test_status_flags_of_a_non_swmr_crash_are_cleared(tmp_path):
    """A writer killed before SWMR mode leaves a file no reader opens; clearing the flags fixes it."""
    path = tmp_path / "plain.h5"
    script = (f"import h5py, os\nf = h5py.File({str(path)!r}, 'w', libver='latest')\n"
              "f['x'] = list(range(100))\nf.flush()\nos._exit(9)\n")
    subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    with pytest.raises(CorruptTrial, match="forceplate recover"):
        open_trial(path)
    clear_status_flags(path)
    with h5py.File(path, "r") as f:
        assert list(f["x"][-3:]) == [97, 98, 99]


def test_lookup3_matches_the_published_check_values():
    # from Bob Jenkins' lookup3.c driver5(): hashlittle("", 0) and hashlittle("Four score...", 0)
    assert lookup3(b"") == 0xDEADBEEF
    assert lookup3(b"Four score and seven years ago") == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xCD628161


def test_failed_writer_thread_is_a_one_line_error_on_close(tmp_path, monkeypatch):
    import forceplate.storage.writer as writer_module
    from forceplate.errors import TrialError

    def disk_full(ds, rows):
        raise OSError("No space left on device\n(errno 28)")

    monkeypatch.setattr(writer_module, "_append", disk_full)
    writer = write_trial(tmp_path / "full.h5", [np.zeros((50, 8), dtype=np.int32)], close=False)
    writer._thread.join(timeout=5.0)  # the thread stops at its first write
    assert writer.error is not None
    with pytest.raises(TrialError) as caught:
        writer.close()
    message = str(caught.value)
    assert "full.h5" in message and "No space left on device" in message and "\n" not in message
