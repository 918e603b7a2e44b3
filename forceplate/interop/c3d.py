"""C3D force plates in and out (through ezc3d).

Import: the analog channels of the plates under the feet, as the file scales them (so an
integer and a float file of the same data import identically), are the stored values. A
calibration record made at import maps each plate's channels to the project's six-axis
convention: Fx Fy Fz (N), Mx My Mz (N*m) about the centre of the plate's top surface, in
the C3D lab axes (x, y in mm; z up), signed so that a loaded plate reads Fz > 0. Then the
project's CoP formula (x = -My/Fz, y = Mx/Fz from the plate centre, origin depth 0) gives
the CoP in lab mm. Per FORCE_PLATFORM:TYPE:

- 2: Fx Fy Fz Mx My Mz about the plate origin; 4: the same after CAL_MATRIX (6x6);
  3: Kistler fx12 fx34 fy14 fy23 fz1..fz4 with sensor offsets a, b = ORIGIN x, y;
- 1: Fx Fy Fz, CoP x y and Tz: not linear in the channels, so the importer computes the
  six components itself and stores those (attribute ``type1_converted``).

ORIGIN is the vector from the plate's origin to its surface centre in plate axes (z < 0
for a surface above the origin); files that store it with z > 0 (Qualisys, BTS) mean the
opposite vector, as ezc3d also assumes. The plate axes come from CORNERS as in ezc3d.

Export: each foot as a type-2 plate in the trial's lab axes (forces N, moments N*mm about
the surface centre, ORIGIN 0), so other tools compute the same CoP.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np

from forceplate.errors import FileFormatError
from forceplate.interop import calibration_toml, require, toml_table
from forceplate.processing.forces import surface_wrenches
from forceplate.profiles import parse_profile
from forceplate.storage.writer import DeviceArrays

# The file says its units in text; these are the spellings met in real files (c3d.org, Vicon,
# Qualisys, BTS, Motion Analysis, AMASS "nt").
MAX_CALIBRATION_GAIN = 1e6  # a type-4 plate's CAL_MATRIX entry: a million (N or N m per V) is no plate
POSITION_TO_M = {"mm": 1e-3, "m": 1.0, "cm": 1e-2}
MOMENT_TO_NM = {"nmm": 1e-3, "ntmm": 1e-3, "n.mm": 1e-3, "n*mm": 1e-3, "nm": 1.0, "ntm": 1.0, "n.m": 1.0, "n*m": 1.0}
FORCE_UNITS = {"n", "nt", "newton", "newtons"}
CHANNELS_PER_TYPE = {1: 6, 2: 6, 3: 8, 4: 6}
PROFILE_ID = "c3d-import"


# ezc3d parses in C++ without bounds: a damaged parameter section can crash the process
# (SIGSEGV) or make it allocate gigabytes. A file is first parsed in a forked child under
# these limits; only a file the child parsed whole is parsed here.
PARSE_MEMORY_BYTES = 1 << 30  # beyond what the parent had mapped; the largest real file needs ~50 MB
PARSE_TIMEOUT_S = 20.0


def _c3d(path: Path, with_platforms: bool = False):
    ezc3d = require("ezc3d")
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    problem = _parameter_section_problem(path) or _trial_parse(path, with_platforms)
    if problem:
        raise FileFormatError(f"{path}: not a readable C3D file ({problem})")
    try:
        return ezc3d.c3d(str(path), extract_forceplat_data=with_platforms)
    except Exception as exc:  # noqa: BLE001 - ezc3d raises bare RuntimeError/ValueError on bad files
        return _parse_failed(path, exc)


def _parse_failed(path: Path, exc: Exception):
    # ezc3d's first sentence says what is wrong; the rest is advice about its own API
    reason = str(exc).split(".")[0].split(":")[0].strip() or type(exc).__name__
    raise FileFormatError(f"{path}: not a readable C3D file ({reason})") from None


PARAMETER_TYPES = {-1: 1, 1: 1, 2: 2, 4: 4}  # C3D parameter type -> bytes per element


def _parameter_section_problem(path: Path) -> str | None:
    """What is wrong with the file's parameter section, or None (checked before ezc3d sees it).

    Walks the groups and parameters as the C3D format defines them (name length, group id,
    name, offset to the next entry, then for a parameter: type, dimensions, data) and
    refuses names that are not text and data that would reach past the section: that is
    where a damaged byte sends ezc3d's parser into minutes of work or gigabytes.
    """
    with open(path, "rb") as f:
        head = f.read(512)
        if len(head) < 512:
            return "shorter than its 512-byte header"
        start = max(head[0] - 1, 0) * 512
        f.seek(start)
        section = f.read(4)
        if len(section) < 4:
            return f"the header puts the parameter section at byte {start}, past the end of the file"
        section += f.read(max(section[2], 1) * 512 - 4)
    order = "big" if section[3] == 86 else "little"
    i = 4
    while i + 2 <= len(section):
        name_length, group = abs(_signed(section[i])), _signed(section[i + 1])
        if name_length == 0:
            return None
        name = section[i + 2:i + 2 + name_length]
        if len(name) < name_length or not all(32 <= c < 127 for c in name):
            return f"the parameter section is damaged at byte {start + i} (a name that is not text)"
        j = i + 2 + name_length
        if j + 2 > len(section):
            return f"the parameter section ends inside entry {name.decode()}"
        offset = int.from_bytes(section[j:j + 2], order, signed=True)
        if group > 0:
            if j + 4 > len(section):
                return f"the parameter section ends inside parameter {name.decode()}"
            kind, dims = _signed(section[j + 2]), section[j + 3]
            size = PARAMETER_TYPES.get(kind)
            shape = section[j + 4:j + 4 + dims]
            if size is None or dims > 7 or len(shape) < dims:
                return f"parameter {name.decode()} has an invalid type or dimensions"
            data = size * int(np.prod(list(shape), dtype=np.int64))
            if j + 4 + dims + data > len(section):
                return (f"parameter {name.decode()} declares {data:,} bytes of data, reaching past the end "
                        f"of the {len(section):,}-byte parameter section")
        if offset <= 0:
            return None  # the last entry
        i = j + offset
    return None


def _signed(byte: int) -> int:
    return byte - 256 if byte > 127 else byte


def _trial_parse(path: Path, with_platforms: bool) -> str | None:
    """Parse ``path`` with ezc3d in a forked child with limits; why it failed, or None.

    A parse error (an exception) is left to the parent's own parse to report. Where fork
    is not available the file is parsed directly, as before.
    """
    import os
    import resource
    import signal
    import time

    if not hasattr(os, "fork"):
        return None
    mapped = _mapped_bytes()
    pid = os.fork()
    if pid == 0:  # child: parse, exit 0 whatever the parse said; only a crash or the limits differ
        try:
            limit = mapped + PARSE_MEMORY_BYTES
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            import ezc3d

            try:
                ezc3d.c3d(str(path), extract_forceplat_data=with_platforms)
            except MemoryError:
                os._exit(3)
            except Exception:  # noqa: BLE001 - reported by the parent's own parse
                pass
        finally:
            os._exit(0)
    deadline = time.monotonic() + PARSE_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return f"parsing took longer than {PARSE_TIMEOUT_S:g} s"
        time.sleep(0.01)
    if os.WIFSIGNALED(status):
        # std::bad_alloc under the address-space limit aborts; anything else is a crash
        if os.WTERMSIG(status) == signal.SIGABRT:
            return f"its parameters ask for more than {PARSE_MEMORY_BYTES >> 20} MB of memory"
        return f"the C3D parser crashed on it ({signal.Signals(os.WTERMSIG(status)).name}); the file is damaged"
    if os.WEXITSTATUS(status) == 3:
        return f"its parameters ask for more than {PARSE_MEMORY_BYTES >> 20} MB of memory"
    return None


def _mapped_bytes() -> int:
    """This process's address space now (Linux), so the child's limit is on top of what it inherits."""
    try:
        with open("/proc/self/statm") as statm:
            import os

            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 4 << 30


def _check_complete(path: Path, c3d) -> None:
    """ezc3d reads a file cut short without error, and rewrites its frame count to what it
    found: compare with the last frame the file's own header block promises."""
    with open(path, "rb") as f:
        header = f.read(512)
        f.seek(max(header[0] - 1, 0) * 512 + 3)
        processor = f.read(1)
    order = "big" if processor == b"\x56" else "little"  # 86 = MIPS (SGI) is big-endian; Intel and DEC are not
    first, last = (int.from_bytes(header[i:i + 2], order) for i in (6, 8))
    promised = last - first + 1 if last >= first else 0
    found = c3d["header"]["points"]["last_frame"] - c3d["header"]["points"]["first_frame"] + 1
    if 0 < found < promised:
        raise FileFormatError(f"{path}: C3D file is truncated ({found} of {promised} frames present)")


