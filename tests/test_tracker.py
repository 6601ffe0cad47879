"""The tracker's planning, with no I/O: which reads it asks for, when, and what it makes of answers.

``TrackerCore`` takes time as an argument and returns request descriptions, so a simulated job
(progress growing linearly over its length) is followed on a virtual clock and the reads are
counted exactly.  The same counts against the real simulator are in test_tracker_client.py.
"""

from __future__ import annotations

import math
from typing import Callable

import pytest

import mjnb
from mjnb._models import Task, TaskStatus
from mjnb._tracker import Read, TrackerCore
from mjnb.dialects import get_dialect


def _id(tid: str, dialect: str) -> str:
    return f"task-unified-{tid}" if dialect == "evolink" and not tid.startswith("task-") else tid


def running(tid: str, dialect: str, progress: int | None = None) -> Task:
    return Task(id=_id(tid, dialect), dialect=dialect, status=TaskStatus.RUNNING, progress=progress)


def state_at(tid: str, dialect: str, start: float, length: float, now: float) -> Task:
    """A job that runs ``length`` seconds from ``start``, its progress growing linearly."""
    if now >= start + length:
        return Task(
            id=_id(tid, dialect),
            dialect=dialect,
            status=TaskStatus.SUCCEEDED,
            progress=100,
            image_url=f"http://i/{tid}",
        )
    return running(tid, dialect, int(100 * (now - start) / length))


def simulate(
    core: TrackerCore,
    jobs: dict[str, tuple[float, float]],
    dialect: str,
    step: float = 0.01,
    until: float = 120.0,
    state: Callable[[str, str, float, float, float], Task] = state_at,
) -> tuple[list[Read], dict[str, float]]:
    """Run the tracker on a virtual clock; returns the reads made and when each job was seen done."""
    jobs = {_id(t, dialect): spec for t, spec in jobs.items()}
    for tid, (start, _length) in jobs.items():
        core.follow(running(tid, dialect, 0), start)
    reads: list[Read] = []
    seen_done: dict[str, float] = {}
    now = 0.0
    while now < until and len(seen_done) < len(jobs):
        for read in core.plan(now):
            reads.append(read)
            answer = [state(t, dialect, *jobs[t], now) for t in read.task_ids]
            core.ingest(read, answer if read.batch else answer[0], now)
            for tid in read.task_ids:
                if core.followed[tid].task.done and tid not in seen_done:
                    seen_done[tid] = now
        now = round(now + step, 6)
    return reads, seen_done


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi", "acedata"])
def test_batched_dialects_read_every_task_in_one_request_per_interval(dialect):
    core = TrackerCore(get_dialect(dialect), interval=1.0)
    jobs = {f"T{i}": (0.0, 3.0) for i in range(20)}
    reads, seen_done = simulate(core, jobs, dialect)
    assert all(r.batch for r in reads)
    assert len(reads) <= math.ceil(3 / 1.0) + 2
    assert all(len(r.task_ids) == 20 for r in reads)
    assert max(seen_done.values()) - 3.0 <= 1.0 + 1e-6  # seen within one interval of the end
    assert core.plan(1000.0) == []  # nothing left to read


def test_a_batch_never_exceeds_the_dialects_batch_size():
    dialect = get_dialect("acedata")
    core = TrackerCore(dialect, interval=1.0)
    for i in range(120):
        core.follow(running(f"T{i}", "acedata", 0), 0.0)
    reads = core.plan(1.0)
    assert [len(r.task_ids) for r in reads] == [50, 50, 20]
    assert core.reads == 3


def test_a_task_missing_from_batches_is_read_on_its_own_and_its_error_reaches_its_waiter():
    core = TrackerCore(get_dialect("mjproxy"), interval=1.0)
    core.follow(running("A", "mjproxy", 0), 0.0)
    core.follow(running("B", "mjproxy", 0), 0.0)
    for now in (1.0, 2.0):
        (read,) = core.plan(now)
        core.ingest(read, [running("A", "mjproxy", 50)], now)  # B is absent from the answer
    reads = core.plan(3.0)
    single = [r for r in reads if not r.batch]
    assert [r.task_ids for r in single] == [("B",)]
    assert all("B" not in r.task_ids for r in reads if r.batch)
    missing = mjnb.TaskNotFound("no such task", code=3, dialect="mjproxy")
    assert core.ingest(single[0], missing, 3.0) == ["B"]
    assert core.followed["B"].error is missing
    assert "B" not in core.unfinished()


def test_a_failed_batch_read_loses_no_task():
    core = TrackerCore(get_dialect("newapi"), interval=1.0)
    core.follow(running("A", "newapi", 0), 0.0)
    (read,) = core.plan(1.0)
    core.ingest(read, mjnb.ServerError("bad gateway", status_code=502, dialect="newapi"), 1.0)
    assert core.unfinished() == ["A"]
    (again,) = core.plan(2.0)
    assert again.task_ids == ("A",)


