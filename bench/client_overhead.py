"""What mjnb adds to one call: ``get`` and a submit through mjnb vs raw httpx on the same connection (issue 10).

    .venv/bin/python bench/client_overhead.py [--dialect mjproxy] [--gets 500] [--submits 150]

A simulator runs in its own process (``bench/_simhost.py``; its jobs last an hour, so none
progresses while we measure). One ``httpx.Client`` (and one ``httpx.AsyncClient``) with
TCP_NODELAY is shared: raw calls go through it directly, mjnb's through ``http_client=`` — the
same kept connection. Raw calls send what mjnb sends (same path, JSON body, auth header) and
decode the JSON answer; mjnb's also validate, parse into a Task and journal. Samples alternate
(raw, mjnb journal on, mjnb journal off) so that the shared machine's load hits all of them
alike. Prints the median wall µs of each, its ratio to raw and the difference, and the median
CPU µs of this process per call (threads included; the simulator is elsewhere), which the shared
machine's load inflates far less than wall time. Targets (wall): get ≤ 1.3×, submit ≤ 1.5× (journal on).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from _simhost import SimProcess  # noqa: E402

import mjnb  # noqa: E402
from mjnb.dialects import get_dialect  # noqa: E402

KEY = "bench-key"
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
PROMPT = "bench picture of a quiet valley at dawn --ar 3:2"
TARGETS = {"get": 1.3, "submit": 1.5}
WHO = ("raw httpx", "mjnb journal on", "mjnb journal off")


def _raw_call(dialect: str, op: str, task_id: str) -> tuple[str, str, dict[str, Any] | None, dict[str, str]]:
    """(method, path, JSON body, headers) of the request mjnb's dialect sends for ``op``, built once."""
    spec = get_dialect(dialect)
    request = spec.prepare("get", task_id=task_id, task=None) if op == "get" else spec.prepare("imagine", prompt=PROMPT)
    headers = {**request.headers, **spec.auth_headers(KEY, request)}
    return request.method, request.path.lstrip("/"), request.json, headers


Samples = dict[str, list[tuple[float, float]]]  # who -> [(wall µs, process CPU µs)]


def _report(kind: str, samples: Samples) -> None:
    raw_wall = statistics.median(w for w, _ in samples[WHO[0]])
    raw_cpu = statistics.median(c for _, c in samples[WHO[0]])
    for who in WHO:
        wall = statistics.median(w for w, _ in samples[who])
        cpu = statistics.median(c for _, c in samples[who])
        target = TARGETS[kind.split()[-1]]
        verdict = "" if who != WHO[1] else f"  ({'met' if wall / raw_wall <= target else 'MISSED'} <= {target}x)"
        print(
            f"  {kind:13} {who:17} {wall:8.0f} µs {wall / raw_wall:5.2f}x {wall - raw_wall:+8.0f} µs | "
            f"CPU {cpu:6.0f} µs {cpu / raw_cpu:5.2f}x{verdict}"
        )


def _sample(samples: Samples, who: str, wall: float, cpu: float) -> None:
    samples[who].append((wall * 1e6, cpu * 1e6))


def _sync(args: argparse.Namespace, url: str, home: Path) -> None:
    with httpx.Client(transport=httpx.HTTPTransport(socket_options=NODELAY), timeout=30, trust_env=False) as http:
        on = mjnb.Client(args.dialect, url, KEY, http_client=http, journal=home / "sync.sqlite", max_concurrent=None)
        off = mjnb.Client(args.dialect, url, KEY, http_client=http, journal=False, max_concurrent=None)
        task = on.imagine(PROMPT)
        for kind, count, calls in (
            ("sync get", args.gets, _sync_calls(http, url, args.dialect, "get", task, on, off)),
            ("sync submit", args.submits, _sync_calls(http, url, args.dialect, "submit", task, on, off)),
        ):
            samples: Samples = {who: [] for who in WHO}
            for n in range(count + args.warmup):
                for who, call in zip(WHO, calls):
                    start, cpu = time.perf_counter(), time.process_time()
                    call()
                    if n >= args.warmup:
                        _sample(samples, who, time.perf_counter() - start, time.process_time() - cpu)
            _report(kind, samples)
        on.close()
        off.close()


