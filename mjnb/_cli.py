"""The ``mjnb`` command: ``mjnb sim``, ``mjnb imagine``, ``mjnb edit``, ``mjnb tasks``, ``mjnb export``.

The key comes from ``MJNB_API_KEY`` only: a key given as a flag lands in shell history and ``ps``.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ._errors import AuthenticationError, MjnbError, SubmitUncertain, UnsupportedOperation, ValidationError

if TYPE_CHECKING:
    from ._client import Client
    from ._models import Task

__all__ = ["main"]

_EMBEDDED_NOTE = (
    "note: no MJNB_API_KEY/MJNB_BASE_URL is set, so this command runs its own embedded simulator, which "
    "stops when the command ends"
)


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dialect", help="mjproxy, newapi, acedata or evolink (default: $MJNB_DIALECT or mjproxy)")
    p.add_argument("--base-url", help="the service's base URL (default: $MJNB_BASE_URL, else the embedded simulator)")


def _offered(op: str) -> str:
    from .dialects import offered_by

    return ", ".join(offered_by(op)) or "none"


def _bar(task: Task, position: int) -> Any:
    from tqdm import tqdm

    label = (task.prompt or task.id)[:40]
    return tqdm(
        total=100,
        desc=label,
        position=position,
        leave=True,
        unit="%",
        file=sys.stderr,
        bar_format="{desc:<40} {bar} {n_fmt:>3}% {postfix}",
    )


def _follow(client: Client, tasks: list[Task]) -> list[Task]:
    """Wait for every task with one terminal progress bar per job (tqdm); failures are returned."""
    bars = [_bar(t, i) for i, t in enumerate(tasks)]

    def one(i: int) -> Task:
        def show(t: Task) -> None:
            if t.progress is not None and t.progress > bars[i].n:
                bars[i].update(t.progress - bars[i].n)
            bars[i].set_postfix_str(t.status.value, refresh=True)

        done = client.wait(tasks[i], on_progress=show, raise_on_failure=False)
        show(done)
        return done

    try:
        with ThreadPoolExecutor(max_workers=min(8, len(tasks))) as pool:
            return list(pool.map(one, range(len(tasks))))
    finally:
        for bar in bars:
            bar.close()


def _save(client: Client, task: Task, out: str | None) -> None:
    from . import images

    picture = client.download(task)
    pictures = picture if isinstance(picture, list) else [picture]
    for i, img in enumerate(pictures):
        path = Path(out or f"mjnb-{task.id}.png")
        if len(pictures) > 1:
            path = path.with_name(f"{path.stem}-{i + 1}{path.suffix}")
        if path.exists():
            raise ValidationError(f"--out: {path} exists; choose another path (mjnb never overwrites)", field="out")
        meta = {"prompt": task.prompt or "", "task_id": task.id, "dialect": task.dialect}
        path.write_bytes(images.to_png(img, metadata=meta))
        print(path)


def _hint(exc: MjnbError) -> str:
    """The error's message, with what to do in command-line terms."""
    text = f"mjnb: {type(exc).__name__}: {exc}"
    if isinstance(exc, AuthenticationError):
        text += "\n  set the key in the environment: export MJNB_API_KEY=… (there is no key flag on purpose)"
    elif isinstance(exc, SubmitUncertain):
        text += f"\n  see it with: mjnb tasks --local   (journal entry {exc.journal_id})"
    elif isinstance(exc, UnsupportedOperation) and "list" in exc.operation:
        text = f"mjnb: this dialect has no server listing; use: mjnb tasks --local ({exc.dialect})"
    return text.replace("api_key=", "MJNB_API_KEY ").replace("tasks(local=True)", "mjnb tasks --local")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mjnb", description="Drive Midjourney-style image APIs. The key comes from $MJNB_API_KEY."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sim", help="serve the simulator of all four dialects on loopback (mjnb sim --help)", add_help=False)

    imagine = sub.add_parser("imagine", help="submit prompts, follow them with progress bars, save the images")
    imagine.add_argument("prompt", nargs="+", help="one or more prompts (each one job, one progress line)")
    imagine.add_argument("--out", help="PNG path for a single prompt (default mjnb-<task id>.png)")
    imagine.add_argument("--no-wait", action="store_true", help="print the task ids and return")
    _client_args(imagine)

    edit = sub.add_parser(
        "edit",
        help="regenerate the white part of a mask on an image",
        description=f"Edit an image: regenerate the white part of MASK guided by PROMPT. Dialects that take an "
        f"image with a mask: {_offered('edit')}. On midjourney-proxy use the notebook's CanvasEditor on a task "
        "(Vary Region).",
    )
    edit.add_argument("image", help="a path or an http(s) URL")
    edit.add_argument("mask", help="a PNG the size of the image: white = regenerate, black = keep")
    edit.add_argument("prompt")
    edit.add_argument("--out")
    _client_args(edit)

    tasks = sub.add_parser("tasks", help="list past tasks (the server's listing, or --local for the journal)")
    tasks.add_argument("--local", action="store_true", help="this machine's journal instead of the server")
    tasks.add_argument("--all-services", action="store_true", help="with --local: every service's rows")
    tasks.add_argument("--page", type=int, default=1)
    tasks.add_argument("--page-size", type=int, default=20)
    _client_args(tasks)

    sub.add_parser("export", help="write images + metadata.jsonl (datasets imagefolder layout)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 an mjnb error, 2 bad usage)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    # The simulator and export parse their own options (forwarded whole, --help included).
    if args_list[:1] == ["sim"]:
        from .sim import main as sim_main

        return int(sim_main(args_list[1:]))
    if args_list[:1] == ["export"]:
        from ._export import export_main

        return int(export_main(args_list[1:]))
    args = _parser().parse_args(args_list)

    from ._client import Client

    try:
        with Client(args.dialect, args.base_url) as client:
            return _run(client, args)
    except MjnbError as exc:
        print(_hint(exc), file=sys.stderr)
        return 1


def _run(client: Client, args: argparse.Namespace) -> int:
    if args.command == "imagine":
        if args.out and len(args.prompt) > 1:
            raise ValidationError("--out: give it with a single prompt only", field="out")
        if client.embedded and args.no_wait:
            print(f"{_EMBEDDED_NOTE}: the ids printed below cannot be fetched later", file=sys.stderr)
        submitted = [client.imagine(p) for p in args.prompt]
        for task in submitted:
            print(task.id)
        if args.no_wait:
            return 0
        status = 0
        for task in _follow(client, submitted):
            if task.succeeded:
                _save(client, task, args.out)
            else:
                print(
                    f"mjnb: task {task.id} {task.status.value}: {task.fail_reason or 'no reason given'}",
                    file=sys.stderr,
                )
                status = 1
        return status
    if args.command == "edit":
        image: Any = args.image if args.image.startswith(("http://", "https://")) else Path(args.image)
        task = _follow(client, [client.edit(image, Path(args.mask), args.prompt)])[0]
        if not task.succeeded:
            print(f"mjnb: task {task.id} {task.status.value}: {task.fail_reason or 'no reason given'}", file=sys.stderr)
            return 1
        _save(client, task, args.out)
        return 0
    if client.embedded and not args.local:
        print(f"{_EMBEDDED_NOTE}, so its listing is empty; use: mjnb tasks --local", file=sys.stderr)
    page = client.tasks(local=args.local, page=args.page, page_size=args.page_size, all_services=args.all_services)
    for t in page.items:
        progress = "" if t.progress is None else f"{t.progress}%"
        print(f"{t.id}\t{t.status.value}\t{progress}\t{t.kind or ''}\t{t.prompt or ''}")
    total = "?" if page.total is None else page.total
    print(f"page {page.page}, {len(page.items)} of {total}", file=sys.stderr)
    return 0
