"""``python -m mjnb.sim``: serve the simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading

from ._app import DIALECTS
from ._config import SimConfig
from ._server import Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mjnb.sim", description="Serve the Midjourney-style API simulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any non-empty key)")
    parser.add_argument("--admin-key", default=None, help="access token of the new-api admin listing")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds from submit to a final state (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the generated pictures")
    parser.add_argument("--strict-fetch", action="store_true", help="fail on image URLs the simulator cannot fetch")
    parser.add_argument("--allow-insecure-callbacks", action="store_true",
                        help="allow callbacks to http:// and private addresses (EvoLink/AceData rules)")
    parser.add_argument("--newapi-legacy-listing", action="store_true",
                        help="answer /newapi/api/mj/self as new-api did before 2025-04 (plain array, 0-based pages)")
    return parser


def main(argv: list[str] | None = None, *, stop: threading.Event | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = SimConfig(
            host=args.host, port=args.port, api_key=args.api_key, admin_key=args.admin_key,
            duration=args.duration, seed=args.seed, strict_fetch=args.strict_fetch,
            allow_insecure_callbacks=args.allow_insecure_callbacks, newapi_legacy_listing=args.newapi_legacy_listing,
        )
    except ValueError as exc:
        _parser().error(str(exc))
    sim = Simulator(config).start()
    print(f"mjnb simulator on {sim.base_url} (Ctrl-C to stop)", flush=True)
    for dialect in DIALECTS:
        print(f"  {dialect:8} {sim.url(dialect)}", flush=True)
    print(f"  api key: {'fixed (not shown)' if config.api_key else 'any non-empty key'}", flush=True)
    done = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: done.set())  # stop cleanly under process managers too
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        sim.stop()
    return 0
