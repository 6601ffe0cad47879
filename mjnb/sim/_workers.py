"""Render processes shared by every simulator of this interpreter.

Drawing and encoding pictures is CPU work that holds the GIL in long stretches; on threads it made
the server's event loop wait seconds for the GIL with a few dozen jobs running. In processes the
loop keeps the GIL to itself and renders use every core. Functions sent here must be importable
module-level functions with picklable arguments (Pillow images pickle). ``urgent`` work (small
progress previews) has its own process so it never waits behind final renders.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import sys
import threading
import types
from concurrent.futures import Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

WORKERS = max(1, min(4, os.cpu_count() or 2))

_lock = threading.Lock()
_spawn_lock = threading.Lock()
_pools: dict[bool, ProcessPoolExecutor] = {}


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Start worker processes without re-running the user's ``__main__``.

    spawn and forkserver children import the parent's main module before running a function: a
    user's script without an ``if __name__ == "__main__":`` guard (one that makes a ``mjnb.Client()``)
    would start another simulator in every worker, and a script read from stdin cannot be imported
    at all.  The workers only ever run functions of ``mjnb.sim``, so they need no main module.
    """
    with _spawn_lock:
        real = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = real


class _Pool(ProcessPoolExecutor):
    def _spawn_process(self) -> None:
        with _main_hidden():
            super()._spawn_process()  # type: ignore[misc]


def pool(urgent: bool) -> Executor:
    """The render process pool (``urgent``: the one-process preview pool), started on first use."""
    with _lock:
        existing = _pools.get(urgent)
        if existing is None or _broken(existing):
            # forkserver: workers start from a clean process, not a fork of a server with threads.
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            existing = _Pool(1 if urgent else WORKERS, mp_context=multiprocessing.get_context(method))
            _pools[urgent] = existing
        return existing


def warm(timeout: float) -> None:
    """Start the render processes and wait (at most ``timeout`` seconds) until each has answered once.

    A job's first previews then never wait for a process to start.
    """
    futures = []
    for urgent in (False, True):
        executor = pool(urgent)
        futures += [executor.submit(os.getpid) for _ in range(1 if urgent else WORKERS)]
    wait(futures, timeout=timeout)


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
