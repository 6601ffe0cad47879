"""CanvasEditor in the kernel: synthetic mouse events through ipycanvas' own dispatcher.

Events enter as the browser's do: a comm message to the MultiCanvas, which ipywidgets hands
to ipycanvas' ``_handle_frontend_event`` of the top layer.  What goes back to the browser is
read from ipycanvas' canvas manager (the batches it sends), so "one small batch per mouse
move, no image" is checked, not assumed.
"""

from __future__ import annotations

import asyncio
import base64
import io

import numpy as np
import pytest
from ipycanvas.canvas import _CANVAS_MANAGER, COMMANDS
from PIL import Image

import mjnb
from mjnb import images
from mjnb.widgets import CanvasEditor
from mjnb.widgets._strokes import Lasso, Rect, Stroke, rasterise

NAMES = {index: name for name, index in COMMANDS.items()}


def send(editor, event, x=0.0, y=0.0, **extra):
    """Deliver a canvas event exactly as a browser view's message arrives."""
    content = {"event": event, "x": x, "y": y, **extra}
    editor.layers.multi._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def drag(editor, points):
    send(editor, "mouse_down", *points[0])
    for point in points[1:]:
        send(editor, "mouse_move", *point)
    send(editor, "mouse_up", *points[-1])


def key(editor, name, shift=False, ctrl=False):
    content = {"event": "key_down", "key": name, "shift_key": shift, "ctrl_key": ctrl, "meta_key": False}
    editor.layers.multi._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def bits(mask: Image.Image) -> np.ndarray:
    return np.asarray(mask) >= 128


@pytest.fixture
def sent(monkeypatch):
    """The draw batches ipycanvas sends to the browser, as lists of command names."""
    batches: list[list[str]] = []
    original = _CANVAS_MANAGER._send_custom

    def flatten(commands):
        if commands and isinstance(commands[0], int):
            return [NAMES[commands[0]]]
        return [name for c in commands for name in flatten(c)]

    def record(commands, buffers=None):
        batches.append(flatten(commands))
        return original(commands, [] if buffers is None else buffers)

    monkeypatch.setattr(_CANVAS_MANAGER, "_send_custom", record)
    return batches


@pytest.fixture
def client():
    # a real client of a real dialect; nothing here reaches the network
    return mjnb.Client("mjproxy", base_url="http://127.0.0.1:9/mjproxy", api_key="sk-editor-test", journal=False)


@pytest.fixture
def photo():
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 255, size=(2048, 2048, 3), dtype=np.uint8))


def test_a_drag_becomes_a_stroke_in_source_pixels_and_an_exact_mask(client, photo):
    editor = CanvasEditor(photo, client=client, display_size=768)
    assert editor.layers.size == (768, 768)
    editor.controls.brush_size.value = 30  # display px: radius 15 → 40 source px
    drag(editor, [(100, 100), (150, 120), (200, 200)])
    k = 2048 / 768
    expected = Stroke(((100 * k, 100 * k), (150 * k, 120 * k), (200 * k, 200 * k)), 15 * k)
    assert editor.strokes == (expected,)
    mask = bits(editor.mask())
    assert mask.shape == (2048, 2048)
    assert np.array_equal(mask, rasterise([expected], (2048, 2048)))
    assert mask[int(120 * k), int(150 * k)] and not mask[int(200 * k), int(100 * k)]
    assert editor.event_counts == {"mouse_down": 1, "mouse_move": 2, "mouse_up": 1}


def test_painting_sends_one_small_batch_per_move_and_never_an_image(client, photo, sent):
    editor = CanvasEditor(photo, client=client)
    sent.clear()
    send(editor, "mouse_move", 10, 10)  # hovering: nothing is drawn, nothing is sent
    assert sent == []
    send(editor, "mouse_down", 10, 10)
    for i in range(1, 6):
        send(editor, "mouse_move", 10 + 5 * i, 10)
    send(editor, "mouse_up", 35, 10)
    assert len(sent) == 1 + 5  # one batch at the press, one per move (the release adds no new point)
    for batch in sent[1:]:
        assert "strokeLine" in batch and len(batch) <= 12
    assert not any(name in ("putImageData", "drawImage") for batch in sent for name in batch)


