"""Mask commands → mask pixels, exactly (pixel (i, j) is the unit square centred on (i+.5, j+.5))."""

from __future__ import annotations

import numpy as np
import pytest

from mjnb.widgets._strokes import Clear, Invert, Lasso, MaskCommands, Rect, Stroke, rasterise


def pixels(mask: np.ndarray) -> set[tuple[int, int]]:
    """The set pixels as (x, y)."""
    ys, xs = np.nonzero(mask)
    return set(zip(xs.tolist(), ys.tolist()))


def test_a_dot_between_four_pixels_covers_those_four():
    mask = rasterise([Stroke(((5.0, 5.0),), 1.0)], (10, 10))
    assert pixels(mask) == {(4, 4), (5, 4), (4, 5), (5, 5)}


def test_a_dot_on_a_pixel_centre_covers_a_plus_distance_equal_to_radius_included():
    mask = rasterise([Stroke(((5.5, 5.5),), 1.0)], (10, 10))
    assert pixels(mask) == {(5, 5), (4, 5), (6, 5), (5, 4), (5, 6)}


def test_a_horizontal_stroke_is_a_capsule():
    mask = rasterise([Stroke(((2.5, 5.5), (7.5, 5.5)), 1.0)], (10, 10))
    expected = {(x, 5) for x in range(1, 9)} | {(x, y) for x in range(2, 8) for y in (4, 6)}
    assert pixels(mask) == expected


def test_a_vertical_stroke_is_the_transposed_capsule():
    mask = rasterise([Stroke(((5.5, 2.5), (5.5, 7.5)), 1.0)], (10, 10))
    expected = {(5, y) for y in range(1, 9)} | {(x, y) for y in range(2, 8) for x in (4, 6)}
    assert pixels(mask) == expected


def test_strokes_are_clipped_to_the_image():
    mask = rasterise([Stroke(((-3.0, 0.5), (1.8, 0.5)), 0.6)], (4, 3))  # reaches x = 2.4 < 2.5
    assert pixels(mask) == {(0, 0), (1, 0)}
    assert not rasterise([Stroke(((50.0, 50.0),), 3.0)], (8, 8)).any()


def _distance_to_polyline(points, xs, ys):
    best = np.full(xs.shape, np.inf)
    pts = list(points) if len(points) > 1 else [points[0], points[0]]
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = np.zeros(xs.shape) if length2 == 0 else np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0, 1)
        best = np.minimum(best, np.hypot(xs - (ax + t * dx), ys - (ay + t * dy)))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_random_strokes_match_the_distance_definition(seed):
    rng = np.random.default_rng(seed)
    w, h = 61, 47
    n = int(rng.integers(1, 9))
    points = tuple(map(tuple, rng.uniform(-8, 70, size=(n, 2)).round(2)))
    radius = float(rng.uniform(0.3, 9))
    mask = rasterise([Stroke(points, radius)], (w, h))
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    d = _distance_to_polyline(points, xs, ys)
    decided = np.abs(d - radius) > 1e-9  # pixel centres exactly on the edge: either answer is float noise
    assert np.array_equal(mask[decided], (d <= radius)[decided])


def test_the_eraser_removes_what_it_covers_and_only_that():
    commands = [Rect(0, 0, 10, 10), Stroke(((5.5, 5.5),), 1.0, erase=True)]
    mask = rasterise(commands, (10, 10))
    assert pixels(mask) == {(x, y) for x in range(10) for y in range(10)} - {(5, 5), (4, 5), (6, 5), (5, 4), (5, 6)}


def test_rect_covers_pixel_centres_in_the_half_open_box_corners_in_any_order():
    expected = {(x, y) for x in range(2, 5) for y in range(3, 7)}
    assert pixels(rasterise([Rect(2, 3, 5, 7)], (10, 10))) == expected
    assert pixels(rasterise([Rect(5, 7, 2, 3)], (10, 10))) == expected
    assert pixels(rasterise([Rect(2.5, 3.5, 4.5, 6.5)], (10, 10))) == {(x, y) for x in (2, 3) for y in (3, 4, 5)}
    assert pixels(rasterise([Rect(-5, -5, 1, 1)], (4, 4))) == {(0, 0)}