def _param(c3d, group: str, name: str, default=None):
    try:
        value = c3d["parameters"][group][name]["value"]
    except KeyError:
        return default
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        return [_text(v) for v in value]
    return value


def _text(value: str) -> str:
    """A C3D text parameter as valid Unicode: ezc3d hands undecodable bytes on as surrogate
    escapes, which cannot be stored (HDF5 attributes are UTF-8); they become U+FFFD."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _unit_factor(unit: str, table: dict, default: float, assumed: list, what: str) -> float:
    key = re.sub(r"[\s·]", "", str(unit)).lower()
    if key in table:
        return table[key]
    assumed.append(f"{what} unit {unit!r} unknown: taken as {[k for k, v in table.items() if v == default][0]}")
    return default


# Lab -> trial axes, by which lab axis is vertical (plates lie flat): a proper rotation
# that keeps the horizontal axes and puts the vertical on z (y-up labs: trial y = -lab z).
TO_Z_UP = {2: np.eye(3), 1: np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]), 0: np.array([[0.0, 1, 0], [0, 0, 1], [1, 0, 0]])}


def _frame(path: Path, corners_m: np.ndarray) -> np.ndarray:
    """Plate axes in lab axes (columns x, y, z) from the four corners (3, 4), as ezc3d."""
    if not np.isfinite(corners_m).all():  # inf or NaN: no plate there, only numpy's warnings
        raise FileFormatError(f"{path}: FORCE_PLATFORM:CORNERS of a plate hold a value that is not a finite number")
    with np.errstate(over="ignore", invalid="ignore"):  # finite corners of 1e200 overflow: refused below
        x = corners_m[:, 0] - corners_m[:, 1]
        y = corners_m[:, 0] - corners_m[:, 3]
        z = np.cross(x, y)
        y = np.cross(z, x)
        norms = [np.linalg.norm(v) for v in (x, y, z)]
    if not np.isfinite(norms).all():
        raise FileFormatError(f"{path}: FORCE_PLATFORM:CORNERS of a plate are too far apart to be a plate")
    if min(norms) == 0:
        raise FileFormatError(f"{path}: FORCE_PLATFORM:CORNERS of a plate do not span a rectangle")
    return np.column_stack([v / n for v, n in zip((x, y, z), norms, strict=True)])


def _moment_transfer(origin_m: np.ndarray) -> np.ndarray:
    """6x6: (F, M about the plate origin) -> (F, M about the surface centre): M_c = M_o + F x o."""
    ox, oy, oz = origin_m
    cross = np.array([[0.0, -oz, oy], [oz, 0.0, -ox], [-oy, ox, 0.0]])  # [o]x
    out = np.eye(6)
    out[3:, :3] = -cross  # F x o = -(o x F)
    return out


def _kistler(a: float, b: float) -> np.ndarray:
    """6x8: fx12 fx34 fy14 fy23 fz1 fz2 fz3 fz4 (N) -> F (N), M (N*m) about the sensor plane centre."""
    return np.array([
        [1, 1, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 1, 1, 1, 1],
        [0, 0, 0, 0, b, b, -b, -b],
        [0, 0, 0, 0, -a, a, a, -a],
        [-b, b, a, -a, 0, 0, 0, 0],
    ], dtype=float)


def read_c3d(path: str | Path, plates: list[int] | None = None, left: int | None = None,
             right: int | None = None) -> tuple[DeviceArrays, dict, list[tuple]]:
    """The plates under the feet of a C3D file as one device, trial metadata and events.

    ``plates`` are 1-based plate numbers to keep (default: all when at most two, else the
    two carrying the most load); ``left``/``right`` say which is under which foot (default:
    the plate with the smaller lab x is the left foot, as x runs to the subject's right in
    forceplate's frame).
    """
    path = Path(path)
    c3d = _c3d(path)
    rate = float(np.ravel(_param(c3d, "ANALOG", "RATE", [0]))[0] or 0)
    analogs = np.asarray(c3d["data"]["analogs"], dtype=np.float64)[0]  # (channels, n), scaled by ezc3d
    analogs[~np.isfinite(analogs)] = np.nan  # a damaged sample (inf) is a missing one, as a lost frame is
    used = int(np.ravel(_param(c3d, "FORCE_PLATFORM", "USED", [0]))[0] or 0)
    if used == 0:
        raise FileFormatError(f"{path}: no force plates in this C3D file (FORCE_PLATFORM:USED is 0)")
    if rate <= 0 or analogs.shape[1] == 0:
        raise FileFormatError(f"{path}: no analog samples (ANALOG:RATE {rate:g}, {analogs.shape[1]} samples); "
                           "the file is incomplete")
    _check_complete(path, c3d)
    types = [int(t) for t in np.ravel(_param(c3d, "FORCE_PLATFORM", "TYPE", []))[:used]]
    if len(types) < used:
        raise FileFormatError(f"{path}: FORCE_PLATFORM:TYPE gives {len(types)} types for {used} plates")
    # ezc3d gives multi-dimensional parameters with the plate as the last axis
    try:
        channels = np.asarray(_param(c3d, "FORCE_PLATFORM", "CHANNEL"), dtype=int).reshape(-1, used, order="F").T
        corners = np.asarray(_param(c3d, "FORCE_PLATFORM", "CORNERS"), dtype=float).reshape(3, 4, used, order="F")
        origins = np.asarray(_param(c3d, "FORCE_PLATFORM", "ORIGIN"), dtype=float).reshape(3, used, order="F").T
    except (TypeError, ValueError):
        raise FileFormatError(f"{path}: FORCE_PLATFORM CHANNEL, CORNERS or ORIGIN missing or of the wrong size") from None
    cal = np.asarray(_param(c3d, "FORCE_PLATFORM", "CAL_MATRIX", []), dtype=float)
    labels = list(_param(c3d, "ANALOG", "LABELS", []))
    units = list(_param(c3d, "ANALOG", "UNITS", []))
    assumed: list[str] = []
    pos_units = _param(c3d, "POINT", "UNITS", [])
    to_m = _unit_factor(pos_units[0] if len(pos_units) else "mm", POSITION_TO_M, 1e-3, assumed, "POINT position")
    try:
        normal = _frame(path, corners[:, :, 0])[:, 2]
    except IndexError:
        raise FileFormatError(f"{path}: FORCE_PLATFORM:CORNERS missing") from None
    lab_to_trial = TO_Z_UP[int(np.argmax(np.abs(normal)))]
    for t in types:
        if t not in CHANNELS_PER_TYPE:
            raise FileFormatError(f"{path}: force plate type {t} is not supported (types 1, 2, 3 and 4 are)")

    def plate_block(k: int):
        """Stored values (n, c), their units and the (6, c) map to lab F (N), M (N*m) about the centre."""
        kind = types[k]
        idx = channels[k, :CHANNELS_PER_TYPE[kind]] - 1
        if len(idx) < CHANNELS_PER_TYPE[kind] or idx.min() < 0 or idx.max() >= analogs.shape[0]:
            raise FileFormatError(f"{path}: FORCE_PLATFORM:CHANNEL of plate {k + 1} names a missing analog channel")
        values = analogs[idx].T
        chan_units = [units[i] if i < len(units) else "" for i in idx]
        axes = lab_to_trial @ _frame(path, corners[:, :, k] * to_m)
        origin = origins[k] * to_m
        if origin[2] > 0:  # stored as the vector from the surface centre to the origin (see above)
            origin = -origin
        if kind in (2, 4):
            scale = [_unit_factor(u, dict.fromkeys(FORCE_UNITS, 1.0), 1.0, assumed, f"plate {k + 1} force")
                     for u in chan_units[:3]]
            scale += [_unit_factor(u, MOMENT_TO_NM, 1e-3, assumed, f"plate {k + 1} moment") for u in chan_units[3:]]
            plate_map = np.diag(scale)
            if kind == 4:
                if cal.ndim != 3 or cal.shape[:2] != (6, 6) or cal.shape[2] <= k:
                    raise FileFormatError(f"{path}: type-4 plate {k + 1} has no 6x6 CAL_MATRIX")
                if not (np.abs(cal[:, :, k]) <= MAX_CALIBRATION_GAIN).all():  # NaN fails too
                    # inf or 1e300 would only come out as NaN forces, with numpy's matmul warnings
                    raise FileFormatError(f"{path}: FORCE_PLATFORM:CAL_MATRIX of plate {k + 1} holds a value that is "
                                          f"not a plausible gain (at most {MAX_CALIBRATION_GAIN:g} in size)")
                plate_map = plate_map @ cal[:, :, k]
            plate_map = _moment_transfer(origin) @ plate_map
        elif kind == 3:
            plate_map = _moment_transfer([0.0, 0.0, origin[2]]) @ _kistler(origin[0], origin[1])
        else:
            # Type 1 gives the CoP, not moments: M = r x F about the centre, plus the free moment Tz.
            cop_m = values[:, 3:5] * _unit_factor(chan_units[3], POSITION_TO_M, to_m, assumed, f"plate {k + 1} CoP")
            tz = values[:, 5] * _unit_factor(chan_units[5], MOMENT_TO_NM, 1e-3, assumed, f"plate {k + 1} Tz")
            f = values[:, :3]
            values = np.column_stack([f, cop_m[:, 1] * f[:, 2], -cop_m[:, 0] * f[:, 2],
                                      cop_m[:, 0] * f[:, 1] - cop_m[:, 1] * f[:, 0] + tz])
            chan_units = ["N", "N", "N", "N*m", "N*m", "N*m"]
            plate_map = np.eye(6)
        rotation = np.zeros((6, 6))
        rotation[:3, :3] = rotation[3:, 3:] = axes
        lab = rotation @ plate_map
        fz = values @ lab[2]
        # C3D does not fix whether a plate reports the force on it or the reaction; the
        # project's convention is a loaded plate reading Fz > 0. The largest |Fz| is the load
        # (an unloaded plate's offset, e.g. -212 N in sample_10/TYPE-3.c3d, is smaller).
        flipped = bool(np.isfinite(fz).any() and fz[np.nanargmax(np.abs(fz))] < 0)
        return values, chan_units, -lab if flipped else lab, flipped, (lab_to_trial @ corners[:, :, k] * to_m).T * 1000.0

    blocks: dict[int, tuple] = {}

    def block(k: int) -> tuple:
        if k not in blocks:
            blocks[k] = plate_block(k)
        return blocks[k]

    def load_n(k: int) -> float:
        values, _, lab, _, _ = block(k)
        fz = np.abs(values @ lab[2])
        fz = fz[np.isfinite(fz)]
        return float(fz.mean()) if len(fz) else 0.0  # a plate with no finite force carries nothing

    chosen = _choose_plates(path, used, plates, left, right, load_n, lambda k: block(k)[4][:, 0].mean())
    device = _device(path, rate, chosen, {k: block(k) for k in chosen.values()}, labels, channels, types, assumed, c3d)
    return device, _metadata(path, c3d), _events(c3d)


def _metadata(path: Path, c3d) -> dict:
    """Trial metadata the file states: the subject (SUBJECTS:NAMES, or SUBJECT:NAME of older
    files), the recording's date (TRIAL:DATE and TIME, as BTS and forceplate write them), and
    what forceplate's own export keeps in its FORCEPLATE group (load, exercise, notes)."""
    subject = next((str(v).strip() for v in [*_param(c3d, "SUBJECTS", "NAMES", []), *_param(c3d, "SUBJECT", "NAME", [])]
                    if str(v).strip()), None)
    own = {key: _param(c3d, C3D_GROUP, key.upper(), None) for key in ("load_kg", "exercise", "notes")}
    metadata = {"notes": f"imported from {path.name}", "subject": subject, "created": _recorded(c3d)}
    if own["load_kg"] is not None and len(own["load_kg"]) and np.isfinite(float(np.ravel(own["load_kg"])[0])):
        metadata["load_kg"] = float(np.ravel(own["load_kg"])[0])
    for key in ("exercise", "notes"):
        if own[key] is not None and len(own[key]) and str(own[key][0]).strip():
            metadata[key] = _text(str(own[key][0]))
    return metadata


def _recorded(c3d) -> str | None:
    """TRIAL:DATE (year, month, day) and TIME (hour, minute, second) as an ISO time (with the
    zone only when forceplate wrote the file: C3D has no field for it), or None when absent
    or not a real date."""
    date = [int(v) for v in np.ravel(_param(c3d, "TRIAL", "DATE", []))[:3]]
    clock = [int(v) for v in np.ravel(_param(c3d, "TRIAL", "TIME", []))[:3]]
    offset = np.ravel(_param(c3d, C3D_GROUP, "UTC_OFFSET_MIN", []))[:1]  # forceplate's export says the zone
    try:
        zone = dt.timezone(dt.timedelta(minutes=float(offset[0]))) if len(offset) else None
        return dt.datetime(*date, *(clock + [0, 0, 0])[:3], tzinfo=zone).isoformat() if len(date) == 3 else None
    except (ValueError, OverflowError, TypeError):
        return None


def _choose_plates(path: Path, used: int, plates, left, right, load_n, centre_x_mm) -> dict[str, int]:
    """foot -> 0-based plate index."""
    wanted = [p - 1 for p in plates] if plates else list(range(used))
    wanted += [p - 1 for p in (left, right) if p is not None and p - 1 not in wanted]
    if any(p < 0 or p >= used for p in wanted):
        raise FileFormatError(f"{path}: the file has {used} force plates (numbered 1 to {used})")
    if not plates and len(wanted) > 2:
        wanted = sorted(wanted, key=load_n, reverse=True)[:2]
    if len(wanted) > 2:
        raise FileFormatError(f"{path}: choose at most two plates, the ones under the feet (--plates 1,2)")
    chosen = {foot: p - 1 for foot, p in (("left", left), ("right", right)) if p is not None}
    rest = sorted((p for p in wanted if p not in chosen.values()), key=centre_x_mm)
    if len(rest) == 1 and right is None and left is not None:
        chosen["right"] = rest.pop()
    # x runs to the subject's right in forceplate's frame: the plate with the smaller x is the left foot
    for foot in ("left", "right"):
        if foot not in chosen and rest:
            chosen[foot] = rest.pop(0)
    return chosen


def _events(c3d) -> list[tuple]:
    """C3D EVENTs as trial events on the trial clock (first frame = 0 s): another tool's as
    marks ("Left Foot Strike"); forceplate's own (their description is the event's JSON) as
    the rep, flag, baseline and mark events they were."""
    times = np.asarray(_param(c3d, "EVENT", "TIMES", []), dtype=float)
    labels = list(_param(c3d, "EVENT", "LABELS", []))
    contexts = list(_param(c3d, "EVENT", "CONTEXTS", [""] * len(labels)))
    descriptions = list(_param(c3d, "EVENT", "DESCRIPTIONS", [""] * len(labels)))
    if times.size == 0 or not labels:
        return []
    times = times.reshape(2, -1) if times.ndim == 1 else times
    point_rate = float(np.ravel(_param(c3d, "POINT", "RATE", [0]))[0] or 0)
    first_s = c3d["header"]["points"]["first_frame"] / point_rate if point_rate else 0.0
    ours = _param(c3d, C3D_GROUP, "EVENTS", None) is not None
    events = []
    for i in range(min(len(labels), times.shape[1])):
        t_s = float(60 * times[0, i] + times[1, i] - first_s)
        own = _own_event(descriptions[i] if i < len(descriptions) else "") if ours else None
        events.append((t_s, *own) if own else (t_s, "mark", 0, "", "", "", float("nan"),
                      " ".join(f"{contexts[i] if i < len(contexts) else ''} {labels[i]}".split())))
    return sorted(events)


def _own_event(description: str) -> tuple | None:
    """(kind, rep, side, severity, phase, value, text) of an event forceplate exported, or None."""
    try:
        e = json.loads(description)
        return (str(e["kind"]), int(e.get("rep") or 0), str(e.get("side", "")), str(e.get("severity", "")),
                str(e.get("phase", "")), float("nan") if e.get("value") is None else float(e["value"]), str(e.get("text", "")))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _device(path, rate, chosen, blocks, labels, channels, types, assumed, c3d) -> DeviceArrays:
    name = "C3D-" + re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)
    names, units, values, plates_toml, matrices, flipped = [], [], [], "", [], {}
    start = 0
    for foot, k in chosen.items():
        v, u, lab, flip, corners_mm = blocks[k]
        width = v.shape[1]
        idx = channels[k, :width] - 1
        names += [f"fp{k + 1}_{labels[i] if i < len(labels) else i + 1}" for i in idx] if types[k] != 1 else \
            [f"fp{k + 1}_{c}" for c in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]
        units += u
        values.append(v)
        square = np.zeros((width, width))
        square[:6] = lab  # a type-3 plate has 8 inputs and 6 outputs: its last two rows stay 0
        matrices.append((list(range(start, start + width)), square.tolist()))
        flipped[foot] = flip
        plates_toml += "\n[[plates]]\n" + toml_table({
            "name": f"FP{k + 1}", "foot": foot, "type": "six-axis", "channels": list(range(start, start + 6)),
            "center_mm": [float(x) for x in corners_mm[:, :2].mean(axis=0)],
            "size_mm": [float(x) for x in np.ptp(corners_mm[:, :2], axis=0)], "origin_depth_mm": 0.0})
        start += width
    profile_text = (f"# Made by `forceplate import` from {path.name}: C3D plates in the file's lab axes (mm),\n"
                    "# moments about each plate's surface centre (origin depth 0).\n"
                    + toml_table({"id": PROFILE_ID, "kind": "dual-plate", "description": f"C3D import: {path.name}",
                                  "rate_hz": rate, "sample_format": "float64", "channels": names}) + plates_toml)
    profile = parse_profile(profile_text, where=f"{path} (imported profile)")
    # The scales repeat the matrices' diagonals: CalibrationRecord.to_physical uses the scales
    # alone when every matrix is diagonal (a plate whose axes are the lab's).
    scales = [row[i] for _, block in matrices for i, row in enumerate(block)]
    record = calibration_toml(name, PROFILE_ID, scales, matrices,
                              method=f"from the C3D FORCE_PLATFORM parameters of {path.name}")
    parameters = {key: np.asarray(v["value"]).tolist() for key, v in c3d["parameters"]["FORCE_PLATFORM"].items()
                  if isinstance(v, dict) and "value" in v}
    return DeviceArrays(
        name=name, profile=profile, counts=np.column_stack(values), channel_units=units,
        info={"serial": name, "model": "C3D import", "firmware": "", "source_file": path.name},
        calibration_toml=record, url=f"file://{path.resolve()}",
        attrs={"source_file": path.name, "source_format": "c3d",
               "plates": json.dumps({foot: {"number": k + 1, "type": types[k], "sign_flipped": flipped[foot]}
                                     for foot, k in chosen.items()}),
               "type1_converted": any(types[k] == 1 for k in chosen.values()),
               "assumed_units": json.dumps(assumed), "force_platform_parameters": json.dumps(parameters)})



