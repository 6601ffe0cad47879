"""Sending described requests over HTTP: the only module of the client side that imports httpx.

Retry policy (DESIGN.md, "Money and data safety"):

* reads (``Request.submit`` false) retry connection failures, timeouts, 429 and 5xx with
  exponential backoff, honouring ``Retry-After``;
* submits retry only when the failure proves no job was created: the connection was never
  established (refused, connect timeout, no free connection) or the server answered 429.
  Anything after the request may have left the machine is reported, never resent.
"""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator, Callable, Generator, Iterator, Mapping

import httpx

if TYPE_CHECKING:
    import asyncio

from ._errors import TransportError, ValidationError
from ._version import __version__
from .dialects import Request, Response, retry_after

__all__ = [
    "RetryPolicy",
    "SyncTransport",
    "AsyncTransport",
    "SendFailed",
    "KeyAuth",
    "HeadersFor",
    "SyncHTTPClient",
    "AsyncHTTPClient",
]

#: The HTTP clients a caller may bring (``http_client=``): named here so that only this module imports httpx.
SyncHTTPClient = httpx.Client
AsyncHTTPClient = httpx.AsyncClient

#: Builds the authentication headers of one request at the last moment (see KeyAuth).
HeadersFor = Callable[[Request], Mapping[str, str]]

USER_AGENT = f"mjnb/{__version__}"
# Small JSON requests go out as two writes (headers, body); without TCP_NODELAY the second one
# waits for the server's delayed ACK, ~40 ms a request on loopback.
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
# A burst of submits must not leave a hundred idle connections that every request then scans;
# streams (AceData NDJSON) are counted by the client and stay well below max_connections.
_MAX_CONNECTIONS = 24
_LIMITS = httpx.Limits(max_connections=_MAX_CONNECTIONS, max_keepalive_connections=24)


def _warm_async_backend() -> None:
    """Import now what httpcore imports at an async client's first request, on the event loop.

    httpcore loads anyio lazily and anyio loads its asyncio backend lazily (~40 ms of imports): a
    burst of submits would stall the loop on them. A client made is a client about to be used.
    """
    import importlib

    for module in ("httpcore._backends.anyio", "anyio._backends._asyncio", "anyio.streams.tls", "anyio.to_thread"):
        try:
            importlib.import_module(module)
        except ImportError:  # a newer anyio laid out differently: the first request imports it
            pass


class KeyAuth(httpx.Auth):
    """Adds the key's headers inside httpx's auth flow, so that no frame of mjnb holds them.

    A traceback printed with local variables (IPython ``%xmode Verbose``, ``rich`` with
    ``show_locals``) shows the frames that were running when an error happened: the headers are
    made here, at the last moment, and live only in the outgoing ``httpx.Request`` (whose repr
    shows no headers).
    """

    def __init__(self, headers_for: HeadersFor, request: Request) -> None:
        self._headers_for = headers_for
        self._request = request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._headers_for(self._request))
        yield request

    def __repr__(self) -> str:
        return "KeyAuth(***)"


