"""Bytes in and out: the wire protocol, frame decoder, transports and device drivers."""

from forceplate.io.device import Device, open_device

__all__ = ["Device", "open_device"]
