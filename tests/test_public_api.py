"""The public surface is exactly what ``mjnb.__all__`` lists, and every name resolves."""

from __future__ import annotations

import inspect

import mjnb
from mjnb._flows import VERBS

EXPECTED = {
    "Client", "AsyncClient", "ApiKey", "Task", "TaskStatus", "Action", "Page", "ACTION_NAMES",
    "MjnbError", "APIError", "AuthenticationError", "RateLimitError", "ValidationError", "ModerationError",
    "TaskNotFound", "ServerError", "TransportError", "SubmitUncertain", "TaskFailed", "TaskTimeout",
    "UnsupportedOperation", "__version__",
    "Studio", "PromptForm", "ProgressView", "Gallery", "History", "CanvasEditor",
}


def test_all_is_guarded():
    assert set(mjnb.__all__) == EXPECTED
    for name in mjnb.__all__:
        assert getattr(mjnb, name) is not None


def test_error_hierarchy_matches_the_docstring():
    for name in ("AuthenticationError", "RateLimitError", "ValidationError", "ModerationError", "TaskNotFound", "ServerError"):
        assert issubclass(getattr(mjnb, name), mjnb.APIError)
    for name in ("APIError", "TransportError", "SubmitUncertain", "TaskFailed", "TaskTimeout", "UnsupportedOperation"):
        assert issubclass(getattr(mjnb, name), mjnb.MjnbError)
        assert name in mjnb._errors.__doc__


def test_both_clients_offer_the_same_verbs_with_the_same_signatures():
    for verb in VERBS:
        sync, asynchronous = getattr(mjnb.Client, verb), getattr(mjnb.AsyncClient, verb)
        assert inspect.signature(sync) == inspect.signature(asynchronous)
        assert inspect.iscoroutinefunction(asynchronous) and not inspect.iscoroutinefunction(sync)
        assert sync.__doc__ == asynchronous.__doc__
