"""What every client verb does, written once for both clients.

Each verb is a generator that yields *steps* (send this submit, fetch that, what time is it,
wait for news of that task) and receives their results.  :class:`~mjnb.Client` performs the
steps with blocking I/O and :class:`~mjnb.AsyncClient` awaits them, so the two share one code
path — the sans-IO dialects — and differ only in how they send.  Because a flow does no I/O of
its own, tests drive it with a script of recorded answers (``tests/test_flows.py``).

A flow's type is ``Flow[T]``: a generator whose return value (``StopIteration.value``) is the
verb's result, so ``Client.imagine`` returns ``Task`` and ``AsyncClient.imagine`` an awaitable of it.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Generator, Mapping, Sequence, TypeVar, Union

from ._errors import TaskFailed, TaskTimeout, TransportError, UnsupportedOperation, ValidationError
from ._frozen import Frozen, _assign
from ._models import Action, Page, Task, TaskStatus
from .dialects import Request, offered_by

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "Flows",
    "Submit",
    "Fetch",
    "Stream",
    "Sleep",
    "Notify",
    "Download",
    "Now",
    "Update",
    "Step",
    "Flow",
    "fingerprint",
]

T = TypeVar("T")
ProgressCallback = Callable[[Task], Any]


class Submit(Frozen):
    """Send a request that may create a billed job; journaled before and after."""

    request: Request
    parent_id: str | None
    prompt: str | None
    tags: Mapping[str, str] | None
    fingerprint: str | None
    #: The follow-up's unified name ("U2", "vary_region" …), kept in the journal row for lineage.
    action: str | None

    def __init__(
        self,
        request: Request,
        parent_id: str | None = None,
        prompt: str | None = None,
        tags: Mapping[str, str] | None = None,
        fingerprint: str | None = None,
        action: str | None = None,
    ) -> None:
        _assign(self, locals())


class Fetch(Frozen):
    """Send a read (get, list, seed, cancel); retried freely."""

    request: Request

    def __init__(self, request: Request) -> None:
        _assign(self, locals())


class Stream(Frozen):
    """A submit whose answer streams the job's progress (AceData NDJSON).

    The driver returns the Task as the stream left it: final, or — when the stream ended early or
    ``timeout`` seconds passed — the last state seen, which the flow then follows by polling.
    """

    request: Request
    on_progress: ProgressCallback | None
    parent_id: str | None
    prompt: str | None
    timeout: float | None
    tags: Mapping[str, str] | None
    fingerprint: str | None
    #: The same submit without streaming, for a driver that has enough streams open already.
    fallback: Request | None

    def __init__(
        self,
        request: Request,
        on_progress: ProgressCallback | None = None,
        parent_id: str | None = None,
        prompt: str | None = None,
        timeout: float | None = None,
        tags: Mapping[str, str] | None = None,
        fingerprint: str | None = None,
        fallback: Request | None = None,
    ) -> None:
        _assign(self, locals())


class Sleep(Frozen):
    """Pause for ``seconds``."""

    seconds: float

    def __init__(self, seconds: float) -> None:
        _assign(self, locals())


class Notify(Frozen):
    """Call ``callback(task)`` (awaited when it returns an awaitable)."""

    callback: ProgressCallback
    task: Task

    def __init__(self, callback: ProgressCallback, task: Task) -> None:
        _assign(self, locals())


class Download(Frozen):
    """GET ``url`` and return its bytes (retried like a read)."""

    url: str

    def __init__(self, url: str) -> None:
        _assign(self, locals())


class Now(Frozen):
    """The driver's monotonic clock, in seconds: flows take time from the driver, never from ``time``."""


class Update(Frozen):
    """Wait for news of ``task`` from the client's tracker.

    The driver returns the task's next state that differs from ``task`` (status, progress, preview,
    image), or its latest state once ``timeout`` seconds have passed.  ``interval`` is the longest
    the caller wants between two reads of it.
    """

    task: Task
    timeout: float
    interval: float | None

    def __init__(self, task: Task, timeout: float, interval: float | None = None) -> None:
        _assign(self, locals())


Step = Union[Submit, Fetch, Stream, Sleep, Notify, Download, Now, Update]
Flow = Generator[Step, Any, T]


def fingerprint(
    *,
    service: str,
    op: str,
    prompt: str | None,
    options: Mapping[str, Any] | None = None,
    parent_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """A stable hash of what makes two submits "the same job" (sweeps resume by it).

    Args:
        service: the client's base URL.
        op: the operation (``"imagine"``, ``"action"`` …).
        prompt: the final prompt as sent (None for operations without one).
        options: the extra keyword options of the verb (JSON-serialisable values).
        parent_id: the task a follow-up acts on, or None.
        tags: the caller's labels (a sweep's key, cell and repeat index).

    Returns:
        A 64-character hex SHA-256 digest.
    """
    payload = {
        "service": service,
        "op": op,
        "prompt": prompt,
        "options": dict(options or {}),
        "parent": parent_id,
        "tags": dict(tags or {}),
    }
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def imagine_fingerprint(
    service: str,
    prompt: str,
    *,
    images: Sequence[str] = (),
    bot: str | None = None,
    mode: str | None = None,
    tags: Mapping[str, str] | None = None,
    **options: Any,
) -> str:
    """The fingerprint :meth:`Flows.imagine` journals for these arguments (sweeps resume by it).

    ``images`` are the references as sent (URLs or data URLs).  Returns a 64-character hex digest.
    """
    fp_options = {"images": tuple(images), "bot": bot, "mode": mode, **options}
    return fingerprint(service=service, op="imagine", prompt=prompt, options=fp_options, tags=tags)


def _images() -> Any:
    # numpy and Pillow are imported on first use: `import mjnb` stays as light as httpx.
    from . import images

    return images


_DIMENSIONS = ("PORTRAIT", "SQUARE", "LANDSCAPE")
#: How lineage names the operations that act on an image (Midjourney's name for an inpaint).
_EDIT_OPS = {
    "inpaint": "vary_region",
    "reposition": "reposition",
    "edit": "edit",
    "retexture": "retexture",
    "remove_bg": "remove_bg",
}
_PAN = ("left", "right", "up", "down")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "data:"))


