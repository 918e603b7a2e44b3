"""What a lab laptop pays (issue 14): how the live analysis is fed, how trials are stored.

The figures themselves are measured by the benchmarks (benchmarks/live_cpu.py, startup.py,
analysis_memory.py, storage.py, gui_redraw.py); these tests hold the mechanisms behind them.
"""

import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest

from forceplate.io import firmware
from forceplate.io.device import GATHER_UP_TO_BYTES, READ_GATHER_S, open_device
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from forceplate.offline import CALIBRATION_BLOCK_FRAMES, analyze_trial, plate_feet, plate_recording
from forceplate.processing.forces import plate_forces
from forceplate.processing.valgus import held_shift
from forceplate.session import ANALYSIS_BLOCK_S, HISTORY_ONLY_BLOCK_S, PLOT_ONLY_BLOCK_S, PLOT_ONLY_READ_S, Session
from forceplate.storage.reader import open_trial
from forceplate.storage.writer import COMPRESSION

FRAME_COLUMNS = ("counts", "seq", "t_device", "t_host")


def test_the_live_analysis_gets_blocks_of_20_ms_held_no_longer_than_that():
    session = Session(["sim://dual-plate?seed=2"])
    blocks, waits = [], []
    analyse = session._analyse

    def logged(link, frames):
        blocks.append(len(frames))
        waits.append(time.monotonic() - frames.t_host_s[0])  # how long its first frame was held
        return analyse(link, frames)

    session._analyse = logged
    session.start()
    time.sleep(2.0)
    session.close()
    full = ANALYSIS_BLOCK_S * session.links[0].device.profile.rate_hz
    blocks, waits = np.array(blocks), np.array(waits)
    assert len(blocks) > 20
    # the rule: a block is full, or its first frame has waited the block's length
    assert ((blocks >= full) | (waits >= ANALYSIS_BLOCK_S)).all()
    # so far fewer calls than reads (one per 10 ms write, some split), even on a loaded machine
    assert len(blocks) <= 2 * blocks.sum() / full
    # and no frame waits much longer than the block and one read (slack for a loaded machine)
    assert np.percentile(waits, 90) < ANALYSIS_BLOCK_S + 0.05


@pytest.mark.parametrize("plotted", [True, False])
def test_devices_no_flag_waits_on_are_read_less_often(plotted):
    """Insoles beside plates only feed plots: their readers wake every PLOT_ONLY_READ_S, not
    every READ_GATHER_S like the plates' (whose flags wait); plotted, each read is one block;
    with nothing plotted they only keep the plates' history, paired once a HISTORY_ONLY_BLOCK_S."""
    session = Session(["sim://dual-plate?seed=2", "sim://insole?foot=left&seed=2", "sim://insole?foot=right&seed=2"],
                      plotted=plotted)
    plates, *insoles = session.links
    assert plates.device.gather_s == READ_GATHER_S
    assert [link.device.gather_s for link in insoles] == [PLOT_ONLY_READ_S] * 2
    reads, blocks = {link.name: [] for link in session.links}, {link.name: 0 for link in session.links}
    analyse = session._analyse

    def logged(link, frames):
        blocks[link.name] += 1
        return analyse(link, frames)

    for link in session.links:
        def read(arrivals=reads[link.name], unlogged=link.device.read):
            frames = unlogged()
            if len(frames):
                arrivals.append(time.monotonic())
            return frames
        link.device.read = read
    session._analyse = logged
    session.start()
    time.sleep(2.0)
    session.close()
    for link in insoles:
        gaps = np.diff(reads[link.name])
        assert len(gaps) > 10 and np.median(gaps) >= PLOT_ONLY_READ_S - 0.002, link.name
        if plotted:  # a read spans more than PLOT_ONLY_BLOCK_S: no read waits for the next one
            assert blocks[link.name] >= 0.9 * len(reads[link.name]), link.name
        else:  # both feet paired together, about once a HISTORY_ONLY_BLOCK_S in 2 s (and at the close)
            assert 1 <= blocks[link.name] <= 2.0 / HISTORY_ONLY_BLOCK_S + 2, link.name
    assert np.median(np.diff(reads[plates.name])) < PLOT_ONLY_READ_S - 0.01  # the plates' flags do not wait


