"""Following many tasks: mjnb's AsyncClient beside a naive per-task poller (issue 10 §2; prints, never asserts).

    .venv/bin/python bench/many_tasks.py [--jobs 100] [--duration 20] [--dialects mjproxy,newapi,acedata,evolink]
                                         [--interval SECONDS] [--poll 3]

For each dialect, in the same run (one after the other; ``--together``: at the same time), two
client processes submit ``--jobs`` imagines of ``--duration`` seconds each and follow them to the end:

- **mjnb**: one ``mjnb.AsyncClient`` (journal on, ``max_concurrent=None``), ``imagine`` ×N at once,
  then ``as_completed``; its tracker reads in batches where the service has them;
- **poller**: raw ``httpx.AsyncClient``, one read per task every ``--poll`` seconds.

Each talks to its own simulator process (``bench/_simhost.py``), so every request is counted on
the server side and neither the servers' CPU nor the other client's is in a client's figures.
Printed per dialect and client: tracking requests per task (submits excluded), completion seen
after the server finished it (p50/p95; the server's ``finishTime`` / ``finished_at``, on EvoLink
when its status turned final in the simulator), client CPU seconds (``time.process_time()`` from the first
submit to the last completion), event-loop lag of a 10 ms heartbeat (p99, max; over the whole run
and while the jobs were only being followed). A quick run: ``--jobs 20 --duration 5`` (< 1 min).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _simhost import SimProcess  # noqa: E402  (bench/ is the script's directory)

DIALECTS = ("mjproxy", "newapi", "acedata", "evolink")
KEY = "bench-key"
HEARTBEAT = 0.010  # seconds
#: Paths of a submit (counted apart: the figures are about following tasks, not creating them).
SUBMIT_PATH = {
    "mjproxy": "/mjproxy/mj/submit/",
    "newapi": "/newapi/mj/submit/",
    "acedata": "/acedata/midjourney/imagine",
    "evolink": "/evolink/v1/images/generations",
}
#: Targets of issue 10: (tracking requests as a share of the poller's, completion seen p95 in seconds).
TARGETS = {"mjproxy": (0.1, 1.5), "newapi": (0.1, 1.5), "acedata": (0.1, 1.5), "evolink": (0.6, 3.0)}
LAG_TARGET_MS = (20.0, 50.0)  # p99, max


# -- what runs inside each client process -------------------------------------------------------------
class Heartbeat:
    """A 10 ms sleep loop on the running event loop; how late each wake-up is shows the loop's stalls."""

    def __init__(self) -> None:
        # (perf_counter time, lag, loop CPU): lag in wall seconds; loop CPU is what this thread ran
        # meanwhile, which the machine's load does not inflate (a stall of ours, not a wait for a core).
        self.samples: list[tuple[float, float, float]] = []
        self._stop = False

    async def run(self) -> None:
        while not self._stop:
            start, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(HEARTBEAT)
            end = time.perf_counter()
            self.samples.append((end, end - start - HEARTBEAT, time.thread_time() - cpu))

    def stop(self) -> None:
        self._stop = True


def _prompt(n: int) -> str:
    return f"bench picture {n} of a quiet valley at dawn --ar 3:2"


async def _measured(args: argparse.Namespace, follow: Callable[[], Awaitable[tuple[dict[str, Any], float]]]) -> None:
    """Runs ``follow`` (submit everything, then return what was seen and when submits ended) under
    a heartbeat and prints one JSON line: per task (seen, finished, status), CPU, lags."""
    beat = Heartbeat()
    beating = asyncio.get_running_loop().create_task(beat.run())
    cpu = time.process_time()
    began = time.perf_counter()
    seen, submits_done = await follow()
    cpu = time.process_time() - cpu
    ended = time.perf_counter()
    beat.stop()
    await beating
    lags = [lag for _, lag, _ in beat.samples]
    following = [lag for at, lag, _ in beat.samples if at >= submits_done]
    busy = [used for _, _, used in beat.samples]
    print(
        json.dumps(
            {
                "seen": seen,
                "cpu": cpu,
                "wall": ended - began,
                "submit": submits_done - began,
                "lags": lags,
                "following": following,
                "busy": busy,
            }
        )
    )


