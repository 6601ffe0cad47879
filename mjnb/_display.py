"""A Task's rich display in a notebook: status, progress, prompt, follow-ups (no key, no URL fetch)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import Task

_COLOURS = {
    "queued": "#6b7280", "running": "#2563eb", "awaiting_input": "#d97706",
    "succeeded": "#059669", "failed": "#dc2626", "cancelled": "#6b7280",
}


def task_html(task: "Task", thumbnail_data_url: str | None = None) -> str:
    """HTML for one task; the thumbnail is a data URL the caller fetched, never a provider URL."""
    esc = html.escape
    status = task.status.value
    progress = "" if task.progress is None else f" · {task.progress}%"
    rows = [
        f'<span style="color:{_COLOURS.get(status, "#000")};font-weight:600">{esc(status)}{progress}</span>'
        f' <code>{esc(task.dialect)}</code> <code>{esc(task.kind or "")}</code> <code>{esc(task.id)}</code>',
    ]
    if task.prompt:
        rows.append(f"<div><b>prompt</b> {esc(task.prompt)}</div>")
    if task.texts:
        items = "".join(f"<li>{esc(t)}</li>" for t in task.texts)
        rows.append(f"<ol style='margin:2px 0'>{items}</ol>")
    if task.fail_reason:
        rows.append(f"<div style='color:#dc2626'><b>failed</b> {esc(task.fail_reason)}</div>")
    if task.actions:
        rows.append("<div><b>next</b> " + " ".join(f"<code>{esc(a.name)}</code>" for a in task.actions) + "</div>")
    image = ""
    if thumbnail_data_url:
        image = f'<img src="{esc(thumbnail_data_url)}" style="max-width:160px;max-height:160px;margin-right:8px"/>'
    elif task.image_url or task.image_urls:
        rows.append("<div style='color:#6b7280'>image ready: <code>client.download(task)</code> or <code>mjnb.Gallery(task)</code></div>")
    body = "".join(rows)
    return f'<div class="mjnb-task" style="display:flex;align-items:flex-start;font-family:sans-serif">{image}<div>{body}</div></div>'