@pytest.fixture(scope="module")
def long_trial(tmp_path_factory):
    """A simulated trial longer than one calibration block."""
    path = tmp_path_factory.mktemp("costs") / "trial.h5"
    write_simulated_trial(path, SimulatedTrial(reps=30, valgus={4: ("left", "severe")}, seed=3))
    return path


def test_plate_forces_calibrated_in_blocks_are_those_of_the_whole_trial(long_trial):
    device = plate_recording(open_trial(long_trial))
    assert len(device.seq) > CALIBRATION_BLOCK_FRAMES
    device.seq = np.concatenate([device.seq[:1000], device.seq[1000:] + 250])  # a gap: NaN rows
    t_whole, physical = device.uniform()
    fz_whole, cop_whole = plate_forces(physical, device.profile)
    t, fz, cop = plate_feet(device)
    np.testing.assert_array_equal(t, t_whole)
    for foot in fz:
        np.testing.assert_array_equal(fz[foot], fz_whole[foot])
        np.testing.assert_array_equal(cop[foot], cop_whole[foot])
    assert np.isnan(fz["left"][1000:1250]).all()


def test_the_offline_analysis_filters_the_feet_in_place_with_the_same_results(long_trial):
    """analyze_trial hands its per-foot arrays over to be low-passed where they are (held
    once, not twice): the results are those of filtering copies, and the arrays are the ones
    read."""
    from forceplate.offline import feet_arrays
    from forceplate.processing.analysis import analyze_feet

    feet = feet_arrays(open_trial(long_trial))
    t, fz, cop, rate_hz = feet.t, feet.fz, feet.cop, feet.rate_hz
    copies = analyze_feet(t, {f: x.copy() for f, x in fz.items()}, {f: x.copy() for f, x in cop.items()}, rate_hz)
    in_place = analyze_feet(t, fz, cop, rate_hz, filter_in_place=True)
    assert in_place.as_dict() == copies.as_dict() and len(in_place.reps) > 0
    for foot in fz:
        assert in_place.fz[foot] is fz[foot] and in_place.cop[foot] is cop[foot]
        np.testing.assert_array_equal(in_place.cop[foot], copies.cop[foot])


def test_new_trials_are_compressed_with_filters_every_hdf5_build_has(long_trial):
    with h5py.File(long_trial, "r") as f:
        for column in FRAME_COLUMNS:
            ds = f["acquisition/SIM-DP-0001"][column]
            assert (ds.shuffle, ds.compression, ds.compression_opts) == (True, "gzip", 1)
            assert ds.fletcher32
        stored = sum(f["acquisition/SIM-DP-0001"][c].id.get_storage_size() for c in FRAME_COLUMNS)
        plain = sum(f["acquisition/SIM-DP-0001"][c].nbytes for c in FRAME_COLUMNS)
    assert stored < 0.5 * plain
    assert COMPRESSION["compression"] == "gzip"  # deflate: no plugin to install anywhere


def test_a_trial_written_before_compression_reads_and_analyses_the_same(long_trial, tmp_path):
    old = tmp_path / "old.h5"
    with h5py.File(long_trial, "r") as source, h5py.File(old, "w", libver="latest") as target:
        for key in source.attrs:
            target.attrs.create(key, source.attrs[key], dtype=source.attrs.get_id(key).dtype)
        for name in ("devices", "events"):
            source.copy(source[name], target, name)
        for device, group in source["acquisition"].items():
            copy = target.create_group(f"acquisition/{device}")
            for key in group.attrs:
                copy.attrs.create(key, group.attrs[key], dtype=group.attrs.get_id(key).dtype)
            for column, ds in group.items():  # as the writer made them before: chunked, checksummed, no filters
                plain = copy.create_dataset(column, data=ds[()], maxshape=ds.maxshape, chunks=ds.chunks,
                                            fletcher32=True)
                for key in ds.attrs:
                    plain.attrs[key] = ds.attrs[key]
    with h5py.File(old, "r") as f:
        assert f["acquisition/SIM-DP-0001/counts"].compression is None
    new_trial, old_trial = open_trial(long_trial), open_trial(old)
    for column in ("counts", "seq", "t_device_s", "t_host_s"):
        np.testing.assert_array_equal(getattr(old_trial.devices["SIM-DP-0001"], column),
                                      getattr(new_trial.devices["SIM-DP-0001"], column))
    assert analyze_trial(old_trial).as_dict()["reps"] == analyze_trial(new_trial).as_dict()["reps"]


