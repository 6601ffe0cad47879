"""The journal's read side: listings, resume, reconcile, sweep resume, lineage and spend.

Every query filters by ``dialect`` and ``base_url`` when given.  ``base_url`` matches a row's
base URL or its ``service``, so ``"embedded simulator"`` finds the simulator's rows whatever
loopback port it had in an earlier process.  Rows marked ``superseded`` (a second row of one
task) are left out unless asked for by ``states``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ._errors import ValidationError
from ._journal_schema import JournalEntry
from ._models import TaskStatus

__all__ = ["QueryMixin", "STATES"]

#: Every value of ``JournalEntry.state``.
STATES = ("sending", "accepted", "rejected", "uncertain", "superseded")
_FINAL = tuple(s.value for s in TaskStatus if s.is_final)
_UNFINISHED = f"(state = 'accepted' AND (status IS NULL OR status NOT IN ({', '.join('?' * len(_FINAL))})))"

Moment = float | dt.datetime | dt.date


def _seconds(value: Moment | None, name: str) -> float | None:
    """Unix seconds: a float as is, a datetime by its timestamp (naive = local), a date at 00:00 UTC."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc).timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    raise ValidationError(f"{name}: unix seconds, a datetime or a date, not {value!r}", field=name)


class QueryMixin:
    """The queries of ``Journal`` (which provides the connection and the pending overlay)."""

    path: Path

    def _locked(self) -> Any:
        raise NotImplementedError

    def _overlay(self, rows: Iterable[sqlite3.Row]) -> list[JournalEntry]:
        pending: Mapping[int, Any] = getattr(self, "_pending", {})
        found = []
        for row in rows:
            data = dict(row)
            if data["id"] in pending:  # an id held in memory (file was locked) is shown as known
                data.update({k: v for k, v in pending[data["id"]].values.items() if v is not None})
            found.append(JournalEntry.from_row(data))
        return found

    def _select(self, sql: str, args: Iterable[Any]) -> list[JournalEntry]:
        with self._locked() as db:
            rows = db.execute(sql, tuple(args)).fetchall()
        return self._overlay(rows)

    @staticmethod
    def _where(
        *,
        text: str | None = None,
        dialect: str | None = None,
        base_url: str | None = None,
        states: Iterable[str] | None = None,
        unfinished: bool = False,
        since: Moment | None = None,
        until: Moment | None = None,
        all_services: bool = True,
    ) -> tuple[str, list[Any]]:
        if not all_services and not (dialect and base_url):
            raise ValidationError(
                "all_services: False lists one service: give dialect and base_url too", field="all_services"
            )
        clauses: list[str] = []
        args: list[Any] = []
        if dialect:
            clauses.append("dialect = ?")
            args.append(dialect)
        if base_url:
            clauses.append("(base_url = ? OR service = ?)")
            args += [base_url, base_url]
        if states is None:
            clauses.append("state != 'superseded'")
        else:
            wanted = [states] if isinstance(states, str) else list(states)
            unknown = [s for s in wanted if s not in STATES]
            if unknown or not wanted:
                raise ValidationError(f"states: any of {', '.join(STATES)}, not {unknown or wanted!r}", field="states")
            clauses.append(f"state IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if unfinished:
            clauses.append(_UNFINISHED)
            args += _FINAL
        if text:
            needle = text.lower()
            clauses.append(
                "(instr(lower(COALESCE(prompt, '')), ?) > 0"
                " OR instr(lower(COALESCE(final_prompt, '')), ?) > 0"
                " OR instr(lower(COALESCE(task_id, '')), ?) > 0)"
            )
            args += [needle, needle, needle]
        start, end = _seconds(since, "since"), _seconds(until, "until")
        if start is not None:
            clauses.append("created_at >= ?")
            args.append(start)
        if end is not None:
            clauses.append("created_at < ?")
            args.append(end)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def entries(
        self,
        limit: int = 100,
        offset: int = 0,
        text: str | None = None,
        *,
        dialect: str | None = None,
        base_url: str | None = None,
        states: Iterable[str] | None = None,
        unfinished: bool = False,
        since: Moment | None = None,
        until: Moment | None = None,
        all_services: bool = True,
    ) -> list[JournalEntry]:
        """Journaled submits, newest first.

        Args:
            limit: at most this many (-1: all); offset: skip this many.
            text: case-insensitive substring of the prompt, final prompt or task id.
            dialect, base_url: only this dialect / service (``base_url`` also matches ``service``).
            states: only these states (see ``STATES``); default: all but ``superseded``.
            unfinished: only accepted tasks whose last seen status is not final.
            since, until: created in ``[since, until)``: unix seconds, datetime or date (00:00 UTC).
            all_services: False insists on one service (dialect and base_url both given).

        Raises:
            ValidationError: an unknown state, a bad time, or all_services=False without a service.
        """
        where, args = self._where(
            text=text,
            dialect=dialect,
            base_url=base_url,
            states=states,
            unfinished=unfinished,
            since=since,
            until=until,
            all_services=all_services,
        )
        return self._select(
            f"SELECT * FROM submits{where} ORDER BY id DESC LIMIT ? OFFSET ?", [*args, int(limit), int(offset)]
        )

    def count(
        self,
        text: str | None = None,
        *,
        dialect: str | None = None,
        base_url: str | None = None,
        states: Iterable[str] | None = None,
        unfinished: bool = False,
        since: Moment | None = None,
        until: Moment | None = None,
        all_services: bool = True,
    ) -> int:
        """How many entries ``entries()`` would list with the same filters (no limit)."""
        where, args = self._where(
            text=text,
            dialect=dialect,
            base_url=base_url,
            states=states,
            unfinished=unfinished,
            since=since,
            until=until,
            all_services=all_services,
        )
        with self._locked() as db:
            return int(db.execute(f"SELECT COUNT(*) FROM submits{where}", args).fetchone()[0])

    def get(self, entry_id: int) -> JournalEntry | None:
        """The entry with this journal id (any state), or None."""
        found = self._select("SELECT * FROM submits WHERE id = ?", [entry_id])
        return found[0] if found else None

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries(limit=-1))

    def unfinished(self, dialect: str | None = None, base_url: str | None = None) -> list[JournalEntry]:
        """Accepted tasks whose last seen status is not final (what ``resume()`` follows), oldest first."""
        where, args = self._where(dialect=dialect, base_url=base_url, unfinished=True)
        return self._select(f"SELECT * FROM submits{where} ORDER BY id", args)

    def uncertain(self, dialect: str | None = None, base_url: str | None = None) -> list[JournalEntry]:
        """Submits that may have created a job with no id known: ``uncertain``, or ``sending`` with no id.

        A ``sending`` row is also what a submit in flight in this process looks like.  Oldest first.
        """
        where, args = self._where(dialect=dialect, base_url=base_url)
        return self._select(
            f"SELECT * FROM submits{where} AND (state = 'uncertain' OR"
            " (state = 'sending' AND task_id IS NULL)) ORDER BY id",
            args,
        )

    def find(self, fingerprint: str, dialect: str | None = None, base_url: str | None = None) -> JournalEntry | None:
        """The newest accepted entry with this fingerprint that is unfinished or succeeded, or None.

        A sweep resumed after a restart skips a cell this finds (failed and cancelled ones are sent again).
        """
        where, args = self._where(dialect=dialect, base_url=base_url, states=["accepted"])
        found = self._select(
            f"SELECT * FROM submits{where} AND fingerprint = ? AND (status IS NULL OR status IN (?, ?, ?, ?))"
            " ORDER BY id DESC LIMIT 1",
            [
                *args,
                fingerprint,
                TaskStatus.QUEUED.value,
                TaskStatus.RUNNING.value,
                TaskStatus.AWAITING_INPUT.value,
                TaskStatus.SUCCEEDED.value,
            ],
        )
        return found[0] if found else None

    def by_task_id(self, dialect: str | None, base_url: str | None, task_id: str) -> JournalEntry | None:
        """The visible entry of this task (the newest when an old journal has several), or None."""
        where, args = self._where(dialect=dialect, base_url=base_url)
        found = self._select(f"SELECT * FROM submits{where} AND task_id = ? ORDER BY id DESC LIMIT 1", [*args, task_id])
        return found[0] if found else None

    def children(self, task_id: str, dialect: str | None = None, base_url: str | None = None) -> list[JournalEntry]:
        """Entries whose parent is ``task_id`` (follow-ups and edits of it), oldest first."""
        where, args = self._where(dialect=dialect, base_url=base_url)
        return self._select(f"SELECT * FROM submits{where} AND parent_id = ? ORDER BY id", [*args, task_id])

    def parent_chain(self, task_id: str, dialect: str | None = None, base_url: str | None = None) -> list[JournalEntry]:
        """The task's entry, then its parent's, up to the root the journal knows (e.g. the imagine).

        Stops at a parent the journal does not hold (its id is the last entry's ``parent_id``)
        and at a cycle.  Empty when the journal does not know ``task_id``.
        """
        chain: list[JournalEntry] = []
        seen: set[str] = set()
        current: str | None = task_id
        while current and current not in seen:
            seen.add(current)
            entry = self.by_task_id(dialect, base_url, current)
            if entry is None:
                break
            chain.append(entry)
            current = entry.parent_id
        return chain

    def spend(
        self,
        since: Moment | None = None,
        until: Moment | None = None,
        dialect: str | None = None,
        base_url: str | None = None,
    ) -> list[dict[str, Any]]:
        """What the services reported charging, summed by service, dialect, kind, UTC day and unit.

        Only accepted tasks count.  Tasks whose cost the service did not report form their own
        rows with ``cost_unit`` and ``cost`` None (never a guess).

        Returns:
            Dicts ``{service, dialect, kind, day ("YYYY-MM-DD" UTC), cost_unit, cost, count}``,
            by day, then service, kind and unit.
        """
        where, args = self._where(dialect=dialect, base_url=base_url, states=["accepted"], since=since, until=until)
        sql = (
            "SELECT COALESCE(service, base_url) AS service, dialect, COALESCE(kind, upper(op)) AS kind,"
            " strftime('%Y-%m-%d', COALESCE(submitted_at, created_at), 'unixepoch') AS day, cost_unit,"
            f" SUM(cost) AS cost, COUNT(*) AS count FROM submits{where}"
            " GROUP BY 1, 2, 3, 4, 5 ORDER BY day, service, kind, cost_unit"
        )
        with self._locked() as db:
            return [dict(row) for row in db.execute(sql, args)]
