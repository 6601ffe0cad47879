"""Fixtures of the real-browser tests: one hermetic JupyterLab and one Chromium per session.

* ``lab`` — JupyterLab 4 on 127.0.0.1 (random token, free port, hermetic config dirs) serving a
  temporary copy of ``notebooks/``; its kernels run mjnb's embedded simulator with
  ``MJNB_SIM_DURATION=1.5`` (long enough to watch progress move) and ``MJNB_HOME`` in a temp dir.
* ``browser`` — Debian's ``/usr/bin/chromium`` through Playwright (see ``_harness``).
* ``ui`` — a new tab (:class:`~tests.browser._harness.NotebookUI`): ``ui.open(nb)``,
  ``ui.run_all()``, ``ui.execute(code)`` in the notebook's kernel, ``ui.widget("mjnb-submit")``,
  ``ui.drag(...)``, ``ui.expect(cond, msg)``.  After each test its kernels are shut down; on
  failure a screenshot and the console log go to ``test-artifacts/browser/`` at the repo root
  and the report names the path.

Skipped only when Chromium (or Playwright) is missing and ``CI`` is unset; under CI a missing
browser is an error, since the test command installs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ._harness import Chromium, JupyterServer, NotebookUI, chromium_missing_reason

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts" / "browser"
SIM_DURATION = "1.5"


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def _chromium_ok() -> None:
    reason = chromium_missing_reason()
    if reason is None:
        return
    if _on_ci():
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (set CI=true to make this an error)")


@pytest.fixture(scope="session")
def lab(_chromium_ok, tmp_path_factory) -> JupyterServer:
    """A running hermetic JupyterLab whose root is a temp copy of ``notebooks/``."""
    root = tmp_path_factory.mktemp("lab-root")
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    home = tmp_path_factory.mktemp("mjnb-home")
    # nodelay=True: mjnb's TCP_NODELAY server extension on, as `pip install mjnb` sets it up
    # (a broken extension would then break these tests' kernel connections too)
    server = JupyterServer(
        root,
        app="lab",
        nodelay=True,
        state_dir=tmp_path_factory.mktemp("jupyter-state"),
        env={"MJNB_SIM_DURATION": SIM_DURATION, "MJNB_HOME": str(home)},
    )
    server.start()
    yield server
    info = server.stop()
    assert not info.get("kernels_left_and_killed"), f"kernels outlived the server: {info}"


@pytest.fixture(scope="session")
def browser(_chromium_ok) -> Chromium:
    chromium = Chromium().start()
    yield chromium
    chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """On a failing call, save the tab's screenshot + console log and name them in the report."""
    report = yield
    tab = item.funcargs.get("ui") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and isinstance(tab, NotebookUI):
        shot = tab.last_artifact or tab.save_artifacts(item.name)
        if shot is not None:
            report.sections.append(
                (
                    "browser artifacts",
                    f"screenshot: {shot}\n"
                    f"console log: {shot.with_suffix('.console.log')}\n"
                    f"server log: {shot.with_suffix('.server.log')}",
                )
            )
    return report


@pytest.fixture
def ui(lab, browser) -> NotebookUI:
    """A fresh tab on the session's JupyterLab; closed, with its kernels, after the test."""
    tab = NotebookUI(browser.new_page(), lab, ARTIFACTS)
    yield tab
    tab.close()
    lab.shutdown_kernels()  # the next test starts on a quiet machine
