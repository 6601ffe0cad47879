"""Issue 13 §2, the rough edges found walking the widgets as a new user: one headless test each."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

import mjnb
from mjnb.widgets import CanvasEditor, Gallery, ProgressView
from mjnb.widgets._style import action_text


def decoded(image_widget) -> Image.Image:
    return Image.open(io.BytesIO(image_widget.value))


def visible(widget) -> bool:
    return widget.layout.display != "none"


# 1. A stand-alone editor shows its result beside the source, then continues from it.
async def test_a_standalone_editor_shows_the_result_beside_the_source_then_continues(make_client):
    client = make_client("evolink")
    grid = await client.imagine("a sailing boat on a calm sea", wait=True)
    editor = CanvasEditor(grid, index=0, client=client, display_size=256, mode="reposition")
    await editor.loading
    source = editor.image
    c = editor.controls
    assert not visible(c.result_panel) and not visible(c.edit_result)
    editor.set_canvas("16:9")
    result = await editor.submit("a wide harbour at sunrise").result()
    assert visible(c.result_panel) and visible(c.edit_result) and c.edit_result.description == "Continue from result"
    shown = decoded(c.result_image)
    outpainted = await client.download(result, split=True)
    assert shown.width > shown.height  # the 16:9 outpainting, not the square source
    assert editor.image is source and editor.canvas_size[0] > source.width  # the source is still on the canvas
    assert visible(c.result_pick) and len(outpainted) == 4  # four images: pick one to go on from
    c.result_pick.value = 2
    c.edit_result.click()
    await editor.loading
    assert editor.task == result and editor.index == 2 and editor.image.size == outpainted[2].size
    assert np.abs(np.asarray(editor.image, dtype=int) - np.asarray(outpainted[2], dtype=int)).max() == 0
    assert not visible(c.result_panel) and editor.strokes == ()


# 2. Run top to bottom, 04-inpaint must leave its first editor usable.
async def test_the_inpaint_notebook_flow_leaves_the_first_editor_usable(make_client):
    client = make_client("mjproxy")
    grid = await client.imagine("a lighthouse on a cliff at dusk", wait=True)
    upscaled = await client.wait(await client.upscale(grid, 1))
    editor = CanvasEditor(upscaled, client=client, display_size=256)
    await editor.loading
    w, h = editor.image_size
    editor.fill_rect(0.55 * w, 0.08 * h, 0.35 * w, 0.25 * h)
    result = await editor.submit("a red kite in the sky").result()
    assert result.succeeded and not editor.controls.submit.disabled
    # The notebook's last cell: the next round goes on from an upscale of one variation, in its own editor.
    again = await client.wait(await client.upscale(result, 1))
    second = CanvasEditor(again, client=client, display_size=256)
    await second.loading
    for each in (editor, second):
        assert each.plan_for().operation == "inpaint" and not each.controls.submit.disabled
        assert each.controls.reason.value == ""
    assert editor.task == upscaled  # the first editor still edits what it showed


# 4. The preset dropdown follows set_canvas.
async def test_set_canvas_with_an_aspect_shows_it_in_the_preset_dropdown(make_client):
    editor = CanvasEditor(
        Image.new("RGB", (300, 200), "white"), client=make_client("evolink"), display_size=128, mode="reposition"
    )
    preset = editor.controls.preset
    assert preset.value == "free"
    editor.set_canvas("16:9")
    assert preset.value == "16:9" and abs(editor.canvas_size[0] / editor.canvas_size[1] - 16 / 9) < 0.01
    editor.set_canvas((640, 480))
    assert preset.value == "free"
    editor.set_canvas("1:1")
    editor.undo()  # back to 640×480: no preset made that
    assert preset.value == "free" and editor.canvas_size == (640, 480)


# 8. Text labels: readable without an emoji font.
def _needs_emoji_font(text: str) -> bool:
    return any(ord(ch) >= 0x1F000 or 0x2600 <= ord(ch) <= 0x27BF or ord(ch) == 0xFE0F for ch in text)


async def test_follow_up_buttons_read_without_an_emoji_font(client):
    task = await client.imagine("a fox", wait=True)
    upscaled = await client.wait(await client.upscale(task, 1))
    gallery = Gallery(upscaled, client=client, progress=ProgressView(client))
    await gallery.loading
    labels = {b._mjnb_action.name: b for b in gallery.actions.children}
    assert any(_needs_emoji_font(a.label) for a in upscaled.actions)  # the proxy's own captions have emoji
    for name, button in labels.items():
        assert button.description and not _needs_emoji_font(button.description), name
        assert button.tooltip and button.description in button.tooltip
    assert labels["vary_region"].description == "Vary (Region)" and labels["vary_region"].icon == "paint-brush"
    assert labels["pan_left"].description == "Pan ←" and labels["pan_left"].icon == "arrow-left"


def test_action_text_keeps_unknown_labels_without_their_emoji():
    made = mjnb.Action("U3", "U3", index=2)
    odd = mjnb.Action("studio_light", "💡 Studio light")
    blank = mjnb.Action("sparkle", "✨")
    assert [action_text(a) for a in (made, odd, blank)] == ["U3", "Studio light", "sparkle"]
