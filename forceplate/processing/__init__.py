"""Pure numpy/scipy analysis of force and pressure arrays: no I/O, no Qt, no h5py.

The same functions serve offline analysis of whole arrays and the live stream.
"""
