"""``sim://KIND?options`` URLs: build a simulated device from a URL's query.

Kinds: ``dual-plate`` (4-load-cell plates; ``adc=ads1256`` 1000 Hz or ``adc=hx711`` 80 Hz),
``six-axis`` (two six-axis plates), ``insole`` (one foot: ``foot=left|right``,
``sensors=16|8|diy16``; open one URL per foot, like real insoles on two ports; ``diy16`` is
a DIY FSR insole speaking the ASCII line mode).

Person and set: ``seed``, ``reps``, ``valgus`` (``REP:SIDE:SEVERITY`` comma-separated,
e.g. ``2:left:moderate,5:right:severe``), ``mass`` (kg), ``load`` (kg), ``toe_out`` (deg),
``tempo`` (descent,bottom,ascent,rest in s), ``depth`` (m). Devices with the same seed
watch the same person on a shared clock.

Device: ``speed`` (x real time), ``unplug_at`` (s of device time), ``noise`` (N per
channel), ``clock_ppm`` (device clock error), and faults per frame: ``garbage``, ``crc``,
``drop`` (probabilities).

A hostile device, for tests of what the host trusts: ``seq_step`` (sequence numbers advance
by this per frame), ``status_flood`` (STATUS packets after each frame), ``stall=START,LENGTH``
(silent from START s for LENGTH s, without unplugging), ``info=KEY:VALUE,...`` (INFO fields
replaced: ``info=rate_hz:1e9``, ``info=serial:../x``, ``info=profile:/etc/x.toml``).

A device being calibrated: ``static=1`` (no person: the host places known loads through
the simulator's :class:`~forceplate.sim.emulator.StaticScene`); the device's true response
differs from its bundled record by hidden, seeded errors: ``gain_error`` (each channel's gain
off by up to this fraction), ``offset_error`` (each zero off by up to this many counts),
``fsr_exponent`` (insoles: sensors follow a power curve, force ~ counts**exponent, equal to
the record at 100 N). The simulator always starts from the bundled record, never a lab's.
Sensor faults: ``drift`` (each channel's zero drifts by this many N per minute),
``saturate=CH`` (channel CH clips at 100 N), ``dead=CH`` (channel CH reads a constant).
"""

from __future__ import annotations

import numpy as np

from forceplate.calibration.record import CalibrationRecord, ResponseCurves, bundled_record
from forceplate.errors import BadDeviceURL
from forceplate.io.transport import parse_device_url
from forceplate.profiles import load_profile
from forceplate.sim.emulator import (Faults, InsoleEmulator, PlateEmulator, SensorFaults, SimulatedDevice,
                                     StaticScene)
from forceplate.sim.squat import SEVERITY_SHIFT_MM, SIDES, SquatModel, SquatPlan, Subject

KINDS = ("dual-plate", "six-axis", "insole")
DEFAULT_VALGUS = "2:right:moderate,4:left:severe,6:right:mild"
OPTIONS = {"seed", "reps", "valgus", "mass", "load", "toe_out", "tempo", "depth", "speed", "unplug_at", "noise",
           "clock_ppm", "garbage", "crc", "drop", "adc", "foot", "sensors", "static", "gain_error", "offset_error",
           "fsr_exponent", "drift", "saturate", "dead", "seq_step", "status_flood", "stall", "info"}
FSR_MATCH_N = 100.0  # with fsr_exponent, the true curve and the bundled linear record agree at this load
PLATE_UNITS = {"ads1256": ("dual-plate-ads1256", "SIM-DP-0001"), "hx711": ("dual-plate-hx711", "SIM-DP-0002")}
# sensors= -> profile and serial prefix (the foot's initial is appended)
INSOLES = {"16": ("insole16", "SIM-IN16"), "8": ("insole8", "SIM-IN8"), "diy16": ("insole-diy-fsr16", "SIM-FSR16")}


