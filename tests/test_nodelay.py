"""The TCP_NODELAY server extension, in a real jupyter_server with a real kernel websocket.

The server runs in hermetic dirs with only ``jupyter-config/`` (what ``pip install`` puts in
place) as its configuration; the extension logs, at debug level, the option as read back from
the websocket's own socket, so the test checks the socket, not just that code ran.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(url: str, method: str = "GET", timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def jupyter_server(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(REPO / "jupyter-config", config)
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),
        ("IPYTHONDIR", "ipython"),
    ]:
        (tmp_path / sub).mkdir(exist_ok=True)
        env[var] = str(tmp_path / sub)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    port, token = _free_port(), "nodelay-" + os.urandom(6).hex()
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
        "--log-level=DEBUG",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"jupyter_server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            return _http(f"{base}/api/status?token={token}", timeout=2)[0] == 200
        except OSError:
            return False

    try:
        _wait_for(up, 90, "jupyter_server to answer /api/status")
        yield {"base": base, "token": token, "log": log_path, "port": port}
    finally:
        try:
            _, body = _http(f"{base}/api/kernels?token={token}")
            for kernel in json.loads(body):
                _http(f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE")
            _http(f"{base}/api/shutdown?token={token}", method="POST")
        except OSError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def test_the_kernel_websocket_gets_tcp_nodelay(jupyter_server):
    from tornado.websocket import websocket_connect

    base, token, log = jupyter_server["base"], jupyter_server["token"], jupyter_server["log"]
    assert "mjnb: TCP_NODELAY on kernel websockets" in log.read_text()
    status, body = _http(f"{base}/api/kernels?token={token}", method="POST", timeout=60)
    kernel_id = json.loads(body)["id"]
    url = f"ws://127.0.0.1:{jupyter_server['port']}/api/kernels/{kernel_id}/channels?token={token}&session_id=test"
    conn = await websocket_connect(url, connect_timeout=60)
    try:
        line = f"mjnb: kernel websocket {kernel_id} TCP_NODELAY="
        found = _wait_for(lambda: [s for s in log.read_text().splitlines() if line in s], 30, "the nodelay log line")
        assert found[0].endswith("TCP_NODELAY=1"), found[0]
    finally:
        conn.close()
