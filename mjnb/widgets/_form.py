"""PromptForm: a prompt text area plus one control per Midjourney parameter (PROTOCOLS.md §5).

Every change re-validates: a refused value shows an inline message under its control and
disables Submit; the final prompt is shown read-only under the form.  Parameters the selected
dialect refuses are disabled, with the reason as the control's tooltip.
"""

from __future__ import annotations

import html
from typing import Any, Callable

import ipywidgets as widgets
import traitlets

from .. import _prompt
from .._errors import ValidationError
from ._events import Event
from ._style import classes, error_html, stylesheet

__all__ = ["PromptForm", "ASPECT_PRESETS", "SPEEDS"]

ASPECT_PRESETS = ("1:1", "4:3", "3:2", "16:9", "21:9", "3:4", "2:3", "9:16")
_CUSTOM = "custom"
_VERSIONS = (
    [("service default", "")]
    + [(f"V{v}", f"v {v}") for v in ("7", "6.1", "6", "5.2", "5.1", "5", "4", "3", "2", "1", "8", "8.1", "8.2")]
    + [(f"Niji {n}", f"niji {n}") for n in ("7", "6", "5", "4")]
)
#: Speed is sent as the job's ``mode`` (the dialect places it: a prompt flag, a field, a path).
SPEEDS = ("fast", "relax", "turbo", "draft")
#: Speeds each dialect can take; PROTOCOLS.md §1.2 (EvoLink: draft|fast|turbo), §2 (AceData mode).
_SPEEDS_BY_DIALECT = {"evolink": ("fast", "turbo", "draft"), "acedata": ("fast", "relax", "turbo")}
_SPEED_FLAGS = {"fast", "relax", "turbo", "draft"}
#: Speed flags a dialect refuses inside the prompt (EvoLink moves the others to its speed field).
_REFUSED_FLAGS = {"evolink": {"relax"}}

# Text controls: parameter -> (label, placeholder).  The placeholder shows the allowed range.
_TEXT_PARAMS = {
    "s": "Stylize", "c": "Chaos", "w": "Weird", "seed": "Seed", "no": "Exclude (--no)",
    "exp": "Experimental", "stop": "Stop", "iw": "Image weight", "p": "Personalize (--p)",
    "sref": "Style ref", "sw": "Style weight", "sv": "Style version",
    "oref": "Omni ref", "ow": "Omni weight", "cref": "Character ref", "cw": "Char. weight",
}
# Which control shows the error of a parameter that has no control of its own name.
_CONTROL_OF = {"v": "version", "niji": "version", "style": "raw", **{f: "speed" for f in _SPEED_FLAGS}}
_FIELD_LAYOUT = dict(width="100%")
_DESCRIPTION = {"description_width": "7.5em"}


def _placeholder(name: str) -> str:
    param = _prompt.PARAMS[name]
    if param.kind in ("int", "float"):
        number = (lambda x: str(int(x))) if param.kind == "int" else (lambda x: f"{x:g}")
        default = f", default {number(param.default)}" if isinstance(param.default, (int, float)) else ""
        return f"{number(param.low)}–{number(param.high)}{default}"
    return {"no": "words to leave out, comma-separated", "p": "profile code (optional)"}.get(name, "URL(s) or code")


