"""A simulator in its own process, for benches that must keep its CPU out of the client's figures.

    proc = SimProcess(duration=20, proxy_size=120).start()
    proc.base_url                           # the simulator
    proc.count("/mjproxy/", method="POST")  # requests the simulator received (its own request log)
    proc.evolink_finished()                 # {task id: unix seconds} when an EvoLink task ended
    proc.evolink_created()                  # {task id: unix seconds} when its submit was accepted
    proc.stop()

The child runs ``python bench/_simhost.py`` (this file): a :class:`mjnb.sim.Simulator` that
answers one JSON command per stdin line; closing stdin stops it. EvoLink's tasks carry no finish
time, so the child notes when each one's status turns final on the server (a bench-only hook on
the simulator's task class; the other dialects publish ``finishTime`` / ``finished_at``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_FINAL = ("completed", "failed")


class SimProcess:
    """The parent's handle on a simulator child process (see the module docstring)."""

    def __init__(self, *, duration: float, proxy_size: int, cpus: set[int] | None = None) -> None:
        """``cpus``: the cores the simulator (and its render workers) may use; None: any."""
        self.duration = duration
        self.proxy_size = proxy_size
        self.cpus = cpus
        self.base_url = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> SimProcess:
        """Start the child and return once it serves (reads its first line: the URLs)."""
        self._proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                str(self.duration),
                str(self.proxy_size),
                ",".join(map(str, sorted(self.cpus))) if self.cpus else "-",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.base_url = self._answer()["base"]
        return self

    def _answer(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator process ended (status {self._proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _ask(self, **command: Any) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()
        return self._answer()

    def count(self, prefix: str, method: str | None = None) -> int:
        """Requests received whose path starts with ``prefix`` (and whose method is ``method``)."""
        return int(self._ask(op="count", prefix=prefix, method=method)["n"])

    def evolink_finished(self) -> dict[str, float]:
        """When each EvoLink task became completed or failed on the server (unix seconds), by task id."""
        return {str(k): float(v) for k, v in self._ask(op="finished")["finished"].items()}

    def evolink_created(self) -> dict[str, float]:
        """When the server accepted each EvoLink submit (unix seconds; its ``created`` is whole seconds)."""
        return {str(k): float(v) for k, v in self._ask(op="created")["created"].items()}

    def cpu_seconds(self) -> float:
        """CPU seconds of the simulator process and its render workers so far."""
        return float(self._ask(op="cpu")["cpu"])

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _note_evolink_finishes(finished: dict[str, float], created: dict[str, float]) -> None:
    from mjnb.sim import _evolink_jobs

    plain = _evolink_jobs.EvoTask.__setattr__

    def noting(task: Any, name: str, value: Any) -> None:
        plain(task, name, value)
        if name == "status" and value in _FINAL:
            finished.setdefault(task.id, time.time())
        elif name == "status" and value == "pending":  # set by the task's __init__, when the submit is accepted
            created.setdefault(task.id, time.time())

    _evolink_jobs.EvoTask.__setattr__ = noting  # type: ignore[method-assign]


def _cpu(pid: int) -> float:
    import psutil  # type: ignore[import-untyped]  # (installed with ipykernel)

    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass  # a render worker that ended meanwhile
    return float(total)


def _serve(duration: float, proxy_size: int, cpus: str = "-") -> None:
    if cpus != "-":  # before the render workers start: they inherit it
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    sys.path.insert(0, str(ROOT))
    from mjnb.sim import Simulator

    finished: dict[str, float] = {}
    created: dict[str, float] = {}
    _note_evolink_finishes(finished, created)
    sim = Simulator(duration=duration, proxy_core_size=proxy_size, proxy_queue_size=proxy_size).start()
    try:
        out = sys.stdout
        out.write(json.dumps({"base": sim.base_url}) + "\n")
        out.flush()
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "count":
                answer: dict[str, Any] = {"n": sim.state.requests.count(command["prefix"], method=command["method"])}
            elif command["op"] == "finished":
                answer = {"finished": dict(finished)}
            elif command["op"] == "created":
                answer = {"created": dict(created)}
            elif command["op"] == "cpu":
                answer = {"cpu": _cpu(os.getpid())}
            else:
                answer = {"error": f"unknown op {command['op']!r}"}
            out.write(json.dumps(answer) + "\n")
            out.flush()
    finally:
        sim.stop()


if __name__ == "__main__":
    _serve(float(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:4])
