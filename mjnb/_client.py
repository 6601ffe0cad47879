"""``Client`` and ``AsyncClient``: the same verbs, one code path (``_flows``), two ways to send."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any, Callable

from ._config import ApiKey, mjnb_home, resolve_settings
from ._errors import APIError, SubmitUncertain, TransportError
from ._flows import VERBS, Download, Fetch, Flow, Flows, Notify, Sleep, Stream, Submit
from ._journal import Journal
from ._models import Task
from ._transport import AsyncTransport, RetryPolicy, SendFailed, SyncTransport
from .dialects import Response, get_dialect

__all__ = ["Client", "AsyncClient"]

#: The embedded simulator finishes a job in seconds: poll it often so progress looks live.
_EMBEDDED_POLL = 0.25


class _Shared:
    """Configuration, journaling and parsing: everything but the sending."""

    def __init__(
        self,
        dialect: str | None = None,
        base_url: str | None = None,
        api_key: str | ApiKey | None = None,
        *,
        timeout: float = 30.0,
        poll_interval: float | None = None,
        max_retries: int = 3,
        journal: bool | str | Path = True,
        **dialect_settings: Any,
    ) -> None:
        self._settings = resolve_settings(dialect, base_url, api_key)
        self._dialect = get_dialect(self._settings.dialect, **dialect_settings)
        if poll_interval is None:
            poll_interval = _EMBEDDED_POLL if self._settings.embedded else self._dialect.poll_interval
        if journal is True:
            journal = mjnb_home() / "journal.sqlite"
        self.journal: Journal | None = Journal(journal) if journal else None
        self._flows = Flows(self._dialect, poll_interval, self.journal)
        self._retry = RetryPolicy(max_retries=max_retries)
        self._timeout = timeout

    @property
    def dialect(self) -> str:
        return self._dialect.name

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def embedded(self) -> bool:
        """True when this client talks to mjnb's own simulator."""
        return self._settings.embedded

    @property
    def operations(self) -> frozenset[str]:
        """The operations this dialect offers (the widgets disable the others)."""
        return self._dialect.operations

    def __repr__(self) -> str:
        where = "embedded simulator" if self.embedded else self.base_url
        return f"{type(self).__name__}(dialect={self.dialect!r}, base_url={where!r}, api_key='***')"

    # -- the parts of a step that do not depend on how bytes are sent --------------------------
    def _headers(self, request) -> dict[str, str]:
        return self._dialect.auth_headers(self._settings.api_key.reveal(), request)

    def _journal_before(self, step: Submit | Stream) -> int | None:
        if self.journal is None:
            return None
        req = step.request
        return self.journal.record_sending(
            dialect=self.dialect, base_url=self.base_url, op=req.op, path=req.path,
            body=req.json, parent_id=step.parent_id, prompt=step.prompt,
        )

    def _journal_accepted(self, entry: int | None, task: Task) -> None:
        if self.journal is not None and entry is not None:
            self.journal.record_accepted(entry, task)

    def _submit_failed(self, step: Submit | Stream, entry: int | None, exc: BaseException) -> BaseException:
        """Journal a failed submit and return the error to raise (SubmitUncertain when unknown)."""
        uncertain = (isinstance(exc, SendFailed) and exc.sent) or (
            isinstance(exc, APIError) and (exc.job_may_exist or (exc.status_code or 0) >= 500)
        )
        if self.journal is not None and entry is not None:
            self.journal.record_failed(entry, uncertain=uncertain, error=str(exc))
        if not uncertain:
            return exc
        return SubmitUncertain(
            f"{step.request.op} on {self.dialect}: the request was sent but its outcome is unknown ({exc}). "
            f"A job may exist and be billed; it is journaled as entry {entry} and was NOT resent. "
            "Check client.tasks() before submitting again.",
            operation=step.request.op, journal_id=entry, cause=exc,
        )

    def _parse_submit(self, step: Submit, entry: int | None, response: Response) -> Task:
        try:
            task = self._dialect.parse(step.request.op, step.request, response)
        except Exception as exc:
            raise self._submit_failed(step, entry, exc) from exc
        self._journal_accepted(entry, task)
        return task

    def _parse_fetch(self, step: Fetch, response: Response) -> Any:
        result = self._dialect.parse(step.request.op, step.request, response)
        if isinstance(result, Task) and self.journal is not None:
            self.journal.record_progress(result)
        return result

    def _stream_line(self, step: Stream, entry: int | None, line: bytes | Response, task: Task | None) -> Task:
        try:
            if isinstance(line, Response):
                return self._dialect.parse(step.request.op, step.request, line)
            fresh = self._dialect.parse_stream_line(step.request, line)
        except Exception as exc:
            if task is None:  # nothing accepted yet: a submit failure
                raise self._submit_failed(step, entry, exc) from exc
            raise
        if task is None:
            self._journal_accepted(entry, fresh)
        elif self.journal is not None:
            self.journal.record_progress(fresh)
        return fresh


