"""The EvoLink mount (PROTOCOLS §1): ``POST /v1/images/generations`` and ``GET /v1/tasks/{id}``.

Always asynchronous: a create answers the §1.4 pending body, the task then runs
pending → processing (10..90) → completed with ``results`` (four image URLs, one for
upscale and remove-bg) or failed with ``error{code,message}``. Tasks belong to the key
that created them: another key sees 404, as for an unknown id.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import _evolink_render as draw
from ._evolink_jobs import (
    EvoStore,
    EvoTask,
    create_body,
    estimated_time,
    new_task_id,
    query_body,
    run_task,
)
from ._evolink_params import (
    GENERATE,
    TASK_PREFIX,
    EvoError,
    Order,
    invalid,
    invalid_task_id,
    parse_body,
    parse_order,
)
from ._state import SimState

MAX_BODY_BYTES = 4 * 1024 * 1024  # ⚠️ EvoLink asks for images "under 4MB"; the body is capped there

# HTTP status → (error.code, error.type) of the §1.7 envelope.
_ENVELOPES = {
    400: ("invalid_parameters", "invalid_request_error"),
    401: ("invalid_api_key", "authentication_error"),
    402: ("insufficient_quota", "insufficient_quota"),
    403: ("access_denied", "permission_error"),
    404: ("resource_not_found", "invalid_request_error"),
    413: ("request_too_large", "invalid_request_error"),
    429: ("rate_limit_exceeded", "rate_limit_error"),
    500: ("internal_error", "api_error"),
    502: ("upstream_error", "api_error"),
    503: ("service_unavailable", "api_error"),
}
_DEFAULT_MESSAGES = {
    400: "Invalid request parameters.",
    401: "Invalid or missing API key.",
    402: "Insufficient balance. Please top up your account.",
    403: "Access denied.",
    404: "Not found.",
    413: "Request too large. Compress images to under 4MB.",
    429: "Rate limit exceeded. Please retry later.",
    500: "Internal server error.",
    502: "Upstream service unavailable.",
    503: "Service temporarily unavailable.",
}


def error_response(status: int, message: str) -> Response:
    """The §1.7 envelope for ``status`` (used by the fault middleware too)."""
    code, kind = _ENVELOPES.get(status, ("error", "api_error"))
    return _envelope(EvoError(status, code, message or _DEFAULT_MESSAGES.get(status, "Error."), type=kind))


def _envelope(error: EvoError) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message, "type": error.type}
    if error.param:
        body["param"] = error.param
    return JSONResponse({"error": body}, status_code=error.status)


def create_app(state: SimState) -> Starlette:
    """The EvoLink service below its mount; ``state`` is the simulator's shared SimState."""
    mount = _EvoLink(state)
    app = Starlette(
        routes=[
            Route("/v1/images/generations", mount.endpoint(mount.create), methods=["POST"]),
            Route("/v1/tasks/{task_id}", mount.endpoint(mount.query), methods=["GET"]),
            Route("/{path:path}", mount.endpoint(mount.unknown), methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]
    )
    app.state.evolink = mount.store
    return app


class _EvoLink:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.store = EvoStore()

    def endpoint(
        self, handler: Callable[[Request, str], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Authorize, run ``handler(request, owner)``, and answer refusals with the §1.7 envelope."""

        @functools.wraps(handler)
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request, self._owner(request))
            except EvoError as refusal:
                return _envelope(refusal)

        return wrapped

    def _owner(self, request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise EvoError(
                401,
                "invalid_api_key",
                "Missing API key: send 'Authorization: Bearer <key>'.",
                type="authentication_error",
            )
        expected = self.state.config.api_key
        if expected is not None and not hmac.compare_digest(token.encode(), expected.encode()):
            raise EvoError(401, "invalid_api_key", "Invalid API key.", type="authentication_error")
        return token

    async def create(self, request: Request, owner: str) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise EvoError(
                413,
                "request_too_large",
                f"Request body is {len(raw)} bytes, the limit is {MAX_BODY_BYTES}. Compress images to under 4MB.",
            )
        state = self.state
        order = parse_order(parse_body(raw), state.config.allow_insecure_callbacks)
        if order.source_task_id is not None:
            seed = self._check_source(order, owner)
        else:
            seed = draw.derive_seed(state.config.seed, order.model, order.prompt, *order.image_urls)
        now = state.now()
        task = EvoTask(
            id=new_task_id(now),
            order=order,
            owner=owner,
            created=int(now),
            seed=seed,
            url_for=functools.partial(state.file_url, request),
            estimated_time=estimated_time(state.config.duration),
        )
        self.store.tasks[task.id] = task
        state.jobs_created += 1
        fault = state.faults.take(request.url.path, "fail_job")
        no_image = state.faults.take(request.url.path, "no_image") is not None
        state.spawn(run_task(state, self.store, task, fault.message if fault is not None else None, no_image))
        return JSONResponse(create_body(task))

    def _check_source(self, order: Order, owner: str) -> int:
        """The follow-up's source must be a completed task of the same key; returns the new seed."""
        source = self.store.tasks.get(order.source_task_id or "")
        if source is None or source.owner != owner:
            raise EvoError(404, "resource_not_found", f"Task not found: {order.source_task_id}", "model_params.task_id")
        if source.status != "completed":
            raise invalid(
                "model_params.task_id",
                f"task {source.id} is {source.status}; only a completed task can be used by {order.model}",
            )
        if order.image_number >= len(source.result_names):
            raise invalid(
                "model_params.image_number",
                f"model_params.image_number must be 0..{len(source.result_names) - 1} for task {source.id}",
            )
        if order.model == "mj-v7-upscale" and source.model == "mj-v7-upscale":
            raise invalid("model_params.task_id", "already upscaled images cannot be upscaled again")
        if order.model == "mj-v7-enhance" and (source.model != GENERATE or source.order.speed != "draft"):
            raise invalid("model_params.task_id", "mj-v7-enhance only supports source tasks generated in draft mode")
        return draw.derive_seed(source.seed, order.model, self.store.next_number())

    async def query(self, request: Request, owner: str) -> Response:
        task_id = request.path_params["task_id"]
        if not task_id.startswith(TASK_PREFIX):
            raise invalid_task_id()
        task: EvoTask | None = self.store.tasks.get(task_id)
        if task is None or task.owner != owner:
            raise EvoError(404, "resource_not_found", f"Task not found: {task_id}", "task_id")
        return JSONResponse(query_body(task))

    async def unknown(self, request: Request, owner: str) -> Response:
        raise EvoError(404, "not_found", f"Unknown endpoint: {request.method} {request.url.path}")
