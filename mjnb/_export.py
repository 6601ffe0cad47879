"""Export results as a dataset folder: PNGs with their prompt in text chunks, plus ``metadata.jsonl``.

The layout is the one the ``datasets`` library's ``imagefolder`` loader reads as it is::

    folder/
      metadata.jsonl        one JSON object per image, ``file_name`` first, then mjnb.to_pandas' columns
      <task id>.png         or <task id>-1.png … -4.png with split=True

Exporting again into the same folder adds only the images not there yet (nothing is downloaded
twice).  ``mjnb export`` does the same from the command line (:func:`export_main`).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ._errors import MjnbError, ValidationError
from ._models import Page, Task
from ._records import records, to_dataframe
from ._sweep import _adrive, _Call, _drive, _Steps

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["export", "aexport", "to_pandas", "export_main", "Exported", "METADATA"]

METADATA = "metadata.jsonl"


@dataclass
class Exported:
    """What an export wrote: ``written`` file names, ``already`` there, ``skipped`` (task id, why)."""

    folder: Path
    written: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"Exported(folder={str(self.folder)!r}, written={len(self.written)}, already={len(self.already)}, "
            f"skipped={len(self.skipped)})"
        )


def _pairs(tasks_or_sweep: Any) -> tuple[list[tuple[Task, Any]], Any]:
    """(task, sweep cell or None) pairs and the sweep's client, from a Sweep, a Page or tasks."""
    if hasattr(tasks_or_sweep, "cells") and hasattr(tasks_or_sweep, "client"):
        return [(c.task, c) for c in tasks_or_sweep.cells if c.task is not None], tasks_or_sweep.client
    items = tasks_or_sweep.items if isinstance(tasks_or_sweep, Page) else tasks_or_sweep
    if isinstance(items, Task):
        items = [items]
    if not isinstance(items, Iterable) or isinstance(items, (str, bytes)):
        raise ValidationError("tasks_or_sweep: give a Sweep, a Page or a list of Task", field="tasks_or_sweep")
    found = list(items)
    for item in found:
        if not isinstance(item, Task):
            raise ValidationError(f"tasks_or_sweep: {type(item).__name__} is not a Task", field="tasks_or_sweep")
    return [(t, None) for t in found], None


