"""A live pair of insoles: paired as offline pairs them, and each rep with its arch load and
pronation index as offline gives them for the same samples."""

import time

import numpy as np
import pytest

from forceplate.insole_pair import InsolePair
from forceplate.offline import analyze_trial, feet_arrays
from forceplate.profiles import load_profile
from forceplate.session import Session
from forceplate.storage.reader import open_trial

SET = "speed=4&reps=4&valgus=2:left:severe,3:right:moderate"
INSOLES = [f"sim://insole?foot={foot}&{SET}" for foot in ("left", "right")]


def recorded_reps(urls, path, reps: int, plotted: bool = True) -> tuple[list, Session]:
    """Record ``urls`` to ``path`` until ``reps`` reps ended; the session's rep_end events, and the session."""
    session = Session(urls, record_path=path, plotted=plotted)
    session.start()
    ends, deadline = [], time.monotonic() + 60
    try:
        while len(ends) < reps and time.monotonic() < deadline:  # the last ends once standing follows
            ends += [event for event in session.drain_events() if event.kind == "rep_end"]
            time.sleep(0.05)
    finally:
        session.close()
    return ends, session


def test_live_insole_reps_carry_the_arch_load_and_pronation_offline_gives(tmp_path):
    """The session records what it analyses, so the trial holds the very samples the live reps
    came from. Live measures each rep against the standing it has seen so far, offline against
    the whole set's: in the simulator the standing arch share moves by up to about two points
    between the first standing and the set's, the pronation index (a difference of two column
    shares) by up to about four (measured over runs of this set: the first reps differ most),
    and a rep's peak, over the rep's span as each found it, by up to a tenth of a collapse's
    rise (10-60 points). With the suite's other worker busy beside it, live pairs the two
    insoles on arrival times that jitter, and a rep's values moved by up to 5.4 points more
    (arch load and pronation alike, in runs of the whole suite; alone it stays within the
    first figures): that is the tolerance. A collapse still stands out by more."""
    path = tmp_path / "insoles.h5"
    ends, _ = recorded_reps(INSOLES, path, 4)
    offline = analyze_trial(open_trial(path)).as_dict()["reps"]
    assert len(offline) == 4
    # Live insole times are on the first insole's clock, the trial's from the pair's first
    # common sample: a tenth of a second apart. Each live rep is matched to offline's by its bottom.
    matched = {}
    for live in ends:
        rep = min(offline, key=lambda r: abs(r["bottom_s"] - live.data["bottom_s"]))
        if abs(rep["bottom_s"] - live.data["bottom_s"]) < 0.5:
            matched[rep["index"]] = (live.data, rep)
    assert len(matched) >= 3, [e.data["bottom_s"] for e in ends]
    for index, (live, rep) in matched.items():
        for foot in ("left", "right"):
            for key, standing_moves in (("arch_load_pct", 4.0), ("pronation_index", 7.0)):
                offline_value = rep[foot][key]
                assert live[foot][key] == pytest.approx(offline_value, abs=standing_moves + 0.1 * abs(offline_value)), (
                    index, foot, key)
    # the collapses stand out live as offline: rep 2 on the left, rep 3 on the right
    collapsed = {2: ("left", "right"), 3: ("right", "left")}
    assert any(index in matched for index in collapsed)
    for index, (foot, other) in collapsed.items():
        if index in matched:
            live = matched[index][0]
            assert live[foot]["arch_load_pct"] > live[other]["arch_load_pct"] + 5


def test_live_plate_reps_carry_the_insoles_arch_load_beside_them(tmp_path):
    """Plates and insoles: the plates' reps (the session's) carry each foot's arch load and
    pronation index from the insoles. Not compared with offline here: each simulated device
    plays its own model from its own start, so the insoles' reps fall up to a second after the
    plates' and a rep's span cuts through the insoles' collapse wherever it happens to lie.
    Recorded as ``record`` and ``live --headless`` run it, with nothing plotted: the insoles'
    own analysis, which only feeds plots, is then not run at all, and no samples go to the
    plots' rings."""
    ends, session = recorded_reps([f"sim://dual-plate?{SET}", *INSOLES], tmp_path / "plates-insoles.h5", 2,
                                  plotted=False)
    plates, insoles = session.feet
    assert plates.analysed and not insoles.analysed
    assert not plates.ring.written and not insoles.ring.written
    assert not any(link.sensors.written for link in session.links if link.sensors is not None)
    assert insoles.pair.history.written  # the pairing goes on: the plates' reps take their shares from it
    assert ends and all(e.data["index"] for e in ends)
    for event in ends:
        for foot in ("left", "right"):
            assert np.isfinite(event.data[foot]["arch_load_pct"]) and np.isfinite(event.data[foot]["pronation_index"])


