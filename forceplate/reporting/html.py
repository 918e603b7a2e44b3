"""A self-contained HTML report of one analysed trial, with inline SVG plots.

SVG is generated from the numpy arrays directly (no matplotlib): the file needs nothing
but a browser, opens offline, and the package gains no dependency (docs/ARCHITECTURE.md).
The report a physiotherapist hands to a client: a plain-language summary first, then
vertical force per foot over time with the reps shaded; each foot's CoP against the
flag thresholds; medial shift per rep; insole pressure maps for insole trials; the rep
table. A print stylesheet makes the browser's "Save as PDF" a clean document.

Numbers follow one rounding rule (:mod:`forceplate.reporting.numbers`, by unit), as the
terminal and the window do; a missing value is "-", never "nan", and a zero is never "-0.0".
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import math
from pathlib import Path

import numpy as np

from forceplate.live.pressure import PressureMap, foot_outline
from forceplate.processing.analysis import SIDES, Analysis
from forceplate.processing.baseline import foot_axis
from forceplate.reporting.exercise_table import columns as exercise_columns
from forceplate.reporting.exercise_table import TableColumn, formatted, value_at
from forceplate.reporting.exercise_table import rows as exercise_rows
from forceplate.reporting.numbers import DECIMALS, number
from forceplate.profiles import DeviceProfile

COLOURS = {"left": "#1f6fd1", "right": "#b03ad6"}  # the live window's: blue and purple, apart from the grades
LINE_WIDTHS = {"left": 2.6, "right": 1.2}
GRADE_COLOURS = {"none": "#9e9e9e", "mild": "#f2c744", "moderate": "#f08a24", "severe": "#d7301f"}
MAX_POINTS = 1500  # per polyline: beyond a few per pixel a browser draws nothing more
PRESSURE_CELL_MM = 6.0  # the report's pressure maps: coarser than the live one, a small file
PRESSURE_STOPS = ("#30123b", "#4686fb", "#1be5b5", "#a4fc3c", "#fbb938", "#e4460a", "#7a0403")  # turbo
BOTTOM_WINDOW_S = 0.2  # the pressure "at the bottom" of a rep: this long around its bottom
_clip_ids = itertools.count()


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
        self.overlay: list[str] = []  # drawn over the clipped plot area: legends

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
        for run_x, run_y, run_ok in zip(np.split(px, breaks), np.split(py, breaks), np.split(ok, breaks), strict=True):
            if run_ok[0] and len(run_x) > 1:
                points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(run_x, run_y, strict=True))
                self.items.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                                  f'stroke-width="{width}" stroke-dasharray="{dash}"/>')

    def rect(self, x0, y0, x1, y1, fill, stroke="none", opacity=1.0):
        (ax, bx), (ay, by) = self.px([x0, x1], [y0, y1])
        self.items.append(f'<rect x="{min(ax, bx):.1f}" y="{min(ay, by):.1f}" width="{abs(bx - ax):.1f}" '
                          f'height="{abs(by - ay):.1f}" fill="{fill}" stroke="{stroke}" fill-opacity="{opacity}"/>')

    def dot(self, x, y, colour, radius=3.0):
        px, py = self.px(x, y)
        self.items.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{max(radius, 1.5):.1f}" fill="{colour}"/>')

    def text(self, x, y, s, anchor="start", size=11, colour="#333", dx=0, dy=0, clip=True):
        """A label at a data point, moved by (dx, dy) pixels (positive dy is down); ``clip=False``
        for one outside the plot area (an axis's category names)."""
        px, py = self.px(x, y)
        layer = self.items if clip else self.overlay
        layer.append(f'<text x="{px + dx:.1f}" y="{py + dy:.1f}" font-size="{size}" text-anchor="{anchor}" '
                     f'fill="{colour}">{html.escape(s)}</text>')

    def legend(self, entries: list[tuple[str, str, str]]) -> None:
        """(label, colour, "line" or "box") swatches in a row above the plot area, clear of the data."""
        x, y = self.box[0], self.box[1] - 8
        for label, colour, kind in entries:
            swatch = (f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" stroke="{colour}" stroke-width="3"/>'
                      if kind == "line" else
                      f'<rect x="{x}" y="{y - 10}" width="14" height="10" fill="{colour}"/>')
            self.overlay.append(swatch + f'<text x="{x + 22}" y="{y}" font-size="11">{html.escape(label)}</text>')
            x += 30 + 7 * len(label)

    def svg(self, xlabel="", ylabel="", ticks="xy") -> str:
        bx, by, bw, bh = self.box
        clip = f"clip{next(_clip_ids)}"
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
               f'viewBox="0 0 {self.width} {self.height}" font-family="sans-serif">',
               f'<clipPath id="{clip}"><rect x="{bx}" y="{by}" width="{bw}" height="{bh}"/></clipPath>',
               f'<rect x="{bx}" y="{by}" width="{bw}" height="{bh}" fill="white" stroke="#bbb"/>',
               f'<g clip-path="url(#{clip})">', *self.items, "</g>", *self.overlay]
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
    return [round(v, 6) + 0.0 for v in np.arange(math.ceil(lo / step) * step, hi + step / 2, step) if lo <= v <= hi]


SIDE_LEGEND = [(f"{side} foot", COLOURS[side], "line") for side in SIDES]


