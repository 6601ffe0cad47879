"""History: a paged table of past tasks — this machine's journal or the service's own listing.

The journal (``client.tasks(local=True)``) works for every dialect and survives kernel
restarts; the service listing (``client.tasks()``) exists where the dialect has one
(midjourney-proxy list, new-api ``/api/mj/self``, AceData ``retrieve_batch``).  A click on a
row fetches the task fresh, makes it ``history.selected`` and fires ``on_open(task)``.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Callable

import ipywidgets as widgets
import traitlets

from .._errors import ValidationError
from .._models import Page, Task
from ._events import Event
from ._progress import plain_reason
from ._runner import Handle, as_async_client, client_for, close_clients, default_client, spawn, ui_lock
from ._style import classes, error_html, note_html, stylesheet

__all__ = ["History", "day_bounds"]

LOCAL, SERVER = "local", "server"


def day_bounds(since: dt.date | None, until: dt.date | None) -> tuple[float | None, float | None]:
    """Unix seconds from the start of ``since`` to the end of ``until`` (local time, inclusive)."""
    start = time.mktime(since.timetuple()) if since else None
    end = time.mktime((until + dt.timedelta(days=1)).timetuple()) if until else None
    return start, end


def _row_text(task: Task) -> str:
    when = dt.datetime.fromtimestamp(task.submitted_at).strftime("%Y-%m-%d %H:%M") if task.submitted_at else "—"
    progress = f" {task.progress}%" if task.progress is not None and not task.done else ""
    prompt = (task.prompt or "").replace("\n", " ")
    return f"{when} · {task.dialect} · {task.kind or '?'} · {task.status.value}{progress} · {prompt or task.id}"


class History(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Past tasks, newest first, with a text and date filter; a click reopens one.

    Trait: ``selected`` — the Task last opened (freshly fetched), or None; ``dlink`` it to a
    Gallery's ``task`` to show what is clicked.  Event: ``on_open(callback, remove=False)`` —
    ``callback(task)`` when a row is opened; with no callback registered the task is shown in
    a Gallery under the table.  ``page_size``: rows per page, 1–100.
    """

    selected = traitlets.Instance(Task, allow_none=True, help="the Task last opened")

    def __init__(
        self, client: Any = None, page_size: int = 10, *, on_open: Callable[[Task], Any] | None = None, **kw: Any
    ) -> None:
        if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= 100:
            raise ValidationError(
                f"page_size: {page_size!r} is not allowed; use a whole number from 1 to 100", field="page_size"
            )
        self._owned: list[Any] = []  # AsyncClients made here, closed with the widget
        self._client = as_async_client(client, self._owned) or default_client(owned=self._owned)
        self.page_size = page_size
        self.page = 1
        self.current: Page | None = None
        self.tasks: list[Task] = []
        self._open_event = Event()
        if on_open is not None:
            self._open_event.register(on_open)
        self._gallery: Any = None
        self._other_clients: dict[str, Any] = {}
        self.loading: Handle | None = None
        self.opening: Handle | None = None
        self._build()
        super().__init__([stylesheet(), self.toolbar, self.message, self.table, self.pager, self.gallery_area], **kw)
        classes(self, "mjnb-history")
        self._sync_source()
        self.refresh()

    def _build(self) -> None:
        self.source = classes(
            widgets.ToggleButtons(
                options=[("This machine", LOCAL), ("Service", SERVER)],
                value=LOCAL,
                tooltips=["Every task submitted from this machine (the journal)", "The service's own task list"],
                style={"button_width": "9.5em"},
            ),
            "mjnb-history-source",
        )
        self.filter_text = classes(
            widgets.Text(
                placeholder="filter: prompt or task id", continuous_update=False, layout=widgets.Layout(width="16em")
            ),
            "mjnb-history-filter",
        )
        self.since = classes(
            widgets.DatePicker(
                description="from", layout=widgets.Layout(width="13em"), style={"description_width": "3em"}
            ),
            "mjnb-history-since",
        )
        self.until = classes(
            widgets.DatePicker(
                description="to", layout=widgets.Layout(width="13em"), style={"description_width": "2em"}
            ),
            "mjnb-history-until",
        )
        self.refresh_button = classes(
            widgets.Button(description="Refresh", icon="refresh", layout=widgets.Layout(width="auto")),
            "mjnb-history-refresh",
        )
        for control in (self.source, self.filter_text, self.since, self.until):
            control.observe(lambda _: self.refresh(page=1), names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.toolbar = widgets.HBox(
            [self.source, self.filter_text, self.since, self.until, self.refresh_button],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.message = classes(widgets.HTML(""), "mjnb-message")
        self.table = widgets.VBox([])
        self.prev_button = classes(
            widgets.Button(
                description="Newer", icon="chevron-left", disabled=True, layout=widgets.Layout(width="auto")
            ),
            "mjnb-history-prev",
        )
        self.next_button = classes(
            widgets.Button(
                description="Older", icon="chevron-right", disabled=True, layout=widgets.Layout(width="auto")
            ),
            "mjnb-history-next",
        )
        self.prev_button.on_click(lambda _: self.refresh(page=self.page - 1))
        self.next_button.on_click(lambda _: self.refresh(page=self.page + 1))
        self.page_label = classes(widgets.Label(""), "mjnb-history-page")
        self.pager = widgets.HBox(
            [self.prev_button, self.page_label, self.next_button], layout=widgets.Layout(align_items="center")
        )
        self.gallery_area = widgets.VBox([])

    @property
    def client(self) -> Any:
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = as_async_client(value, self._owned)
        self._sync_source()

    def on_open(self, callback: Callable[[Task], Any], remove: bool = False) -> None:
        """Call ``callback(task)`` when a row is opened (``task`` fetched fresh; it may return an
        awaitable), instead of showing it in the Gallery under the table; ``remove=True`` unregisters."""
        self._open_event.register(callback, remove)

    def _sync_source(self) -> None:
        """Offer the service listing only where the dialect has one."""
        listable = "list" in self._client.operations
        with ui_lock:
            self.source.disabled = not listable
            self.source.tooltips = [
                "Every task submitted from this machine (the journal)",
                "The service's own task list" if listable else f"{self._client.dialect} has no task listing",
            ]
            if not listable and self.source.value != LOCAL:
                self.source.value = LOCAL

    # -- loading ---------------------------------------------------------------------------------
    def refresh(self, page: int | None = None) -> Handle:
        """Load a page (the current one by default); awaitable."""
        self.page = max(1, page or self.page)
        if self.loading is not None and not self.loading.done():
            self.loading.cancel()
        self.loading = spawn(self._load)
        return self.loading

    async def _load(self) -> Page:
        since, until = day_bounds(self.since.value, self.until.value)
        text = self.filter_text.value.strip() or None
        with ui_lock:
            self.message.value = "loading…"
        try:
            if self.source.value == SERVER:
                page: Page = await self.client.tasks(
                    page=self.page, page_size=self.page_size, since=since, until=until, text=text
                )
            elif since is None and until is None:
                page = await self.client.tasks(local=True, page=self.page, page_size=self.page_size, text=text)
            else:
                page = self._local_between(since, until, text)
        except Exception as exc:
            with ui_lock:
                self.message.value = error_html(plain_reason(exc))
            raise
        self._show_page(page)
        return page

    def _local_between(self, since: float | None, until: float | None, text: str | None) -> Page:
        """A journal page filtered by date (the journal is local and small: filter in memory)."""
        journal = self.client.journal
        if journal is None:
            return Page((), self.page, self.page_size, 0)
        found = [
            e.to_task()
            for e in journal.entries(limit=-1, text=text)
            if (since is None or e.created_at >= since) and (until is None or e.created_at < until)
        ]
        start = (self.page - 1) * self.page_size
        return Page(tuple(found[start : start + self.page_size]), self.page, self.page_size, len(found))

    def _show_page(self, page: Page) -> None:
        with ui_lock:
            self.current = page
            self.tasks = list(page.items)
            self.table.children = tuple(self._row(task) for task in page.items)
            pages = None if page.total is None else max(1, -(-page.total // page.page_size))
            self.page_label.value = f"page {page.page}" + (f" of {pages} · {page.total} tasks" if pages else "")
            self.prev_button.disabled = page.page <= 1
            self.next_button.disabled = (page.page >= pages) if pages else len(page.items) < page.page_size
            self.message.value = "" if page.items else "<i>No tasks match.</i>"

    def _row(self, task: Task) -> widgets.Button:
        text = _row_text(task)
        row = widgets.Button(
            description=text,
            tooltip=f"{text}\n{task.id}\nclick to reopen",
            layout=widgets.Layout(width="100%", justify_content="flex-start"),
        )
        classes(row, "mjnb-history-row", f"mjnb-status-{task.status.value}")
        row._mjnb_task = task
        row.on_click(lambda _: self.reopen(task))
        return row

    # -- reopening -------------------------------------------------------------------------------
    def reopen(self, task: Task) -> Handle:
        """Fetch ``task`` fresh from its service, make it ``selected`` and fire ``on_open``.

        Returns:
            A Handle; ``await`` it for the fresh Task (the saved one when the service could not answer).
        """
        self.opening = spawn(lambda: self._open(task))
        return self.opening

    async def _open(self, task: Task) -> Task:
        fresh = task
        if not task.id.startswith("journal-"):  # a submit the service never acknowledged has no id
            try:
                fresh = await client_for(self.client, task.dialect, self._other_clients).get(task.id)
            except Exception as exc:  # show what the journal knows, and say why it is not fresh
                with ui_lock:
                    self.message.value = note_html(f"Showing the saved record: {plain_reason(exc)}")
        with ui_lock:
            self.selected = fresh
            for row in self.table.children:
                (row.add_class if row._mjnb_task.id == fresh.id else row.remove_class)("mjnb-history-selected")
        if self._open_event:
            await self._open_event.afire(fresh, on_error=self._failed)
        else:
            shown = self._open_in_gallery(fresh)
            if shown is not None:
                await shown
        return fresh

    def _failed(self, exc: Exception) -> None:
        with ui_lock:
            self.message.value = error_html(plain_reason(exc))

    def _open_in_gallery(self, task: Task) -> Any:
        from ._gallery import Gallery

        if self._gallery is None:
            self._gallery = Gallery(client=self.client)
            self.gallery_area.children = (self._gallery,)
        return self._gallery.show(task)

    def close(self) -> None:
        """Close the table, its Gallery and the AsyncClients it made."""
        if self._gallery is not None:
            self._gallery.close()
        self.closing = close_clients(self._owned + list(self._other_clients.values()))  # awaitable
        self._other_clients.clear()
        super().close()

    def __repr__(self) -> str:
        return f"History(source={self.source.value!r}, page={self.page}, rows={len(self.tasks)})"