async def _run_client(args: argparse.Namespace) -> None:
    import mjnb

    home = tempfile.mkdtemp(prefix="mjnb-bench-")
    async with mjnb.AsyncClient(
        args.dialect,
        f"{args.base}/{args.dialect}",
        KEY,
        max_concurrent=None,
        poll_interval=args.interval,
        journal=Path(home) / "journal.sqlite",
    ) as client:

        async def follow() -> tuple[dict[str, Any], float]:
            tasks = await asyncio.gather(*(client.imagine(_prompt(n)) for n in range(args.jobs)))
            submits_done = time.perf_counter()
            seen: dict[str, Any] = {}
            async for task in client.as_completed(tasks, timeout=args.duration * 4 + 120):
                seen[task.id] = (time.time(), task.finished_at, task.status.value)
            return seen, submits_done

        await _measured(args, follow)


def _auth(dialect: str) -> dict[str, str]:
    if dialect == "mjproxy":
        return {"mj-api-secret": KEY}
    return {"authorization": f"Bearer sk-{KEY}" if dialect == "newapi" else f"Bearer {KEY}"}


async def _run_poller(args: argparse.Namespace) -> None:
    import httpx

    url, headers = f"{args.base}/{args.dialect}", _auth(args.dialect)
    seen: dict[str, Any] = {}

    async def submit(http: httpx.AsyncClient, n: int) -> str:
        if args.dialect in ("mjproxy", "newapi"):
            answer = await http.post(f"{url}/mj/submit/imagine", json={"prompt": _prompt(n)}, headers=headers)
            return str(answer.json()["result"])
        if args.dialect == "acedata":
            answer = await http.post(
                f"{url}/midjourney/imagine", json={"prompt": _prompt(n), "async": True}, headers=headers
            )
            return str(answer.json()["task_id"])
        answer = await http.post(
            f"{url}/v1/images/generations", headers=headers, json={"model": "mj-v7", "prompt": _prompt(n)}
        )
        return str(answer.json()["id"])

    async def poll(http: httpx.AsyncClient, task_id: str) -> None:
        # What a user writes by hand: read that one task every few seconds until it ends.
        while True:
            await asyncio.sleep(args.poll)
            if args.dialect in ("mjproxy", "newapi"):
                answer = await http.get(f"{url}/mj/task/{task_id}/fetch", headers=headers)
            elif args.dialect == "acedata":
                answer = await http.post(
                    f"{url}/midjourney/tasks", json={"action": "retrieve", "id": task_id}, headers=headers
                )
            else:
                answer = await http.get(f"{url}/v1/tasks/{task_id}", headers=headers)
            final = _final(args.dialect, answer.json())
            if final is not None:
                seen[task_id] = (time.time(), *final)
                return

    async def follow() -> tuple[dict[str, Any], float]:
        async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
            ids = await asyncio.gather(*(submit(http, n) for n in range(args.jobs)))
            submits_done = time.perf_counter()
            await asyncio.gather(*(poll(http, task_id) for task_id in ids))
        return seen, submits_done

    await _measured(args, follow)


def _final(dialect: str, body: dict[str, Any]) -> tuple[float | None, str] | None:
    """(the server's finish time or None, status) when ``body`` is a final task, else None."""
    if dialect in ("mjproxy", "newapi"):
        if body.get("status") in ("SUCCESS", "FAILURE"):
            return (body["finishTime"] / 1000 if body.get("finishTime") else None), str(body["status"])
    elif dialect == "acedata":
        if "finished_at" in body:
            return float(body["finished_at"]), "succeeded" if (body.get("response") or {}).get("success") else "failed"
    elif body.get("status") in ("completed", "failed"):
        return None, str(body["status"])
    return None


