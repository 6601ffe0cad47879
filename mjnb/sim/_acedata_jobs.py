"""AceData jobs: the task store, the runner that advances a job, and the bodies it answers with.

A job is queued, then runs through progress 10 → 35 → 75 with preview images, then ends
with the §2.2 success object or the failure object ``{success:false, task_id, error}``.
Listeners (streaming requests) receive every line; ``done`` releases blocking requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from . import render
from ._acedata_params import GRID_ACTIONS, STATUS_OF_CODE, UPSCALED_ACTIONS
from ._acedata_render import Output, thumbnail
from ._state import SimState

# (fraction of the configured duration, progress reached then)
STAGES = ((0.15, 10), (0.45, 35), (0.75, 75))
PREVIEW_SIDE = 256
THUMBNAIL_FACTOR = 0.5
_DISCORD_EPOCH_MS = 1_420_070_400_000
_REQUEST_STRING_LIMIT = 256


@dataclass
class ImageRecord:
    """A finished picture that follow-ups can name by ``image_id``."""

    image_id: str
    name: str
    kind: str  # "grid" | "single" | "upscaled"
    prompt: str
    seed: int
    scene: tuple[str, int] | None = None  # (prompt, seed) of a plain generated grid: its tiles can be redrawn

    @property
    def actions(self) -> list[str]:
        if self.kind == "grid":
            return list(GRID_ACTIONS)
        if self.kind == "single":
            return list(UPSCALED_ACTIONS)
        # ⚠️ An image already upscaled 2x/4x cannot be upscaled again.
        return [a for a in UPSCALED_ACTIONS if not a.startswith("upscale")]


@dataclass(eq=False)
class AceJob:
    task_id: str
    type: str  # "imagine" | "edits" | "describe"
    owner: str
    trace_id: str
    request: dict[str, Any]
    prompt: str
    seed: int
    split_images: bool
    image_id: str
    job_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    doc_id: str = field(default_factory=lambda: secrets.token_hex(12))
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    running: dict[str, Any] | None = None
    final: dict[str, Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    listeners: list[asyncio.Queue[Any]] = field(default_factory=list)

    def publish(self, line: dict[str, Any], last: bool) -> None:
        for queue in self.listeners:
            queue.put_nowait((line, last))


class AceStore:
    """Jobs (newest last) and the images follow-ups can act on."""

    def __init__(self) -> None:
        self.jobs: dict[str, AceJob] = {}
        self.images: dict[str, ImageRecord] = {}
        self._counter = itertools.count(1)
        self._last_snowflake = 0

    def next_number(self) -> int:
        return next(self._counter)

    def new_image_id(self) -> str:
        """A 19-digit Discord-snowflake-like id, unique and increasing."""
        snowflake = (int(time.time() * 1000) - _DISCORD_EPOCH_MS) << 22
        snowflake = max(snowflake, self._last_snowflake + 1)
        self._last_snowflake = snowflake
        return str(snowflake)

    def find(self, owner: str, task_id: str | None, trace_id: str | None) -> AceJob | None:
        job = self.jobs.get(task_id) if task_id else None
        if job is None and trace_id:
            job = next((j for j in reversed(self.jobs.values()) if j.trace_id == trace_id), None)
        return job if job is not None and job.owner == owner else None

    def running_image(self, image_id: str) -> bool:
        """Whether ``image_id`` is the coming result of a job that has not ended."""
        return any(job.image_id == image_id and not job.done.is_set() for job in self.jobs.values())

    def owned(self, owner: str) -> list[AceJob]:
        """The owner's jobs, newest first."""
        return [job for job in reversed(self.jobs.values()) if job.owner == owner]


def credential_id(token: str) -> str:
    # Stable per key without revealing it.
    return str(uuid.UUID(bytes=hashlib.sha256(b"mjnb-sim:" + token.encode()).digest()[:16], version=4))


def request_record(body: dict[str, Any]) -> dict[str, Any]:
    """The request as stored in the task document; long data (base64 masks) is abbreviated."""
    return {
        key: (f"<{len(value)} characters>" if isinstance(value, str) and len(value) > _REQUEST_STRING_LIMIT else value)
        for key, value in body.items()
    }


def task_document(job: AceJob) -> dict[str, Any]:
    """The §2.6 task record: no ``response`` while queued, a progress-only one while running."""
    doc: dict[str, Any] = {
        "_id": job.doc_id,
        "id": job.task_id,
        "application_id": credential_id("application:" + job.owner),
        "created_at": round(job.created_at, 3),
        "credential_id": credential_id(job.owner),
        "request": job.request,
        "type": job.type,
        "hold": False,
        "job_id": job.job_id,
        "trace_id": job.trace_id,
    }
    if job.image_id:
        doc["image_id"] = job.image_id
    if job.started_at is not None:
        doc["started_at"] = round(job.started_at, 3)
    if job.final is not None:
        doc["response"] = job.final
        doc["finished_at"] = round(job.finished_at or job.created_at, 3)
        doc["duration"] = (job.finished_at or job.created_at) - job.created_at
    elif job.running is not None:
        doc["response"] = {k: v for k, v in job.running.items() if k != "success"}
    return doc


def failure_body(job: AceJob, code: str, message: str) -> dict[str, Any]:
    return {"success": False, "task_id": job.task_id, "error": {"code": code, "message": message}}


@dataclass
class RunPlan:
    """How to run one job: what to draw, what previews start from, and who to tell."""

    produce: Callable[[], Output]
    sketch: Callable[[], Image.Image]  # a cheap small picture the previews are made from
    url_for: Callable[[str], str]
    duration: float
    fault_message: str | None = None
    callback_url: str | None = None
    callback_every_line: bool = False
    no_image: bool = False  # the no_image fault: succeed without any image URL


