"""What every client verb does, written once for both clients.

Each verb is a generator that yields *steps* (send this submit, fetch that, sleep, notify) and
receives their results.  :class:`~mjnb.Client` runs the steps with blocking I/O and
:class:`~mjnb.AsyncClient` awaits them, so the two share one code path — the sans-IO dialects
— and differ only in how they send.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Generator, Sequence

from . import images as _images
from ._errors import TaskFailed, TaskTimeout, UnsupportedOperation, ValidationError
from ._models import Action, Page, Task, TaskStatus
from .dialects import Request, offered_by

__all__ = ["Flows", "Submit", "Fetch", "Stream", "Sleep", "Notify", "Download", "Flow"]


@dataclass(frozen=True)
class Submit:
    """Send a request that may create a billed job; journaled before and after."""

    request: Request
    parent_id: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class Fetch:
    """Send a read (get, list, seed, cancel); retried freely."""

    request: Request


@dataclass(frozen=True)
class Stream:
    """A submit whose answer streams the job's progress (AceData NDJSON)."""

    request: Request
    on_progress: Callable[[Task], Any] | None = None
    parent_id: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Notify:
    callback: Callable[[Task], Any]
    task: Task


@dataclass(frozen=True)
class Download:
    url: str


Flow = Generator[Any, Any, Any]

_DIMENSIONS = ("PORTRAIT", "SQUARE", "LANDSCAPE")
_PAN = ("left", "right", "up", "down")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "data:"))


def _image_ref(image: Any, field: str) -> str:
    """A URL stays a URL; anything local becomes a PNG data URL (validated on the way)."""
    if isinstance(image, str) and image.startswith(("http://", "https://")):
        return image
    return _images.to_data_url(_images.load_image(image, field=field))


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field}: must be a non-empty string", field=field)
    return value.strip()


