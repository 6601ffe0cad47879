"""The proxy job queue and lifecycle (PROTOCOLS §3.5, §3.9, §3.11), mixed into ProxyEngine.

NZK account defaults: ``proxy_core_size`` jobs run at once, ``proxy_queue_size`` wait. A job goes
NOT_START → SUBMITTED 0% → IN_PROGRESS NN% (preview image) → SUCCESS 100% with buttons, or
FAILURE (progress "" as NZK), over ``config.duration``; each change is POSTed to its notifyHook.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from PIL import Image

from . import render
from ._proxy_render import Output, preview_pngs, produce, recipe_images
from ._proxy_tasks import (
    DISCORD_INSTANCE_ID,
    FAILURE,
    IN_PROGRESS,
    SUBMITTED,
    SUCCESS,
    ProxyTask,
    Submitted,
    describe_buttons,
    grid_buttons,
    prompt_version,
    shorten_buttons,
    upscale_buttons,
)
from ._state import SimState, decode_image

log = logging.getLogger("mjnb.sim")

PROGRESS_STEPS = ((0.2, 9), (0.4, 31), (0.6, 56), (0.8, 84))  # (share of duration, percent)
PREVIEW_SIDE = 256
SUCCESS_TEXT = "Submit success"


class ProxyLifecycle:
    state: SimState
    running: dict[str, asyncio.Task[None] | None]
    waiting: deque[ProxyTask]
    _notify_locks: dict[str, asyncio.Lock]

    def get(self, task_id: str) -> ProxyTask | None:  # provided by ProxyEngine
        raise NotImplementedError

    def cancel(self, task_id: str) -> None:
        task = self.get(task_id)
        if task is None or task.done:
            return
        if task in self.waiting:
            self.waiting.remove(task)
        runner = self.running.get(task.id)
        if runner is not None:
            runner.cancel()
        self._fail(task, "取消任务")

    def _queue_full(self) -> bool:
        config = self.state.config
        return len(self.running) >= config.proxy_core_size and len(self.waiting) >= config.proxy_queue_size

    def _rejected(self) -> Submitted:
        return Submitted(23, "队列已满，请稍后尝试", properties={"discordInstanceId": DISCORD_INSTANCE_ID})

    def _enqueue(self, task: ProxyTask) -> Submitted:
        properties = {"discordInstanceId": DISCORD_INSTANCE_ID}
        if len(self.running) < self.state.config.proxy_core_size:
            self._start(task)
            return Submitted(1, SUCCESS_TEXT, task.id, properties, task=task)
        ahead = len(self.waiting)  # NZK counts only the waiting tasks, so the first one waiting still gets 1
        self.waiting.append(task)
        if ahead == 0:
            return Submitted(1, SUCCESS_TEXT, task.id, properties, task=task)
        return Submitted(
            22, f"排队中，前面还有{ahead}个任务", task.id, {"numberOfQueues": ahead, **properties}, task=task
        )

    def _start(self, task: ProxyTask) -> None:
        self.running[task.id] = None
        self.running[task.id] = self.state.spawn(self._run(task))

    def _release(self, task: ProxyTask) -> None:
        self.running.pop(task.id, None)
        while self.waiting and len(self.running) < self.state.config.proxy_core_size:
            self._start(self.waiting.popleft())

    # ---- the lifecycle ----------------------------------------------------------------------
    async def _run(self, task: ProxyTask) -> None:
        loop = asyncio.get_running_loop()
        began, duration = loop.time(), self.state.config.duration
        # Both render in processes while progress advances on schedule: small previews in the
        # urgent one, the result in the others.
        try:
            blobs = {name: self._blob(name) for name in recipe_images(task.recipe)}
        except LookupError:
            log.exception("simulated proxy job %s lost its input image", task.id)
            self._fail(task, "执行错误，系统异常")
            self._release(task)
            return
        percents = [percent for _, percent in PROGRESS_STEPS]
        previews = asyncio.ensure_future(
            self.state.render(preview_pngs, task.recipe, blobs, PREVIEW_SIDE, percents, urgent=True)
        )
        rendering = asyncio.ensure_future(self.state.render(produce, task.recipe, blobs))
        shown: dict[int, str] = {}
        try:
            task.status, task.progress = SUBMITTED, "0%"
            task.start_time = int(self.state.now() * 1000)
            self._notify(task)
            for step, (share, percent) in enumerate(PROGRESS_STEPS, start=1):
                await asyncio.sleep(max(0.0, began + duration * share - loop.time()))
                task.status, task.progress = IN_PROGRESS, f"{percent}%"
                if step == len(PROGRESS_STEPS) and not previews.done():
                    # Show at least one preview if it can be drawn before the end (the end is never delayed).
                    await asyncio.wait({previews}, timeout=max(0.0, began + duration - loop.time()))
                if previews.done():  # earlier steps skip a preview not drawn yet
                    if not shown:
                        shown = {p: self.state.images.put(png) for p, png in previews.result().items()}
                    task.image_name = shown.get(percent, task.image_name)
                self._notify(task)
            await asyncio.sleep(max(0.0, began + duration - loop.time()))
            output, final_png = await rendering
            if task.pending_failure:
                self._fail(task, task.pending_failure)
            else:
                self._succeed(task, output, final_png)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("simulated proxy job %s failed", task.id)
            self._fail(task, "执行错误，系统异常")
        finally:
            for future in (previews, rendering):
                if not future.done():
                    future.cancel()
            self._release(task)

    def _blob(self, name: str) -> bytes:
        data = self.state.images.get(name)
        if data is None:
            raise LookupError(f"stored image {name!r} is gone")
        return data

    def _load(self, name: str | None) -> Image.Image:
        data = self.state.images.get(name) if name else None
        if data is None:
            raise LookupError(f"stored image {name!r} is gone")
        return decode_image(data)

    def _succeed(self, task: ProxyTask, output: Output, final_png: bytes | None) -> None:
        version = prompt_version(task.prompt)
        if task.outcome == "no_image":
            # Moderated after the fact: SUCCESS at 100% with no picture and nothing to act on.
            task.image_name, task.image_size, task.buttons = None, None, []
            task.status, task.progress = SUCCESS, "100%"
            task.finish_time = int(self.state.now() * 1000)
            self._notify(task)
            return
        if task.outcome == "video_result" and output.image is not None:
            self._as_video(task, output.image)
            return
        if final_png is not None and output.image is not None:
            task.image_name = self.state.images.put(final_png)
            task.image_size = output.image.size
        if task.action in ("UPSCALE", "UPSCALE_HD"):
            task.buttons = upscale_buttons(task.message_hash, version, after_hd=task.action == "UPSCALE_HD")
        elif task.action == "DESCRIBE":
            task.image_name = task.recipe.source
            source = self._load(task.recipe.source)
            task.image_size = source.size
            task.texts, task.prompt_en = output.texts, "\r\n".join(output.texts or [])
            task.properties["finalPrompt"] = output.markdown
            task.buttons = describe_buttons()
        elif task.action == "SHORTEN":
            task.texts = output.texts
            task.properties["finalPrompt"] = output.markdown
            task.buttons = shorten_buttons()
        else:
            task.buttons = grid_buttons(task.message_hash)
        task.status, task.progress = SUCCESS, "100%"
        task.finish_time = int(self.state.now() * 1000)
        self._notify(task)

    def _as_video(self, task: ProxyTask, picture: Image.Image) -> None:
        """End as the trueai fork's VIDEO task: two MP4s with thumbnails, ``imageUrl`` the first MP4."""
        thumb = picture.copy()
        thumb.thumbnail((640, 640))
        for i in range(2):
            tile = render.grid_tile(thumb, i) if thumb.width >= 2 and thumb.height >= 2 else thumb
            task.videos.append(
                (
                    self.state.images.put(render.mp4_stub(task.recipe.seed * 4 + i), ".mp4"),
                    self.state.images.put(render.to_png(tile)),
                )
            )
        task.action = "VIDEO"
        task.image_name, task.image_size = task.videos[0][0], None
        task.buttons = [
            {
                "customId": f"MJ::JOB::video_virtual_upscale::1::{task.message_hash}",
                "emoji": "",
                "label": "Upscale",
                "type": 2,
                "style": 2,
            },
            {
                "customId": f"MJ::JOB::animate_high_extend::1::{task.message_hash}",
                "emoji": "🎞️",
                "label": "Extend High",
                "type": 2,
                "style": 2,
            },
        ]
        task.status, task.progress = SUCCESS, "100%"
        task.finish_time = int(self.state.now() * 1000)
        self._notify(task)

    def _fail(self, task: ProxyTask, reason: str) -> None:
        task.status, task.progress, task.fail_reason = FAILURE, "", reason
        task.buttons = []
        task.finish_time = int(self.state.now() * 1000)
        self._notify(task)

    def _notify(self, task: ProxyTask) -> None:
        """POST the task to its notifyHook once per status:progress, in order, without retries (§3.9)."""
        key = f"{task.status}:{task.progress}"
        if not task.notify_hook or key == task.last_notified:
            return
        task.last_notified = key
        payload, url = task.to_json(), task.notify_hook
        lock = self._notify_locks.setdefault(task.id, asyncio.Lock())

        async def deliver() -> None:
            async with lock:
                await self.state.post_callback(url, payload)

        self.state.spawn(deliver())
