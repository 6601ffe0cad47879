"""Small wire helpers the AceData and EvoLink dialects share: answer decoding, number coercion,
``Retry-After``, input checks and the labels of the unified follow-up names.

Nothing here knows a dialect's paths or payload shapes; those stay in the dialect modules.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from .._errors import APIError, AuthenticationError, RateLimitError, ServerError, TaskNotFound, ValidationError
from ._base import retry_after
from .._models import ACTION_NAMES, Action
from ._base import Response

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
_DATA_URL = re.compile(r"^data:image/[\w.+-]+;base64,")
_URL_WORD = re.compile(r"^(?:https?://|data:)\S+$")


def invalid(field: str, text: str) -> ValidationError:
    """The error for bad input caught before sending: it names ``field`` and what is allowed."""
    return ValidationError(f"{field}: {text}", field=field)


def checked_choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise invalid(field, f"{value!r} is not allowed; use one of {', '.join(allowed)}")
    return value


def checked_number(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise invalid(field, f"{value!r} is not allowed; use a number from {low:g} to {high:g}")
    return value


def checked_image_ref(image: Any, field: str) -> str:
    # ❓ Both services document image URLs; a data URL is passed through as given.
    if not (is_http_url(image) or is_data_url(image)):
        raise invalid(field, "must be an http(s) image URL (or a data:image/…;base64, URL)")
    return image


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
    """A unix time in seconds as a float; None when absent, not a number or not positive."""
    number = _number(value)
    return number if number is not None and number > 0 else None


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
        raise invalid(field, f"must be a non-empty string")
    text = value.strip()
    if max_chars is not None and len(text) > max_chars:
        raise invalid(field, f"{len(text)} characters; at most {max_chars} are allowed")
    return text


def is_http_url(value: Any) -> bool:
    return (isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8
            and " " not in value)


def is_data_url(value: Any) -> bool:
    return isinstance(value, str) and bool(_DATA_URL.match(value))


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
    checked = {}
    for key, value in (options or {}).items():
        if key not in checks:
            raise invalid(key, f"not an option of {where}; allowed: {', '.join(checks) or 'none'}")
        checked[key] = checks[key](value, key)
    return checked


def checked_page(page: Any, page_size: Any) -> tuple[int, int]:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise invalid("page", f"{page!r} is not allowed; use a whole number ≥ 1")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
        raise invalid("page_size", f"{page_size!r} is not allowed; use 1 to 100")
    return page, page_size


def checked_window(since: Any, until: Any) -> tuple[float | None, float | None]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise invalid(name, f"{value!r} is not allowed; use unix seconds (a number ≥ 0) or None")
    if since is not None and until is not None and until < since:
        raise invalid("until", f"{until} is before since ({since})")
    return since, until


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(int(host) if host.isdigit() else host)  # 2130706433 is 127.0.0.1 too
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def checked_callback_url(url: Any, *, max_chars: int, public_https: bool) -> str:
    """``url`` if it may receive callbacks; with ``public_https`` it must be https and its host
    neither ``localhost`` nor a loopback, private, link-local, unspecified or other non-public IP."""
    rule = (f"an https URL of at most {max_chars} characters whose host is a public name or address "
            "(not localhost, loopback, private, link-local or unspecified)") if public_https else \
        f"an http(s) URL of at most {max_chars} characters"
    if not isinstance(url, str) or not url.strip():
        raise invalid("callback_url", f"must be {rule}")
    if len(url) > max_chars:
        raise invalid("callback_url", f"{len(url)} characters; must be {rule}")
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        parts, host = None, ""
    schemes = ("https",) if public_https else ("http", "https")
    if parts is None or parts.scheme.lower() not in schemes or not host:
        raise invalid("callback_url", f"must be {rule}")
    if public_https:
        ip = _ip_literal(host)
        # The host only is echoed: a callback URL often carries a secret in its path or query.
        named_local = host == "localhost" or host.endswith(".localhost")
        if named_local or (ip is not None and (not ip.is_global or ip.is_multicast)):
            raise invalid("callback_url", f"host {host!r} is not allowed; must be {rule}")
    return url.strip()


def class_for_status(status: int | None) -> type[APIError]:
    """The error class an HTTP status means when the body says nothing more precise."""
    if status in (400, 413, 422):
        return ValidationError
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return TaskNotFound
    if status == 429:
        return RateLimitError
    return ServerError if (status or 0) >= 500 else APIError
