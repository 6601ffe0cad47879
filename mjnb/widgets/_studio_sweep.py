"""The Studio's sweep row: a prompt with ``{a, b}`` becomes one job per combination.

While the prompt holds a ``{``, the row says how many jobs it makes (``client.sweep(…, dry_run=True)``,
which validates every cell without sending), offers "Submit N jobs", asks once above the
Studio's ``sweep_threshold``, then runs ``client.sweep`` and shows a SweepGrid.  Midjourney's
permutation syntax: https://docs.midjourney.com/hc/en-us/articles/32265510757389 (Permutations).
"""

from __future__ import annotations

import html
import inspect
from typing import Any

import ipywidgets as widgets

from .._errors import MjnbError
from ._progress import plain_reason
from ._runner import Handle, spawn, ui_lock
from ._style import classes

__all__ = ["SweepLauncher"]

#: The dry run only counts: let it expand far beyond a sane sweep so the number can be shown.
_COUNT_LIMIT = 10_000


async def _resolve(value: Any) -> Any:
    """The sync client returns, the async one returns an awaitable: accept both."""
    return await value if inspect.isawaitable(value) else value


class SweepLauncher(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Counts, confirms and starts the sweep of the Studio's prompt (``host`` is the Studio).

    ``counting`` / ``running`` are the Handles of the last count and the last sweep (awaitable);
    ``jobs`` is the last count (None while unknown or refused); ``grid`` the last SweepGrid.
    """

    def __init__(self, host: Any) -> None:
        self.host = host
        self.jobs: int | None = None
        self.counting: Handle | None = None
        self.running: Handle | None = None
        self.grid: Any = None
        self._counted_prompt = ""
        self.count_label = classes(widgets.HTML(""), "mjnb-sweep-count")
        self.submit_button = classes(
            widgets.Button(
                description="Submit sweep",
                button_style="primary",
                icon="th",
                disabled=True,
                layout=widgets.Layout(width="auto"),
            ),
            "mjnb-sweep-submit",
        )
        self.submit_button.on_click(lambda _: self.submit())
        self.confirm_text = widgets.HTML("")
        self.confirm_button = classes(
            widgets.Button(description="Send", button_style="warning", layout=widgets.Layout(width="auto")),
            "mjnb-sweep-confirm",
        )
        self.confirm_button.on_click(lambda _: self.submit(confirmed=True))
        self.cancel_button = classes(
            widgets.Button(description="Cancel", layout=widgets.Layout(width="auto")), "mjnb-sweep-cancel"
        )
        self.cancel_button.on_click(lambda _: self._hide_confirm())
        self.confirm_row = classes(
            widgets.HBox(
                [self.confirm_text, self.confirm_button, self.cancel_button],
                layout=widgets.Layout(display="none", align_items="center"),
            ),
            "mjnb-sweep-ask",
        )
        self.message = classes(widgets.HTML(""), "mjnb-message")
        super().__init__(
            [
                widgets.HBox([self.count_label, self.submit_button], layout=widgets.Layout(align_items="center")),
                self.confirm_row,
                self.message,
            ],
            layout=widgets.Layout(display="none"),
        )
        classes(self, "mjnb-sweep-row")
        # Any edit of the form changes its final prompt; the typed text covers a prompt it refuses.
        host.form.final_prompt.observe(lambda _: self.recount(), names="value")
        host.form.prompt_text.observe(lambda _: self.recount(), names="value")

    # -- counting ------------------------------------------------------------------------------------
    def prompt(self) -> str:
        """The sweep's prompt: the form's, with its controls, or the typed text while the form refuses it."""
        return str(self.host.current_prompt())

    def recount(self) -> Handle | None:
        """Count the jobs of the current prompt (nothing is sent); hides the row without ``{``."""
        prompt = self.prompt()
        with ui_lock:
            self._hide_confirm()
            self.layout.display = None if "{" in prompt else "none"
            self.jobs = None
            self.submit_button.disabled = True
        if "{" not in prompt:
            return None
        if self.counting is not None and not self.counting.done():
            self.counting.cancel()  # a newer keystroke wins
        with ui_lock:
            self.count_label.value = "counting…"
        self.counting = spawn(lambda: self._count(prompt))
        return self.counting

    async def _count(self, prompt: str) -> int | None:
        client = self.host.client
        try:
            sweep = await _resolve(
                client.sweep(prompt, dry_run=True, max_jobs=_COUNT_LIMIT, **self.host.imagine_options())
            )
        except MjnbError as exc:
            with ui_lock:
                self.count_label.value = f"<span class='mjnb-field-error'>{html.escape(plain_reason(exc))}</span>"
            return None
        except Exception as exc:  # not the user's input: say so on the row, and let the Handle carry it
            with ui_lock:
                self.count_label.value = (
                    f"<span class='mjnb-field-error'>could not count the jobs: {html.escape(plain_reason(exc))}</span>"
                )
            raise
        jobs = len(sweep.cells)
        with ui_lock:
            if self.prompt() != prompt:
                return jobs  # the user typed on; a newer count follows
            self.jobs, self._counted_prompt = jobs, prompt
            self.count_label.value = f"<b>{jobs} jobs</b>" + (" (paid)" if not client.embedded else "")
            self.submit_button.description = f"Submit {jobs} jobs"
            self.submit_button.disabled = False
        return jobs

    # -- running -------------------------------------------------------------------------------------
    def submit(self, confirmed: bool = False) -> Handle | None:
        """Start the counted sweep; above the threshold the first call only asks (a confirm row)."""
        prompt = self.prompt()
        if self.jobs is None or prompt != self._counted_prompt:
            with ui_lock:
                self.message.value = "Wait for the job count before submitting."
            return None
        jobs = self.jobs
        if jobs > self.host.sweep_threshold and not confirmed:
            with ui_lock:
                paid = "" if self.host.client.embedded else " (paid)"
                self.confirm_text.value = html.escape(f"This sends {jobs} jobs{paid}. Send them?", quote=False)
                self.confirm_button.description = f"Send {jobs} jobs"
                self.confirm_row.layout.display = None
            return None
        self._hide_confirm()
        with ui_lock:
            self.submit_button.disabled = True
            self.message.value = f"Sending {jobs} jobs…"
        options = self.host.imagine_options()
        # The user saw the count (and confirmed above the threshold): that is the limit they agreed to.
        self.running = spawn(lambda: self._run(prompt, jobs, options))
        return self.running

    async def _run(self, prompt: str, jobs: int, options: dict[str, Any]) -> Any:
        from ._sweepgrid import SweepGrid

        client = self.host.client
        try:
            sweep = await _resolve(client.sweep(prompt, max_jobs=max(jobs, 1), **options))
        except Exception as exc:
            with ui_lock:
                self.message.value = f"<span class='mjnb-field-error'>{html.escape(plain_reason(exc))}</span>"
                self.submit_button.disabled = False
            raise
        grid = SweepGrid(sweep, client=client, gallery=self.host.gallery)
        self.grid = grid
        self.host.show_sweep(grid)
        with ui_lock:
            self.message.value = html.escape(f"Sent {jobs} jobs: see the Sweep tab.", quote=False)
            self.submit_button.disabled = False
        return grid

    def _hide_confirm(self) -> None:
        with ui_lock:
            self.confirm_row.layout.display = "none"
