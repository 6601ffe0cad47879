"""The editor's controls (ipywidgets), each with its stable CSS class, and the mixin that keeps them in step."""

from __future__ import annotations

import ipywidgets as widgets

from ._editor_host import EditorHost
from ._geometry import ASPECT_PRESETS, canvas_for_aspect, max_scale
from ._style import classes, error_html, note_html

__all__ = ["Controls", "ControlsMixin", "TOOLS", "FREE"]

#: tool name → (label, icon, key, tooltip)
TOOLS: dict[str, tuple[str, str, str, str]] = {
    "brush": ("Brush", "paint-brush", "b", "Paint the region to regenerate (B; [ and ] change the size)"),
    "eraser": ("Eraser", "eraser", "e", "Erase paint (E)"),
    "rect": ("Rectangle", "square-o", "r", "Drag a rectangle (R)"),
    "lasso": ("Lasso", "pencil", "l", "Draw around a region (L)"),
    "move": ("Move", "arrows", "m", "Drag the image; drag its corner handle or use the wheel to scale (M)"),
}
FREE = "free"


def _auto() -> widgets.Layout:
    return widgets.Layout(width="auto")  # one per widget: a shared Layout would hide them all together


def _button(description: str, icon: str, css: str, tooltip: str) -> widgets.Button:
    return classes(widgets.Button(description=description, icon=icon, tooltip=tooltip, layout=_auto()), css)


def _toggle(description: str, icon: str, css: str, tooltip: str) -> widgets.ToggleButton:
    return classes(
        widgets.ToggleButton(value=False, description=description, icon=icon, tooltip=tooltip, layout=_auto()), css
    )


class Controls:
    """Every control of one editor, grouped in the rows the editor lays out."""

    def __init__(self, brush_size: int = 32) -> None:
        self.mode_inpaint = _toggle("Inpaint", "paint-brush", "mjnb-mode-inpaint", "Paint the region to regenerate")
        self.mode_reposition = _toggle(
            "Reposition",
            "expand",
            "mjnb-mode-reposition",
            "Move and scale the image on a larger canvas; the empty area is filled",
        )
        self.tools = {name: _toggle(label, icon, f"mjnb-{name}", tip) for name, (label, icon, _, tip) in TOOLS.items()}
        self.subtract = _toggle(
            "Subtract", "minus", "mjnb-subtract", "Rectangle and lasso remove paint instead of adding it"
        )
        self.undo = _button("Undo", "undo", "mjnb-undo", "Undo (Ctrl+Z)")
        self.redo = _button("Redo", "repeat", "mjnb-redo", "Redo (Ctrl+Shift+Z or Ctrl+Y)")
        self.invert = _button("Invert", "adjust", "mjnb-invert", "Regenerate everything but the painted region (I)")
        self.clear = _button("Clear", "trash", "mjnb-clear", "Remove all paint")
        slider = dict(
            continuous_update=False, style={"description_width": "initial"}, layout=widgets.Layout(width="220px")
        )
        self.brush_size = classes(
            widgets.IntSlider(value=brush_size, min=2, max=256, description="Brush px", **slider), "mjnb-brush-size"
        )
        self.opacity = classes(
            widgets.FloatSlider(value=0.5, min=0.1, max=1.0, step=0.05, description="Overlay", **slider), "mjnb-opacity"
        )
        self.feather = classes(
            widgets.IntSlider(value=0, min=0, max=64, description="Feather px", **slider), "mjnb-feather"
        )
        self.grow = classes(widgets.IntSlider(value=0, min=-64, max=64, description="Grow px", **slider), "mjnb-grow")
        self.preset = classes(
            widgets.Dropdown(
                options=[FREE, *ASPECT_PRESETS],
                value=FREE,
                description="Canvas",
                layout=widgets.Layout(width="160px"),
                style={"description_width": "initial"},
            ),
            "mjnb-canvas-preset",
        )
        number = dict(
            continuous_update=False, layout=widgets.Layout(width="130px"), style={"description_width": "initial"}
        )
        self.canvas_width = classes(widgets.IntText(value=0, description="W", **number), "mjnb-canvas-width")
        self.canvas_height = classes(widgets.IntText(value=0, description="H", **number), "mjnb-canvas-height")
        self.scale = classes(
            widgets.FloatSlider(
                value=1.0, min=0.05, max=1.0, step=0.01, description="Scale", readout_format=".0%", **slider
            ),
            "mjnb-scale",
        )
        self.centre = _button("Centre", "crosshairs", "mjnb-center", "Centre the image on the canvas")
        self.prompt = classes(
            widgets.Textarea(
                placeholder="What to paint in the region / the empty area",
                layout=widgets.Layout(width="60%", height="3.2em"),
            ),
            "mjnb-edit-prompt",
        )
        self.submit = classes(
            widgets.Button(description="Submit", icon="send", button_style="primary", layout=_auto()),
            "mjnb-edit-submit",
        )
        self.edit_result = _button(
            "Continue from result",
            "arrow-circle-right",
            "mjnb-edit-result",
            "Edit the result next: it replaces the source on the canvas, with a fresh mask",
        )
        self.edit_result.layout.display = "none"
        # The before/after view: the canvas is the before, this panel the after.
        self.result_title = classes(widgets.HTML("<b>Result</b>"), "mjnb-result-title")
        self.result_image = classes(
            widgets.Image(
                format="png", layout=widgets.Layout(max_width="512px", max_height="512px", object_fit="contain")
            ),
            "mjnb-result-image",
        )
        self.result_pick = classes(
            widgets.ToggleButtons(
                options=[("1", 0), ("2", 1), ("3", 2), ("4", 3)],
                value=0,
                description="Continue from",
                tooltips=[f"Continue from image {i} of the result" for i in range(1, 5)],
                style={"button_width": "2.5em", "description_width": "initial"},
                layout=widgets.Layout(display="none"),
            ),
            "mjnb-result-pick",
        )
        self.result_panel = classes(
            widgets.VBox(
                [self.result_title, self.result_image, self.result_pick, self.edit_result],
                layout=widgets.Layout(display="none", margin="0 0 0 12px"),
            ),
            "mjnb-result",
        )
        self.status = classes(widgets.HTML(""), "mjnb-edit-status")
        self.reason = classes(widgets.HTML(""), "mjnb-edit-reason")
        row = dict(flex_flow="row wrap", align_items="center")
        self.mode_row = widgets.HBox(
            [self.mode_inpaint, self.mode_reposition, self.undo, self.redo], layout=widgets.Layout(**row)
        )
        self.paint_row = widgets.HBox(
            [*(self.tools[n] for n in ("brush", "eraser", "rect", "lasso")), self.subtract, self.invert, self.clear],
            layout=widgets.Layout(**row),
        )
        self.slider_row = widgets.HBox(
            [self.brush_size, self.opacity, self.feather, self.grow], layout=widgets.Layout(**row)
        )
        self.place_row = widgets.HBox(
            [self.tools["move"], self.preset, self.canvas_width, self.canvas_height, self.scale, self.centre],
            layout=widgets.Layout(**row),
        )
        self.submit_row = widgets.HBox([self.prompt, self.submit, self.edit_result], layout=widgets.Layout(**row))


