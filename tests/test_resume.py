"""Resume and reconcile: a process killed mid-sweep is resumed by a new one without resubmits (the
simulator runs as its own process; submits are counted from its listing), and a submit whose answer
was lost is settled by reconcile() through the nonce on midjourney-proxy and new-api."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest
from _exp import call, client_classes, exp_client_fixture  # noqa: F401  (the fixture)

import mjnb

_CHILD = textwrap.dedent("""
    import sys
    import mjnb
    from mjnb._experiments import SyncExperimentVerbs
    cls = mjnb.Client if issubclass(mjnb.Client, SyncExperimentVerbs) else type("C", (SyncExperimentVerbs, mjnb.Client), {})
    client = cls(sys.argv[3], sys.argv[1], "sk-test-key", journal=sys.argv[2])
    sweep = client.sweep("a {red, blue} kite --s {50, 500}")
    print("submitted", len(sweep.tasks), flush=True)
    sweep.wait(600)  # killed here, mid-wait
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim_process(tmp_path):
    """``python -m mjnb.sim`` in its own process, jobs slow enough to be killed mid-wait."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mjnb.sim", "--port", str(port), "--duration", "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # it prints its URLs once it accepts connections
        if "mjproxy" in line:
            break
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def _server_jobs(dialect: str, base_url: str) -> list[mjnb.Task] | None:
    """Every job on the simulator's mount, from its listing (None where the dialect has none)."""
    with mjnb.Client(dialect, base_url, "sk-test-key", journal=False) as lister:
        if "list" not in lister.operations:
            return None
        return list(lister.tasks(page_size=100).items)


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi", "acedata", "evolink"])
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_killed_sweep_resumes_in_a_new_process_without_resubmits(sim_process, tmp_path, mode, dialect):
    base_url = f"{sim_process}/{dialect}"
    journal = tmp_path / "journal.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, base_url, str(journal), dialect],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MJNB_HOME": str(tmp_path)},
    )
    assert child.stdout is not None
    assert child.stdout.readline().split() == ["submitted", "4"]
    child.kill()
    child.wait(timeout=30)
    listed = _server_jobs(dialect, base_url)
    assert listed is None or len(listed) == 4

    sync, asy = client_classes()
    client = (asy if mode == "async" else sync)(dialect, base_url, "sk-test-key", journal=journal, poll_interval=0.2)
    try:
        unfinished = {e.task_id for e in client.journal.unfinished(dialect, base_url)}
        resumed = await call(client, "resume")
        # The proxies run 3 jobs at once, so their 4th submit waited for a slot: at least that one is open.
        assert len(resumed) >= 1 and {t.id for t in resumed} == unfinished and not resumed.errors
        assert {t.prompt for t in resumed} <= {
            "a red kite --s 50",
            "a red kite --s 500",
            "a blue kite --s 50",
            "a blue kite --s 500",
        }
        again = await call(client, "sweep", "a {red, blue} kite --s {50, 500}")
        assert again.reattached == 4 and again.sent == 0
        assert {t.id for t in again.tasks} >= {t.id for t in resumed}
        after = _server_jobs(dialect, base_url)
        assert after is None or {t.id for t in after} == {t.id for t in again.tasks}, "resuming must not submit"
        finished = await call(again, "wait", 120)
        assert all(c.task.succeeded for c in finished.cells)
    finally:
        if mode == "async":
            await client.aclose()
        else:
            client.close()


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi"])
async def test_lost_answer_is_settled_by_reconcile_through_the_nonce(exp_client, simulator, dialect):
    client = exp_client(dialect)
    # Two submits of the same prompt: only the nonce tells which job is the one whose answer was lost.
    known = await call(client, "imagine", "a quiet harbour at dawn")
    simulator.state.faults.add("drop_after", path=f"/{dialect}/mj/submit/imagine", times=1)
    before = simulator.state.jobs_created
    with pytest.raises(mjnb.SubmitUncertain) as err:
        await call(client, "imagine", "a quiet harbour at dawn")
    assert simulator.state.jobs_created == before + 1  # the job exists; its id never arrived
    lost_entry = err.value.journal_id
    assert lost_entry is not None

    result = await call(client, "reconcile")
    assert [jid for jid, _ in result.settled] == [lost_entry] and not result.uncertain
    settled = result.settled[0][1]
    assert settled.id != known.id
    entry = client.journal.get(lost_entry)
    assert entry.state == "accepted" and entry.task_id == settled.id
    assert settled.raw.get("state") == entry.nonce
    assert simulator.state.jobs_created == before + 1, "reconcile never resends"
    assert not (await call(client, "reconcile")).settled  # nothing left to settle


async def test_reconcile_reports_what_it_cannot_settle(exp_client, simulator):
    client = exp_client("evolink")
    simulator.state.faults.add("drop_after", path="/evolink/v1/images/generations", times=1)
    with pytest.raises(mjnb.SubmitUncertain):
        await call(client, "imagine", "a lantern in the fog")
    result = await call(client, "reconcile")
    assert not result.settled and len(result.uncertain) == 1
    assert "has no task listing" in result.uncertain[0][1] and "journal.resolve" in result.uncertain[0][1]
    assert "still uncertain" in repr(result)