def _threshold_entries(thresholds) -> list[tuple[str, float]]:
    return [(grade, getattr(thresholds, f"{grade}_mm")) for grade in ("mild", "moderate", "severe")]


def force_plot(analysis: Analysis) -> str:
    t = analysis.t
    top = max(float(np.nanmax(analysis.fz[side])) for side in SIDES) * 1.1
    ax = _Axes(900, 280, (t[0], t[-1]), (0, top), margin=(48, 12, 28, 32))
    for r in analysis.reps:
        flagged = any(r.sides[s].flag != "none" for s in SIDES)
        ax.rect(r.rep.start_s, 0, r.rep.end_s, top, "#fde0dd" if flagged else "#eeeeee", opacity=0.8)
        ax.text((r.rep.start_s + r.rep.end_s) / 2, top * 0.95, str(r.rep.index), anchor="middle", size=10)
    for side in SIDES:  # left wider, under right: equal loads stay two visible lines (as in the live window)
        ax.line(t, analysis.fz[side], COLOURS[side], width=LINE_WIDTHS[side])
    ax.legend([*SIDE_LEGEND, ("rep", "#eeeeee", "box"), ("flagged rep", "#fde0dd", "box")])
    return ax.svg("time (s)", "vertical force (N)")


def _normal_mm(analysis: Analysis, side: str) -> float:
    """The lifter's normal peak shift on ``side`` (mm), where the grades start."""
    return float(analysis.normal_mm.get(side, 0.0))


def cop_plot(analysis: Analysis, profile: DeviceProfile, side: str) -> str:
    """One foot's CoP over the trial, zoomed on its travel, against the flag thresholds: lines
    along the foot at the mild, moderate and severe medial distance beyond the lifter's normal
    rep from the neutral CoP (where the grades start, not at the neutral CoP itself)."""
    neutral = np.asarray(analysis.baseline.neutral_cop_mm[side], float)
    if not np.isfinite(neutral).all():
        return f'<p class="nocop">{side} foot: no centre of pressure in this trial.</p>'
    medial = np.asarray(analysis.baseline.medial_unit[side], float)
    forward = foot_axis(medial)
    cop = analysis.cop[side]
    away = np.abs(cop - neutral)
    travel = float(np.nanpercentile(away, 99.5)) if np.isfinite(away).any() else 0.0
    normal = _normal_mm(analysis, side)
    half = max((normal + analysis.thresholds.severe_mm) * 1.25, travel * 1.15)
    ax = _Axes(420, 420, (neutral[0] - half, neutral[0] + half), (neutral[1] - half, neutral[1] + half),
               margin=(52, 12, 28, 36), equal=True)
    for plate in (p for p in profile.plates if p.foot == side):
        (cx, cy), (sx, sy) = plate.center_mm, plate.size_mm
        ax.rect(cx - sx / 2, cy - sy / 2, cx + sx / 2, cy + sy / 2, "#f7f7f7", stroke="#888")
    outline = foot_outline(neutral, medial, analysis.baseline.foot_width_mm)
    ax.line(outline[:, 0], outline[:, 1], "#999", dash="4 3")
    for grade, mm in _threshold_entries(analysis.thresholds):
        a, b = (neutral + (normal + mm) * medial + k * 2 * half * forward for k in (-1, 1))
        ax.line([a[0], b[0]], [a[1], b[1]], GRADE_COLOURS[grade], width=1.5, dash="6 3")
    ax.line(cop[:, 0], cop[:, 1], COLOURS[side], width=0.9)
    ax.rect(*(neutral - 0.8), *(neutral + 0.8), "black")
    tip = neutral + medial * half * 0.45
    ax.line([neutral[0], tip[0]], [neutral[1], tip[1]], "black", width=1.5)
    ax.text(*tip, "medial", size=11, anchor="middle", dy=-6)
    ax.legend([(f"{side} CoP", COLOURS[side], "line"),
               *((grade, GRADE_COLOURS[grade], "line") for grade, _ in _threshold_entries(analysis.thresholds))])
    return ax.svg(f"{side} foot x (mm)", "y (mm)")


def shift_over_normal(analysis: Analysis) -> dict[str, list[float]]:
    """Per side, each rep's largest held shift less the lifter's normal (mm): what is graded."""
    return {s: [r.sides[s].medial_shift_mm - _normal_mm(analysis, s) for r in analysis.reps] for s in SIDES}


