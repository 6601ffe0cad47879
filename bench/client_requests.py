"""Requests per task and client overhead against the simulator, for each dialect.

Prints, per dialect: HTTP requests for imagine+wait and for an upscale, the wall time of the
job versus the simulator's job duration (the overhead ratio), and the median round trip of a
task fetch over the kept-alive connection.  Run: .venv/bin/python bench/client_requests.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mjnb  # noqa: E402
from mjnb.sim import Simulator  # noqa: E402

DURATION = 1.0


def count_requests(client: mjnb.Client) -> list[int]:
    counter = [0]
    client._transport._client.event_hooks["request"].append(lambda request: counter.__setitem__(0, counter[0] + 1))
    return counter


def main() -> None:
    home = tempfile.mkdtemp()
    with Simulator(duration=DURATION) as sim:
        print(f"simulated job duration {DURATION:.1f} s; poll interval 0.25 s (the embedded default)")
        print(
            f"{'dialect':<9} {'req/imagine':>11} {'req/upscale':>11} {'wall/job':>9} {'overhead':>9} {'fetch p50':>10} {'fetch p95':>10}"
        )
        for dialect in ("mjproxy", "newapi", "acedata", "evolink"):
            with mjnb.Client(
                dialect, sim.url(dialect), "sk-bench", poll_interval=0.25, journal=Path(home) / "j.sqlite"
            ) as client:
                counter = count_requests(client)
                start = time.perf_counter()
                task = client.wait(client.imagine("a benchmark lighthouse"))
                wall = time.perf_counter() - start
                imagine_requests = counter[0]
                counter[0] = 0
                client.wait(client.upscale(task, 1))
                upscale_requests = counter[0]
                samples = []
                for _ in range(200):
                    t0 = time.perf_counter()
                    client.get(task)
                    samples.append((time.perf_counter() - t0) * 1000)
                samples.sort()
                p95 = samples[int(len(samples) * 0.95)]
                print(
                    f"{dialect:<9} {imagine_requests:>11} {upscale_requests:>11} {wall:>8.2f}s {wall / DURATION:>8.2f}x "
                    f"{statistics.median(samples):>8.2f}ms {p95:>8.2f}ms"
                )


if __name__ == "__main__":
    main()
