"""The faces of a live session: a terminal view and the pyqtgraph window."""