def _sync_calls(
    http: httpx.Client, url: str, dialect: str, op: str, task: mjnb.Task, on: mjnb.Client, off: mjnb.Client
) -> list[Callable[[], object]]:
    method, path, body, headers = _raw_call(dialect, op, task.id)
    full = f"{url}/{path}"

    def raw() -> object:
        return http.request(method, full, json=body, headers=headers).json()

    if op == "get":
        return [raw, lambda: on.get(task), lambda: off.get(task)]
    return [raw, lambda: on.imagine(PROMPT), lambda: off.imagine(PROMPT)]


async def _async(args: argparse.Namespace, url: str, home: Path) -> None:
    transport = httpx.AsyncHTTPTransport(socket_options=NODELAY)
    async with httpx.AsyncClient(transport=transport, timeout=30, trust_env=False) as http:
        on = mjnb.AsyncClient(
            args.dialect, url, KEY, http_client=http, journal=home / "async.sqlite", max_concurrent=None
        )
        off = mjnb.AsyncClient(args.dialect, url, KEY, http_client=http, journal=False, max_concurrent=None)
        task = await on.imagine(PROMPT)
        for kind, count, op in (("async get", args.gets, "get"), ("async submit", args.submits, "submit")):
            method, path, body, headers = _raw_call(args.dialect, op, task.id)
            full = f"{url}/{path}"

            async def raw() -> object:
                return (await http.request(method, full, json=body, headers=headers)).json()

            calls: list[Callable[[], Awaitable[object]]] = (
                [raw, lambda: on.get(task), lambda: off.get(task)]
                if op == "get"
                else [raw, lambda: on.imagine(PROMPT), lambda: off.imagine(PROMPT)]
            )
            samples: Samples = {who: [] for who in WHO}
            for n in range(count + args.warmup):
                for who, call in zip(WHO, calls):
                    start, cpu = time.perf_counter(), time.process_time()
                    await call()
                    if n >= args.warmup:
                        _sample(samples, who, time.perf_counter() - start, time.process_time() - cpu)
            _report(kind, samples)
        await on.aclose()
        await off.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dialect", default="mjproxy", choices=("mjproxy", "newapi", "acedata", "evolink"))
    parser.add_argument("--gets", type=int, default=500, help="measured gets per client (default 500)")
    parser.add_argument("--submits", type=int, default=150, help="measured submits per client (default 150)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured calls first (default 20)")
    parser.add_argument(
        "--shared-cores",
        action="store_true",
        help="let the simulator share this process's cores (default: with 2+ cores, it gets the last one "
        "and this process the others, as a remote service would not compete with the client for a core)",
    )
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    sim_cpus = None
    if not args.shared_cores and len(cores) >= 2:
        sim_cpus = {cores[-1]}
        os.sched_setaffinity(0, set(cores[:-1]))
    home = Path(tempfile.mkdtemp(prefix="mjnb-overhead-"))
    jobs = 3 * (args.submits + args.warmup) * 2 + 10
    with SimProcess(duration=3600, proxy_size=jobs, cpus=sim_cpus) as sim:
        url = f"{sim.base_url}/{args.dialect}"
        load = os.getloadavg()
        print(
            f"{args.dialect}: median of {args.gets} gets and {args.submits} submits per client, interleaved; "
            f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores; "
            + (f"simulator on core {sorted(sim_cpus)}, client on {cores[:-1]}" if sim_cpus else "cores shared")
        )
        _sync(args, url, home)
        asyncio.run(_async(args, url, home))
        print(f"  load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
