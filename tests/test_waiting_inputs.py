"""What a user hands to the waiting and recovery calls, refused clearly or handled (a fresh reviewer's findings).

Each test failed before its fix: a Task of another dialect stopped the client's tracker (every later
wait timed out); a string or a single Task passed as ``tasks``; ``as_completed`` checked its
arguments only at the first step; a padded id gave a bare KeyError; a closed client answered with
httpx's RuntimeError or restarted its tracker; ``journal.resolve`` took any journal id and rewrote
the row of a finished task; a task that ``reconcile()`` found finished stayed "queued" in the journal.
"""

from __future__ import annotations

import math

import pytest

import mjnb
from mjnb._models import Page, Task, TaskStatus
from mjnb._tracker import TrackerCore
from mjnb.dialects import get_dialect


async def test_a_task_of_another_dialect_is_refused_and_the_client_keeps_working(make_client, simulator):
    client = make_client("mjproxy")
    other = make_client("newapi")
    foreign = await other.imagine("a kite of another service")
    before = simulator.state.requests.count("/mjproxy/")
    with pytest.raises(mjnb.ValidationError, match="is a newapi task and this client speaks mjproxy") as err:
        await client.wait(foreign, timeout=5)
    assert err.value.field == "task"
    with pytest.raises(mjnb.ValidationError) as err:
        await client.wait_all([foreign], timeout=5)
    assert err.value.field == "tasks"
    assert simulator.state.requests.count("/mjproxy/") == before  # refused before anything was sent
    mine = await client.imagine("a kite of this service")
    assert (await client.wait(mine, timeout=30)).succeeded  # the tracker still follows this client's tasks


def test_a_dialects_refusal_reaches_that_tasks_waiter_and_the_others_go_on():
    core = TrackerCore(get_dialect("evolink"), interval=1.0, expected_seconds=2.0)
    foreign = Task(id="1796000000000001", dialect="mjproxy", status=TaskStatus.RUNNING)
    mine = Task(id="task-unified-1-abc", dialect="evolink", status=TaskStatus.RUNNING)
    core.follow(foreign, 0.0)
    core.follow(mine, 0.0)
    reads = core.plan(100.0)
    assert [r.task_ids for r in reads] == [("task-unified-1-abc",)]
    assert isinstance(core.followed[foreign.id].error, mjnb.ValidationError)
    assert core.refused and core.unfinished() == ["task-unified-1-abc"]


@pytest.mark.parametrize(
    "tasks, words",
    [
        ("1796000000000001", "not a str"),
        (Task(id="1796000000000001", dialect="mjproxy", status=TaskStatus.RUNNING), "not a Task"),
        ([" 1796000000000001"], "is not a task id"),
        ([None], "is not a Task or a task id"),
    ],
)
async def test_tasks_must_be_an_iterable_of_tasks_or_ids(make_client, simulator, tasks, words):
    client = make_client("mjproxy")
    before = simulator.state.requests.count("/mjproxy/")
    with pytest.raises(mjnb.ValidationError, match=words) as err:
        await client.wait_all(tasks, timeout=5)
    assert err.value.field == "tasks"
    assert simulator.state.requests.count("/mjproxy/") == before


@pytest.mark.parametrize("timeout", [-1, math.nan, "10", None])
async def test_as_completed_checks_its_arguments_at_the_call(make_client, timeout):
    client = make_client("mjproxy")
    with pytest.raises(mjnb.ValidationError, match="timeout"):
        client.raw.as_completed(["1796000000000001"], timeout=timeout)  # not iterated: refused all the same


async def test_a_closed_client_says_so(make_client):
    client = make_client("acedata")
    task = await client.imagine("a kite before closing")
    if client.is_async:
        await client.raw.aclose()
    else:
        client.raw.close()
    for call in (
        lambda: client.get(task.id),
        lambda: client.imagine("a kite after closing"),
        lambda: client.wait_all([task.evolve(status=TaskStatus.RUNNING)], timeout=5),
    ):
        with pytest.raises(mjnb.ValidationError, match="this client is closed") as err:
            await call()
        assert err.value.field == "client"


def test_a_poll_interval_that_would_hammer_a_service_is_refused(simulator):
    with pytest.raises(mjnb.ValidationError, match="at least 0.05 s") as err:
        mjnb.Client("mjproxy", simulator.url("mjproxy"), "sk-test-key", poll_interval=1e-9, journal=False)
    assert err.value.field == "poll_interval"


async def test_resolve_takes_only_an_entry_number_and_an_id_no_other_row_holds(make_client, simulator):
    client = make_client("evolink")
    simulator.state.faults.add("drop_after", path="/evolink/v1/images/generations", times=1)
    with pytest.raises(mjnb.SubmitUncertain) as lost:
        await client.imagine("a lost kite")
    entry = lost.value.journal_id
    good = await client.wait(await client.imagine("a good kite"), timeout=30)
    journal = client.raw.journal
    for bad in (True, "1", 1.0, 0, -2):
        with pytest.raises(mjnb.ValidationError, match="journal entry number") as err:
            journal.resolve(bad, "task-unified-1-abc")
        assert err.value.field == "journal_id"
    with pytest.raises(mjnb.ValidationError, match="already entry") as err:
        journal.resolve(entry, good.id)  # a pasted wrong id: the good kite's row stays as it is
    assert err.value.field == "task_id"
    with pytest.raises(mjnb.ValidationError):
        journal.resolve(entry, " task-unified-1-abc")
    held = journal.by_task_id("evolink", client.raw.base_url, good.id)
    assert held is not None and held.prompt == "a good kite" and held.status == "succeeded"
    assert journal.resolve(held.id, good.id).status == "succeeded"  # the same id again changes nothing


async def test_a_task_reconcile_finds_finished_is_final_in_the_journal(make_client, simulator):
    client = make_client("newapi")
    simulator.state.faults.add("drop_after", path="/newapi/mj/submit/imagine", times=1)
    with pytest.raises(mjnb.SubmitUncertain) as lost:
        await client.imagine("a kite whose answer was lost")
    listed = await client.tasks(page_size=50)
    job = next(t for t in listed.items if t.prompt and t.prompt.startswith("a kite whose answer was lost"))
    await client.wait(job.id, timeout=30)  # it finishes on the server meanwhile (read by hand, not journaled)
    result = await client.reconcile()
    assert [jid for jid, _ in result.settled] == [lost.value.journal_id]
    row = client.raw.journal.get(lost.value.journal_id)
    assert row.state == "accepted" and row.status == "succeeded"
    assert lost.value.journal_id not in {e.id for e in client.raw.journal.unfinished()}


def test_a_page_has_a_length_and_iterates_over_its_tasks():
    tasks = (
        Task(id="a", dialect="mjproxy", status=TaskStatus.QUEUED),
        Task(id="b", dialect="mjproxy", status=TaskStatus.QUEUED),
    )
    page = Page(items=tasks, page=1, page_size=20, total=2)
    assert len(page) == 2 and list(page) == list(tasks)
