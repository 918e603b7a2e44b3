"""Pure numpy/scipy analysis of force and pressure arrays: no I/O, no Qt, no h5py.

The same functions serve offline analysis of whole arrays and the live stream.
"""

# The squat analysis' version (processing/analysis.py), stored with its results: here so that
# what only compares stored results with it (trials, compare) does not import the analysis.
ALGORITHM_VERSION = "0.6"
