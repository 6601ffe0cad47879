"""The sans-IO contract every dialect module fulfils.

A dialect turns an operation into a :class:`Request` (method, path, JSON …) and a
:class:`Response` (status, headers, bytes) into a result: a :class:`~mjnb.Task`, a
:class:`~mjnb.Page`, a string or a typed error.  No sockets, no sleeping, no httpx.

Operations and the keyword arguments ``prepare(op, **kw)`` takes (the client passes exactly
these; dialect-specific extras arrive in ``options``, a dict merged into the JSON body):

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
blend          images: tuple[str, ...] (data URLs), dimensions: "PORTRAIT"|"SQUARE"|"LANDSCAPE",
               callback_url, options
describe       image: str (URL or data URL), callback_url, options
shorten        prompt: str, options
translate      text: str, options
retexture      image: str (URL or data URL), prompt: str, callback_url, options
remove_bg      image: str (URL or data URL), callback_url, options
get            task_id: str
list           page: int (1-based), page_size: int, task_id: str|None, since: float|None,
               until: float|None (unix seconds), admin: bool
seed           task: Task
cancel         task_id: str
=============  ==========================================================================

The encoded mask is whatever ``mask_format`` says the dialect wants; the client converts a
user's mask with :mod:`mjnb.images` before calling ``prepare``.

``parse(op, request, response)`` returns a Task for every submit op, ``get`` and ``cancel``
(the cancelled task, or None when the server answers with nothing), a Page for ``list``, a
str for ``seed``.  Errors are raised as the classes of :mod:`mjnb._errors`, carrying the
dialect's own code and message.
"""

from __future__ import annotations

import email.utils
import json as _json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

__all__ = ["Request", "Response", "Dialect", "SUBMIT_OPS", "ALL_OPS", "retry_after"]

#: Operations that create a (possibly billed) job: never resent unless proven not created.
SUBMIT_OPS = frozenset(
    {"imagine", "action", "modal", "inpaint", "reposition", "edit", "blend", "describe", "shorten",
     "translate", "retexture", "remove_bg"}
)
ALL_OPS = SUBMIT_OPS | {"get", "list", "seed", "cancel"}


@dataclass(frozen=True)
class Request:
    """An HTTP request, described.  ``path`` is relative to the dialect's base URL."""

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


@dataclass(frozen=True)
class Response:
    """An HTTP response, received."""

    status_code: int
    headers: Mapping[str, str]  # lower-case names
    content: bytes

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


class Dialect(Protocol):
    """What the client needs of a dialect.  Each module exposes one instance as ``DIALECT``."""

    name: str
    #: The operations of the table above that this dialect offers.
    operations: frozenset[str]
    #: What ``prepare`` expects as ``mask``: "png_data_url", "png_base64" or "polygons".
    mask_format: str
    #: Seconds between polls that suit this server (PROTOCOLS.md §6.8).
    poll_interval: float

    def auth_headers(self, api_key: str, request: Request) -> dict[str, str]:
        """The headers that carry ``api_key`` for ``request`` (merged under ``request.headers``)."""
        ...

    def prepare(self, op: str, **kw: Any) -> Request: ...

    def parse(self, op: str, request: Request, response: Response) -> Any: ...


class StreamingDialect(Dialect, Protocol):
    """A dialect that can follow a job on one streamed request (AceData NDJSON).

    ``prepare(op, ..., stream=True)`` returns a Request with ``stream=True``; the client feeds
    each non-empty line of the answer to ``parse_stream_line``, which returns the Task as it
    stands after that line (or raises the typed error the line carries).
    """

    supports_stream: bool

    def parse_stream_line(self, request: Request, line: bytes) -> Any: ...
