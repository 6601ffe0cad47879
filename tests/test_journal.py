"""The journal on real SQLite files: migration, durability, skipped writes, locks held by another
process, one row per task, every query, threads and the writer thread, clean closing."""

from __future__ import annotations

import datetime as dt
import gc
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from mjnb import JournalError, ValidationError
from mjnb._journal import SCHEMA_VERSION, Journal
from mjnb._models import Task, TaskStatus

URL = "https://api.example.com"
OTHER = "https://other.example.com"

# The schema mjnb wrote before versioning (user_version 0), as it was in the file.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS submits (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    dialect TEXT NOT NULL, base_url TEXT NOT NULL, op TEXT NOT NULL, path TEXT NOT NULL,
    request TEXT NOT NULL, state TEXT NOT NULL, task_id TEXT, kind TEXT, parent_id TEXT, prompt TEXT,
    status TEXT, progress INTEGER, image_url TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS submits_task ON submits(dialect, task_id);
"""


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite", timeout=0.2) as j:
        yield j


def send(j: Journal, op: str = "imagine", *, dialect: str = "mjproxy", base_url: str = URL, **kw: Any) -> int:
    kw.setdefault("prompt", "a red fox")
    return j.record_sending(
        dialect=dialect, base_url=base_url, op=op, path=f"/mj/submit/{op}", body={"prompt": kw["prompt"]}, **kw
    )


def task(task_id: str, status: TaskStatus = TaskStatus.QUEUED, *, dialect: str = "mjproxy", **kw: Any) -> Task:
    kw.setdefault("service", URL)
    return Task(id=task_id, dialect=dialect, status=status, **kw)


def accepted(j: Journal, task_id: str, op: str = "imagine", **kw: Any) -> int:
    status = kw.pop("status", TaskStatus.QUEUED)
    dialect = kw.pop("dialect", "mjproxy")
    entry = send(j, op, dialect=dialect, **kw)
    j.record_accepted(entry, task(task_id, status, dialect=dialect, service=kw.get("base_url", URL)))
    return entry


def raw_rows(path: Path) -> list[dict[str, Any]]:
    """The rows as another process sees them (a separate connection)."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM submits ORDER BY id")]
    finally:
        db.close()


# -- migration ------------------------------------------------------------------------------------
@pytest.mark.parametrize("with_kind", [True, False], ids=["today", "before-kind"])
def test_an_unversioned_journal_is_migrated_in_place(tmp_path: Path, with_kind: bool) -> None:
    path = tmp_path / "old.sqlite"
    schema = OLD_SCHEMA if with_kind else OLD_SCHEMA.replace(" kind TEXT,", "")
    db = sqlite3.connect(path)
    db.executescript(schema)
    db.execute(
        "INSERT INTO submits (created_at, updated_at, dialect, base_url, op, path, request, state, task_id,"
        " prompt, status, progress) VALUES (1700000000, 1700000000, 'mjproxy', ?, 'imagine',"
        " '/mj/submit/imagine', '{\"prompt\": \"old cat\"}', 'accepted', 'T1', 'old cat', 'running', 40)",
        (URL,),
    )
    db.commit()
    db.close()

    with Journal(path) as j:
        (entry,) = j.entries()
        assert (entry.task_id, entry.prompt, entry.progress) == ("T1", "old cat", 40)
        assert entry.request == {"prompt": "old cat"} and entry.state == "accepted"
        assert entry.cost is None and entry.meta == {} and entry.image_urls == ()
        assert [e.task_id for e in j.unfinished("mjproxy", URL)] == ["T1"]
        assert j.record_progress(task("T1", TaskStatus.SUCCEEDED, cost=2.0, cost_unit="credits")) == entry.id
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {r[1] for r in check.execute("PRAGMA table_info(submits)")}
        assert {"service", "nonce", "fingerprint", "meta", "cost", "cost_unit", "image_urls", "kind"} <= columns
        assert check.execute("SELECT status, cost FROM submits").fetchone() == ("succeeded", 2.0)
    finally:
        check.close()
    with Journal(path) as again:  # a migrated file opens as is
        assert again.get(entry.id) is not None and again.get(entry.id).cost == 2.0  # type: ignore[union-attr]


def test_a_journal_from_a_newer_mjnb_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    with Journal(path):
        pass
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer mjnb"):
        Journal(path)


