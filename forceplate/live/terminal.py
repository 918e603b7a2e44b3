"""Terminal view of a live session: the same rep and flag stream as the window, as text."""

from __future__ import annotations

import sys

from forceplate.events import EventKind
from forceplate.processing.streaming import SIDES, Event
from forceplate.processing.valgus import GRADES
from forceplate.reporting.numbers import number
from forceplate.session_view import SessionView

CUE = {"mild": "watch the knees", "moderate": "KNEES OUT", "severe": "KNEES OUT!"}
STATUS_EVERY_S = 10.0
EVENT_WAIT_S = 1.0  # the longest wait for an event (Ctrl-C interrupts it at once)


def side_phases(side: dict, onset_seen: str | None = None) -> tuple[str | None, str | None]:
    """A rep side's (onset phase, peak phase) from its results.

    Onset: the phase when the held shift first crossed the mild threshold, the one the live cue
    named; peak: the phase at the largest held shift (the older single ``phase`` key). Results
    from before ``onset_phase`` existed give ``onset_seen`` (the first flag's phase) instead.
    """
    return side.get("onset_phase", onset_seen), side.get("peak_phase", side.get("phase"))


def _side_summary(side: str, result: dict, onset_seen: str | None, graded: bool = True) -> str:
    if result["flag"] == "none":
        return f"{side} none" if graded else f"{side} not graded"
    onset, peak = side_phases(result, onset_seen)
    phases = f"onset {onset}, peak {peak}" if onset else f"peak {peak}"
    return f"{side} {result['flag']} {number(result['medial_shift_mm'], 1)} mm ({phases})"


def set_summary(rep_ends: list[Event]) -> str:
    """What a set came to, from its reps' ``rep_end`` events: reps, flagged reps per side, the worst rep."""
    flagged = {side: [e.rep for e in rep_ends if e.data[side]["flag"] != "none"] for side in SIDES}
    per_side = ", ".join(f"{side} knee in {len(reps)} (rep{'s' if len(reps) > 1 else ''} {', '.join(map(str, reps))})"
                         if reps else f"{side} knee in none" for side, reps in flagged.items())
    text = f"Set done: {len(rep_ends)} rep{'s' if len(rep_ends) != 1 else ''}; flagged: {per_side}"
    learning = [e.rep for e in rep_ends if not e.data.get("graded", True)]
    if learning:
        text += (f"; rep{'s' if len(learning) > 1 else ''} {', '.join(map(str, learning))} not graded "
                 "(the foot axes were being learned)")
    worst = max(((GRADES.index(e.data[side]["flag"]), e.data[side]["medial_shift_mm"] or 0.0, e, side)
                 for e in rep_ends for side in SIDES), key=lambda w: w[:2], default=None)
    if worst is not None and worst[0] > 0:
        _, shift_mm, event, side = worst
        text += f". Worst: rep {event.rep}, {side} {event.data[side]['flag']}, {number(shift_mm, 1)} mm"
    return text


def describe(event: Event, onsets: dict | None = None) -> str | None:
    """One line for an event, or None for events not worth a line; ``onsets``: (rep, side) ->
    the phase of that side's first flag, for results that do not carry their onset phase."""
    t = f"{event.t_s:7.2f} s"
    if event.kind == EventKind.BASELINE:
        d = event.data
        if d.get("pulled"):  # a flywheel: the force is not the weight
            return f"{t}  baseline: {d['weight_source']} ({d['body_weight_n']:.1f} N, not the body weight)"
        return f"{t}  baseline: body weight {d['body_weight_n']:.1f} N ({d['mass_kg']:.1f} kg)"
    if event.kind == EventKind.REP_START:
        return f"{t}  rep {event.rep}: down"
    if event.kind == EventKind.FLAG:
        return (f"{t}  rep {event.rep}: {event.side.upper()} foot {event.severity} medial shift "
                f"{event.value:.1f} mm (in {event.phase})  -> {CUE[event.severity]}")
    if event.kind == EventKind.REP_END:
        d = event.data
        sides = "  ".join(_side_summary(s, d[s], (onsets or {}).get((event.rep, s)), d.get("graded", True))
                          for s in SIDES)
        learning = "" if d.get("graded", True) else " (this rep taught the foot axes)"
        return (f"{t}  rep {event.rep} done: depth {number(d['depth_m'], 2)} m, {number(d['end_s'] - d['start_s'], 2)} s;"
                f"  {sides}{learning}")
    if event.kind == EventKind.DEVICE_DISCONNECTED:
        return f"{t}  DEVICE LOST: {event.data.get('message', '')} (recorded data is kept; reconnecting)"
    if event.kind == EventKind.RECORDING_FAILED:
        return f"{t}  RECORDING STOPPED: {event.data.get('message', '')} (the live view goes on)"
    if event.kind == EventKind.DEVICE_RECONNECTED:
        return f"{t}  {event.data.get('message', '')}; recording resumes, the gap is recorded"
    if event.kind == EventKind.DEVICE_STALLED:
        return f"{t}  DEVICE SILENT: {event.data.get('message', '')}"
    if event.kind == EventKind.DEVICE_RESUMED:
        return f"{t}  {event.data.get('message', '')}"
    return None


def format_status(session: SessionView) -> str:
    parts = []
    for s in session.status():
        parts.append(f"{s['device']} {s['state']}: {s.get('frames', 0)} frames, {s.get('lost_frames', 0)} lost, "
                     f"{s.get('crc_errors', 0)} CRC errors, {s.get('malformed', 0)} malformed")
        if s.get("state") == "disconnected":
            break
    if session.recording_error:
        parts.append(session.recording_error)
    return "; ".join(parts)


def run_terminal(session: SessionView, duration_s: float | None, out=None, stop=None) -> None:
    """Print events as they happen until ``duration_s`` passes (None: until Ctrl-C), then
    call ``stop`` (stopping the session reports the reps still open when the set stopped
    with the recording), print what it reported, and what the reps came to. ``out``: standard
    output when None (taken at the call, not at import)."""
    out = out or sys.stdout
    print("   time  event  (Ctrl-C to stop)", file=out, flush=True)
    next_status = STATUS_EVERY_S
    rep_ends: list[Event] = []
    onsets: dict[tuple[int, str], str] = {}

    def show(events) -> None:
        for event in events:
            if event.kind == EventKind.FLAG:
                onsets.setdefault((event.rep, event.side), event.phase)
            line = describe(event, onsets)
            if line:
                print(line, file=out, flush=True)
            if event.kind == EventKind.REP_END:
                rep_ends.append(event)

    try:
        while duration_s is None or session.elapsed_s() < duration_s:
            # wait for the next event, no later than the next status line or the end: a loop that
            # polled every 50 ms cost `record` 0.2-0.3 % of a core (issue 14)
            until = next_status if duration_s is None else min(next_status, duration_s)
            show(session.drain_events(wait_s=min(EVENT_WAIT_S, max(0.0, until - session.elapsed_s()))))
            if session.elapsed_s() >= next_status:
                print(f"{'':>9}  status: {format_status(session)}", file=out, flush=True)
                next_status += STATUS_EVERY_S
    except KeyboardInterrupt:
        print("stopped", file=out, flush=True)
    if stop is not None:
        stop()
    show(session.drain_events())
    if rep_ends:
        print(f"{'':>9}  {set_summary(rep_ends)}", file=out, flush=True)