def test_lasso_triangle_is_filled_by_the_half_open_rule():
    mask = rasterise([Lasso(((0, 0), (8, 0), (0, 8)))], (8, 8))
    assert pixels(mask) == {(x, y) for x in range(8) for y in range(8) if x + y <= 6}


def test_lasso_square_equals_rect_and_needs_three_points():
    square = Lasso(((1, 1), (6, 1), (6, 4), (1, 4)))
    assert np.array_equal(rasterise([square], (8, 8)), rasterise([Rect(1, 1, 6, 4)], (8, 8)))
    assert not rasterise([Lasso(((1, 1), (6, 6)))], (8, 8)).any()


def _pnpoly(points, x, y):
    inside = False
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


@pytest.mark.parametrize("seed", range(6))
def test_random_self_crossing_lassos_match_even_odd_ray_casting(seed):
    rng = np.random.default_rng(100 + seed)
    w, h = 40, 33
    points = [tuple(p) for p in rng.uniform(-5, 45, size=(int(rng.integers(3, 12)), 2)).round(1).tolist()]
    mask = rasterise([Lasso(tuple(points))], (w, h))
    expected = np.array([[_pnpoly(points, i + 0.5, j + 0.5) for i in range(w)] for j in range(h)])
    assert np.array_equal(mask, expected)


def test_invert_and_clear():
    mask = rasterise([Rect(0, 0, 2, 2), Invert()], (4, 4))
    assert pixels(mask) == {(x, y) for x in range(4) for y in range(4)} - {(0, 0), (1, 0), (0, 1), (1, 1)}
    assert not rasterise([Rect(0, 0, 2, 2), Clear()], (4, 4)).any()
    assert pixels(rasterise([Rect(0, 0, 2, 2), Clear(), Rect(3, 3, 4, 4)], (4, 4))) == {(3, 3)}


def test_history_undo_redo_and_the_stroke_being_drawn():
    history = MaskCommands((20, 10))
    history.begin_stroke(2.5, 2.5, 1.0)
    assert history.extend_stroke(6.5, 2.5)
    assert not history.extend_stroke(6.5, 2.5)  # the same point twice adds nothing
    assert history.commands == ()  # still being drawn …
    assert pixels(history.array()) == pixels(
        rasterise([Stroke(((2.5, 2.5), (6.5, 2.5)), 1.0)], (20, 10))
    )  # … but shown
    stroke = history.end_stroke()
    assert stroke == Stroke(((2.5, 2.5), (6.5, 2.5)), 1.0)
    history.push(Rect(10, 0, 12, 10))
    history.push(Invert())
    full = history.array()
    assert np.array_equal(full, rasterise(history.commands, (20, 10)))
    assert history.undo() == Invert()
    assert np.array_equal(history.array(), rasterise([stroke, Rect(10, 0, 12, 10)], (20, 10)))
    assert history.redo() == Invert()
    assert np.array_equal(history.array(), full)
    history.undo()
    history.push(Clear())  # a new command drops the redo list
    assert not history.can_redo and history.redo() is None
    assert not history.array().any()
    while history.can_undo:
        history.undo()
    assert history.undo() is None and not history.array().any()


def test_the_array_is_a_copy():
    history = MaskCommands((4, 4), [Rect(0, 0, 1, 1)])
    first = history.array()
    first[...] = True
    assert pixels(history.array()) == {(0, 0)}


def test_a_source_sized_mask_is_exact_at_4096():
    history = MaskCommands((4096, 4096))
    history.push(Stroke(((100.0, 100.0), (4000.0, 4000.0)), 50.0))
    history.push(Rect(0, 4000, 4096, 4096, erase=True))
    mask = history.array()
    assert mask.shape == (4096, 4096)
    assert mask[100, 100] and mask[2000, 2000] and not mask[100, 4000]
    assert not mask[4000:].any()
    # on the diagonal the capsule is 2·50·√2 ≈ 141.4 px wide on each row
    assert abs(int(mask[2000].sum()) - 141) <= 1
