"""The journal's table, its schema versions and migrations, and the row type (``JournalEntry``).

Schema versions live in ``PRAGMA user_version``.  Version 0 is the unversioned table written by
mjnb before versioning (with or without the ``kind`` column); each later version adds columns
only, so a migration never rewrites a row and an older journal opens in place.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Mapping

from ._errors import JournalError
from ._models import Task, TaskStatus

__all__ = ["SCHEMA_VERSION", "COLUMNS", "JournalEntry", "migrate", "shrink", "safe_text", "dump_json"]

#: The version this mjnb writes.  Bump it and add a step to ``_STEPS`` to add columns.
SCHEMA_VERSION = 1

#: Every column of ``submits`` in this version, with its SQL type.  ``error_code`` has no type on
#: purpose: SQLite then keeps an int code an int and a text code text.
COLUMNS: dict[str, str] = {
    "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "created_at": "REAL NOT NULL",
    "updated_at": "REAL NOT NULL",
    "dialect": "TEXT NOT NULL",
    "base_url": "TEXT NOT NULL",
    "op": "TEXT NOT NULL",
    "path": "TEXT NOT NULL",
    "request": "TEXT NOT NULL",
    "state": "TEXT NOT NULL",  # sending | accepted | rejected | uncertain | superseded
    "task_id": "TEXT",
    "kind": "TEXT",
    "parent_id": "TEXT",
    "prompt": "TEXT",
    "status": "TEXT",
    "progress": "INTEGER",
    "image_url": "TEXT",
    "error": "TEXT",
    # version 1
    "service": "TEXT",
    "nonce": "TEXT",
    "fingerprint": "TEXT",
    "meta": "TEXT",
    "final_prompt": "TEXT",
    "preview_url": "TEXT",
    "cost": "REAL",
    "cost_unit": "TEXT",
    "submitted_at": "REAL",
    "finished_at": "REAL",
    "raw_status": "TEXT",
    "error_code": "",
    "image_urls": "TEXT",
    "video_urls": "TEXT",
    "image_id": "TEXT",
    "superseded_by": "INTEGER",
}

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS submits_task ON submits(dialect, task_id)",
    "CREATE INDEX IF NOT EXISTS submits_fingerprint ON submits(fingerprint)",
    "CREATE INDEX IF NOT EXISTS submits_parent ON submits(parent_id)",
    "CREATE INDEX IF NOT EXISTS submits_state ON submits(state)",
)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    present = {str(row[1]) for row in db.execute("PRAGMA table_info(submits)")}
    for name, sql_type in COLUMNS.items():
        if name not in present:  # ADD COLUMN cannot add a NOT NULL column without default: none are new
            db.execute(f"ALTER TABLE submits ADD COLUMN {name} {sql_type}".rstrip())


#: ``_STEPS[v]`` turns a version ``v - 1`` journal into version ``v``.
_STEPS = {1: _add_missing_columns}


def migrate(db: sqlite3.Connection) -> int:
    """Create or upgrade the table in place; returns the version found before (0 for a new or unversioned file).

    Runs in one ``BEGIN IMMEDIATE`` transaction, so two processes opening an old journal at once
    migrate it once.  Raises ``JournalError`` for a journal written by a newer mjnb.
    """
    if int(db.execute("PRAGMA user_version").fetchone()[0]) == SCHEMA_VERSION:
        return SCHEMA_VERSION  # the common case takes no write lock: opening never waits for a writer
    db.execute("BEGIN IMMEDIATE")
    try:
        found = int(db.execute("PRAGMA user_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            raise JournalError(
                f"journal: this file has schema version {found}, written by a newer mjnb; this mjnb "
                f"reads versions up to {SCHEMA_VERSION}. Upgrade mjnb or pass another journal= path."
            )
        exists = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='submits'").fetchone()
        if not exists:
            columns = ",\n    ".join(f"{name} {sql_type}".rstrip() for name, sql_type in COLUMNS.items())
            db.execute(f"CREATE TABLE submits (\n    {columns}\n)")
        else:
            for version in range(found + 1, SCHEMA_VERSION + 1):
                _STEPS[version](db)
        for statement in _INDEXES:
            db.execute(statement)
        if found != SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return found


_INLINE_LIMIT = 256


def shrink(value: Any) -> Any:
    """The request body with big inline images (data URLs, base64) replaced by length and SHA-256."""
    if isinstance(value, dict):
        return {k: shrink(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [shrink(v) for v in value]
    if isinstance(value, str) and len(value) > _INLINE_LIMIT and (value.startswith("data:") or " " not in value):
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return f"<{len(value)} chars sha256:{digest}>"
    return value


def safe_text(value: str | None) -> str | None:
    """``value`` as storable UTF-8: a lone surrogate (``"\\ud800"``) becomes its escape text."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def dump_json(value: Any) -> str:
    """JSON text; readable UTF-8 when possible, ASCII escapes (exact round trip) for lone surrogates."""
    text = json.dumps(value, ensure_ascii=False)
    return text if safe_text(text) is text else json.dumps(value)


