"""Issue 14's recovery experiment, printed: 13 jobs killed mid-wait and mid-submit, recovered by a new process.

    .venv/bin/python bench/recovery.py [--duration 4]

A child process submits 9 imagines over the four dialects and waits for them; 4 more submits (one
per dialect) reach the simulator, which creates their jobs and holds the answers; the child is
killed (SIGKILL). This process then runs ``client.resume()`` and ``client.reconcile()`` per dialect
against the same journal, waits for what they return and compares with the jobs the simulator
holds. The experiment is ``tests/_recovery.py`` (``tests/test_recovery.py`` asserts its outcome).
Target: ≥ 12 of 13 recovered, the rest reported, none silently lost, nothing resent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _recovery  # noqa: E402  (tests/_recovery.py)

from mjnb.sim import Simulator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per simulated job (default 4)")
    args = parser.parse_args()
    with Simulator(duration=args.duration) as sim:
        outcome = _recovery.run(sim, Path(tempfile.mkdtemp(prefix="mjnb-recovery-")))
    print(_recovery.describe(outcome))
    met = outcome.total_recovered >= 12 and not sum(outcome.lost.values()) and not outcome.resent
    print(f"target >= 12 of 13 recovered, none lost, none resent: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
