"""Runs the simulator app with uvicorn on a daemon thread with its own event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import threading
import time
from typing import Any

import uvicorn

from . import _workers
from ._app import DIALECTS, build_app
from ._config import SimConfig
from ._guard import bounded_protocol
from ._state import SimState

START_TIMEOUT = 15.0
KEEP_ALIVE = 75  # seconds an idle connection stays open (nginx's default, in front of most of these services)


class Simulator:
    """All four dialects on one loopback port: ``Simulator(duration=0.3).start().url("mjproxy")``."""

    def __init__(self, config: SimConfig | None = None, **overrides: Any) -> None:
        """``config`` (default ``SimConfig()``) with ``overrides`` of its fields, e.g. ``duration=0.3``.

        Raises:
            ValueError: an override with a bad value (the message names the field and what is allowed).
            TypeError: an override that is not a ``SimConfig`` field.
        """
        base = config or SimConfig()
        self.config = dataclasses.replace(base, **overrides) if overrides else base
        self.state = SimState(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        return f"<Simulator {where}>"

    @property
    def running(self) -> bool:
        return (
            self._thread is not None and self._thread.is_alive() and self._server is not None and self._server.started
        )

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator is not started; call start() first")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def url(self, dialect: str) -> str:
        """The base URL of one dialect, as a real service's would be (``…/mjproxy``, ``…/evolink``…)."""
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
        return f"{self.base_url}/{dialect}"

    def start(self) -> Simulator:
        """Start serving and return once connections are accepted and the render processes run.

        A no-op when already running. Raises RuntimeError when the server cannot start (the port is
        taken, …) within ``START_TIMEOUT`` seconds.
        """
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            # Bind here so the port is known (and reserved) before the server thread runs. The explicit
            # IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and without
            # it a response's second segment waits ~40 ms for the client's delayed ACK.
            family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.config.host, self.config.port))
            sock.set_inheritable(True)
            self._socket = sock
            self.state.bound_port = sock.getsockname()[1]
            uv_config = uvicorn.Config(
                build_app(self.state),
                loop="asyncio",
                http=bounded_protocol(self.config.header_timeout),
                lifespan="off",
                access_log=False,
                log_level="warning",
                log_config=None,
                timeout_graceful_shutdown=2,
                timeout_keep_alive=KEEP_ALIVE,
                ws="none",
            )
            self._server = uvicorn.Server(uv_config)
            self._error = None
            self._thread = threading.Thread(target=self._run, name=f"mjnb-sim:{self.state.bound_port}", daemon=True)
            self._thread.start()
            _workers.warm(START_TIMEOUT)  # render processes start while the server does
            deadline = time.monotonic() + START_TIMEOUT
            while not self._server.started:
                if not self._thread.is_alive():
                    self._close_socket()
                    raise RuntimeError(f"the simulator failed to start: {self._error!r}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the simulator did not start within {START_TIMEOUT:g} s")
                time.sleep(0.005)
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc

    async def _serve(self) -> None:
        self.state.loop = asyncio.get_running_loop()
        self.state.reopen()
        assert self._server is not None and self._socket is not None  # set by start() before the thread runs
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            await self.state.shutdown()
            self.state.loop = None

    def stop(self) -> None:
        """Stop serving, cancel running jobs and free the port. Safe to call twice."""
        with self._lock:
            if self._server is not None:
                self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._thread = None
            self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


logging.getLogger("mjnb.sim").addHandler(logging.NullHandler())
