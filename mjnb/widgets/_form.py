"""PromptForm: a prompt text area plus one control per Midjourney parameter (PROTOCOLS.md §5).

The typed prompt is the single source of truth, read with :class:`mjnb._prompt.Prompt` (lossless):
typing ``--ar 3:2`` moves the Aspect control to 3:2, and changing a control rewrites only that
parameter in the text — everything else stays as typed, byte for byte (a repeated ``--no`` keeps
both values; parameters with no control of their own show in "Other").  The last edit wins.
Every change re-validates for the dialect: a refused value shows a red message under its control
(``mjnb-field-error``) and Submit says why it is off; informational notes (a parameter the dialect
does not take, one passed through unchecked) are muted (``mjnb-note``), never red.
"""

from __future__ import annotations

import html
from typing import Any, Callable

import ipywidgets as widgets
import traitlets

from .._errors import ValidationError
from .._prompt import PARAMS, Prompt
from . import _form_model as model
from ._events import Event
from ._form_model import ASPECT_PRESETS, CUSTOM, SPEEDS, TEXT_PARAMS
from ._style import classes, error_html, note_html, stylesheet

__all__ = ["PromptForm", "ASPECT_PRESETS", "SPEEDS"]

_FIELD_LAYOUT = dict(width="100%")
_DESCRIPTION = {"description_width": "7.5em"}
_EMPTY = "write a prompt first: describe the image (or give two or more image URLs)"


