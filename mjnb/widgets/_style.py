"""Stable CSS classes of the mjnb widgets, and the small stylesheet they share.

Every widget and its main controls carry one of these classes, for theming and for tests
(select on them in a browser: ``.mjnb-studio .mjnb-submit``).  They are part of the public
interface: renaming one is a breaking change.

| class | element |
|---|---|
| `mjnb-studio` | the Studio (whole app) |
| `mjnb-connection` | Studio: the dialect / base URL / key row |
| `mjnb-dialect` | Studio: dialect selector |
| `mjnb-base-url` | Studio: base URL field |
| `mjnb-api-key` | Studio: API key field (a password field, never echoed) |
| `mjnb-connect` | Studio: Connect button |
| `mjnb-connection-status` | Studio: where the Studio says what it is connected to |
| `mjnb-tabs` | Studio: the Result / History tabs |
| `mjnb-prompt` | PromptForm (whole form) |
| `mjnb-prompt-text` | PromptForm: the prompt text area |
| `mjnb-param` | PromptForm: every parameter control |
| `mjnb-param-<name>` | PromptForm: the control of one parameter (`mjnb-param-ar`, `mjnb-param-s`, `mjnb-param-version`, `mjnb-param-speed` …) |
| `mjnb-invalid` | PromptForm: a control whose value is refused |
| `mjnb-field-error` | PromptForm: the inline message under a refused control |
| `mjnb-final-prompt` | PromptForm: the read-only final prompt |
| `mjnb-submit` | PromptForm: Submit button |
| `mjnb-progress` | ProgressView (whole list) |
| `mjnb-progress-row` | ProgressView: one job |
| `mjnb-progress-label` | ProgressView: the job's label |
| `mjnb-progress-status` | ProgressView: the job's status text |
| `mjnb-progress-bar` | ProgressView: the job's progress bar |
| `mjnb-progress-indeterminate` | ProgressView: a bar while the server gives no figure |
| `mjnb-progress-elapsed` | ProgressView: elapsed time |
| `mjnb-progress-preview` | ProgressView: the in-progress preview image |
| `mjnb-progress-error` | ProgressView: the failure reason |
| `mjnb-cancel` | ProgressView: Cancel button |
| `mjnb-progress-clear` | ProgressView: "Clear finished" button |
| `mjnb-gallery` | Gallery (whole) |
| `mjnb-gallery-info` | Gallery: status, prompt and task id |
| `mjnb-gallery-image` | Gallery: the main image |
| `mjnb-subimage` | Gallery: one of the four sub-images (thumbnail + button) |
| `mjnb-subimage-selected` | Gallery: the chosen sub-image |
| `mjnb-select` | Gallery: the button that chooses a sub-image ("1" … "4", "All") |
| `mjnb-action` | Gallery: a follow-up button (U1, V2, reroll, pan_left …) |
| `mjnb-action-<name>` | Gallery: the button of one follow-up (`mjnb-action-U1`, `mjnb-action-pan_left`; a `.` becomes `-`: `mjnb-action-zoom_out_1-5x`) |
| `mjnb-action-prompt` | Gallery: the prompt asked for by a follow-up that needs one |
| `mjnb-action-send` | Gallery: Send for a follow-up that asked for a prompt |
| `mjnb-save` | Gallery: Save button |
| `mjnb-save-path` | Gallery: where Save writes |
| `mjnb-edit` | Gallery: "Edit on canvas" button |
| `mjnb-back` | Gallery: Back to the result shown before |
| `mjnb-editor-area` | Gallery: where the canvas editor opens |
| `mjnb-gallery-video` | Gallery: the video player of a video task |
| `mjnb-video-thumbnail` | Gallery: the still beside the video |
| `mjnb-lineage` | Gallery: Lineage button (shown while an `on_lineage` callback is registered) |
| `mjnb-message` | any widget: a one-line message to the user |
| `mjnb-error` | any widget: text that reports an error (red) |
| `mjnb-note` | any widget: an informational note (muted, never red) |
| `mjnb-ellipsis` | any widget: a label cut with "…" when too long; the full text is its tooltip |
| `mjnb-history` | History (whole) |
| `mjnb-history-source` | History: journal / server toggle |
| `mjnb-history-filter` | History: text filter |
| `mjnb-history-since` | History: date filter, from |
| `mjnb-history-until` | History: date filter, to |
| `mjnb-history-refresh` | History: Refresh button |
| `mjnb-history-prev` | History: previous page |
| `mjnb-history-next` | History: next page |
| `mjnb-history-page` | History: "page N of M" |
| `mjnb-history-row` | History: one past task (a button; click reopens it) |
| `mjnb-history-selected` | History: the row of the task last opened (`history.selected`) |
| `mjnb-status-<status>` | History: a row's task status (`mjnb-status-succeeded`, `mjnb-status-failed` …) |
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from .._display import action_text

__all__ = ["css", "stylesheet", "classes", "action_text", "action_icon", "error_html", "note_html"]

# Kept short: the widgets must look right with no stylesheet at all (VS Code, Colab), this
# only adds what ipywidgets cannot say (an indeterminate bar, a chosen thumbnail).
_CSS = """
.mjnb-progress-indeterminate .progress-bar {
  width: 100% !important;
  background-image: linear-gradient(45deg, rgba(255,255,255,.35) 25%, transparent 25%,
    transparent 50%, rgba(255,255,255,.35) 50%, rgba(255,255,255,.35) 75%, transparent 75%, transparent);
  background-size: 1rem 1rem;
  animation: mjnb-stripes 1s linear infinite;
}
@keyframes mjnb-stripes { from { background-position: 1rem 0; } to { background-position: 0 0; } }
.mjnb-subimage-selected img { outline: 3px solid var(--jp-brand-color1, #1976d2); }
.mjnb-invalid input, .mjnb-invalid textarea { border-color: #dc2626 !important; }
.mjnb-field-error, .mjnb-error { color: #dc2626; }
.mjnb-field-error { font-size: 90%; }
.mjnb-note { color: var(--jp-ui-font-color2, #6b7280); font-size: 90%; }
.mjnb-ellipsis, .mjnb-ellipsis .widget-label, .mjnb-ellipsis input, .mjnb-ellipsis .widget-label-basic {
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.mjnb-param input::placeholder { text-overflow: ellipsis; }
.mjnb-final-prompt textarea { font-family: var(--jp-code-font-family, monospace); }
.mjnb-progress-error { color: #dc2626; white-space: normal; }
.mjnb-history-row { text-align: left; }
.mjnb-history-selected { font-weight: 600; }
"""


def stylesheet() -> widgets.HTML:
    """An invisible HTML widget that carries the stylesheet; each top-level widget holds one."""
    return widgets.HTML(f"<style>{_CSS}</style>", layout=widgets.Layout(display="none"))


def css() -> str:
    """The stylesheet's text (what :func:`stylesheet` carries)."""
    return _CSS


def classes(widget: Any, *names: str) -> Any:
    """Add CSS classes to ``widget`` and return it (so construction stays one expression)."""
    for name in names:
        widget.add_class(name)
    return widget


#: Font Awesome icons (ipywidgets ships the font): a decoration that never shows as an empty box.
_ACTION_ICONS = {
    "reroll": "refresh",
    "vary_region": "paint-brush",
    "custom_zoom": "search",
    "zoom_out_2x": "search-minus",
    "zoom_out_1.5x": "search-minus",
    "pan_left": "arrow-left",
    "pan_right": "arrow-right",
    "pan_up": "arrow-up",
    "pan_down": "arrow-down",
    "remix": "sliders",
    "edit": "scissors",
    "enhance": "magic",
}


def action_icon(action: Any) -> str:
    """The Font Awesome icon of a follow-up's button ('' for none)."""
    return _ACTION_ICONS.get(action.name, "")


def error_html(text: str) -> str:
    """``text`` (escaped) styled as an error: class ``mjnb-error``."""
    import html

    return f"<span class='mjnb-error'>{html.escape(text, quote=False)}</span>"


def note_html(text: str) -> str:
    """``text`` (escaped) styled as an informational note: class ``mjnb-note`` (never red)."""
    import html

    return f"<span class='mjnb-note'>{html.escape(text, quote=False)}</span>"
