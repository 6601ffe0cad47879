"""The example notebooks run top to bottom on the embedded simulator, checked by nbval.

Each notebook runs in its own ``pytest --nbval-lax`` process, with a fresh ``MJNB_HOME`` and
fast simulated jobs, so its outputs are deterministic: cells marked ``# NBVAL_CHECK_OUTPUT``
must print exactly what is committed.  The same run by hand::

    MJNB_SIM_DURATION=0.5 MJNB_HOME=$(mktemp -d) .venv/bin/pytest --nbval-lax --nbval-current-env notebooks/
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def test_the_examples_exist():
    names = {nb.name for nb in NOTEBOOKS}
    assert {
        "01-quickstart.ipynb",
        "02-follow-up-actions.ipynb",
        "03-history.ipynb",
        "04-inpaint.ipynb",
        "05-reposition.ipynb",
        "06-sweeps.ipynb",
        "07-keep-and-trace.ipynb",
        "08-edit-your-image.ipynb",
        "09-more-verbs.ipynb",
        "10-mjproxy.ipynb",
        "11-newapi.ipynb",
        "12-acedata.ipynb",
        "13-evolink.ipynb",
        "14-prompt-form.ipynb",
        "15-errors-and-recovery.ipynb",
        "voila-studio.ipynb",
    } <= names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_widget_state(notebook):
    data = json.loads(notebook.read_text())
    assert WIDGET_STATE not in json.dumps(data.get("metadata", {}))
    assert "widgets" not in data.get("metadata", {})
    for cell in data["cells"]:
        for output in cell.get("outputs", []):
            # A widget view without its state renders as an error: such outputs are not committed.
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {}), cell["source"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_nbval(notebook, tmp_path):
    env = {**os.environ, "MJNB_HOME": str(tmp_path / "mjnb-home"), "MJNB_SIM_DURATION": "0.5"}
    for var in ("MJNB_API_KEY", "MJNB_BASE_URL", "MJNB_DIALECT"):
        env.pop(var, None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-cell-timeout=180",
            "-p",
            "no:cacheprovider",
            "-q",
            str(notebook),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"nbval failed on {notebook.name}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
