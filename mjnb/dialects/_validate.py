"""Input checks every dialect shares: task ids, image URLs, callback URLs, nonces, listing windows.

Each refuses bad input with a :class:`~mjnb.ValidationError` that names the field and what is
allowed, before anything is sent.  A URL is checked the way the receiving side will read it:
no whitespace or control characters (a CR/LF would split a header or a request line), a port
that exists, and for callbacks that must reach a public host, the host parsed as a resolver
parses it (``127.1``, ``0x7f000001``, ``0177.0.0.1`` and ``2130706433`` are all 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from .._errors import ValidationError

__all__ = [
    "invalid",
    "checked_task_id",
    "checked_task_ids",
    "checked_image_url",
    "checked_image_ref",
    "checked_callback_url",
    "checked_nonce",
    "checked_page",
    "checked_window",
    "unix_seconds",
    "host_address",
    "is_http_url",
    "is_result_url",
    "is_data_url",
    "MAX_TASK_ID",
]

MAX_TASK_ID = 200
_DATA_URL = re.compile(r"^data:image/[\w.+-]+;base64,[A-Za-z0-9+/=]*$")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029\ufeff]")  # whitespace counts: it breaks a URL
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
#: A unix time above this is in milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MS_THRESHOLD = 1e11


def invalid(field: str, text: str) -> ValidationError:
    """The error for bad input caught before sending: it names ``field`` and what is allowed."""
    return ValidationError(f"{field}: {text}", field=field)


def _shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def checked_task_id(value: Any, field: str = "task_id") -> str:
    """``value`` if it can stand as one path segment or JSON id: 1–200 characters, not ``.`` or
    ``..``, no ``/ ? # %`` and no whitespace or control characters."""
    rule = (
        f"1 to {MAX_TASK_ID} characters without whitespace, control characters, '/', '?', '#' or '%', not '.' or '..'"
    )
    if not isinstance(value, str) or not value:
        raise invalid(field, f"must be a task id: {rule}")
    if len(value) > MAX_TASK_ID:
        raise invalid(field, f"{len(value)} characters is not a task id; use {rule}")
    if value in (".", "..") or _CONTROL.search(value) or any(ch in value for ch in "/?#%\\"):
        raise invalid(field, f"{_shown(value)} is not a task id; use {rule}")
    return value


def checked_task_ids(values: Any, field: str = "task_ids", *, most: int) -> tuple[str, ...]:
    """1 to ``most`` distinct task ids, in the order given."""
    if isinstance(values, str) or not isinstance(values, (tuple, list)) or not 1 <= len(values) <= most:
        raise invalid(field, f"expected a tuple of 1 to {most} task ids, got {values!r:.80}")
    ids = tuple(dict.fromkeys(checked_task_id(v, field) for v in values))
    return ids


def _port_ok(parts: Any) -> bool:
    try:
        parts.port  # raises ValueError for 99999 or "x"
    except ValueError:
        return False
    return True


def is_http_url(value: Any) -> bool:
    """True for an http(s) URL with a host, a valid port and no whitespace or control characters."""
    if not isinstance(value, str) or _CONTROL.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and _port_ok(parts)


def is_result_url(value: Any) -> bool:
    """True for a URL a server handed back as a result: http(s) and no line break or NUL.  Laxer
    than :func:`is_http_url` on purpose: a paid result whose URL has a space is kept, not lost."""
    return (
        isinstance(value, str)
        and value.startswith(("http://", "https://"))
        and len(value) > 8
        and not any(ch in value for ch in "\r\n\x00")
    )


def is_data_url(value: Any) -> bool:
    """True for ``data:image/<type>;base64,<base64>``."""
    return isinstance(value, str) and bool(_DATA_URL.match(value))


def checked_image_url(value: Any, field: str = "image") -> str:
    """An http(s) image URL with nothing a server would read differently (spaces, CR/LF, NUL)."""
    if not is_http_url(value):
        shown = _shown(value) if isinstance(value, str) else type(value).__name__
        raise invalid(
            field,
            f"{shown} is not allowed; use an http(s) URL with a host and no spaces, line breaks "
            "or control characters (percent-encode them)",
        )
    return str(value)


