"""What every mount shares: settings, the image store, image fetching, callbacks, faults, background jobs."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import io
import logging
import os
import re
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from PIL import Image
from starlette.requests import Request

from . import _workers, render
from ._config import SimConfig
from ._faults import FaultPlan

log = logging.getLogger("mjnb.sim")

MAX_UPLOAD_BYTES = 30 * 1024 * 1024
# Work that needs the state (decoding uploads, reading stored images) runs on a few threads;
# pictures render in processes (``_workers``), never on the event loop.
RENDER_WORKERS = max(2, min(4, os.cpu_count() or 2))
T = TypeVar("T")
CALLBACK_TIMEOUT = 10.0
_DATA_URL = re.compile(r"^data:([\w/+.-]*)(;[^,]*)?,", re.IGNORECASE)
_FILE_PATH = re.compile(r"^/files/([0-9a-f]{16}\.png)$")


class FetchFailed(Exception):
    """An image URL the simulator may not fetch (``strict_fetch``: it has no internet)."""


class BadImage(Exception):
    """Image data that does not decode as a picture."""


class ImageStore:
    """PNG bytes by content-derived name, oldest evicted beyond ``max_bytes``."""

    def __init__(self, max_bytes: int = 1 << 30) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._max = max_bytes
        self._lock = threading.Lock()

    def put(self, png: bytes, suffix: str = ".png") -> str:
        """Store ``png`` (or other media named by ``suffix``, such as ".mp4"); returns its file name."""
        name = hashlib.sha256(png).hexdigest()[:16] + suffix
        with self._lock:
            if name in self._items:
                self._items.move_to_end(name)
                return name
            self._items[name] = png
            self._size += len(png)
            while self._size > self._max and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)
        return name

    def get(self, name: str) -> bytes | None:
        with self._lock:
            return self._items.get(name)

    def __len__(self) -> int:
        return len(self._items)


def decode_image(data: bytes) -> Image.Image:
    """Bytes → a loaded Pillow image, or BadImage (also for decompression bombs)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadImage(f"image is {len(data)} bytes; at most {MAX_UPLOAD_BYTES} are accepted")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return img.copy() if img.mode != "P" else img.convert("RGBA")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadImage(f"not a decodable image ({type(exc).__name__})") from None


def decode_base64_image(text: str) -> Image.Image:
    """A data URL (``data:image/png;base64,…``) or bare base64 → image, or BadImage."""
    match = _DATA_URL.match(text)
    payload = text[match.end() :] if match else text
    if match and "base64" not in (match.group(2) or "").lower():
        raise BadImage("data URL is not base64-encoded")
    try:
        raw = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadImage("not valid base64") from None
    return decode_image(raw)


@dataclass(frozen=True)
class RequestRecord:
    """One request the simulator received: ``status`` is None when no status line went out (drop, client gone)."""

    method: str
    path: str
    status: int | None
    seconds: float = 0.0  # from the request's arrival at the server to the end of its answer


class RequestLog:
    """Every request per route, for tests that count what a client sent (thread-safe).

    ``count`` is exact for the server's whole life; ``records`` keeps the last ``keep`` requests.
    """

    def __init__(self, keep: int = 100_000) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._records: deque[RequestRecord] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, method: str, path: str, status: int | None, seconds: float = 0.0) -> None:
        with self._lock:
            self._counts[(method, path)] += 1
            self._records.append(RequestRecord(method, path, status, seconds))

    def count(self, path_prefix: str = "", method: str | None = None) -> int:
        """Requests whose path starts with ``path_prefix`` (and whose method is ``method``, if given)."""
        with self._lock:
            return sum(
                n
                for (m, p), n in self._counts.items()
                if p.startswith(path_prefix) and (method is None or m == method.upper())
            )

    def records(self, path_prefix: str = "") -> list[RequestRecord]:
        """The kept requests, oldest first, whose path starts with ``path_prefix``."""
        with self._lock:
            return [r for r in self._records if r.path.startswith(path_prefix)]

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._records.clear()

    def summary(self, path_prefix: str = "") -> dict[str, Any]:
        """Counts per route and server-side answer times (ms, p50/p95/max of the kept requests)."""
        with self._lock:
            counts = {f"{m} {p}": n for (m, p), n in self._counts.items() if p.startswith(path_prefix)}
            times = sorted(r.seconds * 1000 for r in self._records if r.path.startswith(path_prefix))

        def pick(q: float) -> float | None:
            return round(times[min(len(times) - 1, int(len(times) * q))], 3) if times else None

        return {
            "requests": sum(counts.values()),
            "by_route": counts,
            "ms": {"p50": pick(0.5), "p95": pick(0.95), "max": round(times[-1], 3) if times else None},
        }


