"""The Studio's ProgressView and a user's own ``wait()`` calls share the client's one tracker.

Counted on the simulator's side (its request log), never by timing: a Studio job and two
``wait()`` calls running together cost the batched reads of one, and no per-task fetch.
"""

from __future__ import annotations

import asyncio
import math
import time

import mjnb
from mjnb.widgets import Studio

INTERVAL = 0.5  # seconds between the tracker's batched reads
BATCH = "/mjproxy/mj/task/list-by-condition"
FETCH = "/mjproxy/mj/task/"  # GET /mj/task/{id}/fetch


async def test_a_studio_job_and_two_waits_are_read_in_the_same_batches(slow_simulator, tmp_path):
    client = mjnb.AsyncClient(
        "mjproxy",
        base_url=slow_simulator.url("mjproxy"),
        api_key="sk-widgets-test",
        journal=tmp_path / "journal.sqlite",
        poll_interval=INTERVAL,
    )
    studio = Studio(client=client)
    try:
        first = await client.imagine("a red kite over the dunes")
        second = await client.imagine("a blue kite over the sea")
        slow_simulator.state.requests.clear()
        started = time.time()
        studio.form.prompt_text.value = "a lighthouse at dusk"
        studio.form.submit_button.click()
        job = studio.progress.jobs[0]
        waited = await asyncio.gather(client.wait(first, timeout=60), client.wait(second, timeout=60), job.result())
        assert all(t.succeeded for t in waited)
        assert studio.progress.jobs[0].status_text == "done"

        batched = slow_simulator.state.requests.count(BATCH, method="POST")
        fetched = slow_simulator.state.requests.count(FETCH, method="GET")
        # One tracker: each batch carries all three tasks, so three followers cost what one does
        # (three trackers would make ~3× as many reads, or per-task fetches).
        span = max(3.0, max(t.finished_at or 0.0 for t in waited) - started)
        assert fetched == 0, fetched
        assert 1 <= batched <= math.ceil(span / INTERVAL) + 2, (batched, span)
    finally:
        studio.close()
        await client.aclose()