@pytest.mark.slow
def test_a_recorded_trial_is_compact_once_closed(tmp_path):
    # Each flush rewrites the chunks being filled, and SWMR never reuses their old space:
    # closing copies the trial compact. Without it this file would be about 2.5x its data.
    path = tmp_path / "rec.h5"
    record = subprocess.run([sys.executable, "-m", "forceplate", "record", "--device", "sim://dual-plate?speed=2",
                             "-o", str(path), "--duration", "4"], capture_output=True, text=True, timeout=120)
    assert record.returncode == 0, record.stderr
    with h5py.File(path, "r") as f:
        assert f.attrs["complete"] and "processing" in f
        stored = []
        f.visititems(lambda name, obj: stored.append(obj.id.get_storage_size())
                     if isinstance(obj, h5py.Dataset) else None)
    assert path.stat().st_size < 1.3 * sum(stored) + (96 << 10)  # plus attributes and metadata
    assert not list(tmp_path.glob("*.compacting"))


DUAL_PLATE_FRAME_BYTES = 44  # on the wire (devices/PROTOCOL.md)


def test_a_reader_wakes_at_most_once_per_gather_period_and_keeps_up_with_a_fast_stream(monkeypatch):
    """Reads that bring frames come no sooner than READ_GATHER_S apart however often the device
    writes (here a stand-in every 4 ms, as a USB port might every millisecond), yet a stream
    faster than a port's buffer per period (a stand-in at 10x real time) is read as it comes."""
    monkeypatch.setattr(firmware, "TICK_S", 0.004)
    with open_device("sim://dual-plate?seed=2") as device:
        device.start()
        arrivals, sizes, frames = [], [], 0
        started = time.monotonic()
        while time.monotonic() - started < 1.5:
            batch = device.read()
            if len(batch):
                arrivals.append(time.monotonic())
                sizes.append(len(batch))
                frames += len(batch)
    gaps = np.diff(arrivals)
    # a read of GATHER_UP_TO_BYTES or more (a reader held up, here by a loaded machine) is
    # followed at once by design: the port's buffer would otherwise overflow
    paced = gaps[np.array(sizes[:-1]) * DUAL_PLATE_FRAME_BYTES < GATHER_UP_TO_BYTES]
    assert len(paced) > 20 and paced.min() >= READ_GATHER_S - 0.002
    assert frames >= 1.3 * 1000  # nothing held back at 1 kHz
    with open_device("sim://dual-plate?seed=2&speed=10") as device:
        device.start()
        frames, started = 0, time.monotonic()
        while time.monotonic() - started < 1.0:
            frames += len(device.read())
    assert frames >= 0.8 * 10 * 1000  # 44 kB per 100 ms of stream: far more than a pty's 4 KiB per read


