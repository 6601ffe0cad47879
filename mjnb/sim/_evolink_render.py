"""What each EvoLink ``mj-v7-*`` model draws: pure Pillow work, run in a worker thread.

⚠️ Sizes are chosen for speed: ``mj-v7`` renders a 2×2 grid with its longer side 1024 px
(512 for ``draft``) and returns its four tiles as separate images; follow-ups keep the
source's size unless their geometry says otherwise (upscale ×2, canvas edits, pan/outpaint).
"""

from __future__ import annotations

import zlib
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageOps

from . import render

MAX_UPLOAD_SIDE = 2048
_VARIATION = {"subtle": 0.2, "strong": 0.55}
_REMIX = {"subtle": 0.35, "strong": 0.7}


def derive_seed(*parts: object) -> int:
    return zlib.crc32(":".join(map(str, parts)).encode()) & 0x7FFFFFFF


def _limited(image: Image.Image, max_side: int = MAX_UPLOAD_SIDE) -> Image.Image:
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )


def polygon_mask(size: tuple[int, int], areas: list[dict[str, Any]]) -> Image.Image:
    """An L mask of ``size``: 255 inside the polygons, whose points refer to each area's width×height."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for area in areas:
        sx, sy = size[0] / area["width"], size[1] / area["height"]
        points = area["points"]
        draw.polygon([(points[i] * sx, points[i + 1] * sy) for i in range(0, len(points), 2)], fill=255)
    return mask


def _blends(source: Image.Image, prompt: str, seed: int, strength: float, count: int = 4) -> list[Image.Image]:
    return [render.vary(source, prompt, seed + i, strength) for i in range(count)]


def generate(prompt: str, seed: int, draft: bool, image_prompts: list[Image.Image]) -> list[Image.Image]:
    grid = render.render_grid(prompt, seed, size=render.aspect_size(prompt, base=512 if draft else 1024))
    tiles = [render.grid_tile(grid, i).convert("RGB") for i in range(4)]
    if image_prompts:
        reference = image_prompts[0].convert("RGB")
        tiles = [Image.blend(t, reference.resize(t.size), 0.35) for t in tiles]
    return tiles


def upscale(
    source: Image.Image, kind: str, prompt: str, seed: int, scene: tuple[tuple[str, int], int] | None = None
) -> list[Image.Image]:
    """×2; ``scene`` ((prompt, seed) of the generation, image number) redraws the image at that size with detail."""
    size = (source.width * 2, source.height * 2)
    big = render.enlarge(source, size, scene[0] if scene else None, scene[1] if scene else 0)
    if kind == "creative":
        big = Image.blend(big, render.render_image(prompt, seed, big.size).convert("RGB"), 0.15)
    return [big]


def variation(source: Image.Image, kind: str, prompt: str, seed: int) -> list[Image.Image]:
    return _blends(source, prompt, seed, _VARIATION[kind])


def remix(source: Image.Image, mode: str, prompt: str, seed: int) -> list[Image.Image]:
    return _blends(source, prompt, seed, _REMIX[mode])


def enhance(source: Image.Image, prompt: str, seed: int) -> list[Image.Image]:
    """Draft → full quality: twice the size, lightly re-rendered."""
    big = source.convert("RGB").resize((source.width * 2, source.height * 2), Image.Resampling.LANCZOS)
    return _blends(big, prompt, seed, 0.15)


def place(
    source: Image.Image, canvas: tuple[int, int], box: tuple[int, int, int, int], prompt: str, seed: int
) -> list[Image.Image]:
    """The source scaled to the box and placed on the canvas; the model fills the rest."""
    return [render.compose_canvas(source, canvas, box, prompt, seed + i).convert("RGB") for i in range(4)]


def pan(source: Image.Image, direction: str, scale: float, prompt: str, seed: int) -> list[Image.Image]:
    """The canvas grows ``scale``× towards ``direction``; the source keeps its pixels on the far side."""
    w, h = source.size
    if direction in ("left", "right"):
        canvas = (round(w * scale), h)
        box = (0 if direction == "right" else canvas[0] - w, 0, w, h)
    else:
        canvas = (w, round(h * scale))
        box = (0, 0 if direction == "down" else canvas[1] - h, w, h)
    return place(source, canvas, box, prompt, seed)


def outpaint(source: Image.Image, scale: float, prompt: str, seed: int) -> list[Image.Image]:
    """The canvas grows ``scale``× on every side, the source centred in it."""
    w, h = source.size
    canvas = (round(w * scale), round(h * scale))
    return place(source, canvas, ((canvas[0] - w) // 2, (canvas[1] - h) // 2, w, h), prompt, seed)


def inpaint(source: Image.Image, areas: list[dict[str, Any]], prompt: str, seed: int) -> list[Image.Image]:
    base = source.convert("RGB")
    mask = polygon_mask(base.size, areas)
    return [render.repaint_masked(base, mask, prompt, seed + i).convert("RGB") for i in range(4)]


def upload_paint(source: Image.Image, params: dict[str, Any], prompt: str, seed: int) -> list[Image.Image]:
    canvas = (params["canvas"]["width"], params["canvas"]["height"])
    pos = params["img_pos"]
    mask = polygon_mask(canvas, params["mask"])
    placed = place(_limited(source), canvas, (pos["x"], pos["y"], pos["width"], pos["height"]), prompt, seed)
    return [render.repaint_masked(image, mask, prompt, seed + 100 + i).convert("RGB") for i, image in enumerate(placed)]


def retexture(source: Image.Image, prompt: str, seed: int) -> list[Image.Image]:
    """The source's shapes and shading, the prompt's colours."""
    base = _limited(source, 1024).convert("RGB")
    shading = ImageOps.autocontrast(ImageOps.grayscale(base)).convert("RGB")
    return [
        ImageChops.screen(
            ImageChops.multiply(render.render_image(prompt, seed + i, base.size).convert("RGB"), shading),
            shading.point(lambda v: v // 4),
        )
        for i in range(4)
    ]


def remove_background(source: Image.Image) -> list[Image.Image]:
    """A cut-out: pixels close to the border's colour become transparent."""
    base = _limited(source).convert("RGB")
    w, h = base.size
    border = [base.getpixel((x, y)) for x, y in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    background = tuple(sorted(channel)[len(channel) // 2] for channel in zip(*border))
    distance = ImageChops.difference(base, Image.new("RGB", base.size, background)).convert("L")
    alpha = distance.point(lambda v: 255 if v > 24 else 0)
    cut = base.convert("RGBA")
    cut.putalpha(alpha)
    return [cut]
