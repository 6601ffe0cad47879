"""Many AceData streamed waits through one AsyncClient (issue 10: "500 streams, no pool error"; prints only).

    .venv/bin/python bench/streams.py [--jobs 500] [--duration 20]

Starts a simulator in its own process (``bench/_simhost.py``) and awaits ``--jobs`` calls of
``AsyncClient.imagine(prompt, wait=True)`` at once on AceData (streamed NDJSON where the client
holds a stream, batched reads beyond its stream limit). Prints how many ended succeeded, failed
or raised (by exception type, PoolTimeout named apart), what the simulator received (submits,
task reads), the wall time, the client's CPU and its event loop's worst lag (10 ms heartbeat) with
the longest CPU the loop's thread ran between two heartbeats (a stall of the client's own).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _simhost import SimProcess  # noqa: E402
from many_tasks import Heartbeat  # noqa: E402

import mjnb  # noqa: E402

KEY = "bench-key"


def _kind(exc: BaseException) -> str:
    """The exception's type, with what caused it (``SubmitUncertain <- SendFailed: PoolTimeout``)."""
    names = [type(exc).__name__]
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(names) < 4:
        names.append(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    text = " <- ".join(names)
    return text + (" (PoolTimeout)" if "PoolTimeout" in str(exc) and "PoolTimeout" not in text else "")


async def _run(args: argparse.Namespace, url: str) -> tuple[collections.Counter[str], float, float, float, float]:
    home = Path(tempfile.mkdtemp(prefix="mjnb-streams-"))
    outcomes: collections.Counter[str] = collections.Counter()
    beat = Heartbeat()
    beating = asyncio.get_running_loop().create_task(beat.run())
    async with mjnb.AsyncClient("acedata", url, KEY, journal=home / "journal.sqlite", max_concurrent=None) as client:

        async def one(n: int) -> None:
            try:
                task = await client.imagine(
                    f"bench stream {n} of a harbour at night --ar 3:2", wait=True, timeout=args.duration * 4 + 120
                )
                outcomes["succeeded" if task.succeeded else f"ended {task.status.value}"] += 1
            except Exception as exc:  # counted by kind: the figure is how many calls raised and why
                outcomes[_kind(exc)] += 1

        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(args.jobs)))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    beat.stop()
    await beating
    lag = max((lag for _, lag, _ in beat.samples), default=0.0)
    return outcomes, wall, cpu, lag, max((busy for _, _, busy in beat.samples), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500, help="streamed waits at once (default 500)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per job (default 20)")
    args = parser.parse_args()
    with SimProcess(duration=args.duration, proxy_size=10) as sim:
        load = os.getloadavg()
        outcomes, wall, cpu, lag, busy = asyncio.run(_run(args, f"{sim.base_url}/acedata"))
        submits = sim.count("/acedata/midjourney/imagine", method="POST")
        reads = sim.count("/acedata/midjourney/tasks", method="POST")
    pool = sum(n for kind, n in outcomes.items() if "PoolTimeout" in kind)
    errors = sum(n for kind, n in outcomes.items() if kind != "succeeded")
    print(
        f"{args.jobs} AceData imagine(wait=True) at once, jobs of {args.duration:g} s; load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
    )
    print(f"  outcomes: {dict(outcomes)}")
    print(f"  PoolTimeout {pool}, other errors {errors - pool} ({'met' if errors == 0 else 'MISSED'}: no pool error)")
    print(
        f"  simulator received {submits} submits (streamed or not) and {reads} task reads "
        f"({reads / args.jobs:.2f} per job); wall {wall:.1f} s, client CPU {cpu:.1f} s, "
        f"loop lag max {lag * 1000:.0f} ms, longest loop CPU between two heartbeats {busy * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
