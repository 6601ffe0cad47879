"""ProgressView against the embedded simulator: rows, bars, reasons, Cancel, many jobs at once."""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from PIL import Image

import mjnb
from mjnb import Task, TaskStatus
from mjnb.widgets import Job, ProgressView


async def until(condition, what: str, limit: float = 30.0) -> None:
    """Let the loop run until ``condition()`` holds (a state, not a time: the limit only stops a hang)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


async def test_a_job_runs_to_done_with_a_full_green_bar(client):
    view = ProgressView(client)
    seen: list[tuple[int, bool]] = []  # (bar value, shown as indeterminate?)
    job = view.start("a lighthouse", lambda c: c.imagine("a lighthouse at dusk --ar 3:2"))
    job.bar.observe(
        lambda change: seen.append((change["new"], "mjnb-progress-indeterminate" in job.bar._dom_classes)),
        names="value",
    )
    assert job.status_text == "submitting…"  # the row is there at once, before any answer
    task = await job.result()
    assert task.succeeded and job.task == task
    assert job.status_text == "done"
    assert job.bar.value == 100 and job.bar.bar_style == "success"
    assert "mjnb-progress-indeterminate" not in job.bar._dom_classes
    assert re.fullmatch(r"\d+:\d\d", job.elapsed_widget.value)
    assert job.error is None and job.error_widget.layout.display == "none"
    assert job.cancel_button.layout.display == "none"  # nothing left to cancel
    known = [value for value, indeterminate in seen if not indeterminate]
    assert known and known == sorted(known) and known[-1] == 100  # the bar never goes backwards
    assert list(view.rows.children) == [job.row]
    assert "mjnb-progress-row" in job.row._dom_classes and "mjnb-progress" in view._dom_classes


async def test_many_jobs_run_at_once_each_in_its_own_row(client):
    view = ProgressView(client)
    jobs = [view.start(f"fox {i}", lambda c, i=i: c.imagine(f"a fox number {i}")) for i in range(3)]
    assert all(not j.done for j in jobs)  # start() returned at once: the kernel is free
    tasks = await asyncio.gather(*(j.result() for j in jobs))
    assert [t.status for t in tasks] == [TaskStatus.SUCCEEDED] * 3
    assert len({t.id for t in tasks}) == 3
    assert [r for r in view.rows.children] == [j.row for j in reversed(jobs)]  # newest on top
    assert [j.status_text for j in jobs] == ["done"] * 3


async def test_on_done_gets_the_finished_task_once(client):
    view = ProgressView(client)
    received: list[Task] = []
    job = view.start("a fox", lambda c: c.imagine("a fox"), on_done=received.append)
    task = await job.result()
    assert received == [task]


async def test_bad_input_is_refused_before_sending_and_the_row_says_why(client):
    view = ProgressView(client)
    job = view.start("too stylish", lambda c: c.imagine("a fox --s 5000"))
    with pytest.raises(mjnb.ValidationError):
        await job.result()
    assert job.task is None  # nothing was sent, nothing to follow
    assert job.status_text == "error"
    assert job.error_widget.layout.display != "none"
    assert "--s: 5000 is out of range; allowed: a whole number from 0 to 1000" in job.error_widget.value
    assert job.bar.bar_style == "danger"


async def test_an_unknown_action_fails_with_the_allowed_list(client):
    view = ProgressView(client)
    task = await view.start("a fox", lambda c: c.imagine("a fox")).result()
    job = view.start("U9", lambda c: c.action(task, "U9"))
    with pytest.raises(mjnb.ValidationError):
        await job.result()
    assert "does not offer 'U9'; allowed: U1" in job.error_widget.value


def test_a_blank_progress_shows_an_indeterminate_info_bar():
    # What a server that gives no figure looks like (AceData before its first answer).
    from mjnb.widgets._progress import Job

    view = ProgressView(mjnb.AsyncClient("acedata"))
    job = Job(view, "no figure", view.client)
    job._update(Task(id="t1", dialect="acedata", status=TaskStatus.RUNNING, progress=None))
    assert "mjnb-progress-indeterminate" in job.bar._dom_classes and job.bar.bar_style == "info"
    assert job.status_text == "running"
    job._update(Task(id="t1", dialect="acedata", status=TaskStatus.RUNNING, progress=40))
    assert "mjnb-progress-indeterminate" not in job.bar._dom_classes and job.bar.value == 40
    assert job.status_text == "running 40%"
    job._update(Task(id="t1", dialect="acedata", status=TaskStatus.RUNNING, progress=None))
    assert job.bar.value == 40  # a later blank is old news, not "unknown"
    job._update(
        Task(
            id="t1",
            dialect="acedata",
            status=TaskStatus.FAILED,
            progress=None,
            fail_reason="Banned prompt detected",
            error_code="prompt_banned",
        )
    )
    assert job.status_text == "failed" and job.bar.bar_style == "danger"
    assert "The job failed: Banned prompt detected (code prompt_banned)" in job.error_widget.value


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi", "acedata", "evolink"])
async def test_cancel_is_offered_exactly_where_the_dialect_can_cancel(dialect, make_client):
    client = make_client(dialect)
    view = ProgressView(client)
    job = view.start("a fox", lambda c: c.imagine("a fox"))
    assert (job.cancel_button.layout.display != "none") == ("cancel" in client.operations)
    await job.result()


async def test_a_preview_image_reaches_the_row_as_bytes(slow_client):
    view = ProgressView(slow_client)
    job = view.start("a slow fox", lambda c: c.imagine("a slow fox"))
    await until(lambda: bool(job.preview.value), "a preview image in the row while the job runs")
    assert not job.done
    assert job.preview.layout.display != "none"
    assert Image.open(io.BytesIO(job.preview.value)).format == "PNG"
    await job.result()
    assert job.preview.layout.display == "none"  # the result replaces the preview


async def test_cancel_stops_a_running_job(slow_client):
    view = ProgressView(slow_client)
    job = view.start("a slow fox", lambda c: c.imagine("a slow fox to cancel"))
    await until(lambda: job.task is not None and not job.cancel_button.disabled, "the job accepted and cancellable")
    job.cancel_button.click()
    task = await job.result()
    assert task.status is TaskStatus.CANCELLED
    assert job.status_text == "cancelled" and job.bar.bar_style == "warning"
    assert "Cancelled" in job.error_widget.value


async def test_clear_finished_keeps_running_rows(client):
    view = ProgressView(client)
    first = view.start("first", lambda c: c.imagine("first fox"))
    await first.result()
    assert view.clear_button.layout.display != "none"
    view.clear_button.click()
    assert view.rows.children == () and view.jobs == []


def test_with_no_running_loop_jobs_run_on_a_background_thread():
    # Plain Python (a script, no kernel): start() still returns at once and the job runs.
    import threading

    view = ProgressView()
    job = view.start("a fox", lambda c: c.imagine("a fox from a script"))
    assert job.handle.loop is not None and not job.handle.loop.is_closed()
    task = job.handle.wait(timeout=60)
    assert task.succeeded and job.status_text == "done" and job.bar.value == 100
    assert any(t.name == "mjnb-widgets" for t in threading.enumerate())


async def test_waiting_for_a_job_inside_its_own_loop_is_refused(client):
    view = ProgressView(client)
    job = view.start("a fox", lambda c: c.imagine("a fox"))
    with pytest.raises(RuntimeError, match="use `await handle`"):
        job.handle.wait()
    await job.result()


async def test_a_long_label_ends_with_an_ellipsis_and_shows_whole_as_its_tooltip(client):
    from mjnb.widgets._style import css

    view = ProgressView(client)
    label = "a lighthouse on a cliff at dusk, oil painting, dramatic light --ar 3:2 --s 250 --v 7"
    job = Job(view, label, client)
    assert job.label_widget.value == label  # the whole text: the browser cuts it, with "…"
    assert job.label_widget.tooltip == label
    assert {"mjnb-ellipsis", "mjnb-progress-label"} <= set(job.label_widget._dom_classes)
    assert "mjnb-ellipsis" in job.status_widget._dom_classes
    assert "text-overflow: ellipsis" in css() and "white-space: nowrap" in css()
    job._update(mjnb.Task("t", "mjproxy", mjnb.TaskStatus.RUNNING, progress=37))
    assert job.status_widget.value == job.status_widget.tooltip == "running 37%"
