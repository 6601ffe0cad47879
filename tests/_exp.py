"""Shared by the experiment tests: Client/AsyncClient with the experiment verbs, and a way to call
a sweep's methods the same way whichever client made it."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import mjnb
from mjnb._experiments import AsyncExperimentVerbs, SyncExperimentVerbs


def client_classes() -> tuple[type, type]:
    """Client and AsyncClient with the experiment verbs (the lead mixes them in; until then, here)."""
    sync: type = (
        mjnb.Client
        if issubclass(mjnb.Client, SyncExperimentVerbs)
        else type("Client", (SyncExperimentVerbs, mjnb.Client), {})
    )
    asy: type = (
        mjnb.AsyncClient
        if issubclass(mjnb.AsyncClient, AsyncExperimentVerbs)
        else type("AsyncClient", (AsyncExperimentVerbs, mjnb.AsyncClient), {})
    )
    return sync, asy


async def call(obj: Any, name: str, *args: Any, **kw: Any) -> Any:
    """``obj.name(...)``: awaited when it is a coroutine function, else run in a worker thread."""
    fn = getattr(obj, name)
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kw)
    return await asyncio.to_thread(fn, *args, **kw)


@pytest.fixture(params=["sync", "async"], name="exp_client")
async def exp_client_fixture(request, simulator, tmp_path):
    """``exp_client(dialect, **kw)`` → a Client or AsyncClient (with sweep/resume/…) on the simulator."""
    sync, asy = client_classes()
    made: list[Any] = []

    def make(dialect: str = "mjproxy", **kw: Any) -> Any:
        kw.setdefault("base_url", simulator.url(dialect))
        kw.setdefault("api_key", "sk-test-key")
        kw.setdefault("journal", tmp_path / "journal.sqlite")
        kw.setdefault("poll_interval", 0.05)
        client = (asy if request.param == "async" else sync)(dialect, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, mjnb.AsyncClient):
            await client.aclose()
        else:
            client.close()
