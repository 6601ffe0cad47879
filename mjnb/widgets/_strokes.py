"""The mask as a list of small commands, rasterised exactly at source resolution (pure numpy).

The browser only ever shows a drawing of the mask; the mask itself is this list of commands,
in image pixels, and :meth:`MaskCommands.array` rebuilds it exactly, whatever the display size.
Pixel rules (a pixel ``(i, j)`` is the unit square whose centre is ``(i + 0.5, j + 0.5)``):

* :class:`Stroke` (brush / eraser) — the centre lies within ``radius`` of the polyline
  through ``points`` (distance ≤ radius: a round brush with round joins and ends);
* :class:`Rect` — the centre lies in ``[x0, x1) × [y0, y1)``;
* :class:`Lasso` — the centre lies inside the closed polygon (even-odd rule, edges half-open
  like ``Rect``);
* :class:`Invert` flips every pixel; :class:`Clear` empties the mask.

A command with ``erase=True`` removes what it covers instead of adding it.  Commands apply in
order, so ``array()`` after any sequence of pushes, undos and redos equals rasterising the
commands that are done, from an empty mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

__all__ = ["Stroke", "Rect", "Lasso", "Invert", "Clear", "Command", "MaskCommands", "rasterise", "apply"]

Point = tuple[float, float]
#: (rows, starts, ends) of inclusive pixel spans, int64 arrays of one length.
_Spans = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Stroke:
    """A brush (or, with ``erase``, eraser) stroke: a polyline of ``points`` with a round tip of ``radius``."""

    points: tuple[Point, ...]
    radius: float
    erase: bool = False


@dataclass(frozen=True)
class Rect:
    """A filled rectangle; corners in any order."""

    x0: float
    y0: float
    x1: float
    y1: float
    erase: bool = False


@dataclass(frozen=True)
class Lasso:
    """A filled closed polygon (at least 3 points)."""

    points: tuple[Point, ...]
    erase: bool = False


@dataclass(frozen=True)
class Invert:
    """Regenerate what was kept and keep what was to be regenerated."""


@dataclass(frozen=True)
class Clear:
    """Empty the mask."""


Command = Union[Stroke, Rect, Lasso, Invert, Clear]


# -- rasterisation ------------------------------------------------------------------------------
def _fill_spans(mask: np.ndarray, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, erase: bool) -> None:
    """Set (or clear) the union of the inclusive spans ``[starts, ends]`` on ``rows``."""
    keep = starts <= ends
    rows, starts, ends = rows[keep], starts[keep], ends[keep]
    if rows.size == 0:
        return
    r0, r1 = int(rows.min()), int(rows.max())
    c0, c1 = int(starts.min()), int(ends.max())
    n_rows, n_cols = r1 - r0 + 1, c1 - c0 + 2
    # +1 where a span starts, -1 after it ends: a pixel is covered where the running sum is > 0
    flat_start = (rows - r0) * n_cols + (starts - c0)
    flat_end = (rows - r0) * n_cols + (ends - c0 + 1)
    size = n_rows * n_cols
    diff = np.bincount(flat_start, minlength=size) - np.bincount(flat_end, minlength=size)
    covered = np.cumsum(diff.reshape(n_rows, n_cols), axis=1)[:, :-1] > 0
    region = mask[r0 : r1 + 1, c0 : c1 + 1]
    if erase:
        region &= ~covered
    else:
        region |= covered


def _stroke_spans(points: Sequence[Point], radius: float, height: int, width: int) -> _Spans:
    """Per (segment, row) pair, the pixel span of the capsule around the segment on that row.

    A capsule (a segment thickened by ``radius``) is convex, so its intersection with a
    horizontal line is one interval: the union of the intervals cut by its two end disks and
    its rectangular body, each solved in closed form.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 1:
        pts = np.vstack([pts, pts])
    a, b = pts[:-1], pts[1:]
    r = float(radius)
    lo = np.ceil(np.minimum(a[:, 1], b[:, 1]) - r - 0.5).astype(np.int64)
    hi = np.floor(np.maximum(a[:, 1], b[:, 1]) + r - 0.5).astype(np.int64)
    lo, hi = np.maximum(lo, 0), np.minimum(hi, height - 1)
    counts = np.maximum(hi - lo + 1, 0)
    seg = np.repeat(np.arange(len(a)), counts)
    if seg.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    offsets = np.arange(seg.size) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = lo[seg] + offsets
    c = rows + 0.5
    ax, ay, bx, by = a[seg, 0], a[seg, 1], b[seg, 0], b[seg, 1]
    r2 = r * r
    inf = np.inf
    left = np.full(seg.size, inf)
    right = np.full(seg.size, -inf)

    for px, py in ((ax, ay), (bx, by)):  # the end disks
        dy = c - py
        inside = dy * dy <= r2
        half = np.sqrt(np.where(inside, r2 - dy * dy, 0.0))
        left = np.where(inside, np.minimum(left, px - half), left)
        right = np.where(inside, np.maximum(right, px + half), right)

    dx_, dy_ = bx - ax, by - ay
    length = np.hypot(dx_, dy_)
    with np.errstate(divide="ignore", invalid="ignore"):
        ux, uy = dx_ / length, dy_ / length
        k_t = (c - ay) * uy  # t(x) = (x - ax)·ux + k_t must lie in [0, length]
        k_s = (c - ay) * ux  # s(x) = -(x - ax)·uy + k_s must lie in [-r, r]
        t_a, t_b = ax + (0 - k_t) / ux, ax + (length - k_t) / ux
        s_a, s_b = ax + (k_s + r) / uy, ax + (k_s - r) / uy
    t_lo = np.where(ux != 0, np.minimum(t_a, t_b), np.where((k_t >= 0) & (k_t <= length), -inf, inf))
    t_hi = np.where(ux != 0, np.maximum(t_a, t_b), np.where((k_t >= 0) & (k_t <= length), inf, -inf))
    s_lo = np.where(uy != 0, np.minimum(s_a, s_b), np.where(np.abs(k_s) <= r, -inf, inf))
    s_hi = np.where(uy != 0, np.maximum(s_a, s_b), np.where(np.abs(k_s) <= r, inf, -inf))
    band_lo, band_hi = np.maximum(t_lo, s_lo), np.minimum(t_hi, s_hi)
    has_band = (length > 0) & (band_lo <= band_hi)
    left = np.where(has_band, np.minimum(left, band_lo), left)
    right = np.where(has_band, np.maximum(right, band_hi), right)

    found = left <= right
    starts = np.ceil(np.where(found, left, 0.0) - 0.5)
    ends = np.floor(np.where(found, right, -1.0) - 0.5)
    starts = np.clip(starts, 0, width).astype(np.int64)
    ends = np.clip(ends, -1, width - 1).astype(np.int64)
    ends = np.where(found, ends, -1)
    return rows, starts, ends


