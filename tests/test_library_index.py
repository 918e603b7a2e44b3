"""The library index (forceplate/library/index.py): ``trials`` and ``compare`` answered from the
cache say exactly what they say without it, a changed trial never shows its old results, a
damaged or unusable cache is ignored, and an answer from the cache imports neither numpy nor
h5py (issue 14: those two alone are 0.3 s of CPU)."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import SHARED_DATA
from forceplate.library import index as library_index
from forceplate.library.index import LibraryIndex, cache_dir, file_identity
from forceplate.library.simulated import SimulatedTrial, write_simulated_trial
from test_startup import imported_by, loaded

CMJ = SHARED_DATA / "vertical-jumps-fz" / "Dual-CMJ-Fz.txt"


def forceplate(*args, cwd, cache=None, **env):
    """The command as a user runs it, with this cache folder (None: the cache turned off)."""
    environment = {**os.environ, **env}
    if cache is None:
        environment["FORCEPLATE_NO_CACHE"] = "1"
    else:
        environment["FORCEPLATE_CACHE_DIR"] = str(cache)
    ran = subprocess.run([sys.executable, "-m", "forceplate", *args], capture_output=True, text=True, cwd=cwd,
                         env=environment, timeout=120)
    return ran.returncode, ran.stdout, ran.stderr


def settle():
    """Wait until the files just written are old enough to be kept (library/index.py SETTLED_S)."""
    time.sleep(library_index.SETTLED_S + 0.1)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Squats at three loads (two subjects) with stored results, a real countermovement jump
    (when the shared data are here) analysed and saved twice over, a squat never analysed, a
    file that is no trial."""
    folder = tmp_path_factory.mktemp("indexed")
    specs = {"light.h5": SimulatedTrial(load_kg=20, seed=1, valgus={2: ("right", "moderate")}),
             "medium.h5": SimulatedTrial(load_kg=40, seed=2, reps=4, valgus={1: ("left", "severe")}),
             "heavy.h5": SimulatedTrial(load_kg=60, seed=3, subject="P02", valgus={1: ("left", "moderate")}),
             "never_analysed.h5": SimulatedTrial(load_kg=30, seed=4)}
    for name, spec in specs.items():
        write_simulated_trial(folder / name, spec)
    saved = ["light.h5", "medium.h5", "heavy.h5"]
    if CMJ.exists():
        assert forceplate("import", str(CMJ), "-o", "jump.h5", cwd=folder)[0] == 0
        saved.append("jump.h5")
    for name in saved:
        status, _, err = forceplate("analyze", name, "--save", cwd=folder)
        assert status == 0, err
    if CMJ.exists():
        shutil.copy(folder / "jump.h5", folder / "jump_again.h5")
    (folder / "not_a_trial.h5").write_bytes(b"no HDF5 here")
    settle()
    return folder


def stored_only(library, tmp_path) -> "Path":
    """A folder of the library's trials with stored results only (copies: each test changes its own)."""
    folder = tmp_path / "stored"
    folder.mkdir()
    for name in ("light.h5", "medium.h5"):
        shutil.copy(library / name, folder / name)
    settle()
    return folder


COMMANDS = [["trials", "."], ["trials", ".", "--json"], ["trials", ".", "--subject", "P01", "--json"],
            ["trials", ".", "--exercise", "SQUAT"],
            ["compare", "light.h5", "medium.h5"], ["compare", "light.h5", "medium.h5", "heavy.h5", "--json"],
            ["compare", "medium.h5", "light.h5", "never_analysed.h5"],
            ["compare", "light.h5", "medium.h5", "--threshold-scale", "2", "--json"],
            ["compare", "light.h5", "not_a_trial.h5"]]
JUMP_COMMANDS = [["compare", "jump.h5", "jump_again.h5"], ["compare", "jump.h5", "jump_again.h5", "--json"]]


@pytest.mark.slow
def test_answers_are_byte_identical_without_the_cache_when_it_fills_and_when_it_answers(library, tmp_path):
    cache = tmp_path / "cache"
    commands = COMMANDS + (JUMP_COMMANDS if CMJ.exists() else [])
    for command in commands:
        without = forceplate(*command, cwd=library)
        filling = forceplate(*command, cwd=library, cache=cache)
        answered = forceplate(*command, cwd=library, cache=cache)
        assert filling == without and answered == without, command
        assert "Traceback" not in without[2]
    page = tmp_path / "compared.html"
    pages = []
    for cache_folder in (None, cache):  # the cache already holds both trials
        assert forceplate("compare", "light.h5", "medium.h5", "--report", str(page), "--force", cwd=library,
                          cache=cache_folder)[0] == 0
        pages.append(page.read_bytes())
    assert pages[0] == pages[1]
    kept = sorted(p.name.split("-")[0] for p in (cache / "library-index").iterdir())
    # every trial whose results are stored, once for trials and once for compare's default options
    # (the doubled threshold scale analyses afresh: never kept); nothing for the others
    stored = 5 if CMJ.exists() else 3
    assert kept == ["compare"] * stored + ["trials"] * stored


