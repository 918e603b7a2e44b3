"""``forceplate history --report``: an athlete's history as a self-contained HTML page
(inline SVG from :mod:`forceplate.reporting.html`, nothing to fetch)."""

from __future__ import annotations

import datetime as dt
import html

from forceplate.profiles import SIDES
from forceplate.reporting.html import COLOURS, _Axes, _cell

BAND_COLOURS = {"green": "#c7e9c0", "amber": "#fdd49e", "red": "#fc9272"}


def _days(sessions: list[dict]) -> list[int]:
    first = dt.date.fromisoformat(sessions[0]["date"])
    return [(dt.date.fromisoformat(s["date"]) - first).days for s in sessions]


def flagged_over_time_plot(report: dict) -> str:
    """Flagged share of reps per side, one point per session."""
    sessions = report["sessions"]
    days = _days(sessions)
    ax = _Axes(440, 240, (min(days) - 1, max(days) + 1), (0, 105), margin=(48, 60, 12, 32))
    for side in SIDES:
        points = [(d, s[f"{side}_flagged_pct"]) for d, s in zip(days, sessions, strict=True) if s[f"{side}_flagged_pct"] is not None]
        if points:
            x, y = zip(*points)
            ax.line(x, y, COLOURS[side], width=1.8)
            for px, py in points:
                ax.rect(px - 0.3, py - 1.5, px + 0.3, py + 1.5, COLOURS[side])
            ax.text(x[-1], y[-1], side, colour=COLOURS[side], dx=6, dy=4)
    return ax.svg(f"days since {sessions[0]['date']}", "flagged reps (%)")


def asymmetry_plot(report: dict) -> str:
    """Mean asymmetry per session and load against the traffic-light bands."""
    groups = [g for g in report["by_session_and_load"] if g["mean_asymmetry_pct"] is not None]
    if not groups:
        return ""
    top = max([30.0, *(abs(g["mean_asymmetry_pct"]) * 1.1 for g in groups)])
    ax = _Axes(440, 240, (0.5, len(groups) + 0.5), (-top, top), margin=(48, 12, 12, 32))
    for lower, upper, band in ((-10, 10, "green"), (10, 25, "amber"), (-25, -10, "amber"), (25, top, "red"),
                               (-top, -25, "red")):
        ax.rect(0.5, lower, len(groups) + 0.5, upper, BAND_COLOURS[band], opacity=0.6)
    for i, g in enumerate(groups, start=1):
        ax.rect(i - 0.15, 0, i + 0.15, g["mean_asymmetry_pct"], "#333")
    return ax.svg("session and load (in the table's order)", "asymmetry, left - right (%)", ticks="y")


def render_history(report: dict) -> str:
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in (
            g["date"], g["load_kg"], g["trials"], g["reps"], g["left_flagged_pct"], g["right_flagged_pct"],
            g["left_mean_shift_mm"], g["right_mean_shift_mm"], g["mean_asymmetry_pct"]))
        + (f'<td style="background:{BAND_COLOURS[g["asymmetry"]["band"]]}">{g["asymmetry"]["band"]} '
           f'({html.escape(g["asymmetry"]["range"])})</td>' if g["asymmetry"] else "<td>-</td>")
        + f"<td>{_cell(g['mean_depth_m'])}</td></tr>"
        for g in report["by_session_and_load"])
    collapse = "".join(
        f"<li><b>{side}</b>: {html.escape(c['answer'])}"
        + (f" (<b>{html.escape(c['cause'])}</b>)" if c.get("cause") else "") + f": {html.escape(c['reason'])}</li>"
        for side, c in report["collapse"].items())
    trend = report["trend"]
    trend_part = ""
    if trend:
        values = ", ".join(f"{label} {v:+.1f}{unit}" for label, v, unit in (
            ("left flagged", trend["left_flagged_pp"], " percentage points"),
            ("right flagged", trend["right_flagged_pp"], " percentage points"),
            ("asymmetry size", trend["asymmetry_size_pp"], " percentage points")) if v is not None)
        trend_part = (f"<p>Change per {trend['per_days']:g} days over {trend['sessions']} sessions: "
                      f"{values or '-'}.</p>" + (f"<p>{html.escape(trend['note'])}.</p>" if "note" in trend else ""))
        if len(report["sessions"]) >= 2:
            trend_part += flagged_over_time_plot(report)
    bands = ", ".join(f"{b['band']} {html.escape(b['range'])}" for b in report["bands"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>forceplate history: {html.escape(report['subject'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:960px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} th{{background:#f0f0f0}}</style></head>
<body><h1>History of {html.escape(report['subject'])} ({html.escape('/'.join(report['exercises']))})</h1>
<p>{report['trials']} trials, {report['reps']} reps.</p>
<h2>Per session and load</h2>
<table><tr><th>date</th><th>load (kg)</th><th>trials</th><th>reps</th><th>left flagged (%)</th>
<th>right flagged (%)</th><th>left shift (mm)</th><th>right shift (mm)</th><th>asymmetry (%)</th><th>band</th>
<th>depth (m)</th></tr>
{rows}</table>
<p>Shift: mean of each rep's largest held medial shift. Asymmetry: (left - right) / (left + right) of the
mean vertical force in a rep; bands {bands}.</p>
{asymmetry_plot(report)}
<h2>Trend</h2>
{trend_part or "<p>No dated sessions.</p>"}
<h2>Knee collapse and load</h2>
<p>Collapse is a moderate or severe flag. Already at light load points to technique or mobility,
only as the load grows to strength.</p>
<ul>{collapse}</ul>
</body></html>
"""