def trial_plate_wrenches(recording) -> tuple[float, dict]:
    """Per foot of a trial's plate device: (F (n, 3) N, M (n, 3) N*m about the surface centre, plate)."""
    _, physical = recording.uniform()
    return recording.rate_hz, surface_wrenches(physical, recording.profile)


def write_c3d(trial, path: str | Path) -> Path:
    """Write a trial's plates as type-2 force plates (N, N*mm) in a C3D file; returns the path."""
    ezc3d = require("ezc3d")
    path = Path(path)
    if path.exists():
        raise FileFormatError(f"{path}: file exists; choose another name")
    plates = [d for d in trial.devices.values() if d.profile.plates]
    if not plates:
        raise FileFormatError(f"{trial.path}: no force plate device in this trial; C3D export writes plates only")
    rate, feet = trial_plate_wrenches(plates[0])
    labels, units, columns, corners, channel = [], [], [], [], []
    for k, (foot, (f, m, plate)) in enumerate(sorted(feet.items())):
        cx, cy = plate.center_mm
        hx, hy = plate.size_mm[0] / 2, plate.size_mm[1] / 2
        # corner 1 at (+x, +y) of the plate, then (-x, +y), (-x, -y), (+x, -y): plate axes = lab axes, z up
        corners.append([[cx + hx, cy + hy, 0.0], [cx - hx, cy + hy, 0.0], [cx - hx, cy - hy, 0.0], [cx + hx, cy - hy, 0.0]])
        labels += [f"{name}{k + 1}" for name in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]
        units += ["N"] * 3 + ["Nmm"] * 3
        columns += [*f.T, *(m.T * 1000.0)]
        channel.append(list(range(6 * k + 1, 6 * k + 7)))
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c3d["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    c3d["parameters"]["ANALOG"]["RATE"]["value"] = [rate]
    c3d["parameters"]["ANALOG"]["LABELS"]["value"] = tuple(labels)
    c3d["parameters"]["ANALOG"]["UNITS"]["value"] = tuple(units)
    c3d.add_parameter("FORCE_PLATFORM", "USED", [len(feet)])
    c3d.add_parameter("FORCE_PLATFORM", "TYPE", [2] * len(feet))
    c3d.add_parameter("FORCE_PLATFORM", "ZERO", [1, 0])
    c3d.add_parameter("FORCE_PLATFORM", "CORNERS", np.transpose(np.array(corners), (2, 1, 0)))
    c3d.add_parameter("FORCE_PLATFORM", "ORIGIN", np.zeros((3, len(feet))))
    c3d.add_parameter("FORCE_PLATFORM", "CHANNEL", np.array(channel, dtype=float).T)
    for name in ("USED", "TYPE", "ZERO", "CHANNEL"):
        # add_parameter stores numbers as float; readers (ezc3d's own) want these as integers
        c3d["parameters"]["FORCE_PLATFORM"][name]["type"] = ezc3d.ezc3d.INT
    _write_trial_parameters(c3d, trial, ezc3d)
    analogs = np.nan_to_num(np.array(columns), nan=0.0)  # lost frames: C3D readers expect numbers
    c3d["data"]["points"] = np.zeros((4, 0, analogs.shape[1]))
    c3d["data"]["analogs"] = analogs[np.newaxis]
    c3d.write(str(path))
    return path


C3D_GROUP = "FORCEPLATE"  # forceplate's own parameters: what a C3D file has no standard place for
SIDE_CONTEXTS = {"left": "Left", "right": "Right"}


def _write_trial_parameters(c3d, trial, ezc3d) -> None:
    """The trial's subject (SUBJECTS), date (TRIAL:DATE, TIME), events (EVENT: label the kind,
    context the side, description the whole event as JSON) and its load, exercise and notes
    (group FORCEPLATE), so that importing the file gives them back."""
    attrs = trial.attrs
    if attrs.get("subject"):
        c3d.add_parameter("SUBJECTS", "NAMES", [str(attrs["subject"])])
        c3d.add_parameter("SUBJECTS", "USED", [1])
        c3d["parameters"]["SUBJECTS"]["USED"]["type"] = ezc3d.ezc3d.INT
    try:
        created = dt.datetime.fromisoformat(str(attrs.get("created", "")))
    except ValueError:
        created = None
    if created is not None:
        # local time of the recording as stored (C3D has no zone field)
        for name, values in (("DATE", [created.year, created.month, created.day]),
                             ("TIME", [created.hour, created.minute, created.second])):
            c3d.add_parameter("TRIAL", name, values)
            c3d["parameters"]["TRIAL"][name]["type"] = ezc3d.ezc3d.INT
        if created.utcoffset() is not None:
            c3d.add_parameter(C3D_GROUP, "UTC_OFFSET_MIN", [created.utcoffset().total_seconds() / 60])
    load = attrs.get("load_kg")
    c3d.add_parameter(C3D_GROUP, "LOAD_KG", [float(load) if load is not None else float("nan")])
    for key in ("exercise", "notes"):
        c3d.add_parameter(C3D_GROUP, key.upper(), [str(attrs.get(key) or " ")])
    events = [_event_dict(e) for e in trial.events]
    c3d.add_parameter(C3D_GROUP, "EVENTS", [len(events)])
    if not events:
        return
    c3d.add_parameter("EVENT", "USED", [len(events)])
    c3d["parameters"]["EVENT"]["USED"]["type"] = ezc3d.ezc3d.INT
    c3d.add_parameter("EVENT", "TIMES", np.array([[e["t_s"] // 60 for e in events], [e["t_s"] % 60 for e in events]]))
    c3d.add_parameter("EVENT", "LABELS", [e["kind"] for e in events])
    c3d.add_parameter("EVENT", "CONTEXTS", [SIDE_CONTEXTS.get(e["side"], "General") for e in events])
    c3d.add_parameter("EVENT", "DESCRIPTIONS", [json.dumps(e) for e in events])


def _event_dict(row) -> dict:
    from forceplate.storage.reader import stored_text as text

    value = float(row["value"])
    return {"t_s": round(float(row["t_s"]), 6), "kind": text(row["kind"]), "rep": int(row["rep"]),
            "side": text(row["side"]), "severity": text(row["severity"]), "phase": text(row["phase"]),
            "value": round(value, 6) if np.isfinite(value) else None, "text": text(row["text"])}
