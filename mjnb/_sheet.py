"""The contact sheet of a sweep: one PIL image laid out like a plotting library's facet grid.

Rows are the values of one axis, columns the combinations of the others (and the repeats); the
axis values are the row and column headers, and a cell without an image shows why.
"""

from __future__ import annotations

import itertools
import textwrap
from typing import TYPE_CHECKING, Any, Sequence

from ._errors import ValidationError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["contact_sheet"]

_PAD = 8
_BACKGROUND = (255, 255, 255)
_EMPTY = (236, 236, 236)
_INK = (20, 20, 20)
_FAIL_INK = (160, 20, 20)


def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _fit(draw: Any, text: str, font: Any, width: int) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def contact_sheet(
    sweep: Any,
    images: Sequence[Image.Image | None],
    *,
    rows: str | None = None,
    cols: str | None = None,
    thumb: int = 192,
) -> Image.Image:
    """Lay ``images`` (one per ``sweep.cells``, None where there is none) on a labelled grid.

    Args:
        sweep: a Sweep or AsyncSweep (its ``axes``, ``cells`` and ``prompt`` are read).
        images: the image of each cell, in cell order.
        rows: the axis whose values are the rows (default: the first axis).
        cols: the axis whose values are the columns (default: every other axis, combined).
        thumb: the longest side of each image in pixels, 32–1024.

    Returns:
        An RGB image.

    Raises:
        ValidationError: an unknown axis name or a ``thumb`` out of range.
    """
    from PIL import Image, ImageDraw

    if not isinstance(thumb, int) or not 32 <= thumb <= 1024:
        raise ValidationError(
            f"thumb: {thumb!r} is not allowed; use a whole number of pixels from 32 to 1024", field="thumb"
        )
    names = list(sweep.axes)
    for chosen, what in ((rows, "rows"), (cols, "cols")):
        if chosen is not None and chosen not in names:
            raise ValidationError(f"{what}: {chosen!r} is not an axis of this sweep; axes: {names}", field=what)
    row_axis = rows if rows is not None else (names[0] if names else None)
    col_axes = [cols] if cols is not None else [n for n in names if n != row_axis]
    repeats = max((cell.repeat for cell in sweep.cells), default=1)
    row_keys = list(sweep.axes[row_axis]) if row_axis else [""]
    col_keys = list(itertools.product(*(sweep.axes[n] for n in col_axes), range(1, repeats + 1)))

    def col_label(key: tuple[Any, ...]) -> str:
        parts = [f"{n}={v}" for n, v in zip(col_axes, key)]
        return ", ".join(parts + ([f"#{key[-1]}"] if repeats > 1 else [])) or " "

    font, small = _font(14), _font(12)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    row_labels = [f"{row_axis}={v}" if row_axis else "" for v in row_keys]
    header_w = min(240, int(max((probe.textlength(t, font=font) for t in row_labels), default=0)) + 2 * _PAD)
    title_h, header_h = 28, 24
    width = header_w + len(col_keys) * (thumb + _PAD) + _PAD
    height = title_h + header_h + len(row_keys) * (thumb + _PAD) + _PAD
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((_PAD, 6), _fit(draw, sweep.prompt, font, width - 2 * _PAD), fill=_INK, font=font)
    for j, key in enumerate(col_keys):
        x = header_w + j * (thumb + _PAD)
        draw.text((x, title_h + 4), _fit(draw, col_label(key), small, thumb), fill=_INK, font=small)
    for i, label in enumerate(row_labels):
        y = title_h + header_h + i * (thumb + _PAD)
        draw.text((_PAD, y + thumb // 2 - 8), _fit(draw, label, font, header_w - _PAD), fill=_INK, font=font)
    for cell, image in zip(sweep.cells, images):
        i = row_keys.index(cell.axes[row_axis]) if row_axis else 0
        j = col_keys.index((*(cell.axes[n] for n in col_axes), cell.repeat))
        x, y = header_w + j * (thumb + _PAD), title_h + header_h + i * (thumb + _PAD)
        if image is None:
            draw.rectangle((x, y, x + thumb - 1, y + thumb - 1), fill=_EMPTY)
            note = cell.reason or cell.status
            for k, line in enumerate(textwrap.wrap(note, width=max(8, thumb // 7))[: thumb // 16]):
                draw.text((x + 4, y + 4 + 15 * k), line, fill=_FAIL_INK if cell.reason else _INK, font=small)
            continue
        tile = image.convert("RGB")
        tile.thumbnail((thumb, thumb))
        sheet.paste(tile, (x + (thumb - tile.width) // 2, y + (thumb - tile.height) // 2))
    return sheet
