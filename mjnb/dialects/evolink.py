"""EvoLink: ``POST /v1/images/generations`` with ``model: "mj-v7…"``, ``GET /v1/tasks/{id}`` (PROTOCOLS.md §1).

Every operation is a new task of some ``mj-v7-*`` model; a follow-up names its source in
``model_params.task_id`` and ``image_number`` (0-based).  EvoLink's answers list no follow-ups
and do not echo the request, so the actions of a finished task are synthesised from its model
(§6.5), and what only the request knew comes from the Task the caller passes in (``task=`` of
``get``, the parent of a follow-up): its prompt (which keeps a chosen speed as ``--draft``,
``--fast`` or ``--turbo``) and its parent.  A task fetched with nothing known offers no
``reroll`` and no ``enhance``, and its ``prompt`` is None.
"""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import quote

from .._errors import APIError, ModerationError, RateLimitError, ServerError, ValidationError
from .._models import ACTION_LABELS, Action, Task, TaskStatus
from ._base import DialectBase, Request, Response
from ._common import (
    checked_callback_url,
    checked_choice,
    checked_image_ref,
    checked_number,
    checked_options,
    class_for_status,
    decode_json,
    invalid,
    leading_urls,
    progress_of,
    retry_after,
    seconds,
    sorted_actions,
    text_or_none,
    wrong_route,
)
from ._evolink_rules import (
    DEFAULT_PAN_SCALE,
    EDIT_SPEEDS,
    FIRST_PARAM,
    GENERATIONS_PATH,
    MAX_CALLBACK,
    MAX_IMAGE_PROMPTS,
    NO_FOLLOW_UPS,
    ON_ANY_IMAGE,
    PAN_SCALE,
    PROMPT_NEEDS,
    RECIPES,
    REMIX_MODES,
    SPEEDS,
    STATUSES,
    TASK_PREFIX,
    ZOOM_FLAG,
    ZOOM_SCALE,
    checked_prompt,
    error_parts,
    geometry,
    image_number_of,
    mask_areas,
    one_of,
    prompt_with_speed,
    without_speed_flags,
)
from ._proxy_common import NO_IMAGE
from ._validate import checked_image_url, checked_task_id, is_result_url

__all__ = ["EvoLink", "make"]