# -- durability and speed ---------------------------------------------------------------------------
def test_the_row_before_a_submit_is_fsynced_and_the_later_rows_are_not(journal: Journal) -> None:
    """Only the row written before sending must survive a power cut (it stops a blind resend); the
    accepted id and progress commit without an fsync of their own (a crashed process keeps them)."""
    statements: list[str] = []
    journal._store.conn.set_trace_callback(statements.append)
    entry = send(journal)
    journal.record_accepted(entry, task("T1"))
    journal.record_progress(task("T1", TaskStatus.RUNNING, progress=10))
    journal._store.conn.set_trace_callback(None)
    mode, seen = "NORMAL", []
    for statement in statements:  # the synchronous mode each write was committed in
        if statement.startswith("PRAGMA synchronous="):
            mode = statement.split("=")[1]
        elif statement.startswith(("INSERT", "COMMIT", "UPDATE")):
            seen.append((statement.split()[0], mode))
    assert seen == [("INSERT", "FULL"), ("UPDATE", "NORMAL"), ("COMMIT", "NORMAL"), ("UPDATE", "NORMAL")]
    assert journal._store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r["state"] for r in raw_rows(journal.path)] == ["accepted"]


def test_rows_written_by_a_process_that_dies_without_closing_survive(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    script = textwrap.dedent(f"""
        import os
        from mjnb._journal import Journal
        from mjnb._models import Task, TaskStatus
        j = Journal({str(path)!r})
        a = j.record_sending(dialect="newapi", base_url="{URL}", op="imagine", path="/mj/submit/imagine",
                             body={{"prompt": "x"}}, prompt="x")
        j.record_accepted(a, Task(id="T9", dialect="newapi", status=TaskStatus.QUEUED))
        b = j.record_sending(dialect="newapi", base_url="{URL}", op="imagine", path="/mj/submit/imagine",
                             body={{"prompt": "y"}}, prompt="y")
        os._exit(0)  # killed: no close, no atexit
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with Journal(path) as j:
        assert [(e.state, e.task_id) for e in j.entries()] == [("sending", None), ("accepted", "T9")]
        assert [e.prompt for e in j.uncertain("newapi", URL)] == ["y"]


def test_a_fetch_that_changes_nothing_writes_nothing(journal: Journal) -> None:
    entry = accepted(journal, "T1")
    running = task("T1", TaskStatus.RUNNING, progress=30, preview_url="https://cdn/p.png")
    assert journal.record_progress(running) == entry
    writes, stamp = journal.writes, journal.get(entry).updated_at  # type: ignore[union-attr]
    for _ in range(5):
        assert journal.record_progress(running) == entry
    assert (journal.writes, journal.skipped) == (writes, 5)
    assert journal.get(entry).updated_at == stamp  # type: ignore[union-attr]
    journal.record_progress(running.evolve(progress=31))
    done = running.evolve(
        status=TaskStatus.SUCCEEDED,
        progress=100,
        image_url="https://cdn/r.png",
        cost=3.5,
        cost_unit="credits",
        image_urls=("https://cdn/1.png", "https://cdn/2.png"),
    )
    journal.record_progress(done)
    journal.record_progress(done.evolve(finished_at=None))  # finished_at was stamped once; no new write
    assert journal.writes == writes + 2
    got = journal.get(entry)
    assert got is not None and (got.status, got.progress, got.cost, got.image_urls[1]) == (
        "succeeded",
        100,
        3.5,
        "https://cdn/2.png",
    )
    assert got.finished_at is not None


def test_progress_of_a_task_not_submitted_here_is_ignored(journal: Journal) -> None:
    accepted(journal, "T1")
    assert journal.record_progress(task("other", TaskStatus.RUNNING)) is None
    assert journal.record_progress(task("T1", dialect="newapi")) is None
    assert journal.record_progress(task("T1", service=OTHER)) is None


def test_the_journal_keeps_the_prompt_and_parent_the_service_does_not_echo(journal: Journal) -> None:
    entry = send(journal, "action", prompt="a fox", parent_id="P1")
    journal.record_accepted(entry, task("T2", dialect="mjproxy"))
    journal.record_progress(task("T2", TaskStatus.SUCCEEDED, prompt="A FOX --v 6", parent_id=None))
    got = journal.get(entry)
    assert got is not None and (got.prompt, got.parent_id) == ("a fox", "P1")


# -- locks held by another process ------------------------------------------------------------------
class Locker:
    """Another process holding ``BEGIN EXCLUSIVE`` on the journal until released."""

    def __init__(self, path: Path) -> None:
        code = textwrap.dedent(f"""
            import sqlite3, sys
            db = sqlite3.connect({str(path)!r}, isolation_level=None)
            db.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            sys.stdin.readline()
            db.execute("ROLLBACK")
            db.close()
        """)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def test_a_locked_file_before_the_submit_raises_and_records_nothing(journal: Journal) -> None:
    locker = Locker(journal.path)
    try:
        with pytest.raises(JournalError, match="nothing was sent"):
            send(journal)
    finally:
        locker.release()
    assert journal.count(states=list(("sending", "accepted", "rejected", "uncertain", "superseded"))) == 0
    assert send(journal) > 0  # free again


def test_a_locked_file_after_the_submit_keeps_the_id_and_writes_it_later(journal: Journal) -> None:
    entry = send(journal)
    created = task("T-paid", TaskStatus.QUEUED)
    locker = Locker(journal.path)
    try:
        with pytest.raises(JournalError) as caught:
            journal.record_accepted(entry, created)
        assert caught.value.task == created and caught.value.journal_id == entry
        assert journal.pending == (entry,)
        assert journal.record_progress(created.evolve(status=TaskStatus.RUNNING, progress=20)) == entry
        assert journal.entries()[0].task_id == "T-paid"  # shown from memory meanwhile
        assert raw_rows(journal.path)[0]["state"] == "sending"
    finally:
        locker.release()
    assert journal.count() == 1  # any later call writes it
    assert journal.pending == ()
    row = raw_rows(journal.path)[0]
    assert (row["state"], row["task_id"], row["progress"]) == ("accepted", "T-paid", 20)


def test_an_id_still_locked_at_close_is_kept_in_a_file_and_applied_at_next_open(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = Journal(path, timeout=0.2)
    entry = send(j)
    locker = Locker(path)
    try:
        with pytest.raises(JournalError):
            j.record_accepted(entry, task("T-kept"))
        j.close()
    finally:
        locker.release()
    assert json.loads((tmp_path / "j.sqlite-pending.json").read_text())[0]["entry"] == entry
    with Journal(path) as again:
        got = again.get(entry)
        assert got is not None and (got.state, got.task_id) == ("accepted", "T-kept")
    assert not (tmp_path / "j.sqlite-pending.json").exists()


def test_a_failure_that_cannot_be_written_is_kept_and_written_later(journal: Journal) -> None:
    entry = send(journal)
    locker = Locker(journal.path)
    try:
        journal.record_failed(entry, uncertain=True, error="read timeout")
        assert [e.id for e in journal.uncertain()] == [entry]
    finally:
        locker.release()
    journal.flush()
    assert raw_rows(journal.path)[0]["state"] == "uncertain"


def test_a_locked_file_neither_stops_opening_nor_a_fetch(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as first:
        accepted(first, "T1")
    locker = Locker(path)
    try:
        with Journal(path, timeout=5) as j:  # opening and reading take no write lock
            assert [e.task_id for e in j.entries()] == ["T1"]
            writes = j.writes
            assert j.record_progress(task("T1", TaskStatus.RUNNING, progress=60)) == j.entries()[0].id
            assert j.writes == writes and j.pending  # kept after a short wait, not after 5 s
            assert j.entries()[0].progress == 60
            locker.release()
            j.flush()
            assert j.pending == ()
    finally:
        if locker.proc.poll() is None:
            locker.release()
    assert raw_rows(path)[0]["progress"] == 60


# -- one row per task ----------------------------------------------------------------------------------
def test_an_inpaint_shows_once_the_modal_submit_keeps_the_parent(journal: Journal) -> None:
    accepted(journal, "IMG")
    opening = send(journal, "action", prompt=None, parent_id="IMG", fingerprint="fp-vary")
    journal.record_accepted(opening, task("MODAL", TaskStatus.AWAITING_INPUT))
    modal = send(journal, "modal", prompt="a red hat", meta={"sweep": "s1"})
    journal.record_accepted(modal, task("MODAL", TaskStatus.QUEUED))
    visible = [(e.op, e.task_id) for e in journal.entries()]
    assert visible == [("modal", "MODAL"), ("imagine", "IMG")] and journal.count() == 2
    kept = journal.by_task_id("mjproxy", URL, "MODAL")
    assert kept is not None and (kept.id, kept.parent_id, kept.prompt, kept.fingerprint, kept.meta) == (
        modal,
        "IMG",
        "a red hat",
        "fp-vary",
        {"sweep": "s1"},
    )
    (old,) = journal.entries(states=["superseded"])
    assert (old.id, old.superseded_by) == (opening, modal)
    assert journal.record_progress(task("MODAL", TaskStatus.RUNNING, progress=5)) == modal


def test_the_same_id_on_another_service_is_another_task(journal: Journal) -> None:
    accepted(journal, "T1")
    accepted(journal, "T1", base_url=OTHER)
    accepted(journal, "T1", dialect="newapi")
    assert journal.count() == 3


# -- queries --------------------------------------------------------------------------------------------
@pytest.fixture
def filled(journal: Journal) -> Journal:
    """imagine → U2 → vary region on mjproxy; a failed and a running newapi task; a rejected, an uncertain
    and a sending submit; costs in two units."""
    j = journal
    root = send(j, prompt="a red fox", fingerprint="fp-root", meta={"sweep": "s1", "stylize": 100})
    j.record_accepted(root, task("R", TaskStatus.SUCCEEDED, cost=8.0, cost_unit="credits"))
    u2 = send(j, "action", prompt=None, parent_id="R")
    j.record_accepted(u2, task("U2", TaskStatus.SUCCEEDED, kind="UPSCALE", cost=2.0, cost_unit="credits"))
    vary = send(j, "modal", prompt="a blue hat", parent_id="U2")
    j.record_accepted(vary, task("V", TaskStatus.RUNNING, kind="VARY_REGION"))
    fail = send(j, dialect="newapi", base_url=OTHER, prompt="a boat", fingerprint="fp-boat")
    j.record_accepted(fail, task("B", TaskStatus.FAILED, dialect="newapi", service=OTHER, cost=5, cost_unit="quota"))
    run = send(j, dialect="newapi", base_url=OTHER, prompt="a boat", fingerprint="fp-boat")
    j.record_accepted(run, task("B2", TaskStatus.RUNNING, dialect="newapi", service=OTHER))
    j.record_failed(send(j, prompt="refused"), uncertain=False, error="400 banned word")
    j.record_failed(send(j, prompt="lost answer", nonce="n-42"), uncertain=True, error="read timeout")
    send(j, prompt="in flight")
    return j


def test_entries_filter_and_page(filled: Journal) -> None:
    j = filled
    assert [e.prompt for e in j.entries(2)] == ["in flight", "lost answer"]
    assert [e.prompt for e in j.entries(2, 2)] == ["refused", "a boat"]
    assert [e.task_id for e in j.entries(text="BOAT")] == ["B2", "B"]
    assert [e.task_id for e in j.entries(text="u2")] == ["U2"]
    assert {e.dialect for e in j.entries(dialect="newapi")} == {"newapi"} and j.count(dialect="newapi") == 2
    assert j.count(base_url=OTHER) == 2 and j.count(dialect="mjproxy", base_url=URL) == 6
    assert [e.task_id for e in j.entries(unfinished=True)] == ["B2", "V"]
    assert [e.state for e in j.entries(states=["rejected", "uncertain"])] == ["uncertain", "rejected"]
    assert j.count() == 8 and j.count(text="fox") == 1
    assert j.count(since=dt.date.today() + dt.timedelta(days=2)) == 0
    assert j.count(until=dt.datetime.now() + dt.timedelta(minutes=1)) == 8
    assert len(list(j)) == 8
    with pytest.raises(ValidationError, match="all_services"):
        j.entries(all_services=False, dialect="mjproxy")
    assert j.count(all_services=False, dialect="mjproxy", base_url=URL) == 6
    with pytest.raises(ValidationError, match="states"):
        j.entries(states=["done"])
    with pytest.raises(ValidationError, match="since"):
        j.count(since="yesterday")  # type: ignore[arg-type]


def test_resume_and_reconcile_queries(filled: Journal) -> None:
    j = filled
    assert [e.task_id for e in j.unfinished("mjproxy", URL)] == ["V"]
    assert [e.task_id for e in j.unfinished("newapi", OTHER)] == ["B2"]
    lost, flight = j.uncertain("mjproxy", URL)
    assert (lost.prompt, lost.nonce, lost.error, flight.prompt) == ("lost answer", "n-42", "read timeout", "in flight")
    assert j.uncertain("newapi") == []
    resolved = j.resolve(lost.id, "FOUND")
    assert (resolved.state, resolved.task_id) == ("accepted", "FOUND")
    assert [e.task_id for e in j.unfinished("mjproxy", URL)] == ["V", "FOUND"]
    assert [e.prompt for e in j.uncertain("mjproxy", URL)] == ["in flight"]
    assert j.resolve(lost.id, "FOUND").task_id == "FOUND"  # the same answer again is fine
    with pytest.raises(ValidationError, match="already has task id"):
        j.resolve(lost.id, "OTHER")
    with pytest.raises(ValidationError, match="journal_id"):
        j.resolve(9999, "X")
    with pytest.raises(ValidationError, match="task_id"):
        j.resolve(flight.id, "../x")


def test_sweep_resume_finds_a_cell_unless_it_failed(filled: Journal) -> None:
    j = filled
    found = j.find("fp-root", "mjproxy", URL)
    assert found is not None and found.task_id == "R" and found.meta == {"sweep": "s1", "stylize": 100}
    assert j.find("fp-boat", "newapi", OTHER).task_id == "B2"  # type: ignore[union-attr]
    j.record_progress(task("B2", TaskStatus.CANCELLED, dialect="newapi", service=OTHER))
    assert j.find("fp-boat", "newapi", OTHER) is None
    assert j.find("fp-root", "newapi") is None and j.find("nothing") is None


def test_lineage_queries(filled: Journal) -> None:
    j = filled
    assert [e.task_id for e in j.children("R")] == ["U2"]
    assert [e.task_id for e in j.children("U2", "mjproxy", URL)] == ["V"]
    assert [e.task_id for e in j.parent_chain("V")] == ["V", "U2", "R"]
    assert j.parent_chain("unknown") == [] and j.by_task_id("newapi", None, "R") is None


def test_spend_sums_what_the_services_reported(filled: Journal) -> None:
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    rows = filled.spend()
    assert {(r["service"], r["kind"], r["cost_unit"], r["cost"], r["count"]) for r in rows} == {
        (URL, "UPSCALE", "credits", 2.0, 1),
        (URL, "IMAGINE", "credits", 8.0, 1),
        (URL, "VARY_REGION", None, None, 1),
        (OTHER, "IMAGINE", "quota", 5.0, 1),
        (OTHER, "IMAGINE", None, None, 1),
    }
    assert {r["day"] for r in rows} == {day}
    assert sum(r["cost"] or 0 for r in filled.spend(dialect="mjproxy", base_url=URL)) == 10.0
    assert filled.spend(until=dt.date.today() - dt.timedelta(days=1)) == []


def test_entries_become_tasks_that_say_what_they_are(filled: Journal) -> None:
    by_prompt = {e.prompt: e for e in filled.entries(limit=-1)}
    flight, lost, refused = (by_prompt[p].to_task() for p in ("in flight", "lost answer", "refused"))
    assert (flight.id, flight.raw_status, flight.status) == (
        f"journal:{by_prompt['in flight'].id}",
        "sending",
        TaskStatus.QUEUED,
    )
    assert (lost.raw_status, lost.fail_reason) == ("uncertain", "read timeout")
    assert (refused.raw_status, refused.status) == ("rejected", TaskStatus.FAILED)
    root = filled.by_task_id("mjproxy", URL, "R")
    assert root is not None
    t = root.to_task()
    assert (t.id, t.service, t.journal_id, t.cost, t.cost_unit, t.prompt, t.status) == (
        "R",
        URL,
        root.id,
        8.0,
        "credits",
        "a red fox",
        TaskStatus.SUCCEEDED,
    )
    assert root.request == {"prompt": "a red fox"} and root.op == "imagine" and root.created_at > 0


def test_any_string_is_stored_safely_and_big_images_are_shortened(journal: Journal) -> None:
    image = "data:image/png;base64," + "A" * 5000
    entry = journal.record_sending(
        dialect="mjproxy",
        base_url=URL,
        op="imagine",
        path="/p",
        body={"prompt": "cat \ud800", "base64Array": [image]},
        prompt="cat \ud800",
    )
    got = journal.get(entry)
    assert got is not None and got.request["prompt"] == "cat \ud800"  # JSON escapes round-trip exactly
    assert got.prompt == "cat \\ud800" and got.request["base64Array"][0].startswith("<5022 chars sha256:")
    journal.record_failed(entry, uncertain=False, error="bad \udfff")
    assert journal.get(entry).error == "bad \\udfff"  # type: ignore[union-attr]


# -- threads and the writer thread ------------------------------------------------------------------
def test_queued_progress_never_lands_after_a_newer_direct_write(journal: Journal) -> None:
    entry = accepted(journal, "T1")
    for p in range(1, 60):
        journal.record_progress_nowait(task("T1", TaskStatus.RUNNING, progress=p))
    journal.record_progress(task("T1", TaskStatus.SUCCEEDED, progress=100))
    journal.flush()
    got = journal.get(entry)
    assert got is not None and (got.status, got.progress) == ("succeeded", 100)


def test_submit_runs_on_the_writer_thread_in_order_and_hands_back_errors(journal: Journal) -> None:
    entry = journal.submit(send, journal).result(timeout=30)
    journal.record_progress_nowait(task("T1", TaskStatus.RUNNING, progress=1))  # not accepted yet: ignored
    accept = journal.submit(journal.record_accepted, entry, task("T1"))
    journal.record_progress_nowait(task("T1", TaskStatus.RUNNING, progress=7))
    names = journal.submit(lambda: threading.current_thread().name).result(timeout=30)
    assert accept.result(timeout=30) is None and names.startswith("mjnb-journal")
    assert journal.get(entry).progress == 7  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        journal.submit(journal.resolve, 12345, "X").result(timeout=30)


def test_a_failed_queued_write_is_raised_by_flush(journal: Journal) -> None:
    accepted(journal, "T1")
    journal.record_progress_nowait(task("T1", TaskStatus.RUNNING, progress="many"))  # type: ignore[arg-type]
    journal._store.conn.execute(
        "CREATE TRIGGER no_text BEFORE UPDATE OF progress ON submits"
        " WHEN typeof(NEW.progress) = 'text' BEGIN SELECT RAISE(ABORT, 'progress'); END"
    )
    with pytest.raises(JournalError, match="queued write failed"):
        journal.flush()
    journal.flush()  # raised once


def test_many_threads_and_the_writer_thread_at_once(journal: Journal) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(15):
                tid = f"T{n}-{i}"
                entry = send(journal, prompt=f"p{n}")
                journal.record_accepted(entry, task(tid))
                for p in (10, 50, 90):
                    journal.record_progress_nowait(task(tid, TaskStatus.RUNNING, progress=p))
                journal.record_progress(task(tid, TaskStatus.SUCCEEDED, progress=100))
                journal.entries(5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.flush()
    assert errors == []
    assert journal.count() == 90 and journal.count(unfinished=True) == 0
    assert {(e.status, e.progress) for e in journal.entries(limit=-1)} == {("succeeded", 100)}


def test_nowait_returns_while_the_journal_is_busy(journal: Journal) -> None:
    entry = accepted(journal, "T1")
    held, release, queued = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        with journal._store.lock:  # a long write in progress
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    caller = threading.Thread(
        target=lambda: (journal.record_progress_nowait(task("T1", TaskStatus.RUNNING, progress=3)), queued.set())
    )
    caller.start()
    assert queued.wait(30)  # returned although the lock is still held
    assert holder.is_alive()
    release.set()
    holder.join()
    caller.join()
    journal.flush()
    assert journal.get(entry).progress == 3  # type: ignore[union-attr]


def test_two_journals_on_one_file_follow_each_others_rows(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as a, Journal(path) as b:  # e.g. a Client and the Studio's AsyncClient
        first = send(a, "action", parent_id="IMG")
        a.record_accepted(first, task("M", TaskStatus.AWAITING_INPUT))
        assert a.record_progress(task("M", TaskStatus.AWAITING_INPUT, progress=0)) == first
        second = send(b, "modal", prompt="a hat")
        b.record_accepted(second, task("M", TaskStatus.QUEUED))
        assert a.record_progress(task("M", TaskStatus.RUNNING, progress=40)) == second
        assert [(e.id, e.progress) for e in b.entries()] == [(second, 40)]


# -- closing --------------------------------------------------------------------------------------------
def test_closed_by_with_by_close_and_by_garbage_collection(tmp_path: Path) -> None:
    with Journal(tmp_path / "a.sqlite") as j:
        j.record_progress_nowait(task("x"))
    conn = j._store.conn
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")
    with pytest.raises(JournalError, match="closed"):
        send(j)
    with pytest.raises(JournalError, match="closed"):
        j.record_progress_nowait(task("x"))
    j.close()  # twice is fine
    with Journal(tmp_path / "c.sqlite") as c:
        entry = send(c)
    with pytest.raises(JournalError) as caught:  # e.g. an answer arriving after the client was closed
        c.record_accepted(entry, task("LATE"))
    assert caught.value.task is not None and caught.value.task.id == "LATE"
    with Journal(tmp_path / "c.sqlite") as c:
        assert c.by_task_id("mjproxy", URL, "LATE") is not None and c.pending == ()
    g = Journal(tmp_path / "b.sqlite")
    g.submit(len, "x").result(timeout=30)  # starts the writer thread
    conn, thread = g._store.conn, g._store._thread
    del g
    gc.collect()
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")
    assert thread is not None and not thread.is_alive()


def test_queued_writes_are_written_at_interpreter_exit(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    script = textwrap.dedent(f"""
        import warnings
        warnings.simplefilter("error", ResourceWarning)
        from mjnb._journal import Journal
        from mjnb._models import Task, TaskStatus
        j = Journal({str(path)!r})
        a = j.record_sending(dialect="newapi", base_url="{URL}", op="imagine", path="/p", body={{}})
        j.record_accepted(a, Task(id="T", dialect="newapi", status=TaskStatus.QUEUED))
        for p in range(1, 200):
            j.record_progress_nowait(Task(id="T", dialect="newapi", status=TaskStatus.RUNNING, progress=p))
    """)
    done = subprocess.run([sys.executable, "-X", "dev", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    assert raw_rows(path)[0]["progress"] == 199


def _python_that_warns_on_leaks() -> str | None:
    """A Python ≥ 3.13 (which warns about unclosed SQLite connections), or None."""
    if sys.version_info >= (3, 13):
        return sys.executable
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[3-9]*/bin/python3")))
    candidates = [shutil.which("python3.13"), *pyenv]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "import sqlite3"], capture_output=True).returncode == 0:
            return candidate
    return None


def test_no_connection_is_leaked_on_python_3_13() -> None:
    python = _python_that_warns_on_leaks()
    if python is None:
        pytest.skip("no Python >= 3.13 on this machine")
    package = Path(__file__).resolve().parents[1] / "mjnb"
    # Only the journal's modules (standard library only) are loaded: mjnb's other dependencies
    # need not be installed for that Python.
    script = textwrap.dedent(f"""
        import gc, os, sqlite3, sys, tempfile, types
        package = types.ModuleType("mjnb")
        package.__path__ = [{str(package)!r}]
        sys.modules["mjnb"] = package
        from mjnb._journal import Journal
        from mjnb._models import Task, TaskStatus
        folder = tempfile.mkdtemp()

        def use(name, close):
            j = Journal(os.path.join(folder, name))
            e = j.record_sending(dialect="newapi", base_url="u", op="imagine", path="/p", body={{}})
            j.record_accepted(e, Task(id="T", dialect="newapi", status=TaskStatus.QUEUED))
            j.record_progress_nowait(Task(id="T", dialect="newapi", status=TaskStatus.RUNNING, progress=5))
            j.entries(), j.spend()
            if close:
                j.close()

        use("closed.sqlite", True)
        use("dropped.sqlite", False)
        gc.collect()
        kept = Journal(os.path.join(folder, "left-for-exit.sqlite"))
        if len(sys.argv) > 1:  # the control: a bare leaked connection is reported
            bare = sqlite3.connect(":memory:")
            del bare
            gc.collect()
    """)
    clean = subprocess.run([python, "-X", "dev", "-c", script], capture_output=True, text=True, timeout=60)
    control = subprocess.run([python, "-X", "dev", "-c", script, "control"], capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr
    assert "unclosed database" in control.stderr
    assert "Warning" not in clean.stderr, clean.stderr
