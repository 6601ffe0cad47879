"""One tracker per client: every task someone waits for is followed by one loop of reads.

Where the service has a batched read (midjourney-proxy and new-api ``list-by-condition`` with
``ids``, AceData ``retrieve_batch``) one request per poll interval serves every followed task;
where it has none (EvoLink) each task is read on its own, spaced by the job's age and progress
so that a 20 s job costs a handful of reads, not one every few seconds.  ``wait``, ``wait_all``,
``as_completed`` and the widgets' ProgressView all go through it.

:class:`TrackerCore` decides *what* to read and *when* and digests the answers; it does no I/O
and takes time as an argument, so it is tested without sockets or sleeps.  :class:`SyncTracker`
runs it on a daemon thread for :class:`~mjnb.Client`; :class:`AsyncTracker` as a task on the
running event loop for :class:`~mjnb.AsyncClient`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence

from ._errors import MjnbError, RateLimitError, TaskNotFound
from ._frozen import Frozen, _assign
from ._models import Task, TaskStatus
from .dialects import Request

if TYPE_CHECKING:
    import asyncio

    from ._client import AsyncClient, Client

__all__ = ["TrackerCore", "SyncTracker", "AsyncTracker", "Read"]

#: A batch answer that misses a task this many times in a row makes it be read on its own
#: (which surfaces TaskNotFound when the id is really unknown).
_MISSES_BEFORE_SINGLE_READ = 2
#: Seconds between reads never exceed this for a job whose progress is unknown.
_MAX_DELAY = 8.0
#: Per-task reads sent together at most: a hundred due at once go in waves, so the event loop
#: never spends one long stretch on them (the rest stay due and follow as soon as a wave ends).
_READS_PER_WAVE = 8
#: The share of a job's estimated remaining time waited before the next per-task read.
_SHARE_OF_REMAINING = 0.8


class Read(Frozen):
    """A read the tracker wants done now: ``request`` covers ``task_ids`` (one, or a batch)."""

    request: Request
    task_ids: tuple[str, ...]
    batch: bool

    def __init__(self, request: Request, task_ids: tuple[str, ...], batch: bool) -> None:
        _assign(self, locals())


class _Followed:
    # A plain class, not a dataclass: those cost about a millisecond each at import.
    def __init__(
        self,
        task: Task,
        added: float,
        next_read: float,
        version: int = 0,
        cap: float | None = None,  # the longest a waiter wants between two reads
        misses: int = 0,
        error: BaseException | None = None,
        waiters: int = 0,
        sample: tuple[float, int] | None = None,  # (age, progress) of the last read that moved the progress
    ) -> None:
        self.task = task
        self.added = added
        self.next_read = next_read
        self.version = version
        self.cap = cap
        self.misses = misses
        self.error = error
        self.waiters = waiters
        self.sample = sample


class TrackerCore:
    """What to read and when, for every followed task of one client (no I/O).

    Args:
        dialect: the client's dialect (``prepare``, ``operations``, ``batch_size``).
        interval: seconds between batched reads, and the shortest gap between two reads of a task.
        expected_seconds: how long a job usually takes (spaces per-task reads before progress is known).
    """

    def __init__(self, dialect: Any, interval: float, expected_seconds: float = 30.0) -> None:
        self.dialect = dialect
        self.interval = interval
        self.expected_seconds = expected_seconds
        self.followed: dict[str, _Followed] = {}
        self.reads = 0  # requests planned so far (a figure for benches and tests)
        self.refused = False  # a plan() handed a dialect's refusal to some tasks' waiters: wake them

    @property
    def batched(self) -> bool:
        return bool(getattr(self.dialect, "batch_size", None)) and "get_many" in self.dialect.operations

    def follow(self, task: Task, now: float, cap: float | None = None) -> None:
        """Start (or keep) following ``task``; a newer snapshot replaces the stored one."""
        entry = self.followed.get(task.id)
        if entry is None:
            # The job's age counts from its submit on the server when known, not from now.
            age = min(max(0.0, time.time() - task.submitted_at), 3600.0) if task.submitted_at else 0.0
            first = now + (self.interval if self.batched else self._delay(task, age))
            entry = self.followed[task.id] = _Followed(task, added=now - age, next_read=first)
        # An entry already followed keeps its own state: it is at least as fresh as any snapshot.
        if cap is not None:
            entry.cap = cap if entry.cap is None else min(entry.cap, cap)
            entry.next_read = min(entry.next_read, now + cap)

    def renew(self, task: Task, now: float) -> None:
        """A submit answered for ``task.id`` (a modal continuing a job): its state restarts from ``task``."""
        entry = self.followed.get(task.id)
        if entry is not None:
            entry.task, entry.version, entry.error, entry.misses = task, entry.version + 1, None, 0
            entry.next_read = now + self.interval

    def forget(self, task_id: str) -> None:
        self.followed.pop(task_id, None)

    def unfinished(self) -> list[str]:
        return [tid for tid, e in self.followed.items() if not _settled(e.task) and e.error is None]

    def next_due(self) -> float | None:
        due = [self.followed[tid].next_read for tid in self.unfinished()]
        return min(due) if due else None

    def plan(self, now: float) -> list[Read]:
        """The reads due at ``now`` (marks them as read; call :meth:`ingest` with the answers)."""
        pending = self.unfinished()
        due = [tid for tid in pending if self.followed[tid].next_read <= now]
        if not due:
            return []
        reads: list[Read] = []
        if self.batched:
            # Coalesce: once one task is due, every followed task rides the same batch.
            singles = [tid for tid in pending if self.followed[tid].misses >= _MISSES_BEFORE_SINGLE_READ]
            batch = [tid for tid in pending if tid not in singles]
            size = int(self.dialect.batch_size)
            for start in range(0, len(batch), size):
                ids = tuple(batch[start : start + size])
                request = self._prepared(ids, "get_many", task_ids=ids)
                if request is not None:
                    reads.append(Read(request, ids, True))
            due = [tid for tid in singles if self.followed[tid].next_read <= now]
            for tid in batch:
                self.followed[tid].next_read = now + self._capped(self.followed[tid], self.interval)
        due.sort(key=lambda tid: self.followed[tid].next_read)
        for tid in due[:_READS_PER_WAVE]:
            known = self.followed[tid].task
            request = self._prepared((tid,), "get", task_id=tid, task=known)
            if request is not None:
                reads.append(Read(request, (tid,), False))
            entry = self.followed[tid]
            entry.next_read = now + self._capped(entry, self.interval)  # until the answer says more
        self.reads += len(reads)
        return reads

    def _prepared(self, ids: tuple[str, ...], op: str, **args: Any) -> Request | None:
        """The request, or None when the dialect refuses it: the error then goes to those tasks'
        waiters (a tracker that raised here would stop following every other task too)."""
        try:
            return self.dialect.prepare(op, **args)  # type: ignore[no-any-return]
        except Exception as exc:
            for tid in ids:
                entry = self.followed.get(tid)
                if entry is not None:
                    entry.error, entry.version = exc, entry.version + 1
            self.refused = True
            return None

    def ingest(self, read: Read, result: Any, now: float) -> list[str]:
        """Digest the answer to ``read`` (Tasks, or the exception the read raised).

        Returns:
            The ids whose state changed (their waiters should look).
        """
        changed: list[str] = []
        if isinstance(result, BaseException):
            for tid in read.task_ids:
                entry = self.followed.get(tid)
                if entry is None:
                    continue
                if (isinstance(result, TaskNotFound) and not read.batch) or not isinstance(result, MjnbError):
                    entry.error = result  # an unknown id, or a bug: its waiters must see it
                    entry.version += 1
                    changed.append(tid)
                elif isinstance(result, RateLimitError) and result.retry_after:
                    entry.next_read = max(entry.next_read, now + result.retry_after)
                # other read errors: the task is read again at its next turn; the others go on
            return changed
        tasks = result if isinstance(result, (list, tuple)) else [result]
        seen = {t.id: t for t in tasks if isinstance(t, Task)}
        for tid in read.task_ids:
            entry = self.followed.get(tid)
            if entry is None:
                continue
            fresh = seen.get(tid)
            if fresh is None:
                entry.misses += 1
                continue
            entry.misses = 0
            # Servers do not always echo what we already know (EvoLink: the prompt; AceData: the parent).
            fresh = fresh.evolve(
                prompt=fresh.prompt or entry.task.prompt,
                parent_id=fresh.parent_id or entry.task.parent_id,
                service=fresh.service or entry.task.service,
                journal_id=fresh.journal_id or entry.task.journal_id,
                cost=fresh.cost if fresh.cost is not None else entry.task.cost,
                cost_unit=fresh.cost_unit or entry.task.cost_unit,
            )
            if _changed(entry.task, fresh):
                entry.version += 1
                changed.append(tid)
            entry.task = fresh
            if not read.batch:
                age = now - entry.added
                entry.next_read = now + self._capped(entry, self._delay(fresh, age, entry.sample))
                moved = fresh.progress if fresh.progress is not None and 0 < fresh.progress < 100 and age > 0 else None
                if moved is not None and (entry.sample is None or moved != entry.sample[1]):
                    entry.sample = (age, moved)
        return changed

    def _capped(self, entry: _Followed, delay: float) -> float:
        return delay if entry.cap is None else min(delay, entry.cap)

    def _delay(self, task: Task, age: float, sample: tuple[float, int] | None = None) -> float:
        """Seconds until the next read of a task with no batched read: a share of the time left.

        The time left is estimated from the progress: as ``age × (100 − p) / p`` and, once two reads
        saw it move, from its rate since ``sample`` (the age and progress when it last moved),
        whichever is sooner.  Services report progress in
        steps that lag the job (EvoLink: 30 % until 50 % of it has run), so the first estimate alone
        would aim late; the rate of change sees the steps go by.
        """
        progress = task.progress
        if progress is not None and 0 < progress < 100 and age > 0:
            remaining = age * (100 - progress) / progress
            if sample is not None and progress > sample[1] and age > sample[0]:
                rate = (progress - sample[1]) / (age - sample[0])
                remaining = min(remaining, (100 - progress) / rate)
        else:
            remaining = max(self.expected_seconds - age, 0.0)
        return min(max(_SHARE_OF_REMAINING * remaining, self.interval), max(_MAX_DELAY, self.interval))


def _settled(task: Task) -> bool:
    return task.done or task.status is TaskStatus.AWAITING_INPUT


_STATUS_RANK = {
    TaskStatus.QUEUED: 0,
    TaskStatus.RUNNING: 1,
    TaskStatus.AWAITING_INPUT: 2,
    TaskStatus.SUCCEEDED: 3,
    TaskStatus.FAILED: 3,
    TaskStatus.CANCELLED: 3,
}


def _rank(task: Task) -> tuple[int, int, bool]:
    """How far along a snapshot is: a later snapshot never ranks lower (progress never goes back)."""
    return _STATUS_RANK[task.status], -1 if task.progress is None else task.progress, task.preview_url is not None


def _changed(old: Task, new: Task) -> bool:
    return (old.status, old.progress, old.preview_url, old.image_url, old.fail_reason) != (
        new.status,
        new.progress,
        new.preview_url,
        new.image_url,
        new.fail_reason,
    )


class _Waiting:
    """What both runners share: the core, under a lock, and the bookkeeping of waiters."""

    def __init__(self, core: TrackerCore, on_settled: Callable[[Task], None]) -> None:
        self.core = core
        self.lock = threading.RLock()
        self._on_settled = on_settled

    def _register(self, task: Task, now: float, cap: float | None) -> tuple[int, bool]:
        """Returns the version to wait past, and whether there is news already (no need to wait)."""
        with self.lock:
            self.core.follow(task, now, cap)
            entry = self.core.followed[task.id]
            entry.waiters += 1
            if _rank(task) > _rank(entry.task):
                entry.task = task  # the caller read it more recently (a get()): nothing new in the entry
            news = _settled(entry.task) or entry.error is not None or _rank(entry.task) > _rank(task)
            return entry.version, news

    def settled_among(self, ids: Sequence[str]) -> list[tuple[str, Task | BaseException]]:
        """The followed tasks among ``ids`` that are final (or whose read failed for good)."""
        found: list[tuple[str, Task | BaseException]] = []
        with self.lock:
            for tid in ids:
                entry = self.core.followed.get(tid)
                if entry is not None and entry.error is not None:
                    found.append((tid, entry.error))
                elif entry is not None and _settled(entry.task):
                    found.append((tid, entry.task))
        return found

    def _unregister(self, task_id: str) -> None:
        with self.lock:
            entry = self.core.followed.get(task_id)
            if entry is not None:
                entry.waiters -= 1
                if entry.waiters <= 0 and (_settled(entry.task) or entry.error is not None):
                    self.core.forget(task_id)

    def _snapshot(self, task_id: str) -> Task:
        with self.lock:
            entry = self.core.followed[task_id]
            if entry.error is not None:
                raise entry.error
            return entry.task

    def _apply(self, reads: Sequence[Read], results: Sequence[Any], now: float) -> None:
        with self.lock:
            for read, result in zip(reads, results):
                for tid in self.core.ingest(read, result, now):
                    entry = self.core.followed.get(tid)
                    if entry is not None and _settled(entry.task):
                        self._on_settled(entry.task)


class _Renewing(_Waiting):
    def renew(self, task: Task) -> None:
        with self.lock:
            self.core.renew(task, time.monotonic())


class SyncTracker(_Renewing):
    """The tracker of a :class:`~mjnb.Client`: a daemon thread that reads while someone waits."""

    def __init__(self, client: Client, core: TrackerCore, on_settled: Callable[[Task], None]) -> None:
        super().__init__(core, on_settled)
        self._client = client
        self._cond = threading.Condition(self.lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def follow(self, tasks: Sequence[Task]) -> None:
        """Follow ``tasks`` in the background (for account concurrency and ``resume``)."""
        now = time.monotonic()
        with self._cond:
            for task in tasks:
                self.core.follow(task, now)
            self._ensure_thread()
            self._cond.notify_all()

    def next_state(self, task: Task, timeout: float, cap: float | None) -> Task:
        """The task's next state that differs from ``task``, or its latest one after ``timeout`` seconds."""
        version, news = self._register(task, time.monotonic(), cap)
        settled = news
        try:
            with self._cond:
                self._ensure_thread()
                self._cond.notify_all()
                deadline = time.monotonic() + timeout
                while not settled:
                    entry = self.core.followed[task.id]
                    if entry.version != version or entry.error is not None:
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            return self._snapshot(task.id)
        finally:
            self._unregister(task.id)

    def wait_settled(self, ids: Sequence[str], timeout: float) -> list[tuple[str, Task | BaseException]]:
        """Block until one of ``ids`` is final (or ``timeout`` seconds pass); returns those that are."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._ensure_thread()
            while True:
                found = self.settled_among(ids)
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                self._cond.wait(left)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="mjnb-tracker", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                now = time.monotonic()
                reads = self.core.plan(now)
                if self.core.refused:
                    self.core.refused = False
                    self._cond.notify_all()
                if not reads:
                    due = self.core.next_due()
                    if due is None:
                        self._thread = None
                        return
                    self._cond.wait(max(due - now, 0.0))
                    continue
            results: list[Any] = []
            for read in reads:
                try:
                    results.append(self._client._read(read.request))
                except Exception as exc:  # handed to the waiters of these tasks; the others go on
                    results.append(exc)
            with self._cond:
                self._apply(reads, results, time.monotonic())
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class AsyncTracker(_Renewing):
    """The tracker of an :class:`~mjnb.AsyncClient`: one task on the running event loop."""

    def __init__(self, client: AsyncClient, core: TrackerCore, on_settled: Callable[[Task], None]) -> None:
        super().__init__(core, on_settled)
        self._client = client
        self._task: asyncio.Task[None] | None = None
        self._changed: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _events(self) -> tuple[asyncio.Event, asyncio.Event]:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._changed is None or self._wake is None:
            self._loop, self._changed, self._wake, self._task = loop, asyncio.Event(), asyncio.Event(), None
        return self._changed, self._wake

    def _ensure_task(self) -> None:
        import asyncio

        changed, wake = self._events()
        wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mjnb-tracker")

    def follow(self, tasks: Sequence[Task]) -> None:
        """Follow ``tasks`` in the background (for account concurrency and ``resume``); needs a running loop."""
        now = time.monotonic()
        with self.lock:
            for task in tasks:
                self.core.follow(task, now)
        self._ensure_task()

    async def next_state(self, task: Task, timeout: float, cap: float | None) -> Task:
        """The task's next state that differs from ``task``, or its latest one after ``timeout`` seconds."""
        import asyncio

        version, settled = self._register(task, time.monotonic(), cap)
        try:
            self._ensure_task()
            changed, _ = self._events()
            deadline = time.monotonic() + timeout
            while not settled:
                with self.lock:
                    entry = self.core.followed[task.id]
                    if entry.version != version or entry.error is not None:
                        break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                changed.clear()
                try:
                    await asyncio.wait_for(changed.wait(), left)
                except asyncio.TimeoutError:
                    pass  # the deadline: the caller gets the latest state and decides
            await asyncio.sleep(0)  # a waiter answered at once still lets the loop (and the tracker) run
            return self._snapshot(task.id)
        finally:
            self._unregister(task.id)

    async def wait_settled(self, ids: Sequence[str], timeout: float) -> list[tuple[str, Task | BaseException]]:
        """Wait until one of ``ids`` is final (or ``timeout`` seconds pass); returns those that are."""
        import asyncio

        self._ensure_task()
        changed, _ = self._events()
        deadline = time.monotonic() + timeout
        while True:
            found = self.settled_among(ids)
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), left)
            except asyncio.TimeoutError:
                pass  # the deadline: the loop above returns what is settled

    async def _run(self) -> None:
        import asyncio

        changed, wake = self._events()
        while True:
            with self.lock:
                now = time.monotonic()
                reads = self.core.plan(now)
                due = self.core.next_due() if not reads else now
                if self.core.refused:
                    self.core.refused = False
                    changed.set()
            if due is None:
                return
            if not reads:
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), max(due - now, 0.0))
                except asyncio.TimeoutError:
                    pass  # a read is due
                continue
            results = await asyncio.gather(*(self._read(r.request) for r in reads))
            self._apply(reads, results, time.monotonic())
            changed.set()

    async def _read(self, request: Request) -> Any:
        try:
            read: Awaitable[Any] = self._client._read(request)
            return await read
        except Exception as exc:  # handed to the waiters of these tasks; the others go on
            return exc

    async def aclose(self) -> None:
        import asyncio

        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, RuntimeError):
                pass  # cancelled as asked, or its loop is gone
