"""The built-in simulator: a squatting person on devices that speak the real protocol."""
