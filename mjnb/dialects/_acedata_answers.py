"""AceData Cloud answers (PROTOCOLS.md §2.2, §2.6, §2.7): task documents, result objects, NDJSON
lines and callback bodies as Tasks; error envelopes as typed errors.  Requests are in ``acedata``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Mapping

from .._errors import (
    APIError,
    AuthenticationError,
    ModerationError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from .._models import ACTION_LABELS, Action, Task, TaskStatus
from ._base import Request, Response
from ._common import (
    class_for_status,
    positive_int,
    progress_of,
    retry_after,
    seconds,
    sorted_actions,
    text_or_none,
    wrong_route,
)
from ._proxy_common import NO_IMAGE, is_video_url, mapping
from ._validate import is_result_url

#: AceData's follow-up ``action`` strings → the unified names (§2.2, §6.5).
UNIFIED = {
    **{f"upscale{n}": f"U{n}" for n in range(1, 5)},
    **{f"variation{n}": f"V{n}" for n in range(1, 5)},
    "reroll": "reroll",
    "upscale_2x": "upscale_2x",
    "upscale_4x": "upscale_4x",
    "variation_subtle": "vary_subtle",
    "variation_strong": "vary_strong",
    "variation_region": "vary_region",
    "zoom_out_2x": "zoom_out_2x",
    "zoom_out_1_5x": "zoom_out_1.5x",
    **{f"pan_{d}": f"pan_{d}" for d in ("left", "right", "up", "down")},
}
NATIVE = {unified: native for native, unified in UNIFIED.items()}
#: The actions AceData lists after an upscale (§2.2): an image carrying any of them is a single
#: upscaled image, on which Vary (Region) works even though AceData does not list it.
_SINGLE_IMAGE = frozenset(
    {
        "upscale_2x",
        "upscale_4x",
        "variation_subtle",
        "variation_strong",
        "zoom_out_2x",
        "zoom_out_1_5x",
        "pan_left",
        "pan_right",
        "pan_up",
        "pan_down",
    }
)
_KINDS = {
    "generate": "IMAGINE",
    "reroll": "REROLL",
    "variation_region": "INPAINT",
    "upscale_2x": "UPSCALE_HD",
    "upscale_4x": "UPSCALE_HD",
    "edits": "EDIT",
    "describe": "DESCRIBE",
    "shorten": "SHORTEN",
    "translate": "TRANSLATE",
    "videos": "VIDEO",
}
_FAMILIES = (("upscale", "UPSCALE"), ("variation", "VARIATION"), ("pan_", "PAN"), ("zoom_out", "ZOOM"))
_DONE_STATES = frozenset({"complete", "completed", "succeeded", "success"})
_FAILED_STATES = frozenset({"failed", "error"})
_CANCELLED_STATES = frozenset({"cancelled", "canceled"})

# §2.7 error codes → classes.  ``used_up`` (balance exhausted) is a quota: RateLimitError, which
# the transport never retries on its own (it retries HTTP 429 only).
_ERROR_CLASSES: dict[str, type[APIError]] = {
    **dict.fromkeys(("bad_request", "token_mismatched", "api_not_implemented"), ValidationError),
    **dict.fromkeys(("invalid_token", "token_expired", "no_token", "disabled"), AuthenticationError),
    "forbidden": ModerationError,
    **dict.fromkeys(("used_up", "too_many_requests"), RateLimitError),
    **dict.fromkeys(("api_error", "timeout"), ServerError),
}
_REQUEST_FIELDS = re.compile(r"\b(prompt|image_url|image_id|mask|mode|version|quality|callback_url|action|id)\b")


def kind_of(native: str | None) -> str | None:
    """The proxy-style kind (IMAGINE, UPSCALE, …) of the task an AceData action starts."""
    if not native:
        return None
    family = next((k for p, k in _FAMILIES if native.startswith(p)), native.upper())
    return _KINDS.get(native, family)


# -- answers (§2.2, §2.6) --------------------------------------------------------------------------
def error_parts(error: Any) -> tuple[Any, str | None]:
    """``(code, message)`` of an ``error`` that is an object or, per ACE-SDK, a plain string."""
    if isinstance(error, Mapping):
        code = error.get("code")
        return code, text_or_none(error.get("message")) or (str(code) if code not in (None, "") else None)
    return None, text_or_none(error)


def has_error(value: Any) -> bool:
    return value not in (None, "", {}, [])


def is_record(payload: Mapping[str, Any]) -> bool:
    """A ``/midjourney/tasks`` document (vs. a result object, which carries ``task_id``)."""
    return "id" in payload or "response" in payload or "request" in payload


def _state(record: Mapping[str, Any], result: Mapping[str, Any]) -> tuple[TaskStatus, Any, str | None, int | None]:
    """``(status, error_code, fail_reason, progress)`` derived as §2.6 and §6.2 say."""
    state = str(record.get("state") or "").strip().lower()
    error = result.get("error") if has_error(result.get("error")) else record.get("error")
    code, message = error_parts(error)
    progress = progress_of(result.get("progress", record.get("progress")))
    if state in _CANCELLED_STATES:
        return TaskStatus.CANCELLED, code, message or "the task was cancelled", progress
    if result.get("success") is False or has_error(error) or state in _FAILED_STATES:
        return TaskStatus.FAILED, code, message or "the task failed with no reason given", progress
    finished = seconds(record.get("finished_at")) is not None
    if result.get("success") is True or state in _DONE_STATES:
        if progress is not None and progress < 100 and not finished:
            return TaskStatus.RUNNING, None, None, progress  # an NDJSON line before the end
        return TaskStatus.SUCCEEDED, None, None, 100
    if finished:  # ACE-SDK: finished_at alone is terminal; it succeeded only if it left a result
        if any(result.get(k) for k in ("raw_image_url", "image_url", "sub_image_urls", "descriptions", "prompts")):
            return TaskStatus.SUCCEEDED, None, None, 100
        return TaskStatus.FAILED, None, "the task finished without a result or an error", progress
    running = progress is not None or seconds(record.get("started_at")) is not None
    return (TaskStatus.RUNNING if running else TaskStatus.QUEUED), None, None, progress


def _actions(natives: Any, image_id: str | None, kind: str | None) -> tuple[Action, ...]:
    if not image_id or not isinstance(natives, list):
        return ()
    names = [a for a in natives if isinstance(a, str) and a in UNIFIED]
    upscaled = kind == "UPSCALE" or any(a in _SINGLE_IMAGE for a in names)
    if upscaled and "variation_region" not in names:
        names.append("variation_region")  # accepted on an upscaled image though never listed (§2.2 ⚠️)
    found = []
    for native in names:
        name = UNIFIED[native]
        grid = name[0] in "UV" and name[1:].isdigit()
        found.append(
            Action(
                name=name,
                label=name if grid else ACTION_LABELS[name],
                index=int(name[1:]) - 1 if grid else None,
                params={"direction": name[4:]} if name.startswith("pan_") else {},
                native={"action": native, "image_id": image_id},
            )
        )
    return sorted_actions(found)


def _urls(value: Any) -> tuple[str, ...]:
    return tuple(u for u in value if is_result_url(u)) if isinstance(value, list) else ()


def _texts(result: Mapping[str, Any]) -> tuple[str, ...]:
    found = result.get("descriptions", result.get("prompts"))
    return tuple(t.strip() for t in found if isinstance(t, str) and t.strip()) if isinstance(found, list) else ()


def task_from_payload(payload: Mapping[str, Any], request: Request | None = None) -> Task:
    """A Task from a submit answer, an NDJSON line, a callback body or a ``/tasks`` document."""
    record = payload if is_record(payload) else {}
    result = payload.get("response") if record else payload
    result = result if isinstance(result, Mapping) else {}
    task_id = (
        text_or_none(record.get("id"))
        or text_or_none(result.get("task_id"))
        or text_or_none(payload.get("task_id"))
        or (request.task_id if request else None)
    )
    if task_id is None:
        raise ServerError(f"the answer names no task: {json.dumps(payload)[:200]}", dialect="acedata", body=payload)
    status, code, reason, progress = _state(record, result)
    asked = mapping(record.get("request"))
    kind_source = asked.get("action") if record.get("type") in (None, "imagine") else record.get("type")
    kind = kind_of(text_or_none(kind_source)) or (request.kind if request else None)
    image_id = text_or_none(result.get("image_id")) or text_or_none(record.get("image_id"))
    full, thumb = text_or_none(result.get("raw_image_url")), text_or_none(result.get("image_url"))
    videos = _urls(result.get("video_urls"))
    texts = _texts(result)
    if status is TaskStatus.SUCCEEDED and not (full or thumb or videos or texts or _urls(result.get("sub_image_urls"))):
        status, reason = TaskStatus.FAILED, NO_IMAGE
    done = status is TaskStatus.SUCCEEDED
    if videos or (full and is_video_url(full)) or (thumb and is_video_url(thumb)):
        # a video task: its image_url is the first frame, kept as the thumbnail; no MP4 as an image
        videos = videos or tuple(u for u in (full, thumb) if u and is_video_url(u))
        stills = tuple(u for u in (thumb, full) if u and not is_video_url(u))[:1]
        full = thumb = None
    else:
        stills = ()
    width, height = (
        (result.get("raw_image_width"), result.get("raw_image_height"))
        if full
        else (result.get("image_width"), result.get("image_height"))
    )
    size = (positive_int(width), positive_int(height))
    return Task(
        id=task_id,
        dialect="acedata",
        status=status,
        kind=kind,
        raw_status=text_or_none(record.get("state")),
        progress=progress,
        prompt=text_or_none(asked.get("prompt")) or (request.prompt if request else None),
        image_url=(full or thumb) if done else None,
        preview_url=thumb,  # the in-progress preview, or the finished image's thumbnail
        image_urls=_urls(result.get("sub_image_urls")) if done else (),
        size=size if done and None not in size else None,  # type: ignore[arg-type]
        actions=_actions(result.get("actions"), image_id, kind) if done else (),
        texts=texts if done else (),
        fail_reason=reason,
        error_code=code,
        video_urls=videos if done else (),
        thumbnail_urls=stills if done else (),
        parent_id=request.parent_id if request else None,
        image_id=image_id,
        submitted_at=seconds(record.get("created_at")),
        started_at=seconds(record.get("started_at")),
        finished_at=seconds(record.get("finished_at")),
        raw=dict(payload),
    )


def error_for(
    code: Any,
    message: str | None,
    *,
    status_code: int | None,
    body: Any,
    headers: Mapping[str, str] | None = None,
    submit: bool = False,
    route: str = "",
) -> APIError:
    """The typed error for an AceData error code (§2.7), falling back on the HTTP status.

    The error carries AceData's ``trace_id`` (what its support asks for) as ``error.trace_id``
    and in its message; a 404 without a code on a submit says the base URL is probably wrong.
    """
    trace_id = text_or_none(body.get("trace_id")) if isinstance(body, Mapping) else None
    cls = _ERROR_CLASSES.get(str(code)) if code is not None else None
    cls = cls or class_for_status(status_code, submit=submit)
    if status_code == 404 and submit and code is None:
        message = f"{wrong_route('acedata', 'POST', route)}; the server said: {message or 'nothing'}"
    text = message or f"HTTP {status_code} with no error message"
    if trace_id:
        text = f"{text} (trace_id {trace_id})"
    kw: dict[str, Any] = dict(status_code=status_code, code=code, dialect="acedata", body=body)
    # A blocking call that timed out (504 / code timeout) left a job that may still run and bill.
    kw["job_may_exist"] = code == "timeout" or status_code == 504
    error: APIError
    if cls is RateLimitError:
        error = RateLimitError(text, retry_after=retry_after(headers or {}), **kw)
    elif cls is ValidationError:
        named = _REQUEST_FIELDS.search(text)
        error = ValidationError(text, field=named[1] if named else None, **kw)
    else:
        error = cls(text, **kw)
    setattr(error, "trace_id", trace_id)  # noqa: B010 - APIError does not declare trace_id (yet)
    return error


#: The synchronous endpoints and the field that carries their text(s).
TEXT_ANSWERS = {"describe": "descriptions", "shorten": "prompts", "translate": "content"}


def text_task(kind: str, request: Request, response: Response, body: Mapping[str, Any], texts: Any) -> Task:
    """Describe / shorten answer at once with no task id: use one if present, else a stable hash of
    the exchange (``describe-<16 hex>``), so a journal can still tell the results apart."""
    task_id = text_or_none(body.get("task_id")) or text_or_none(body.get("trace_id"))
    if task_id is None:
        digest = hashlib.sha256(json.dumps(request.json, sort_keys=True).encode() + b"\n" + response.content)
        task_id = f"{kind.lower()}-{digest.hexdigest()[:16]}"
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ServerError(
            f"expected a list of texts, got {json.dumps(body)[:200]}",
            status_code=response.status_code,
            dialect="acedata",
            body=body,
        )
    return Task(
        id=task_id,
        dialect="acedata",
        status=TaskStatus.SUCCEEDED,
        kind=kind,
        progress=100,
        prompt=request.prompt,
        texts=tuple(t.strip() for t in texts if t.strip()),
        raw=dict(body),
    )
