"""ProgressView: one row per job — status, progress bar, elapsed time, preview, reason, Cancel.

A job is submitted through the AsyncClient and followed with ``client.wait(on_progress=…)``
as a task on the kernel's running loop (see ``_runner``), so many jobs run at once and the
kernel stays free.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

import ipywidgets as widgets
import traitlets

from .. import _errors as errors
from .._models import Task, TaskStatus
from ._events import Event
from ._runner import Handle, as_async_client, close_clients, default_client, spawn, ui_lock
from ._style import classes, stylesheet

__all__ = ["ProgressView", "Job", "plain_reason", "format_elapsed"]

#: How long a row follows a job before giving up (the job goes on; History finds it).
FOLLOW_TIMEOUT = 1800.0

_STATUS_WORDS = {
    TaskStatus.QUEUED: "queued",
    TaskStatus.RUNNING: "running",
    TaskStatus.AWAITING_INPUT: "waiting for input",
    TaskStatus.SUCCEEDED: "done",
    TaskStatus.FAILED: "failed",
    TaskStatus.CANCELLED: "cancelled",
}
_BAR_STYLES = {TaskStatus.SUCCEEDED: "success", TaskStatus.FAILED: "danger", TaskStatus.CANCELLED: "warning"}


def format_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def plain_reason(problem: BaseException | Task) -> str:
    """Why a job did not succeed, in words a user can act on (never containing a key)."""
    if isinstance(problem, Task):
        if problem.status is TaskStatus.CANCELLED:
            return "Cancelled." + (f" ({problem.fail_reason})" if problem.fail_reason else "")
        reason = problem.fail_reason or "the server gave no reason"
        return f"The job failed: {reason}" + (f" (code {problem.error_code})" if problem.error_code is not None else "")
    exc = problem
    if isinstance(exc, errors.TaskFailed):
        return plain_reason(exc.task)
    if isinstance(exc, errors.ModerationError):
        word = f" (banned word: {exc.banned_word})" if exc.banned_word else ""
        return f"Refused by the service's content filter{word}: {exc.message}"
    if isinstance(exc, errors.AuthenticationError):
        return f"The service refused the API key — check the key and the base URL. ({exc.message})"
    if isinstance(exc, errors.RateLimitError):
        wait = f" Retry in {exc.retry_after:g} s." if exc.retry_after else " Try again in a moment."
        return f"Too many requests or the queue is full.{wait} ({exc.message})"
    if isinstance(exc, errors.TaskNotFound):
        return f"The service does not know this task. ({exc.message})"
    if isinstance(exc, errors.ServerError):
        return f"The service failed on its side. ({exc})"
    if isinstance(exc, errors.TaskTimeout):
        return (
            f"No final answer after {exc.timeout:g} s, so this row stopped following it; "
            "the job goes on at the service — reopen it from History."
        )
    if isinstance(exc, errors.TransportError):
        return f"Could not reach the service: {exc}"
    if isinstance(exc, (errors.MjnbError, ValueError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Job:
    """One submitted job and its row in a ProgressView.

    ``task`` is the latest Task seen (None until the service accepts the job), ``error`` the
    exception that ended it early, if any.  ``await job.result()`` gives the final Task (a
    failed or cancelled one too) or raises the error that left no task.
    """

    def __init__(self, view: ProgressView, label: str, client: Any) -> None:
        self.view = view
        self.label = label
        self.client = client
        self.task: Task | None = None
        self.error: BaseException | None = None
        self.message = ""
        self.handle: Handle | None = None
        self._started = time.monotonic()
        self._ended: float | None = None
        self._preview_url: str | None = None
        self._preview_busy = False
        self._build_row()

    # -- the row ------------------------------------------------------------------------------
    def _build_row(self) -> None:
        # A long label ends with "…" (stylesheet) and shows whole as its tooltip: never cut mid-character.
        self.label_widget = classes(
            widgets.Label(self.label, tooltip=self.label, layout=widgets.Layout(width="30%")),
            "mjnb-progress-label",
            "mjnb-ellipsis",
        )
        self.status_widget = classes(
            widgets.Label("submitting…", layout=widgets.Layout(width="16%", min_width="9em")),
            "mjnb-progress-status",
            "mjnb-ellipsis",
        )
        self.bar = classes(
            widgets.IntProgress(value=0, min=0, max=100, bar_style="info", layout=widgets.Layout(width="22%")),
            "mjnb-progress-bar",
            "mjnb-progress-indeterminate",
        )
        self.elapsed_widget = classes(
            widgets.Label("0:00", layout=widgets.Layout(width="3.5em")), "mjnb-progress-elapsed"
        )
        self.preview = classes(
            widgets.Image(
                format="jpeg", layout=widgets.Layout(width="64px", height="64px", object_fit="contain", display="none")
            ),
            "mjnb-progress-preview",
        )
        self.error_widget = classes(widgets.HTML("", layout=widgets.Layout(display="none")), "mjnb-progress-error")
        cancellable = "cancel" in self.client.operations
        self.cancel_button = classes(
            widgets.Button(
                description="Cancel",
                icon="stop",
                disabled=True,
                tooltip="Ask the service to cancel this job",
                layout=widgets.Layout(width="auto", display=None if cancellable else "none"),
            ),
            "mjnb-cancel",
        )
        self.cancel_button.on_click(lambda _: self.cancel())
        line = widgets.HBox(
            [self.label_widget, self.status_widget, self.bar, self.elapsed_widget, self.preview, self.cancel_button],
            layout=widgets.Layout(align_items="center"),
        )
        self.row = classes(widgets.VBox([line, self.error_widget]), "mjnb-progress-row")

    # -- state --------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.handle is not None and self.handle.done()

    @property
    def status_text(self) -> str:
        """What the row's status says ("running 40%", "done", "error" …)."""
        return str(self.status_widget.value)

    async def result(self) -> Task:
        """The final Task (a failed or cancelled one too); raises the error that left no task."""
        assert self.handle is not None
        task: Task = await self.handle
        return task

    def cancel(self) -> None:
        """Ask the service to cancel (where the dialect can); the row shows what it answers."""
        if self.task is None or self.done:
            return
        task = self.task
        self.cancel_button.disabled = True
        self.cancel_button.description = "Cancelling…"

        async def cancel() -> None:
            try:
                await self.client.cancel(task)
            except Exception as exc:  # the job goes on: say why it could not be cancelled
                with ui_lock:
                    self.cancel_button.description = "Cancel"
                    self.cancel_button.disabled = False
                    self._show_error(f"Could not cancel: {plain_reason(exc)}")

        spawn(cancel)

    def _update(self, task: Task) -> None:
        with ui_lock:
            if self.task is not None and task.progress is None and self.task.progress is not None and not task.done:
                task = task.evolve(progress=self.task.progress)  # a blank is old news, not "unknown"
            self.task = task
            self.view._job_changed()
            words = _STATUS_WORDS.get(task.status, task.status.value)
            if task.progress is not None and task.status is TaskStatus.RUNNING:
                words = f"{words} {task.progress}%"
            self.status_widget.value = self.status_widget.tooltip = words
            if task.status is TaskStatus.SUCCEEDED:
                self._set_bar(100, "success")
            elif task.done:
                self._set_bar(task.progress or self.bar.value, _BAR_STYLES[task.status])
            elif task.progress is None:
                self._set_bar(None, "info")
            else:
                self._set_bar(task.progress, "")
            self.cancel_button.disabled = task.done or self.cancel_button.description != "Cancel"
            if task.done:
                self.cancel_button.layout.display = "none"
            if task.done and not task.succeeded:
                self._show_error(plain_reason(task))
        if task.preview_url and task.preview_url != self._preview_url and not task.done and not self._preview_busy:
            self._preview_url = task.preview_url
            self._preview_busy = True
            asyncio.get_running_loop().create_task(self._fetch_preview(task))

    def _set_bar(self, value: int | None, style: str) -> None:
        if value is None:
            self.bar.add_class("mjnb-progress-indeterminate")  # the stylesheet stripes the whole bar
            self.bar.value = 0  # without it (VS Code, Colab) an empty bar: no figure claimed
        else:
            self.bar.remove_class("mjnb-progress-indeterminate")
            self.bar.value = max(0, min(100, int(value)))
        self.bar.bar_style = style

    async def _fetch_preview(self, task: Task) -> None:
        from .. import images

        try:
            image = await self.client.download(task.evolve(image_url=task.preview_url, image_urls=()))
            data = images.thumbnail_png(image, 128)
        except Exception:  # a preview is a nicety: a missing one must not fail the job
            return
        finally:
            self._preview_busy = False
        with ui_lock:
            if self.task is not None and not self.task.done:
                self.preview.format = "png"
                self.preview.value = data
                self.preview.layout.display = None

    def _show_error(self, text: str) -> None:
        import html

        self.message = text
        self.error_widget.value = html.escape(text, quote=False)
        self.error_widget.layout.display = None

    def _tick(self) -> None:
        end = self._ended if self._ended is not None else time.monotonic()
        with ui_lock:
            self.elapsed_widget.value = format_elapsed(end - self._started)

    def _finish(self, error: BaseException | None = None) -> None:
        self._ended = time.monotonic()
        self._tick()
        with ui_lock:
            self.cancel_button.layout.display = "none"
            if self.preview.value and self.task is not None and self.task.succeeded:
                self.preview.layout.display = "none"  # the result replaces the preview
            if error is not None:
                self.error = error
                self.status_widget.value = "stopped" if isinstance(error, errors.TaskTimeout) else "error"
                self._set_bar(self.bar.value if self.task else 0, "danger")
                self._show_error(plain_reason(error))


