"""Does the simulator keep up with many jobs? (issue 10 §2; prints figures, asserts nothing)

    .venv/bin/python bench/sim_load.py [--jobs 300] [--duration 20] [--poll 1.0]

Starts a simulator in its own process (``bench/_simhost.py``, so the bench's client does not share its GIL),
submits ``--jobs`` imagines at once spread over the four dialects with raw httpx, and polls every
task every ``--poll`` seconds. Prints:

- lateness: when the server finished a job minus (its submit + ``--duration``), from the
  services' own timestamps (proxy/new-api ``finishTime - submitTime``, AceData ``finished_at -
  created_at``) and, for EvoLink (no finish time on its tasks, ``created`` in whole seconds), the
  simulator's own clock at the submit and at the status turning final (``_simhost`` notes both);
- fetch latency p50/p95/max of every task read made while the jobs ran, as this client saw it and
  as the server measured it (``GET /_sim/requests``: from arrival to the end of the answer);
- the simulator's CPU seconds (its process and render workers).
Targets: lateness ≤ 0.5 s, fetch p95 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _simhost import SimProcess  # noqa: E402  (bench/ is the script's directory)

KEY = "bench-key"
DIALECTS = ("mjproxy", "newapi", "acedata", "evolink")
CONNECTIONS = 32
READ_PREFIXES = ("/mjproxy/mj/task/", "/newapi/mj/task/", "/acedata/midjourney/tasks", "/evolink/v1/tasks/")


class Figures:
    def __init__(self) -> None:
        self.fetch: list[float] = []
        self.late: dict[str, list[float]] = {d: [] for d in DIALECTS}
        self.evolink: list[str] = []  # completed EvoLink task ids
        self.failed: list[str] = []
        self.read_errors = 0
        # This client's own requests in flight: httpcore rescans its whole pool for every queued
        # request, so an unbounded burst made the client, not the server, the slow side.
        self.gate = asyncio.Semaphore(CONNECTIONS)


def _headers(dialect: str) -> dict[str, str]:
    return {
        "mjproxy": {"mj-api-secret": KEY},
        "newapi": {"authorization": f"Bearer sk-{KEY}"},
        "acedata": {"authorization": f"Bearer {KEY}"},
        "evolink": {"authorization": f"Bearer {KEY}"},
    }[dialect]


async def _job(
    http: httpx.AsyncClient, base: str, dialect: str, n: int, args: argparse.Namespace, figures: Figures
) -> None:
    url, headers = f"{base}/{dialect}", _headers(dialect)
    prompt = f"bench picture {n} of a valley --ar 3:2"
    if dialect in ("mjproxy", "newapi"):
        answer = (await http.post(f"{url}/mj/submit/imagine", json={"prompt": prompt}, headers=headers)).json()
        task_id = answer["result"]
        read = lambda: http.get(f"{url}/mj/task/{task_id}/fetch", headers=headers)  # noqa: E731
    elif dialect == "acedata":
        answer = (
            await http.post(f"{url}/midjourney/imagine", json={"prompt": prompt, "async": True}, headers=headers)
        ).json()
        task_id = answer["task_id"]
        read = lambda: http.post(
            f"{url}/midjourney/tasks",
            json={"action": "retrieve", "id": task_id},  # noqa: E731
            headers=headers,
        )
    else:
        answer = (
            await http.post(
                f"{url}/v1/images/generations",
                headers=headers,
                json={"model": "mj-v7", "prompt": prompt},
            )
        ).json()
        task_id = answer["id"]
        read = lambda: http.get(f"{url}/v1/tasks/{task_id}", headers=headers)  # noqa: E731
    await asyncio.sleep(random.uniform(0, args.poll))  # spread the polls
    while True:
        try:
            async with figures.gate:
                started = time.perf_counter()
                body = (await read()).json()
        except httpx.TransportError:
            figures.read_errors += 1  # a read is safe to repeat; counted and printed
            continue
        figures.fetch.append(time.perf_counter() - started)
        late = _lateness(dialect, body, args.duration)
        if late is not None:
            figures.late[dialect].append(late)
            return
        if dialect == "evolink" and body.get("status") == "completed":
            figures.evolink.append(task_id)  # its lateness comes from the server's own clock, at the end
            return
        if _failed(dialect, body):
            figures.failed.append(f"{dialect} {task_id}")
            return
        await asyncio.sleep(args.poll)


def _lateness(dialect: str, body: dict[str, Any], duration: float) -> float | None:
    if dialect in ("mjproxy", "newapi") and body.get("status") == "SUCCESS":
        return (body["finishTime"] - body["submitTime"]) / 1000 - duration
    if dialect == "acedata" and "finished_at" in body and (body.get("response") or {}).get("success"):
        return float(body["finished_at"]) - float(body["created_at"]) - duration
    return None


def _failed(dialect: str, body: dict[str, Any]) -> bool:
    return body.get("status") in ("FAILURE", "failed") or (body.get("response") or {}).get("success") is False


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def _run(args: argparse.Namespace) -> None:
    figures = Figures()
    sim = SimProcess(duration=args.duration, proxy_size=args.jobs).start()
    base = sim.base_url
    try:
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as http:
            began = time.monotonic()
            await asyncio.gather(
                *(_job(http, base, DIALECTS[n % len(DIALECTS)], n, args, figures) for n in range(args.jobs))
            )
            wall = time.monotonic() - began
            served = {
                prefix: (await http.get(f"{base}/_sim/requests", params={"prefix": prefix})).json()["ms"]
                for prefix in READ_PREFIXES
            }
        cpu = sim.cpu_seconds()
        created, finished = sim.evolink_created(), sim.evolink_finished()
        figures.late["evolink"] = [finished[t] - created[t] - args.duration for t in figures.evolink]
    finally:
        sim.stop()
    every = [x for samples in figures.late.values() for x in samples]
    print(
        f"{args.jobs} jobs of {args.duration:g} s over {len(DIALECTS)} dialects, polled every {args.poll:g} s; "
        f"wall {wall:.1f} s, simulator CPU {cpu:.1f} s (process + render workers), failed {len(figures.failed)}, "
        f"read errors {figures.read_errors}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"  lateness all      p50 {statistics.median(every):6.3f} s  p95 {_pct(every, 0.95):6.3f} s  "
        f"max {max(every):6.3f} s"
    )
    for dialect, samples in figures.late.items():
        if samples:
            print(
                f"  lateness {dialect:8} p50 {statistics.median(samples):6.3f} s  p95 {_pct(samples, 0.95):6.3f} s  "
                f"max {max(samples):6.3f} s  ({len(samples)} jobs)"
            )
    for prefix, ms_served in served.items():
        print(
            f"  served {prefix:26} p50 {ms_served['p50']} ms  p95 {ms_served['p95']} ms  max {ms_served['max']} ms "
            "(inside the server)"
        )
    ms = [x * 1000 for x in figures.fetch]
    print(
        f"  fetch ({len(ms)} reads) p50 {statistics.median(ms):6.1f} ms  p95 {_pct(ms, 0.95):6.1f} ms  "
        f"max {max(ms):6.1f} ms (seen by this client, {CONNECTIONS} connections)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs submitted at once (default 300)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per job (default 20)")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between reads of one task (default 1)")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
