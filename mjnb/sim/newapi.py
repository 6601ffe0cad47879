"""The new-api mount (PROTOCOLS §4): the midjourney-proxy relay under /newapi/mj/… and
/newapi/<mode>/mj/…, plus the dashboard listings /newapi/api/mj/self and /newapi/api/mj/.

It drives its own ProxyEngine (the simulated upstream channel) in-process, and adds what the
gateway adds: token auth, parent checks, code rewriting, its error envelope, user scoping,
the /mj/image/{id} route and the dashboard views. notifyHook and accountFilter are dropped, as
with the default MjNotifyEnabled/MjAccountFilterEnabled = false.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._newapi_store import NewApiStore, Row, dto, storage_json
from ._proxy_engine import ProxyEngine, SubmitContext
from ._proxy_tasks import SUCCESS
from ._state import SimState
from .mjproxy import BadBody, read_json, submit_handler, submit_routes

__all__ = ["create_app", "error_response", "relay_error"]

ACTION_OF_ENDPOINT = {
    "imagine": "IMAGINE",
    "describe": "DESCRIBE",
    "blend": "BLEND",
    "shorten": "SHORTEN",
    "modal": "MODAL",
    "edits": "EDITS",
    "edit": "EDITS",
}
KEEP_21 = ("INPAINT", "CUSTOM_ZOOM")
_IMAGE_PATH = re.compile(r"^/newapi/(?:[^/]+/)?mj/image/([^/?]+)$")  # the modal handshake stays visible for these


def relay_error(description: str, code: int = 4, result: str = "") -> JSONResponse:
    """new-api's own relay error: ``"<desc> <result>"`` (trailing space when result is empty)."""
    body = {"description": f"{description} {result}", "type": "upstream_error", "code": code}
    return JSONResponse(body, status_code=429 if code == 30 else 400)


def _openai_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "new_api_error"}}, status_code=status)


def error_response(status: int, message: str) -> Response:
    """401/403 in the OpenAI-style envelope; others as a relay error (code 30 for 429, 5 for 5xx)."""
    if status in (401, 403):
        return _openai_error(status, message or "无效的令牌")
    code = 30 if status == 429 else (5 if status >= 500 else 4)
    default = "当前分组上游负载已饱和，请稍后再试" if code == 30 else "do_request_failed"
    body = {"description": f"{message or default} ", "type": "upstream_error", "code": code}
    return JSONResponse(body, status_code=status)


def _dashboard_refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "message": message}, status_code=status)


def _token(value: str) -> str:
    """``Bearer sk-abc-3`` → ``abc``: strip the scheme and ``sk-``; what follows a ``-`` pins a channel."""
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    value = value.removeprefix("sk-")
    return value.split("-")[0]


def custom_id_action(custom_id: str) -> tuple[str, int] | None:
    """new-api's ``CoverPlusActionToNormalAction``: the billed action and index of a customId."""
    parts = custom_id.split("::")
    if len(parts) < 2:
        return None
    key = parts[2] if parts[1] == "JOB" and len(parts) > 2 else parts[1]
    index = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 1
    if "upsample" in key:
        return "UPSCALE", index
    for exact, action in (
        ("variation", "VARIATION"),
        ("low_variation", "LOW_VARIATION"),
        ("high_variation", "HIGH_VARIATION"),
    ):
        if key == exact:
            return action, index if action == "VARIATION" else 1
    if "pan" in key:
        return "PAN", 1
    if "reroll" in key:
        return "REROLL", 1
    return {"Outpaint": ("ZOOM", 1), "CustomZoom": ("CUSTOM_ZOOM", 1), "Inpaint": ("INPAINT", 1)}.get(key)