def test_an_answer_from_the_cache_imports_neither_numpy_nor_h5py(library, tmp_path):
    folder = stored_only(library, tmp_path)
    for command in (["trials", "."], ["compare", "light.h5", "medium.h5", "--json"]):
        filling = imported_by(command, folder)  # cache: the per-test folder conftest.py sets
        assert "h5py" in filling and "numpy" in filling  # the probe sees what a miss reads
        answered = imported_by(command, folder)
        assert loaded(answered, ("numpy", "h5py", "forceplate.storage.reader", "forceplate.exercises")) == [], command
        assert "forceplate.library.index" in answered


@pytest.mark.slow
def test_a_changed_trial_never_shows_its_old_results(library, tmp_path):
    folder = stored_only(library, tmp_path)
    cache = tmp_path / "cache"
    trial = folder / "light.h5"

    def same_with_and_without_cache(*command):
        answered = forceplate(*command, cwd=folder, cache=cache)
        assert answered == forceplate(*command, cwd=folder), command
        return answered[1]

    def listed() -> list[dict]:
        return json.loads(same_with_and_without_cache("trials", ".", "--json"))

    def compared() -> dict:
        return json.loads(same_with_and_without_cache("compare", "light.h5", "medium.h5", "--json"))

    assert listed()[0]["subject"] == compared()["trials"][0]["subject"] == "P01"  # kept
    # the subject rewritten in place: the same size, inode and modification time (set back);
    # only the change time tells
    before = os.stat(trial)
    data = bytearray(trial.read_bytes())
    at = data.index(b"P01")
    data[at:at + 3] = b"P77"
    with open(trial, "r+b") as out:
        out.write(data)
    os.utime(trial, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(trial)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    assert listed()[0]["subject"] == compared()["trials"][0]["subject"] == "P77"
    settle()  # kept again once settled (the first of these), then answered from the cache as changed
    for _ in range(2):
        assert listed()[0]["subject"] == compared()["trials"][0]["subject"] == "P77"
    os.utime(trial)  # touched: the same answer, read again
    assert listed()[0]["subject"] == "P77"
    # replaced by another trial (a new inode), then cut short: each read as it is now
    shutil.copy(library / "heavy.h5", folder / "swap.h5")
    os.replace(folder / "swap.h5", trial)
    assert listed()[0]["subject"] == "P02"
    with open(trial, "r+b") as out:
        out.truncate(4096)
    rows = listed()
    assert "error" in rows[0] and rows[1]["subject"] == "P01"
    status, out, err = forceplate("compare", "light.h5", "medium.h5", cwd=folder, cache=cache)
    assert status == 2 and out == "" and err.count("\n") == 1 and "light.h5" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_damaged_or_unusable_cache_is_ignored_and_rewritten(library, tmp_path):
    folder = stored_only(library, tmp_path)
    cache = tmp_path / "cache"
    commands = (["trials", "."], ["compare", "light.h5", "medium.h5"])
    expected = [forceplate(*command, cwd=folder) for command in commands]
    assert [forceplate(*command, cwd=folder, cache=cache) for command in commands] == expected
    entries = sorted((cache / "library-index").iterdir())
    intact = {entry: entry.read_bytes() for entry in entries}

    def flip_a_value_byte(text: bytes) -> bytes:
        at = text.index(b'"value"') + 20
        return text[:at] + bytes([text[at] ^ 0x01]) + text[at + 1:]

    damages = {"cut short": lambda text: text[:len(text) // 2], "a byte flipped": flip_a_value_byte,
               "not UTF-8": lambda text: b"\xff\xfe" + text, "deeply nested": lambda text: b"[" * 100_000,
               "empty": lambda text: b"", "another file's": lambda text: intact[entries[0]]}
    for damage, change in damages.items():
        for entry, text in intact.items():
            entry.write_bytes(change(text))
        assert [forceplate(*command, cwd=folder, cache=cache) for command in commands] == expected, damage
        assert {entry: entry.read_bytes() for entry in entries} == intact, damage  # rewritten whole
    for entry in entries:  # no file where an entry goes: a FIFO (a plain read of it would wait for ever)
        entry.unlink()
        os.mkfifo(entry)
    assert [forceplate(*command, cwd=folder, cache=cache) for command in commands] == expected
    assert {entry: entry.read_bytes() for entry in entries} == intact  # entries again
    # a cache folder that cannot be made (a file where it would be) or written
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert [forceplate(*command, cwd=folder, cache=blocker / "cache") for command in commands] == expected
    assert [forceplate(*command, cwd=folder, cache=blocker) for command in commands] == expected


def test_an_entry_is_kept_only_for_a_settled_file_unchanged_while_it_was_read(tmp_path, monkeypatch):
    monkeypatch.setenv("FORCEPLATE_CACHE_DIR", str(tmp_path / "cache"))
    trial = tmp_path / "t.h5"
    trial.write_bytes(b"x" * 100)
    index = LibraryIndex("trials")
    value, identity = index.lookup(trial)
    assert value is None and identity == file_identity(trial)
    index.store(identity, {"reps": 3})
    assert index.lookup(trial)[0] is None  # written just now: it may change again within its clock's tick
    old = time.time_ns() - 10**10
    os.utime(trial, ns=(old, old))
    monkeypatch.setattr(library_index, "SETTLED_S", 0.0)  # the change time is now: let it count as settled
    value, identity = index.lookup(trial)
    trial.write_bytes(b"y" * 100)  # changed while the caller read it
    index.store(identity, {"reps": 3})
    assert index.lookup(trial)[0] is None
    value, identity = index.lookup(trial)
    index.store(identity, {"reps": 4, "shift_mm": -0.0, "nan": float("nan")})
    kept = index.lookup(trial)[0]
    assert kept["reps"] == 4 and str(kept["shift_mm"]) == "-0.0" and kept["nan"] != kept["nan"]  # JSON keeps every bit
    index.store(identity, {"reps": object()})  # what JSON cannot hold is not kept, and raises nothing
    assert index.lookup(trial)[0]["reps"] == 4
    assert LibraryIndex("compare").lookup(trial)[0] is None  # another kind of answer
    assert LibraryIndex("trials", "[10, 1.0]").lookup(trial)[0] is None  # other options
    monkeypatch.setattr(library_index, "_stamp", "other code")
    assert index.lookup(trial)[0] is None  # made by other code
    assert not list((tmp_path / "cache" / "library-index").glob("*.tmp"))


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.delenv("FORCEPLATE_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_dir() == tmp_path / ".cache" / "forceplate" / "library-index"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "forceplate" / "library-index"
    monkeypatch.setenv("FORCEPLATE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine" / "library-index"
    monkeypatch.setenv("FORCEPLATE_NO_CACHE", "1")
    assert cache_dir() is None and LibraryIndex("trials").lookup(tmp_path)[0] is None


def test_the_index_stays_within_its_bounds(tmp_path, monkeypatch):
    folder = tmp_path / "library-index"
    folder.mkdir()
    for i in range(30):
        entry = folder / f"trials-0-{i:x}-00000000.json"
        entry.write_bytes(b"x" * 1000)
        os.utime(entry, ns=(i * 10**9, i * 10**9))  # the first written longest ago
    left_by_a_dead_process = folder / ".trials-0-1-00000000.json.1.1.tmp"
    left_by_a_dead_process.write_bytes(b"")
    os.utime(left_by_a_dead_process, (0, 0))
    being_written = folder / ".trials-0-2-00000000.json.2.2.tmp"
    being_written.write_bytes(b"")
    monkeypatch.setattr(library_index, "MAX_ENTRIES", 20)
    library_index.prune(folder)
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(f"trials-0-{i:x}-00000000.json" for i in range(12, 30))
    assert being_written.exists() and not left_by_a_dead_process.exists()
    monkeypatch.setattr(library_index, "MAX_TOTAL_BYTES", 10_000)
    library_index.prune(folder)
    assert len(list(folder.glob("*.json"))) == 9  # 90 % of the bytes allowed


WRITER = """
import sys
from forceplate.library import index
index.SETTLED_S = 0.0
trial, value = sys.argv[1], int(sys.argv[2])
store = index.LibraryIndex("trials")
for _ in range(300):
    store.store(store.lookup(trial)[1], {"writer": value, "padding": "x" * 5000})
"""


def test_two_processes_writing_one_entry_never_leave_a_damaged_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FORCEPLATE_CACHE_DIR", str(tmp_path / "cache"))
    trial = tmp_path / "t.h5"
    trial.write_bytes(b"x" * 100)
    old = time.time_ns() - 10**10
    os.utime(trial, ns=(old, old))
    monkeypatch.setattr(library_index, "SETTLED_S", 0.0)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(trial), str(n)]) for n in (1, 2)]
    index, seen = LibraryIndex("trials"), set()
    while any(w.poll() is None for w in writers):
        value = index.lookup(trial)[0]
        if value is not None:
            assert value["padding"] == "x" * 5000
            seen.add(value["writer"])
    assert [w.wait() for w in writers] == [0, 0]
    assert index.lookup(trial)[0]["writer"] in (1, 2) and seen <= {1, 2}
    assert [p.name for p in (tmp_path / "cache" / "library-index").iterdir()] == [
        f"trials-{os.stat(trial).st_dev:x}-{os.stat(trial).st_ino:x}-00000000.json"]
