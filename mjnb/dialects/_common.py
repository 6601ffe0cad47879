"""Small wire helpers the AceData and EvoLink dialects share: answer decoding, number coercion,
``Retry-After``, input checks and the labels of the unified follow-up names.

Nothing here knows a dialect's paths or payload shapes; those stay in the dialect modules.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Callable, Iterable, Mapping

from .._errors import APIError, AuthenticationError, RateLimitError, ServerError, TaskNotFound, ValidationError
from .._models import ACTION_NAMES, Action
from ._base import Response, retry_after
from ._validate import (
    checked_callback_url,
    checked_image_ref,
    checked_page,
    checked_window,
    invalid,
    is_data_url,
    is_http_url,
    unix_seconds,
)

__all__ = [
    "decode_json",
    "retry_after",
    "seconds",
    "progress_of",
    "positive_int",
    "text_or_none",
    "required_text",
    "is_http_url",
    "is_data_url",
    "checked_bool",
    "sorted_actions",
    "leading_urls",
    "is_base64_png",
    "checked_options",
    "checked_page",
    "checked_window",
    "checked_callback_url",
    "class_for_status",
    "invalid",
    "checked_choice",
    "checked_number",
    "checked_image_ref",
]


_ORDER = {name: i for i, name in enumerate(ACTION_NAMES)}
_URL_WORD = re.compile(r"^(?:https?://|data:)\S+$")


def checked_choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise invalid(field, f"{value!r} is not allowed; use one of {', '.join(allowed)}")
    return value


def checked_number(value: Any, field: str, low: float, high: float) -> float:
    """``value`` if it is a number from ``low`` to ``high`` (NaN is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise invalid(field, f"{value!r} is not allowed; use a number from {low:g} to {high:g}")
    return value


def decode_json(response: Response) -> tuple[Any, bool, str]:
    """``(body, decoded, text)``: the JSON body (None when empty), whether it was JSON, the text."""
    text = response.content.decode("utf-8", "replace")
    try:
        return response.json(), True, text
    except ValueError:
        return None, False, text


def _number(value: Any) -> float | None:
    # ACE-OAS types some numbers as strings; booleans are never numbers on the wire.
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def seconds(value: Any) -> float | None:
    """A unix time in seconds as a float, whether sent in seconds or milliseconds; None when
    absent, not a number or not positive."""
    return unix_seconds(value)


def progress_of(value: Any) -> int | None:
    """A progress number clamped to 0..100; None when the server says nothing usable."""
    number = _number(value)
    return None if number is None else max(0, min(100, int(number)))


def positive_int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 1 and number == int(number) else None


def text_or_none(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def required_text(value: Any, field: str, *, max_chars: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, "must be a non-empty string")
    text = value.strip()
    if max_chars is not None and len(text) > max_chars:
        raise invalid(field, f"{len(text)} characters; at most {max_chars} are allowed")
    return text


def checked_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(field, f"must be true or false, got {value!r}")
    return value


def sorted_actions(actions: Iterable[Action]) -> tuple[Action, ...]:
    """One action per name (the first seen), in the order of :data:`ACTION_NAMES`."""
    found: dict[str, Action] = {}
    for action in actions:
        found.setdefault(action.name, action)
    return tuple(sorted(found.values(), key=lambda a: _ORDER.get(a.name, len(_ORDER))))


def leading_urls(prompt: str) -> tuple[list[str], str]:
    """The image URLs at the start of a prompt, and the rest of it."""
    words = prompt.split()
    count = 0
    while count < len(words) and _URL_WORD.match(words[count]):
        count += 1
    return words[:count], " ".join(words[count:])


def is_base64_png(value: Any) -> bool:
    """True for bare base64 (no ``data:`` prefix) whose bytes start like a PNG file."""
    if not isinstance(value, str) or len(value) < 12:
        return False
    head = value[:64]
    try:
        return base64.b64decode(head + "=" * (-len(head) % 4), validate=True).startswith(b"\x89PNG")
    except (binascii.Error, ValueError):
        return False


def checked_options(
    where: str, options: Mapping[str, Any] | None, checks: Mapping[str, Callable[[Any, str], Any]]
) -> dict[str, Any]:
    """``options`` with each value passed through its check; an unknown key is refused by name."""
    checked: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key not in checks:
            raise invalid(key, f"not an option of {where}; allowed: {', '.join(checks) or 'none'}")
        checked[key] = checks[key](value, key)
    return checked


def class_for_status(status: int | None, *, submit: bool = False) -> type[APIError]:
    """The error class an HTTP status means when the body says nothing more precise; a 404 on a
    submit is no unknown task but a route the server does not have (see :func:`wrong_route`)."""
    if status == 404 and submit:
        return APIError
    if status in (400, 413, 422):
        return ValidationError
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return TaskNotFound
    if status == 429:
        return RateLimitError
    return ServerError if (status or 0) >= 500 else APIError


def wrong_route(dialect: str, method: str, path: str) -> str:
    """The message for a 404 on a submit path: the base URL, not a task, is what is wrong."""
    return (
        f"HTTP 404 for {method} {path}: the server has no such route; the base URL is probably wrong "
        f"(for {dialect} it is the part before {path!r}, e.g. https://api.example.com)"
    )
