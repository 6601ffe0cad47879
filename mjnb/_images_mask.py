"""Masks.  The convention everywhere: mode "L", 255 = regenerate (white), 0 = keep.

A mask given as an image goes through ``load_image`` first (EXIF orientation, any Pillow
mode), so that it lines up with the image it belongs to whatever form either came in.
numpy and Pillow are imported inside the functions: ``import mjnb`` stays light.
"""

from __future__ import annotations

import base64
import io
import math
import numbers
import os
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError
from ._images_io import check_pixel_count, load_image

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from PIL import Image

    Bits = npt.NDArray[np.bool_]

__all__ = [
    "MASK_FORMATS",
    "as_mask",
    "encode_mask",
    "mask_to_polygons",
    "polygons_to_mask",
    "feather_mask",
    "grow_mask",
    "invert_mask",
]

MASK_FORMATS = ("png_data_url", "png_base64", "polygons")
_THRESHOLD = 128
#: mask_to_polygons falls back to this tolerance (px) when a mask has too many points.
_FALLBACK_TOLERANCE = 2.0


def _size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def _image_to_bits(img: Image.Image) -> Bits:
    """Paint = alpha ≥ 128 when the image has transparency, else luminance ≥ 128.

    ``img`` is normalised (RGB, RGBA or L).  A stroke layer drawn on a transparent canvas
    carries the mask in its alpha; a fully opaque image (black and white PNG, RGB or RGBA)
    carries it in its brightness.
    """
    import numpy as np

    if img.mode == "RGBA":
        alpha = np.asarray(img.getchannel("A"))
        if alpha.min() < 255:
            return alpha >= _THRESHOLD
    if img.mode != "L":
        img = img.convert("L")
    return np.asarray(img) >= _THRESHOLD


def _array_to_bits(arr: npt.NDArray[Any], field: str) -> Bits:
    """bool as is; integers: nonzero paints; floats: 0..1 (≥ 0.5 paints) or 0..255 (≥ 128).

    Floats must be finite: NaN compares false everywhere, so a NaN mask would be sent as
    "keep" where the user painted.
    """
    import numpy as np

    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return _image_to_bits(load_image(arr, field=field))
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2 or arr.size == 0:
        raise ValidationError(
            f"{field}: an array of shape {arr.shape} is not a mask (allowed: H×W, or H×W×1/3/4 as an image)",
            field=field,
        )
    if arr.dtype == np.bool_:
        return np.asarray(arr, dtype=np.bool_)
    if np.issubdtype(arr.dtype, np.integer):
        nonzero: Bits = arr != 0
        return nonzero
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValidationError(f"{field}: the float mask holds NaN or infinite values", field=field)
        low, high = float(arr.min()), float(arr.max())
        if low < 0 or high > 255:
            raise ValidationError(
                f"{field}: float mask values must lie in 0..1 or 0..255, got {low:g}..{high:g}", field=field
            )
        return arr >= (0.5 if high <= 1 else 127.5)
    raise ValidationError(
        f"{field}: arrays of dtype {arr.dtype} are not masks (allowed: bool, integers, floats)", field=field
    )


def _is_polygon_input(value: Any) -> bool:
    if isinstance(value, dict):
        return "areas" in value or "points" in value
    if isinstance(value, (list, tuple)) and value:
        first = value[0]
        return isinstance(first, dict) or (isinstance(first, (list, tuple)) and len(first) > 0)
    return False


def _to_bits(mask: Any, size: tuple[int, int] | None, field: str) -> Bits:
    import numpy as np
    from PIL import Image

    if isinstance(mask, Image.Image):
        return _image_to_bits(load_image(mask, field=field))
    if isinstance(mask, np.ndarray):
        if mask.ndim >= 2:
            check_pixel_count(mask.shape[1], mask.shape[0], field)
        return _array_to_bits(mask, field)
    if isinstance(mask, (bytes, bytearray, memoryview, str, os.PathLike)):
        return _image_to_bits(load_image(mask, field=field))
    if _is_polygon_input(mask):
        areas = _areas(mask, field)
        if size is None:
            sizes = {(a["width"], a["height"]) for a in areas if isinstance(a, dict) and "width" in a}
            if len(sizes) != 1:
                raise ValidationError(f"{field}: polygons need the image size: pass size=(width, height)", field=field)
            size = sizes.pop()
        return np.asarray(polygons_to_mask(areas, size, field=field)) >= _THRESHOLD
    raise ValidationError(
        f"{field}: got {type(mask).__name__}; expected a PIL image, a numpy array, PNG bytes, a file path, "
        "a data URL, or polygons (a list of {{width, height, points}} areas or of [(x, y), …] point lists)",
        field=field,
    )


