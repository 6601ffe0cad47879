"""Colab detection and its widget manager (mjnb._platform), with Colab simulated by fake modules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

from mjnb import _platform


class FakeOutput(types.ModuleType):
    """``google.colab.output`` with a counting (or failing) ``enable_custom_widget_manager``."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__("google.colab.output")
        self.calls = 0
        self.error = error

    def enable_custom_widget_manager(self) -> None:
        self.calls += 1
        if self.error is not None:
            raise self.error


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """No Colab unless a test fakes it; the once-per-process flag reset; no google.* left behind."""
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.setattr(_platform, "_enabled", False)
    before = {name for name in sys.modules if name == "google" or name.startswith("google.")}
    yield
    for name in [n for n in sys.modules if (n == "google" or n.startswith("google.")) and n not in before]:
        del sys.modules[name]


def fake_colab(monkeypatch, output: types.ModuleType | None, *, as_attribute: bool = True) -> None:
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    google.colab = colab  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    if output is not None:
        if as_attribute:
            colab.output = output  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "google.colab.output", output)


def test_outside_colab_nothing_happens_and_nothing_is_said(recwarn):
    assert "google.colab" not in sys.modules
    assert _platform.in_colab() is False
    assert _platform.enable_colab_widgets() is False
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert "google.colab" not in sys.modules  # detection imported nothing


def test_in_colab_the_custom_widget_manager_is_enabled_once(monkeypatch):
    output = FakeOutput()
    fake_colab(monkeypatch, output)
    assert _platform.in_colab() is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a success says nothing
        assert _platform.enable_colab_widgets() is True
        assert _platform.enable_colab_widgets() is True
    assert output.calls == 1


def test_output_found_as_a_submodule_as_from_import_would(monkeypatch):
    output = FakeOutput()
    fake_colab(monkeypatch, output, as_attribute=False)
    assert _platform.enable_colab_widgets() is True
    assert output.calls == 1


def test_a_failure_warns_with_the_one_line_to_run(monkeypatch):
    output = FakeOutput(error=AttributeError("module has no attribute 'enable_custom_widget_manager'"))
    fake_colab(monkeypatch, output)
    with pytest.warns(RuntimeWarning) as caught:
        assert _platform.enable_colab_widgets() is False
    message = str(caught[0].message)
    assert "from google.colab import output; output.enable_custom_widget_manager()" in message
    assert "AttributeError" in message and "enable_custom_widget_manager" in message
    assert caught[0].filename == __file__  # points at the caller, not at mjnb's internals
    # Not remembered as enabled: a later call tries again (and says so again).
    output.error = None
    assert _platform.enable_colab_widgets() is True
    assert output.calls == 2


def test_colab_without_its_output_module_warns(monkeypatch):
    fake_colab(monkeypatch, None)
    monkeypatch.setitem(sys.modules, "google.colab.output", None)  # makes the import fail
    with pytest.warns(RuntimeWarning, match="ImportError|ModuleNotFoundError"):
        assert _platform.enable_colab_widgets() is False


def write_colab_package(root: Path) -> None:
    package = root / "google" / "colab"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "output.py").write_text("CALLS = []\ndef enable_custom_widget_manager():\n    CALLS.append(1)\n")


def test_colab_runtime_not_yet_imported_is_recognised_by_its_environment(monkeypatch, tmp_path):
    write_colab_package(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _platform.in_colab() is False  # installed is not enough
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261130-060100_RC00")
    assert _platform.in_colab() is True
    assert _platform.enable_colab_widgets() is True
    assert sys.modules["google.colab.output"].CALLS == [1]  # type: ignore[attr-defined]


def test_colab_environment_without_the_package_is_not_colab(monkeypatch):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261130-060100_RC00")
    monkeypatch.setitem(sys.modules, "google", None)  # the package cannot be imported
    assert _platform.in_colab() is False
    assert _platform.enable_colab_widgets() is False


def test_importing_the_widgets_in_colab_enables_the_manager(tmp_path):
    write_colab_package(tmp_path)
    script = textwrap.dedent("""
        import google.colab.output as output
        import mjnb.widgets
        print(len(output.CALLS))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "MJNB_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