def parse_valgus(text: str) -> dict[int, tuple[str, str]]:
    labels = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            rep, side, severity = item.split(":")
            rep_index = int(rep)
        except ValueError:
            raise BadDeviceURL(f"valgus label {item!r} is not REP:SIDE:SEVERITY (e.g. 3:left:moderate)") from None
        if side not in SIDES or severity not in SEVERITY_SHIFT_MM:
            raise BadDeviceURL(
                f"valgus label {item!r}: side is left or right, severity one of {', '.join(SEVERITY_SHIFT_MM)}"
            )
        labels[rep_index] = (side, severity)
    return labels


# Plausible ranges of the numeric options: outside them a simulation would run for days or
# allocate without bound (reps=100000000, speed=1e9), so the URL is refused.
RANGES = {"seed": (0, 2**31), "reps": (0, 1000), "mass": (1, 400), "load": (0, 500), "toe_out": (-60, 60),
          "depth": (0.01, 1.5), "speed": (0.01, 100), "unplug_at": (-1, 86400), "noise": (0, 1e4),
          "clock_ppm": (-1e4, 1e4), "garbage": (0, 1), "crc": (0, 1), "drop": (0, 1), "static": (0, 1),
          "gain_error": (0, 0.9), "offset_error": (0, 1e6), "fsr_exponent": (0.05, 20), "drift": (-1e4, 1e4),
          "saturate": (0, 1e3), "dead": (0, 1e3), "seq_step": (1, 32767), "status_flood": (0, 100)}


def _number(query: dict, key: str, default: float) -> float:
    if key not in query:
        return default
    try:
        value = float(query[key])
    except ValueError:
        raise BadDeviceURL(f"sim option {key}={query[key]!r} is not a number") from None
    low, high = RANGES.get(key, (-float("inf"), float("inf")))
    if not low <= value <= high:  # NaN fails too
        raise BadDeviceURL(f"sim option {key}={query[key]!r} is outside [{low:g}, {high:g}]")
    return value


def _choice(query: dict, key: str, choices, default: str) -> str:
    value = query.get(key, default)
    if value not in choices:
        raise BadDeviceURL(f"sim option {key}={value!r}: one of {', '.join(choices)}")
    return value


def _model(url: str, query: dict, seed: int) -> SquatModel:
    plan = SquatPlan(reps=int(_number(query, "reps", 8)), depth_m=_number(query, "depth", 0.45),
                     valgus=parse_valgus(query.get("valgus", DEFAULT_VALGUS)))
    if "tempo" in query:
        try:
            plan.descent_s, plan.bottom_s, plan.ascent_s, plan.rest_s = (float(x) for x in query["tempo"].split(","))
        except ValueError:
            raise BadDeviceURL(f"{url}: tempo is DESCENT,BOTTOM,ASCENT,REST in seconds") from None
    subject = Subject(mass_kg=_number(query, "mass", 75.0), load_kg=_number(query, "load", 0.0),
                      toe_out_deg=_number(query, "toe_out", 0.0))
    return SquatModel(subject, plan, seed=seed)


def _channel(query: dict, key: str, n_channels: int) -> int | None:
    if key not in query:
        return None
    channel = int(_number(query, key, 0))
    if not 0 <= channel < n_channels:
        raise BadDeviceURL(f"sim option {key}={query[key]}: the device has channels 0..{n_channels - 1}")
    return channel


def _hidden_record(record: CalibrationRecord, query: dict, seed: int) -> CalibrationRecord:
    """The device's true response: the bundled record off by the seeded errors asked for."""
    gain_error, offset_error = _number(query, "gain_error", 0.0), _number(query, "offset_error", 0.0)
    exponent = _number(query, "fsr_exponent", 1.0)
    if not (gain_error or offset_error or exponent != 1.0):
        return record
    if exponent <= 0:
        raise BadDeviceURL(f"sim option fsr_exponent={exponent:g} must be positive")
    rng = np.random.default_rng(seed + 4242)
    n = record.n_channels
    gains = 1.0 + rng.uniform(-gain_error, gain_error, n)
    offsets = record.offsets_counts + np.round(rng.uniform(-offset_error, offset_error, n))
    curves = None
    if exponent != 1.0:
        full_scale = FSR_MATCH_N / np.abs(record.newtons_per_count)
        curves = ResponseCurves(full_scale, FSR_MATCH_N * np.sign(record.newtons_per_count) * gains,
                                np.full(n, exponent))
    # Each row of the matrix is one output's gain: scaling rows scales that channel's reading.
    return CalibrationRecord(record.serial, record.profile, offsets, record.newtons_per_count * gains,
                             gains[:, None] * record.matrix, method="simulator: hidden true response",
                             source=f"{record.source} with hidden errors", curves=curves)


