"""A self-contained HTML report of one analysed trial, with inline SVG plots.

SVG is generated from the numpy arrays directly (no matplotlib): the file needs nothing
but a browser, opens offline, and the package gains no dependency (docs/ARCHITECTURE.md).
Plots: vertical force per foot over time with the reps shaded; each foot's CoP over its
foot and plate outline; medial shift per rep against the flag thresholds.
"""

from __future__ import annotations

import html
import math

import numpy as np

from forceplate.processing.analysis import SIDES, Analysis
from forceplate.processing.baseline import foot_axis
from forceplate.profiles import DeviceProfile

COLOURS = {"left": "#1f77b4", "right": "#d95f02"}
GRADE_COLOURS = {"none": "#9e9e9e", "mild": "#f2c744", "moderate": "#f08a24", "severe": "#d7301f"}
MAX_POINTS = 1500  # per polyline: beyond a few per pixel a browser draws nothing more
FOOT_LENGTH_MM = 260.0  # the outline drawn under a CoP trace: a typical adult foot
FOOT_VIEW_MM = (200.0, 340.0)  # width, length of the area shown around each foot


def _decimate(n: int) -> slice:
    return slice(None, None, max(1, math.ceil(n / MAX_POINTS)))


class _Axes:
    """A plot area mapping data units to SVG pixels (y up), collecting SVG elements."""

    def __init__(self, width, height, xlim, ylim, margin=(48, 12, 12, 32), equal=False):
        self.width, self.height = width, height
        left, right, top, bottom = margin
        self.box = (left, top, width - left - right, height - top - bottom)
        x0, x1 = xlim
        y0, y1 = ylim
        if equal:  # same mm per pixel on both axes, so an outline keeps its shape
            scale = min(self.box[2] / (x1 - x0), self.box[3] / (y1 - y0))
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            x0, x1 = cx - self.box[2] / scale / 2, cx + self.box[2] / scale / 2
            y0, y1 = cy - self.box[3] / scale / 2, cy + self.box[3] / scale / 2
        self.xlim, self.ylim = (x0, x1), (y0, y1)
        self.items: list[str] = []

    def px(self, x, y):
        bx, by, bw, bh = self.box
        x0, x1 = self.xlim
        y0, y1 = self.ylim
        return bx + (np.asarray(x, float) - x0) / (x1 - x0) * bw, by + bh - (np.asarray(y, float) - y0) / (y1 - y0) * bh

    def line(self, x, y, colour, width=1.2, dash=""):
        """A polyline broken at NaNs (CoP is undefined when a foot is off its plate)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        keep = _decimate(len(x))
        px, py = self.px(x[keep], y[keep])
        ok = np.isfinite(px) & np.isfinite(py)
        breaks = np.flatnonzero(np.diff(ok.astype(int)) != 0) + 1
        for run_x, run_y, run_ok in zip(np.split(px, breaks), np.split(py, breaks), np.split(ok, breaks)):
            if run_ok[0] and len(run_x) > 1:
                points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(run_x, run_y))
                self.items.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                                  f'stroke-width="{width}" stroke-dasharray="{dash}"/>')

    def rect(self, x0, y0, x1, y1, fill, stroke="none", opacity=1.0):
        (ax, bx), (ay, by) = self.px([x0, x1], [y0, y1])
        self.items.append(f'<rect x="{min(ax, bx):.1f}" y="{min(ay, by):.1f}" width="{abs(bx - ax):.1f}" '
                          f'height="{abs(by - ay):.1f}" fill="{fill}" stroke="{stroke}" fill-opacity="{opacity}"/>')

    def text(self, x, y, s, anchor="start", size=11, colour="#333", dx=0, dy=0):
        """A label at a data point, moved by (dx, dy) pixels (positive dy is down)."""
        px, py = self.px(x, y)
        self.items.append(f'<text x="{px + dx:.1f}" y="{py + dy:.1f}" font-size="{size}" text-anchor="{anchor}" '
                          f'fill="{colour}">{html.escape(s)}</text>')

    def svg(self, xlabel="", ylabel="", ticks="xy") -> str:
        bx, by, bw, bh = self.box
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
               f'font-family="sans-serif">',
               f'<rect x="{bx}" y="{by}" width="{bw}" height="{bh}" fill="white" stroke="#bbb"/>', *self.items]
        if "x" in ticks:
            for v in _ticks(*self.xlim):
                px, _ = self.px(v, self.ylim[0])
                out.append(f'<text x="{px:.1f}" y="{by + bh + 14}" font-size="10" text-anchor="middle">{v:g}</text>')
        if "y" in ticks:
            for v in _ticks(*self.ylim):
                _, py = self.px(self.xlim[0], v)
                out.append(f'<text x="{bx - 4}" y="{py + 3:.1f}" font-size="10" text-anchor="end">{v:g}</text>')
        out.append(f'<text x="{bx + bw / 2}" y="{self.height - 4}" font-size="11" text-anchor="middle">'
                   f'{html.escape(xlabel)}</text>')
        out.append(f'<text x="12" y="{by + bh / 2}" font-size="11" text-anchor="middle" '
                   f'transform="rotate(-90 12 {by + bh / 2})">{html.escape(ylabel)}</text>')
        out.append("</svg>")
        return "\n".join(out)


def _ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    step = 10 ** math.floor(math.log10((hi - lo) / count))
    step *= next(m for m in (1, 2, 5, 10) if (hi - lo) / (step * m) <= count)
    return [round(v, 6) for v in np.arange(math.ceil(lo / step) * step, hi + step / 2, step) if lo <= v <= hi]


def force_plot(analysis: Analysis) -> str:
    t = analysis.t
    top = max(float(np.nanmax(analysis.fz[side])) for side in SIDES) * 1.1
    ax = _Axes(900, 260, (t[0], t[-1]), (0, top))
    for r in analysis.reps:
        flagged = any(r.sides[s].flag != "none" for s in SIDES)
        ax.rect(r.rep.start_s, 0, r.rep.end_s, top, "#fde0dd" if flagged else "#eeeeee", opacity=0.8)
        ax.text((r.rep.start_s + r.rep.end_s) / 2, top * 0.95, str(r.rep.index), anchor="middle", size=10)
    for side in SIDES:
        ax.line(t, analysis.fz[side], COLOURS[side])
    return ax.svg("time (s)", "vertical force (N)")


def cop_plot(analysis: Analysis, profile: DeviceProfile, side: str) -> str:
    """One foot's CoP trace over its plate edge (none for insoles) and a foot outline at the baseline position."""
    neutral = np.asarray(analysis.baseline.neutral_cop_mm[side], float)
    w, h = FOOT_VIEW_MM
    ax = _Axes(260, 380, (neutral[0] - w / 2, neutral[0] + w / 2), (neutral[1] - h / 2, neutral[1] + h / 2),
               equal=True)
    for plate in (p for p in profile.plates if p.foot == side):
        (cx, cy), (sx, sy) = plate.center_mm, plate.size_mm
        ax.rect(cx - sx / 2, cy - sy / 2, cx + sx / 2, cy + sy / 2, "#f7f7f7", stroke="#888")
    # the foot outline: an ellipse centred on the neutral CoP along the foot's axis
    medial = np.asarray(analysis.baseline.medial_unit[side], float)
    forward = foot_axis(medial)
    angle = np.linspace(0, 2 * np.pi, 80)
    outline = (neutral + np.outer(np.cos(angle) * FOOT_LENGTH_MM / 2, forward)
               + np.outer(np.sin(angle) * analysis.baseline.foot_width_mm / 2, medial))
    ax.line(outline[:, 0], outline[:, 1], "#555", dash="4 3")
    cop = analysis.cop[side]
    ax.line(cop[:, 0], cop[:, 1], COLOURS[side], width=0.8)
    ax.rect(*(neutral - 2), *(neutral + 2), "black")
    tip = neutral + medial * 40
    ax.line([neutral[0], tip[0]], [neutral[1], tip[1]], "black", width=1.5)
    ax.text(*tip, " medial", size=10)
    return ax.svg(f"{side} foot x (mm)", "y (mm)")


