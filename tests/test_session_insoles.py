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


@pytest.mark.parametrize("urls", [INSOLES, [f"sim://dual-plate?{SET}", *INSOLES]], ids=["insoles", "plates+insoles"])
def test_live_insole_reps_carry_the_arch_load_and_pronation_offline_gives(urls, tmp_path):
    """The session records what it analyses, so the trial holds the very samples the live reps
    came from (with plates, the plates' reps and the insoles' regions on the plates' time, as
    offline). Live measures each rep against the standing it has seen so far, offline against
    the whole set's: in the simulator the standing arch share and pronation index move by up to
    about two and a half points between the first standing and the set's (measured on this
    set, the first rep differs most), and a rep's peak, over the rep's span as each found it,
    by up to a tenth of a collapse's rise (10-60 points): that is the tolerance."""
    path = tmp_path / "insoles.h5"
    session = Session(urls, record_path=path)
    session.start()
    ends, deadline = [], time.monotonic() + 60
    try:
        while len(ends) < 4 and time.monotonic() < deadline:  # the 4th ends once standing follows
            ends += [event for event in session.drain_events() if event.kind == "rep_end"]
            time.sleep(0.05)
    finally:
        session.close()
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
            for key in ("arch_load_pct", "pronation_index"):
                offline_value = rep[foot][key]
                assert live[foot][key] == pytest.approx(offline_value, abs=3.0 + 0.1 * abs(offline_value)), (
                    index, foot, key)
    # the collapses stand out live as offline: rep 2 on the left, rep 3 on the right
    collapsed = {2: ("left", "right"), 3: ("right", "left")}
    assert any(index in matched for index in collapsed)
    for index, (foot, other) in collapsed.items():
        if index in matched:
            live = matched[index][0]
            assert live[foot]["arch_load_pct"] > live[other]["arch_load_pct"] + 5


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
    t, fz, cop, regions, rate_hz, toe_out, devices = feet_arrays(open_trial(path))
    assert rate_hz == 100.0 and toe_out == 0.0 and t[0] == 0.0
    np.testing.assert_allclose(np.diff(t), 0.01, atol=1e-9)
    assert set(regions) == {"left", "right"} and "medial_midfoot" in regions["left"]
    assert all(len(fz[foot]) == len(t) == len(cop[foot]) for foot in fz)