# -- the orchestrating process ----------------------------------------------------------------------
def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def _spawn(role: str, dialect: str, sim: SimProcess, args: argparse.Namespace) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        __file__,
        "--role",
        role,
        "--dialect",
        dialect,
        "--base",
        sim.base_url,
        "--jobs",
        str(args.jobs),
        "--duration",
        str(args.duration),
        "--poll",
        str(args.poll),
    ]
    if args.interval is not None:
        command += ["--interval", str(args.interval)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _tracking(sim: SimProcess, dialect: str) -> int:
    return sim.count(f"/{dialect}/") - sim.count(SUBMIT_PATH[dialect], method="POST")


def _side(report: dict[str, Any], requests: int, jobs: int, evolink: dict[str, float]) -> dict[str, Any]:
    """The figures of one client: requests per task, completion-seen delays, CPU, loop lag."""
    delays, failed, unknown = [], 0, 0
    for task_id, (seen_at, finished_at, status) in report["seen"].items():
        finished_at = finished_at if finished_at is not None else evolink.get(task_id)
        if finished_at is None:
            unknown += 1
            continue
        delays.append(seen_at - finished_at)
        failed += status.lower() in ("failed", "failure")
    lags = [x * 1000 for x in report["lags"]]
    following = [x * 1000 for x in report["following"]] or lags
    return {
        "per_task": requests / jobs,
        "requests": requests,
        "p50": _pct(delays, 0.5),
        "p95": _pct(delays, 0.95),
        "cpu": report["cpu"],
        "wall": report["wall"],
        "lag99": _pct(lags, 0.99),
        "lagmax": max(lags, default=0.0),
        "f99": _pct(following, 0.99),
        "fmax": max(following, default=0.0),
        "busy99": _pct([x * 1000 for x in report["busy"]], 0.99),
        "busymax": max(report["busy"], default=0.0) * 1000,
        "submit": report["submit"],
        "done": len(report["seen"]),
        "failed": failed,
        "unknown": unknown,
    }


def _run_dialect(dialect: str, sims: dict[str, SimProcess], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    before = {who: _tracking(sim, dialect) for who, sim in sims.items()}
    reports: dict[str, dict[str, Any]] = {}
    # One after the other by default: on a 2-core machine two clients and two busy simulators at
    # once make each client's event loop wait for a core, which is the machine's lag, not the client's.
    procs = {who: _spawn(who, dialect, sim, args) for who, sim in sims.items()} if args.together else {}
    for who in sims:
        proc = procs.get(who) or _spawn(who, dialect, sims[who], args)
        out, _ = proc.communicate()
        if proc.returncode != 0 or not out.strip():
            raise SystemExit(f"the {who} process of {dialect} failed (status {proc.returncode}); see its stderr above")
        reports[who] = json.loads(out.strip().splitlines()[-1])
    return {
        who: _side(reports[who], _tracking(sim, dialect) - before[who], args.jobs, sim.evolink_finished())
        for who, sim in sims.items()
    }


def _print(dialect: str, sides: dict[str, dict[str, Any]]) -> None:
    ours, poller = sides["mjnb"], sides["poller"]
    for who, s in sides.items():
        ratio = s["per_task"] / poller["per_task"] if poller["per_task"] else float("nan")
        print(
            f"{dialect:8} {who:6} {s['per_task']:8.2f} {ratio:6.2f}x {s['p50']:7.2f} {s['p95']:7.2f} "
            f"{s['cpu']:7.2f} {s['lag99']:8.1f} {s['lagmax']:8.1f} {s['f99']:8.1f} {s['fmax']:8.1f} "
            f"{s['busy99']:7.1f} {s['busymax']:7.1f} {s['submit']:6.1f} {s['wall']:6.1f} "
            f"{s['done']:4}/{s['failed']}/{s['unknown']}"
        )
    share, p95 = TARGETS[dialect]
    ratio = ours["per_task"] / poller["per_task"] if poller["per_task"] else float("nan")
    checks = [
        (f"requests {ratio:.2f}x poller", ratio <= share, f"<= {share}x"),
        (f"seen p95 {ours['p95']:.2f} s", ours["p95"] <= p95, f"<= {p95} s"),
        # The target is for the loop "with 100 tasks in flight": once every submit was answered.
        (f"in-flight lag p99 {ours['f99']:.1f} ms", ours["f99"] <= LAG_TARGET_MS[0], f"<= {LAG_TARGET_MS[0]:g} ms"),
        (f"in-flight lag max {ours['fmax']:.1f} ms", ours["fmax"] <= LAG_TARGET_MS[1], f"<= {LAG_TARGET_MS[1]:g} ms"),
        (
            f"whole-run lag p99/max {ours['lag99']:.0f}/{ours['lagmax']:.0f} ms (the submit burst included)",
            True,
            "info",
        ),
        (f"loop CPU between heartbeats p99/max {ours['busy99']:.0f}/{ours['busymax']:.0f} ms", True, "info"),
        (f"CPU {ours['cpu'] / poller['cpu']:.2f}x poller", True, "info"),
    ]
    print(
        "           "
        + "; ".join(
            f"{text} ({'met' if ok else 'MISSED'} {target})" if target != "info" else text
            for text, ok, target in checks
        )
    )


def _orchestrate(args: argparse.Namespace) -> None:
    dialects = [d.strip() for d in args.dialects.split(",") if d.strip()]
    unknown = [d for d in dialects if d not in DIALECTS]
    if unknown:
        raise SystemExit(f"--dialects: {', '.join(unknown)} unknown; allowed: {', '.join(DIALECTS)}")
    size = args.jobs + 20
    sims = {
        "mjnb": SimProcess(duration=args.duration, proxy_size=size),
        "poller": SimProcess(duration=args.duration, proxy_size=size),
    }
    for sim in sims.values():
        sim.start()
    try:
        load = os.getloadavg()
        interval = "dialect default" if args.interval is None else f"{args.interval:g} s"
        print(
            f"{args.jobs} jobs of {args.duration:g} s per dialect; mjnb poll interval: {interval}; "
            f"poller every {args.poll:g} s; {'at the same time' if args.together else 'one after the other'}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
            f"on {os.cpu_count()} cores"
        )
        print(
            f"{'dialect':8} {'client':6} {'req/task':>8} {'ratio':>7} {'seen50':>7} {'seen95':>7} {'CPU s':>7} "
            f"{'lag99ms':>8} {'lagmax':>8} {'f-lag99':>8} {'f-lagmax':>8} {'busy99':>7} {'busymax':>7} {'submit':>6} "
            f"{'wall':>6} done/fail/nofinish"
        )
        for dialect in dialects:
            _print(dialect, _run_dialect(dialect, sims, args))
        cpu = {who: sim.cpu_seconds() for who, sim in sims.items()}
        print(
            f"simulator CPU (process + render workers): mjnb's {cpu['mjnb']:.1f} s, poller's {cpu['poller']:.1f} s; "
            f"load average now {os.getloadavg()[0]:.1f}"
        )
        print(
            "seen: s from the server's finish to the client seeing it; lag: ms a 10 ms heartbeat woke late; "
            "f-lag: the same once every submit was answered; busy: ms of CPU the loop's thread ran between two "
            "heartbeats (load-independent); submit, wall: s"
        )
    finally:
        for sim in sims.values():
            sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100, help="jobs per dialect and client (default 100)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per job (default 20)")
    parser.add_argument("--dialects", default=",".join(DIALECTS), help="comma-separated (default: all four)")
    parser.add_argument(
        "--interval", type=float, default=None, help="mjnb's poll_interval in seconds (default: the dialect's own)"
    )
    parser.add_argument("--poll", type=float, default=3.0, help="the naive poller's seconds between reads (default 3)")
    parser.add_argument(
        "--together",
        action="store_true",
        help="run mjnb and the poller at the same time (default: one after the other, each on its own simulator)",
    )
    parser.add_argument("--role", choices=("mjnb", "poller"), help=argparse.SUPPRESS)
    parser.add_argument("--dialect", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "mjnb":
        asyncio.run(_run_client(args))
    elif args.role == "poller":
        asyncio.run(_run_poller(args))
    else:
        _orchestrate(args)


if __name__ == "__main__":
    main()
