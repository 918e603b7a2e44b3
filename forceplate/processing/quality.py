"""Trial quality from raw counts: saturated channels, dead (flat) channels, drifting zero.

Pure numpy on arrays (a recording's counts, its calibration record and profile), used by
``forceplate analyze``. What each check means and its defaults are in
calibration/CALIBRATION.md ("Trial quality").
"""

from __future__ import annotations

import numpy as np

from forceplate.processing.forces import vertical_forces
from forceplate.processing.median import median
from forceplate.processing.movement import runs

MIN_CLIP_RUN_S = 0.01  # a channel pinned at its extreme this long (and >= 3 samples) is clipping
FLAT_PTP_COUNTS = 2  # a channel moving no more than this over the whole trial is dead
QUIET_BLOCK_S = 0.5  # drift is measured on blocks this long ...
QUIET_STD_N = 3.0  # ... whose vertical force is this steady (unloaded, or a person standing still)
UNLOADED_N = 20.0  # below this a device is unloaded (the CoP threshold)
MIN_DRIFT_SPAN_S = 10.0  # quiet blocks must span this long for a drift figure
MAX_DRIFT_N_PER_MIN = 3.0  # a zero drifting faster is flagged


def _pinned_samples(column: np.ndarray, min_run: int) -> int:
    """Samples in runs of >= ``min_run`` equal values at the column's maximum or minimum."""
    pinned = 0
    for extreme in (column.max(), column.min()):
        at_extreme = column == extreme
        if np.count_nonzero(at_extreme) >= min_run:  # else no run is long enough (most channels: a few samples)
            pinned += sum(hi - lo for lo, hi in runs(at_extreme) if hi - lo >= min_run)
    return pinned


STD_ROWS = 256  # quiet blocks whose spread is computed at a time


def zero_drift_n_per_min(force_n: np.ndarray, t_s: np.ndarray, rate_hz: float) -> tuple[float | None, float]:
    """Drift of a device's vertical force (N/min) on its quiet blocks, and their span (s).

    A quiet block is unloaded or a steady load (a person standing still); a person's weight
    does not change, so a trend of the quiet levels is the zero drifting. Unloaded and loaded
    blocks share the slope, each with its own level. None when they span too short a time.
    """
    size = max(int(QUIET_BLOCK_S * rate_hz), 2)
    n = len(force_n) // size
    if n < 2:
        return None, 0.0
    blocks = force_n[: n * size].reshape(n, size)
    times = t_s[: n * size].reshape(n, size).mean(axis=1)
    # the deviations a few hundred blocks at a time, not a copy of the whole force
    spread = np.concatenate([part.std(axis=1) for part in np.array_split(blocks, max(1, n // STD_ROWS))])
    level, quiet = blocks.mean(axis=1), spread < QUIET_STD_N
    level, times, loaded = level[quiet], times[quiet], np.abs(level[quiet]) >= UNLOADED_N
    span = float(times.max() - times.min()) if len(times) else 0.0
    if span < MIN_DRIFT_SPAN_S:
        return None, span
    design = np.column_stack([times / 60.0, ~loaded, loaded]).astype(float)
    design = design[:, design.any(axis=0)]
    # A loaded quiet level is body weight only while the person stands on both feet: levels
    # far from the loaded median (weight on one foot, a step off) are not zero drift.
    keep = ~loaded
    if loaded.any():
        body_n = median(level[loaded])
        keep |= loaded & (np.abs(level - body_n) < 0.1 * abs(body_n))
    coef, *_ = np.linalg.lstsq(design[keep], level[keep], rcond=None)
    return float(coef[0]), span


DRIFT_BLOCK_FRAMES = 1 << 16  # frames calibrated at a time for the drift check (about a minute at 1 kHz)


def quality_summary(counts: np.ndarray, t_s: np.ndarray, record, profile) -> dict:
    """Quality of one device's raw counts (n, channels) at trial times ``t_s`` (s).

    ``record`` (or None: no drift figure) turns counts into forces for the drift check.
    Returns JSON-ready ``{"ok", "flags", "saturated", "flat", "zero_drift_n_per_min", ...}``.
    """
    counts = np.asarray(counts)
    names = profile.channels
    rate = profile.rate_hz
    min_run = max(3, int(round(MIN_CLIP_RUN_S * rate)))
    flat, saturated, flags = [], [], []
    if len(counts) == 0:
        return {"ok": False, "flags": ["no samples"], "saturated": [], "flat": [], "zero_drift_n_per_min": None}
    # Imported files (sample_format "float64") hold values, not ADC counts: no ADC checks.
    adc_channels = enumerate(names) if profile.sample_format != "float64" else ()
    for ch, name in adc_channels:
        column = np.ascontiguousarray(counts[:, ch])  # read across the frames once; the checks read it in a row
        if np.ptp(column) <= FLAT_PTP_COUNTS:
            flat.append(name)
            flags.append(f"{name} is flat (dead channel: {int(column.min())}..{int(column.max())} counts)")
            continue
        pinned = _pinned_samples(column, min_run)
        if pinned:
            saturated.append(name)
            flags.append(f"{name} saturates ({pinned} samples pinned at its limit, {100 * pinned / len(column):.1f}%)")
    drift, span = None, 0.0
    if record is not None:
        # a block of frames at a time (a whole trial's channels in newtons are twice its
        # counts), into the one array (not the blocks and their concatenation)
        total = np.empty(len(counts))
        for lo in range(0, len(counts), DRIFT_BLOCK_FRAMES):
            total[lo:lo + DRIFT_BLOCK_FRAMES] = sum(
                vertical_forces(record.to_physical(counts[lo:lo + DRIFT_BLOCK_FRAMES]), profile).values())
        drift, span = zero_drift_n_per_min(total, np.asarray(t_s, dtype=float), rate)
        if drift is not None and abs(drift) > MAX_DRIFT_N_PER_MIN:
            flags.append(f"zero drifts by {drift:+.1f} N/min (limit {MAX_DRIFT_N_PER_MIN:g}) over {span:.0f} s of "
                         "quiet standing: tare before each set")
    return {"ok": not flags, "flags": flags, "saturated": saturated, "flat": flat,
            "zero_drift_n_per_min": None if drift is None else round(drift, 2), "drift_span_s": round(span, 1)}


def recording_quality(recording, calibration=None) -> dict:
    """:func:`quality_summary` of a trial's device recording (``calibration`` replaces its
    stored record when the serials match, as in the analysis)."""
    record = calibration if calibration is not None and calibration.serial == recording.info.get("serial") \
        else recording.calibration
    # in place in one float64 array (exact: sequence numbers are far below 2**53), not through
    # an int64 difference of the trial's length
    t_s = recording.seq.astype(float)
    if len(t_s):
        t_s -= t_s[0]
        t_s /= recording.rate_hz
    return quality_summary(recording.counts, t_s, record, recording.profile)
