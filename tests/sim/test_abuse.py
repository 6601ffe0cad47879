"""The simulator under abuse (issue 9 §10): hostile JSON, huge and slow bodies, slow heads, disconnects.

Each bad request gets the service's own 4xx shape, never a 500, and the server keeps serving.
"""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from mjnb.sim import Simulator
from mjnb.sim._guard import MAX_JSON_DEPTH, check_json, decode_json

# (submit path, headers) of one paid submit route per mount.
SUBMITS = {
    "mjproxy": ("/mjproxy/mj/submit/imagine", {"mj-api-secret": "k"}),
    "newapi": ("/newapi/mj/submit/imagine", {"authorization": "Bearer sk-k"}),
    "acedata": ("/acedata/midjourney/imagine", {"authorization": "Bearer k"}),
    "evolink": ("/evolink/v1/images/generations", {"authorization": "Bearer k"}),
}
ROUTES = sorted(SUBMITS)


def _service_shape(dialect: str, body: object) -> bool:
    """True when ``body`` is the dialect's own error envelope (PROTOCOLS §1.7, §2.7, §3, §4)."""
    if not isinstance(body, dict):
        return False
    if dialect == "mjproxy":
        return body.get("code") not in (None, 1) and "description" in body
    if dialect == "newapi":
        return "description" in body or "error" in body
    if dialect == "acedata":
        return body.get("success") is False and "code" in body.get("error", {})
    return "code" in body.get("error", {})


def _post(sim: Simulator, dialect: str, raw: bytes) -> httpx.Response:
    path, headers = SUBMITS[dialect]
    with httpx.Client(timeout=30) as client:
        return client.post(sim.base_url + path, content=raw, headers={**headers, "content-type": "application/json"})


def _recv_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("dialect", ROUTES)
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_the_services_400(sim, dialect, depth):
    raw = b'{"prompt": "cat", "x": ' + b"[" * depth + b"]" * depth + b"}"
    response = _post(sim, dialect, raw)
    assert 400 <= response.status_code < 500
    assert _service_shape(dialect, response.json())
    assert sim.state.background_errors == []


@pytest.mark.parametrize("dialect", ROUTES)
def test_lone_surrogate_in_a_prompt_is_the_services_400(sim, dialect):
    before = sim.state.jobs_created
    response = _post(sim, dialect, b'{"model": "mj-v7", "prompt": "a cat \\ud800 on a mat"}')
    assert 400 <= response.status_code < 500
    assert _service_shape(dialect, response.json())
    assert sim.state.jobs_created == before


def test_decode_json_names_why():
    with pytest.raises(ValueError, match="nested deeper"):
        decode_json(b"[" * 5000 + b"]" * 5000)
    with pytest.raises(ValueError, match="surrogate"):
        decode_json(b'{"\\udc00": 1}')
    assert decode_json(b'{"a": ["\\u00e9\\ud83d\\ude00"]}') == {"a": ["\u00e9\U0001f600"]}
    check_json([[[]]])  # shallow nesting passes


@pytest.fixture(scope="module")
def tight():
    """A simulator with small abuse limits, so the tests stay fast."""
    with Simulator(duration=0.3, max_body_bytes=64 * 1024, body_timeout=0.5, header_timeout=0.5) as running:
        yield running


@pytest.mark.parametrize("dialect", ROUTES)
def test_a_declared_huge_body_is_413_before_it_is_sent(tight, dialect):
    path, headers = SUBMITS[dialect]
    with socket.create_connection(("127.0.0.1", tight.port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 300000000\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + b'{"prompt": "')
        answer = _recv_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.lower()


def test_a_chunked_body_is_cut_off_at_the_cap(tight):
    path, headers = SUBMITS["mjproxy"]
    with socket.create_connection(("127.0.0.1", tight.port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nmj-api-secret: k\r\n\r\n"
        sock.sendall(head.encode())
        chunk = b"x" * 16384
        sent = 0
        try:
            for _ in range(64):  # 1 MiB offered; the cap is 64 KiB
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _recv_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"code":9' in answer.replace(b" ", b"")  # the proxy's SubmitResultVO shape
    assert httpx.get(f"{tight.base_url}/healthz").status_code == 200


def test_a_body_just_under_the_cap_is_accepted(tight):
    pad = "x" * (60 * 1024)
    response = httpx.post(
        f"{tight.base_url}/mjproxy/mj/submit/imagine",
        headers={"mj-api-secret": "k"},
        json={"prompt": "a red fox", "state": pad},
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["code"] == 1


def test_a_slow_body_gets_408(tight, caplog):
    with socket.create_connection(("127.0.0.1", tight.port), timeout=10) as sock:
        sock.sendall(
            b"POST /evolink/v1/images/generations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k\r\n"
            b'content-length: 100\r\n\r\n{"model"'
        )
        answer = _recv_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"error"' in answer  # EvoLink's envelope


def test_a_slow_request_head_is_closed(tight):
    with socket.create_connection(("127.0.0.1", tight.port), timeout=10) as sock:
        sock.sendall(b"POST /mjproxy/mj/submit/imagine HTTP/1.1\r\nhost: x\r\nmj-api")
        assert _recv_all(sock) == b""  # closed by the server, not by our 10 s socket timeout
    assert httpx.get(f"{tight.base_url}/healthz").status_code == 200


def test_a_client_that_disconnects_is_one_log_line(tight, caplog):
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", tight.port), timeout=10) as sock:
        sock.sendall(
            b"POST /acedata/midjourney/imagine HTTP/1.1\r\nhost: x\r\nauthorization: Bearer k\r\n"
            b'content-length: 1000\r\n\r\n{"prompt": '
        )
    # The next request on a new connection is answered once the server has handled the disconnect.
    for _ in range(200):
        if any("disconnected" in r.getMessage() for r in caplog.records):
            break
        httpx.get(f"{tight.base_url}/healthz")
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert not any("Exception in ASGI application" in r.getMessage() for r in caplog.records)