def _sync_verb(name: str) -> Callable:
    flow = getattr(Flows, name)

    @functools.wraps(flow)
    def verb(self: "Client", *args: Any, **kw: Any) -> Any:
        return self._drive(flow(self._flows, *args, **kw))

    return verb


def _async_verb(name: str) -> Callable:
    flow = getattr(Flows, name)

    @functools.wraps(flow)
    async def verb(self: "AsyncClient", *args: Any, **kw: Any) -> Any:
        return await self._drive(flow(self._flows, *args, **kw))

    return verb


class Client(_Shared):
    """The blocking client (httpx.Client underneath; no event loop needed).

    >>> client = mjnb.Client()                 # no key: the embedded simulator
    >>> task = client.imagine("a lighthouse at dusk --ar 3:2", wait=True)
    >>> up = client.wait(client.upscale(task, 2))
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._transport = SyncTransport(self.base_url, timeout=self._timeout, retry=self._retry)

    def _drive(self, flow: Flow) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = self._perform(step)
            except Exception as exc:  # handed back to the flow, which may handle or re-raise it
                error = exc

    def _perform(self, step: Any) -> Any:
        if isinstance(step, Fetch):
            return self._parse_fetch(step, self._transport.send(step.request, self._headers(step.request)))
        if isinstance(step, Submit):
            entry = self._journal_before(step)
            try:
                response = self._transport.send(step.request, self._headers(step.request))
            except TransportError as exc:
                raise self._submit_failed(step, entry, exc) from exc
            return self._parse_submit(step, entry, response)
        if isinstance(step, Stream):
            entry = self._journal_before(step)
            task: Task | None = None
            try:
                for line in self._transport.stream_lines(step.request, self._headers(step.request)):
                    task = self._stream_line(step, entry, line, task)
                    if step.on_progress is not None:
                        step.on_progress(task)
            except TransportError as exc:
                raise self._submit_failed(step, entry, exc) from exc
            if task is None:
                raise self._submit_failed(step, entry, SendFailed("the stream ended with no line", sent=True))
            return task
        if isinstance(step, Sleep):
            import time

            time.sleep(step.seconds)
            return None
        if isinstance(step, Notify):
            step.callback(step.task)
            return None
        if isinstance(step, Download):
            return self._transport.download(step.url)
        raise TypeError(f"unknown step {step!r}")

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient(_Shared):
    """The asyncio client (httpx.AsyncClient underneath); ``await`` its verbs at the top of a cell."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._transport = AsyncTransport(self.base_url, timeout=self._timeout, retry=self._retry)

    async def _drive(self, flow: Flow) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = await self._perform(step)
            except Exception as exc:
                error = exc

    async def _perform(self, step: Any) -> Any:
        import asyncio

        if isinstance(step, Fetch):
            return self._parse_fetch(step, await self._transport.send(step.request, self._headers(step.request)))
        if isinstance(step, Submit):
            entry = self._journal_before(step)
            try:
                response = await self._transport.send(step.request, self._headers(step.request))
            except TransportError as exc:
                raise self._submit_failed(step, entry, exc) from exc
            return self._parse_submit(step, entry, response)
        if isinstance(step, Stream):
            entry = self._journal_before(step)
            task: Task | None = None
            try:
                async for line in self._transport.stream_lines(step.request, self._headers(step.request)):
                    task = self._stream_line(step, entry, line, task)
                    if step.on_progress is not None:
                        result = step.on_progress(task)
                        if inspect.isawaitable(result):
                            await result
            except TransportError as exc:
                raise self._submit_failed(step, entry, exc) from exc
            if task is None:
                raise self._submit_failed(step, entry, SendFailed("the stream ended with no line", sent=True))
            return task
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        if isinstance(step, Notify):
            result = step.callback(step.task)
            if inspect.isawaitable(result):
                await result
            return None
        if isinstance(step, Download):
            return await self._transport.download(step.url)
        raise TypeError(f"unknown step {step!r}")

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


for _name in VERBS:
    setattr(Client, _name, _sync_verb(_name))
    setattr(AsyncClient, _name, _async_verb(_name))
del _name
