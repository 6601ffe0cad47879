"""EvoLink request validation (PROTOCOLS §1.2, §1.3, §1.7, §1.8): a JSON body in, an :class:`Order` out.

Every refusal is an :class:`EvoError` answered with the OpenAI-style envelope
``{error:{code, message, type, param}}``; ``param`` names the offending field.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._guard import decode_json

GENERATE = "mj-v7"
FOLLOW_UP_MODELS = (
    "mj-v7-upscale",
    "mj-v7-variation",
    "mj-v7-remix",
    "mj-v7-pan",
    "mj-v7-outpaint",
    "mj-v7-inpaint",
    "mj-v7-edit",
    "mj-v7-enhance",
)
UPLOAD_MODELS = ("mj-v7-retexture", "mj-v7-remove-bg", "mj-v7-upload-paint")
MODELS = (GENERATE, *FOLLOW_UP_MODELS, *UPLOAD_MODELS)
# Models whose result is one image; every other model makes four.
SINGLE_IMAGE_MODELS = ("mj-v7-upscale", "mj-v7-remove-bg")
SPEEDS = ("draft", "fast", "turbo")
PAN_DIRECTIONS = ("left", "right", "up", "down")
# ⚠️ LEGNEXT's integer directions, accepted as well as the strings EvoLink's example uses.
PAN_DIRECTION_NUMBERS = {0: "down", 1: "right", 2: "up", 3: "left"}
MAX_PROMPT = 8192
MAX_PROMPT_IMAGES = 20
MAX_CALLBACK_URL = 2048
CANVAS_RANGE = (64, 4096)  # ⚠️ not documented; LEGNEXT's image sizes go up to 4096
IMG_POS_MAX = 8192
PAN_SCALE = (1.1, 3.0)  # ⚠️ LEGNEXT's range
OUTPAINT_SCALE = (1.1, 2.0)  # ⚠️ LEGNEXT's range
TASK_PREFIX = "task-unified-"
INVALID_TASK_ID_MESSAGE = "Invalid task ID format, must start with 'task-unified-'"

_IMAGE_URL_RE = re.compile(r"^(https?://\S+|data:image/\S+)$")
_LOCKED_VERSION_RE = re.compile(r"(?<!\S)--(v|version|niji)(?=\s|$)")
_SPEED_FLAG_RE = re.compile(r"(?<!\S)--(fast|turbo|draft)(?=\s|$)")


class EvoError(Exception):
    """A refusal answered with the §1.7 envelope."""

    def __init__(
        self, status: int, code: str, message: str, param: str | None = None, type: str = "invalid_request_error"
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param, self.type = status, code, message, param, type


def invalid(param: str, message: str) -> EvoError:
    return EvoError(400, "invalid_parameters", message, param)


def invalid_task_id(param: str = "task_id") -> EvoError:
    return EvoError(400, "invalid_task_id", INVALID_TASK_ID_MESSAGE, param)


@dataclass
class Order:
    """A validated create-task request."""

    model: str
    prompt: str
    speed: str
    callback_url: str | None
    source_task_id: str | None = None
    image_number: int = 0
    image_urls: list[str] = field(default_factory=list)  # uploads, or image prompts for mj-v7
    params: dict[str, Any] = field(default_factory=dict)  # normalised model_params


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = decode_json(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise invalid("body", "The request body must be a JSON object")
    return body


def parse_order(body: dict[str, Any], allow_insecure_callbacks: bool) -> Order:
    model = body.get("model")
    if model not in MODELS:
        raise invalid("model", f"model must be one of {', '.join(MODELS)} (got {model!r})")
    if body.get("quality") is not None:
        raise invalid("quality", "quality is only supported by the mj-v8.1 models")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise invalid("prompt", "prompt must be a string")
    prompt = (prompt or "").strip()
    if len(prompt) > MAX_PROMPT:
        raise invalid("prompt", f"prompt must be at most {MAX_PROMPT} characters, got {len(prompt)}")
    params = body.get("model_params") or {}
    if not isinstance(params, dict):
        raise invalid("model_params", "model_params must be an object")
    order = Order(
        model=model,
        prompt=prompt,
        speed=_choice(params, "speed", SPEEDS, "fast"),
        callback_url=check_callback_url(body.get("callback_url"), allow_insecure_callbacks),
    )
    if (
        model in ("mj-v7", "mj-v7-remix", "mj-v7-inpaint", "mj-v7-edit", "mj-v7-retexture", "mj-v7-upload-paint")
        and not prompt
    ):
        raise invalid("prompt", f"prompt is required for {model}")
    if model == GENERATE:
        _parse_generate_prompt(order)
    if model in FOLLOW_UP_MODELS:
        _parse_source(order, params)
    if model in UPLOAD_MODELS:
        order.image_urls = _image_urls(body.get("image_urls"))
    check = _MODEL_PARAMS.get(model)
    if check is not None:
        check(order, params)
    return order


def _parse_generate_prompt(order: Order) -> None:
    locked = _LOCKED_VERSION_RE.search(order.prompt)
    if locked:
        raise invalid("prompt", f"--{locked.group(1)} is not supported: mj-v7 is locked to Midjourney V7")
    # Speed flags are removed, as the service does; model_params.speed decides.
    order.prompt = re.sub(r"\s{2,}", " ", _SPEED_FLAG_RE.sub("", order.prompt)).strip()
    words = order.prompt.split()
    urls = []
    while words and _IMAGE_URL_RE.match(words[0]):
        urls.append(words.pop(0))
    if len(urls) > MAX_PROMPT_IMAGES:
        raise invalid("prompt", f"at most {MAX_PROMPT_IMAGES} image URLs may start the prompt, got {len(urls)}")
    # Parameters come last in an MJ prompt: the text is what precedes the first --flag.
    first_flag = next((i for i, w in enumerate(words) if w.startswith("--")), len(words))
    text = " ".join(words[:first_flag])
    if len(urls) == 1 and not text:
        raise invalid("prompt", "one image URL needs a text prompt too (or give two or more images)")
    if not urls and not text:
        raise invalid("prompt", "prompt needs a description, not only parameters")
    order.image_urls = urls


def _parse_source(order: Order, params: dict[str, Any]) -> None:
    task_id = params.get("task_id")
    if task_id is None or task_id == "":
        raise invalid("model_params.task_id", f"model_params.task_id is required for {order.model}")
    if not isinstance(task_id, str):
        raise invalid("model_params.task_id", "model_params.task_id must be a string")
    if not task_id.startswith(TASK_PREFIX):
        raise invalid_task_id("model_params.task_id")
    order.source_task_id = task_id
    number = params.get("image_number")
    if number is None:
        # ⚠️ The V7 edit doc marks image_number required; the other models default to 0.
        if order.model == "mj-v7-edit":
            raise invalid("model_params.image_number", "model_params.image_number (0..3) is required for mj-v7-edit")
        number = 0
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 3:
        raise invalid("model_params.image_number", f"model_params.image_number must be an integer 0..3, got {number!r}")
    order.image_number = number


def _image_urls(value: Any) -> list[str]:
    if value is None or value == []:
        raise invalid("image_urls", "image_urls is required: a list with one image URL")
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        raise invalid("image_urls", "image_urls must be a list of URL strings")
    if len(value) > 1:
        raise invalid("image_urls", f"image_urls takes at most 1 image, got {len(value)}")
    if not _IMAGE_URL_RE.match(value[0]):
        raise invalid("image_urls", "image_urls[0] must be an http(s) URL or an image data URL")
    return list(value)


def _choice(params: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = params.get(name)
    if value is None:
        return default
    if value not in allowed:
        raise invalid(
            f"model_params.{name}", f"model_params.{name} must be one of {', '.join(allowed)} (got {value!r})"
        )
    return str(value)


def _number(params: dict[str, Any], name: str, bounds: tuple[float, float], default: float) -> float:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not bounds[0] <= value <= bounds[1]:
        raise invalid(
            f"model_params.{name}", f"model_params.{name} must be a number {bounds[0]}..{bounds[1]}, got {value!r}"
        )
    return float(value)


def _int(obj: dict[str, Any], key: str, where: str, low: int, high: int) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"{where}.{key}", f"{where}.{key} must be an integer {low}..{high}, got {value!r}")
    return value


def _box(params: dict[str, Any], name: str, keys: dict[str, tuple[int, int]]) -> dict[str, int]:
    value = params.get(name)
    where = f"model_params.{name}"
    if not isinstance(value, dict):
        raise invalid(where, f"{where} is required: an object with {', '.join(keys)}")
    return {key: _int(value, key, where, *bounds) for key, bounds in keys.items()}


def parse_mask(params: dict[str, Any]) -> list[dict[str, Any]]:
    """``mask.areas`` polygons, each ``{width, height, points:[x1,y1,…]}`` (≥ 3 points)."""
    mask = params.get("mask")
    areas = mask.get("areas") if isinstance(mask, dict) else None
    if not isinstance(areas, list) or not areas:
        raise invalid("model_params.mask", "model_params.mask.areas is required: a list of {width, height, points}")
    checked = []
    for i, area in enumerate(areas):
        where = f"model_params.mask.areas[{i}]"
        if not isinstance(area, dict):
            raise invalid(where, f"{where} must be an object with width, height, points")
        points = area.get("points")
        if (
            not isinstance(points, list)
            or len(points) < 6
            or len(points) % 2
            or not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in points)
        ):
            raise invalid(f"{where}.points", f"{where}.points must be a flat [x1,y1,x2,y2,…] list of at least 3 points")
        checked.append(
            {
                "width": _int(area, "width", where, 1, IMG_POS_MAX),
                "height": _int(area, "height", where, 1, IMG_POS_MAX),
                "points": points,
            }
        )
    return checked


def _canvas_and_position(order: Order, params: dict[str, Any]) -> None:
    order.params["canvas"] = _box(params, "canvas", {"width": CANVAS_RANGE, "height": CANVAS_RANGE})
    order.params["img_pos"] = _box(
        params,
        "img_pos",
        {
            "width": (1, IMG_POS_MAX),
            "height": (1, IMG_POS_MAX),
            "x": (-IMG_POS_MAX, IMG_POS_MAX),
            "y": (-IMG_POS_MAX, IMG_POS_MAX),
        },
    )


def _pan(order: Order, params: dict[str, Any]) -> None:
    direction = params.get("direction")
    if isinstance(direction, int) and not isinstance(direction, bool):
        direction = PAN_DIRECTION_NUMBERS.get(direction, direction)
    if direction not in PAN_DIRECTIONS:
        raise invalid(
            "model_params.direction",
            f"model_params.direction must be one of left, right, up, down (or 0..3), got {params.get('direction')!r}",
        )
    order.params["direction"] = direction
    order.params["scale"] = _number(params, "scale", PAN_SCALE, 1.5)


def _upload_paint(order: Order, params: dict[str, Any]) -> None:
    _canvas_and_position(order, params)
    order.params["mask"] = parse_mask(params)


_MODEL_PARAMS: dict[str, Callable[[Order, dict[str, Any]], None]] = {
    "mj-v7-upscale": lambda o, p: o.params.update(type=_choice(p, "type", ("standard", "creative"), "standard")),
    # ⚠️ mj-v7-variation is undocumented; its type follows mj-v8.1-variation.
    "mj-v7-variation": lambda o, p: o.params.update(type=_choice(p, "type", ("subtle", "strong"), "strong")),
    # ⚠️ Only "strong" is documented for remix; "subtle" is MJ's other remix strength.
    "mj-v7-remix": lambda o, p: o.params.update(mode=_choice(p, "mode", ("subtle", "strong"), "strong")),
    "mj-v7-pan": _pan,
    "mj-v7-outpaint": lambda o, p: o.params.update(scale=_number(p, "scale", OUTPAINT_SCALE, 2.0)),
    "mj-v7-inpaint": lambda o, p: o.params.update(mask=parse_mask(p)),
    "mj-v7-edit": _canvas_and_position,
    "mj-v7-upload-paint": _upload_paint,
}


def check_callback_url(url: Any, allow_insecure: bool) -> str | None:
    """§1.8: HTTPS, ≤ 2048 characters, no private or loopback host (unless tests allow it)."""
    if url is None or url == "":
        return None
    if not isinstance(url, str):
        raise invalid("callback_url", "callback_url must be a string")
    if len(url) > MAX_CALLBACK_URL:
        raise invalid("callback_url", f"callback_url must be at most {MAX_CALLBACK_URL} characters, got {len(url)}")
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise invalid("callback_url", "callback_url must be an absolute https:// URL")
    if allow_insecure:
        return url
    if parts.scheme != "https":
        raise invalid("callback_url", "callback_url must use HTTPS")
    if host == "localhost" or host.endswith(".localhost") or _is_private(host):
        raise invalid("callback_url", "callback_url must not point at a private or loopback address")
    return url


def _is_private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: the simulator has no DNS to resolve it
    return not address.is_global or address.is_multicast
