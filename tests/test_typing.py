"""What a type checker sees of mjnb from a user's script: the verbs with their real types.

Runs mypy (a test dependency) on a small user script and reads its ``reveal_type`` notes, so a
change that hides the verbs from type checkers (``setattr`` at import time, a lost ParamSpec)
fails here.  Also checks that ``help()`` shows each verb's real signature and docstring.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mjnb
from mjnb._flows import VERBS

ROOT = Path(__file__).resolve().parents[1]

USER_SCRIPT = textwrap.dedent(
    """
    import mjnb

    client = mjnb.Client()
    t = client.imagine("x")
    reveal_type(t)
    reveal_type(t.image_url)
    reveal_type(client.upscale(t, 2))
    reveal_type(client.wait_all([t]))
    reveal_type(client.tasks(local=True))
    reveal_type(client.seed(t))

    async def main() -> None:
        aclient = mjnb.AsyncClient()
        a = await aclient.imagine("x", wait=True)
        reveal_type(a)
        reveal_type(await aclient.download_video(a))
        async for done in aclient.as_completed([a]):
            reveal_type(done)

    client.imagine(3)
    client.imagine("x", wait=True, timeout="soon")
    """
)


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("mypy", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("mypy is a test dependency (pip install -e '.[lint]'); it is missing from this environment")
    folder = tmp_path_factory.mktemp("user")
    script = folder / "user_script.py"
    script.write_text(USER_SCRIPT)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--follow-imports=silent",
            "--no-incremental",
            "--show-error-codes",
            "--config-file=",
            str(script),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    return run.stdout + run.stderr


def _revealed(output: str) -> list[str]:
    found = [
        line.split('Revealed type is "', 1)[1].rstrip('"') for line in output.splitlines() if "Revealed type" in line
    ]
    return [text.replace("builtins.", "") for text in found]  # mypy ≥ 1.16 no longer prints the prefix


def test_a_type_checker_sees_task_from_the_verbs(mypy_output: str) -> None:
    assert _revealed(mypy_output) == [
        "mjnb._models.Task",
        "str | None",
        "mjnb._models.Task",
        "list[mjnb._models.Task]",
        "mjnb._models.Page",
        "str",
        "mjnb._models.Task",
        "bytes",
        "mjnb._models.Task",
    ], mypy_output


def test_a_type_checker_catches_wrong_arguments(mypy_output: str) -> None:
    assert 'Argument 1 has incompatible type "int"; expected "str"' in mypy_output
    assert 'incompatible type "str"; expected "float"' in mypy_output


@pytest.mark.parametrize("verb", VERBS)
def test_help_shows_the_real_signature_and_a_docstring(verb: str) -> None:
    for cls in (mjnb.Client, mjnb.AsyncClient):
        method = getattr(cls, verb)
        sig = inspect.signature(method)
        assert "Flow" not in str(sig.return_annotation), sig
        assert list(sig.parameters)[0] == "self"
        doc = inspect.getdoc(method) or ""
        assert len(doc.splitlines()) >= 3 and ("Returns:" in doc or "Raises:" in doc), f"{cls.__name__}.{verb}"


def test_verbs_are_in_the_class_bodies_not_attached_later() -> None:
    for cls in (mjnb.Client, mjnb.AsyncClient):
        for verb in (*VERBS, "wait_all", "as_completed"):
            assert verb in vars(cls), f"{cls.__name__}.{verb} is not defined in the class body"


def test_the_wheel_ships_py_typed() -> None:
    assert (Path(mjnb.__file__).parent / "py.typed").exists()
