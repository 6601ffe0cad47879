"""The Studio's modes beside Imagine: Describe, Blend, Shorten, Translate, Edit an image, Retexture, Remove background.

Each mode is a small panel that calls one verb of the client through the Studio's ProgressView
(so it runs on the kernel's loop and shows live progress) and hands its result back to the
Studio: an image goes to the Gallery, a prompt (Describe, Shorten, Translate) into the form.
A mode whose verb the dialect lacks stays visible with its controls off and the reason shown
(the ``UnsupportedOperation`` text: which dialects offer it).

Services followed: PROTOCOLS.md §3 (midjourney-proxy describe/blend/shorten), §2 (AceData
translate, describe, shorten, edits), §1 (EvoLink retexture, remove-bg, upload-paint).
"""

from __future__ import annotations

import html
from typing import Any, Callable, ClassVar, Protocol

import ipywidgets as widgets

from .._errors import MjnbError, UnsupportedOperation
from .._models import Task
from ._progress import Job, ProgressView, plain_reason
from ._runner import ui_lock
from ._style import classes
from ._upload import ImageUpload

__all__ = ["ModeHost", "ModePanel", "MODE_PANELS", "unsupported_reason"]

_DIMENSIONS = (("Square (1:1)", "SQUARE"), ("Portrait (2:3)", "PORTRAIT"), ("Landscape (3:2)", "LANDSCAPE"))


class ModeHost(Protocol):
    """What a mode panel needs from the Studio."""

    client: Any
    progress: ProgressView

    def show(self, task: Task) -> Any: ...

    def use_prompt(self, prompt: str) -> None: ...

    def current_prompt(self) -> str: ...

    def submit_options(self) -> dict[str, Any]: ...


def unsupported_reason(dialect: str, operation: str) -> str:
    """The sentence shown where ``dialect`` lacks ``operation`` (names the dialects that offer it)."""
    from ..dialects import offered_by

    return str(UnsupportedOperation(dialect, operation, offered_by(operation)))


