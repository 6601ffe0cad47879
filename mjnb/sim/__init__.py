"""A local simulator of four Midjourney-style APIs (midjourney-proxy, new-api, AceData, EvoLink).

``Simulator(duration=0.3).start()`` serves all four on one loopback port; see ``Simulator.url``.
"""

from __future__ import annotations

from ._config import SimConfig
from ._server import Simulator

__all__ = ["SimConfig", "Simulator"]