class EvoLink(DialectBase):
    """The EvoLink dialect: sans-IO requests and answers (see ``dialects._base``).

    ``allow_insecure_callbacks=True`` lifts EvoLink's callback rules (https, public host) so that
    tests can receive callbacks on loopback; the real service refuses such URLs.
    """

    name = "evolink"
    operations = frozenset({"imagine", "action", "inpaint", "reposition", "edit", "retexture", "remove_bg", "get"})
    mask_format = "polygons"
    poll_interval = 3.0
    supports_stream = False
    batch_size = None  # no batch read: tasks are polled one by one
    max_concurrent = None  # not published
    expected_seconds = 45.0  # the create answer's task_info.estimated_time in EvoLink's example (§1.4)

    def __init__(self, allow_insecure_callbacks: bool = False) -> None:
        if not isinstance(allow_insecure_callbacks, bool):
            raise invalid("allow_insecure_callbacks", "must be true or false")
        self.allow_insecure_callbacks = allow_insecure_callbacks

    def __repr__(self) -> str:
        return f"{type(self).__name__}(allow_insecure_callbacks={self.allow_insecure_callbacks!r})"

    def auth_headers(self, api_key: str, request: Request) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    # -- requests ---------------------------------------------------------------------------------
    def _callback(self, callback_url: Any) -> dict[str, str]:
        if callback_url is None:
            return {}
        public = not self.allow_insecure_callbacks
        return {"callback_url": checked_callback_url(callback_url, max_chars=MAX_CALLBACK, public_https=public)}

    def _submit(
        self,
        body: dict[str, Any],
        callback_url: Any,
        *,
        op: str,
        speed: str | None = None,
        parent_id: str | None = None,
    ) -> Request:
        body.update(self._callback(callback_url))
        return Request(
            "POST",
            GENERATIONS_PATH,
            json=body,
            submit=True,
            op=op,
            kind=body["model"],
            prompt=prompt_with_speed(body.get("prompt"), speed),
            parent_id=parent_id,
        )

    def _generation(self, prompt: Any, speed: str | None, *, images: Any = (), field: str = "prompt") -> dict[str, Any]:
        """An ``mj-v7`` body: image URLs first, speed flags moved into ``model_params.speed``."""
        text, flagged = without_speed_flags(checked_prompt(prompt, field))
        speed = speed or flagged
        urls = list(images or ())
        for url in urls:
            if isinstance(url, str) and url.startswith("data:"):
                raise invalid(
                    "images",
                    "evolink takes image prompts as http(s) URLs at the start of the prompt; "
                    "upload a local image first",
                )
            checked_image_url(url, "images")
        full = " ".join([*urls, text])
        lead, rest = leading_urls(full)
        if len(lead) > MAX_IMAGE_PROMPTS:
            raise invalid("images", f"at most {MAX_IMAGE_PROMPTS} image URLs per prompt")
        words = FIRST_PARAM.split(rest, maxsplit=1)[0].strip()
        if not words and len(lead) < 2:
            what = (
                "one image and no text is refused by evolink; add text or a second image"
                if lead
                else "must contain text (not only --parameters)"
            )
            raise invalid(field, what)
        body: dict[str, Any] = {"model": "mj-v7", "prompt": checked_prompt(full, field)}
        if speed is not None:
            body["model_params"] = {"speed": speed}
        return body

    @staticmethod
    def _speed(mode: Any, options: Mapping[str, Any] | None, where: str, allowed: tuple[str, ...] = SPEEDS) -> Any:
        """The speed from ``mode`` or ``options["speed"]`` (the only option ``where`` takes)."""
        given = checked_options(f"evolink {where}", options, {"speed": one_of(allowed)}).get("speed")
        if mode is not None:
            checked_choice(mode, "mode", allowed)
            if given not in (None, mode):
                raise invalid("mode", f"{mode!r} contradicts options speed={given!r}; keep one")
        return mode if mode is not None else given

    def _prepare_imagine(
        self,
        *,
        prompt: str,
        images: Any = (),
        bot: str | None = None,
        mode: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        if bot not in (None, "mj"):
            raise invalid("bot", f"{bot!r} is not allowed on evolink (it has no niji); use 'mj' or None")
        body = self._generation(prompt, self._speed(mode, options, "imagine"), images=images)
        return self._submit(body, callback_url, op="imagine", speed=body.get("model_params", {}).get("speed"))

    def _source(self, task: Any) -> Task:
        if not isinstance(task, Task) or task.dialect != self.name:
            raise invalid("task", "expected a Task of the evolink dialect")
        self._checked_id(task.id, "task")
        if task.status is not TaskStatus.SUCCEEDED:
            raise invalid(
                "task",
                f"{task.id} is {task.status.value}; evolink follow-ups need a completed task (wait for it first)",
            )
        return task

    def _number(self, task: Task, *candidates: Any) -> int:
        """``image_number``: the first of ``candidates`` given, else 0; it must name an existing image."""
        given = [c for c in candidates if c is not None]
        number = image_number_of(given[0]) if given else 0
        if any(image_number_of(c) != number for c in given):
            raise invalid("image_number", f"{given} disagree; give one image index")
        if task.image_urls and number >= len(task.image_urls):
            count = len(task.image_urls)
            raise invalid(
                "image_number", f"{number} is not allowed; task {task.id} has {count} image(s) (0–{count - 1})"
            )
        return number

    def _prepare_action(
        self,
        *,
        task: Task,
        action: Action,
        prompt: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        task = self._source(task)
        name = action.name if isinstance(action, Action) else None
        if name not in RECIPES:
            raise invalid("action", f"{name!r} is not an evolink follow-up; allowed: {', '.join(RECIPES)}")
        options = dict(options or {})  # popped below: what remains must be an option of the model
        if name == "vary_region":
            raise invalid("mask", "vary_region needs a mask; use inpaint(task, mask, prompt)")
        if name == "edit":
            if "canvas" not in options or "image_box" not in options:
                raise invalid(
                    "canvas",
                    "a canvas edit needs canvas=(w, h) and image_box=(x, y, w, h); "
                    "use reposition(task, canvas, image_box, prompt)",
                )
            canvas, box = options.pop("canvas"), options.pop("image_box")
            return self._prepare_reposition(
                task=task,
                index=action.index,
                canvas=canvas,
                image_box=box,
                prompt=prompt or "",
                callback_url=callback_url,
                options=options,
            )
        if name == "reroll":
            native_prompt = action.native.get("prompt") or task.prompt
            if prompt is None and native_prompt is None:
                raise invalid("prompt", f"the prompt of {task.id} is not known here; pass prompt= to reroll")
            speed = self._speed(None, options, "reroll")
            generation = self._generation(prompt if prompt is not None else native_prompt, speed)
            return self._submit(
                generation,
                callback_url,
                op="action",
                speed=generation.get("model_params", {}).get("speed"),
                parent_id=task.id,
            )
        model, fixed = RECIPES[name]
        checks: dict[str, Any] = {"image_number": image_number_of}
        if model == "mj-v7-pan":
            checks["scale"] = lambda v, f: checked_number(v, f, *PAN_SCALE)
        if model == "mj-v7-remix":
            checks.update(mode=one_of(REMIX_MODES), speed=one_of(SPEEDS))
        extra = checked_options(f"evolink {name}", options, checks)
        number = self._number(task, action.index, extra.get("image_number"))
        params: dict[str, Any] = {"task_id": task.id, "image_number": number, **fixed}
        if model == "mj-v7-pan":
            params["scale"] = extra.get("scale", DEFAULT_PAN_SCALE)
        if model == "mj-v7-remix":
            params["mode"] = extra.get("mode", "strong")
            if "speed" in extra:
                params["speed"] = extra["speed"]
        if name == "custom_zoom":
            prompt, params["scale"] = self._zoom(prompt)
        body: dict[str, Any] = {"model": model}
        need = PROMPT_NEEDS.get(model)
        if prompt is not None and need is None:
            raise invalid("prompt", f"{model} takes no prompt; leave it out")
        if prompt is not None or need == "required":
            body["prompt"] = checked_prompt(prompt)
        body["model_params"] = params
        return self._submit(body, callback_url, op="action", speed=params.get("speed"), parent_id=task.id)

    @staticmethod
    def _zoom(prompt: Any) -> tuple[str | None, float]:
        """Custom Zoom is ``mj-v7-outpaint`` with the ``--zoom N`` of the prompt as its scale."""
        found = ZOOM_FLAG.search(prompt) if isinstance(prompt, str) else None
        try:
            scale = float(found[1]) if found else None
        except ValueError:
            scale = None
        if scale is None:
            raise invalid("prompt", "custom_zoom needs --zoom N in the prompt (N from 1.1 to 2)")
        rest = " ".join(ZOOM_FLAG.sub(" ", prompt).split())
        return (rest or None), checked_number(scale, "prompt", *ZOOM_SCALE)

    def _prepare_inpaint(
        self,
        *,
        task: Task,
        mask: Any,
        index: int | None = None,
        prompt: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        task = self._source(task)
        checked_options("evolink inpaint", options, {})
        params = {"task_id": task.id, "image_number": self._number(task, index), "mask": {"areas": mask_areas(mask)}}
        body = {"model": "mj-v7-inpaint", "prompt": checked_prompt(prompt), "model_params": params}
        return self._submit(body, callback_url, op="inpaint", parent_id=task.id)

    def _prepare_reposition(
        self,
        *,
        task: Task,
        canvas: Any,
        image_box: Any,
        prompt: str,
        index: int | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        """``mj-v7-edit`` exactly as §1.3: the image at ``image_box`` on a ``canvas``, the rest filled."""
        task = self._source(task)
        canvas_size, img_pos = geometry(canvas, image_box)
        speed = self._speed(None, options, "reposition", EDIT_SPEEDS)
        params: dict[str, Any] = {
            "task_id": task.id,
            "image_number": self._number(task, index),
            "canvas": canvas_size,
            "img_pos": img_pos,
        }
        if speed is not None:
            params["speed"] = speed
        body = {"model": "mj-v7-edit", "prompt": checked_prompt(prompt), "model_params": params}
        return self._submit(body, callback_url, op="reposition", speed=speed, parent_id=task.id)

    def _prepare_edit(
        self,
        *,
        image: str,
        prompt: str,
        mask: Any = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        """``mj-v7-upload-paint``; ``options`` carry ``canvas=(w, h)`` (default: the mask's size),
        ``image_box=(x, y, w, h)`` (default: filling the canvas) and ``speed``."""
        keep = lambda value, field: value  # noqa: E731 - checked by geometry below
        checks = {"canvas": keep, "image_box": keep, "speed": one_of(EDIT_SPEEDS)}
        extra = checked_options("evolink edit", options, checks)
        canvas, box = extra.get("canvas"), extra.get("image_box")
        areas = mask_areas(mask) if mask is not None else None
        if canvas is None:
            if areas is None:
                raise invalid(
                    "canvas", "pass options canvas=(width, height) (the image size is not known without a mask)"
                )
            canvas = (areas[0]["width"], areas[0]["height"])
        if box is None and isinstance(canvas, (tuple, list)) and len(canvas) == 2:
            box = (0, 0, *canvas)
        canvas_size, img_pos = geometry(canvas, box)
        params: dict[str, Any] = {"canvas": canvas_size, "img_pos": img_pos}
        if areas is not None:
            params["mask"] = {"areas": areas}
        speed = extra.get("speed")
        if speed is not None:
            params["speed"] = speed
        body = {
            "model": "mj-v7-upload-paint",
            "prompt": checked_prompt(prompt),
            "image_urls": [checked_image_ref(image, "image")],
            "model_params": params,
        }
        return self._submit(body, callback_url, op="edit", speed=speed)

    def _prepare_retexture(
        self, *, image: str, prompt: str, callback_url: str | None = None, options: Mapping[str, Any] | None = None
    ) -> Request:
        """``mj-v7-retexture``: a new texture/style for one uploaded image (four results)."""
        extra = checked_options("evolink retexture", options, {"speed": one_of(SPEEDS)})
        body: dict[str, Any] = {
            "model": "mj-v7-retexture",
            "prompt": checked_prompt(prompt),
            "image_urls": [checked_image_ref(image, "image")],
        }
        if extra.get("speed") is not None:
            body["model_params"] = {"speed": extra["speed"]}
        return self._submit(body, callback_url, op="retexture", speed=extra.get("speed"))

    def _prepare_remove_bg(
        self, *, image: str, callback_url: str | None = None, options: Mapping[str, Any] | None = None
    ) -> Request:
        """``mj-v7-remove-bg``: a transparent cut-out; no prompt, no speed."""
        checked_options("evolink remove_bg", options, {})
        body = {"model": "mj-v7-remove-bg", "image_urls": [checked_image_ref(image, "image")]}
        return self._submit(body, callback_url, op="remove_bg")

    @staticmethod
    def _checked_id(task_id: Any, field: str = "task_id") -> str:
        text = checked_task_id(task_id, field)
        if not text.startswith(TASK_PREFIX):
            raise invalid(
                field,
                f"{text!r} is not an evolink task id; it must start with {TASK_PREFIX!r} "
                "(e.g. task-unified-1757165031-mjv7)",
            )
        return text

    def _prepare_get(self, *, task_id: str) -> Request:
        task_id = self._checked_id(task_id)
        return Request("GET", f"/v1/tasks/{quote(task_id, safe='')}", op="get", task_id=task_id)

    # -- answers ----------------------------------------------------------------------------------
    def _parse_submit(self, request: Request, response: Response) -> Task:
        return self.task_from_body(self._decode(request, response), request)

    def _parse_get(self, request: Request, response: Response) -> Task:
        return self.task_from_body(self._decode(request, response), request)

    def _decode(self, request: Request, response: Response) -> Mapping[str, Any]:
        body, decoded, text = decode_json(response)
        if response.status_code >= 400 or (isinstance(body, Mapping) and "error" in body and "id" not in body):
            raise self._http_error(request, response, body if decoded else (text.strip() or None))
        if not isinstance(body, Mapping):
            raise ServerError(
                f"HTTP {response.status_code}: expected a task object, got {text.strip()[:200]!r}",
                status_code=response.status_code,
                dialect=self.name,
                body=body,
            )
        return body

    def _http_error(self, request: Request, response: Response, body: Any) -> APIError:
        """§1.7: the status decides the class; the envelope's code, message and param are kept."""
        code, message, kind, param = error_parts(body)
        status = response.status_code
        text = message or (body.strip()[:300] if isinstance(body, str) else None) or f"HTTP {status}"
        if status == 404 and request.submit:
            text = f"{wrong_route(self.name, request.method, request.path)}; the server said: {text}"
        kw: dict[str, Any] = dict(status_code=status, code=code, dialect=self.name, body=body)
        hints = {str(code), str(kind)}
        if "content_policy_violation" in hints and status < 500:
            return ModerationError(text, **kw)
        # 402 insufficient balance and an exhausted quota: RateLimitError, never retried by the transport.
        if status == 402 or "insufficient_quota" in hints:
            return RateLimitError(text, retry_after=retry_after(response.headers), **kw)
        cls = class_for_status(status if status >= 400 else 502, submit=request.submit)
        if cls is RateLimitError:
            return RateLimitError(text, retry_after=retry_after(response.headers), **kw)
        if cls is ValidationError:
            return ValidationError(text, field=param, **kw)
        return cls(text, **kw)

    def task_from_body(self, body: Mapping[str, Any], request: Request | None = None) -> Task:
        """A Task from a create answer, a ``GET /v1/tasks/{id}`` answer or a callback body.

        ``request`` (the submit, or a ``get`` prepared with ``task=``) supplies what EvoLink does
        not echo: the prompt, the parent and the model.  ``image_urls`` are the separate results;
        ``image_url`` is set only when there is exactly one (an upscale): EvoLink returns no 2×2 grid
        image.  ``completed`` with no results (removed by moderation) is FAILED with a reason.
        ``cost`` is ``usage.credits_reserved`` in "credits" when the answer carries it.
        """
        task_id = text_or_none(body.get("id"))
        if task_id is None:
            raise ServerError(f"the answer names no task: {dict(body)!r:.200}", dialect=self.name, body=body)
        known = request if request is not None and request.task_id in (None, task_id) else None
        raw_status = text_or_none(body.get("status"))
        status = STATUSES.get((raw_status or "").lower(), TaskStatus.RUNNING)  # unknown: keep polling
        code, message, _, _ = error_parts(body)
        if status is TaskStatus.FAILED and code == "request_cancelled":
            status = TaskStatus.CANCELLED
        results = (
            tuple(u for u in body.get("results") or () if is_result_url(u)) if status is TaskStatus.SUCCEEDED else ()
        )
        if status is TaskStatus.SUCCEEDED and not results:
            status, message = TaskStatus.FAILED, NO_IMAGE
        failed = status in (TaskStatus.FAILED, TaskStatus.CANCELLED)
        done = status is TaskStatus.SUCCEEDED
        model = text_or_none(body.get("model")) or (known.kind if known else None)
        prompt = known.prompt if known else None
        progress = 100 if done else progress_of(body.get("progress"))
        usage = body.get("usage")
        credits = usage.get("credits_reserved") if isinstance(usage, Mapping) else None
        cost = float(credits) if isinstance(credits, (int, float)) and not isinstance(credits, bool) else None
        return Task(
            id=task_id,
            dialect=self.name,
            status=status,
            kind=model,
            raw_status=raw_status,
            progress=progress,
            prompt=prompt,
            image_url=results[0] if len(results) == 1 else None,
            image_urls=results,
            actions=self._actions(task_id, model, results, prompt),
            fail_reason=(message or "the task failed with no reason given") if failed else None,
            error_code=code if failed else None,
            parent_id=known.parent_id if known else None,
            submitted_at=seconds(body.get("created")),
            cost=cost,
            cost_unit="credits" if cost is not None else None,
            raw=dict(body),
        )

    @staticmethod
    def _actions(task_id: str, model: str | None, results: tuple[str, ...], prompt: str | None) -> tuple[Action, ...]:
        """The follow-ups EvoLink allows on a finished task (§6.5), which its answers never list."""
        if not results or not model or not model.startswith("mj-v7") or model in NO_FOLLOW_UPS:
            return ()
        names: list[tuple[str, int | None]] = []
        if model != "mj-v7-upscale":  # "already upscaled images cannot be upscaled again"
            names += [(f"{uv}{i + 1}", i) for uv in "UV" for i in range(min(len(results), 4))]
        names += [(name, 0 if len(results) == 1 else None) for name in ON_ANY_IMAGE]
        if model == "mj-v7" and prompt:
            names.append(("reroll", None))
            if re.search(r"(?<!\S)--draft(?!\S)", prompt):
                names.append(("enhance", None))  # enhance takes draft tasks only
        found = []
        for name, index in names:
            target, fixed = RECIPES[name]
            params: dict[str, Any] = {"task_id": task_id, **fixed}
            if index is not None:
                params["image_number"] = index
            native: dict[str, Any] = {"model": target, "model_params": params}
            if name == "reroll":
                native = {"model": "mj-v7", "prompt": prompt}
            grid = name[0] in "UV" and name[1:].isdigit()
            found.append(
                Action(
                    name=name,
                    label=name if grid else ACTION_LABELS[name],
                    index=index,
                    params={"direction": name[4:]} if name.startswith("pan_") else {},
                    native=native,
                    needs_input=name in ("remix", "custom_zoom"),
                )
            )
        return sorted_actions(found)


def make(*, allow_insecure_callbacks: bool = False, **unknown: Any) -> EvoLink:
    """The EvoLink dialect; ``allow_insecure_callbacks=True`` lets tests use http/loopback callbacks."""
    if unknown:
        raise ValidationError(
            f"{', '.join(unknown)}: not a setting of the evolink dialect; allowed: allow_insecure_callbacks",
            field=next(iter(unknown)),
        )
    return EvoLink(allow_insecure_callbacks=allow_insecure_callbacks)
