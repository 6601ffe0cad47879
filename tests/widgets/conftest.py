"""Widget tests run against the embedded simulator, fast, with the journal in a temp dir.

The embedded simulator is process-wide and reads ``MJNB_SIM_DURATION`` once, when it starts:
set it before anything imports a client.  ``MJNB_HOME`` is read each time a client is made, so
each test gets its own journal (History then lists exactly that test's tasks).
"""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("MJNB_SIM_DURATION", "0.3")
os.environ.setdefault("MJNB_HOME", tempfile.mkdtemp(prefix="mjnb-widgets-home-"))
for _var in ("MJNB_API_KEY", "MJNB_BASE_URL", "MJNB_DIALECT"):
    os.environ.pop(_var, None)


@pytest.fixture(autouse=True)
def home(monkeypatch, tmp_path):
    """A fresh MJNB_HOME (journal) per test, and no real-service settings from the environment."""
    path = tmp_path / "mjnb-home"
    monkeypatch.setenv("MJNB_HOME", str(path))
    for var in ("MJNB_API_KEY", "MJNB_BASE_URL", "MJNB_DIALECT"):
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.fixture
async def client():
    """An AsyncClient on the embedded simulator (mjproxy), made inside the test's loop."""
    import mjnb

    made = mjnb.AsyncClient()
    yield made
    await made.aclose()


@pytest.fixture
async def make_client():
    """``make_client(dialect)``: AsyncClients on the embedded simulator, closed after the test."""
    import mjnb

    made = []

    def make(dialect: str = "mjproxy"):
        made.append(mjnb.AsyncClient(dialect))
        return made[-1]

    yield make
    for c in made:
        await c.aclose()


@pytest.fixture(scope="session")
def slow_simulator():
    """A second simulator whose jobs take 3 s: long enough to see a preview or to cancel."""
    from mjnb.sim import Simulator

    with Simulator(duration=3.0) as sim:
        yield sim


@pytest.fixture(scope="session")
def strict_simulator():
    """A simulator that accepts one key only (the embedded one accepts any non-empty key)."""
    from mjnb.sim import Simulator

    with Simulator(duration=0.3, api_key="sk-the-right-key") as sim:
        yield sim


@pytest.fixture
async def slow_client(slow_simulator, tmp_path):
    import mjnb

    made = mjnb.AsyncClient(
        "mjproxy",
        base_url=slow_simulator.url("mjproxy"),
        api_key="sk-widgets-test",
        journal=tmp_path / "journal.sqlite",
        poll_interval=0.1,
    )
    yield made
    await made.aclose()
