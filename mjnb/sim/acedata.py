"""The AceData Cloud mount (PROTOCOLS §2): ``/midjourney/*`` with bearer auth and three ways to wait.

- blocking (default): the request is held until the job ends, or answered 504 ``timeout``
  after ``timeout`` seconds (the job carries on and stays retrievable);
- async (``callback_url`` or ``"async": true``): ``{"task_id"}`` at once, the final object
  POSTed to the callback (one attempt, any URL: ❓ AceData documents no restriction or retry);
- streaming (``accept: application/x-ndjson``, which wins over ``async``): one JSON line per
  progress change; with a ``callback_url`` every line is POSTed too.

Tasks are visible to the key that created them. ``image_id``s are global, as in the service.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import io
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import _acedata_render as draw
from . import render
from ._acedata_jobs import (
    AceJob,
    AceStore,
    RunPlan,
    failure_body,
    request_record,
    run_job,
    task_document,
)
from ._acedata_params import (
    STATUS_OF_CODE,
    AceError,
    JobRequest,
    bad_request,
    fetch_failed,
    parse_body,
    parse_edits,
    parse_imagine,
    parse_task_query,
    refuse_banned,
    split_image_prompts,
)
from ._acedata_text import describe, shorten, translate
from ._guard import close_connection
from ._state import BadImage, FetchFailed, SimState

_CODE_OF_STATUS = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    429: "too_many_requests",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout",
}
_DEFAULT_MESSAGES = {
    "bad_request": "The request is not valid.",
    "invalid_token": "The specified token is invalid or wrong.",
    "forbidden": "Forbidden.",
    "too_many_requests": "You have exceeded the rate limit.",
    "api_error": "Internal server error.",
    "timeout": "Timeout to generate the image.",
}
_TIMEOUT_MESSAGE = "Timeout to generate the image."
_SEED_RE = re.compile(r"--seed\s+(\d+)")


def error_response(status: int, message: str) -> Response:
    """The §2.7 envelope for ``status`` (used by the fault middleware too)."""
    code = _CODE_OF_STATUS.get(status, "api_error")
    return _error(status, code, message or _DEFAULT_MESSAGES.get(code, "Error."))


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body = {"success": False, "error": {"code": code, "message": message}, "trace_id": str(uuid.uuid4())}
    body.update(extra)
    return JSONResponse(body, status_code=status)


def create_app(state: SimState) -> Starlette:
    """The AceData service below its mount; ``state`` is the simulator's shared SimState."""
    mount = _AceData(state)
    routes = [
        Route("/midjourney/imagine", mount.endpoint(mount.imagine), methods=["POST"]),
        Route("/midjourney/edits", mount.endpoint(mount.edits), methods=["POST"]),
        Route("/midjourney/describe", mount.endpoint(mount.describe), methods=["POST"]),
        Route("/midjourney/translate", mount.endpoint(mount.translate), methods=["POST"]),
        Route("/midjourney/shorten", mount.endpoint(mount.shorten), methods=["POST"]),
        Route("/midjourney/seed", mount.endpoint(mount.seed), methods=["POST"]),
        Route("/midjourney/tasks", mount.endpoint(mount.tasks), methods=["POST"]),
        Route("/{path:path}", mount.endpoint(mount.not_implemented), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.acedata = mount.store
    return app


class _AceData:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.store = AceStore()

    def endpoint(
        self, handler: Callable[[Request, str], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Authorize, run ``handler(request, owner)``, and turn refusals into §2.7 envelopes."""

        @functools.wraps(handler)
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request, self._owner(request))
            except AceError as refusal:
                return _error(refusal.status, refusal.code, refusal.message)

        return wrapped

    def _owner(self, request: Request) -> str:
        header = request.headers.get("authorization", "").strip()
        if not header:
            raise AceError(401, "no_token", "The token is not provided.")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        expected = self.state.config.api_key
        if (
            scheme.lower() != "bearer"
            or not token
            or (expected is not None and not hmac.compare_digest(token.encode(), expected.encode()))
        ):
            raise AceError(401, "invalid_token", "The specified token is invalid or wrong.")
        return token

    async def _body(self, request: Request) -> dict[str, Any]:
        return parse_body(await request.body())

    async def _fetch(self, url: str, field: str) -> Image.Image:
        try:
            return await self.state.in_thread(self.state.fetch_image, url)
        except FetchFailed:
            raise fetch_failed() from None
        except BadImage:
            raise bad_request(f"{field} is not a decodable image") from None

    def _load(self, name: str) -> Image.Image:
        data = self.state.images.get(name)
        if data is None:  # evicted from the simulator's bounded image store
            raise bad_request("the image of this image_id is no longer stored")
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")

    # --- jobs -------------------------------------------------------------------------

    async def imagine(self, request: Request, owner: str) -> Response:
        req = parse_imagine(await self._body(request))
        if req.action == "generate":
            prompt = req.prompt or ""
        else:
            record = self.store.images.get(req.image_id or "")
            if record is None:
                if self.store.running_image(req.image_id or ""):
                    raise bad_request(f"image_id {req.image_id!r} belongs to a task that has not finished yet")
                raise bad_request(f"image_id {req.image_id!r} not found")
            if req.action not in record.actions and req.action != "variation_region":
                raise bad_request(
                    f"action {req.action!r} is not available for image {record.image_id}; "
                    f"allowed: {', '.join(record.actions + ['variation_region'])}"
                )
            prompt = req.prompt or record.prompt
        if req.translation:
            prompt = translate(prompt)
        refuse_banned(prompt)

        if req.action == "generate":
            urls, _ = split_image_prompts(prompt)
            image_prompts = [await self._fetch(url, "prompt image URL") for url in urls]
            explicit = _SEED_RE.search(prompt)
            seed = int(explicit.group(1)) if explicit else draw.derive_seed(self.state.config.seed, prompt)
            produce = functools.partial(draw.generate, prompt, seed, image_prompts, req.hd)
            sketch = functools.partial(draw.sketch, prompt, seed)
        else:
            assert record is not None  # a missing record was refused above
            source = await self.state.in_thread(self._load, record.name)
            mask = None
            if req.mask:
                mask = render.mask_to_l(await self._fetch(req.mask, "mask"))
                if mask.size != source.size:
                    raise bad_request(
                        f"mask must be the same size as the original image "
                        f"({source.width}x{source.height}), got {mask.width}x{mask.height}"
                    )
            seed = draw.derive_seed(record.seed, req.action, self.store.next_number())
            produce = functools.partial(draw.follow_up, req.action, source, prompt, seed, mask, record.scene)
            sketch = functools.partial(draw.thumbnail, source, draw.SKETCH_SIDE)
        return await self._start(request, owner, req, prompt, seed, produce, sketch)

    async def edits(self, request: Request, owner: str) -> Response:
        req = parse_edits(await self._body(request))
        prompt = translate(req.prompt or "") if req.translation else req.prompt or ""
        refuse_banned(prompt)
        source = (await self._fetch(req.image_url or "", "image_url")).convert("RGB")
        mask = None
        if req.mask:
            mask = render.mask_to_l(await self._fetch(req.mask, "mask"))
            if mask.size != source.size:
                raise bad_request(
                    f"mask must be the same size as image_url's image "
                    f"({source.width}x{source.height}), got {mask.width}x{mask.height}"
                )
        seed = draw.derive_seed(self.state.config.seed, "edits", prompt, self.store.next_number())
        produce = functools.partial(draw.edit, source, mask, prompt, seed)
        sketch = functools.partial(draw.thumbnail, source, draw.SKETCH_SIDE)
        return await self._start(request, owner, req, prompt, seed, produce, sketch)

    async def _start(
        self,
        request: Request,
        owner: str,
        req: JobRequest,
        prompt: str,
        seed: int,
        produce: Callable[[], draw.Output],
        sketch: Callable[[], Image.Image],
    ) -> Response:
        state = self.state
        job = AceJob(
            task_id=str(uuid.uuid4()),
            type=req.kind,
            owner=owner,
            trace_id=req.trace_id or str(uuid.uuid4()),
            request=request_record(req.body),
            prompt=prompt,
            seed=seed,
            split_images=req.split_images,
            image_id=self.store.new_image_id(),
            created_at=state.now(),
        )
        self.store.jobs[job.task_id] = job
        state.jobs_created += 1
        fault = state.faults.take(request.url.path, "fail_job")
        no_image = state.faults.take(request.url.path, "no_image") is not None
        streaming = "application/x-ndjson" in request.headers.get("accept", "")
        stream_fault = None
        if streaming:
            stream_fault = next(
                (k for k in ("stream_end", "stream_cut") if state.faults.take(request.url.path, k)), None
            )
        plan = RunPlan(
            produce=produce,
            sketch=sketch,
            url_for=functools.partial(state.file_url, request),
            duration=state.config.duration,
            fault_message=fault.message if fault is not None else None,
            callback_url=req.callback_url,
            callback_every_line=streaming,
            no_image=no_image,
        )
        queue: asyncio.Queue[Any] = asyncio.Queue()
        if streaming:
            job.listeners.append(queue)  # before the runner starts, so no line is missed
        state.spawn(run_job(state, self.store, job, plan))

        if streaming:
            lines = _ndjson(job, queue, req.timeout, first_only=stream_fault is not None)
            if stream_fault == "stream_cut":
                return _CutStream(lines, media_type="application/x-ndjson")
            return StreamingResponse(lines, media_type="application/x-ndjson")
        if req.callback_url or req.wants_async:
            return JSONResponse({"task_id": job.task_id})
        try:
            await asyncio.wait_for(job.done.wait(), req.timeout)
        except asyncio.TimeoutError:
            # The job goes on; task_id lets the caller find what it already paid for.
            return _error(504, "timeout", _TIMEOUT_MESSAGE, task_id=job.task_id)
        final = job.final or failure_body(job, "api_error", "Internal server error.")
        if final.get("success"):
            return JSONResponse(final)
        status = STATUS_OF_CODE.get(final["error"]["code"], 500)
        return JSONResponse({**final, "trace_id": job.trace_id}, status_code=status)

    # --- synchronous endpoints -------------------------------------------------------

    async def describe(self, request: Request, owner: str) -> Response:
        body = await self._body(request)
        image_url = body.get("image_url")
        if not isinstance(image_url, str) or not image_url:
            raise bad_request("image_url is required")
        image = await self._fetch(image_url, "image_url")
        descriptions = await self.state.in_thread(describe, image)
        now = self.state.now()
        # Recorded so that /midjourney/tasks lists it; the answer itself is the §2.4 literal.
        job = AceJob(
            task_id=str(uuid.uuid4()),
            type="describe",
            owner=owner,
            trace_id=str(uuid.uuid4()),
            request=request_record(body),
            prompt="",
            seed=0,
            split_images=False,
            image_id="",
            created_at=now,
            started_at=now,
            finished_at=now,
            final={"descriptions": descriptions},
        )
        job.done.set()
        self.store.jobs[job.task_id] = job
        return JSONResponse({"descriptions": descriptions})

    async def translate(self, request: Request, owner: str) -> Response:
        content = (await self._body(request)).get("content")
        if not isinstance(content, str) or not content.strip():
            raise bad_request("content is required")
        return JSONResponse({"content": translate(content)})

    async def shorten(self, request: Request, owner: str) -> Response:
        prompt = (await self._body(request)).get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise bad_request("prompt is required")
        return JSONResponse({"prompts": shorten(prompt)})

    async def seed(self, request: Request, owner: str) -> Response:
        image_id = (await self._body(request)).get("image_id")
        if not isinstance(image_id, str) or not image_id:
            raise bad_request("image_id is required")
        record = self.store.images.get(image_id)
        if record is None:
            raise bad_request(f"image_id {image_id!r} not found")
        return JSONResponse({"seed": str(record.seed)})

    async def tasks(self, request: Request, owner: str) -> Response:
        action, args = parse_task_query(await self._body(request))
        if action == "retrieve":
            job = self.store.find(owner, args["id"], args["trace_id"])
            if job is None:
                # ❓ The service's answer for an unknown id is undocumented.
                raise bad_request(f"task {args['id'] or args['trace_id']!r} not found")
            return JSONResponse(task_document(job))
        jobs = self.store.owned(owner)
        if args["ids"] is not None or args["trace_ids"] is not None:
            ids, trace_ids = set(args["ids"] or ()), set(args["trace_ids"] or ())
            jobs = [j for j in jobs if j.task_id in ids or j.trace_id in trace_ids]
        page = jobs[args["offset"] : args["offset"] + args["limit"]]
        return JSONResponse({"items": [task_document(j) for j in page], "count": len(jobs)})

    async def not_implemented(self, request: Request, owner: str) -> Response:
        raise AceError(400, "api_not_implemented", "The API is not implemented.")


class _CutStream(StreamingResponse):
    """The ``stream_cut`` fault: the first NDJSON line, then the connection closes mid-body (no final chunk)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        iterator = self.body_iterator
        async for chunk in iterator:
            await send(
                {
                    "type": "http.response.body",
                    "body": chunk.encode() if isinstance(chunk, str) else chunk,
                    "more_body": True,
                }
            )
            break
        await iterator.aclose()  # type: ignore[attr-defined]
        if not close_connection(receive):
            raise ConnectionAbortedError("stream_cut: no connection to cut on this server")


async def _ndjson(
    job: AceJob, queue: asyncio.Queue[Any], timeout: float, first_only: bool = False
) -> AsyncIterator[str]:
    """The NDJSON lines of a streamed job; ``first_only`` (stream faults) stops after the line with the task id."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            try:
                line, last = await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                yield json.dumps(failure_body(job, "timeout", _TIMEOUT_MESSAGE)) + "\n"
                return
            yield json.dumps(line) + "\n"
            if last or first_only:
                return
    finally:
        if queue in job.listeners:
            job.listeners.remove(queue)
