"""History against the embedded simulator: the journal and the service listing, filters, pages, reopen."""

from __future__ import annotations

import datetime as dt

import pytest

from mjnb.widgets import History


def row_texts(history: History) -> list[str]:
    return [row.description for row in history.table.children]


async def two_tasks(client):
    """An imagine and its U1 upscale, as a user makes them."""
    task = await client.imagine("a lighthouse at dusk --ar 3:2", wait=True)
    upscaled = await client.wait(await client.upscale(task, 1))
    return task, upscaled


async def test_the_journal_lists_both_tasks_newest_first(client):
    task, upscaled = await two_tasks(client)
    history = History(client)
    page = await history.loading
    assert [t.id for t in page.items] == [upscaled.id, task.id]
    texts = row_texts(history)
    assert len(texts) == 2 and all("a lighthouse at dusk" in t for t in texts)
    assert "IMAGINE" in texts[1].upper()
    assert all("mjnb-history-row" in row._dom_classes for row in history.table.children)
    assert history.page_label.value == "page 1 of 1 · 2 tasks"
    assert history.prev_button.disabled and history.next_button.disabled


async def test_pages_move_with_newer_and_older(client):
    task, _ = await two_tasks(client)
    history = History(client, page_size=1)
    await history.loading
    assert history.page_label.value == "page 1 of 2 · 2 tasks"
    assert history.prev_button.disabled and not history.next_button.disabled
    history.next_button.click()
    await history.loading
    assert history.page == 2 and [t.id for t in history.tasks] == [task.id]
    assert not history.prev_button.disabled and history.next_button.disabled


async def test_the_text_filter_keeps_matching_tasks(client):
    await client.imagine("a red fox in snow", wait=True)
    await client.imagine("a blue whale", wait=True)
    history = History(client)
    await history.loading
    history.filter_text.value = "whale"
    await history.loading
    assert len(row_texts(history)) == 1 and "a blue whale" in row_texts(history)[0]
    history.filter_text.value = "no such prompt"
    await history.loading
    assert row_texts(history) == [] and "No tasks match" in history.message.value


async def test_the_date_filter_keeps_the_days_chosen(client):
    await client.imagine("a red fox in snow", wait=True)
    history = History(client)
    await history.loading
    today = dt.date.today()
    history.since.value = today + dt.timedelta(days=1)
    await history.loading
    assert row_texts(history) == []
    history.since.value = today
    history.until.value = today
    await history.loading
    assert len(row_texts(history)) == 1


async def test_clicking_a_row_reopens_the_task_fresh(client):
    task, upscaled = await two_tasks(client)
    history = History(client)
    await history.loading
    opened = []
    history.on_open(opened.append)
    history.table.children[1].click()  # the imagine
    await history.opening
    assert [t.id for t in opened] == [task.id]
    assert opened[0].action_names == task.action_names  # fetched from the service, not the journal row
    assert opened[0].image_url == task.image_url


async def test_by_default_a_click_shows_the_task_in_a_gallery(client):
    task, _ = await two_tasks(client)
    history = History(client)
    await history.loading
    history.table.children[1].click()
    await history.opening
    gallery = history.gallery_area.children[0]
    await gallery.loading
    assert gallery.task.id == task.id and gallery.main_image.value


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi", "acedata", "evolink"])
async def test_the_service_listing_is_offered_where_the_dialect_lists(dialect, make_client):
    client = make_client(dialect)
    history = History(client)
    await history.loading
    assert history.source.disabled == ("list" not in client.operations)


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi", "acedata"])
async def test_the_service_listing_finds_the_tasks(dialect, make_client):
    client = make_client(dialect)
    if "list" not in client.operations:
        pytest.skip(f"{dialect} has no listing")
    task = await client.imagine(f"a {dialect} lighthouse to list", wait=True)
    history = History(client, page_size=50)
    await history.loading
    history.source.value = "server"
    page = await history.loading
    assert task.id in [t.id for t in page.items]