class SendFailed(TransportError):
    """No HTTP answer arrived.  ``sent`` is False only when the request provably never left."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 0.5  # first delay; doubles each attempt
    max_delay: float = 8.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), 60.0)
        base = min(self.backoff * (2**attempt), self.max_delay)
        return float(base * (0.75 + random.random() / 2))  # jitter: clients that failed together spread out

    def should_retry(
        self, request: Request, attempt: int, response: Response | None, failure: SendFailed | None
    ) -> bool:
        if attempt >= self.max_retries:
            return False
        if failure is not None:
            return not failure.sent or not request.submit
        assert response is not None
        if response.status_code == 429:
            return True
        return not request.submit and response.status_code in self.retry_statuses


def _failure(exc: httpx.HTTPError, request: Request) -> SendFailed:
    # Errors raised before a connection exists prove nothing was sent.
    sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    what = type(exc).__name__
    return SendFailed(f"{request.method} {request.path}: {what}: {exc}", sent=sent)


def _url(base_url: str, request: Request) -> str:
    if request.path.startswith(("http://", "https://")):
        return request.path
    return base_url + request.path.lstrip("/")


def _build(
    client: httpx.Client | httpx.AsyncClient, base_url: str, request: Request, timeout: httpx.Timeout
) -> httpx.Request:
    try:
        return client.build_request(
            request.method,
            _url(base_url, request),
            json=request.json,
            params={k: v for k, v in request.params.items() if v is not None} or None,
            headers={"user-agent": USER_AGENT, **request.headers},
            timeout=timeout,  # mjnb's timeout, also on an http_client the caller brought
        )
    except httpx.InvalidURL as exc:  # not an httpx.HTTPError: nothing was sent
        raise ValidationError(f"url: {exc}", field="url") from None


#: Blanks the client's own key out of what a server sends back (a server may echo it).
Redact = Callable[[bytes], bytes]


def _same(data: bytes) -> bytes:
    return data


def _response(resp: httpx.Response, content: bytes, redact: Redact) -> Response:
    # Redacted here, where the answer is first decoded: no later frame holds an echoed key.
    headers = {k.lower(): redact(v.encode("latin-1")).decode("latin-1") for k, v in resp.headers.items()}
    return Response(resp.status_code, headers, redact(content))


class _Base:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        retry: RetryPolicy,
        headers_for: HeadersFor | None,
        redact: Redact | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self.retry = retry
        self._headers_for = headers_for
        self._redact = redact or _same

    def _auth(self, request: Request) -> httpx.Auth | None:
        return KeyAuth(self._headers_for, request) if self._headers_for is not None else None


class SyncTransport(_Base):
    """One kept-alive httpx.Client per mjnb Client (or the caller's own, never closed by us)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        headers_for: HeadersFor | None = None,
        http_client: httpx.Client | None = None,
        redact: Redact | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, retry=retry, headers_for=headers_for, redact=redact)
        self._owned = http_client is None
        self._client = http_client or httpx.Client(
            timeout=self.timeout,
            transport=httpx.HTTPTransport(socket_options=_SOCKET_OPTIONS, limits=_LIMITS),
        )

    def send(self, request: Request, *, auth: bool = True) -> Response:
        attempt = 0
        while True:
            response, failure = None, None
            try:
                resp = self._client.send(
                    _build(self._client, self.base_url, request, self.timeout),
                    auth=self._auth(request) if auth else None,
                )
                response = _response(resp, resp.content, self._redact)
            except httpx.HTTPError as exc:
                failure = _failure(exc, request)
            if not self.retry.should_retry(request, attempt, response, failure):
                if failure is not None:
                    raise failure
                return response  # type: ignore[return-value]
            time.sleep(self.retry.delay(attempt, retry_after(response.headers) if response is not None else None))
            attempt += 1

    def stream_lines(self, request: Request) -> Iterator[bytes | Response]:
        """Yields the non-empty lines of a streamed answer, or one Response for a non-2xx answer."""
        try:
            with self._client.stream(
                request.method,
                _url(self.base_url, request),
                json=request.json,
                headers={"user-agent": USER_AGENT, **request.headers},
                auth=self._auth(request),
                timeout=self.timeout,
            ) as resp:
                if resp.status_code >= 300:
                    yield _response(resp, resp.read(), self._redact)
                    return
                for line in resp.iter_lines():
                    if line.strip():
                        yield self._redact(line.encode())
        except httpx.HTTPError as exc:
            raise _failure(exc, request) from exc

    def download(self, url: str) -> bytes:
        # Image hosts are not the API: the key is sent only to the service's own base URL.
        response = self.send(Request("GET", url), auth=url.startswith(self.base_url))
        if response.status_code >= 300:
            raise TransportError(f"download of {url} failed: HTTP {response.status_code}")
        return response.content

    def close(self) -> None:
        if self._owned:
            self._client.close()


class AsyncTransport(_Base):
    """One kept-alive httpx.AsyncClient per mjnb AsyncClient (or the caller's own, never closed by us)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        headers_for: HeadersFor | None = None,
        http_client: httpx.AsyncClient | None = None,
        redact: Redact | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, retry=retry, headers_for=headers_for, redact=redact)
        self._owned = http_client is None
        self._client = http_client or httpx.AsyncClient(
            timeout=self.timeout,
            transport=httpx.AsyncHTTPTransport(socket_options=_SOCKET_OPTIONS, limits=_LIMITS),
        )
        self._gate: asyncio.Semaphore | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None
        _warm_async_backend()

    def _slots(self) -> asyncio.Semaphore:
        """At most as many requests in flight as the pool has connections.

        httpcore rescans its whole pool for every request queued in it (encode/httpcore#1035): with
        hundreds of requests queued the loop spent seconds there, and some waited past the pool
        timeout.  Waiting here instead costs nothing and never times out.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate_loop is not loop:
            self._gate, self._gate_loop = asyncio.Semaphore(_MAX_CONNECTIONS), loop
        return self._gate

    async def send(self, request: Request, *, auth: bool = True) -> Response:
        import asyncio

        attempt = 0
        while True:
            response, failure = None, None
            try:
                async with self._slots():
                    resp = await self._client.send(
                        _build(self._client, self.base_url, request, self.timeout),
                        auth=self._auth(request) if auth else None,
                    )
                response = _response(resp, resp.content, self._redact)
            except httpx.HTTPError as exc:
                failure = _failure(exc, request)
            if not self.retry.should_retry(request, attempt, response, failure):
                if failure is not None:
                    raise failure
                return response  # type: ignore[return-value]
            await asyncio.sleep(
                self.retry.delay(attempt, retry_after(response.headers) if response is not None else None)
            )
            attempt += 1

    async def stream_lines(self, request: Request) -> AsyncIterator[bytes | Response]:
        """Yields the non-empty lines of a streamed answer, or one Response for a non-2xx answer."""
        try:
            async with (
                self._slots(),
                self._client.stream(
                    request.method,
                    _url(self.base_url, request),
                    json=request.json,
                    headers={"user-agent": USER_AGENT, **request.headers},
                    auth=self._auth(request),
                    timeout=self.timeout,
                ) as resp,
            ):
                if resp.status_code >= 300:
                    yield _response(resp, await resp.aread(), self._redact)
                    return
                async for line in resp.aiter_lines():
                    if line.strip():
                        yield self._redact(line.encode())
        except httpx.HTTPError as exc:
            raise _failure(exc, request) from exc

    async def download(self, url: str) -> bytes:
        # Image hosts are not the API: the key is sent only to the service's own base URL.
        response = await self.send(Request("GET", url), auth=url.startswith(self.base_url))
        if response.status_code >= 300:
            raise TransportError(f"download of {url} failed: HTTP {response.status_code}")
        return response.content

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