def _safe(task_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", task_id).lstrip(".") or "task"


def _file_names(task: Task, split: bool) -> list[str]:
    stem = _safe(task.id)
    return [f"{stem}-{i}.png" for i in range(1, 5)] if split else [f"{stem}.png"]


def _read_done(folder: Path) -> set[str]:
    path = folder / METADATA
    if not path.exists():
        return set()
    done = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                done.add(json.loads(line)["file_name"])
            except (ValueError, KeyError) as exc:
                raise ValidationError(
                    f"folder: {path} line {number} is not an mjnb metadata row ({exc})", field="folder"
                ) from exc
    return done


def _export_steps(
    pairs: list[tuple[Task, Any]], folder: Path, split: bool, journal: Journal | None, progress: bool
) -> _Steps:
    from tqdm.auto import tqdm

    from . import images

    folder.mkdir(parents=True, exist_ok=True)
    done = _read_done(folder)
    result = Exported(folder)
    rows = records(pairs, journal=journal)
    with (folder / METADATA).open("a", encoding="utf-8") as out:
        for (task, _), row in tqdm(list(zip(pairs, rows)), desc="export", unit="task", disable=not progress):
            names = _file_names(task, split)
            if all(n in done and (folder / n).exists() for n in names):
                result.already += names
                continue
            if not task.succeeded or (task.image_url is None and not task.image_urls):
                result.skipped.append((task.id, task.fail_reason or f"no image (status {task.status.value})"))
                continue
            try:
                got = yield _Call("download", (task,), {"split": split})
            except MjnbError as exc:  # one lost image does not stop the export; it is reported
                result.skipped.append((task.id, f"{type(exc).__name__}: {exc}"))
                continue
            pictures = got if isinstance(got, list) else [got]
            for index, (name, picture) in enumerate(zip(names, pictures), 1):
                if name in done and (folder / name).exists():
                    result.already.append(name)
                    continue
                text = {
                    "prompt": row["prompt"] or "",
                    "task_id": task.id,
                    "dialect": task.dialect,
                    "parameters": {k[6:]: v for k, v in row.items() if k.startswith("param_")},
                }
                (folder / name).write_bytes(images.to_png(picture, metadata=text))
                line = {"file_name": name, "image_index": index if split else None, **row}
                out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
                out.flush()  # a kill mid-export keeps every row of an image already written
                result.written.append(name)
    return result


def _client_for(client: Any, sweep_client: Any) -> Any:
    chosen = client if client is not None else sweep_client
    if chosen is None:
        from ._client import Client

        chosen = Client()
    return chosen


def export(
    tasks_or_sweep: Any, folder: str | Path, *, split: bool = False, client: Any = None, progress: bool = True
) -> Exported:
    """Write the images of ``tasks_or_sweep`` and a ``metadata.jsonl`` into ``folder``.

    Args:
        tasks_or_sweep: a Sweep, a Page (``client.tasks()``) or a list of Task; only succeeded
            tasks with an image are written, the others are listed in ``skipped``.
        folder: the dataset folder (created if missing); exporting again adds only what is new.
        split: write the four images of a 2×2 grid separately (``<id>-1.png`` … ``-4.png``).
        client: the Client to download with (default: the sweep's, else ``mjnb.Client()``);
            with an AsyncClient use ``await mjnb.aexport(...)``.
        progress: show a ``tqdm.auto`` progress bar.

    Returns:
        Exported: the file names ``written``, ``already`` there, and ``skipped`` (task id, why).

    Raises:
        ValidationError: bad input, an AsyncClient, or a ``metadata.jsonl`` that is not mjnb's.

    The folder loads with ``datasets.load_dataset("imagefolder", data_dir=folder)`` and
    ``pandas.read_json(folder / "metadata.jsonl", lines=True)``; each PNG carries ``prompt``,
    ``parameters`` and ``task_id`` text chunks (``mjnb.images.read_png_metadata``).
    """
    pairs, sweep_client = _pairs(tasks_or_sweep)
    chosen = _client_for(client, sweep_client)
    if type(chosen).__name__ == "AsyncClient":
        raise ValidationError(
            "client: export() downloads with a Client; with an AsyncClient use await mjnb.aexport(...)", field="client"
        )
    done: Exported = _drive(_export_steps(pairs, Path(folder), split, chosen.journal, progress), chosen)
    return done


async def aexport(
    tasks_or_sweep: Any, folder: str | Path, *, split: bool = False, client: Any = None, progress: bool = True
) -> Exported:
    """As :func:`export`, downloading with an AsyncClient (the AsyncSweep's by default)."""
    pairs, sweep_client = _pairs(tasks_or_sweep)
    chosen = client if client is not None else sweep_client
    if chosen is None or type(chosen).__name__ != "AsyncClient":
        raise ValidationError("client: aexport() needs an AsyncClient (or an AsyncSweep)", field="client")
    done: Exported = await _adrive(_export_steps(pairs, Path(folder), split, chosen.journal, progress), chosen)
    return done


def to_pandas(tasks: Any, *, client: Any = None) -> Any:
    """Tasks (or a Sweep, or a Page) as a ``pandas.DataFrame``, one row per task.

    The columns are those of ``Sweep.to_pandas()`` and of ``metadata.jsonl``: ids, status, prompt,
    final prompt, one ``param_<name>`` column per parameter, dialect, service, kind, parent and root
    ids, sweep key, repeat and ``axis_<name>`` values (from the journal's tags), seed, size, cost,
    timestamps.  ``client`` gives the journal to read (default: the sweep's, else ``MJNB_HOME``'s).

    Raises:
        ImportError: pandas is not installed (it is optional).
    """
    pairs, sweep_client = _pairs(tasks)
    chosen = client if client is not None else sweep_client
    journal = chosen.journal if chosen is not None else _home_journal()
    return to_dataframe(records(pairs, journal=journal))


def _home_journal() -> Journal | None:
    from ._config import mjnb_home
    from ._journal import Journal

    path = mjnb_home() / "journal.sqlite"
    return Journal(path) if path.exists() else None


def export_main(argv: Sequence[str] | None = None) -> int:
    """``mjnb export FOLDER [--split] [--text T] [--since S] [--limit N]``: export journaled tasks.

    Exports the succeeded tasks of this machine's journal for the configured service
    (``MJNB_DIALECT``/``MJNB_BASE_URL``/``MJNB_API_KEY``), refreshed from the server.

    Returns:
        The exit status (0 when everything asked for was written or already there).
    """
    parser = argparse.ArgumentParser(prog="mjnb export", description=export_main.__doc__)
    parser.add_argument("folder")
    parser.add_argument("--split", action="store_true", help="write the four images of a grid separately")
    parser.add_argument("--text", help="only prompts containing this text")
    parser.add_argument("--since", type=float, help="only submits after this unix time")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many tasks (newest first)")
    parser.add_argument("--dialect", help="the wire dialect (default: MJNB_DIALECT)")
    args = parser.parse_args(argv)
    from ._client import Client

    with Client(args.dialect) as client:
        if client.journal is None:
            raise ValidationError("journal: no journal to export from", field="journal")
        entries = client.journal.entries(
            args.limit,
            text=args.text,
            dialect=client.dialect,
            base_url=client.base_url,
            since=args.since,
            states=["accepted"],
        )
        tasks = [client.get(e.task_id) for e in entries if e.task_id and e.status == "succeeded"]
        done = export(tasks, args.folder, split=args.split, client=client)
    print(
        f"{len(done.written)} written, {len(done.already)} already there, {len(done.skipped)} skipped"
        f" -> {done.folder / METADATA}"
    )
    for task_id, why in done.skipped:
        print(f"  skipped {task_id}: {why}")
    return 1 if done.skipped else 0
