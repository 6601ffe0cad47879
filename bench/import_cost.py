"""What ``import mjnb`` costs next to ``import httpx``, each in a fresh interpreter (issue 10; prints only).

    .venv/bin/python bench/import_cost.py [--runs 15] [--top 12]

Runs ``--runs`` fresh interpreters per module, alternating mjnb and httpx so the shared machine's
load hits both alike, and prints the median wall time of the import statement alone (interpreter
start-up excluded) and its ratio. Then, from one ``python -X importtime -c "import mjnb"``: the
heavy third-party packages that ``import mjnb`` loads and the slowest top-level imports
(cumulative µs), which say where the time goes. Target: ≤ 1.2× httpx.

Bytecode is cached, as after ``pip install`` (pip compiles every module to ``.pyc``; httpx's are
cached in site-packages): the interpreters run with ``PYTHONPYCACHEPREFIX`` set to a temporary
folder (so the repository gets no ``__pycache__``) and without ``PYTHONDONTWRITEBYTECODE``, which
some machines set (this one does) and which makes every import of a source checkout compile it
again (~60 ms for mjnb). One unmeasured import of each fills the cache first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMED = (
    "import time; s, c = time.perf_counter(), time.process_time(); import {0}; "
    "print(time.perf_counter() - s, time.process_time() - c)"
)
HEAVY = (
    "numpy",
    "PIL",
    "ipywidgets",
    "ipycanvas",
    "traitlets",
    "IPython",
    "sqlite3",
    "httpx",
    "anyio",
    "uvicorn",
    "starlette",
    "tqdm",
    "pandas",
)
TARGET = 1.2
#: Bytecode cached as after an install (see the module docstring).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="mjnb-pycache-")


def _once(module: str) -> tuple[float, float]:
    """(wall, CPU) seconds of ``import module`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", TIMED.format(module)], capture_output=True, text=True, cwd=ROOT, check=True, env=ENV
    )
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def _loaded() -> list[str]:
    probe = f"import sys, mjnb; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True, env=ENV)
    return out.stdout.split()


def _slowest(top: int) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the slowest imports, from ``-X importtime`` (its lines go to stderr)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import mjnb"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env=ENV,
    )
    rows: list[tuple[int, str]] = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        name = name.rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 2:  # mjnb's own modules and what they import directly
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per module (default 15)")
    parser.add_argument("--top", type=int, default=12, help="slowest imports to list (default 12)")
    args = parser.parse_args()
    load = os.getloadavg()
    times: dict[str, list[tuple[float, float]]] = {"mjnb": [], "httpx": []}
    for module in times:
        _once(module)  # fills the bytecode cache
    for _ in range(args.runs):
        for module in times:
            times[module].append(_once(module))
    print(
        f"median of {args.runs} fresh interpreters each (load average {load[0]:.1f} on {os.cpu_count()} cores); "
        "CPU = process time of the import, which the machine's load inflates less than wall time; "
        "bytecode cached as after pip install"
    )
    medians = {m: [statistics.median(x[i] * 1000 for x in t) for i in (0, 1)] for m, t in times.items()}
    for module in ("httpx", "mjnb"):
        wall, cpu = medians[module]
        ratios = (
            f"  {wall / medians['httpx'][0]:.2f}x wall, {cpu / medians['httpx'][1]:.2f}x CPU"
            if module == "mjnb"
            else ""
        )
        verdict = f"  ({'met' if wall / medians['httpx'][0] <= TARGET else 'MISSED'} <= {TARGET}x)" if ratios else ""
        print(
            f"  import {module:5} {wall:7.1f} ms wall (min {min(x[0] for x in times[module]) * 1000:6.1f}), "
            f"CPU {cpu:6.1f} ms{ratios}{verdict}"
        )
    print(f"  loaded by import mjnb: {', '.join(_loaded()) or 'none of ' + ', '.join(HEAVY)}")
    print("  slowest imports under mjnb (cumulative, one run with -X importtime):")
    for micros, name in _slowest(args.top):
        print(f"    {micros / 1000:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