class ControlsMixin(EditorHost):
    """Keep the controls in step with the editor's state (a CanvasEditor mixin; state lives on the editor)."""

    def _sync_controls(self) -> None:
        c = self.controls
        was, self._syncing = self._syncing, True
        try:
            c.mode_inpaint.value, c.mode_reposition.value = self.mode == "inpaint", self.mode == "reposition"
            for name, button in c.tools.items():
                button.value = name == self.tool
            c.undo.disabled, c.redo.disabled = not self._undo_log, not self._redo_log
            if self.image is not None:
                c.canvas_width.value, c.canvas_height.value = self._canvas
                from ._editor_pointer import MIN_SCALE

                fit = max_scale(self._canvas, self.image_size)
                c.scale.max = max(fit, MIN_SCALE)
                c.scale.value = min(self.scale, c.scale.max)
                if c.preset.value != FREE and canvas_for_aspect(
                    self.image_size, c.preset.value, self.max_canvas_side
                ) != tuple(self._canvas):
                    c.preset.value = FREE  # an undo or a typed size left the preset behind
            self._show_plan()
        finally:
            self._syncing = was

    def _show_plan(self) -> None:
        c, dialect = self.controls, self.client.dialect
        reasons: list[str] = []
        for mode, toggle in (("inpaint", c.mode_inpaint), ("reposition", c.mode_reposition)):
            plan = self.plan_for(mode)
            toggle.tooltip = f"{mode}: Submit sends {plan.operation} on {dialect}" if plan.operation else plan.reason
            if plan.operation is None and mode == self.mode:
                reasons.append(f"Submit is off: {plan.reason}")
        plan = self.plan_for()
        c.submit.disabled = plan.operation is None or self.image is None
        c.submit.description = plan.label
        c.submit.tooltip = plan.reason or f"Send as {plan.operation} on {dialect}"
        c.reason.value = "".join(f"<div>{note_html(r)}</div>" for r in reasons)

    def _say(self, text: str, error: bool = False) -> None:
        self.controls.status.value = (error_html if error else note_html)(text)

    def _say_mask(self) -> None:
        c = self.controls
        self._say(f"The exported mask is grown by {c.grow.value} px and feathered by {c.feather.value} px.")
