"""midjourney-proxy (novicezk v2.x, "plus", trueai-org): ``/mj/submit/*`` and ``/mj/task/*``.

PROTOCOLS.md §3.  Follow-ups all go through ``/submit/action`` with the button's customId;
Vary Region and Custom Zoom answer code 21 (a task awaiting input) and continue with
``/submit/modal``, which the client orchestrates.  ``mode`` ("fast", "relax", "turbo") selects
trueai-org's ``/mj-fast/mj/…`` path prefixes; other variants only serve ``/mj/…``.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from .._errors import APIError, ServerError, TaskNotFound, ValidationError
from .._models import Action, Page, Task, TaskStatus
from ._base import DialectBase, Request, Response
from ._common import wrong_route
from ._proxy_common import (
    bot_type,
    checked_id,
    checked_options,
    checked_page,
    checked_task,
    checked_window,
    decode_body,
    is_data_url,
    kind_of_custom_id,
    map_status,
    mapping,
    mode_prefix,
    notify_hook,
    raise_for_result,
    required_text,
    task_from_dto,
    with_speed,
)
from ._validate import checked_image_ref, checked_task_ids

__all__ = ["MjProxy", "make"]

_DIMENSIONS = ("PORTRAIT", "SQUARE", "LANDSCAPE")
_MODAL_DESCRIPTIONS = ("Waiting for window confirm", "窗口等待")  # the 21 that opens a modal (§3.8)


def _snippet(body: Any) -> str:
    return "an empty body" if body is None else repr(body)[:200]


class MjProxy(DialectBase):
    """The midjourney-proxy dialect: sans-IO requests and answers (see ``dialects._base``)."""

    name = "mjproxy"
    operations = frozenset(
        {
            "imagine",
            "action",
            "modal",
            "blend",
            "describe",
            "shorten",
            "edit",
            "get",
            "get_many",
            "list",
            "seed",
            "cancel",
        }
    )
    mask_format = "png_data_url"
    poll_interval = 2.0
    #: ❓ No documented maximum for ``list-by-condition``; new-api's own poller sends whole channels.
    batch_size = 100
    max_concurrent = 3  # the proxy's default account core-size (§3.11)
    expected_seconds = 60.0
    nonce_field = "state"

    def __init__(self, mode: str | None = None) -> None:
        self._prefix = mode_prefix(mode)  # validates mode
        self.mode = self._prefix.removeprefix("/mj-") or None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode!r})"

    def auth_headers(self, api_key: str, request: Request) -> dict[str, str]:
        # An empty key means the server runs without a secret (NZK disables auth then).
        return {"mj-api-secret": api_key} if api_key else {}

    # -- requests ---------------------------------------------------------------------------------
    def _relay(self, path: str) -> str:
        return f"{self._prefix}/mj{path}"

    def _submit(self, op: str, path: str, body: dict[str, Any], kind: str, **context: Any) -> Request:
        return Request("POST", self._relay(path), json=body, submit=True, op=op, kind=kind, **context)

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
        text = with_speed(required_text(prompt, "prompt"), mode)
        urls: list[str] = []
        data_urls: list[str] = []
        for ref in images or ():
            checked = checked_image_ref(ref, "images")
            # the proxies take image URLs at the start of the prompt, uploads in base64Array
            (data_urls if is_data_url(checked) else urls).append(checked)
        full_prompt = " ".join([*urls, text])
        body: dict[str, Any] = {"prompt": full_prompt, **bot_type(bot)}
        if data_urls:
            body["base64Array"] = data_urls
        body.update(notify_hook(callback_url), **checked_options("imagine", options))
        return self._submit("imagine", "/submit/imagine", body, "IMAGINE", prompt=full_prompt)

    def _prepare_action(
        self,
        *,
        task: Task,
        action: Action,
        prompt: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        """``/submit/action``; a ``prompt`` is not sent here but with the modal step that may follow."""
        task = checked_task(task, self.name)
        custom_id = action.native.get("customId") if isinstance(action, Action) else None
        if not isinstance(custom_id, str) or not custom_id:
            raise ValidationError(
                "action: expected one of the task's actions (it carries the button's customId)", field="action"
            )
        body = {
            "taskId": task.id,
            "customId": custom_id,
            **notify_hook(callback_url),
            **checked_options("action", options),
        }
        kind = kind_of_custom_id(custom_id, task.kind)
        return self._submit("action", "/submit/action", body, kind, prompt=task.prompt, parent_id=task.id)

    def _prepare_modal(
        self,
        *,
        task: Task,
        prompt: str | None = None,
        mask: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        task = checked_task(task, self.name)
        if task.status is not TaskStatus.AWAITING_INPUT:
            raise ValidationError(
                f"task: {task.id} is {task.status.value}; modal needs the task that Vary Region, Custom Zoom "
                "or a remix action left awaiting input",
                field="task",
            )
        if prompt is not None and not isinstance(prompt, str):
            raise ValidationError("prompt: must be a string or None (None keeps the parent's prompt)", field="prompt")
        if mask is not None and not (isinstance(mask, str) and mask.startswith("data:image/png;base64,")):
            raise ValidationError("mask: must be a PNG data URL (data:image/png;base64,…)", field="mask")
        body: dict[str, Any] = {"taskId": task.id, "prompt": (prompt or "").strip()}
        if mask is not None:
            body["maskBase64"] = mask
        body.update(notify_hook(callback_url), **checked_options("modal", options))
        return self._submit(
            "modal",
            "/submit/modal",
            body,
            task.kind or "MODAL",
            prompt=body["prompt"] or task.prompt,
            parent_id=task.parent_id,
        )

    def _prepare_blend(
        self,
        *,
        images: Any,
        dimensions: str = "SQUARE",
        bot: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        refs = list(images) if isinstance(images, (list, tuple)) else []
        if not 2 <= len(refs) <= 5 or not all(is_data_url(ref) for ref in refs):
            raise ValidationError("images: blend takes 2 to 5 images as data:image/…;base64, URLs", field="images")
        if dimensions not in _DIMENSIONS:
            raise ValidationError(
                f"dimensions: {dimensions!r} is not allowed; use one of {', '.join(_DIMENSIONS)}", field="dimensions"
            )
        body = {
            "base64Array": refs,
            "dimensions": dimensions,
            **bot_type(bot),
            **notify_hook(callback_url),
            **checked_options("blend", options),
        }
        return self._submit("blend", "/submit/blend", body, "BLEND")

    def _prepare_describe(
        self,
        *,
        image: str,
        bot: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        ref = checked_image_ref(image, "image")
        # a link is trueai-org only; NZK and plus take base64
        body: dict[str, Any] = {"base64": ref} if is_data_url(ref) else {"link": ref}
        body.update(bot_type(bot))
        body.update(notify_hook(callback_url), **checked_options("describe", options))
        return self._submit("describe", "/submit/describe", body, "DESCRIBE")

    def _prepare_shorten(
        self,
        *,
        prompt: str,
        bot: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        text = required_text(prompt, "prompt")
        body = {"prompt": text, **bot_type(bot), **notify_hook(callback_url), **checked_options("shorten", options)}
        return self._submit("shorten", "/submit/shorten", body, "SHORTEN", prompt=text)

    def _prepare_edit(
        self,
        *,
        image: str,
        prompt: str,
        mask: str | None = None,
        callback_url: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Request:
        if mask is not None:
            raise ValidationError(
                f"mask: {self.name}'s /submit/edits takes no mask; paint the change into the image, or use "
                "inpaint (Vary Region) on a task",
                field="mask",
            )
        image = checked_image_ref(image, "image")
        text = required_text(prompt, "prompt")
        body = {"prompt": text, "image": image, **notify_hook(callback_url), **checked_options("edit", options)}
        return self._submit("edit", "/submit/edits", body, "EDIT", prompt=text)

    def _prepare_get(self, *, task_id: str) -> Request:
        task_id = checked_id(task_id)
        return Request("GET", self._relay(f"/task/{quote(task_id, safe='')}/fetch"), op="get", task_id=task_id)

    def _prepare_get_many(self, *, task_ids: Any) -> Request:
        """``list-by-condition`` with the ids (§3.2): the server skips ids it does not know."""
        ids = checked_task_ids(task_ids, most=self.batch_size or 1)
        return Request("POST", self._relay("/task/list-by-condition"), json={"ids": list(ids)}, op="get_many")

    def _prepare_seed(self, *, task: Task) -> Request:
        task = checked_task(task, self.name)
        path = self._relay(f"/task/{quote(task.id, safe='')}/image-seed")
        return Request("GET", path, op="seed", task_id=task.id)

    def _prepare_cancel(self, *, task_id: str) -> Request:
        task_id = checked_id(task_id)
        path = self._relay(f"/task/{quote(task_id, safe='')}/cancel")
        return Request("POST", path, op="cancel", task_id=task_id)

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
        """The proxy lists everything at once (TAI: the newest 100); paging happens on our side."""
        page, page_size = checked_page(page, page_size)
        since, until = checked_window(since, until)
        if task_id is not None:
            body = {"ids": [checked_id(task_id)]}
            return Request(
                "POST",
                self._relay("/task/list-by-condition"),
                json=body,
                op="list",
                page=page,
                page_size=page_size,
                since=since,
                until=until,
            )
        return Request(
            "GET", self._relay("/task/list"), op="list", page=page, page_size=page_size, since=since, until=until
        )

    # -- answers ----------------------------------------------------------------------------------
    def _raise_own_errors(self, request: Request, response: Response, body: Any) -> None:
        """A hook for error bodies that only one relay sends (new-api's envelope)."""

    def _decode(self, request: Request, response: Response) -> Any:
        route = wrong_route(self.name, request.method, request.path) if request.submit else None
        body = decode_body(self.name, response, wrong_route=route)
        self._raise_own_errors(request, response, body)
        if response.status_code >= 400:
            if isinstance(body, Mapping) and "code" in body:
                raise_for_result(self.name, response, body, submit=request.submit)  # TAI: 404 + code 3, 400 + 4
            code = body.get("code") if isinstance(body, Mapping) else None
            raise APIError(
                f"HTTP {response.status_code} for {request.method} {request.path}: {_snippet(body)}",
                status_code=response.status_code,
                code=code,
                dialect=self.name,
                body=body,
            )
        return body

    def _server_error(self, response: Response, what: str, body: Any) -> ServerError:
        return ServerError(
            f"expected {what}, got {_snippet(body)}", status_code=response.status_code, dialect=self.name, body=body
        )

    def _parse_submit(self, request: Request, response: Response) -> Task:
        body = self._decode(request, response)
        if not isinstance(body, Mapping) or "code" not in body:
            raise self._server_error(response, "a submit result {code, description, result}", body)
        raise_for_result(self.name, response, body, submit=True)
        task_id = body.get("result")
        if not isinstance(task_id, (str, int)) or isinstance(task_id, bool) or str(task_id).strip() == "":
            raise self._server_error(response, "a task id in 'result' of the accepted submit", body)
        props = mapping(body.get("properties"))
        description = str(body.get("description") or "")
        # new-api rewrites 21 to 1 (§4.3), so the modal marks are looked for on every accepted code.
        if props.get("remix") is True or any(mark in description for mark in _MODAL_DESCRIPTIONS):
            status = TaskStatus.AWAITING_INPUT
        elif props.get("status"):  # "task already exists": it may even be finished
            status = map_status(props.get("status"))
        else:
            status = TaskStatus.QUEUED
        done = status is TaskStatus.SUCCEEDED
        image = props.get("imageUrl") if isinstance(props.get("imageUrl"), str) and props.get("imageUrl") else None
        return Task(
            id=str(task_id).strip(),
            dialect=self.name,
            status=status,
            kind=request.kind,
            raw_status=props.get("status"),
            progress=100 if done else None,
            prompt=request.prompt,
            final_prompt=props.get("finalPrompt") or None,
            image_url=image if done else None,
            parent_id=request.parent_id,
            raw=dict(body),
        )

    def _task(self, response: Response, body: Any) -> Task:
        if isinstance(body, Mapping) and body.get("id") not in (None, ""):
            return task_from_dto(body, self.name)
        if isinstance(body, Mapping) and "code" in body:
            raise_for_result(self.name, response, body)
        raise self._server_error(response, "a task object", body)

    def _parse_get(self, request: Request, response: Response) -> Task:
        body = self._decode(request, response)
        if body is None:  # NZK answers a Java null (200, empty); trueai-org a null ActionResult (204)
            task_id = request.task_id or request.path
            raise TaskNotFound(f"no task {task_id}", status_code=response.status_code, dialect=self.name, body=None)
        return self._task(response, body)

    def _parse_seed(self, request: Request, response: Response) -> str:
        body = self._decode(request, response)
        if not isinstance(body, Mapping) or "code" not in body:
            raise self._server_error(response, "a result {code, description, result}", body)
        raise_for_result(self.name, response, body)
        seed = body.get("result")
        if isinstance(seed, bool) or not isinstance(seed, (str, int)) or str(seed).strip() == "":
            raise self._server_error(response, "the seed in 'result'", body)
        return str(seed).strip()

    def _parse_cancel(self, request: Request, response: Response) -> Task | None:
        body = self._decode(request, response)
        if body is None:
            return None  # trueai-org answers an empty 200; the task turns FAILURE "取消任务"
        if isinstance(body, Mapping) and "code" in body and "id" not in body:
            raise_for_result(self.name, response, body)
            return None
        return self._task(response, body)

    def _parse_get_many(self, request: Request, response: Response) -> list[Task]:
        body = self._decode(request, response)
        if not isinstance(body, list):
            raise self._server_error(response, "a list of tasks", body)
        return [self._task(response, item) for item in body]

    def _parse_list(self, request: Request, response: Response) -> Page:
        body = self._decode(request, response)
        if not isinstance(body, list):
            raise self._server_error(response, "a list of tasks", body)
        tasks = [self._task(response, item) for item in body]
        since, until = request.since, request.until
        if since is not None or until is not None:
            tasks = [t for t in tasks if _within(t.submitted_at, since, until)]
        page, size = request.page, request.page_size
        return Page(tuple(tasks[(page - 1) * size : page * size]), page, size, total=len(tasks))


def _within(moment: float | None, since: float | None, until: float | None) -> bool:
    if moment is None:
        return False
    return (since is None or moment >= since) and (until is None or moment <= until)


def make(mode: str | None = None) -> MjProxy:
    """The midjourney-proxy dialect; ``mode`` picks trueai-org's ``/mj-<mode>`` path prefix."""
    return MjProxy(mode)
