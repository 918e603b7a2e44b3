"""What a new user is told to install must be installable: forceplate comes from a checkout,
there is no ``forceplate`` package on the index to take an extra from."""

import sys

import pytest

from forceplate.errors import FileFormatError
from forceplate.interop import require


def test_a_missing_optional_dependency_names_an_installable_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ezc3d", None)  # what Python does for a module that is not installed
    with pytest.raises(FileFormatError) as error:
        require("ezc3d")
    message = str(error.value)
    assert "forceplate[" not in message  # no such package on PyPI
    assert "pip install ezc3d" in message and "pip install '.[interop]'" in message
    assert "\n" not in message
