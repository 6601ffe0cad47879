"""The recovery experiment of issue 14: a process killed mid-wait and mid-submit, recovered by another.

A child process (the user's kernel) holds 13 unfinished jobs over the four dialects: 9 submitted
and being waited for, and 4 whose submit reached the server (which created the job) but whose
answer had not arrived yet (the simulator's ``latency_after`` fault holds it). It is killed with
SIGKILL. Another process then does what the README says: ``client.resume()`` and
``client.reconcile()`` per dialect, waits for what they return, and the outcome is compared with
the jobs the server really holds.

Used by ``tests/test_recovery.py`` (which asserts the outcome) and ``bench/recovery.py`` (which
prints it). Needs an in-process :class:`mjnb.sim.Simulator` (its faults are set from here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mjnb

#: Jobs per dialect: (submitted and waited for, killed mid-submit). 13 in all.
PLAN = {"mjproxy": (2, 1), "newapi": (2, 1), "acedata": (2, 1), "evolink": (3, 1)}
SUBMIT_PATH = {
    "mjproxy": "/mjproxy/mj/submit/imagine",
    "newapi": "/newapi/mj/submit/imagine",
    "acedata": "/acedata/midjourney/imagine",
    "evolink": "/evolink/v1/images/generations",
}
KEY = "sk-recovery-key"

_CHILD = textwrap.dedent("""
    import json, sys, threading
    import mjnb

    base, journal, plan = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    clients, waiting = {}, {}
    for dialect, (n_wait, _n_submit) in plan.items():
        clients[dialect] = mjnb.Client(dialect, f"{base}/{dialect}", sys.argv[4], journal=journal,
                                       max_concurrent=None, poll_interval=0.2)
        waiting[dialect] = [clients[dialect].imagine(f"recovery {dialect} waited {i} --ar 3:2", wait=False)
                            for i in range(n_wait)]
    print("submitted", flush=True)
    sys.stdin.readline()  # the parent has set the faults that hold the next submits' answers
    for dialect, (_n_wait, n_submit) in plan.items():
        for i in range(n_submit):
            threading.Thread(target=clients[dialect].imagine, args=(f"recovery {dialect} in flight {i}",),
                             kwargs={"wait": False}, daemon=True).start()
    print("sending", flush=True)
    for dialect, tasks in waiting.items():
        clients[dialect].wait_all(tasks, timeout=600)  # killed here
""")


@dataclass
class Outcome:
    """What the server holds and what the new process got back."""

    server_jobs: int = 0
    recovered: dict[str, set[str]] = field(default_factory=dict)  # dialect -> task ids back in hand, finished
    reported: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # dialect -> (journal id, why)
    resumed: dict[str, int] = field(default_factory=dict)
    settled: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)  # server jobs neither recovered nor reported
    resent: int = 0  # submits the recovery made (must be 0)
    seconds: float = 0.0

    @property
    def total_recovered(self) -> int:
        return sum(len(v) for v in self.recovered.values())

    @property
    def total_reported(self) -> int:
        return sum(len(v) for v in self.reported.values())


def _listing(client: mjnb.Client) -> list[mjnb.Task] | None:
    if "list" not in client.operations:
        return None
    return list(client.tasks(page_size=100).items)


def _submits(sim: Any) -> int:
    return sum(sim.state.requests.count(path, method="POST") for path in SUBMIT_PATH.values())


def run(sim: Any, home: Path, *, hold: float = 20.0) -> Outcome:
    """Run the experiment against ``sim`` (an in-process Simulator whose jobs last a few seconds)."""
    journal = home / "journal.sqlite"
    total = sum(a + b for a, b in PLAN.values())
    created_before = sim.state.jobs_created
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, sim.base_url, str(journal), json.dumps(PLAN), KEY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MJNB_HOME": str(home)},
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        if child.stdout.readline().split() != ["submitted"]:
            raise RuntimeError("the child process did not submit its jobs")
        for dialect, (_n_wait, n_submit) in PLAN.items():
            sim.state.faults.add("latency_after", path=SUBMIT_PATH[dialect], times=n_submit, delay=hold)
        child.stdin.write("go\n")
        child.stdin.flush()
        deadline = time.monotonic() + 30
        while sim.state.jobs_created - created_before < total:  # every job exists on the server
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {sim.state.jobs_created - created_before} of {total} jobs were created")
            time.sleep(0.02)
    finally:
        child.kill()  # mid-wait for 9 jobs, mid-submit for 4
        child.wait(timeout=30)
    sim.state.faults.clear()

    began = time.monotonic()
    outcome = Outcome(server_jobs=sim.state.jobs_created - created_before)
    submits_before = _submits(sim)
    listed_elsewhere = 0
    for dialect in PLAN:
        with mjnb.Client(dialect, f"{sim.base_url}/{dialect}", KEY, journal=journal, poll_interval=0.2) as client:
            resumed = client.resume()
            reconciled = client.reconcile()
            back = [*resumed, *(task for _jid, task in reconciled.settled)]
            finished = client.wait_all(back, timeout=120)
            outcome.resumed[dialect] = len(resumed)
            outcome.settled[dialect] = len(reconciled.settled)
            outcome.recovered[dialect] = {t.id for t in finished if t.done}
            outcome.reported[dialect] = list(reconciled.uncertain)
            on_server = _listing(client)
            if on_server is None:  # EvoLink lists nothing: its jobs are what the others' listings do not hold
                continue
            ours = [t for t in on_server if (t.prompt or "").startswith(f"recovery {dialect}")]
            listed_elsewhere += len(ours)
            missing = {t.id for t in ours} - outcome.recovered[dialect]
            outcome.lost[dialect] = max(0, len(missing) - len(outcome.reported[dialect]))
    evolink_jobs = outcome.server_jobs - listed_elsewhere
    outcome.lost["evolink"] = max(
        0, evolink_jobs - len(outcome.recovered["evolink"]) - len(outcome.reported["evolink"])
    )
    outcome.resent = _submits(sim) - submits_before
    outcome.seconds = time.monotonic() - began
    return outcome


def describe(outcome: Outcome) -> str:
    """The figure, a line per dialect."""
    lines = [
        f"{outcome.total_recovered} of {outcome.server_jobs} jobs recovered with resume() + reconcile(); "
        f"{outcome.total_reported} reported as uncertain; {sum(outcome.lost.values())} silently lost; "
        f"{outcome.resent} submits resent; recovery took {outcome.seconds:.1f} s"
    ]
    for dialect, (n_wait, n_submit) in PLAN.items():
        lines.append(
            f"  {dialect:8} killed mid-wait {n_wait}, mid-submit {n_submit}: resumed {outcome.resumed[dialect]}, "
            f"settled by reconcile {outcome.settled[dialect]}, finished {len(outcome.recovered[dialect])}, "
            f"reported {len(outcome.reported[dialect])}"
        )
        lines += [f"      journal entry {jid}: {why}" for jid, why in outcome.reported[dialect]]
    return "\n".join(lines)