class ModePanel(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """One mode: its controls, a run button, why it is off on this dialect, and its results.

    ``last_job`` is the Job of the last run (``await panel.last_job.result()``).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    operation: ClassVar[str] = ""
    css: ClassVar[str] = ""
    run_label: ClassVar[str] = "Run"

    def __init__(self, host: ModeHost) -> None:
        self.host = host
        self.last_job: Job | None = None
        self.run_button = classes(
            widgets.Button(description=self.run_label, button_style="primary", layout=widgets.Layout(width="auto")),
            "mjnb-mode-run",
        )
        self.run_button.on_click(lambda _: self.run())
        self.message = classes(widgets.HTML(""), "mjnb-message")
        self.reason = classes(widgets.HTML("", layout=widgets.Layout(display="none")), "mjnb-mode-reason")
        self.results = widgets.VBox([])
        super().__init__(
            [
                *self.controls(),
                self.reason,
                widgets.HBox([self.run_button, self.message], layout=widgets.Layout(align_items="center")),
                self.results,
            ]
        )
        classes(self, "mjnb-mode", self.css)
        self.set_client(host.client)

    # -- what a mode defines ---------------------------------------------------------------------
    def controls(self) -> list[widgets.Widget]:
        """The mode's own inputs (built once)."""
        return []

    def start(self) -> Job | None:
        """Check the inputs (raising ValidationError) and start the job."""
        raise NotImplementedError(f"{type(self).__name__}.start")

    def activated(self) -> None:
        """Called when the user switches to this mode (prefill from the form)."""

    # -- shared behaviour --------------------------------------------------------------------------
    @property
    def offered(self) -> bool:
        return self.operation in self.host.client.operations

    def set_client(self, client: Any) -> None:
        """Enable or disable the mode for ``client``'s dialect, saying why when it is off."""
        offered = self.operation in client.operations
        why = "" if offered else unsupported_reason(client.dialect, self.operation)
        with ui_lock:
            self.run_button.disabled = not offered
            self.run_button.tooltip = why or f"{self.title} on {client.dialect}"
            self.reason.value = html.escape(why, quote=False)
            self.reason.layout.display = None if why else "none"
            self.dialect_changed(client)

    def dialect_changed(self, client: Any) -> None:
        """Adjust controls for ``client``'s dialect (what a mode accepts differs per service)."""

    def run(self) -> Job | None:
        """What pressing the mode's button does; the error, if any, is shown under it."""
        with ui_lock:
            self.message.value = ""
        if not self.offered:
            self._say(unsupported_reason(self.host.client.dialect, self.operation), error=True)
            return None
        try:
            self.last_job = self.start()
        except MjnbError as exc:
            self._say(plain_reason(exc), error=True)
            return None
        return self.last_job

    def _say(self, text: str, *, error: bool = False) -> None:
        body = html.escape(text, quote=False)
        with ui_lock:
            self.message.value = f"<span class='mjnb-field-error'>{body}</span>" if error else body

    def _job(self, label: str, submit: Callable[[Any], Any], on_done: Callable[[Task], Any]) -> Job:
        return self.host.progress.start(label, submit, on_done=on_done, client=self.host.client)

    def _choices(self, texts: tuple[str, ...], css: str, intro: str) -> None:
        """Show prompts as buttons; a click puts that prompt in the form (and goes to Imagine)."""
        buttons = []
        for text in texts:
            button = classes(
                widgets.Button(description=text, tooltip=text, layout=widgets.Layout(width="100%", overflow="hidden")),
                css,
            )
            button.on_click(lambda _, chosen=text: self.host.use_prompt(chosen))
            buttons.append(button)
        with ui_lock:
            self.results.children = (widgets.HTML(html.escape(intro, quote=False)), *buttons)


class DescribeMode(ModePanel):
    """Upload an image (or give its URL) → four prompts; click one to put it in the form."""

    name, title, operation, css, run_label = "describe", "Describe", "describe", "mjnb-describe", "Describe"

    def controls(self) -> list[widgets.Widget]:
        self.upload = ImageUpload("Image to describe", field="image")
        return [self.upload]

    def start(self) -> Job:
        image = self.upload.sources()[0]
        options = self.host.submit_options()
        label = f"describe · {self.upload.names[0] if self.upload.images else image}"
        return self._job(label, lambda c: c.describe(image, **options), self._show_prompts)

    def _show_prompts(self, task: Task) -> None:
        if not task.texts:
            self._say("The service described the image but sent no prompts.", error=True)
            return
        self._choices(task.texts, "mjnb-describe-choice", "Click a prompt to put it in the form:")


class _PromptTextMode(ModePanel):
    """A mode that works on a prompt's text, prefilled from the form when the user switches to it."""

    placeholder: ClassVar[str] = ""

    def controls(self) -> list[widgets.Widget]:
        self.text = widgets.Textarea(placeholder=self.placeholder, layout=widgets.Layout(width="100%", height="4em"))
        return [self.text]

    def activated(self) -> None:
        if not self.text.value.strip():
            self.text.value = self.host.current_prompt()

    def prompt(self) -> str:
        return self.text.value.strip() or self.host.current_prompt()


class ShortenMode(_PromptTextMode):
    """A long prompt → shorter ones; pick one into the form."""

    name, title, operation, css, run_label = "shorten", "Shorten", "shorten", "mjnb-shorten", "Shorten"
    placeholder = "the prompt to shorten (taken from the form when empty)"

    def start(self) -> Job:
        prompt = self.prompt()
        return self._job(f"shorten · {prompt}", lambda c: c.shorten(prompt), self._show_prompts)

    def _show_prompts(self, task: Task) -> None:
        self._choices(task.texts, "mjnb-shorten-choice", "Shorter prompts — click one to put it in the form:")


class TranslateMode(_PromptTextMode):
    """A prompt in another language → English (AceData's translate)."""

    name, title, operation, css, run_label = "translate", "Translate", "translate", "mjnb-translate", "Translate"
    placeholder = "a prompt in any language (taken from the form when empty)"

    def start(self) -> Job:
        text = self.prompt()
        return self._job(f"translate · {text}", lambda c: c.translate(text), self._show)

    def _show(self, task: Task) -> None:
        english = task.texts[0] if task.texts else (task.final_prompt or "")
        if not english:
            self._say("The service answered without a translation.", error=True)
            return
        self._choices((english,), "mjnb-translate-choice", "In English — click to put it in the form:")


class BlendMode(ModePanel):
    """Blend 2–5 uploaded images into one; the result opens in the Gallery."""

    name, title, operation, css, run_label = "blend", "Blend", "blend", "mjnb-blend", "Blend"

    def controls(self) -> list[widgets.Widget]:
        self.upload = ImageUpload("Images to blend", field="images", min_count=2, max_count=5, urls=False)
        self.upload.allow_urls(False, "Blend sends the images themselves (base64): upload 2 to 5 files.")
        self.dimensions = widgets.Dropdown(options=_DIMENSIONS, value="SQUARE", description="Dimensions")
        classes(self.dimensions, "mjnb-blend-dimensions")
        return [self.upload, self.dimensions]

    def start(self) -> Job:
        images, dimensions = self.upload.sources(), self.dimensions.value
        options = self.host.submit_options()
        return self._job(
            f"blend · {len(images)} images · {dimensions.lower()}",
            lambda c: c.blend(images, dimensions, **options),
            self.host.show,
        )


class RetextureMode(ModePanel):
    """A new texture or style for an uploaded image (EvoLink ``mj-v7-retexture``)."""

    name, title, operation, css, run_label = "retexture", "Retexture", "retexture", "mjnb-retexture", "Retexture"

    def controls(self) -> list[widgets.Widget]:
        self.upload = ImageUpload("Image", field="image")
        self.prompt = widgets.Text(
            placeholder="the new texture or style, e.g. 'stained glass'",
            description="Prompt",
            layout=widgets.Layout(width="100%"),
        )
        return [self.upload, self.prompt]

    def start(self) -> Job:
        from .._errors import ValidationError

        image = self.upload.sources()[0]
        prompt = self.prompt.value.strip()
        if not prompt:
            raise ValidationError("prompt: retexture needs a prompt (the new texture or style)", field="prompt")
        options = self.host.submit_options()
        return self._job(f"retexture · {prompt}", lambda c: c.retexture(image, prompt, **options), self.host.show)


class RemoveBackgroundMode(ModePanel):
    """Cut the subject out on a transparent background (EvoLink ``mj-v7-remove-bg``)."""

    name, title, operation, css, run_label = (
        "remove_bg",
        "Remove background",
        "remove_bg",
        "mjnb-remove-bg",
        "Remove background",
    )

    def controls(self) -> list[widgets.Widget]:
        self.upload = ImageUpload("Image", field="image")
        return [self.upload]

    def start(self) -> Job:
        image = self.upload.sources()[0]
        options = self.host.submit_options()
        return self._job("remove background", lambda c: c.remove_bg(image, **options), self.host.show)


class EditImageMode(ModePanel):
    """Upload an image (or come from a result's "Edit on canvas"), paint what to change on the
    CanvasEditor and send it; the editor shows the result beside the source, the Gallery shows it
    with its follow-ups."""

    name, title, operation, css, run_label = "edit_image", "Edit an image", "edit", "mjnb-edit-image", "Open in editor"

    def controls(self) -> list[widgets.Widget]:
        self.upload = ImageUpload("Image to edit", field="image", urls=False)
        self.upload.allow_urls(
            False, "The editor paints on the image itself: upload it (or use Edit on canvas from a result)."
        )
        self.editor: Any = None
        self.editor_area = classes(widgets.VBox([]), "mjnb-editor-area")
        self.result: Task | None = None
        return [self.upload, self.editor_area]

    def start(self) -> None:
        self.open_editor(self.upload.sources()[0])
        return None

    def open_editor(self, image_or_task: Any, *, image: Any = None, index: int | None = None) -> Any:
        """Open the CanvasEditor on an uploaded image, or on a task's result (``image``/``index`` as the
        Gallery gives them); returns the editor."""
        from ._editor import CanvasEditor

        # 640 px leaves room for the editor's result panel beside the canvas in a notebook's output area
        editor = CanvasEditor(
            image_or_task,
            image=image,
            index=index,
            client=self.host.client,
            progress=self.host.progress,
            display_size=640,
        )
        editor.on_result(self._edited)
        with ui_lock:
            self.editor = editor
            self.editor_area.children = (editor,)
        return editor

    def _edited(self, task: Task) -> Any:
        self.result = task
        return self.host.show(task)

    def close(self) -> None:
        if self.editor is not None:
            self.editor.close()
        super().close()


#: The modes in the order the Studio shows them after Imagine.
MODE_PANELS: tuple[type[ModePanel], ...] = (
    DescribeMode,
    BlendMode,
    ShortenMode,
    TranslateMode,
    EditImageMode,
    RetextureMode,
    RemoveBackgroundMode,
)
