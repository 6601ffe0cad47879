"""Decoding: every image that enters mjnb passes ``load_image``'s guards.

Limits are checked before decoding: byte counts before reading (a file's size from
``os.stat``), the pixel count from the header (``Image.open`` is lazy) before ``load()``.
Pillow's own bomb guard stays on.  A decoded image then gets its EXIF orientation and an
8-bit RGB, RGBA or L mode (``_images_modes``), whether it came as bytes, a path, a data URL
or a Pillow image the user opened.

numpy and Pillow are imported inside the functions: ``import mjnb`` stays light.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import stat
import sys
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError
from ._images_modes import DECODE_ERRORS, apply_orientation, levels_to_uint8, to_8bit

if TYPE_CHECKING:
    import numpy.typing as npt
    from PIL import Image

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_PIXELS",
    "ACCEPTED_FORMATS",
    "DATA_URL_TYPES",
    "load_image",
    "from_data_url",
]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 64_000_000
#: The decoders Pillow may try; exotic formats stay out of reach of untrusted bytes.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")  # JPEG covers MPO (phone photos)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
#: The media types a data URL may declare, with the signature its bytes must start with:
#: the services take PNG and JPEG data URLs.
DATA_URL_TYPES = {"image/png": PNG_SIGNATURE, "image/jpeg": JPEG_SIGNATURE, "image/jpg": JPEG_SIGNATURE}


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def check_byte_count(n: int, field: str) -> None:
    """Refuse 0 bytes and more than ``MAX_UPLOAD_BYTES``, before anything is read or copied."""
    if n == 0:
        raise ValidationError(f"{field}: empty (0 bytes), expected an image", field=field)
    if n > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"{field}: {megabytes(n)} is over the {megabytes(MAX_UPLOAD_BYTES)} upload limit", field=field
        )


def check_pixel_count(width: int, height: int, field: str) -> None:
    """Refuse an empty image and more than ``MAX_PIXELS`` pixels."""
    if width <= 0 or height <= 0:
        raise ValidationError(f"{field}: the image is empty ({width}×{height})", field=field)
    if width * height > MAX_PIXELS:
        raise ValidationError(
            f"{field}: {width}×{height} is {width * height:,} pixels, over the {MAX_PIXELS:,} pixel limit",
            field=field,
        )


def as_bytes(data: bytes | bytearray | memoryview, field: str) -> bytes:
    """``bytes`` of a bytes-like value, its size checked before it is copied."""
    check_byte_count(data.nbytes if isinstance(data, memoryview) else len(data), field)
    return data if isinstance(data, bytes) else bytes(data)


def read_path(path: Any, field: str) -> bytes:
    """The bytes of a regular file, its size checked (``os.stat``) before a byte is read.

    Raises:
        ValidationError: not a str/PathLike, missing, a directory or other non-file (a FIFO
            would block), unreadable, empty, or over ``MAX_UPLOAD_BYTES``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError(f"{field}: expected a file path, got {type(path).__name__}", field=field)
    try:
        name = os.fsdecode(path)
        info = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError(f"{field}: cannot read {os.fspath(path)!r} ({reason})", field=field) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ValidationError(f"{field}: {name!r} is a directory, expected an image file", field=field)
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError(f"{field}: {name!r} is not a regular file, expected an image file", field=field)
    check_byte_count(info.st_size, field)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_UPLOAD_BYTES + 1)
    except OSError as exc:
        raise ValidationError(f"{field}: cannot read {name!r} ({exc.strerror or exc})", field=field) from exc
    check_byte_count(len(data), field)  # the file may have changed since stat
    return data


def _bomb(exc: BaseException, field: str) -> ValidationError:
    return ValidationError(
        f"{field}: refused before decoding: over Pillow's pixel limit, a possible decompression bomb ({exc})",
        field=field,
    )


def loaded(img: Image.Image, field: str) -> Image.Image:
    """``img`` with its pixels decoded, after its header's pixel count was checked."""
    from PIL import Image

    check_pixel_count(img.width, img.height, field)
    try:
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb(exc, field) from exc
    except DECODE_ERRORS as exc:
        raise ValidationError(f"{field}: the image could not be decoded ({exc})", field=field) from exc
    except AssertionError as exc:  # Pillow asserts an open file when an opened image was closed unread
        raise ValidationError(
            f"{field}: the image's file was closed before its pixels were read; pass the path, or call "
            ".load() inside the `with Image.open(...)` block",
            field=field,
        ) from exc
    return img


def open_bytes(data: bytes, field: str) -> Image.Image:
    """The decoded (not yet normalised) image in ``data``, with every limit checked."""
    from PIL import Image

    check_byte_count(len(data), field)
    try:
        img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow's guard, at open
        raise _bomb(exc, field) from exc
    except DECODE_ERRORS as exc:  # UnidentifiedImageError is an OSError
        raise ValidationError(
            f"{field}: not an image mjnb can read (accepted formats: {', '.join(ACCEPTED_FORMATS)})", field=field
        ) from exc
    return loaded(img, field)


def normalise(img: Image.Image, field: str) -> Image.Image:
    """Upright (EXIF orientation) and in RGB, RGBA or L; ``img`` itself when nothing changes."""
    return to_8bit(apply_orientation(img, field), field)


