"""Settings of one simulator instance."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class SimConfig:
    """How the simulator listens, authenticates and paces its jobs.

    ``api_key=None`` accepts any non-empty key; a set key accepts only itself. ``duration`` is the
    time from submit to a final state. ``strict_fetch`` makes foreign image URLs fail as they do
    on a real service that cannot download them (the simulator has no internet).
    ``proxy_core_size``/``proxy_queue_size``: midjourney-proxy's running jobs and waiting slots
    (a submit beyond both gets code 23, queue full). ``max_body_bytes`` (bytes) caps a request
    body (413); ``body_timeout`` and ``header_timeout`` (seconds) bound slow clients (408 / close).
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    admin_key: str | None = None
    duration: float = 3.0
    strict_fetch: bool = False
    allow_insecure_callbacks: bool = False
    seed: int = 0
    # new-api before 2025-04 answered /api/mj/self with a plain array and 0-based pages.
    newapi_legacy_listing: bool = False
    # midjourney-proxy account defaults (NZK docs/config.md): concurrent jobs and waiting slots.
    proxy_core_size: int = 3
    proxy_queue_size: int = 10
    # Abuse limits: a larger body is answered 413 while it arrives; slower ones 408 / closed.
    max_body_bytes: int = 30 * 1024 * 1024
    body_timeout: float = 30.0
    header_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_body_bytes, int) or self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be an integer >= 1024, got {self.max_body_bytes!r}")
        for name in ("body_timeout", "header_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value <= 3600:
                raise ValueError(f"{name} must be a number of seconds in (0, 3600], got {value!r}")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be an integer in 0..65535 (0 = any free port), got {self.port!r}")
        if not isinstance(self.duration, (int, float)) or not 0 <= self.duration <= 3600:
            raise ValueError(f"duration must be a number of seconds in 0..3600, got {self.duration!r}")
        for name in ("api_key", "admin_key"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be a non-empty string or None (None accepts any key)")
        for name in ("proxy_core_size", "proxy_queue_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (1 if name == "proxy_core_size" else 0):
                raise ValueError(f"{name} must be an integer >= {1 if name == 'proxy_core_size' else 0}, got {value!r}")

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_key") and value is not None:
                parts.append(f"{f.name}='***'")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"SimConfig({', '.join(parts)})"

    __str__ = __repr__