class ProgressView(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Live rows for the jobs a notebook started; ``start(label, submit)`` adds one.

    Traits: ``tasks`` — the latest Task of every job the service accepted, oldest first (a
    tuple; ``observe`` it or ``dlink`` it).  Events: ``on_done(callback, remove=False)`` —
    ``callback(task)`` after every job that succeeds (a callback may return an awaitable).

    >>> view = ProgressView(on_done=print)
    >>> job = view.start("a lighthouse", lambda c: c.imagine("a lighthouse --ar 3:2"))
    >>> task = await job.result()
    """

    tasks = traitlets.Tuple(help="the latest Task of each job, oldest first")

    def __init__(self, client: Any = None, *, on_done: Callable[[Task], Any] | None = None, **kw: Any) -> None:
        self._owned: list[Any] = []  # AsyncClients made here, closed with the view
        self._client = as_async_client(client, self._owned)
        self.jobs: list[Job] = []
        self._done = Event()
        if on_done is not None:
            self._done.register(on_done)
        self.rows = widgets.VBox([])
        self.clear_button = classes(
            widgets.Button(
                description="Clear finished",
                icon="broom",
                layout=widgets.Layout(width="auto", align_self="flex-start", display="none"),
            ),
            "mjnb-progress-clear",
        )
        self.clear_button.on_click(lambda _: self.clear_finished())
        super().__init__([stylesheet(), self.rows, self.clear_button], **kw)
        classes(self, "mjnb-progress")

    @property
    def client(self) -> Any:
        """The AsyncClient new jobs use (made on first use when none was given)."""
        if self._client is None:
            self._client = default_client(owned=self._owned)
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = as_async_client(value, self._owned)  # running jobs keep the client they started with

    def on_done(self, callback: Callable[[Task], Any], remove: bool = False) -> None:
        """Call ``callback(task)`` after every job that succeeds (or stop, with ``remove=True``).

        ``task`` is the final :class:`~mjnb.Task`; a callback may return an awaitable (awaited on
        the jobs' loop).  An exception it raises is shown in the job's row; the job stays done.
        """
        self._done.register(callback, remove)

    def _job_changed(self) -> None:
        with ui_lock:
            self.tasks = tuple(job.task for job in self.jobs if job.task is not None)

    def start(
        self,
        label: str,
        submit: Callable[[Any], Awaitable[Task]],
        *,
        on_done: Callable[[Task], Any] | None = None,
        client: Any = None,
    ) -> Job:
        """Submit with ``submit(client)`` and follow the job; ``on_done(task)`` runs on success.

        ``client`` overrides the view's client for this job (a task of another dialect).
        """
        job = Job(self, label, as_async_client(client) or self.client)
        with ui_lock:
            self.jobs.append(job)
            self.rows.children = (job.row, *self.rows.children)  # newest on top
        job.handle = spawn(lambda: self._follow(job, submit, on_done))
        return job

    async def _follow(
        self, job: Job, submit: Callable[[Any], Awaitable[Task]], on_done: Callable[[Task], Any] | None
    ) -> Task:
        ticker = asyncio.get_running_loop().create_task(self._tick(job))
        try:
            task = await submit(job.client)
            if not isinstance(task, Task):
                raise TypeError(f"submit: must return a Task, got {type(task).__name__}")
            job._update(task)
            if not task.done and task.status is not TaskStatus.AWAITING_INPUT:
                task = await job.client.wait(
                    task, on_progress=job._update, raise_on_failure=False, timeout=FOLLOW_TIMEOUT
                )
                job._update(task)
        except asyncio.CancelledError:
            job._finish(errors.MjnbError("Stopped following this job."))
            raise
        except Exception as exc:
            job._finish(exc)
            raise
        finally:
            ticker.cancel()
        job._finish()
        self._show_clear()
        if task.succeeded:

            def failed(exc: Exception) -> None:  # the job succeeded; only showing it failed
                with ui_lock:
                    job._show_error(f"Done, but showing the result failed: {plain_reason(exc)}")

            callbacks = Event()
            if on_done is not None:
                callbacks.register(on_done)
            for callback in self._done.callbacks:
                callbacks.register(callback)
            try:
                await callbacks.afire(task, on_error=failed)
            except asyncio.CancelledError:
                # A newer show() superseded the one a callback awaited; only our own cancellation propagates.
                current = asyncio.current_task()
                cancelling = getattr(current, "cancelling", None)  # Python 3.11+; 3.10 cannot tell, so it stops
                if cancelling is None or cancelling():
                    raise
        return task

    async def _tick(self, job: Job) -> None:
        while True:
            job._tick()
            await asyncio.sleep(1)

    def _show_clear(self) -> None:
        with ui_lock:
            self.clear_button.layout.display = None

    def clear_finished(self) -> None:
        """Remove the rows of finished jobs (their tasks stay in the journal and History)."""
        with ui_lock:
            self.jobs = [j for j in self.jobs if not j.done]
            keep = {id(j.row) for j in self.jobs}
            self.rows.children = tuple(r for r in self.rows.children if id(r) in keep)
            self.clear_button.layout.display = "none"

    def close(self) -> None:
        """Close the view and the AsyncClients it made (running jobs are cancelled first)."""
        for job in self.jobs:
            if job.handle is not None and not job.handle.done():
                job.handle.cancel()
        self.closing = close_clients(self._owned)  # awaitable: the connections closed
        super().close()

    def __repr__(self) -> str:
        return f"ProgressView(jobs={len(self.jobs)}, running={sum(not j.done for j in self.jobs)})"