def _from_array(arr: npt.NDArray[Any], field: str) -> Image.Image:
    import numpy as np
    from PIL import Image

    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValidationError(
            f"{field}: an array of shape {arr.shape} is not an image (allowed: H×W, H×W×1, H×W×3, H×W×4)",
            field=field,
        )
    check_pixel_count(arr.shape[1], arr.shape[0], field)
    is_16bit = arr.dtype in (np.dtype("<u2"), np.dtype(">u2"))
    if np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.uint8 and not is_16bit:
        # Only uint16 says "16-bit"; an int64 array of 0..300 is more likely a mistake.
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValidationError(
                f"{field}: integer pixel values must be in 0..255 (or a uint16 array for 16-bit)", field=field
            )
        arr = arr.astype(np.uint8)
    source = f"an array of dtype {arr.dtype}"
    # uint8 H×W, H×W×3, H×W×4 map to L, RGB, RGBA by themselves.
    return Image.fromarray(np.ascontiguousarray(levels_to_uint8(arr, field, source)))


def load_image(source: Any, *, field: str = "image") -> Image.Image:
    """A decoded, upright, 8-bit RGB, RGBA or L Pillow image from any image input.

    Args:
        source: a Pillow image (any mode, e.g. opened by the user with ``Image.open``), bytes
            (PNG, JPEG, WEBP, GIF, BMP or TIFF; bytearray and memoryview too), a file path
            (str or ``os.PathLike``), a ``data:image/png|jpeg;base64,…`` URL, or a numpy
            array: H×W (L), H×W×1, H×W×3 (RGB), H×W×4 (RGBA) of uint8 0..255, uint16
            (16-bit, scaled), bool, or float in 0..1 (or 0..255).
        field: the argument name used in error messages and ``ValidationError.field``.

    Returns:
        A loaded ``PIL.Image.Image`` of mode RGB, RGBA or L with EXIF orientation applied.
        Other modes are converted as ``mjnb._images_modes`` describes (CMYK, LAB, HSV,
        YCbCr, P → RGB; LA, PA, RGBa, transparent P → RGBA; 1 → L; 16-bit, I and F scaled
        to 8 bits).  A Pillow image that needs no change is returned as it is, not copied.

    Raises:
        ValidationError: (with ``field``) empty input, more than ``MAX_UPLOAD_BYTES``
            (checked before reading), more than ``MAX_PIXELS`` (from the header, before
            decoding), a directory or missing file, an http(s) URL (download it first), a
            data URL that is not base64 PNG/JPEG, undecodable bytes, float pixels with NaN
            or inf, or a mode that cannot be converted.
    """
    from PIL import Image

    if isinstance(source, Image.Image):
        return normalise(loaded(source, field), field)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return normalise(open_bytes(as_bytes(source, field), field), field)
    numpy = sys.modules.get("numpy")  # an array exists only if numpy was imported
    if numpy is not None and isinstance(source, numpy.ndarray):
        return _from_array(source, field)
    if isinstance(source, str) and source.startswith("data:"):
        return normalise(open_bytes(from_data_url(source, field=field), field), field)
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        raise ValidationError(
            f"{field}: a URL is not fetched here; download it first or pass it to the client", field=field
        )
    if isinstance(source, (str, os.PathLike)):
        return normalise(open_bytes(read_path(source, field), field), field)
    raise ValidationError(
        f"{field}: got {type(source).__name__}; expected a PIL image, bytes, a file path, "
        "a numpy array or a data:image/...;base64 URL",
        field=field,
    )


def from_data_url(s: str, *, field: str = "image") -> bytes:
    """The bytes of a ``data:image/png;base64,…`` or ``data:image/jpeg;base64,…`` URL.

    The size is checked from the text's length before decoding; line breaks in the base64
    text are allowed (RFC 2045).

    Returns:
        The decoded bytes; they start with the PNG or JPEG signature, as declared.

    Raises:
        ValidationError: not a ``data:`` URL, not base64, a media type other than
            image/png or image/jpeg, invalid base64, empty, over ``MAX_UPLOAD_BYTES``, or
            bytes that are not the declared format.
    """
    if not isinstance(s, str) or not s.startswith("data:"):
        raise ValidationError(f"{field}: expected a data: URL such as data:image/png;base64,...", field=field)
    header, sep, payload = s.partition(",")
    if not sep or not header.lower().endswith(";base64"):
        raise ValidationError(f"{field}: only base64 data URLs are accepted (data:image/...;base64,...)", field=field)
    media_type = header[5:].split(";", 1)[0].strip().lower()
    signature = DATA_URL_TYPES.get(media_type)
    if signature is None:
        raise ValidationError(
            f"{field}: the data URL holds {media_type or 'no media type'!r}; expected image/png or image/jpeg",
            field=field,
        )
    payload = "".join(payload.split())  # line breaks are legal in base64 text
    # Refuse before decoding: every 4 base64 characters carry 3 bytes.
    check_byte_count(len(payload) * 3 // 4, field)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"{field}: the data URL is not valid base64 ({exc})", field=field) from exc
    if not data.startswith(signature):
        raise ValidationError(f"{field}: the data URL says {media_type} but its bytes are not one", field=field)
    return data
