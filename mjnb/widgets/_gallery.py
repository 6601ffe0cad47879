"""Gallery: a finished task's image, its four sub-images, a button per follow-up, Save, Edit.

The image is fetched by the kernel (``client.download``) and shown from bytes: the browser
never sees a provider URL, so it works on Binder and behind proxies, and old outputs survive
expiring links.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Callable

import ipywidgets as widgets

from .. import _prompt
from .._errors import ValidationError
from .._models import Action, Task, TaskStatus
from ._progress import ProgressView, plain_reason
from ._runner import Handle, as_async_client, client_for, default_client, spawn, ui_lock
from ._style import classes, stylesheet

__all__ = ["Gallery", "png_metadata", "action_class"]

_GRID_ACTIONS = {"U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"}
#: Follow-ups that need a mask: they open the canvas editor instead of submitting.
_MASK_ACTIONS = {"vary_region"}


def action_class(name: str) -> str:
    """The CSS class of a follow-up's button: ``mjnb-action-U1``, ``mjnb-action-zoom_out_1-5x``."""
    return "mjnb-action-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def png_metadata(task: Task, index: int | None = None) -> dict[str, Any]:
    """What Save writes into the PNG's text chunks: prompt, parameters and task id."""
    meta = {"task_id": task.id, "dialect": task.dialect, "kind": task.kind or "", "software": "mjnb"}
    if task.prompt:
        meta["prompt"] = task.prompt
        try:
            meta["parameters"] = _prompt.parse_prompt(task.prompt).params  # JSON in the chunk, a dict when read back
        except ValidationError:
            pass  # a prompt the service took but we cannot parse: the prompt itself is kept
    if task.final_prompt:
        meta["final_prompt"] = task.final_prompt
    if index is not None:
        meta["image_index"] = index
    return meta


def _display_bytes(image: Any) -> tuple[bytes, str]:
    """Bytes for a widgets.Image: JPEG for photos (small), PNG when there is transparency."""
    from .. import images

    if image.mode in ("RGBA", "LA", "P"):
        return images.to_png(image), "png"
    return images.to_jpeg(image), "jpeg"


