"""Mask → polygons (EvoLink's ``mask.areas``), by crack following on the pixel grid.

How it works, and why:

* Every pixel edge between a painted and an unpainted pixel is a directed *crack* with the
  painted side on its right, so outer boundaries run clockwise on screen (y down).  All
  cracks are found and linked with numpy; only the corners are walked in Python.
* Where two painted pixels touch only diagonally the walk turns right, keeping them apart
  (4-connectivity); each becomes its own area.
* Areas are additive, so a hole cannot be subtracted.  Instead each hole is opened by a
  slit along the grid line above its top row, from the left edge of the mask to the hole;
  the boundary then runs round the hole through the slit and the mask keeps its hole.
* Each corner is moved half a pixel inwards onto the centre of a painted pixel, giving
  integer points that Pillow's ``ImageDraw.polygon`` (which fills its outline too)
  rasterises back to exactly the same pixels.
* A one-sided Douglas–Peucker then drops staircase corners: up to ``inward`` px when the
  new chord passes outside the corner (no painted pixel is lost), up to ``outward`` px when
  it cuts the corner off.  A corner between two sides at least 2 px long is never dropped,
  so unions of rectangles stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]

__all__ = ["trace_polygons"]

# Directions in clockwise order on screen: east, south, west, north.
_DX = np.array([1, 0, -1, 0], dtype=np.int64)
_DY = np.array([0, 1, 0, -1], dtype=np.int64)
# The painted side of a crack is on the right of its direction of travel.
_INWARD_X = -_DY
_INWARD_Y = _DX


class _Cracks:
    """Every boundary crack of a mask, as start points and directions, ordered so that the
    straight continuation of crack ``i`` is crack ``i + 1``.  Hole slits can be added."""

    def __init__(self, fg: Bools) -> None:
        h, w = fg.shape
        self.width = w
        padded = np.zeros((h + 2, w + 2), dtype=bool)
        padded[1:-1, 1:-1] = fg
        self.padded = padded
        # Cracks between pixel rows y-1 and y (grid row y), pixel column x: (h+1) × w.
        self.between_rows = padded[1:, 1:-1] != padded[:-1, 1:-1]
        # Cracks between pixel columns x-1 and x (grid column x), pixel row y: h × (w+1).
        # flatnonzero on a contiguous array is far faster than nonzero on a 2-D view.
        ys, xs = np.divmod(np.flatnonzero(padded[1:-1, 1:] != padded[1:-1, :-1]), w + 1)
        painted_left = padded[ys + 1, xs]
        # Column-major order puts a straight continuation next (a stable sort keeps y order).
        sx, sy = xs[painted_left], ys[painted_left]
        by_column = np.argsort(sx, kind="stable")
        self.south = (sx[by_column], sy[by_column])  # (x, y) → (x, y + 1)
        nx, ny = xs[~painted_left], ys[~painted_left] + 1
        by_column = np.argsort(nx, kind="stable")[::-1]  # x and y descending
        self.north = (nx[by_column], ny[by_column])  # (x, y + 1) → (x, y)

    def edges(self, slits: Sequence[tuple[int, int]] = ()) -> tuple[Ints, Ints, Ints]:
        """(start x, start y, direction) arrays; each slit (grid row, end x) cuts the cracks
        of that row from x = 0 to the end into a boundary on both sides."""
        rows = self.between_rows
        if slits:
            rows = rows.copy()
            p = self.padded
            for y, x_end in slits:
                rows[y, :x_end] |= p[y, 1 : x_end + 1] & p[y + 1, 1 : x_end + 1]
        ys, xs = np.divmod(np.flatnonzero(rows), self.width)
        painted_below = self.padded[ys + 1, xs + 1]
        painted_above = self.padded[ys, xs + 1]  # a slit crack is painted on both sides
        ex, ey = xs[painted_below], ys[painted_below]  # east: (x, y) → (x + 1, y)
        wx, wy = xs[painted_above][::-1] + 1, ys[painted_above][::-1]  # west: (x + 1, y) → (x, y)
        parts = ((ex, ey), self.south, (wx, wy), self.north)
        sx = np.concatenate([p[0] for p in parts]).astype(np.int64)
        sy = np.concatenate([p[1] for p in parts]).astype(np.int64)
        d = np.repeat(np.arange(4, dtype=np.int64), [len(p[0]) for p in parts])
        return sx, sy, d


def _link(sx: Ints, sy: Ints, d: Ints, width: int) -> Ints:
    """For each crack, the crack that follows it: right turn, else straight, else left."""
    n = len(d)
    stride = width + 1
    key = (sy * stride + sx) * 4 + d
    by_key = np.argsort(key)
    sorted_key = key[by_key]
    end_vertex = (sy + _DY[d]) * stride + (sx + _DX[d])
    following = np.full(n, -1, dtype=np.int64)
    for turn in (1, 0, 3):
        wanted = end_vertex * 4 + (d + turn) % 4
        pos = np.minimum(np.searchsorted(sorted_key, wanted), n - 1)
        hit = (sorted_key[pos] == wanted) & (following < 0)
        following[hit] = by_key[pos[hit]]
    if (following < 0).any() or np.bincount(following, minlength=n).max() != 1:
        raise RuntimeError("mask tracing produced an inconsistent boundary (a bug in mjnb)")
    return following


def _walk(following_corner: list[int]) -> tuple[Ints, Ints]:
    """Corners in boundary order and the start offset of each loop (plus the end)."""
    m = len(following_corner)
    seen = bytearray(m)
    order: list[int] = []
    starts: list[int] = []
    for first in range(m):
        if seen[first]:
            continue
        starts.append(len(order))
        c = first
        while not seen[c]:
            seen[c] = 1
            order.append(c)
            c = following_corner[c]
    starts.append(len(order))
    return np.asarray(order, dtype=np.int64), np.asarray(starts, dtype=np.int64)


def _loops(cracks: _Cracks, slits: list[tuple[int, int]]) -> tuple[Ints, Ints, Ints, Ints, Bools, Ints]:
    """Boundary loops as corner arrays in walk order: crack-grid corner points, inset pixel
    points, whether each corner is protected, and loop offsets."""
    sx, sy, d = cracks.edges(slits)
    if len(d) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, np.zeros(0, dtype=bool), np.zeros(1, dtype=np.int64)
    following = _link(sx, sy, d, cracks.width)
    n = len(d)
    index = np.arange(n)
    # The crack after this one turns a corner (a straight successor is always at index + 1).
    run_end = (following != index + 1) | (d[following] != d)
    # Length of the straight run that ends at each crack.
    run_start = np.maximum.accumulate(np.where(np.r_[True, run_end[:-1]], index, 0))
    corners = np.nonzero(run_end)[0]
    # The corner that ends the run starting right after each corner.
    next_end = np.minimum.accumulate(np.where(run_end, index, n)[::-1])[::-1]
    compact = np.full(n, -1, dtype=np.int64)
    compact[corners] = np.arange(len(corners))
    following_corner = compact[next_end[following[corners]]]
    order, starts = _walk(following_corner.tolist())

    c = corners[order]
    after = following[c]
    cx = sx[c] + _DX[d[c]]
    cy = sy[c] + _DY[d[c]]
    # Half a pixel inwards along both sides' normals, then from grid to pixel-centre coords.
    px = cx + (_INWARD_X[d[c]] + _INWARD_X[d[after]] - 1) // 2
    py = cy + (_INWARD_Y[d[c]] + _INWARD_Y[d[after]] - 1) // 2
    run_in = c - run_start[c] + 1
    out_end = next_end[after]
    run_out = out_end - run_start[out_end] + 1
    protected = (run_in >= 2) & (run_out >= 2)
    return cx, cy, px, py, protected, starts


def _signed_areas(cx: Ints, cy: Ints, starts: Ints) -> Floats:
    """Twice the shoelace area of each loop: positive for outer (clockwise on screen) loops."""
    lengths = np.diff(starts)
    loop = np.repeat(np.arange(len(lengths)), lengths)
    local = np.arange(len(cx)) - starts[loop]
    nxt = starts[loop] + (local + 1) % lengths[loop]
    cross = cx * cy[nxt] - cx[nxt] * cy
    return np.bincount(loop, weights=cross, minlength=len(lengths)).astype(np.float64)


def _hole_slits(cx: Ints, cy: Ints, starts: Ints, areas: Floats) -> list[tuple[int, int]]:
    """(grid row of the hole's top, x of its top-left corner) for every hole loop."""
    slits = []
    for k in np.nonzero(areas < 0)[0].tolist():
        xs, ys = cx[starts[k] : starts[k + 1]], cy[starts[k] : starts[k + 1]]
        top = ys.min()
        slits.append((int(top), int(xs[ys == top].min())))
    return slits


def _drop_repeats(px: Ints, py: Ints, protected: Bools, starts: Ints) -> tuple[Ints, Ints, Bools, Ints]:
    """Remove points equal to their predecessor in the loop (thin parts inset to one line)."""
    lengths = np.diff(starts)
    loop = np.repeat(np.arange(len(lengths)), lengths)
    local = np.arange(len(px)) - starts[loop]
    prev = starts[loop] + (local - 1) % lengths[loop]
    repeat = (px == px[prev]) & (py == py[prev])
    repeat[starts[:-1][np.logical_and.reduceat(repeat, starts[:-1])]] = False  # a lone pixel keeps one point
    keep = ~repeat
    counts = np.bincount(loop[keep], minlength=len(lengths))
    return px[keep], py[keep], protected[keep], np.r_[0, np.cumsum(counts)]


def _rotate_to_top_left(px: Ints, py: Ints, protected: Bools, starts: Ints) -> tuple[Ints, Ints, Bools]:
    lengths = np.diff(starts)
    loop = np.repeat(np.arange(len(lengths)), lengths)
    key = py * (int(px.max()) + 1) + px
    lowest = np.minimum.reduceat(key, starts[:-1])
    index = np.arange(len(px))
    first_low = np.minimum.reduceat(np.where(key == lowest[loop], index, len(px)), starts[:-1])
    shift = first_low - starts[:-1]
    local = index - starts[loop]
    source = starts[loop] + (local + shift[loop]) % lengths[loop]
    return px[source], py[source], protected[source]


def _douglas_peucker(px: Ints, py: Ints, protected: Bools, starts: Ints, inward: float, outward: float) -> Bools:
    """Which points to keep, all loops at once.

    Douglas–Peucker, one-sided: a point may be dropped when it lies within ``inward`` px on
    the painted side of the chord that replaces it, or within ``outward`` px on the other
    side.  With ``outward`` = 0 no painted pixel centre is cut off (convex staircases keep
    their outer corners); each round splits every segment at its worst point.
    """
    lengths = np.diff(starts)
    total = len(px) + len(lengths)
    # Each loop is closed by a copy of its first point so that segments never span loops.
    positions = np.arange(len(px)) + np.repeat(np.arange(len(lengths)), lengths)
    closing = starts[1:] + np.arange(len(lengths))
    qx = np.empty(total, dtype=np.float64)
    qy = np.empty(total, dtype=np.float64)
    qx[positions], qy[positions] = px, py
    qx[closing], qy[closing] = px[starts[:-1]], py[starts[:-1]]
    keep = np.zeros(total, dtype=bool)
    keep[positions] = protected
    keep[positions[starts[:-1]]] = True
    keep[closing] = True
    undecided = ~keep
    index = np.arange(total)
    while undecided.any():
        prev_kept = np.maximum.accumulate(np.where(keep, index, 0))
        next_kept = np.minimum.accumulate(np.where(keep, index, total)[::-1])[::-1]
        pts = np.nonzero(undecided)[0]
        a, b = prev_kept[pts], next_kept[pts]
        ax, ay = qx[a], qy[a]
        vx, vy = qx[b] - ax, qy[b] - ay
        wx, wy = qx[pts] - ax, qy[pts] - ay
        span = vx * vx + vy * vy
        t = np.clip((wx * vx + wy * vy) / np.where(span > 0, span, 1.0), 0.0, 1.0)
        dist = np.hypot(wx - t * vx, wy - t * vy)
        # The painted side is on the right of travel (y down): cross ≥ 0.  A closing chord
        # of zero length has no side; it counts as outward so that small loops survive.
        painted_side = (vx * wy - vy * wx >= 0) & (span > 0)
        allowed = np.where(painted_side, inward, outward)
        excess = np.divide(dist, allowed, out=np.where(dist > 0, np.inf, 0.0), where=allowed > 0)
        # Segments are contiguous runs of ``pts`` sharing ``a``.
        seg_start = np.nonzero(np.r_[True, a[1:] != a[:-1]])[0]
        seg_max = np.maximum.reduceat(excess, seg_start)
        seg_of = np.repeat(np.arange(len(seg_start)), np.diff(np.r_[seg_start, len(pts)]))
        split = seg_max[seg_of] > 1.0
        undecided[pts[~split]] = False  # settled: dropped
        hits = np.nonzero(split & (excess == seg_max[seg_of]))[0]
        if len(hits):
            first = hits[np.r_[True, seg_of[hits][1:] != seg_of[hits][:-1]]]
            keep[pts[first]] = True
            undecided[pts[first]] = False
    return keep[positions]


def trace_polygons(fg: Bools, inward: float, outward: float) -> list[list[int]]:
    """Flat ``[x1, y1, x2, y2, …]`` point lists (at least 3 points), clockwise from the
    top-left point, whose filled polygons cover ``fg`` (a 2-D bool array)."""
    rows = np.nonzero(fg.any(axis=1))[0]
    if len(rows) == 0:
        return []
    cols = np.nonzero(fg.any(axis=0))[0]
    top, left = int(rows[0]), int(cols[0])
    crop = np.ascontiguousarray(fg[top : rows[-1] + 1, left : cols[-1] + 1])

    cracks = _Cracks(crop)
    cx, cy, px, py, protected, starts = _loops(cracks, [])
    slits = _hole_slits(cx, cy, starts, _signed_areas(cx, cy, starts))
    if slits:
        cx, cy, px, py, protected, starts = _loops(cracks, slits)
        if (_signed_areas(cx, cy, starts) <= 0).any():
            raise RuntimeError("mask tracing left a hole unopened (a bug in mjnb)")

    px, py, protected, starts = _drop_repeats(px, py, protected, starts)
    px, py, protected = _rotate_to_top_left(px, py, protected, starts)
    keep = _douglas_peucker(px, py, protected, starts, inward, outward)

    polygons: list[tuple[int, int, list[int]]] = []
    xs, ys = (px + left).tolist(), (py + top).tolist()
    keep_list = keep.tolist()
    bounds = starts.tolist()
    for s, e in zip(bounds[:-1], bounds[1:]):
        points = [(xs[i], ys[i]) for i in range(s, e) if keep_list[i]]
        while len(points) < 3:  # a line or a lone pixel: EvoLink wants at least 3 points
            points.append(points[-1] if len(points) > 1 else points[0])
        flat = [v for point in points for v in point]
        polygons.append((flat[1], flat[0], flat))
    polygons.sort(key=lambda p: (p[0], p[1]))
    return [flat for _, _, flat in polygons]
