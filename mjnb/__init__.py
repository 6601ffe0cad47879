"""mjnb: drive Midjourney-style image APIs from Jupyter.

One client over four wire dialects (midjourney-proxy, new-api, AceData Cloud, EvoLink), notebook
widgets, and an embedded simulator that answers when no API key is set.
"""

from __future__ import annotations

from ._client import AsyncClient, Client
from ._config import ApiKey
from ._errors import (
    APIError,
    AuthenticationError,
    MjnbError,
    ModerationError,
    RateLimitError,
    ServerError,
    SubmitUncertain,
    JournalError,
    TaskFailed,
    TaskNotFound,
    TaskTimeout,
    TransportError,
    UnsupportedOperation,
    ValidationError,
)
from ._models import ACTION_NAMES, Action, Page, Task, TaskStatus

__version__ = "0.1.0"

# The widgets pull in ipywidgets and ipycanvas: import them on first use, so that scripts and
# servers using only the client stay light.
_WIDGETS = ("Studio", "PromptForm", "ProgressView", "Gallery", "History", "CanvasEditor")


def __getattr__(name: str):
    if name in _WIDGETS:
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'mjnb' has no attribute {name!r}")

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
    *_WIDGETS,
]
