"""The tracker through Client and AsyncClient, against the simulator, counting on the server's side.

Reads are counted by the simulator's own request log, never by timing; the one test about the
event loop counts missed heartbeat ticks while the journal's file is locked by another connection.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import threading
import time

import pytest

import mjnb
from mjnb.sim import Simulator

BATCH_PATHS = {
    "mjproxy": "/mjproxy/mj/task/list-by-condition",
    "newapi": "/newapi/mj/task/list-by-condition",
    "acedata": "/acedata/midjourney/tasks",
}
FETCH_PATHS = {"mjproxy": "/mjproxy/mj/task/", "newapi": "/newapi/mj/task/", "acedata": "/acedata/midjourney/tasks"}


@pytest.fixture(scope="module")
def roomy():
    """A simulator whose proxy account runs 40 jobs at once, each taking 3 s."""
    with Simulator(duration=3.0, proxy_core_size=40, proxy_queue_size=40) as sim:
        yield sim


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi", "acedata"])
async def test_twenty_tasks_cost_a_handful_of_batched_reads(make_client, roomy, dialect):
    interval = 0.5
    client = make_client(dialect, base_url=roomy.url(dialect), poll_interval=interval, max_concurrent=None)
    tasks = [await client.imagine(f"a kite number {i}") for i in range(20)]
    roomy.state.requests.clear()
    started = time.time()
    done = await client.wait_all(tasks, timeout=120)
    assert [t.id for t in done] == [t.id for t in tasks]
    assert all(t.succeeded for t in done)
    batched = roomy.state.requests.count(BATCH_PATHS[dialect], method="POST")
    # The jobs last 3 s; on a loaded machine the server may finish them later: count against
    # how long they really ran after wait_all began (the server's own finish times).
    span = max(3.0, max(t.finished_at or 0.0 for t in done) - started)
    assert batched <= math.ceil(span / interval) + 2, (batched, span)
    everything = roomy.state.requests.count(f"/{dialect}/")
    assert everything == batched  # no per-task fetch on top of the batches


async def test_as_completed_yields_each_task_once_as_it_finishes(make_client, simulator):
    client = make_client("mjproxy", max_concurrent=None)
    tasks = [await client.imagine(f"a kite number {i}") for i in range(5)]
    seen = []
    if client.is_async:
        async for task in client.raw.as_completed(tasks, timeout=60):
            seen.append(task)
    else:
        seen = await asyncio.to_thread(lambda: list(client.raw.as_completed(tasks, timeout=60)))
    assert sorted(t.id for t in seen) == sorted(t.id for t in tasks)
    assert all(t.done for t in seen)


async def test_a_failed_batch_read_loses_no_task(make_client, roomy):
    client = make_client("mjproxy", base_url=roomy.url("mjproxy"), poll_interval=0.3, max_concurrent=None)
    tasks = [await client.imagine(f"a kite number {i}") for i in range(4)]
    roomy.state.faults.add("status", path=BATCH_PATHS["mjproxy"], status=500, times=5)
    done = await client.wait_all(tasks, timeout=120)
    assert all(t.succeeded for t in done)


async def test_wait_all_times_out_with_every_unfinished_task(make_client, roomy):
    client = make_client("mjproxy", base_url=roomy.url("mjproxy"), poll_interval=0.2, max_concurrent=None)
    tasks = [await client.imagine(f"a slow kite {i}") for i in range(3)]
    with pytest.raises(mjnb.TaskTimeout) as caught:
        await client.wait_all(tasks, timeout=0.5)
    assert sorted(t.id for t in caught.value.unfinished) == sorted(t.id for t in tasks)


async def test_the_account_never_runs_more_than_max_concurrent_jobs(make_client):
    with Simulator(duration=1.0, proxy_core_size=10, proxy_queue_size=10) as sim:
        client = make_client("mjproxy", base_url=sim.url("mjproxy"), poll_interval=0.1, max_concurrent=2)
        tasks = [await client.imagine(f"a kite number {i}") for i in range(6)]
        done = await client.wait_all(tasks, timeout=120)
    assert all(t.succeeded for t in done)
    spans = sorted((t.submitted_at, t.finished_at) for t in done)
    assert all(s is not None and f is not None for s, f in spans)
    # The most jobs alive at any moment, from the server's own submit and finish times.
    most = max(sum(1 for s, f in spans if s <= start < f) for start, _ in spans)
    assert most <= 2, spans


async def test_queue_full_waits_and_resubmits_without_duplicates(make_client):
    with Simulator(duration=1.0, proxy_core_size=1, proxy_queue_size=1) as sim:
        client = make_client("mjproxy", base_url=sim.url("mjproxy"), max_concurrent=None, max_retries=6)
        tasks = [await client.imagine(f"a kite number {i}") for i in range(3)]
        assert len({t.id for t in tasks}) == 3
        assert sim.state.jobs_created == 3
        assert sim.state.requests.count("/mjproxy/mj/submit/imagine") > 3  # the third was refused first


async def test_a_429_on_submit_is_retried_once_and_creates_one_job(make_client, simulator):
    client = make_client("acedata", max_concurrent=None)
    before = simulator.state.jobs_created
    simulator.state.faults.add("status", path="/acedata/midjourney/imagine", status=429, retry_after=0.1)
    task = await client.imagine("a kite in the rain")
    assert task.id
    assert simulator.state.jobs_created == before + 1


async def test_150_acedata_streams_at_once_all_complete():
    with Simulator(duration=1.0) as sim:
        client = mjnb.AsyncClient("acedata", sim.url("acedata"), "sk-test", journal=False, poll_interval=0.2)
        try:
            done = await asyncio.gather(*(client.imagine(f"a kite {i}", wait=True, timeout=300) for i in range(150)))
        finally:
            await client.aclose()
    assert len(done) == 150 and all(t.succeeded for t in done)


async def test_the_event_loop_keeps_ticking_while_the_journal_is_locked(tmp_path, simulator):
    """Journal writes of the async client never run on the loop: a locked file stalls no tick."""
    path = tmp_path / "journal.sqlite"
    client = mjnb.AsyncClient("mjproxy", simulator.url("mjproxy"), "sk-test", journal=path, poll_interval=0.05)
    try:
        tasks = [await client.imagine(f"a kite {i}") for i in range(10)]
        locker = sqlite3.connect(path, timeout=0, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(1.5, locker.rollback)
        release.start()
        ticks = missed = 0

        async def heartbeat() -> None:
            nonlocal ticks, missed
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                ticks += 1
                missed += max(0, int((now - last) / 0.01) - 5)  # ticks lost beyond a little jitter
                last = now

        beat = asyncio.ensure_future(heartbeat())
        await client.wait_all(tasks, timeout=60)
        await asyncio.sleep(1.6)  # past the lock
        beat.cancel()
        release.join()
        locker.close()
    finally:
        await client.aclose()
    # Blocking on the lock would lose ~150 ticks at once (1.5 s); off the loop, a handful at most.
    assert missed < 60, (ticks, missed)


async def test_a_steady_429_gives_up_after_the_transports_retries_with_one_journal_row(make_client, simulator):
    client = make_client("mjproxy", max_concurrent=None, max_retries=3)
    path = "/mjproxy/mj/submit/imagine"
    before = simulator.state.requests.count(path)
    simulator.state.faults.add("status", status=429, path=path, times=50, retry_after=0.01)
    with pytest.raises(mjnb.RateLimitError):
        await client.imagine("a kite in a queue")
    assert simulator.state.requests.count(path) - before == 4  # the first send and three retries, no more
    rows = client.raw.journal.entries(text="a kite in a queue")
    assert len(rows) == 1 and rows[0].state == "rejected"
