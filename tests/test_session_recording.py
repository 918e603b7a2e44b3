"""A recording started and stopped in a running session (the window's Record button): its own
clock, its own decoder counters, the session going on after it."""

import time

import numpy as np
import pytest

from forceplate.errors import ForceplateError
from forceplate.session import Session
from forceplate.storage.reader import open_trial

URL = "sim://dual-plate?speed=4&reps=4&valgus=2:right:moderate,4:left:severe"


def test_a_recording_started_mid_session_has_its_own_clock_and_counters(tmp_path):
    path = tmp_path / "mid-session.h5"
    session = Session([URL])
    with pytest.raises(ForceplateError, match="start the session"):
        session.start_recording(path)
    session.start()
    try:
        time.sleep(1.0)  # frames and events before the recording: not in it
        session.drain_events()
        session.start_recording(path, {"subject": "S07", "load_kg": 40.0, "notes": "knee wraps"})
        assert session.recording == path
        with pytest.raises(ForceplateError, match="already recording"):
            session.start_recording(tmp_path / "second.h5")
        ends, deadline = [], time.monotonic() + 25
        while not ends and time.monotonic() < deadline:
            ends += [e for e in session.drain_events() if e.kind == "rep_end"]
            time.sleep(0.05)
        assert ends
        assert session.stop_recording() == path and session.recording is None
        assert session.stop_recording() is None
        with pytest.raises(ForceplateError, match="file exists"):  # trials are never overwritten
            session.start_recording(path)
        time.sleep(0.3)
        assert session.links[0].state == "streaming"  # the session goes on after the recording
    finally:
        session.close()
    trial = open_trial(path)
    assert trial.complete
    assert (trial.attrs["subject"], trial.attrs["load_kg"], trial.attrs["notes"]) == ("S07", 40.0, "knee wraps")
    plate = trial.devices["SIM-DP-0001"]
    assert len(plate.counts) > 1000 and (np.diff(plate.seq) == 1).all()
    # Decoder counters cover the recording only (to within one read): about as many frames as rows stored.
    assert abs(plate.stats["frames"] - len(plate.counts)) <= 100 and plate.stats["lost_frames"] == 0
    # Events are on the trial's clock, which starts with the recording.
    duration = len(plate.counts) / plate.rate_hz
    trial_ends = [e for e in trial.events if e["kind"].decode() == "rep_end"]
    assert len(trial_ends) >= 1 and all(0 <= e["t_s"] <= duration + 0.1 for e in trial.events)
