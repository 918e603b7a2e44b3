import os
import signal
from pathlib import Path

import pytest

# Without a display Qt aborts the whole process: choose the offscreen platform before any
# QApplication exists (pytest-qt makes one lazily).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The real recordings beside the clone (../shared/data); FORCEPLATE_SHARED_DATA names another
# folder (a missing one shows what a clone without them runs: those tests skip).
SHARED_DATA = Path(os.environ.get("FORCEPLATE_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


@pytest.fixture
def shared_data():
    """The third-party recordings beside the repository; skips when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def lab_folder_of_its_own(tmp_path_factory, monkeypatch):
    """Each test gets an empty lab folder (calibration records, flag references) and an empty
    cache (the library index): a record, reference or cached listing on the developer's
    machine must not change a test's result, and no test may write into the user's own
    folders. Tests that set FORCEPLATE_HOME or FORCEPLATE_CACHE_DIR themselves still can."""
    monkeypatch.setenv("FORCEPLATE_HOME", str(tmp_path_factory.mktemp("lab")))
    monkeypatch.setenv("FORCEPLATE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def metadata_probe_as_it_was():
    """A test that runs the command in this process (``cli.main``) switches the metadata probe
    on for every file this process opens afterwards; later tests get it as it was before."""
    import forceplate.storage

    before = forceplate.storage.probe_metadata
    yield
    forceplate.storage.probe_metadata = before


def ctrl_c_as_at_a_terminal() -> None:
    """``preexec_fn`` of a child a test ends with SIGINT: Ctrl-C at its default, whatever the
    runner's (an asynchronous job of a non-interactive shell ignores SIGINT, and children
    inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
