"""A Task's rich display in a notebook (``Task._repr_html_``) and the follow-ups' text captions.

The short ``repr`` lives on the Task; this page gives the details: status and progress, the
prompt (and the final prompt when the service changed it), the follow-ups by their text
captions, the cost when the service says it, a video result, the failure reason.  It never
fetches anything and never shows a key; a thumbnail is a data URL the caller fetched.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import Action, Task

__all__ = ["task_html", "action_text"]

_COLOURS = {
    "queued": "#6b7280",
    "running": "#2563eb",
    "awaiting_input": "#d97706",
    "succeeded": "#059669",
    "failed": "#dc2626",
    "cancelled": "#6b7280",
}

#: Text-first captions of the unified follow-ups: readable without an emoji font (the proxy's own
#: labels are emoji + text, kept as the widgets' tooltips).
_ACTION_TEXT = {
    "reroll": "Reroll",
    "upscale_subtle": "Upscale (Subtle)",
    "upscale_creative": "Upscale (Creative)",
    "upscale_2x": "Upscale (2x)",
    "upscale_4x": "Upscale (4x)",
    "vary_subtle": "Vary (Subtle)",
    "vary_strong": "Vary (Strong)",
    "vary_region": "Vary (Region)",
    "zoom_out_2x": "Zoom Out 2x",
    "zoom_out_1.5x": "Zoom Out 1.5x",
    "custom_zoom": "Custom Zoom",
    "pan_left": "Pan \u2190",
    "pan_right": "Pan \u2192",
    "pan_up": "Pan \u2191",
    "pan_down": "Pan \u2193",
    "remix": "Remix",
    "edit": "Edit (canvas)",
    "enhance": "Enhance",
}


def _without_emoji(text: str) -> str:
    """``text`` without pictographs, variation selectors and joiners (what needs an emoji font)."""
    kept = "".join(
        ch
        for ch in text
        if not (
            ord(ch) >= 0x1F000
            or 0x2600 <= ord(ch) <= 0x27BF
            or 0x2B00 <= ord(ch) <= 0x2BFF
            or ord(ch) in (0x200D, 0xFE0F, 0xFE0E)
        )
    )
    return " ".join(kept.split())


def action_text(action: Action) -> str:
    """A follow-up's caption in plain text: ``"U1"``, ``"Reroll"``, ``"Vary (Region)"``, ``"Pan ←"``.

    Names mjnb does not know keep the service's label without its emoji, or the unified name
    when nothing is left.
    """
    name = action.name
    if name in _ACTION_TEXT:
        return _ACTION_TEXT[name]
    if name[:1] in ("U", "V") and name[1:].isdigit():
        return name
    return _without_emoji(action.label or "") or name


def _when(seconds: float | None) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S") if seconds else ""


def _cost(task: Task) -> str:
    if task.cost is None:
        return ""
    amount = f"{task.cost:g}"
    return f"{amount} {task.cost_unit}" if task.cost_unit else amount


def task_html(task: Task, thumbnail_data_url: str | None = None) -> str:
    """HTML for one task: status, progress, prompt, follow-ups, cost, video, failure.

    Args:
        task: any :class:`~mjnb.Task`.
        thumbnail_data_url: a ``data:image/…`` URL the caller fetched (never a provider URL), or None.

    Returns:
        One ``<div class="mjnb-task">``; every value from the task is HTML-escaped.
    """
    esc = html.escape
    status = task.status.value
    progress = "" if task.progress is None or task.done else f" · {task.progress}%"
    rows = [
        f'<span style="color:{_COLOURS.get(status, "#000")};font-weight:600">{esc(status)}{progress}</span>'
        f" <code>{esc(task.dialect)}</code> <code>{esc(task.kind or '')}</code> <code>{esc(task.id)}</code>",
    ]
    facts = [
        f"{label} {esc(value)}"
        for label, value in (
            ("size", f"{task.size[0]}×{task.size[1]}" if task.size else ""),
            ("cost", _cost(task)),
            ("submitted", _when(task.submitted_at)),
            ("finished", _when(task.finished_at)),
            ("from", task.parent_id or ""),
            ("service", task.service or ""),
        )
        if value
    ]
    if facts:
        rows.append("<div style='color:#6b7280'>" + " · ".join(facts) + "</div>")
    if task.prompt:
        rows.append(f"<div><b>prompt</b> {esc(task.prompt)}</div>")
    if task.final_prompt and task.final_prompt != task.prompt:
        rows.append(f"<div><b>final prompt</b> {esc(task.final_prompt)}</div>")
    if task.texts:
        items = "".join(f"<li>{esc(t)}</li>" for t in task.texts)
        rows.append(f"<ol style='margin:2px 0'>{items}</ol>")
    if task.fail_reason or (task.done and not task.succeeded):
        code = f" (code {esc(str(task.error_code))})" if task.error_code is not None else ""
        rows.append(
            f"<div style='color:#dc2626'><b>{esc(status)}</b> {esc(task.fail_reason or 'no reason given')}{code}</div>"
        )
    if task.actions:
        rows.append(
            "<div><b>next</b> "
            + " ".join(f"<code title='{esc(a.name)}'>{esc(action_text(a))}</code>" for a in task.actions)
            + "</div>"
        )
    image = ""
    if thumbnail_data_url:
        image = f'<img src="{esc(thumbnail_data_url)}" style="max-width:160px;max-height:160px;margin-right:8px"/>'
    if task.is_video:
        count = len(task.video_urls)
        rows.append(
            f"<div><b>video</b> {count} MP4{'s' if count > 1 else ''}"
            f"{' with thumbnails' if task.thumbnail_urls else ''}: <code>client.download_video(task)</code>"
            " or <code>mjnb.Gallery(task)</code> plays it</div>"
        )
    elif not thumbnail_data_url and (task.image_url or task.image_urls):
        rows.append(
            "<div style='color:#6b7280'>image ready: <code>client.download(task)</code> or "
            "<code>mjnb.Gallery(task)</code></div>"
        )
    body = "".join(rows)
    return (
        f'<div class="mjnb-task" style="display:flex;align-items:flex-start;font-family:sans-serif">{image}'
        f"<div>{body}</div></div>"
    )
