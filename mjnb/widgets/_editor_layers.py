"""The editor's drawing: three ipycanvas layers and a hidden photo canvas, in display pixels.

* layer 0, **image** — the photo (and, when repositioning, the checkerboard of the empty area);
* layer 1, **mask overlay** — the painted region, tinted, at the chosen opacity;
* layer 2, **interaction** — rubber bands, the lasso path, the image outline, snap guides.
  Only this top layer receives mouse events (ipycanvas' MultiCanvas rule).

The photo is sent once, as a JPEG, into a canvas that is never displayed; the image layer is
drawn from it with a canvas-to-canvas ``draw_image``, so moving the image costs the browser
a blit, not a JPEG decode.  Painting is drawn incrementally (one segment per mouse move);
the overlay is redrawn as a sparse PNG only when the mask changes wholesale (undo, invert,
a reconnecting view).  Nothing here reads pixels back from the browser.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas, MultiCanvas
from numpy.typing import NDArray
from PIL import Image

from .. import images
from ._style import classes

__all__ = ["Layers", "OVERLAY_RGB", "JPEG_QUALITY"]

#: The overlay's tint: a magenta that reads on photos of any colour.
OVERLAY_RGB = (255, 0, 128)
_OVERLAY_CSS = "rgb(255, 0, 128)"
_GUIDE_CSS = "#00b4ff"
#: The photo layer's JPEG quality (≥ 90: no visible blocking at editing zoom).
JPEG_QUALITY = 92
_CHECKER_CELL = 12
_HANDLE = 10  # display px, the side of the scale handle


class Layers:
    """The canvases of one editor, and every drawing operation the editor performs on them."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.multi = classes(MultiCanvas(3, width=size[0], height=size[1]), "mjnb-canvas")
        self._fix_css_size(size)
        self.image, self.overlay, self.interaction = self.multi[0], self.multi[1], self.multi[2]
        self.photo_canvas = Canvas(width=1, height=1)  # never displayed: the photo's pixels in the browser
        self._photo_widget: widgets.Image | None = None
        tile = images.checkerboard((2 * _CHECKER_CELL, 2 * _CHECKER_CELL), _CHECKER_CELL)
        self._checker_tile = widgets.Image(value=images.to_png(tile), format="png")
        self._checker = self.image.create_pattern(self._checker_tile, "repeat")
        self.photo_bytes = 0  # size of the JPEG last sent, for the benchmarks
        self._opacity = 0.5

    # -- sizes and the photo -----------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return (self.multi.width, self.multi.height)

    def resize(self, size: tuple[int, int]) -> None:
        if size != self.size:
            self.multi.width, self.multi.height = size
            self._fix_css_size(size)

    def _fix_css_size(self, size: tuple[int, int]) -> None:
        # one canvas pixel per CSS pixel (a stretched canvas blurs), narrower only in a narrow output
        self.multi.layout.width = f"{size[0]}px"
        self.multi.layout.max_width = "100%"
        self.multi.layout.height = "auto"

    def set_photo(self, image: Image.Image, max_side: int) -> None:
        """Send ``image`` to the browser once, as a JPEG no larger than ``max_side`` a side."""
        shown = image
        if max(image.size) > max_side:
            shown = image.copy()
            shown.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        data = images.to_jpeg(shown, JPEG_QUALITY)
        self.photo_bytes = len(data)
        old = self._photo_widget
        self._photo_widget = widgets.Image(value=data, format="jpeg")
        self.photo_canvas.width, self.photo_canvas.height = shown.size
        if old is not None:
            old.close()

    def draw_photo_canvas(self) -> None:
        if self._photo_widget is not None:
            self.photo_canvas.clear()
            self.photo_canvas.draw_image(self._photo_widget, 0, 0)

    # -- layer 0 ---------------------------------------------------------------------------------------
    def draw_image(self, box: Sequence[float] | None) -> None:
        """The photo filling the layer (``box`` None), or at ``box`` over the checkerboard."""
        layer = self.image
        layer.clear()
        if self._photo_widget is None:
            return
        if box is None:
            layer.draw_image(self.photo_canvas, 0, 0, *self.size)
            return
        layer.fill_style = self._checker
        layer.fill_rect(0, 0, *self.size)
        layer.draw_image(self.photo_canvas, *box)

    # -- layer 1 ---------------------------------------------------------------------------------------
    def overlay_style(self, opacity: float) -> None:
        """Set once per redraw: painting then only switches the compositing mode."""
        layer = self.overlay
        layer.stroke_style = layer.fill_style = _OVERLAY_CSS
        layer.line_cap = layer.line_join = "round"
        self._opacity = opacity

    def draw_mask(self, mask: NDArray[np.bool_], box: Sequence[float], opacity: float) -> None:
        """The whole overlay from the kernel's mask (bool, image pixels), shown at ``box``."""
        layer = self.overlay
        layer.clear()
        self.overlay_style(opacity)
        if not mask.any():
            return
        x, y, w, h = (round(v) for v in box)
        coverage = Image.fromarray(mask.astype(np.uint8) * np.uint8(255))
        if coverage.size != (w, h):
            coverage = coverage.resize((max(1, w), max(1, h)), Image.Resampling.BOX)
        alpha = (np.asarray(coverage, dtype=np.float32) * opacity).astype(np.uint8)
        rgba = np.empty(alpha.shape + (4,), dtype=np.uint8)
        rgba[..., :3] = OVERLAY_RGB
        rgba[..., 3] = alpha
        # "copy": the picture replaces the whole layer, so a redraw never stacks on an earlier
        # one, whatever order the browser finishes decoding them in
        layer.global_composite_operation = "copy"
        layer.put_image_data(rgba, x, y)
        layer.global_composite_operation = "source-over"

    def _paint(self, draw: Callable[[Any], object], erase: bool) -> None:
        # Cut the shape out first, then lay it in at the overlay opacity: overlapping segments
        # of one stroke then show one even tint instead of darkening where they overlap.
        layer = self.overlay
        layer.global_composite_operation = "destination-out"
        layer.global_alpha = 1.0
        draw(layer)
        layer.global_composite_operation = "source-over"
        if not erase:
            layer.global_alpha = self._opacity
            draw(layer)
            layer.global_alpha = 1.0

    def paint_segment(self, p0: tuple[float, float], p1: tuple[float, float], radius: float, erase: bool) -> None:
        if p0 == p1:
            self._paint(lambda layer: layer.fill_circle(p0[0], p0[1], radius), erase)
            return
        self.overlay.line_width = 2 * radius
        self._paint(lambda layer: layer.stroke_line(p0[0], p0[1], p1[0], p1[1]), erase)

    def paint_rect(self, x: float, y: float, w: float, h: float, erase: bool) -> None:
        self._paint(lambda layer: layer.fill_rect(x, y, w, h), erase)

    def paint_polygon(self, points: Sequence[tuple[float, float]], erase: bool) -> None:
        self._paint(lambda layer: layer.fill_polygon(list(points)), erase)

    # -- layer 2 ---------------------------------------------------------------------------------------
    def clear_interaction(self) -> None:
        self.interaction.clear()

    def rubber_band(self, x0: float, y0: float, x1: float, y1: float) -> None:
        layer = self.interaction
        layer.clear()
        layer.stroke_style = _OVERLAY_CSS
        layer.line_width = 1.5
        layer.set_line_dash([6, 4])
        layer.stroke_rect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))

    def lasso_start(self) -> None:
        layer = self.interaction
        layer.clear()
        layer.stroke_style = _OVERLAY_CSS
        layer.line_width = 1.5
        layer.set_line_dash([])

    def lasso_segment(self, p0: tuple[float, float], p1: tuple[float, float]) -> None:
        self.interaction.stroke_line(p0[0], p0[1], p1[0], p1[1])

    def brush_preview(self, x: float, y: float, radius: float) -> None:
        layer = self.interaction
        layer.clear()
        layer.stroke_style = _OVERLAY_CSS
        layer.line_width = 1.5
        layer.set_line_dash([])
        layer.stroke_circle(x, y, radius)

    def outline(self, box: Sequence[float], guides: Sequence[str] = ()) -> None:
        """The image's outline and scale handle; dashed snap guides while dragging."""
        layer = self.interaction
        layer.clear()
        x, y, w, h = box
        width, height = self.size
        layer.set_line_dash([])
        layer.line_width = 1.5
        layer.stroke_style = _GUIDE_CSS
        layer.stroke_rect(x, y, w, h)
        layer.fill_style = _GUIDE_CSS
        layer.fill_rect(x + w - _HANDLE / 2, y + h - _HANDLE / 2, _HANDLE, _HANDLE)
        if not guides:
            return
        layer.set_line_dash([5, 5])
        for guide in guides:
            if guide == "centre-x":
                layer.stroke_line(width / 2, 0, width / 2, height)
            elif guide == "centre-y":
                layer.stroke_line(0, height / 2, width, height / 2)
            elif guide in ("left", "right"):
                gx = 1 if guide == "left" else width - 1
                layer.stroke_line(gx, 0, gx, height)
            elif guide in ("top", "bottom"):
                gy = 1 if guide == "top" else height - 1
                layer.stroke_line(0, gy, width, gy)

    @staticmethod
    def on_handle(box: Sequence[float], x: float, y: float) -> bool:
        """True when display point (x, y) grabs the scale handle of ``box``."""
        bx, by, bw, bh = box
        return abs(x - (bx + bw)) <= _HANDLE and abs(y - (by + bh)) <= _HANDLE

    def close(self) -> None:
        for w in (self._photo_widget, self._checker_tile, self._checker, self.photo_canvas, self.multi):
            if w is not None:
                w.close()