def test_rectangle_lasso_subtract_invert_clear_and_undo_redo(client, photo):
    editor = CanvasEditor(photo, client=client, display_size=512)  # 4 source px per display px
    editor.controls.tools["rect"].value = True
    assert editor.tool == "rect" and not editor.controls.tools["brush"].value
    drag(editor, [(0, 0), (100, 40), (128, 64)])
    assert editor.strokes == (Rect(0.0, 0.0, 512.0, 256.0),)
    assert bits(editor.mask()).sum() == 512 * 256
    editor.controls.tools["lasso"].value = True
    editor.controls.subtract.value = True
    drag(editor, [(0, 0), (64, 0), (0, 64)])  # a triangle cut out of the rectangle
    assert editor.strokes[-1] == Lasso(((0.0, 0.0), (256.0, 0.0), (0.0, 256.0)), erase=True)
    expected = rasterise(editor.strokes, (2048, 2048))
    assert np.array_equal(bits(editor.mask()), expected) and not expected[10, 10] and expected[10, 300]
    editor.controls.invert.click()
    assert np.array_equal(bits(editor.mask()), ~expected)
    editor.controls.undo.click()
    assert np.array_equal(bits(editor.mask()), expected)
    editor.controls.redo.click()
    assert np.array_equal(bits(editor.mask()), ~expected)
    editor.controls.clear.click()
    assert not bits(editor.mask()).any()
    for _ in range(4):
        editor.controls.undo.click()
    assert editor.strokes == () and editor.controls.undo.disabled and not editor.controls.redo.disabled


def test_keys_change_the_brush_size_the_tool_and_undo(client, photo):
    editor = CanvasEditor(photo, client=client)
    editor.controls.brush_size.value = 40
    key(editor, "[")
    assert editor.controls.brush_size.value == 32
    key(editor, "]")
    assert editor.controls.brush_size.value == 40
    key(editor, "e")
    assert editor.tool == "eraser" and editor.controls.tools["eraser"].value
    key(editor, "b")
    drag(editor, [(10, 10), (20, 20)])
    key(editor, "z", ctrl=True)
    assert editor.strokes == ()
    key(editor, "z", ctrl=True, shift=True)
    assert len(editor.strokes) == 1


def test_the_eraser_removes_paint(client, photo):
    editor = CanvasEditor(photo, client=client, display_size=512)
    editor.controls.brush_size.value = 40
    drag(editor, [(100, 100), (300, 100)])
    editor.set_tool("eraser")
    drag(editor, [(200, 60), (200, 140)])
    mask = bits(editor.mask())
    assert mask[400, 420] and not mask[400, 800] and mask[400, 1180]


def test_grow_and_feather_apply_on_export_only(client, photo):
    editor = CanvasEditor(photo, client=client, display_size=512)
    editor.set_tool("rect")
    drag(editor, [(100, 100), (150, 150)])  # source 400..600
    raw = bits(editor.mask())
    editor.controls.grow.value = 8
    grown = bits(editor.mask())
    assert raw.sum() == 200 * 200 and grown.sum() == 216 * 216 and grown[392, 392] and not raw[392, 392]
    editor.controls.grow.value = -8
    assert bits(editor.mask()).sum() == 184 * 184
    editor.controls.grow.value = 0
    editor.controls.feather.value = 6
    soft = np.asarray(editor.mask())
    assert 0 < soft[500, 400] < 255 and soft[500, 500] == 255  # soft at the edge, solid inside
    assert np.array_equal(bits(editor.mask(grow=0, feather=0)), raw)
    assert editor.strokes == (Rect(400.0, 400.0, 600.0, 600.0),)  # the paint itself is unchanged


def test_exports_png_polygons_and_the_wire_payloads(client, photo):
    editor = CanvasEditor(photo, client=client, display_size=512)
    editor.set_tool("rect")
    drag(editor, [(100, 50), (200, 150)])
    mask = editor.mask()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(editor.mask_png()))), np.asarray(mask))
    polygons = editor.polygons()
    assert np.array_equal(np.asarray(images.polygons_to_mask(polygons, (2048, 2048))), np.asarray(mask))
    proxy = editor.payload("mjproxy")["maskBase64"]
    assert proxy.startswith("data:image/png;base64,")
    assert np.array_equal(bits(Image.open(io.BytesIO(images.from_data_url(proxy)))), bits(mask))
    ace = editor.payload("acedata")["mask"]
    assert np.array_equal(bits(Image.open(io.BytesIO(base64.b64decode(ace)))), bits(mask))
    assert editor.payload("evolink") == {"mask": {"areas": polygons}}


