"""What the editor's Submit sends, for each dialect: the operation, why one is missing, payloads.

The editor never builds a request: it calls ``client.inpaint`` / ``client.reposition`` /
``client.edit`` and the dialect encodes.  :func:`payload` shows the fragment a dialect puts
on the wire for the current edit (field names from PROTOCOLS.md), so a user can see what
will be sent and a test can check it; it uses the same encoders as the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from .. import images
from .._client import AsyncClient
from .._errors import UnsupportedOperation, ValidationError
from .._models import Task
from ._editor_host import EditorHost
from ._media import montage
from ._progress import Job, plain_reason
from ._runner import Handle, ui_lock

__all__ = ["Plan", "plan", "payload", "MASK_WIRE", "EDIT_TAKES_MASK", "edit_takes_mask", "SubmitMixin", "result_count"]

#: The mask field and encoding each dialect uses for inpaint (Vary Region) and edits.
MASK_WIRE: dict[str, tuple[str, str]] = {
    "mjproxy": ("maskBase64", "png_data_url"),
    "newapi": ("maskBase64", "png_data_url"),
    "acedata": ("mask", "png_base64"),
    "evolink": ("mask", "polygons"),
}


@dataclass(frozen=True)
class Plan:
    """What Submit will run: ``operation`` (None when nothing can run) and, if so, why not."""

    operation: str | None
    reason: str = ""

    @property
    def label(self) -> str:
        return {"inpaint": "Inpaint", "reposition": "Reposition", "edit": "Edit"}.get(self.operation or "", "Submit")


#: Whether a dialect's ``edit`` of an uploaded image takes a mask (the proxies' /submit/edits does not).
EDIT_TAKES_MASK = {"mjproxy": False, "newapi": False, "acedata": True, "evolink": True}


def edit_takes_mask(client: Any) -> bool:
    """The dialect's own answer when it gives one, else what PROTOCOLS.md says."""
    declared = getattr(getattr(client, "_dialect", None), "edit_takes_mask", None)
    return bool(declared) if declared is not None else EDIT_TAKES_MASK.get(client.dialect, False)


def _can_inpaint(task: Task | None, operations: frozenset[str]) -> tuple[bool, str]:
    if task is None:
        return False, "this image comes from no task"
    if "inpaint" in operations:
        return True, ""
    if "modal" in operations:
        if "vary_region" in task.action_names:
            return True, ""
        return False, "Vary (Region) is offered only on an upscaled image: upscale it (U1–U4) first"
    return False, "the dialect has no inpaint"


def plan(mode: str, task: Task | None, operations: frozenset[str], dialect: str, mask_edit: bool) -> Plan:
    """The operation for ``mode`` ("inpaint" or "reposition") on this dialect, or the reason there is none.

    ``mask_edit``: the dialect's edit of an uploaded image takes a mask.
    """
    if mode == "inpaint":
        ok, why = _can_inpaint(task, operations)
        if ok:
            return Plan("inpaint")
        if "edit" in operations and mask_edit:
            return Plan("edit")
        return Plan(None, f"{dialect}: cannot inpaint ({why}) and its edit of an uploaded image takes no mask")
    if task is not None and "reposition" in operations:
        return Plan("reposition")
    if "edit" in operations:
        return Plan("edit")  # the composite, with the empty area's mask where the dialect takes one
    why = "this image comes from no task" if task is None else "the dialect has no canvas reposition"
    return Plan(None, f"{dialect}: cannot reposition ({why}) and has no edit of an uploaded image; evolink has both")


def check_prompt(prompt: str | None, operation: str) -> str | None:
    """Inpaint may keep the task's prompt; reposition and edit need one."""
    text = (prompt or "").strip()
    if not text and operation != "inpaint":
        raise ValidationError(f"prompt: {operation} needs a prompt describing what to paint", field="prompt")
    return text or None


def payload(editor: EditorHost, dialect: str) -> dict[str, Any]:
    """The wire fragment ``dialect`` would carry for the editor's current edit.

    Inpaint mode: the mask field (``maskBase64`` data URL for mjproxy/newapi, ``mask`` base64
    PNG for acedata, ``mask.areas`` polygons for evolink).  Reposition mode: evolink's
    ``canvas`` and ``img_pos``; for the dialects without canvas edits, the composite image
    (and the mask of its empty area where their edit takes a mask), as an edit sends them.
    """
    if dialect not in MASK_WIRE:
        raise ValidationError(f"dialect: {dialect!r} is not one of {', '.join(MASK_WIRE)}", field="dialect")
    field, fmt = MASK_WIRE[dialect]
    if editor.mode == "reposition":
        if dialect == "evolink":
            (cw, ch), (x, y, w, h) = editor.canvas_size, editor.image_box
            return {"canvas": {"width": cw, "height": ch}, "img_pos": {"width": w, "height": h, "x": x, "y": y}}
        found: dict[str, Any] = {"image": images.to_data_url(editor.composite())}
        if EDIT_TAKES_MASK[dialect]:
            mask = images.encode_mask(editor.fill_mask(), fmt)
            found[field] = {"areas": mask} if fmt == "polygons" else mask
        return found
    mask = images.encode_mask(images.as_mask(editor.mask(), editor.image_size), fmt)
    return {field: {"areas": mask} if fmt == "polygons" else mask}


