"""The simulator under abuse: bounded request bodies, slow clients, hostile JSON, client disconnects.

- ``decode_json`` turns raw bytes into JSON or a ``ValueError`` for every way a body can be bad
  (syntax, nesting deeper than ``MAX_JSON_DEPTH``, lone UTF-16 surrogates such as ``"\\ud800"``),
  so each mount answers its service's own 400 instead of a 500 from a RecursionError or a
  UnicodeEncodeError later on.
- ``GuardMiddleware`` reads a request body before the mount sees it, answering 413 (in the
  dialect's own error shape) as soon as more than ``max_body_bytes`` arrived, and 408 when the
  body takes longer than ``body_timeout`` seconds; a client that disconnects is one log line.
- ``BoundedH11Protocol`` closes connections whose request head does not arrive within
  ``header_timeout`` seconds (uvicorn's keep-alive timer stops at the first byte, so a client
  sending a header byte now and then would otherwise hold the connection for ever).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import h11
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("mjnb.sim")

MAX_JSON_DEPTH = 64
DEFAULT_MAX_BODY_BYTES = 30 * 1024 * 1024
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_HEADER_TIMEOUT = 10.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ErrorResponse = Callable[[str, int, str], Response]


def decode_json(raw: bytes) -> Any:
    """Parse a request body as JSON; ``ValueError`` (with a reason) for anything a service would refuse.

    Raises:
        ValueError: not JSON, not UTF-8, nested deeper than ``MAX_JSON_DEPTH``, or a string or key
            holding a lone surrogate (valid JSON escape, but no service can store it as UTF-8).
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise ValueError("request body is not UTF-8") from None
    check_json(value)
    return value


def check_json(value: Any) -> None:
    """Raise ``ValueError`` when ``value`` nests deeper than ``MAX_JSON_DEPTH`` or holds a lone surrogate."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # iterative: the point is to survive depths that break recursion
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            "a string holds a lone UTF-16 surrogate (such as \\ud800), which is not valid Unicode"
        ) from None


class GuardMiddleware:
    """Bounded body reading and quiet disconnects for every route of the simulator (ASGI middleware)."""

    def __init__(
        self,
        app: Any,
        error_response: ErrorResponse,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        record: Callable[[str, str, int | None, float], None] | None = None,
    ) -> None:
        self.app = app
        self.error_response = error_response
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: int | None = None
        arrived = time.perf_counter()

        def record() -> None:
            if self.record is not None:
                self.record(scope.get("method", "?"), scope.get("path", "?"), status, time.perf_counter() - arrived)

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                # Counted before the answer leaves: a client that got its answer finds it in the log.
                record()
            await send(message)

        try:
            await self._guarded(scope, receive, observed)
        finally:
            if status is None:  # no answer at all (a dropped connection): counted too
                record()

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = f"{scope.get('method', '?')} {scope.get('path', '?')}"
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send, 413, self._too_large(declared))
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.body_timeout)
        except asyncio.TimeoutError:
            log.warning("%s: the request body did not arrive within %g s; answered 408", where, self.body_timeout)
            await self._refuse(scope, receive, send, 408, f"request body not received within {self.body_timeout:g} s")
            return
        except _TooLarge as exc:
            await self._refuse(scope, receive, send, 413, self._too_large(exc.size))
            return
        except ClientDisconnect:
            log.info("%s: the client disconnected before sending its whole body", where)
            return
        try:
            await self.app(scope, _Replay(body, receive), send)
        except ClientDisconnect:
            log.info("%s: the client disconnected before the answer was sent", where)

    def _too_large(self, size: int) -> str:
        return f"request body is larger than {self.max_body_bytes} bytes (got at least {size})"

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge(size)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        response = self.error_response(scope["path"], status, message)
        # The rest of the body is never read, so the connection cannot carry another request.
        response.headers["connection"] = "close"
        await response(scope, receive, send)


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class _Replay:
    """An ASGI ``receive`` that first hands over the body read by the guard, then the real messages."""

    def __init__(self, body: bytes, receive: Receive) -> None:
        self._body: bytes | None = body
        self._receive = receive
        # The fault middleware closes uvicorn's connection, found through the original bound method.
        self.cycle = getattr(receive, "cycle", None) or getattr(receive, "__self__", None)

    async def __call__(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        message: Message = await self._receive()  # later calls wait for the disconnect, as streaming expects
        return message


def close_connection(receive: Receive) -> bool:
    """Close uvicorn's connection behind ``receive`` at once (a simulated cut); False on another server."""
    cycle = getattr(receive, "cycle", None) or getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.close()
    cycle.disconnected = True  # type: ignore[union-attr]  # uvicorn then neither logs nor answers
    return True


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on receiving each request head.

    ``header_timeout`` is read from the class (set by ``bounded_protocol``) because uvicorn
    builds one protocol per connection with a fixed signature.
    """

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        waiting_for_head = self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]
        if waiting_for_head and self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)
        elif not waiting_for_head and self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.warning("a request head did not arrive within %g s; closing the connection", self.header_timeout)
            self.transport.close()


def bounded_protocol(header_timeout: float) -> type[BoundedH11Protocol]:
    """A ``BoundedH11Protocol`` subclass with its own ``header_timeout`` (seconds)."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"header_timeout": float(header_timeout)})
