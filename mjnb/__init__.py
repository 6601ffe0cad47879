"""mjnb: drive Midjourney-style image APIs from Jupyter.

One client over four wire dialects (midjourney-proxy, new-api, AceData Cloud, EvoLink), notebook
widgets, experiments (sweeps, export, lineage, cost), and an embedded simulator that answers when
no API key is set.
"""

from __future__ import annotations

import sys
from typing import Any

if sys.platform == "emscripten":  # JupyterLite / Pyodide: no sockets, no threads
    raise ImportError(
        "mjnb cannot run in JupyterLite (Pyodide has no sockets or threads for its HTTP client and "
        "simulator); use JupyterLab, Notebook 7, VS Code, Colab or Binder"
    )

from ._client import AsyncClient, Client
from ._config import ApiKey
from ._errors import (
    APIError,
    AuthenticationError,
    JournalError,
    MjnbError,
    ModerationError,
    RateLimitError,
    ServerError,
    SubmitUncertain,
    TaskFailed,
    TaskNotFound,
    TaskTimeout,
    TransportError,
    UnsupportedOperation,
    ValidationError,
)
from ._models import ACTION_NAMES, Action, Page, Task, TaskStatus
from ._version import __version__

# Widgets pull in ipywidgets and ipycanvas, experiments pull in Pillow: import them on first use,
# so that scripts and servers using only the client stay as light as httpx.
_WIDGETS = ("Studio", "PromptForm", "ProgressView", "Gallery", "History", "CanvasEditor", "SweepGrid", "LineageView")
_LAZY = {
    "export": ("._export", "export"),
    "aexport": ("._export", "aexport"),
    "to_pandas": ("._export", "to_pandas"),
    "Resumed": ("._experiments", "Resumed"),
    "Reconciled": ("._experiments", "Reconciled"),
    "lineage": ("._lineage", "lineage"),
    "LineageNode": ("._lineage", "LineageNode"),
    "Sweep": ("._sweep", "Sweep"),
    "AsyncSweep": ("._sweep", "AsyncSweep"),
    "SweepCell": ("._sweep", "SweepCell"),
    "MjnbPromptWarning": ("._prompt_rules", "MjnbPromptWarning"),
    "Prompt": ("._prompt", "Prompt"),
}


#: Submodules reachable as attributes (``mjnb.images.load_image``) without importing them first.
_SUBMODULES = ("images", "widgets", "dialects", "sim")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name in _WIDGETS:
        from . import widgets

        return getattr(widgets, name)
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module, __name__), attr)
    raise AttributeError(f"module 'mjnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    # Tab completion lists the lazily imported names too.
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


__all__ = [
    "Client",
    "AsyncClient",
    "ApiKey",
    "Task",
    "TaskStatus",
    "Action",
    "Page",
    "ACTION_NAMES",
    "MjnbError",
    "APIError",
    "AuthenticationError",
    "RateLimitError",
    "ValidationError",
    "ModerationError",
    "TaskNotFound",
    "ServerError",
    "TransportError",
    "SubmitUncertain",
    "TaskFailed",
    "TaskTimeout",
    "UnsupportedOperation",
    "JournalError",
    "__version__",
    *_LAZY,
    *_WIDGETS,
]
