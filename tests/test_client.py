"""The client against the real simulator over HTTP, each test through Client and AsyncClient.

Covers the midjourney-proxy and new-api mounts: the verbs, the modal flow, errors, grid
split, the journal, and the money-safety rules (a submit is never resent unless provably
not created)."""

from __future__ import annotations

import asyncio
import socket

import numpy as np
import pytest
from PIL import Image, ImageDraw

import mjnb
from mjnb import TaskStatus

PROXIES = ["mjproxy", "newapi"]


def _rect_mask(size, box):
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle(box, fill=255)
    return mask


@pytest.mark.parametrize("dialect", PROXIES)
async def test_imagine_upscale_vary_region(make_client, dialect):
    client = make_client(dialect)
    seen = []
    task = await client.imagine("a red fox in deep snow --ar 1:1")
    assert task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
    task = await client.wait(task, timeout=30, on_progress=seen.append)

    assert task.succeeded and task.progress == 100
    assert task.action_names[:8] == ("U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4")
    progresses = [t.progress for t in seen if t.progress is not None]
    assert progresses == sorted(progresses) and progresses[-1] == 100
    assert any(t.status is TaskStatus.RUNNING for t in seen)

    tiles = await client.download(task, split=True)
    assert len(tiles) == 4 and len({t.tobytes()[:4096] for t in tiles}) == 4

    up = await client.wait(await client.upscale(task, 2), timeout=30)
    assert up.succeeded and up.parent_id in (None, task.id)
    assert "vary_region" in up.action_names
    before = await client.download(up)

    w, h = before.size
    box = (w // 4, h // 4, w // 2, h // 2)
    result = await client.wait(await client.inpaint(up, _rect_mask(before.size, box), "a blue knitted hat"), timeout=30)
    assert result.succeeded
    after = await client.download(result, split=True)
    first = after[0] if isinstance(after, list) else after
    first = np.asarray(first.convert("RGB").resize(before.size), dtype=float)
    base = np.asarray(before.convert("RGB"), dtype=float)
    inside = np.zeros((h, w), bool)
    inside[box[1] + 4 : box[3] - 4, box[0] + 4 : box[2] - 4] = True
    outside = np.ones((h, w), bool)
    outside[box[1] - 8 : box[3] + 8, box[0] - 8 : box[2] + 8] = False
    diff = np.abs(first - base).mean(axis=2)
    assert diff[inside].mean() > 4 * max(diff[outside].mean(), 1.0), "only the masked region should change"


@pytest.mark.parametrize("dialect", PROXIES)
async def test_follow_ups_reroll_variation_and_pan(make_client, dialect):
    client = make_client(dialect)
    task = await client.imagine("a lighthouse at dusk", wait=True)
    variation = await client.wait(await client.vary(task, 3))
    assert variation.succeeded and variation.action_names[:4] == ("U1", "U2", "U3", "U4")
    reroll = await client.wait(await client.reroll(task))
    assert reroll.succeeded
    a, b = await client.download(task), await client.download(reroll)
    assert a.tobytes() != b.tobytes()
    up = await client.wait(await client.upscale(task, 1))
    panned = await client.wait(await client.pan(up, "left"))
    assert panned.succeeded
    zoomed = await client.wait(await client.zoom_out(up, 2))
    assert zoomed.succeeded


@pytest.mark.parametrize("dialect", PROXIES)
async def test_action_name_not_offered_names_the_allowed_ones(make_client, dialect):
    client = make_client(dialect)
    task = await client.imagine("a teapot", wait=True)
    with pytest.raises(mjnb.ValidationError) as info:
        await client.action(task, "pan_left")
    assert info.value.field == "action" and "U1" in str(info.value)
    with pytest.raises(mjnb.ValidationError) as info:
        await client.upscale(task, 5)
    assert info.value.field == "n"


@pytest.mark.parametrize("dialect", PROXIES)
async def test_describe_shorten_blend(make_client, dialect):
    client = make_client(dialect)
    picture = Image.new("RGB", (300, 200), (200, 40, 40))
    described = await client.wait(await client.describe(picture))
    assert described.succeeded and len(described.texts) == 4
    shortened = await client.wait(
        await client.shorten("a very very long and detailed prompt about a castle on a hill at dawn")
    )
    assert shortened.succeeded and 1 <= len(shortened.texts) <= 5
    blended = await client.wait(await client.blend([picture, Image.new("RGB", (200, 200), (20, 20, 220))], "LANDSCAPE"))
    assert blended.succeeded
    grid = await client.download(blended)
    assert grid.width > grid.height  # 3:2
    with pytest.raises(mjnb.ValidationError) as info:
        await client.blend([picture])
    assert info.value.field == "images"


async def test_proxy_seed_cancel_and_listing(make_client):
    client = make_client("mjproxy")
    task = await client.imagine("a seeded cat", wait=True)
    seed = await client.seed(task)
    assert seed.isdigit() and seed == await client.seed(task)
    page = await client.tasks(page=1, page_size=50)
    assert task.id in [t.id for t in page.items]
    running = await client.imagine("to be cancelled")
    cancelled = await client.cancel(running)
    assert cancelled.status in (TaskStatus.CANCELLED, TaskStatus.FAILED)


async def test_newapi_history_listing(make_client):
    client = make_client("newapi")
    task = await client.imagine("history item one", wait=True)
    page = await client.tasks(page=1, page_size=10)
    assert task.id in [t.id for t in page.items] and page.total is not None and page.total >= 1
    only = await client.tasks(task_id=task.id)
    assert [t.id for t in only.items] == [task.id] and only.items[0].succeeded


@pytest.mark.parametrize("dialect", PROXIES)
async def test_unknown_task_is_task_not_found(make_client, dialect):
    client = make_client(dialect)
    with pytest.raises(mjnb.TaskNotFound):
        await client.get("1700000000000123")


async def test_bad_key_is_authentication_error(make_client):
    from mjnb.sim import Simulator

    with Simulator(duration=0.2, api_key="the-right-key") as guarded:
        for dialect in PROXIES:
            client = make_client(dialect, base_url=guarded.url(dialect), api_key="sk-wrong-key")
            with pytest.raises(mjnb.AuthenticationError) as info:
                await client.imagine("a cat")
            assert "sk-wrong-key" not in str(info.value) and "wrong-key" not in repr(info.value.__dict__)


@pytest.mark.parametrize("dialect", PROXIES)
async def test_banned_word_is_moderation_error(make_client, dialect):
    from mjnb.sim.mjproxy import BANNED_WORDS

    client = make_client(dialect)
    word = sorted(BANNED_WORDS)[0]
    with pytest.raises(mjnb.ModerationError) as info:
        await client.imagine(f"a painting with {word}")
    assert info.value.banned_word == word and info.value.code == 24


async def test_queue_full_is_rate_limit_error(make_client):
    from mjnb.sim import Simulator

    with Simulator(duration=30) as slow:
        # No account-concurrency gate: let the server's queue fill up and answer code 23.
        client = make_client("mjproxy", base_url=slow.url("mjproxy"), max_retries=0, max_concurrent=None)
        accepted = []
        with pytest.raises(mjnb.RateLimitError) as info:
            for i in range(40):
                accepted.append(await client.imagine(f"queued job {i}"))
        assert info.value.code == 23
        assert 3 < len(accepted) < 40


async def test_journal_records_before_and_after_the_submit(make_client, simulator):
    client = make_client("mjproxy")
    path = "/mjproxy/mj/submit/imagine"
    simulator.state.faults.add("latency", path=path, delay=1.0)
    pending = asyncio.ensure_future(client.imagine("journaled before sending"))
    for _ in range(100):
        rows = client.raw.journal.entries(limit=1)
        if rows and rows[0].prompt == "journaled before sending":
            break
        await asyncio.sleep(0.02)
    assert rows[0].state == "sending" and rows[0].task_id is None
    task = await pending
    row = client.raw.journal.entries(limit=1)[0]
    assert (row.state, row.task_id, row.op) == ("accepted", task.id, "imagine")
    await client.wait(task)
    assert client.raw.journal.entries(limit=1)[0].status == "succeeded"
    local = await client.tasks(local=True)
    assert local.items[0].id == task.id


async def test_dropped_answer_after_the_job_exists_is_uncertain_and_not_resent(make_client, simulator):
    client = make_client("mjproxy")
    simulator.state.faults.add("drop_after", path="/mjproxy/mj/submit/imagine")
    before = simulator.state.jobs_created
    with pytest.raises(mjnb.SubmitUncertain) as info:
        await client.imagine("a paid job whose answer is lost")
    assert simulator.state.jobs_created == before + 1  # created once, never resent
    entry = client.raw.journal.get(info.value.journal_id)
    assert entry.state == "uncertain" and entry.prompt == "a paid job whose answer is lost"


async def test_server_error_on_submit_is_uncertain_and_not_resent(make_client, simulator):
    client = make_client("mjproxy")
    # One 503, then the server would answer normally: a retry would create a job.
    simulator.state.faults.add("status", path="/mjproxy/mj/submit/imagine", status=503, times=1)
    before = simulator.state.jobs_created
    with pytest.raises(mjnb.SubmitUncertain) as info:
        await client.imagine("a job the server choked on")
    assert isinstance(info.value.__cause__, mjnb.ServerError)
    assert simulator.state.jobs_created == before


async def test_rate_limited_submit_is_retried_and_creates_one_job(make_client, simulator):
    client = make_client("mjproxy")
    simulator.state.faults.add("status", path="/mjproxy/mj/submit/imagine", status=429, retry_after=0.1)
    before = simulator.state.jobs_created
    task = await client.imagine("retried after a 429")
    assert task.id and simulator.state.jobs_created == before + 1


async def test_reads_retry_server_errors(make_client, simulator):
    client = make_client("mjproxy")
    task = await client.imagine("read retries")
    simulator.state.faults.add("status", path=f"/mjproxy/mj/task/{task.id}/fetch", status=503, times=2)
    fetched = await client.get(task)
    assert fetched.id == task.id


async def test_connection_refused_is_a_transport_error_and_journaled_rejected(make_client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client("mjproxy", base_url=f"http://127.0.0.1:{port}/mjproxy", max_retries=1)
    with pytest.raises(mjnb.TransportError) as info:
        await client.imagine("nobody listens")
    assert not isinstance(info.value, mjnb.SubmitUncertain)
    assert client.raw.journal.entries(limit=1)[0].state == "rejected"


async def test_key_never_leaks(make_client, tmp_path):
    client = make_client("newapi", api_key="sk-supersecret-123")
    task = await client.imagine("a secret-free task", wait=True)
    assert "supersecret" not in repr(client.raw) and "supersecret" not in repr(task)
    assert b"supersecret" not in (tmp_path / "journal.sqlite").read_bytes()
    assert repr(mjnb.ApiKey("sk-supersecret-123")) == "'***'"


async def test_bad_prompt_parameter_is_refused_before_sending(make_client, simulator):
    client = make_client("mjproxy")
    before = simulator.state.jobs_created
    with pytest.raises(mjnb.ValidationError) as info:
        await client.imagine("a cat --stylize 5000")
    assert info.value.field == "--s" and "0 to 1000" in str(info.value)
    with pytest.raises(mjnb.ValidationError) as info:
        await client.imagine("a cat --q .5 --v 7")
    assert info.value.field == "--q"
    assert simulator.state.jobs_created == before
    # A parameter mjnb does not know yet passes through, with a warning naming it.
    with pytest.warns(mjnb.MjnbPromptWarning, match="--frobnicate"):
        await client.imagine("a cat --frobnicate 3")
    assert simulator.state.jobs_created == before + 1
