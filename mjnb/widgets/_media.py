"""Pictures for the widgets: what a widgets.Image receives, and several images on one sheet."""

from __future__ import annotations

from typing import Any

__all__ = ["display_bytes", "montage"]


def display_bytes(image: Any) -> tuple[bytes, str]:
    """Bytes for a widgets.Image: JPEG for photos (small), PNG when there is transparency."""
    from .. import images

    if image.mode in ("RGBA", "LA", "P"):
        return images.to_png(image), "png"
    return images.to_jpeg(image), "jpeg"


def montage(parts: list[Any]) -> Any:
    """Separate images (EvoLink sends up to four) in a 2-column grid, for the overview (one image: itself)."""
    from PIL import Image

    if len(parts) == 1:
        return parts[0]
    width = max(p.width for p in parts)
    height = max(p.height for p in parts)
    rows = (len(parts) + 1) // 2
    sheet = Image.new("RGB", (width * 2, height * rows), "white")
    for i, part in enumerate(parts):
        sheet.paste(part.convert("RGB"), ((i % 2) * width, (i // 2) * height))
    return sheet
