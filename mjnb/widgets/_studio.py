"""Studio: every verb of the client in one app — Imagine (single jobs and sweeps), the other modes,
live progress, the result with its follow-ups, History, a sweep's grid and a result's lineage.

``Studio()`` with no arguments works on the embedded simulator.  For a real service pick the
dialect, paste the base URL and the key, press Connect: a new AsyncClient is built and the key
field is emptied on every outcome, a failed Connect included — the key is never shown back,
kept in widget state or printed.
"""

from __future__ import annotations

import html
import os
from typing import Any, Callable

import ipywidgets as widgets
import traitlets

from .. import _prompt
from .._errors import MjnbError, ValidationError
from .._models import Task
from ..dialects import DIALECT_NAMES
from ._form import PromptForm
from ._gallery import Gallery
from ._history import History
from ._progress import Job, ProgressView
from ._runner import Handle, as_async_client, close_clients, default_client, ui_lock
from ._studio_modes import MODE_PANELS, EditImageMode, ModePanel, unsupported_reason
from ._studio_sweep import SweepLauncher
from ._style import classes, stylesheet
from ._upload import ImageUpload

__all__ = ["Studio"]

_KEY_PLACEHOLDER = "API key (empty: the embedded simulator)"
#: Dialects whose imagine takes image prompts only as http(s) URLs in the prompt, not uploaded
#: bytes (PROTOCOLS.md §1 EvoLink ``image_urls``, §2 AceData prompt URLs); the proxies take
#: ``base64Array`` data URLs (§3).
_URL_ONLY_IMAGE_PROMPTS = frozenset({"acedata", "evolink"})
_REFERENCES_NOTE = (
    "Style, omni and character references (--sref, --oref, --cref) are URLs on every service: "
    "paste them under References in the form."
)


