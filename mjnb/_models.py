"""The one task model every dialect maps onto.

Frozen dataclasses (their methods written out by hand, see ``_frozen``), no I/O. A dialect module
turns its wire payloads into these; the client, the journal and the widgets only ever see these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from ._frozen import Frozen, _assign

__all__ = ["TaskStatus", "Action", "Task", "Page", "ACTION_NAMES", "ACTION_LABELS"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class TaskStatus(str, enum.Enum):
    """Where a task stands, whatever the dialect calls it (PROTOCOLS.md §6.2)."""

    QUEUED = "queued"
    RUNNING = "running"
    #: midjourney-proxy MODAL: the job waits for a prompt and/or a mask (``/submit/modal``).
    AWAITING_INPUT = "awaiting_input"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


#: The unified follow-up names, in the order a gallery shows them.  ``U1``–``U4`` and
#: ``V1``–``V4`` are 1-based like Midjourney's buttons; everything else is one per task.
ACTION_NAMES: tuple[str, ...] = (
    "U1",
    "U2",
    "U3",
    "U4",
    "V1",
    "V2",
    "V3",
    "V4",
    "reroll",
    "upscale_subtle",
    "upscale_creative",
    "upscale_2x",
    "upscale_4x",
    "vary_subtle",
    "vary_strong",
    "vary_region",
    "zoom_out_2x",
    "zoom_out_1.5x",
    "custom_zoom",
    "pan_left",
    "pan_right",
    "pan_up",
    "pan_down",
    "remix",
    "edit",
    "enhance",
)


#: Button captions for the unified names (U1–U4 / V1–V4 are their own captions).
ACTION_LABELS = {
    "reroll": "🔄 Reroll",
    "upscale_subtle": "Upscale (Subtle)",
    "upscale_creative": "Upscale (Creative)",
    "upscale_2x": "Upscale (2x)",
    "upscale_4x": "Upscale (4x)",
    "vary_subtle": "Vary (Subtle)",
    "vary_strong": "Vary (Strong)",
    "vary_region": "🖌️ Vary (Region)",
    "zoom_out_2x": "Zoom Out 2x",
    "zoom_out_1.5x": "Zoom Out 1.5x",
    "custom_zoom": "🔍 Custom Zoom",
    "pan_left": "⬅️ Pan left",
    "pan_right": "➡️ Pan right",
    "pan_up": "⬆️ Pan up",
    "pan_down": "⬇️ Pan down",
    "remix": "🎛️ Remix",
    "edit": "✂️ Edit (canvas)",
    "enhance": "✨ Enhance",
}


@dataclass(init=False, repr=False, eq=False)
class Action(Frozen):
    """A follow-up that a finished task allows.

    ``name`` is one of :data:`ACTION_NAMES` (the unified vocabulary); ``native`` holds what
    the dialect needs to replay it exactly (a proxy ``customId``, an AceData ``action`` and
    ``image_id``, an EvoLink ``model`` and ``image_number``).  ``needs_input`` marks the
    two-step flows that wait for a prompt or a mask (proxy Vary Region, Custom Zoom).
    """

    name: str
    label: str
    index: int | None = None  # 0-based image index where the action targets one image
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    native: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    needs_input: bool = False

    def __init__(
        self,
        name: str,
        label: str,
        index: int | None = None,
        params: Mapping[str, Any] = _EMPTY,
        native: Mapping[str, Any] = _EMPTY,
        needs_input: bool = False,
    ) -> None:
        _assign(self, locals())

    @property
    def kind(self) -> str:
        if self.name[:1] == "U" and self.name[1:].isdigit():
            return "upscale"
        if self.name[:1] == "V" and self.name[1:].isdigit():
            return "variation"
        return self.name.split("_", 1)[0] if self.name.startswith(("pan_", "zoom_")) else self.name


@dataclass(init=False, repr=False, eq=False)
class Task(Frozen):
    """A job on any of the four dialects.

    ``progress`` is ``None`` when the server says nothing (never a fake 0).  Times are unix
    seconds as floats.  ``image_url`` is the full result (a 2×2 grid or a single image);
    ``image_urls`` are the separate images when the server provides them; ``preview_url`` is
    the in-progress preview.  ``raw`` is the last payload, as received.
    """

    id: str
    dialect: str
    status: TaskStatus
    kind: str | None = None  # IMAGINE, UPSCALE, … or an EvoLink model id
    raw_status: str | None = None
    progress: int | None = None
    prompt: str | None = None
    final_prompt: str | None = None
    image_url: str | None = None
    preview_url: str | None = None
    image_urls: tuple[str, ...] = ()
    size: tuple[int, int] | None = None
    actions: tuple[Action, ...] = ()
    texts: tuple[str, ...] = ()  # describe / shorten results
    fail_reason: str | None = None
    error_code: str | int | None = None
    parent_id: str | None = None
    image_id: str | None = None  # AceData's image id, needed for its follow-ups
    submitted_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    #: MP4 results (video tasks of the proxy forks, AceData, new-api); ``thumbnail_urls`` are their stills.
    video_urls: tuple[str, ...] = ()
    thumbnail_urls: tuple[str, ...] = ()
    #: What the service charged, in ``cost_unit`` ("credits" on EvoLink, "quota" on new-api);
    #: None when the service does not say (never a guess).
    cost: float | None = None
    cost_unit: str | None = None
    #: Where the task lives: the base URL, or "embedded simulator"; set by the client.
    service: str | None = None
    #: The journal row that recorded its submit, when the client keeps a journal.
    journal_id: int | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    _hidden = ("raw",)

    def __init__(
        self,
        id: str,
        dialect: str,
        status: TaskStatus,
        kind: str | None = None,
        raw_status: str | None = None,
        progress: int | None = None,
        prompt: str | None = None,
        final_prompt: str | None = None,
        image_url: str | None = None,
        preview_url: str | None = None,
        image_urls: tuple[str, ...] = (),
        size: tuple[int, int] | None = None,
        actions: tuple[Action, ...] = (),
        texts: tuple[str, ...] = (),
        fail_reason: str | None = None,
        error_code: str | int | None = None,
        parent_id: str | None = None,
        image_id: str | None = None,
        submitted_at: float | None = None,
        started_at: float | None = None,
        finished_at: float | None = None,
        video_urls: tuple[str, ...] = (),
        thumbnail_urls: tuple[str, ...] = (),
        cost: float | None = None,
        cost_unit: str | None = None,
        service: str | None = None,
        journal_id: int | None = None,
        raw: Mapping[str, Any] = _EMPTY,
    ) -> None:
        _assign(self, locals())

    @property
    def done(self) -> bool:
        return self.status.is_final

    @property
    def succeeded(self) -> bool:
        return self.status is TaskStatus.SUCCEEDED

    @property
    def is_video(self) -> bool:
        """True when the result is a video (``video_urls``), not an image."""
        return bool(self.video_urls)

    @property
    def action_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.actions)

    def action(self, name: str) -> Action:
        """The follow-up called ``name`` (``"U2"``, ``"vary_region"``, ``"pan_left"`` …)."""
        wanted = name.strip()
        for candidate in self.actions:
            if candidate.name.lower() == wanted.lower():
                return candidate
        from ._errors import ValidationError

        allowed = ", ".join(self.action_names) or "none (the task has no follow-ups yet)"
        raise ValidationError(f"action: task {self.id} does not offer {name!r}; allowed: {allowed}", field="action")

    def evolve(self, **changes: Any) -> Task:
        return replace(self, **changes)

    def __repr__(self) -> str:
        # Short on purpose: every field (actions with their native data, raw) is in _repr_html_.
        parts = [f"id={self.id!r}", f"dialect={self.dialect!r}", f"status={self.status.value!r}"]
        if self.kind:
            parts.append(f"kind={self.kind!r}")
        if self.progress is not None and not self.done:
            parts.append(f"progress={self.progress}")
        if self.prompt:
            short = self.prompt if len(self.prompt) <= 60 else self.prompt[:59] + "…"
            parts.append(f"prompt={short!r}")
        if self.fail_reason:
            parts.append(f"fail_reason={self.fail_reason!r}")
        if self.actions:
            parts.append(f"actions={list(self.action_names)!r}")
        return f"Task({', '.join(parts)})"

    def _repr_html_(self) -> str:  # rich display in notebooks; widgets add the thumbnail
        from ._display import task_html

        return task_html(self)


@dataclass(init=False, repr=False, eq=False)
class Page(Frozen):
    """One page of a task listing."""

    items: tuple[Task, ...]
    page: int  # 1-based
    page_size: int
    total: int | None = None  # None when the server does not say

    def __init__(
        self,
        items: tuple[Task, ...],
        page: int,
        page_size: int,
        total: int | None = None,
    ) -> None:
        _assign(self, locals())

    def __len__(self) -> int:
        """The number of tasks on this page (``total`` counts all pages, when the server says)."""
        return len(self.items)

    def __iter__(self) -> Iterator[Task]:
        """The tasks of this page, as ``items`` holds them."""
        return iter(self.items)
