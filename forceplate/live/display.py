"""Can this machine show the live window? Asked before a session opens any device or file.

A Qt that cannot start its platform plugin (a forwarded display that is gone, the X11
libraries Qt's xcb plugin needs missing) aborts the whole process from C++: there is no
exception to catch. So a child process starts Qt once and the answer is its exit status.
No Qt is imported here.
"""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys

PROBE_TIMEOUT_S = 30.0
PROBE = "from pyqtgraph.Qt import QtGui; QtGui.QGuiApplication([])"
# What Qt 6's xcb platform plugin links (objdump -p libqxcb.so libQt6XcbQpa.so.6 | grep NEEDED).
XCB_LIBRARIES = ("libX11.so.6", "libX11-xcb.so.1", "libxcb.so.1", "libxcb-cursor.so.0", "libxcb-icccm.so.4",
                 "libxcb-image.so.0", "libxcb-keysyms.so.1", "libxcb-randr.so.0", "libxcb-render.so.0",
                 "libxcb-render-util.so.0", "libxcb-shape.so.0", "libxcb-shm.so.0", "libxcb-sync.so.1",
                 "libxcb-util.so.1", "libxcb-xfixes.so.0", "libxcb-xkb.so.1", "libxkbcommon.so.0",
                 "libxkbcommon-x11.so.0")
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc")


def has_display(environ=os.environ) -> bool:
    """A display to show a window on, or a Qt platform that needs none (offscreen, vnc)."""
    if sys.platform != "linux":
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")
                or environ.get("QT_QPA_PLATFORM", "").startswith(HEADLESS_PLATFORMS))


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package of a shared library: libxcb-icccm.so.4 -> libxcb-icccm4.

    Debian's library policy: name + major version, with a dash when the name ends in a digit
    (libX11.so.6 -> libx11-6, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0).
    """
    name, _, version = soname.partition(".so.")
    name = name.lower()
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def missing_libraries(sonames=XCB_LIBRARIES, load=ctypes.CDLL) -> list[str]:
    """Which of ``sonames`` the dynamic loader cannot find."""
    missing = []
    for soname in sonames:
        try:
            load(soname)
        except OSError:
            missing.append(soname)
    return missing


def _uses_xcb(environ) -> bool:
    platform = environ.get("QT_QPA_PLATFORM", "")
    return sys.platform == "linux" and (platform.startswith("xcb") or (not platform and bool(environ.get("DISPLAY"))))


def window_problem(environ=os.environ, load=ctypes.CDLL) -> str | None:
    """Why the live window cannot open here, in one line with what to do; None when it can."""
    try:
        probe = subprocess.run([sys.executable, "-c", PROBE], env=dict(environ), capture_output=True, text=True,
                               timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"Qt did not start within {PROBE_TIMEOUT_S:g} s (is the display {environ.get('DISPLAY', '')} answering?)"
    if probe.returncode == 0:
        return None
    where = f"display {environ['DISPLAY']}" if environ.get("DISPLAY") else "this display"
    missing = missing_libraries(load=load) if _uses_xcb(environ) else []
    if missing:
        packages = " ".join(debian_package(soname) for soname in missing)
        return (f"the window cannot open on {where}: Qt's X11 (xcb) platform needs {', '.join(missing)}; "
                f"on Debian/Ubuntu: sudo apt-get install {packages}")
    if re.search(r"could not connect to display", probe.stderr, re.IGNORECASE):
        return f"the window cannot open: no X server answers on {where} (a forwarded display that is gone?)"
    said = [line.strip() for line in probe.stderr.splitlines() if line.strip()]
    reason = said[0] if said else f"Qt exited with status {probe.returncode}"
    return f"the window cannot open on {where}: {reason}"
