"""Where a client connects: explicit arguments, then the environment, then the embedded simulator.

``MJNB_DIALECT``, ``MJNB_BASE_URL`` and ``MJNB_API_KEY`` configure a real service; with no key
anywhere, mjnb starts its own simulator on a free loopback port (once per process, stopped at
exit) so that notebooks, Binder and tests work with nothing to set up.
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path
from typing import Any

from ._errors import ValidationError
from ._frozen import Frozen, _assign

__all__ = ["ApiKey", "Settings", "resolve_settings", "embedded_simulator", "mjnb_home"]

DEFAULT_DIALECT = "mjproxy"
#: How long a job takes on the embedded simulator: long enough to watch, short enough to wait for.
EMBEDDED_DURATION = 4.0


def _key_problem(value: object) -> str | None:
    """Why ``value`` cannot be an API key (never quoting it), or None."""
    if not isinstance(value, str) or not value.strip():
        return "api_key: must be a non-empty string"
    for position, char in enumerate(value.strip()):
        if not 0x20 < ord(char) < 0x7F and char != " ":
            what = "a control character" if ord(char) < 0x20 or ord(char) == 0x7F else "a non-ASCII character"
            return (
                f"api_key: {what} (U+{ord(char):04X}) at position {position}; an HTTP header cannot carry it "
                "(was the key pasted with an invisible character?)"
            )
    return None


class ApiKey:
    """An API key that never shows itself: its repr and str are ``'***'``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        problem = _key_problem(value)
        if problem is not None:
            value = "***"  # the frame is printed with the error's traceback: keep the key out of it
            raise ValidationError(problem, field="api_key")
        self._value = value.strip()

    @classmethod
    def hide(cls, value: str | ApiKey | None) -> ApiKey | None:
        """``value`` as an ApiKey (None stays None); a refused key raises with no trace of it.

        Raises:
            ValidationError: empty, or characters an HTTP header cannot carry (CR, LF, NUL, other
                control characters, non-ASCII such as a pasted zero-width space); the message gives
                the position, never the key.
        """
        if value is None or isinstance(value, ApiKey):
            return value
        try:
            return cls(value)
        except ValidationError as exc:
            value = "***"
            raise exc.with_traceback(None) from None

    def reveal(self) -> str:
        """The key itself, for the one place that puts it in a header."""
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # never pickled into a file by accident
        raise TypeError("ApiKey cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("ApiKey", self._value))


class Settings(Frozen):
    dialect: str
    base_url: str
    api_key: ApiKey
    embedded: bool  # True when talking to the embedded simulator

    def __init__(self, dialect: str, base_url: str, api_key: ApiKey, embedded: bool) -> None:
        _assign(self, locals())

    def __repr__(self) -> str:
        where = "embedded simulator" if self.embedded else self.base_url
        return f"Settings(dialect={self.dialect!r}, base_url={where!r}, api_key='***')"


def mjnb_home() -> Path:
    """``MJNB_HOME`` or ``~/.mjnb``: where the journal lives."""
    return Path(os.environ.get("MJNB_HOME") or Path.home() / ".mjnb")


def resolve_settings(
    dialect: str | None = None, base_url: str | None = None, api_key: str | ApiKey | None = None
) -> Settings:
    """Arguments > environment > the embedded simulator."""
    from .dialects import DIALECT_NAMES

    dialect = (dialect or os.environ.get("MJNB_DIALECT") or DEFAULT_DIALECT).strip().lower()
    if dialect not in DIALECT_NAMES:
        raise ValidationError(
            f"dialect: unknown dialect {dialect!r}; allowed: {', '.join(DIALECT_NAMES)}", field="dialect"
        )
    key = ApiKey.hide(api_key if api_key is not None else os.environ.get("MJNB_API_KEY") or None)
    api_key = key  # no plain key stays in this frame's locals
    url = base_url or os.environ.get("MJNB_BASE_URL")
    if url:
        url = _checked_base_url(url)
    if key and url:
        return Settings(dialect, url.rstrip("/"), key, False)
    if key and not url:
        raise ValidationError(
            "base_url: an API key was given but no base URL; pass base_url= or set MJNB_BASE_URL "
            "(e.g. https://api.acedata.cloud for acedata)",
            field="base_url",
        )
    if url and not key:
        raise ValidationError(
            f"api_key: base URL {url} was given but no key; pass api_key= or set MJNB_API_KEY "
            "(leave both unset to use the embedded simulator)",
            field="api_key",
        )
    sim = embedded_simulator()
    return Settings(dialect, sim.url(dialect), ApiKey("sk-mjnb-embedded"), True)


def _checked_base_url(url: object) -> str:
    """An http(s) URL with a host and a valid port, else ValidationError naming what is wrong."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or any(c.isspace() or ord(c) < 0x20 for c in url.strip()):
        raise ValidationError(f"base_url: {url!r} is not allowed; use an http(s) URL without spaces", field="base_url")
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port outside 0–65535
    except ValueError as exc:
        raise ValidationError(f"base_url: {url!r} is not a valid URL ({exc})", field="base_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValidationError(
            f"base_url: {url!r} is not allowed; use the service's http(s) URL, e.g. https://api.acedata.cloud",
            field="base_url",
        )
    return url


_lock = threading.Lock()
_simulator: Any = None


def embedded_simulator() -> Any:
    """The process-wide simulator, started on first use on a free loopback port."""
    global _simulator
    with _lock:
        if _simulator is None:
            from .sim import Simulator

            duration = float(os.environ.get("MJNB_SIM_DURATION") or EMBEDDED_DURATION)
            _simulator = Simulator(duration=duration).start()
            atexit.register(_simulator.stop)
        return _simulator
