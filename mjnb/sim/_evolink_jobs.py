"""EvoLink tasks: the store, the runner (pending → processing → completed | failed) and the bodies.

The query body (§1.5) is also the callback body (§1.8). Callbacks go out once the task
ends, retried after 1 s / 2 s / 4 s on failure.
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from . import _evolink_render as draw
from . import render
from ._evolink_params import GENERATE, SINGLE_IMAGE_MODELS, Order
from ._state import BadImage, FetchFailed, SimState

# (fraction of the configured duration, progress reached then)
STAGES = ((0.1, 10), (0.3, 30), (0.5, 50), (0.7, 70), (0.9, 90))
CALLBACK_RETRIES = (1, 2, 4)
CREDITS = {"draft": 2.7, "fast": 5.4, "turbo": 10.8}
TASK_CODES = (
    "content_policy_violation",
    "invalid_parameters",
    "image_processing_error",
    "image_dimension_mismatch",
    "request_cancelled",
    "generation_failed_no_content",
    "service_error",
    "generation_timeout",
    "resource_exhausted",
    "quota_exceeded",
    "service_unavailable",
    "resource_not_found",
    "unknown_error",
)

# The simulator's moderation: a prompt with one of these whole words fails its task with
# content_policy_violation, as EvoLink's safety filters do (the submit itself succeeds).
BANNED_WORDS = ("nsfw", "gore", "nude", "naked", "decapitated")
POLICY_MESSAGE = "Content policy violation.\nYour request was blocked by safety filters. Please adjust the prompt."
_BANNED_RE = re.compile(r"\b(" + "|".join(BANNED_WORDS) + r")\b", re.IGNORECASE)
_ID_ALPHABET = string.ascii_lowercase + string.digits


class TaskFailure(Exception):
    """Ends a task as failed with a §1.7 task-level code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def new_task_id(now: float) -> str:
    return f"task-unified-{int(now)}-{''.join(secrets.choice(_ID_ALPHABET) for _ in range(8))}"


def fault_code(message: str) -> tuple[str, str]:
    """A fault message naming a task-level code (``"<code>: …"``) fails with it; else no-content."""
    head, sep, rest = message.partition(":")
    if sep and head.strip() in TASK_CODES:
        return head.strip(), rest.strip()
    return "generation_failed_no_content", message


@dataclass(eq=False)
class EvoTask:
    id: str
    order: Order
    owner: str
    created: int
    seed: int
    url_for: Callable[[str], str]
    estimated_time: int
    status: str = "pending"
    progress: int = 0
    result_names: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None

    @property
    def model(self) -> str:
        return self.order.model

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


class EvoStore:
    def __init__(self) -> None:
        self.tasks: dict[str, EvoTask] = {}
        self._counter = 0

    def next_number(self) -> int:
        self._counter += 1
        return self._counter


def create_body(task: EvoTask) -> dict[str, Any]:
    """§1.4, field for field."""
    return {
        "created": task.created,
        "id": task.id,
        "model": task.model,
        "object": "image.generation.task",
        "progress": 0,
        "status": "pending",
        "task_info": {"can_cancel": True, "estimated_time": task.estimated_time},
        "type": "image",
        "usage": {"billing_rule": "per_call", "credits_reserved": CREDITS[task.order.speed], "user_group": "default"},
    }


def query_body(task: EvoTask) -> dict[str, Any]:
    """§1.5: ``results`` only when completed, ``error`` only when failed."""
    body: dict[str, Any] = {
        "created": task.created,
        "id": task.id,
        "model": task.model,
        "object": "image.generation.task",
        "progress": task.progress,
    }
    if task.status == "completed":
        body["results"] = [task.url_for(name) for name in task.result_names]
    body["status"] = task.status
    if task.status == "failed":
        body["error"] = dict(task.error or {})
    body["task_info"] = (
        {"can_cancel": True, "estimated_time": task.estimated_time}
        if task.status == "pending"
        else {"can_cancel": False}
    )
    body["type"] = "image"
    return body


def estimated_time(duration: float) -> int:
    return max(1, math.ceil(duration))


def load_image(state: SimState, name: str) -> Image.Image:
    data = state.images.get(name)
    if data is None:  # evicted from the simulator's bounded image store
        raise TaskFailure("resource_not_found", "The source task's image has expired.")
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


Scene = tuple[tuple[str, int], int]  # ((prompt, seed) of a plain generation, image number)


def sources(state: SimState, store: EvoStore, task: EvoTask) -> tuple[list[Image.Image], str, Scene | None]:
    """The input images (fetched or loaded, on a thread), the prompt a task draws with, and the
    scene of a plain generation's image (so an upscale can draw it again at its size)."""
    order, prompt = task.order, task.order.prompt
    if order.model == GENERATE:
        return [_fetch(state, u) for u in order.image_urls], prompt, None
    if order.image_urls:
        return [_fetch(state, order.image_urls[0])], prompt, None
    parent = store.tasks[order.source_task_id or ""]
    scene = None
    if parent.model == GENERATE and not parent.order.image_urls:
        scene = ((parent.order.prompt, parent.seed), order.image_number)
    return [load_image(state, parent.result_names[order.image_number])], prompt or parent.order.prompt, scene