def _check_size(size: Any, field: str) -> tuple[int, int]:
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) > 0 for v in size)
    ):
        raise ValidationError(f"{field}: size must be (width, height) in positive integers, got {size!r}", field=field)
    return int(size[0]), int(size[1])


def as_mask(mask: Any, size: tuple[int, int] | None = None, *, field: str = "mask") -> Image.Image:
    """A binary mode-"L" mask (255 = regenerate, white; 0 = keep, black) from any mask input.

    Args:
        mask: one of
            * a Pillow image of any mode (normalised by :func:`load_image` first: EXIF
              orientation, CMYK, 16-bit …): with transparency, alpha ≥ 128 paints (a stroke
              layer); otherwise luminance ≥ 128 paints (a black-and-white mask);
            * a numpy array H×W: bool (True paints), integers (nonzero paints), floats in
              0..1 (≥ 0.5 paints) or, when any value exceeds 1, in 0..255 (≥ 127.5 paints);
              H×W×1 likewise; H×W×3/4 is read as an RGB/RGBA image;
            * PNG/JPEG/… bytes, a file path or a ``data:image/png;base64,…`` URL (as images);
            * polygons: ``[{"width", "height", "points": [x1, y1, …]}, …]`` (EvoLink's
              ``mask.areas``), ``{"areas": [...]}`` or ``[[(x, y), …], …]`` (the last needs
              ``size``; areas drawn for another width/height are scaled to it).
        size: ``(width, height)`` of the image the mask is for; when given, the mask must
            have exactly that size (a mask is never resized silently).
        field: the argument name used in errors.

    Returns:
        A mode-"L" Pillow image of the mask's size holding only 0 and 255.

    Raises:
        ValidationError: (with ``field``) unreadable input, float values that are NaN,
            infinite or outside 0..255, a size that differs from ``size`` (both sizes are
            named), or an empty mask (nothing painted).
    """
    if size is not None:
        size = _check_size(size, "size")
    bits = _to_bits(mask, size, field)
    found = (bits.shape[1], bits.shape[0])
    if size is not None and found != size:
        raise ValidationError(f"{field}: mask is {_size_text(found)} but the image is {_size_text(size)}", field=field)
    if not bits.any():
        raise ValidationError(f"{field}: mask is empty: paint the region to regenerate", field=field)
    return _bits_to_image(bits)


def _bits_to_image(bits: Bits) -> Image.Image:
    import numpy as np
    from PIL import Image

    return Image.fromarray(bits.astype(np.uint8) * np.uint8(255))


def _binary(mask: Any, field: str = "mask") -> Bits:
    """Like as_mask but an empty mask is fine (the editing helpers may produce one)."""
    return _to_bits(mask, None, field)


def _png_of_mask(mask: Image.Image) -> bytes:
    buf = io.BytesIO()
    # Level 1: a two-valued mask compresses almost as well and several times faster.
    mask.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def encode_mask(mask: Any, fmt: str) -> Any:
    """The mask in a dialect's wire format.

    Args:
        mask: any mask input (see :func:`as_mask`); a feathered mask is made binary again.
        fmt: ``"png_data_url"`` (``data:image/png;base64,…`` of the greyscale PNG:
            midjourney-proxy's and new-api's ``maskBase64``), ``"png_base64"`` (bare base64:
            AceData's ``mask``) or ``"polygons"`` (EvoLink's ``mask.areas``, see
            :func:`mask_to_polygons`).

    Returns:
        A str for the PNG formats, a list of area dicts for ``"polygons"``.

    Raises:
        ValidationError: field "fmt" for an unknown format, field "mask" for a bad or empty
            mask.
    """
    if fmt not in MASK_FORMATS:
        raise ValidationError(f"fmt: unknown mask format {fmt!r}; allowed: {', '.join(MASK_FORMATS)}", field="fmt")
    img = as_mask(mask)  # binary and non-empty, whatever came in (a feathered mask too)
    if fmt == "polygons":
        return mask_to_polygons(img)
    png = _png_of_mask(img)
    # The PNG was just made from a checked mask: no need for to_data_url to decode it again.
    text = base64.b64encode(png).decode("ascii")
    return "data:image/png;base64," + text if fmt == "png_data_url" else text