class _NewApiMount:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.engine = ProxyEngine(state)
        self.store = NewApiStore(self.engine)

    # ---- auth ---------------------------------------------------------------------------------
    def _valid(self, token: str, key: str | None) -> bool:
        return bool(token) and (key is None or hmac.compare_digest(token.encode(), _token(key).encode()))

    def relay_user(self, request: Request) -> int | None:
        authorization = request.headers.get("authorization", "").strip()
        if authorization in ("", "midjourney-proxy"):
            authorization = request.headers.get("mj-api-secret", "")
        token = _token(authorization)
        return self.store.user_id(token) if self._valid(token, self.state.config.api_key) else None

    def dashboard_user(self, request: Request) -> tuple[int, bool] | JSONResponse:
        """(user id, is admin) for UserAuth/AdminAuth, or the refusal to send."""
        token = _token(request.headers.get("authorization", ""))
        if not token:
            return _dashboard_refusal(401, "无权进行此操作，未登录且未提供 access token")
        admin_key = self.state.config.admin_key
        is_admin = admin_key is not None and self._valid(token, admin_key)
        if not is_admin and not self._valid(token, self.state.config.api_key):
            return _dashboard_refusal(401, "无权进行此操作，access token 无效")
        claimed = request.headers.get("new-api-user", "").strip()
        if not claimed:
            return _dashboard_refusal(401, "无权进行此操作，未提供 New-Api-User")
        if not claimed.lstrip("-").isdigit():
            return _dashboard_refusal(401, "无权进行此操作，New-Api-User 格式错误")
        user_id = self.store.user_id(token)
        if int(claimed) != user_id:
            return _dashboard_refusal(401, "无权进行此操作，New-Api-User 与登录用户不匹配")
        return user_id, is_admin

    def server(self, request: Request) -> str:
        return f"{self.state.origin(request)}/newapi"

    # ---- relay --------------------------------------------------------------------------------
    def submit(self, name: str) -> Callable[[Request], Awaitable[Response]]:
        run = submit_handler(self.engine, name)

        async def endpoint(request: Request) -> Response:
            user = self.relay_user(request)
            if user is None:
                return _openai_error(401, "无效的令牌")
            try:
                body = await read_json(request)
            except BadBody:
                return relay_error("bind_request_body_failed")
            body.pop("notifyHook", None)
            body.pop("accountFilter", None)
            checked = self._check(name, body, user)
            if isinstance(checked, Response):
                return checked
            action, row_prompt = checked
            ctx = SubmitContext(
                origin=self.state.origin(request), path=request.url.path, owner=str(user), forward_notify=False
            )
            outcome = await run(body, ctx)
            accepted = outcome.code in (1, 21, 22)
            self.store.insert(
                user,
                action,
                outcome.result or "",
                outcome.code,
                row_prompt,
                outcome.description,
                body.get("state"),
                "" if accepted else outcome.description,
            )
            reply = outcome.body()
            if outcome.code == 22 or (outcome.code == 21 and action not in KEEP_21):
                reply["code"] = 1
            return JSONResponse(reply, status_code=outcome.http_status)

        return endpoint

    def _check(self, name: str, body: dict[str, Any], user: int) -> tuple[str, str] | Response:
        """new-api's checks before relaying: (action to bill, prompt to store), or an error response.

        For stateful requests the stored prompt is the parent's; the body goes upstream unchanged.
        """
        prompt = str(body.get("prompt") or "")
        if name == "imagine" and not str(body.get("prompt") or "").strip():
            return relay_error("prompt_is_required")
        if name in ACTION_OF_ENDPOINT:
            action = ACTION_OF_ENDPOINT[name]
        elif name == "simple-change":
            # new-api routes simple-change as a Change without a taskId: no parent lookup, forwarded as-is.
            content = str(body.get("content") or "").strip()
            if not content:
                return relay_error("content_is_required")
            letter = content.split()[-1][:1].upper()
            return {"U": "UPSCALE", "V": "VARIATION", "R": "REROLL"}.get(letter, "UPSCALE"), prompt
        elif name == "change":
            if not body.get("taskId"):
                return relay_error("task_id_is_required")
            action = str(body.get("action") or "").upper()
            if not action:
                return relay_error("action_is_required")
            if action != "REROLL" and not body.get("index"):
                return relay_error("index_is_required")
        else:  # action
            if not body.get("taskId"):
                return relay_error("task_id_is_required")
            custom_id = str(body.get("customId") or "")
            if not custom_id:
                return relay_error("custom_id_is_required")
            mapped = custom_id_action(custom_id)
            if mapped is None:
                return relay_error(f"unknown_action:{custom_id}")
            action = mapped[0]
        if name in ("change", "action", "modal"):
            if name == "modal" and not body.get("taskId"):
                return relay_error("task_id_is_required")
            parent = self.store.find(user, str(body["taskId"]))
            if parent is None:
                return relay_error("task_not_found")
            status = self.store.live(parent)["status"]
            if name != "modal" and status != SUCCESS:
                return relay_error("task_status_not_success")
            prompt = parent.prompt
        return action, prompt

    async def fetch(self, request: Request) -> Response:
        user = self.relay_user(request)
        if user is None:
            return _openai_error(401, "无效的令牌")
        row = self.store.find(user, request.path_params["task_id"])
        if row is None:
            return relay_error("task_no_found")
        return JSONResponse(dto(self.store, row, self.server(request)))

    async def list_by_condition(self, request: Request) -> Response:
        user = self.relay_user(request)
        if user is None:
            return _openai_error(401, "无效的令牌")
        try:
            ids = (await read_json(request)).get("ids")
        except BadBody:
            return relay_error("bind_request_body_failed")
        wanted = {str(i) for i in ids} if isinstance(ids, list) else set()
        rows = [r for r in self.store.rows if r.user_id == user and r.mj_id in wanted]
        unique = list({r.mj_id: r for r in reversed(rows)}.values())[::-1]  # first row per id
        return JSONResponse([dto(self.store, r, self.server(request)) for r in unique])

    async def image_seed(self, request: Request) -> Response:
        user = self.relay_user(request)
        if user is None:
            return _openai_error(401, "无效的令牌")
        task_id = request.path_params["task_id"]
        if self.store.find(user, task_id) is None:
            return relay_error("task_not_found")
        outcome = self.engine.image_seed(task_id)
        return JSONResponse(outcome.body(), status_code=outcome.http_status)

    def image_bytes(self, mj_id: str) -> bytes | None:
        row = self.store.find_any(mj_id)
        task = self.store.upstream(row) if row else None
        return self.state.images.get(task.image_name) if task and task.image_name else None

    def resolve_url_path(self, path: str) -> bytes | None:
        match = _IMAGE_PATH.match(path)
        return self.image_bytes(match.group(1)) if match else None

    async def image(self, request: Request) -> Response:
        data = self.image_bytes(request.path_params["task_id"])
        if data is None:
            return JSONResponse({"error": "midjourney_task_not_found"}, status_code=400)
        return Response(data, media_type="image/png")

    # ---- dashboard ----------------------------------------------------------------------------
    async def list_self(self, request: Request) -> Response:
        who = self.dashboard_user(request)
        if isinstance(who, Response):
            return who
        rows = [r for r in self.store.rows if r.user_id == who[0]]
        return self._listing(request, rows)

    async def list_all(self, request: Request) -> Response:
        who = self.dashboard_user(request)
        if isinstance(who, Response):
            return who
        if not who[1]:
            return _dashboard_refusal(200, "无权进行此操作，权限不足")
        rows = list(self.store.rows)
        channel = _int(request.query_params.get("channel_id"))
        if channel:
            rows = [r for r in rows if r.channel_id == channel]
        return self._listing(request, rows)

    def _listing(self, request: Request, rows: list[Row]) -> Response:
        q = request.query_params
        if q.get("mj_id"):
            rows = [r for r in rows if r.mj_id == q["mj_id"]]
        # Stored times are ms; documented examples and deployed UIs send seconds or ms: decide by magnitude.
        start, end = _as_ms(_int(q.get("start_timestamp"))), _as_ms(_int(q.get("end_timestamp")), end=True)
        submit = {r.id: self.store.live(r)["submit_time"] for r in rows}
        if start:
            rows = [r for r in rows if submit[r.id] >= start]
        if end:
            rows = [r for r in rows if submit[r.id] <= end]
        rows = sorted(rows, key=lambda r: r.id, reverse=True)
        legacy = self.state.config.newapi_legacy_listing
        server = self.server(request)
        if legacy:  # NA-OLD: 0-based p, 10 a page, a plain array
            page = max(0, _int(q.get("p")) or 0)
            items = [storage_json(self.store, r, server, legacy=True) for r in rows[page * 10 : (page + 1) * 10]]
            return JSONResponse({"success": True, "message": "", "data": items})
        page = max(1, _int(q.get("p")) or 1)
        size = _int(q.get("page_size")) or _int(q.get("ps")) or _int(q.get("size")) or 10
        size = 10 if size < 1 else min(size, 100)
        chunk = rows[(page - 1) * size : page * size]
        data = {
            "page": page,
            "page_size": size,
            "total": len(rows),
            "items": [storage_json(self.store, r, server, legacy=False) for r in chunk],
        }
        return JSONResponse({"success": True, "message": "", "data": data})

    def routes(self) -> list[Route]:
        routes = [
            Route("/api/mj/self", self.list_self, methods=["GET"]),
            Route("/api/mj/", self.list_all, methods=["GET"]),
            Route("/api/mj", self.list_all, methods=["GET"]),
        ]
        for prefix in ("/mj", "/{mode}/mj"):
            routes += submit_routes(prefix, self.submit)
            routes += [
                Route(f"{prefix}/image/{{task_id}}", self.image, methods=["GET"]),
                Route(f"{prefix}/task/{{task_id}}/fetch", self.fetch, methods=["GET"]),
                Route(f"{prefix}/task/{{task_id}}/image-seed", self.image_seed, methods=["GET"]),
                Route(f"{prefix}/task/list-by-condition", self.list_by_condition, methods=["POST"]),
            ]
        return routes


SECONDS_BELOW = 10**11  # 1973 in milliseconds, year 5138 in seconds: smaller values are seconds


def _as_ms(value: int, *, end: bool = False) -> int:
    """A time filter in ms; a value in seconds (an end covers its whole second) is converted."""
    if 0 < value < SECONDS_BELOW:
        return value * 1000 + (999 if end else 0)
    return value


def _int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def create_app(state: SimState) -> Starlette:
    mount = _NewApiMount(state)
    state.url_resolvers.append(mount.resolve_url_path)
    app = Starlette(routes=mount.routes())
    app.state.engine = mount.engine
    app.state.store = mount.store
    return app
