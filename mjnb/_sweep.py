"""Sweeps: one prompt across permutations, parameter values and repeats, resumable from the journal.

``client.sweep("a {red, blue} kite", grid={"stylize": [50, 500]}, repeat=2)`` plans 2 × 2 × 2 cells,
validates every one, checks ``max_jobs`` and ``budget``, then submits each cell with ``client.imagine``
(tags ``{"sweep": key, "cell": axes, "repeat": n}``).  A cell whose submit the journal already holds
is reattached with ``client.get`` instead: running the same sweep again, or after a kernel restart,
pays nothing.  Built on the client's public verbs and the journal only (DESIGN.md, experiments).

The I/O of a sweep (get, imagine, download) is written once as generators of :class:`_Call` steps;
:class:`Sweep` performs them with a :class:`~mjnb.Client` and :class:`AsyncSweep` awaits them on an
:class:`~mjnb.AsyncClient`, as the clients themselves do with their flows.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Generator, Iterator, Mapping, Sequence

from ._errors import MjnbError, SubmitUncertain, ValidationError
from ._flows import fingerprint
from ._models import Task
from ._permute import axis_values, count_permutations, expand_permutations
from ._prompt import PARAMS, build_prompt, parse_prompt, validate_prompt
from ._records import records, to_dataframe

if TYPE_CHECKING:
    from PIL import Image

    from ._journal import Journal, JournalEntry

__all__ = ["Sweep", "AsyncSweep", "SweepCell", "plan_sweep"]

#: imagine's own keyword arguments that a sweep passes through (the rest are wire options).
_NAMED = ("images", "bot", "mode", "callback_url")
_LONG_NAMES = {alias: p.name for p in PARAMS.values() for alias in (p.name, *p.aliases)}


@dataclass
class SweepCell:
    """One job of a sweep.

    ``axes`` are the values of this cell on each axis (permutation groups, then grid parameters);
    ``prompt`` is the final prompt sent; ``repeat`` is 1-based; ``task`` is the job once submitted
    or reattached, ``error`` the reason it has none (or could not be followed).
    """

    axes: dict[str, str]
    prompt: str
    options: dict[str, Any]
    repeat: int = 1
    task: Task | None = None
    error: MjnbError | None = None
    #: True when the task came from the journal (an earlier run), not from a new submit.
    reattached: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def status(self) -> str:
        """``"planned"``, ``"error"``, or the task's status value (``"succeeded"`` …)."""
        if self.task is not None:
            return self.task.status.value
        return "error" if self.error is not None else "planned"

    @property
    def reason(self) -> str | None:
        """Why this cell has no image: the error, or the task's fail reason; None when all is well."""
        if self.error is not None:
            banned = getattr(self.error, "banned_word", None)
            return f"{type(self.error).__name__}: {self.error}" + (f" (banned word: {banned})" if banned else "")
        if self.task is not None and self.task.done and not self.task.succeeded:
            return self.task.fail_reason or f"task {self.task.status.value}"
        return None

    @property
    def label(self) -> str:
        """``"stylize=50, chaos=0 #2"``: the axis values and repeat, for headers and messages."""
        text = ", ".join(f"{k}={v}" for k, v in self.axes.items()) or self.prompt
        return f"{text} #{self.repeat}"


@dataclass(frozen=True)
class _Call:
    """One client verb to perform: ``getattr(client, verb)(*args, **kwargs)``."""

    verb: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


_Steps = Generator[_Call, Any, Any]


