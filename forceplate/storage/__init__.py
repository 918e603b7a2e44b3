"""HDF5 trial files: schema, crash-safe writer, reader, recovery after a crash."""

# Trial files come from outside: the reader first reads each file's metadata in a forked
# child under a time limit (see reader.open_h5), since damaged metadata can hang the HDF5
# library where nothing in-process can stop it. The ``forceplate`` command turns it on; a
# library caller reading files it wrote itself leaves it off. It lives here, not in the
# reader, so the command sets it without importing h5py.
probe_metadata = False
