"""Faults and field outcomes a test schedules on the simulator (``sim.state.faults.add(kind, ...)``).

A fault matches a request whose full path starts with ``path`` ("" matches every path) and is
consumed ``times`` times. The kinds:

Transport (applied by the ASGI middleware in ``_app``, on any route):
  ``latency``       wait ``delay`` seconds, then answer normally;
  ``latency_after`` run the request (a submit creates its job), then hold the answer ``delay``
                    seconds: a client that dies meanwhile never learns the job's id;
  ``status``        answer ``status`` in the dialect's error shape (``retry_after`` adds Retry-After to a 429);
  ``drop_before``   close the connection without an answer: nothing is created;
  ``drop_after``    run the request, then close mid-answer: the job exists, its id never arrives.
Jobs (consumed by a mount when a submit creates a job):
  ``fail_job``      the job fails at its end with ``message`` (or the service's usual reason);
  ``no_image``      the job ends as a success without an image, as moderated jobs do: EvoLink
                    ``completed`` with ``results: []``, proxy/new-api ``SUCCESS`` with no ``imageUrl``,
                    AceData ``success: true`` without ``image_url``;
  ``video_result``  midjourney-proxy/new-api: the job ends as a VIDEO task of the trueai fork
                    (MP4 ``videoUrl``/``videoUrls``, ``imageUrls[].url``/``.thumbnail``).
Submits:
  ``no_account``    midjourney-proxy/new-api: the submit is answered code 3 "无可用的账号实例" (no
                    Discord account free) and creates nothing.
Streams (AceData ``accept: application/x-ndjson``):
  ``stream_end``    the stream ends cleanly after its first line (which carries the task id); the job goes on;
  ``stream_cut``    the connection is cut after the first line (an unfinished chunked body); the job goes on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = (
    "latency",
    "latency_after",
    "status",
    "drop_before",
    "drop_after",
    "fail_job",
    "no_image",
    "video_result",
    "no_account",
    "stream_end",
    "stream_cut",
)


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
        """Schedule a fault; the kinds and what each does are listed in this module's docstring.

        Raises:
            ValueError: an unknown ``kind``, a ``path`` not starting with "/", ``times`` < 1, a
                ``status`` outside 100..599, or a negative ``delay``/``retry_after`` (seconds).
        """
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
