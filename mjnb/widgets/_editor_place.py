"""Reposition: the canvas around the image and where the image sits on it (a CanvasEditor mixin)."""

from __future__ import annotations

from typing import Any

from PIL import Image

from .. import images
from .._errors import ValidationError
from ._editor_controls import FREE
from ._editor_host import EditorHost
from ._editor_pointer import MIN_SCALE
from ._geometry import Box, canvas_for_aspect, centred_box, check_canvas_size, max_scale, move_box, scale_box

__all__ = ["PlacementMixin", "DEFAULT_MAX_CANVAS_SIDE"]

#: EvoLink's canvas edit goes to 4096 px a side (PROTOCOLS.md, from LEGNEXT); the composite that
#: the other dialects' edits upload stays within the same bound.
DEFAULT_MAX_CANVAS_SIDE = 4096


class PlacementMixin(EditorHost):
    """``canvas_size``, ``image_box``, ``set_canvas``, ``set_scale``, ``place_image``, ``composite`` …"""

    @property
    def canvas_size(self) -> tuple[int, int]:
        """The reposition canvas (w, h) in source pixels (the image's size until changed)."""
        width, height = self._canvas
        return (width, height)

    @property
    def image_box(self) -> tuple[int, int, int, int]:
        """Where the image sits on the reposition canvas: (x, y, w, h) in source pixels."""
        x, y, w, h = self._box
        return (x, y, w, h)

    @property
    def scale(self) -> float:
        return self._box.w / self.image_size[0]

    @property
    def max_canvas_side(self) -> int:
        """The largest canvas side this client's dialect accepts (its own figure when it declares one)."""
        limit = getattr(self.client, "max_canvas_side", None) or getattr(
            getattr(self.client, "_dialect", None), "max_canvas_side", None
        )
        return min(int(limit or DEFAULT_MAX_CANVAS_SIDE), images.MAX_CANVAS_SIDE)

    def set_canvas(self, size_or_aspect: Any) -> None:
        """A canvas of ``(w, h)`` source pixels, or of an aspect (``"16:9"``) just holding the image.

        The image keeps its scale if it still fits (else it shrinks to fit) and is centred; the
        Canvas preset dropdown shows the aspect when it is one of its presets, else "free".

        Raises:
            ValidationError: a side out of range for the dialect, or an aspect that is not W:H.
        """
        image_size = self.image_size
        if isinstance(size_or_aspect, str) or (
            isinstance(size_or_aspect, tuple) and len(size_or_aspect) == 2 and isinstance(size_or_aspect[0], str)
        ):
            canvas = canvas_for_aspect(image_size, size_or_aspect, self.max_canvas_side)
        else:
            canvas = check_canvas_size(size_or_aspect, self.max_canvas_side)
        check_canvas_size(canvas, self.max_canvas_side)
        before = (self._canvas, self._box)
        scale = min(self._box.w / image_size[0], max_scale(canvas, image_size))
        self._canvas, self._box = canvas, centred_box(canvas, image_size, scale)
        if (self._canvas, self._box) != before:
            self._logged(("place", before, (self._canvas, self._box)))
        preset = self.controls.preset
        if isinstance(size_or_aspect, str) and size_or_aspect.strip() in preset.options:
            was, self._syncing = self._syncing, True  # the dropdown says which aspect made this canvas
            try:
                preset.value = size_or_aspect.strip()
            finally:
                self._syncing = was
        self._redraw(all_layers=True)
        self._sync_controls()

    def place_image(self, x: int, y: int, scale: float | None = None) -> None:
        """Put the image's top-left corner at (x, y) canvas pixels, optionally at a new scale."""
        iw, ih = self.image_size
        box = self._box if scale is None else scale_box(self._box, (iw, ih), scale, self._canvas)
        moved = move_box(box, x - box.x, y - box.y, self._canvas).box
        self._set_box(moved)

    def set_scale(self, scale: float) -> None:
        """Scale the image about its centre (1.0 = source size), clamped so that it fits."""
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0:
            raise ValidationError(f"scale: {scale!r} is not allowed; use a number above 0", field="scale")
        self._set_box(scale_box(self._box, self.image_size, max(scale, MIN_SCALE), self._canvas))

    def centre_image(self) -> None:
        self._set_box(centred_box(self._canvas, self.image_size, self.scale))

    def _set_box(self, box: Box) -> None:
        if box != self._box:
            self._logged(("place", (self._canvas, self._box), (self._canvas, box)))
            self._box = box
            self._redraw(all_layers=True)
        self._sync_controls()

    def _preset_chosen(self, preset: str) -> None:
        if preset != FREE:
            self.set_canvas(preset)

    def _size_typed(self) -> None:
        c = self.controls
        self.set_canvas((c.canvas_width.value, c.canvas_height.value))
        self._syncing = True
        try:
            c.preset.value = FREE
        finally:
            self._syncing = False

    def composite(self) -> Image.Image:
        """The reposition canvas as the services see it: the image at ``image_box``, transparent elsewhere."""
        return images.compose_reposition(self._require_image(), self._canvas, self._box)[0]

    def fill_mask(self) -> Image.Image:
        """White where the reposition canvas is empty (what an edit fills)."""
        return images.compose_reposition(self._require_image(), self._canvas, self._box)[1]
