"""Lineage: how a result was reached, from the root imagine through every follow-up and edit.

``mjnb.lineage(task)`` walks up the parent ids (the journal's, then the server's ``parent_id``) to the
root, then down through the journal's children of each node, and returns the tree of
:class:`LineageNode`.  The action on each edge (``U2``, ``vary_region``, ``reposition`` …) comes from
what the journal recorded for the child's submit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from ._errors import ValidationError
from ._models import Task, TaskStatus

if TYPE_CHECKING:
    from ._journal import Journal, JournalEntry

__all__ = ["LineageNode", "lineage"]


@dataclass
class LineageNode:
    """One task of a lineage tree.

    ``action`` is how it was made from its parent (``"imagine"`` at the root, ``"U2"``,
    ``"vary_region"``, ``"reposition"`` …); ``children`` are its follow-ups, oldest first.
    """

    task: Task
    action: str
    children: list[LineageNode] = field(default_factory=list)

    def walk(self) -> Iterator[tuple[int, LineageNode]]:
        """Every node with its depth (0 at the root), depth first, parents before children."""
        stack: list[tuple[int, LineageNode]] = [(0, self)]
        while stack:
            depth, node = stack.pop()
            yield depth, node
            stack.extend((depth + 1, child) for child in reversed(node.children))

    def find(self, task_id: str) -> LineageNode | None:
        """The node of ``task_id`` in this tree, or None."""
        return next((node for _, node in self.walk() if node.task.id == task_id), None)

    def __repr__(self) -> str:
        lines = [
            f"{'  ' * depth}{node.action} -> {node.task.id} ({node.task.status.value})" for depth, node in self.walk()
        ]
        return "\n".join(lines)


_EVOLINK_MODELS = {"upscale": "U", "variation": "V"}


def _action_of(entry: JournalEntry) -> str:
    """The follow-up a journaled submit ran, in the unified names (``U2``, ``V3``, ``vary_region``,
    ``pan_left``, ``reposition`` …), read from what the journal kept of the request."""
    meta = entry.meta if isinstance(entry.meta, dict) else {}
    for key in ("action", "modal"):
        if isinstance(meta.get(key), str):
            return str(meta[key])
    request = entry.request if isinstance(entry.request, dict) else {}
    if entry.op == "modal":  # proxy's second step: a mask means Vary (Region), else a custom zoom
        return "vary_region" if request.get("maskBase64") else "custom_zoom"
    if entry.op == "inpaint":
        return "vary_region"
    if entry.op != "action":
        return entry.op
    named = _from_custom_id(str(request.get("customId") or "")) or _from_acedata(str(request.get("action") or ""))
    return named or _from_evolink(request) or (entry.kind or entry.op).lower()


def _from_acedata(action: str) -> str | None:
    """AceData's ``upscale2`` → ``U2``, ``variation3`` → ``V3``; its other action names are already ours."""
    match = re.fullmatch(r"(upscale|variation)([1-4])", action)
    if match:
        return ("U" if match.group(1) == "upscale" else "V") + match.group(2)
    return action or None


def _from_evolink(request: dict[str, Any]) -> str | None:
    """EvoLink's ``mj-v7-upscale`` with ``image_number`` 1 (0-based) → ``U2``; ``mj-v7-pan`` → ``pan``."""
    model = str(request.get("model") or "")
    if not model.startswith("mj-"):
        return None
    kind = model.rsplit("-", 1)[-1]
    params = request.get("model_params")
    number = params.get("image_number") if isinstance(params, dict) else None
    if kind in _EVOLINK_MODELS and isinstance(number, int):
        return f"{_EVOLINK_MODELS[kind]}{number + 1}"
    if isinstance(params, dict) and isinstance(params.get("direction"), str) and kind == "pan":
        return f"pan_{params['direction']}"
    return kind


def _from_custom_id(custom: str) -> str | None:
    """``MJ::JOB::upsample::2::…`` → ``U2``; ``MJ::Inpaint::…`` → ``vary_region`` (proxy button ids)."""
    parts = custom.split("::")
    if len(parts) >= 4 and parts[1] == "JOB":
        kind, index = parts[2].lower(), parts[3]
        if kind == "upsample" and index.isdigit():
            return f"U{index}"
        if kind == "variation" and index.isdigit():
            return f"V{index}"
        if kind.startswith("reroll"):
            return "reroll"
        if kind.startswith("pan_"):
            return kind
    if "Inpaint" in custom:
        return "vary_region"
    if "Outpaint" in custom or "CustomZoom" in custom:
        return "zoom_out"
    return None


def _node(entry: JournalEntry | None, task: Task, action: str) -> LineageNode:
    if entry is not None:
        task = task.evolve(
            prompt=task.prompt or entry.prompt,
            parent_id=task.parent_id or entry.parent_id,
            journal_id=task.journal_id or entry.id,
        )
    return LineageNode(task, action)


def build_lineage(journal: Journal, task: Task, base_url: str | None = None) -> LineageNode:
    """The tree containing ``task`` from what ``journal`` holds (no server calls).

    ``base_url`` narrows lookups to one service (default: the task's own ``service``, then any).
    """
    service = base_url or task.service
    chain = journal.parent_chain(task.id, task.dialect, service) or journal.parent_chain(task.id, task.dialect)
    if chain:
        root_entry = chain[-1]
        top = root_entry.parent_id  # a parent the journal does not hold: the server named it
        root = _node(
            root_entry,
            root_entry.to_task() if root_entry.task_id != task.id else task,
            "imagine" if not root_entry.parent_id else _action_of(root_entry),
        )
        if top:
            above = LineageNode(Task(id=top, dialect=task.dialect, status=TaskStatus.SUCCEEDED), "?")
            above.children.append(root)
            root = above
    elif task.parent_id:
        root = LineageNode(Task(id=task.parent_id, dialect=task.dialect, status=TaskStatus.SUCCEEDED), "?")
        root.children.append(LineageNode(task, (task.kind or "follow-up").lower()))
        return root
    else:
        return LineageNode(task, "imagine")
    seen: set[str] = set()
    frontier = [root] if root.action != "?" else root.children[:]
    while frontier:
        node = frontier.pop()
        if node.task.id in seen:
            continue
        seen.add(node.task.id)
        for child in journal.children(node.task.id, task.dialect, service):
            if not child.task_id or child.state != "accepted":
                continue
            child_task = task if child.task_id == task.id else child.to_task()
            made = _node(child, child_task, _action_of(child))
            node.children.append(made)
            frontier.append(made)
    return root


def lineage(task: Task, client: Any = None) -> LineageNode:
    """The lineage tree of ``task``: from its root imagine through every follow-up and edit.

    Args:
        task: any task of the tree (a leaf, the root or in between).
        client: a Client or AsyncClient whose journal to read (default: the journal under
            ``MJNB_HOME``).

    Returns:
        The root :class:`LineageNode`; ``node.find(task.id)`` is ``task``'s own node.  A parent the
        journal does not hold (known only from the server's ``parent_id``) is a node with
        action ``"?"`` and only its id.

    Raises:
        ValidationError: ``task`` is not a Task, or there is no journal to read.
    """
    if not isinstance(task, Task):
        raise ValidationError(f"task: lineage() takes a Task, not {type(task).__name__}", field="task")
    journal = client.journal if client is not None else _default_journal()
    if journal is None:
        raise ValidationError("client: lineage() reads the journal and this client keeps none", field="client")
    return build_lineage(journal, task, client.base_url if client is not None else None)


def _default_journal() -> Journal:
    from ._config import mjnb_home
    from ._journal import Journal

    return Journal(mjnb_home() / "journal.sqlite")
