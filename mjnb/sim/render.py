"""Deterministic pictures for the simulator: the same input gives the same bytes, another prompt
gives a visibly different picture (a landscape whose palette and layout come from a hash of prompt
and seed, drawn anti-aliased by ``_scene``, with the prompt's words as a caption).

Grids are four pictures of a tile's size; ``render_image(..., detail=1)`` draws a tile again with
the finer detail an upscale shows. PNGs are encoded by ``to_png`` without Pillow's adaptive
filtering: about half the time for the same pixels, which matters with hundreds of jobs at once.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ._scene import draw_scene

MAX_SIDE = 8192
DIRECTIONS = ("left", "right", "up", "down")

_PARAM = re.compile(r"--[a-zA-Z]+(?:\s+(?!--)[^\s]+)?")
_URL = re.compile(r"(?:https?://|data:)\S+")
_WORD = re.compile(r"[^\W_]+")
_ASPECT = re.compile(r"--(?:ar|aspect)\s+(\d+)\s*:\s*(\d+)")


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = (int(v) for v in size)
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ValueError(f"size must be two sides in 1..{MAX_SIDE}, got {size!r}")
    return w, h


def words_of(prompt: str, limit: int = 6) -> list[str]:
    """The prompt's words, without --parameters and URLs (what a picture shows as its caption)."""
    text = _PARAM.sub(" ", _URL.sub(" ", prompt))
    return _WORD.findall(text)[:limit]


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: a fixed bitmap font
        return ImageFont.load_default()


