"""Chaos run: 200 imagines over the four dialects (Client and AsyncClient), ~20 % of them faulted.

Prints: faults injected / tasks lost / duplicated / untyped (and the rest of the run's figures), judged
from the simulator's own job stores against the clients' journals after ``reconcile()``; see
``tests/test_chaos.py`` for the faults and the rules.

    .venv/bin/python bench/chaos.py [--submits 200] [--fault-rate 0.2] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("MJNB_HOME", tempfile.mkdtemp(prefix="mjnb-chaos-home-"))

from test_chaos import run_chaos  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=200, help="imagines to submit (default 200)")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="share of submits faulted (default 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    from mjnb.sim import Simulator

    start = time.monotonic()
    with (
        Simulator(duration=0.2, proxy_core_size=8, proxy_queue_size=50) as sim,
        tempfile.TemporaryDirectory(prefix="mjnb-chaos-") as home,
    ):
        report = run_chaos(sim, Path(home), args.submits, fault_rate=args.fault_rate, seed=args.seed)
    for line in report.lines():
        print(line)
    print(f"({time.monotonic() - start:.0f} s)")
    for what in (report.lost, report.duplicated, report.untyped):
        for line in what:
            print("  " + line)
    return 1 if report.lost or report.duplicated or report.untyped else 0


if __name__ == "__main__":
    sys.exit(main())
