"""The canvas editor end to end in the kernel (no browser): synthetic mouse events on the editor,
Submit through the real client to the embedded simulator, and the result checked pixel by pixel.

What was sent is read back from the client's journal, which records every submit's body
before sending it (inline images as a length + sha256 fingerprint).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from mjnb import images
from mjnb.widgets import CanvasEditor
from mjnb.widgets._geometry import Box, move_box

from .test_editor import bits, drag

TOLERANCE = 32  # per channel: JPEG/PNG round trips and resampling stay well under this


def changed(after, before) -> np.ndarray:
    a = np.asarray(after.convert("RGB").resize(before.size), dtype=int)
    return np.abs(a - np.asarray(before.convert("RGB"), dtype=int)).max(axis=-1) > TOLERANCE


def fingerprint(value: str) -> str:
    return f"<{len(value)} chars sha256:{hashlib.sha256(value.encode()).hexdigest()[:16]}>"


def sent(client, op: str) -> dict:
    """The body of the newest journaled submit of ``op``."""
    return next(e.request for e in client.journal.entries() if e.op == op)


def paint_a_kite(editor) -> np.ndarray:
    """A brush stroke and a rectangle, through mouse events; returns the mask (bool, source px)."""
    editor.controls.brush_size.value = 40
    drag(editor, [(300, 60), (360, 70), (420, 110), (450, 160)])
    editor.set_tool("rect")
    drag(editor, [(40, 300), (120, 380), (200, 460)])
    return bits(editor.mask())


def assert_changed_only_inside(after, before, mask: np.ndarray) -> None:
    diff = changed(after, before)
    near = bits(images.grow_mask(images.as_mask(mask), 6))  # resampling smears the edge a little
    assert diff[~near].mean() < 0.005, f"{diff[~near].mean():.2%} changed outside the painted region"
    # The simulator repaints the region with another landscape of a related palette (sky stays
    # sky-coloured in places): a third of its pixels changing clearly shows the region was redone.
    assert diff[mask].mean() > 0.3, f"only {diff[mask].mean():.2%} changed inside the painted region"


async def test_vary_region_on_the_proxy_changes_only_what_was_painted(make_client):
    client = make_client("mjproxy")
    grid = await client.imagine("a lighthouse on a cliff at dusk", wait=True)
    upscaled = await client.wait(await client.upscale(grid, 1))
    editor = CanvasEditor(upscaled, client=client, display_size=512)
    await editor.loading
    source = editor.image
    assert editor.plan_for().operation == "inpaint" and not editor.controls.submit.disabled
    mask = paint_a_kite(editor)
    job = editor.submit("a red kite in the sky")
    result = await job.result()
    assert result.succeeded and editor.result == result
    assert not editor.controls.edit_result.layout.display  # "Continue from result", for another round
    assert not editor.controls.result_panel.layout.display  # the result beside the source
    shown = Image.open(io.BytesIO(editor.controls.result_image.value))
    assert shown.size[0] > 0 and editor.controls.result_pick.layout.display != "none"  # a grid: pick one
    expected = images.encode_mask(images.as_mask(editor.mask(), source.size), "png_data_url")
    assert sent(client, "modal")["maskBase64"] == fingerprint(expected)  # exactly this mask went out
    variations = await client.download(result, split=True)
    assert len(variations) == 4
    for variation in variations:
        assert_changed_only_inside(variation, source, mask)
    await editor.continue_from_result()  # another round: the result's first image, a fresh mask
    assert editor.task == result and editor.strokes == ()
    assert not changed(editor.image, variations[0]).any()


async def test_inpaint_on_evolink_sends_the_areas_of_the_painted_image(make_client):
    client = make_client("evolink")
    grid = await client.imagine("a quiet harbour at night", wait=True)
    editor = CanvasEditor(grid, index=2, client=client, display_size=512)
    await editor.loading
    source = editor.image
    mask = paint_a_kite(editor)
    result = await editor.submit("a full moon").result()
    assert result.succeeded
    body = sent(client, "inpaint")
    assert body["model_params"]["image_number"] == 2
    assert body["model_params"]["mask"]["areas"] == editor.polygons()
    after = await client.download(result, split=len(result.image_urls) > 1)
    for image in after if isinstance(after, list) else [after]:
        assert_changed_only_inside(image, source, mask)


async def test_reposition_on_evolink_sends_the_box_and_the_image_lands_there(make_client):
    client = make_client("evolink")
    grid = await client.imagine("a sailing boat on a calm sea", wait=True)
    editor = CanvasEditor(grid, index=0, client=client, display_size=512, mode="reposition")
    await editor.loading
    source = editor.image
    editor.controls.preset.value = "16:9"
    editor.controls.scale.value = 0.5
    before, canvas = editor.image_box, editor.canvas_size
    assert before[2] == round(source.width * 0.5) and canvas[1] == source.height
    cx, cy = (v / 2 for v in editor.layers.size)
    drag(editor, [(cx, cy), (cx - 60, cy + 20), (cx - 120, cy + 30)])  # left and a little down
    k = canvas[0] / editor.layers.size[0]
    box = editor.image_box
    assert box == move_box(Box(*before), -120 * k, 30 * k, canvas, snap=8 * k).box != before
    result = await editor.submit("a wide bay with gulls").result()
    assert result.succeeded
    params = sent(client, "reposition")["model_params"]
    assert params["canvas"] == {"width": canvas[0], "height": canvas[1]}
    assert params["img_pos"] == {"width": box[2], "height": box[3], "x": box[0], "y": box[1]}
    x, y, w, h = box
    placed = source.resize((w, h))
    for after in await client.download(result, split=True):
        assert after.size == canvas
        landed = after.crop((x, y, x + w, y + h))
        assert changed(landed, placed).mean() < 0.01  # the source pixels sit in the box
        assert changed(after.crop((0, 0, x, canvas[1])), Image.new("RGB", (x, canvas[1]), "white")).mean() > 0.5


async def test_variation_region_on_acedata_changes_only_what_was_painted(make_client):
    client = make_client("acedata")
    grid = await client.imagine("a lighthouse on a cliff at dusk", wait=True)
    upscaled = await client.wait(await client.upscale(grid, 2))
    editor = CanvasEditor(upscaled, client=client, display_size=512)
    await editor.loading
    source = editor.image
    mask = paint_a_kite(editor)
    result = await editor.submit("a red kite in the sky").result()
    assert result.succeeded
    expected = images.encode_mask(images.as_mask(editor.mask(), source.size), "png_base64")
    assert sent(client, "inpaint")["mask"] == fingerprint(expected)
    for variation in await client.download(result, split=True):
        assert_changed_only_inside(variation, source, mask)


async def test_reposition_on_acedata_sends_the_composite_and_its_empty_area_as_an_edit(make_client):
    client = make_client("acedata")
    grid = await client.imagine("a sailing boat on a calm sea", wait=True)
    editor = CanvasEditor(grid, index=1, client=client, display_size=512, mode="reposition")
    await editor.loading
    assert editor.plan_for().operation == "edit"  # AceData has no canvas edit: the composite goes as an edit
    editor.set_canvas("3:2")
    editor.set_scale(0.6)
    result = await editor.submit("a wide bay with gulls").result()
    assert result.succeeded
    body = sent(client, "edit")
    composite, fill = editor.composite(), editor.fill_mask()
    assert body["mask"] == fingerprint(images.encode_mask(images.as_mask(fill), "png_base64"))
    x, y, w, h = editor.image_box
    for image in await client.download(result, split=True):
        assert image.size == composite.size
        kept = changed(image.crop((x, y, x + w, y + h)), composite.crop((x, y, x + w, y + h)).convert("RGB"))
        assert kept.mean() < 0.01  # the placed image survives; the empty area is painted