def test_a_reader_hands_its_frames_to_the_writer_after_analysing_them(tmp_path):
    """The writer thread is woken as the reader is about to sleep, not as its analysis begins
    (the two would take the GIL from each other every 5 ms); nothing read is left unwritten."""
    session = Session(["sim://dual-plate?seed=2"], record_path=tmp_path / "handed.h5")
    steps = []
    analyse, write = session._analyse, session.recording_sink.writer.write_frames

    def analysed(link, frames):
        steps.append("analyse")
        return analyse(link, frames)

    def written(name, frames):
        steps.append("write")
        return write(name, frames)

    def read(unlogged=session.links[0].device.read):
        frames = unlogged()
        if len(frames):
            steps.append("read")
        return frames

    session._analyse, session.recording_sink.writer.write_frames = analysed, written
    session.links[0].device.read = read
    session.start()
    time.sleep(1.5)
    session.close()
    handed = [k for k, step in enumerate(steps) if step == "write"][:-1]  # the last: what close() wrote
    assert len(handed) > 5
    assert all(steps[k - 2:k] == ["read", "analyse"] for k in handed), steps
    status = session.links[0].device.decoder.stats.frames
    with h5py.File(tmp_path / "handed.h5") as f:
        assert len(f[f"acquisition/{session.links[0].name}/seq"]) == status


def _hostile_floats(rng, n: int) -> np.ndarray:
    """Floats a median or a ramp must take as numpy does: signed zeros, ties, NaN, infinities, subnormals."""
    pools = (rng.normal(size=n) * 10.0 ** rng.integers(-8, 8), rng.choice([-0.0, 0.0, 1.0, -1.0], size=n),
             rng.integers(0, 3, size=n).astype(float), rng.choice([np.inf, -np.inf, 1e308, -1e308, 5e-324], size=n))
    x = pools[int(rng.integers(len(pools)))].copy()
    if rng.random() < 0.2:
        x[rng.integers(n)] = np.nan
    return x


def test_the_segmentations_median_and_ramp_are_numpys_to_the_bit():
    """``processing.median.median`` and ``reps._ramp`` stand for np.median and
    np.linspace(0, stop, n) in the live segmentation (their per-call checks cost more than the
    work there): the same bits, on hostile floats (subnormals, signed zeros, NaN, infinities)."""
    from forceplate.processing.median import median
    from forceplate.processing.reps import _ramp

    rng = np.random.default_rng(14)
    with np.errstate(invalid="ignore", over="ignore"):
        for _ in range(20000):
            x = _hostile_floats(rng, int(rng.integers(1, 40)))
            expected = np.float64(np.median(x))
            assert np.float64(median(x.copy(), overwrite_input=True)).tobytes() == expected.tobytes(), x
        for stop in (*_hostile_floats(rng, 200), 0.0, -0.0, 1e-320, 5e-324):
            for num in (1, 2, 3, int(rng.integers(4, 3000))):
                assert _ramp(stop, num).tobytes() == np.linspace(0.0, stop, num).tobytes(), (stop, num)