def _montage(parts: list[Any]) -> Any:
    """Separate images (EvoLink sends up to four) side by side in a 2-column grid, for the overview."""
    from PIL import Image

    width = max(p.width for p in parts)
    height = max(p.height for p in parts)
    rows = (len(parts) + 1) // 2
    sheet = Image.new("RGB", (width * 2, height * rows), "white")
    for i, part in enumerate(parts):
        sheet.paste(part.convert("RGB"), ((i % 2) * width, (i // 2) * height))
    return sheet


class Gallery(widgets.VBox):
    """Show a task's result and act on it.

    ``gallery.show(task)`` (awaitable) fetches and shows the image; ``gallery.selected`` is the
    chosen sub-image (0-based) or None for the whole; ``gallery.on_edit(task, image)`` is what
    "Edit on canvas" calls (by default it opens ``CanvasEditor`` under the gallery).
    """

    def __init__(self, task: Task | None = None, client: Any = None, progress: ProgressView | None = None, **kw: Any) -> None:
        if client is None and progress is None and task is not None:
            client = default_client(task.dialect)  # a task alone: talk to its own dialect
        self._client = as_async_client(client)
        self._own_progress = progress is None
        self.progress = progress if progress is not None else ProgressView(client=self._client)
        self.task: Task | None = None
        self.image: Any = None  # the whole result, a PIL image
        self.images: list[Any] = []  # the separate images (the four of a grid), PIL
        self.selected: int | None = None
        self.on_edit: Callable[[Task, Any], Any] = self._open_editor
        self._trail: list[Task] = []  # tasks shown before, for Back
        self.loading: Handle | None = None
        self._other_clients: dict[str, Any] = {}
        self._build()
        children = [stylesheet(), self.info, self.main_image, self.thumbs, self.actions, self.action_prompt_box,
                    self.tools, self.message, self.editor_area]
        if self._own_progress:
            children.insert(5, self.progress)
        super().__init__(children, **kw)
        classes(self, "mjnb-gallery")
        if task is not None:
            self.show(task)

    # -- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.info = classes(widgets.HTML("<i>No result yet: submit a prompt.</i>"), "mjnb-gallery-info")
        self.main_image = classes(
            widgets.Image(layout=widgets.Layout(max_width="100%", max_height="640px", object_fit="contain", display="none")),
            "mjnb-gallery-image",
        )
        self.thumbs = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap"))
        self.actions = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap"))
        self.action_prompt = classes(widgets.Text(description="Prompt", layout=widgets.Layout(width="60%")), "mjnb-action-prompt")
        self.action_send = classes(widgets.Button(description="Send", button_style="primary"), "mjnb-action-send")
        self.action_send.on_click(lambda _: self._send_with_prompt())
        self.action_prompt_box = widgets.HBox([self.action_prompt, self.action_send], layout=widgets.Layout(display="none"))
        self._pending_action: Action | None = None
        self.save_path = classes(widgets.Text(description="Save to", layout=widgets.Layout(width="24em")), "mjnb-save-path")
        self.save_button = classes(widgets.Button(description="Save PNG", icon="download", disabled=True,
                                                  tooltip="Save with prompt, parameters and task id in the PNG"), "mjnb-save")
        self.save_button.on_click(lambda _: self._save_clicked())
        self.edit_button = classes(widgets.Button(description="Edit on canvas", icon="paint-brush", disabled=True),
                                   "mjnb-edit")
        self.edit_button.on_click(lambda _: self._edit_clicked())
        self.back_button = classes(widgets.Button(description="Back", icon="arrow-left", layout=widgets.Layout(display="none")),
                                   "mjnb-back")
        self.back_button.on_click(lambda _: self.back())
        self.tools = widgets.HBox([self.save_path, self.save_button, self.edit_button, self.back_button],
                                  layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.message = classes(widgets.HTML(""), "mjnb-message")
        self.editor_area = classes(widgets.VBox([]), "mjnb-editor-area")

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.progress.client
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = as_async_client(value)
        if self._own_progress:
            self.progress.client = self._client

    # -- showing a task ---------------------------------------------------------------------------
    def show(self, task: Task) -> Handle:
        """Show ``task`` (its image is fetched by the kernel); await the result to know it is in."""
        if not isinstance(task, Task):
            raise TypeError(f"task: expected a mjnb.Task, got {type(task).__name__}")
        with ui_lock:
            if self.task is not None and self.task.id != task.id:
                self._trail.append(self.task)
            self.task, self.image, self.images, self.selected = task, None, [], None
            self.info.value = self._info_html(task)
            self.save_path.value = f"./mjnb-{task.id}.png"
            self.save_button.disabled = self.edit_button.disabled = True
            self.main_image.layout.display = "none"
            self.thumbs.children = ()
            self.actions.children = tuple(self._action_button(a) for a in task.actions)
            self.action_prompt_box.layout.display = "none"
            self.back_button.layout.display = None if self._trail else "none"
            self.message.value = "loading the image…" if (task.image_url or task.image_urls) else ""
        if self.loading is not None and not self.loading.done():
            self.loading.cancel()  # a newer task wins
        if task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
            self._follow(task)  # reopened while running: watch it, show the image when it is done
        self.loading = spawn(lambda: self._load(task))
        return self.loading

    def _follow(self, task: Task) -> None:
        if any(job.task is not None and job.task.id == task.id and not job.done for job in self.progress.jobs):
            return  # already followed (the job that made it, or an earlier reopen)
        client = client_for(self.client, task.dialect, self._other_clients)
        self.progress.start(f"following {task.prompt or task.id}", lambda c: c.get(task.id), on_done=self._show_if_current(task),
                            client=client)

    def _show_if_current(self, task: Task) -> Callable[[Task], Any]:
        def show(final: Task) -> Any:
            if self.task is not None and self.task.id == task.id:  # the user has not moved on
                self.task = None  # replace the running snapshot, do not stack it under Back
                return self.show(final)
            return None

        return show

    def back(self) -> Handle | None:
        """Show the task shown before this one."""
        if not self._trail:
            return None
        previous = self._trail.pop()
        self.task = None  # so that show() does not push the current one back
        return self.show(previous)

    async def _load(self, task: Task) -> Task:
        from .. import images as image_tools

        if not (task.image_url or task.image_urls):
            if not task.done:
                with ui_lock:
                    self.message.value = html.escape(f"The task is {task.status.value}: no image yet.", quote=False)
            elif not task.succeeded:
                with ui_lock:
                    self.message.value = html.escape(plain_reason(task), quote=False)
            return task
        try:
            result = await client_for(self.client, task.dialect, self._other_clients).download(task)
            if isinstance(result, list):
                subs = result
                whole = subs[0] if len(subs) == 1 else _montage(subs)
            else:
                whole = result
                is_grid = bool(_GRID_ACTIONS & set(task.action_names)) or len(task.image_urls) == 4
                subs = image_tools.split_grid(whole) if is_grid else []
            shown = _display_bytes(whole)
            thumbs = [image_tools.thumbnail_png(img, 160) for img in subs] if len(subs) > 1 else []
        except Exception as exc:
            with ui_lock:
                if self.task is task:
                    self.message.value = html.escape(f"Could not fetch the image: {plain_reason(exc)}", quote=False)
            raise
        with ui_lock:
            if self.task is not task:  # another task was shown meanwhile
                return task
            self.image, self.images = whole, list(subs) if len(subs) > 1 else []
            self.main_image.format, self.main_image.value = shown[1], shown[0]
            self.main_image.layout.display = None
            self.thumbs.children = tuple(self._thumb(i, data) for i, data in enumerate(thumbs))
            if thumbs:
                self.thumbs.children += (self._select_button("All", None),)
            self.save_button.disabled = False
            self.edit_button.disabled = False
            self.message.value = ""
        return task

    @staticmethod
    def _info_html(task: Task) -> str:
        def esc(text: str) -> str:
            return html.escape(text, quote=False)

        size = f" · {task.size[0]}×{task.size[1]}" if task.size else ""
        prompt = f"<div>{esc(task.prompt)}</div>" if task.prompt else ""
        return (f"<b>{esc(task.kind or 'task')}</b> · {esc(task.status.value)}{size} · "
                f"<code>{esc(task.dialect)}</code> <code>{esc(task.id)}</code>{prompt}")

    # -- sub-images ---------------------------------------------------------------------------
    def _thumb(self, index: int, data: bytes) -> widgets.VBox:
        image = widgets.Image(value=data, format="png", layout=widgets.Layout(width="120px", height="120px", object_fit="contain"))
        box = widgets.VBox([image, self._select_button(str(index + 1), index)], layout=widgets.Layout(align_items="center"))
        return classes(box, "mjnb-subimage")

    def _select_button(self, label: str, index: int | None) -> widgets.Button:
        button = classes(widgets.Button(description=label, layout=widgets.Layout(width="120px" if index is not None else "auto"),
                                        tooltip="Show the whole result" if index is None else f"Choose image {label}"),
                         "mjnb-select")
        button.on_click(lambda _: self.select(index))
        return button

    def select(self, index: int | None) -> None:
        """Choose sub-image ``index`` (0-based) — Save and Edit then use it — or None for all."""
        if index is not None and not (0 <= index < len(self.images)):
            raise ValidationError(f"index: {index!r} is not allowed; use 0–{len(self.images) - 1} or None", field="index")
        with ui_lock:
            self.selected = index
            data, fmt = _display_bytes(self.current_image())
            self.main_image.format, self.main_image.value = fmt, data
            for i, box in enumerate(self.thumbs.children[: len(self.images)]):
                (box.add_class if i == index else box.remove_class)("mjnb-subimage-selected")
                box.children[1].button_style = "info" if i == index else ""
            for button in self.actions.children:
                action = button._mjnb_action
                button.button_style = "info" if index is not None and action.index == index else ""

    def current_image(self) -> Any:
        """The chosen sub-image, or the whole result (PIL), or None before it is loaded."""
        if self.selected is not None and self.images:
            return self.images[self.selected]
        return self.image

    # -- follow-ups ---------------------------------------------------------------------------
    def _action_button(self, action: Action) -> widgets.Button:
        button = widgets.Button(description=action.label or action.name, layout=widgets.Layout(width="auto"),
                                tooltip=self._action_tooltip(action))
        classes(button, "mjnb-action", action_class(action.name))
        button._mjnb_action = action
        button.on_click(lambda _: self.run_action(action))
        return button

    @staticmethod
    def _action_tooltip(action: Action) -> str:
        if action.name in _MASK_ACTIONS:
            return f"{action.name}: paint the region on the canvas editor"
        target = f" on image {action.index + 1}" if action.index is not None else ""
        return f"{action.name}{target}" + (" (asks for a prompt)" if action.needs_input else "")

    def run_action(self, action: Action | str, prompt: str | None = None) -> Any:
        """Submit a follow-up of the shown task through the ProgressView (returns the Job);
        mask follow-ups open the editor, prompt follow-ups ask for the prompt first."""
        task = self.task
        if task is None:
            raise ValidationError("action: no task is shown", field="action")
        chosen = action if isinstance(action, Action) else task.action(action)
        if chosen.name in _MASK_ACTIONS:
            if chosen.index is not None and self.images:
                self.select(chosen.index)
            return self.on_edit(task, self.current_image())
        if chosen.needs_input and prompt is None:
            self._ask_prompt(chosen)
            return None
        label = f"{chosen.label or chosen.name} · {task.prompt or task.id}"

        def submit(client: Any) -> Any:
            return client.action(task, chosen, prompt=prompt) if prompt is not None else client.action(task, chosen)

        client = client_for(self.client, task.dialect, self._other_clients)
        return self.progress.start(label, submit, on_done=self.show, client=client)

    def _ask_prompt(self, action: Action) -> None:
        prompt = self.task.prompt if self.task and self.task.prompt else ""
        if action.name == "custom_zoom" and "--zoom" not in prompt:
            prompt = f"{prompt} --zoom 1.5".strip()
        with ui_lock:
            self._pending_action = action
            self.action_prompt.value = prompt
            self.action_prompt.description = action.label or action.name
            self.action_prompt_box.layout.display = None

    def _send_with_prompt(self) -> Any:
        action, self._pending_action = self._pending_action, None
        if action is None:
            return None
        self.action_prompt_box.layout.display = "none"
        try:
            return self.run_action(action, prompt=self.action_prompt.value.strip())
        except Exception as exc:
            self.message.value = html.escape(plain_reason(exc), quote=False)
            return None

    # -- save and edit ---------------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> Path:
        """Write the chosen image as PNG with prompt, parameters and task id; refuses to overwrite."""
        from .. import images

        if self.task is None or self.image is None:
            raise ValidationError("save: no image is shown yet", field="save")
        target = Path(str(path or self.save_path.value).strip() or f"./mjnb-{self.task.id}.png").expanduser()
        if target.suffix.lower() != ".png":
            raise ValidationError(f"save: {target} must end with .png (the metadata lives in PNG text chunks)", field="path")
        if not target.parent.is_dir():
            raise ValidationError(f"save: folder {target.parent} does not exist", field="path")
        if target.exists():
            raise ValidationError(f"save: {target} already exists; choose another name (nothing was overwritten)", field="path")
        target.write_bytes(images.to_png(self.current_image(), metadata=png_metadata(self.task, self.selected)))
        return target

    def _save_clicked(self) -> None:
        try:
            target = self.save()
        except (ValidationError, OSError) as exc:
            self.message.value = f"<span style='color:#dc2626'>{html.escape(str(exc), quote=False)}</span>"
            return
        width, height = self.current_image().size
        self.message.value = html.escape(f"Saved {target} ({width}×{height}, prompt and task id inside).", quote=False)

    def _edit_clicked(self) -> None:
        if self.task is None or self.image is None:
            return
        try:
            self.on_edit(self.task, self.current_image())
        except Exception as exc:
            self.message.value = f"<span style='color:#dc2626'>{html.escape(plain_reason(exc), quote=False)}</span>"

    def _open_editor(self, task: Task, image: Any) -> Any:
        """The default ``on_edit``: open the canvas editor under the gallery."""
        try:
            from . import CanvasEditor  # helper module written alongside; imported on first use
        except ImportError:
            self.message.value = html.escape("The canvas editor is not available in this installation.", quote=False)
            return None
        editor = CanvasEditor(task, image=image, index=self.selected, client=client_for(self.client, task.dialect, self._other_clients),
                              progress=self.progress, on_result=self.show)
        close = widgets.Button(description="Close editor", icon="times", layout=widgets.Layout(width="auto"))
        close.on_click(lambda _: setattr(self.editor_area, "children", ()))
        self.editor_area.children = (editor, close)
        return editor

    def __repr__(self) -> str:
        return f"Gallery(task={self.task.id if self.task else None!r}, selected={self.selected!r})"