class PromptForm(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Build a Midjourney prompt with controls; ``form.prompt`` is the result.

    Traits (``observe`` / ``link`` them): ``prompt`` — the final prompt (str; assigning one
    loads it into the form, as ``set_prompt`` does); ``value`` — the form as data (dict: prompt,
    text, image_urls, params, mode, dialect, errors, valid), read-only.
    Event: ``on_submit(callback, remove=False)`` — ``callback(value)`` when Submit is pressed on
    a valid form; the ``on_submit=`` keyword registers one.

    >>> form = PromptForm.from_prompt("a lighthouse at dusk --ar 3:2 --s 250")
    >>> form.prompt
    'a lighthouse at dusk --ar 3:2 --s 250'
    >>> form.on_submit(lambda value: print(value["prompt"], value["mode"]))
    """

    prompt = traitlets.Unicode("", help="the final prompt")
    value = traitlets.Dict(help="the form as data (read-only)")

    def __init__(self, dialect: str = "mjproxy", prompt: str = "", *,
                 on_submit: Callable[[dict[str, Any]], Any] | None = None, **kw: Any) -> None:
        self.dialect = dialect
        self._submit_event = Event()
        if on_submit is not None:
            self._submit_event.register(on_submit)
        self._errors: dict[str, str] = {}
        self._value: dict[str, Any] = {}
        self._publishing = False  # set while the form itself writes ``prompt`` / ``value``
        self._quiet = False  # set while several controls change at once (from_prompt)
        self.controls: dict[str, widgets.Widget] = {}
        self._messages: dict[str, widgets.HTML] = {}
        self._cells: dict[str, widgets.Box] = {}
        self._disabled: dict[str, str] = {}  # control -> why the dialect refuses it
        self._build()
        super().__init__(self._layout_children(), **kw)
        classes(self, "mjnb-prompt")
        self.set_dialect(dialect)
        if prompt:
            self.set_prompt(prompt)
        self._refresh()

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
        self._add("images", widgets.Text(description="Image prompts", placeholder="image URLs, space-separated (optional)",
                                         style=_DESCRIPTION, layout=_FIELD_LAYOUT))
        self.aspect = widgets.Dropdown(
            description="Aspect ratio",
            options=[("service default", "")] + [(r, r) for r in ASPECT_PRESETS] + [("custom W:H…", _CUSTOM)],
            style=_DESCRIPTION, layout=_FIELD_LAYOUT,
        )
        self.aspect_custom = widgets.Text(placeholder="W:H, e.g. 7:4", layout=widgets.Layout(width="7em", display="none"))
        self._add("ar", widgets.HBox([self.aspect, self.aspect_custom]), watch=(self.aspect, self.aspect_custom))
        self._add("version", widgets.Dropdown(description="Version", options=_VERSIONS, style=_DESCRIPTION, layout=_FIELD_LAYOUT))
        self._add("q", widgets.Dropdown(
            description="Quality", style=_DESCRIPTION, layout=_FIELD_LAYOUT,
            options=[("service default", "")] + [(q, q) for q in _prompt.PARAMS["q"].choices],
        ))
        self._add("speed", widgets.Dropdown(
            description="Speed", style=_DESCRIPTION, layout=_FIELD_LAYOUT,
            options=[("account default", "")] + [(s, s) for s in SPEEDS],
        ))
        for name, label in _TEXT_PARAMS.items():
            self._add(name, widgets.Text(description=label, placeholder=_placeholder(name), style=_DESCRIPTION,
                                         layout=_FIELD_LAYOUT))
        self._add("tile", widgets.Checkbox(description="Tile (--tile)", indent=False))
        self._add("raw", widgets.Checkbox(description="Raw (--raw)", indent=False))
        self._add("other", widgets.Text(description="Other", placeholder="more --parameters, e.g. --zoom 1.5",
                                        style=_DESCRIPTION, layout=_FIELD_LAYOUT))
        self.final_prompt = classes(
            widgets.Textarea(description="Final prompt", disabled=True, style=_DESCRIPTION,
                             layout=widgets.Layout(width="100%", height="3.5em")),
            "mjnb-final-prompt",
        )
        self.mode_note = classes(widgets.HTML(""), "mjnb-message")
        self.submit_button = classes(
            widgets.Button(description="Submit", button_style="primary", icon="paper-plane", disabled=True,
                           tooltip="Send this prompt (imagine)"),
            "mjnb-submit",
        )
        self.submit_button.on_click(lambda _: self.submit())
        self.message = classes(widgets.HTML(""), "mjnb-message")

    def _add(self, name: str, control: widgets.Widget, watch: tuple = ()) -> None:
        classes(control, "mjnb-param", f"mjnb-param-{name}")
        message = classes(widgets.HTML("", layout=widgets.Layout(display="none")), "mjnb-field-error")
        self.controls[name] = control
        self._messages[name] = message
        self._cells[name] = widgets.VBox([control, message], layout=widgets.Layout(min_width="15em"))
        for source in watch or (control,):
            source.observe(self._on_change, names="value")

    def _grid(self, *names: str) -> widgets.GridBox:
        return widgets.GridBox(
            [self._cells[n] for n in names],
            layout=widgets.Layout(grid_template_columns="repeat(auto-fill, minmax(15em, 1fr))", grid_gap="2px 12px", width="100%"),
        )

    def _layout_children(self) -> list[widgets.Widget]:
        basics = self._grid("ar", "version", "speed", "s", "c", "w", "q", "seed", "no", "tile", "raw")
        references = self._grid("images", "iw", "sref", "sw", "sv", "oref", "ow", "cref", "cw")
        more = self._grid("exp", "stop", "p", "other")
        extra = widgets.Accordion([references, more], titles=("References (image, style, omni, character)", "More parameters"))
        extra.selected_index = None
        return [stylesheet(), self._cells["text"], basics, extra, self.final_prompt, self.mode_note,
                widgets.HBox([self.submit_button, self.message], layout=widgets.Layout(align_items="center"))]

    # -- reading the controls -------------------------------------------------------------------
    def _control_params(self) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
        """Parameters set by the enabled controls, errors found reading them, and which
        control set each parameter."""
        params: dict[str, Any] = {}
        errors: dict[str, str] = {}
        enabled = {n for n, c in self.controls.items() if not getattr(c, "disabled", False)}
        if "ar" in enabled:
            ratio = self.aspect_custom.value.strip() if self.aspect.value == _CUSTOM else self.aspect.value
            if ratio:
                params["ar"] = ratio
            elif self.aspect.value == _CUSTOM:
                errors["ar"] = "--ar: write a custom ratio as W:H, e.g. 7:4"
        version = self.controls["version"].value
        if version and "version" in enabled:
            flag, number = version.split(" ", 1)
            params[flag] = number
        for name in (*_TEXT_PARAMS, "q"):
            value = str(self.controls[name].value).strip()
            if value and name in enabled:
                params[name] = value
        for name in ("tile", "raw"):
            if self.controls[name].value and name in enabled:
                params[name] = True
        other = self.controls["other"].value.strip()
        if other and "other" in enabled:
            try:
                parsed = _prompt.parse_prompt(other)
            except ValidationError as exc:
                errors["other"] = str(exc)
            else:
                if parsed.text or parsed.image_urls:
                    errors["other"] = f"other: only --parameters go here, not {(parsed.text or parsed.image_urls[0])!r}"
                params.update(parsed.params)
                origin = {name: "other" for name in parsed.params}
                return params, errors, origin
        return params, errors, {}

    def _compute(self) -> dict[str, Any]:
        params, errors, origin = self._control_params()
        typed = self.prompt_text.value.strip()
        text, urls = typed, []
        try:
            parsed = _prompt.parse_prompt(typed)
        except ValidationError as exc:
            errors["text"] = str(exc)
        else:
            text, urls = parsed.text, list(parsed.image_urls)
            for name, value in parsed.params.items():
                if name in params and str(params[name]) != str(value):
                    errors["text"] = (f"--{name} is set twice: {value!r} in the prompt and {params[name]!r} in its "
                                      "control; remove one")
                elif name not in params:
                    params[name] = value
                    origin[name] = "text"
        extra_urls = [] if self.controls["images"].disabled else self.controls["images"].value.split()
        bad = [u for u in extra_urls if not u.startswith(("http://", "https://"))]
        if bad:
            errors["images"] = f"images: {bad[0]!r} is not an image URL; allowed: http(s):// URLs, space-separated"
        urls += [u for u in extra_urls if u not in urls]
        found = dict(_prompt.param_errors(params, self.dialect))
        if "iw" in params and not urls:
            found.setdefault("iw", "--iw: needs an image prompt; add image URLs first")
        for flag in sorted(_REFUSED_FLAGS.get(self.dialect, set()) & set(params)):
            speeds = ", ".join(_SPEEDS_BY_DIALECT[self.dialect])
            found.setdefault(flag, f"--{flag}: not offered by {self.dialect}; speeds are {speeds}")
        for name, message in found.items():
            errors.setdefault(self._control_for(name, origin), message)
        if len(urls) == 1 and not text:
            errors.setdefault("text", "prompt: one image URL needs some text too (or give two or more images)")
        mode = self.controls["speed"].value or None
        allowed = _SPEEDS_BY_DIALECT.get(self.dialect, SPEEDS)
        if mode and mode not in allowed:
            errors["speed"] = f"speed: {self.dialect} does not take {mode!r}; allowed: {', '.join(allowed)}"
        prompt = _prompt.build_prompt(text, params, urls) if (text or urls) else ""
        return {
            "prompt": prompt, "text": text, "image_urls": urls, "params": params, "mode": mode,
            "dialect": self.dialect, "errors": errors, "valid": bool(prompt) and not errors,
        }

    def _control_for(self, param: str, origin: dict[str, str]) -> str:
        """The control under which an error about ``param`` shows: where the user set it."""
        if param in origin:
            return origin[param]
        name = _CONTROL_OF.get(param, param)
        return name if name in self.controls else "other"

    # -- reacting ------------------------------------------------------------------------------
    def _on_change(self, _change: Any = None) -> None:
        if not self._quiet:
            self._refresh()

    def _refresh(self) -> None:
        self.aspect_custom.layout.display = None if self.aspect.value == _CUSTOM else "none"
        value = self._compute()
        self._value = value
        self._errors = value["errors"]
        for name, message in self._messages.items():
            error = self._errors.get(name)
            note = error or self._disabled.get(name)
            message.value = html.escape(note, quote=False) if note else ""
            message.layout.display = None if note else "none"
            control = self.controls[name]
            (control.add_class if error else control.remove_class)("mjnb-invalid")
        self.final_prompt.value = value["prompt"]
        self._publishing = True
        try:
            self.value = dict(value)
            self.prompt = value["prompt"]
        finally:
            self._publishing = False
        mode = value["mode"]
        self.mode_note.value = f"<small>speed <b>{html.escape(mode, quote=False)}</b> is sent as the job's mode</small>" if mode else ""
        self.submit_button.disabled = not value["valid"]

    @traitlets.validate("value")
    def _value_is_read_only(self, proposal: dict[str, Any]) -> dict[str, Any]:
        if not self._publishing:
            raise ValidationError("value: the form's value is read-only; assign form.prompt or use set_prompt()",
                                  field="value")
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
    def mode(self) -> str | None:
        return self._value["mode"]

    # -- programmatic use ----------------------------------------------------------------------
    @classmethod
    def from_prompt(cls, prompt: str, dialect: str = "mjproxy", **kw: Any) -> "PromptForm":
        """A form whose controls hold the parameters of ``prompt``."""
        return cls(dialect=dialect, prompt=prompt, **kw)

    def set_prompt(self, prompt: str) -> None:
        """Parse ``prompt`` into the controls (what has no control goes to "Other")."""
        try:
            parsed = _prompt.parse_prompt(prompt)
        except ValidationError:
            # Keep every character the user gave: the inline message says what is wrong.
            self.prompt_text.value = prompt
            return
        self._quiet = True
        try:
            self._clear_controls()
            self.prompt_text.value = " ".join([*parsed.image_urls, parsed.text]).strip()
            other: dict[str, Any] = {}
            for name, value in parsed.params.items():
                if not self._set_control(name, value):
                    other[name] = value
            self.controls["other"].value = _prompt.build_prompt("", other)
        finally:
            self._quiet = False
        self._refresh()

    def _clear_controls(self) -> None:
        for name, control in self.controls.items():
            if name == "text":
                continue
            if isinstance(control, widgets.Checkbox):
                control.value = False
            elif isinstance(control, widgets.Dropdown):
                control.value = ""
            elif isinstance(control, widgets.Text):
                control.value = ""
        self.aspect.value = ""
        self.aspect_custom.value = ""

    def _set_control(self, name: str, value: Any) -> bool:
        """Put one parsed parameter in its control; False when it has none."""
        text = "" if value is True else str(value)
        if name == "ar":
            if text in ASPECT_PRESETS:
                self.aspect.value = text
            else:
                self.aspect.value, self.aspect_custom.value = _CUSTOM, text
            return True
        if name in ("v", "niji"):
            option = f"{name} {text}"
            if option in dict(_VERSIONS).values() and not self.controls["version"].value:
                self.controls["version"].value = option
                return True
            return False
        if name in _SPEED_FLAGS and value is True and not self.controls["speed"].value:
            self.controls["speed"].value = name
            return True
        if name == "q" and text in _prompt.PARAMS["q"].choices:
            self.controls["q"].value = text
            return True
        if name in ("tile", "raw") or (name == "style" and text == "raw"):
            self.controls["raw" if name == "style" else name].value = True
            return True
        if name in _TEXT_PARAMS and value is not True:
            self.controls[name].value = text
            return True
        return False

    def set_dialect(self, dialect: str) -> None:
        """Validate for ``dialect``: the parameters it refuses are disabled, saying why.

        A disabled control keeps its value (nothing is lost) but is left out of the prompt.
        """
        self.dialect = dialect
        self._disabled = {}
        for param in _prompt.PARAMS.values():
            if dialect in param.not_on:
                name = _CONTROL_OF.get(param.name, param.name)
                if name in self.controls:
                    reason = f"--{param.name} is not accepted by {dialect}: {param.note}"
                    self._disabled[name] = f"{self._disabled[name]}; {reason}" if name in self._disabled else reason
        for name, control in self.controls.items():
            if name == "text":
                continue
            reason = self._disabled.get(name)
            if hasattr(control, "disabled"):
                control.disabled = reason is not None
            control.tooltip = reason
        self.aspect.disabled = self.aspect_custom.disabled = "ar" in self._disabled
        allowed = _SPEEDS_BY_DIALECT.get(dialect, SPEEDS)
        if "speed" not in self._disabled:
            self.controls["speed"].tooltip = f"{dialect} takes: {', '.join(allowed)}"
        self._refresh()

    def on_submit(self, callback: Callable[[dict[str, Any]], Any], remove: bool = False) -> None:
        """Call ``callback(form.value)`` when Submit is pressed with a valid form; ``remove=True``
        unregisters it.  An exception it raises is shown under Submit; the form keeps its text."""
        self._submit_event.register(callback, remove)

    def submit(self) -> None:
        """What pressing Submit does (refused while the form is invalid)."""
        self._refresh()
        if not self._value["valid"]:
            first = next(iter(self._errors.values()), "prompt: write what to imagine")
            self.message.value = html.escape(first, quote=False)
            return
        self.message.value = ""
        self._submit_event.fire(dict(self.value), on_error=self._failed)

    def _failed(self, exc: Exception) -> None:
        self.message.value = error_html(str(exc))  # keep the form and its text: say what went wrong

    def __repr__(self) -> str:
        return f"PromptForm(dialect={self.dialect!r}, prompt={self.prompt!r})"