def shift_plot(analysis: Analysis) -> str:
    """Largest held medial shift per rep and side over that side's normal rep (bar colour: the
    side; label: the grade), against the graded thresholds, which start at the normal: a bar of
    the raw shift against them showed a healthy rep above "severe" graded none."""
    th = analysis.thresholds
    n = len(analysis.reps)
    over = shift_over_normal(analysis)
    shifts = [v for s in SIDES for v in over[s]]
    top = max([th.severe_mm * 1.3, *(v * 1.15 for v in shifts if math.isfinite(v))])
    bottom = min([0.0, *(v for v in shifts if math.isfinite(v))])
    ax = _Axes(max(420, 70 * n + 170), 290, (0.3, n + 0.7), (bottom, top), margin=(48, 120, 28, 32))
    for grade, level in _threshold_entries(th):
        ax.line([0.3, n + 0.7], [level, level], GRADE_COLOURS[grade], width=1.5, dash="5 3")
    for i, r in enumerate(analysis.reps, start=1):
        for k, side in enumerate(SIDES):
            v, flag = over[side][i - 1], r.sides[side].flag
            if math.isfinite(v):
                x0 = i - 0.35 + 0.35 * k
                ax.rect(x0, 0, x0 + 0.3, v, COLOURS[side])
                if flag != "none":
                    ax.text(x0 + 0.15, max(v, 0), flag, anchor="middle", size=9, colour="#222", dy=-3)
        ax.text(i, bottom, f"{r.rep.index}", anchor="middle", size=10, dy=14, clip=False)
    svg = ax.svg("rep", "over the normal (mm)", ticks="y")
    labels = "".join(  # threshold names in the right margin, outside the clipped plot
        f'<text x="{ax.box[0] + ax.box[2] + 4}" y="{float(ax.px(0, level)[1]) + 4:.1f}" font-size="10" '
        f'fill="{GRADE_COLOURS[grade]}">{grade} {number(level, 1)} mm</text>' for grade, level in _threshold_entries(th))
    ax.legend([(f"{side} foot", COLOURS[side], "box") for side in SIDES])
    return svg.replace("</svg>", labels + "".join(ax.overlay) + "</svg>")


def _colour(fraction: float) -> str:
    """The pressure colour of ``fraction`` (0..1) of the scale: a turbo ramp."""
    position = min(max(fraction, 0.0), 1.0) * (len(PRESSURE_STOPS) - 1)
    i = min(int(position), len(PRESSURE_STOPS) - 2)
    a, b = (np.array([int(c[k:k + 2], 16) for k in (1, 3, 5)]) for c in PRESSURE_STOPS[i:i + 2])
    r, g, bl = (a + (b - a) * (position - i)).round().astype(int)
    return f"#{r:02x}{g:02x}{bl:02x}"


def pressure_map_svg(layout, foot: str, values: np.ndarray, top: float, unit: str, title: str) -> str:
    """One insole's ``values`` (per sensor, ``unit``) spread over its footprint, seen from above."""
    mirror = np.array([1.0 if foot == "left" else -1.0, 1.0])  # the arch toward the midline, as seen from above
    sensors = layout.sensors_mm * mirror
    outline = foot_outline(np.array([0.0, layout.foot_length_mm / 2]), np.array([mirror[0], 0.0]),
                           layout.foot_width_mm, layout.foot_length_mm)
    pressure = PressureMap(sensors, outline, cell_mm=PRESSURE_CELL_MM)
    image = pressure.image(values)
    x0, y0, w, h = pressure.rect
    ax = _Axes(190, 330, (x0, x0 + w), (y0, y0 + h), margin=(8, 8, 22, 8), equal=True)
    for (i, j), v in np.ndenumerate(image):
        if math.isfinite(v):
            cx, cy = x0 + i * PRESSURE_CELL_MM, y0 + j * PRESSURE_CELL_MM
            colour = _colour(v / top)  # stroked in its own colour: no seams between cells
            ax.rect(cx, cy, cx + PRESSURE_CELL_MM, cy + PRESSURE_CELL_MM, colour, stroke=colour)
    ax.line(outline[:, 0], outline[:, 1], "#333", width=1.2)
    ax.overlay.append(f'<text x="95" y="14" font-size="12" text-anchor="middle">{html.escape(title)}</text>')
    return ax.svg(ticks="")


def pressure_scale_svg(top: float, unit: str) -> str:
    stops = "".join(f'<stop offset="{k / (len(PRESSURE_STOPS) - 1):.3f}" stop-color="{c}"/>'
                    for k, c in enumerate(PRESSURE_STOPS))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="70" height="330" font-family="sans-serif">'
            f'<linearGradient id="pressure-scale" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient>'
            f'<rect x="8" y="30" width="16" height="270" fill="url(#pressure-scale)"/>'
            f'<text x="28" y="36" font-size="10">{number(top, 0)}</text><text x="28" y="300" font-size="10">0</text>'
            f'<text x="8" y="318" font-size="10">{html.escape(unit)}</text></svg>')


