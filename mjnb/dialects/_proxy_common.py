"""What midjourney-proxy and new-api share: new-api relays the proxy protocol (PROTOCOLS.md §4),
so task objects, buttons, return codes and input checks are read once, here (§3, §6).

The relay requests themselves are built by ``mjproxy.MjProxy``; ``newapi.NewApi`` subclasses it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from .._errors import (
    APIError,
    AuthenticationError,
    ModerationError,
    RateLimitError,
    ServerError,
    TaskNotFound,
    ValidationError,
)
from .._models import ACTION_LABELS, ACTION_NAMES, Action, Task, TaskStatus
from ._base import Response, retry_after
from ._validate import (
    checked_callback_url,
    checked_page,
    checked_task_id,
    checked_window,
    is_data_url,
    is_http_url,
    unix_seconds,
)

__all__ = [
    "task_from_dto",
    "actions_from_buttons",
    "numbered_texts",
    "raise_for_result",
    "checked_page",
    "checked_window",
    "checked_id",
    "is_data_url",
    "is_http_url",
    "NO_IMAGE",
]

#: The fail reason of a job that finished without a result (most often removed by moderation).
NO_IMAGE = "finished without an image (moderated?)"
_VIDEO_PATH = re.compile(r"\.(?:mp4|webm|mov|m4v)(?:[?#]|$)", re.IGNORECASE)


# -- task objects (§3.5, §6.2–§6.6) ------------------------------------------------------------
_STATUS = {
    "": TaskStatus.QUEUED,
    "NOT_START": TaskStatus.QUEUED,
    "SUBMITTED": TaskStatus.QUEUED,
    "IN_PROGRESS": TaskStatus.RUNNING,
    "MODAL": TaskStatus.AWAITING_INPUT,
    "SUCCESS": TaskStatus.SUCCEEDED,
    "FAILURE": TaskStatus.FAILED,
    "CANCEL": TaskStatus.CANCELLED,
}
_CANCEL_REASON = "取消任务"  # TAI's cancel endpoint fails the task with this reason (§3.2)
_PROGRESS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_KEYCAP = re.compile(r"[1-9]\ufe0f?\u20e3")  # 1️⃣ … 9️⃣
_TEXT_KINDS = ("DESCRIBE", "SHORTEN")


def map_status(raw: Any, fail_reason: str | None = None) -> TaskStatus:
    value = "" if raw is None else str(raw).strip().upper()
    if value == "FAILURE" and (fail_reason or "").strip() == _CANCEL_REASON:
        return TaskStatus.CANCELLED
    # An unknown value is treated as still running so that wait() keeps polling; raw_status keeps it.
    return _STATUS.get(value, TaskStatus.RUNNING)


def parse_progress(value: Any) -> int | None:
    """``"NN%"`` → NN; blank or non-numeric text (it happens mid-job) → None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = _PROGRESS.match(str(value))
        if not match:
            return None
        number = float(match[1])
    return max(0, min(100, int(number)))


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def loads_if_text(value: Any, default: Any) -> Any:
    """new-api stores ``buttons`` and ``properties`` as JSON text; the proxies send objects."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else default
        except ValueError:
            return default
    return default if value is None else value


def numbered_texts(text: str | None) -> tuple[str, ...]:
    """The items after the 1️⃣ 2️⃣ … markers of a describe / shorten result."""
    if not text:
        return ()
    marks = list(_KEYCAP.finditer(text))
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return tuple(part for part in (text[m.end() : end].strip() for m, end in zip(marks, ends)) if part)


def _texts(kind: str | None, props: Mapping[str, Any], prompt_en: Any) -> tuple[str, ...]:
    if kind not in _TEXT_KINDS:
        return ()
    found = numbered_texts(_text(props.get("finalPrompt"))) or numbered_texts(_text(prompt_en))
    if not found and kind == "DESCRIBE" and _text(prompt_en):  # TAI: four lines joined by \r\n
        found = tuple(line.strip() for line in prompt_en.splitlines() if line.strip())
    return found


def _size(dto: Mapping[str, Any]) -> tuple[int, int] | None:
    width, height = dto.get("imageWidth"), dto.get("imageHeight")
    if (
        isinstance(width, int)
        and isinstance(height, int)
        and not isinstance(width, bool)
        and not isinstance(height, bool)
        and width > 0
        and height > 0
    ):
        return width, height
    return None


def is_video_url(url: str) -> bool:
    """True for a URL whose path names a video file (.mp4, .webm, .mov, .m4v)."""
    return bool(_VIDEO_PATH.search(url))


def _url_items(value: Any) -> list[tuple[str, str | None]]:
    """``(url, thumbnail)`` pairs of ``[{url, thumbnail}]`` (or of plain URL strings; JSON text too)."""
    pairs: list[tuple[str, str | None]] = []
    for item in loads_if_text(value, []) if isinstance(value, (str, list)) else ():
        url = item.get("url") if isinstance(item, Mapping) else item
        thumb = item.get("thumbnail") if isinstance(item, Mapping) else None
        if isinstance(url, str) and _text(url):
            pairs.append((url, thumb if isinstance(thumb, str) and _text(thumb) else None))
    return pairs


def _media(dto: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(image_urls, video_urls, thumbnail_urls)``: TAI puts MP4s in ``imageUrls`` of VIDEO tasks
    too, so every list is sorted by what its URLs are, not by the field's name."""
    videos: dict[str, str | None] = {}
    images: list[str] = []
    single = _text(dto.get("videoUrl"))
    for url, thumb in [
        *_url_items(dto.get("videoUrls")),
        *([(single, None)] if single else []),
        *_url_items(dto.get("imageUrls")),
    ]:
        if is_video_url(url) or url == single:
            videos[url] = videos.get(url) or thumb
        elif url not in images:
            images.append(url)
    thumbs = tuple(t for t in videos.values() if t)
    return tuple(images), tuple(videos), thumbs


