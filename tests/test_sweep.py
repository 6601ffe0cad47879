"""Sweeps against the simulator, each test through Client and AsyncClient: a 2×2 sweep to the end on
every dialect, a second run that sends nothing, a failing and a moderated cell beside good ones,
max_jobs, dry_run, bad input refused before sending, retry_failed, the table and the contact sheet."""

from __future__ import annotations

import pytest
from _exp import call, exp_client_fixture  # noqa: F401  (the fixture)

import mjnb
from mjnb import ValidationError
from mjnb._export import to_pandas

DIALECTS = ["mjproxy", "newapi", "acedata", "evolink"]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_two_by_two_runs_and_a_second_run_sends_nothing(exp_client, simulator, dialect):
    client = exp_client(dialect)
    before = simulator.state.jobs_created
    sweep = await call(client, "sweep", "a {red, blue} kite --s {50, 500}")
    assert simulator.state.jobs_created - before == 4
    assert sweep.axes == {"{red, blue}": ["red", "blue"], "s": ["50", "500"]}
    assert [c.prompt for c in sweep.cells] == [
        "a red kite --s 50",
        "a red kite --s 500",
        "a blue kite --s 50",
        "a blue kite --s 500",
    ]
    await call(sweep, "wait", 60)
    assert [c.status for c in sweep.cells] == ["succeeded"] * 4 and sweep.sent == 4

    again = await call(client, "sweep", "a {red, blue} kite --s {50, 500}")
    assert simulator.state.jobs_created - before == 4, "running the same sweep again must not pay again"
    assert again.reattached == 4 and again.sent == 0
    assert [c.task.id for c in again.cells] == [c.task.id for c in sweep.cells]
    assert all(c.task.succeeded for c in again.cells)

    forced = await call(client, "sweep", "a {red, blue} kite --s {50, 500}", force=True, max_jobs=4)
    assert simulator.state.jobs_created - before == 8 and forced.sent == 4


async def test_grid_axes_by_long_name_and_repeats(exp_client, simulator):
    client = exp_client("mjproxy")
    before = simulator.state.jobs_created
    sweep = await call(
        client, "sweep", "a lighthouse --ar 3:2", grid={"stylize": [50, 750], "chaos": [0, 40]}, repeat=2, max_jobs=8
    )
    assert simulator.state.jobs_created - before == 8
    assert sweep.axes == {"stylize": ["50", "750"], "chaos": ["0", "40"]}
    assert sweep.cells[0].prompt == "a lighthouse --ar 3:2 --s 50 --c 0"
    assert [(c.axes["stylize"], c.axes["chaos"], c.repeat) for c in sweep.cells[:3]] == [
        ("50", "0", 1),
        ("50", "0", 2),
        ("50", "40", 1),
    ]
    done = []

    async def collect():
        if client.__class__.__name__ == "AsyncClient":
            async for cell in sweep.as_completed(timeout=60):
                done.append(cell)
        else:
            import asyncio

            done.extend(await asyncio.to_thread(lambda: list(sweep.as_completed(timeout=60))))

    await collect()
    assert sorted(id(c) for c in done) == sorted(id(c) for c in sweep.cells)
    assert all(c.task.succeeded for c in sweep.cells)
    # One more repeat reuses the 8 jobs already made and sends only the 4 new ones.
    more = await call(
        client, "sweep", "a lighthouse --ar 3:2", grid={"stylize": [50, 750], "chaos": [0, 40]}, repeat=3, max_jobs=12
    )
    assert simulator.state.jobs_created - before == 12 and more.reattached == 8 and more.sent == 4


async def test_failed_and_moderated_cells_do_not_stop_the_others(exp_client, simulator):
    client = exp_client("mjproxy")
    simulator.state.faults.add("fail_job", path="/mjproxy/mj/submit/imagine", times=1, message="upstream exploded")
    sweep = await call(client, "sweep", "a {green, nude, yellow} parrot")
    moderated = sweep.cells[1]
    assert moderated.task is None and isinstance(moderated.error, mjnb.ModerationError)
    assert "nude" in moderated.reason
    await call(sweep, "wait", 60)
    statuses = [c.status for c in sweep.cells]
    assert statuses == ["failed", "error", "succeeded"]
    assert sweep.cells[0].reason == "upstream exploded"
    table = sweep.table()
    assert [r["status"] for r in table] == statuses and table[1]["fail_reason"].startswith("ModerationError")

    retried = await call(sweep, "retry_failed")
    assert len(retried) == 2  # the failed job and the refused submit; the succeeded cell is left alone
    await call(sweep, "wait", 60)
    assert [c.status for c in sweep.cells] == ["succeeded", "error", "succeeded"]


