"""The experiment verbs of both clients: ``sweep``, ``resume``, ``reconcile`` and ``spend``.

:class:`SyncExperimentVerbs` and :class:`AsyncExperimentVerbs` are mixins of :class:`~mjnb.Client`
and :class:`~mjnb.AsyncClient`.  They use only the client's public verbs (``imagine``, ``get``,
``tasks``, ``wait_all``), its journal and its tracker (``_follow``), never a dialect; their I/O is
written once as steps (see :mod:`mjnb._sweep`) that each client performs in its own way.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Mapping, Sequence, cast

from ._errors import MjnbError, UnsupportedOperation, ValidationError
from ._models import Task

if TYPE_CHECKING:
    from ._journal import Journal, JournalEntry
    from ._sweep import AsyncSweep, Sweep, _Steps

__all__ = ["SyncExperimentVerbs", "AsyncExperimentVerbs", "Resumed", "Reconciled"]

#: How far around a submit's journal time reconcile() looks in the server's listing (seconds).
RECONCILE_WINDOW = 600.0
_MAX_PAGES = 20


class Resumed(list[Task]):
    """The tasks ``resume()`` found, refreshed from the server; ``errors`` maps the id of each task
    that could not be refreshed (its journal state is listed instead) to the error."""

    errors: dict[str, MjnbError]

    def __init__(self, tasks: Sequence[Task] = (), errors: Mapping[str, MjnbError] | None = None) -> None:
        super().__init__(tasks)
        self.errors = dict(errors or {})


class Reconciled:
    """What ``reconcile()`` settled and what stays uncertain.

    ``settled`` holds (journal id, task) for each uncertain submit matched on the server (its id is
    now in the journal); ``uncertain`` holds (journal id, why) for each one that could not be.
    """

    # Written out rather than a dataclass, which costs about a millisecond at import.
    def __init__(
        self, settled: list[tuple[int, Task]] | None = None, uncertain: list[tuple[int, str]] | None = None
    ) -> None:
        self.settled: list[tuple[int, Task]] = [] if settled is None else settled
        self.uncertain: list[tuple[int, str]] = [] if uncertain is None else uncertain

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool((self.settled, self.uncertain) == (other.settled, other.uncertain))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass's

    def __repr__(self) -> str:
        lines = [f"Reconciled: {len(self.settled)} settled, {len(self.uncertain)} still uncertain"]
        lines += [f"  entry {jid} -> task {task.id} ({task.status.value})" for jid, task in self.settled]
        lines += [f"  entry {jid}: {why}" for jid, why in self.uncertain]
        return "\n".join(lines)


def _journal_of(client: Any) -> Journal:
    journal = client.journal
    if journal is None:
        raise ValidationError(
            "journal: this client keeps no journal (journal=False), so there is nothing to resume, reconcile or sum",
            field="journal",
        )
    return cast("Journal", journal)


def _resume_steps(client: Any) -> _Steps:
    from ._sweep import _Call

    journal = _journal_of(client)
    found: list[Task] = []
    errors: dict[str, MjnbError] = {}
    for entry in journal.unfinished(client.dialect, client.base_url):
        if not entry.task_id:  # never got an id: reconcile() is what can find it
            continue
        known = entry.to_task()
        try:
            fresh: Task = yield _Call("get", (entry.task_id,))
        except MjnbError as exc:
            errors[entry.task_id] = exc
            found.append(known)
            continue
        # EvoLink echoes neither prompt nor parent: the journal remembers them.
        found.append(
            fresh.evolve(
                prompt=fresh.prompt or entry.prompt,
                parent_id=fresh.parent_id or entry.parent_id,
                journal_id=fresh.journal_id or entry.id,
            )
        )
    return Resumed(found, errors)


def _listing_steps(client: Any, since: float, until: float) -> _Steps:
    from ._sweep import _Call

    items: list[Task] = []
    for page in range(1, _MAX_PAGES + 1):
        result = yield _Call("tasks", (), {"page": page, "page_size": 100, "since": since, "until": until})
        items += result.items
        if len(result.items) < result.page_size or (result.total is not None and len(items) >= result.total):
            break
    return items


def _matches(entry: JournalEntry, task: Task, window: float) -> bool:
    wanted = (entry.prompt or "").strip()
    shown = [(task.prompt or "").strip(), (task.final_prompt or "").strip()]
    if not wanted or not any(s == wanted or s.startswith(wanted + " ") for s in shown):
        return False
    return task.submitted_at is None or abs(task.submitted_at - entry.created_at) <= window


def _reconcile_steps(client: Any, window: float) -> _Steps:
    journal = _journal_of(client)
    result = Reconciled()
    entries = list(journal.uncertain(client.dialect, client.base_url))
    if not entries:
        return result
    since = min(e.created_at for e in entries) - window
    until = max(e.created_at for e in entries) + window
    try:
        listed: list[Task] = yield from _listing_steps(client, since, until)
    except UnsupportedOperation:
        why = (
            f"{client.dialect} has no task listing to search; find the task by hand and record it with "
            "client.journal.resolve(journal_id, task_id)"
        )
        result.uncertain = [(e.id, why) for e in entries]
        return result
    except MjnbError as exc:
        result.uncertain = [(e.id, f"the server's listing could not be read ({exc}); try again later") for e in entries]
        return result
    claimed = {t.id for t in listed if journal.by_task_id(client.dialect, client.base_url, t.id) is not None}
    nonces_shown = any(isinstance(t.raw.get("state"), str) and t.raw.get("state") for t in listed)
    for entry in entries:
        free = [t for t in listed if t.id not in claimed]
        if entry.nonce and nonces_shown:
            hits = [t for t in free if t.raw.get("state") == entry.nonce]
            how = f"nonce {entry.nonce}"
        else:
            hits = [t for t in free if _matches(entry, t, window)]
            how = f"prompt {entry.prompt!r} within ±{window:g} s"
        if len(hits) == 1:
            journal.resolve(entry.id, hits[0].id)
            journal.record_progress(hits[0])  # what the listing says of it (it may be finished already)
            claimed.add(hits[0].id)
            result.settled.append(
                (entry.id, hits[0].evolve(journal_id=entry.id, parent_id=hits[0].parent_id or entry.parent_id))
            )
        elif not hits:
            result.uncertain.append(
                (entry.id, f"no task on the server matches {how}: most likely no job was created; nothing was resent")
            )
        else:
            ids = ", ".join(t.id for t in hits[:5])
            result.uncertain.append(
                (
                    entry.id,
                    f"{len(hits)} tasks match {how} ({ids}); record the right one with "
                    f"client.journal.resolve({entry.id}, task_id)",
                )
            )
    return result


def _spend(client: Any, since: float | None, until: float | None) -> list[dict[str, Any]]:
    rows = _journal_of(client).spend(since=since, until=until, dialect=client.dialect, base_url=client.base_url)
    return [dict(row) for row in rows]


def _sweep_doc(fn: Any) -> Any:
    fn.__doc__ = """Run ``prompt`` across Midjourney permutations, a parameter grid and repeats.

        Every cell is planned and validated before anything is sent; cells already in the journal
        (an earlier run of the same sweep, same service) are reattached, not paid again.

        Args:
            prompt: a prompt, possibly with permutations (``"a {red, blue} kite --ar {1:1, 16:9}"``).
            grid: parameter axes by long or short name, ``{"stylize": [50, 250, 750], "chaos": [0, 40]}``;
                ``True``/``False`` values switch a flag (``{"tile": [True, False]}``).
            repeat: how many times each cell is sent (1 or more; each repeat is its own job).
            max_jobs: refuse a sweep of more jobs than this (a typo must not launch 500 paid jobs).
            dry_run: plan and validate only; nothing is sent (``cells`` have no task).
            force: submit every cell anew even if the journal holds it (pays again).
            budget: refuse when the estimated cost of the jobs to send (the last cost this service
                reported for an imagine, times the number of jobs) exceeds it, in that cost's unit;
                refused too when no cost is known yet.
            **options: passed to ``imagine`` for every cell (``bot``, ``mode``, ``images`` as URLs,
                ``callback_url``, wire options).

        Returns:
            A Sweep (AsyncSweep on AsyncClient): ``cells``, ``axes``, ``tasks``, ``wait()``,
            ``as_completed()``, ``retry_failed()``, ``table()``, ``to_pandas()``, ``contact_sheet()``.

        Raises:
            ValidationError: before anything is sent: an empty ``{}`` or unbalanced braces (with the
                position), an unknown grid parameter, ``repeat < 1``, more jobs than ``max_jobs``, a
                cell whose prompt is invalid (naming the cell), an estimate over ``budget``.

        A cell whose submit fails (refused, moderated) keeps its ``error`` and does not stop the
        others.  Midjourney docs: "Permutation Prompts", "Parameter List".
        """
    return fn


class SyncExperimentVerbs:
    """``sweep``, ``resume``, ``reconcile`` and ``spend`` of :class:`~mjnb.Client`."""

    @_sweep_doc
    def sweep(
        self,
        prompt: str,
        *,
        grid: Mapping[str, Sequence[Any]] | None = None,
        repeat: int = 1,
        max_jobs: int = 16,
        dry_run: bool = False,
        force: bool = False,
        budget: float | None = None,
        **options: Any,
    ) -> Sweep:
        from ._sweep import Sweep, _drive, start_sweep

        sweep: Sweep = start_sweep(
            self,
            prompt,
            grid=grid,
            repeat=repeat,
            max_jobs=max_jobs,
            dry_run=dry_run,
            force=force,
            budget=budget,
            options=options,
            cls=Sweep,
        )
        if not dry_run:
            _drive(sweep._launch(), self)
        return sweep

    def resume(self) -> Resumed:
        """Every unfinished task of this client's dialect and base URL in the journal, refreshed
        from the server and handed to the client's tracker (so ``wait_all``/widgets follow them).

        Submits that never got an id are not listed: ``reconcile()`` settles those.

        Returns:
            A list of Task (prompt and parent filled from the journal where the server omits them);
            its ``errors`` maps each task id that could not be refreshed to the error.

        Raises:
            ValidationError: the client keeps no journal.
        """
        from ._sweep import _drive

        found: Resumed = _drive(_resume_steps(self), self)
        _follow_now(self, [t for t in found if not t.done])
        return found

    def reconcile(self, *, window: float = RECONCILE_WINDOW) -> Reconciled:
        """Settle the uncertain submits of this dialect and base URL (sent, answer lost).

        Searches the server's task listing from ``window`` seconds before the first to ``window``
        after the last: by the exact nonce where the wire carries one (midjourney-proxy ``state``,
        relayed by new-api), else by prompt and time.  A single match is recorded in the journal
        (``journal.resolve``) and handed to the tracker; nothing is ever resent.

        Returns:
            Reconciled: ``settled`` (journal id, task) and ``uncertain`` (journal id, why).

        Raises:
            ValidationError: the client keeps no journal.
        """
        from ._sweep import _drive

        result: Reconciled = _drive(_reconcile_steps(self, window), self)
        _follow_now(self, [t for _, t in result.settled if not t.done])
        return result

    def spend(self, since: float | None = None, until: float | None = None) -> list[dict[str, Any]]:
        """What the journal recorded as charged on this client's service, by kind and day.

        Args:
            since, until: unix seconds bounding the submit time (None: unbounded).

        Returns:
            Rows ``{service, dialect, kind, day, cost_unit, cost, count}``; ``cost`` is in the unit
            the service reports (EvoLink credits, new-api quota), summed over tasks with a known cost.
        """
        return _spend(self, since, until)


class AsyncExperimentVerbs:
    """``sweep``, ``resume``, ``reconcile`` and ``spend`` of :class:`~mjnb.AsyncClient` (awaited)."""

    @_sweep_doc
    async def sweep(
        self,
        prompt: str,
        *,
        grid: Mapping[str, Sequence[Any]] | None = None,
        repeat: int = 1,
        max_jobs: int = 16,
        dry_run: bool = False,
        force: bool = False,
        budget: float | None = None,
        **options: Any,
    ) -> AsyncSweep:
        from ._sweep import AsyncSweep, _adrive, start_sweep

        sweep: AsyncSweep = start_sweep(
            self,
            prompt,
            grid=grid,
            repeat=repeat,
            max_jobs=max_jobs,
            dry_run=dry_run,
            force=force,
            budget=budget,
            options=options,
            cls=AsyncSweep,
        )
        if not dry_run:
            await _adrive(sweep._launch(), self)
        return sweep

    async def resume(self) -> Resumed:
        """As :meth:`SyncExperimentVerbs.resume`."""
        from ._sweep import _adrive

        found: Resumed = await _adrive(_resume_steps(self), self)
        await _follow(self, [t for t in found if not t.done])
        return found

    async def reconcile(self, *, window: float = RECONCILE_WINDOW) -> Reconciled:
        """As :meth:`SyncExperimentVerbs.reconcile`."""
        from ._sweep import _adrive

        result: Reconciled = await _adrive(_reconcile_steps(self, window), self)
        await _follow(self, [t for _, t in result.settled if not t.done])
        return result

    async def spend(self, since: float | None = None, until: float | None = None) -> list[dict[str, Any]]:
        """As :meth:`SyncExperimentVerbs.spend` (a local read of the journal)."""
        return _spend(self, since, until)


def _hand_to_tracker(client: Any, tasks: list[Task]) -> Any:
    # The lead's planned ``client._follow``; until it lands, the tracker's own ``follow``.
    follow = getattr(client, "_follow", None) or client._tracker.follow
    return follow(tasks)


def _follow_now(client: Any, tasks: list[Task]) -> None:
    if tasks:
        _hand_to_tracker(client, tasks)


async def _follow(client: Any, tasks: list[Task]) -> None:
    if tasks:
        handed = _hand_to_tracker(client, tasks)
        if inspect.isawaitable(handed):
            await handed
