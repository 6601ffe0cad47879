"""AceData Cloud: ``POST /midjourney/{imagine,edits,describe,shorten,seed,tasks}`` (PROTOCOLS.md §2).

Every submit asks for an immediate ``{"task_id"}`` (``"async": true``, or the ``callback_url``
when one is given) and the client polls ``/midjourney/tasks``.  With ``stream=True`` the same
call instead follows the job on one NDJSON answer (``parse_stream_line``).  AceData has no
status field: the state is derived from ``response.success``, ``progress`` and ``finished_at``
(§2.6).  Follow-ups replay ``{"action": <native>, "image_id": …}`` on ``/midjourney/imagine``.
Describe and shorten answer at once with no task id: their Task gets a derived id (see
:func:`text_task`).
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from .._errors import (
    ServerError,
    TaskNotFound,
    ValidationError,
)
from .._models import Action, Page, Task, TaskStatus
from ._acedata_answers import (
    NATIVE,
    TEXT_ANSWERS,
    UNIFIED,
    error_for,
    error_parts,
    has_error,
    is_record,
    kind_of,
    task_from_payload,
    text_task,
)
from ._base import DialectBase, Request, Response
from ._common import (
    checked_bool,
    checked_callback_url,
    checked_choice,
    checked_image_ref,
    checked_options,
    checked_page,
    checked_window,
    decode_json,
    invalid,
    is_base64_png,
    is_http_url,
    leading_urls,
    positive_int,
    required_text,
    text_or_none,
)
from ._validate import checked_image_url, checked_task_id, checked_task_ids

__all__ = ["AceData", "make"]

_MODES = ("fast", "relax", "turbo")
_VERSIONS = ("5.2", "6", "6.1", "7", "8", "8.1", "8.2")
_QUALITIES = (".25", ".5", "1", "2", "4")
_MAX_IMAGE_PROMPTS = 5  # ACE-API; Midjourney itself allows more (§2.2 ⚠️)
_STREAMABLE = frozenset({"imagine", "action", "inpaint", "edit", "blend"})  # the /imagine and /edits calls


# -- option checks (§2.2, §2.3) ------------------------------------------------------------------
def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    text = format(value, "g") if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if field == "quality" and isinstance(text, str) and text.startswith("0."):
        text = text[1:]  # 0.25 → ".25", as AceData spells it
    if not isinstance(text, str) or text not in allowed:
        raise invalid(field, f"{value!r} is not allowed; use one of {', '.join(allowed)}")
    return text


def _service_timeout(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 480:
        raise invalid(field, f"{value!r} is not allowed; use a number of seconds from 1 to 480 (AceData's limit)")
    return value


def _no_timeout(value: Any, field: str) -> Any:
    raise invalid(
        "timeout",
        "AceData's own blocking timeout is service_timeout= (seconds the server waits, ≤ 480); "
        "timeout= is how long mjnb waits for the job",
    )


_CHECKS: dict[str, Any] = {
    "mode": lambda v, f: _choice(v, f, _MODES),
    "version": lambda v, f: _choice(v, f, _VERSIONS),
    "quality": lambda v, f: _choice(v, f, _QUALITIES),
    "service_timeout": _service_timeout,
    "timeout": _no_timeout,
    "action": lambda v, f: checked_choice(v, f, ("generate",)),
    **dict.fromkeys(("split_images", "translation", "hd", "style_reference", "moodboard"), checked_bool),
}
_IMAGINE_OPTIONS = tuple(k for k in _CHECKS if k != "action")
#: ``action="generate"`` is accepted on edits because the service's own example sends it (§2.3).
_EDIT_OPTIONS = ("mode", "split_images", "service_timeout", "timeout", "action")
#: mjnb's option names that AceData spells differently on the wire.
_WIRE_NAMES = {"service_timeout": "timeout"}
_BLEND_RATIOS = {"PORTRAIT": "2:3", "SQUARE": "1:1", "LANDSCAPE": "3:2"}


def _options(
    op: str, options: Mapping[str, Any] | None, allowed: tuple[str, ...], mode: str | None = None
) -> dict[str, Any]:
    """``options`` checked for ``op`` (``service_timeout`` is sent as AceData's ``timeout``)."""
    given = checked_options(f"acedata {op}", options, {key: _CHECKS[key] for key in allowed})
    checked = {_WIRE_NAMES.get(key, key): value for key, value in given.items()}
    if mode is not None:
        if mode not in _MODES:
            raise invalid("mode", f"{mode!r} is not offered by acedata; use one of {', '.join(_MODES)}")
        if checked.get("mode", mode) != mode:
            raise invalid("mode", f"{mode!r} contradicts options mode={checked['mode']!r}; keep one")
        checked["mode"] = mode
    return checked


def _callback(callback_url: Any) -> dict[str, str]:
    # AceData documents no rule for its webhook beyond being a URL (§2.2).
    if callback_url is None:
        return {}
    return {"callback_url": checked_callback_url(callback_url, max_chars=2048, public_https=False)}


def _image_prompt(ref: Any, field: str) -> str:
    if isinstance(ref, str) and ref.startswith("data:"):
        raise invalid(
            field, "AceData takes image prompts as http(s) URLs at the start of the prompt; upload a local image first"
        )
    return checked_image_url(ref, field)


def _mask(mask: Any) -> str:
    """A bare base64 PNG (white = repaint), or a mask image URL (ACE-OAS reads it as one)."""
    if isinstance(mask, str) and (is_http_url(mask) or is_base64_png(mask)):
        return mask
    raise invalid("mask", "must be bare base64 of a grayscale PNG (white = repaint, no data: prefix) or an http(s) URL")


class AceData(DialectBase):
    """The AceData Cloud dialect: sans-IO requests and answers (see ``dialects._base``)."""

    name = "acedata"
    operations = frozenset(
        {
            "imagine",
            "action",
            "inpaint",
            "edit",
            "blend",
            "describe",
            "shorten",
            "translate",
            "seed",
            "get",
            "get_many",
            "list",
        }
    )
    mask_format = "png_base64"
    poll_interval = 3.0
    supports_stream = True
    #: ❓ AceData documents no maximum for ``retrieve_batch`` (its page ``limit`` defaults to 12; the
    #: simulator takes up to 100); ``limit`` is sent as the number of ids.
    batch_size = 50
    max_concurrent = None  # not published
    expected_seconds = 60.0

    def auth_headers(self, api_key: str, request: Request) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}

    # -- requests ---------------------------------------------------------------------------------
    def prepare(self, op: str, **kw: Any) -> Request:
        """As :meth:`DialectBase.prepare`; ``stream=True`` is taken by imagine, action, inpaint and edit."""
        if kw.get("stream") and op in self.operations and op not in _STREAMABLE:
            raise invalid("stream", f"{op} cannot stream; only {', '.join(sorted(_STREAMABLE))} can")
        return super().prepare(op, **kw)

    def _submit(
        self, op: str, path: str, body: dict[str, Any], *, stream: bool, callback_url: Any, **context: Any
    ) -> Request:
        body.update(_callback(callback_url))
        if not stream and callback_url is None:
            body["async"] = True  # answer {"task_id"} at once instead of blocking up to 480 s
        accept = "application/x-ndjson" if stream else "application/json"
        return Request(
            "POST", path, json=body, headers={"accept": accept}, submit=True, stream=stream, op=op, **context
        )

    def _prepare_imagine(
        self,
        *,
        prompt: str,
        images: Any = (),
        bot: str | None = None,
        mode: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> Request:
        text = required_text(prompt, "prompt")
        refs = [_image_prompt(ref, "images") for ref in images or ()]
        if bot not in (None, "mj", "niji"):
            raise invalid("bot", f"{bot!r} is not allowed; use 'mj', 'niji' or None")
        if bot == "niji" and not re.search(r"(?<!\S)--niji(?!\S)", text):
            text = f"{text} --niji"  # AceData has no bot field: Niji is asked for in the prompt
        full = " ".join([*refs, text])
        if len(leading_urls(full)[0]) > _MAX_IMAGE_PROMPTS:
            raise invalid("images", f"at most {_MAX_IMAGE_PROMPTS} image URLs per prompt on acedata")
        body = {"action": "generate", "prompt": full, **_options("imagine", options, _IMAGINE_OPTIONS, mode)}
        return self._submit(
            "imagine",
            "/midjourney/imagine",
            body,
            stream=stream,
            callback_url=callback_url,
            kind="IMAGINE",
            prompt=full,
        )

    def _source(self, task: Any) -> Task:
        if not isinstance(task, Task) or task.dialect != self.name:
            raise invalid("task", "expected a Task of the acedata dialect")
        if task.status is not TaskStatus.SUCCEEDED:
            raise invalid(
                "task", f"{task.id} is {task.status.value}; a follow-up needs a succeeded task (wait for it first)"
            )
        return task

    def _prepare_action(
        self,
        *,
        task: Task,
        action: Action,
        prompt: str | None = None,
        callback_url: Any = None,
        options: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> Request:
        task = self._source(task)
        if not isinstance(action, Action):
            raise invalid("action", "expected an Action of the task (task.action('U1'))")
        native = action.native.get("action") or NATIVE.get(action.name)
        if native not in UNIFIED:
            allowed = ", ".join(n for n in NATIVE if n != "vary_region")
            raise invalid("action", f"{action.name!r} is not an acedata follow-up; allowed: {allowed}")
        if native == "variation_region":
            raise invalid("mask", "vary_region needs a mask; use inpaint(task, mask, prompt)")
        image_id = action.native.get("image_id") or task.image_id
        if not image_id:
            raise invalid("task", f"{task.id} has no image_id to act on")
        body: dict[str, Any] = {"action": native, "image_id": image_id}
        if prompt is not None:
            body["prompt"] = required_text(prompt, "prompt")
        body.update(_options("action", options, _IMAGINE_OPTIONS))
        return self._submit(
            "action",
            "/midjourney/imagine",
            body,
            stream=stream,
            callback_url=callback_url,
            kind=kind_of(native),
            prompt=body.get("prompt", task.prompt),
            parent_id=task.id,
        )

    def _prepare_inpaint(
        self,
        *,
        task: Task,
        mask: Any,
        index: int | None = None,
        prompt: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> Request:
        """Vary (Region) on the upscaled image of ``task``; a 2×2 grid must be upscaled first."""
        task = self._source(task)
        if any(a.name in ("U1", "U2", "U3", "U4") for a in task.actions):
            hint = f" (U{index + 1})" if isinstance(index, int) and 0 <= index < 4 else " (U1–U4)"
            raise invalid(
                "task", f"{task.id} is a 2×2 grid; vary_region works on an upscaled image: upscale first{hint}"
            )
        if index not in (None, 0):
            raise invalid("index", f"{index!r} is not allowed; this task holds one image (use None or 0)")
        if not task.image_id:
            raise invalid("task", f"{task.id} has no image_id to act on")
        body: dict[str, Any] = {"action": "variation_region", "image_id": task.image_id, "mask": _mask(mask)}
        if prompt is not None:
            body["prompt"] = required_text(prompt, "prompt")
        body.update(_options("inpaint", options, _IMAGINE_OPTIONS))
        return self._submit(
            "inpaint",
            "/midjourney/imagine",
            body,
            stream=stream,
            callback_url=callback_url,
            kind="INPAINT",
            prompt=body.get("prompt", task.prompt),
            parent_id=task.id,
        )

    def _prepare_edit(
        self,
        *,
        image: str,
        prompt: str,
        mask: Any = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> Request:
        text = required_text(prompt, "prompt")
        body: dict[str, Any] = {"image_url": checked_image_ref(image, "image"), "prompt": text}
        if mask is not None:
            body["mask"] = _mask(mask)
        body["split_images"] = True  # edits return the four images separately (§2.3)
        body.update(_options("edit", options, _EDIT_OPTIONS))
        return self._submit(
            "edit", "/midjourney/edits", body, stream=stream, callback_url=callback_url, kind="EDIT", prompt=text
        )

    def _prepare_blend(
        self,
        *,
        images: Any,
        dimensions: str = "SQUARE",
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> Request:
        """A blend as AceData offers it: an imagine whose prompt is the 2–5 image URLs, with the
        ``--ar`` of ``dimensions`` (PORTRAIT 2:3, SQUARE 1:1, LANDSCAPE 3:2)."""
        refs = list(images) if isinstance(images, (list, tuple)) else []
        if not 2 <= len(refs) <= _MAX_IMAGE_PROMPTS:
            raise invalid("images", f"blend takes 2 to {_MAX_IMAGE_PROMPTS} http(s) image URLs on acedata")
        urls = [_image_prompt(ref, "images") for ref in refs]
        if dimensions not in _BLEND_RATIOS:
            raise invalid("dimensions", f"{dimensions!r} is not allowed; use one of {', '.join(_BLEND_RATIOS)}")
        prompt = " ".join([*urls, f"--ar {_BLEND_RATIOS[dimensions]}"])
        body = {"action": "generate", "prompt": prompt, **_options("blend", options, _IMAGINE_OPTIONS)}
        return self._submit(
            "blend", "/midjourney/imagine", body, stream=stream, callback_url=callback_url, kind="BLEND", prompt=prompt
        )

    def _prepare_describe(
        self, *, image: str, callback_url: str | None = None, options: Mapping[str, Any] | None = None
    ) -> Request:
        if callback_url is not None:
            raise invalid("callback_url", "acedata describe answers at once and takes no callback")
        _options("describe", options, ())
        return Request(
            "POST",
            "/midjourney/describe",
            json={"image_url": checked_image_ref(image, "image")},
            submit=True,
            op="describe",
            kind="DESCRIBE",
        )

    def _prepare_shorten(
        self, *, prompt: str, callback_url: str | None = None, options: Mapping[str, Any] | None = None
    ) -> Request:
        if callback_url is not None:
            raise invalid("callback_url", "acedata shorten answers at once and takes no callback")
        _options("shorten", options, ())
        text = required_text(prompt, "prompt")
        return Request(
            "POST", "/midjourney/shorten", json={"prompt": text}, submit=True, op="shorten", kind="SHORTEN", prompt=text
        )

    def _prepare_translate(self, *, text: str, options: Mapping[str, Any] | None = None) -> Request:
        _options("translate", options, ())
        content = required_text(text, "text")
        return Request(
            "POST",
            "/midjourney/translate",
            json={"content": content},
            submit=True,
            op="translate",
            kind="TRANSLATE",
            prompt=content,
        )

    def _prepare_seed(self, *, task: Task) -> Request:
        if not isinstance(task, Task) or task.dialect != self.name or not task.image_id:
            raise invalid("task", "seed needs a finished acedata task (it carries the image_id)")
        return Request("POST", "/midjourney/seed", json={"image_id": task.image_id}, op="seed", task_id=task.id)

    def _prepare_get(self, *, task_id: str) -> Request:
        task_id = checked_task_id(task_id)
        return Request(
            "POST", "/midjourney/tasks", json={"action": "retrieve", "id": task_id}, op="get", task_id=task_id
        )

    def _prepare_get_many(self, *, task_ids: Any) -> Request:
        """``retrieve_batch`` with the ids (§2.6); ``limit`` is their number (the default page is 12)."""
        ids = checked_task_ids(task_ids, most=self.batch_size or 1)
        body = {"action": "retrieve_batch", "ids": list(ids), "offset": 0, "limit": len(ids)}
        return Request("POST", "/midjourney/tasks", json=body, op="get_many")

    def _prepare_list(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        task_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        admin: bool = False,
    ) -> Request:
        """``retrieve_batch``; AceData filters by ids only, so ``since``/``until`` filter the page here."""
        page, page_size = checked_page(page, page_size)
        since, until = checked_window(since, until)
        if admin:
            raise invalid("admin", "acedata lists only the key owner's tasks; use admin=False")
        body: dict[str, Any] = {"action": "retrieve_batch", "offset": (page - 1) * page_size, "limit": page_size}
        if task_id is not None:
            body["ids"] = [checked_task_id(task_id)]
        return Request(
            "POST", "/midjourney/tasks", json=body, op="list", page=page, page_size=page_size, since=since, until=until
        )

    # -- answers ----------------------------------------------------------------------------------
    def _parse_submit(self, request: Request, response: Response) -> Task:
        return self._parse_task(request, response)

    def _parse_text(self, op: str, request: Request, response: Response) -> Task:
        body = self._decode(request, response)
        texts = body.get(TEXT_ANSWERS[op])
        if op == "translate" and isinstance(texts, str):  # the one endpoint that answers a single text
            texts = [texts]
        return text_task(op.upper(), request, response, body, texts)

    def _parse_describe(self, request: Request, response: Response) -> Task:
        return self._parse_text("describe", request, response)

    def _parse_shorten(self, request: Request, response: Response) -> Task:
        return self._parse_text("shorten", request, response)

    def _parse_translate(self, request: Request, response: Response) -> Task:
        return self._parse_text("translate", request, response)

    def parse_stream_line(self, request: Request, line: bytes) -> Task:
        """The Task after one NDJSON line.

        A line that reports a failure gives a FAILED Task (reason and code kept) once the job has
        an id, so that the caller can raise TaskFailed with it and record the end; a failure before
        any id is raised as its typed error.  A stream that stops early leaves the last Task, still
        running: follow it by polling ``get`` with its id.
        """
        try:
            payload = json.loads(line)
        except ValueError:
            raise ServerError(f"a streamed line is not JSON: {line[:200]!r}", dialect=self.name) from None
        if not isinstance(payload, Mapping):
            raise ServerError(f"a streamed line is not an object: {line[:200]!r}", dialect=self.name, body=payload)
        failed = payload.get("success") is False or has_error(payload.get("error"))
        if failed and not (text_or_none(payload.get("task_id")) or request.task_id):
            code, message = error_parts(payload.get("error"))
            raise error_for(code, message or "the job failed", status_code=None, body=payload)
        return task_from_payload(payload, request)

    def _decode(self, request: Request, response: Response) -> Mapping[str, Any]:
        body, decoded, text = decode_json(response)
        failed = isinstance(body, Mapping) and (body.get("success") is False or has_error(body.get("error")))
        if response.status_code >= 400 or (failed and not is_record(body) and not body.get("task_id")):
            code, message = error_parts(body.get("error")) if isinstance(body, Mapping) else (None, None)
            raise error_for(
                code,
                message or text.strip()[:300] or None,
                status_code=response.status_code,
                body=body if decoded else (text.strip() or None),
                headers=response.headers,
                submit=request.submit,
                route=request.path,
            )
        if not isinstance(body, Mapping):
            raise ServerError(
                f"HTTP {response.status_code}: expected a JSON object, got {text.strip()[:200]!r}",
                status_code=response.status_code,
                dialect=self.name,
                body=body,
            )
        return body

    def _parse_task(self, request: Request, response: Response) -> Task:
        if request.stream and response.status_code < 400:
            try:
                response.json()
            except ValueError:  # the NDJSON lines, read at once: the last one is the state
                task = None
                for line in response.content.splitlines():
                    if line.strip():
                        task = self.parse_stream_line(request, line)
                if task is not None:
                    return task
        return task_from_payload(self._decode(request, response), request)

    def _parse_get(self, request: Request, response: Response) -> Task:
        body, _, _ = decode_json(response)
        if response.status_code < 400 and not body:
            self._missing(request, response, body)
        body = self._decode(request, response)
        if not is_record(body) and not body.get("task_id"):
            self._missing(request, response, body)
        return task_from_payload(body, request)

    def _missing(self, request: Request, response: Response, body: Any) -> Any:
        # ❓ AceData does not document how it answers an unknown id: an empty answer means none.
        raise TaskNotFound(
            f"no task {request.task_id or ''}", status_code=response.status_code, dialect=self.name, body=body
        )

    def _parse_seed(self, request: Request, response: Response) -> str:
        body = self._decode(request, response)
        seed = body.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, (str, int)) or str(seed).strip() == "":
            raise ServerError(
                f"expected {{'seed': …}}, got {json.dumps(body)[:200]}",
                status_code=response.status_code,
                dialect=self.name,
                body=body,
            )
        return str(seed).strip()

    def _parse_get_many(self, request: Request, response: Response) -> list[Task]:
        body = self._decode(request, response)
        items = body.get("items")
        if not isinstance(items, list):
            raise ServerError(
                f"expected {{'items': […], 'count': n}}, got {json.dumps(body)[:200]}",
                status_code=response.status_code,
                dialect=self.name,
                body=body,
            )
        return [task_from_payload(item) for item in items if isinstance(item, Mapping)]

    def _parse_list(self, request: Request, response: Response) -> Page:
        body = self._decode(request, response)
        items = body.get("items")
        if not isinstance(items, list):
            raise ServerError(
                f"expected {{'items': […], 'count': n}}, got {json.dumps(body)[:200]}",
                status_code=response.status_code,
                dialect=self.name,
                body=body,
            )
        tasks = [task_from_payload(item) for item in items if isinstance(item, Mapping)]
        since, until = request.since, request.until
        count = body.get("count")
        total = 0 if count == 0 and not isinstance(count, bool) else positive_int(count)
        if since is not None or until is not None:
            tasks = [
                t
                for t in tasks
                if t.submitted_at is not None
                and (since is None or t.submitted_at >= since)
                and (until is None or t.submitted_at <= until)
            ]
            total = None  # the server's count is of the unfiltered listing
        return Page(tuple(tasks), request.page, request.page_size, total)


def make(**settings: Any) -> AceData:
    """The AceData Cloud dialect; it takes no settings."""
    if settings:
        raise ValidationError(
            f"{', '.join(settings)}: not a setting of the acedata dialect; it takes none", field=next(iter(settings))
        )
    return AceData()
