"""The public surface is exactly what ``mjnb.__all__`` lists, and every name resolves."""

from __future__ import annotations

import inspect

import mjnb
from mjnb._flows import VERBS

EXPECTED = {
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
    "export",
    "aexport",
    "to_pandas",
    "Resumed",
    "Reconciled",
    "lineage",
    "LineageNode",
    "Sweep",
    "AsyncSweep",
    "SweepCell",
    "MjnbPromptWarning",
    "Prompt",
    "Studio",
    "PromptForm",
    "ProgressView",
    "Gallery",
    "History",
    "CanvasEditor",
    "SweepGrid",
    "LineageView",
}


def test_all_is_guarded():
    assert set(mjnb.__all__) == EXPECTED
    for name in mjnb.__all__:
        assert getattr(mjnb, name) is not None


def test_error_hierarchy_matches_the_docstring():
    for name in (
        "AuthenticationError",
        "RateLimitError",
        "ValidationError",
        "ModerationError",
        "TaskNotFound",
        "ServerError",
    ):
        assert issubclass(getattr(mjnb, name), mjnb.APIError)
    for name in (
        "APIError",
        "TransportError",
        "SubmitUncertain",
        "TaskFailed",
        "TaskTimeout",
        "UnsupportedOperation",
        "JournalError",
    ):
        assert issubclass(getattr(mjnb, name), mjnb.MjnbError)
        assert name in mjnb._errors.__doc__


def test_both_clients_offer_the_same_verbs_with_the_same_signatures():
    for verb in VERBS:
        sync, asynchronous = getattr(mjnb.Client, verb), getattr(mjnb.AsyncClient, verb)
        assert inspect.signature(sync) == inspect.signature(asynchronous)
        assert inspect.iscoroutinefunction(asynchronous) and not inspect.iscoroutinefunction(sync)
        assert sync.__doc__ == asynchronous.__doc__


def test_dir_lists_the_lazily_imported_names_for_tab_completion():
    listed = dir(mjnb)
    for name in ("Studio", "SweepGrid", "LineageView", "export", "lineage", "Client"):
        assert name in listed


def test_import_mjnb_does_not_import_numpy_pillow_or_the_widgets():
    import subprocess
    import sys

    code = "import sys, mjnb; print(sorted(m for m in ('numpy', 'PIL', 'ipywidgets', 'ipycanvas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_version_is_in_one_place():
    from importlib.metadata import version

    from mjnb._version import __version__

    assert mjnb.__version__ == __version__
    assert version("mjnb") == __version__


def test_a_base_url_that_is_not_an_http_url_is_refused_naming_the_field():
    import pytest

    for bad in ("not a url at all", "ftp://host/x", "javascript:alert(1)", "http://host:99999", "https://"):
        with pytest.raises(mjnb.ValidationError) as caught:
            mjnb.AsyncClient("acedata", bad, "sk-test", journal=False)
        assert caught.value.field == "base_url"


def test_submodules_are_reachable_as_attributes():
    import subprocess
    import sys

    code = "import mjnb; print(mjnb.images.load_image.__name__, 'images' in dir(mjnb))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["load_image", "True"]
