"""The sans-IO contract every dialect fulfils, and the base class that fulfils its common part.

A dialect turns an operation into a :class:`Request` (method, path, JSON …) and a
:class:`Response` (status, headers, bytes) into a result: a :class:`~mjnb.Task`, a list of
them, a :class:`~mjnb.Page`, a string or a typed error.  No sockets, no sleeping, no httpx,
and no memory between calls: what an answer does not echo comes from the Task the caller
passes in (``task=`` of ``get``, the parent ``task`` of a follow-up).

Operations and the keyword arguments ``prepare(op, **kw)`` takes (dialect-specific extras
arrive in ``options``, checked per dialect and merged into the JSON body):

=============  ==========================================================================
op             keyword arguments
=============  ==========================================================================
imagine        prompt: str, images: tuple[str, ...] (URLs or data URLs), bot: "mj"|"niji"|None,
               mode: "fast"|"relax"|"turbo"|"draft"|None, callback_url: str|None, options
action         task: Task, action: Action, prompt: str|None, callback_url, options
modal          task: Task (status AWAITING_INPUT), prompt: str|None, mask: encoded mask|None,
               callback_url, options
inpaint        task: Task, index: int|None (0-based), mask: encoded mask, prompt: str|None,
               callback_url, options
reposition     task: Task, index: int|None, canvas: (w, h), image_box: (x, y, w, h),
               prompt: str, callback_url, options
edit           image: str (URL or data URL), mask: encoded mask|None, prompt: str,
               callback_url, options
blend          images: tuple[str, ...] (data URLs; http(s) URLs on acedata),
               dimensions: "PORTRAIT"|"SQUARE"|"LANDSCAPE", bot: "mj"|"niji"|None (proxies),
               callback_url, options
describe       image: str (URL or data URL), bot (proxies), callback_url, options
shorten        prompt: str, bot (proxies), callback_url (proxies; acedata answers at once), options
translate      text: str, options
retexture      image: str (URL or data URL), prompt: str, callback_url, options
remove_bg      image: str (URL or data URL), callback_url, options
get            task_id: str, task: Task|None (what is known of it: prompt, parent, kind are kept
               when the answer does not echo them)
get_many       task_ids: tuple[str, ...] (1 to ``batch_size`` ids); answer: list[Task] of the ids the
               server knows (an id it does not know is absent, not an error)
list           page: int (1-based), page_size: int, task_id: str|None, since: float|None,
               until: float|None (unix seconds; milliseconds are recognised by magnitude),
               admin: bool; new-api also channel_id: int|None (admin listing only)
seed           task: Task
cancel         task_id: str
=============  ==========================================================================

Every submit op (:data:`SUBMIT_OPS`) also takes ``nonce: str|None`` (1–255 printable
characters): an exact marker for finding the job again when its answer was lost.  It is put
in ``Request.nonce`` always, and on the wire in the dialect's free field named by
``nonce_field`` (midjourney-proxy ``state``, which new-api relays); a task read back carries it
in ``raw`` as received (``task.raw.get("state")``).  A ``state`` the caller set in ``options`` is
kept on the wire and becomes ``Request.nonce`` (match what was sent).  AceData and EvoLink have
no such field: there ``Request.nonce`` is kept for the journal only.  AceData's submits also take
``stream: bool`` (imagine, action, inpaint, edit, blend).

The encoded mask is whatever ``mask_format`` says the dialect wants; the client converts a
user's mask with :mod:`mjnb.images` before calling ``prepare``.

``parse(op, request, response)`` returns a Task for every submit op, ``get`` and ``cancel``
(the cancelled task, or None when the server answers with nothing), a list of Tasks for
``get_many``, a Page for ``list``, a str for ``seed``.  Errors are raised as the classes of
:mod:`mjnb._errors`, carrying the dialect's own code and message.
"""

from __future__ import annotations

import email.utils
import json as _json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Mapping

from .._errors import UnsupportedOperation
from .._frozen import Frozen, _assign
from .._models import Task

