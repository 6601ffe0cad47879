"""The journal: a SQLite file that records every submit before and after it is sent.

A row is written *before* a paid request leaves the machine (state ``sending``) and updated
when the answer comes (``accepted`` with the task id, ``rejected`` with the error, or
``uncertain`` when no answer proves what happened).  A kernel restart therefore loses no
paid task id, and an uncertain submit can be looked up instead of blindly resent.

No key is ever written: request bodies are stored, headers are not.  Large inline images
(data URLs, base64) are replaced by their length and SHA-256, so the file stays small.

Cost: one kept connection in WAL mode; a progress update that changes nothing writes nothing,
one that does costs tens of µs (``synchronous=NORMAL``); the row written before a paid submit
is fsynced (``synchronous=FULL``), the answer's row is not (it survives a process or kernel
crash; see ``_journal_store`` for why that is enough).  ``bench/journal_overhead.py`` prints the figures.  An event
loop never waits for the disk: ``record_progress_nowait`` and ``submit`` hand the work to the
journal's writer thread.

If another process holds the file locked longer than ``timeout`` seconds: before a submit,
``record_sending`` raises ``JournalError`` (nothing was sent); after it, ``record_accepted``
keeps the id in memory, raises ``JournalError`` carrying the Task, and writes the id on a
later call, at ``close()`` or at exit (into ``<journal>-pending.json`` if the file is still
locked then; it is applied when the journal is next opened).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import sqlite3
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Mapping, TypeVar

from ._errors import JournalError, ValidationError
from ._journal_query import QueryMixin
from ._journal_rows import TRACKED, Pending, apply_values, close_store, merge, said, task_values, write_sidecar
from ._journal_schema import SCHEMA_VERSION, JournalEntry, dump_json, migrate, safe_text, shrink
from ._journal_store import Store
from ._models import Task

__all__ = ["Journal", "JournalEntry", "SCHEMA_VERSION"]

_log = logging.getLogger("mjnb.journal")
T = TypeVar("T")

#: Retries of a pending write made on the way to another call wait at most this long for a lock.
_RETRY_WAIT = 0.05


class Journal(QueryMixin):
    """A SQLite journal at ``path`` (created on first use; an older schema is migrated in place).

    Args:
        path: the file (its folder is created).  mjnb's default is ``$MJNB_HOME/journal.sqlite``.
        timeout: seconds to wait for a lock held by another process before a write gives up.

    Thread-safe.  Close it with ``close()`` or ``with Journal(...) as journal:``; it is also
    closed when garbage-collected and at interpreter exit.

    Raises:
        JournalError: the file is from a newer mjnb, or cannot be opened as a journal.
    """

    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._store = Store(self.path, timeout)
        except sqlite3.Error as exc:
            raise JournalError(f"journal: cannot open {self.path}: {exc}") from exc
        self._pending: dict[int, Pending] = {}
        # (dialect, task id, service) → (journal id, the row's tracked columns, the Task's own fields then)
        self._seen: dict[tuple[str, str, str], tuple[int, dict[str, Any], tuple[Any, ...]]] = {}
        self._errors: list[BaseException] = []
        self._data_version = -1
        #: Progress updates skipped because nothing changed (for tests and the bench).
        self.skipped = 0
        try:
            with self._store.lock, self._store.mode(True, None):
                migrate(self._store.conn)
        except BaseException as exc:
            self._store.close_connection()
            if isinstance(exc, sqlite3.Error):
                raise JournalError(f"journal: cannot open {self.path}: {exc}") from exc
            raise
        self._finalizer = weakref.finalize(self, close_store, self._store, self._pending, self._sidecar)
        self._load_sidecar()

    def __repr__(self) -> str:
        state = "closed" if self._store.closed else "open"
        return f"Journal({str(self.path)!r}, {state})"

    @property
    def writes(self) -> int:
        """Write statements committed by this journal object (skipped updates are not written)."""
        return self._store.writes

    @property
    def pending(self) -> tuple[int, ...]:
        """Journal ids whose accepted id or failure is held in memory because the file was locked."""
        return tuple(self._pending)

    # -- life cycle ---------------------------------------------------------------------------
    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Run queued writes, write pending ids (waiting up to ``timeout``), close the connection.

        An id that still cannot be written goes to ``<journal>-pending.json`` and is applied at
        the next open.  Idempotent.  Raises JournalError for a queued write that failed.
        """
        self._finalizer()
        self._raise_errors()

    def flush(self) -> None:
        """Wait until every queued write (``record_progress_nowait``, ``submit``) has run.

        Raises:
            JournalError: a queued write failed (the first failure; the others are logged).
        """
        with self._locked():
            pass
        self._raise_errors()

    def _raise_errors(self) -> None:
        if self._errors:
            first, self._errors = self._errors[0], []
            raise JournalError(f"journal: a queued write failed: {first}") from first

    @property
    def _sidecar(self) -> Path:
        return self.path.with_name(self.path.name + "-pending.json")

    def _load_sidecar(self) -> None:
        if not self._sidecar.exists():
            return
        for item in json.loads(self._sidecar.read_text(encoding="utf-8")):
            entry = int(item["entry"])
            self._pending[entry] = Pending(entry, dict(item["values"]), item.get("dialect"), None)
        self._sidecar.unlink()
        with self._locked():  # written now when possible; else kept, and the sidecar rewritten at close
            pass

    # -- the writer thread --------------------------------------------------------------------
    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        """Run ``fn(*args, **kwargs)`` on the journal's writer thread, after every write queued before.

        For async callers: ``await asyncio.wrap_future(journal.submit(journal.record_sending, ...))``
        keeps the event loop free while the durable commit waits for the disk.

        Returns:
            A ``concurrent.futures.Future`` with ``fn``'s result or exception.
        """
        return self._store.submit(fn, *args, **kwargs)

    def record_progress_nowait(self, task: Task) -> None:
        """Queue ``record_progress(task)`` for the writer thread and return at once (no disk, no lock wait).

        Writes stay in order with the direct ones.  A failure is raised by the next ``flush()``
        or ``close()``.
        """
        try:
            self._store.submit_nowait(self._progress_job, task)
        except sqlite3.ProgrammingError as exc:
            raise JournalError(f"journal: {self.path} is closed") from exc

    def _progress_job(self, task: Task) -> None:
        try:
            self.record_progress(task)
        except BaseException as exc:  # nobody awaits this write: keep it for flush()/close()
            _log.warning("journal: progress of %s %s not written: %s", task.dialect, task.id, exc)
            self._errors.append(exc)

    # -- writes -------------------------------------------------------------------------------
    def _locked(self) -> Any:
        """The store's lock and connection, with pending writes retried first."""
        return _RetryingLock(self)

    def record_sending(
        self,
        *,
        dialect: str,
        base_url: str,
        op: str,
        path: str,
        body: Any,
        parent_id: str | None = None,
        prompt: str | None = None,
        service: str | None = None,
        nonce: str | None = None,
        fingerprint: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        """Write the row that precedes a paid submit, durably (fsynced).  Call it *before* sending.

        Args:
            dialect, base_url: where it goes; ``service`` the base URL or "embedded simulator".
            op, path, body: the operation, its path and JSON body (stored shortened, never headers).
            parent_id: the task a follow-up acts on; prompt: the user's prompt.
            nonce: the free-field nonce sent with the submit (for reconciliation).
            fingerprint: the caller's stable hash of service + op + final prompt + options + parent.
            meta: JSON-able extras (sweep id, axis values).

        Returns:
            The journal id (``entry``) to pass to ``record_accepted`` / ``record_failed``.

        Raises:
            JournalError: the row could not be written (e.g. the file is locked): do not send.
        """
        now = time.time()
        try:
            request = dump_json(shrink(body))
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"body: must be JSON-serialisable to be journaled ({exc})", field="body") from exc
        try:
            meta_text = dump_json(dict(meta)) if meta else None
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"meta: must be a JSON-serialisable mapping ({exc})", field="meta") from exc
        args = (
            now,
            now,
            dialect,
            base_url,
            op,
            path,
            request,
            safe_text(parent_id),
            safe_text(prompt),
            safe_text(service),
            safe_text(nonce),
            fingerprint,
            meta_text,
        )
        try:
            with self._locked():
                cursor = self._store.write(
                    "INSERT INTO submits (created_at, updated_at, dialect, base_url, op, path, request, state,"
                    " parent_id, prompt, service, nonce, fingerprint, meta)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?, ?, ?, ?, ?)",
                    args,
                    durable=True,
                )
                return int(cursor.lastrowid or 0)
        except sqlite3.Error as exc:
            raise JournalError(
                f"journal: could not record the {op} submit before sending it ({exc}); nothing was sent. "
                f"Another process may hold {self.path} locked: retry when it is free."
            ) from exc

    def record_accepted(self, entry: int, task: Task) -> None:
        """Record the task id the service gave to submit ``entry`` (committed, not fsynced); one visible row per task.

        When another row of the same service already holds ``task.id`` (midjourney-proxy: the
        action that opens a modal and the modal submit share an id), that row becomes
        ``superseded`` and this one keeps its parent, prompt, nonce, fingerprint and meta.

        Raises:
            JournalError: the id could not be written now.  ``err.task`` is the created job; the
                id is kept in memory and written on a later call, at close or at exit.
        """
        values = task_values(task)
        values.update(
            state="accepted",
            task_id=safe_text(task.id),
            service=safe_text(task.service),
            submitted_at=task.submitted_at or time.time(),
        )
        try:
            with self._locked():
                self._apply(entry, values)
                return
        except (sqlite3.Error, JournalError) as exc:
            self._pending[entry] = Pending(entry, values, task.dialect, task)
            if self._store.closed:  # no later call or close will write it: keep it for the next open
                write_sidecar(self._sidecar, [self._pending.pop(entry)])
            raise JournalError(
                f"journal: task {task.id} was created but its id could not be written to {self.path} ({exc}). "
                "It is kept (in memory; in the -pending.json beside the journal once closed) and written as soon "
                "as the file is free; err.task holds the task.",
                task=task,
                journal_id=entry,
            ) from exc

    def record_failed(self, entry: int, *, uncertain: bool, error: str) -> None:
        """Record that submit ``entry`` was refused (``uncertain=False``) or has an unknown outcome.

        Committed like ``record_accepted``; if the file is locked the failure is kept in memory and written later
        (the row reads as uncertain meanwhile: ``sending`` with no id), and a warning is logged.
        """
        values: dict[str, Any] = {"state": "uncertain" if uncertain else "rejected", "error": safe_text(error)}
        try:
            with self._locked():
                self._apply(entry, values)
        except (sqlite3.Error, JournalError) as exc:
            _log.warning("journal: failure of entry %d kept in memory (%s)", entry, exc)
            if entry not in self._pending:  # an accepted id waiting there is worth more
                self._pending[entry] = Pending(entry, values, None, None)

    def _apply(self, entry: int, values: Mapping[str, Any], wait: float | None = None) -> None:
        apply_values(self._store, entry, values, wait)
        self._seen.clear()  # cheap to rebuild; never stale after a row changes hands

    def record_progress(self, task: Task) -> int | None:
        """Keep the last known state of a journaled task; a fetch that changes nothing writes nothing.

        Written with ``synchronous=NORMAL`` (survives a crash of the process, not of the OS).

        Returns:
            The task's journal id, or None when the task was not submitted through this journal.
        """
        answer = said(task)
        key = (task.dialect, task.id, task.service or "")
        with self._locked() as db:
            if self._pending:
                for pending in self._pending.values():
                    if pending.dialect == task.dialect and pending.values.get("task_id") == task.id:
                        pending.values.update(merge(pending.values, task_values(task)))
                        return pending.entry
            seen = self._seen.get(key)
            if seen is not None and seen[2] == answer:  # the same answer as last time: nothing to do
                self.skipped += 1
                return seen[0]
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:  # another connection committed: what we saw may have moved
                self._seen.clear()
                self._data_version = version
                seen = None
            if seen is None:
                where, args = "dialect = ? AND task_id = ? AND state != 'superseded'", [task.dialect, task.id]
                if task.service:
                    where += " AND (service IS NULL OR service = ? OR base_url = ?)"
                    args += [task.service, task.service]
                row = db.execute(
                    f"SELECT id, {', '.join(TRACKED)} FROM submits WHERE {where} ORDER BY id DESC LIMIT 1", args
                ).fetchone()
                if row is None:
                    return None
                entry, old = int(row["id"]), {name: row[name] for name in TRACKED}
            else:
                entry, old = seen[0], seen[1]
            merged = merge(old, task_values(task))
            self._seen[key] = (entry, merged, answer)
            if merged == old:
                self.skipped += 1
                return entry
            # Only the changed columns: fewer bytes to the WAL, and indexed ones rewritten only when they change.
            changed = {name: merged[name] for name in TRACKED if merged[name] != old[name]}
            try:
                self._store.write(
                    f"UPDATE submits SET {''.join(f'{name} = ?, ' for name in changed)}updated_at = ? WHERE id = ?",
                    (*changed.values(), time.time(), entry),
                    durable=False,
                )
            except sqlite3.OperationalError as exc:  # locked by another process: never stall a fetch on it
                _log.warning("journal: progress of %s kept in memory until %s is free (%s)", task.id, self.path, exc)
                self._pending.setdefault(entry, Pending(entry, {}, task.dialect, None)).values.update(changed)
            return entry

    def resolve(self, journal_id: int, task_id: str) -> JournalEntry:
        """Record the task id of a ``sending``/``uncertain`` submit, found by hand or by reconciliation.

        The row becomes ``accepted`` (status unknown, so ``unfinished()`` and ``resume()`` follow
        it); another row already holding that id is superseded, as in ``record_accepted``.

        Returns:
            The updated entry.

        Raises:
            ValidationError: ``journal_id`` not a positive int or no such entry, a task id no service
                gives (empty, whitespace, ``/``…), the row already has another id, or another row of
                the same service already holds this id (a pasted wrong id would rewrite that row).
        """
        from .dialects._validate import checked_task_id

        if isinstance(journal_id, bool) or not isinstance(journal_id, int) or journal_id < 1:
            raise ValidationError(
                f"journal_id: a journal entry number (int >= 1), not {journal_id!r}", field="journal_id"
            )
        checked_task_id(task_id, "task_id")
        current = self.get(journal_id)
        if current is None:
            raise ValidationError(f"journal_id: no journal entry {journal_id} in {self.path}", field="journal_id")
        if current.task_id == task_id:
            return current  # already recorded: nothing changes (its status stays)
        if current.task_id:
            raise ValidationError(
                f"journal_id: entry {journal_id} already has task id {current.task_id!r}", field="journal_id"
            )
        holder = self.by_task_id(current.dialect, current.base_url, task_id)
        if holder is not None:
            raise ValidationError(
                f"task_id: {task_id!r} is already entry {holder.id}'s task ({holder.prompt!r}); "
                f"entry {journal_id} ({current.prompt!r}) must be another job",
                field="task_id",
            )
        with self._locked():
            self._apply(journal_id, {"state": "accepted", "task_id": safe_text(task_id)})
        resolved = self.get(journal_id)
        assert resolved is not None  # just written under the lock; rows are never deleted
        return resolved

    # -- pending writes -----------------------------------------------------------------------
    def _retry_pending(self, wait: float | None) -> None:
        """Write what is pending (caller holds the lock); ``wait`` caps the lock wait (None: timeout)."""
        for entry, pending in list(self._pending.items()):
            try:
                self._apply(entry, pending.values, wait)
            except sqlite3.OperationalError:
                return  # still locked: the next call tries again
            except (sqlite3.Error, JournalError) as exc:  # not a lock: kept for the sidecar
                _log.error("journal: pending entry %d cannot be written: %s", entry, exc)
                continue
            del self._pending[entry]
            _log.info("journal: pending entry %d written", entry)


class _RetryingLock:
    """``with journal._locked() as db``: the lock, queued jobs run, pending writes retried briefly.

    A plain class rather than ``@contextmanager``: it is on every call's path.
    """

    __slots__ = ("_journal",)

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def __enter__(self) -> sqlite3.Connection:
        journal, store = self._journal, self._journal._store
        store.lock.acquire()
        try:
            if store.closed:
                raise JournalError(f"journal: {journal.path} is closed")
            store.drain()
            if journal._pending:
                journal._retry_pending(_RETRY_WAIT)
        except BaseException:
            store.lock.release()
            raise
        return store.conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._journal._store.lock.release()