def sweep_key(prompt: str, grid: Mapping[str, Sequence[Any]], options: Mapping[str, Any]) -> str:
    """A stable 16-hex key of the template, the grid and the options (not ``repeat``: more repeats
    of the same sweep reuse the first ones)."""
    payload = {"prompt": prompt, "grid": [[k, [str(v) for v in vs]] for k, vs in grid.items()], "options": options}
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _grid_axes(grid: Mapping[str, Sequence[Any]] | None) -> dict[str, tuple[str, list[Any]]]:
    """``{long name: (canonical parameter, values)}``, refusing unknown parameters and empty axes."""
    if grid is None:
        return {}
    if not isinstance(grid, Mapping):
        raise ValidationError("grid: must be a dict of parameter name -> list of values", field="grid")
    axes: dict[str, tuple[str, list[Any]]] = {}
    for name, values in grid.items():
        canonical = _LONG_NAMES.get(str(name).lower().lstrip("-"))
        if canonical is None:
            allowed = ", ".join(sorted({a for a in _LONG_NAMES if len(a) > 2} | set(PARAMS)))
            raise ValidationError(f"grid: unknown parameter {name!r}; allowed: {allowed}", field=f"grid.{name}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValidationError(f"grid.{name}: must be a non-empty list of values", field=f"grid.{name}")
        axes[str(name)] = (canonical, list(values))
    return axes


def _with_params(prompt: str, settings: Sequence[tuple[str, Any]]) -> str:
    """``prompt`` with each (canonical parameter, value) set; ``True`` sets a flag, ``False`` drops it."""
    parsed = parse_prompt(prompt)
    params = dict(parsed.params)
    for canonical, value in settings:
        params[canonical] = value if isinstance(value, bool) else str(value)
    return build_prompt(parsed.text, params, parsed.image_urls)


def plan_sweep(
    prompt: str,
    *,
    dialect: str,
    service: str,
    grid: Mapping[str, Sequence[Any]] | None = None,
    repeat: int = 1,
    max_jobs: int = 16,
    options: Mapping[str, Any] | None = None,
) -> tuple[dict[str, list[str]], list[SweepCell], str]:
    """The axes, the validated cells and the sweep key, sending nothing.

    Raises:
        ValidationError: ``repeat < 1``, a bad ``max_jobs``, an unknown grid parameter, an empty
            or unbalanced ``{}``, more cells than ``max_jobs``, or a cell whose prompt is invalid
            (the message names the cell).
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValidationError("prompt: must be a non-empty string", field="prompt")
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
        raise ValidationError(f"repeat: {repeat!r} is not allowed; use a whole number ≥ 1", field="repeat")
    if not isinstance(max_jobs, int) or isinstance(max_jobs, bool) or max_jobs < 1:
        raise ValidationError(f"max_jobs: {max_jobs!r} is not allowed; use a whole number ≥ 1", field="max_jobs")
    options = dict(options or {})
    images = options.get("images", ())
    if isinstance(images, str) or not all(isinstance(i, str) and i.startswith(("http://", "https://")) for i in images):
        raise ValidationError("images: a sweep takes image URLs (http/https) as a list", field="images")
    prompt = prompt.strip()
    grid_axes = _grid_axes(grid)
    total = count_permutations(prompt) * math.prod(len(v) for _, v in grid_axes.values()) * repeat
    if total > max_jobs:
        sizes = [f"{len(v)} {name}" for name, v in axis_values(prompt).items()]
        sizes += [f"{len(v)} {name}" for name, (_, v) in grid_axes.items()]
        shape = " × ".join(sizes + ([f"repeat {repeat}"] if repeat > 1 else [])) or "1"
        raise ValidationError(
            f"sweep: {total} jobs ({shape}) is more than max_jobs={max_jobs}; nothing was sent. "
            f"If you mean it, pass max_jobs={total}.",
            field="max_jobs",
        )
    key = sweep_key(prompt, {k: v for k, (_, v) in grid_axes.items()}, options)
    fp_options = {k: v for k, v in options.items() if k != "callback_url"}
    fp_options = {
        "images": tuple(options.get("images", ())),
        "bot": options.get("bot"),
        "mode": options.get("mode"),
        **{k: v for k, v in fp_options.items() if k not in _NAMED},
    }
    axes: dict[str, list[str]] = dict(axis_values(prompt))
    axes.update({name: [str(v) for v in values] for name, (_, values) in grid_axes.items()})
    cells: list[SweepCell] = []
    grid_names = list(grid_axes)
    for expansion in expand_permutations(prompt):
        for combo in itertools.product(*(values for _, values in grid_axes.values())):
            cell_axes = dict(expansion.axes)
            cell_axes.update({name: str(value) for name, value in zip(grid_names, combo)})
            label = ", ".join(f"{k}={v}" for k, v in cell_axes.items()) or expansion.prompt
            try:
                text = _with_params(expansion.prompt, [(grid_axes[n][0], v) for n, v in zip(grid_names, combo)])
                validate_prompt(text, dialect)
            except ValidationError as exc:
                raise ValidationError(f"sweep cell [{label}]: {exc}", field=exc.field) from exc
            for n in range(1, repeat + 1):
                tags = {"sweep": key, "cell": json.dumps(cell_axes, ensure_ascii=False), "repeat": str(n)}
                fp = fingerprint(service=service, op="imagine", prompt=text, options=fp_options, tags=tags)
                cells.append(SweepCell(cell_axes, text, options, n, tags=tags, fingerprint=fp))
    return axes, cells, key


def _journaled(journal: Journal | None, cell: SweepCell, dialect: str, base_url: str) -> JournalEntry | None:
    if journal is None:
        return None
    return journal.find(cell.fingerprint, dialect, base_url)


def last_known_cost(journal: Journal | None, dialect: str, base_url: str) -> tuple[float, str | None] | None:
    """The cost of the newest imagine on this service whose cost the service reported, or None."""
    if journal is None:
        return None
    for entry in journal.entries(500, dialect=dialect, base_url=base_url):
        if entry.op == "imagine" and entry.cost is not None:
            return float(entry.cost), entry.cost_unit
    return None


class _SweepBase:
    """What a sweep is, with no I/O: cells, axes, the plan, the table and the sheet layout."""

    def __init__(
        self,
        client: Any,
        prompt: str,
        axes: dict[str, list[str]],
        cells: list[SweepCell],
        key: str,
    ) -> None:
        self.client = client
        self.prompt = prompt
        #: Each axis with its values in order: permutation groups first, then the grid's parameters.
        self.axes = axes
        self.cells = cells
        self.key = key
        #: Estimated cost of the cells this run sends (None when no cost is known on this service).
        self.estimated_cost: float | None = None
        self.cost_unit: str | None = None
        self._pending: list[tuple[SweepCell, JournalEntry | None]] = []

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for cell in self.cells:
            counts[cell.status] = counts.get(cell.status, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        return f"{type(self).__name__}({len(self.cells)} cells: {states}; prompt={self.prompt!r})"

    @property
    def tasks(self) -> list[Task]:
        """The tasks of the cells that have one, in cell order."""
        return [cell.task for cell in self.cells if cell.task is not None]

    @property
    def sent(self) -> int:
        """How many cells this run submitted anew."""
        return sum(1 for cell in self.cells if cell.task is not None and not cell.reattached)

    @property
    def reattached(self) -> int:
        """How many cells were found in the journal and reattached instead of being paid again."""
        return sum(1 for cell in self.cells if cell.reattached)

    def _prepare(self, *, force: bool, budget: float | None) -> None:
        """Look each cell up in the journal, then estimate the cost of the rest and check ``budget``."""
        journal = self.client.journal
        dialect, base_url = self.client.dialect, self.client.base_url
        # find() holds accepted rows only: an uncertain submit of a cell must block its resend too.
        doubtful = (
            {}
            if force or journal is None
            else {e.fingerprint: e for e in journal.uncertain(dialect, base_url) if e.fingerprint}
        )
        self._pending = [
            (cell, None if force else doubtful.get(cell.fingerprint) or _journaled(journal, cell, dialect, base_url))
            for cell in self.cells
        ]
        to_send = sum(1 for _, entry in self._pending if entry is None or entry.state == "rejected")
        known = last_known_cost(journal, dialect, base_url)
        if known is not None:
            self.estimated_cost, self.cost_unit = known[0] * to_send, known[1]
        if budget is None or not to_send:
            return
        if known is None:
            raise ValidationError(
                f"budget: no cost is known yet for imagine on {base_url}, so {to_send} jobs cannot be "
                "checked against the budget; run one job first or pass budget=None",
                field="budget",
            )
        if known[0] * to_send > budget:
            raise ValidationError(
                f"budget: {to_send} jobs are estimated at {known[0] * to_send:g} {known[1] or ''}"
                f" (last known {known[0]:g} each), above budget={budget:g}; nothing was sent",
                field="budget",
            )

    def _launch(self) -> _Steps:
        for cell, entry in self._pending:
            if entry is not None and entry.task_id:
                try:
                    cell.task = yield _Call("get", (entry.task_id,))
                    cell.reattached = True
                except MjnbError as exc:  # shown on the cell; never resent behind the user's back
                    cell.error = exc
            elif entry is not None and entry.state != "rejected":
                cell.error = SubmitUncertain(
                    f"an earlier submit of this cell (journal entry {entry.id}) is {entry.state} with no task id; "
                    "it was NOT resent. Run client.reconcile(), or sweep(..., force=True) to pay for it again",
                    operation="imagine",
                    journal_id=entry.id,
                )
            else:
                yield from self._submit(cell)
        self._pending = []

    def _submit(self, cell: SweepCell) -> _Steps:
        kwargs = dict(cell.options)
        kwargs["tags"] = cell.tags
        cell.error, cell.reattached = None, False
        try:
            cell.task = yield _Call("imagine", (cell.prompt,), kwargs)
        except MjnbError as exc:  # a refused or moderated cell does not stop the others
            cell.task, cell.error = None, exc

    def _retry(self) -> _Steps:
        retried = []
        for cell in self.cells:
            failed_task = cell.task is not None and cell.task.done and not cell.task.succeeded
            if failed_task or (cell.error is not None and not isinstance(cell.error, SubmitUncertain)):
                yield from self._submit(cell)
                retried.append(cell)
        return retried

    def _images(self) -> _Steps:
        images: list[Image.Image | None] = []
        for cell in self.cells:
            image = None
            if cell.task is not None and cell.task.succeeded:
                try:
                    image = yield _Call("download", (cell.task,))
                except MjnbError as exc:
                    cell.error = exc
            images.append(image)
        return images

    def _merge(self, fresh: Sequence[Task]) -> None:
        by_id = {task.id: task for task in fresh}
        for cell in self.cells:
            if cell.task is not None and cell.task.id in by_id:
                cell.task = by_id[cell.task.id]

    def _cell_of(self, task: Task) -> SweepCell:
        for cell in self.cells:
            if cell.task is not None and cell.task.id == task.id:
                cell.task = task
                return cell
        raise LookupError(f"task {task.id} is not in this sweep")

    def _unfinished(self) -> list[Task]:
        return [c.task for c in self.cells if c.task is not None and not c.task.done]

    def table(self) -> list[dict[str, Any]]:
        """One dict per cell: the columns of :func:`mjnb.to_pandas` (axis values, prompt, each
        parameter, ids, status, reason, cost, size, times)."""
        return records([(cell.task, cell) for cell in self.cells], journal=self.client.journal)

    def to_pandas(self) -> Any:
        """:meth:`table` as a ``pandas.DataFrame`` (pandas is optional: ImportError says how to get it)."""
        return to_dataframe(self.table())

    def _sheet(
        self,
        images: Sequence[Image.Image | None],
        rows: str | None,
        cols: str | None,
        thumb: int,
    ) -> Image.Image:
        from ._sheet import contact_sheet

        return contact_sheet(self, images, rows=rows, cols=cols, thumb=thumb)


def _drive(steps: _Steps, client: Any) -> Any:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            call = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            value = getattr(client, call.verb)(*call.args, **call.kwargs)
        except Exception as exc:  # handed back to the step, which records it on its cell or re-raises
            error = exc


async def _adrive(steps: _Steps, client: Any) -> Any:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            call = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            value = await getattr(client, call.verb)(*call.args, **call.kwargs)
        except Exception as exc:
            error = exc


class Sweep(_SweepBase):
    """A sweep on a :class:`~mjnb.Client` (see :meth:`SyncExperimentVerbs.sweep`)."""

    def wait(self, timeout: float = 600.0) -> Sweep:
        """Follow every unfinished cell to a final state through the client's tracker.

        Args:
            timeout: seconds for the whole sweep.

        Returns:
            self, with each cell's ``task`` updated; a failed cell keeps its reason and does not raise.

        Raises:
            TaskTimeout: not all cells finished within ``timeout``.
        """
        pending = self._unfinished()
        if pending:
            self._merge(self.client.wait_all(pending, timeout=timeout, raise_on_failure=False))
        return self

    def as_completed(self, timeout: float = 600.0) -> Iterator[SweepCell]:
        """Yield each unfinished cell as its task finishes (finish order), its ``task`` updated."""
        pending = self._unfinished()
        if pending:
            for task in self.client.as_completed(pending, timeout=timeout):
                yield self._cell_of(task)

    def retry_failed(self) -> list[SweepCell]:
        """Submit anew every cell whose task failed or whose submit was refused (a paid retry).

        Cells whose earlier submit is uncertain are left alone (run ``client.reconcile()``).

        Returns:
            The cells retried, each with its new ``task`` or ``error``.
        """
        retried: list[SweepCell] = _drive(self._retry(), self.client)
        return retried

    def contact_sheet(self, *, rows: str | None = None, cols: str | None = None, thumb: int = 192) -> Image.Image:
        """One labelled image of the sweep: ``rows`` × ``cols`` axes (default: the first axis as rows,
        the others and the repeats as columns), axis values as headers, a reason on failed cells.

        Args:
            rows, cols: axis names (keys of :attr:`axes`).
            thumb: the longest side of each image, in pixels (32–1024).

        Returns:
            An RGB ``PIL.Image.Image``.
        """
        return self._sheet(_drive(self._images(), self.client), rows, cols, thumb)


class AsyncSweep(_SweepBase):
    """A sweep on an :class:`~mjnb.AsyncClient`; the same methods as :class:`Sweep`, awaited."""

    async def wait(self, timeout: float = 600.0) -> AsyncSweep:
        """As :meth:`Sweep.wait`."""
        pending = self._unfinished()
        if pending:
            self._merge(await self.client.wait_all(pending, timeout=timeout, raise_on_failure=False))
        return self

    async def as_completed(self, timeout: float = 600.0) -> AsyncIterator[SweepCell]:
        """As :meth:`Sweep.as_completed` (``async for cell in sweep.as_completed()``)."""
        pending = self._unfinished()
        if pending:
            async for task in self.client.as_completed(pending, timeout=timeout):
                yield self._cell_of(task)

    async def retry_failed(self) -> list[SweepCell]:
        """As :meth:`Sweep.retry_failed`."""
        retried: list[SweepCell] = await _adrive(self._retry(), self.client)
        return retried

    async def contact_sheet(self, *, rows: str | None = None, cols: str | None = None, thumb: int = 192) -> Image.Image:
        """As :meth:`Sweep.contact_sheet`."""
        return self._sheet(await _adrive(self._images(), self.client), rows, cols, thumb)


def start_sweep(
    client: Any,
    prompt: str,
    *,
    grid: Mapping[str, Sequence[Any]] | None,
    repeat: int,
    max_jobs: int,
    dry_run: bool,
    force: bool,
    budget: float | None,
    options: Mapping[str, Any],
    cls: type[_SweepBase],
) -> Any:
    """Plan a sweep and prepare it; the caller drives ``sweep._launch()`` unless ``dry_run``."""
    axes, cells, key = plan_sweep(
        prompt,
        dialect=client.dialect,
        service=client.base_url,
        grid=grid,
        repeat=repeat,
        max_jobs=max_jobs,
        options=options,
    )
    sweep = cls(client, prompt.strip(), axes, cells, key)
    sweep._prepare(force=force, budget=budget)
    return sweep