def test_the_segmentation_stops_its_passes_only_where_they_would_repeat_the_last(monkeypatch):
    """A pass that starts from the last pass's tops, rest and source would repeat it to the bit,
    so the segmentation stops there: with the stop defeated (tops that never compare equal), every
    pass runs, and the reps, velocity, rest and weight are the same bits, live windows and whole sets."""
    from forceplate.processing import reps as reps_module
    from forceplate.validation import draw_session, simulate

    class NeverEqual(list):
        def __eq__(self, other):
            return False

        __hash__ = None

    def windows():
        for seed, devices in ((3, "plates4"), (4, "insoles16"), (8, "plates6")):
            rec = simulate(draw_session(seed, devices))
            total = rec.fz["left"] + rec.fz["right"]
            yield rec.t, total, rec.rate_hz  # a whole set, offline
            step = int(rec.rate_hz // 100)
            for end in range(800, len(rec.t) // step, 137):  # live's windows: 16 s at 100 Hz, filtered
                lo = max(0, end - 1600)
                yield rec.t[::step][lo:end], reps_module.zero_lag(total, 20.0, rec.rate_hz)[::step][lo:end], 100.0

    tops, passes = reps_module._tops, {"stopping": 0, "every": 0}

    def counted(kind, wrap):
        def tops_of(*arguments):
            passes[kind] += 1
            return wrap(tops(*arguments))
        return tops_of

    monkeypatch.setattr(reps_module, "_tops", counted("stopping", list))
    found = [reps_module.segment_reps(t, f, rate) for t, f, rate in windows()]
    monkeypatch.setattr(reps_module, "_tops", counted("every", NeverEqual))
    for (t, f, rate), seg in zip(windows(), found, strict=True):
        every_pass = reps_module.segment_reps(t, f, rate)
        assert repr(every_pass.reps) == repr(seg.reps) and every_pass.weight_n == seg.weight_n  # NaN depths too
        assert every_pass.weight_source == seg.weight_source and every_pass.pulled == seg.pulled
        assert every_pass.velocity.tobytes() == seg.velocity.tobytes() and np.array_equal(every_pass.rest, seg.rest)
    assert len(found) > 20 and passes["stopping"] < passes["every"]  # the stop was taken


def test_a_face_waits_for_events_instead_of_polling():
    """``drain_events(wait_s)`` returns an event as soon as one comes (the terminal waits on it,
    instead of waking every 50 ms), and nothing once the wait is over."""
    from forceplate.events import EventKind
    from forceplate.processing.streaming import Event

    session = Session(["sim://dual-plate?seed=2"])
    try:
        started = time.monotonic()
        assert session.drain_events(wait_s=0.2) == [] and time.monotonic() - started >= 0.2
        threading.Timer(0.1, session.mark, ("now",)).start()
        started = time.monotonic()
        (event,) = session.drain_events(wait_s=5.0)
        assert event.kind == EventKind.MARK and time.monotonic() - started < 2.0
        assert isinstance(event, Event)
    finally:
        session.close()


def test_a_blocks_held_shift_is_the_whole_running_filters_to_the_bit():
    """The held shift of a live block (its last k samples, over a tail of the blocks before)
    taken by doubling windows is held_shift's, NaN and the array's start included."""
    rng = np.random.default_rng(4)
    for _ in range(400):
        n, m = int(rng.integers(1, 70)), int(rng.integers(1, 120))
        shift = rng.normal(0, 8, m)
        shift[rng.random(m) < 0.1] = np.nan
        k = int(rng.integers(1, m + 1))
        expected = held_shift(shift, 1000.0, n / 1000.0)[-k:]
        np.testing.assert_array_equal(held_shift(shift, 1000.0, n / 1000.0, last=k), expected)


def test_a_reader_with_nothing_plotted_reads_less_often_while_no_flag_can_come():
    """With no rep under way (no flag can come before the next segmentation) a record-like
    session reads a 1 kHz plate about every 37 ms (most of GATHER_UP_TO_BYTES at its pace)
    instead of every READ_GATHER_S, and the read that brings the sample the segmentation
    is due at comes as soon as it arrives (rep starts are seen no later); in a graded rep it
    reads every READ_GATHER_S as before."""
    session = Session(["sim://dual-plate?seed=3&reps=6"], plotted=False)
    link = session.links[0]
    analyzer = link.feet.analyzer
    reads = []  # (monotonic time, quiet before the read, newest frame's trial time)
    unlogged = link.device.read

    def read():
        quiet = analyzer.quiet_until_s()
        frames = unlogged()
        if len(frames):
            first = frames.seq[0] if link.seq0 is None else link.seq0
            reads.append((time.monotonic(), quiet, (frames.seq[-1] - first) / 1000.0))
        return frames

    link.device.read = read
    session.start()
    time.sleep(12.0)
    session.close()
    gaps = np.diff([at for at, _, _ in reads])
    quiet = np.array([q is not None and np.isfinite(q) for _, q, _ in reads[1:]])  # -inf: segmenting at once
    assert quiet.sum() > 20 and (~quiet).sum() > 100
    assert np.median(gaps[quiet]) > READ_GATHER_S + 0.01
    assert abs(np.median(gaps[~quiet]) - READ_GATHER_S) < 0.005
    # a read waiting for a due segmentation is never later than a read every READ_GATHER_S
    due = [(gap, q, newest) for (gap, (_, q, newest)), waits in zip(zip(gaps, reads[1:]), quiet) if waits and newest >= q]
    assert due and max(newest - q for _, q, newest in due) < READ_GATHER_S + 0.015
