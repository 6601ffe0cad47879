"""The Studio with a permutation prompt: "N jobs" before Submit, one question above the threshold,
then ``client.sweep`` and the SweepGrid in the Sweep tab; what was sent read back from the journal."""

from __future__ import annotations

import pytest

from mjnb.widgets import Studio, SweepGrid


@pytest.fixture
def studio():
    made = Studio()
    return made


def imagines(client) -> int:
    return sum(e.op == "imagine" for e in client.journal.entries())


async def test_a_permutation_prompt_says_how_many_jobs_then_shows_the_grid(studio):
    assert studio.sweeps.layout.display == "none"
    studio.form.prompt_text.value = "a {red, blue} kite --s {50, 500}"
    assert studio.sweeps.layout.display is None
    assert await studio.sweeps.counting == 4
    assert studio.sweeps.count_label.value == "<b>4 jobs</b>"
    assert studio.sweeps.submit_button.description == "Submit 4 jobs" and not studio.sweeps.submit_button.disabled
    assert imagines(studio.client) == 0  # counting sends nothing
    studio.sweeps.submit_button.click()
    grid = await studio.sweeps.running
    assert isinstance(grid, SweepGrid) and studio.sweep_area.children == (grid,) and studio.tabs.selected_index == 2
    assert len(grid.cells) == 4 and imagines(studio.client) == 4
    for handle in grid.following:
        await handle
    assert all(cell.status.value == "done" and cell.image.value for cell in grid.cells)
    headers = [w.tooltip for w in grid.grid.children if "mjnb-sweep-header" in getattr(w, "_dom_classes", ())]
    assert len(headers) == 4
    grid.cells[0].open_button.click()  # opens in the Studio's own Gallery
    await studio.gallery.loading
    assert studio.gallery.task.id == grid.cells[0].task.id


async def test_above_the_threshold_it_asks_once_before_sending(studio):
    studio.sweep_threshold = 3
    studio.form.prompt_text.value = "a {red, blue} kite --s {50, 500}"
    await studio.sweeps.counting
    assert studio.sweeps.submit() is None
    assert studio.sweeps.confirm_row.layout.display is None
    assert "This sends 4 jobs" in studio.sweeps.confirm_text.value and imagines(studio.client) == 0
    studio.sweeps.cancel_button.click()
    assert studio.sweeps.confirm_row.layout.display == "none" and imagines(studio.client) == 0
    studio.sweeps.submit_button.click()
    assert studio.sweeps.confirm_button.description == "Send 4 jobs"
    studio.sweeps.confirm_button.click()
    grid = await studio.sweeps.running
    assert len(grid.cells) == 4 and imagines(studio.client) == 4
    for handle in grid.following:
        await handle


async def test_the_form_submit_of_a_permutation_prompt_goes_through_the_sweep(studio):
    studio.form.prompt_text.value = "a {red, blue} kite"
    await studio.sweeps.counting
    studio.form.submit_button.click()
    grid = await studio.sweeps.running
    assert [c.sweep_cell.prompt for c in grid.cells] == ["a red kite", "a blue kite"]
    assert studio.progress.jobs == [] and imagines(studio.client) == 2  # no literal "{red, blue}" job
    for handle in grid.following:
        await handle


async def test_a_refused_permutation_is_named_and_nothing_is_sent(studio):
    studio.form.prompt_text.value = "a {red, blue kite"
    assert await studio.sweeps.counting is None
    assert "prompt" in studio.sweeps.count_label.value and studio.sweeps.submit_button.disabled
    assert studio.sweeps.submit() is None and imagines(studio.client) == 0
