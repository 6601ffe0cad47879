"""Round-trip latency of the simulator over a kept-alive httpx.Client (prints figures, asserts nothing).

    .venv/bin/python bench/sim_roundtrip.py [--requests N]

Measures a proxy task fetch, a new-api fetch and /healthz. With TCP_NODELAY on the server's
sockets a round trip is about a millisecond; without it, a response written in two segments
waits ~40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from mjnb.sim import Simulator


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def _measure(client: httpx.Client, method: str, url: str, count: int, **kw) -> list[float]:
    client.request(method, url, **kw)  # warm the connection
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.request(method, url, **kw)
        samples.append(time.perf_counter() - start)
        response.raise_for_status()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with Simulator(duration=0.2) as sim, httpx.Client(timeout=10) as client:
        proxy_headers = {"mj-api-secret": "bench"}
        task_id = client.post(
            sim.url("mjproxy") + "/mj/submit/imagine", json={"prompt": "bench"}, headers=proxy_headers
        ).json()["result"]
        relay_headers = {"Authorization": "Bearer sk-bench"}
        relay_id = client.post(
            sim.url("newapi") + "/mj/submit/imagine", json={"prompt": "bench"}, headers=relay_headers
        ).json()["result"]
        time.sleep(0.5)  # let both finish so the fetches return the full task
        cases = [
            ("healthz", "GET", f"{sim.base_url}/healthz", {}),
            ("mjproxy fetch", "GET", f"{sim.url('mjproxy')}/mj/task/{task_id}/fetch", {"headers": proxy_headers}),
            ("newapi fetch", "GET", f"{sim.url('newapi')}/mj/task/{relay_id}/fetch", {"headers": relay_headers}),
        ]
        print(
            f"{'request':16} {'p50 ms':>8} {'p95 ms':>8}   ({args.requests} requests each, one kept-alive connection)"
        )
        for name, method, url, kw in cases:
            p50, p95 = _percentiles(_measure(client, method, url, args.requests, **kw))
            print(f"{name:16} {p50:8.2f} {p95:8.2f}")


if __name__ == "__main__":
    main()
