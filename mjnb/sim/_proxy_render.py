"""Pictures and texts of midjourney-proxy jobs, computed from a task's Recipe (runs in a worker thread)."""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageStat

from . import render
from ._proxy_tasks import NUMBER_EMOJI, Recipe
from ._state import decode_image

MAX_GRID_SIDE = 2048  # long side of any result; keeps PNG encoding in tens of milliseconds
BLEND_ASPECT = {"PORTRAIT": "2:3", "SQUARE": "1:1", "LANDSCAPE": "3:2"}
VARIATION_STRENGTH = 0.35
VARY_STRENGTH = {"subtle": 0.15, "strong": 0.45}

_ZOOM = re.compile(r"--zoom\s+(\d+(?:\.\d+)?)")


@dataclass
class Output:
    image: Image.Image | None = None
    texts: list[str] | None = None  # describe: 4 prompts; shorten: 5 prompts
    markdown: str | None = None  # the finalPrompt text of describe/shorten


def derive_seed(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def zoom_factor(prompt: str) -> float | None:
    match = _ZOOM.search(prompt or "")
    return float(match.group(1)) if match else None


def _fit(image: Image.Image, long_side: int) -> Image.Image:
    w, h = image.size
    if max(w, h) <= long_side:
        return image
    scale = long_side / max(w, h)
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def _grid(tiles: list[Image.Image]) -> Image.Image:
    return _fit(render.grid_from_tiles(tiles), MAX_GRID_SIDE)


def _tile_base(image: Image.Image) -> Image.Image:
    """A single image sized so that a grid of four of it fits MAX_GRID_SIDE."""
    return _fit(image.convert("RGB"), MAX_GRID_SIDE // 2)


def recipe_images(recipe: Recipe) -> list[str]:
    """The stored image names a recipe reads (its source, mask and image prompts)."""
    names = [recipe.source, recipe.options.get("mask"), *recipe.options.get("images", [])]
    return [name for name in names if name]


def produce(recipe: Recipe, blobs: dict[str, bytes]) -> tuple[Output, bytes | None]:
    """The job's result and its PNG (in a render process); ``blobs`` are the stored images it reads."""
    output = render_recipe(recipe, lambda name: decode_image(blobs[name or ""]))
    return output, (render.to_png(output.image) if output.image is not None else None)


def preview_pngs(recipe: Recipe, blobs: dict[str, bytes], side: int, percents: list[int]) -> dict[int, bytes]:
    """Progress previews by percent (in the preview process), drawn small from what the job starts from."""
    if recipe.kind in ("describe", "shorten"):
        return {}
    if recipe.source is not None and recipe.kind not in ("imagine", "blend"):
        start = decode_image(blobs[recipe.source]).convert("RGB")
        if recipe.kind in ("upscale", "variation") and recipe.index:
            start = render.grid_tile(start, recipe.index - 1)
        start.thumbnail((side, side))
    else:
        start = render.render_grid(recipe.prompt, recipe.seed, render.aspect_size(recipe.prompt, base=side))
    return {percent: render.to_png(render.preview(start, percent)) for percent in percents}


def render_recipe(recipe: Recipe, load: Callable[[str | None], Image.Image]) -> Output:
    """The result of a job; ``load(name)`` returns a stored image."""
    kind, prompt, seed = recipe.kind, recipe.prompt, recipe.seed
    seeds = [derive_seed(seed, kind, j) for j in range(4)]
    if kind in ("imagine", "edits", "blend"):
        return Output(_imagine_like(recipe, load))
    if kind == "describe":
        texts = describe_image(load(recipe.source))
        return Output(texts=texts, markdown="\n\n".join(f"{NUMBER_EMOJI[i]} {t}" for i, t in enumerate(texts)))
    if kind == "shorten":
        texts, markdown = shorten_prompt(prompt)
        return Output(texts=texts, markdown=markdown)
    source = load(recipe.source)
    if kind == "upscale":
        # One tile at the tile's resolution (a 2048² grid gives 1024² upscales), drawn with more detail.
        return Output(render.upscale_tile(source, recipe.index - 1, recipe.options.get("scene")))
    if kind == "variation":
        tile = render.grid_tile(source, recipe.index - 1)
        return Output(_grid([render.vary(tile, prompt, s, VARIATION_STRENGTH) for s in seeds]))
    if kind == "upscale_hd":
        # Twice the upscale's size; a plain grid's tile is drawn again at that size (detail, not a blow-up).
        w, h = source.size
        scale = min(2.0, MAX_GRID_SIDE / max(w, h))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        big = render.enlarge(source, size, recipe.options.get("scene"), int(recipe.options.get("tile", 0)))
        if "creative" in str(recipe.options.get("mode")):
            big = render.vary(big, prompt, seed, 0.12)
        return Output(big)
    base = _tile_base(source)
    if kind == "vary":
        strength = VARY_STRENGTH[recipe.options.get("strength", "subtle")]
        return Output(_grid([render.vary(base, prompt, s, strength) for s in seeds]))
    if kind == "inpaint":
        mask = load(recipe.options["mask"]).convert("L")
        if mask.size != base.size:
            mask = mask.resize(base.size, Image.Resampling.NEAREST)
        return Output(_grid([render.repaint_masked(base, mask, prompt, s) for s in seeds]))
    if kind == "zoom":
        factor = float(recipe.options["factor"])
        return Output(_grid([render.outpaint(base, factor, prompt, s) for s in seeds]))
    if kind == "pan":
        direction = recipe.options["direction"]
        return Output(_grid([render.pan(base, direction, prompt, s) for s in seeds]))
    raise ValueError(f"no renderer for recipe kind {kind!r}")


def _imagine_like(recipe: Recipe, load: Callable[[str | None], Image.Image]) -> Image.Image:
    prompt, seed = recipe.prompt, recipe.seed
    if recipe.kind == "blend":
        size = render.aspect_size(f"--ar {BLEND_ASPECT[recipe.options['dimensions']]}")
    elif recipe.kind == "edits":
        size = _fit(load(recipe.source), 1024).size
    else:
        size = render.aspect_size(prompt)
    grid = render.render_grid(prompt, seed, size)
    references = [load(name) for name in recipe.options.get("images", [])]
    if recipe.kind == "edits":
        references = [load(recipe.source)]
    if not references:
        return grid
    # Image prompts, blends and edits: each tile mixes the references (resized) with its own picture.
    tiles = []
    for i in range(4):
        tile = render.grid_tile(grid, i)
        mix = references[0].convert("RGB").resize(tile.size, Image.Resampling.LANCZOS)
        for k, ref in enumerate(references[1:], start=2):
            mix = Image.blend(mix, ref.convert("RGB").resize(tile.size, Image.Resampling.LANCZOS), 1.0 / k)
        weight = 0.4 if recipe.kind == "imagine" else 0.6
        tiles.append(Image.blend(tile, mix, weight))
    return render.grid_from_tiles(tiles)


_HUES = (
    (0, "crimson"),
    (25, "orange"),
    (50, "golden"),
    (75, "lime"),
    (130, "emerald"),
    (175, "teal"),
    (200, "azure"),
    (235, "cobalt"),
    (270, "violet"),
    (300, "magenta"),
    (335, "rose"),
    (360, "crimson"),
)
_SUBJECTS = (
    "abstract composition",
    "geometric landscape",
    "still life",
    "poster design",
    "stained glass window",
    "modernist painting",
    "paper collage",
    "architectural study",
)
_STYLES = ("soft gradients", "bold shapes", "flat colors", "minimalist layout", "layered forms", "clean edges")


def _hue_name(r: float, g: float, b: float) -> str:
    mx, mn = max(r, g, b), min(r, g, b)
    if mx - mn < 12:
        return "grey" if 60 < mx < 200 else ("black" if mx <= 60 else "white")
    if mx == r:
        hue = (60 * (g - b) / (mx - mn)) % 360
    elif mx == g:
        hue = 60 * (b - r) / (mx - mn) + 120
    else:
        hue = 60 * (r - g) / (mx - mn) + 240
    return min(_HUES, key=lambda item: abs(item[0] - hue))[1]


def _ratio(w: int, h: int) -> str:
    g = math.gcd(w, h) or 1
    a, b = w // g, h // g
    if a > 21 or b > 21:  # reduce odd sizes to a common ratio
        a, b = min(((x, y) for x in range(1, 22) for y in range(1, 22)), key=lambda p: abs(p[0] / p[1] - w / h))
    return f"{a}:{b}"


def describe_image(image: Image.Image) -> list[str]:
    """Four prompts that describe ``image``, always the same for the same pixels."""
    rgb = image.convert("RGB")
    small = rgb.resize((32, 32), Image.Resampling.BILINEAR)
    stat = ImageStat.Stat(small)
    r, g, b = stat.mean
    spread = sum(stat.stddev) / 3
    light = "dark" if (r + g + b) / 3 < 85 else ("bright" if (r + g + b) / 3 > 170 else "muted")
    contrast = "high contrast" if spread > 60 else "low contrast"
    colour = _hue_name(r, g, b)
    digest = hashlib.sha256(small.tobytes()).digest()
    aspect = f"--ar {_ratio(*rgb.size)}"
    texts = []
    for i in range(4):
        # Rotations of the lists from the image's hash: four distinct prompts, fixed per image.
        subject = _SUBJECTS[(digest[0] + i) % len(_SUBJECTS)]
        style = _STYLES[(digest[1] + 3 * i) % len(_STYLES)]
        texts.append(f"a {light} {colour} {subject} with {style}, {contrast} {aspect}")
    return texts


_STOP = {"a", "an", "the", "of", "in", "on", "with", "and", "at", "by", "for", "to", "very", "is"}


def shorten_prompt(prompt: str) -> tuple[list[str], str]:
    """Five ever shorter versions of ``prompt`` and the markdown the proxy shows (§3.5)."""
    words = render.words_of(prompt, limit=60)
    params = " ".join(m.group(0) for m in re.finditer(r"--[a-zA-Z]+(?:\s+(?!--)[^\s]+)?", prompt))
    content = [w for w in words if w.lower() not in _STOP] or words or ["image"]
    important = sorted(content, key=lambda w: (-len(w), content.index(w)))[:5]
    texts = []
    for i in range(5):
        keep = max(1, round(len(content) * (1 - i / 6)))
        texts.append(" ".join(content[:keep]) + (f" {params}" if params else ""))
    lines = ["## Important tokens", ", ".join(f"**{w}**" for w in important), "", "## Shortened prompts"]
    for i, text in enumerate(texts):
        lines += [f"{NUMBER_EMOJI[i]} {text}", ""]
    return texts, "\n".join(lines).rstrip()


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size