def test_reposition_presets_drag_with_snapping_scale_and_undo(client):
    source = Image.new("RGB", (1024, 1024), (200, 30, 30))
    editor = CanvasEditor(source, client=client, display_size=768)
    editor.controls.mode_reposition.value = True
    assert editor.mode == "reposition" and editor.tool == "move"
    editor.controls.preset.value = "16:9"
    assert editor.canvas_size == (1820, 1024) and editor.image_box == (398, 0, 1024, 1024)
    assert editor.layers.size == (768, 432)
    assert (editor.controls.canvas_width.value, editor.controls.canvas_height.value) == (1820, 1024)
    editor.controls.scale.value = 0.5
    assert editor.image_box == (654, 256, 512, 512)
    k = 1820 / 768
    # drag 100 display px left: 237 source px, far from any guide
    drag(editor, [(384, 216), (334, 216), (284, 216)])
    assert editor.image_box == (654 - round(100 * k), 256, 512, 512)
    # a drag that ends 2 display px from the left edge snaps onto it
    x0 = editor.image_box[0] / k
    drag(editor, [(300, 216), (300 - x0 + 2, 216)])
    assert editor.image_box == (0, 256, 512, 512)
    editor.controls.undo.click()
    assert editor.image_box == (654 - round(100 * k), 256, 512, 512)
    editor.controls.undo.click()
    editor.controls.undo.click()
    assert editor.image_box == (398, 0, 1024, 1024)
    editor.controls.undo.click()
    assert editor.canvas_size == (1024, 1024) and editor.controls.preset.value == "free"
    editor.controls.redo.click()
    editor.controls.redo.click()
    assert editor.image_box == (654, 256, 512, 512)


def test_the_corner_handle_scales_and_the_composite_puts_source_pixels_in_the_box(client):
    rng = np.random.default_rng(3)
    source = Image.fromarray(rng.integers(0, 255, size=(512, 512, 3), dtype=np.uint8))
    editor = CanvasEditor(source, client=client, display_size=512, mode="reposition")
    editor.set_canvas((1024, 1024))
    assert editor.image_box == (256, 256, 512, 512)
    # the handle sits at the box's bottom-right corner: display (384, 384); drag it in by 64 px
    drag(editor, [(384, 384), (320, 320)])
    assert editor.image_box == (256, 256, 384, 384)
    editor.place_image(100, 40, scale=1.0)
    assert editor.image_box == (100, 40, 512, 512)
    composite = np.asarray(editor.composite())
    assert composite.shape == (1024, 1024, 4)
    assert np.array_equal(composite[40:552, 100:612, :3], np.asarray(source))
    assert (composite[40:552, 100:612, 3] == 255).all() and composite[:40, :, 3].max() == 0
    fill = bits(editor.fill_mask())
    assert fill.sum() == 1024 * 1024 - 512 * 512 and not fill[300, 300]
    assert editor.payload("evolink") == {
        "canvas": {"width": 1024, "height": 1024},
        "img_pos": {"width": 512, "height": 512, "x": 100, "y": 40},
    }
    assert "maskBase64" not in editor.payload("mjproxy")  # the proxies' edits take the composite alone


def test_a_reconnecting_view_gets_everything_redrawn_from_kernel_state(client, photo, sent):
    editor = CanvasEditor(photo, client=client)
    drag(editor, [(10, 10), (60, 60)])
    sent.clear()
    editor.layers.multi[-1]._handle_frontend_event(None, {"event": "client_ready"}, [])
    assert len(sent) == 1
    assert sent[0].count("drawImage") == 2 and "putImageData" in sent[0]  # photo, image layer, mask overlay


async def test_a_burst_of_client_ready_events_gives_one_redraw(client, photo, sent):
    editor = CanvasEditor(photo, client=client)
    sent.clear()
    for canvas in (editor.layers.multi[-1], editor.layers.photo_canvas, editor.layers.multi[-1]):
        canvas._handle_frontend_event(None, {"event": "client_ready"}, [])
    assert sent == [] and editor.event_counts["client_ready"] == 3  # the burst settles first
    for _ in range(50):
        await asyncio.sleep(0.05)
        if sent:
            break
    await asyncio.sleep(0.2)
    assert len(sent) == 1 and sent[0].count("drawImage") == 2


