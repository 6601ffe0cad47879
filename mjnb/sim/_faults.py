"""Faults a test schedules on the simulator: latency, error statuses, dropped connections, failed jobs.

A fault matches a request whose full path starts with ``path`` ("" matches every path) and is
consumed ``times`` times. The ASGI middleware in ``_app`` applies the transport kinds; mounts
consume ``fail_job`` when they create a job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("latency", "status", "drop_before", "drop_after", "fail_job")


@dataclass
class Fault:
    kind: str
    path: str = ""
    times: int = 1
    status: int = 503
    delay: float = 0.0
    message: str = ""
    retry_after: float | None = None


class FaultPlan:
    """A thread-safe list of pending faults (tests add them from their thread, the server takes them)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        kind: str,
        *,
        path: str = "",
        times: int = 1,
        status: int = 503,
        delay: float = 0.0,
        message: str = "",
        retry_after: float | None = None,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise ValueError(f"path must be '' (any) or a path prefix starting with '/', got {path!r}")
        if not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be an integer >= 1, got {times!r}")
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status in 100..599, got {status!r}")
        if not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError(f"delay must be a number of seconds >= 0, got {delay!r}")
        if retry_after is not None and (not isinstance(retry_after, (int, float)) or retry_after < 0):
            raise ValueError(f"retry_after must be None or seconds >= 0, got {retry_after!r}")
        fault = Fault(kind, path, times, status, float(delay), message, retry_after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str, kind: str) -> Fault | None:
        """Consume one use of the first pending ``kind`` fault whose prefix matches ``path``."""
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and path.startswith(fault.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
