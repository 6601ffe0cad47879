"""Fuzz every verb of Client and AsyncClient on the four dialects with ≥ 2000 generated inputs.

Prints: inputs tried / untyped crashes / sent-before-refused (and each finding, grouped), for the
README's reliability table.  The inputs and the oracle are those of ``tests/test_fuzz.py``; here a
finding is counted instead of stopping the run.

    .venv/bin/python bench/fuzz.py [--examples 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("MJNB_HOME", tempfile.mkdtemp(prefix="mjnb-fuzz-home-"))

from _fuzz_inputs import cases  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_fuzz import Harness, Outcome, known_bug  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="inputs to try (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    args = parser.parse_args(argv)

    from mjnb.sim import Simulator

    found: list[tuple[str, Outcome]] = []
    kinds: collections.Counter[str] = collections.Counter()
    verbs: collections.Counter[str] = collections.Counter()
    start = time.monotonic()
    with Simulator(duration=0.2) as sim, tempfile.TemporaryDirectory(prefix="mjnb-fuzz-") as home:
        h = Harness(sim, Path(home))
        try:

            @seed(args.seed)
            @settings(max_examples=args.examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(data=st.data())
            def run(data: st.DataObject) -> None:
                case = data.draw(cases(h))
                outcome = h.call(case)
                kinds[outcome.kind] += 1
                verbs[f"{case.dialect}.{case.verb}"] += 1
                if outcome.kind in ("crash", "sent"):
                    found.append((repr(case), outcome))
                    if known_bug(case, outcome):
                        kinds[f"known {outcome.kind}"] += 1

            run()
        finally:
            h.close()
    tried = sum(kinds.values())
    print(
        f"inputs tried: {tried} ({len(verbs)} dialect.verb pairs, {kinds['ok']} accepted, "
        f"{kinds['refused']} refused) in {time.monotonic() - start:.0f} s"
    )
    print(f"untyped crashes: {kinds['crash']} ({kinds['known crash']} of a kind an xfail test documents)")
    print(f"sent before refused: {kinds['sent']} ({kinds['known sent']} of a kind an xfail test documents)")
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for case, outcome in found:
        groups[f"{outcome.kind}: {outcome.detail[:140]}"].append(case)
    for what, where in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"\n[{len(where)}x] {what}\n    e.g. {where[0][:400]}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