_FINAL = frozenset(s.value for s in TaskStatus if s.is_final)


def _tuple(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()


@dataclass(frozen=True)
class JournalEntry:
    """One journaled submit, as stored.

    ``state`` is ``sending`` (written before the request left; no answer yet), ``accepted`` (the
    service gave ``task_id``), ``rejected`` (it refused: no job), ``uncertain`` (sent, outcome
    unknown: a job may exist) or ``superseded`` (the same task is shown by row ``superseded_by``).
    ``status`` is the task's last seen ``TaskStatus`` value.  Times are unix seconds.
    ``request`` is the stored body (big inline images shortened, never a header).
    """

    id: int
    created_at: float
    updated_at: float
    dialect: str
    base_url: str
    op: str
    path: str
    request: Any
    state: str
    task_id: str | None = None
    kind: str | None = None
    parent_id: str | None = None
    prompt: str | None = None
    status: str | None = None
    progress: int | None = None
    image_url: str | None = None
    error: str | None = None
    service: str | None = None
    nonce: str | None = None
    fingerprint: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    final_prompt: str | None = None
    preview_url: str | None = None
    cost: float | None = None
    cost_unit: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    raw_status: str | None = None
    error_code: str | int | None = None
    image_urls: tuple[str, ...] = ()
    video_urls: tuple[str, ...] = ()
    image_id: str | None = None
    superseded_by: int | None = None

    @property
    def finished(self) -> bool:
        """True when the task's last seen status is final (succeeded, failed, cancelled)."""
        return self.status in _FINAL

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> JournalEntry:
        """The entry for a ``SELECT * FROM submits`` row."""
        data = dict(row)
        data["request"] = json.loads(data["request"])
        data["meta"] = json.loads(data["meta"]) if data.get("meta") else {}
        data["image_urls"] = _tuple(data.get("image_urls"))
        data["video_urls"] = _tuple(data.get("video_urls"))
        return cls(**data)

    def to_task(self) -> Task:
        """The task as last seen, with ``service``, ``journal_id``, cost, parent and prompts.

        A row without a task id is not a fetchable task: its id is ``"journal:<n>"`` and its
        ``raw_status`` says what it is (``"sending"``, ``"uncertain"``; ``"rejected"`` is FAILED).
        """
        if self.status:
            status = TaskStatus(self.status)
        elif self.state == "rejected":
            status = TaskStatus.FAILED
        else:
            status = TaskStatus.QUEUED
        raw_status = self.raw_status
        if not self.task_id or self.state in ("sending", "uncertain", "rejected"):
            raw_status = self.state
        return Task(
            id=self.task_id or f"journal:{self.id}",
            dialect=self.dialect,
            status=status,
            kind=self.kind or self.op.upper(),
            raw_status=raw_status,
            progress=self.progress,
            prompt=self.prompt,
            final_prompt=self.final_prompt,
            image_url=self.image_url,
            preview_url=self.preview_url,
            image_urls=self.image_urls,
            fail_reason=self.error,
            error_code=self.error_code,
            parent_id=self.parent_id,
            image_id=self.image_id,
            submitted_at=self.submitted_at or self.created_at,
            finished_at=self.finished_at,
            video_urls=self.video_urls,
            cost=self.cost,
            cost_unit=self.cost_unit,
            service=self.service or self.base_url,
            journal_id=self.id,
            raw={"journal_id": self.id, "journal_state": self.state},
        )