def task_from_dto(
    dto: Mapping[str, Any], dialect: str, raw: Mapping[str, Any] | None = None, cost: float | None = None
) -> Task:
    """A proxy task object (camelCase, §3.5 / §4.5) as a Task; ``cost`` is new-api's ``quota`` when
    the answer reports it (dashboard rows), in the unit "quota".

    A SUCCESS with no image, video or text is reported FAILED with :data:`NO_IMAGE` (``raw_status``
    keeps "SUCCESS"); MP4 URLs go to ``video_urls`` (with their thumbnails), never to ``image_url``.
    """
    task_id = dto.get("id")
    if task_id in (None, ""):
        raise ServerError(f"the task object has no id: {dict(dto)!r:.200}", dialect=dialect, body=raw or dto)
    props = loads_if_text(dto.get("properties"), {})
    props = props if isinstance(props, Mapping) else {}
    fail_reason = _text(dto.get("failReason"))
    status = map_status(dto.get("status"), fail_reason)
    kind = _text(dto.get("action"))
    image = _text(dto.get("imageUrl"))
    image_urls, video_urls, thumbnails = _media(dto)
    if image is not None and is_video_url(image):
        video_urls = video_urls if image in video_urls else (image, *video_urls)
        image = None  # a VIDEO task's imageUrl is an MP4: never shown as a (broken) image
    texts = _texts(kind, props, dto.get("promptEn")) if status is TaskStatus.SUCCEEDED else ()
    if status is TaskStatus.SUCCEEDED and not (image or image_urls or video_urls or texts or kind in _TEXT_KINDS):
        status, fail_reason = TaskStatus.FAILED, NO_IMAGE
    progress = 100 if status is TaskStatus.SUCCEEDED else parse_progress(dto.get("progress"))
    succeeded = status is TaskStatus.SUCCEEDED
    buttons = loads_if_text(dto.get("buttons"), [])
    return Task(
        id=str(task_id),
        dialect=dialect,
        status=status,
        kind=kind,
        raw_status=dto.get("status"),
        progress=progress,
        prompt=_text(dto.get("prompt")),
        final_prompt=_text(props.get("finalPrompt")),
        image_url=image if succeeded else None,
        preview_url=image if not status.is_final else None,
        image_urls=image_urls,
        video_urls=video_urls,
        thumbnail_urls=thumbnails,
        size=_size(dto),
        actions=actions_from_buttons(buttons if isinstance(buttons, list) else []),
        texts=texts,
        fail_reason=fail_reason,
        parent_id=_text(dto.get("parentId")),
        submitted_at=unix_seconds(dto.get("submitTime")),
        started_at=unix_seconds(dto.get("startTime")),
        finished_at=unix_seconds(dto.get("finishTime")),
        cost=cost,
        cost_unit="quota" if cost is not None else None,
        raw=dict(raw if raw is not None else dto),
    )


