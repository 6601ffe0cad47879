"""Pure geometry of the canvas editor: display ↔ source scaling, reposition boxes, snapping.

Three coordinate systems meet in the editor:

* **display** — pixels of the ipycanvas widget the user sees (at most ``display_size`` a side);
* **canvas** — source pixels of the working canvas: the image itself when inpainting, or the
  larger canvas of a reposition (what ``editor.canvas_size`` reports);
* **image** — source pixels of the image being edited (what ``editor.mask()`` is in).

The image sits on the canvas at ``image_box`` ``(x, y, w, h)`` (canvas pixels).  Everything
here is plain arithmetic on tuples: no widgets, no Pillow, so it is tested exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .._errors import ValidationError
from ..images import MIN_CANVAS_SIDE

__all__ = [
    "ASPECT_PRESETS",
    "MIN_CANVAS_SIDE",
    "Box",
    "View",
    "image_point",
    "canvas_point",
    "parse_aspect",
    "canvas_for_aspect",
    "check_canvas_size",
    "centred_box",
    "max_scale",
    "move_box",
    "scale_box",
    "Snap",
]

#: The reposition presets of the editor, in the order the dropdown lists them.
ASPECT_PRESETS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "1:2": (1, 2),
    "2:1": (2, 1),
    "2:3": (2, 3),
    "3:2": (3, 2),
    "3:4": (3, 4),
    "4:3": (4, 3),
    "9:16": (9, 16),
    "16:9": (16, 9),
}


class Box(NamedTuple):
    """A rectangle in integer pixels: top-left corner and size (a tuple, so it compares to one)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True)
class View:
    """How a canvas of ``canvas_size`` source pixels is drawn on a widget at most ``display_size`` a side.

    The canvas is scaled to fit (up or down), so a 512² image is painted as comfortably as a
    2048² one; ``to_source`` and ``to_display`` are exact inverses of each other.
    """

    canvas_size: tuple[int, int]
    display_size: int

    @property
    def scale(self) -> float:
        """Display pixels per canvas pixel."""
        return self.display_size / max(self.canvas_size)

    @property
    def size(self) -> tuple[int, int]:
        """The widget's size in display pixels."""
        w, h = self.canvas_size
        return (max(1, round(w * self.scale)), max(1, round(h * self.scale)))

    @property
    def _factors(self) -> tuple[float, float]:
        # per axis, so that the display's last pixel edge maps to the canvas's exactly despite rounding
        (cw, ch), (dw, dh) = self.canvas_size, self.size
        return (cw / dw, ch / dh)

    def to_source(self, x: float, y: float) -> tuple[float, float]:
        fx, fy = self._factors
        return (x * fx, y * fy)

    def to_display(self, x: float, y: float) -> tuple[float, float]:
        fx, fy = self._factors
        return (x / fx, y / fy)

    def length_to_source(self, length: float) -> float:
        """A display length (brush radius, snap distance) in canvas pixels."""
        fx, fy = self._factors
        return length * (fx + fy) / 2

    def box_to_display(self, box: Box) -> tuple[float, float, float, float]:
        x0, y0 = self.to_display(box.x, box.y)
        x1, y1 = self.to_display(box.x + box.w, box.y + box.h)
        return (x0, y0, x1 - x0, y1 - y0)


def image_point(box: Box, image_size: tuple[int, int], x: float, y: float) -> tuple[float, float]:
    """A canvas point in the coordinates of the image drawn at ``box``."""
    iw, ih = image_size
    return ((x - box.x) * iw / box.w, (y - box.y) * ih / box.h)


def canvas_point(box: Box, image_size: tuple[int, int], x: float, y: float) -> tuple[float, float]:
    """An image point in canvas coordinates (the inverse of :func:`image_point`)."""
    iw, ih = image_size
    return (box.x + x * box.w / iw, box.y + y * box.h / ih)


def parse_aspect(aspect: str | tuple[int, int]) -> tuple[int, int]:
    """``"16:9"`` or ``(16, 9)`` → ``(16, 9)``; anything else is refused with the allowed forms."""
    if isinstance(aspect, str) and aspect in ASPECT_PRESETS:
        return ASPECT_PRESETS[aspect]
    parts: tuple[object, ...] = ()
    if isinstance(aspect, str) and aspect.count(":") == 1:
        left, right = aspect.split(":")
        parts = (left.strip(), right.strip())
    elif isinstance(aspect, tuple) and len(aspect) == 2:
        parts = aspect
    try:
        a, b = (int(p) for p in parts)  # type: ignore[call-overload]  # int() refuses what is not a number
        if a > 0 and b > 0 and not isinstance(parts[0], bool):
            return (a, b)
    except (TypeError, ValueError):
        pass
    allowed = ", ".join(ASPECT_PRESETS)
    raise ValidationError(
        f"aspect: {aspect!r} is not allowed; use one of {allowed} or 'W:H' with positive integers", field="aspect"
    )


