"""AceData Cloud request validation (PROTOCOLS §2.2–§2.7): JSON bodies in, typed requests or errors out.

Every refusal is an :class:`AceError` carrying the HTTP status, the service's ``error.code`` and
a message that names the field and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._guard import decode_json

GRID_ACTIONS = (
    "upscale1",
    "upscale2",
    "upscale3",
    "upscale4",
    "reroll",
    "variation1",
    "variation2",
    "variation3",
    "variation4",
)
UPSCALED_ACTIONS = (
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
)
IMAGINE_ACTIONS = ("generate", *GRID_ACTIONS, *UPSCALED_ACTIONS, "variation_region")
MODES = ("fast", "relax", "turbo")
VERSIONS = ("5.2", "6", "6.1", "7", "8", "8.1", "8.2")
QUALITIES = (".25", ".5", "1", "2", "4")
DEFAULT_TIMEOUT = 480.0
MAX_IMAGE_PROMPTS = 5

# The simulator's moderation: a prompt containing one of these whole words is refused with
# 403 forbidden, as the service's AI moderators do. Small on purpose; tests use "nsfw".
BANNED_WORDS = ("nsfw", "gore", "nude", "naked", "decapitated")
MODERATION_MESSAGE = "Sorry! Our Al moderators feel your prompt might be against our community standards."
_BANNED_RE = re.compile(r"\b(" + "|".join(BANNED_WORDS) + r")\b", re.IGNORECASE)
_IMAGE_PROMPT_RE = re.compile(r"^(https?://\S+|data:image/\S+)$")

# error.code → HTTP status, for failures that end a blocking call (§2.7).
STATUS_OF_CODE = {
    "bad_request": 400,
    "token_mismatched": 400,
    "api_not_implemented": 400,
    "no_token": 401,
    "invalid_token": 401,
    "token_expired": 401,
    "forbidden": 403,
    "used_up": 403,
    "disabled": 403,
    "too_many_requests": 429,
    "api_error": 500,
    "timeout": 504,
}


class AceError(Exception):
    """A refusal answered with the §2.7 envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> AceError:
    return AceError(400, "bad_request", message)


def fetch_failed() -> AceError:
    return AceError(500, "api_error", "fetch failed")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request's JSON object, or 400 with the service's own wording."""
    try:
        body = decode_json(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise bad_request("The json payload is not valid to request the API")
    return body


def refuse_banned(prompt: str | None) -> None:
    if prompt and _BANNED_RE.search(prompt):
        raise AceError(403, "forbidden", MODERATION_MESSAGE)


def split_image_prompts(prompt: str) -> tuple[list[str], str]:
    """Leading image URLs (image prompts / blend) and the text after them."""
    words = prompt.split()
    urls: list[str] = []
    while words and _IMAGE_PROMPT_RE.match(words[0]):
        urls.append(words.pop(0))
    if len(urls) > MAX_IMAGE_PROMPTS:
        raise bad_request(f"prompt: at most {MAX_IMAGE_PROMPTS} image URLs may start a prompt, got {len(urls)}")
    return urls, " ".join(words)


@dataclass(frozen=True)
class JobRequest:
    """A validated imagine or edits request."""

    kind: str  # "imagine" | "edits"
    action: str
    prompt: str | None
    image_id: str | None
    image_url: str | None
    mask: str | None
    mode: str
    version: str | None
    timeout: float
    translation: bool
    split_images: bool
    hd: bool
    quality: str
    callback_url: str | None
    wants_async: bool
    trace_id: str | None
    body: dict[str, Any]


def parse_imagine(body: dict[str, Any]) -> JobRequest:
    action = _enum(body, "action", IMAGINE_ACTIONS, "generate")
    prompt = _text(body, "prompt")
    image_id = _text(body, "image_id")
    if action == "generate":
        if not prompt or not prompt.strip():
            raise bad_request("prompt is required")
    elif not image_id:
        raise bad_request(f"image_id is required for action {action!r}")
    mask = _text(body, "mask")
    if action == "variation_region" and not mask:
        raise bad_request("mask is required for action 'variation_region'")
    if mask and action != "variation_region":
        raise bad_request(f"mask is only accepted with action 'variation_region', not {action!r}")
    return _job_request(body, "imagine", action, prompt, image_id=image_id, mask=mask)


def parse_edits(body: dict[str, Any]) -> JobRequest:
    action = _enum(body, "action", ("generate",), "generate")
    image_url = _text(body, "image_url")
    if not image_url:
        raise bad_request("image_url is required")
    prompt = _text(body, "prompt")
    if not prompt or not prompt.strip():
        raise bad_request("prompt is required")
    return _job_request(body, "edits", action, prompt, image_url=image_url, mask=_text(body, "mask"))


def _job_request(
    body: dict[str, Any],
    kind: str,
    action: str,
    prompt: str | None,
    *,
    image_id: str | None = None,
    image_url: str | None = None,
    mask: str | None = None,
) -> JobRequest:
    return JobRequest(
        kind=kind,
        action=action,
        prompt=prompt,
        image_id=image_id,
        image_url=image_url,
        mask=mask,
        mode=_enum(body, "mode", MODES, "fast"),
        version=_enum(body, "version", VERSIONS, None),
        timeout=_timeout(body),
        translation=_flag(body, "translation"),
        split_images=_flag(body, "split_images"),
        hd=_flag(body, "hd"),
        quality=_quality(body),
        callback_url=_callback_url(body),
        wants_async=_flag(body, "async"),
        trace_id=_text(body, "trace_id"),
        body=body,
    )


def parse_task_query(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The /midjourney/tasks action and its validated arguments."""
    action = body.get("action")
    if action not in ("retrieve", "retrieve_batch"):
        raise bad_request(f"action must be one of retrieve, retrieve_batch (got {action!r})")
    if action == "retrieve":
        task_id, trace_id = _text(body, "id"), _text(body, "trace_id")
        if not task_id and not trace_id:
            raise bad_request("id or trace_id is required for action 'retrieve'")
        return action, {"id": task_id, "trace_id": trace_id}
    return action, {
        "ids": _text_list(body, "ids"),
        "trace_ids": _text_list(body, "trace_ids"),
        "offset": _int(body, "offset", 0, 0, None),
        "limit": _int(body, "limit", 12, 1, 100),
    }


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string, got {type(value).__name__}")
    return value


def _text_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{name} must be a list of strings")
    return value


def _enum(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str | None) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false, got {value!r}")
    return value


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int | None) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
        allowed = f"{low}..{high}" if high else f">= {low}"
        raise bad_request(f"{name} must be an integer {allowed}, got {value!r}")
    return value


def _timeout(body: dict[str, Any]) -> float:
    value = body.get("timeout")
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise bad_request(f"timeout must be a positive number of seconds, got {value!r}")
    return float(value)


def _quality(body: dict[str, Any]) -> str:
    value = body.get("quality")
    if value is None:
        return "1"
    # Numbers are accepted too: 0.5 and ".5" mean the same setting.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = {0.25: ".25", 0.5: ".5", 1: "1", 2: "2", 4: "4"}.get(value, value)
    if value not in QUALITIES:
        raise bad_request(f"quality must be one of {', '.join(QUALITIES)} (got {value!r})")
    return value


def _callback_url(body: dict[str, Any]) -> str | None:
    value = body.get("callback_url")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise bad_request(f"callback_url must be an http(s) URL, got {value!r}")
    return value
