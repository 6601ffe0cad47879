"""Notebook widgets (ipywidgets 8): type a prompt, watch the job, act on the result.

``Studio`` puts them together; each also works alone.  Jobs run on the kernel's running
asyncio loop (see ``_runner``), so the kernel is never blocked.  Images reach the browser as
bytes fetched by the kernel, never as provider URLs.  CSS classes: see ``_style``.
"""

from __future__ import annotations

from typing import Any

from .._platform import enable_colab_widgets
from ._form import PromptForm
from ._gallery import Gallery
from ._history import History
from ._lineage_view import LineageView
from ._progress import Job, ProgressView
from ._studio import Studio
from ._sweepgrid import SweepGrid
from ._upload import ImageUpload

# ipycanvas needs Colab's custom widget manager: turned on here (does nothing elsewhere).
enable_colab_widgets()

__all__ = [
    "PromptForm",
    "ProgressView",
    "Job",
    "Gallery",
    "History",
    "Studio",
    "CanvasEditor",
    "SweepGrid",
    "LineageView",
    "ImageUpload",
]


def __getattr__(name: str) -> Any:
    # The canvas editor pulls in ipycanvas and numpy: load it on first use only.
    if name == "CanvasEditor":
        from ._editor import CanvasEditor

        return CanvasEditor
    raise AttributeError(f"module 'mjnb.widgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
