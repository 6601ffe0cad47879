"""Gallery: a finished task's image (or video), its four sub-images, a button per follow-up, Save, Edit, Lineage.

The image is fetched by the kernel (``client.download``; a video with ``client.download_video``)
and shown from bytes: the browser never sees a provider URL, so it works on Binder and behind
proxies, and old outputs survive expiring links.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

import ipywidgets as widgets
import traitlets

from .._errors import ValidationError
from .._models import Action, Task, TaskStatus
from ._events import Event
from ._media import action_class, display_bytes, fetch_video, montage, png_metadata, save_png
from ._progress import Job, ProgressView, plain_reason
from ._runner import Handle, as_async_client, client_for, close_clients, default_client, spawn, ui_lock
from ._style import action_icon, action_text, classes, stylesheet

__all__ = ["Gallery", "png_metadata", "action_class"]

_GRID_ACTIONS = {"U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"}
#: Follow-ups that need a mask: they open the canvas editor instead of submitting.
_MASK_ACTIONS = {"vary_region"}


class Gallery(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Show a task's result and act on it.

    ``gallery.show(task)`` (awaitable) fetches and shows the image, or the video of a video task.

    Traits (``observe`` / ``link`` them): ``task`` — the Task shown (setting it shows it, as
    ``show`` does); ``selected`` — the chosen sub-image, 0-based, or None for the whole result.

    Events (``on_<event>(callback, remove=False)``): ``on_action(task, action)`` after a
    follow-up of ``task`` was submitted; ``on_edit(task, image)`` for "Edit on canvas" and
    Vary (Region) — with no callback the canvas editor opens under the gallery;
    ``on_lineage(task)`` for the Lineage button (shown only while a callback is registered).
    Constructor keywords of the same names register one each.
    """

    task = traitlets.Instance(Task, allow_none=True, help="the Task shown")
    selected = traitlets.Int(None, allow_none=True, help="the chosen sub-image (0-based) or None")

    def __init__(
        self,
        task: Task | None = None,
        client: Any = None,
        progress: ProgressView | None = None,
        *,
        on_action: Callable[[Task, Action], Any] | None = None,
        on_edit: Callable[[Task, Any], Any] | None = None,
        on_lineage: Callable[[Task], Any] | None = None,
        **kw: Any,
    ) -> None:
        self._owned: list[Any] = []  # AsyncClients made here, closed with the gallery
        if client is None and progress is None and task is not None:
            client = default_client(task.dialect, self._owned)  # a task alone: talk to its own dialect
        self._client = as_async_client(client, self._owned)
        self._own_progress = progress is None
        self.progress = progress if progress is not None else ProgressView(client=self._client)
        self.image: Any = None  # the whole result, a PIL image
        self.images: list[Any] = []  # the separate images (the four of a grid), PIL
        self.video: bytes | None = None  # the MP4 of a video task, once fetched
        self._action_event, self._edit_event, self._lineage_event = Event(), Event(), Event()
        self._internal = False  # set while the gallery itself changes ``task``
        self._trail: list[Task] = []  # tasks shown before, for Back
        self.loading: Handle | None = None
        self._other_clients: dict[str, Any] = {}
        self._build()
        children = [
            stylesheet(),
            self.info,
            self.main_image,
            self.video_box,
            self.thumbs,
            self.actions,
            self.action_prompt_box,
            self.tools,
            self.message,
            self.editor_area,
        ]
        if self._own_progress:
            children.insert(6, self.progress)
        super().__init__(children, **kw)
        classes(self, "mjnb-gallery")
        if on_action is not None:
            self.on_action(on_action)
        if on_edit is not None:
            self.on_edit(on_edit)
        if on_lineage is not None:
            self.on_lineage(on_lineage)
        if task is not None:
            self.show(task)

    # -- events ---------------------------------------------------------------------------------
    def on_action(self, callback: Callable[[Task, Action], Any], remove: bool = False) -> None:
        """Call ``callback(task, action)`` after a follow-up ``action`` of ``task`` is submitted
        (its job is ``gallery.progress.jobs[-1]``); ``remove=True`` unregisters it."""
        self._action_event.register(callback, remove)

    def on_edit(self, callback: Callable[[Task, Any], Any], remove: bool = False) -> None:
        """Call ``callback(task, image)`` for "Edit on canvas" and Vary (Region) instead of opening
        the editor under the gallery; ``image`` is the chosen PIL image.  ``remove=True`` unregisters."""
        self._edit_event.register(callback, remove)

    def on_lineage(self, callback: Callable[[Task], Any], remove: bool = False) -> None:
        """Call ``callback(task)`` when Lineage is pressed (the button shows while one is registered)."""
        self._lineage_event.register(callback, remove)
        self.lineage_button.layout.display = None if self._lineage_event else "none"

    def _failed(self, exc: Exception) -> None:
        with ui_lock:
            self.message.value = f"<span class='mjnb-error'>{html.escape(plain_reason(exc), quote=False)}</span>"

    # -- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.info = classes(widgets.HTML("<i>No result yet: submit a prompt.</i>"), "mjnb-gallery-info")
        self.main_image = classes(
            widgets.Image(
                layout=widgets.Layout(max_width="100%", max_height="640px", object_fit="contain", display="none")
            ),
            "mjnb-gallery-image",
        )
        self.video_player = classes(
            widgets.Video(
                format="mp4",
                autoplay=False,
                loop=True,
                controls=True,
                layout=widgets.Layout(max_width="100%", max_height="640px"),
            ),
            "mjnb-gallery-video",
        )
        self.video_thumbnail = classes(
            widgets.Image(layout=widgets.Layout(width="120px", object_fit="contain", display="none")),
            "mjnb-video-thumbnail",
        )
        self.video_box = widgets.HBox(
            [self.video_thumbnail, self.video_player], layout=widgets.Layout(align_items="flex-start", display="none")
        )
        self.thumbs = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap"))
        self.actions = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap"))
        self.action_prompt = classes(
            widgets.Text(description="Prompt", layout=widgets.Layout(width="60%")), "mjnb-action-prompt"
        )
        self.action_send = classes(widgets.Button(description="Send", button_style="primary"), "mjnb-action-send")
        self.action_send.on_click(lambda _: self._send_with_prompt())
        self.action_prompt_box = widgets.HBox(
            [self.action_prompt, self.action_send], layout=widgets.Layout(display="none")
        )
        self._pending_action: Action | None = None
        self.save_path = classes(
            widgets.Text(description="Save to", layout=widgets.Layout(width="24em")), "mjnb-save-path"
        )
        self.save_button = classes(
            widgets.Button(
                description="Save PNG",
                icon="download",
                disabled=True,
                tooltip="Save with prompt, parameters and task id in the PNG",
            ),
            "mjnb-save",
        )
        self.save_button.on_click(lambda _: self._save_clicked())
        self.edit_button = classes(
            widgets.Button(description="Edit on canvas", icon="paint-brush", disabled=True), "mjnb-edit"
        )
        self.edit_button.on_click(lambda _: self._edit_clicked())
        self.lineage_button = classes(
            widgets.Button(
                description="Lineage",
                icon="sitemap",
                disabled=True,
                layout=widgets.Layout(display="none"),
                tooltip="Where this result comes from and what was made from it",
            ),
            "mjnb-lineage-button",
        )
        self.lineage_button.on_click(lambda _: self._lineage_clicked())
        self.back_button = classes(
            widgets.Button(description="Back", icon="arrow-left", layout=widgets.Layout(display="none")), "mjnb-back"
        )
        self.back_button.on_click(lambda _: self.back())
        self.tools = widgets.HBox(
            [self.save_path, self.save_button, self.edit_button, self.lineage_button, self.back_button],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.message = classes(widgets.HTML(""), "mjnb-message")
        self.editor_area = classes(widgets.VBox([]), "mjnb-editor-area")

    @property
    def client(self) -> Any:
        """The AsyncClient follow-ups and downloads use."""
        if self._client is None:
            self._client = self.progress.client
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = as_async_client(value, self._owned)
        if self._own_progress:
            self.progress.client = self._client

    # -- showing a task ---------------------------------------------------------------------------
    def show(self, task: Task) -> Handle:
        """Show ``task``: its image (or video) is fetched by the kernel.

        Returns:
            A Handle: ``await`` it to know the image is in (it gives the task back).
        Raises:
            TypeError: ``task`` is not a :class:`~mjnb.Task`.
        """
        if not isinstance(task, Task):
            raise TypeError(f"task: expected a mjnb.Task, got {type(task).__name__}")
        previous = self.task
        self._set_task(task)
        return self._present(task, previous)

    def _set_task(self, task: Task | None) -> None:
        was, self._internal = self._internal, True
        try:
            self.task = task
        finally:
            self._internal = was

    @traitlets.observe("task")
    def _task_assigned(self, change: dict[str, Any]) -> None:
        if self._internal:
            return
        if change["new"] is None:
            self._trail.clear()
            self._reset(None)
        else:
            self._present(change["new"], change["old"])  # ``gallery.task = t`` (or a link) shows t

    def _reset(self, task: Task | None) -> None:
        with ui_lock:
            self.image, self.images, self.video, self.selected = None, [], None, None
            self.info.value = self._info_html(task) if task else "<i>No result yet: submit a prompt.</i>"
            self.save_path.value = f"./mjnb-{task.id}.png" if task else ""
            self.save_button.disabled = self.edit_button.disabled = True
            self.lineage_button.disabled = task is None
            self.main_image.layout.display = self.video_box.layout.display = "none"
            self.video_thumbnail.layout.display = "none"
            self.thumbs.children = ()
            self.actions.children = tuple(self._action_button(a) for a in task.actions) if task else ()
            self.action_prompt_box.layout.display = "none"
            self.back_button.layout.display = None if self._trail else "none"
            has_media = task is not None and bool(task.image_url or task.image_urls or task.video_urls)
            self.message.value = (
                ("loading the video…" if task.is_video else "loading the image…")
                if (task is not None and has_media)
                else ""
            )

    def _present(self, task: Task, previous: Task | None, remember: bool = True) -> Handle:
        if remember and previous is not None and previous.id != task.id:
            self._trail.append(previous)
        self._reset(task)
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
        self.progress.start(
            f"following {task.prompt or task.id}",
            lambda c: c.get(task.id),
            on_done=self._show_if_current(task),
            client=client,
        )

    def _show_if_current(self, task: Task) -> Callable[[Task], Any]:
        def show(final: Task) -> Any:
            if self.task is not None and self.task.id == task.id:  # the user has not moved on
                self._set_task(final)  # replace the running snapshot, do not stack it under Back
                return self._present(final, None)
            return None

        return show

    def back(self) -> Handle | None:
        """Show the task shown before this one (None when there is none)."""
        if not self._trail:
            return None
        previous = self._trail.pop()
        self._set_task(previous)
        return self._present(previous, None, remember=False)

    async def _load(self, task: Task) -> Task:
        if task.is_video:
            return await self._load_video(task)
        if not (task.image_url or task.image_urls):
            self._say_no_media(task)
            return task
        from .. import images as image_tools

        try:
            result = await client_for(self.client, task.dialect, self._other_clients).download(task)
            if isinstance(result, list):
                subs = result
                whole = subs[0] if len(subs) == 1 else montage(subs)
            else:
                whole = result
                is_grid = bool(_GRID_ACTIONS & set(task.action_names)) or len(task.image_urls) == 4
                subs = image_tools.split_grid(whole) if is_grid else []
            shown = display_bytes(whole)
            thumbs = [image_tools.thumbnail_png(img, 160) for img in subs] if len(subs) > 1 else []
        except Exception as exc:
            self._say_fetch_failed(task, "image", exc)
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

    async def _load_video(self, task: Task) -> Task:
        """A video task: the MP4 in a ``widgets.Video`` (bytes), its first thumbnail beside it."""
        try:
            data, still = await fetch_video(client_for(self.client, task.dialect, self._other_clients), task)
        except Exception as exc:
            self._say_fetch_failed(task, "video", exc)
            raise
        with ui_lock:
            if self.task is not task:
                return task
            self.video = self.video_player.value = data
            if still is not None:
                self.video_thumbnail.format, self.video_thumbnail.value = "png", still
                self.video_thumbnail.layout.display = None
            self.video_box.layout.display = None
            self.message.value = ""
        return task

    def _say_no_media(self, task: Task) -> None:
        with ui_lock:
            if not task.done:
                self.message.value = html.escape(f"The task is {task.status.value}: no image yet.", quote=False)
            elif not task.succeeded:
                self.message.value = html.escape(plain_reason(task), quote=False)

    def _say_fetch_failed(self, task: Task, what: str, exc: BaseException) -> None:
        with ui_lock:
            if self.task is task:
                text = html.escape(f"Could not fetch the {what}: {plain_reason(exc)}", quote=False)
                self.message.value = f"<span class='mjnb-error'>{text}</span>"

    @staticmethod
    def _info_html(task: Task) -> str:
        def esc(text: str) -> str:
            return html.escape(text, quote=False)

        size = f" · {task.size[0]}×{task.size[1]}" if task.size else ""
        prompt = f"<div>{esc(task.prompt)}</div>" if task.prompt else ""
        return (
            f"<b>{esc(task.kind or 'task')}</b> · {esc(task.status.value)}{size} · "
            f"<code>{esc(task.dialect)}</code> <code>{esc(task.id)}</code>{prompt}"
        )

    # -- sub-images ---------------------------------------------------------------------------
    def _thumb(self, index: int, data: bytes) -> widgets.VBox:
        image = widgets.Image(
            value=data, format="png", layout=widgets.Layout(width="120px", height="120px", object_fit="contain")
        )
        box = widgets.VBox(
            [image, self._select_button(str(index + 1), index)], layout=widgets.Layout(align_items="center")
        )
        return classes(box, "mjnb-subimage")

    def _select_button(self, label: str, index: int | None) -> widgets.Button:
        button = classes(
            widgets.Button(
                description=label,
                layout=widgets.Layout(width="120px" if index is not None else "auto"),
                tooltip="Show the whole result" if index is None else f"Choose image {label}",
            ),
            "mjnb-select",
        )
        button.on_click(lambda _: self.select(index))
        return button

    def select(self, index: int | None) -> None:
        """Choose sub-image ``index`` (0-based) — Save and Edit then use it — or None for all.

        Raises:
            ValidationError: ``index`` is not one of the shown sub-images.
        """
        self.selected = index

    @traitlets.validate("selected")
    def _check_selected(self, proposal: dict[str, Any]) -> int | None:
        index: int | None = proposal["value"]
        if index is not None and not (0 <= index < len(self.images)):
            allowed = f"0–{len(self.images) - 1} or None" if self.images else "None (no sub-images are shown)"
            raise ValidationError(f"selected: {index!r} is not allowed; use {allowed}", field="selected")
        return index

    @traitlets.observe("selected")
    def _selected_changed(self, change: dict[str, Any]) -> None:
        index = change["new"]
        image = self.current_image()
        with ui_lock:
            if image is not None:
                data, fmt = display_bytes(image)
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
        text = action_text(action)
        button = widgets.Button(
            description=text,
            icon=action_icon(action),
            layout=widgets.Layout(width="auto"),
            tooltip=self._action_tooltip(action),
        )
        classes(button, "mjnb-action", action_class(action.name))
        button._mjnb_action = action
        button.on_click(lambda _: self._guarded(self.run_action, action))
        return button

    def _guarded(self, do: Callable[..., Any], *args: Any) -> Any:
        try:
            return do(*args)
        except Exception as exc:  # a button press has no caller to raise to: say it where the user looks
            self._failed(exc)
            return None

    @staticmethod
    def _action_tooltip(action: Action) -> str:
        what = (
            f"{action_text(action)} ({action.label})"
            if action.label and action.label != action_text(action)
            else (action_text(action))
        )
        if action.name in _MASK_ACTIONS:
            return f"{what}: paint the region on the canvas editor"
        target = f" on image {action.index + 1}" if action.index is not None else ""
        return f"{what}{target}" + (" (asks for a prompt)" if action.needs_input else "")

    def run_action(self, action: Action | str, prompt: str | None = None) -> Any:
        """Submit a follow-up of the shown task through the ProgressView.

        ``action``: an :class:`~mjnb.Action` of the task or its name (``"U1"``, ``"pan_left"`` …).
        Mask follow-ups (Vary (Region)) fire ``on_edit`` (by default: open the editor); follow-ups
        that need a prompt ask for it first (returns None).

        Returns:
            The :class:`Job`, the editor (mask follow-ups), or None (asking for a prompt).
        Raises:
            ValidationError: no task is shown, or it does not offer ``action``.
        """
        task = self.task
        if task is None:
            raise ValidationError("action: no task is shown", field="action")
        chosen = action if isinstance(action, Action) else task.action(action)
        if chosen.name in _MASK_ACTIONS:
            if chosen.index is not None and self.images:
                self.select(chosen.index)
            return self._edit(task, self.current_image())
        if chosen.needs_input and prompt is None:
            self._ask_prompt(chosen)
            return None
        label = f"{action_text(chosen)} · {task.prompt or task.id}"

        def submit(client: Any) -> Any:
            return client.action(task, chosen, prompt=prompt) if prompt is not None else client.action(task, chosen)

        client = client_for(self.client, task.dialect, self._other_clients)
        job: Job = self.progress.start(label, submit, on_done=self.show, client=client)
        self._action_event.fire(task, chosen, on_error=self._failed)
        return job

    def _ask_prompt(self, action: Action) -> None:
        prompt = self.task.prompt if self.task and self.task.prompt else ""
        if action.name == "custom_zoom" and "--zoom" not in prompt:
            prompt = f"{prompt} --zoom 1.5".strip()
        with ui_lock:
            self._pending_action = action
            self.action_prompt.value = prompt
            self.action_prompt.description = action_text(action)
            self.action_prompt_box.layout.display = None

    def _send_with_prompt(self) -> Any:
        action, self._pending_action = self._pending_action, None
        if action is None:
            return None
        self.action_prompt_box.layout.display = "none"
        return self._guarded(self.run_action, action, self.action_prompt.value.strip())

    # -- save, edit, lineage ---------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> Path:
        """Write the chosen image as PNG with prompt, parameters and task id; refuses to overwrite.

        ``path``: a ``.png`` file in an existing folder (default: the "Save to" field).

        Returns:
            The path written.
        Raises:
            ValidationError: nothing shown, not ``.png``, no such folder, or the file exists.
        """
        if self.task is None or self.image is None:
            raise ValidationError("save: no image is shown yet", field="save")
        target = Path(str(path or self.save_path.value).strip() or f"./mjnb-{self.task.id}.png").expanduser()
        return save_png(self.current_image(), target, png_metadata(self.task, self.selected))

    def _save_clicked(self) -> None:
        try:
            target = self.save()
        except (ValidationError, OSError) as exc:
            self.message.value = f"<span class='mjnb-error'>{html.escape(str(exc), quote=False)}</span>"
            return
        width, height = self.current_image().size
        self.message.value = html.escape(f"Saved {target} ({width}×{height}, prompt and task id inside).", quote=False)

    def _edit_clicked(self) -> None:
        if self.task is not None and self.image is not None:
            self._guarded(self._edit, self.task, self.current_image())

    def _edit(self, task: Task, image: Any) -> Any:
        """Fire ``on_edit``; with no callback registered, open the editor under the gallery."""
        if self._edit_event:
            found = [r for r in self._edit_event.fire(task, image, on_error=self._failed) if r is not None]
            return found[-1] if found else None
        return self._open_editor(task, image)

    def _open_editor(self, task: Task, image: Any) -> Any:
        from ._editor import CanvasEditor

        editor = CanvasEditor(
            task,
            image=image,
            index=self.selected,
            progress=self.progress,
            on_result=self.show,
            client=client_for(self.client, task.dialect, self._other_clients),
        )
        close = widgets.Button(description="Close editor", icon="times", layout=widgets.Layout(width="auto"))

        def closed(_: Any) -> None:
            self.editor_area.children = ()
            editor.close()

        close.on_click(closed)
        self.editor_area.children = (editor, close)
        return editor

    def _lineage_clicked(self) -> None:
        if self.task is not None:
            self._lineage_event.fire(self.task, on_error=self._failed)

    def close(self) -> None:
        """Close the gallery, its own ProgressView and editor, and the AsyncClients it made."""
        for child in self.editor_area.children:
            child.close()
        if self._own_progress:
            self.progress.close()
        self.closing = close_clients(self._owned + list(self._other_clients.values()))  # awaitable
        self._owned.clear()
        self._other_clients.clear()
        super().close()

    def __repr__(self) -> str:
        return f"Gallery(task={self.task.id if self.task else None!r}, selected={self.selected!r})"
