"""The install cell the docs give for Colab, and what ``pip install mjnb`` puts on a machine.

The cell is read from the docs (the fenced block after ``<!-- colab-install-cell -->`` in
README.md or docs-draft/platforms.md) and run by IPython with its ``%pip`` magic recorded.  The
package is built as a wheel from this tree, installed with pip into a folder of its own and used
from outside the repository: the embedded simulator answers, the widgets import, the data files
are there.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "README.md", ROOT / "docs-draft" / "platforms.md")
MARKER = "<!-- colab-install-cell -->"


def install_cell() -> str:
    for path in DOCS:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if MARKER in text:
            found = re.search(r"```python\n(.*?)```", text.split(MARKER, 1)[1], re.S)
            assert found, f"{path.name}: no ```python block after {MARKER}"
            return found.group(1)
    pytest.fail(f"no {MARKER} in {', '.join(p.name for p in DOCS)}")


def run_cell(cell: str, monkeypatch: pytest.MonkeyPatch, *, installed: bool) -> list[str]:
    """Run ``cell`` in an IPython shell where mjnb is (or is not) importable; the %pip lines it ran."""
    from IPython.core.interactiveshell import InteractiveShell

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None):  # type: ignore[no-untyped-def]
        if name == "mjnb" and not installed:
            return None
        return real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    shell = InteractiveShell.instance()
    pip_lines: list[str] = []
    shell.register_magic_function(pip_lines.append, "line", "pip")
    try:
        result = shell.run_cell(cell, store_history=False)
    finally:
        InteractiveShell.clear_instance()
    assert result.success, result.error_in_exec or result.error_before_exec
    return pip_lines


def test_the_install_cell_installs_mjnb_where_it_is_missing(monkeypatch):
    assert run_cell(install_cell(), monkeypatch, installed=False) == ["install mjnb"]


def test_the_install_cell_does_nothing_where_mjnb_is_installed(monkeypatch):
    assert run_cell(install_cell(), monkeypatch, installed=True) == []


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """This tree built as a wheel and installed by pip into a folder of its own (dependencies: the venv's)."""
    wheels = tmp_path_factory.mktemp("wheels")
    site = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("mjnb-*.whl")
    done = subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return site


def test_the_installed_package_runs_on_its_simulator_outside_the_repository(installed, tmp_path):
    script = textwrap.dedent(f"""
        from pathlib import Path
        import mjnb, mjnb.widgets, mjnb.sim
        assert Path(mjnb.__file__).resolve().is_relative_to(Path({str(installed)!r}).resolve()), mjnb.__file__
        assert (Path(mjnb.__file__).parent / "py.typed").exists()
        client = mjnb.Client()
        task = client.imagine("a lighthouse at dusk --ar 3:2", wait=True)
        print(task.status.value, client.download(task).size)
        print(mjnb.PromptForm.from_prompt("a kite --s 5000").errors)
    """)
    env = {**os.environ, "PYTHONPATH": str(installed), "MJNB_HOME": str(tmp_path / "home"), "MJNB_SIM_DURATION": "0.3"}
    for var in ("MJNB_API_KEY", "MJNB_BASE_URL", "MJNB_DIALECT"):
        env.pop(var, None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [
        "succeeded (1024, 680)",
        "{'s': '--s: 5000 is out of range; allowed: a whole number from 0 to 1000'}",
    ]


def test_the_server_extension_config_is_installed(installed):
    config = installed / "etc" / "jupyter" / "jupyter_server_config.d" / "mjnb.json"
    assert config.exists()
    assert '"mjnb._jupyter_server_ext": true' in config.read_text()
