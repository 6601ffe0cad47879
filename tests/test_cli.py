"""The ``mjnb`` command as a user runs it: real processes, the embedded simulator or a simulator process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MJNB_")}
    env.update(MJNB_HOME=str(tmp_path / "home"), MJNB_SIM_DURATION="0.3", **extra)
    return env


def _mjnb(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mjnb", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        timeout=120,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_imagine_on_the_embedded_simulator_saves_a_png_with_a_progress_bar(tmp_path: Path) -> None:
    run = _mjnb(tmp_path, "imagine", "a red kite over the sea")
    assert run.returncode == 0, run.stderr
    task_id, saved = run.stdout.split()
    assert (tmp_path / saved).read_bytes().startswith(PNG_MAGIC)
    assert task_id in saved
    assert "100%" in run.stderr and "succeeded" in run.stderr  # tqdm's line for the job


def test_two_prompts_get_one_progress_line_each(tmp_path: Path) -> None:
    run = _mjnb(tmp_path, "imagine", "a red kite", "a blue kite")
    assert run.returncode == 0, run.stderr
    assert len([line for line in run.stdout.splitlines() if line.endswith(".png")]) == 2
    assert "a red kite" in run.stderr and "a blue kite" in run.stderr


def test_no_wait_on_the_embedded_simulator_warns_the_id_will_not_be_fetchable(tmp_path: Path) -> None:
    run = _mjnb(tmp_path, "imagine", "--no-wait", "a red kite")
    assert run.returncode == 0
    assert "cannot be fetched later" in run.stderr


def test_tasks_on_the_embedded_simulator_points_at_local(tmp_path: Path) -> None:
    run = _mjnb(tmp_path, "tasks")
    assert "mjnb tasks --local" in run.stderr


def test_a_bad_prompt_is_refused_in_command_line_terms(tmp_path: Path) -> None:
    run = _mjnb(tmp_path, "imagine", "a kite --s 5000")
    assert run.returncode == 1
    assert "ValidationError" in run.stderr and "--s" in run.stderr
    assert "Traceback" not in run.stderr


def test_edit_help_names_the_dialects_that_take_a_mask(tmp_path: Path) -> None:
    run = _mjnb(tmp_path, "edit", "--help")
    assert run.returncode == 0
    assert "acedata" in run.stdout


def test_mjnb_sim_takes_its_options_and_the_key_from_the_environment(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mjnb", "sim", "--port", str(port), "--duration", "0.2"],
        env=_env(tmp_path, MJNB_SIM_API_KEY="sk-sim-test"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/mjproxy/mj/task/list-by-condition"
        deadline = time.monotonic() + 30
        while True:
            try:
                refused = httpx.post(url, json={}, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"mjnb sim did not come up: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.2)
        assert refused.status_code in (401, 403)
        ok = httpx.post(url, json={}, headers={"mj-api-secret": "sk-sim-test"}, timeout=5)
        assert ok.status_code == 200
        # The key never shows in the process list.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert b"sk-sim-test" not in cmdline
        run = _mjnb(
            tmp_path,
            "imagine",
            "a red kite",
            "--dialect",
            "mjproxy",
            "--base-url",
            f"http://127.0.0.1:{port}/mjproxy",
            MJNB_API_KEY="sk-sim-test",
        )
        assert run.returncode == 0, run.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_script_without_a_main_guard_runs_on_the_embedded_simulator(tmp_path: Path, how: str) -> None:
    """The simulator's render processes must not re-run the user's script (no __main__ guard here)."""
    code = "import mjnb\nt = mjnb.Client().imagine('a red kite', wait=True)\nprint('RESULT', t.status.value)\n"
    script = tmp_path / "demo.py"
    script.write_text(code)
    args = [sys.executable, str(script)] if how == "file" else [sys.executable, "-"]
    run = subprocess.run(
        args,
        input=None if how == "file" else code,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path),
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("RESULT succeeded") == 1