class SimState:
    """Shared by every mount's ``create_app(state)``; lives as long as the server."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.images = ImageStore()
        self.faults = FaultPlan()
        self.requests = RequestLog()
        self.callback_log: list[dict[str, Any]] = []
        self.background_errors: list[BaseException] = []
        self.jobs_created = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.bound_port: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        # Mounts that serve images under their own paths (new-api's /mj/image/{id}) register a
        # lookup here, so fetch_image decodes those URLs to the real picture too.
        self.url_resolvers: list[Callable[[str], bytes | None]] = []
        self._http: httpx.AsyncClient | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    async def render(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        """Run ``fn(*args)`` (drawing, encoding) in a render process and await it.

        ``fn`` must be a module-level function and ``args`` picklable; ``urgent`` work (small
        progress previews) has a process of its own, so it never waits behind final renders.
        """
        return await asyncio.get_running_loop().run_in_executor(_workers.pool(urgent), functools.partial(fn, *args))

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` that needs this state (decoding uploads, reading stored images) off the loop."""
        with self._pool_lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(RENDER_WORKERS, thread_name_prefix="mjnb-sim-io")
            threads = self._threads
        return await asyncio.get_running_loop().run_in_executor(threads, functools.partial(fn, *args))

    def now(self) -> float:
        return time.time()

    def origin(self, request: Request) -> str:
        """``scheme://host[:port]`` as the client reached us (the Host header), for absolute URLs."""
        host = request.headers.get("host")
        if not host:
            server = request.scope.get("server") or (self.config.host, self.bound_port)
            host = f"{server[0]}:{server[1]}"
        return f"{request.url.scheme}://{host}"

    def file_url(self, request: Request, name: str) -> str:
        """The absolute URL of a stored image, on the host the client used to reach us."""
        return f"{self.origin(request)}/files/{name}"

    def fetch_image(self, url_or_data_url: str) -> Image.Image:
        """Decode a data URL, bare base64 or one of our /files/ URLs; draw any other URL (no internet)."""
        text = (url_or_data_url or "").strip()
        if not text:
            raise BadImage("empty image reference")
        if text[:5].lower() == "data:" or "://" not in text:
            return decode_base64_image(text)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https"):
            raise BadImage(f"unsupported URL scheme {parts.scheme!r}; use http(s) or a data URL")
        own = _FILE_PATH.match(parts.path)
        if own:
            # Names are content hashes, so a stored one is ours whatever host (or proxy) the URL names.
            data = self.images.get(own.group(1))
            if data is not None:
                return decode_image(data)
            if self._is_own_host(parts.hostname, parts.port):
                raise FetchFailed(f"{text} is not (or no longer) stored")
        if self._is_own_host(parts.hostname, parts.port):
            for resolve in self.url_resolvers:
                data = resolve(parts.path)
                if data is not None:
                    return decode_image(data)
        if self.config.strict_fetch:
            raise FetchFailed(f"cannot download {text}: the simulator has no internet (strict_fetch)")
        return render.picture_from_url(text)

    def _is_own_host(self, hostname: str | None, port: int | None) -> bool:
        return hostname in ("127.0.0.1", "localhost", "::1", self.config.host) and port == self.bound_port

    async def post_callback(self, url: str, payload: dict[str, Any], retries: tuple[float, ...] = ()) -> None:
        """POST ``payload`` as JSON to ``url``; retry after each delay in ``retries``; never raises.

        Awaiting it waits for delivery; mounts usually hand it to ``spawn`` to run in the background.
        Every attempt is appended to ``callback_log``.
        """
        delays = (0.0, *retries)
        for attempt, delay in enumerate(delays, start=1):
            if delay:
                await asyncio.sleep(delay)
            entry: dict[str, Any] = {"url": url, "status": None, "attempt": attempt, "error": None}
            try:
                response = await self._client().post(url, json=payload)
                entry["status"] = response.status_code
                self.callback_log.append(entry)
                if 200 <= response.status_code < 300:
                    return
            except Exception as exc:  # any delivery problem is only recorded, as the services do
                entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
                self.callback_log.append(entry)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=CALLBACK_TIMEOUT, follow_redirects=False, trust_env=False)
        return self._http

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        """Run ``coro`` in the background on the server loop, keeping a reference until it ends.

        While the server shuts down, new work is dropped (returns None).
        """
        if self._closing:
            coro.close()
            return None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is None or (self.loop is not None and running is not self.loop):
            if self.loop is None:
                coro.close()
                raise RuntimeError("the simulator is not running")
            asyncio.run_coroutine_threadsafe(self._adopt(coro), self.loop)
            return None
        task = running.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    async def _adopt(self, coro: Coroutine[Any, Any, None]) -> None:
        self.spawn(coro)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            self.background_errors.append(exc)
            log.error("simulator background job failed", exc_info=exc)

    def reopen(self) -> None:
        """Accept background work again (the server was started anew after a stop)."""
        self._closing = False

    async def shutdown(self) -> None:
        """Cancel background jobs and close the callback client (on the server loop)."""
        self._closing = True
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        with self._pool_lock:
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)