def _image_ref(image: Any, field: str) -> str:
    """A URL stays a URL; anything local becomes a PNG data URL (validated on the way)."""
    if isinstance(image, str) and image.startswith(("http://", "https://")):
        return image
    return str(_images().to_data_url(image, field=field))


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field}: must be a non-empty string", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{field}: contains a lone surrogate (U+{ord(value[exc.start]):04X}) at position {exc.start}; "
            "it cannot be sent as UTF-8 — remove it",
            field=field,
        ) from None
    return value.strip()


def _seconds(value: Any, field: str) -> float:
    """A positive, finite number of seconds (bool, NaN and inf refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValidationError(f"{field}: {value!r} is not allowed; use a positive number of seconds", field=field)
    return float(value)


def _own_task(task: Task, dialect: str, field: str) -> None:
    """Refuse a Task of another dialect: this client cannot read it (its id means nothing here)."""
    if task.dialect != dialect:
        raise ValidationError(
            f"{field}: task {task.id!r} is a {task.dialect} task and this client speaks {dialect}; "
            f"follow it with a {task.dialect} client",
            field=field,
        )


def _tags(tags: Any) -> Mapping[str, str] | None:
    if tags is None:
        return None
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ValidationError("tags: must be a mapping of str to str", field="tags")
    return dict(tags)


def _keep_known(fresh: Task, known: Task) -> Task:
    """``fresh`` with what the server did not echo taken from ``known`` (AceData: the parent,
    EvoLink: the prompt and the cost reported when it was created)."""
    return fresh.evolve(
        prompt=fresh.prompt or known.prompt,
        parent_id=fresh.parent_id or known.parent_id,
        cost=fresh.cost if fresh.cost is not None else known.cost,
        cost_unit=fresh.cost_unit or known.cost_unit,
        journal_id=fresh.journal_id or known.journal_id,
    )


def _bot(bot: Any) -> None:
    if bot not in (None, "mj", "niji"):
        raise ValidationError(f"bot: {bot!r} is not allowed; use 'mj', 'niji' or None", field="bot")


def _bot_kw(bot: str | None) -> dict[str, Any]:
    # Only the proxies' blend/describe/shorten take bot=; the others are sent without it.
    return {"bot": bot} if bot is not None else {}


def _callable(value: Any, field: str) -> None:
    if value is not None and not callable(value):
        raise ValidationError(f"{field}: must be a callable taking a Task, or None", field=field)


_DOCS = "https://docs.midjourney.com/hc/en-us/articles/32023408776205-Prompt-Basics"


@dataclass
class Flows:
    """The verbs as generators, bound to one dialect (a sans-IO ``DialectBase`` instance).

    ``service`` is the client's base URL (fingerprints and journal rows are keyed by it).
    """

    dialect: Any  # mjnb.dialects.DialectBase; Any while the dialects' base class lands
    poll_interval: float
    journal: Journal | None = None
    service: str = ""
    _sizes: dict[tuple[str, int | None], tuple[int, int]] = field(default_factory=dict)

    # -- helpers -------------------------------------------------------------------------
    def _prepare(self, op: str, **kw: Any) -> Request:
        if op not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, op, offered_by(op))
        request: Request = self.dialect.prepare(op, **kw)
        return replace(request, op=op)

    def _submit(
        self,
        op: str,
        shown: str | None,
        *,
        parent_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        fp_options: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> Submit:
        """Prepare a submit with a fresh nonce (sent in the wire's free field where it has one).

        ``shown`` is the prompt the journal keeps for it; ``kw`` go to the dialect's ``prepare``.
        """
        request = self._prepare(op, nonce=secrets.token_hex(8), **kw)
        fp = fingerprint(service=self.service, op=op, prompt=shown, options=fp_options, parent_id=parent_id, tags=tags)
        options = fp_options or {}
        action = options.get("action") or options.get("modal") or _EDIT_OPS.get(op)
        return Submit(request, parent_id=parent_id, prompt=shown, tags=tags, fingerprint=fp, action=action)

    def _checked_prompt(self, prompt: Any) -> str:
        """A prompt for a follow-up or an edit, checked like imagine's before anything is sent."""
        from ._prompt import validate_prompt

        text = _text(prompt, "prompt")
        validate_prompt(text, self.dialect.name)
        return text

    def _as_task(self, task: Task | str) -> Flow[Task]:
        if isinstance(task, Task):
            return task
        return (yield from self.get(task))

    def _image_size(self, task: Task, index: int | None) -> Flow[tuple[int, int]]:
        """The pixel size of the image a mask refers to (downloaded once if the server did not say)."""
        single = len(task.image_urls) > 1 and index is not None
        if task.size and not single:
            return task.size
        key = (task.id, index if single else None)
        if key not in self._sizes:
            url = (
                task.image_urls[index]
                if single and index is not None
                else (task.image_url or (task.image_urls[0] if task.image_urls else None))
            )
            if url is None:
                raise ValidationError(f"task: {task.id} has no image yet (status {task.status.value})", field="task")
            data = yield Download(url)
            self._sizes[key] = _images().load_image(data, field="task image").size
        return self._sizes[key]

    def _encoded_mask(self, mask: Any, size: tuple[int, int]) -> Any:
        images = _images()
        return images.encode_mask(images.as_mask(mask, size), self.dialect.mask_format)

    # -- submits ---------------------------------------------------------------------------
    def imagine(
        self,
        /,
        prompt: str,
        *,
        images: Sequence[Any] = (),
        bot: str | None = None,
        mode: str | None = None,
        callback_url: str | None = None,
        wait: bool = False,
        timeout: float = 600.0,
        on_progress: ProgressCallback | None = None,
        tags: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Flow[Task]:
        """Submit a prompt (Midjourney ``/imagine``); with ``wait=True`` follow it to the end.

        Args:
            prompt: the text with Midjourney parameters (``"a lighthouse --ar 3:2 --s 250"``); checked
                against the version's parameters before sending (see ``mjnb._prompt``).
            images: image prompts: URLs, paths, bytes or PIL images (local ones sent as PNG data URLs).
            bot: ``"mj"``, ``"niji"`` or None (the service's default; midjourney-proxy ``botType``).
            mode: ``"fast"``, ``"relax"``, ``"turbo"`` or ``"draft"`` where the dialect offers it.
            callback_url: an HTTPS URL the service calls when the job changes (each service's rules apply).
            wait: follow the job to a final state before returning (streamed on AceData).
            timeout: seconds to wait when ``wait`` is true (> 0); checked before anything is sent.
            on_progress: called with each new state of the task while waiting.
            tags: labels kept with the journal row (a sweep's cell), str to str.
            **options: dialect-specific fields merged into the request body.

        Returns:
            The Task as submitted (``wait=False``) or final (``wait=True``).

        Raises:
            ValidationError: bad input, before anything is sent.
            ModerationError, RateLimitError, AuthenticationError, ServerError: the service refused.
            SubmitUncertain: the request left but its outcome is unknown (journaled, not resent).
            TaskFailed, TaskTimeout: with ``wait=True``, the job failed or ``timeout`` passed.

        Service docs: PROTOCOLS.md §3.1 (midjourney-proxy ``/mj/submit/imagine``), §2.2 (AceData
        ``/midjourney/imagine``), §1.2 (EvoLink ``mj-v7``); Midjourney's parameter list.
        """
        from ._prompt import validate_prompt

        prompt = _text(prompt, "prompt")
        timeout = _seconds(timeout, "timeout")
        _callable(on_progress, "on_progress")
        tags = _tags(tags)
        _bot(bot)
        # The version the service will use when the prompt names none: niji for the niji bot,
        # AceData's own ``version`` field where given.
        version = (
            "niji" if bot == "niji" else options.get("version") if isinstance(options.get("version"), str) else None
        )
        validate_prompt(prompt, self.dialect.name, version=version)
        if isinstance(images, (str, bytes)):
            images = (images,)
        refs = tuple(_image_ref(img, "images") for img in images)
        kw: dict[str, Any] = dict(
            prompt=prompt, images=refs, bot=bot, mode=mode, callback_url=callback_url, options=options
        )
        fp_options = {"images": refs, "bot": bot, "mode": mode, **options}
        if wait and getattr(self.dialect, "supports_stream", False) and not callback_url:
            fp = imagine_fingerprint(self.service, prompt, images=refs, bot=bot, mode=mode, tags=tags, **options)
            plain = self._submit("imagine", prompt, tags=tags, fp_options=fp_options, **kw).request
            request = self._prepare("imagine", stream=True, **kw)
            start = yield Now()
            task: Task = yield Stream(
                request, on_progress, prompt=prompt, timeout=timeout, tags=tags, fingerprint=fp, fallback=plain
            )
            # A stream that ended early (or a timeout) leaves a known task: follow it by polling.
            left = timeout - ((yield Now()) - start)
            if not task.done and left <= 0:
                raise TaskTimeout(task, timeout)
            return (yield from self.wait(task, timeout=max(left, 1e-3), on_progress=on_progress))
        task = yield self._submit("imagine", prompt, tags=tags, fp_options=fp_options, **kw)
        if wait:
            return (yield from self.wait(task, timeout=timeout, on_progress=on_progress))
        return task

    def action(
        self,
        /,
        task: Task | str,
        action: str | Action,
        *,
        prompt: str | None = None,
        mask: Any = None,
        callback_url: str | None = None,
        tags: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Flow[Task]:
        """Run a follow-up on a finished task (one of ``task.actions``).

        Args:
            task: the Task (or its id) offering the follow-up.
            action: a unified name from ``mjnb.ACTION_NAMES`` — ``"U2"``, ``"V1"`` (1-based like the
                buttons), ``"reroll"``, ``"vary_subtle"``, ``"vary_strong"``, ``"vary_region"``,
                ``"zoom_out_2x"``, ``"pan_left"`` … — or an ``Action`` from ``task.actions``.
            prompt: the prompt for Remix / Custom Zoom / Vary Region (Custom Zoom needs ``--zoom N``).
            mask: for ``"vary_region"``: the region to regenerate (white), same size as the image.
            callback_url: as for :meth:`imagine`.
            tags: labels kept with the journal row.
            **options: dialect-specific fields (e.g. midjourney-proxy ``chooseSameChannel=True``).

        Returns:
            The new Task as submitted (follow it with ``wait``).

        Raises:
            ValidationError: an action the task does not offer (the message lists what it offers), a
                wrong type, a missing mask or prompt — before anything is sent.
            SubmitUncertain, APIError: as for :meth:`imagine`.

        Service docs: PROTOCOLS.md §3.2 (``/mj/submit/action`` and ``/mj/submit/modal``), §2.2, §1.3.
        """
        if not isinstance(action, (str, Action)) or (isinstance(action, str) and not action.strip()):
            raise ValidationError(
                f"action: {action!r} is not allowed; use a name such as 'U1', 'V2', 'reroll', 'pan_left' "
                "(see mjnb.ACTION_NAMES) or an Action from task.actions",
                field="action",
            )
        if prompt is not None:
            prompt = self._checked_prompt(prompt)
        tags = _tags(tags)
        task = yield from self._as_task(task)
        chosen = action if isinstance(action, Action) else task.action(action)
        if chosen.name == "vary_region":
            if mask is None:
                raise ValidationError("mask: vary_region needs a mask (white = regenerate)", field="mask")
            return (
                yield from self.inpaint(
                    task, mask, prompt, index=chosen.index, callback_url=callback_url, tags=tags, **options
                )
            )
        if chosen.name == "custom_zoom" and (prompt is None or "--zoom" not in prompt):
            raise ValidationError("prompt: custom_zoom needs a prompt with --zoom N (1 to 2)", field="prompt")
        shown = prompt or task.prompt
        result: Task = yield self._submit(
            "action",
            shown,
            parent_id=task.id,
            tags=tags,
            fp_options={"action": chosen.name, **options},
            task=task,
            action=chosen,
            prompt=prompt,
            callback_url=callback_url,
            options=options,
        )
        if result.status is TaskStatus.AWAITING_INPUT and chosen.needs_input:
            result = yield self._submit(
                "modal",
                shown,
                parent_id=task.id,
                tags=tags,
                fp_options={"modal": chosen.name, **options},
                task=result,
                prompt=prompt,
                mask=None,
                callback_url=callback_url,
                options=options,
            )
        return result

    def upscale(self, /, task: Task | str, n: int, **kw: Any) -> Flow[Task]:
        """U1–U4: upscale image ``n`` of a grid (1-based, as on Midjourney's buttons).

        Args:
            task: a finished imagine/variation grid (or its id).
            n: 1, 2, 3 or 4.
            **kw: as for :meth:`action` (``prompt``, ``callback_url``, ``tags``, options).

        Returns:
            The UPSCALE Task as submitted.

        Raises:
            ValidationError: ``n`` outside 1–4 or the task offers no such button.
        """
        return (yield from self.action(task, f"U{self._grid_number(n, 'n')}", **kw))

    def vary(self, /, task: Task | str, n: int | str, **kw: Any) -> Flow[Task]:
        """V1–V4 on a grid (``n`` 1–4), or ``"subtle"`` / ``"strong"`` on an upscaled image.

        Returns:
            The VARIATION Task as submitted.

        Raises:
            ValidationError: ``n`` not 1–4, "subtle" or "strong", or not offered by the task.
        """
        if n in ("subtle", "strong"):
            return (yield from self.action(task, f"vary_{n}", **kw))
        return (yield from self.action(task, f"V{self._grid_number(n, 'n')}", **kw))

    def reroll(self, /, task: Task | str, **kw: Any) -> Flow[Task]:
        """🔄 Reroll: run the task's prompt again (a new grid).

        Returns:
            The REROLL Task as submitted.

        Raises:
            ValidationError: the task offers no reroll.
        """
        return (yield from self.action(task, "reroll", **kw))

    def zoom_out(self, /, task: Task | str, factor: float = 2, **kw: Any) -> Flow[Task]:
        """Zoom Out an upscaled image by ``factor``: 2 or 1.5, or any number from 1 to 2 (Custom Zoom).

        Returns:
            The zoomed-out Task (a new grid) as submitted.

        Raises:
            ValidationError: ``factor`` outside 1–2, or the dialect has no Custom Zoom for it.
        """
        if factor in (2, 1.5) and not isinstance(factor, bool):
            return (yield from self.action(task, "zoom_out_2x" if factor == 2 else "zoom_out_1.5x", **kw))
        if isinstance(factor, bool) or not (isinstance(factor, (int, float)) and 1 <= factor <= 2):
            raise ValidationError(
                f"factor: {factor!r} is not allowed; use 2, 1.5 or a number from 1 to 2", field="factor"
            )
        task = yield from self._as_task(task)
        prompt = f"{kw.pop('prompt', None) or task.prompt or ''} --zoom {factor:g}".strip()
        return (yield from self.action(task, "custom_zoom", prompt=prompt, **kw))

    def pan(self, /, task: Task | str, direction: str, **kw: Any) -> Flow[Task]:
        """Pan an upscaled image: ``direction`` is ``"left"``, ``"right"``, ``"up"`` or ``"down"``.

        Returns:
            The panned Task as submitted.

        Raises:
            ValidationError: another direction, or the task offers no pan.
        """
        if direction not in _PAN:
            raise ValidationError(
                f"direction: {direction!r} is not allowed; use one of {', '.join(_PAN)}", field="direction"
            )
        return (yield from self.action(task, f"pan_{direction}", **kw))

    @staticmethod
    def _grid_number(n: Any, field: str) -> int:
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 4:
            raise ValidationError(f"{field}: {n!r} is not allowed; use 1, 2, 3 or 4 (the grid position)", field=field)
        return n

    def inpaint(
        self,
        /,
        task: Task | str,
        mask: Any,
        prompt: str | None = None,
        *,
        index: int | None = None,
        callback_url: str | None = None,
        tags: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Flow[Task]:
        """Vary Region: regenerate the white part of ``mask`` on the task's image.

        Args:
            task: a finished task with an image (or its id).
            mask: same size as the image (w×h pixels): PIL image, HxW numpy array (bool, 0–1 float or
                0–255 uint8), PNG bytes, a data URL or polygons; white / true = regenerate.
            prompt: what to put there (None keeps the task's prompt).
            index: 0-based image of a grid, where the dialect edits one image (EvoLink, AceData).
            callback_url, tags, **options: as for :meth:`imagine`.

        Returns:
            The new Task as submitted.

        Raises:
            ValidationError: a mask of another size (both sizes named), an empty or NaN mask, bad index.
            UnsupportedOperation: the dialect has neither inpaint nor the proxy's Vary (Region) modal.

        Service docs: PROTOCOLS.md §3.2 (Vary Region modal), §2.2 ``variation_region``, §1.3 ``mj-v7-inpaint``.
        """
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 4):
            raise ValidationError(f"index: {index!r} is not allowed; use 0–3 (0-based image index)", field="index")
        if prompt is not None:
            prompt = self._checked_prompt(prompt)
        tags = _tags(tags)
        if "inpaint" not in self.dialect.operations and "modal" not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, "inpaint", offered_by("inpaint") + offered_by("modal"))
        task = yield from self._as_task(task)
        size = yield from self._image_size(task, index)
        encoded = self._encoded_mask(mask, size)
        shown = prompt or task.prompt
        if "inpaint" in self.dialect.operations:
            submitted: Task = yield self._submit(
                "inpaint",
                shown,
                parent_id=task.id,
                tags=tags,
                fp_options={"index": index, **options},
                task=task,
                index=index,
                mask=encoded,
                prompt=prompt,
                callback_url=callback_url,
                options=options,
            )
            return submitted
        region = task.action("vary_region")  # the proxy's Vary (Region) button: only on upscaled images
        opened: Task = yield self._submit(
            "action",
            shown,
            parent_id=task.id,
            tags=tags,
            fp_options={"action": "vary_region", **options},
            task=task,
            action=region,
            prompt=prompt,
            callback_url=callback_url,
            options=options,
        )
        if opened.status is not TaskStatus.AWAITING_INPUT:
            return opened
        modal: Task = yield self._submit(
            "modal",
            shown,
            parent_id=task.id,
            tags=tags,
            fp_options={"modal": "vary_region", **options},
            task=opened,
            prompt=prompt,
            mask=encoded,
            callback_url=callback_url,
            options=options,
        )
        return modal

    def reposition(
        self,
        /,
        task: Task | str,
        canvas: tuple[int, int],
        image_box: tuple[int, int, int, int],
        prompt: str,
        *,
        index: int | None = None,
        callback_url: str | None = None,
        tags: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Flow[Task]:
        """Place the image at ``image_box`` on a larger ``canvas`` and let the service fill the rest.

        Args:
            task: a finished task with an image (or its id).
            canvas: (width, height) in pixels of the new picture.
            image_box: (x, y, width, height) in canvas pixels where the image goes (inside the canvas).
            prompt: what to paint around it (non-empty).
            index: 0-based image of a grid where the dialect edits one image.
            callback_url, tags, **options: as for :meth:`imagine`.

        Returns:
            The new Task as submitted.

        Raises:
            ValidationError: a box outside the canvas or sizes out of range, before sending.
            UnsupportedOperation: the dialect has no reposition (EvoLink ``mj-v7-edit`` has; on others
                the CanvasEditor sends an :meth:`edit` of the composite).

        Service docs: PROTOCOLS.md §1.3 (EvoLink ``mj-v7-edit``: ``canvas``, ``img_pos``).
        """
        prompt = self._checked_prompt(prompt)
        tags = _tags(tags)
        canvas, image_box = _images().check_canvas(canvas, image_box)
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 4):
            raise ValidationError(f"index: {index!r} is not allowed; use 0–3 (0-based image index)", field="index")
        if "reposition" not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, "reposition", offered_by("reposition"))
        task = yield from self._as_task(task)
        submitted: Task = yield self._submit(
            "reposition",
            prompt,
            parent_id=task.id,
            tags=tags,
            fp_options={"canvas": canvas, "image_box": image_box, "index": index, **options},
            task=task,
            index=index,
            canvas=canvas,
            image_box=image_box,
            prompt=prompt,
            callback_url=callback_url,
            options=options,
        )
        return submitted

    def edit(
        self,
        /,
        image: Any,
        mask: Any,
        prompt: str,
        *,
        callback_url: str | None = None,
        tags: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Flow[Task]:
        """Edit your own image: regenerate the white part of ``mask`` guided by ``prompt``.

        Args:
            image: an http(s) URL, a path, PNG/JPEG bytes or a PIL image (normalised like every input).
            mask: same size as the image (see :meth:`inpaint`), or None to let the service repaint freely.
            prompt: the instruction (non-empty).
            callback_url, tags, **options: as for :meth:`imagine` (AceData: ``split_images=True``).

        Returns:
            The new Task as submitted.

        Raises:
            ValidationError: unreadable image, mask of another size — before sending.
            UnsupportedOperation: the dialect has no edit.

        Service docs: PROTOCOLS.md §2.4 (AceData ``/midjourney/edits``), §1.3 (EvoLink).
        """
        prompt = self._checked_prompt(prompt)
        tags = _tags(tags)
        if "edit" not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, "edit", offered_by("edit"))
        encoded = None
        images = _images()
        if _is_url(image) and not str(image).startswith("data:"):
            from .dialects._validate import checked_image_url

            ref = checked_image_url(image, "image")  # refused before anything is fetched
            if mask is not None:
                try:
                    data = yield Download(ref)
                except TransportError as exc:
                    raise TransportError(
                        f"image: downloading {image} to check that the mask has its size failed ({exc}); "
                        "pass the image itself (path, bytes or PIL image) to skip the download"
                    ) from exc
                size = images.load_image(data, field="image").size
                encoded = self._encoded_mask(mask, size)
        else:
            loaded = images.load_image(image, field="image")
            ref = images.to_data_url(loaded)
            if mask is not None:
                encoded = self._encoded_mask(mask, loaded.size)
        submitted: Task = yield self._submit(
            "edit",
            prompt,
            tags=tags,
            fp_options={"image": ref, **options},
            image=ref,
            mask=encoded,
            prompt=prompt,
            callback_url=callback_url,
            options=options,
        )
        return submitted

    def blend(
        self,
        /,
        images: Sequence[Any],
        dimensions: str = "SQUARE",
        *,
        bot: str | None = None,
        callback_url: str | None = None,
        tags: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Flow[Task]:
        """Blend 2–5 images into a new grid (Midjourney ``/blend``).

        Args:
            images: 2 to 5 images (URLs, paths, bytes or PIL images).
            dimensions: ``"PORTRAIT"`` (2:3), ``"SQUARE"`` (1:1) or ``"LANDSCAPE"`` (3:2).
            bot: ``"mj"``, ``"niji"`` or None (midjourney-proxy / new-api ``botType``).
            callback_url, tags, **options: as for :meth:`imagine`.  AceData takes http(s) image URLs only.

        Returns:
            The BLEND Task as submitted.

        Raises:
            ValidationError: fewer than 2 or more than 5 images, an unreadable image, other dimensions.

        Service docs: PROTOCOLS.md §3.1 (``/mj/submit/blend``); AceData sends an imagine with the images.
        """
        if isinstance(images, (str, bytes)) or not isinstance(images, Sequence) or not 2 <= len(images) <= 5:
            count = len(images) if isinstance(images, Sequence) and not isinstance(images, (str, bytes)) else 1
            raise ValidationError(f"images: blend takes a list of 2 to 5 images, got {count}", field="images")
        if dimensions not in _DIMENSIONS:
            raise ValidationError(
                f"dimensions: {dimensions!r} is not allowed; use one of {', '.join(_DIMENSIONS)}", field="dimensions"
            )
        tags = _tags(tags)
        _bot(bot)
        if "blend" not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, "blend", offered_by("blend"))
        refs = tuple(_image_ref(i, "images") for i in images)
        submitted: Task = yield self._submit(
            "blend",
            None,
            tags=tags,
            fp_options={"images": refs, "dimensions": dimensions, **options},
            images=refs,
            dimensions=dimensions,
            callback_url=callback_url,
            options=options,
            **_bot_kw(bot),
        )
        return submitted

    def describe(
        self, /, image: Any, *, bot: str | None = None, callback_url: str | None = None, **options: Any
    ) -> Flow[Task]:
        """Describe an image: four prompts that could have made it (``task.texts``).

        Args:
            image: an http(s) URL, a path, bytes or a PIL image.
            bot: ``"mj"``, ``"niji"`` or None (midjourney-proxy / new-api ``botType``).
            callback_url, **options: as for :meth:`imagine`.

        Returns:
            A Task whose ``texts`` hold the prompts once finished (``wait`` on it where it is not final).

        Raises:
            ValidationError: an unreadable image or a directory, before sending.

        Service docs: PROTOCOLS.md §3.1 (``/mj/submit/describe``), §2.5 (AceData ``/midjourney/describe``).
        """
        _bot(bot)
        ref = _image_ref(image, "image")
        submitted: Task = yield self._submit(
            "describe",
            None,
            fp_options={"image": ref, **options},
            image=ref,
            callback_url=callback_url,
            options=options,
            **_bot_kw(bot),
        )
        return submitted

    def shorten(
        self, /, prompt: str, *, bot: str | None = None, callback_url: str | None = None, **options: Any
    ) -> Flow[Task]:
        """Shorten a prompt: Midjourney's ``/shorten`` suggestions (``task.texts``).

        Args:
            prompt: the prompt to analyse (non-empty).
            bot: ``"mj"``, ``"niji"`` or None (midjourney-proxy / new-api ``botType``).
            callback_url: where the service takes one (midjourney-proxy, new-api), as for :meth:`imagine`;
                AceData answers at once and refuses it.

        Returns:
            A Task whose ``texts`` hold the shorter prompts once finished.

        Raises:
            ValidationError: an empty prompt.

        Service docs: PROTOCOLS.md §3.1 (``/mj/submit/shorten``), §2.5 (AceData ``/midjourney/shorten``).
        """
        prompt = _text(prompt, "prompt")
        _bot(bot)
        kw: dict[str, Any] = {"prompt": prompt, "options": options, **_bot_kw(bot)}
        if callback_url is not None:
            kw["callback_url"] = callback_url
        submitted: Task = yield self._submit("shorten", prompt, fp_options=options, **kw)
        return submitted

    def translate(self, /, text: str, **options: Any) -> Flow[Task]:
        """Translate a prompt into English (AceData ``/midjourney/translate``).

        Returns:
            A Task whose ``texts[0]`` is the translation.

        Raises:
            ValidationError: empty text.  UnsupportedOperation: other dialects.
        """
        text = _text(text, "text")
        submitted: Task = yield self._submit("translate", text, fp_options=options, text=text, options=options)
        return submitted

    def retexture(self, /, image: Any, prompt: str, *, callback_url: str | None = None, **options: Any) -> Flow[Task]:
        """Give an image a new texture or style, keeping its shapes (EvoLink ``mj-v7-retexture``).

        Returns:
            The new Task as submitted.

        Raises:
            ValidationError: unreadable image or empty prompt.  UnsupportedOperation: other dialects.
        """
        prompt = self._checked_prompt(prompt)
        ref = _image_ref(image, "image")
        submitted: Task = yield self._submit(
            "retexture",
            prompt,
            fp_options={"image": ref, **options},
            image=ref,
            prompt=prompt,
            callback_url=callback_url,
            options=options,
        )
        return submitted

    def remove_bg(self, /, image: Any, *, callback_url: str | None = None, **options: Any) -> Flow[Task]:
        """Cut the subject out on a transparent background (EvoLink ``mj-v7-remove-bg``).

        Returns:
            The new Task as submitted (its image is an RGBA PNG).

        Raises:
            ValidationError: unreadable image.  UnsupportedOperation: other dialects.
        """
        ref = _image_ref(image, "image")
        submitted: Task = yield self._submit(
            "remove_bg",
            None,
            fp_options={"image": ref, **options},
            image=ref,
            callback_url=callback_url,
            options=options,
        )
        return submitted

    # -- reads -------------------------------------------------------------------------------
    def get(self, /, task: Task | str) -> Flow[Task]:
        """The task as the server has it now (one read, retried on transport errors).

        Args:
            task: a Task or a task id (validated: no ``/``, ``.``/``..``, whitespace or control characters).

        Returns:
            The fresh Task.

        Raises:
            TaskNotFound: the server knows no such id.  ValidationError: a malformed id.
        """
        task_id = task.id if isinstance(task, Task) else _text(task, "task_id")
        if not isinstance(task, Task) and len(task_id) > 256:
            raise ValidationError(f"task_id: {len(task_id)} characters is too long (at most 256)", field="task_id")
        known = task if isinstance(task, Task) else None
        fresh: Task = yield Fetch(self._prepare("get", task_id=task_id, task=known))
        return _keep_known(fresh, task) if isinstance(task, Task) else fresh

    def wait(
        self,
        /,
        task: Task | str,
        *,
        timeout: float = 600.0,
        poll_interval: float | None = None,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
    ) -> Flow[Task]:
        """Follow a task until it is final (or waits for input), through the client's tracker.

        Args:
            task: a Task or a task id.
            timeout: seconds (> 0) before giving up; the job keeps running on the server.
            poll_interval: the longest time in seconds between two reads of this task (> 0); when None
                the tracker spaces reads by the job's age and progress.  Batched reads serve every
                waiter at once.
            on_progress: called with each new state (status, progress, preview); progress never goes
                backwards (a server's regression or blank is replaced by the best value seen).
            raise_on_failure: raise TaskFailed for a failed or cancelled job (else return it).

        Returns:
            The final Task (or the AWAITING_INPUT one of a modal flow).

        Raises:
            TaskFailed: the job failed, was cancelled or finished without an image.
            TaskTimeout: ``timeout`` passed first (carries the last state seen).
            ValidationError: bad arguments, before anything is sent.
        """
        timeout = _seconds(timeout, "timeout")
        interval = None if poll_interval is None else _seconds(poll_interval, "poll_interval")
        _callable(on_progress, "on_progress")
        if isinstance(task, Task):
            _own_task(task, self.dialect.name, "task")
        current = task if isinstance(task, Task) else (yield from self.get(task))
        deadline = (yield Now()) + timeout
        best: int | None = None
        seen: tuple[Any, ...] | None = None
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
            remaining = deadline - (yield Now())
            if remaining <= 0:
                raise TaskTimeout(current, timeout)
            fresh: Task = yield Update(current, remaining, interval)
            current = _keep_known(fresh, current)
        if raise_on_failure and current.done and not current.succeeded:
            raise TaskFailed(current)
        return current

    def tasks(
        self,
        /,
        *,
        local: bool = False,
        page: int = 1,
        page_size: int = 20,
        task_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        text: str | None = None,
        admin: bool = False,
        all_services: bool = False,
        **options: Any,
    ) -> Flow[Page]:
        """A page of past tasks: the server's listing, or with ``local=True`` this machine's journal.

        Args:
            local: read the journal instead of the server (every dialect).
            page: 1-based page number.  page_size: 1–100 tasks.
            task_id: only this id (server listings that filter by id).
            since, until: unix seconds (a value in milliseconds is recognised by its size).
            text: only tasks whose prompt contains it (case-insensitive).
            admin: new-api's administrator listing (``/api/mj/``; ``channel_id=`` in options).
            all_services: with ``local=True``, rows of every service, not only this client's.

        Returns:
            A Page of Tasks.  Journal rows that never got an id are Tasks with id ``"journal:N"``
            and ``raw_status`` ``"sending"`` or ``"uncertain"``: not fetchable.

        Raises:
            ValidationError: bad paging.  UnsupportedOperation: no server listing on this dialect.

        Service docs: PROTOCOLS.md §4 (new-api ``/api/mj/self``), §3.3 (proxy list), §2.6 (AceData).
        """
        if not (isinstance(page, int) and page >= 1 and isinstance(page_size, int) and 1 <= page_size <= 100):
            raise ValidationError("page/page_size: page ≥ 1 and page_size 1–100", field="page")
        if local:
            return self._journal_page(page, page_size, text, since, until, all_services)
        if "list" not in self.dialect.operations:
            raise UnsupportedOperation(
                self.dialect.name, "list (use tasks(local=True) for the journal)", offered_by("list")
            )
        kw: dict[str, Any] = dict(
            page=page, page_size=page_size, task_id=task_id, since=since, until=until, admin=admin
        )
        kw.update(options)
        result: Page = yield Fetch(self._prepare("list", **kw))
        if text:
            needle = text.lower()
            result = Page(
                tuple(t for t in result.items if needle in (t.prompt or "").lower()),
                result.page,
                result.page_size,
                result.total,
            )
        return result

    def _journal_page(
        self,
        page: int,
        page_size: int,
        text: str | None,
        since: float | None,
        until: float | None,
        all_services: bool,
    ) -> Page:
        if self.journal is None:
            raise ValidationError("local: this client keeps no journal (journal=False)", field="local")
        where: dict[str, Any] = {"text": text, "since": since, "until": until}
        if not all_services:
            where.update(dialect=self.dialect.name, base_url=self.service)
        entries = self.journal.entries(limit=page_size, offset=(page - 1) * page_size, **where)
        return Page(tuple(e.to_task() for e in entries), page, page_size, self.journal.count(**where))

    def download(self, /, task: Task | str, *, split: bool = False) -> Flow[Any]:
        """The result as PIL images: one image, or with ``split=True`` the four of a grid.

        Returns:
            A ``PIL.Image.Image`` (RGB/RGBA, the service's size), or a list of four with ``split=True``.

        Raises:
            ValidationError: the task has no image yet, or its result is a video (use ``download_video``).
        """
        task = yield from self._as_task(task)
        if task.video_urls and task.image_url is None and not task.image_urls:
            raise ValidationError(
                f"task: {task.id} is a video ({len(task.video_urls)} MP4); use download_video(task)", field="task"
            )
        if task.image_url is None and not task.image_urls:
            raise ValidationError(f"task: {task.id} has no image (status {task.status.value})", field="task")
        images = _images()
        if task.image_url is None or (split and task.image_urls):
            found = []
            for url in task.image_urls:
                found.append(images.load_image((yield Download(url)), field="image"))
            return found
        image = images.load_image((yield Download(task.image_url)), field="image")
        return images.split_grid(image) if split else image

    def download_video(self, /, task: Task | str, index: int = 0) -> Flow[bytes]:
        """The bytes of a video result (MP4).

        Args:
            task: a finished VIDEO task (``task.video_urls`` non-empty) or its id.
            index: which video, 0-based.

        Returns:
            The MP4 file's bytes.

        Raises:
            ValidationError: the task has no video, or ``index`` is out of range.
        """
        task = yield from self._as_task(task)
        if not task.video_urls:
            raise ValidationError(f"task: {task.id} has no video result (status {task.status.value})", field="task")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(task.video_urls):
            raise ValidationError(f"index: {index!r} is not allowed; use 0–{len(task.video_urls) - 1}", field="index")
        data: bytes = yield Download(task.video_urls[index])
        return data

    def seed(self, /, task: Task | str) -> Flow[str]:
        """The seed Midjourney used for a task (midjourney-proxy ``image-seed``, AceData ``seed``).

        Returns:
            The seed as a string of digits.

        Raises:
            UnsupportedOperation: the dialect cannot tell it.
        """
        if "seed" not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, "seed", offered_by("seed"))
        task = yield from self._as_task(task)
        seed: str = yield Fetch(self._prepare("seed", task=task))
        return seed

    def cancel(self, /, task: Task | str) -> Flow[Task]:
        """Cancel a queued or running job where the service allows it.

        Returns:
            The task as the server has it after the cancel.

        Raises:
            UnsupportedOperation: the dialect cannot cancel.  TaskNotFound: unknown id.
        """
        task_id = task.id if isinstance(task, Task) else _text(task, "task_id")
        if "cancel" not in self.dialect.operations:
            raise UnsupportedOperation(self.dialect.name, "cancel", offered_by("cancel"))
        result: Task | None = yield Fetch(self._prepare("cancel", task_id=task_id))
        return result if result is not None else (yield from self.get(task_id))


#: The public verbs, in the order the docs list them; both clients expose exactly these.
VERBS = (
    "imagine",
    "action",
    "upscale",
    "vary",
    "reroll",
    "zoom_out",
    "pan",
    "inpaint",
    "reposition",
    "edit",
    "blend",
    "describe",
    "shorten",
    "translate",
    "retexture",
    "remove_bg",
    "get",
    "wait",
    "tasks",
    "download",
    "download_video",
    "seed",
    "cancel",
)
