"""SweepGrid headless on the embedded simulator: a 2×2 sweep of real tasks, laid out by two axes,
every cell followed to its image, headers, further-axis selectors, a click into the Gallery, the sheet.

The sweep is the documented shape of ``mjnb.Sweep`` (cells with axes / prompt / task / error / repeat,
``axes``, ``contact_sheet()``, ``client``), built here from real imagine tasks so the grid is
tested on its own; ``client.sweep`` is used where the client has it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

import mjnb
from mjnb.widgets import Gallery, SweepGrid


@dataclass
class Cell:
    axes: dict[str, str]
    prompt: str
    task: Any = None
    error: Any = None
    repeat: int = 1


@dataclass
class FakeSweep:
    client: Any
    axes: dict[str, list[str]]
    cells: list[Cell]
    sheets: list[dict] = field(default_factory=list)

    async def contact_sheet(self, *, rows=None, cols=None, thumb=192):
        self.sheets.append({"rows": rows, "cols": cols})
        return Image.new("RGB", (2 * thumb, 2 * thumb), "white")


async def small_sweep(client, colors=("red", "blue"), stylize=("50", "500"), extra=None) -> FakeSweep:
    axes = {"color": list(colors), "s": list(stylize), **({"ar": list(extra)} if extra else {})}
    cells = []
    for color in colors:
        for s in stylize:
            for ar in extra or (None,):
                prompt = f"a {color} kite --s {s}" + (f" --ar {ar}" if ar else "")
                task = await client.imagine(prompt)
                cells.append(Cell({"color": color, "s": s, **({"ar": ar} if ar else {})}, prompt, task))
    return FakeSweep(client, axes, cells)


def texts(widgets_) -> list[str]:
    return [w.tooltip for w in widgets_ if "mjnb-sweep-header" in getattr(w, "_dom_classes", ())]


async def test_a_two_by_two_sweep_shows_four_labelled_live_cells(client):
    sweep = await small_sweep(client)
    grid = SweepGrid(sweep)
    assert "mjnb-sweep" in grid._dom_classes
    assert grid.columns == "color" and grid.rows == "s"
    assert texts(grid.grid.children) == ["color = red", "color = blue", "s = 50", "s = 500"]
    assert [c.sweep_cell.axes for c in grid.cells_at("500", "blue")] == [{"color": "blue", "s": "500"}]
    shown = [w for w in grid.grid.children if "mjnb-sweep-cell" in w._dom_classes]
    assert len(shown) == 4
    for handle in grid.following:
        await handle
    for cell in grid.cells:
        assert cell.status.value == "done" and cell.bar.value == 100 and cell.bar.bar_style == "success"
        picture = Image.open(io.BytesIO(cell.image.value))
        assert picture.size[0] > 0 and cell.image.layout.display is None
    # row-major: header row, then each row's header and its two cells
    children = grid.grid.children
    assert children[5] is grid.cells_at("50", "blue")[0] and children[7] is grid.cells_at("500", "red")[0]


async def test_choosing_the_axes_relays_the_grid_and_further_axes_get_a_selector(client):
    sweep = await small_sweep(client, extra=("1:1", "16:9"))
    grid = SweepGrid(sweep)
    assert [f.description for f in grid.filter_box.children] == ["ar"] and grid.fixed == {"ar": "1:1"}
    shown = [w for w in grid.grid.children if "mjnb-sweep-cell" in w._dom_classes]
    assert len(shown) == 4 and all(c.sweep_cell.axes["ar"] == "1:1" for c in shown)
    grid.filter_box.children[0].value = "16:9"
    shown = [w for w in grid.grid.children if "mjnb-sweep-cell" in w._dom_classes]
    assert len(shown) == 4 and all(c.sweep_cell.axes["ar"] == "16:9" for c in shown)
    grid.row_select.value = "ar"  # rows by aspect: the stylize axis becomes the selector
    assert grid.rows == "ar" and [f.description for f in grid.filter_box.children] == ["s"]
    assert texts(grid.grid.children) == ["color = red", "color = blue", "ar = 1:1", "ar = 16:9"]
    grid.rows = ""  # a trait: one row of cells, no row headers
    assert texts(grid.grid.children) == ["color = red", "color = blue"]
    for handle in grid.following:
        await handle


async def test_a_click_opens_the_cell_in_the_gallery_with_its_follow_ups(client):
    sweep = await small_sweep(client)
    gallery = Gallery(client=client)
    grid = SweepGrid(sweep, gallery=gallery)
    opened = []
    grid.on_open(opened.append)
    for handle in grid.following:
        await handle
    cell = grid.cells_at("500", "red")[0]
    assert not cell.open_button.disabled
    cell.open_button.click()
    await gallery.loading
    assert gallery.task.id == cell.task.id and opened == [cell.task]
    assert "U1" in [b.description for b in gallery.actions.children]


async def test_a_failed_cell_shows_its_reason_beside_the_others(client):
    sweep = await small_sweep(client)
    sweep.cells[1].task = None
    sweep.cells[1].error = mjnb.ValidationError("--s: 5000 is out of range; allowed 0–1000", field="s")
    grid = SweepGrid(sweep)
    for handle in grid.following:
        await handle
    bad = grid.cells[1]
    assert bad.status.value == "error" and "--s: 5000 is out of range" in bad.error.value
    assert len(grid.following) == 3 and all(c.status.value == "done" for i, c in enumerate(grid.cells) if i != 1)


async def test_save_sheet_writes_the_contact_sheet_by_the_chosen_axes_and_never_overwrites(client, tmp_path):
    sweep = await small_sweep(client)
    grid = SweepGrid(sweep)
    target = tmp_path / "sheet.png"
    grid.save_path.value = str(target)
    grid.save_button.click()
    for handle in grid.following:
        await handle
    written = await grid.save_sheet(tmp_path / "second.png")
    assert Image.open(written).size == (384, 384)
    assert sweep.sheets[-1] == {"rows": "s", "cols": "color"}
    with pytest.raises(mjnb.ValidationError, match="already exists"):
        grid.save_sheet(written)
    with pytest.raises(mjnb.ValidationError, match="must end with .png"):
        grid.save_sheet(tmp_path / "sheet.jpg")


async def test_a_real_client_sweep_in_the_grid(client):
    if not hasattr(client, "sweep"):
        pytest.skip("client.sweep has not landed in this tree yet")
    sweep = await client.sweep("a {red, blue} kite --s {50, 500}")
    grid = SweepGrid(sweep)
    for handle in grid.following:
        await handle
    assert len([w for w in grid.grid.children if "mjnb-sweep-cell" in w._dom_classes]) == 4
    assert all(c.image.value for c in grid.cells)