# -- buttons → actions (§3.7, §6.5) --------------------------------------------------------------
LABELS = ACTION_LABELS  # the proxy buttons' captions are the unified ones
_JOB_KEYS = {
    "reroll": "reroll",
    "low_variation": "vary_subtle",
    "high_variation": "vary_strong",
    **{f"pan_{d}": f"pan_{d}" for d in ("left", "right", "up", "down")},
}
_HD_UPSCALE = re.compile(r"^upsample_v[0-9a-z]+_2x_(subtle|creative)$")  # V6, V6.1, V7, niji
_SIZED_UPSCALE = re.compile(r"^upsample_v[0-9a-z]+_(2x|4x)$")  # V5's Upscale (2x) / (4x)
_ZOOMS = {"50": "zoom_out_2x", "75": "zoom_out_1.5x"}
_ORDER = {name: i for i, name in enumerate(ACTION_NAMES)}


def _action_name(custom_id: str) -> str | None:
    parts = custom_id.split("::")
    if len(parts) < 3 or parts[0].upper() != "MJ":
        return None
    family = parts[1].lower()
    if family == "job":
        key, number = parts[2], parts[3] if len(parts) > 3 else ""
        if key in ("upsample", "variation"):
            return f"{key[0].upper()}{number}" if number in ("1", "2", "3", "4") else None
        hd = _HD_UPSCALE.match(key) or _SIZED_UPSCALE.match(key)
        return f"upscale_{hd[1]}" if hd else _JOB_KEYS.get(key)
    if family == "inpaint":
        return "vary_region"
    if family == "outpaint":
        return _ZOOMS.get(parts[2])
    if family == "customzoom":
        return "custom_zoom"
    return None  # animate, video upscale, PicReader, bookmark …: not unified follow-ups


def action_from_button(button: Any) -> Action | None:
    custom_id = button.get("customId") if isinstance(button, Mapping) else None
    name = _action_name(custom_id) if isinstance(custom_id, str) else None
    if name is None:
        return None
    grid = name[0] in "UV" and name[1:].isdigit()
    return Action(
        name=name,
        label=name if grid else LABELS[name],
        index=int(name[1:]) - 1 if grid else None,
        params={"direction": name[4:]} if name.startswith("pan_") else {},
        native={"customId": custom_id},
        needs_input=name in ("vary_region", "custom_zoom"),
    )


def actions_from_buttons(buttons: list[Any]) -> tuple[Action, ...]:
    found: dict[str, Action] = {}
    for button in buttons:
        action = action_from_button(button)
        if action is not None and action.name not in found:
            found[action.name] = action
    return tuple(sorted(found.values(), key=lambda a: _ORDER[a.name]))


def kind_of_custom_id(custom_id: str, parent_kind: str | None) -> str:
    """The action the task started by ``custom_id`` will report (§3.7 'Resulting action')."""
    name = _action_name(custom_id) or ""
    if name[:1] == "U" and name[1:].isdigit():
        return "UPSCALE"
    if name.startswith("upscale_"):
        return "UPSCALE_HD"
    if (name[:1] == "V" and name[1:].isdigit()) or name.startswith("vary_"):
        return "VARIATION"
    if name == "reroll":  # a reroll repeats its parent's job; an upscale's parent was an IMAGINE
        return "IMAGINE" if parent_kind in ("UPSCALE", "UPSCALE_HD") else (parent_kind or "REROLL")
    if name.startswith("pan_"):
        return "PAN"
    if "zoom" in name:
        return "ZOOM"
    return "ACTION"


# -- errors (§3.4, §6.7) -----------------------------------------------------------------------
_QUEUE_FULL = "队列已满"


