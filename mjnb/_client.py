"""``Client`` and ``AsyncClient``: the same verbs, one code path (``_flows``), two ways to send.

Each verb is written once, as a generator in :class:`~mjnb._flows.Flows`; the classes below name
every verb in their bodies with ``_sync_verb`` / ``_async_verb``, typed through a ``ParamSpec`` so
that a type checker and an editor see ``Client.imagine(...) -> Task`` and
``AsyncClient.imagine(...) -> Coroutine[..., Task]`` with the flow's own arguments and docstring.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Iterable as _Iterable
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Concatenate,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    ParamSpec,
    TypeVar,
)

from ._config import ApiKey, mjnb_home, resolve_settings
from ._errors import (
    APIError,
    RateLimitError,
    ServerError,
    SubmitUncertain,
    TaskFailed,
    TaskTimeout,
    TransportError,
    ValidationError,
)
from ._experiments import AsyncExperimentVerbs, SyncExperimentVerbs
from ._flows import Download, Fetch, Flow, Flows, Notify, Now, Sleep, Stream, Submit, Update, _own_task, _seconds
from ._models import Task
from ._tracker import AsyncTracker, SyncTracker, TrackerCore
from ._transport import AsyncHTTPClient, AsyncTransport, RetryPolicy, SendFailed, SyncHTTPClient, SyncTransport
from .dialects import Request, Response, get_dialect
from .dialects._validate import checked_task_id

if TYPE_CHECKING:
    import asyncio

    from ._journal import Journal

__all__ = ["Client", "AsyncClient"]

P = ParamSpec("P")
T = TypeVar("T")

#: The embedded simulator finishes a job in seconds: poll it often so progress looks live.
#: The shortest poll_interval a client takes, in seconds (shorter would hammer a service).
_MIN_POLL = 0.05
_EMBEDDED_POLL = 0.25
#: AceData NDJSON streams held open at once by one client; beyond it, a wait=True imagine is
#: submitted asynchronously and followed by the tracker's batched reads (no pool starvation).
_MAX_STREAMS = 16
#: Operations whose submit does not start a new job (the modal continues the job it answers).
_NOT_A_NEW_JOB = frozenset({"modal"})


class _Default:
    def __repr__(self) -> str:
        return "<the dialect's default>"


_DIALECT_DEFAULT: Any = _Default()


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
        max_concurrent: int | None = _DIALECT_DEFAULT,
        journal: bool | str | Path = True,
        **dialect_settings: Any,
    ) -> None:
        timeout = _seconds(timeout, "timeout")
        if poll_interval is not None:
            poll_interval = _seconds(poll_interval, "poll_interval")
            if poll_interval < _MIN_POLL:
                raise ValidationError(
                    f"poll_interval: {poll_interval!r} s would read a service hundreds of times a second; "
                    f"use at least {_MIN_POLL} s (None: the dialect's default)",
                    field="poll_interval",
                )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or not 0 <= max_retries <= 10:
            raise ValidationError(
                f"max_retries: {max_retries!r} is not allowed; use an integer 0–10", field="max_retries"
            )
        self._settings = resolve_settings(dialect, base_url, api_key)
        self._dialect = get_dialect(self._settings.dialect, **dialect_settings)
        user_interval = poll_interval is not None
        if poll_interval is None:
            poll_interval = _EMBEDDED_POLL if self._settings.embedded else float(self._dialect.poll_interval)
        if max_concurrent is _DIALECT_DEFAULT:
            max_concurrent = getattr(self._dialect, "max_concurrent", None)
        elif max_concurrent is not None and (
            isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1
        ):
            raise ValidationError(
                f"max_concurrent: {max_concurrent!r} is not allowed; use a positive integer or None (no limit)",
                field="max_concurrent",
            )
        #: Jobs this client lets run at once (None: no limit); further submits wait for a free slot.
        self.max_concurrent: int | None = max_concurrent
        if journal is True:
            journal = mjnb_home() / "journal.sqlite"
        self.journal: Journal | None = None
        if journal:
            from ._journal import Journal  # sqlite3 only for clients that keep one

            self.journal = Journal(journal)
        self._flows = Flows(self._dialect, poll_interval, self.journal, self.service)
        self._retry = RetryPolicy(max_retries=max_retries)
        self._timeout = timeout
        expected = 5.0 if self._settings.embedded else float(getattr(self._dialect, "expected_seconds", 30.0))
        # One batched read serves every followed task, so it can come every second; per-task reads
        # are spaced by the tracker from the job's progress, this is only their shortest gap.
        track = poll_interval if user_interval else min(poll_interval, 1.0 if self._dialect.batch_size else 1.5)
        self._core = TrackerCore(self._dialect, track, expected)
        self._inflight: set[str] = set()
        self._key_bytes = self._settings.api_key.reveal().encode() if self._settings.api_key else b""

    @property
    def dialect(self) -> str:
        """The wire dialect: ``"mjproxy"``, ``"newapi"``, ``"acedata"`` or ``"evolink"``."""
        return str(self._dialect.name)

    @property
    def base_url(self) -> str:
        """The service's base URL (the embedded simulator's loopback mount when no key is set)."""
        return self._settings.base_url

    @property
    def service(self) -> str:
        """Where tasks live, as ``Task.service`` says it: the base URL (also for the embedded simulator)."""
        return self._settings.base_url

    @property
    def embedded(self) -> bool:
        """True when this client talks to mjnb's own simulator."""
        return self._settings.embedded

    @property
    def operations(self) -> frozenset[str]:
        """The operations this dialect offers (the widgets disable the others)."""
        return frozenset(self._dialect.operations)

    @property
    def reads(self) -> int:
        """Task reads the tracker has made so far (batched reads count once)."""
        return self._core.reads

    def __repr__(self) -> str:
        settings = getattr(self, "_settings", None)  # a half-built client is shown in tracebacks too
        if settings is None:
            return f"{type(self).__name__}(<not configured>, api_key='***')"
        where = "embedded simulator" if settings.embedded else settings.base_url
        return f"{type(self).__name__}(dialect={settings.dialect!r}, base_url={where!r}, api_key='***')"

    # -- the parts of a step that do not depend on how bytes are sent --------------------------
    def _headers_for(self, request: Request) -> Mapping[str, str]:
        # Called inside httpx's auth flow (KeyAuth): the key is revealed for this call only.
        key = self._settings.api_key
        return self._dialect.auth_headers(key.reveal(), request) if key else {}

    def _redact_bytes(self, data: bytes) -> bytes:
        """``data`` with this client's own key blanked out (the transport applies it to every answer)."""
        return data.replace(self._key_bytes, b"***") if self._key_bytes and self._key_bytes in data else data

    def _redact(self, text: str) -> str:
        return self._redact_bytes(text.encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")

    def _stamp(self, task: Task, entry: int | None = None) -> Task:
        return task.evolve(service=self.service, journal_id=entry if entry is not None else task.journal_id)

    def _journal_before(self, step: Submit | Stream) -> int | None:
        if self.journal is None:
            return None
        req = step.request
        return self.journal.record_sending(
            dialect=self.dialect,
            base_url=self.base_url,
            op=req.op,
            path=req.path,
            body=req.json,
            parent_id=step.parent_id,
            prompt=step.prompt,
            service=self.service,
            nonce=getattr(req, "nonce", None),
            fingerprint=step.fingerprint,
            meta=_meta(step),
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
            self.journal.record_failed(entry, uncertain=uncertain, error=self._redact(str(exc)))
        if not uncertain:
            return exc
        return SubmitUncertain(
            f"{step.request.op} on {self.dialect}: the request was sent but its outcome is unknown ({exc}). "
            f"A job may exist and be billed; it is journaled as entry {entry} and was NOT resent. "
            "Run client.reconcile() to find it, or check client.tasks() before submitting again.",
            operation=step.request.op,
            journal_id=entry,
            cause=exc,
        )

    def _parse_submit(self, step: Submit, entry: int | None, response: Response, *, resubmit: bool = False) -> Task:
        try:
            task = self._dialect.parse(step.request.op, step.request, response)
        except Exception as exc:
            if resubmit and _proves_no_job(exc):
                raise _Resubmit(getattr(exc, "retry_after", None)) from exc
            raise self._submit_failed(step, entry, exc) from exc
        task = self._stamp(task, entry)
        self._journal_accepted(entry, task)
        return task

    def _parse_read(self, request: Request, response: Response) -> Any:
        result = self._dialect.parse(request.op, request, response)
        if isinstance(result, Task):
            result = self._stamp(result)
            if self.journal is not None:
                self._journal_progress(result)
        elif isinstance(result, list):
            result = [self._stamp(t) if isinstance(t, Task) else t for t in result]
            if self.journal is not None:
                for task in result:
                    if isinstance(task, Task):
                        self._journal_progress(task)
        return result

    def _journal_progress(self, task: Task) -> None:
        assert self.journal is not None
        self.journal.record_progress(task)

    def _stream_line(self, step: Stream, entry: int | None, line: bytes | Response, task: Task | None) -> Task:
        try:
            if isinstance(line, Response):
                fresh = self._dialect.parse(step.request.op, step.request, line)
            else:
                fresh = self._dialect.parse_stream_line(step.request, line)
        except Exception as exc:
            if task is None:  # nothing accepted yet: a submit failure
                raise self._submit_failed(step, entry, exc) from exc
            raise
        fresh = self._stamp(fresh, entry)
        if task is None:
            self._journal_accepted(entry, fresh)
        elif self.journal is not None:
            self._journal_progress(fresh)
        return fresh

    def _settled(self, task: Task) -> None:
        """The tracker saw ``task`` end: its slot of account concurrency is free."""
        self._inflight.discard(task.id)

    def _accepted_job(self, step: Submit, task: Task) -> bool:
        """Whether ``task`` occupies a slot of account concurrency."""
        return step.request.op not in _NOT_A_NEW_JOB and not task.done and bool(task.id)

    def _check_open(self, flow: Any = None) -> None:
        if getattr(self, "_closed", False):
            if flow is not None:
                flow.close()
            raise ValidationError(
                "client: this client is closed; make a new one (a `with` block closes it at its end)", field="client"
            )

    def _ordered(self, tasks: Iterable[Task | str]) -> list[Task | str]:
        """``tasks`` as a list, each a Task of this client's dialect or a valid task id (else ValidationError)."""
        self._check_open()
        if isinstance(tasks, (str, Task)) or not isinstance(tasks, _Iterable):
            raise ValidationError(
                f"tasks: a list (or other iterable) of Tasks or task ids, not a {type(tasks).__name__}", field="tasks"
            )
        items = list(tasks)
        for item in items:
            if isinstance(item, Task):
                _own_task(item, self.dialect, "tasks")
            elif isinstance(item, str):
                checked_task_id(item, "tasks")
            else:
                raise ValidationError(f"tasks: {item!r} is not a Task or a task id", field="tasks")
        return items


def _signature(flow: Callable[..., Any]) -> inspect.Signature:
    """The flow's signature as a method shows it: its real result type (``Flow[Task]`` → ``Task``)."""
    sig = inspect.signature(flow)
    ret = sig.return_annotation
    if isinstance(ret, str) and ret.startswith("Flow[") and ret.endswith("]"):
        ret = ret[5:-1]
    params = list(sig.parameters.values())
    params[0] = params[0].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)  # `self, /` reads oddly in help()
    return sig.replace(parameters=params, return_annotation=ret)


class _LazySignature:
    """What a verb's ``__wrapped__`` points at: ``inspect.signature`` (and so help()) unwraps a verb
    down to the first object with a ``__signature__``, this one, which computes it on first use — not
    for all 46 verbs at import.  Its own ``__wrapped__`` is the flow (``inspect.getsource`` goes on to it).
    """

    __slots__ = ("__wrapped__", "_signature")

    def __init__(self, flow: Callable[..., Any]) -> None:
        self.__wrapped__ = flow
        self._signature: inspect.Signature | None = None

    @property
    def __signature__(self) -> inspect.Signature:
        if self._signature is None:
            self._signature = _signature(self.__wrapped__)
        return self._signature


_Verb = TypeVar("_Verb", bound=Callable[..., Any])


def _signed(verb: _Verb, flow: Callable[..., Any]) -> _Verb:
    """``verb`` with ``flow``'s name and docstring, and its signature as a method shows it (computed lazily)."""
    functools.update_wrapper(verb, flow)
    vars(verb)["__wrapped__"] = _LazySignature(flow)
    return verb


def _sync_verb(flow: Callable[Concatenate[Flows, P], Flow[T]]) -> Callable[Concatenate[Client, P], T]:
    """A blocking method of Client that runs ``flow`` (same arguments and docstring)."""

    def verb(self: Client, /, *args: P.args, **kw: P.kwargs) -> T:
        return self._drive(flow(self._flows, *args, **kw))

    return _signed(verb, flow)


def _async_verb(
    flow: Callable[Concatenate[Flows, P], Flow[T]],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    """A coroutine method of AsyncClient that runs ``flow`` (same arguments and docstring)."""

    async def verb(self: AsyncClient, /, *args: P.args, **kw: P.kwargs) -> T:
        return await self._drive(flow(self._flows, *args, **kw))

    return _signed(verb, flow)


class Client(SyncExperimentVerbs, _Shared):
    """The blocking client (``httpx.Client`` underneath; no event loop needed).

    Args:
        dialect: ``"mjproxy"``, ``"newapi"``, ``"acedata"`` or ``"evolink"`` (else ``MJNB_DIALECT``,
            else the embedded simulator's default).
        base_url: the service's base URL (else ``MJNB_BASE_URL``; none and no key: the embedded simulator).
        api_key: the key (else ``MJNB_API_KEY``); kept in an :class:`ApiKey` whose repr is ``'***'``.
        timeout: seconds for one HTTP request (> 0).
        poll_interval: seconds (≥ 0.05) between batched reads of followed tasks (the dialect's default when None).
        max_retries: retries of a read, or of a submit that provably created no job (0–10).
        max_concurrent: jobs allowed to run at once; further submits wait for one to finish (the
            dialect's default: 3 on midjourney-proxy / new-api accounts; None: no limit).
        journal: True (``$MJNB_HOME/journal.sqlite``), a path, or False.
        http_client: your own ``httpx.Client`` (proxies, certificates, event hooks); mjnb still owns
            retries and never closes a client it did not create.
        **dialect_settings: dialect options (e.g. new-api ``mode="fast"``).

    >>> client = mjnb.Client()                 # no key: the embedded simulator
    >>> task = client.imagine("a lighthouse at dusk --ar 3:2", wait=True)
    >>> up = client.wait(client.upscale(task, 2))
    """

    def __init__(
        self,
        dialect: str | None = None,
        base_url: str | None = None,
        api_key: str | ApiKey | None = None,
        *,
        http_client: SyncHTTPClient | None = None,
        **kw: Any,
    ) -> None:
        # Hidden first: any error raised below is printed with this frame's locals.
        try:
            api_key = ApiKey.hide(api_key)
        except ValidationError as exc:
            api_key = None  # this frame is shown with the error: not the refused key
            raise exc.with_traceback(None) from None
        super().__init__(dialect, base_url, api_key, **kw)
        self._transport = SyncTransport(
            self.base_url,
            timeout=self._timeout,
            retry=self._retry,
            headers_for=self._headers_for,
            http_client=http_client,
            redact=self._redact_bytes,
        )
        self._slots = threading.Condition()
        self._tracker = SyncTracker(self, self._core, self._release)

    # -- verbs (each written once in _flows.Flows) -----------------------------------------------
    imagine = _sync_verb(Flows.imagine)
    action = _sync_verb(Flows.action)
    upscale = _sync_verb(Flows.upscale)
    vary = _sync_verb(Flows.vary)
    reroll = _sync_verb(Flows.reroll)
    zoom_out = _sync_verb(Flows.zoom_out)
    pan = _sync_verb(Flows.pan)
    inpaint = _sync_verb(Flows.inpaint)
    reposition = _sync_verb(Flows.reposition)
    edit = _sync_verb(Flows.edit)
    blend = _sync_verb(Flows.blend)
    describe = _sync_verb(Flows.describe)
    shorten = _sync_verb(Flows.shorten)
    translate = _sync_verb(Flows.translate)
    retexture = _sync_verb(Flows.retexture)
    remove_bg = _sync_verb(Flows.remove_bg)
    get = _sync_verb(Flows.get)
    wait = _sync_verb(Flows.wait)
    tasks = _sync_verb(Flows.tasks)
    download = _sync_verb(Flows.download)
    download_video = _sync_verb(Flows.download_video)
    seed = _sync_verb(Flows.seed)
    cancel = _sync_verb(Flows.cancel)

    def wait_all(
        self, tasks: Iterable[Task | str], *, timeout: float = 600.0, raise_on_failure: bool = False
    ) -> list[Task]:
        """Wait for many tasks at once, with batched reads where the service has them.

        Args:
            tasks: Tasks or task ids.
            timeout: seconds (> 0) for all of them together.
            raise_on_failure: raise TaskFailed for the first failed task once all are final.

        Returns:
            The final Tasks, in the order given.

        Raises:
            TaskTimeout: ``timeout`` passed with tasks unfinished (carries the first of them;
                ``.unfinished`` lists them all).
            TaskNotFound: a task id the server does not know.
        """
        items = self._ordered(tasks)
        done = {t.id: t for t in self.as_completed(items, timeout=timeout)}
        result = [done[t.id if isinstance(t, Task) else t] for t in items]
        if raise_on_failure:
            for task in result:
                if not task.succeeded:
                    raise TaskFailed(task)
        return result

    def as_completed(self, tasks: Iterable[Task | str], *, timeout: float = 600.0) -> Iterator[Task]:
        """Yield each task once it is final (failed ones too), in the order they finish.

        Args:
            tasks: Tasks or task ids.
            timeout: seconds (> 0) for all of them together.

        Raises:
            ValidationError: at the call, before anything is read: ``tasks`` not an iterable of Tasks
                of this dialect or valid task ids, ``timeout`` not a positive number.
            TaskTimeout: ``timeout`` passed with tasks unfinished (``.unfinished`` lists them).
        """
        # Arguments are checked now, not at the first next(): a generator would defer the error.
        return self._completed(self._ordered(tasks), _seconds(timeout, "timeout"))

    def _completed(self, items: list[Task | str], timeout: float) -> Iterator[Task]:
        known = [t if isinstance(t, Task) else self.get(t) for t in items]
        pending = {t.id: t for t in known}
        for task in known:
            if task.done:
                pending.pop(task.id, None)
                yield task
        self._tracker.follow(list(pending.values()))
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            found = self._tracker.wait_settled(list(pending), max(left, 0.0))
            if not found and left <= 0:
                raise _timeout(list(pending.values()), self._tracker, timeout)
            for tid, result in found:
                pending.pop(tid, None)
                if isinstance(result, BaseException):
                    raise result
                yield result

    def _follow(self, tasks: Iterable[Task]) -> None:
        """Hand ``tasks`` to the tracker: it reads them in the background until they are final."""
        self._tracker.follow(list(tasks))

    # -- the driver ----------------------------------------------------------------------------
    def _drive(self, flow: Flow[T]) -> T:
        self._check_open(flow)
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value, error = None, None
            try:
                value = self._perform(step)
            except Exception as exc:  # handed back to the flow, which may handle or re-raise it
                error = exc

    def _read(self, request: Request) -> Any:
        return self._parse_read(request, self._transport.send(request))

    def _perform(self, step: Any) -> Any:
        if isinstance(step, Fetch):
            return self._read(step.request)
        if isinstance(step, Update):
            return self._tracker.next_state(step.task, step.timeout, step.interval)
        if isinstance(step, Now):
            return time.monotonic()
        if isinstance(step, Submit):
            return self._submit(step)
        if isinstance(step, Stream):
            return self._stream(step)
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        if isinstance(step, Notify):
            step.callback(step.task)
            return None
        if isinstance(step, Download):
            return self._transport.download(step.url)
        raise TypeError(f"unknown step {step!r}")

    def _submit(self, step: Submit) -> Task:
        attempt = 0
        self._wait_for_slot(step)
        entry = self._journal_before(step)  # one row for the call, however often it is resubmitted
        while True:
            try:
                response = self._transport.send(step.request)
            except TransportError as exc:
                raise self._submit_failed(step, entry, exc) from exc
            try:
                task = self._parse_submit(step, entry, response, resubmit=attempt < self._retry.max_retries)
            except _Resubmit as again:  # the answer proves no job was created: wait, then resubmit
                time.sleep(self._retry.delay(attempt, again.retry_after))
                attempt += 1
                self._wait_for_slot(step)
                continue
            self._tracker.renew(task)
            if self.max_concurrent is not None and self._accepted_job(step, task):
                with self._slots:
                    self._inflight.add(task.id)
                self._tracker.follow([task])
            return task

    def _wait_for_slot(self, step: Submit) -> None:
        if self.max_concurrent is None or step.request.op in _NOT_A_NEW_JOB:
            return
        with self._slots:
            while len(self._inflight) >= self.max_concurrent:
                self._slots.wait(1.0)

    def _release(self, task: Task) -> None:
        with self._slots:
            self._settled(task)
            self._slots.notify_all()

    def _stream(self, step: Stream) -> Task:
        entry = self._journal_before(step)
        task: Task | None = None
        deadline = None if step.timeout is None else time.monotonic() + step.timeout
        try:
            for line in self._transport.stream_lines(step.request):
                task = self._stream_line(step, entry, line, task)
                if step.on_progress is not None:
                    step.on_progress(task)
                if task.done or (deadline is not None and time.monotonic() >= deadline):
                    break
        except TransportError as exc:
            if task is None:
                raise self._submit_failed(step, entry, exc) from exc
            return task  # the id is known: the flow follows the job by polling
        if task is None:
            raise self._submit_failed(step, entry, SendFailed("the stream ended with no line", sent=True))
        return task

    def close(self) -> None:
        """Stop the tracker and close the HTTP connections (not an ``http_client`` you passed in).

        A closed client refuses every further call with ``ValidationError`` (field ``client``).
        """
        self._closed = True
        self._tracker.close()
        self._transport.close()
        if self.journal is not None:
            self.journal.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(AsyncExperimentVerbs, _Shared):
    """The asyncio client (``httpx.AsyncClient`` underneath); ``await`` its verbs at the top of a cell.

    Takes the same arguments as :class:`Client` (``http_client`` is an ``httpx.AsyncClient``).
    The journal is written off the event loop: durable rows through a worker thread, progress
    updates queued.
    """

    def __init__(
        self,
        dialect: str | None = None,
        base_url: str | None = None,
        api_key: str | ApiKey | None = None,
        *,
        http_client: AsyncHTTPClient | None = None,
        **kw: Any,
    ) -> None:
        # Hidden first: any error raised below is printed with this frame's locals.
        try:
            api_key = ApiKey.hide(api_key)
        except ValidationError as exc:
            api_key = None  # this frame is shown with the error: not the refused key
            raise exc.with_traceback(None) from None
        super().__init__(dialect, base_url, api_key, **kw)
        self._transport = AsyncTransport(
            self.base_url,
            timeout=self._timeout,
            retry=self._retry,
            headers_for=self._headers_for,
            http_client=http_client,
            redact=self._redact_bytes,
        )
        self._tracker = AsyncTracker(self, self._core, self._release)
        self._slot_freed: asyncio.Event | None = None
        self._streams = 0
        # What the first verb would import lazily, imported now: a burst of submits must not stall
        # the event loop on imports (~50 ms; ``import mjnb`` itself stays light).
        from . import _prompt  # noqa: F401

    imagine = _async_verb(Flows.imagine)
    action = _async_verb(Flows.action)
    upscale = _async_verb(Flows.upscale)
    vary = _async_verb(Flows.vary)
    reroll = _async_verb(Flows.reroll)
    zoom_out = _async_verb(Flows.zoom_out)
    pan = _async_verb(Flows.pan)
    inpaint = _async_verb(Flows.inpaint)
    reposition = _async_verb(Flows.reposition)
    edit = _async_verb(Flows.edit)
    blend = _async_verb(Flows.blend)
    describe = _async_verb(Flows.describe)
    shorten = _async_verb(Flows.shorten)
    translate = _async_verb(Flows.translate)
    retexture = _async_verb(Flows.retexture)
    remove_bg = _async_verb(Flows.remove_bg)
    get = _async_verb(Flows.get)
    wait = _async_verb(Flows.wait)
    tasks = _async_verb(Flows.tasks)
    download = _async_verb(Flows.download)
    download_video = _async_verb(Flows.download_video)
    seed = _async_verb(Flows.seed)
    cancel = _async_verb(Flows.cancel)

    async def wait_all(
        self, tasks: Iterable[Task | str], *, timeout: float = 600.0, raise_on_failure: bool = False
    ) -> list[Task]:
        """Wait for many tasks at once (see :meth:`Client.wait_all`).

        Returns:
            The final Tasks, in the order given.

        Raises:
            TaskTimeout, TaskNotFound, TaskFailed (with ``raise_on_failure``).
        """
        items = self._ordered(tasks)
        done = {t.id: t async for t in self.as_completed(items, timeout=timeout)}
        result = [done[t.id if isinstance(t, Task) else t] for t in items]
        if raise_on_failure:
            for task in result:
                if not task.succeeded:
                    raise TaskFailed(task)
        return result

    def as_completed(self, tasks: Iterable[Task | str], *, timeout: float = 600.0) -> AsyncIterator[Task]:
        """Yield each task once it is final, in the order they finish (``async for``; see :meth:`Client.as_completed`).

        Arguments are checked at the call (``ValidationError``), before the first ``async for`` step.
        """
        return self._completed(self._ordered(tasks), _seconds(timeout, "timeout"))

    async def _completed(self, items: list[Task | str], timeout: float) -> AsyncIterator[Task]:
        known = [t if isinstance(t, Task) else await self.get(t) for t in items]
        pending = {t.id: t for t in known}
        for task in known:
            if task.done:
                pending.pop(task.id, None)
                yield task
        self._tracker.follow(list(pending.values()))
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            found = await self._tracker.wait_settled(list(pending), max(left, 0.0))
            if not found and left <= 0:
                raise _timeout(list(pending.values()), self._tracker, timeout)
            for tid, result in found:
                pending.pop(tid, None)
                if isinstance(result, BaseException):
                    raise result
                yield result

    def _follow(self, tasks: Iterable[Task]) -> None:
        """Hand ``tasks`` to the tracker (needs the running event loop): read in the background until final."""
        self._tracker.follow(list(tasks))

    async def _drive(self, flow: Flow[T]) -> T:
        self._check_open(flow)
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value, error = None, None
            try:
                value = await self._perform(step)
            except Exception as exc:
                error = exc

    async def _read(self, request: Request) -> Any:
        response = await self._transport.send(request)
        if request.op == "get_many":  # a hundred tasks take tens of ms to parse: not on the loop
            import asyncio

            return await asyncio.to_thread(self._parse_read, request, response)
        return self._parse_read(request, response)

    def _journal_progress(self, task: Task) -> None:
        assert self.journal is not None
        # Never block the event loop on SQLite: progress rows are queued to the journal's writer.
        self.journal.record_progress_nowait(task)

    async def _journal(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run ``fn`` (which may write the journal) off the event loop; directly when there is no journal."""
        if self.journal is None:
            return fn(*args, **kw)
        import asyncio

        return await asyncio.to_thread(fn, *args, **kw)

    async def _perform(self, step: Any) -> Any:
        import asyncio

        if isinstance(step, Fetch):
            return await self._read(step.request)
        if isinstance(step, Update):
            return await self._tracker.next_state(step.task, step.timeout, step.interval)
        if isinstance(step, Now):
            return time.monotonic()
        if isinstance(step, Submit):
            return await self._submit(step)
        if isinstance(step, Stream):
            return await self._stream(step)
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

    async def _submit(self, step: Submit) -> Task:
        import asyncio

        attempt = 0
        await self._wait_for_slot(step)
        entry = await self._journal(self._journal_before, step)  # one row for the call, however often resent
        while True:
            try:
                response = await self._transport.send(step.request)
            except TransportError as exc:
                raise await self._journal(self._submit_failed, step, entry, exc) from exc
            try:
                task = await self._journal(
                    self._parse_submit, step, entry, response, resubmit=attempt < self._retry.max_retries
                )
            except _Resubmit as again:  # the answer proves no job was created: wait, then resubmit
                await asyncio.sleep(self._retry.delay(attempt, again.retry_after))
                attempt += 1
                await self._wait_for_slot(step)
                continue
            self._tracker.renew(task)
            if self.max_concurrent is not None and self._accepted_job(step, task):
                self._inflight.add(task.id)
                self._tracker.follow([task])
            return task

    async def _wait_for_slot(self, step: Submit) -> None:
        import asyncio

        if self.max_concurrent is None or step.request.op in _NOT_A_NEW_JOB:
            return
        while len(self._inflight) >= self.max_concurrent:
            if self._slot_freed is None:
                self._slot_freed = asyncio.Event()
            self._slot_freed.clear()
            try:
                await asyncio.wait_for(self._slot_freed.wait(), 1.0)
            except asyncio.TimeoutError:
                pass  # look again: a slot may have been freed from another loop

    def _release(self, task: Task) -> None:
        self._settled(task)
        if self._slot_freed is not None:
            self._slot_freed.set()

    async def _stream(self, step: Stream) -> Task:
        if self._streams >= _MAX_STREAMS and step.fallback is not None:
            # Enough streams hold connections already: submit without one; the flow then polls.
            return await self._submit(Submit(step.fallback, step.parent_id, step.prompt, step.tags, step.fingerprint))
        self._streams += 1
        try:
            return await self._stream_lines(step)
        finally:
            self._streams -= 1

    async def _stream_lines(self, step: Stream) -> Task:
        entry = await self._journal(self._journal_before, step)
        task: Task | None = None
        deadline = None if step.timeout is None else time.monotonic() + step.timeout
        try:
            async for line in self._transport.stream_lines(step.request):
                task = await self._journal(self._stream_line, step, entry, line, task)
                if step.on_progress is not None:
                    result = step.on_progress(task)
                    if inspect.isawaitable(result):
                        await result
                if task.done or (deadline is not None and time.monotonic() >= deadline):
                    break
        except TransportError as exc:
            if task is None:
                raise await self._journal(self._submit_failed, step, entry, exc) from exc
            return task  # the id is known: the flow follows the job by polling
        if task is None:
            failed = SendFailed("the stream ended with no line", sent=True)
            raise await self._journal(self._submit_failed, step, entry, failed)
        return task

    async def aclose(self) -> None:
        """Stop the tracker and close the HTTP connections (not an ``http_client`` you passed in).

        A closed client refuses every further call with ``ValidationError`` (field ``client``).
        """
        self._closed = True
        await self._tracker.aclose()
        await self._transport.aclose()
        if self.journal is not None:
            await self._journal(self.journal.close)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Resubmit(Exception):
    """Internal: the service refused a submit in a way that proves no job exists (queue full, no free
    account): the driver waits ``retry_after`` (or backs off) and sends the same request again."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("resubmit")
        self.retry_after = retry_after


def _proves_no_job(exc: BaseException) -> bool:
    # HTTP 429 was already retried by the transport; a 2xx/4xx answer with a queue-full or
    # no-account code is a refusal in the body, safe to send again after a wait.
    if isinstance(exc, RateLimitError):
        return exc.status_code != 429
    if isinstance(exc, ServerError):
        return not exc.job_may_exist and (exc.status_code or 0) < 500
    return False


def _meta(step: Submit | Stream) -> dict[str, str] | None:
    """What the journal row keeps besides the request: the caller's tags and the follow-up's name."""
    meta = dict(step.tags or {})
    if isinstance(step, Submit) and step.action:
        meta.setdefault("action", step.action)
    return meta or None


def _timeout(pending: list[Task], tracker: SyncTracker | AsyncTracker, timeout: float) -> TaskTimeout:
    latest = []
    for task in pending:
        entry = tracker.core.followed.get(task.id)
        latest.append(entry.task if entry is not None else task)
    return TaskTimeout(latest[0], timeout, latest)
