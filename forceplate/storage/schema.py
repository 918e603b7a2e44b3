"""The trial file schema (docs/hdf5-schema.md is the reference)."""

SCHEMA = "forceplate-trial"
SCHEMA_VERSION = 1
# Reader accepts these versions; a newer file gets a clear "upgrade forceplate" error.
READABLE_VERSIONS = (1,)

EVENT_FIELDS = ("t_s", "kind", "rep", "side", "severity", "phase", "value", "text")
