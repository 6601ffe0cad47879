"""new-api (QuantumNous/new-api, formerly Calcium-Ion/new-api): the midjourney-proxy relay
behind an OpenAI-style gateway, plus its dashboard task listing.

PROTOCOLS.md §4.  The relay is the proxy protocol (``MjProxy``) under ``/mj`` or
``/mj-<mode>/mj`` with a ``Bearer`` key; what differs is here: no cancel, the task listing is
the dashboard's ``/api/mj/self`` (snake_case rows), and the gateway's own error envelope
``{description, type, code}``.  The cited new-api versions do not forward the path's mode
upstream; the ``mode`` of ``imagine`` goes into the prompt as ``--fast`` etc. instead.
"""

from __future__ import annotations

from typing import Any, Mapping

from .._errors import AuthenticationError, RateLimitError, ServerError, TaskNotFound, ValidationError
from .._models import Page, Task
from ._base import Request, Response, retry_after
from ._proxy_common import checked_id, checked_page, checked_window, task_from_dto
from ._validate import invalid
from .mjproxy import MjProxy

__all__ = ["NewApi", "make"]

#: Dashboard rows (``model.Midjourney``, §4.4) → the relay's task object (§4.5).
_ROW_TO_DTO = {
    "action": "action",
    "prompt": "prompt",
    "prompt_en": "promptEn",
    "description": "description",
    "state": "state",
    "submit_time": "submitTime",
    "start_time": "startTime",
    "finish_time": "finishTime",
    "image_url": "imageUrl",
    "status": "status",
    "progress": "progress",
    "fail_reason": "failReason",
    "buttons": "buttons",
    "properties": "properties",
    "video_url": "videoUrl",
    "video_urls": "videoUrls",
}
#: Envelope descriptions that report the gateway's own failure, not a bad request.
_SERVER_SIDE = frozenset(
    {
        "get_channel_info_failed",
        "insert_midjourney_task_failed",
        "do_request_failed",
        "read_response_body_failed",
        "unmarshal_response_body_failed",
    }
)
_UPSTREAM_ANSWER_LOST = frozenset({"read_response_body_failed", "unmarshal_response_body_failed"})
#: ``<x>_is_required`` and similar → the mjnb argument the user can fix.
_FIELDS = {
    "prompt": "prompt",
    "task_id": "task",
    "custom_id": "action",
    "action": "action",
    "index": "action",
    "content": "action",
    "unknown_action": "action",
    "task_status_not_success": "task",
}
_OLD_PAGE_SIZE = 10  # NA-OLD's fixed ItemsPerPage
#: What a dashboard 401 that names New-Api-User means for the user.
_USER_HINT = "; this new-api wants the dashboard user id: pass user_id=<your numeric id> to the newapi dialect"