def _polygon_spans(points: Sequence[Point], height: int, width: int) -> _Spans:
    """Even-odd scanline spans of a closed polygon, sampled at pixel centres."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p, q = pts, np.roll(pts, -1, axis=0)
    slanted = p[:, 1] != q[:, 1]
    p, q = p[slanted], q[slanted]
    y_lo, y_hi = np.minimum(p[:, 1], q[:, 1]), np.maximum(p[:, 1], q[:, 1])
    lo = np.maximum(np.ceil(y_lo - 0.5).astype(np.int64), 0)  # rows whose centre is in [y_lo, y_hi)
    hi = np.minimum(np.ceil(y_hi - 0.5).astype(np.int64) - 1, height - 1)
    counts = np.maximum(hi - lo + 1, 0)
    edge = np.repeat(np.arange(len(p)), counts)
    empty = np.zeros(0, dtype=np.int64)
    if edge.size == 0:
        return empty, empty, empty
    rows = lo[edge] + (np.arange(edge.size) - np.repeat(np.cumsum(counts) - counts, counts))
    c = rows + 0.5
    x = p[edge, 0] + (c - p[edge, 1]) * (q[edge, 0] - p[edge, 0]) / (q[edge, 1] - p[edge, 1])
    order = np.lexsort((x, rows))
    rows, x = rows[order], x[order]
    # each row has an even number of crossings, so sorted crossings pair up (0,1), (2,3), …
    rows, xa, xb = rows[0::2], x[0::2], x[1::2]
    starts = np.clip(np.ceil(xa - 0.5), 0, width).astype(np.int64)
    ends = np.clip(np.ceil(xb - 0.5) - 1, -1, width - 1).astype(np.int64)
    return rows, starts, ends


def apply(mask: np.ndarray, command: Command) -> None:
    """Apply one command to a boolean ``(height, width)`` mask, in place."""
    height, width = mask.shape
    if isinstance(command, Stroke):
        if command.points and command.radius > 0:
            _fill_spans(mask, *_stroke_spans(command.points, command.radius, height, width), command.erase)
    elif isinstance(command, Rect):
        x0, x1 = sorted((command.x0, command.x1))
        y0, y1 = sorted((command.y0, command.y1))
        c0, c1 = max(math.ceil(x0 - 0.5), 0), min(math.ceil(x1 - 0.5), width)
        r0, r1 = max(math.ceil(y0 - 0.5), 0), min(math.ceil(y1 - 0.5), height)
        if c0 < c1 and r0 < r1:
            mask[r0:r1, c0:c1] = not command.erase
    elif isinstance(command, Lasso):
        if len(command.points) >= 3:
            _fill_spans(mask, *_polygon_spans(command.points, height, width), command.erase)
    elif isinstance(command, Invert):
        np.logical_not(mask, out=mask)
    elif isinstance(command, Clear):
        mask[...] = False
    else:
        raise TypeError(f"not a mask command: {command!r}")


def rasterise(commands: Sequence[Command], size: tuple[int, int]) -> np.ndarray:
    """The boolean ``(height, width)`` mask that ``commands`` draw on an empty ``size`` (w, h) image."""
    mask = np.zeros((size[1], size[0]), dtype=bool)
    for command in commands:
        apply(mask, command)
    return mask


# -- the undo stack --------------------------------------------------------------------------
class MaskCommands:
    """The commands that make a mask, with undo/redo and a stroke being drawn.

    ``array()`` is rebuilt lazily: pushing commands applies just the new ones to a cached
    array; an undo rebuilds from the start on the next read (a 4096² mask of a few dozen
    strokes rebuilds in tens of milliseconds), so painting itself never rasterises.
    """

    def __init__(self, size: tuple[int, int], commands: Sequence[Command] = ()) -> None:
        self.size = (int(size[0]), int(size[1]))
        self._done: list[Command] = list(commands)
        self._undone: list[Command] = []
        self._stroke: list[Point] | None = None
        self._stroke_style: tuple[float, bool] = (1.0, False)
        self._cache = np.zeros((self.size[1], self.size[0]), dtype=bool)
        self._cached = 0  # how many of _done are in _cache

    # -- the list -----------------------------------------------------------------------------
    @property
    def commands(self) -> tuple[Command, ...]:
        """The commands that are done, oldest first (the stroke being drawn is not among them)."""
        return tuple(self._done)

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def push(self, command: Command) -> None:
        """Do ``command``; the redo list is dropped, as in every editor."""
        self._done.append(command)
        self._undone.clear()

    def undo(self) -> Command | None:
        if not self._done:
            return None
        command = self._done.pop()
        self._undone.append(command)
        if self._cached > len(self._done):
            self._cached = -1  # stale: rebuild on the next read
        return command

    def drop_redo(self) -> None:
        """Forget the undone commands (another kind of edit was made after them)."""
        self._undone.clear()

    def redo(self) -> Command | None:
        if not self._undone:
            return None
        command = self._undone.pop()
        self._done.append(command)
        return command

    # -- a stroke in progress -----------------------------------------------------------------
    @property
    def drawing(self) -> bool:
        return self._stroke is not None

    def begin_stroke(self, x: float, y: float, radius: float, erase: bool = False) -> None:
        self._stroke = [(float(x), float(y))]
        self._stroke_style = (float(radius), bool(erase))

    def extend_stroke(self, x: float, y: float) -> bool:
        """Add a point; False (and nothing added) when no stroke is open or the point repeats."""
        if self._stroke is None:
            return False
        point = (float(x), float(y))
        if point == self._stroke[-1]:
            return False
        self._stroke.append(point)
        return True

    def end_stroke(self) -> Stroke | None:
        """Close the stroke being drawn and push it (None when there was none)."""
        if self._stroke is None:
            return None
        radius, erase = self._stroke_style
        stroke = Stroke(tuple(self._stroke), radius, erase)
        self._stroke = None
        self.push(stroke)
        return stroke

    def pending(self) -> Stroke | None:
        """The stroke being drawn, as it stands."""
        if self._stroke is None:
            return None
        return Stroke(tuple(self._stroke), *self._stroke_style)

    # -- the pixels -----------------------------------------------------------------------------
    def array(self) -> np.ndarray:
        """The mask, ``(height, width)`` booleans, True = regenerate (a fresh copy)."""
        if self._cached < 0 or self._cached > len(self._done):
            self._cache[...] = False
            self._cached = 0
        for command in self._done[self._cached :]:
            apply(self._cache, command)
        self._cached = len(self._done)
        result = self._cache.copy()
        pending = self.pending()
        if pending is not None:
            apply(result, pending)
        return result

    def is_empty(self) -> bool:
        return not self.array().any()