def insole_pressure_section(trial, analysis: Analysis) -> str:
    """Pressure maps of the left and right insoles in quiet standing and at the bottom of the
    reps (mean), on one colour scale; "" for a trial without a left and a right insole.

    Each insole's samples are placed by its own clock from its first frame (the analysis
    resamples the feet onto one clock; for a picture, the few milliseconds between the two
    insoles' starts do not matter)."""
    insoles = {d.info.get("foot"): d for d in (trial.devices.values() if trial else ())
               if d.profile.insole is not None and d.calibration is not None}
    if set(insoles) != {"left", "right"}:
        return ""
    bottoms = [r.rep.bottom_s for r in analysis.reps if not r.rep.partial]
    quiet = (analysis.baseline.start_s, analysis.baseline.end_s)
    if not np.isfinite(quiet).all():  # no rest stretch in the trial: its first second, before any rep
        quiet = (0.0, min([1.0, *(r.rep.start_s for r in analysis.reps)]))
    maps, top = {}, 1.0
    for foot, device in insoles.items():
        layout = device.profile.insole
        t = device.t_device_s - device.t_device_s[0]
        newtons = device.calibration.to_physical(device.counts)
        per_unit = 1000.0 / layout.sensor_area_mm2 if layout.sensor_area_mm2 is not None else 1.0
        standing = newtons[(t >= quiet[0]) & (t <= quiet[1])]
        near_bottom = np.zeros(len(t), bool)
        for b in bottoms:
            near_bottom |= np.abs(t - b) <= BOTTOM_WINDOW_S / 2
        moments = {"quiet standing": standing, "bottom of the reps": newtons[near_bottom]}
        maps[foot] = {name: rows.mean(axis=0) * per_unit for name, rows in moments.items() if len(rows)}
        top = max([top, *(float(v.max()) for v in maps[foot].values())])
    unit = "kPa" if all(d.profile.insole.sensor_area_mm2 is not None for d in insoles.values()) else "N per sensor"
    figures = "".join(pressure_map_svg(insoles[foot].profile.insole, foot, values, top, unit, f"{foot}, {name}")
                      for name in ("quiet standing", "bottom of the reps") for foot in SIDES
                      if name in maps[foot] for values in (maps[foot][name],))
    return (f"<h2>Insole pressure</h2><p>Mean pressure per foot, seen from above, in quiet standing and at the "
            f"bottom of the reps ({number(BOTTOM_WINDOW_S, 1)} s around each), one colour scale.</p>"
            f'<div class="figures">{figures}{pressure_scale_svg(top, unit)}</div>')


def local_time(text) -> str | None:
    """An ISO time stamp as a reader writes it, in this computer's time zone: "Tue 1 Dec 2026, 09:48 (CET)"."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    zone = f" ({moment.tzname()})" if moment.tzinfo is not None else ""
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}{zone}"


def _reps_text(reps: list[int]) -> str:
    names = [str(r) for r in reps]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _where_in_set(flagged: list[int], all_reps: list[int]) -> str:
    """Where flagged reps sit in the set, when they form a pattern worth saying."""
    k, n = len(flagged), len(all_reps)
    if k < 2 or k == n:
        return ""
    if flagged == all_reps[-k:]:
        return f", all in the last {k} reps"
    if flagged == all_reps[:k]:
        return f", all in the first {k} reps"
    return ""


def plain_summary(results: dict, attrs: dict) -> str:
    """The report's first words, for the client: how many reps showed which knee caving in, and where."""
    reps = results["reps"]
    load = attrs.get("load_kg")
    at_load = f" at {number(load, 1).removesuffix('.0')} kg" if load else ""
    if not reps:
        return "No squat reps were found in this trial."
    n = len(reps)
    if all(r[side]["medial_shift_mm"] is None for r in reps for side in SIDES):
        return (f"{n} rep{'s' if n > 1 else ''}{at_load}. This trial has no centre of pressure (vertical force "
                "only), so it cannot show whether a knee caved in.")
    indices = [r["index"] for r in reps]
    flagged_any = any(r[side]["flag"] != "none" for r in reps for side in SIDES)
    if sum(not r.get("partial") for r in reps) == 1 and not flagged_any \
            and not results.get("summary", {}).get("flag_reference"):
        # a rep is graded against the lifter's normal reps, and one full rep is its own normal
        counted = f"1 rep{at_load}." if n == 1 else f"{n} reps{at_load}, one of them full."
        return (f"{counted} A single full rep is its own normal, so it cannot show a knee caving in; a flag "
                "reference from 'forceplate calibrate flag' grades a single rep.")
    sentences = []
    for side in SIDES:
        flagged = [r["index"] for r in reps if r[side]["flag"] != "none"]
        if flagged:
            sentences.append(f"{len(flagged)} of {n} reps{at_load} showed the {side} knee caving in "
                             f"(rep{'s' if len(flagged) > 1 else ''} {_reps_text(flagged)}"
                             f"{_where_in_set(flagged, indices)}).")
        else:
            every = f"all {n} reps" if n > 1 else "the one rep"
            sentences.append(f"The {side} knee stayed in line in {'every rep' if sentences else every + at_load}.")
        at_load = ""  # said once
    worst = max(((r[side]["medial_shift_mm"] or 0.0, r["index"], side, r[side]["flag"])
                 for r in reps for side in SIDES if r[side]["flag"] != "none"), default=None)
    if worst is not None:
        shift, rep, side, flag = worst
        sentences.append(f"The largest shift was in rep {rep}, {side} foot: {number(shift, 1)} mm toward the arch "
                         f"({flag}).")
    return " ".join(sentences)


def _cell(value) -> str:
    if value is None:
        return "-"
    return html.escape(number(value, 1) if isinstance(value, float) else str(value))


def _rep_cells(r: dict) -> str:
    cells = [str(r["index"]), number(r["start_s"], DECIMALS["s"]), number(r["end_s"], DECIMALS["s"]),
             number(r["depth_m"], DECIMALS["m"]), number(r["asymmetry_pct"], DECIMALS["%"])]
    out = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
    for side in SIDES:
        s = r[side]
        flagged = s["flag"] != "none"
        out += (f"<td>{number(s['medial_shift_mm'], DECIMALS['mm'])}</td>"
                f'<td class="grade" style="background:{GRADE_COLOURS[s["flag"]] if flagged else "transparent"}">'
                f"{html.escape(s['flag'])}</td>"
                f"<td>{html.escape(s.get('onset_phase') or '-')}</td>"
                f"<td>{html.escape(s.get('peak_phase', s.get('phase')) or '-')}</td>")
    return out


