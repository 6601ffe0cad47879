"""CanvasEditor: paint a mask, or move and scale the image on a larger canvas, and send the edit.

>>> editor = mjnb.CanvasEditor(task, client=client)     # an upscaled result, or any image
>>> editor                                              # paint, then Submit (or:)
>>> job = editor.submit("a red kite in the sky")

The mask lives in the kernel as a list of small commands in source pixels (``editor.strokes``)
and ``editor.mask()`` rasterises them exactly, whatever the display size; the browser only
shows a drawing of it.  Layers, drawing and the TCP_NODELAY story: see ``_editor_layers`` and
``mjnb._jupyter_server_ext``.

Mouse moves: ipycanvas sends every ``mousemove`` and has no throttle option; Chromium already
coalesces them to one per frame, and the handler here is O(1) (append a point, draw one
segment), so the kernel keeps up on localhost and a throttle would only add latency.  Moves
with no button down return at once.  Keys (``[``/``]`` brush size, B/E/R/L/M tools, I invert,
Ctrl+Z/Ctrl+Y) use ipycanvas' own ``on_key_down``: the canvas takes focus on click, so no
extra package (ipyevents) is needed.

Stable CSS classes (part of the public interface; select on them in a browser):

=========================  ===================================================================
``mjnb-editor``            the whole editor
``mjnb-canvas``            the canvas (a MultiCanvas: one ``<canvas>``; it receives the mouse)
``mjnb-mode-inpaint``      mode toggle: paint a mask
``mjnb-mode-reposition``   mode toggle: move/scale the image on a larger canvas
``mjnb-brush``             tool: brush
``mjnb-eraser``            tool: eraser
``mjnb-rect``              tool: rectangle
``mjnb-lasso``             tool: lasso
``mjnb-move``              tool: move / scale the image (reposition mode)
``mjnb-subtract``          toggle: rectangle and lasso remove paint
``mjnb-undo``              Undo
``mjnb-redo``              Redo
``mjnb-invert``            Invert the mask
``mjnb-clear``             Clear the mask
``mjnb-brush-size``        brush diameter slider (display px)
``mjnb-opacity``           overlay opacity slider
``mjnb-feather``           feather of the exported mask (source px)
``mjnb-grow``              grow (+) / shrink (−) of the exported mask (source px)
``mjnb-canvas-preset``     canvas aspect preset (free, 1:1 … 16:9)
``mjnb-canvas-width``      canvas width (source px)
``mjnb-canvas-height``     canvas height (source px)
``mjnb-scale``             image scale slider
``mjnb-center``            Centre the image
``mjnb-edit-prompt``       the prompt of the edit
``mjnb-edit-submit``       Submit
``mjnb-edit-result``       "Continue from result": load the finished result for another round
``mjnb-result``            the result panel beside the canvas (before/after)
``mjnb-result-image``      the result's picture (bytes fetched by the kernel)
``mjnb-result-pick``       which image of a result grid to continue from
``mjnb-edit-status``       one line: what happened, or the error
``mjnb-edit-reason``       why Submit or a mode is disabled on this dialect
=========================  ===================================================================
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import ipywidgets as widgets
import traitlets
from ipycanvas import hold_canvas
from PIL import Image

from .. import images
from .._errors import ValidationError
from .._models import Task
from ._editor_controls import TOOLS, Controls, ControlsMixin
from ._editor_layers import Layers
from ._editor_place import PlacementMixin
from ._editor_pointer import PointerMixin
from ._editor_submit import SubmitMixin
from ._events import Event
from ._geometry import Box, View, image_point
from ._progress import Job, ProgressView, plain_reason
from ._runner import Handle, as_async_client, close_clients, default_client, spawn, ui_lock
from ._strokes import Clear, Command, Invert, Lasso, MaskCommands, Rect, Stroke
from ._style import classes, stylesheet

__all__ = ["CanvasEditor"]

MODES = ("inpaint", "reposition")


class CanvasEditor(PointerMixin, PlacementMixin, SubmitMixin, ControlsMixin, widgets.VBox):  # type: ignore[misc]
    """Paint a mask on an image (inpaint), or place it on a larger canvas (reposition), and submit.

    ``image_or_task``: a finished :class:`~mjnb.Task` (its image is downloaded, or pass it as
    ``image=``; ``index`` picks one of a grid's four) or any image :func:`mjnb.images.load_image`
    takes.  ``client``: a Client or AsyncClient (default: the environment's, or the embedded
    simulator).  ``progress``: the ProgressView that shows jobs (default: the editor's own).
    ``display_size``: the canvas's longest side on screen in px, 128–4096; exports are always
    in source pixels.  ``mode``: "inpaint" or "reposition".

    Traits (``observe`` / ``link`` them): ``mode`` ("inpaint" | "reposition"), ``tool``
    (brush, eraser, rect, lasso, move), ``result`` (the last finished Task, or None).
    Event: ``on_result(callback, remove=False)`` — ``callback(task)`` for each finished result
    (after it is shown beside the source); the ``on_result=`` keyword registers one.
    """

    mode = traitlets.Unicode("inpaint", help="inpaint | reposition")
    tool = traitlets.Unicode("brush", help="brush | eraser | rect | lasso | move")
    result = traitlets.Instance(Task, allow_none=True, help="the last finished edit")

    def __init__(
        self,
        image_or_task: Any = None,
        *,
        image: Any = None,
        index: int | None = None,
        client: Any = None,
        progress: ProgressView | None = None,
        on_result: Callable[[Task], Any] | None = None,
        display_size: int = 768,
        mode: str = "inpaint",
    ) -> None:
        if not isinstance(display_size, int) or isinstance(display_size, bool) or not 128 <= display_size <= 4096:
            raise ValidationError(
                f"display_size: {display_size!r} is not allowed; use an integer from 128 to 4096", field="display_size"
            )
        import mjnb

        self.display_size = display_size
        self._result_event = Event()
        if on_result is not None:
            self._result_event.register(on_result)
        self._owned: list[Any] = []  # AsyncClients made here, closed with the editor
        self._sync_client = client if isinstance(client, mjnb.Client) else None
        self.client = as_async_client(client, self._owned) or (
            progress.client if progress is not None else default_client(owned=self._owned)
        )
        self._own_progress = progress is None
        self.progress = progress if progress is not None else ProgressView(client=self.client)
        self.task: Task | None = None
        self.index: int | None = None
        self.image: Image.Image | None = None
        self.history = MaskCommands((1, 1))
        self.event_counts: Counter[str] = Counter()  # every canvas event received, by kind
        self.last_job: Job | None = None
        self.loading: Handle | None = None
        self._canvas, self._box = (1, 1), Box(0, 0, 1, 1)
        self._undo_log: list[tuple[Any, ...]] = []
        self._redo_log: list[tuple[Any, ...]] = []
        self._gesture = None
        self._last_pos = None
        self._syncing = False  # set while the code moves a control, so its observer stays quiet

        self.controls = c = Controls()
        self.layers = Layers((display_size, display_size))
        self._wire()
        beside = widgets.HBox(
            [self.layers.multi, c.result_panel], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start")
        )
        children = [
            stylesheet(),
            c.mode_row,
            c.paint_row,
            c.slider_row,
            c.place_row,
            beside,
            c.status,
            c.submit_row,
            c.reason,
        ]
        if self._own_progress:
            children.append(self.progress)
        super().__init__(children)
        classes(self, "mjnb-editor")
        self._show_mode()
        if image_or_task is not None or image is not None:
            self.load(
                image_or_task if image_or_task is not None else image,
                image=image if image_or_task is not None else None,
                index=index,
            )
        if mode != "inpaint":
            self.set_mode(mode)

    # -- wiring ------------------------------------------------------------------------------------
    def _wire(self) -> None:
        c, canvas = self.controls, self.layers.multi
        canvas.on_mouse_down(self._on_down)
        canvas.on_mouse_move(self._on_move)
        canvas.on_mouse_up(self._on_up)
        canvas.on_mouse_out(self._on_out)
        canvas.on_mouse_wheel(self._on_wheel)
        canvas.on_key_down(self._on_key)
        canvas.on_client_ready(self._on_client_ready)
        self.layers.photo_canvas.on_client_ready(self._on_client_ready)
        for mode, toggle in (("inpaint", c.mode_inpaint), ("reposition", c.mode_reposition)):
            toggle.observe(lambda ch, mode=mode: self._mode_toggled(mode, ch["new"]), "value")
        for name, button in c.tools.items():
            button.observe(lambda ch, name=name: self._tool_toggled(name, ch["new"]), "value")
        c.undo.on_click(lambda _: self._guarded(self.undo))
        c.redo.on_click(lambda _: self._guarded(self.redo))
        c.invert.on_click(lambda _: self._guarded(self.invert))
        c.clear.on_click(lambda _: self._guarded(self.clear))
        c.centre.on_click(lambda _: self._guarded(self.centre_image))
        c.submit.on_click(lambda _: self._guarded(self.submit))
        c.edit_result.on_click(lambda _: self._guarded(self.continue_from_result))
        c.brush_size.observe(lambda _: self._preview_brush(), "value")
        c.opacity.observe(lambda _: self._redraw(overlay=True), "value")
        c.feather.observe(lambda _: self._say_mask(), "value")
        c.grow.observe(lambda _: self._say_mask(), "value")
        c.scale.observe(lambda ch: not self._syncing and self._guarded(self.set_scale, ch["new"]), "value")
        c.preset.observe(lambda ch: not self._syncing and self._guarded(self._preset_chosen, ch["new"]), "value")
        for box in (c.canvas_width, c.canvas_height):
            box.observe(lambda _: not self._syncing and self._guarded(self._size_typed), "value")

    def _mode_toggled(self, mode: str, on: bool) -> None:
        if self._syncing:
            return
        if on:
            self._guarded(self.set_mode, mode)
        else:
            self._sync_controls()  # a mode stays pressed until the other one is chosen

    def _guarded(self, action: Callable[..., Any], *args: Any) -> Any:
        """Run a control's action; a refusal is shown in the status line and the state is kept."""
        try:
            return action(*args)
        except Exception as exc:
            self._say(plain_reason(exc), error=True)
            self._sync_controls()
            return None

    # -- loading ---------------------------------------------------------------------------------------
    def load(self, image_or_task: Any, *, image: Any = None, index: int | None = None) -> Handle | None:
        """Edit a new image or task (the mask and placement start afresh).

        Returns a Handle to await when the image must be downloaded with an AsyncClient;
        a refused image raises ``ValidationError`` and leaves the editor as it was.
        """
        if isinstance(image_or_task, Task):
            task = image_or_task
            if index is not None and not (isinstance(index, int) and 0 <= index < max(4, len(task.image_urls))):
                raise ValidationError(f"index: {index!r} is not allowed; use 0–3 (0-based image index)", field="index")
            if image is not None:
                self._set_image(images.load_image(image, field="image"), index, task)
                return None
            if not (task.image_url or task.image_urls):
                raise ValidationError(f"task: {task.id} has no image yet (status {task.status.value})", field="task")
            if self._sync_client is not None:
                self._set_image(*self._pick(self._sync_client.download(task, split=index is not None), index), task)
                return None
            self._say("loading the image…")
            self.loading = spawn(lambda: self._download(task, index))
            return self.loading
        self._set_image(images.load_image(image_or_task, field="image"), None, None)
        return None

    @staticmethod
    def _pick(downloaded: Any, index: int | None) -> tuple[Image.Image, int | None]:
        """The image to edit; a task whose images come separately and no index: the first one."""
        if isinstance(downloaded, list):
            index = index or 0
            return downloaded[index], index
        return downloaded, index

    async def _download(self, task: Task, index: int | None) -> Image.Image:
        try:
            picked, index = self._pick(await self.client.download(task, split=index is not None), index)
            with ui_lock:
                self._set_image(picked, index, task)
        except Exception as exc:
            with ui_lock:
                self._say(f"Could not load the image: {plain_reason(exc)}", error=True)
            raise
        return picked

    def _set_image(self, image: Image.Image, index: int | None, task: Task | None) -> None:
        if min(image.size) < 16:
            raise ValidationError(
                f"image: {image.width}×{image.height} is too small to edit (16 px at least)", field="image"
            )
        self.image, self.task, self.index = image, task, index
        self.history = MaskCommands(image.size)
        self._undo_log.clear()
        self._redo_log.clear()
        self._gesture = None
        self._canvas, self._box = image.size, Box(0, 0, *image.size)
        self.layers.set_photo(image, self.display_size)
        self._redraw(all_layers=True)
        self._sync_controls()
        what = f"task {task.id}" + (f" image {index + 1}" if index is not None else "") if task else "image"
        self._say(f"Editing {what}, {image.width}×{image.height} px.")

    @property
    def image_size(self) -> tuple[int, int]:
        return self._require_image().size

    def _require_image(self) -> Image.Image:
        if self.image is None:
            raise ValidationError("image: nothing to edit yet (still loading, or no image given)", field="image")
        return self.image

    # -- coordinates ------------------------------------------------------------------------------------
    @property
    def view(self) -> View:
        """Display ↔ canvas mapping of the current mode."""
        return View(self._canvas if self.mode == "reposition" else self._require_image().size, self.display_size)

    def _shown_box(self) -> Box:
        return self._box if self.mode == "reposition" else Box(0, 0, *self._require_image().size)

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        """A display point in source pixels of the image."""
        return image_point(self._shown_box(), self.image_size, *self.view.to_source(x, y))

    def _radius_to_image(self, radius: float) -> float:
        return self.view.length_to_source(radius) * self.image_size[0] / self._shown_box().w

    # -- tools and modes ------------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        """Choose a tool: brush, eraser, rect, lasso (inpaint mode) or move (reposition mode).

        Raises:
            ValidationError: ``name`` is not one of those.
        """
        self.tool = name
        self._sync_controls()

    @traitlets.validate("tool")
    def _check_tool(self, proposal: dict[str, Any]) -> str:
        name: str = proposal["value"]
        if name not in TOOLS:
            raise ValidationError(f"tool: {name!r} is not allowed; use one of {', '.join(TOOLS)}", field="tool")
        return name

    @traitlets.observe("tool")
    def _tool_changed(self, change: dict[str, Any]) -> None:
        wanted_mode = "reposition" if change["new"] == "move" else "inpaint"
        if wanted_mode != self.mode:
            self.mode = wanted_mode
        self._sync_controls()

    def _tool_toggled(self, name: str, on: bool) -> None:
        if self._syncing:
            return
        if on:
            self._guarded(self.set_tool, name)
        else:
            self._sync_controls()  # the chosen tool stays pressed: a radio group

    def set_mode(self, mode: str) -> None:
        """``"inpaint"`` (paint a mask) or ``"reposition"`` (place the image on a larger canvas).

        Both modes are always open (the exports work on any dialect); Submit is what a dialect
        may lack, and it is then disabled with the reason.  Same as ``editor.mode = mode``.

        Raises:
            ValidationError: ``mode`` is neither.
        """
        self.mode = mode
        self._sync_controls()

    @traitlets.validate("mode")
    def _check_mode(self, proposal: dict[str, Any]) -> str:
        mode: str = proposal["value"]
        if mode not in MODES:
            raise ValidationError(f"mode: {mode!r} is not allowed; use 'inpaint' or 'reposition'", field="mode")
        return mode

    @traitlets.observe("mode")
    def _mode_changed(self, change: dict[str, Any]) -> None:
        mode = change["new"]
        self._gesture = None
        self.tool = "move" if mode == "reposition" else ("brush" if self.tool == "move" else self.tool)
        self._show_mode()
        if self.image is not None:
            self._redraw(all_layers=True)
        self._sync_controls()

    def _show_mode(self) -> None:
        c = self.controls
        painting = self.mode == "inpaint"
        c.paint_row.layout.display = c.slider_row.layout.display = None if painting else "none"
        c.place_row.layout.display = "none" if painting else None

    # -- the mask -------------------------------------------------------------------------------------------
    @property
    def strokes(self) -> tuple[Any, ...]:
        """The mask's commands so far, in source pixels of the image (what the kernel received)."""
        return self.history.commands

    def _push(self, command: Command) -> None:
        self.history.push(command)
        self._logged(("mask",))

    def paint(self, command: Stroke | Rect | Lasso) -> None:
        """Add a mask command (``mjnb.widgets._strokes``) in source pixels, as the tools do."""
        self._require_image()
        if not isinstance(command, (Stroke, Rect, Lasso)):
            raise ValidationError(
                f"command: expected a Stroke, Rect or Lasso, got {type(command).__name__}", field="command"
            )
        if isinstance(command, Stroke) and not (command.points and command.radius > 0):
            raise ValidationError(
                "command: a stroke needs at least one point and a line width above 0", field="command"
            )
        if isinstance(command, Lasso) and len(command.points) < 3:
            raise ValidationError("command: a polygon needs at least 3 points", field="command")
        self._push(command)
        self._redraw(overlay=True)

    # The Canvas API's names, in source pixels of the image: paint from code as the mouse would.
    def fill_rect(self, x: float, y: float, width: float, height: float) -> None:
        """Mark a rectangle for regeneration."""
        self.paint(Rect(x, y, x + width, y + height))

    def clear_rect(self, x: float, y: float, width: float, height: float) -> None:
        """Unmark a rectangle."""
        self.paint(Rect(x, y, x + width, y + height, erase=True))

    def stroke_lines(self, points: Any, line_width: float, *, erase: bool = False) -> None:
        """A brush (or eraser) stroke through ``points`` [(x, y), …] with a round tip."""
        self.paint(Stroke(tuple((float(x), float(y)) for x, y in points), line_width / 2, erase))

    def fill_polygon(self, points: Any, *, erase: bool = False) -> None:
        """A lasso: mark (or unmark) the inside of the polygon."""
        self.paint(Lasso(tuple((float(x), float(y)) for x, y in points), erase))

    def invert(self) -> None:
        self._require_image()
        self._push(Invert())
        self._redraw(overlay=True)

    def clear(self) -> None:
        self._require_image()
        if self.history.commands:
            self._push(Clear())
            self._redraw(overlay=True)

    def mask(self, *, grow: int | None = None, feather: float | None = None) -> Image.Image:
        """The mask at source resolution, mode "L", white = regenerate; grown/shrunk then feathered
        by the editor's sliders unless given (``mask(grow=0, feather=0)`` is the painted mask)."""
        self._require_image()
        grow = self.controls.grow.value if grow is None else grow
        feather = self.controls.feather.value if feather is None else feather
        mask = Image.fromarray(self.history.array().astype("uint8") * 255)
        if grow:
            mask = images.grow_mask(mask, int(grow))
        if feather:
            mask = images.feather_mask(mask, feather)
        return mask

    def mask_png(self, **kw: Any) -> bytes:
        return images.to_png(self.mask(**kw))

    def polygons(self, **kw: Any) -> list[dict[str, Any]]:
        """The mask as EvoLink ``mask.areas``: ``[{"width", "height", "points": [x1, y1, …]}, …]``."""
        return images.mask_to_polygons(self.mask(**kw))

    # -- undo / redo -----------------------------------------------------------------------------------------
    def _logged(self, entry: tuple[Any, ...]) -> None:
        self._undo_log.append(entry)
        self._redo_log.clear()
        if entry[0] != "mask":
            self.history.drop_redo()
        self._sync_controls()

    def undo(self) -> bool:
        """Undo the last mask command or placement change; False when there is nothing to undo."""
        if self._gesture is not None or not self._undo_log:
            return False
        entry = self._undo_log.pop()
        self._redo_log.append(entry)
        self._apply_log_entry(entry, undo=True)
        return True

    def redo(self) -> bool:
        if self._gesture is not None or not self._redo_log:
            return False
        entry = self._redo_log.pop()
        self._undo_log.append(entry)
        self._apply_log_entry(entry, undo=False)
        return True

    def _apply_log_entry(self, entry: tuple[Any, ...], undo: bool) -> None:
        if entry[0] == "mask":
            self.history.undo() if undo else self.history.redo()
            self._redraw(overlay=True)
        else:
            self._canvas, self._box = entry[1] if undo else entry[2]
            self._redraw(all_layers=True)
        self._sync_controls()

    # -- drawing and controls ---------------------------------------------------------------------------------
    def _redraw(self, all_layers: bool = False, overlay: bool = False, interaction: bool = False) -> None:
        if self.image is None:
            return
        view, layers = self.view, self.layers
        layers.resize(view.size)
        reposition = self.mode == "reposition"
        shown = view.box_to_display(self._shown_box())
        with hold_canvas():
            if all_layers:
                layers.draw_photo_canvas()
                layers.draw_image(shown if reposition else None)
            if all_layers or overlay:
                if reposition:
                    layers.overlay.clear()
                else:
                    layers.draw_mask(self.history.array(), shown, self.controls.opacity.value)
            if (all_layers or interaction) and reposition:
                layers.outline(shown)
            elif all_layers or interaction:
                layers.clear_interaction()

    def _preview_brush(self) -> None:
        if self.image is not None and self._last_pos is not None and self._gesture is None and self.mode == "inpaint":
            with hold_canvas():
                self.layers.brush_preview(*self._last_pos, self.controls.brush_size.value / 2)

    def close(self) -> None:
        """Close the editor, its canvases, its own ProgressView and the AsyncClients it made."""
        layers = getattr(self, "layers", None)  # absent when the constructor refused its arguments
        if layers is not None:
            layers.close()
        if getattr(self, "_own_progress", False):
            self.progress.close()
        self.closing = close_clients(getattr(self, "_owned", []))  # awaitable: the connections closed
        super().close()

    def __repr__(self) -> str:
        size = "no image" if self.image is None else f"{self.image.width}×{self.image.height}"
        return (
            f"CanvasEditor({size}, mode={self.mode!r}, tool={self.tool!r}, strokes={len(self.strokes)}, "
            f"canvas={self.canvas_size}, image_box={self.image_box})"
        )
