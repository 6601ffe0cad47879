"""LineageView: how a result was reached — the root imagine, then every follow-up and edit, as a tree.

The tree comes from ``mjnb.lineage(task, client=…)`` (the journal's parents, and the server's
parent fields where they exist): ``LineageNode(task, action, children)``.  Each node is a
thumbnail fetched by the kernel; each edge carries its action (U2, Vary Region, Reposition…).
The tree grows left to right: a node, then its children stacked beside it.  Clicking a node
opens its task in the Gallery.
"""

from __future__ import annotations

import html
import inspect
from typing import Any, Callable

import ipywidgets as widgets
import traitlets

from .._models import Task
from ._gallery import Gallery
from ._progress import plain_reason
from ._runner import Handle, as_async_client, client_for, close_clients, default_client, spawn, ui_lock
from ._style import classes, stylesheet

__all__ = ["LineageView", "edge_label"]

_THUMB_PX = 96


def edge_label(action: str | None) -> str:
    """The caption of an edge, as the Gallery's buttons say it: ``U2``, ``Vary (Region)``, ``Reroll``."""
    from .._display import action_text
    from .._models import ACTION_LABELS, Action

    if not action:
        return "follow-up"
    return action_text(Action(action, ACTION_LABELS.get(action, action.replace("_", " ").capitalize())))


def _walk(node: Any) -> list[Any]:
    found, todo = [], [node]
    while todo:
        current = todo.pop(0)
        found.append(current)
        todo.extend(current.children)
    return found


class LineageView(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Thumbnails of a result's family tree, the action on each edge; click a node to open it.

    >>> mjnb.LineageView(task)          # from the root imagine to every follow-up the journal knows

    Args:
        task: any task of the tree (the tree is found from its root).
        client: the client whose journal and service are read (default: one for the task's dialect).
        gallery: where a clicked node opens (default: the view's own Gallery, under the tree).
        tree: a ``LineageNode`` already built (default: ``mjnb.lineage(task, client=client)``).

    Traits: ``selected`` (the Task of the last clicked node).  Events: ``on_open(callback)``.
    ``loading`` is the Handle of the tree's loading (awaitable; gives the root node).
    """

    selected = traitlets.Instance(Task, allow_none=True)

    def __init__(
        self, task: Task, client: Any = None, *, gallery: Gallery | None = None, tree: Any = None, **kw: Any
    ) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"task: expected a mjnb.Task, got {type(task).__name__}")
        self.task = task
        self._owned: list[Any] = []  # clients the view made: closed with it
        self.closing: list[Handle] = []
        self.client = as_async_client(client, self._owned) or default_client(task.dialect, owned=self._owned)
        self._other_clients: dict[str, Any] = {}
        self._open_handlers = widgets.CallbackDispatcher()
        self._own_gallery = gallery is None
        self.gallery = gallery if gallery is not None else Gallery(client=self.client)
        self.root: Any = None
        self.nodes: dict[str, widgets.VBox] = {}  # task id -> its node widget
        self.tree_box = widgets.VBox([widgets.HTML("<i>finding the lineage…</i>")])
        self.message = classes(widgets.HTML(""), "mjnb-message")
        children = [stylesheet(), self.tree_box, self.message]
        if self._own_gallery:
            self.gallery.layout.display = "none"
            children.append(self.gallery)
        super().__init__(children, **kw)
        classes(self, "mjnb-lineage")
        self.loading: Handle = spawn(lambda: self._load(tree))

    # -- events ------------------------------------------------------------------------------------
    def on_open(self, callback: Callable[[Task], Any], remove: bool = False) -> None:
        """Call ``callback(task)`` when a node is clicked (``remove=True`` unregisters)."""
        self._open_handlers.register_callback(callback, remove=remove)

    def open_task(self, task: Task) -> Handle:
        """Open ``task`` in the Gallery; awaitable."""
        with ui_lock:
            self.selected = task
            self.gallery.layout.display = None
        handle = self.gallery.show(task)
        self._open_handlers(task)
        return handle

    # -- building -----------------------------------------------------------------------------------
    async def _load(self, tree: Any) -> Any:
        if tree is None:
            from .._lineage import lineage

            try:
                found = lineage(self.task, client=self.client)
                tree = await found if inspect.isawaitable(found) else found
            except Exception as exc:
                with ui_lock:
                    self.tree_box.children = ()
                    self.message.value = html.escape(f"Could not find the lineage: {plain_reason(exc)}", quote=False)
                raise
        self.root = tree
        with ui_lock:
            self.tree_box.children = (self._branch(tree),)
            total = len(self.nodes)
            self.message.value = html.escape(
                f"{total} task{'s' if total != 1 else ''} from the root {tree.task.kind or 'task'}.", quote=False
            )
        for node in _walk(tree):
            await self._thumbnail(node.task)
        return tree

    def _branch(self, node: Any) -> widgets.Widget:
        card = self._card(node.task)
        if not node.children:
            return card
        rows = [
            widgets.HBox(
                [
                    classes(
                        widgets.HTML(f"<span>→ {html.escape(edge_label(child.action))} →</span>"), "mjnb-lineage-edge"
                    ),
                    self._branch(child),
                ],
                layout=widgets.Layout(align_items="center"),
            )
            for child in node.children
        ]
        return widgets.HBox(
            [card, widgets.VBox(rows, layout=widgets.Layout(border_left="2px solid #ccc", padding="0 0 0 4px"))],
            layout=widgets.Layout(align_items="center"),
        )

    def _card(self, task: Task) -> widgets.VBox:
        picture = widgets.Image(
            format="png", layout=widgets.Layout(width=f"{_THUMB_PX}px", height=f"{_THUMB_PX}px", object_fit="contain")
        )
        button = widgets.Button(
            description=f"{task.kind or 'task'}",
            tooltip=f"Open {task.id} in the Gallery",
            layout=widgets.Layout(width=f"{_THUMB_PX + 8}px"),
        )
        button.on_click(lambda _: self.open_task(task))
        status = "" if task.succeeded else f"<br><small>{html.escape(task.status.value)}</small>"
        caption = widgets.HTML(f"<small><code>{html.escape(task.id[:12])}</code></small>{status}")
        card = classes(
            widgets.VBox(
                [picture, button, caption],
                layout=widgets.Layout(align_items="center", border="1px solid #ddd", padding="2px", margin="2px"),
            ),
            "mjnb-lineage-node",
        )
        if task.id == self.task.id:
            card.add_class("mjnb-lineage-current")
        self.nodes[task.id] = card
        return card

    async def _thumbnail(self, task: Task) -> None:
        from .. import images

        if not task.succeeded or not (task.image_url or task.image_urls):
            return
        try:
            picture = await client_for(self.client, task.dialect, self._other_clients).download(task)
        except Exception as exc:  # one missing thumbnail must not hide the tree: say so on its node
            with ui_lock:
                self.nodes[task.id].children[1].tooltip = f"no thumbnail: {plain_reason(exc)}"
            return
        whole = picture[0] if isinstance(picture, list) else picture  # separate images: the first stands for all
        with ui_lock:
            self.nodes[task.id].children[0].value = images.thumbnail_png(whole, 2 * _THUMB_PX)

    def close(self) -> None:
        """Close the view (and its own Gallery) and the AsyncClients it made."""
        if not self.loading.done():
            self.loading.cancel()
        if self._own_gallery:
            self.gallery.close()
        self.closing = close_clients(self._owned + list(self._other_clients.values()))
        self._other_clients = {}
        super().close()

    def __repr__(self) -> str:
        return f"LineageView(task={self.task.id!r}, nodes={len(self.nodes)})"
