"""Pixel modes and orientation: every image that enters mjnb becomes 8-bit RGB, RGBA or L.

Pillow has some twenty modes (``Image.MODES``).  What each becomes, and why:

* RGB, RGBA and L are kept (L: a greyscale picture or a mask stays one channel).
* ``1`` becomes L (0/255).  CMYK, LAB, HSV, YCbCr, RGBX and opaque P become RGB.
* Modes with alpha (LA, La, PA, RGBa, P or L/RGB with a transparency entry) become RGBA; the
  premultiplied La and RGBa are un-premultiplied on the way.
* 16-bit (I;16, I;16B, I;16L, I;16N) is *scaled* to 8 bits (v / 257), never clipped: a
  16-bit scan would otherwise turn white.  32-bit I and float F are scaled by their range
  (see :func:`levels_to_uint8`); values that fit no range are refused, not guessed.
* EXIF (or XMP) orientation is applied first, as a viewer would, since the PNG or JPEG
  sent to a service no longer carries the tag.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from PIL import Image

__all__ = ["KEPT_MODES", "DECODE_ERRORS", "apply_orientation", "to_8bit", "levels_to_uint8", "scale_16bit"]

KEPT_MODES = ("RGB", "RGBA", "L")
#: What Pillow's decoders raise on malformed data (struct.error and IndexError from short
#: or inconsistent headers, EOFError from truncated frames).
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    ZeroDivisionError,
)
_ORIENTATION_TAG = 0x0112
_ALPHA_MODES = ("LA", "La", "PA", "RGBa")
#: Float pixels a hair outside 0..1 (resampling overshoot) still count as 0..1.
_FLOAT_SLACK = 1 / 512


def apply_orientation(img: Image.Image, field: str) -> Image.Image:
    """``img`` turned upright per its EXIF/XMP orientation tag (the same object when upright)."""
    from PIL import ImageOps

    try:
        orientation = img.getexif().get(_ORIENTATION_TAG, 1)
    except DECODE_ERRORS as exc:
        raise ValidationError(f"{field}: its EXIF data could not be read ({exc})", field=field) from exc
    if orientation not in (2, 3, 4, 5, 6, 7, 8):
        return img
    try:
        return ImageOps.exif_transpose(img)
    except DECODE_ERRORS as exc:
        raise ValidationError(f"{field}: the EXIF orientation could not be applied ({exc})", field=field) from exc


def scale_16bit(arr: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """0..65535 → 0..255, rounded (65535 → 255, 32896 → 128)."""
    import numpy as np

    wide = arr.astype(np.uint32)
    wide += 128
    wide //= 257
    return wide.astype(np.uint8)


def levels_to_uint8(arr: npt.NDArray[Any], field: str, source: str) -> npt.NDArray[np.uint8]:
    """8-bit levels of integer or float pixels, scaled by the range they are written in.

    * bool: False/True → 0/255; uint8 as is; uint16 (16-bit) → v / 257.
    * other integers: all in 0..255 → as is; all in 0..65535 → 16-bit, v / 257.
    * floats: all in 0..1 → v × 255; else all in 0..255 → as is; else all in 0..65535 → v / 257.

    Raises:
        ValidationError: NaN or infinite values, negative values, or values past 65535;
            ``source`` (e.g. "a float array", "mode F") is named in the message.
    """
    import numpy as np

    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16 or arr.dtype == np.dtype(">u2"):
        return scale_16bit(arr)
    if arr.size == 0:
        return arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 255:
            return arr.astype(np.uint8)
        if lo >= 0 and hi <= 65535:
            return scale_16bit(arr)
        raise ValidationError(
            f"{field}: {source} holds values {lo}..{hi}; integer pixels must lie in 0..255 or 0..65535",
            field=field,
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValidationError(
            f"{field}: {source} of dtype {arr.dtype} is not an image (allowed: uint8, uint16, bool, float)",
            field=field,
        )
    if not np.isfinite(arr).all():
        raise ValidationError(f"{field}: {source} holds NaN or infinite values; pixels must be finite", field=field)
    low, high = float(arr.min()), float(arr.max())
    # 0..1 allows resampling overshoot; the others half a level, which rounds away.
    for bottom, top, factor in ((-_FLOAT_SLACK, 1 + _FLOAT_SLACK, 255.0), (-0.5, 255.5, 1.0), (-0.5, 65535.5, 1 / 257)):
        if low >= bottom and high <= top:
            scaled = np.rint(arr.astype(np.float32) * np.float32(factor))
            levels: npt.NDArray[np.uint8] = np.clip(scaled, 0, 255).astype(np.uint8)
            return levels
    raise ValidationError(
        f"{field}: {source} holds values {low:g}..{high:g}; float pixels must lie in 0..1, 0..255 or 0..65535",
        field=field,
    )


def to_8bit(img: Image.Image, field: str) -> Image.Image:
    """``img`` as RGB, RGBA or L (the same object when it already is one, with no
    transparency entry); see the module docstring for each mode.

    Raises:
        ValidationError: a mode Pillow cannot convert, or I/F pixels outside every range.
    """
    import numpy as np
    from PIL import Image

    mode = img.mode
    transparency = "transparency" in img.info
    if mode in KEPT_MODES and not (transparency and mode != "RGBA"):
        return img
    try:
        if mode == "1":
            return img.convert("L")
        if mode.startswith("I;16"):
            return Image.fromarray(scale_16bit(np.asarray(img)))
        if mode in ("I", "F"):
            return Image.fromarray(levels_to_uint8(np.asarray(img), field, f"an image of mode {mode}"))
        if mode == "La":  # premultiplied: Pillow converts it only to LA
            img = img.convert("LA")
        if mode in _ALPHA_MODES or img.has_transparency_data:
            return img.convert("RGBA")
        return img.convert("RGB")
    except DECODE_ERRORS as exc:
        raise ValidationError(
            f"{field}: an image of mode {mode} could not be converted to RGB ({exc})", field=field
        ) from exc
