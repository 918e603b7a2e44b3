"""The long fuzz run of issue 13: the cases of tests/test_fuzz_*.py, by the thousand.

Run: python benchmarks/fuzz_long.py [--cases N] [--minutes M] [--seed S] [--results NAME]
(writes benchmarks/results/NAME.txt, default fuzz_long.txt)

Two kinds of case, mixed in a fixed proportion and seeded by their number (so a failure
is reproduced by its seed):

- CLI cases: a real file damaged by the mutators of tests/fuzz_helpers.py, given to the
  real command in a forked child with a time limit (C3D import, Moticon, PhysioNet and
  insole CSV + mapping imports, analyze / export / recover / trials of a recorded trial,
  analyze with a damaged calibration record). Each must end with exit 0 or one error line:
  no traceback, no signal death, no hang, peak RSS < 1 GB.
- in-process cases (fast): binary and ASCII wire streams with hostile sequence numbers,
  clocks and STATUS floods, hostile INFO answers, mutated profiles and calibration records;
  only the package's own errors may come out, and what is accepted stays bounded.

It stops after N cases or M minutes, whichever comes first, and reports what it ran.
Needs ../shared/data beside the repository.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_helpers import HOSTILE_NUMBERS, mutate_bytes, mutate_text, record_sim_trial, run_cli  # noqa: E402
from results_file import publish  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
C3D = ["c3d-org-samples/sample_00/Sample_Jump2.c3d", "c3d-org-samples/sample_10/TYPE-2.C3D",
       "ezc3d-testFiles/FP_Type3.c3d", "c3d-org-samples/sample_01/Eb015pi.c3d", "ezc3d-testFiles/FP_Type1.c3d"]
TEXT = {"moticon": "moticon-opengo/walk_with_events.txt", "physionet": "physionet-gaitpdb/GaCo01_01.txt"}
FSR = "diy-fsr-insole-esp32/COMBO_LOG002.CSV"
CLI_SHARE = 0.1  # one case in ten goes through the CLI; the rest are in-process
CASE_TIME_LIMIT_S = 25.0


def _sources(work: Path) -> dict:
    import re

    trial = record_sim_trial(work, seconds=1.5)
    docs = (ROOT / "docs" / "interop.md").read_text(encoding="utf-8")
    return {"trial": trial.read_bytes(), "c3d": {n: (DATA / n).read_bytes() for n in C3D},
            "text": {k: (DATA / n).read_text(encoding="utf-8-sig") for k, n in TEXT.items()},
            "csv": (DATA / FSR).read_text(encoding="utf-8", errors="replace"),
            "mapping": re.search(r"```toml\n(# DIY FSR.*?)```", docs, re.S).group(1),
            "record": (ROOT / "calibration" / "SIM-DP-0001.toml").read_text(encoding="utf-8"),
            "trial_path": trial}


def cli_case(rng: random.Random, src: dict, work: Path):
    case = Path(tempfile.mkdtemp(dir=work))
    out = str(case / "out.h5")
    kind = rng.choice(["c3d", "c3d", "moticon", "physionet", "csv", "trial", "trial", "record"])
    if kind == "c3d":
        name = rng.choice(C3D)
        data, what = mutate_bytes(src["c3d"][name], rng, region=rng.choice([None, 8192]))
        (case / "f.c3d").write_bytes(data)
        return kind, f"{name} {what}", ["import", str(case / "f.c3d"), "-o", out]
    if kind in TEXT:
        data, what = mutate_text(src["text"][kind], rng)
        (case / "f.txt").write_bytes(data)
        return kind, what, ["import", str(case / "f.txt"), "-o", out, "--format", kind]
    if kind == "csv":
        csv, mapping, what = src["csv"].encode(), src["mapping"].encode(), []
        if rng.random() < 0.6:
            csv, w = mutate_text(src["csv"], rng)
            what.append(f"csv {w}")
        if rng.random() < 0.6 or not what:
            mapping, w = mutate_text(src["mapping"], rng)
            what.append(f"mapping {w}")
        (case / "f.csv").write_bytes(csv)
        (case / "m.toml").write_bytes(mapping)
        return kind, "; ".join(what), ["import", str(case / "f.csv"), "-o", out, "--mapping", str(case / "m.toml")]
    if kind == "record":
        data, what = mutate_text(src["record"], rng)
        (case / "r.toml").write_bytes(data)
        return kind, what, ["analyze", str(src["trial_path"]), "--calibration", str(case / "r.toml")]
    data, what = mutate_bytes(src["trial"], rng)
    (case / "t.h5").write_bytes(data)
    command = rng.choice(["analyze", "export", "recover", "trials", "static"])
    argv = {"analyze": ["analyze", str(case / "t.h5")], "export": ["export", str(case / "t.h5"), "--csv", str(case / "c")],
            "recover": ["recover", str(case / "t.h5")], "trials": ["trials", str(case)],
            "static": ["analyze", str(src["trial_path"]), "--static", str(case / "t.h5")]}[command]
    return f"trial {command}", what, argv


def in_process_case(rng: random.Random) -> str:
    """One fast case; returns its kind. Raises AssertionError or a foreign exception on failure."""
    from forceplate.errors import ForceplateError
    from forceplate.io.ascii import AsciiDecoder, encode_line
    from forceplate.io.codec import BINARY
    from forceplate.io.decoder import MAX_MESSAGES, FrameDecoder
    from forceplate.io.device import Device
    from forceplate.io.protocol import PacketType, encode_fields, encode_packet
    from forceplate.profiles import RATE_RANGE_HZ, parse_profile
    from forceplate.resources import profiles_dir

    kind = rng.choice(["binary", "ascii", "info", "profile", "calibration"])
    if kind == "binary":
        decoder, seq, t, parts = FrameDecoder(4), 0, 0, []
        for i in range(rng.randint(1, 300)):
            seq += rng.choice([1, 1, 1, 2, 0, -1, 30000, rng.randint(-40000, 70000)])
            t += rng.choice([1000, 1000, 0, -5000, 10**9, rng.randint(-2 * 10**6, 5 * 10**6)])
            parts.append(encode_packet(PacketType.DATA, seq, t, np.full(4, i, "<i4").tobytes()))
            parts += [encode_packet(PacketType.STATUS, seq, t, encode_fields({"x": i}))] * rng.choice([0, 0, 5])
        data = b"".join(parts)
        data, _ = mutate_bytes(data, rng) if rng.random() < 0.5 and data else (data, "")
        step = rng.randint(1, 400)
        for start in range(0, len(data), step):
            batch = decoder.feed(data[start:start + step])
            assert (np.diff(batch.seq) > 0).all()
        assert decoder.stats.lost_frames <= max(60_000, 10 * decoder.stats.frames)
        assert len(decoder.messages) <= MAX_MESSAGES
    elif kind == "ascii":
        decoder, t, lines = AsciiDecoder(4), 0, []
        for i in range(rng.randint(1, 300)):
            t += rng.choice([1000, 1000, -5000, 10**9, rng.randint(-2 * 10**6, 3 * 10**9)])
            lines.append(encode_line(t, [i] * 4))
        data, _ = mutate_bytes(b"".join(lines), rng)
        decoder.feed(data)
        assert decoder.stats.lost_frames <= max(60_000, 10 * decoder.stats.frames)
    elif kind == "info":
        fields = {"serial": "SIM-DP-0001", "profile": "dual-plate-ads1256", "rate_hz": "1000", "channels": "8"}
        for key in rng.sample(sorted(fields), rng.randint(1, 4)):
            fields[key] = rng.choice([*HOSTILE_NUMBERS, "../x", "/etc/passwd.toml", "a/b", "insole16", "x" * 300])
        try:
            device = Device(None, "fuzz://")
            device._configure(fields, BINARY)
            assert RATE_RANGE_HZ[0] <= device.profile.rate_hz <= RATE_RANGE_HZ[1]
        except ForceplateError:
            pass
    elif kind == "profile":
        name = rng.choice(sorted(p.name for p in profiles_dir().glob("*.toml")))
        data, _ = mutate_text((profiles_dir() / name).read_text(encoding="utf-8"), rng)
        try:
            profile = parse_profile(data.decode("utf-8", errors="replace"), where=name)
            assert RATE_RANGE_HZ[0] <= profile.rate_hz <= RATE_RANGE_HZ[1]
        except ForceplateError:
            pass
    else:
        from forceplate.calibration.record import parse_record

        text = (ROOT / "calibration" / rng.choice(["SIM-DP-0001.toml", "SIM-IN16-L.toml", "SIM-6A-0001.toml"])).read_text()
        data, _ = mutate_text(text, rng)
        try:
            parse_record(data.decode("utf-8", errors="replace"), source="fuzz")
        except ForceplateError:
            pass
    return f"wire/{kind}" if kind in ("binary", "ascii", "info") else kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", default="fuzz_long",
                        help="name of the figures file in benchmarks/results/ (runs side by side keep apart)")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: the shared recordings are needed")
    counts, failures, slowest, peak_rss = Counter(), [], 0.0, 0.0
    deadline = time.monotonic() + 60 * args.minutes
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = _sources(work)
        n = 0
        while n < args.cases and time.monotonic() < deadline:
            rng = random.Random(args.seed * 10**9 + n)
            if rng.random() < CLI_SHARE:
                kind, what, argv = cli_case(rng, src, work)
                outcome = run_cli(argv, timeout_s=CASE_TIME_LIMIT_S)
                slowest, peak_rss = max(slowest, outcome.seconds), max(peak_rss, outcome.peak_rss_mb)
                if outcome.failure:
                    failures.append(f"case {n} [{kind}] {what}: {outcome.describe()[:120]} ... {outcome.describe()[-300:]}")
                    print(failures[-1], file=sys.stderr)  # as found: a long run's end may be hours away
                counts[f"cli {kind}"] += 1
            else:
                try:
                    kind = in_process_case(rng)
                except Exception:  # noqa: BLE001 - a failure to report
                    kind = "in-process"
                    failures.append(f"case {n} [in-process]: {traceback.format_exc()[-400:]}")
                    print(failures[-1], file=sys.stderr)
                counts[kind] += 1
            n += 1
            if n % 1000 == 0:
                print(f"{n} cases, {len(failures)} failures, {time.monotonic() - start:.0f} s", file=sys.stderr)
    elapsed = time.monotonic() - start
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [f"cases run: {n} of {args.cases} asked ({'stopped by the time limit' if n < args.cases else 'all'}), "
             f"seed {args.seed}, {elapsed / 60:.1f} min on a machine shared with other jobs",
             f"failures (traceback, signal, hang, > 1 GB, not one line): {len(failures)}",
             f"slowest CLI case: {slowest:.1f} s (limit {CASE_TIME_LIMIT_S:g} s); peak RSS of a CLI case: "
             f"{peak_rss:.0f} MB; of the in-process cases: {own_rss:.0f} MB",
             "cases by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    lines += [f"  {f}" for f in failures[:20]]
    publish(args.results, "Long fuzz run (benchmarks/fuzz_long.py)", lines)


if __name__ == "__main__":
    main()
