"""Fixtures shared by the client tests: a real simulator on loopback, a journal in a temp dir,
and one parametrized client fixture that runs each test through Client and AsyncClient."""

from __future__ import annotations

import asyncio
import os
import tempfile

import pytest

# The embedded simulator is process-wide: make it fast and keep the journal out of ~ before
# anything starts it.
os.environ.setdefault("MJNB_SIM_DURATION", "0.3")
os.environ.setdefault("MJNB_HOME", tempfile.mkdtemp(prefix="mjnb-test-home-"))
for _var in ("MJNB_API_KEY", "MJNB_BASE_URL", "MJNB_DIALECT"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def _session_simulator():
    from mjnb.sim import Simulator

    with Simulator(duration=0.3, allow_insecure_callbacks=True) as sim:
        yield sim


@pytest.fixture
def simulator(_session_simulator):
    """The session's simulator; faults a test scheduled but did not use are dropped after it."""
    yield _session_simulator
    _session_simulator.state.faults.clear()


class BothWays:
    """Calls a Client's verbs in a worker thread, or awaits an AsyncClient's, behind one interface."""

    def __init__(self, client) -> None:
        self.raw = client
        self.is_async = type(client).__name__ == "AsyncClient"

    def __getattr__(self, name):
        attr = getattr(self.raw, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        async def call(*args, **kw):
            if self.is_async:
                return await attr(*args, **kw)
            return await asyncio.to_thread(attr, *args, **kw)

        return call


@pytest.fixture(params=["sync", "async"])
async def make_client(request, simulator, tmp_path):
    """``make_client(dialect, **kw)`` → a BothWays around Client or AsyncClient on the simulator."""
    import mjnb

    made = []

    def make(dialect: str = "mjproxy", **kw):
        kw.setdefault("base_url", simulator.url(dialect))
        kw.setdefault("api_key", "sk-test-key")
        kw.setdefault("journal", tmp_path / "journal.sqlite")
        kw.setdefault("poll_interval", 0.05)  # the simulated jobs take 0.3 s
        cls = mjnb.AsyncClient if request.param == "async" else mjnb.Client
        client = cls(dialect, **kw)
        made.append(client)
        return BothWays(client)

    yield make
    for client in made:
        if isinstance(client, mjnb.AsyncClient):
            await client.aclose()
        else:
            client.close()


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    for the rest of the session, and pytest-asyncio cannot start its loop while one runs."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