class Studio(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """The whole app: pick a mode, submit, watch the job, act on the result, find it again later.

    >>> studio = mjnb.Studio()                       # embedded simulator, no key
    >>> studio = mjnb.Studio(dialect="acedata")      # the simulator speaking AceData
    >>> studio = mjnb.Studio(mjnb.AsyncClient("newapi", "https://gw.example.com", key))

    Args:
        client: a Client or AsyncClient (default: the environment's service, else the embedded simulator).
        dialect: the simulator's dialect when no client is given (mjproxy, newapi, acedata, evolink).

    Traits: ``mode`` (``"imagine"`` or a mode's name: ``describe``, ``blend``, ``shorten``, ``translate``,
    ``edit_image``, ``retexture``, ``remove_bg``), ``sweep_threshold`` (jobs above which a sweep asks once).
    Events: ``on_result(callback)`` with each Task the Studio shows.
    """

    mode = traitlets.Unicode("imagine")
    sweep_threshold = traitlets.Int(8, help="a sweep of more jobs than this asks for confirmation first")

    def __init__(self, client: Any = None, dialect: str | None = None, **kw: Any) -> None:
        self._owned: list[Any] = []  # AsyncClients the Studio made: closed with it
        self.closing: list[Handle] = []
        self.client = as_async_client(client, self._owned) or default_client(dialect, owned=self._owned)
        self._result_handlers = widgets.CallbackDispatcher()
        self._build_connection()
        self.form = PromptForm(dialect=self.client.dialect)
        self.progress = ProgressView(client=self.client)
        self.gallery = Gallery(client=self.client, progress=self.progress)
        self.history = History(client=self.client)
        self._build_imagine_extras()
        self.panels: dict[str, ModePanel] = {cls.name: cls(self) for cls in MODE_PANELS}
        self.sweeps = SweepLauncher(self)
        self.imagine_panel = classes(widgets.VBox([self.form, self.more, self.sweeps]), "mjnb-imagine")
        self.mode_buttons = classes(
            widgets.ToggleButtons(
                options=[("Imagine", "imagine")] + [(p.title, n) for n, p in self.panels.items()],
                value="imagine",
                style={"button_width": "auto"},
            ),
            "mjnb-modes",
        )
        self.mode_area = widgets.VBox([self.imagine_panel])
        traitlets.link((self.mode_buttons, "value"), (self, "mode"))
        self.observe(self._show_mode, names="mode")
        self.history.on_open(self._open_from_history)
        self.progress.on_done(self._refresh_history)
        self.gallery.on_edit(self.edit_on_canvas)
        self.gallery.on_lineage(self.open_lineage)
        self.form.on_submit(self._submit)
        self.sweep_area = widgets.VBox([widgets.HTML("<i>No sweep yet: write a prompt with {a, b} in Imagine.</i>")])
        self.lineage_area = widgets.VBox([widgets.HTML("<i>Open a result's Lineage to see how it was reached.</i>")])
        self.tabs = classes(
            widgets.Tab(
                [self.gallery, self.history, self.sweep_area, self.lineage_area],
                titles=("Result", "History", "Sweep", "Lineage"),
            ),
            "mjnb-tabs",
        )
        title = widgets.HTML("<b>mjnb Studio</b>")
        super().__init__(
            [stylesheet(), title, self.connection, self.mode_buttons, self.mode_area, self.progress, self.tabs], **kw
        )
        classes(self, "mjnb-studio")
        self._apply_dialect()
        self._show_connection()

    # -- events ------------------------------------------------------------------------------------
    def on_result(self, callback: Callable[[Task], Any], remove: bool = False) -> None:
        """Call ``callback(task)`` with every Task the Studio shows (``remove=True`` unregisters)."""
        self._result_handlers.register_callback(callback, remove=remove)

    # -- connection ------------------------------------------------------------------------------
    def _build_connection(self) -> None:
        self.dialect_select = classes(
            widgets.Dropdown(
                options=list(DIALECT_NAMES),
                value=self.client.dialect,
                description="Dialect",
                layout=widgets.Layout(width="14em"),
                style={"description_width": "4em"},
            ),
            "mjnb-dialect",
        )
        self.base_url = classes(
            widgets.Text(
                value="" if self.client.embedded else self.client.base_url,
                placeholder="base URL (empty: the embedded simulator)",
                layout=widgets.Layout(width="22em"),
            ),
            "mjnb-base-url",
        )
        self.api_key = classes(
            widgets.Password(placeholder=_KEY_PLACEHOLDER, layout=widgets.Layout(width="20em")), "mjnb-api-key"
        )
        self.connect_button = classes(
            widgets.Button(description="Connect", icon="plug", layout=widgets.Layout(width="auto")), "mjnb-connect"
        )
        self.connect_button.on_click(lambda _: self._connect_clicked())
        self.dialect_select.observe(self._dialect_changed, names="value")
        self.connection_status = classes(widgets.HTML(""), "mjnb-connection-status")
        self.connection = classes(
            widgets.VBox(
                [
                    widgets.HBox(
                        [self.dialect_select, self.base_url, self.api_key, self.connect_button],
                        layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
                    ),
                    self.connection_status,
                ]
            ),
            "mjnb-connection",
        )

    def _show_connection(self, note: str = "") -> None:
        client = self.client
        where = (
            "the embedded simulator (no key needed)" if client.embedded else html.escape(client.base_url, quote=False)
        )
        text = f"Connected: <b>{html.escape(client.dialect, quote=False)}</b> on {where}"
        if not client.embedded:
            text += " · key set (hidden)"
        self.connection_status.value = text + (f" · {note}" if note else "")

    def _dialect_changed(self, change: Any) -> None:
        # With nothing typed, switching dialect needs no Connect: the simulator speaks them all.
        if not self.base_url.value.strip() and not self.api_key.value:
            self._connect_clicked()
        else:
            self.connection_status.value = html.escape(f"Press Connect to use {change['new']}.", quote=False)

    def _connect_clicked(self) -> None:
        try:
            self.connect()
        except (MjnbError, TypeError) as exc:
            self.connection_status.value = f"<span style='color:#dc2626'>{html.escape(str(exc), quote=False)}</span>"

    def connect(self, dialect: str | None = None, base_url: str | None = None, api_key: Any = None) -> Any:
        """Build a new AsyncClient from the arguments or the connection fields and use it.

        The key field is emptied whatever happens (a failed Connect too): a typed key is never
        left in widget state, which a saved notebook would keep.

        Returns:
            the new AsyncClient.

        Raises:
            ValidationError: naming the field, when only one of base URL and key is given, or when the
                environment's key would go to another service; the base URL is kept, the key must be
                typed again.
        """
        import mjnb

        typed_key = self.api_key.value.strip() or None
        try:
            dialect = dialect or self.dialect_select.value
            url = (base_url if base_url is not None else self.base_url.value).strip()
            key = api_key if api_key is not None else typed_key
            env_url = (os.environ.get("MJNB_BASE_URL") or "").strip().rstrip("/")
            env_dialect = (os.environ.get("MJNB_DIALECT") or "mjproxy").strip().lower()
            if not key and env_url and (url.rstrip("/") or env_url) != env_url:
                # The environment's key belongs to the environment's service: never send it elsewhere.
                raise ValidationError(f"api_key: type the key of the service at {url}", field="api_key")
            if not key and env_url and dialect != env_dialect and url.rstrip("/") in ("", env_url):
                raise ValidationError(
                    f"base_url: the environment configures a {env_dialect} service at {env_url}; give the base URL "
                    f"and key of your {dialect} service",
                    field="base_url",
                )
            client = mjnb.AsyncClient(dialect, url or None, key)  # validates before anything is kept
        except BaseException:
            self._forget_typed_key(kept=False)
            raise
        self._owned.append(client)
        self._forget_typed_key(kept=bool(key))
        self.use(client)
        return client

    def _forget_typed_key(self, *, kept: bool) -> None:
        with ui_lock:
            self.api_key.value = ""  # the key lives in the client only, never in widget state
            self.api_key.placeholder = (
                "key set (hidden) — type a new one to replace it"
                if kept and not self.client.embedded
                else _KEY_PLACEHOLDER
            )

    def use(self, client: Any) -> None:
        """Point every part of the Studio at ``client`` (running jobs keep theirs)."""
        client = as_async_client(client, self._owned)
        self.client = client
        with ui_lock:
            if self.dialect_select.value != client.dialect:
                self.dialect_select.unobserve(self._dialect_changed, names="value")
                self.dialect_select.value = client.dialect
                self.dialect_select.observe(self._dialect_changed, names="value")
            self.form.set_dialect(client.dialect)
        self.progress.client = client
        self.gallery.client = client
        self.history.client = client
        self._apply_dialect()
        self.history.refresh(page=1)
        self._show_connection()

    def _apply_dialect(self) -> None:
        """Enable what the client's dialect offers; say why the rest is off."""
        client = self.client
        tooltips = ["imagine"]
        for panel in self.panels.values():
            panel.set_client(client)
            tooltips.append(panel.title if panel.offered else unsupported_reason(client.dialect, panel.operation))
        with ui_lock:
            self.mode_buttons.tooltips = tooltips
            niji_refused = client.dialect in _prompt.PARAMS["niji"].not_on
            self.bot.disabled = niji_refused
            if niji_refused:
                self.bot.value = "mj"
            self.bot.tooltips = (
                [f"niji is not offered by {client.dialect}"] * 2
                if niji_refused
                else ["Midjourney", "Niji (anime and illustration)"]
            )
        if client.dialect in _URL_ONLY_IMAGE_PROMPTS:
            self.image_prompts.allow_uploads(
                False,
                f"{client.dialect} takes image prompts only as http(s) URLs: "
                "paste them under References (Image prompts) in the form.",
            )
        else:
            self.image_prompts.allow_uploads(True, f"Uploads are sent as the job's image prompts. {_REFERENCES_NOTE}")

    # -- Imagine's own options ---------------------------------------------------------------------
    def _build_imagine_extras(self) -> None:
        self.bot = classes(
            widgets.ToggleButtons(
                options=[("Midjourney", "mj"), ("Niji", "niji")],
                value="mj",
                description="Bot",
                style={"button_width": "7em"},
            ),
            "mjnb-bot",
        )
        self.callback_url = classes(
            widgets.Text(
                description="Callback URL",
                placeholder="https://… the service calls when the job changes",
                style={"description_width": "7.5em"},
                layout=widgets.Layout(width="100%"),
            ),
            "mjnb-callback-url",
        )
        self.image_prompts = ImageUpload("Image prompts", field="images", min_count=0, max_count=5, urls=False)
        self.more = widgets.Accordion(
            [widgets.VBox([self.bot, self.callback_url, self.image_prompts])],
            titles=("Bot (Niji), callback URL, image prompt uploads",),
        )
        self.more.selected_index = None

    def submit_options(self) -> dict[str, Any]:
        """The Studio's options for a submit: the callback URL when one is typed."""
        url = self.callback_url.value.strip()
        return {"callback_url": url} if url else {}

    def imagine_options(self) -> dict[str, Any]:
        """Everything Imagine sends besides the prompt: speed, bot, callback URL, uploaded image prompts."""
        options = self.submit_options()
        mode = self.form.value.get("mode")
        if mode:
            options["mode"] = mode
        if self.bot.value == "niji" and not self.bot.disabled:
            options["bot"] = "niji"
        uploads = self.image_prompts.images if not self.image_prompts.upload.disabled else []
        if uploads:
            options["images"] = list(uploads)
        return options

    # -- modes ---------------------------------------------------------------------------------------
    def _show_mode(self, change: Any) -> None:
        name = change["new"]
        panel = self.imagine_panel if name == "imagine" else self.panels[name]
        with ui_lock:
            self.mode_area.children = (panel,)
        if isinstance(panel, ModePanel):
            panel.activated()

    def current_prompt(self) -> str:
        """What the form holds: its final prompt, or the typed text while the form refuses it."""
        return str(self.form.value.get("prompt") or self.form.prompt_text.value.strip())

    def use_prompt(self, prompt: str) -> None:
        """Put ``prompt`` in the form and go to Imagine (a Describe or Shorten choice)."""
        self.form.set_prompt(prompt)
        self.mode = "imagine"

    def edit_on_canvas(self, task: Task, image: Any = None) -> Any:
        """Open ``task``'s result (``image``: the chosen sub-image) in "Edit an image"; returns the editor.

        A result that offers Vary (Region) is edited as that follow-up; any other (a grid, a blend)
        is edited as an image of its own through the service's edit.
        """
        panel = self.panels["edit_image"]
        assert isinstance(panel, EditImageMode)
        self.mode = "edit_image"
        if image is not None and "vary_region" not in task.action_names:
            # A grid (or any result without Vary Region) is edited as an image of its own, as
            # Midjourney's editor does with "Edit": the service's edit takes the picture and the mask.
            return panel.open_editor(image)
        selected = getattr(self.gallery, "selected", None)
        return panel.open_editor(task, image=image, index=selected if image is not None else None)

    # -- jobs --------------------------------------------------------------------------------------
    def _submit(self, value: dict[str, Any]) -> Job | None:
        prompt = value["prompt"]
        if "{" in prompt:  # permutations: one job per combination, through the sweep
            self.sweeps.submit()
            return None
        options = self.imagine_options()
        return self.progress.start(prompt, lambda client: client.imagine(prompt, **options), on_done=self.show)

    def submit(self, prompt: str | None = None) -> Job | None:
        """Submit ``prompt`` (or what the form holds) as a user pressing Submit would."""
        if prompt is not None:
            self.form.set_prompt(prompt)
        if not self.form.value["valid"]:
            self.form.submit()  # shows why
            return None
        return self._submit(self.form.value)

    def show(self, task: Task) -> Handle:
        """Show ``task`` in the Result tab."""
        with ui_lock:
            self.tabs.selected_index = 0
        handle = self.gallery.show(task)
        self._result_handlers(task)
        return handle

    def show_sweep(self, grid: Any) -> None:
        """Put a SweepGrid in the Sweep tab and select it."""
        with ui_lock:
            self.sweep_area.children = (grid,)
            self.tabs.selected_index = 2

    def open_lineage(self, task: Task) -> Any:
        """Show how ``task`` was reached (a LineageView) in the Lineage tab; returns the view."""
        from ._lineage_view import LineageView

        view = LineageView(task, client=self.client, gallery=self.gallery)
        with ui_lock:
            self.lineage_area.children = (view,)
            self.tabs.selected_index = 3
        return view

    def _refresh_history(self, task: Task) -> None:
        self.history.refresh()  # History lists the new task at once (not awaited: a job must not wait on it)

    def _open_from_history(self, task: Task) -> Handle:
        return self.show(task)

    def close(self) -> None:
        """Close the Studio, its parts, and the AsyncClients it made (``studio.closing``: awaitable Handles)."""
        parts: list[Any] = [self.form, self.progress, self.gallery, self.history, *self.panels.values()]
        for part in parts:
            part.close()
        for area in (self.sweep_area, self.lineage_area):
            for child in area.children:
                child.close()
        self.closing = close_clients(self._owned)
        super().close()

    def __repr__(self) -> str:
        where = "embedded simulator" if self.client.embedded else self.client.base_url
        return f"Studio(dialect={self.client.dialect!r}, base_url={where!r}, mode={self.mode!r}, api_key='***')"
