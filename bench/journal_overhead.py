"""What the journal costs per operation, the old way beside the new (prints figures, asserts nothing).

    .venv/bin/python bench/journal_overhead.py [--ops N] [--durable-ops N] [--dir DIR]

Old way (mjnb before the kept connection): a new connection per write, rollback journal,
``synchronous=FULL``, one commit per write.  New way: ``mjnb._journal.Journal`` (one connection,
WAL; progress with ``synchronous=NORMAL``, submit rows switched to ``FULL``; unchanged updates
skipped).  Durable figures depend on the disk's fsync; run on the disk the journal lives on
(``--dir``; the default is a temporary folder under the current directory, not a tmpfs).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from mjnb._journal import Journal
from mjnb._models import Task, TaskStatus

OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS submits (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    dialect TEXT NOT NULL, base_url TEXT NOT NULL, op TEXT NOT NULL, path TEXT NOT NULL,
    request TEXT NOT NULL, state TEXT NOT NULL, task_id TEXT, kind TEXT, parent_id TEXT, prompt TEXT,
    status TEXT, progress INTEGER, image_url TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS submits_task ON submits(dialect, task_id);
"""
URL = "https://api.example.com"


def per_op_us(fn: Callable[[int], object], count: int, repeats: int = 3) -> float:
    """The median over ``repeats`` runs of the mean µs per call of ``fn(i)`` for i in range(count)."""
    runs = []
    for r in range(repeats):
        start = time.perf_counter()
        for i in range(count):
            fn(r * count + i)
        runs.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(runs)


def old_way(path: Path, ops: int, durable_ops: int) -> dict[str, float]:
    """The journal as it was: connect, execute, commit, close for every write."""
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    db.close()

    def write(sql: str, args: tuple[object, ...]) -> None:
        db = sqlite3.connect(path, timeout=10)
        try:
            with db:
                db.execute(sql, args)
        finally:
            db.close()

    def sending(i: int) -> None:
        now = time.time()
        write(
            "INSERT INTO submits (created_at, updated_at, dialect, base_url, op, path, request, state, prompt)"
            " VALUES (?, ?, 'mjproxy', ?, 'imagine', '/mj/submit/imagine', '{}', 'sending', ?)",
            (now, now, URL, f"p{i}"),
        )

    def accepted(i: int) -> None:
        write(
            "UPDATE submits SET state='accepted', task_id=?, status='queued', updated_at=? WHERE id=?",
            (f"T{i}", time.time(), i + 1),
        )

    def progress(i: int) -> None:
        write(
            "UPDATE submits SET status=?, progress=?, image_url=COALESCE(?, image_url), updated_at=?"
            " WHERE dialect=? AND task_id=?",
            ("running", i % 100, None, time.time(), "mjproxy", "T0"),
        )

    return {
        "record_sending": per_op_us(sending, durable_ops, 1),
        "record_accepted": per_op_us(accepted, durable_ops, 1),
        "record_progress (changed)": per_op_us(progress, ops),
        "record_progress (unchanged)": per_op_us(lambda i: progress(7), ops),
    }


def floor(path: Path, ops: int) -> float:
    """A bare progress UPDATE on a kept WAL connection, synchronous=NORMAL: what SQLite itself costs here."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(OLD_SCHEMA)
        db.execute(
            "INSERT INTO submits (created_at, updated_at, dialect, base_url, op, path, request, state,"
            " task_id) VALUES (0, 0, 'mjproxy', ?, 'imagine', '/p', '{}', 'accepted', 'T0')",
            (URL,),
        )
        return per_op_us(
            lambda i: db.execute(
                "UPDATE submits SET progress = ?, updated_at = ? WHERE id = 1", (i % 100, time.time())
            ),
            ops,
        )
    finally:
        db.close()


def new_way(path: Path, ops: int, durable_ops: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with Journal(path) as journal:
        entries: list[int] = []

        def sending(i: int) -> None:
            entries.append(
                journal.record_sending(
                    dialect="mjproxy",
                    base_url=URL,
                    op="imagine",
                    path="/mj/submit/imagine",
                    body={"prompt": f"p{i}"},
                    prompt=f"p{i}",
                )
            )

        def accepted(i: int) -> None:
            journal.record_accepted(
                entries[i], Task(id=f"T{i}", dialect="mjproxy", status=TaskStatus.QUEUED, service=URL)
            )

        figures["record_sending"] = per_op_us(sending, durable_ops, 1)
        figures["record_accepted"] = per_op_us(accepted, durable_ops, 1)
        base = Task(id="T0", dialect="mjproxy", status=TaskStatus.RUNNING, service=URL)
        tasks = [base.evolve(progress=i % 100) for i in range(ops * 3)]
        writes = journal.writes
        figures["record_progress (changed)"] = per_op_us(lambda i: journal.record_progress(tasks[i]), ops)
        figures["  writes per changed update"] = (journal.writes - writes) / (ops * 3)
        same = base.evolve(progress=7)
        journal.record_progress(same)
        writes = journal.writes
        figures["record_progress (unchanged)"] = per_op_us(lambda i: journal.record_progress(same), ops)
        figures["  writes per unchanged update"] = (journal.writes - writes) / (ops * 3)
        figures["record_progress_nowait (caller)"] = per_op_us(lambda i: journal.record_progress_nowait(tasks[i]), ops)
        start = time.perf_counter()
        journal.flush()
        figures["  flush after those (total ms)"] = (time.perf_counter() - start) * 1000
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=2000, help="progress updates per run (3 runs)")
    parser.add_argument("--durable-ops", type=int, default=200, help="fsynced submit rows")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the test files (default: under .)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="journal-bench-", dir=args.dir or Path.cwd()))
    try:
        old = old_way(folder / "old.sqlite", args.ops, args.durable_ops)
        new = new_way(folder / "new.sqlite", args.ops, args.durable_ops)
        bare = floor(folder / "floor.sqlite", args.ops)
    finally:
        shutil.rmtree(folder)
    print(f"SQLite {sqlite3.sqlite_version}; {args.ops}×3 progress updates, {args.durable_ops} submit rows")
    print(f"{'µs per op':34} {'old way':>10} {'new way':>10}")
    print(f"{'bare UPDATE, kept WAL connection':34} {'':>10} {bare:10.1f}   (SQLite's own cost on this machine)")
    for name, value in new.items():
        before = old.get(name)
        print(f"{name:34} {'' if before is None else f'{before:10.1f}':>10} {value:10.1f}")


if __name__ == "__main__":
    main()
