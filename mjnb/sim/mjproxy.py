"""The midjourney-proxy mount (PROTOCOLS §3): the plus/TAI superset of the NZK API under /mjproxy/mj/….

Descriptions: "Submit success" and "Waiting for window confirm" in English (as TAI and the
new-api DTO example show them); every other documented message in the Chinese of NZK/TAI.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._guard import decode_json
from ._proxy_engine import BANNED_WORDS, ProxyEngine, SubmitContext, Submitted
from ._state import SimState

__all__ = ["BANNED_WORDS", "MODES", "create_app", "error_response", "read_json", "submit_routes"]

MODES = ("mj-fast", "mj-turbo", "mj-relax")  # TAI's path prefixes that force a speed mode
NO_ACCOUNT = "无可用的账号实例"  # NZK: no Discord account instance is free (a submit answered code 3)
SUBMITS = ("imagine", "change", "simple-change", "describe", "blend", "action", "modal", "shorten", "edits")


def error_response(status: int, message: str) -> Response:
    """401: an empty body (NZK); otherwise a SubmitResultVO with code 9 (system error)."""
    if status == 401:
        return Response(b"", status_code=401)
    body = {"code": 9, "description": message or "提交失败，系统异常", "result": None, "properties": {}}
    return JSONResponse(body, status_code=status)


class BadBody(Exception):
    pass


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = decode_json(raw or b"{}")
    except ValueError as exc:
        raise BadBody(f"request body must be JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadBody("request body must be a JSON object")
    return body


def submit_handler(engine: ProxyEngine, name: str) -> Callable[[dict[str, Any], SubmitContext], Awaitable[Submitted]]:
    """The engine's submit for endpoint ``name``, behind the ``no_account`` fault (code 3, nothing created)."""
    method = "edits" if name in ("edits", "edit") else name.replace("-", "_")
    run: Callable[[dict[str, Any], SubmitContext], Awaitable[Submitted]] = getattr(engine, method)

    async def submit(body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        if engine.state.faults.take(ctx.path, "no_account") is not None:
            return Submitted(3, NO_ACCOUNT, properties={})
        return await run(body, ctx)

    return submit


def submit_routes(prefix: str, endpoint_for: Callable[[str], Callable[[Request], Awaitable[Response]]]) -> list[Route]:
    """POST routes of every submit endpoint (plus TAI's /edit alias) under ``prefix`` ("/mj", "/{mode}/mj")."""
    names = (*SUBMITS, "edit")
    return [Route(f"{prefix}/submit/{name}", endpoint_for(name), methods=["POST"]) for name in names]


class _ProxyMount:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.engine = ProxyEngine(state)

    def authorized(self, request: Request) -> bool:
        supplied = request.headers.get("mj-api-secret") or request.headers.get("authorization") or ""
        supplied = supplied.strip()
        if supplied.lower().startswith("bearer "):
            supplied = supplied[7:].strip()
        expected = self.state.config.api_key
        if not supplied:
            return False
        return expected is None or hmac.compare_digest(supplied.encode(), expected.encode())

    def guarded(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            mode = request.path_params.get("mode")
            if mode is not None and mode not in MODES:
                return JSONResponse(
                    {"code": 4, "description": f"unknown mode path {mode!r}; use {', '.join(MODES)}"}, 404
                )
            if not self.authorized(request):
                return Response(b"", status_code=401)
            try:
                return await handler(request)
            except BadBody as exc:
                return JSONResponse({"code": 4, "description": str(exc), "result": None, "properties": {}}, 400)

        return endpoint

    def submit(self, name: str) -> Callable[[Request], Awaitable[Response]]:
        run = submit_handler(self.engine, name)

        async def handler(request: Request) -> Response:
            ctx = SubmitContext(origin=self.state.origin(request), path=request.url.path)
            outcome = await run(await read_json(request), ctx)
            return JSONResponse(outcome.body(), status_code=outcome.http_status)

        return self.guarded(handler)

    async def fetch(self, request: Request) -> Response:
        task = self.engine.get(request.path_params["task_id"])
        # NZK answers an unknown id with Java's null: HTTP 200 and an empty body.
        return JSONResponse(task.to_json()) if task else Response(b"", status_code=200)

    async def list_by_condition(self, request: Request) -> Response:
        body = await read_json(request)
        return JSONResponse([t.to_json() for t in self.engine.by_ids(body.get("ids"))])

    async def list_recent(self, request: Request) -> Response:
        return JSONResponse([t.to_json() for t in self.engine.recent(100)])

    async def queue(self, request: Request) -> Response:
        return JSONResponse([t.to_json() for t in self.engine.queued()])

    async def image_seed(self, request: Request) -> Response:
        outcome = self.engine.image_seed(request.path_params["task_id"])
        return JSONResponse(outcome.body(), status_code=outcome.http_status)

    async def cancel(self, request: Request) -> Response:
        self.engine.cancel(request.path_params["task_id"])
        return Response(b"", status_code=200)

    def routes(self) -> list[Route]:
        routes: list[Route] = []
        for prefix in ("/mj", "/{mode}/mj"):
            routes += submit_routes(prefix, self.submit)
            routes += [
                Route(f"{prefix}/task/{{task_id}}/fetch", self.guarded(self.fetch), methods=["GET"]),
                Route(f"{prefix}/task/{{task_id}}/image-seed", self.guarded(self.image_seed), methods=["GET"]),
                Route(f"{prefix}/task/{{task_id}}/cancel", self.guarded(self.cancel), methods=["POST"]),
                Route(f"{prefix}/task/list-by-condition", self.guarded(self.list_by_condition), methods=["POST"]),
                Route(f"{prefix}/task/list-by-ids", self.guarded(self.list_by_condition), methods=["POST"]),
                Route(f"{prefix}/task/list", self.guarded(self.list_recent), methods=["GET"]),
                Route(f"{prefix}/task/queue", self.guarded(self.queue), methods=["GET"]),
            ]
        return routes


def create_app(state: SimState) -> Starlette:
    mount = _ProxyMount(state)
    app = Starlette(routes=mount.routes())
    app.state.engine = mount.engine
    return app
