"""Shared by the safety suites (fuzz, chaos, secrets) and their benches: a transport that records
every request that leaves the client, the simulator's own list of jobs, and a key canary.

A :class:`Recorder` is handed to a client through ``http_client=``: it sees each request exactly
as it would go on the wire (after mjnb's checks, after authentication) and forwards it to the real
simulator over loopback, or to a handler of its own (``httpx.MockTransport`` style) when a test
needs a server that misbehaves in a way the simulator does not.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

import httpx

T = TypeVar("T")

__all__ = [
    "Sent",
    "Recorder",
    "AsyncRecorder",
    "canary_key",
    "sim_jobs",
    "LoopThread",
    "SUBMIT_WORDS",
]

#: Path words of the routes that create (paid) jobs, on any of the four dialects.
SUBMIT_WORDS = (
    "/submit/",
    "/imagine",
    "/generations",
    "/edits",
    "/describe",
    "/shorten",
    "/translate",
    "/blend",
    "/variation",
    "/upscale",
)


def canary_key() -> str:
    """A key that cannot occur by chance: ``sk-canary-`` and 24 random hex digits."""
    return "sk-canary-" + secrets.token_hex(12)


@dataclass(frozen=True)
class Sent:
    """One request as it left the client: method, full URL, body bytes, and its headers (for the
    secrets suite, which checks where the key went)."""

    method: str
    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]

    @property
    def path(self) -> str:
        return unquote(httpx.URL(self.url).path)

    @property
    def is_submit(self) -> bool:
        """True for a request that may create a job (a POST that is not a read or a listing)."""
        path = self.path
        if self.method != "POST" or path.endswith(("/list-by-condition", "/list", "/tasks", "/retrieve_batch")):
            return False
        if path.endswith("/tasks") or "/image-seed" in path:
            return False
        return any(word in path for word in SUBMIT_WORDS) or "/v1/" in path

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


def _sent(request: httpx.Request) -> Sent:
    body = request.read()
    return Sent(request.method, str(request.url), body, tuple(request.headers.multi_items()))


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder(httpx.BaseTransport):
    """A sync transport that records each request, then forwards it over loopback (or to ``handler``)."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._handler = handler
        self._real = httpx.HTTPTransport() if handler is None else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.sent.append(_sent(request))
        if self._handler is not None:
            return self._handler(request)
        assert self._real is not None
        return self._real.handle_request(request)

    def mark(self) -> int:
        """The number of requests so far: ``since(mark)`` lists those sent after it."""
        with self._lock:
            return len(self.sent)

    def since(self, mark: int) -> list[Sent]:
        with self._lock:
            return list(self.sent[mark:])

    def close(self) -> None:
        if self._real is not None:
            self._real.close()


class AsyncRecorder(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`Recorder`."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.sent: list[Sent] = []
        self._handler = handler
        self._real = httpx.AsyncHTTPTransport() if handler is None else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.sent.append(_sent(request))
        if self._handler is not None:
            return self._handler(request)
        assert self._real is not None
        return await self._real.handle_async_request(request)

    def mark(self) -> int:
        return len(self.sent)

    def since(self, mark: int) -> list[Sent]:
        return list(self.sent[mark:])

    async def aclose(self) -> None:
        if self._real is not None:
            await self._real.aclose()


def sim_jobs(sim: Any, dialect: str) -> dict[str, str]:
    """Every job the simulator created on one dialect's mount, as ``{task id: prompt}``.

    Read from the mount's own store (not from the client's view), so a job whose answer never
    reached the client is listed too.
    """
    from starlette.routing import Mount

    app = sim._server.config.app
    for route in app.routes:
        if isinstance(route, Mount) and route.path == f"/{dialect}":
            state: Any = getattr(route.app, "state")  # a Starlette app's state; Mount types it as any ASGI app
            break
    else:
        raise LookupError(f"the simulator has no {dialect} mount")
    if dialect in ("mjproxy", "newapi"):
        # new-api relays to an upstream midjourney-proxy of its own: the jobs live in that engine.
        return {tid: _prompt_of(t) for tid, t in dict(state.engine.tasks).items()}
    if dialect == "acedata":
        return {tid: _prompt_of(j) for tid, j in dict(state.acedata.jobs).items()}
    return {tid: _prompt_of(t) for tid, t in dict(state.evolink.tasks).items()}


def _prompt_of(job: Any) -> str:
    for name in ("prompt", "prompt_en"):
        value = getattr(job, name, None) or getattr(getattr(job, "order", None), name, None)
        if isinstance(value, str) and value:
            return value
    return ""


class LoopThread:
    """An event loop on a thread of its own, so sync code (hypothesis, a bench) can drive an AsyncClient."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="safety-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
