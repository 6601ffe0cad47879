"""Pillow and numpy helpers for the client and the widgets.

* Uploads: :func:`load_image` decodes and validates (``MAX_UPLOAD_BYTES``, ``MAX_PIXELS``
  checked from the header before decoding, the formats of ``ACCEPTED_FORMATS``).
* Encoding: :func:`to_png` (with metadata), :func:`read_png_metadata`, :func:`to_jpeg`,
  :func:`to_data_url`, :func:`to_base64_png`, :func:`from_data_url`, :func:`thumbnail_png`.
* Grids: :func:`split_grid` cuts a 2×2 result into its four images.
* Masks, mode "L", 255 = regenerate (white), 0 = keep: :func:`as_mask`, :func:`encode_mask`,
  :func:`mask_to_polygons`, :func:`polygons_to_mask`, :func:`feather_mask`,
  :func:`grow_mask`, :func:`invert_mask`.
* Reposition: :func:`check_canvas`, :func:`compose_reposition`; :func:`checkerboard` for
  the editor's empty area.

Every helper that takes an image takes any image input (a Pillow image of any mode, bytes,
a path, a data URL, a numpy array) and normalises it the same way, through
:func:`load_image`: EXIF orientation applied, 8-bit RGB, RGBA or L.  Bad input raises
:class:`mjnb.ValidationError` naming the field, before anything is sent.

numpy and Pillow are imported inside the functions, so ``import mjnb.images`` imports
neither (the widgets and the client import this module freely).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError
from ._images_encode import read_png_metadata, thumbnail_png, to_base64_png, to_data_url, to_jpeg, to_png
from ._images_io import ACCEPTED_FORMATS, MAX_PIXELS, MAX_UPLOAD_BYTES, from_data_url, load_image
from ._images_mask import (
    MASK_FORMATS,
    as_mask,
    encode_mask,
    feather_mask,
    grow_mask,
    invert_mask,
    mask_to_polygons,
    polygons_to_mask,
)

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_PIXELS",
    "ACCEPTED_FORMATS",
    "MASK_FORMATS",
    "MIN_CANVAS_SIDE",
    "MAX_CANVAS_SIDE",
    "load_image",
    "to_png",
    "read_png_metadata",
    "to_jpeg",
    "to_data_url",
    "to_base64_png",
    "from_data_url",
    "thumbnail_png",
    "split_grid",
    "as_mask",
    "encode_mask",
    "mask_to_polygons",
    "polygons_to_mask",
    "feather_mask",
    "grow_mask",
    "invert_mask",
    "check_canvas",
    "compose_reposition",
    "checkerboard",
]

MIN_CANVAS_SIDE = 64
MAX_CANVAS_SIDE = 8192
#: An image box may reach past the canvas (it is cropped) but not absurdly so.
_MAX_BOX_SIDE = 8 * MAX_CANVAS_SIDE


def split_grid(img: Any) -> list[Image.Image]:
    """The four tiles of a 2×2 grid (an imagine result): top-left, top-right, bottom-left,
    bottom-right, i.e. U1..U4.

    Args:
        img: anything :func:`load_image` takes; normalised first (RGB, RGBA or L).

    Returns:
        Four Pillow images in the grid's mode.  With an odd side the right/bottom tiles get
        the extra pixel; the tiles cover the image exactly.

    Raises:
        ValidationError: (field "image") a bad image, or one smaller than 2×2.
    """
    img = load_image(img, field="image")
    if img.width < 2 or img.height < 2:
        raise ValidationError(f"image: {img.width}×{img.height} is too small to be a 2×2 grid", field="image")
    mid_x, mid_y = img.width // 2, img.height // 2
    boxes = [
        (0, 0, mid_x, mid_y),
        (mid_x, 0, img.width, mid_y),
        (0, mid_y, mid_x, img.height),
        (mid_x, mid_y, img.width, img.height),
    ]
    return [img.crop(box) for box in boxes]


def _ints(value: Any, count: int, field: str, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) != count:
        raise ValidationError(f"{field}: expected {what}, got {value!r}", field=field)
    out = []
    for v in value:
        if (
            isinstance(v, bool)
            or not isinstance(v, numbers.Real)
            or (not isinstance(v, numbers.Integral) and not float(v).is_integer())
        ):
            raise ValidationError(f"{field}: expected {what} in whole pixels, got {value!r}", field=field)
        out.append(int(v) if isinstance(v, numbers.Integral) else int(float(v)))
    return tuple(out)


def check_canvas(canvas: Any, image_box: Any) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Validated ``((w, h), (x, y, w, h))`` for a reposition (zoom out / pan on a larger canvas).

    Args:
        canvas: ``(width, height)`` in whole pixels, each side 64..8192.
        image_box: ``(x, y, width, height)`` of the image on the canvas, in whole pixels;
            width and height ≥ 1.  It may reach past the edges or start at negative offsets
            (that part is cropped) but must overlap the canvas.

    Raises:
        ValidationError: field "canvas" or "image_box", with the allowed range.
    """
    cw, ch = _ints(canvas, 2, "canvas", "(width, height)")
    if not (MIN_CANVAS_SIDE <= cw <= MAX_CANVAS_SIDE and MIN_CANVAS_SIDE <= ch <= MAX_CANVAS_SIDE):
        raise ValidationError(
            f"canvas: {cw}×{ch} is out of range; each side must be {MIN_CANVAS_SIDE} to {MAX_CANVAS_SIDE} px",
            field="canvas",
        )
    x, y, bw, bh = _ints(image_box, 4, "image_box", "(x, y, width, height)")
    if not (1 <= bw <= _MAX_BOX_SIDE and 1 <= bh <= _MAX_BOX_SIDE):
        raise ValidationError(
            f"image_box: width and height must be 1 to {_MAX_BOX_SIDE} px, got {bw}×{bh}", field="image_box"
        )
    if x >= cw or y >= ch or x + bw <= 0 or y + bh <= 0:
        raise ValidationError(
            f"image_box: ({x}, {y}, {bw}, {bh}) lies entirely outside the {cw}×{ch} canvas", field="image_box"
        )
    return (cw, ch), (x, y, bw, bh)