@dataclass
class Flows:
    """The verbs as generators.  ``dialect`` is a sans-IO dialect instance."""

    dialect: Any
    poll_interval: float
    journal: Any = None  # a Journal, or None
    _sizes: dict = field(default_factory=dict)  # task id -> image size, learnt by downloads

    # -- helpers -------------------------------------------------------------------------
    def _prepare(self, op: str, **kw: Any) -> Request:
        if op not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, op, offered_by(op))
        return replace(self.dialect.prepare(op, **kw), op=op)

    def _as_task(self, task: Task | str) -> Flow:
        if isinstance(task, Task):
            return task
        return (yield from self.get(task))

    def _image_size(self, task: Task, index: int | None) -> Flow:
        """The pixel size of the image a mask refers to (downloaded once if the server did not say)."""
        single = len(task.image_urls) > 1 and index is not None
        if task.size and not single:
            return task.size
        key = (task.id, index if single else None)
        if key not in self._sizes:
            url = task.image_urls[index] if single else (task.image_url or (task.image_urls[0] if task.image_urls else None))
            if url is None:
                raise ValidationError(f"task: {task.id} has no image yet (status {task.status.value})", field="task")
            self._sizes[key] = _images.load_image((yield Download(url)), field="task image").size
        return self._sizes[key]

    def _encoded_mask(self, mask: Any, size: tuple[int, int]) -> Any:
        return _images.encode_mask(_images.as_mask(mask, size), self.dialect.mask_format)

    # -- submits ---------------------------------------------------------------------------
    def imagine(
        self,
        prompt: str,
        *,
        images: Sequence[Any] = (),
        bot: str | None = None,
        mode: str | None = None,
        callback_url: str | None = None,
        wait: bool = False,
        timeout: float = 600.0,
        on_progress: Callable[[Task], Any] | None = None,
        **options: Any,
    ) -> Flow:
        """Submit a prompt; with ``wait=True`` follow it to the end (streamed where the dialect can)."""
        from ._prompt import validate_prompt

        prompt = _text(prompt, "prompt")
        validate_prompt(prompt, self.dialect.name)
        if bot not in (None, "mj", "niji"):
            raise ValidationError(f"bot: {bot!r} is not allowed; use 'mj', 'niji' or None", field="bot")
        refs = tuple(_image_ref(img, "images") for img in images)
        kw = dict(prompt=prompt, images=refs, bot=bot, mode=mode, callback_url=callback_url, options=options)
        if wait and getattr(self.dialect, "supports_stream", False) and not callback_url:
            return (yield Stream(self._prepare("imagine", stream=True, **kw), on_progress, prompt=prompt))
        task = yield Submit(self._prepare("imagine", **kw), prompt=prompt)
        if wait:
            return (yield from self.wait(task, timeout=timeout, on_progress=on_progress))
        return task

    def action(
        self,
        task: Task | str,
        action: str | Action,
        *,
        prompt: str | None = None,
        mask: Any = None,
        callback_url: str | None = None,
        **options: Any,
    ) -> Flow:
        """Run a follow-up (``"U2"``, ``"V1"``, ``"reroll"``, ``"vary_strong"``, ``"pan_left"`` …)."""
        task = yield from self._as_task(task)
        chosen = action if isinstance(action, Action) else task.action(action)
        if chosen.name == "vary_region":
            if mask is None:
                raise ValidationError("mask: vary_region needs a mask (white = regenerate)", field="mask")
            return (yield from self.inpaint(task, mask, prompt, index=chosen.index, callback_url=callback_url, **options))
        if chosen.name == "custom_zoom" and (prompt is None or "--zoom" not in prompt):
            raise ValidationError("prompt: custom_zoom needs a prompt with --zoom N (1 to 2)", field="prompt")
        req = self._prepare("action", task=task, action=chosen, prompt=prompt, callback_url=callback_url, options=options)
        result = yield Submit(req, parent_id=task.id, prompt=prompt or task.prompt)
        if result.status is TaskStatus.AWAITING_INPUT and chosen.needs_input:
            modal = self._prepare("modal", task=result, prompt=prompt, mask=None, callback_url=callback_url, options=options)
            result = yield Submit(modal, parent_id=task.id, prompt=prompt or task.prompt)
        return result

    def upscale(self, task: Task | str, n: int, **kw: Any) -> Flow:
        """U1–U4: upscale image ``n`` (1-based, as on Midjourney's buttons)."""
        return (yield from self.action(task, f"U{self._grid_number(n, 'n')}", **kw))

    def vary(self, task: Task | str, n: int | str, **kw: Any) -> Flow:
        """V1–V4 on a grid (``n`` 1–4), or ``"subtle"``/``"strong"`` on a single image."""
        if n in ("subtle", "strong"):
            return (yield from self.action(task, f"vary_{n}", **kw))
        return (yield from self.action(task, f"V{self._grid_number(n, 'n')}", **kw))

    def reroll(self, task: Task | str, **kw: Any) -> Flow:
        return (yield from self.action(task, "reroll", **kw))

    def zoom_out(self, task: Task | str, factor: float = 2, **kw: Any) -> Flow:
        """Zoom out 2× or 1.5×; any other factor in 1–2 uses Custom Zoom where the dialect has it."""
        if factor in (2, 1.5):
            return (yield from self.action(task, "zoom_out_2x" if factor == 2 else "zoom_out_1.5x", **kw))
        if not (isinstance(factor, (int, float)) and 1 <= factor <= 2):
            raise ValidationError(f"factor: {factor!r} is not allowed; use 2, 1.5 or a number from 1 to 2", field="factor")
        task = yield from self._as_task(task)
        prompt = f"{kw.pop('prompt', None) or task.prompt or ''} --zoom {factor:g}".strip()
        return (yield from self.action(task, "custom_zoom", prompt=prompt, **kw))

    def pan(self, task: Task | str, direction: str, **kw: Any) -> Flow:
        if direction not in _PAN:
            raise ValidationError(f"direction: {direction!r} is not allowed; use one of {', '.join(_PAN)}", field="direction")
        return (yield from self.action(task, f"pan_{direction}", **kw))

    @staticmethod
    def _grid_number(n: Any, field: str) -> int:
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 4:
            raise ValidationError(f"{field}: {n!r} is not allowed; use 1, 2, 3 or 4 (the grid position)", field=field)
        return n

    def inpaint(
        self, task: Task | str, mask: Any, prompt: str | None = None, *, index: int | None = None,
        callback_url: str | None = None, **options: Any,
    ) -> Flow:
        """Vary Region: regenerate the white part of ``mask`` (same size as the image)."""
        task = yield from self._as_task(task)
        if index is not None and not (isinstance(index, int) and 0 <= index < max(4, len(task.image_urls))):
            raise ValidationError(f"index: {index!r} is not allowed; use 0–3 (0-based image index)", field="index")
        size = yield from self._image_size(task, index)
        encoded = self._encoded_mask(mask, size)
        if "inpaint" in self.dialect.operations:
            req = self._prepare("inpaint", task=task, index=index, mask=encoded, prompt=prompt, callback_url=callback_url, options=options)
            return (yield Submit(req, parent_id=task.id, prompt=prompt or task.prompt))
        if "modal" not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, "inpaint", offered_by("inpaint") + offered_by("modal"))
        region = task.action("vary_region")  # the proxy's Vary (Region) button: only on upscaled images
        opened = yield Submit(
            self._prepare("action", task=task, action=region, prompt=prompt, callback_url=callback_url, options=options),
            parent_id=task.id, prompt=prompt or task.prompt,
        )
        if opened.status is not TaskStatus.AWAITING_INPUT:
            return opened
        req = self._prepare("modal", task=opened, prompt=prompt, mask=encoded, callback_url=callback_url, options=options)
        return (yield Submit(req, parent_id=task.id, prompt=prompt or task.prompt))

    def reposition(
        self, task: Task | str, canvas: tuple[int, int], image_box: tuple[int, int, int, int], prompt: str,
        *, index: int | None = None, callback_url: str | None = None, **options: Any,
    ) -> Flow:
        """Place the image at ``image_box`` (x, y, w, h) on a ``canvas`` (w, h) and fill the rest."""
        task = yield from self._as_task(task)
        canvas, image_box = _images.check_canvas(canvas, image_box)
        req = self._prepare(
            "reposition", task=task, index=index, canvas=canvas, image_box=image_box,
            prompt=_text(prompt, "prompt"), callback_url=callback_url, options=options,
        )
        return (yield Submit(req, parent_id=task.id, prompt=prompt))

    def edit(self, image: Any, mask: Any, prompt: str, *, callback_url: str | None = None, **options: Any) -> Flow:
        """Edit an uploaded image: regenerate the white part of ``mask`` guided by ``prompt``."""
        prompt = _text(prompt, "prompt")
        encoded = None
        if _is_url(image) and not str(image).startswith("data:"):
            ref = image
            if mask is not None:
                size = _images.load_image((yield Download(image)), field="image").size
                encoded = self._encoded_mask(mask, size)
        else:
            loaded = _images.load_image(image, field="image")
            ref = _images.to_data_url(loaded)
            if mask is not None:
                encoded = self._encoded_mask(mask, loaded.size)
        req = self._prepare("edit", image=ref, mask=encoded, prompt=prompt, callback_url=callback_url, options=options)
        return (yield Submit(req, prompt=prompt))

    def blend(self, images: Sequence[Any], dimensions: str = "SQUARE", *, callback_url: str | None = None, **options: Any) -> Flow:
        if not 2 <= len(images) <= 5:
            raise ValidationError(f"images: blend takes 2 to 5 images, got {len(images)}", field="images")
        if dimensions not in _DIMENSIONS:
            raise ValidationError(f"dimensions: {dimensions!r} is not allowed; use one of {', '.join(_DIMENSIONS)}", field="dimensions")
        refs = tuple(_images.to_data_url(_images.load_image(i, field="images")) for i in images)
        req = self._prepare("blend", images=refs, dimensions=dimensions, callback_url=callback_url, options=options)
        return (yield Submit(req))

    def describe(self, image: Any, *, callback_url: str | None = None, **options: Any) -> Flow:
        req = self._prepare("describe", image=_image_ref(image, "image"), callback_url=callback_url, options=options)
        return (yield Submit(req))

    def shorten(self, prompt: str, **options: Any) -> Flow:
        req = self._prepare("shorten", prompt=_text(prompt, "prompt"), options=options)
        return (yield Submit(req, prompt=prompt))

    def translate(self, text: str, **options: Any) -> Flow:
        """Translate a prompt into English (AceData)."""
        req = self._prepare("translate", text=_text(text, "text"), options=options)
        return (yield Submit(req, prompt=text))

    def retexture(self, image: Any, prompt: str, *, callback_url: str | None = None, **options: Any) -> Flow:
        """Give an uploaded image a new texture or style (EvoLink ``mj-v7-retexture``)."""
        prompt = _text(prompt, "prompt")
        req = self._prepare("retexture", image=_image_ref(image, "image"), prompt=prompt, callback_url=callback_url, options=options)
        return (yield Submit(req, prompt=prompt))

    def remove_bg(self, image: Any, *, callback_url: str | None = None, **options: Any) -> Flow:
        """Cut the subject out on a transparent background (EvoLink ``mj-v7-remove-bg``)."""
        req = self._prepare("remove_bg", image=_image_ref(image, "image"), callback_url=callback_url, options=options)
        return (yield Submit(req))

    # -- reads -------------------------------------------------------------------------------
    def get(self, task: Task | str) -> Flow:
        task_id = task.id if isinstance(task, Task) else _text(task, "task_id")
        return (yield Fetch(self._prepare("get", task_id=task_id)))

    def wait(
        self, task: Task | str, *, timeout: float = 600.0, poll_interval: float | None = None,
        on_progress: Callable[[Task], Any] | None = None, raise_on_failure: bool = True,
    ) -> Flow:
        """Poll until the task is final (or waits for input); progress never goes backwards."""
        interval = self.poll_interval if poll_interval is None else poll_interval
        if not (isinstance(timeout, (int, float)) and timeout > 0 and interval > 0):
            raise ValidationError("timeout/poll_interval: must be positive numbers of seconds", field="timeout")
        current = task if isinstance(task, Task) else (yield from self.get(task))
        deadline = time.monotonic() + timeout
        best: int | None = None
        seen: tuple | None = None
        while True:
            if best is not None and (current.progress is None or current.progress < best):
                current = current.evolve(progress=best)  # a regression or a blank is old news
            best = current.progress
            key = (current.status, current.progress, current.preview_url)
            if on_progress is not None and key != seen:
                yield Notify(on_progress, current)
            seen = key
            if current.done or current.status is TaskStatus.AWAITING_INPUT:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TaskTimeout(current, timeout)
            yield Sleep(min(interval, remaining))
            fresh = yield from self.get(current.id)
            # Some servers do not echo what we already know (AceData: the parent, EvoLink: the prompt).
            current = fresh.evolve(
                prompt=fresh.prompt or current.prompt, parent_id=fresh.parent_id or current.parent_id
            )
        if raise_on_failure and current.done and not current.succeeded:
            raise TaskFailed(current)
        return current

    def tasks(
        self, *, local: bool = False, page: int = 1, page_size: int = 20, task_id: str | None = None,
        since: float | None = None, until: float | None = None, text: str | None = None, admin: bool = False,
    ) -> Flow:
        """A page of past tasks: the server's listing, or with ``local=True`` this machine's journal."""
        if not (isinstance(page, int) and page >= 1 and isinstance(page_size, int) and 1 <= page_size <= 100):
            raise ValidationError("page/page_size: page ≥ 1 and page_size 1–100", field="page")
        if local:
            return self._journal_page(page, page_size, text)
        if "list" not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, "list (use tasks(local=True) for the journal)", offered_by("list"))
        req = self._prepare("list", page=page, page_size=page_size, task_id=task_id, since=since, until=until, admin=admin)
        result: Page = yield Fetch(req)
        if text:
            needle = text.lower()
            result = Page(tuple(t for t in result.items if needle in (t.prompt or "").lower()), result.page, result.page_size, result.total)
        return result

    def _journal_page(self, page: int, page_size: int, text: str | None) -> Page:
        if self.journal is None:
            raise ValidationError("local: this client keeps no journal (journal=False)", field="local")
        offset = (page - 1) * page_size
        entries = self.journal.entries(limit=page_size, offset=offset, text=text)
        return Page(tuple(e.to_task() for e in entries), page, page_size, self.journal.count(text=text))

    def download(self, task: Task | str, *, split: bool = False) -> Flow:
        """The result as PIL images: one image, or with ``split=True`` the four of a grid."""
        task = yield from self._as_task(task)
        if task.image_url is None and not task.image_urls:
            raise ValidationError(f"task: {task.id} has no image (status {task.status.value})", field="task")
        if task.image_url is None or (split and task.image_urls):
            found = []
            for url in task.image_urls:
                found.append(_images.load_image((yield Download(url)), field="image"))
            return found
        image = _images.load_image((yield Download(task.image_url)), field="image")
        return _images.split_grid(image) if split else image

    def seed(self, task: Task | str) -> Flow:
        task = yield from self._as_task(task)
        return (yield Fetch(self._prepare("seed", task=task)))

    def cancel(self, task: Task | str) -> Flow:
        task_id = task.id if isinstance(task, Task) else _text(task, "task_id")
        result = yield Fetch(self._prepare("cancel", task_id=task_id))
        return result if result is not None else (yield from self.get(task_id))


#: The public verbs, in the order the docs list them; both clients expose exactly these.
VERBS = (
    "imagine", "action", "upscale", "vary", "reroll", "zoom_out", "pan", "inpaint", "reposition", "edit",
    "blend", "describe", "shorten", "translate", "retexture", "remove_bg", "get", "wait", "tasks", "download", "seed", "cancel",
)