def open_simulator(url: str, replug: bool = False, connection=None) -> SimulatedDevice:
    """A simulated device for ``url``, on a new pseudo-terminal or on ``connection`` (a
    connected socket); ``replug``: the same device plugged back in after an unplug (it does
    not unplug itself again)."""
    target, query = parse_device_url(url, OPTIONS)
    kind = target.lstrip("/")
    if kind not in KINDS:
        raise BadDeviceURL(f"{url}: unknown simulated device {kind!r} (known: {', '.join(KINDS)})")
    seed = int(_number(query, "seed", 0))
    static = _number(query, "static", 0.0) != 0.0
    info = {"model": f"forceplate simulator ({kind})", "firmware": "sim-1"}
    if kind == "insole":
        foot = _choice(query, "foot", SIDES, "left")
        profile_id, serial_prefix = INSOLES[_choice(query, "sensors", tuple(INSOLES), "16")]
        serial = f"{serial_prefix}-{foot[0].upper()}"
        info["foot"] = foot
    elif kind == "six-axis":
        profile_id, serial = "dual-six-axis", "SIM-6A-0001"
    else:
        profile_id, serial = PLATE_UNITS[_choice(query, "adc", tuple(PLATE_UNITS), "ads1256")]
    profile = load_profile(profile_id)
    calibration = _hidden_record(bundled_record(serial), query, seed)
    model = StaticScene(profile) if static else _model(url, query, seed)
    sensor_faults = SensorFaults(drift_per_min=_number(query, "drift", 0.0),
                                 saturate=_channel(query, "saturate", profile.n_channels),
                                 dead=_channel(query, "dead", profile.n_channels))
    if kind == "insole":
        emulator = InsoleEmulator(profile, calibration, model, foot, noise_n=_number(query, "noise", 0.2), seed=seed,
                                  sensor_faults=sensor_faults)
    else:
        emulator = PlateEmulator(profile, calibration, model, noise_n=_number(query, "noise", 0.3), seed=seed,
                                 sensor_faults=sensor_faults)
    info.update(serial=serial, channels=profile.n_channels, rate_hz=f"{profile.rate_hz:g}", profile=profile_id)
    unplug = -1.0 if replug else _number(query, "unplug_at", -1.0)
    if "info" in query:
        try:
            info.update(item.split(":", 1) for item in query["info"].split(","))
        except ValueError:
            raise BadDeviceURL(f"{url}: info is KEY:VALUE,KEY:VALUE") from None
    stall = None
    if "stall" in query:
        try:
            start_s, length_s = (float(x) for x in query["stall"].split(","))
        except ValueError:
            raise BadDeviceURL(f"{url}: stall is START,LENGTH in seconds") from None
        stall = (start_s, length_s)
    faults = Faults(garbage=_number(query, "garbage", 0.0), crc=_number(query, "crc", 0.0),
                    drop=_number(query, "drop", 0.0), seq_step=int(_number(query, "seq_step", 1)),
                    status_per_frame=int(_number(query, "status_flood", 0)), stall=stall)
    return SimulatedDevice(emulator, info, speed=_number(query, "speed", 1.0),
                           unplug_at_s=unplug if unplug >= 0 else None,
                           clock_ppm=_number(query, "clock_ppm", 0.0), faults=faults, seed=seed,
                           connection=connection)
