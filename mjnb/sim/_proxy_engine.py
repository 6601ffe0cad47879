"""The midjourney-proxy job engine (PROTOCOLS §3), shared by the /mjproxy and /newapi façades:
one engine, two façades. This module validates submits and creates tasks; ``_proxy_lifecycle``
queues and runs them.

Return codes follow NZK/TAI: 1 accepted, 21 modal handshake or existing upscale, 22 queued
behind others, 23 queue full, 24 banned word, 4 validation, 3 unknown parent.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, deque
from typing import Any

from . import render
from ._proxy_lifecycle import ProxyLifecycle
from ._proxy_render import BLEND_ASPECT, derive_seed, zoom_factor
from ._proxy_tasks import (
    DISCORD_INSTANCE_ID,
    FAILURE,
    GRID_ACTIONS,
    MODAL,
    NOT_START,
    SUCCESS,
    ParsedAction,
    ProxyTask,
    Recipe,
    SubmitContext,
    Submitted,
    TaskIds,
    parse_custom_id,
)
from ._state import BadImage, FetchFailed, SimState

__all__ = ["BANNED_WORDS", "ProxyEngine", "SubmitContext", "Submitted"]

# A small, documented stand-in for the services' moderation lists (whole words, any case).
BANNED_WORDS = ("nude", "naked", "nsfw", "gore")
BOT_TYPES = ("MID_JOURNEY", "NIJI_JOURNEY")
DEFAULT_FAIL_REASON = "[Invalid parameter] Invalid value"

MODAL_TEXT = "Waiting for window confirm"
PARENT_MISSING = "关联任务不存在或已失效"
PARENT_STATE = "关联任务状态错误"
UNKNOWN_ACTION = "未知的 Action 类型"
BAD_BASE64 = "base64格式错误"

_SEED = re.compile(r"--seed\s+(\d+)")
_SIMPLE_CHANGE = re.compile(r"^\s*(\d+)\s+(?:([UV])([1-4])|(R))\s*$", re.IGNORECASE)


def _invalid(description: str, http_status: int = 200) -> Submitted:
    return Submitted(4, description, http_status=http_status)


def banned_word(prompt: str) -> str | None:
    for word in BANNED_WORDS:
        if re.search(rf"\b{re.escape(word)}\b", prompt, re.IGNORECASE):
            return word
    return None


class ProxyEngine(ProxyLifecycle):
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.tasks: dict[str, ProxyTask] = {}
        self.ids = TaskIds()
        self.running: dict[str, asyncio.Task[None] | None] = {}
        self.waiting: deque[ProxyTask] = deque()
        self._children: Counter[tuple[str, str]] = Counter()
        self._notify_locks: dict[str, asyncio.Lock] = {}

    # ---- reads ------------------------------------------------------------------------------
    def get(self, task_id: str) -> ProxyTask | None:
        return self.tasks.get(str(task_id))

    def recent(self, limit: int = 100) -> list[ProxyTask]:
        return sorted(self.tasks.values(), key=lambda t: (t.submit_time, t.id), reverse=True)[:limit]

    def queued(self) -> list[ProxyTask]:
        ids = list(self.running) + [t.id for t in self.waiting]
        return sorted((self.tasks[i] for i in ids if i in self.tasks), key=lambda t: t.submit_time)

    def by_ids(self, ids: Any) -> list[ProxyTask]:
        if not isinstance(ids, list):
            return []
        return [self.tasks[str(i)] for i in ids if str(i) in self.tasks]

    # ---- submits ----------------------------------------------------------------------------
    async def imagine(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        prompt = str(body.get("prompt") or "").strip()
        if not prompt:
            return _invalid("prompt不能为空")
        bot_type = body.get("botType") or "MID_JOURNEY"
        if bot_type not in BOT_TYPES:
            return _invalid(f"botType must be one of {', '.join(BOT_TYPES)}")
        references = list(body.get("base64Array") or [])
        if body.get("base64"):
            references.append(body["base64"])
        if not all(isinstance(r, str) for r in references):
            return _invalid(BAD_BASE64)
        word = banned_word(prompt)
        if word:
            return Submitted(24, "可能包含敏感词", properties={"promptEn": prompt, "bannedWord": word})
        if self._queue_full():
            return self._rejected()
        try:
            names = [await self._store_upload(r, fetch_urls=False) for r in references]
        except (BadImage, FetchFailed):
            return _invalid(BAD_BASE64)
        seed_match = _SEED.search(prompt)
        seed = int(seed_match.group(1)) if seed_match else derive_seed(self.state.config.seed, prompt)
        recipe = Recipe("imagine", prompt, seed, options={"images": names})
        task = self._new_task(ctx, body, "IMAGINE", prompt, recipe, f"/imagine {prompt}")
        task.properties["finalPrompt"] = " ".join([*(f"{ctx.origin}/files/{n}" for n in names), prompt])
        return self._enqueue(task)

    async def change(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        task_id = str(body.get("taskId") or "").strip()
        if not task_id:
            return _invalid("taskId不能为空")
        action = str(body.get("action") or "").upper()
        if action not in ("UPSCALE", "VARIATION", "REROLL"):
            return _invalid("action参数错误: UPSCALE, VARIATION or REROLL")
        index = body.get("index")
        if action != "REROLL" and (not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= 4):
            return _invalid("index参数错误: 1-4")
        return self._change(task_id, action, index or 0, ctx, body)

    async def simple_change(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        match = _SIMPLE_CHANGE.match(str(body.get("content") or ""))
        if not match:
            return _invalid("content参数错误: '<taskId> U1-U4', '<taskId> V1-V4' or '<taskId> R'")
        task_id, letter, number, reroll = match.groups()
        if reroll:
            return self._change(task_id, "REROLL", 0, ctx, body)
        return self._change(task_id, "UPSCALE" if letter.upper() == "U" else "VARIATION", int(number), ctx, body)

    def _change(self, task_id: str, action: str, index: int, ctx: SubmitContext, body: dict[str, Any]) -> Submitted:
        parent = self.get(task_id)
        if parent is None:
            return Submitted(3, PARENT_MISSING)
        if parent.status != SUCCESS:
            return _invalid(PARENT_STATE)
        if parent.action not in GRID_ACTIONS:
            return _invalid("关联任务不允许执行变化")
        description = f"/up {task_id} R" if action == "REROLL" else f"/up {task_id} {action[0]}{index}"
        if action == "UPSCALE":
            for existing in self.tasks.values():
                if existing.description == description and existing.status != FAILURE:
                    return Submitted(
                        21,
                        "任务已存在",
                        existing.id,
                        {"status": existing.status, "imageUrl": existing.image_url()},
                        task=existing,
                    )
        if self._queue_full():
            return self._rejected()
        kind = {"UPSCALE": "upscale", "VARIATION": "variation", "REROLL": "reroll"}[action]
        task = self._child(parent, ParsedAction(kind, index, parent.message_hash), action, description, ctx, body)
        return self._enqueue(task)

    async def describe(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        data, link = body.get("base64"), body.get("link")
        if not data and not link:
            return _invalid("base64不能为空 (or link)")
        try:
            name = await self._store_upload(str(data or link), fetch_urls=bool(link and not data))
        except FetchFailed:
            return _invalid(f"link图片下载失败: {link}")
        except BadImage:
            return _invalid(BAD_BASE64 if data else "link不是有效的图片")
        if self._queue_full():
            return self._rejected()
        task = self._new_task(ctx, body, "DESCRIBE", "", Recipe("describe", source=name), "")
        task.description = f"/describe {task.id}.png"
        return self._enqueue(task)

    async def blend(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        references = body.get("base64Array")
        if (
            not isinstance(references, list)
            or not 2 <= len(references) <= 5
            or not all(isinstance(r, str) for r in references)
        ):
            return _invalid("base64List参数错误")
        dimensions = str(body.get("dimensions") or "SQUARE").upper()
        if dimensions not in BLEND_ASPECT:
            return _invalid(f"dimensions参数错误: {', '.join(BLEND_ASPECT)}")
        try:
            names = [await self._store_upload(r, fetch_urls=False) for r in references]
        except (BadImage, FetchFailed):
            return _invalid(BAD_BASE64)
        if self._queue_full():
            return self._rejected()
        seed = derive_seed(self.state.config.seed, "blend", *names)
        recipe = Recipe("blend", "", seed, options={"images": names, "dimensions": dimensions})
        task = self._new_task(ctx, body, "BLEND", "", recipe, "")
        task.description = f"/blend {task.id} {len(names)}"
        return self._enqueue(task)

    async def shorten(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        prompt = str(body.get("prompt") or "").strip()
        if not prompt:
            return _invalid("prompt不能为空")
        if self._queue_full():
            return self._rejected()
        task = self._new_task(ctx, body, "SHORTEN", prompt, Recipe("shorten", prompt), f"/shorten {prompt}")
        return self._enqueue(task)

    async def edits(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        prompt = str(body.get("prompt") or "").strip()
        if not prompt:
            return _invalid("prompt不能为空")
        image = body.get("image")
        if not isinstance(image, str) or not image.strip():
            return _invalid("image不能为空 (an image URL or data URL)")
        word = banned_word(prompt)
        if word:
            return Submitted(24, "可能包含敏感词", properties={"promptEn": prompt, "bannedWord": word})
        try:
            name = await self._store_upload(image)
        except FetchFailed:
            return _invalid(f"image图片下载失败: {image[:200]}")
        except BadImage:
            return _invalid(BAD_BASE64)
        if self._queue_full():
            return self._rejected()
        recipe = Recipe("edits", prompt, derive_seed(self.state.config.seed, "edits", prompt, name), source=name)
        task = self._new_task(ctx, body, "EDIT", prompt, recipe, f"/edit {prompt}")
        return self._enqueue(task)

    async def action(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        task_id = str(body.get("taskId") or "").strip()
        custom_id = str(body.get("customId") or "").strip()
        if not task_id:
            return _invalid("taskId不能为空")
        if not custom_id:
            return _invalid("customId不能为空")
        parent = self.get(task_id)
        if parent is None:
            return Submitted(3, PARENT_MISSING, http_status=404)
        if parent.status != SUCCESS:
            return _invalid(PARENT_STATE)
        if custom_id == f"MJ::CustomZoom::{parent.message_hash}":  # the older form of the same button
            custom_id = f"MJ::CustomZoom::1::{parent.message_hash}"
        parsed = parse_custom_id(custom_id)
        if parsed is None or custom_id not in {b["customId"] for b in parent.buttons}:
            return _invalid(UNKNOWN_ACTION)
        remix = body.get("enableRemix") is True and parsed.kind in ("reroll", "variation", "pan", "vary")
        if parsed.needs_modal or remix:
            return self._open_modal(parent, parsed, custom_id, ctx, body)
        if self._queue_full():
            return self._rejected()
        action = _action_of(parsed, parent)
        task = self._child(parent, parsed, action, f"/up {task_id} {_label(parsed)}", ctx, body, custom_id)
        return self._enqueue(task)

    def _open_modal(
        self, parent: ProxyTask, parsed: ParsedAction, custom_id: str, ctx: SubmitContext, body: dict[str, Any]
    ) -> Submitted:
        final_prompt = parent.prompt
        if parsed.kind == "custom_zoom":
            final_prompt = f"{parent.prompt} --zoom 2"  # what MJ's Custom Zoom dialog pre-fills
        elif parsed.kind in ("picreader", "prompt_analyzer"):
            final_prompt = (parent.texts or [parent.prompt])[min(parsed.index, len(parent.texts or [""])) - 1]
        task = self._child(parent, parsed, _action_of(parsed, parent), MODAL_TEXT, ctx, body, custom_id)
        task.status, task.modal_kind = MODAL, parsed
        if parsed.kind == "inpaint":
            task.prompt = task.prompt_en = ""
        task.properties.update({"finalPrompt": final_prompt, "remix": True})
        return Submitted(21, MODAL_TEXT, task.id, {"finalPrompt": final_prompt, "remix": True}, task=task)

    async def modal(self, body: dict[str, Any], ctx: SubmitContext) -> Submitted:
        task_id = str(body.get("taskId") or "").strip()
        if not task_id:
            return _invalid("taskId不能为空")
        task = self.get(task_id)
        if task is None:
            return Submitted(3, PARENT_MISSING, http_status=404)
        if task.status != MODAL:
            return _invalid(PARENT_STATE)
        parsed: ParsedAction = task.modal_kind
        prompt = str(body.get("prompt") or "").strip() or task.properties.get("finalPrompt") or task.prompt
        word = banned_word(prompt)
        if word:
            return Submitted(24, "可能包含敏感词", properties={"promptEn": prompt, "bannedWord": word})
        recipe = task.recipe
        if parsed.kind == "inpaint":
            refusal = await self._attach_mask(task, body.get("maskBase64"))
            if refusal is not None:
                return refusal
        elif parsed.kind == "custom_zoom":
            factor = zoom_factor(prompt)
            if factor is None or not 1.0 <= factor <= 2.0:
                return _invalid("prompt must contain --zoom N with N between 1 and 2 (Custom Zoom)")
            recipe.kind, recipe.options["factor"] = "zoom", factor
        elif parsed.kind in ("picreader", "prompt_analyzer"):
            task.recipe = recipe = Recipe("imagine", prompt, derive_seed(self.state.config.seed, prompt))
        if self._queue_full():
            return self._rejected()
        recipe.prompt = task.prompt = task.prompt_en = prompt
        task.status, task.properties["finalPrompt"] = NOT_START, prompt
        task.description = (
            f"/imagine {prompt}" if task.action == "IMAGINE" else f"/up {task.parent_id} {_label(parsed)}"
        )
        if task.pending_failure is None:
            task.pending_failure = self._fail_fault(ctx.path)
        return self._enqueue(task)

    async def _attach_mask(self, task: ProxyTask, mask_text: Any) -> Submitted | None:
        if not isinstance(mask_text, str) or not mask_text.strip():
            return _invalid("maskBase64不能为空: Vary (Region) needs a PNG mask, white = regenerate")
        try:
            if "://" in mask_text[:16]:
                raise BadImage("maskBase64 must be a data URL or base64, not a URL")
            mask = await self.state.in_thread(self.state.fetch_image, mask_text)
        except (BadImage, FetchFailed):
            return _invalid(BAD_BASE64)
        parent = self.get(task.parent_id or "")
        expected = parent.image_size if parent else None
        if expected and mask.size != tuple(expected):
            return _invalid(
                f"maskBase64 must be {expected[0]}x{expected[1]} (the image's size), got {mask.size[0]}x{mask.size[1]}"
            )
        mask_png = await self.state.in_thread(lambda: render.to_png(render.mask_to_l(mask)))
        task.recipe.options["mask"] = self.state.images.put(mask_png)
        return None

    # ---- task reads with side effects ---------------------------------------------------------
    def image_seed(self, task_id: str) -> Submitted:
        task = self.get(task_id)
        if task is None:
            return Submitted(3, PARENT_MISSING, http_status=404)
        if task.status != SUCCESS or task.action in ("DESCRIBE", "SHORTEN"):
            return Submitted(4, PARENT_STATE, http_status=400)
        match = _SEED.search(task.prompt)
        return Submitted(1, "成功", match.group(1) if match else str(task.recipe.seed))

    # ---- task creation and the queue --------------------------------------------------------
    def _fail_fault(self, path: str) -> str | None:
        fault = self.state.faults.take(path, "fail_job")
        return (fault.message or DEFAULT_FAIL_REASON) if fault is not None else None

    def _new_task(
        self, ctx: SubmitContext, body: dict[str, Any], action: str, prompt: str, recipe: Recipe, description: str
    ) -> ProxyTask:
        hook = body.get("notifyHook") if ctx.forward_notify else None
        task = ProxyTask(
            id=self.ids.new(),
            action=action,
            prompt=prompt,
            prompt_en=prompt,
            recipe=recipe,
            origin=ctx.origin,
            description=description,
            state=body.get("state") if isinstance(body.get("state"), str) else None,
            bot_type=str(body["botType"]) if body.get("botType") in BOT_TYPES else "MID_JOURNEY",
            notify_hook=hook if isinstance(hook, str) and hook.strip() else None,
            owner=ctx.owner,
        )
        task.properties.update(
            {
                "discordInstanceId": DISCORD_INSTANCE_ID,
                "discordChannelId": DISCORD_INSTANCE_ID,
                "botType": task.bot_type,
                "notifyHook": task.notify_hook,
                "flags": 0,
                "messageHash": task.message_hash,
                "finalPrompt": prompt,
            }
        )
        task.pending_failure = self._fail_fault(ctx.path)
        for kind in ("no_image", "video_result"):
            if task.outcome is None and self.state.faults.take(ctx.path, kind) is not None:
                task.outcome = kind
        self.tasks[task.id] = task
        self.state.jobs_created += 1
        return task

    def _child(
        self,
        parent: ProxyTask,
        parsed: ParsedAction,
        action: str,
        description: str,
        ctx: SubmitContext,
        body: dict[str, Any],
        custom_id: str = "",
    ) -> ProxyTask:
        self._children[(parent.id, parsed.kind)] += 1
        nth = self._children[(parent.id, parsed.kind)]
        seed = derive_seed(parent.recipe.seed, parsed.kind, parsed.index, nth)
        kind = parsed.kind
        if kind == "reroll":
            recipe = Recipe(
                parent.recipe.kind,
                parent.prompt,
                seed,
                parent.recipe.source,
                parent.recipe.index,
                dict(parent.recipe.options),
            )
            if parent.action in ("UPSCALE", "UPSCALE_HD"):
                recipe = Recipe("imagine", parent.prompt, seed)
        elif kind == "describe_retry":
            recipe = Recipe("describe", source=parent.recipe.source)
        else:
            recipe = Recipe(kind, parent.prompt, seed, parent.image_name, parsed.index)
            option_name = {"upscale_hd": "mode", "vary": "strength", "zoom": "factor", "pan": "direction"}.get(kind)
            if option_name:
                recipe.options[option_name] = parsed.option
            plain = parent.recipe.kind == "imagine" and not parent.recipe.options.get("images")
            if kind == "upscale" and plain:
                recipe.options["scene"] = (parent.recipe.prompt, parent.recipe.seed)
            elif kind == "upscale_hd" and "scene" in parent.recipe.options:
                recipe.options["scene"] = parent.recipe.options["scene"]
                recipe.options["tile"] = parent.recipe.index - 1
        bot = {"botType": parent.bot_type, **body}
        task = self._new_task(ctx, bot, action, parent.prompt, recipe, description)
        task.parent_id, task.custom_id = parent.id, custom_id
        task.properties["finalPrompt"] = parent.properties.get("finalPrompt", parent.prompt)
        return task

    async def _store_upload(self, reference: str, fetch_urls: bool = True) -> str:
        """Decode an uploaded image (data URL, bare base64, or a URL when allowed) and store it as PNG."""
        if not fetch_urls and "://" in reference[:16]:
            raise BadImage("expected a data URL")
        image = await self.state.in_thread(self.state.fetch_image, reference)
        return self.state.images.put(await self.state.in_thread(render.to_png, image))


def _action_of(parsed: ParsedAction, parent: ProxyTask) -> str:
    if parsed.kind == "reroll":
        return "IMAGINE" if parent.action in ("UPSCALE", "UPSCALE_HD") else parent.action
    return {
        "upscale": "UPSCALE",
        "variation": "VARIATION",
        "upscale_hd": "UPSCALE_HD",
        "vary": "VARIATION",
        "inpaint": "VARIATION",
        "zoom": "ZOOM",
        "custom_zoom": "ZOOM",
        "pan": "PAN",
        "picreader": "IMAGINE",
        "prompt_analyzer": "IMAGINE",
        "describe_retry": "DESCRIBE",
    }[parsed.kind]


def _label(parsed: ParsedAction) -> str:
    """How a job's description names the button that made it (``/up <id> U2``, ``/up <id> pan_left``)."""
    if parsed.kind in ("upscale", "variation"):
        return f"{parsed.kind[0].upper()}{parsed.index}"
    if parsed.kind == "reroll":
        return "R"
    if parsed.kind == "zoom":
        return f"zoom_out_{parsed.option:g}x"
    if parsed.kind in ("pan", "vary", "upscale_hd"):
        return f"{parsed.kind}_{parsed.option}"
    return {"inpaint": "vary_region"}.get(parsed.kind, parsed.kind)