async def run_job(state: SimState, store: AceStore, job: AceJob, plan: RunPlan) -> None:
    """Advance ``job`` to its end; never raises, always releases its waiters."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    final: dict[str, Any] | None = None
    # The full picture renders while progress advances, so previews keep their schedule.
    split = bool(job.split_images or job.type == "edits")
    rendering = asyncio.ensure_future(state.render(_render_output, plan.produce, split))
    try:
        sketch = await state.render(plan.sketch, urgent=True)
        for fraction, progress in STAGES:
            await asyncio.sleep(max(0.0, started + fraction * plan.duration - loop.time()))
            if job.started_at is None:
                job.started_at = state.now()
            png, size = await state.render(_preview_png, sketch, progress, urgent=True)
            line = _progress_line(job, state.images.put(png), size, progress, plan.url_for)
            job.running = line
            job.publish(line, last=False)
            if plan.callback_every_line and plan.callback_url:
                state.spawn(state.post_callback(plan.callback_url, line, retries=()))
        await asyncio.sleep(max(0.0, started + plan.duration - loop.time()))
        rendered = await rendering
        if plan.fault_message is not None:
            final = failure_body(job, *fault_code(plan.fault_message))
        elif plan.no_image:
            final = {"success": True, "task_id": job.task_id, "image_id": job.image_id, "progress": 100, "actions": []}
        else:
            final = _finish(state, store, job, rendered, plan.url_for)
    except asyncio.CancelledError:  # the server is stopping: release waiters, tell nobody
        job.final = failure_body(job, "api_error", "The simulator stopped.")
        job.done.set()
        raise
    except Exception:  # a renderer bug must not leave a blocking request hanging
        final = failure_body(job, "api_error", "Internal server error.")
        raise
    finally:
        if not rendering.done():
            rendering.cancel()
        if not job.done.is_set():
            job.finished_at = state.now()
            job.final = final or failure_body(job, "api_error", "Internal server error.")
            job.publish(job.final, last=True)
            job.done.set()
            if plan.callback_url:
                # ❓ AceData documents no callback retries: one attempt, any URL.
                state.spawn(state.post_callback(plan.callback_url, job.final, retries=()))


def fault_code(message: str) -> tuple[str, str]:
    """A fault message may name a §2.7 code as ``"<code>: <message>"``; otherwise api_error."""
    head, sep, rest = message.partition(":")
    if sep and head.strip() in STATUS_OF_CODE:
        return head.strip(), rest.strip()
    return "api_error", message


def _preview_png(sketch: Image.Image, progress: int) -> tuple[bytes, tuple[int, int]]:
    """A progress preview's PNG and size (in the preview process)."""
    small = thumbnail(sketch, PREVIEW_SIDE)
    return render.to_png(render.preview(small, progress)), small.size


def _progress_line(
    job: AceJob, name: str, size: tuple[int, int], progress: int, url_for: Callable[[str], str]
) -> dict[str, Any]:
    url, (width, height) = url_for(name), size
    line = {
        "image_url": url,
        "image_width": width,
        "image_height": height,
        "image_id": job.image_id,
        "raw_image_url": url,
        "raw_image_width": width,
        "raw_image_height": height,
        "progress": progress,
        "actions": [],
        "task_id": job.task_id,
        "success": True,
    }
    if job.type == "edits":
        del line["actions"]  # the §2.3 literal has no actions list
    return line


@dataclass
class Rendered:
    """A finished picture as PNGs (made in a render process before the job's end) and what it is."""

    kind: str
    scene: tuple[str, int] | None
    size: tuple[int, int]
    raw: bytes
    thumb: bytes
    thumb_size: tuple[int, int]
    tiles: list[bytes] | None


def _render_output(produce: Callable[[], Output], split: bool) -> Rendered:
    output = produce()
    thumb = thumbnail(output.image, max(1, round(max(output.image.size) * THUMBNAIL_FACTOR)))
    tiles = [render.to_png(tile) for tile in output.tiles] if output.tiles and split else None
    return Rendered(
        output.kind,
        output.scene,
        output.image.size,
        render.to_png(output.image),
        render.to_png(thumb),
        thumb.size,
        tiles,
    )


def _finish(
    state: SimState, store: AceStore, job: AceJob, rendered: Rendered, url_for: Callable[[str], str]
) -> dict[str, Any]:
    raw = state.images.put(rendered.raw)
    record = ImageRecord(job.image_id, raw, rendered.kind, job.prompt, job.seed, scene=rendered.scene)
    store.images[job.image_id] = record
    raw_url = url_for(raw)
    sub_urls = [url_for(state.images.put(png)) for png in rendered.tiles] if rendered.tiles is not None else None
    if job.type == "edits":
        # Field order and set exactly as the §2.3 literal response.
        width, height = rendered.size
        return {
            "sub_image_urls": sub_urls,
            "image_url": raw_url,
            "image_width": width,
            "image_height": height,
            "raw_image_url": raw_url,
            "raw_image_width": width,
            "raw_image_height": height,
            "progress": 100,
            "image_id": job.image_id,
            "task_id": job.task_id,
            "success": True,
        }
    body = {
        "success": True,
        "task_id": job.task_id,
        "image_id": job.image_id,
        "progress": 100,
        "image_url": url_for(state.images.put(rendered.thumb)),
        "image_width": rendered.thumb_size[0],
        "image_height": rendered.thumb_size[1],
        "raw_image_url": raw_url,
        "raw_image_width": rendered.size[0],
        "raw_image_height": rendered.size[1],
        "actions": record.actions,
    }
    if sub_urls is not None:
        body["sub_image_urls"] = sub_urls
    return body