STYLE = """body{font-family:sans-serif;margin:2em;max-width:980px;color:#222}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f0f0f0} td.grade{text-align:center} .summary{font-size:1.25em;line-height:1.45;
background:#f1f7ff;border-left:5px solid #1f6fd1;padding:0.6em 1em} .figures{display:flex;flex-wrap:wrap;gap:8px}
.print{float:right;font-size:1em;padding:0.4em 1em}
@media print{body{margin:0;max-width:none;font-size:10pt} .print{display:none}
h2,h2+p{break-after:avoid} svg,table,.figures{break-inside:avoid} .summary{background:none}
td.grade{print-color-adjust:exact;-webkit-print-color-adjust:exact}
@page{margin:15mm}}"""


def _trial_meta(attrs: dict, title: str, body_weight_n, results_rows: list[tuple]) -> list[tuple]:
    """The report's header rows: the trial's file, date, subject, exercise, load, notes, body weight, ``results_rows``."""
    # an imported file that states no date of its own is dated by its import, and says so
    dated = "imported" if attrs.get("date_source") == "the import" else "recorded"
    meta = [("file", title), (dated, local_time(attrs.get("created"))), ("subject", attrs.get("subject")),
            ("exercise", attrs.get("exercise")), ("load (kg)", number(attrs.get("load_kg"), DECIMALS["kg"])
                                                  if attrs.get("load_kg") else None),
            ("notes", attrs.get("notes")),
            ("body weight (N)", number(body_weight_n, DECIMALS["N"]) if body_weight_n else None), *results_rows]
    if not attrs.get("complete", False):
        meta.append(("status", "recovered after a crash" if "recovered" in attrs else "recording incomplete"))
    return meta


def _notes_list(summary: dict) -> str:
    """The analysis' notes (where the weight and the foot axes came from, what it could not do)."""
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary.get("notes", []) if n != summary.get("collapse_flag"))
    return f"<ul>{notes}</ul>" if notes else ""


def _meta_table(meta: list[tuple]) -> str:
    return f"<table>{''.join(f'<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>' for k, v in meta if v not in (None, ''))}</table>"