def code_and_message(body: Any, text: str) -> tuple[Any, str]:
    """The dialect's own code and message, wherever this body keeps them."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return error.get("code", error.get("type")), str(error.get("message") or "").strip()
        message = body.get("description", body.get("message", error))
        return body.get("code"), str(message or "").strip()
    return None, text.strip()[:300]


def _as_int(code: Any) -> int | None:
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    return int(code) if isinstance(code, str) and code.strip().isdigit() else None


#: Code 3 descriptions that name a missing parent task, not a missing account (§3.4).
_PARENT_MISSING = ("关联任务", "task")
NO_ACCOUNT = "no account available, try later"


def raise_for_result(dialect: str, response: Response, body: Mapping[str, Any], *, submit: bool = False) -> None:
    """Raise the error a ``SubmitResultVO`` return code means (§3.4); codes 1, 21 and 22 pass.

    The same code means different things by operation: 3 on a read is an unknown task, on a
    submit either a parent task that is gone (TaskNotFound) or no free account (a ServerError to
    retry later; no job was created).
    """
    code = _as_int(body.get("code"))
    if code in (1, 21, 22):
        return
    described = str(body.get("description") or "").strip()
    message = described or f"return code {body.get('code')!r}"
    props = mapping(body.get("properties"))
    kw: dict[str, Any] = dict(status_code=response.status_code, code=body.get("code"), dialect=dialect, body=body)
    if code == 3:
        if not submit:
            raise TaskNotFound(message, **kw)
        if any(mark in described.lower() for mark in _PARENT_MISSING):
            raise TaskNotFound(f"the parent task is gone or unknown: {message}", **kw)
        raise ServerError(f"{NO_ACCOUNT} ({message})", **kw)
    if code == 4:
        raise ValidationError(message, **kw)
    if code == 23 or (code == 9 and _QUEUE_FULL in message):
        raise RateLimitError(message, retry_after=retry_after(response.headers), **kw)
    if code == 9:
        raise ServerError(message, **kw)
    if code == 24:
        raise ModerationError(message, banned_word=_text(props.get("bannedWord")), **kw)
    raise APIError(f"unexpected return code: {message}", **kw)


# -- request checks ------------------------------------------------------------------------------
_MODES = ("fast", "relax", "turbo")
_SPEED_FLAG = re.compile(r"(?<!\S)--(fast|relax|turbo)(?!\S)")
#: The proxies' ``botType`` for mjnb's ``bot`` argument.
BOT_TYPES = {"mj": "MID_JOURNEY", "niji": "NIJI_JOURNEY"}
_COMMON_OPTIONS: dict[str, type] = {"state": str, "accountFilter": dict}
_OPTIONS: dict[str, dict[str, type]] = {
    "imagine": _COMMON_OPTIONS,
    # chooseSameChannel (plus): let any account of the parent's channel run the follow-up.
    "action": {**_COMMON_OPTIONS, "enableRemix": bool, "strong": bool, "tools": list, "chooseSameChannel": bool},
    "modal": _COMMON_OPTIONS,
    "edit": _COMMON_OPTIONS,
    "blend": {**_COMMON_OPTIONS, "botType": str},
    "describe": {**_COMMON_OPTIONS, "botType": str, "language": str},
    "shorten": {**_COMMON_OPTIONS, "botType": str},
}


def required_text(value: Any, field: str) -> str:
    """``value`` stripped; refused when it is not a string or blank."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field}: must be a non-empty string", field=field)
    return value.strip()


def checked_id(value: Any, field: str = "task_id") -> str:
    """A task id that stays inside its route (see :func:`_validate.checked_task_id`)."""
    return checked_task_id(value, field)


def bot_type(bot: Any) -> dict[str, str]:
    """``{"botType": …}`` for ``bot`` ("mj", "niji" or None: the server's default)."""
    if bot is None:
        return {}
    if bot not in BOT_TYPES:
        raise ValidationError(f"bot: {bot!r} is not allowed; use 'mj', 'niji' or None", field="bot")
    return {"botType": BOT_TYPES[bot]}


