"""The simulator's command line: every documented option, the key from the environment, a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

import mjnb.sim
from mjnb.sim._cli import API_KEY_ENV, config_from_args


def test_every_documented_option_reaches_the_config(monkeypatch):
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    config = config_from_args(
        [
            "--host",
            "127.0.0.1",
            "--port",
            "8080",
            "--api-key",
            "flag-key",
            "--admin-key",
            "admin-key",
            "--duration",
            "20",
            "--seed",
            "7",
            "--strict-fetch",
            "--allow-insecure-callbacks",
            "--newapi-legacy-listing",
            "--proxy-core-size",
            "100",
            "--proxy-queue-size",
            "300",
            "--max-body-bytes",
            "2048",
            "--body-timeout",
            "5",
            "--header-timeout",
            "2.5",
        ]
    )
    assert (config.port, config.api_key, config.admin_key, config.duration, config.seed) == (
        8080,
        "flag-key",
        "admin-key",
        20.0,
        7,
    )
    assert config.strict_fetch and config.allow_insecure_callbacks and config.newapi_legacy_listing
    assert (config.proxy_core_size, config.proxy_queue_size) == (100, 300)
    assert (config.max_body_bytes, config.body_timeout, config.header_timeout) == (2048, 5.0, 2.5)
    # Every option named in the module docstring is accepted (the README is written from it).
    documented = {word for word in mjnb.sim._cli.__doc__.split() if word.startswith("--")}
    accepted = {o for o in mjnb.sim._cli._parser()._option_string_actions if o.startswith("--")} - {"--help"}
    assert documented == accepted and len(accepted) == 14


def test_the_key_comes_from_the_environment_and_a_flag_wins(monkeypatch):
    monkeypatch.setenv(API_KEY_ENV, "env-key")
    assert config_from_args([]).api_key == "env-key"
    assert config_from_args(["--api-key", "flag-key"]).api_key == "flag-key"
    monkeypatch.setenv(API_KEY_ENV, "")
    assert config_from_args([]).api_key is None
    assert "env-key" not in repr(config_from_args(["--api-key", "env-key"]))


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--proxy-core-size", "0"], "proxy_core_size"),
        (["--port", "70000"], "port"),
        (["--max-body-bytes", "10"], "max_body_bytes"),
        (["--no-such-option"], "--no-such-option"),
    ],
)
def test_bad_options_exit_2_naming_them(argv, named, capsys):
    with pytest.raises(SystemExit) as stopped:
        config_from_args(argv)
    assert stopped.value.code == 2
    assert named in capsys.readouterr().err


def test_python_m_mjnb_sim_serves_with_the_key_from_the_environment():
    with socket_port() as port:
        env = {**os.environ, API_KEY_ENV: "process-key", "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "mjnb.sim", "--port", str(port), "--duration", "0.2", "--proxy-core-size", "5"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        first = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in first, first + proc.stderr.read() if proc.poll() is not None else first
        url = f"http://127.0.0.1:{port}/mjproxy/mj/submit/imagine"
        assert httpx.post(url, headers={"mj-api-secret": "wrong"}, json={"prompt": "cat"}).status_code == 401
        ok = httpx.post(url, headers={"mj-api-secret": "process-key"}, json={"prompt": "cat"})
        assert ok.status_code == 200 and ok.json()["code"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        out = first + proc.stdout.read()
        assert "process-key" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class socket_port:
    """A free loopback port, released on exit so the child can bind it."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return self._sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
