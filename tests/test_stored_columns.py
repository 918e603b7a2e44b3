"""A trial file's per-frame columns read when first used (storage/reader.StoredColumn, issue 14)."""

import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from forceplate.errors import CorruptTrial
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.offline import analyze_trial, plate_recording
from forceplate.storage.reader import StoredColumn, open_trial


@pytest.fixture(scope="module")
def trial_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("stored") / "trial.h5"
    write_simulated_trial(path, SimulatedTrial(reps=4, seed=2))
    return path


def _in_file(path, column):
    with h5py.File(path, "r") as f:
        return f[f"acquisition/SIM-DP-0001/{column}"][()]


def test_columns_are_read_when_first_used_and_are_the_file_s(trial_path):
    device = plate_recording(open_trial(trial_path))
    for column in ("counts", "t_device_s", "t_host_s"):
        assert isinstance(device.__dict__[column], StoredColumn)  # nothing read by open_trial
    np.testing.assert_array_equal(device.rows("counts", slice(100, 350)), _in_file(trial_path, "counts")[100:350])
    assert isinstance(device.__dict__["counts"], StoredColumn)  # a block read holds nothing
    np.testing.assert_array_equal(device.counts, _in_file(trial_path, "counts"))
    np.testing.assert_array_equal(device.t_host_s, _in_file(trial_path, "t_host"))
    assert device.counts is device.counts  # held once read
    device.release()
    assert isinstance(device.__dict__["counts"], StoredColumn) and isinstance(device.__dict__["seq"], StoredColumn)
    np.testing.assert_array_equal(device.seq, _in_file(trial_path, "seq"))  # read again


def test_a_column_set_by_the_caller_is_kept_by_release(trial_path):
    device = plate_recording(open_trial(trial_path))
    mine = device.seq + 10
    device.seq = mine
    device.release()
    assert device.seq is mine


def test_the_analysis_of_a_released_trial_is_that_of_one_read_whole(trial_path):
    read_whole = open_trial(trial_path)
    for device in read_whole.devices.values():
        device.counts, device.t_device_s, device.t_host_s = device.counts, device.t_device_s, device.t_host_s
    released = open_trial(trial_path)
    for device in released.devices.values():
        device.release()
    assert analyze_trial(released).as_dict() == analyze_trial(read_whole).as_dict()


def test_a_file_changed_under_an_open_trial_is_one_line(trial_path, tmp_path):
    path = tmp_path / "changing.h5"
    shutil.copy(trial_path, path)
    device = plate_recording(open_trial(path))
    path.write_bytes(b"not a trial any more")
    with pytest.raises(CorruptTrial, match="changing.h5"):
        device.counts


def test_analyze_on_a_trial_whose_counts_went_short_says_so(trial_path, tmp_path):
    """The counts dataset cut after open: a read of the rows the trial was opened with is
    refused; ``analyze`` of the cut file (ten frames) is one line, exit 2."""
    path = tmp_path / "short.h5"
    shutil.copy(trial_path, path)
    device = plate_recording(open_trial(path))
    with h5py.File(path, "a") as f:
        f["acquisition/SIM-DP-0001/counts"].resize((10, device.profile.n_channels))
    with pytest.raises(CorruptTrial, match="shorter than when the trial was opened"):
        device.rows("counts", slice(0, 1000))
    run = subprocess.run([sys.executable, "-m", "forceplate", "analyze", str(path)], capture_output=True, text=True)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
