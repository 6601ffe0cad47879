"""SweepGrid: a sweep's jobs as a live rows × columns grid, by two of its axes.

Every cell follows its task with ``client.wait(task, on_progress=…)`` as a job on the kernel's
loop (see ``_runner``): status, a progress bar, the in-progress preview, then the image, fetched
by the kernel.  Headers carry the axis values, as the rows and columns of a plotting library's
facet grid; a selector per further axis picks which of its values is shown.  Clicking a cell
opens its task in a Gallery with its follow-up actions; "Save sheet" writes
``sweep.contact_sheet()``.  Sweeps: ``client.sweep`` (Midjourney permutations, parameter grids).
"""

from __future__ import annotations

import html
import inspect
from pathlib import Path
from typing import Any, Callable

import ipywidgets as widgets
import traitlets

from .._errors import ValidationError
from .._models import Task, TaskStatus
from ._gallery import Gallery
from ._progress import FOLLOW_TIMEOUT, plain_reason
from ._runner import Handle, as_async_client, close_clients, spawn, ui_lock
from ._style import classes, stylesheet

__all__ = ["SweepGrid", "REPEAT_AXIS"]

#: The pseudo-axis of a sweep's repeats (``repeat=n``): shown when a cell was sent more than once.
REPEAT_AXIS = "repeat"
_NONE = ""
_CELL_PX = 180


def _status_words(task: Task) -> str:
    if task.status is TaskStatus.RUNNING and task.progress is not None:
        return f"running {task.progress}%"
    return {TaskStatus.SUCCEEDED: "done", TaskStatus.AWAITING_INPUT: "waiting for input"}.get(
        task.status, task.status.value
    )