def test_bad_input_is_refused_by_name_and_the_state_is_kept(client, photo, tmp_path):
    with pytest.raises(mjnb.ValidationError) as err:
        CanvasEditor(b"this is not an image", client=client)
    assert err.value.field == "image"
    editor = CanvasEditor(photo, client=client, display_size=512)
    drag(editor, [(10, 10), (50, 50)])
    strokes, mask = editor.strokes, editor.mask()
    text = tmp_path / "notes.png"
    text.write_text("hello")
    with pytest.raises(mjnb.ValidationError) as err:
        editor.load(text)
    assert err.value.field == "image"
    huge = tmp_path / "huge.png"
    Image.new("L", (9000, 8000)).save(huge)
    with pytest.raises(mjnb.ValidationError, match="pixel|limit|MP|large"):
        editor.load(huge)
    assert editor.strokes == strokes and editor.image is photo
    assert np.array_equal(np.asarray(editor.mask()), np.asarray(mask))
    editor.set_mode("reposition")
    with pytest.raises(mjnb.ValidationError, match="at least 64") as err:
        editor.set_canvas((32, 2048))
    assert err.value.field == "canvas" and editor.canvas_size == (2048, 2048)
    editor.controls.canvas_width.value = 20  # typed into the control: an error shown, the state kept
    assert editor.canvas_size == (2048, 2048) and editor.controls.canvas_width.value == 2048
    assert "at least 64" in editor.controls.status.value
    with pytest.raises(mjnb.ValidationError, match=f"at most {editor.max_canvas_side}"):
        editor.set_canvas((editor.max_canvas_side + 1, 2048))
    with pytest.raises(mjnb.ValidationError) as err:
        CanvasEditor(photo, client=client, display_size=50)
    assert err.value.field == "display_size"


def test_operations_the_dialect_lacks_are_disabled_with_the_reason(client, photo):
    editor = CanvasEditor(photo, client=client)  # mjproxy, a plain image: no task to inpaint
    assert editor.mode == "inpaint"
    assert editor.controls.submit.disabled
    assert "takes no mask" in editor.controls.submit.tooltip and "takes no mask" in editor.controls.reason.value
    with pytest.raises(mjnb.UnsupportedOperation, match="takes no mask"):
        editor.submit("a cat")
    editor.set_mode("reposition")  # the proxy's edit takes a composite image
    assert not editor.controls.submit.disabled and editor.controls.submit.description == "Edit"
    assert editor.controls.reason.value == ""
    editor.set_mode("inpaint")  # painting stays open (the exports work anywhere); Submit says why it is off
    assert editor.mode == "inpaint" and editor.controls.submit.disabled


def test_no_key_in_any_output(photo):
    secret = "sk-very-secret-editor-key"
    client = mjnb.Client("mjproxy", base_url="http://127.0.0.1:9/mjproxy", api_key=secret, journal=False)
    editor = CanvasEditor(photo, client=client)
    texts = [repr(editor), editor.controls.status.value, editor.controls.reason.value, editor.controls.submit.tooltip]
    assert not any(secret in t for t in texts)


def _shown(widget) -> bool:
    return widget.layout.display != "none"


def test_each_mode_shows_its_own_controls(client, photo):
    editor = CanvasEditor(photo, client=client)
    c = editor.controls
    painting = [c.tools["brush"], c.tools["eraser"], c.tools["rect"], c.tools["lasso"], c.invert, c.clear, c.brush_size]
    placing = [c.tools["move"], c.preset, c.canvas_width, c.scale, c.centre]
    always = [c.mode_inpaint, c.mode_reposition, c.undo, c.redo, c.prompt, c.submit, editor.layers.multi]

    def visible(widget):  # the widget and the row that holds it
        rows = [
            row for row in (c.mode_row, c.paint_row, c.slider_row, c.place_row, c.submit_row) if widget in row.children
        ]
        return _shown(widget) and all(_shown(row) for row in rows)

    assert all(visible(w) for w in painting + always) and not any(visible(w) for w in placing)
    assert not visible(c.edit_result)  # until a result exists
    editor.set_mode("reposition")
    assert all(visible(w) for w in placing + always) and not any(visible(w) for w in painting)
