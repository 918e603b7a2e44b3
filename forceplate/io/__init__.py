"""Bytes in and out: the wire protocol, frame decoder, transports and device drivers.

``Device`` and ``open_device`` are imported from :mod:`forceplate.io.device` when first asked
for (PEP 562): importing one submodule (``forceplate.io.clock``) does not pull in the device
layer (profiles, decoder, transports: ~60 ms).
"""

__all__ = ["Device", "open_device"]


def __getattr__(name: str):
    if name in __all__:
        from forceplate.io import device

        return getattr(device, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
