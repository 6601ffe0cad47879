"""EvoLink's models, limits and input checks (PROTOCOLS.md §1.2, §1.3): what ``evolink`` builds its
requests from.  Nothing here builds a request or reads an answer.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .._models import TaskStatus
from ._common import (
    checked_choice,
    invalid,
    required_text,
    text_or_none,
)

GENERATIONS_PATH = "/v1/images/generations"
TASK_PREFIX = "task-unified-"
_MAX_PROMPT = 8192
MAX_IMAGE_PROMPTS = 20
MAX_CALLBACK = 2048
_CANVAS_SIDES = (64, 4096)  # ⚠️ not documented for V7; LEGNEXT's mask sizes go to 4096
SPEEDS = ("draft", "fast", "turbo")
EDIT_SPEEDS = ("fast", "turbo")  # the edit docs name these two; draft is unconfirmed (§6.10)
PAN_SCALE = (1.1, 3.0)  # ⚠️ LEGNEXT's range
ZOOM_SCALE = (1.1, 2.0)  # ⚠️ LEGNEXT's range
DEFAULT_PAN_SCALE = 1.5  # ⚠️ Midjourney's pan extends a side by half; EvoLink documents no default
REMIX_MODES = ("strong", "subtle")  # ⚠️ only "strong" appears in the docs
STATUSES = {
    "pending": TaskStatus.QUEUED,
    "processing": TaskStatus.RUNNING,
    "completed": TaskStatus.SUCCEEDED,
    "failed": TaskStatus.FAILED,
    "cancelled": TaskStatus.CANCELLED,
    "canceled": TaskStatus.CANCELLED,
}
_LOCKED_FLAG = re.compile(r"(?<!\S)(?:--|—)(v|version|niji)(?!\S)", re.IGNORECASE)
_SPEED_FLAG = re.compile(r"(?<!\S)(?:--|—)(fast|turbo|draft|relax)(?!\S)", re.IGNORECASE)
ZOOM_FLAG = re.compile(r"(?<!\S)--zoom\s+(\S+)")
FIRST_PARAM = re.compile(r"(?:^|\s)--\w")
_DIRECTIONS = ("left", "right", "up", "down")

#: Unified follow-up → (model, fixed model_params).  V1–V4 and vary_* use ``mj-v7-variation``,
#: which no EvoLink document describes (❓ §1.2); its ``type`` follows ``mj-v8.1-variation``.
RECIPES: dict[str, tuple[str, dict[str, Any]]] = {
    **{f"U{n}": ("mj-v7-upscale", {"type": "standard"}) for n in range(1, 5)},
    "upscale_creative": ("mj-v7-upscale", {"type": "creative"}),
    **{f"V{n}": ("mj-v7-variation", {"type": "strong"}) for n in range(1, 5)},
    "vary_subtle": ("mj-v7-variation", {"type": "subtle"}),
    "vary_strong": ("mj-v7-variation", {"type": "strong"}),
    **{f"pan_{d}": ("mj-v7-pan", {"direction": d}) for d in _DIRECTIONS},
    "zoom_out_2x": ("mj-v7-outpaint", {"scale": 2}),
    "zoom_out_1.5x": ("mj-v7-outpaint", {"scale": 1.5}),
    "custom_zoom": ("mj-v7-outpaint", {}),
    "remix": ("mj-v7-remix", {}),
    "enhance": ("mj-v7-enhance", {}),
    "vary_region": ("mj-v7-inpaint", {}),
    "edit": ("mj-v7-edit", {}),
    "reroll": ("mj-v7", {}),
}
#: Whether a model takes a top-level prompt: required, optional, or not at all.
PROMPT_NEEDS = {"mj-v7-remix": "required", "mj-v7-pan": "optional", "mj-v7-outpaint": "optional"}
#: What finished single-image results offer; a grid offers these plus U/V per image.
ON_ANY_IMAGE = (
    "vary_region",
    *(f"pan_{d}" for d in _DIRECTIONS),
    "zoom_out_2x",
    "zoom_out_1.5x",
    "custom_zoom",
    "remix",
    "edit",
)
NO_FOLLOW_UPS = frozenset({"mj-v7-remove-bg"})


# -- input checks ----------------------------------------------------------------------------------
def _int(value: Any, field: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"{what} must be whole numbers of pixels, got {value!r}")
    return value


def _pair(value: Any, size: int, field: str, shape: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) != size:
        raise invalid(field, f"expected {shape}, got {value!r}")
    return tuple(_int(v, field, shape) for v in value)


def geometry(canvas: Any, image_box: Any) -> tuple[dict[str, int], dict[str, int]]:
    """EvoLink's ``canvas`` and ``img_pos`` from ``(w, h)`` and ``(x, y, w, h)``."""
    cw, ch = _pair(canvas, 2, "canvas", "(width, height)")
    low, high = _CANVAS_SIDES
    if not (low <= cw <= high and low <= ch <= high):
        raise invalid("canvas", f"{cw}×{ch} is out of range; each side must be {low} to {high} px")
    x, y, bw, bh = _pair(image_box, 4, "image_box", "(x, y, width, height)")
    if bw < 1 or bh < 1:
        raise invalid("image_box", f"width and height must be at least 1 px, got {bw}×{bh}")
    return {"width": cw, "height": ch}, {"width": bw, "height": bh, "x": x, "y": y}