def render_image(prompt: str, seed: int, size: tuple[int, int], detail: int = 0) -> Image.Image:
    """One RGB picture of ``size`` (w, h px) for ``prompt``/``seed`` with the prompt's words as a caption.

    ``detail`` 0 is a grid tile's rendering; 1 is the same composition with the finer detail of an upscale.
    """
    w, h = _check_size(size)
    img = draw_scene(prompt, seed, (w, h), detail=detail)
    caption = " ".join(words_of(prompt))
    if caption and min(w, h) >= 48:
        fill, outline = _caption(caption, max(10, min(w, h) // 16), max(1, min(w, h) // 256))
        # Bottom-left, its baseline h/24 above the edge (the masks include the descent below it).
        x, y = w // 24, h - h // 24 - fill.height + fill.info["descent"]
        img.paste((0, 0, 0), (x, y), outline)
        img.paste((255, 255, 255), (x, y), fill)
    return img


@functools.lru_cache(maxsize=64)
def _caption(text: str, size: int, stroke: int) -> tuple[Image.Image, Image.Image]:
    """(fill, outline) masks of a caption: rendered once, pasted on every tile and preview that shows it."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke, anchor="ls")
    w, h = max(1, int(right - left)), max(1, int(bottom - top))
    fill, outline = Image.new("L", (w, h)), Image.new("L", (w, h))
    ImageDraw.Draw(outline).text((-left, -top), text, fill=255, font=font, anchor="ls", stroke_width=stroke)
    ImageDraw.Draw(fill).text((-left, -top), text, fill=255, font=font, anchor="ls")
    fill.info["descent"] = int(bottom)
    return fill, outline


def tile_seed(seed: int, index0: int) -> int:
    """The seed of tile ``index0`` (0..3) of the grid rendered with ``seed``."""
    return seed * 4 + index0 + 1


def render_grid(prompt: str, seed: int, size: tuple[int, int] = (1024, 1024)) -> Image.Image:
    """A 2×2 grid of four different pictures (tile i uses a seed derived from ``seed`` and i)."""
    w, h = _check_size(size)
    tw, th = w // 2, h // 2
    grid = Image.new("RGB", (w, h))
    for i in range(4):
        tile = render_image(prompt, tile_seed(seed, i), (tw, th))
        grid.paste(tile, ((i % 2) * tw, (i // 2) * th))
    return grid


def upscale_tile(grid: Image.Image, index0: int, scene: tuple[str, int] | None) -> Image.Image:
    """Tile ``index0`` of ``grid`` as an upscale: the tile's size (half the grid's side), more detail.

    ``scene`` is the (prompt, seed) the grid was drawn from by ``render_grid``; the tile is then drawn
    again with ``detail=1``. Without it (a blended or edited grid) the tile itself is sharpened.
    """
    tile = grid_tile(grid, index0).convert("RGB")
    if scene is not None:
        return redraw_tile(scene, index0, tile.size)
    return tile.filter(ImageFilter.UnsharpMask(radius=2, percent=80, threshold=2))


def redraw_tile(scene: tuple[str, int], index0: int, size: tuple[int, int]) -> Image.Image:
    """Tile ``index0`` of the grid ``render_grid`` drew from ``scene`` (prompt, seed), at ``size`` with detail."""
    prompt, seed = scene
    return render_image(prompt, tile_seed(seed, index0), size, detail=1)


def enlarge(image: Image.Image, size: tuple[int, int], scene: tuple[str, int] | None, index0: int) -> Image.Image:
    """``image`` at the larger ``size``: drawn again at that size when its ``scene`` is known, else resampled."""
    if scene is not None:
        return redraw_tile(scene, index0, size)
    big = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    return big.filter(ImageFilter.UnsharpMask(radius=2, percent=60))


def grid_from_tiles(tiles: list[Image.Image]) -> Image.Image:
    """Four equally sized pictures as one 2×2 grid (top-left, top-right, bottom-left, bottom-right)."""
    if len(tiles) != 4:
        raise ValueError(f"a grid needs 4 tiles, got {len(tiles)}")
    tw, th = tiles[0].size
    grid = Image.new("RGB", (tw * 2, th * 2))
    for i, tile in enumerate(tiles):
        grid.paste(
            tile.convert("RGB").resize((tw, th)) if tile.size != (tw, th) else tile.convert("RGB"),
            ((i % 2) * tw, (i // 2) * th),
        )
    return grid


def grid_tile(grid: Image.Image, index0: int) -> Image.Image:
    """Tile ``index0`` (0 = top-left … 3 = bottom-right) of a 2×2 grid."""
    if index0 not in (0, 1, 2, 3):
        raise ValueError(f"index0 must be 0..3, got {index0!r}")
    w, h = grid.size
    tw, th = w // 2, h // 2
    x, y = (index0 % 2) * tw, (index0 // 2) * th
    return grid.crop((x, y, x + tw, y + th))


def picture_from_url(url: str, size: tuple[int, int] = (1024, 1024)) -> Image.Image:
    """Stands in for an image the simulator cannot download: a picture drawn from the URL itself."""
    return render_image(url, 0, size)


def mask_to_l(mask: Image.Image) -> Image.Image:
    """A mask as mode L, white = regenerate; a transparent pixel counts as black (keep)."""
    if mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info):
        rgba = mask.convert("RGBA")
        luminance = rgba.convert("L")
        return Image.composite(luminance, Image.new("L", mask.size, 0), rgba.getchannel("A"))
    return mask.convert("L")


def repaint_masked(image: Image.Image, mask_L: Image.Image, prompt: str, seed: int) -> Image.Image:
    """``image`` with only the pixels where the mask is >= 128 replaced by a new picture."""
    if mask_L.size != image.size:
        raise ValueError(f"mask size {mask_L.size} must equal the image size {image.size}")
    base = image if image.mode in ("RGB", "RGBA") else image.convert("RGB")
    fresh = render_image(prompt, seed, image.size).convert(base.mode)
    binary = mask_to_l(mask_L).point(lambda v: 255 if v >= 128 else 0)
    return Image.composite(fresh, base, binary)


def compose_canvas(
    src: Image.Image, canvas: tuple[int, int], box: tuple[int, int, int, int], prompt: str, seed: int
) -> Image.Image:
    """A ``canvas``-sized picture with ``src`` resized to the box's w×h at its x,y (negative = cropped)."""
    cw, ch = _check_size(canvas)
    x, y, bw, bh = (int(v) for v in box)
    _check_size((bw, bh))
    out = render_image(prompt, seed, (cw, ch))
    piece = src.resize((bw, bh), Image.Resampling.LANCZOS)
    if piece.mode in ("RGBA", "LA"):
        out.paste(piece.convert("RGB"), (x, y), piece.getchannel("A"))
    else:
        out.paste(piece.convert("RGB"), (x, y))
    return out


def outpaint(src: Image.Image, factor: float, prompt: str, seed: int) -> Image.Image:
    """A zoom-out: ``src`` shrunk to 1/``factor`` in the centre of a same-sized picture."""
    if not 1.0 <= float(factor) <= 4.0:
        raise ValueError(f"factor must be in 1..4, got {factor!r}")
    w, h = src.size
    iw, ih = max(1, round(w / factor)), max(1, round(h / factor))
    return compose_canvas(src, (w, h), ((w - iw) // 2, (h - ih) // 2, iw, ih), prompt, seed)


def pan(src: Image.Image, direction: str, prompt: str, seed: int, extend: float = 0.5) -> Image.Image:
    """``src`` extended by ``extend`` of its size towards ``direction`` (left, right, up, down)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    w, h = src.size
    if direction in ("left", "right"):
        canvas = (w + round(w * extend), h)
        x = canvas[0] - w if direction == "left" else 0
        return compose_canvas(src, canvas, (x, 0, w, h), prompt, seed)
    canvas = (w, h + round(h * extend))
    y = canvas[1] - h if direction == "up" else 0
    return compose_canvas(src, canvas, (0, y, w, h), prompt, seed)


def vary(image: Image.Image, prompt: str, seed: int, strength: float) -> Image.Image:
    """A variation: ``image`` mixed with a new picture; small ``strength`` stays close to it."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in 0..1, got {strength!r}")
    base = image.convert("RGB")
    return Image.blend(base, render_image(prompt, seed, base.size), strength)


def preview(img: Image.Image, progress: float) -> Image.Image:
    """A blurry partial preview of ``img`` at ``progress`` percent (0..100), same size."""
    share = min(1.0, max(0.0, float(progress) / 100.0))
    w, h = img.size
    side = 6 + round(share * 42)
    scale = side / max(w, h)
    low = img.convert("RGB").resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    blurred = low.resize((w, h), Image.Resampling.BILINEAR).filter(ImageFilter.BoxBlur(max(1, min(w, h) // 64)))
    return Image.blend(Image.new("RGB", (w, h), (128, 128, 128)), blurred, 0.35 + 0.65 * share)


_PNG_TYPES = {"L": (0, 1), "LA": (4, 2), "RGB": (2, 3), "RGBA": (6, 4)}


def to_png(img: Image.Image) -> bytes:
    """PNG bytes of ``img``: rows filtered "Up" with numpy and deflated at level 1 (other modes via Pillow)."""
    if img.mode not in _PNG_TYPES:
        buf = io.BytesIO()
        img.save(buf, "PNG", compress_level=1)
        return buf.getvalue()
    colour_type, channels = _PNG_TYPES[img.mode]
    w, h = img.size
    rows = np.asarray(img, dtype=np.uint8).reshape(h, w * channels)
    filtered = np.empty((h, w * channels + 1), dtype=np.uint8)
    filtered[:, 0] = 2  # "Up": each row minus the one above; smooth pictures deflate well and fast
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    data = zlib.compress(filtered.tobytes(), 1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def mp4_stub(seed: int) -> bytes:
    """A small ISO-BMFF file (``ftyp`` + ``free`` boxes) standing in for a video: typed, unique per seed, not playable.

    The simulator has no video encoder; clients only need to tell a video from an image and keep its bytes.
    """
    ftyp = b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2avc1mp41"
    free = b"free" + f"mjnb simulated video {seed}".encode()
    return b"".join((len(box) + 4).to_bytes(4, "big") + box for box in (ftyp, free))


def aspect_size(prompt: str, base: int = 1024) -> tuple[int, int]:
    """(w, h) for the prompt's ``--ar W:H`` (or ``--aspect``): long side ``base``, sides multiples of 8."""
    match = _ASPECT.search(prompt or "")
    if not match:
        return base, base
    aw, ah = int(match.group(1)), int(match.group(2))
    if aw <= 0 or ah <= 0:
        return base, base
    short = max(8, round(base * min(aw, ah) / max(aw, ah) / 8) * 8)
    return (base, short) if aw >= ah else (short, base)
