"""The journal's one SQLite connection, its lock and its single writer thread.

Why one kept connection: opening a connection and committing durably costs ≈ 0.8 ms per write,
which made the journal most of a call's overhead (issue 10 §1).  Progress updates commit with
``synchronous=NORMAL`` (WAL: no fsync).  The row written before a paid submit switches to
``synchronous=FULL`` for its commit (fsynced, with every earlier frame of the WAL): not even a
power cut can make mjnb forget that it sent a submit, so nothing is ever resent blindly.  The
answer's row (the accepted id, the failure) waits as long for another process's lock but commits
without its own fsync: it survives a crash of the process or the kernel, and the next fsynced
commit makes it durable; after a power cut it could read ``sending`` again, which
``Client.reconcile()`` settles from the service's listing.

Ordering: jobs queued for the writer thread run in queue order, and a call made directly on
another thread first runs every job queued before it (under the same lock), so a queued progress
update can never land after a newer direct write.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

__all__ = ["Store"]

_log = logging.getLogger("mjnb.journal")
T = TypeVar("T")

#: Seconds a progress write waits for another process's lock before it is kept for later.
LIGHT_WAIT = 0.25

_Job = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], "concurrent.futures.Future[Any] | None"]


class Store:
    """One connection (usable from any thread while holding ``lock``, after ``drain()``) and a lazy writer thread."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.conn = sqlite3.connect(path, timeout=timeout, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        self.writes = 0  # committed write statements, for tests and the bench
        self.closed = False
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._draining = False
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._light_ms = int(min(timeout, LIGHT_WAIT) * 1000)
        try:
            with self.mode(True, None):  # switching to WAL takes the file's lock once
                self.conn.execute("PRAGMA journal_mode=WAL")
        except BaseException:
            self.conn.close()
            raise

    # -- the writer thread --------------------------------------------------------------------
    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        """Queue ``fn(*args, **kwargs)`` for the writer thread; returns at once."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self.closed:
            future.set_exception(RuntimeError(f"journal {self.path} is closed"))
            return future
        self._start_thread()
        self._jobs.put((fn, args, kwargs, future))
        self._wake.set()
        return future

    def submit_nowait(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` for the writer thread with no future (``fn`` handles its own errors)."""
        if self.closed:
            raise sqlite3.ProgrammingError(f"journal {self.path} is closed")
        self._start_thread()
        self._jobs.put((fn, args, {}, None))
        self._wake.set()

    def _start_thread(self) -> None:
        if self._thread is not None:
            return
        with self._thread_lock:
            if self._thread is None:
                # A daemon thread, stopped by close() (which also runs at interpreter exit): a
                # non-daemon one would make the interpreter wait for it before atexit handlers run.
                self._thread = threading.Thread(target=self._run, name=f"mjnb-journal:{self.path.name}", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self.lock:
                stop = self.drain()
            if stop:
                return

    def drain(self) -> bool:
        """Run every queued job (caller holds ``lock``); True when the stop marker was reached."""
        if self._draining:  # a job that itself takes the lock: the jobs after it wait their turn
            return False
        self._draining = True
        try:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    return False
                if job is None:
                    if threading.current_thread() is self._thread:
                        return True
                    self._jobs.put(None)  # the stop marker is the writer thread's: hand it back
                    self._wake.set()
                    return False
                fn, args, kwargs, future = job
                if future is None:
                    fn(*args, **kwargs)
                    continue
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to whoever holds the future
                    future.set_exception(exc)
                else:
                    future.set_result(result)
        finally:
            self._draining = False

    # -- writes -------------------------------------------------------------------------------
    # Two modes per write.  Durable (submit rows): synchronous=FULL and up to ``timeout`` waiting for
    # another process's lock.  Light (progress): synchronous=NORMAL and a short wait, since a stalled
    # progress write would stall a fetch; the caller keeps what it could not write.
    @contextmanager
    def mode(self, durable: bool, wait: float | None, *, fsync: bool = True) -> Iterator[None]:
        """Durable: a ``wait`` (None: ``timeout``) for locks, and ``synchronous=FULL`` when ``fsync``; else as is."""
        if not durable:
            yield
            return
        if fsync:
            self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(f"PRAGMA busy_timeout={int((self.timeout if wait is None else wait) * 1000)}")
        try:
            yield
        finally:
            if fsync:
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA busy_timeout={self._light_ms}")

    def write(self, sql: str, args: tuple[Any, ...] | list[Any], *, durable: bool) -> sqlite3.Cursor:
        """One autocommitted statement (caller holds ``lock``); fsynced when ``durable``."""
        with self.mode(durable, None):
            cursor = self.conn.execute(sql, args)
        self.writes += 1
        return cursor

    @contextmanager
    def transaction(
        self, *, durable: bool, wait: float | None = None, fsync: bool = True
    ) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on error); fsynced when ``durable`` and ``fsync``.

        ``wait`` caps the wait for another process's lock (None: ``timeout``; light writes wait briefly).
        """
        with self.mode(durable, wait, fsync=fsync):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
                self.writes += 1
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    # -- the end ------------------------------------------------------------------------------
    def stop_thread(self) -> None:
        """Run what is queued and stop the writer thread (not under ``lock``: it needs it)."""
        thread = self._thread
        if thread is None:
            return
        self._jobs.put(None)
        self._wake.set()
        if thread is not threading.current_thread():
            thread.join()

    def close_connection(self) -> None:
        with self.lock:
            if not self.closed:
                self.drain()  # a job queued after the stop marker still runs, never dropped
                self.closed = True
                self.conn.close()
                _log.debug("journal %s closed after %d writes", self.path, self.writes)