class _Cell(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """One sweep cell: label, status, bar, preview then image; a click opens its task."""

    def __init__(self, sweep_cell: Any, label: str, open_task: Callable[[Task], Any]) -> None:
        self.sweep_cell = sweep_cell
        self.task: Task | None = sweep_cell.task
        self.following: Handle | None = None
        self._preview_url: str | None = None
        self.label = widgets.HTML(
            f"<small>{html.escape(label, quote=False)}</small>",
            layout=widgets.Layout(overflow="hidden", max_width=f"{_CELL_PX}px"),
        )
        self.label.tooltip = sweep_cell.prompt
        self.status = classes(widgets.Label("queued"), "mjnb-sweep-status")
        self.bar = widgets.IntProgress(value=0, min=0, max=100, layout=widgets.Layout(width=f"{_CELL_PX}px"))
        self.image = classes(
            widgets.Image(
                format="png",
                layout=widgets.Layout(
                    width=f"{_CELL_PX}px", height=f"{_CELL_PX}px", object_fit="contain", display="none"
                ),
            ),
            "mjnb-sweep-image",
        )
        self.open_button = classes(
            widgets.Button(
                description="Open",
                icon="external-link",
                disabled=True,
                layout=widgets.Layout(width="auto"),
                tooltip="Open in the Gallery with its follow-up actions",
            ),
            "mjnb-sweep-open",
        )
        self.open_button.on_click(lambda _: open_task(self.task) if self.task is not None else None)
        self.error = classes(
            widgets.HTML("", layout=widgets.Layout(display="none", max_width=f"{_CELL_PX}px")), "mjnb-progress-error"
        )
        super().__init__(
            [self.label, self.status, self.bar, self.image, self.error, self.open_button],
            layout=widgets.Layout(border="1px solid #ddd", padding="4px", align_items="center"),
        )
        classes(self, "mjnb-sweep-cell")
        if sweep_cell.task is None:
            self._failed(plain_reason(sweep_cell.error) if sweep_cell.error is not None else "not sent")

    def _failed(self, reason: str) -> None:
        with ui_lock:
            self.status.value = "error"
            self.bar.bar_style = "danger"
            self.error.value = html.escape(reason, quote=False)
            self.error.layout.display = None

    def update(self, task: Task) -> None:
        with ui_lock:
            self.task = task
            self.status.value = _status_words(task)
            self.open_button.disabled = False
            if task.succeeded:
                self.bar.value, self.bar.bar_style = 100, "success"
            elif task.done:
                self.bar.bar_style = "danger" if task.status is TaskStatus.FAILED else "warning"
            elif task.progress is not None:
                self.bar.value = max(0, min(100, task.progress))
        if task.done and not task.succeeded:
            self._failed(plain_reason(task))

    def show_picture(self, data: bytes) -> None:
        with ui_lock:
            self.image.value = data
            self.image.layout.display = None


class SweepGrid(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Compare a sweep's results: rows × columns by two chosen axes, each cell live.

    >>> sweep = client.sweep("a {red, blue} kite --s {50, 500}")
    >>> mjnb.SweepGrid(sweep)

    Args:
        sweep: a ``mjnb.Sweep`` (``cells`` with ``axes``/``prompt``/``task``/``error``/``repeat``, ``axes``,
            ``contact_sheet()``, ``client``).
        client: the client that follows the cells (default: ``sweep.client``); a sync Client is mirrored
            by an AsyncClient with its settings.
        gallery: where a clicked cell opens (default: the grid's own Gallery, under the grid).

    Traits: ``rows`` / ``columns`` (axis names, "" for none), ``fixed`` (further axes → the value shown).
    Events: ``on_open(callback)`` with the Task of a clicked cell.
    """

    rows = traitlets.Unicode(_NONE)
    columns = traitlets.Unicode(_NONE)
    fixed = traitlets.Dict()

    def __init__(self, sweep: Any, client: Any = None, *, gallery: Gallery | None = None, **kw: Any) -> None:
        self.sweep = sweep
        self._owned: list[Any] = []  # an AsyncClient made for a sync sweep: closed with the grid
        self.closing: list[Handle] = []
        self.client = as_async_client(client if client is not None else getattr(sweep, "client", None), self._owned)
        if self.client is None:
            raise ValidationError("client: the sweep has no client; pass client=", field="client")
        self.axes: dict[str, list[str]] = {name: [str(v) for v in values] for name, values in sweep.axes.items()}
        repeats = sorted({int(getattr(c, "repeat", 0) or 0) for c in sweep.cells})
        if len(repeats) > 1:
            self.axes[REPEAT_AXIS] = [str(r) for r in repeats]
        self._open_handlers = widgets.CallbackDispatcher()
        self._own_gallery = gallery is None
        self.gallery = gallery if gallery is not None else Gallery(client=self.client)
        self.cells = [_Cell(c, self._cell_label(c), self.open_task) for c in sweep.cells]
        names = list(self.axes)
        options = [("(none)", _NONE)] + [(n, n) for n in names]
        self.row_select = classes(widgets.Dropdown(options=options, description="Rows"), "mjnb-sweep-rows")
        self.column_select = classes(widgets.Dropdown(options=options, description="Columns"), "mjnb-sweep-columns")
        self.filter_box = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap"))
        self._filters: dict[str, widgets.Dropdown] = {}
        self.grid = widgets.GridBox([])
        self.save_path = classes(
            widgets.Text(value="./sweep-contact-sheet.png", description="Save to", layout=widgets.Layout(width="24em")),
            "mjnb-sweep-save-path",
        )
        self.save_button = classes(widgets.Button(description="Save sheet", icon="download"), "mjnb-sweep-save")
        self.save_button.on_click(lambda _: self._save_clicked())
        self.message = classes(widgets.HTML(""), "mjnb-message")
        children = [
            stylesheet(),
            widgets.HBox([self.row_select, self.column_select]),
            self.filter_box,
            self.grid,
            widgets.HBox([self.save_path, self.save_button], layout=widgets.Layout(align_items="center")),
            self.message,
        ]
        if self._own_gallery:
            self.gallery.layout.display = "none"
            children.append(self.gallery)
        super().__init__(children, **kw)
        classes(self, "mjnb-sweep")
        traitlets.link((self.row_select, "value"), (self, "rows"))
        traitlets.link((self.column_select, "value"), (self, "columns"))
        self.observe(self._axes_changed, names=["rows", "columns"])
        self.observe(lambda _: self._layout(), names="fixed")
        self.rows = names[1] if len(names) > 1 else _NONE
        self.columns = names[0] if names else _NONE
        self._axes_changed()
        self.following: list[Handle] = [self._follow(cell) for cell in self.cells if cell.task is not None]

    def _cell_label(self, sweep_cell: Any) -> str:
        parts = [f"{k}={v}" for k, v in sweep_cell.axes.items()]
        if REPEAT_AXIS in self.axes:
            parts.append(f"#{getattr(sweep_cell, 'repeat', 0)}")
        return " · ".join(parts) or sweep_cell.prompt

    # -- events ------------------------------------------------------------------------------------
    def on_open(self, callback: Callable[[Task], Any], remove: bool = False) -> None:
        """Call ``callback(task)`` when a cell is clicked (``remove=True`` unregisters)."""
        self._open_handlers.register_callback(callback, remove=remove)

    def open_task(self, task: Task) -> Handle:
        """Open ``task`` in the Gallery (with its follow-up actions); awaitable."""
        with ui_lock:
            self.gallery.layout.display = None
        handle = self.gallery.show(task)
        self._open_handlers(task)
        return handle

    # -- layout ------------------------------------------------------------------------------------
    def _axes_changed(self, _change: Any = None) -> None:
        shown = {self.rows, self.columns} - {_NONE}
        further = [name for name in self.axes if name not in shown]
        fixed = {name: self.fixed.get(name, self.axes[name][0]) for name in further}
        with ui_lock:
            self._filters = {}
            for name in further:
                select = classes(
                    widgets.Dropdown(
                        options=self.axes[name],
                        value=fixed[name],
                        description=name,
                        style={"description_width": "initial"},
                    ),
                    "mjnb-sweep-filter",
                )
                select.observe(lambda change, axis=name: self._fix(axis, change["new"]), names="value")
                self._filters[name] = select
            self.filter_box.children = tuple(self._filters.values())
        if fixed != self.fixed:
            self.fixed = fixed  # lays out through the observer
        else:
            self._layout()

    def _fix(self, axis: str, value: str) -> None:
        self.fixed = {**self.fixed, axis: value}

    def _value(self, cell: _Cell, axis: str) -> str:
        if axis == REPEAT_AXIS:
            return str(getattr(cell.sweep_cell, "repeat", 0))
        return str(cell.sweep_cell.axes.get(axis, ""))

    def cells_at(self, row: str | None, column: str | None) -> list[_Cell]:
        """The cells shown at row value ``row`` and column value ``column`` (None: that axis is unset)."""
        found = []
        for cell in self.cells:
            if any(self._value(cell, axis) != value for axis, value in self.fixed.items()):
                continue
            if self.rows and self._value(cell, self.rows) != row:
                continue
            if self.columns and self._value(cell, self.columns) != column:
                continue
            found.append(cell)
        return found

    def _header(self, text: str) -> widgets.HTML:
        header = widgets.HTML(
            f"<b>{html.escape(text, quote=False)}</b>", layout=widgets.Layout(align_self="center", overflow="hidden")
        )
        header.tooltip = text
        return classes(header, "mjnb-sweep-header")

    def _layout(self) -> None:
        row_values: list[str | None] = list(self.axes[self.rows]) if self.rows else [None]
        column_values: list[str | None] = list(self.axes[self.columns]) if self.columns else [None]
        children: list[widgets.Widget] = []
        with_row_headers = self.rows != _NONE
        if self.columns:
            if with_row_headers:
                children.append(
                    widgets.HTML(f"<small>{html.escape(self.rows)} ↓ · {html.escape(self.columns)} →</small>")
                )
            children += [self._header(f"{self.columns} = {v}") for v in column_values if v is not None]
        for row in row_values:
            if with_row_headers and row is not None:
                children.append(self._header(f"{self.rows} = {row}"))
            for column in column_values:
                found = self.cells_at(row, column)
                children.append(found[0] if len(found) == 1 else widgets.VBox(found))
        columns = len(column_values) + (1 if with_row_headers else 0)
        with ui_lock:
            self.grid.children = tuple(children)
            self.grid.layout = widgets.Layout(grid_template_columns=f"repeat({columns}, max-content)", grid_gap="6px")

    # -- following the cells ------------------------------------------------------------------------
    def _follow(self, cell: _Cell) -> Handle:
        return spawn(lambda: self._follow_cell(cell))

    async def _follow_cell(self, cell: _Cell) -> Task | None:
        from .. import images

        task = cell.task
        assert task is not None

        def progress(update: Task) -> None:
            cell.update(update)
            if update.preview_url and update.preview_url != cell._preview_url and not update.done:
                cell._preview_url = update.preview_url
                spawn(lambda: self._preview(cell, update))

        cell.update(task)
        try:
            if not task.done:
                task = await self.client.wait(
                    task, on_progress=progress, raise_on_failure=False, timeout=FOLLOW_TIMEOUT
                )
            cell.update(task)
            if task.succeeded:
                picture = await self.client.download(task)
                whole = picture[0] if isinstance(picture, list) else picture
                cell.show_picture(images.thumbnail_png(whole, 2 * _CELL_PX))
        except Exception as exc:
            cell._failed(plain_reason(exc))
            raise
        return task

    async def _preview(self, cell: _Cell, task: Task) -> None:
        from .. import images

        try:
            preview = await self.client.download(task.evolve(image_url=task.preview_url, image_urls=()))
        except Exception as exc:  # the final image follows; say why the preview is missing, on the cell
            with ui_lock:
                cell.status.tooltip = f"preview not shown: {plain_reason(exc)}"
            return
        whole = preview[0] if isinstance(preview, list) else preview
        if cell.task is not None and not cell.task.done:
            cell.show_picture(images.thumbnail_png(whole, 2 * _CELL_PX))

    # -- the contact sheet ----------------------------------------------------------------------------
    def save_sheet(self, path: str | Path | None = None) -> Handle:
        """Write ``sweep.contact_sheet()`` — the grid's rows and columns, labelled — as PNG; never overwrites.

        The path is checked at once; the sheet (which downloads every image) is made on the kernel's
        loop: ``await grid.save_sheet(…)`` gives the written Path.

        Raises:
            ValidationError: the path does not end in .png, its folder is missing, or the file exists.
        """
        target = Path(str(path or self.save_path.value).strip() or "sweep-contact-sheet.png").expanduser()
        if target.suffix.lower() != ".png":
            raise ValidationError(f"path: {target} must end with .png", field="path")
        if not target.parent.is_dir():
            raise ValidationError(f"path: folder {target.parent} does not exist", field="path")
        if target.exists():
            raise ValidationError(
                f"path: {target} already exists; choose another name (nothing was overwritten)", field="path"
            )
        layout = {"rows": self.rows or None, "cols": self.columns or None}
        if not set(v for v in layout.values() if v) <= set(self.sweep.axes):
            layout = {}  # the repeat pseudo-axis is ours: let the sweep lay out its repeats itself
        return spawn(lambda: self._write_sheet(target, layout))

    async def _write_sheet(self, target: Path, layout: dict[str, str | None]) -> Path:
        sheet = self.sweep.contact_sheet(**layout)
        if inspect.isawaitable(sheet):  # an AsyncSweep's sheet downloads on the client's loop
            sheet = await sheet
        try:
            with target.open("xb") as out:  # "x": a file that appeared meanwhile is not overwritten
                sheet.save(out, format="PNG")
        except OSError as exc:
            with ui_lock:
                self.message.value = f"<span class='mjnb-field-error'>{html.escape(str(exc), quote=False)}</span>"
            raise
        with ui_lock:
            self.message.value = html.escape(
                f"Saved the contact sheet to {target} ({sheet.width}×{sheet.height}).", quote=False
            )
        return target

    def _save_clicked(self) -> None:
        try:
            self.save_sheet()
        except ValidationError as exc:
            self.message.value = f"<span class='mjnb-field-error'>{html.escape(str(exc), quote=False)}</span>"
            return
        self.message.value = "making the contact sheet…"

    def close(self) -> None:
        """Stop following the cells, close the grid (and its own Gallery) and the client it made."""
        for handle in self.following:
            handle.cancel()
        if self._own_gallery:
            self.gallery.close()
        self.closing = close_clients(self._owned)
        super().close()

    def __repr__(self) -> str:
        return f"SweepGrid(cells={len(self.cells)}, rows={self.rows!r}, columns={self.columns!r})"
