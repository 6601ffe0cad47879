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
from typing import Any, Callable, Coroutine, Generator

__all__ = ["spawn", "Handle", "ui_lock", "as_async_client", "client_for", "default_client", "close_clients"]

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
    """A running job: awaitable from any loop, or waited on from a thread with :meth:`wait`.

    ``loop`` is the loop the job runs on; ``future`` the :class:`concurrent.futures.Future`
    that :func:`asyncio.run_coroutine_threadsafe` gave (cancelling it cancels the job).
    """

    def __init__(self, future: concurrent.futures.Future[Any], loop: asyncio.AbstractEventLoop) -> None:
        self._future = future
        self.loop = loop

    def __await__(self) -> Generator[Any, None, Any]:
        return asyncio.wrap_future(self._future).__await__()

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> None:
        """Stop following the job (its coroutine receives CancelledError)."""
        if not self.loop.is_closed():
            self._future.cancel()

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the job ends (not from inside its own loop: that would deadlock).

        Raises:
            RuntimeError: called from the loop the job runs on.
        """
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            raise RuntimeError("Handle.wait() would block the loop the job runs on; use `await handle` instead")
        return self._future.result(timeout)


_kernel_loop: asyncio.AbstractEventLoop | None = None  # the main thread's running loop, once seen


def _job_loop() -> asyncio.AbstractEventLoop:
    """The loop jobs run on: the kernel's (the main thread's), else the running one, else the background one."""
    global _kernel_loop
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None and threading.current_thread() is threading.main_thread():
        _kernel_loop = running
        return running
    if _kernel_loop is not None and _kernel_loop.is_running():
        return _kernel_loop  # a subshell thread: hand over to the kernel's loop
    if running is not None:
        return running
    return _background_loop()


def spawn(make_coro: Callable[[], Coroutine[Any, Any, Any]]) -> Handle:
    """Run ``make_coro()`` on the jobs' loop (see the module docstring) and return its Handle.

    ``asyncio.run_coroutine_threadsafe`` does the hand-over, the result or exception chaining
    and the cancellation, from any thread, the loop's own included.
    """
    loop = _job_loop()
    return Handle(asyncio.run_coroutine_threadsafe(make_coro(), loop), loop)


def close_clients(clients: list[Any]) -> list[Handle]:
    """Close the AsyncClients a widget created (``aclose`` on the jobs' loop, where their
    connections live); the list is emptied.  A client given by the user is never in it.

    Returns:
        One Handle per client (await them to know the connections are closed).
    """
    owned, clients[:] = list(clients), []
    return [spawn(client.aclose) for client in owned]


def as_async_client(client: Any, owned: list[Any] | None = None) -> Any:
    """An AsyncClient for ``client``: itself, or one with the same settings as a sync Client.

    A client made here is appended to ``owned`` (the widget's list, closed with the widget).

    Raises:
        TypeError: ``client`` is neither an AsyncClient nor a Client.
    """
    import mjnb

    if client is None or isinstance(client, mjnb.AsyncClient):
        return client
    if isinstance(client, mjnb.Client):
        settings = client._settings  # the key stays an ApiKey object: never a plain string here
        journal = client.journal.path if client.journal else False
        if settings.embedded:
            made = mjnb.AsyncClient(settings.dialect, journal=journal)
        else:
            made = mjnb.AsyncClient(settings.dialect, settings.base_url, settings.api_key, journal=journal)
        if owned is not None:
            owned.append(made)
        return made
    raise TypeError(f"client: expected mjnb.AsyncClient or mjnb.Client, got {type(client).__name__}")


def client_for(client: Any, dialect: str, cache: dict[str, Any]) -> Any:
    """A client that can fetch a task of ``dialect``: ``client`` itself, or — when ``client``
    is on the embedded simulator, which serves every dialect — one for that dialect, kept in
    ``cache`` (the widget owns those: close them with ``close_clients(list(cache.values()))``).

    Raises:
        ValidationError: the task's dialect is served elsewhere than ``client``'s service.
    """
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
        f"connect to the {dialect} service to open it",
        field="task",
    )


def default_client(dialect: str | None = None, owned: list[Any] | None = None) -> Any:
    """An AsyncClient configured from the environment, or on the embedded simulator (appended to ``owned``)."""
    import mjnb

    made = mjnb.AsyncClient(dialect)
    if owned is not None:
        owned.append(made)
    return made


_job_loop()  # imported from a cell: remember the kernel's loop at once