def mode_prefix(mode: str | None) -> str:
    """``/mj-fast`` etc.: the path segment that forces a speed mode, or "" for the default."""
    if mode is None:
        return ""
    if not isinstance(mode, str) or mode.strip().lower() not in _MODES:
        raise ValidationError(f"mode: {mode!r} is not allowed; use one of {', '.join(_MODES)} or None", field="mode")
    return f"/mj-{mode.strip().lower()}"


def with_speed(prompt: str, mode: str | None) -> str:
    """The prompt with ``--fast``/``--relax``/``--turbo``/``--draft``: how a relay takes a speed."""
    if mode is None:
        return prompt
    if mode not in (*_MODES, "draft"):
        raise ValidationError(f"mode: {mode!r} is not allowed; use fast, relax, turbo, draft or None", field="mode")
    if re.search(rf"(?<!\S)--{mode}(?!\S)", prompt):
        return prompt
    clash = set(_SPEED_FLAG.findall(prompt)) - {mode}
    if mode != "draft" and clash:
        raise ValidationError(f"mode: {mode!r} contradicts --{clash.pop()} in the prompt; keep one", field="mode")
    return f"{prompt} --{mode}"


def checked_options(op: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``options`` of ``op`` checked by name and type (§3.3)."""
    allowed = _OPTIONS.get(op, {})
    checked: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            raise ValidationError(f"{key}: not an option of {op}; allowed: {names}", field=key)
        if not isinstance(value, allowed[key]) or (allowed[key] is not bool and isinstance(value, bool)):
            raise ValidationError(f"{key}: must be a {allowed[key].__name__}, got {type(value).__name__}", field=key)
        if key == "state" and isinstance(value, str) and len(value) > 255:
            raise ValidationError("state: at most 255 characters", field="state")
        if key == "botType" and value not in BOT_TYPES.values():
            raise ValidationError(
                f"botType: {value!r} is not allowed; use MID_JOURNEY or NIJI_JOURNEY", field="botType"
            )
        checked[key] = value
    return checked


def notify_hook(callback_url: Any) -> dict[str, str]:
    """``{"notifyHook": url}`` (TAI: at most 2000 characters), or {} for None."""
    if callback_url is None:
        return {}
    return {"notifyHook": checked_callback_url(callback_url, max_chars=2000, public_https=False)}


def checked_task(task: Any, dialect: str) -> Task:
    """``task`` if it is a Task of ``dialect`` with a usable id."""
    if not isinstance(task, Task):
        raise ValidationError(f"task: expected a Task, got {type(task).__name__}", field="task")
    if task.dialect != dialect:
        raise ValidationError(f"task: {task.id} belongs to the {task.dialect} dialect, not {dialect}", field="task")
    checked_id(task.id, "task")
    return task


# -- answers -------------------------------------------------------------------------------------
def decode_body(dialect: str, response: Response, *, wrong_route: str | None = None) -> Any:
    """The decoded JSON body, after raising for what a status means on every relay.

    ``wrong_route`` is the message for a 404 that carries no return code (a submit path the
    server does not have: the base URL is wrong).
    """
    status = response.status_code
    text = response.content.decode("utf-8", "replace")
    try:
        body, decoded = response.json(), True
    except ValueError:
        body, decoded = None, False
    code, message = code_and_message(body, text)
    if status == 404 and wrong_route is not None and not (isinstance(body, Mapping) and "code" in body):
        raise APIError(
            wrong_route, status_code=status, dialect=dialect, body=body if decoded else (text.strip() or None)
        )
    kw: dict[str, Any] = dict(
        status_code=status, code=code, dialect=dialect, body=body if decoded else (text.strip() or None)
    )
    if status in (401, 403):
        raise AuthenticationError(message or f"the server refused the key (HTTP {status})", **kw)
    if status == 429:
        raise RateLimitError(message or "too many requests", retry_after=retry_after(response.headers), **kw)
    if status >= 500:
        raise ServerError(message or f"the server failed (HTTP {status})", **kw)
    if not decoded:
        raise ServerError(f"HTTP {status}: the answer is not JSON: {text.strip()[:200]!r}", **kw)
    return body
