"""One flat record per task, the same for ``Sweep.table()``, ``mjnb.to_pandas()`` and ``metadata.jsonl``.

Columns, in order: ``task_id``, ``status``, ``prompt``, ``final_prompt``, ``dialect``, ``service``,
``kind``, ``parent_id``, ``root_id``, ``sweep``, ``repeat``, ``seed``, ``width``, ``height``, ``cost``,
``cost_unit``, ``submitted_at``, ``finished_at`` (unix seconds), ``fail_reason``, ``journal_id``; then one
``param_<name>`` column per Midjourney parameter found in a prompt (canonical names: ``param_ar``,
``param_s`` …) and one ``axis_<name>`` column per sweep axis (from the sweep, or from the journal's
tags of a task submitted by a sweep).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from ._models import Task
from ._prompt import PARAMS

if TYPE_CHECKING:
    from ._journal import Journal, JournalEntry

__all__ = ["COLUMNS", "records", "to_dataframe", "entry_for", "params_of"]

COLUMNS = (
    "task_id",
    "status",
    "prompt",
    "final_prompt",
    "dialect",
    "service",
    "kind",
    "parent_id",
    "root_id",
    "sweep",
    "repeat",
    "seed",
    "width",
    "height",
    "cost",
    "cost_unit",
    "submitted_at",
    "finished_at",
    "fail_reason",
    "journal_id",
)
_ALIASES = {alias: p.name for p in PARAMS.values() for alias in (p.name, *p.aliases)}
_PARAM = re.compile(r"(?:^|\s)--([A-Za-z][\w.]*)((?:\s+(?!--)\S+)*)")


class _CellLike(Protocol):
    axes: dict[str, str]
    prompt: str
    repeat: int
    tags: dict[str, str]

    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str | None: ...


def params_of(prompt: str | None) -> dict[str, str]:
    """Each ``--param value`` of ``prompt`` by canonical name (flags as ``"true"``); tolerant of
    parameters mjnb does not know (a server's final prompt may add some), which keep their own name."""
    found: dict[str, str] = {}
    for match in _PARAM.finditer(prompt or ""):
        name = _ALIASES.get(match.group(1).lower(), match.group(1).lower())
        found[name] = match.group(2).strip() or "true"
    return found


def entry_for(journal: Journal | None, task: Task) -> JournalEntry | None:
    """The journal row of ``task``: by its journal id, else by its id on its service."""
    if journal is None:
        return None
    if task.journal_id is not None:
        entry = journal.get(task.journal_id)
        if entry is not None:
            return entry
    if task.service:
        return journal.by_task_id(task.dialect, task.service, task.id)
    return None


def root_id(journal: Journal | None, task: Task, entry: JournalEntry | None) -> str:
    """The id of the imagine (or upload) at the root of ``task``'s lineage, as far as it is known."""
    current, parent = task.id, task.parent_id or (entry.parent_id if entry else None)
    seen = {current}
    while parent and parent not in seen:
        seen.add(parent)
        current = parent
        up = journal.by_task_id(entry.dialect, entry.base_url, parent) if journal and entry else None
        parent, entry = (up.parent_id, up) if up is not None else (None, entry)
    return current


def _sweep_tags(entry: JournalEntry | None) -> dict[str, str]:
    meta = entry.meta if entry is not None else {}
    tags = meta.get("tags", meta) if isinstance(meta, dict) else {}
    return {k: str(v) for k, v in tags.items() if k in ("sweep", "cell", "repeat")} if isinstance(tags, dict) else {}


def _record(journal: Journal | None, task: Task | None, cell: _CellLike | None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    entry = entry_for(journal, task) if task is not None else None
    tags = dict(cell.tags) if cell is not None else _sweep_tags(entry)
    axes = dict(cell.axes) if cell is not None else json.loads(tags["cell"]) if "cell" in tags else {}
    if task is not None:
        prompt = task.prompt or (entry.prompt if entry else None)
        row.update(
            task_id=task.id,
            status=task.status.value,
            prompt=prompt,
            final_prompt=task.final_prompt,
            dialect=task.dialect,
            service=task.service or (entry.base_url if entry else None),
            kind=task.kind,
            parent_id=task.parent_id,
            root_id=root_id(journal, task, entry),
            cost=task.cost,
            cost_unit=task.cost_unit,
            submitted_at=task.submitted_at,
            finished_at=task.finished_at,
            fail_reason=task.fail_reason,
            journal_id=task.journal_id or (entry.id if entry else None),
        )
        if task.size:
            row["width"], row["height"] = task.size
    if cell is not None:
        row["prompt"] = row["prompt"] or cell.prompt
        row["status"] = cell.status if task is None else row["status"]
        row["fail_reason"] = row["fail_reason"] or cell.reason
    row["sweep"], row["repeat"] = tags.get("sweep"), int(tags["repeat"]) if "repeat" in tags else None
    params = params_of(row["prompt"])
    seed = params.get("seed") or (task.raw.get("seed") if task is not None else None)
    row["seed"] = int(seed) if isinstance(seed, (int, str)) and str(seed).isdigit() else None
    row.update({f"param_{k}": v for k, v in params.items()})
    row.update({f"axis_{k}": v for k, v in axes.items()})
    return row


def records(pairs: Sequence[tuple[Task | None, _CellLike | None]], *, journal: Journal | None) -> list[dict[str, Any]]:
    """One record per (task, sweep cell) pair, every record with the same keys in the same order.

    Args:
        pairs: a task and/or the sweep cell it belongs to (either may be None, not both).
        journal: where lineage (``root_id``) and a task's sweep tags are looked up; None skips both.

    Returns:
        A list of dicts (JSON-serialisable values), keys: :data:`COLUMNS`, then ``param_*``, then ``axis_*``.
    """
    rows = [_record(journal, task, cell) for task, cell in pairs]
    params = sorted({k for row in rows for k in row if k.startswith("param_")})
    axes: list[str] = []
    for row in rows:
        axes += [k for k in row if k.startswith("axis_") and k not in axes]
    keys = [*COLUMNS, *params, *axes]
    return [{k: row.get(k) for k in keys} for row in rows]


def to_dataframe(rows: list[dict[str, Any]]) -> Any:
    """``rows`` as a ``pandas.DataFrame`` with the columns in record order.

    Raises:
        ImportError: pandas is not installed (it is optional: ``pip install pandas``).
    """
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            "to_pandas() needs pandas, which mjnb does not install: pip install pandas "
            "(or use .table(), a list of dicts)"
        ) from exc
    columns = list(rows[0]) if rows else list(COLUMNS)
    return pandas.DataFrame(rows, columns=columns)