def checked_image_ref(value: Any, field: str = "image") -> str:
    """An http(s) image URL (checked as :func:`checked_image_url`) or a ``data:image/…;base64,`` URL."""
    if is_data_url(value):
        return str(value)
    if isinstance(value, str) and value.startswith("data:"):
        raise invalid(field, "a data URL must be data:image/<type>;base64,<base64> with nothing else in it")
    return checked_image_url(value, field)


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """``host`` read as C's ``inet_aton`` reads it: 1–4 parts of decimal, 0-octal or 0x-hex, the
    last part filling the remaining bytes.  None when it is not such an address."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        match = re.fullmatch(r"0[xX]([0-9a-fA-F]*)|0([0-7]*)|([1-9][0-9]*)", part)
        if match is None:
            return None
        hexa, octal, decimal = match.groups()
        numbers.append(
            int(hexa or "0", 16) if hexa is not None else int(octal or "0", 8) if octal is not None else int(decimal)
        )
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = 0
    for number in leading:
        value = value * 256 + number
    value = value * 256 ** (4 - len(leading)) + last
    return ipaddress.IPv4Address(value)


def host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a resolver would use for ``host`` without a lookup (IPv4-mapped IPv6 as its
    IPv4), or None when ``host`` is a name."""
    bare = host.strip("[]").rstrip(".")
    v4 = _inet_aton(bare)
    if v4 is not None:
        return v4
    try:
        ip = ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None or ip.teredo is not None:
            return ip  # 6to4 / Teredo are not global: refused below like any non-public address
        compat = int(ip) if int(ip) >> 32 == 0 and int(ip) > 1 else None  # ::127.0.0.1 (IPv4-compatible)
        if compat is not None:
            return ipaddress.IPv4Address(compat)
    return ip


def checked_callback_url(url: Any, *, max_chars: int, public_https: bool) -> str:
    """``url`` if it may receive callbacks: an http(s) URL of at most ``max_chars`` characters with a
    host and a valid port, no whitespace or control characters; with ``public_https`` it must be
    https and its host neither ``localhost`` nor a loopback, private, link-local, unspecified,
    multicast or otherwise non-public address, however the address is written."""
    rule = (
        (
            f"an https URL of at most {max_chars} characters whose host is a public name or address "
            "(not localhost, loopback, private, link-local or unspecified)"
        )
        if public_https
        else f"an http(s) URL of at most {max_chars} characters"
    )
    if not isinstance(url, str) or not url:
        raise invalid("callback_url", f"must be {rule}")
    if len(url) > max_chars:
        raise invalid("callback_url", f"{len(url)} characters; must be {rule}")
    if _CONTROL.search(url):
        raise invalid("callback_url", f"contains whitespace or a control character (CR/LF?); must be {rule}")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        raise invalid("callback_url", f"is not a URL; must be {rule}") from None
    schemes = ("https",) if public_https else ("http", "https")
    if parts.scheme.lower() not in schemes or not host:
        raise invalid("callback_url", f"must be {rule}")
    if not _port_ok(parts) or parts.port == 0:
        raise invalid("callback_url", f"has no valid port (1–65535); must be {rule}")
    if public_https:
        ip = host_address(host)
        # The host only is echoed: a callback URL often carries a secret in its path or query.
        named_local = host == "localhost" or host.endswith(".localhost")
        if named_local or (ip is not None and (not ip.is_global or ip.is_multicast)):
            raise invalid("callback_url", f"host {host!r} is not allowed; must be {rule}")
    return url


def checked_nonce(value: Any, field: str = "nonce") -> str:
    """1–255 printable characters (it travels in a JSON string and is matched exactly)."""
    if not isinstance(value, str) or not 1 <= len(value) <= 255 or _UNPRINTABLE.search(value):
        raise invalid(field, "must be 1 to 255 printable characters")
    return value


def checked_page(page: Any, page_size: Any) -> tuple[int, int]:
    """``(page, page_size)``: page a whole number ≥ 1, page_size 1 to 100."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise invalid("page", f"{page!r} is not allowed; use a whole number ≥ 1")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
        raise invalid("page_size", f"{page_size!r} is not allowed; use 1 to 100")
    return page, page_size


def unix_seconds(value: Any) -> float | None:
    """A timestamp in unix seconds, whether it arrived in seconds or milliseconds (decided by
    magnitude); None when absent, not a number or not positive.  Numeric strings are read too."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or value != value or value <= 0:
        return None
    number = float(value)
    return number / 1000.0 if number >= _MS_THRESHOLD else number


def checked_window(since: Any, until: Any) -> tuple[float | None, float | None]:
    """``(since, until)`` in unix seconds (milliseconds are recognised by magnitude), or None."""
    found: list[float | None] = []
    for name, value in (("since", since), ("until", until)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != value
        ):
            raise invalid(name, f"{value!r} is not allowed; use unix seconds (a number ≥ 0) or None")
        found.append(None if value is None else (unix_seconds(value) or 0.0))
    start, end = found
    if start is not None and end is not None and end < start:
        raise invalid("until", f"{until} is before since ({since})")
    return start, end