class PromptForm(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Build a Midjourney prompt by typing it, with a control per parameter; ``form.prompt`` is the result.

    ``dialect``: "mjproxy", "newapi", "acedata" or "evolink" (what is validated and disabled);
    ``prompt``: the text to start with.

    Traits (``observe`` / ``link`` them): ``prompt`` — the final prompt (str; assigning one loads
    it, as ``set_prompt`` does); ``value`` — the form as data (dict: prompt, text, image_urls,
    params, mode, dialect, errors, notes, valid), read-only.
    Event: ``on_submit(callback, remove=False)`` — ``callback(value)`` when Submit is pressed on
    a valid form; the ``on_submit=`` keyword registers one.

    >>> form = PromptForm(prompt="a lighthouse at dusk --ar 3:2 --s 250")
    >>> form.aspect.value, form.controls["s"].value
    ('3:2', '250')
    >>> form.on_submit(lambda value: print(value["prompt"], value["mode"]))
    """

    prompt = traitlets.Unicode("", help="the final prompt")
    value = traitlets.Dict(help="the form as data (read-only)")

    def __init__(
        self,
        dialect: str = "mjproxy",
        prompt: str = "",
        *,
        on_submit: Callable[[dict[str, Any]], Any] | None = None,
        **kw: Any,
    ) -> None:
        self.dialect = dialect
        self._submit_event = Event()
        if on_submit is not None:
            self._submit_event.register(on_submit)
        self._errors: dict[str, str] = {}
        self._notes: dict[str, str] = {}
        self._control_errors: dict[str, str] = {}  # a control whose value could not be written
        self._publishing = False  # set while the form itself writes ``prompt`` / ``value``
        self._reflecting = False  # set while the controls are moved to follow the text
        self._speed_typed = False  # the speed control shows a flag typed in the text (not a mode)
        self.controls: dict[str, widgets.Widget] = {}
        self._messages: dict[str, widgets.HTML] = {}
        self._note_boxes: dict[str, widgets.HTML] = {}
        self._cells: dict[str, widgets.Box] = {}
        self._disabled: dict[str, str] = {}  # control -> why the dialect refuses it
        self._build()
        super().__init__(self._layout_children(), **kw)
        classes(self, "mjnb-prompt")
        self.prompt_text.value = prompt
        self.set_dialect(dialect)

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        self.prompt_text = classes(
            widgets.Textarea(
                placeholder="Describe the image. Image URLs may come first; --parameters may follow.",
                layout=widgets.Layout(width="100%", height="5em"),
            ),
            "mjnb-prompt-text",
        )
        self._add("text", self.prompt_text)
        self._add(
            "images",
            widgets.Text(
                description="Image prompts",
                placeholder="image URLs, space-separated",
                style=_DESCRIPTION,
                layout=_FIELD_LAYOUT,
            ),
        )
        self.aspect = widgets.Dropdown(
            description="Aspect ratio",
            style=_DESCRIPTION,
            layout=_FIELD_LAYOUT,
            options=[("service default", "")] + [(r, r) for r in ASPECT_PRESETS] + [("custom W:H…", CUSTOM)],
        )
        self.aspect_custom = widgets.Text(
            placeholder="W:H, e.g. 7:4", continuous_update=False, layout=widgets.Layout(width="7em", display="none")
        )
        self._add("ar", widgets.HBox([self.aspect, self.aspect_custom]), watch=(self.aspect, self.aspect_custom))
        self._add(
            "version",
            widgets.Dropdown(description="Version", options=model.VERSIONS, style=_DESCRIPTION, layout=_FIELD_LAYOUT),
        )
        self._add(
            "q",
            widgets.Dropdown(
                description="Quality",
                style=_DESCRIPTION,
                layout=_FIELD_LAYOUT,
                options=[("service default", "")] + [(q, q) for q in PARAMS["q"].choices],
            ),
        )
        self._add(
            "speed",
            widgets.Dropdown(
                description="Speed",
                style=_DESCRIPTION,
                layout=_FIELD_LAYOUT,
                options=[("account default", "")] + [(s, s) for s in SPEEDS],
            ),
        )
        for name, label in TEXT_PARAMS.items():
            hint = model.placeholder(name)
            self._add(
                name,
                classes(
                    widgets.Text(
                        description=label,
                        placeholder=hint,
                        style=_DESCRIPTION,
                        continuous_update=False,
                        tooltip=f"{label}: {hint}",
                        layout=_FIELD_LAYOUT,
                    ),
                    "mjnb-ellipsis",
                ),
            )
        self._add("tile", widgets.Checkbox(description="Tile (--tile)", indent=False))
        self._add("raw", widgets.Checkbox(description="Raw (--style raw)", indent=False))
        self._add(
            "other",
            classes(
                widgets.Text(
                    description="Other",
                    placeholder="more --parameters, e.g. --zoom 1.5",
                    continuous_update=False,
                    tooltip="Other: more --parameters, e.g. --zoom 1.5 (those with no control of their own, as typed)",
                    style=_DESCRIPTION,
                    layout=_FIELD_LAYOUT,
                ),
                "mjnb-ellipsis",
            ),
        )
        self.final_prompt = classes(
            widgets.Textarea(
                description="Final prompt",
                disabled=True,
                style=_DESCRIPTION,
                layout=widgets.Layout(width="100%", height="3.5em"),
            ),
            "mjnb-final-prompt",
        )
        self.mode_note = classes(widgets.HTML(""), "mjnb-message")
        self.submit_button = classes(
            widgets.Button(
                description="Submit", button_style="primary", icon="paper-plane", disabled=True, tooltip=_EMPTY
            ),
            "mjnb-submit",
        )
        self.submit_button.on_click(lambda _: self.submit())
        self.message = classes(widgets.HTML(""), "mjnb-message")

    def _add(self, name: str, control: widgets.Widget, watch: tuple[widgets.Widget, ...] = ()) -> None:
        classes(control, "mjnb-param", f"mjnb-param-{name}")
        message = classes(widgets.HTML("", layout=widgets.Layout(display="none")), "mjnb-field-error")
        note = classes(widgets.HTML("", layout=widgets.Layout(display="none")), "mjnb-note")
        self.controls[name] = control
        self._messages[name] = message
        self._note_boxes[name] = note
        self._cells[name] = widgets.VBox([control, message, note], layout=widgets.Layout(min_width="17em"))
        for source in watch or (control,):
            source.observe(lambda _, name=name: self._control_changed(name), names="value")

    def _grid(self, *names: str) -> widgets.GridBox:
        return widgets.GridBox(
            [self._cells[n] for n in names],
            layout=widgets.Layout(
                grid_template_columns="repeat(auto-fill, minmax(17em, 1fr))", grid_gap="2px 12px", width="100%"
            ),
        )

    def _layout_children(self) -> list[widgets.Widget]:
        basics = self._grid("ar", "version", "speed", "s", "c", "w", "q", "seed", "no", "tile", "raw")
        references = self._grid("images", "iw", "sref", "sw", "sv", "oref", "ow", "cref", "cw")
        more = self._grid("exp", "stop", "p", "other")
        extra = widgets.Accordion(
            [references, more], titles=("References (image, style, omni, character)", "More parameters")
        )
        extra.selected_index = None
        return [
            stylesheet(),
            self._cells["text"],
            basics,
            extra,
            self.final_prompt,
            self.mode_note,
            widgets.HBox([self.submit_button, self.message], layout=widgets.Layout(align_items="center")),
        ]

    # -- controls <-> text ------------------------------------------------------------------------
    def _parsed(self) -> Prompt:
        return Prompt.parse(self.prompt_text.value)

    def _control_value(self, name: str) -> Any:
        if name == "ar":
            return self.aspect_custom.value.strip() if self.aspect.value == CUSTOM else self.aspect.value
        return self.controls[name].value

    def _control_changed(self, name: str) -> None:
        if self._reflecting:
            return
        if name == "text":
            self._control_errors.clear()  # the text wins over a control's unwritten value
            self._refresh()
            return
        if name == "speed":
            self._speed_typed = False
        if name == "ar" and self.aspect.value == CUSTOM and not self.aspect_custom.value.strip():
            self._control_errors["ar"] = "--ar: write a custom ratio as W:H, e.g. 7:4"
            self._refresh(keep="ar")
            return
        try:
            edited = model.write(name, self._control_value(name), self._parsed())
        except ValidationError as exc:
            self._control_errors[name] = str(exc)
            self._refresh(keep=name)
            return
        self._control_errors.pop(name, None)
        self._reflecting = True
        try:
            self.prompt_text.value = edited.build()  # only that parameter changed in the text
        finally:
            self._reflecting = False
        self._refresh(keep=name)

    def _reflect(self, prompt: Prompt, keep: str | None) -> None:
        """Move every control (but ``keep``, the one being edited) to what the text says."""
        self._reflecting = True
        try:
            for name, control in self.controls.items():
                if name in ("text", keep) or name in self._control_errors:
                    continue
                shown = model.read(name, prompt)
                if name == "ar":
                    self._show_aspect(shown)
                elif name == "speed":
                    if shown:
                        control.value, self._speed_typed = shown, True
                    elif self._speed_typed:
                        control.value, self._speed_typed = "", False
                elif isinstance(control, widgets.Dropdown):
                    self._choose(control, shown)
                else:
                    control.value = shown
        finally:
            self._reflecting = False

    def _show_aspect(self, ratio: str) -> None:
        if ratio in ASPECT_PRESETS or not ratio:
            self.aspect.value = ratio
        else:
            self.aspect.value, self.aspect_custom.value = CUSTOM, ratio
        self.aspect_custom.layout.display = None if self.aspect.value == CUSTOM else "none"

    @staticmethod
    def _choose(dropdown: widgets.Dropdown, value: str) -> None:
        """Select ``value``, adding it as typed when the list lacks it (``--v 6.0``, ``--q 0.5``)."""
        if value not in [v for _, v in dropdown.options]:
            dropdown.options = [*dropdown.options, (f"{value} (as typed)", value)]
        dropdown.value = value

    # -- validating ------------------------------------------------------------------------------
    def _compute(self, prompt: Prompt) -> dict[str, Any]:
        refused, passed = prompt.problems(self.dialect)
        errors: dict[str, str] = {}
        notes: dict[str, str] = {}
        for error in refused:
            errors.setdefault(model.control_of(error.field, prompt), str(error))
        for note in passed:
            notes.setdefault(model.control_of(note.field, prompt), note.message)
        for flag in sorted(model.REFUSED_FLAGS.get(self.dialect, frozenset()) & {p.canonical for p in prompt.params}):
            speeds = ", ".join(model.SPEEDS_BY_DIALECT[self.dialect])
            errors.setdefault("speed", f"--{flag}: not offered by {self.dialect}; speeds are {speeds}")
        typed_speed = any(p.canonical in SPEEDS for p in prompt.params)
        mode = None if typed_speed else (self.controls["speed"].value or None)  # a typed flag is the speed
        allowed = model.SPEEDS_BY_DIALECT.get(self.dialect, SPEEDS)
        if mode and mode not in allowed:
            errors["speed"] = f"speed: {self.dialect} does not take {mode!r}; allowed: {', '.join(allowed)}"
        errors.update(self._control_errors)
        final = prompt.build().strip()
        return {
            "prompt": final,
            "text": prompt.text,
            "image_urls": list(prompt.image_urls),
            "params": prompt.as_dict(),
            "mode": mode,
            "dialect": self.dialect,
            "errors": errors,
            "notes": notes,
            "valid": bool(final) and bool(prompt.text or len(prompt.image_urls) > 1) and not errors,
        }

    def _refresh(self, keep: str | None = None) -> None:
        prompt = self._parsed()
        self._reflect(prompt, keep)
        self.aspect_custom.layout.display = None if self.aspect.value == CUSTOM else "none"
        value = self._compute(prompt)
        self._errors, self._notes = value["errors"], value["notes"]
        for name, box in self._messages.items():
            error = self._errors.get(name)
            box.value = html.escape(error, quote=False) if error else ""
            box.layout.display = None if error else "none"
            (self.controls[name].add_class if error else self.controls[name].remove_class)("mjnb-invalid")
            note = "; ".join(n for n in (self._disabled.get(name), self._notes.get(name)) if n)
            self._note_boxes[name].value = html.escape(note, quote=False) if note else ""
            self._note_boxes[name].layout.display = None if note else "none"
        self.final_prompt.value = value["prompt"]
        self._publishing = True
        try:
            self.value = dict(value)
            self.prompt = value["prompt"]
        finally:
            self._publishing = False
        mode = value["mode"]
        self.mode_note.value = note_html(f"speed {mode} is sent as the job's mode") if mode else ""
        self._say_why(value)

    def _say_why(self, value: dict[str, Any]) -> None:
        """Submit is off only with the reason beside it (and as its tooltip)."""
        self.submit_button.disabled = not value["valid"]
        if value["valid"]:
            self.submit_button.tooltip = "Send this prompt (imagine)"
            self.message.value = ""
            return
        if value["errors"]:
            why = next(iter(value["errors"].values()))
            self.message.value = error_html(f"Submit is off: {why}")
        else:
            why = (
                _EMPTY if not value["image_urls"] else "one image URL needs some text too (or give two or more images)"
            )
            self.message.value = note_html(f"Submit is off: {why}")
        self.submit_button.tooltip = f"Submit is off: {why}"

    @traitlets.validate("value")
    def _value_is_read_only(self, proposal: dict[str, Any]) -> dict[str, Any]:
        if not self._publishing:
            raise ValidationError(
                "value: the form's value is read-only; assign form.prompt or use set_prompt()", field="value"
            )
        result: dict[str, Any] = proposal["value"]
        return result

    @traitlets.observe("prompt")
    def _prompt_assigned(self, change: dict[str, Any]) -> None:
        if not self._publishing:
            self.set_prompt(change["new"])  # ``form.prompt = "…"`` (or a link) loads it into the form

    @property
    def errors(self) -> dict[str, str]:
        """Refused values: control name -> message naming the parameter and what is allowed."""
        return dict(self._errors)

    @property
    def notes(self) -> dict[str, str]:
        """Informational notes (not errors): control name -> text, e.g. an unknown parameter sent as typed."""
        return dict(self._notes)

    @property
    def mode(self) -> str | None:
        """The speed sent as the job's mode (None: the account's default, or a speed flag typed in the text)."""
        mode: str | None = self.value.get("mode")
        return mode

    # -- programmatic use ----------------------------------------------------------------------
    @classmethod
    def from_prompt(cls, prompt: str, dialect: str = "mjproxy", **kw: Any) -> PromptForm:
        """A form holding ``prompt`` (its controls show its parameters)."""
        return cls(dialect=dialect, prompt=prompt, **kw)

    def set_prompt(self, prompt: str) -> None:
        """Put ``prompt`` in the text area, exactly as given; the controls follow it.

        Raises:
            ValidationError: ``prompt`` is not a string.
        """
        if not isinstance(prompt, str):
            raise ValidationError(f"prompt: expected text, got {type(prompt).__name__}", field="prompt")
        self._control_errors.clear()
        self.prompt_text.value = prompt  # observed: the controls follow
        self._refresh()

    def set_dialect(self, dialect: str) -> None:
        """Validate for ``dialect``: controls of parameters it refuses are disabled, with the reason as a note.

        A parameter the dialect refuses that is still in the text is an error under its control.
        """
        self.dialect = dialect
        self._disabled = {}
        for spec in PARAMS.values():
            name = model.control_of(f"--{spec.name}", Prompt.parse(""))
            if dialect in spec.not_on and name in self.controls and name != "other":
                reason = f"--{spec.name} is not accepted by {dialect}: {spec.note}"
                self._disabled[name] = f"{self._disabled[name]}; {reason}" if name in self._disabled else reason
        for name, control in self.controls.items():
            if name == "text":
                continue
            why = self._disabled.get(name)
            if hasattr(control, "disabled"):
                control.disabled = why is not None
            if name not in TEXT_PARAMS and name != "other":
                control.tooltip = why
        self.aspect.disabled = self.aspect_custom.disabled = "ar" in self._disabled
        if "speed" not in self._disabled:
            allowed = model.SPEEDS_BY_DIALECT.get(dialect, SPEEDS)
            self.controls["speed"].tooltip = f"{dialect} takes: {', '.join(allowed)}"
        self._refresh()

    def on_submit(self, callback: Callable[[dict[str, Any]], Any], remove: bool = False) -> None:
        """Call ``callback(form.value)`` when Submit is pressed with a valid form; ``remove=True``
        unregisters it.  An exception it raises is shown under Submit; the form keeps its text."""
        self._submit_event.register(callback, remove)

    def submit(self) -> None:
        """What pressing Submit does (refused, with the reason beside Submit, while the form is invalid)."""
        self._refresh()
        if not self.value["valid"]:
            return
        self.message.value = ""
        self._submit_event.fire(dict(self.value), on_error=self._failed)

    def _failed(self, exc: Exception) -> None:
        self.message.value = error_html(str(exc))  # keep the form and its text: say what went wrong

    def __repr__(self) -> str:
        return f"PromptForm(dialect={self.dialect!r}, prompt={self.prompt!r})"
