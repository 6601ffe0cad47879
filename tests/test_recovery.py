"""Issue 14's recovery experiment as a test: a process killed mid-wait (9 jobs) and mid-submit (4 jobs,
one per dialect: the server created the job, its answer never arrived) is recovered by another process
with ``resume()`` + ``reconcile()``. The experiment itself is in ``_recovery.py`` (also printed by
``bench/recovery.py``)."""

from __future__ import annotations

import _recovery

import mjnb
from mjnb.sim import Simulator


def test_a_killed_process_is_recovered_by_resume_and_reconcile(tmp_path):
    with Simulator(duration=3) as sim:
        outcome = _recovery.run(sim, tmp_path)
    assert outcome.server_jobs == 13
    # Every job waited for comes back through resume(); every lost answer but EvoLink's through reconcile().
    assert outcome.resumed == {"mjproxy": 2, "newapi": 2, "acedata": 2, "evolink": 3}
    assert outcome.settled == {"mjproxy": 1, "newapi": 1, "acedata": 1, "evolink": 0}
    assert outcome.total_recovered == 12, _recovery.describe(outcome)
    # EvoLink has no listing: its in-flight submit is reported with what to do, never guessed or resent.
    assert not any(outcome.reported[d] for d in ("mjproxy", "newapi", "acedata"))
    ((entry, why),) = outcome.reported["evolink"]
    assert "no task listing" in why and "journal.resolve" in why
    assert sum(outcome.lost.values()) == 0 and outcome.resent == 0
    with mjnb.Client("evolink", "http://127.0.0.1:9/evolink", _recovery.KEY, journal=tmp_path / "journal.sqlite") as c:
        row = c.journal.get(entry)
        assert row is not None and row.prompt == "recovery evolink in flight 0" and row.task_id is None
