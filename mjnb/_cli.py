"""The ``mjnb`` command: ``mjnb sim``, ``mjnb imagine``, ``mjnb edit``, ``mjnb tasks``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ._errors import MjnbError

__all__ = ["main"]


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dialect", help="mjproxy, newapi, acedata or evolink (default: $MJNB_DIALECT or mjproxy)")
    p.add_argument("--base-url", help="the service's base URL (default: $MJNB_BASE_URL, else the embedded simulator)")
    # No --api-key flag: a key on the command line lands in shell history and `ps`. Use $MJNB_API_KEY.


def _progress(task) -> None:
    shown = "…" if task.progress is None else f"{task.progress}%"
    print(f"  {task.status.value:<15} {shown}", file=sys.stderr)


def _save(client, task, out: str | None) -> None:
    from . import images

    picture = client.download(task)
    pictures = picture if isinstance(picture, list) else [picture]
    for i, img in enumerate(pictures):
        path = Path(out or f"mjnb-{task.id}.png")
        if len(pictures) > 1:
            path = path.with_name(f"{path.stem}-{i + 1}{path.suffix}")
        path.write_bytes(images.to_png(img, metadata={"prompt": task.prompt or "", "task_id": task.id, "dialect": task.dialect}))
        print(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mjnb", description="Drive Midjourney-style image APIs.")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("sim", help="serve the simulator of all four dialects on loopback")
    sim.add_argument("rest", nargs=argparse.REMAINDER, help="options of python -m mjnb.sim (--port, --duration …)")

    imagine = sub.add_parser("imagine", help="submit a prompt, wait, save the image")
    imagine.add_argument("prompt")
    imagine.add_argument("--out", help="PNG path (default mjnb-<task id>.png)")
    imagine.add_argument("--no-wait", action="store_true", help="print the task id and return")
    _client_args(imagine)

    edit = sub.add_parser("edit", help="regenerate the white part of a mask on an image")
    edit.add_argument("image")
    edit.add_argument("mask")
    edit.add_argument("prompt")
    edit.add_argument("--out")
    _client_args(edit)

    tasks = sub.add_parser("tasks", help="list past tasks (the server's listing, or --local for the journal)")
    tasks.add_argument("--local", action="store_true")
    tasks.add_argument("--page", type=int, default=1)
    tasks.add_argument("--page-size", type=int, default=20)
    _client_args(tasks)

    args = parser.parse_args(argv)
    if args.command == "sim":
        from .sim._cli import main as sim_main

        return sim_main(args.rest)

    from ._client import Client

    try:
        with Client(args.dialect, args.base_url) as client:
            if args.command == "imagine":
                task = client.imagine(args.prompt)
                print(task.id)
                if not args.no_wait:
                    task = client.wait(task, on_progress=_progress)
                    _save(client, task, args.out)
            elif args.command == "edit":
                task = client.wait(client.edit(Path(args.image), Path(args.mask), args.prompt), on_progress=_progress)
                _save(client, task, args.out)
            else:
                page = client.tasks(local=args.local, page=args.page, page_size=args.page_size)
                for t in page.items:
                    progress = "" if t.progress is None else f"{t.progress}%"
                    print(f"{t.id}\t{t.status.value}\t{progress}\t{t.kind or ''}\t{t.prompt or ''}")
                total = "?" if page.total is None else page.total
                print(f"page {page.page}, {len(page.items)} of {total}", file=sys.stderr)
    except MjnbError as exc:
        print(f"mjnb: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
