"""The editor's controls (ipywidgets), each with its stable CSS class; no behaviour here."""

from __future__ import annotations

import ipywidgets as widgets

from ._geometry import ASPECT_PRESETS
from ._style import classes

__all__ = ["Controls", "TOOLS", "FREE"]

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
    return classes(widgets.ToggleButton(value=False, description=description, icon=icon, tooltip=tooltip, layout=_auto()), css)


class Controls:
    """Every control of one editor, grouped in the rows the editor lays out."""

    def __init__(self, brush_size: int = 32) -> None:
        self.mode_inpaint = _toggle("Inpaint", "paint-brush", "mjnb-mode-inpaint", "Paint the region to regenerate")
        self.mode_reposition = _toggle("Reposition", "expand", "mjnb-mode-reposition",
                                       "Move and scale the image on a larger canvas; the empty area is filled")
        self.tools = {name: _toggle(label, icon, f"mjnb-{name}", tip) for name, (label, icon, _, tip) in TOOLS.items()}
        self.subtract = _toggle("Subtract", "minus", "mjnb-subtract", "Rectangle and lasso remove paint instead of adding it")
        self.undo = _button("Undo", "undo", "mjnb-undo", "Undo (Ctrl+Z)")
        self.redo = _button("Redo", "repeat", "mjnb-redo", "Redo (Ctrl+Shift+Z or Ctrl+Y)")
        self.invert = _button("Invert", "adjust", "mjnb-invert", "Regenerate everything but the painted region (I)")
        self.clear = _button("Clear", "trash", "mjnb-clear", "Remove all paint")
        slider = dict(continuous_update=False, style={"description_width": "initial"}, layout=widgets.Layout(width="220px"))
        self.brush_size = classes(widgets.IntSlider(value=brush_size, min=2, max=256, description="Brush px", **slider),
                                  "mjnb-brush-size")
        self.opacity = classes(widgets.FloatSlider(value=0.5, min=0.1, max=1.0, step=0.05, description="Overlay", **slider),
                               "mjnb-opacity")
        self.feather = classes(widgets.IntSlider(value=0, min=0, max=64, description="Feather px", **slider), "mjnb-feather")
        self.grow = classes(widgets.IntSlider(value=0, min=-64, max=64, description="Grow px", **slider), "mjnb-grow")
        self.preset = classes(widgets.Dropdown(options=[FREE, *ASPECT_PRESETS], value=FREE, description="Canvas",
                                               layout=widgets.Layout(width="160px"), style={"description_width": "initial"}),
                              "mjnb-canvas-preset")
        number = dict(continuous_update=False, layout=widgets.Layout(width="130px"), style={"description_width": "initial"})
        self.canvas_width = classes(widgets.IntText(value=0, description="W", **number), "mjnb-canvas-width")
        self.canvas_height = classes(widgets.IntText(value=0, description="H", **number), "mjnb-canvas-height")
        self.scale = classes(widgets.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.01, description="Scale",
                                                 readout_format=".0%", **slider), "mjnb-scale")
        self.centre = _button("Centre", "crosshairs", "mjnb-center", "Centre the image on the canvas")
        self.prompt = classes(widgets.Textarea(placeholder="What to paint in the region / the empty area",
                                               layout=widgets.Layout(width="60%", height="3.2em")), "mjnb-edit-prompt")
        self.submit = classes(widgets.Button(description="Submit", icon="send", button_style="primary", layout=_auto()),
                              "mjnb-edit-submit")
        self.edit_result = _button("Continue from result", "arrow-circle-right", "mjnb-edit-result",
                                   "Edit the result next: it replaces the source on the canvas, with a fresh mask")
        self.edit_result.layout.display = "none"
        # The before/after view: the canvas is the before, this panel the after.
        self.result_title = classes(widgets.HTML("<b>Result</b>"), "mjnb-result-title")
        self.result_image = classes(widgets.Image(format="png", layout=widgets.Layout(
            max_width="512px", max_height="512px", object_fit="contain")), "mjnb-result-image")
        self.result_pick = classes(widgets.ToggleButtons(
            options=[("1", 0), ("2", 1), ("3", 2), ("4", 3)], value=0, description="Continue from",
            tooltips=[f"Continue from image {i} of the result" for i in range(1, 5)],
            style={"button_width": "2.5em", "description_width": "initial"},
            layout=widgets.Layout(display="none")), "mjnb-result-pick")
        self.result_panel = classes(widgets.VBox(
            [self.result_title, self.result_image, self.result_pick, self.edit_result],
            layout=widgets.Layout(display="none", margin="0 0 0 12px")), "mjnb-result")
        self.status = classes(widgets.HTML(""), "mjnb-edit-status")
        self.reason = classes(widgets.HTML(""), "mjnb-edit-reason")
        row = dict(flex_flow="row wrap", align_items="center")
        self.mode_row = widgets.HBox([self.mode_inpaint, self.mode_reposition, self.undo, self.redo],
                                     layout=widgets.Layout(**row))
        self.paint_row = widgets.HBox(
            [*(self.tools[n] for n in ("brush", "eraser", "rect", "lasso")), self.subtract, self.invert, self.clear],
            layout=widgets.Layout(**row),
        )
        self.slider_row = widgets.HBox([self.brush_size, self.opacity, self.feather, self.grow], layout=widgets.Layout(**row))
        self.place_row = widgets.HBox(
            [self.tools["move"], self.preset, self.canvas_width, self.canvas_height, self.scale, self.centre],
            layout=widgets.Layout(**row),
        )
        self.submit_row = widgets.HBox([self.prompt, self.submit, self.edit_result], layout=widgets.Layout(**row))
