"""The journal: a SQLite file that records every submit before and after it is sent.

A row is written *before* a paid request leaves the machine (state ``sending``) and updated
when the answer comes (``accepted`` with the task id, ``rejected`` with the error, or
``uncertain`` when no answer proves what happened).  A kernel restart therefore loses no
paid task id, and an uncertain submit can be looked up instead of blindly resent.

No key is ever written: request bodies are stored, headers are not.  Large inline images
(data URLs, base64) are replaced by their length and SHA-256, so the file stays small.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ._models import Task, TaskStatus

__all__ = ["Journal", "JournalEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    dialect TEXT NOT NULL,
    base_url TEXT NOT NULL,
    op TEXT NOT NULL,
    path TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,           -- sending | accepted | rejected | uncertain
    task_id TEXT,
    kind TEXT,                     -- the server's action kind (UPSCALE …) once known
    parent_id TEXT,
    prompt TEXT,
    status TEXT,                   -- TaskStatus value, last seen
    progress INTEGER,
    image_url TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS submits_task ON submits(dialect, task_id);
"""

_INLINE_LIMIT = 256


def _shrink(value: Any) -> Any:
    """The request body with big inline images replaced by a fingerprint."""
    if isinstance(value, dict):
        return {k: _shrink(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shrink(v) for v in value]
    if isinstance(value, str) and len(value) > _INLINE_LIMIT and (value.startswith("data:") or " " not in value):
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        return f"<{len(value)} chars sha256:{digest}>"
    return value


@dataclass(frozen=True)
class JournalEntry:
    id: int
    created_at: float
    updated_at: float
    dialect: str
    base_url: str
    op: str
    path: str
    request: dict
    state: str
    task_id: str | None
    kind: str | None
    parent_id: str | None
    prompt: str | None
    status: str | None
    progress: int | None
    image_url: str | None
    error: str | None

    def to_task(self) -> Task:
        """The task as last seen (a QUEUED placeholder for a submit with no answer yet)."""
        status = TaskStatus(self.status) if self.status else TaskStatus.FAILED if self.state == "rejected" else TaskStatus.QUEUED
        return Task(
            id=self.task_id or f"journal-{self.id}",
            dialect=self.dialect,
            status=status,
            kind=self.kind or self.op.upper(),
            progress=self.progress,
            prompt=self.prompt,
            image_url=self.image_url,
            parent_id=self.parent_id,
            fail_reason=self.error,
            submitted_at=self.created_at,
            raw={"journal_id": self.id, "journal_state": self.state},
        )


class Journal:
    """A SQLite journal at ``path`` (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(submits)")}
            if "kind" not in columns:  # a journal written by an older mjnb
                db.execute("ALTER TABLE submits ADD COLUMN kind TEXT")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def _write(self, sql: str, args: tuple) -> int:
        with self._lock, self._connect() as db:
            return db.execute(sql, args).lastrowid or 0

    def record_sending(self, *, dialect: str, base_url: str, op: str, path: str, body: Any, parent_id: str | None, prompt: str | None) -> int:
        now = time.time()
        return self._write(
            "INSERT INTO submits (created_at, updated_at, dialect, base_url, op, path, request, state, parent_id, prompt)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?)",
            (now, now, dialect, base_url, op, path, json.dumps(_shrink(body), ensure_ascii=False), parent_id, prompt),
        )

    def record_accepted(self, entry_id: int, task: Task) -> None:
        self._write(
            "UPDATE submits SET state='accepted', task_id=?, kind=?, status=?, progress=?, updated_at=? WHERE id=?",
            (task.id, task.kind, task.status.value, task.progress, time.time(), entry_id),
        )

    def record_failed(self, entry_id: int, *, uncertain: bool, error: str) -> None:
        self._write(
            "UPDATE submits SET state=?, error=?, updated_at=? WHERE id=?",
            ("uncertain" if uncertain else "rejected", error, time.time(), entry_id),
        )

    def record_progress(self, task: Task) -> None:
        """Keep the last known status of a journaled task (no-op for tasks not submitted here)."""
        self._write(
            "UPDATE submits SET status=?, progress=?, kind=COALESCE(?, kind), image_url=COALESCE(?, image_url),"
            " error=COALESCE(?, error), updated_at=? WHERE dialect=? AND task_id=?",
            (task.status.value, task.progress, task.kind, task.image_url, task.fail_reason, time.time(), task.dialect, task.id),
        )

    @staticmethod
    def _where(dialect: str | None, text: str | None) -> tuple[str, list]:
        clauses, args = [], []
        if dialect:
            clauses.append("dialect = ?")
            args.append(dialect)
        if text:
            clauses.append("(prompt LIKE ? OR task_id LIKE ?)")
            args += [f"%{text}%", f"%{text}%"]
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def entries(self, *, dialect: str | None = None, limit: int = 100, offset: int = 0, text: str | None = None) -> list[JournalEntry]:
        """Newest first."""
        where, args = self._where(dialect, text)
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM submits{where} ORDER BY id DESC LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
        return [self._entry(r) for r in rows]

    def count(self, *, dialect: str | None = None, text: str | None = None) -> int:
        where, args = self._where(dialect, text)
        with self._connect() as db:
            return int(db.execute(f"SELECT COUNT(*) FROM submits{where}", args).fetchone()[0])

    def get(self, entry_id: int) -> JournalEntry | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM submits WHERE id = ?", (entry_id,)).fetchone()
        return self._entry(row) if row else None

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries(limit=-1))

    @staticmethod
    def _entry(row: sqlite3.Row) -> JournalEntry:
        data = dict(row)
        data["request"] = json.loads(data["request"])
        return JournalEntry(**data)
