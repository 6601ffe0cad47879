"""How a widget runs a job without blocking the kernel.

In Jupyter, cells and widget callbacks run inside the kernel's running asyncio loop, so a job
is simply a task on that loop: Submit, Cancel and canvas events keep arriving while it runs.
With no running loop (plain Python, a script driving widgets) jobs go to one shared
background thread with its own loop.  No nest-asyncio: nothing here re-enters a loop.

Widget updates made by a job run on the job's loop; when that loop is the background
thread's, :data:`ui_lock` serialises them with updates made from the main thread.

Every job runs on ONE loop, the kernel's (the main thread's): JupyterLab ≥ 4.4 sends widget
messages to a kernel *subshell* when the kernel has them (ipykernel 7; Lab's default
``commsOverSubshells: perCommTarget``), and a subshell thread runs an event loop of its own.
A job started from a button there must still run on the kernel's loop, because a client's
connection pool is bound to the loop that opened its connections ("… is bound to a different
event loop" otherwise).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable, Coroutine

__all__ = ["spawn", "Handle", "ui_lock", "as_async_client", "client_for", "default_client"]

#: Held while widget state is changed, so a background-thread job and a main-thread callback
#: never interleave their trait updates (re-entrant: a callback may call another).
ui_lock = threading.RLock()

_background: tuple[asyncio.AbstractEventLoop, threading.Thread] | None = None
_background_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """The shared worker loop, started on first use (a daemon thread: it never holds exit)."""
    global _background
    with _background_lock:
        if _background is None or not _background[1].is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="mjnb-widgets", daemon=True)
            thread.start()
            _background = (loop, thread)
        return _background[0]


class Handle:
    """A running job: awaitable from any loop, or waited on from a thread with :meth:`wait`."""

    def __init__(self, future: concurrent.futures.Future, loop: asyncio.AbstractEventLoop) -> None:
        self._future = future
        self.loop = loop

    def __await__(self):
        return asyncio.wrap_future(self._future).__await__()

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> None:
        """Stop following the job (the coroutine receives CancelledError)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self._cancel_inner)

    def _cancel_inner(self) -> None:
        task = getattr(self._future, "_mjnb_task", None)
        if task is not None:
            task.cancel()

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the job ends (not from inside its own loop: that would deadlock)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            raise RuntimeError("Handle.wait() would block the loop the job runs on; use `await handle` instead")
        return self._future.result(timeout)


_kernel_loop: asyncio.AbstractEventLoop | None = None  # the main thread's running loop, once seen


def _job_loop() -> tuple[asyncio.AbstractEventLoop, bool]:
    """(the loop jobs run on, whether it is the caller's running loop)."""
    global _kernel_loop
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None and threading.current_thread() is threading.main_thread():
        _kernel_loop = running
        return running, True
    if _kernel_loop is not None and _kernel_loop.is_running():
        return _kernel_loop, running is _kernel_loop  # a subshell thread: hand over to the kernel's loop
    if running is not None:
        return running, True
    return _background_loop(), False


def spawn(make_coro: Callable[[], Coroutine[Any, Any, Any]]) -> Handle:
    """Run ``make_coro()`` on the kernel's loop (the main thread's), else on the running loop,
    else on the background loop."""
    loop, here = _job_loop()
    if not here:
        future: concurrent.futures.Future = concurrent.futures.Future()

        def start() -> None:
            task = loop.create_task(make_coro())
            future._mjnb_task = task  # type: ignore[attr-defined]
            _chain(task, future)

        loop.call_soon_threadsafe(start)
        return Handle(future, loop)
    future = concurrent.futures.Future()
    task = loop.create_task(make_coro())
    future._mjnb_task = task  # type: ignore[attr-defined]
    _chain(task, future)
    return Handle(future, loop)


def _chain(task: asyncio.Task, future: concurrent.futures.Future) -> None:
    def copy(done: asyncio.Task) -> None:
        if done.cancelled():
            future.cancel()
        elif done.exception() is not None:
            future.set_exception(done.exception())  # retrieved here, so asyncio does not warn
        else:
            future.set_result(done.result())

    task.add_done_callback(copy)


def as_async_client(client: Any) -> Any:
    """An AsyncClient for ``client``: itself, or one with the same settings as a sync Client."""
    import mjnb

    if client is None or isinstance(client, mjnb.AsyncClient):
        return client
    if isinstance(client, mjnb.Client):
        settings = client._settings  # the key stays an ApiKey object: never a plain string here
        if settings.embedded:
            return mjnb.AsyncClient(settings.dialect, journal=client.journal.path if client.journal else False)
        return mjnb.AsyncClient(
            settings.dialect, settings.base_url, settings.api_key,
            journal=client.journal.path if client.journal else False,
        )
    raise TypeError(f"client: expected mjnb.AsyncClient or mjnb.Client, got {type(client).__name__}")


def client_for(client: Any, dialect: str, cache: dict[str, Any]) -> Any:
    """A client that can fetch a task of ``dialect``: ``client`` itself, or — when ``client``
    is on the embedded simulator, which serves every dialect — one for that dialect."""
    from .._errors import ValidationError

    if dialect == client.dialect:
        return client
    if client.embedded:
        if dialect not in cache:
            import mjnb

            cache[dialect] = mjnb.AsyncClient(dialect)
        return cache[dialect]
    raise ValidationError(
        f"task: this is a {dialect} task but the client speaks {client.dialect} at another service; "
        f"connect to the {dialect} service to open it", field="task",
    )


def default_client(dialect: str | None = None) -> Any:
    """An AsyncClient configured from the environment, or on the embedded simulator."""
    import mjnb

    return mjnb.AsyncClient(dialect)


_job_loop()  # imported from a cell: remember the kernel's loop at once
