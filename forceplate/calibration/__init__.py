"""Calibration: records that turn raw counts into newtons, and the procedures that make them."""

from forceplate.calibration.record import CalibrationRecord, find_record, load_record, parse_record

__all__ = ["CalibrationRecord", "find_record", "load_record", "parse_record"]