def render(results: dict, analysis: Analysis, profile: DeviceProfile, attrs: dict, title: str, trial=None) -> str:
    """The whole report as one HTML string (``results`` is ``analysis.as_dict()``; ``trial``, when
    given, adds its insoles' pressure maps)."""
    s = results["summary"]
    # under an external pull the standing force is not the body weight (the weight-source line says why)
    meta = _trial_meta(attrs, title, None if s["baseline"].get("pulled") else s["baseline"]["body_weight_n"],
                       [("reps", s["reps"]), ("flagged reps", s["flagged_reps"]), ("algorithm", s["algorithm_version"])])
    rows = "\n".join(f"<tr>{_rep_cells(r)}</tr>" for r in results["reps"])
    cops = "".join(cop_plot(analysis, profile, side) for side in SIDES)
    over = "over the plate (grey), " if profile.plates else ""
    side_heads = "".join(f"<th>{side} shift (mm)</th><th>{side} flag</th><th>{side} onset phase</th>"
                         f"<th>{side} peak phase</th>" for side in SIDES)
    th = analysis.thresholds
    normals = ", ".join(f"{side} {number(_normal_mm(analysis, side), 1)} mm" for side in SIDES)
    has_cop = any(np.isfinite(analysis.baseline.neutral_cop_mm[side]).all() for side in SIDES)
    cop_sections = f"""<h2>Centre of pressure per foot</h2>
<p>Whole trial {over}the foot at its quiet-standing position (dashed); black square: the neutral CoP;
the arrow points medially (toward the arch). A knee caving in moves the CoP across the coloured lines:
mild {number(th.mild_mm, 1)}, moderate {number(th.moderate_mm, 1)}, severe {number(th.severe_mm, 1)} mm beyond
the lifter's normal rep ({normals}).</p>
<div class="figures">{cops}</div>
<h2>Medial shift per rep</h2>
<p>Largest shift toward the arch held for {th.min_duration_s * 1000:.0f} ms, per foot, less the lifter's normal rep
({normals}; the table gives the shift itself); the grade is written over each flagged bar.</p>
{shift_plot(analysis)}""" if has_cop else "<p>No centre of pressure in this trial: its plates give vertical force only.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>forceplate report: {html.escape(title)}</title>
<style>{STYLE}</style></head>
<body><button class="print" onclick="window.print()">Print / save as PDF</button>
<h1>Squat trial report</h1>
<p class="summary">{html.escape(plain_summary(results, attrs))}</p>
{_meta_table(meta)}
{_notes_list(s)}
<h2>Vertical force per foot</h2>
<p>Reps shaded and numbered; flagged reps in red.</p>
{force_plot(analysis)}
{cop_sections}
{insole_pressure_section(trial, analysis)}
<h2>Reps</h2>
<p>Onset phase: when the shift first crossed the mild threshold (what the live cue named);
peak phase: where it was largest.</p>
<table><tr><th>rep</th><th>start (s)</th><th>end (s)</th><th>depth (m)</th><th>asymmetry (%)</th>{side_heads}</tr>
{rows}</table>
</body></html>
"""


TRIAL_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")


def _per_rep_trial_lines(report: dict, key: str, floor: float, thresholds=()) -> tuple[_Axes, list]:
    """``key`` per rep, one line (and dots) per trial in its colour with a legend (A, B, ...),
    over dashed ``thresholds`` ((name, value, colour)) labelled in the right margin."""
    n = len(report["reps"])
    values = [m[key] for r in report["reps"] for m in r["trials"] if m and m.get(key) is not None]
    top = max([floor, *(v * 1.1 for v in values), *(level * 1.15 for _, level, _ in thresholds)])
    ax = _Axes(440, 260, (0.5, max(n, 1) + 0.5), (min([0.0, *values]), top), margin=(52, 96, 28, 32))
    for name, level, colour in thresholds:
        ax.line([0.5, n + 0.5], [level, level], colour, width=1.3, dash="5 3")
        ax.text(n + 0.5, level, f"{name} {number(level, 1)}", size=10, colour=colour, dx=4, dy=4, clip=False)
    legend = []
    for k, entry in enumerate(report["trials"]):
        reps = [(r["index"], r["trials"][k][key]) for r in report["reps"]
                if r["trials"][k] and r["trials"][k].get(key) is not None]
        colour = TRIAL_COLOURS[k % len(TRIAL_COLOURS)]
        if reps:
            x, y = zip(*reps)
            ax.line(x, y, colour, width=1.8)
            for a, b in reps:
                ax.dot(a, b, colour, radius=3.5 - k)  # the first trial's dots larger: equal values stay visible
        legend.append((f"{chr(ord('A') + k)}: {Path(entry['file']).name}", colour, "line"))
    ax.legend(legend)
    for i in range(1, n + 1):  # reps are whole numbers: labelled under the axis, no fractional ticks
        ax.text(i, ax.ylim[0], str(i), anchor="middle", size=10, dy=14, clip=False)
    return ax, legend


def comparison_shift_plot(report: dict, side: str, thresholds) -> str:
    """One foot's largest held medial shift per rep less its trial's normal (what each trial
    graded), one line per trial (A, B, ...) named in the legend, against the mild, moderate and
    severe thresholds."""
    levels = [(grade, mm, GRADE_COLOURS[grade]) for grade, mm in _threshold_entries(thresholds)]
    ax, _ = _per_rep_trial_lines(report, f"{side}_over_normal_mm", 5.0, levels)
    return ax.svg(f"rep ({side} foot)", "over the normal (mm)", ticks="y")


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


def render_comparison(report: dict, thresholds=None) -> str:
    """``forceplate compare --report``: the trials' tables as HTML, with their plots (the
    shift per rep against ``thresholds``, the default ones when not given)."""
    from forceplate.processing.valgus import Thresholds

    thresholds = thresholds or Thresholds()
    trials = "\n".join(
        f"<tr><td>{chr(ord('A') + k)}</td>" + "".join(f"<td>{_cell(v)}</td>" for v in (
            e["file"], e["subject"], e["exercise"], e["load_kg"], e["set"]["reps"], e["set"]["flagged_reps"],
            e["set"]["flagged_share_pct"], e["set"]["left_max_shift_mm"], e["set"]["right_max_shift_mm"],
            e["set"]["mean_asymmetry_pct"])) + "</tr>"
        for k, e in enumerate(report["trials"]))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>forceplate comparison</title>
<style>{STYLE}</style></head>
<body><h1>Trials compared</h1>
<table><tr><th></th><th>file</th><th>subject</th><th>exercise</th><th>load (kg)</th><th>reps</th><th>flagged</th>
<th>flagged (%)</th><th>left max shift (mm)</th><th>right max shift (mm)</th><th>asymmetry (%)</th></tr>
{trials}</table>
<h2>Medial shift per rep</h2>
<p>Largest shift toward the arch held for {thresholds.min_duration_s * 1000:.0f} ms, less the normal rep its
trial graded from (each trial's report names it; the table above gives the shift itself), one line per trial;
dashed: the mild, moderate and severe thresholds.</p>
<div class="figures">{comparison_shift_plot(report, "left", thresholds)}{comparison_shift_plot(report, "right", thresholds)}</div>
{_load_part(report)}
</body></html>
"""


BODY_WEIGHT_COLOUR = "#2b8a3e"  # dashed green: apart from the feet's blue and purple and the total's grey
PHASE_COLOURS = ("#dbe9f6", "#fde7c8", "#d9f0d3", "#eadcf2", "#f9d5d3", "#e0e0e0")
# What the plain summary says first of each kind of rep: (key, words, unit) of its best rep.
# The first key a rep has a number for is said (a landing without a body weight: in N).
HEADLINES = {
    "jump": [("jump_height_m", "the highest jump reached {} m (from the flight time)")],
    "landing": [("peak_force_bw", "the hardest landing peaked at {} times body weight"),
                ("peak_force_n", "the hardest landing peaked at {} N")],
    "sit_to_stand": [("rise_time_s", "the quickest rise took {} s from seat-off to standing")],
    "isometric": [("peak_force_n", "the strongest effort peaked at {} N")],
}
BALANCE_HEADLINE = ("Standing still for {duration} s, the centre of pressure travelled {path} mm ({speed} mm/s); "
                    "95 % of it lay within an ellipse of {area} mm².")


