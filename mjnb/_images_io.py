"""Decoding and encoding: every image that enters mjnb passes ``load_image``'s guards.

Limits are checked before decoding: byte counts before reading, the pixel count from the
header (``Image.open`` is lazy) before ``load()``.  Pillow's own bomb guard stays on.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from typing import Any

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from ._errors import ValidationError

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_PIXELS",
    "ACCEPTED_FORMATS",
    "load_image",
    "to_png",
    "read_png_metadata",
    "to_jpeg",
    "to_data_url",
    "to_base64_png",
    "from_data_url",
    "thumbnail_png",
]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 64_000_000
#: The decoders Pillow may try; exotic formats stay out of reach of untrusted bytes.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")  # JPEG covers MPO (phone photos)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
# Records which metadata keys were JSON-encoded, so that read_png_metadata gives back the
# same values (a str "42" stays a str, an int 42 comes back an int).
_JSON_KEYS_CHUNK = "mjnb:json-keys"
_KEPT_MODES = ("RGB", "RGBA", "L")


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _check_byte_count(n: int, field: str) -> None:
    if n == 0:
        raise ValidationError(f"{field}: empty (0 bytes), expected an image", field=field)
    if n > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"{field}: {_megabytes(n)} is over the {_megabytes(MAX_UPLOAD_BYTES)} upload limit", field=field
        )


def check_pixel_count(width: int, height: int, field: str) -> None:
    if width <= 0 or height <= 0:
        raise ValidationError(f"{field}: the image is empty ({width}×{height})", field=field)
    if width * height > MAX_PIXELS:
        raise ValidationError(
            f"{field}: {width}×{height} is {width * height:,} pixels, over the {MAX_PIXELS:,} pixel limit",
            field=field,
        )


def _normalise_mode(img: Image.Image) -> Image.Image:
    """RGB, RGBA and L are kept; everything else becomes the nearest of the three."""
    if img.mode in _KEPT_MODES:
        return img
    if img.mode in ("LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
        return img.convert("RGBA")
    if img.mode == "1":
        return img.convert("L")
    if img.mode.startswith("I;16"):
        return Image.fromarray((np.asarray(img).astype(np.uint16) >> 8).astype(np.uint8))
    if img.mode in ("I", "F"):
        return Image.fromarray(np.clip(np.asarray(img), 0, 255).astype(np.uint8))
    return img.convert("RGB")


def _from_pil(img: Image.Image, field: str) -> Image.Image:
    check_pixel_count(img.width, img.height, field)
    try:
        img.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(f"{field}: the image could not be decoded ({exc})", field=field) from exc
    return _normalise_mode(img)


def _decode(data: bytes, field: str) -> Image.Image:
    _check_byte_count(len(data), field)
    try:
        img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:  # Pillow's own guard, from the header
        raise ValidationError(
            f"{field}: over the {MAX_PIXELS:,} pixel limit, refused before decoding ({exc})", field=field
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(
            f"{field}: not an image mjnb can read (accepted formats: {', '.join(ACCEPTED_FORMATS)})", field=field
        ) from exc
    # The header is parsed but no pixel is decoded yet: refuse bombs here.
    check_pixel_count(img.width, img.height, field)
    try:
        img.load()
        # Phone photos store their rotation in EXIF; once re-encoded as PNG that tag is gone.
        img = ImageOps.exif_transpose(img)
    except Image.DecompressionBombError as exc:
        raise ValidationError(f"{field}: over the {MAX_PIXELS:,} pixel limit ({exc})", field=field) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(f"{field}: the image could not be decoded ({exc})", field=field) from exc
    return _normalise_mode(img)


def _from_array(arr: np.ndarray, field: str) -> Image.Image:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValidationError(
            f"{field}: an array of shape {arr.shape} is not an image (allowed: H×W, H×W×1, H×W×3, H×W×4)",
            field=field,
        )
    check_pixel_count(arr.shape[1], arr.shape[0], field)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValidationError(f"{field}: a float array must hold finite values in 0..1", field=field)
        arr = np.round(np.clip(arr, 0.0, 1.0) * 255).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.dtype != np.uint8:
            if arr.size and (arr.min() < 0 or arr.max() > 255):
                raise ValidationError(f"{field}: integer pixel values must be in 0..255", field=field)
            arr = arr.astype(np.uint8)
    else:
        raise ValidationError(f"{field}: arrays of dtype {arr.dtype} are not images (allowed: uint8, bool, float 0..1)", field=field)
    # uint8 H×W, H×W×3, H×W×4 map to L, RGB, RGBA by themselves.
    return Image.fromarray(np.ascontiguousarray(arr))


def _read_path(path: str | os.PathLike, field: str) -> bytes:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise ValidationError(f"{field}: cannot read {os.fspath(path)!r} ({exc.strerror})", field=field) from exc
    _check_byte_count(size, field)  # before reading a single byte
    with open(path, "rb") as fh:
        return fh.read(MAX_UPLOAD_BYTES + 1)


def load_image(source: Any, *, field: str = "image") -> Image.Image:
    """A decoded PIL image from a PIL image, bytes, a path, a numpy array or a data URL.

    Refuses (``ValidationError`` with ``field``) empty input, more than ``MAX_UPLOAD_BYTES``,
    more than ``MAX_PIXELS`` (checked from the header, before decoding) and non-images.
    RGB, RGBA and L are returned as they are; other modes become RGB, RGBA or L.
    """
    if isinstance(source, Image.Image):
        return _from_pil(source, field)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), field)
    if isinstance(source, np.ndarray):
        return _from_array(source, field)
    if isinstance(source, str) and source.startswith("data:"):
        return _decode(from_data_url(source, field=field), field)
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        raise ValidationError(f"{field}: a URL is not fetched here; download it first or pass it to the client", field=field)
    if isinstance(source, (str, os.PathLike)):
        return _decode(_read_path(source, field), field)
    raise ValidationError(
        f"{field}: got {type(source).__name__}; expected a PIL image, bytes, a file path, "
        "a numpy array or a data:image/...;base64 URL",
        field=field,
    )


def _png_info(metadata: dict | None) -> PngImagePlugin.PngInfo | None:
    if not metadata:
        return None
    info = PngImagePlugin.PngInfo()
    json_keys = []
    for key, value in metadata.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 79 or not key.isprintable() or key == _JSON_KEYS_CHUNK:
            raise ValidationError(f"metadata: key {key!r} must be a printable string of 1 to 79 characters", field="metadata")
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
        info.add_text(key, value)  # tEXt when Latin-1, iTXt (UTF-8) otherwise
    if json_keys:
        info.add_text(_JSON_KEYS_CHUNK, json.dumps(json_keys))
    return info


def to_png(img: Any, *, metadata: dict | None = None) -> bytes:
    """PNG bytes; ``metadata`` becomes text chunks (non-str values JSON-encoded)."""
    img = img if isinstance(img, Image.Image) else load_image(img)
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=_png_info(metadata))
    return buf.getvalue()


def read_png_metadata(data_or_path: Any) -> dict:
    """The text chunks of a PNG as a dict; values written by ``to_png`` come back as given."""
    data = bytes(data_or_path) if isinstance(data_or_path, (bytes, bytearray, memoryview)) else _read_path(data_or_path, "png")
    if not data.startswith(_PNG_SIGNATURE):
        raise ValidationError("png: not a PNG file (no PNG signature)", field="png")
    try:
        with Image.open(io.BytesIO(data), formats=("PNG",)) as img:
            check_pixel_count(img.width, img.height, "png")
            img.load()  # text chunks after the image data are read only by load()
            text = dict(img.text)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(f"png: could not be read ({exc})", field="png") from exc
    json_keys = json.loads(text.pop(_JSON_KEYS_CHUNK, "[]"))
    return {key: json.loads(value) if key in json_keys else value for key, value in text.items()}


def to_jpeg(img: Any, quality: int = 92) -> bytes:
    """JPEG bytes; transparency is flattened onto white."""
    if not isinstance(quality, int) or isinstance(quality, bool) or not 1 <= quality <= 100:
        raise ValidationError(f"quality: must be an integer from 1 to 100, got {quality!r}", field="quality")
    img = img if isinstance(img, Image.Image) else load_image(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    elif img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


_DATA_URL_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg"}


def to_data_url(img_or_png_bytes: Any, fmt: str = "png") -> str:
    """``data:image/png;base64,…`` (or jpeg).  Bytes already in ``fmt`` are used as they are."""
    mime = _DATA_URL_FORMATS.get(fmt)
    if mime is None:
        raise ValueError(f"fmt must be one of {', '.join(sorted(_DATA_URL_FORMATS))}, got {fmt!r}")
    if isinstance(img_or_png_bytes, (bytes, bytearray, memoryview)):
        data = bytes(img_or_png_bytes)
        signature = _PNG_SIGNATURE if mime == "image/png" else _JPEG_SIGNATURE
        if data.startswith(signature):
            _check_byte_count(len(data), "image")
            return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    img = load_image(img_or_png_bytes)
    data = to_png(img) if mime == "image/png" else to_jpeg(img)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def to_base64_png(img: Any) -> str:
    """Bare base64 of a PNG (no ``data:`` prefix), as some dialects want it."""
    data = to_png(img) if isinstance(img, Image.Image) else to_png(load_image(img))
    return base64.b64encode(data).decode("ascii")


def from_data_url(s: str, *, field: str = "image") -> bytes:
    """The bytes of a ``data:image/...;base64,`` URL (size checked before decoding)."""
    if not isinstance(s, str) or not s.startswith("data:"):
        raise ValidationError(f"{field}: expected a data: URL such as data:image/png;base64,...", field=field)
    header, sep, payload = s.partition(",")
    if not sep or not header.endswith(";base64"):
        raise ValidationError(f"{field}: only base64 data URLs are accepted (data:image/...;base64,...)", field=field)
    media_type = header[5:].split(";", 1)[0].lower()
    if media_type and not media_type.startswith("image/"):
        raise ValidationError(f"{field}: the data URL holds {media_type!r}, expected an image/* type", field=field)
    payload = "".join(payload.split())  # line breaks are legal in base64 text
    # Refuse before decoding: every 4 base64 characters carry 3 bytes.
    _check_byte_count(len(payload) * 3 // 4, field)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"{field}: the data URL is not valid base64 ({exc})", field=field) from exc


def thumbnail_png(img: Any, max_side: int = 256) -> bytes:
    """A PNG no larger than ``max_side`` on either side (aspect ratio kept)."""
    if not isinstance(max_side, int) or isinstance(max_side, bool) or max_side < 1:
        raise ValidationError(f"max_side: must be a positive integer, got {max_side!r}", field="max_side")
    thumb = load_image(img).copy()
    thumb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return to_png(thumb)