def test_a_pair_fed_in_blocks_gives_what_it_gives_whole():
    """Live feeds the pair block by block, offline whole: the same grid and the same values."""
    layout = load_profile("insole16").insole
    rng = np.random.default_rng(5)
    t_device = np.arange(1000) / 100.0
    recordings = {foot: (t_device + shift, rng.uniform(0, 40, (1000, len(layout.sensors_mm))))
                  for foot, shift in (("left", 0.0), ("right", 0.013))}
    whole = InsolePair(dict.fromkeys(("left", "right"), layout), 100.0).whole(recordings)
    blocks = InsolePair(dict.fromkeys(("left", "right"), layout), 100.0, history_s=30.0)
    parts = []
    for lo in range(0, 1000, 37):
        for foot, (t, newtons) in recordings.items():
            blocks.add(foot, t[lo:lo + 37], newtons[lo:lo + 37])
        parts.append(blocks.pop())
    t = np.concatenate([p.t for p in parts])
    np.testing.assert_allclose(t, whole.t, atol=1e-9)
    for foot in ("left", "right"):
        np.testing.assert_allclose(np.concatenate([p.fz[foot] for p in parts]), whole.fz[foot])
        np.testing.assert_allclose(np.concatenate([p.cop[foot] for p in parts]), whole.cop[foot])
        for name, force in whole.regions[foot].items():
            np.testing.assert_allclose(np.concatenate([p.regions[foot][name] for p in parts]), force)
    assert blocks.history.written == len(whole.t)


def test_offline_pairs_a_trial_of_insoles_through_the_pair(shared_data, tmp_path):
    """A real Moticon export: the trial's pair is the left insole's clock and grid, every region kept."""
    from forceplate.interop.moticon import read_moticon
    from forceplate.storage.writer import write_trial

    path = tmp_path / "moticon.h5"
    write_trial(path, *read_moticon(shared_data / "moticon-opengo/230927_102114.txt"))
    feet = feet_arrays(open_trial(path))
    t, fz, cop, regions = feet.t, feet.fz, feet.cop, feet.regions
    assert feet.rate_hz == 100.0 and feet.frame_toe_out_deg == 0.0 and t[0] == 0.0
    np.testing.assert_allclose(np.diff(t), 0.01, atol=1e-9)
    assert set(regions) == {"left", "right"} and "medial_midfoot" in regions["left"]
    assert all(len(fz[foot]) == len(t) == len(cop[foot]) for foot in fz)


def test_an_insole_plugged_back_in_is_put_on_the_pair_clock_afresh(monkeypatch):
    """After an unplug the decoder places the device's next frames from the host clock's
    estimate of what was missed, which for a 4x simulator is a quarter of the device time that
    passed: the offset steps there. The fit starts again at such a restart, so the reads after
    it sit on the fitted line within their arrival delays, not the step above it."""
    from forceplate.io.clock import ClockSync

    fed = {}
    update = ClockSync.update

    def recording_update(self, t_device, t_host):
        fed.setdefault(id(self), []).append((np.array(t_device), np.array(t_host)))
        update(self, t_device, t_host)

    monkeypatch.setattr(ClockSync, "update", recording_update)
    urls = [INSOLES[0], INSOLES[1] + "&unplug_at=3"]
    session = Session(urls, plotted=False)
    session.start()
    events, deadline = [], time.monotonic() + 20
    try:
        while time.monotonic() < deadline and not any(e.kind == "device_reconnected" for e in events):
            events += session.drain_events()
            time.sleep(0.05)
        time.sleep(1.5)  # reads after the reconnection
    finally:
        session.close()
    assert any(e.kind == "device_reconnected" for e in events)
    right = next(link for link in session.links if link.device.info["foot"] == "right")

    def above_the_line(blocks, clock):
        """How far each read's arrival (its last frame: a read's frames share its lag) lies above ``clock``'s line."""
        t_device, t_host = (np.concatenate(parts) for parts in zip(*blocks))
        lag = t_host - t_device
        read_ends = np.append(np.abs(np.diff(lag)) > 1e-7, True)
        offset, drift = clock.offset_drift
        return (lag - (offset + drift * t_device))[read_ends]

    # the reference, this run's arrival delays: the reads of the first 2.4 s of device time, before the unplug
    before = fed[id(right.clock)][5:30]
    reference = ClockSync()
    for t_device, t_host in before:
        update(reference, t_device, t_host)
    after = above_the_line(fed[id(right.clock)][-20:], right.clock)
    # without the restart the reads after it lay 39 ms above the line, their delays 2-3 ms
    assert after.min() > -1e-6
    assert np.median(after) < 2 * np.median(above_the_line(before, reference)) + 0.01
