"""What midjourney-proxy and new-api share: new-api relays the proxy protocol (PROTOCOLS.md §4),
so task objects, buttons, return codes and input checks are read once, here (§3, §6).

The relay requests themselves are built by ``mjproxy.MjProxy``; ``newapi.NewApi`` subclasses it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
from ._base import retry_after
from .._models import ACTION_LABELS, ACTION_NAMES, Action, Task, TaskStatus
from ._base import Request, Response

__all__ = ["ProxyRequest", "task_from_dto", "actions_from_buttons", "numbered_texts", "raise_for_result"]


@dataclass(frozen=True)
class ProxyRequest(Request):
    """A Request plus what parsing its answer needs (``dataclasses.replace`` keeps these)."""

    kind: str | None = None  # the action the accepted task will carry (IMAGINE, UPSCALE …)
    prompt: str | None = None
    parent_id: str | None = None
    task_id: str | None = None
    page: int = 1
    page_size: int = 20
    since: float | None = None
    until: float | None = None


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


def _seconds(ms: Any) -> float | None:
    if isinstance(ms, bool) or ms in (None, ""):
        return None
    try:
        value = float(ms)
    except (TypeError, ValueError):
        return None
    return value / 1000.0 if value > 0 else None


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
    return tuple(part for part in (text[m.end():end].strip() for m, end in zip(marks, ends)) if part)


def _texts(kind: str | None, props: Mapping[str, Any], prompt_en: Any) -> tuple[str, ...]:
    if kind not in _TEXT_KINDS:
        return ()
    found = numbered_texts(_text(props.get("finalPrompt"))) or numbered_texts(_text(prompt_en))
    if not found and kind == "DESCRIBE" and _text(prompt_en):  # TAI: four lines joined by \r\n
        found = tuple(line.strip() for line in prompt_en.splitlines() if line.strip())
    return found


def _size(dto: Mapping[str, Any]) -> tuple[int, int] | None:
    width, height = dto.get("imageWidth"), dto.get("imageHeight")
    ok = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height))
    return (width, height) if ok else None


def _image_urls(value: Any) -> tuple[str, ...]:
    urls = []
    for item in value if isinstance(value, list) else ():
        url = item.get("url") if isinstance(item, Mapping) else item
        if _text(url):
            urls.append(url)
    return tuple(urls)


def task_from_dto(dto: Mapping[str, Any], dialect: str, raw: Mapping[str, Any] | None = None) -> Task:
    """A proxy task object (camelCase, §3.5 / §4.5) as a Task."""
    task_id = dto.get("id")
    if task_id in (None, ""):
        raise ServerError(f"the task object has no id: {dict(dto)!r:.200}", dialect=dialect, body=raw or dto)
    props = loads_if_text(dto.get("properties"), {})
    props = props if isinstance(props, Mapping) else {}
    fail_reason = _text(dto.get("failReason"))
    status = map_status(dto.get("status"), fail_reason)
    kind = _text(dto.get("action"))
    progress = 100 if status is TaskStatus.SUCCEEDED else parse_progress(dto.get("progress"))
    image = _text(dto.get("imageUrl"))
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
        image_urls=_image_urls(dto.get("imageUrls")),
        size=_size(dto),
        actions=actions_from_buttons(buttons if isinstance(buttons, list) else []),
        texts=_texts(kind, props, dto.get("promptEn")) if succeeded else (),
        fail_reason=fail_reason,
        parent_id=_text(dto.get("parentId")),
        submitted_at=_seconds(dto.get("submitTime")),
        started_at=_seconds(dto.get("startTime")),
        finished_at=_seconds(dto.get("finishTime")),
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


def raise_for_result(dialect: str, response: Response, body: Mapping[str, Any]) -> None:
    """Raise the error a ``SubmitResultVO`` return code means; codes 1, 21 and 22 pass."""
    code = _as_int(body.get("code"))
    if code in (1, 21, 22):
        return
    message = str(body.get("description") or f"return code {body.get('code')!r}")
    props = body.get("properties") if isinstance(body.get("properties"), Mapping) else {}
    kw = dict(status_code=response.status_code, code=body.get("code"), dialect=dialect, body=body)
    if code == 3:
        raise TaskNotFound(message, **kw)
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
_DATA_URL = re.compile(r"^data:image/[\w.+-]+;base64,")
_MODES = ("fast", "relax", "turbo")
_SPEED_FLAG = re.compile(r"(?<!\S)--(fast|relax|turbo)(?!\S)")
#: The proxies' ``botType`` for mjnb's ``bot`` argument.
BOT_TYPES = {"mj": "MID_JOURNEY", "niji": "NIJI_JOURNEY"}
_COMMON_OPTIONS = {"state": str, "accountFilter": dict}
_OPTIONS: dict[str, dict[str, type]] = {
    "imagine": _COMMON_OPTIONS,
    "action": {**_COMMON_OPTIONS, "enableRemix": bool, "strong": bool, "tools": list},
    "modal": _COMMON_OPTIONS,
    "edit": _COMMON_OPTIONS,
    "blend": {**_COMMON_OPTIONS, "botType": str},
    "describe": {**_COMMON_OPTIONS, "botType": str, "language": str},
    "shorten": {**_COMMON_OPTIONS, "botType": str},
}


def is_data_url(value: Any) -> bool:
    return isinstance(value, str) and bool(_DATA_URL.match(value))


def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8


def required_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field}: must be a non-empty string", field=field)
    return value.strip()


def checked_id(value: Any, field: str = "task_id") -> str:
    text = required_text(value, field)
    if any(ch.isspace() or ch in "/?#" for ch in text):
        raise ValidationError(f"{field}: {text!r} is not a task id (no spaces, '/', '?' or '#')", field=field)
    return text


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
    allowed = _OPTIONS.get(op, {})
    checked = {}
    for key, value in (options or {}).items():
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            raise ValidationError(f"{key}: not an option of {op}; allowed: {names}", field=key)
        if not isinstance(value, allowed[key]) or (allowed[key] is not bool and isinstance(value, bool)):
            raise ValidationError(f"{key}: must be a {allowed[key].__name__}, got {type(value).__name__}", field=key)
        if key == "state" and len(value) > 255:
            raise ValidationError("state: at most 255 characters", field="state")
        if key == "botType" and value not in BOT_TYPES.values():
            raise ValidationError(f"botType: {value!r} is not allowed; use MID_JOURNEY or NIJI_JOURNEY", field="botType")
        checked[key] = value
    return checked


def checked_page(page: Any, page_size: Any) -> tuple[int, int]:
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ValidationError(f"page: {page!r} is not allowed; use a whole number ≥ 1", field="page")
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= 100:
        raise ValidationError(f"page_size: {page_size!r} is not allowed; use 1 to 100", field="page_size")
    return page, page_size


def checked_window(since: Any, until: Any) -> tuple[float | None, float | None]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValidationError(f"{name}: {value!r} is not allowed; use unix seconds (a number ≥ 0) or None", field=name)
    if since is not None and until is not None and until < since:
        raise ValidationError(f"until: {until} is before since ({since})", field="until")
    return since, until


def notify_hook(callback_url: Any) -> dict[str, str]:
    if callback_url is None:
        return {}
    if not is_http_url(callback_url) or len(callback_url) > 2000:
        raise ValidationError("callback_url: must be an http(s) URL of at most 2000 characters", field="callback_url")
    return {"notifyHook": callback_url}


def checked_task(task: Any, dialect: str) -> Task:
    if not isinstance(task, Task):
        raise ValidationError(f"task: expected a Task, got {type(task).__name__}", field="task")
    if task.dialect != dialect:
        raise ValidationError(f"task: {task.id} belongs to the {task.dialect} dialect, not {dialect}", field="task")
    checked_id(task.id, "task")
    return task


# -- answers -------------------------------------------------------------------------------------
def decode_body(dialect: str, response: Response) -> Any:
    """The decoded JSON body, after raising for what a status means on every relay."""
    status = response.status_code
    text = response.content.decode("utf-8", "replace")
    try:
        body, decoded = response.json(), True
    except ValueError:
        body, decoded = None, False
    code, message = code_and_message(body, text)
    kw = dict(status_code=status, code=code, dialect=dialect, body=body if decoded else (text.strip() or None))
    if status in (401, 403):
        raise AuthenticationError(message or f"the server refused the key (HTTP {status})", **kw)
    if status == 429:
        raise RateLimitError(message or "too many requests", retry_after=retry_after(response.headers), **kw)
    if status >= 500:
        raise ServerError(message or f"the server failed (HTTP {status})", **kw)
    if not decoded:
        raise ServerError(f"HTTP {status}: the answer is not JSON: {text.strip()[:200]!r}", **kw)
    return body