async def test_max_jobs_and_dry_run_send_nothing(exp_client, simulator):
    client = exp_client("mjproxy")
    before = simulator.state.jobs_created
    with pytest.raises(ValidationError) as err:
        await call(client, "sweep", "a {1, 2, 3, 4, 5} {cat, dog} --ar {1:1, 2:3}", repeat=2)
    assert "40 jobs" in str(err.value) and "max_jobs=16" in str(err.value) and "max_jobs=40" in str(err.value)
    dry = await call(
        client, "sweep", "a {1, 2, 3, 4, 5} {cat, dog} --ar {1:1, 2:3}", repeat=2, max_jobs=40, dry_run=True
    )
    assert len(dry.cells) == 40 and all(c.task is None and c.status == "planned" for c in dry.cells)
    assert dry.cells[-1].prompt == "a 5 dog --ar 2:3" and dry.cells[-1].repeat == 2
    assert simulator.state.jobs_created == before


@pytest.mark.parametrize(
    ("prompt", "kw", "field", "words"),
    [
        ("a {} kite", {}, "prompt", "empty permutation group {} at position 2"),
        ("a {red, blue kite", {}, "prompt", "position 2 is never closed"),
        ("a kite", {"grid": {"stylsie": [1, 2]}}, "grid.stylsie", "unknown parameter 'stylsie'"),
        ("a kite", {"repeat": 0}, "repeat", "whole number ≥ 1"),
        ("a kite", {"grid": {"stylize": [50, 5000]}}, "--s", "sweep cell [stylize=5000]"),
        ("a {red, blue} kite --c {0, 400}", {}, "--c", "sweep cell [{red, blue}=red, c=400]"),
    ],
)
async def test_bad_input_is_refused_before_sending(exp_client, simulator, prompt, kw, field, words):
    client = exp_client("mjproxy")
    before = simulator.state.jobs_created
    with pytest.raises(ValidationError) as err:
        await call(client, "sweep", prompt, **kw)
    assert err.value.field == field and words in str(err.value)
    assert simulator.state.jobs_created == before


async def test_table_pandas_and_contact_sheet(exp_client):
    pd = pytest.importorskip("pandas", reason="pandas is optional; the table test needs it")
    client = exp_client("mjproxy")
    sweep = await call(client, "sweep", "a {red, blue} kite", grid={"chaos": [0, 40]})
    await call(sweep, "wait", 60)
    frame = sweep.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 4
    assert list(frame["axis_chaos"]) == ["0", "40", "0", "40"]
    assert list(frame["axis_{red, blue}"]) == ["red", "red", "blue", "blue"]
    assert list(frame["param_c"]) == ["0", "40", "0", "40"]
    same = to_pandas(sweep.tasks, client=client)
    assert list(same.columns) == list(frame.columns)
    assert list(same["axis_chaos"]) == list(frame["axis_chaos"])  # recovered from the journal's tags
    sheet = await call(sweep, "contact_sheet", thumb=96)
    assert sheet.mode == "RGB"
    # 2 rows × 2 columns of 96 px plus headers: wider and taller than the images alone.
    assert 2 * 96 < sheet.width < 2 * 96 + 300 and 2 * 96 < sheet.height < 2 * 96 + 120
    with pytest.raises(ValidationError, match="not an axis"):
        await call(sweep, "contact_sheet", rows="stylize")


async def test_budget_is_checked_against_the_last_known_cost(exp_client, simulator):
    client = exp_client("evolink")
    with pytest.raises(ValidationError, match="no cost is known yet"):
        await call(client, "sweep", "a {red, blue} owl", budget=100)
    first = await call(client, "imagine", "an owl at night", wait=True, timeout=60)
    charged = client.journal.by_task_id("evolink", client.base_url, first.id).cost  # usage.credits_reserved
    assert charged is not None and charged > 0
    plan = await call(client, "sweep", "a {red, blue} owl", dry_run=True)
    assert plan.estimated_cost == pytest.approx(2 * charged) and plan.cost_unit == "credits"
    before = simulator.state.jobs_created
    with pytest.raises(ValidationError) as err:
        await call(client, "sweep", "a {red, blue} owl", budget=charged * 1.5)
    assert err.value.field == "budget" and "2 jobs are estimated" in str(err.value)
    assert simulator.state.jobs_created == before
    sweep = await call(client, "sweep", "a {red, blue} owl", budget=charged * 2)
    assert sweep.sent == 2 and simulator.state.jobs_created == before + 2
    await call(sweep, "wait", 60)
    # A resumed run sends nothing, so it costs nothing and passes any budget.
    again = await call(client, "sweep", "a {red, blue} owl", budget=0.01)
    assert again.reattached == 2 and again.estimated_cost == 0
