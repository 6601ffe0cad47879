"""A local simulator of four Midjourney-style APIs (midjourney-proxy, new-api, AceData, EvoLink).

``Simulator(duration=0.3).start()`` serves all four on one loopback port; see ``Simulator.url``.
``main(argv)`` is the command line (``python -m mjnb.sim``, ``mjnb sim``); its options are listed in ``_cli``.
"""

from __future__ import annotations

from ._cli import main
from ._config import SimConfig
from ._server import Simulator

__all__ = ["SimConfig", "Simulator", "main"]