class NewApi(MjProxy):
    """The new-api dialect (see ``dialects._base`` for the contract)."""

    name = "newapi"
    operations = MjProxy.operations - {"cancel"}
    poll_interval = 5.0  # the gateway refreshes its copy of a task every 15 s (§6.8)
    batch_size = 100  # ❓ undocumented; the gateway forwards list-by-condition for the caller's tasks
    max_concurrent = 3  # the upstream proxy account's default core-size (§3.11)
    expected_seconds = 60.0
    nonce_field = "state"  # relayed untouched to the proxy and stored in the task row (§4.3, §4.4)

    def __init__(self, mode: str | None = None, user_id: str | int | None = "1") -> None:
        super().__init__(mode)
        self.user_id = _checked_user_id(user_id)

    def __repr__(self) -> str:
        return f"NewApi(mode={self.mode!r}, user_id={self.user_id!r})"

    def auth_headers(self, api_key: str, request: Request) -> dict[str, str]:
        key = api_key.removeprefix("Bearer ").strip() if api_key else ""
        if request.path.startswith("/api/"):  # dashboard: an access token, and whose it is where asked
            user = {"New-Api-User": self.user_id} if self.user_id is not None else {}
            return {**({"Authorization": key} if key else {}), **user}
        return {"Authorization": f"Bearer {key}"} if key else {}

    # -- the dashboard listing (§4.6) -------------------------------------------------------------
    def _prepare_list(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        task_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        admin: bool = False,
        channel_id: int | None = None,
    ) -> Request:
        """The dashboard listing; ``channel_id`` (admin listing only) keeps one channel's tasks.

        NA-OLD counts ``p`` from 0 in pages of 10, NA-NEW from 1 (and reads p < 1 as 1): page 1 is
        sent as ``p=0``, right on both; a later page is sent 1-based, and an old-format answer is
        reported as the page it really is (``Page.page``).  Times are sent in milliseconds, the unit
        of ``submit_time`` that the server compares them with.
        """
        page, page_size = checked_page(page, page_size)
        since, until = checked_window(since, until)
        if not isinstance(admin, bool):
            raise ValidationError(f"admin: must be True or False, got {admin!r}", field="admin")
        params: dict[str, Any] = {"p": 0 if page == 1 else page, "page_size": page_size}
        if task_id is not None:
            params["mj_id"] = checked_id(task_id)
        if since is not None:
            params["start_timestamp"] = int(since * 1000)
        if until is not None:
            params["end_timestamp"] = int(until * 1000)
        if channel_id is not None:
            if not admin:
                raise invalid("channel_id", "only the administrator listing (admin=True) filters by channel")
            if isinstance(channel_id, bool) or not isinstance(channel_id, int) or channel_id < 1:
                raise invalid("channel_id", f"{channel_id!r} is not allowed; use a channel id (a whole number ≥ 1)")
            params["channel_id"] = channel_id
        path = "/api/mj/" if admin else "/api/mj/self"
        return Request("GET", path, params=params, op="list", page=page, page_size=page_size, since=since, until=until)

    def _parse_list(self, request: Request, response: Response) -> Page:
        body = self._decode(request, response)
        if not isinstance(body, Mapping) or "data" not in body:
            raise self._server_error(response, "a dashboard answer {success, message, data}", body)
        data = body["data"]
        if isinstance(data, Mapping):  # NA-NEW: {page, page_size, total, items}
            rows = data.get("items") or []
            page = _positive(data.get("page")) or request.page
            size = _positive(data.get("page_size")) or request.page_size
            total = data.get("total") if isinstance(data.get("total"), int) else None
        elif isinstance(data, list) or data is None:  # NA-OLD: a plain array, pages of 10 counted from 0
            rows, size, total = data or [], _OLD_PAGE_SIZE, None
            sent = request.params.get("p", 0)
            page = sent + 1 if isinstance(sent, int) and sent >= 0 else 1
        else:
            raise self._server_error(response, "'data' as {items: […]} or […]", body)
        if not isinstance(rows, list):
            raise self._server_error(response, "'items' as a list", body)
        return Page(tuple(self._row_task(response, row) for row in rows), page, size, total)

    def _row_task(self, response: Response, row: Any) -> Task:
        if not isinstance(row, Mapping):
            raise self._server_error(response, "a task row", row)
        dto = {camel: row[snake] for snake, camel in _ROW_TO_DTO.items() if snake in row}
        # A submit refused upstream is stored too, with an empty mj_id: name it by its row.
        dto["id"] = row.get("mj_id") or f"row-{row.get('id')}"
        quota = row.get("quota")
        cost = float(quota) if isinstance(quota, (int, float)) and not isinstance(quota, bool) and quota >= 0 else None
        return task_from_dto(dto, self.name, raw=row, cost=cost)

    # -- the gateway's own errors (§4.2, §4.3) ----------------------------------------------------
    def _decode(self, request: Request, response: Response) -> Any:
        try:
            return super()._decode(request, response)
        except AuthenticationError as error:
            if self.user_id is not None or "New-Api-User" not in error.message:
                raise
            raise AuthenticationError(
                error.message + _USER_HINT,
                status_code=error.status_code,
                code=error.code,
                dialect=self.name,
                body=error.body,
            ) from error

    def _raise_own_errors(self, request: Request, response: Response, body: Any) -> None:
        if not isinstance(body, Mapping):
            return
        status = response.status_code
        if "success" in body and body.get("success") is not True:
            message = str(body.get("message") or "the dashboard refused the request").strip()
            raise AuthenticationError(message, status_code=status, code=body.get("code"), dialect=self.name, body=body)
        if "type" in body and "description" in body:
            self._raise_envelope(response, body, submit=request.submit)

    def _raise_envelope(self, response: Response, body: Mapping[str, Any], *, submit: bool) -> None:
        """The gateway's ``{description, type, code}`` as its typed error; on a submit, a task that is
        not found is the parent the follow-up names (new-api looks it up before relaying)."""
        message = str(body.get("description") or "").rstrip()  # "<desc> <result>" leaves a trailing space
        key = message.split(" ", 1)[0].split(":", 1)[0]
        code = body.get("code")
        kw: dict[str, Any] = dict(status_code=response.status_code, code=code, dialect=self.name, body=body)
        if key in ("task_not_found", "task_no_found"):
            raise TaskNotFound(f"the parent task is not known to new-api: {message}" if submit else message, **kw)
        if key == "quota_not_enough":  # an exhausted quota: retrying will not help until topped up
            raise RateLimitError(message, retry_after=None, **kw)
        if str(code) == "30" or response.status_code == 429:
            raise RateLimitError(message, retry_after=retry_after(response.headers), **kw)
        if key in _SERVER_SIDE or str(code) == "5":
            # The upstream proxy answered (and may have created a billed job) but the gateway lost it.
            raise ServerError(message, job_may_exist=key in _UPSTREAM_ANSWER_LOST, **kw)
        field = _FIELDS.get(key.removesuffix("_is_required"))
        raise ValidationError(message or "the gateway refused the request", field=field, **kw)


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _checked_user_id(user_id: Any) -> str | None:
    if user_id is None:
        return None  # NA-NEW access tokens name their user; NA-OLD then answers 401 naming the header
    text = str(user_id).strip() if isinstance(user_id, (str, int)) and not isinstance(user_id, bool) else ""
    if not text.isdigit():
        raise ValidationError(f"user_id: {user_id!r} is not allowed; use the numeric new-api user id", field="user_id")
    return text


def make(mode: str | None = None, user_id: str | int | None = "1") -> NewApi:
    """The new-api dialect; ``mode`` picks the ``/mj-<mode>`` relay prefix, ``user_id`` the
    ``New-Api-User`` header of dashboard calls (default "1", the root user of a fresh install;
    NA-OLD requires the header, so it is sent unless ``user_id=None``, for an administrator key of
    a server that names the user from the token)."""
    return NewApi(mode, user_id)
