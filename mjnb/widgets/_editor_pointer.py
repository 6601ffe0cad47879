"""The editor's mouse and keyboard handlers (a mixin of CanvasEditor; state lives on the editor).

Each handler is O(1) per event: convert the point, append it, draw one segment inside one
``hold_canvas`` batch.  A move with no button down only records the position.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ipycanvas import hold_canvas

from ._editor_controls import TOOLS
from ._editor_host import EditorHost
from ._editor_layers import Layers
from ._geometry import Box, move_box
from ._runner import ui_lock
from ._strokes import Lasso, Rect

__all__ = ["PointerMixin"]

_SNAP_PX = 8  # display px within which a dragged image snaps to the canvas centre or edges
MIN_SCALE = 0.05
CLIENT_READY_SETTLE = 0.1  # s: the canvases of one view announce themselves within a few ms


class PointerMixin(EditorHost):
    """Turns canvas events into mask commands and placement changes."""

    _redraw_pending = False

    def _on_down(self, x: float, y: float) -> None:
        self.event_counts["mouse_down"] += 1
        previous, self._last_pos = self._last_pos, (x, y)
        if self.image is None:
            return
        if self._gesture is not None:  # a release outside the canvas was never seen: close that first
            self._finish(*(previous or (x, y)))
        if self.mode == "reposition":
            box = self.view.box_to_display(self._box)
            kind = "scale" if Layers.on_handle(box, x, y) else "move"
            self._gesture = {"kind": kind, "start": self.view.to_source(x, y), "before": (self._canvas, self._box)}
            return
        if self.tool in ("brush", "eraser"):
            radius, erase = self.controls.brush_size.value / 2, self.tool == "eraser"
            self.history.begin_stroke(*self.to_image(x, y), self._radius_to_image(radius), erase)
            self._gesture = {"kind": "stroke", "last": (x, y), "radius": radius, "erase": erase}
            with hold_canvas():
                self.layers.clear_interaction()
                self.layers.paint_segment((x, y), (x, y), radius, erase)
        elif self.tool == "rect":
            self._gesture = {"kind": "rect", "start": (x, y)}
        elif self.tool == "lasso":
            self._gesture = {"kind": "lasso", "points": [(x, y)]}
            with hold_canvas():
                self.layers.lasso_start()

    def _on_move(self, x: float, y: float) -> None:
        self.event_counts["mouse_move"] += 1
        self._last_pos = (x, y)
        g = self._gesture
        if g is None:
            return
        kind = g["kind"]
        if kind == "stroke":
            if self.history.extend_stroke(*self.to_image(x, y)):
                with hold_canvas():
                    self.layers.paint_segment(g["last"], (x, y), g["radius"], g["erase"])
                g["last"] = (x, y)
        elif kind == "rect":
            x0, y0 = g["start"]
            with hold_canvas():
                self.layers.rubber_band(x0, y0, x, y)
        elif kind == "lasso":
            last = g["points"][-1]
            if (x, y) != last:
                g["points"].append((x, y))
                with hold_canvas():
                    self.layers.lasso_segment(last, (x, y))
        else:
            self._drag_placement(g, x, y)

    def _drag_placement(self, g: dict[str, Any], x: float, y: float) -> None:
        view, (_, box0) = self.view, g["before"]
        cx, cy = view.to_source(x, y)
        guides: tuple[str, ...] = ()
        if g["kind"] == "move":
            snapped = move_box(
                box0, cx - g["start"][0], cy - g["start"][1], self._canvas, view.length_to_source(_SNAP_PX)
            )
            self._box, guides = snapped.box, snapped.guides
        else:  # the corner handle: scale about the top-left corner, keeping the aspect
            iw, ih = self.image_size
            fit = min((self._canvas[0] - box0.x) / iw, (self._canvas[1] - box0.y) / ih)
            scale = min(max((cx - box0.x) / iw, (cy - box0.y) / ih, MIN_SCALE), fit)
            self._box = Box(box0.x, box0.y, max(1, round(iw * scale)), max(1, round(ih * scale)))
        with hold_canvas():
            self.layers.draw_image(view.box_to_display(self._box))
            self.layers.outline(view.box_to_display(self._box), guides)

    def _on_up(self, x: float, y: float) -> None:
        self.event_counts["mouse_up"] += 1
        self._finish(x, y)

    def _on_out(self, x: float, y: float) -> None:
        self.event_counts["mouse_out"] += 1
        self._finish(x, y)  # the release would happen outside, unseen: end the gesture here

    def _finish(self, x: float, y: float) -> None:
        g, self._gesture = self._gesture, None
        if g is None:
            return
        kind, subtract = g["kind"], self.controls.subtract.value
        if kind == "stroke":
            if self.history.extend_stroke(*self.to_image(x, y)):
                with hold_canvas():
                    self.layers.paint_segment(g["last"], (x, y), g["radius"], g["erase"])
            self.history.end_stroke()
            self._logged(("mask",))
        elif kind == "rect":
            (x0, y0), (x1, y1) = g["start"], (x, y)
            with hold_canvas():
                self.layers.clear_interaction()
                if abs(x1 - x0) >= 1 and abs(y1 - y0) >= 1:
                    self._push(Rect(*self.to_image(x0, y0), *self.to_image(x1, y1), erase=subtract))
                    self.layers.paint_rect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0), subtract)
        elif kind == "lasso":
            points = g["points"] + ([(x, y)] if (x, y) != g["points"][-1] else [])
            with hold_canvas():
                self.layers.clear_interaction()
                if len(points) >= 3:
                    self._push(Lasso(tuple(self.to_image(*p) for p in points), erase=subtract))
                    self.layers.paint_polygon(points, subtract)
        elif (self._canvas, self._box) != g["before"]:
            self._logged(("place", g["before"], (self._canvas, self._box)))
            self._redraw(interaction=True)
            self._sync_controls()
        else:
            self._redraw(interaction=True)

    def _on_wheel(self, dx: float, dy: float) -> None:
        self.event_counts["mouse_wheel"] += 1
        if self.mode == "reposition" and self.image is not None and dy:
            self._guarded(self.set_scale, self.scale * (0.95 if dy > 0 else 1 / 0.95))

    def _on_key(self, key: str, shift: bool, ctrl: bool, meta: bool) -> None:
        self.event_counts["key_down"] += 1
        size = self.controls.brush_size
        if ctrl or meta:
            if key.lower() == "z":
                self._guarded(self.redo if shift else self.undo)
            elif key.lower() == "y":
                self._guarded(self.redo)
        elif key == "[":
            size.value = max(size.min, min(size.value - 1, round(size.value / 1.25)))
        elif key == "]":
            size.value = min(size.max, max(size.value + 1, round(size.value * 1.25)))
        elif key.lower() == "i":
            self._guarded(self.invert)
        else:
            for name, (_, _, shortcut, _) in TOOLS.items():
                if key.lower() == shortcut:
                    self._guarded(self.set_tool, name)

    def _on_client_ready(self) -> None:
        # A new view starts blank (ipycanvas keeps no pixels): redraw from kernel state.  Every
        # canvas model of the editor announces itself, so a reload sends a burst of these;
        # one redraw after the burst is enough, and two overlapping ones were seen to stack
        # the overlay's translucency in Chromium.
        self.event_counts["client_ready"] += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._redraw(all_layers=True)
            return
        if not self._redraw_pending:
            self._redraw_pending = True
            loop.call_later(CLIENT_READY_SETTLE, self._redraw_after_connect)

    def _redraw_after_connect(self) -> None:
        self._redraw_pending = False
        with ui_lock:
            self._redraw(all_layers=True)
