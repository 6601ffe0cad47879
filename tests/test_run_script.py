"""The two commands as a new user runs them: `./run lab` must never modify the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--", "notebooks"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_run_lab_serves_a_working_copy_outside_what_git_sees(tmp_path: Path) -> None:
    work = tmp_path / "my-notebooks"
    env = {**os.environ, "MJNB_NOTEBOOKS": str(work)}
    before = _git_status()
    # `--help` makes JupyterLab print its options and exit after ./run has prepared the working copy.
    run = subprocess.run(["./run", "lab", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "working copy" in run.stderr and str(work) in run.stderr
    copied = sorted(p.name for p in work.glob("*.ipynb"))
    assert copied == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    # What the user changes there stays there, and a second run keeps it.
    (work / "01-quickstart.ipynb").write_text("{}")
    subprocess.run(
        ["./run", "lab", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=True
    )
    assert (work / "01-quickstart.ipynb").read_text() == "{}"
    assert _git_status() == before
    assert not str(work).startswith(str(ROOT))
