"""Encoding: PNG (with metadata), JPEG, data URLs, bare base64 and thumbnails.

Every function here takes any image input and passes it through ``load_image`` first, so
a CMYK JPEG opened by the user, a 16-bit scan or a rotated phone photo is encoded exactly as
the same file given as bytes or a path would be.
"""

from __future__ import annotations

import base64
import io
import json
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError
from ._images_io import (
    JPEG_SIGNATURE,
    PNG_SIGNATURE,
    as_bytes,
    check_pixel_count,
    from_data_url,
    load_image,
    normalise,
    open_bytes,
    read_path,
)
from ._images_modes import DECODE_ERRORS

if TYPE_CHECKING:
    from PIL import Image, PngImagePlugin

__all__ = ["to_png", "read_png_metadata", "to_jpeg", "to_data_url", "to_base64_png", "thumbnail_png"]

# Records which metadata keys were JSON-encoded, so that read_png_metadata gives back the
# same values (a str "42" stays a str, an int 42 comes back an int).
_JSON_KEYS_CHUNK = "mjnb:json-keys"
_DATA_URL_FORMATS = {"png": ("image/png", "PNG"), "jpeg": ("image/jpeg", "JPEG"), "jpg": ("image/jpeg", "JPEG")}


def _png_info(metadata: dict[str, Any] | None) -> PngImagePlugin.PngInfo | None:
    from PIL import PngImagePlugin

    if not metadata:
        return None
    if not isinstance(metadata, dict):
        raise ValidationError(f"metadata: expected a dict, got {type(metadata).__name__}", field="metadata")
    info = PngImagePlugin.PngInfo()
    json_keys = []
    for key, value in metadata.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 79 or not key.isprintable() or key == _JSON_KEYS_CHUNK:
            raise ValidationError(
                f"metadata: key {key!r} must be a printable string of 1 to 79 characters", field="metadata"
            )
        try:
            key.encode("latin-1")
        except UnicodeEncodeError:
            raise ValidationError(f"metadata: key {key!r} must be Latin-1 (a PNG rule)", field="metadata") from None
        if not isinstance(value, str):
            try:
                value = json.dumps(value, ensure_ascii=False)
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"metadata: {key!r} is not JSON-serialisable ({exc})", field="metadata") from exc
            json_keys.append(key)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate cannot be stored in iTXt
            raise ValidationError(f"metadata: the value of {key!r} is not valid Unicode", field="metadata") from None
        info.add_text(key, value)  # tEXt when Latin-1, iTXt (UTF-8) otherwise
    if json_keys:
        info.add_text(_JSON_KEYS_CHUNK, json.dumps(json_keys))
    return info


