"""``sim://KIND?options``: the simulator as a device URL (kinds and options: ``urls.py``).

Found by :mod:`forceplate.io.transport` from this module's name when a URL asks for
``sim://``; the simulator is a firmware stand-in, read on its pseudo-terminal like
hardware, or served on TCP by ``forceplate simulate URL --listen HOST:PORT``.
"""

from forceplate.io.transport import register_scheme
from forceplate.sim.urls import open_simulator

register_scheme("sim", firmware=open_simulator, example="sim://dual-plate")
