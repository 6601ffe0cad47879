"""Render processes shared by every simulator of this interpreter.

Drawing and encoding pictures is CPU work that holds the GIL in long stretches; on threads it made
the server's event loop wait seconds for the GIL with a few dozen jobs running. In processes the
loop keeps the GIL to itself and renders use every core. Functions sent here must be importable
module-level functions with picklable arguments (Pillow images pickle). ``urgent`` work (small
progress previews) has its own process so it never waits behind final renders.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

WORKERS = max(1, min(4, os.cpu_count() or 2))

_lock = threading.Lock()
_pools: dict[bool, ProcessPoolExecutor] = {}


def pool(urgent: bool) -> Executor:
    """The render process pool (``urgent``: the one-process preview pool), started on first use."""
    with _lock:
        existing = _pools.get(urgent)
        if existing is None or _broken(existing):
            # forkserver: workers start from a clean process, not a fork of a server with threads.
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            existing = ProcessPoolExecutor(1 if urgent else WORKERS, mp_context=multiprocessing.get_context(method))
            _pools[urgent] = existing
        return existing


def warm() -> None:
    """Start the render processes now (without waiting), so the first jobs do not pay their start-up."""
    for urgent in (False, True):
        executor = pool(urgent)
        for _ in range(1 if urgent else WORKERS):
            executor.submit(os.getpid)


def _broken(executor: ProcessPoolExecutor) -> bool:
    return bool(getattr(executor, "_broken", False))


def shutdown() -> None:
    """Stop the render processes (at interpreter exit; a later render starts them again)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for executor in pools:
        executor.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown)

__all__ = ["WORKERS", "BrokenProcessPool", "pool", "shutdown", "warm"]