def canvas_for_aspect(
    image_size: tuple[int, int], aspect: str | tuple[int, int], max_side: int | None = None
) -> tuple[int, int]:
    """The smallest canvas of ``aspect`` that holds the image at its own size.

    With ``max_side`` the canvas is shrunk (keeping the aspect) to fit it; the image is then
    scaled down on it by the caller (:func:`max_scale`).
    """
    a, b = parse_aspect(aspect)
    w, h = image_size
    if w * b >= h * a:  # the image is wider than the aspect: its width fixes the canvas
        cw, ch = w, max(1, round(w * b / a))
    else:
        cw, ch = max(1, round(h * a / b)), h
    if max_side is not None and max(cw, ch) > max_side:
        if cw >= ch:
            cw, ch = max_side, max(1, round(max_side * b / a))
        else:
            cw, ch = max(1, round(max_side * a / b)), max_side
    return (cw, ch)


def check_canvas_size(size: tuple[int, int], max_side: int | None, field: str = "canvas") -> tuple[int, int]:
    """``size`` as two ints, or a clear error naming ``field`` and the allowed range."""
    try:
        w, h = size
        ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (w, h))
    except (TypeError, ValueError):
        ok = False
    upper = f" and at most {max_side}" if max_side else ""
    if not ok:
        raise ValidationError(f"{field}: {size!r} is not a (width, height) pair of integers", field=field)
    if min(w, h) < MIN_CANVAS_SIDE or (max_side is not None and max(w, h) > max_side):
        raise ValidationError(
            f"{field}: {w}×{h} is not allowed; each side must be at least {MIN_CANVAS_SIDE}{upper} pixels",
            field=field,
        )
    return (w, h)


def max_scale(canvas: tuple[int, int], image_size: tuple[int, int]) -> float:
    """The largest scale at which the whole image still fits on the canvas."""
    return min(canvas[0] / image_size[0], canvas[1] / image_size[1])


def centred_box(canvas: tuple[int, int], image_size: tuple[int, int], scale: float) -> Box:
    """The image at ``scale``, centred on the canvas (rounded to whole pixels, kept inside)."""
    w = max(1, min(canvas[0], round(image_size[0] * scale)))
    h = max(1, min(canvas[1], round(image_size[1] * scale)))
    return Box((canvas[0] - w) // 2, (canvas[1] - h) // 2, w, h)


@dataclass(frozen=True)
class Snap:
    """Which guides a moved box snapped to: ``"left"``, ``"centre-x"``, ``"right"``, ``"top"``, ``"centre-y"``, ``"bottom"``."""

    box: Box
    guides: tuple[str, ...] = ()


def _snap_axis(
    pos: int, size: int, extent: int, threshold: float, names: tuple[str, str, str]
) -> tuple[int, str | None]:
    candidates = ((0, names[0]), ((extent - size) // 2, names[1]), (extent - size, names[2]))
    best = min(candidates, key=lambda c: abs(pos - c[0]))
    if abs(pos - best[0]) <= threshold:
        return best[0], best[1]
    return pos, None


def move_box(box: Box, dx: float, dy: float, canvas: tuple[int, int], snap: float = 0.0) -> Snap:
    """``box`` moved by (dx, dy) canvas pixels, kept on the canvas, snapped within ``snap`` pixels.

    Snapping pulls the image's left/right edges to the canvas edges and its centre to the
    canvas centre, on each axis independently, when within ``snap`` pixels of them.
    """
    x = min(max(round(box.x + dx), 0), canvas[0] - box.w)
    y = min(max(round(box.y + dy), 0), canvas[1] - box.h)
    guides = []
    if snap > 0:
        x, gx = _snap_axis(x, box.w, canvas[0], snap, ("left", "centre-x", "right"))
        y, gy = _snap_axis(y, box.h, canvas[1], snap, ("top", "centre-y", "bottom"))
        guides = [g for g in (gx, gy) if g]
    return Snap(Box(x, y, box.w, box.h), tuple(guides))


def scale_box(box: Box, image_size: tuple[int, int], scale: float, canvas: tuple[int, int]) -> Box:
    """The image at ``scale`` about the centre of ``box``, clamped to fit and kept on the canvas."""
    scale = min(max(scale, 1e-6), max_scale(canvas, image_size))
    w = max(1, min(canvas[0], round(image_size[0] * scale)))
    h = max(1, min(canvas[1], round(image_size[1] * scale)))
    cx, cy = box.centre
    x = min(max(round(cx - w / 2), 0), canvas[0] - w)
    y = min(max(round(cy - h / 2), 0), canvas[1] - h)
    return Box(x, y, w, h)