def exercise_summary(results: dict, exercise) -> str:
    """The first words of a non-squat report: how many reps, the best one, the left/right balance, the flag rule."""
    s, reps = results["summary"], results["reps"]
    fmt = {c.key: c.fmt for c in exercise_columns(exercise)}
    if exercise.kind == "balance":
        sway = s.get("posturography") or {}
        return BALANCE_HEADLINE.format(duration=number(sway.get("duration_s"), 0), path=number(sway.get("path_length_mm"), 0),
                                       speed=number(sway.get("mean_velocity_mm_s"), 1),
                                       area=number(sway.get("ellipse95_area_mm2"), 0))
    if not reps:
        return f"No {exercise.kind.replace('_', '-')} rep was found in this {exercise.title} trial."
    n = len(reps)
    said = [f"{n} {exercise.kind.replace('_', '-')} rep{'s' if n > 1 else ''} ({exercise.title})."]
    for key, words in HEADLINES.get(exercise.kind, []):
        values = [(v, r["index"]) for r in reps for v in [value_at(r, key)] if isinstance(v, (int, float))]
        if values:
            break
    else:
        values = []
    if values:
        best = (min if key == "rise_time_s" else max)(values)
        sentence = words.format(formatted(best[0], fmt.get(key, ".2f")))
        said.append(sentence[:1].upper() + sentence[1:]
                    + (f" (rep {best[1]})." if n > 1 else "."))
    shares = [value_at(r, "symmetry.left_share_pct") for r in reps]
    shares = [v for v in shares if isinstance(v, (int, float))]
    if shares:
        said.append(f"The left foot took {number(sum(shares) / len(shares), 1)} % of the load "
                    f"({value_at(reps[0], 'symmetry.quantity')}), the right {number(100 - sum(shares) / len(shares), 1)} %.")
    return " ".join(said)


def exercise_force_plot(feet, results: dict) -> str:
    """Vertical force per foot and in total over the trial, each rep's named phases shaded
    (one colour per phase name, in the legend), body weight dashed."""
    t = np.asarray(feet.t, float)
    total = sum(np.asarray(v, float) for v in feet.fz.values())
    top = float(np.nanmax(total)) * 1.1 if np.isfinite(total).any() else 1.0
    ax = _Axes(900, 300, (t[0], t[-1]), (0, top), margin=(52, 12, 28, 32))
    names: dict[str, str] = {}
    for rep in results["reps"]:
        for p in rep.get("phases", []):
            if p["start_s"] is None or p["end_s"] is None:
                continue
            colour = names.setdefault(p["name"], PHASE_COLOURS[len(names) % len(PHASE_COLOURS)])
            ax.rect(p["start_s"], 0, p["end_s"], top, colour, opacity=0.9)
        first = next((p["start_s"] for p in rep.get("phases", []) if p["start_s"] is not None), None)
        if first is not None:
            ax.text(first, top * 0.95, str(rep["index"]), size=10, dx=2)
    weight = results["summary"].get("body_weight_n")
    if weight:
        ax.line([t[0], t[-1]], [weight, weight], BODY_WEIGHT_COLOUR, width=1.2, dash="6 4")
    both = len(feet.fz) > 1
    if both:
        ax.line(t, total, "#444", width=1.0)
    for side in SIDES:
        if side in feet.fz:
            ax.line(t, feet.fz[side], COLOURS[side], width=LINE_WIDTHS[side])
    ax.legend([*((f"{side} foot", COLOURS[side], "line") for side in SIDES if side in feet.fz),
               *(("both feet", "#444", "line"),) * both, *(("body weight", BODY_WEIGHT_COLOUR, "line"),) * bool(weight),
               *((name, colour, "box") for name, colour in names.items())])
    return ax.svg("time (s)", "vertical force (N)")


def sway_plot(feet, side: str | None) -> str:
    """The CoP path of one foot (or of both feet together, force-weighted) in the lab, equal axes."""
    if side is None:
        loads = {k: np.asarray(v, float) for k, v in feet.fz.items()}
        total = sum(loads.values())
        cop = sum(np.nan_to_num(np.asarray(feet.cop[k], float)) * loads[k][:, None] for k in loads) / total[:, None]
        colour, label = "#444", "both feet"
    else:
        cop, colour, label = np.asarray(feet.cop[side], float), COLOURS[side], f"{side} foot"
    if not np.isfinite(cop).any():
        return ""
    lo, hi = np.nanpercentile(cop, 0.5, axis=0), np.nanpercentile(cop, 99.5, axis=0)
    centre, half = (lo + hi) / 2, max(float(np.max(hi - lo)) * 0.6, 5.0)
    ax = _Axes(340, 340, (centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half),
               margin=(52, 12, 28, 36), equal=True)
    ax.line(cop[:, 0], cop[:, 1], colour, width=0.8)
    ax.legend([(f"CoP, {label}", colour, "line")])
    return ax.svg("x, medio-lateral (mm)", "y, antero-posterior (mm)")


