"""Fixtures for the simulator tests: a real Simulator on a loopback port, plus a loopback receiver
for callbacks."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mjnb.sim import Simulator


@pytest.fixture(scope="module")
def sim():
    """One fast simulator per test module (jobs finish 0.3 s after submit)."""
    with Simulator(duration=0.3, allow_insecure_callbacks=True) as running:
        yield running


@pytest.fixture
def sim_factory():
    """``sim_factory(**settings)`` starts another simulator; all are stopped after the test."""
    started: list[Simulator] = []

    def make(**settings) -> Simulator:
        settings.setdefault("duration", 0.3)
        simulator = Simulator(**settings).start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        simulator.stop()


class CallbackReceiver:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        self.status = status
        self._event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                with receiver._event:
                    receiver.bodies.append(json.loads(raw or b"null"))
                    receiver._event.notify_all()
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict]:
        """Block until ``predicate(bodies)`` is true; returns the bodies (fails the test on timeout)."""
        with self._event:
            if not self._event.wait_for(lambda: predicate(self.bodies), timeout=timeout):
                pytest.fail(f"callbacks never satisfied the condition; received {len(self.bodies)}")
            return list(self.bodies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver_factory():
    """``receiver_factory(status=200)`` → a CallbackReceiver answering ``status``; closed after the test."""
    made: list[CallbackReceiver] = []

    def make(status: int = 200) -> CallbackReceiver:
        made.append(CallbackReceiver(status))
        return made[-1]

    yield make
    for hook in made:
        hook.close()


@pytest.fixture
def receiver(receiver_factory):
    return receiver_factory()