def test_retry_after_on_a_read_pushes_the_next_read_back():
    core = TrackerCore(get_dialect("evolink"), interval=1.0, expected_seconds=5.0)
    core.follow(running("A", "evolink", 10), 0.0)
    due = core.next_due()
    assert due is not None
    (read,) = core.plan(due)
    core.ingest(read, mjnb.RateLimitError("slow down", status_code=429, retry_after=30.0), due)
    assert core.plan(due + 29) == []
    assert len(core.plan(due + 30.5)) == 1


def stepped_state_at(tid: str, dialect: str, start: float, length: float, now: float) -> Task:
    """A job whose progress moves in steps that lag it (10 % at a tenth, 30 % at 3/10 … 90 %), as services report."""
    if now >= start + length:
        return state_at(tid, dialect, start, length, now)
    fraction = (now - start) / length
    return running(tid, dialect, max([0] + [p for p in (10, 30, 50, 70, 90) if fraction >= p / 100]))


@pytest.mark.parametrize("shape", ["linear", "stepped"])
def test_per_task_polls_are_spaced_by_age_and_progress(shape):
    """EvoLink has no batched read: 100 jobs of ~20 s cost well under a 3 s poller's reads."""
    core = TrackerCore(get_dialect("evolink"), interval=1.0, expected_seconds=20.0)
    jobs = {f"T{i}": (i * 0.05, 18.0 + (i % 5)) for i in range(100)}  # 18–22 s, staggered submits
    state = stepped_state_at if shape == "stepped" else state_at
    reads, seen_done = simulate(core, jobs, "evolink", step=0.05, state=state)
    poller = sum(math.ceil(length / 3.0) for _start, length in jobs.values())
    assert len(reads) <= 0.6 * poller, (len(reads), poller)
    lags = sorted(seen_done[f"task-unified-{t}"] - (start + length) for t, (start, length) in jobs.items())
    assert lags[int(0.95 * len(lags)) - 1] <= 3.0


def test_a_waiters_interval_caps_the_spacing():
    core = TrackerCore(get_dialect("evolink"), interval=1.0, expected_seconds=60.0)
    core.follow(running("A", "evolink", 0), 0.0, cap=2.0)
    due = core.next_due()
    assert due is not None and due <= 2.0


def test_an_entry_already_followed_keeps_its_fresher_state():
    core = TrackerCore(get_dialect("mjproxy"), interval=1.0)
    core.follow(running("A", "mjproxy", 0), 0.0)
    (read,) = core.plan(1.0)
    core.ingest(read, [running("A", "mjproxy", 60)], 1.0)
    core.follow(running("A", "mjproxy", 10), 1.5)  # an older snapshot from another waiter
    assert core.followed["A"].task.progress == 60


def test_what_the_server_does_not_echo_is_kept():
    core = TrackerCore(get_dialect("evolink"), interval=1.0, expected_seconds=1.0)
    tid = "task-unified-A"
    core.follow(Task(id=tid, dialect="evolink", status=TaskStatus.RUNNING, prompt="a kite", parent_id="P"), 0.0)
    due = core.next_due()
    assert due is not None
    (read,) = core.plan(due)
    core.ingest(read, Task(id=tid, dialect="evolink", status=TaskStatus.SUCCEEDED, progress=100), due)
    assert (core.followed[tid].task.prompt, core.followed[tid].task.parent_id) == ("a kite", "P")


def test_a_fresher_snapshot_from_the_caller_is_not_news():
    """A task read by get() after the tracker last read it is ahead of the tracker's entry: waiting
    on it must wait for the next read, not return the older entry at once (which spun a kernel)."""
    from mjnb._tracker import _Waiting

    core = TrackerCore(get_dialect("mjproxy"), interval=1.0)
    waiting = _Waiting(core, lambda task: None)
    core.follow(running("A", "mjproxy", 10), 0.0)
    version, news = waiting._register(running("A", "mjproxy", 60), 0.5, None)
    assert not news
    assert core.followed["A"].task.progress == 60
    _version, news = waiting._register(running("A", "mjproxy", 30), 0.6, None)
    assert news  # this caller is behind: the entry's 60 % is news to it


def test_per_task_reads_due_together_go_in_waves():
    """A hundred EvoLink reads due at once are asked for in waves, so no single stretch of the event
    loop sends them all; every task is still read at that moment."""
    core = TrackerCore(get_dialect("evolink"), interval=1.0, expected_seconds=5.0)
    for i in range(100):
        core.follow(running(f"T{i}", "evolink", 0), 0.0)
    due = core.next_due()
    assert due is not None
    waves = []
    while reads := core.plan(due):
        waves.append(len(reads))
    assert max(waves) <= 8 and sum(waves) == 100