def mask_to_polygons(mask: Any, *, max_points: int = 20_000, tolerance: float = 1.0) -> list[dict[str, Any]]:
    """``[{"width": W, "height": H, "points": [x1, y1, x2, y2, …]}, …]`` (EvoLink ``mask.areas``).

    Points are integer pixel coordinates, clockwise from each area's top-left point.  Filled
    as ``ImageDraw.polygon`` fills (outline included) they give back the mask: exactly for
    rectangles and unions of rectangles whose outline has no side shorter than 2 px, and
    within ``tolerance`` px along curved edges (``tolerance=0`` is exact for any mask).
    Holes are kept: each is opened by a slit to the left edge, since areas can only add.
    Over ``max_points`` points in all, a tolerance below 2 px is raised to 2.

    Args:
        mask: any mask input (see :func:`as_mask`); empty is allowed here (it gives ``[]``).
        max_points: the most points in all areas together, an integer ≥ 3.
        tolerance: how far (px, 0..8) a simplified outline may stray along curved edges.

    Returns:
        One dict per painted area, ``width``/``height`` being the mask's size in pixels.

    Raises:
        ValidationError: a bad mask (field "mask"), bad ``max_points`` or ``tolerance``, or
            a mask too detailed for ``max_points`` even at 2 px.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 3:
        raise ValidationError(f"max_points: must be an integer of at least 3, got {max_points!r}", field="max_points")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance <= 8:
        raise ValidationError(f"tolerance: must be a number from 0 to 8 px, got {tolerance!r}", field="tolerance")
    from ._images_trace import trace_polygons  # numpy-heavy: loaded on first use

    bits = _binary(mask)
    height, width = bits.shape
    for attempt in (float(tolerance), max(float(tolerance), _FALLBACK_TOLERANCE)):
        # A dropped point that sticks out cuts painted pixels off: allow a quarter as much.
        flat = trace_polygons(bits, attempt, attempt / 4)
        total = sum(len(p) for p in flat) // 2
        if total <= max_points:
            return [{"width": width, "height": height, "points": points} for points in flat]
    raise ValidationError(
        f"mask: too detailed to send as polygons: {total} points in {len(flat)} areas at a "
        f"{attempt:g} px tolerance, over the limit of {max_points}; paint fewer, smoother regions",
        field="mask",
    )


def _areas(value: Any, field: str) -> list[Any]:
    if isinstance(value, dict) and "areas" in value:
        value = value["areas"]
    elif isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationError(f"{field}: polygons must be a non-empty list of areas", field=field)
    return list(value)


def _area_points(area: Any, field: str) -> tuple[list[tuple[float, float]], tuple[int, int] | None]:
    """(points, reference size or None) of one area dict or point list."""
    ref = None
    if isinstance(area, dict):
        if "points" not in area:
            raise ValidationError(f"{field}: an area needs 'points': [x1, y1, x2, y2, …]", field=field)
        if "width" in area or "height" in area:
            ref = _check_size((area.get("width"), area.get("height")), field)
        raw = area["points"]
    else:
        raw = area
    if not isinstance(raw, (list, tuple)):
        raise ValidationError(f"{field}: points must be a list, got {type(raw).__name__}", field=field)
    try:
        if raw and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in raw):
            if len(raw) % 2:
                raise ValidationError(f"{field}: a flat point list needs an even count of numbers", field=field)
            points = [(float(raw[i]), float(raw[i + 1])) for i in range(0, len(raw), 2)]
        else:
            points = [(float(x), float(y)) for x, y in raw]
    except (TypeError, ValueError):
        raise ValidationError(f"{field}: points must be numbers: [x1, y1, …] or [(x, y), …]", field=field) from None
    if len(points) < 3:
        raise ValidationError(f"{field}: a polygon needs at least 3 points, got {len(points)}", field=field)
    if not all(math.isfinite(v) for point in points for v in point):
        raise ValidationError(f"{field}: points must be finite numbers", field=field)
    return points, ref


def polygons_to_mask(areas: Any, size: tuple[int, int], *, field: str = "mask") -> Image.Image:
    """Rasterise areas (or point lists) into an "L" mask of ``size``, as ImageDraw fills them.

    Args:
        areas: ``[{"width", "height", "points": [x1, y1, …]}, …]``, ``{"areas": [...]}`` or
            ``[[(x, y), …], …]`` in pixel coordinates; at least 3 finite points per area.
            An area whose width/height differ from ``size`` is scaled to it (pixel centres
            map to pixel centres).
        size: ``(width, height)`` of the mask in pixels.
        field: the argument name used in errors.

    Returns:
        A mode-"L" image of ``size``, 255 inside the areas.  It may be empty; :func:`as_mask`
        refuses that, this does not.

    Raises:
        ValidationError: malformed areas (``field``) or size (field "size").
    """
    from PIL import Image, ImageDraw

    width, height = _check_size(size, "size")
    check_pixel_count(width, height, field)
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    for area in _areas(areas, field):
        points, ref = _area_points(area, field)
        if ref is not None and ref != (width, height):
            points = _scale_points(points, width / ref[0], height / ref[1])
        draw.polygon(points, fill=255)
    return img


def _scale_points(points: list[tuple[float, float]], sx: float, sy: float) -> list[tuple[float, float]]:
    """Scale a polygon of pixel centres so that it covers the same part of the picture.

    A point at a pixel centre stands for that pixel's outer corner: each vertex is pushed
    half a pixel outwards, scaled, and pulled half a pixel back in (so pixels 10..59 of 100
    become 20..119 of 200, not 20..118).
    """
    import numpy as np

    pts = np.asarray(points, dtype=np.float64)
    keep = np.r_[True, (np.diff(pts, axis=0) != 0).any(axis=1)]
    pts = pts[keep]
    if len(pts) > 1 and (pts[0] == pts[-1]).all():
        pts = pts[:-1]
    before, after = pts - np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0) - pts
    twice_area = float((pts[:, 0] * np.roll(pts[:, 1], -1) - np.roll(pts[:, 0], -1) * pts[:, 1]).sum())
    # Outward normals of the edges on either side (clockwise on screen: the left of travel).
    normals = []
    for edge in (before, after):
        length = np.hypot(edge[:, 0], edge[:, 1])
        normals.append(np.stack([edge[:, 1], -edge[:, 0]], axis=1) / np.where(length > 0, length, 1.0)[:, None])
    outward = np.sign(np.round(normals[0] + normals[1], 6)) * 0.5 * np.sign(twice_area)
    scale = np.array([sx, sy])
    return [tuple(p) for p in pts * scale + (scale - 1) * (0.5 + outward)]


def feather_mask(mask: Any, radius: float) -> Image.Image:
    """A soft copy of the mask for previewing an edge: a Gaussian blur of ``radius`` px.

    Args:
        mask: any mask input (see :func:`as_mask`); empty is allowed here.
        radius: 0..512 px; 0 gives the binary mask itself.

    Returns:
        A mode-"L" image of the mask's size with values 0..255.  (:func:`encode_mask` sends
        it binary again: the services take hard masks.)

    Raises:
        ValidationError: a bad mask (field "mask") or radius (field "radius").
    """
    if not isinstance(radius, (int, float)) or isinstance(radius, bool) or not 0 <= radius <= 512:
        raise ValidationError(f"radius: must be a number from 0 to 512, got {radius!r}", field="radius")
    from PIL import ImageFilter

    img = _bits_to_image(_binary(mask))
    return img.filter(ImageFilter.GaussianBlur(radius)) if radius > 0 else img


def _window_any(bits: Bits, reach: int, axis: int) -> Bits:
    """True where any pixel within ``reach`` along ``axis`` is True (edges replicated).

    Doubling shifts: each pass widens the window from ±c to ±(2c + 1), so about log2(reach)
    passes of a few boolean ORs (4096², reach 8: ~40 ms instead of ~600 ms for both axes).
    """
    n = bits.shape[axis]
    reach = min(reach, n)  # a wider window covers the whole line anyway
    out, covered = bits, 0
    while covered < reach:
        step = min(covered + 1, reach - covered)
        grown = out.copy()
        head, tail, lo, hi = ([slice(None)] * 2 for _ in range(4))
        head[axis], tail[axis] = slice(0, n - step), slice(step, n)
        lo[axis], hi[axis] = slice(0, step), slice(n - step, n)
        grown[tuple(head)] |= out[tuple(tail)]  # the pixel `step` further on
        grown[tuple(tail)] |= out[tuple(head)]  # and `step` back
        grown[tuple(hi)] |= out.take([n - 1], axis=axis)  # past the edge: the edge pixel
        grown[tuple(lo)] |= out.take([0], axis=axis)
        out, covered = grown, covered + step
    return out


def grow_mask(mask: Any, px: int) -> Image.Image:
    """Grow the painted region by ``px`` pixels (a square neighbourhood); negative shrinks.

    The image border does not count as unpainted: a mask touching the edge stays there.

    Args:
        mask: any mask input (see :func:`as_mask`); empty is allowed here.
        px: an integer number of pixels.

    Returns:
        A binary mode-"L" image of the mask's size (255 = regenerate).

    Raises:
        ValidationError: a bad mask (field "mask") or ``px`` (field "px").
    """
    if not isinstance(px, numbers.Integral) or isinstance(px, bool):
        raise ValidationError(f"px: must be an integer number of pixels, got {px!r}", field="px")
    bits = _binary(mask)
    if px == 0:
        return _bits_to_image(bits)
    reach = abs(int(px))
    target = bits if px > 0 else ~bits  # shrinking the paint = growing the unpainted part
    grown = _window_any(_window_any(target, reach, 0), reach, 1)
    return _bits_to_image(grown if px > 0 else ~grown)


def invert_mask(mask: Any) -> Image.Image:
    """Swap regenerate and keep (paint everything but the region painted).

    Args:
        mask: any mask input (see :func:`as_mask`); empty is allowed here.

    Returns:
        A binary mode-"L" image of the mask's size.

    Raises:
        ValidationError: (field "mask") a bad mask.
    """
    return _bits_to_image(~_binary(mask))
