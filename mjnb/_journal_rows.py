"""The journal's row writes shared by ``Journal`` and its closing: which columns a Task updates,
merging an answer into a row, durable updates that keep one visible row per task, and the
writes kept for later when another process holds the file locked."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any, Mapping

from ._errors import JournalError
from ._journal_schema import dump_json, safe_text
from ._journal_store import Store
from ._models import Task

__all__ = [
    "TRACKED",
    "JOURNAL_WINS",
    "Pending",
    "task_values",
    "said",
    "merge",
    "apply_values",
    "close_store",
    "write_sidecar",
]

_log = logging.getLogger("mjnb.journal")

#: Columns a fetched Task updates, in the order ``task_values`` returns them.
TRACKED = (
    "status",
    "raw_status",
    "progress",
    "kind",
    "image_url",
    "preview_url",
    "image_urls",
    "video_urls",
    "final_prompt",
    "error",
    "error_code",
    "cost",
    "cost_unit",
    "finished_at",
    "image_id",
    "prompt",
    "parent_id",
)
#: Of those, the ones a Task that does not say (None) leaves as they were.
_KEEP_WHEN_NONE = frozenset(TRACKED) - {"status", "raw_status", "progress"}
#: The journal's own values win over the server's echo (EvoLink echoes neither).
JOURNAL_WINS = frozenset({"prompt", "parent_id", "service"})


def task_values(task: Task) -> dict[str, Any]:
    """The tracked columns as a Task states them (None: the task does not say)."""
    return {
        "status": task.status.value,
        "raw_status": safe_text(task.raw_status),
        "progress": task.progress,
        "kind": safe_text(task.kind),
        "image_url": safe_text(task.image_url),
        "preview_url": safe_text(task.preview_url),
        "image_urls": dump_json(list(task.image_urls)) if task.image_urls else None,
        "video_urls": dump_json(list(task.video_urls)) if task.video_urls else None,
        "final_prompt": safe_text(task.final_prompt),
        "error": safe_text(task.fail_reason),
        "error_code": safe_text(task.error_code) if isinstance(task.error_code, str) else task.error_code,
        "cost": task.cost,
        "cost_unit": safe_text(task.cost_unit),
        "finished_at": task.finished_at if task.finished_at is not None else (time.time() if task.done else None),
        "image_id": safe_text(task.image_id),
        "prompt": safe_text(task.prompt),
        "parent_id": safe_text(task.parent_id),
    }


def said(task: Task) -> tuple[Any, ...]:
    """What a Task states about the tracked columns, cheaply comparable with the last answer."""
    return (
        task.status,
        task.raw_status,
        task.progress,
        task.kind,
        task.image_url,
        task.preview_url,
        task.image_urls,
        task.video_urls,
        task.final_prompt,
        task.fail_reason,
        task.error_code,
        task.cost,
        task.cost_unit,
        task.finished_at,
        task.image_id,
        task.prompt,
        task.parent_id,
    )


def merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    merged = {}
    for name in TRACKED:
        if name in JOURNAL_WINS:
            merged[name] = old[name] if old[name] is not None else new[name]
        elif name in _KEEP_WHEN_NONE and new[name] is None:
            merged[name] = old[name]
        elif name == "finished_at" and old[name] is not None:
            merged[name] = old[name]  # first seen final: a later fetch does not move it
        else:
            merged[name] = new[name]
    return merged


class Pending:
    """A durable write that could not be made (file locked); kept until it can."""

    def __init__(self, entry: int, values: dict[str, Any], dialect: str | None, task: Task | None) -> None:
        self.entry = entry
        self.values = values
        self.dialect = dialect
        self.task = task


def apply_values(store: Store, entry: int, values: Mapping[str, Any], wait: float | None = None) -> None:
    """UPDATE row ``entry`` with ``values`` (caller holds the lock); an accepted id supersedes its twins.

    Waits for another process's lock like a durable write, but commits without an fsync of its own
    (see ``_journal_store``: only the row before a submit must survive a power cut).
    """
    # The journal's own prompt, parent and service win over what the answer echoes (or omits).
    columns = ", ".join(f"{name} = COALESCE({name}, ?)" if name in JOURNAL_WINS else f"{name} = ?" for name in values)
    with store.transaction(durable=True, wait=wait, fsync=False) as db:
        cursor = db.execute(
            f"UPDATE submits SET {columns}, updated_at = ? WHERE id = ?", (*values.values(), time.time(), entry)
        )
        if cursor.rowcount == 0:
            raise JournalError(f"journal: no entry {entry} in {store.path}", journal_id=entry)
        if values.get("state") == "accepted":
            _supersede_twins(db, entry)


def _supersede_twins(db: sqlite3.Connection, entry: int) -> None:
    """Keep one visible row per task: earlier rows of the same service with this id hand over to ``entry``."""
    row = db.execute("SELECT dialect, base_url, service, task_id FROM submits WHERE id = ?", (entry,)).fetchone()
    twins = db.execute(
        "SELECT * FROM submits WHERE dialect = ? AND task_id = ? AND id != ? AND state != 'superseded'"
        " AND (base_url = ? OR service = ?) ORDER BY id",
        (row["dialect"], row["task_id"], entry, row["base_url"], row["service"]),
    ).fetchall()
    for twin in twins:
        db.execute(
            "UPDATE submits SET parent_id = COALESCE(parent_id, ?), prompt = COALESCE(prompt, ?),"
            " nonce = COALESCE(nonce, ?), fingerprint = COALESCE(fingerprint, ?), meta = COALESCE(meta, ?)"
            " WHERE id = ?",
            (twin["parent_id"], twin["prompt"], twin["nonce"], twin["fingerprint"], twin["meta"], entry),
        )
        db.execute(
            "UPDATE submits SET state = 'superseded', superseded_by = ?, updated_at = ? WHERE id = ?",
            (entry, time.time(), twin["id"]),
        )


def close_store(store: Store, pending: dict[int, Pending], sidecar: Path) -> None:
    """Close at ``close()``, garbage collection or exit: queued jobs run, pending ids written or kept."""
    store.stop_thread()
    with store.lock:
        if store.closed:
            return
        store.drain()
        for entry, item in list(pending.items()):
            try:
                apply_values(store, entry, item.values)
                del pending[entry]
            except (sqlite3.Error, JournalError) as exc:
                _log.error("journal: entry %d still locked at close (%s); kept in %s", entry, exc, sidecar)
        if pending:
            write_sidecar(sidecar, list(pending.values()))
        store.close_connection()


def write_sidecar(sidecar: Path, items: list[Pending]) -> None:
    """Add ``items`` to ``<journal>-pending.json`` (another Journal on the same file may have written it)."""
    kept = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else []
    ours = {p.entry for p in items}
    kept = [k for k in kept if int(k["entry"]) not in ours]
    kept += [{"entry": p.entry, "dialect": p.dialect, "values": p.values} for p in items]
    sidecar.write_text(json.dumps(kept), encoding="utf-8")