def shift_plot(analysis: Analysis) -> str:
    """Largest held medial shift per rep and side, against the graded thresholds."""
    th = analysis.thresholds
    n = len(analysis.reps)
    shifts = [r.sides[s].medial_shift_mm for r in analysis.reps for s in SIDES]
    top = max([th.severe_mm * 1.3, *(v * 1.1 for v in shifts if math.isfinite(v))])
    bottom = min([0.0, *(v for v in shifts if math.isfinite(v))])
    ax = _Axes(max(360, 70 * n + 160), 260, (0.3, n + 0.7), (bottom, top), margin=(48, 110, 12, 32))
    for grade in ("mild", "moderate", "severe"):
        level = getattr(th, f"{grade}_mm")
        ax.line([0.3, n + 0.7], [level, level], GRADE_COLOURS[grade], dash="5 3")
        ax.text(n + 0.7, level, f"{grade} {level:g} mm", size=10, colour=GRADE_COLOURS[grade], dx=4, dy=4)
    for i, r in enumerate(analysis.reps, start=1):
        for k, side in enumerate(SIDES):
            v = r.sides[side].medial_shift_mm
            if math.isfinite(v):
                x0 = i - 0.35 + 0.35 * k
                ax.rect(x0, 0, x0 + 0.3, v, GRADE_COLOURS[r.sides[side].flag], stroke=COLOURS[side])
        ax.text(i, bottom, f"{r.rep.index}", anchor="middle", size=10, dy=14)
    return ax.svg("rep (left bar: left foot, right bar: right foot)", "medial shift (mm)", ticks="y")


