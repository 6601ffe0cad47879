"""midjourney-proxy task records (PROTOCOLS §3.5), buttons and the customId grammar (§3.7)."""

from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

NOT_START, SUBMITTED, MODAL, IN_PROGRESS, SUCCESS, FAILURE = (
    "NOT_START",
    "SUBMITTED",
    "MODAL",
    "IN_PROGRESS",
    "SUCCESS",
    "FAILURE",
)
FINAL_STATUSES = (SUCCESS, FAILURE)
GRID_ACTIONS = ("IMAGINE", "VARIATION", "REROLL", "BLEND", "ZOOM", "PAN", "EDIT")
PAN_EMOJI = {"left": "⬅️", "right": "➡️", "up": "⬆️", "down": "⬇️"}
NUMBER_EMOJI = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
DISCORD_INSTANCE_ID = "1118138338562560102"

_VERSION = re.compile(r"--(v|version|niji)\s+(\d+(?:\.\d+)?)")


@dataclass
class Recipe:
    """What the job renders: ``kind`` plus its inputs (images by stored name)."""

    kind: str
    prompt: str = ""
    seed: int = 0
    source: str | None = None  # stored image name of the parent's result or the uploaded image
    index: int = 0  # 1-based grid index for upscale/variation
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProxyTask:
    id: str
    action: str
    prompt: str
    recipe: Recipe
    origin: str  # scheme://host the submit came from; image URLs are built on it
    description: str = ""
    state: str | None = None
    bot_type: str = "MID_JOURNEY"
    custom_id: str = ""
    status: str = NOT_START
    progress: str = "0%"
    prompt_en: str = ""
    submit_time: int = field(default_factory=lambda: int(time.time() * 1000))
    start_time: int | None = None
    finish_time: int | None = None
    image_name: str | None = None  # current image (preview while running, the result at the end)
    image_size: tuple[int, int] | None = None
    fail_reason: str | None = None
    pending_failure: str | None = None  # a fail_job fault: fail with this reason at the end
    outcome: str | None = None  # a no_image / video_result fault: how the job ends instead of a picture
    videos: list[tuple[str, str]] = field(default_factory=list)  # VIDEO results: (mp4 name, thumbnail name)
    parent_id: str | None = None
    message_hash: str = field(default_factory=lambda: str(uuid.uuid4()))
    notify_hook: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    buttons: list[dict[str, Any]] = field(default_factory=list)
    modal_kind: Any = None  # for MODAL tasks: the ParsedAction that /submit/modal completes
    texts: list[str] | None = None  # describe / shorten results (their numbered prompts)
    last_notified: str | None = None
    owner: str = ""

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES

    def image_url(self) -> str | None:
        return f"{self.origin}/files/{self.image_name}" if self.image_name else None

    def video_json(self) -> dict[str, Any]:
        """The trueai fork's video fields (§3.5 TAI): ``videoUrl``, ``videoUrls`` and ``imageUrls`` with thumbnails."""
        pairs = [
            {"url": f"{self.origin}/files/{mp4}", "thumbnail": f"{self.origin}/files/{thumb}"}
            for mp4, thumb in self.videos
        ]
        return {"videoUrl": pairs[0]["url"] if pairs else None, "videoUrls": pairs or None, "imageUrls": pairs}

    def to_json(self) -> dict[str, Any]:
        """The camelCase task object of §3.5 (plus the video fields of a VIDEO task)."""
        size = self.image_size if self.status == SUCCESS else None
        body = {
            "id": self.id,
            "action": self.action,
            "customId": self.custom_id,
            "botType": self.bot_type,
            "status": self.status,
            "prompt": self.prompt,
            "promptEn": self.prompt_en,
            "description": self.description,
            "state": self.state,
            "submitTime": self.submit_time,
            "startTime": self.start_time,
            "finishTime": self.finish_time,
            "imageUrl": self.image_url(),
            "imageWidth": size[0] if size else None,
            "imageHeight": size[1] if size else None,
            "progress": self.progress,
            "failReason": self.fail_reason,
            "parentId": self.parent_id,
            "properties": dict(self.properties),
            "buttons": [dict(b) for b in self.buttons],
        }
        if self.videos:
            body.update(self.video_json())
        return body