def compose_reposition(src: Any, canvas: Any, image_box: Any) -> tuple[Image.Image, Image.Image]:
    """``(composite, mask)`` for placing ``src`` at ``image_box`` (x, y, w, h) on ``canvas`` (w, h).

    Args:
        src: anything :func:`load_image` takes; normalised first.
        canvas, image_box: as :func:`check_canvas` takes them.

    Returns:
        ``composite``: an RGBA image of the canvas size; ``src`` resized (Lanczos) to the
        box and pasted at (x, y), the parts past the canvas edges cropped, the rest
        transparent.  ``mask``: an "L" image of the canvas size, 255 (white, regenerate)
        wherever the box does not cover the canvas, 0 under the box; transparency inside
        ``src`` does not count, because the service sees the box, not the alpha.

    Raises:
        ValidationError: field "image", "canvas" or "image_box".
    """
    import numpy as np
    from PIL import Image

    (cw, ch), (x, y, bw, bh) = check_canvas(canvas, image_box)
    img = load_image(src, field="image").convert("RGBA")
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + bw, cw), min(y + bh, ch)
    if (bw, bh) == img.size:
        # No scaling: crop, so that every pixel lands exactly where the box says.
        visible = img.crop((left - x, top - y, right - x, bottom - y))
    else:
        # Resample only the visible part of the box: a zoomed-in box can be huge.
        sx, sy = img.width / bw, img.height / bh
        source_box = ((left - x) * sx, (top - y) * sy, (right - x) * sx, (bottom - y) * sy)
        visible = img.resize((right - left, bottom - top), Image.Resampling.LANCZOS, box=source_box)
    composite = Image.new("RGBA", (cw, ch), (0, 0, 0, 0))
    composite.paste(visible, (left, top))
    mask = np.full((ch, cw), 255, dtype=np.uint8)
    mask[top:bottom, left:right] = 0
    return composite, Image.fromarray(mask)


def checkerboard(size: Any, cell: int = 16) -> Image.Image:
    """An RGB checkerboard of light greys (255 and 204), the usual picture of "transparent here".

    Args:
        size: ``(width, height)`` in whole pixels, 1..16384 each.
        cell: the side of one square in pixels, a positive integer.

    Raises:
        ValidationError: field "size" or "cell".
    """
    import numpy as np
    from PIL import Image

    width, height = _ints(size, 2, "size", "(width, height)")
    if not (1 <= width <= MAX_CANVAS_SIDE * 2 and 1 <= height <= MAX_CANVAS_SIDE * 2):
        raise ValidationError(f"size: {width}×{height} is out of range (1 to {MAX_CANVAS_SIDE * 2} px)", field="size")
    if isinstance(cell, bool) or not isinstance(cell, numbers.Integral) or cell < 1:
        raise ValidationError(f"cell: must be a positive integer, got {cell!r}", field="cell")
    ys = (np.arange(height) // cell)[:, None]
    xs = (np.arange(width) // cell)[None, :]
    shade = np.where((xs + ys) % 2 == 0, 255, 204).astype(np.uint8)
    return Image.fromarray(np.repeat(shade[:, :, None], 3, axis=2))