def _save(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def to_png(img: Any, *, metadata: dict[str, Any] | None = None) -> bytes:
    """PNG bytes of any image input, with ``metadata`` as PNG text chunks.

    Args:
        img: anything :func:`load_image` takes (a Pillow image of any mode, bytes, a path,
            a data URL, a numpy array); it is normalised first (EXIF orientation, 8-bit
            RGB/RGBA/L).
        metadata: ``{key: value}``; keys are Latin-1 printable strings of 1 to 79 characters
            (a PNG rule), str values are stored as they are, other values as JSON.

    Returns:
        The PNG file's bytes; :func:`read_png_metadata` gives ``metadata`` back.

    Raises:
        ValidationError: a bad image (field "image") or bad metadata (field "metadata").
    """
    info = _png_info(metadata)  # before decoding: a bad key costs nothing
    return _save(load_image(img, field="image"), "PNG", pnginfo=info)


def read_png_metadata(data_or_path: Any) -> dict[str, Any]:
    """The text chunks of a PNG as a dict; values written by :func:`to_png` come back as given.

    Args:
        data_or_path: PNG bytes, a path, a ``data:image/png;base64,…`` URL, or a Pillow
            image opened from a PNG file.

    Raises:
        ValidationError: (field "png") not a PNG, unreadable, or over the upload limits.
    """
    from PIL import Image, PngImagePlugin

    field = "png"
    if isinstance(data_or_path, Image.Image):
        if not isinstance(data_or_path, PngImagePlugin.PngImageFile):
            raise ValidationError(f"{field}: the image was not read from a PNG file", field=field)
        check_pixel_count(data_or_path.width, data_or_path.height, field)
        try:
            text = dict(data_or_path.text)  # loads the image: text chunks may follow the pixels
        except DECODE_ERRORS as exc:
            raise ValidationError(f"{field}: could not be read ({exc})", field=field) from exc
        return _decode_text(text, field)
    if isinstance(data_or_path, (bytes, bytearray, memoryview)):
        data = as_bytes(data_or_path, field)
    elif isinstance(data_or_path, str) and data_or_path.startswith("data:"):
        data = from_data_url(data_or_path, field=field)
    else:
        data = read_path(data_or_path, field)
    if not data.startswith(PNG_SIGNATURE):
        raise ValidationError(f"{field}: not a PNG file (no PNG signature)", field=field)
    try:
        with Image.open(io.BytesIO(data), formats=("PNG",)) as png:
            check_pixel_count(png.width, png.height, field)
            png.load()  # text chunks after the image data are read only by load()
            text = dict(getattr(png, "text", {}))
    except DECODE_ERRORS as exc:
        raise ValidationError(f"{field}: could not be read ({exc})", field=field) from exc
    return _decode_text(text, field)


def _decode_text(text: dict[str, Any], field: str) -> dict[str, Any]:
    try:
        json_keys = json.loads(text.pop(_JSON_KEYS_CHUNK, "[]"))
        if not isinstance(json_keys, list):
            raise ValueError(f"{_JSON_KEYS_CHUNK} is not a list")
        return {key: json.loads(value) if key in json_keys else value for key, value in text.items()}
    except ValueError as exc:  # a foreign or damaged mjnb:json-keys chunk
        raise ValidationError(f"{field}: its mjnb metadata is damaged ({exc})", field=field) from exc


def _flatten(img: Image.Image) -> Image.Image:
    """RGB or L for JPEG: transparency flattened onto white."""
    from PIL import Image

    if img.mode != "RGBA":
        return img
    flat = Image.new("RGB", img.size, (255, 255, 255))
    flat.paste(img, mask=img.getchannel("A"))
    return flat


def _check_quality(quality: Any) -> int:
    if not isinstance(quality, int) or isinstance(quality, bool) or not 1 <= quality <= 100:
        raise ValidationError(f"quality: must be an integer from 1 to 100, got {quality!r}", field="quality")
    return quality


def to_jpeg(img: Any, quality: int = 92) -> bytes:
    """JPEG bytes of any image input; transparency is flattened onto white.

    Args:
        img: anything :func:`load_image` takes; normalised first.
        quality: 1..100 (Pillow's JPEG quality scale).

    Returns:
        Baseline JPEG bytes, RGB (or greyscale for an L image).

    Raises:
        ValidationError: a bad image (field "image") or quality (field "quality").
    """
    quality = _check_quality(quality)
    return _save(_flatten(load_image(img, field="image")), "JPEG", quality=quality)


def to_data_url(img_or_png_bytes: Any, fmt: str = "png", *, field: str = "image") -> str:
    """``data:image/png;base64,…`` (or ``image/jpeg``) of any image input.

    Bytes already in ``fmt`` whose image needs no change (already upright, 8-bit RGB, RGBA or
    L) are sent as they are, after being decoded once to check them; anything else is
    normalised and re-encoded.

    Args:
        img_or_png_bytes: anything :func:`load_image` takes.
        fmt: ``"png"``, ``"jpeg"`` or ``"jpg"``.
        field: the argument name used in errors about the image.

    Raises:
        ValidationError: a bad image (``field``) or ``fmt`` (field "fmt").
    """
    spec = _DATA_URL_FORMATS.get(fmt) if isinstance(fmt, str) else None
    if spec is None:
        raise ValidationError(f"fmt: must be one of {', '.join(sorted(_DATA_URL_FORMATS))}, got {fmt!r}", field="fmt")
    mime, pil_format = spec
    if isinstance(img_or_png_bytes, (bytes, bytearray, memoryview)):
        data = as_bytes(img_or_png_bytes, field)
        opened = open_bytes(data, field)
        img = normalise(opened, field)
        signature = PNG_SIGNATURE if pil_format == "PNG" else JPEG_SIGNATURE
        if img is opened and opened.format == pil_format and data.startswith(signature):
            return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    else:
        img = load_image(img_or_png_bytes, field=field)
    encoded = _save(img, "PNG") if pil_format == "PNG" else _save(_flatten(img), "JPEG", quality=92)
    return f"data:{mime};base64,{base64.b64encode(encoded).decode('ascii')}"


def to_base64_png(img: Any) -> str:
    """Bare base64 of a PNG (no ``data:`` prefix), as some dialects want it.

    Args:
        img: anything :func:`load_image` takes; normalised first.

    Raises:
        ValidationError: a bad image (field "image").
    """
    return base64.b64encode(to_png(img)).decode("ascii")


def thumbnail_png(img: Any, max_side: int = 256) -> bytes:
    """A PNG no larger than ``max_side`` px on either side (aspect ratio kept, Lanczos).

    Args:
        img: anything :func:`load_image` takes; normalised first, never changed in place.
        max_side: the longest side in pixels, a positive integer.

    Raises:
        ValidationError: a bad image (field "image") or ``max_side`` (field "max_side").
    """
    from PIL import Image

    if not isinstance(max_side, int) or isinstance(max_side, bool) or max_side < 1:
        raise ValidationError(f"max_side: must be a positive integer, got {max_side!r}", field="max_side")
    source = load_image(img, field="image")
    thumb = source.copy() if source.width > max_side or source.height > max_side else source
    if thumb is not source:
        thumb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _save(thumb, "PNG")
