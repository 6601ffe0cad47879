"""Display ↔ source scaling, reposition canvases and boxes, snapping: exact arithmetic."""

from __future__ import annotations

import pytest

from mjnb._errors import ValidationError
from mjnb.widgets._geometry import (
    ASPECT_PRESETS,
    Box,
    View,
    canvas_for_aspect,
    canvas_point,
    centred_box,
    check_canvas_size,
    image_point,
    max_scale,
    move_box,
    parse_aspect,
    scale_box,
)


def test_a_2048_source_is_shown_at_768_and_maps_back_exactly():
    view = View((2048, 2048), 768)
    assert view.size == (768, 768)
    assert view.scale == 0.375
    assert view.to_source(384, 384) == (1024.0, 1024.0)
    assert view.to_source(768, 768) == (2048.0, 2048.0)
    assert view.to_display(2048, 1024) == (768.0, 384.0)
    assert view.length_to_source(12) == 32.0


def test_a_small_image_is_shown_larger_and_a_wide_canvas_keeps_its_edges():
    assert View((512, 256), 768).size == (768, 384)
    view = View((1820, 1024), 768)
    assert view.size == (768, 432)  # 1024 · 768 / 1820 = 432.07
    assert view.to_source(768, 432) == (1820.0, 1024.0)  # the last display edge is the last source edge
    x, y = view.to_source(*view.to_display(1000, 700))
    assert (round(x, 9), round(y, 9)) == (1000, 700)


def test_box_to_display():
    assert View((2048, 1024), 512).box_to_display(Box(512, 256, 1024, 512)) == (128.0, 64.0, 256.0, 128.0)


def test_image_and_canvas_points_are_inverse():
    box = Box(398, 100, 512, 256)
    assert image_point(box, (1024, 512), 398, 100) == (0.0, 0.0)
    assert image_point(box, (1024, 512), 910, 356) == (1024.0, 512.0)
    assert canvas_point(box, (1024, 512), 512, 256) == (654.0, 228.0)


@pytest.mark.parametrize(
    "image, aspect, canvas",
    [
        ((1024, 1024), "16:9", (1820, 1024)),
        ((1024, 1024), "9:16", (1024, 1820)),
        ((1024, 1024), "1:1", (1024, 1024)),
        ((1024, 768), "1:1", (1024, 1024)),
        ((1024, 1024), "2:3", (1024, 1536)),
        ((1456, 816), "3:2", (1456, 971)),
        ((1456, 816), "1:2", (1456, 2912)),
        ((1024, 1024), (4, 3), (1365, 1024)),
    ],
)
def test_canvas_for_aspect_is_the_smallest_that_holds_the_image(image, aspect, canvas):
    assert canvas_for_aspect(image, aspect) == canvas
    assert canvas[0] >= image[0] and canvas[1] >= image[1]


def test_canvas_for_aspect_shrinks_to_the_dialect_limit():
    assert canvas_for_aspect((2048, 2048), "2:1", max_side=4096) == (4096, 2048)
    assert canvas_for_aspect((4096, 4096), "16:9", max_side=4096) == (4096, 2304)
    assert canvas_for_aspect((4096, 4096), "1:2", max_side=4096) == (2048, 4096)


def test_every_preset_of_the_issue_is_offered():
    assert list(ASPECT_PRESETS) == ["1:1", "1:2", "2:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9"]


@pytest.mark.parametrize("bad", ["0:1", "abc", "3:", (1,), (0, 2), "1:-1", None])
def test_a_bad_aspect_names_the_field_and_the_presets(bad):
    with pytest.raises(ValidationError) as err:
        parse_aspect(bad)
    assert err.value.field == "aspect" and "16:9" in str(err.value)


def test_check_canvas_size():
    assert check_canvas_size((64, 4096), 4096) == (64, 4096)
    with pytest.raises(ValidationError, match="at least 64") as err:
        check_canvas_size((63, 100), 4096)
    assert err.value.field == "canvas"
    with pytest.raises(ValidationError, match="at most 4096"):
        check_canvas_size((5000, 100), 4096)
    with pytest.raises(ValidationError, match="integers"):
        check_canvas_size(("a", 100), 4096)


def test_centred_box_and_max_scale():
    assert centred_box((1820, 1024), (1024, 1024), 1.0) == (398, 0, 1024, 1024)
    assert centred_box((1024, 1024), (1024, 1024), 0.5) == (256, 256, 512, 512)
    assert max_scale((1820, 1024), (1024, 1024)) == 1.0
    assert max_scale((2048, 4096), (4096, 4096)) == 0.5


def test_move_box_clamps_to_the_canvas():
    canvas = (1820, 1024)
    assert move_box(Box(100, 0, 1024, 1024), 5000, 30, canvas).box == (796, 0, 1024, 1024)
    assert move_box(Box(100, 0, 1024, 1024), -5000, 0, canvas).box == (0, 0, 1024, 1024)
    assert move_box(Box(100, 100, 500, 500), 10.4, -20.6, canvas).box == (110, 79, 500, 500)


def test_move_box_snaps_to_centre_and_edges_within_the_threshold():
    canvas = (1820, 1024)
    snapped = move_box(
        Box(100, 250, 512, 512), 290, 0, canvas, snap=10
    )  # x 390 (centre-x is 654), y 250 (centre-y 256)
    assert snapped.box == (390, 256, 512, 512) and snapped.guides == ("centre-y",)
    snapped = move_box(Box(100, 250, 512, 512), 550, 0, canvas, snap=10)  # x 650 → 654
    assert snapped.box == (654, 256, 512, 512) and snapped.guides == ("centre-x", "centre-y")
    snapped = move_box(Box(100, 250, 512, 512), 1200, 260, canvas, snap=10)  # right (1308) and bottom (512) edges
    assert snapped.box == (1308, 512, 512, 512) and snapped.guides == ("right", "bottom")
    snapped = move_box(Box(100, 250, 512, 512), -95, 100, canvas, snap=4)  # 5 from the left edge, snap 4
    assert snapped.box == (5, 350, 512, 512) and snapped.guides == ()


def test_scale_box_keeps_the_centre_and_fits():
    canvas = (1820, 1024)
    assert scale_box(Box(398, 0, 1024, 1024), (1024, 1024), 0.5, canvas) == (654, 256, 512, 512)
    assert scale_box(Box(398, 0, 1024, 1024), (1024, 1024), 3.0, canvas) == (398, 0, 1024, 1024)  # clamped to fit
    assert scale_box(Box(0, 0, 256, 256), (1024, 1024), 0.5, canvas) == (0, 0, 512, 512)  # pushed back on the canvas
