"""One exception tree, so callers catch what they can handle and the CLI prints one line."""


def one_line(exc: BaseException) -> str:
    """A wrapped library error's message on one line (h5py's and numpy's can span several),
    all of it kept: a reason may be on any line."""
    return " ".join(str(exc).split())


class ForceplateError(Exception):
    """Base of every error this package raises on purpose."""


class DeviceError(ForceplateError):
    """A device could not be opened, spoke something unexpected, or went away."""


class BadDeviceURL(DeviceError):
    """A device URL names an unknown scheme, device kind or option."""


class DeviceNotFound(DeviceError):
    """The port named by a device URL does not exist or cannot be opened."""


class HandshakeError(DeviceError):
    """The port opened but no device answered the INFO handshake."""


class DeviceDisconnected(DeviceError):
    """The device stopped answering mid-stream (unplugged, powered off)."""


class ProfileError(ForceplateError):
    """A device profile is missing or malformed."""


class CalibrationError(ForceplateError):
    """A calibration record is missing, malformed or does not match its device."""


class TrialError(ForceplateError):
    """A trial file cannot be read."""


class CorruptTrial(TrialError):
    """A trial file is not HDF5, is truncated, or is not a forceplate trial."""


class UnsupportedSchema(TrialError):
    """A trial file was written by a newer schema version than this software reads."""


class FileFormatError(ForceplateError):
    """A file to import or export is unreadable, malformed, unsupported or not in the expected format."""
