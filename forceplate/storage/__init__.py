"""HDF5 trial files: schema, crash-safe writer, reader, recovery after a crash."""
