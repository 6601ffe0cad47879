"""The simulator's ASGI app: four dialect mounts, stored images, a health check, and fault injection."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from types import ModuleType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._guard import GuardMiddleware, close_connection
from ._state import SimState

log = logging.getLogger("mjnb.sim")

DIALECTS = ("mjproxy", "newapi", "acedata", "evolink")


def _plain_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message or "simulated fault"}, status_code=status)


class FaultMiddleware:
    """Applies the transport-level faults of ``state.faults`` to matching requests.

    Drops close the TCP connection: with no answer at all (``drop_before``, nothing created), or
    after the handler ran and half of its body was sent (``drop_after``: the job exists but the
    client cannot read its id), so httpx raises RemoteProtocolError either way.
    """

    def __init__(
        self, app: ASGIApp, state: SimState, error_responses: dict[str, Callable[[int, str], Response]]
    ) -> None:
        self.app = app
        self.state = state
        self.error_responses = error_responses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.state.faults.pending():
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        faults = self.state.faults
        latency = faults.take(path, "latency")
        if latency is not None:
            await asyncio.sleep(latency.delay)
        if faults.take(path, "drop_before") is not None:
            await _drain(receive)
            await _drop(receive, send, partial=None)
            return
        status = faults.take(path, "status")
        if status is not None:
            await _drain(receive)
            response = self._error_response(path, status.status, status.message)
            if status.status == 429 and status.retry_after is not None:
                response.headers["Retry-After"] = f"{status.retry_after:g}"
            await response(scope, receive, send)
            return
        late = faults.take(path, "latency_after")
        if late is not None:
            held = _Capture()
            await self.app(scope, receive, held)
            if await _client_stays(receive, late.delay):
                await held.replay(send)
            return
        if faults.take(path, "drop_after") is not None:
            captured = _Capture()
            await self.app(scope, receive, captured)
            await _drop(receive, send, partial=captured)
            return
        await self.app(scope, receive, send)

    def _error_response(self, path: str, status: int, message: str) -> Response:
        dialect = path.strip("/").split("/", 1)[0]
        make = self.error_responses.get(dialect, _plain_error)
        return make(status, message)


class _Capture:
    """An ASGI ``send`` that keeps the response instead of sending it."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def replay(self, send: Send) -> None:
        """Send the kept response as one message pair (a client gone meanwhile is the server's to notice)."""
        if self.start is not None:
            await send(self.start)
            await send({"type": "http.response.body", "body": bytes(self.body)})


async def _client_stays(receive: Receive, delay: float) -> bool:
    """Wait ``delay`` seconds; False as soon as the client disconnects (its answer is then dropped)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), delay)
    except asyncio.TimeoutError:
        return True
    return False


async def _drain(receive: Receive) -> None:
    # Read the whole request first so the client sees the drop as a missing answer, not a write error.
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _drop(receive: Receive, send: Send, partial: _Capture | None) -> None:
    if partial is not None and partial.start is not None:
        # Announce the full length, deliver half: the status line arrives, the job id does not.
        headers = [(k, v) for k, v in partial.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(partial.body) + 1).encode()))
        await send({"type": "http.response.start", "status": partial.start["status"], "headers": headers})
        await send(
            {"type": "http.response.body", "body": bytes(partial.body[: len(partial.body) // 2]), "more_body": True}
        )
    if close_connection(receive):
        return
    # Another server: an unfinished response makes it close the connection (it may log an error).
    if partial is None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})


async def _files(request: Request) -> Response:
    state: SimState = request.app.state.sim
    data = state.images.get(request.path_params["name"])
    if data is None:
        return JSONResponse({"error": "file not found"}, status_code=404)
    media = "video/mp4" if request.path_params["name"].endswith(".mp4") else "image/png"
    return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _requests(request: Request) -> Response:
    """``GET /_sim/requests?prefix=/mjproxy/``: the request log for clients in another process (no service has it)."""
    state: SimState = request.app.state.sim
    return JSONResponse(state.requests.summary(request.query_params.get("prefix", "")))


def _load_mount(dialect: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"{__package__}.{dialect}")
    except Exception:  # one broken or missing mount must not take the others down
        log.exception("simulator mount %r is unavailable", dialect)
        return None


def build_app(state: SimState) -> Starlette:
    routes: list[BaseRoute] = [
        Route("/healthz", _healthz),
        Route("/files/{name}", _files),
        Route("/_sim/requests", _requests),
    ]
    error_responses: dict[str, Callable[[int, str], Response]] = {}
    for dialect in DIALECTS:
        module = _load_mount(dialect)
        if module is None:
            continue
        try:
            routes.append(Mount(f"/{dialect}", app=module.create_app(state)))
        except Exception:
            log.exception("simulator mount %r failed to start", dialect)
            continue
        if hasattr(module, "error_response"):
            error_responses[dialect] = module.error_response

    def dialect_error(path: str, status: int, message: str) -> Response:
        make = error_responses.get(path.strip("/").split("/", 1)[0], _plain_error)
        return make(status, message)

    config = state.config
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                GuardMiddleware,
                error_response=dialect_error,
                max_body_bytes=config.max_body_bytes,
                body_timeout=config.body_timeout,
                record=state.requests.add,
            ),
            Middleware(FaultMiddleware, state=state, error_responses=error_responses),
        ],
    )
    app.state.sim = state
    return app