def prompt_with_speed(prompt: str | None, speed: str | None) -> str | None:
    """The prompt a Task keeps: what was sent, plus the chosen speed as its flag (EvoLink sends it
    in ``model_params``), so that a reroll or an enhance after a restart knows it."""
    if prompt is None or speed is None or re.search(rf"(?<!\S)--{speed}(?!\S)", prompt):
        return prompt
    return f"{prompt} --{speed}"


def one_of(allowed: tuple[str, ...]) -> Any:
    return lambda value, field: checked_choice(value, field, allowed)


def image_number_of(value: Any, field: str = "image_number") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
        raise invalid(field, f"{value!r} is not allowed; use 0–3 (the 0-based image)")
    return value


def mask_areas(mask: Any) -> list[dict[str, Any]]:
    """``mask.areas``: ``[{"width", "height", "points": [x1, y1, …]}]`` (a ``{"areas": …}`` is accepted too)."""
    areas = mask.get("areas") if isinstance(mask, Mapping) else mask
    shape = "a list of {width, height, points: [x1, y1, x2, y2, …]} areas (at least 3 points each)"
    if not isinstance(areas, (list, tuple)) or not areas:
        raise invalid("mask", f"expected {shape}")
    for area in areas:
        points = area.get("points") if isinstance(area, Mapping) else None
        sides = [area.get(k) for k in ("width", "height")] if isinstance(area, Mapping) else []
        if (
            len(sides) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sides)
            or not isinstance(points, (list, tuple))
            or len(points) < 6
            or len(points) % 2
            or any(isinstance(p, bool) or not isinstance(p, (int, float)) for p in points)
        ):
            raise invalid("mask", f"expected {shape}")
    return [dict(area) for area in areas]


def checked_prompt(value: Any, field: str = "prompt") -> str:
    """A prompt EvoLink's ``mj-v7`` family accepts: 1–8192 characters, no ``--v``/``--version``/``--niji``."""
    text = required_text(value, field, max_chars=_MAX_PROMPT)
    locked = _LOCKED_FLAG.search(text)
    if locked:
        raise invalid(
            field, f"--{locked[1]} is not allowed on evolink: mj-v7 is locked to version 7 and has no niji; remove it"
        )
    return text


def without_speed_flags(prompt: str) -> tuple[str, str | None]:
    """The prompt without ``--fast``/``--turbo``/``--draft`` (EvoLink strips them) and the speed they asked."""
    flags = {m.lower() for m in _SPEED_FLAG.findall(prompt)}
    if "relax" in flags:
        raise invalid("prompt", "--relax is not offered by evolink; speeds are draft, fast and turbo")
    text = " ".join(_SPEED_FLAG.sub(" ", prompt).split())
    if len(flags) > 1:
        raise invalid("prompt", f"asks for several speeds ({', '.join(sorted(flags))}); keep one")
    return text, (flags.pop() if flags else None)


def error_parts(body: Any) -> tuple[Any, str | None, str | None, str | None]:
    """``(code, message, type, param)`` of EvoLink's ``{"error": {…}}``; ``code`` may be a string or an int."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, str):
        return None, text_or_none(error), None, None
    if not isinstance(error, Mapping):
        return None, None, None, None
    message, kind, param = (text_or_none(error.get(key)) for key in ("message", "type", "param"))
    return error.get("code"), message, kind, param