def _plain_header(column) -> str:
    """A column's header without its unit (the report puts it in brackets); a header that
    is its key (``path_length_mm``) in words."""
    if column.header == column.key:
        for ending in ("_mm2", "_mm_s", "_mm", "_s", "_n", "_m"):
            if column.key.endswith(ending):
                return column.key.removesuffix(ending).replace("_", " ").replace("ellipse95", "95 % ellipse")
    return column.header.removesuffix(" " + column.unit) if column.unit else column.header


def render_exercise(results: dict, exercise, feet, attrs: dict, title: str) -> str:
    """The report of a non-squat exercise: plain summary, its force over time with the phases,
    its own table (reporting/exercise_table.py), sway plots for quiet standing."""
    s = results["summary"]
    table = exercise_columns(exercise)
    heads = "".join(f"<th>{html.escape(_plain_header(c))}{_unit_suffix(c.unit)}</th>"
                    for c in table)
    label_head = "<th></th>" if exercise.kind == "balance" else ""
    body = "\n".join(f"<tr>{f'<td>{html.escape(name)}</td>' if label_head else ''}"
                     + "".join(f"<td>{html.escape(c.cell(row))}</td>" for c in table) + "</tr>"
                     for name, row in exercise_rows(exercise, results))
    count = [] if exercise.kind == "balance" else [("reps", s["reps"])]
    meta = _trial_meta(attrs, title, s.get("body_weight_n"),
                       [*count, ("knee-collapse flag", s["collapse_flag"]), ("algorithm", s["algorithm_version"])])
    sway = ""
    if exercise.kind == "balance":
        shown = [*(None,) * (len(feet.cop) > 1), *(side for side in SIDES if side in feet.cop)]
        figures = "".join(sway_plot(feet, side) for side in shown)
        sway = ("<h2>Sway</h2><p>The centre of pressure over the measured stretch, seen from above.</p>"
                f'<div class="figures">{figures}</div>')
    phases = "" if exercise.kind == "balance" else " Each rep's phases are shaded and named in the legend."
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>forceplate report: {html.escape(title)}</title>
<style>{STYLE}</style></head>
<body><button class="print" onclick="window.print()">Print / save as PDF</button>
<h1>{html.escape(exercise.title[:1].upper() + exercise.title[1:])} trial report</h1>
<p class="summary">{html.escape(exercise_summary(results, exercise))}</p>
{_meta_table(meta)}
{_notes_list(s)}
<h2>Vertical force</h2>
<p>Per foot and both feet together; body weight dashed.{phases}</p>
{exercise_force_plot(feet, results)}
{sway}
<h2>{"Sway measures" if exercise.kind == "balance" else "Reps"}</h2>
<table><tr>{label_head}{heads}</tr>
{body}</table>
</body></html>
"""


def render_exercise_comparison(report: dict) -> str:
    """``forceplate compare --report`` of one non-squat exercise: the sets (each column's mean
    over the reps, or both feet's sway), the reps, and each measure per rep as one line per trial."""
    columns = report["columns"]
    heads = "".join(f"<th>{html.escape(_plain_header(_column(c)))}{_unit_suffix(c['unit'])}"
                    "</th>" for c in columns)

    def cells(values: dict) -> str:
        return "".join(f"<td>{html.escape(formatted(values.get(c['key']), c['fmt']))}</td>" for c in columns)

    labels = [chr(ord("A") + k) for k in range(len(report["trials"]))]
    sets = "\n".join(
        f'<tr><td style="color:{TRIAL_COLOURS[k % len(TRIAL_COLOURS)]}"><b>{label}</b></td>'
        f"<td>{html.escape(e['file'])}</td><td>{_cell(e['subject'])}</td><td>{_cell(e['load_kg'])}</td>"
        f"<td>{e['set']['reps']}</td>{cells(e['set'])}</tr>"
        for k, (label, e) in enumerate(zip(labels, report["trials"], strict=True)))
    per_rep = "\n".join(f"<tr><td>{html.escape(m['label'])}</td><td>{label}</td>{cells(m)}</tr>"
                        for row in report["reps"] for label, m in zip(labels, row["trials"], strict=True) if m)
    plots = "" if report["set_is"] != "the mean of its reps" else "".join(
        _per_rep_trial_lines(report, c["key"], 0.0)[0].svg("rep", _plain_header(_column(c)) + _unit_text(c["unit"]), ticks="y")
        for c in columns)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>forceplate comparison</title>
<style>{STYLE}</style></head>
<body><h1>{html.escape(report['title'][:1].upper() + report['title'][1:])} trials compared</h1>
<h2>Per trial ({html.escape(report['set_is'])})</h2>
<table><tr><th></th><th>file</th><th>subject</th><th>load (kg)</th><th>reps</th>{heads}</tr>
{sets}</table>
<h2>{"Per rep" if plots else "Per foot"}</h2>
<table><tr><th>{"rep" if plots else ""}</th><th>trial</th>{heads}</tr>
{per_rep}</table>
{f'<div class="figures">{plots}</div>' if plots else ""}
</body></html>
"""


def _column(c: dict) -> TableColumn:
    return TableColumn(c["header"], c["key"], c["unit"], c["fmt"])


def _unit_text(unit: str) -> str:
    return f" ({unit})" if unit else ""


def _unit_suffix(unit: str) -> str:
    return html.escape(_unit_text(unit))
