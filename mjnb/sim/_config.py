"""Settings of one simulator instance."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class SimConfig:
    """How the simulator listens, authenticates and paces its jobs.

    ``api_key=None`` accepts any non-empty key; a set key accepts only itself. ``duration`` is the
    time from submit to a final state. ``strict_fetch`` makes foreign image URLs fail as they do
    on a real service that cannot download them (the simulator has no internet).
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

    def __post_init__(self) -> None:
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