def _cell(value) -> str:
    if value is None:
        return "-"
    return html.escape(f"{value:.1f}" if isinstance(value, float) else str(value))


def render(results: dict, analysis: Analysis, profile: DeviceProfile, attrs: dict, title: str) -> str:
    """The whole report as one HTML string (``results`` is ``analysis.as_dict()``)."""
    s = results["summary"]
    meta = [("file", title), ("created", attrs.get("created")), ("subject", attrs.get("subject")),
            ("exercise", attrs.get("exercise")), ("load (kg)", attrs.get("load_kg")), ("notes", attrs.get("notes")),
            ("body weight (N)", s["baseline"]["body_weight_n"]), ("reps", s["reps"]),
            ("flagged reps", s["flagged_reps"]), ("algorithm", s["algorithm_version"])]
    if not attrs.get("complete", False):
        meta.append(("status", "recovered after a crash" if "recovered" in attrs else "recording incomplete"))
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in (
            r["index"], r["start_s"], r["end_s"], r["depth_m"], r["asymmetry_pct"],
            r["left"]["medial_shift_mm"], r["left"]["flag"], r["left"]["phase"],
            r["right"]["medial_shift_mm"], r["right"]["flag"], r["right"]["phase"])) + "</tr>"
        for r in results["reps"])
    cops = "".join(cop_plot(analysis, profile, side) for side in SIDES)
    over = "over the plate (grey) and " if profile.plates else "with "
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>forceplate report: {html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:960px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} th{{background:#f0f0f0}}
.legend span{{display:inline-block;width:1em;height:0.6em;margin:0 0.3em 0 1em}}</style></head>
<body><h1>Squat trial report</h1>
<table>{"".join(f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in meta if v not in (None, ""))}</table>
<p class="legend"><span style="background:{COLOURS['left']}"></span>left foot
<span style="background:{COLOURS['right']}"></span>right foot</p>
<h2>Vertical force per foot</h2>
<p>Reps shaded; flagged reps in red.</p>
{force_plot(analysis)}
<h2>Centre of pressure per foot</h2>
<p>Whole trial {over}a foot outline at the quiet-standing position (dashed);
black square: neutral CoP; the arrow points medially (toward the arch).</p>
{cops}
<h2>Medial shift per rep</h2>
<p>Largest shift held for {analysis.thresholds.min_duration_s * 1000:.0f} ms; bar colour is the grade.</p>
{shift_plot(analysis)}
<h2>Reps</h2>
<table><tr><th>rep</th><th>start (s)</th><th>end (s)</th><th>depth (m)</th><th>asymmetry (%)</th>
<th>left shift (mm)</th><th>left flag</th><th>left phase</th><th>right shift (mm)</th><th>right flag</th>
<th>right phase</th></tr>
{rows}</table>
</body></html>
"""


TRIAL_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")


def comparison_shift_plot(report: dict, side: str) -> str:
    """One foot's largest held medial shift per rep, one line per trial (A, B, ...)."""
    n = len(report["reps"])
    values = [m[f"{side}_shift_mm"] for r in report["reps"] for m in r["trials"] if m and m[f"{side}_shift_mm"] is not None]
    top = max([5.0, *(v * 1.1 for v in values)])
    ax = _Axes(440, 240, (0.5, max(n, 1) + 0.5), (min([0.0, *values]), top), margin=(48, 70, 12, 32))
    for k in range(len(report["trials"])):
        reps = [(r["index"], r["trials"][k][f"{side}_shift_mm"]) for r in report["reps"]
                if r["trials"][k] and r["trials"][k][f"{side}_shift_mm"] is not None]
        if reps:
            x, y = zip(*reps)
            colour = TRIAL_COLOURS[k % len(TRIAL_COLOURS)]
            ax.line(x, y, colour, width=1.8)
            ax.text(x[-1], y[-1], chr(ord("A") + k), colour=colour, dx=6, dy=4)
    return ax.svg(f"rep ({side} foot)", "medial shift (mm)")


def load_plot(report: dict) -> str:
    """Flagged share of reps against external load (light vs heavy): the points, and the
    least-squares line when there is a trend (at least three loads)."""
    load = report["load"]
    points = load["points"]
    loads = [p["load_kg"] for p in points]
    ax = _Axes(440, 240, (min(loads) - 5, max(loads) + 5), (0, 105))
    if load["flagged_share_pp_per_10kg"] is not None:
        ends = np.array([min(loads), max(loads)])
        ax.line(ends, load["flagged_share_at_0kg_pct"] + load["flagged_share_pp_per_10kg"] / 10.0 * ends, "#333",
                width=1.5)
    for p in points:
        ax.rect(p["load_kg"] - 1, p["flagged_share_pct"] - 1.5, p["load_kg"] + 1, p["flagged_share_pct"] + 1.5, "#d7301f")
    return ax.svg("external load (kg)", "flagged reps (%)")


def _load_part(report: dict) -> str:
    load = report["load"]
    if len({p["load_kg"] for p in load["points"]}) < 2:
        return ""
    slope = load["flagged_share_pp_per_10kg"]
    said = [f"{slope:+.1f} percentage points per 10 kg (least squares)." if slope is not None else f"{load['note']}."]
    said += [f"<b>Warning</b>: {html.escape(w)}." for w in load["warnings"]]
    return "<h2>Flagged reps against load</h2>" + "".join(f"<p>{s}</p>" for s in said) + load_plot(report)


def render_comparison(report: dict) -> str:
    """``forceplate compare --report``: the trials' tables as HTML, with their plots."""
    trials = "\n".join(
        f"<tr><td>{chr(ord('A') + k)}</td>" + "".join(f"<td>{_cell(v)}</td>" for v in (
            e["file"], e["subject"], e["exercise"], e["load_kg"], e["set"]["reps"], e["set"]["flagged_reps"],
            e["set"]["flagged_share_pct"], e["set"]["left_max_shift_mm"], e["set"]["right_max_shift_mm"],
            e["set"]["mean_asymmetry_pct"])) + "</tr>"
        for k, e in enumerate(report["trials"]))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>forceplate comparison</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:960px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} th{{background:#f0f0f0}}</style></head>
<body><h1>Trials compared</h1>
<table><tr><th></th><th>file</th><th>subject</th><th>exercise</th><th>load (kg)</th><th>reps</th><th>flagged</th>
<th>flagged (%)</th><th>left max shift (mm)</th><th>right max shift (mm)</th><th>asymmetry (%)</th></tr>
{trials}</table>
<h2>Medial shift per rep</h2>
{comparison_shift_plot(report, "left")}{comparison_shift_plot(report, "right")}
{_load_part(report)}
</body></html>
"""