__all__ = ["Request", "Response", "DialectBase", "Dialect", "SUBMIT_OPS", "ALL_OPS", "retry_after"]

#: Operations that create a (possibly billed) job: never resent unless proven not created.
SUBMIT_OPS = frozenset(
    {
        "imagine",
        "action",
        "modal",
        "inpaint",
        "reposition",
        "edit",
        "blend",
        "describe",
        "shorten",
        "translate",
        "retexture",
        "remove_bg",
    }
)
ALL_OPS = SUBMIT_OPS | {"get", "get_many", "list", "seed", "cancel"}


@dataclass(init=False, repr=False, eq=False)
class Request(Frozen):
    """An HTTP request, described, plus what parsing its answer needs.

    ``path`` is relative to the dialect's base URL.  The fields after ``op`` are context
    (never sent): what the answer may not echo.  ``dataclasses.replace`` keeps them.
    """

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    #: True when sending it may create a billed job (money-safety rules apply).
    submit: bool = False
    #: True when the answer is NDJSON, one JSON object per line (AceData streaming).
    stream: bool = False
    op: str = ""
    kind: str | None = None  # the action the task will report (IMAGINE, UPSCALE …, or an EvoLink model)
    prompt: str | None = None
    parent_id: str | None = None
    task_id: str | None = None
    page: int = 1
    page_size: int = 20
    since: float | None = None  # unix seconds
    until: float | None = None
    #: The caller's marker for this submit (see the module docstring); None when not given.
    nonce: str | None = None

    def __init__(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,  # None: a new empty dict, as for headers
        headers: Mapping[str, str] | None = None,
        submit: bool = False,
        stream: bool = False,
        op: str = "",
        kind: str | None = None,
        prompt: str | None = None,
        parent_id: str | None = None,
        task_id: str | None = None,
        page: int = 1,
        page_size: int = 20,
        since: float | None = None,
        until: float | None = None,
        nonce: str | None = None,
    ) -> None:
        params = {} if params is None else params
        headers = {} if headers is None else headers
        _assign(self, locals())


@dataclass(init=False, repr=False, eq=False)
class Response(Frozen):
    """An HTTP response, received."""

    status_code: int
    headers: Mapping[str, str]  # lower-case names
    content: bytes

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        _assign(self, locals())

    def json(self) -> Any:
        """The decoded body, or None for an empty one."""
        text = self.content.strip()
        return _json.loads(text) if text else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds, from either of its forms (delta-seconds or an HTTP date)."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


