"""``sim://KIND?options`` URLs: build a simulated device from a URL's query.

Options: ``seed``, ``reps``, ``valgus`` (``REP:SIDE:SEVERITY`` comma-separated, e.g.
``2:left:moderate,5:right:severe``), ``mass`` (kg), ``load`` (kg), ``toe_out`` (deg),
``tempo`` (descent,bottom,ascent,rest seconds), ``depth`` (m), ``speed`` (x real time),
``unplug_at`` (s of device time), ``noise`` (N per load cell).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from forceplate.calibration.record import find_record
from forceplate.errors import BadDeviceURL
from forceplate.profiles import load_profile
from forceplate.sim.emulator import PlateEmulator, SimulatedDevice
from forceplate.sim.squat import SEVERITY_SHIFT_MM, SIDES, SquatModel, SquatPlan, Subject

# kind -> (profile id, serial of the simulated unit)
KINDS = {"dual-plate": ("dual-plate-ads1256", "SIM-DP-0001")}
DEFAULT_VALGUS = "2:right:moderate,4:left:severe,6:right:mild"
OPTIONS = {"seed", "reps", "valgus", "mass", "load", "toe_out", "tempo", "depth", "speed",
           "unplug_at", "noise"}


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


def _number(query: dict, key: str, default: float) -> float:
    if key not in query:
        return default
    try:
        return float(query[key])
    except ValueError:
        raise BadDeviceURL(f"sim option {key}={query[key]!r} is not a number") from None


def open_simulator(url: str) -> SimulatedDevice:
    parts = urlsplit(url)
    kind = parts.netloc or parts.path.lstrip("/")
    if kind not in KINDS:
        raise BadDeviceURL(f"{url}: unknown simulated device {kind!r} (known: {', '.join(KINDS)})")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - OPTIONS
    if unknown:
        raise BadDeviceURL(f"{url}: unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(OPTIONS))})")
    seed = int(_number(query, "seed", 0))
    plan = SquatPlan(reps=int(_number(query, "reps", 8)), depth_m=_number(query, "depth", 0.45),
                     valgus=parse_valgus(query.get("valgus", DEFAULT_VALGUS)))
    if "tempo" in query:
        try:
            plan.descent_s, plan.bottom_s, plan.ascent_s, plan.rest_s = (float(x) for x in query["tempo"].split(","))
        except ValueError:
            raise BadDeviceURL(f"{url}: tempo is DESCENT,BOTTOM,ASCENT,REST in seconds") from None
    subject = Subject(mass_kg=_number(query, "mass", 75.0), load_kg=_number(query, "load", 0.0),
                      toe_out_deg=_number(query, "toe_out", 0.0))
    profile_id, serial = KINDS[kind]
    profile = load_profile(profile_id)
    calibration = find_record(serial)
    model = SquatModel(subject, plan, seed=seed)
    emulator = PlateEmulator(profile, calibration, model, noise_n=_number(query, "noise", 0.3), seed=seed)
    info = {"model": f"forceplate simulator ({kind})", "serial": serial, "firmware": "sim-1",
            "channels": profile.n_channels, "rate_hz": f"{profile.rate_hz:g}", "profile": profile_id}
    unplug = _number(query, "unplug_at", -1.0)
    return SimulatedDevice(emulator, info, speed=_number(query, "speed", 1.0),
                           unplug_at_s=unplug if unplug >= 0 else None)
