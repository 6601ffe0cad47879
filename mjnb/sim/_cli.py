"""``python -m mjnb.sim`` (and ``mjnb sim``): serve the simulator in the foreground until Ctrl-C or SIGTERM.

Options (every one also a ``SimConfig`` field of the same name with ``_`` for ``-``):

  --host ADDR                 address to bind (default 127.0.0.1)
  --port N                    port, 0..65535 (default 0: any free port; the URLs are printed)
  --api-key KEY               accept only this key (default: any non-empty key). Prefer the
                              environment variable MJNB_SIM_API_KEY: a flag shows in the process list
  --admin-key KEY             access token of new-api's administrator listing (/newapi/api/mj/);
                              environment: MJNB_SIM_ADMIN_KEY
  --duration SECONDS          time from submit to a final state, 0..3600 (default 3)
  --seed N                    base seed of the generated pictures (default 0)
  --strict-fetch              fail, as the service does, on image URLs the simulator cannot fetch
  --allow-insecure-callbacks  allow callbacks to http:// and private addresses (EvoLink/AceData refuse them)
  --newapi-legacy-listing     answer /newapi/api/mj/self as new-api did before 2025-04
  --proxy-core-size N         midjourney-proxy jobs running at once (default 3, as the proxy's account)
  --proxy-queue-size N        midjourney-proxy jobs waiting (default 10); beyond both a submit gets code 23
  --max-body-bytes N          largest request body in bytes, >= 1024 (default 31457280 = 30 MiB); 413 beyond
  --body-timeout SECONDS      time allowed to receive a request body (default 30); 408 after
  --header-timeout SECONDS    time allowed to receive a request head (default 10); the connection is closed after

A flag wins over its environment variable. Exit status: 0 after a clean stop, 2 on a bad option.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from ._app import DIALECTS
from ._config import SimConfig
from ._server import Simulator

API_KEY_ENV = "MJNB_SIM_API_KEY"
ADMIN_KEY_ENV = "MJNB_SIM_ADMIN_KEY"
_DEFAULTS = SimConfig()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mjnb.sim", description="Serve the Midjourney-style API simulator.")
    add = parser.add_argument
    add("--host", default=_DEFAULTS.host, help="address to bind (default 127.0.0.1)")
    add("--port", type=int, default=0, help="port (default 0: any free port)")
    add(
        "--api-key",
        default=None,
        help=f"accept only this key (default: ${API_KEY_ENV}, else any non-empty key); prefer the variable",
    )
    add("--admin-key", default=None, help=f"access token of the new-api admin listing (default: ${ADMIN_KEY_ENV})")
    add("--duration", type=float, default=_DEFAULTS.duration, help="seconds from submit to a final state (default 3)")
    add("--seed", type=int, default=_DEFAULTS.seed, help="base seed of the generated pictures")
    add("--strict-fetch", action="store_true", help="fail on image URLs the simulator cannot fetch")
    add(
        "--allow-insecure-callbacks",
        action="store_true",
        help="allow callbacks to http:// and private addresses (EvoLink/AceData rules)",
    )
    add(
        "--newapi-legacy-listing",
        action="store_true",
        help="answer /newapi/api/mj/self as new-api did before 2025-04 (plain array, 0-based pages)",
    )
    add(
        "--proxy-core-size",
        type=int,
        default=_DEFAULTS.proxy_core_size,
        help="midjourney-proxy jobs running at once (default 3)",
    )
    add(
        "--proxy-queue-size",
        type=int,
        default=_DEFAULTS.proxy_queue_size,
        help="midjourney-proxy jobs waiting for a slot (default 10)",
    )
    add(
        "--max-body-bytes",
        type=int,
        default=_DEFAULTS.max_body_bytes,
        help="largest request body in bytes (default 30 MiB); larger ones get 413",
    )
    add(
        "--body-timeout",
        type=float,
        default=_DEFAULTS.body_timeout,
        help="seconds to receive a request body (default 30); slower ones get 408",
    )
    add(
        "--header-timeout",
        type=float,
        default=_DEFAULTS.header_timeout,
        help="seconds to receive a request head (default 10); slower connections are closed",
    )
    return parser


def config_from_args(argv: list[str] | None = None) -> SimConfig:
    """The ``SimConfig`` that ``argv`` (default ``sys.argv[1:]``) and the environment describe.

    Raises:
        SystemExit: status 2 with argparse's usage message for an unknown option or a bad value.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return SimConfig(
            host=args.host,
            port=args.port,
            api_key=args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None,
            admin_key=args.admin_key if args.admin_key is not None else os.environ.get(ADMIN_KEY_ENV) or None,
            duration=args.duration,
            seed=args.seed,
            strict_fetch=args.strict_fetch,
            allow_insecure_callbacks=args.allow_insecure_callbacks,
            newapi_legacy_listing=args.newapi_legacy_listing,
            proxy_core_size=args.proxy_core_size,
            proxy_queue_size=args.proxy_queue_size,
            max_body_bytes=args.max_body_bytes,
            body_timeout=args.body_timeout,
            header_timeout=args.header_timeout,
        )
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """Serve the simulator until Ctrl-C, SIGTERM or ``stop`` is set; the options are in this module's docstring.

    Args:
        argv: the options, without the program name (default ``sys.argv[1:]``).
        stop: an event that ends serving when set (for tests and embedding).

    Returns:
        0 after a clean stop.

    Raises:
        SystemExit: status 2 for an unknown option or a bad value (argparse's message names it).
    """
    config = config_from_args(argv)
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