class DialectBase:
    """What every dialect shares: the operation check, the dispatch to ``_prepare_<op>`` /
    ``_parse_<op>``, the nonce and the ``task=`` of ``get``.  Subclasses set the class
    attributes and write the ``_prepare_<op>`` / ``_parse_<op>`` methods of their operations
    (a submit op without its own ``_parse_<op>`` goes to ``_parse_submit``).
    """

    name: ClassVar[str] = ""
    #: The operations of the table above that this dialect offers.
    operations: ClassVar[frozenset[str]] = frozenset()
    #: What ``prepare`` expects as ``mask``: "png_data_url", "png_base64" or "polygons".
    mask_format: ClassVar[str] = ""
    #: Seconds between polls that suit this server (PROTOCOLS.md §6.8).
    poll_interval: ClassVar[float] = 3.0
    #: True when submits can follow the job on one streamed answer (``parse_stream_line``).
    supports_stream: ClassVar[bool] = False
    #: At most this many ids per ``get_many`` request; None when the service has no batch read.
    batch_size: ClassVar[int | None] = None
    #: Jobs an account runs at once by default; None when the service does not say.
    max_concurrent: ClassVar[int | None] = None
    #: Typical length of a job in seconds, to space per-task polls by a job's age.
    expected_seconds: ClassVar[float] = 60.0
    #: The wire field that carries ``nonce`` (echoed in tasks' ``raw``); None when there is none.
    nonce_field: ClassVar[str | None] = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def auth_headers(self, api_key: str, request: Request) -> dict[str, str]:
        """The headers that carry ``api_key`` for ``request`` (merged under ``request.headers``)."""
        raise NotImplementedError

    # -- requests ---------------------------------------------------------------------------------
    def _check_op(self, op: str) -> None:
        if op not in self.operations:
            from . import offered_by

            raise UnsupportedOperation(self.name, op, offered_by(op))

    def prepare(self, op: str, **kw: Any) -> Request:
        """The request for ``op`` with the keyword arguments of the module's table.

        Raises:
            UnsupportedOperation: the dialect does not offer ``op``.
            ValidationError: an argument is not allowed (it names the field), before anything is sent.
        """
        self._check_op(op)
        from ._validate import checked_nonce, invalid

        nonce = kw.pop("nonce", None)
        if nonce is not None and op not in SUBMIT_OPS:
            raise invalid("nonce", f"only submits take a nonce; {op} is not one")
        nonce = None if nonce is None else checked_nonce(nonce)
        stream = kw.pop("stream", False)
        if stream is not False and stream is not None:
            if stream is not True:
                raise invalid("stream", f"must be True or False, got {stream!r}")
            if not self.supports_stream:
                raise invalid("stream", f"{self.name} cannot stream a job; it is followed by polling")
            kw["stream"] = True
        known = kw.pop("task", None) if op == "get" else None
        prepare: Callable[..., Request] = getattr(self, f"_prepare_{op}")
        request = prepare(**kw)
        if known is not None:
            request = self._with_known(request, known)
        if nonce is not None:
            request = self._with_nonce(request, nonce)
        return replace(request, op=op)

    def _with_known(self, request: Request, known: Any) -> Request:
        from ._validate import invalid

        if not isinstance(known, Task) or known.dialect != self.name or known.id != request.task_id:
            raise invalid("task", f"expected the {self.name} Task with id {request.task_id!r} (or None)")
        return replace(request, kind=known.kind, prompt=known.prompt, parent_id=known.parent_id)

    def _with_nonce(self, request: Request, nonce: str) -> Request:
        """``request`` carrying ``nonce``; a dialect with a ``nonce_field`` also puts it on the wire.

        A value the caller set in that field itself (``options={"state": …}``) is kept, and becomes
        the request's nonce: what is matched later must be what was sent.
        """
        field_name = self.nonce_field
        if field_name is None or not isinstance(request.json, Mapping):
            return replace(request, nonce=nonce)
        given = request.json.get(field_name)
        if isinstance(given, str) and given:
            return replace(request, nonce=given)
        return replace(request, nonce=nonce, json={**request.json, field_name: nonce})

    # -- answers ----------------------------------------------------------------------------------
    def parse(self, op: str, request: Request, response: Response) -> Any:
        """The result of ``op``'s answer (see the module docstring for its type).

        Raises:
            UnsupportedOperation: the dialect does not offer ``op``.
            APIError: the subclass the answer means (AuthenticationError, RateLimitError, …).
        """
        self._check_op(op)
        handler: Callable[[Request, Response], Any] | None = getattr(self, f"_parse_{op}", None)
        if handler is None and op in SUBMIT_OPS:
            handler = self._parse_submit
        if handler is None:
            raise NotImplementedError(f"{type(self).__name__} offers {op} but has no _parse_{op}")
        result = handler(request, response)
        if isinstance(result, Task) and op == "get":
            result = carry_known(result, request)
        return result

    def _parse_submit(self, request: Request, response: Response) -> Task:
        raise NotImplementedError

    def parse_stream_line(self, request: Request, line: bytes) -> Task:
        """The Task as it stands after one line of a streamed answer."""
        raise UnsupportedOperation(self.name, "stream", ())


def carry_known(task: Task, request: Request) -> Task:
    """``task`` with what the request knew and the answer did not echo (prompt, parent, kind)."""
    changes: dict[str, Any] = {}
    for name in ("prompt", "parent_id", "kind"):
        if getattr(task, name) is None and getattr(request, name) is not None:
            changes[name] = getattr(request, name)
    return replace(task, **changes) if changes else task


#: The type the client and the flows hold a dialect as.
Dialect = DialectBase