class SubmitMixin(EditorHost):
    """Submit, results and another round (a CanvasEditor mixin; state lives on the editor)."""

    def plan_for(self, mode: str | None = None) -> Plan:
        """What Submit runs in ``mode`` (default: the current one) on this client's dialect."""
        return plan(
            mode or self.mode, self.task, self.client.operations, self.client.dialect, edit_takes_mask(self.client)
        )

    def _unsupported(self, mode: str, plan: Plan) -> UnsupportedOperation:
        error = UnsupportedOperation(self.client.dialect, mode)
        error.args = (plan.reason,)
        return error

    def payload(self, dialect: str | None = None) -> dict[str, Any]:
        """What ``dialect`` (default: the client's) would carry for this edit; see ``_editor_submit``."""
        return payload(self, dialect or self.client.dialect)

    def submit(self, prompt: str | None = None) -> Job:
        """Send the edit (inpaint, reposition or edit, as the mode and dialect allow) with live progress."""
        image = self._require_image()
        chosen = self.plan_for()
        if chosen.operation is None:
            raise self._unsupported(self.mode, chosen)
        op = chosen.operation
        text = check_prompt(self.controls.prompt.value if prompt is None else prompt, op)
        task, index = self.task, self.index
        run: Callable[[AsyncClient], Awaitable[Task]]
        if self.mode == "inpaint":
            mask = self.mask()
            images.as_mask(mask, image.size)  # an empty mask is refused here, before anything is sent
            if op == "inpaint":
                assert task is not None  # plan() offers inpaint only on a task's image
                run = lambda c: c.inpaint(task, mask, text, index=index)  # noqa: E731
            else:
                assert text is not None  # check_prompt() refuses an edit without a prompt
                run = lambda c: c.edit(image, mask, text)  # noqa: E731
        else:
            canvas, box = self.canvas_size, self.image_box
            if box == (0, 0, *canvas):
                raise ValidationError(
                    "canvas: nothing to fill; make the canvas larger or move or scale the image", field="canvas"
                )
            assert text is not None  # check_prompt() refuses a reposition or an edit without a prompt
            if op == "reposition":
                assert task is not None  # plan() offers reposition only on a task's image
                run = lambda c: c.reposition(task, canvas, box, text, index=index)  # noqa: E731
            else:
                composite, empty = images.compose_reposition(image, canvas, box)
                fill = empty if edit_takes_mask(self.client) else None  # the proxies take the composite alone
                run = lambda c: c.edit(composite, fill, text)  # noqa: E731
        label = f"{op} · {text or (task.prompt if task else '') or 'edit'}"
        self.last_job = self.progress.start(label, run, on_done=self._job_done, client=self.client)
        self._say(f"Submitted: {op} on {self.client.dialect}.")
        return self.last_job

    def on_result(self, callback: Callable[[Task], Any], remove: bool = False) -> None:
        """Call ``callback(task)`` with each finished edit (after it is shown beside the source);
        ``remove=True`` unregisters it.  A callback may return an awaitable; an exception it
        raises is shown in the status line."""
        self._result_event.register(callback, remove)

    def _job_done(self, task: Task) -> Any:
        with ui_lock:
            self.result = task
            self._say(f"Done: task {task.id}. The result is beside the source; “Continue from result” edits it next.")
        return self._show_result(task)

    async def _show_result(self, task: Task) -> None:
        """Fetch the result (the kernel does: bytes, never a URL) and show it beside the canvas."""
        try:
            downloaded = await self.client.download(task)
        except Exception as exc:
            with ui_lock:
                self._say(f"Done: task {task.id}, but its image could not be fetched: {plain_reason(exc)}", error=True)
            raise
        whole = montage(downloaded) if isinstance(downloaded, list) else downloaded
        picture = images.thumbnail_png(whole, 1024)
        c = self.controls
        with ui_lock:
            if self.result is task:  # a newer result wins
                c.result_image.value = picture
                c.result_pick.layout.display = None if result_count(task) > 1 else "none"
                c.result_pick.value = 0
                c.result_panel.layout.display = None
                c.edit_result.layout.display = None
        await self._result_event.afire(task, on_error=lambda exc: self._say(plain_reason(exc), error=True))

    def continue_from_result(self, index: int | None = None) -> Handle | None:
        """Edit the last finished result next: it replaces the source on the canvas, with a fresh mask.

        ``index``: which image of a result with several (a grid of four), 0-based; default: the
        one picked under the result (the first).  The before/after panel closes.

        Returns:
            A Handle to await while the image downloads (None when it was loaded at once).
        Raises:
            ValidationError: no finished edit yet, or ``index`` out of range.
        """
        if self.result is None:
            raise ValidationError("result: no finished edit yet", field="result")
        result = self.result
        count = result_count(result)
        if index is None:
            index = self.controls.result_pick.value if count > 1 else None
        elif not (isinstance(index, int) and 0 <= index < max(count, 1)):
            raise ValidationError(f"index: {index!r} is not allowed; use 0–{max(count, 1) - 1}", field="index")
        handle = self.load(result, index=index if count > 1 else None)
        self.controls.result_panel.layout.display = "none"
        return handle


def result_count(task: Task) -> int:
    """How many images a result holds: 4 for a grid, the separate images, else 1."""
    if len(task.image_urls) > 1:
        return len(task.image_urls)
    return 4 if any(name in task.action_names for name in ("U1", "U2", "U3", "U4")) else 1