@dataclass
class Submitted:
    """A SubmitResultVO (§3.4) and the HTTP status it goes out with."""

    code: int
    description: str
    result: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    http_status: int = 200
    task: ProxyTask | None = None

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": self.description,
            "result": self.result,
            "properties": self.properties,
        }


@dataclass
class SubmitContext:
    origin: str  # scheme://host of the request; result URLs are built on it
    path: str  # the full request path, for fail_job faults
    owner: str = ""
    forward_notify: bool = True


class TaskIds:
    """``currentTimeMillis`` + 3 random digits, unique within one engine."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._random = random.Random()

    def new(self) -> str:
        while True:
            candidate = f"{int(time.time() * 1000)}{self._random.randrange(1000):03d}"
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate


def prompt_version(prompt: str) -> float:
    """The model version a prompt asks for (``--v``/``--version``/``--niji``); 7 when absent."""
    match = _VERSION.search(prompt or "")
    if not match:
        return 7.0
    try:
        return float(match.group(2))
    except ValueError:
        return 7.0


def _button(custom_id: str, label: str = "", emoji: str = "") -> dict[str, Any]:
    return {"customId": custom_id, "emoji": emoji, "label": label, "type": 2, "style": 2}


def grid_buttons(job_hash: str) -> list[dict[str, Any]]:
    """U1–U4, 🔄, V1–V4 (after IMAGINE, VARIATION, REROLL and other grids)."""
    buttons = [_button(f"MJ::JOB::upsample::{i}::{job_hash}", f"U{i}") for i in range(1, 5)]
    buttons.append(_button(f"MJ::JOB::reroll::0::{job_hash}::SOLO", emoji="🔄"))
    buttons += [_button(f"MJ::JOB::variation::{i}::{job_hash}", f"V{i}") for i in range(1, 5)]
    return buttons


def _hd_keys(version: float) -> list[tuple[str, str]]:
    if version >= 8:
        return []
    if version >= 7:
        return [("upsample_v7_2x_subtle", "Upscale (Subtle)"), ("upsample_v7_2x_creative", "Upscale (Creative)")]
    if version >= 6.1:
        return [("upsample_v6r1_2x_subtle", "Upscale (Subtle)"), ("upsample_v6r1_2x_creative", "Upscale (Creative)")]
    if version >= 6:
        return [("upsample_v6_2x_subtle", "Upscale (Subtle)"), ("upsample_v6_2x_creative", "Upscale (Creative)")]
    if version >= 5:
        return [("upsample_v5_2x", "Upscale (2x)"), ("upsample_v5_4x", "Upscale (4x)")]
    return []


def _vary_zoom_pan(job_hash: str, version: float) -> list[dict[str, Any]]:
    buttons = [
        _button(f"MJ::JOB::low_variation::1::{job_hash}::SOLO", "Vary (Subtle)", "🪄"),
        _button(f"MJ::JOB::high_variation::1::{job_hash}::SOLO", "Vary (Strong)", "🪄"),
    ]
    if version >= 5:
        buttons.append(_button(f"MJ::Inpaint::1::{job_hash}::SOLO", "Vary (Region)", "🖌️"))
    if version < 8:  # V8 does pan and zoom through edits instead
        buttons += [
            _button(f"MJ::Outpaint::50::1::{job_hash}::SOLO", "Zoom Out 2x", "🔍"),
            _button(f"MJ::Outpaint::75::1::{job_hash}::SOLO", "Zoom Out 1.5x", "🔍"),
            _button(f"MJ::CustomZoom::1::{job_hash}", "Custom Zoom", "🔍"),
        ]
    return buttons


def upscale_buttons(job_hash: str, version: float, *, after_hd: bool = False) -> list[dict[str, Any]]:
    """Buttons of a single upscaled image (TAI ``OnUpscaleButtons``)."""
    buttons = (
        [] if after_hd else [_button(f"MJ::JOB::{key}::1::{job_hash}::SOLO", label) for key, label in _hd_keys(version)]
    )
    buttons += _vary_zoom_pan(job_hash, version)
    if not after_hd and 5 <= version < 8:
        buttons += [_button(f"MJ::JOB::pan_{d}::1::{job_hash}::SOLO", emoji=e) for d, e in PAN_EMOJI.items()]
    buttons.append(_button(f"MJ::JOB::reroll::0::{job_hash}::SOLO", emoji="🔄"))
    return buttons


def describe_buttons() -> list[dict[str, Any]]:
    buttons = [_button(f"MJ::Job::PicReader::{i}", emoji=NUMBER_EMOJI[i - 1]) for i in range(1, 5)]
    buttons.append(_button("MJ::Picread::Retry", emoji="🔄"))
    return buttons


def shorten_buttons() -> list[dict[str, Any]]:
    return [_button(f"MJ::Job::PromptAnalyzer::{i}", emoji=NUMBER_EMOJI[i - 1]) for i in range(1, 6)]


@dataclass(frozen=True)
class ParsedAction:
    """A customId read through the §3.7 grammar."""

    kind: str  # upscale, variation, reroll, upscale_hd, vary, inpaint, zoom, custom_zoom, pan, picreader, describe_retry, prompt_analyzer
    index: int = 1
    job_hash: str | None = None
    option: Any = None

    @property
    def needs_modal(self) -> bool:
        return self.kind in ("inpaint", "custom_zoom", "picreader", "prompt_analyzer")


_HD = re.compile(
    r"^upsample_(v7_2x_subtle|v7_2x_creative|v6r1_2x_subtle|v6r1_2x_creative|v6_2x_subtle|v6_2x_creative|v5_2x|v5_4x)$"
)


def parse_custom_id(custom_id: str) -> ParsedAction | None:
    """The action a customId asks for, or None when the grammar does not know it."""
    parts = custom_id.split("::")
    if len(parts) < 3 or parts[0] != "MJ":
        return None
    head = parts[1]
    if head == "JOB" and len(parts) >= 5:
        key, index_text, job_hash = parts[2], parts[3], parts[4]
        if not index_text.isdigit():
            return None
        index = int(index_text)
        if key == "upsample" and 1 <= index <= 4:
            return ParsedAction("upscale", index, job_hash)
        if key == "variation" and 1 <= index <= 4:
            return ParsedAction("variation", index, job_hash)
        if key == "reroll":
            return ParsedAction("reroll", 0, job_hash)
        if key in ("low_variation", "high_variation"):
            return ParsedAction("vary", 1, job_hash, "subtle" if key.startswith("low") else "strong")
        if key.startswith("pan_") and key[4:] in PAN_EMOJI:
            return ParsedAction("pan", 1, job_hash, key[4:])
        hd = _HD.match(key)
        if hd:
            return ParsedAction("upscale_hd", 1, job_hash, hd.group(1))
        return None
    if head == "Inpaint" and len(parts) >= 4:
        return ParsedAction("inpaint", 1, parts[3])
    if head == "Outpaint" and len(parts) >= 5 and parts[2] in ("50", "75"):
        return ParsedAction("zoom", 1, parts[4], 2.0 if parts[2] == "50" else 1.5)
    if head == "CustomZoom":
        return ParsedAction("custom_zoom", 1, parts[3] if len(parts) >= 4 else parts[2])
    if head == "Job" and parts[2] == "PicReader" and len(parts) == 4 and parts[3] in ("1", "2", "3", "4"):
        return ParsedAction("picreader", int(parts[3]))
    if head == "Picread" and parts[2] == "Retry":
        return ParsedAction("describe_retry")
    if head == "Job" and parts[2] == "PromptAnalyzer" and len(parts) == 4 and parts[3] in ("1", "2", "3", "4", "5"):
        return ParsedAction("prompt_analyzer", int(parts[3]))
    return None
