"""What each AceData action draws: pure Pillow work, run in a worker thread by the job runner.

Sizes (⚠️ chosen for speed, not measured from the service): a grid is rendered with its
longer side 1024 px, so one tile is 512; ``upscaleN`` returns that tile; ``upscale_2x``/
``_4x`` enlarge it. Results that make four images (variations, zoom, pan, region edits) are
four tiles of the source's size assembled into a 2×2 grid.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from PIL import Image

from . import render

GRID_SIDE = 1024
MAX_TILE_SIDE = 1024
SKETCH_SIDE = 256
_VARIATION_STRENGTH = {"variation": 0.45, "variation_subtle": 0.2, "variation_strong": 0.55}
_IMAGE_PROMPT_WEIGHT = 0.35


@dataclass
class Output:
    """A finished picture: the raw image, its four tiles when it is a grid, and its kind."""

    image: Image.Image
    tiles: list[Image.Image] | None
    kind: str  # "grid" | "single" | "upscaled"
    scene: tuple[str, int] | None = None  # (prompt, seed) when the grid is render.render_grid's, unmixed


def derive_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (same parts, same picture)."""
    return zlib.crc32(":".join(map(str, parts)).encode()) & 0x7FFFFFFF


def _grid_of(tiles: list[Image.Image]) -> Output:
    return Output(render.grid_from_tiles(tiles), tiles, "grid")


def _capped(image: Image.Image) -> Image.Image:
    image = image.convert("RGB")
    if max(image.size) <= MAX_TILE_SIDE:
        return image
    scale = MAX_TILE_SIDE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _vary(source: Image.Image, prompt: str, seed: int, strength: float) -> list[Image.Image]:
    source = _capped(source)
    return [render.vary(source, prompt, seed + i, strength) for i in range(4)]


def generate(prompt: str, seed: int, image_prompts: list[Image.Image], hd: bool = False) -> Output:
    """A fresh 2×2 grid; ``hd`` doubles its resolution (the service's 2K output)."""
    base = 2 * GRID_SIDE if hd else GRID_SIDE
    grid = render.render_grid(prompt, seed, size=render.aspect_size(prompt, base=base)).convert("RGB")
    tiles = [render.grid_tile(grid, i).convert("RGB") for i in range(4)]
    if image_prompts:
        # An image prompt steers the picture: every tile leans towards the first reference.
        reference = image_prompts[0].convert("RGB")
        tiles = [Image.blend(t, reference.resize(t.size), _IMAGE_PROMPT_WEIGHT) for t in tiles]
        return _grid_of(tiles)
    return Output(grid, tiles, "grid", scene=(prompt, seed))


def sketch(prompt: str, seed: int) -> Image.Image:
    """A small render of the same grid, which progress previews are made from."""
    return render.render_grid(prompt, seed, size=render.aspect_size(prompt, base=SKETCH_SIDE)).convert("RGB")


def follow_up(
    action: str,
    source: Image.Image,
    prompt: str,
    seed: int,
    mask: Image.Image | None,
    scene: tuple[str, int] | None = None,
) -> Output:
    """The result of an imagine follow-up applied to the raw image it names.

    ``upscaleN`` is tile N at the tile's resolution (half the grid's side), drawn again with an
    upscale's detail when ``scene`` (the grid's prompt and seed) says how the tile was drawn.
    """
    if action == "reroll":
        return generate(prompt, seed, [])
    if action.startswith("upscale") and action[-1].isdigit():
        index0 = int(action[-1]) - 1
        return Output(render.upscale_tile(source, index0, scene), None, "single")
    if action in ("upscale_2x", "upscale_4x"):
        factor = 2 if action == "upscale_2x" else 4
        return Output(
            source.convert("RGB").resize((source.width * factor, source.height * factor), Image.Resampling.LANCZOS),
            None,
            "upscaled",
        )
    if action.startswith("variation") and action[-1].isdigit():
        tile = render.grid_tile(source, int(action[-1]) - 1)
        return _grid_of(_vary(tile, prompt, seed, _VARIATION_STRENGTH["variation"]))
    if action in ("variation_subtle", "variation_strong"):
        return _grid_of(_vary(source, prompt, seed, _VARIATION_STRENGTH[action]))
    if action == "variation_region":
        assert mask is not None
        base = source.convert("RGB")
        return _grid_of([render.repaint_masked(base, mask, prompt, seed + i).convert("RGB") for i in range(4)])
    if action.startswith("zoom_out"):
        zoom = 2.0 if action == "zoom_out_2x" else 1.5
        base = _capped(source)
        # A zoom-out keeps the resolution and shows more around the subject, as MJ does.
        return _grid_of([render.outpaint(base, zoom, prompt, seed + i).convert("RGB") for i in range(4)])
    if action.startswith("pan_"):
        base = _capped(source)
        return _grid_of([render.pan(base, action[4:], prompt, seed + i).convert("RGB") for i in range(4)])
    raise ValueError(f"no renderer for action {action!r}")


def edit(source: Image.Image, mask: Image.Image | None, prompt: str, seed: int) -> Output:
    """/midjourney/edits: four edits of the source; with a mask only its white pixels change."""
    base = _capped(source)
    if mask is None:
        tiles = [render.vary(base, prompt, seed + i, 0.5) for i in range(4)]
    else:
        if mask.size != base.size:
            mask = mask.resize(base.size, Image.Resampling.NEAREST)
        tiles = [render.repaint_masked(base, mask, prompt, seed + i).convert("RGB") for i in range(4)]
    return _grid_of(tiles)


def thumbnail(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BILINEAR
    )
