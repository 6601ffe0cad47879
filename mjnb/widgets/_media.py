"""Pictures for the widgets: what a widgets.Image receives, several images on one sheet, a video and
its still, what Save writes into a PNG, and the CSS class of a follow-up's button."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import _prompt
from .._errors import ValidationError
from .._models import Task

__all__ = ["display_bytes", "montage", "fetch_video", "png_metadata", "action_class", "save_png"]


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


async def fetch_video(client: Any, task: Task) -> tuple[bytes, bytes | None]:
    """The MP4 bytes of a video task and a PNG still (its first thumbnail, 240 px; None without one)."""
    from .. import images

    data: bytes = await client.download_video(task)
    if not task.thumbnail_urls:
        return data, None
    picture = await client.download(task.evolve(image_url=task.thumbnail_urls[0], image_urls=(), video_urls=()))
    return data, images.thumbnail_png(picture[0] if isinstance(picture, list) else picture, 240)


def action_class(name: str) -> str:
    """The CSS class of a follow-up's button: ``mjnb-action-U1``, ``mjnb-action-zoom_out_1-5x``."""
    return "mjnb-action-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def png_metadata(task: Task, index: int | None = None) -> dict[str, Any]:
    """What Save writes into the PNG's text chunks: prompt, parameters and task id."""
    meta: dict[str, Any] = {"task_id": task.id, "dialect": task.dialect, "kind": task.kind or "", "software": "mjnb"}
    if task.prompt:
        meta["prompt"] = task.prompt
        # JSON in the chunk, a dict when read back; the lossless parse never refuses (repeats become lists).
        meta["parameters"] = _prompt.Prompt.parse(task.prompt).as_dict()
    if task.final_prompt:
        meta["final_prompt"] = task.final_prompt
    if index is not None:
        meta["image_index"] = index
    return meta


def save_png(image: Any, target: Path, metadata: dict[str, Any]) -> Path:
    """Write ``image`` to ``target`` as PNG with ``metadata`` in its text chunks; never overwrites.

    Raises:
        ValidationError: not ``.png``, the folder does not exist, or the file does.
    """
    from .. import images

    if target.suffix.lower() != ".png":
        raise ValidationError(
            f"save: {target} must end with .png (the metadata lives in PNG text chunks)", field="path"
        )
    if not target.parent.is_dir():
        raise ValidationError(f"save: folder {target.parent} does not exist", field="path")
    if target.exists():
        raise ValidationError(
            f"save: {target} already exists; choose another name (nothing was overwritten)", field="path"
        )
    target.write_bytes(images.to_png(image, metadata=metadata))
    return target