def produce(
    order: Order, seed: int, prompt: str, images: list[Image.Image], scene: Scene | None = None
) -> list[Image.Image]:
    """The task's result images (in a render process)."""
    if order.model == GENERATE:
        return draw.generate(prompt, seed, order.speed == "draft", images)
    source, params = images[0], order.params
    if order.model == "mj-v7-upscale":
        return draw.upscale(source, params["type"], prompt, seed, scene)
    if order.model == "mj-v7-variation":
        return draw.variation(source, params["type"], prompt, seed)
    if order.model == "mj-v7-remix":
        return draw.remix(source, params["mode"], prompt, seed)
    if order.model == "mj-v7-enhance":
        return draw.enhance(source, prompt, seed)
    if order.model == "mj-v7-pan":
        return draw.pan(source, params["direction"], params["scale"], prompt, seed)
    if order.model == "mj-v7-outpaint":
        return draw.outpaint(source, params["scale"], prompt, seed)
    if order.model == "mj-v7-inpaint":
        return draw.inpaint(source, params["mask"], prompt, seed)
    if order.model == "mj-v7-edit":
        pos, canvas = params["img_pos"], params["canvas"]
        box = (pos["x"], pos["y"], pos["width"], pos["height"])
        return draw.place(source, (canvas["width"], canvas["height"]), box, prompt, seed)
    if order.model == "mj-v7-upload-paint":
        return draw.upload_paint(source, params, prompt, seed)
    if order.model == "mj-v7-retexture":
        return draw.retexture(source, prompt, seed)
    if order.model == "mj-v7-remove-bg":
        return draw.remove_background(source)
    raise ValueError(f"no renderer for model {order.model!r}")


def _fetch(state: SimState, url: str) -> Image.Image:
    try:
        return state.fetch_image(url)
    except FetchFailed:
        raise TaskFailure("image_processing_error", f"Could not download the image {url[:200]}") from None
    except BadImage:
        raise TaskFailure("image_processing_error", f"The image at {url[:200]} could not be decoded") from None


def _produce_pngs(
    order: Order, seed: int, prompt: str, images: list[Image.Image], keep: int, scene: Scene | None = None
) -> list[bytes]:
    """Render the task's images as PNGs (in a render process); ``keep`` images at most (0: none, as moderation can)."""
    pictures = produce(order, seed, prompt, images, scene)
    if order.model in SINGLE_IMAGE_MODELS:
        pictures = pictures[:1]
    return [render.to_png(picture) for picture in pictures[:keep]]


async def _render(state: SimState, store: EvoStore, task: EvoTask, no_image: bool) -> list[str]:
    images, prompt, scene = await state.in_thread(sources, state, store, task)
    pngs = await state.render(_produce_pngs, task.order, task.seed, prompt, images, 0 if no_image else 1000, scene)
    return [state.images.put(png) for png in pngs]


async def run_task(
    state: SimState, store: EvoStore, task: EvoTask, fault_message: str | None, no_image: bool = False
) -> None:
    """Advance ``task`` to completed or failed, then deliver its callback. Never leaves it running.

    ``no_image`` (the ``no_image`` fault): complete with ``results: []``, as moderation leaves it.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    duration = state.config.duration

    async def until(fraction: float) -> None:
        await asyncio.sleep(max(0.0, started + fraction * duration - loop.time()))

    rendering = None
    stopping = False
    try:
        await until(STAGES[0][0])
        if _BANNED_RE.search(task.order.prompt):
            raise TaskFailure("content_policy_violation", POLICY_MESSAGE)
        rendering = asyncio.ensure_future(_render(state, store, task, no_image))
        for fraction, progress in STAGES:
            await until(fraction)
            task.status, task.progress = "processing", progress
        await until(1.0)
        names = await rendering
        if fault_message is not None:
            raise TaskFailure(*fault_code(fault_message))
        task.result_names = names
        task.status, task.progress = "completed", 100
    except asyncio.CancelledError:
        stopping = True
        task.status, task.error = "failed", {"code": "service_error", "message": "The simulator stopped."}
        raise
    except TaskFailure as failure:
        task.status, task.error = "failed", {"code": failure.code, "message": failure.message}
    except Exception:
        task.status, task.error = "failed", {"code": "service_error", "message": "Internal error while generating."}
        raise
    finally:
        if rendering is not None and not rendering.done():
            rendering.cancel()
        if task.order.callback_url and not stopping:
            state.spawn(state.post_callback(task.order.callback_url, query_body(task), retries=CALLBACK_RETRIES))
