"""Studio: PromptForm + ProgressView + Gallery + History in one app, and where to connect.

``Studio()`` with no arguments works on the embedded simulator.  For a real service pick the
dialect, paste the base URL and the key, press Connect: a new AsyncClient is built and the key
field is emptied at once — the key is never shown back, kept in widget state or printed.
"""

from __future__ import annotations

import html
import os
from typing import Any

import ipywidgets as widgets

from .._errors import MjnbError, ValidationError
from .._models import Task
from ..dialects import DIALECT_NAMES
from ._form import PromptForm
from ._gallery import Gallery
from ._history import History
from ._progress import Job, ProgressView
from ._runner import Handle, as_async_client, default_client, ui_lock
from ._style import classes, stylesheet

__all__ = ["Studio"]

_KEY_PLACEHOLDER = "API key (empty: the embedded simulator)"


class Studio(widgets.VBox):
    """The whole app: type a prompt, watch the job, act on the result, find it again later.

    >>> studio = mjnb.Studio()                       # embedded simulator, no key
    >>> studio = mjnb.Studio(dialect="acedata")      # the simulator speaking AceData
    >>> studio = mjnb.Studio(mjnb.AsyncClient("newapi", "https://gw.example.com", key))
    """

    def __init__(self, client: Any = None, dialect: str | None = None, **kw: Any) -> None:
        self.client = as_async_client(client) or default_client(dialect)
        self._build_connection()
        self.form = PromptForm(dialect=self.client.dialect)
        self.progress = ProgressView(client=self.client)
        self.gallery = Gallery(client=self.client, progress=self.progress)
        self.history = History(client=self.client)
        self.history.on_open = self._open_from_history
        self.form.on_submit(self._submit)
        self.progress.add_done_listener(self._refresh_history)
        self.tabs = classes(widgets.Tab([self.gallery, self.history], titles=("Result", "History")), "mjnb-tabs")
        title = widgets.HTML("<b>mjnb Studio</b>")
        super().__init__([stylesheet(), title, self.connection, self.form, self.progress, self.tabs], **kw)
        classes(self, "mjnb-studio")
        self._show_connection()

    # -- connection ------------------------------------------------------------------------------
    def _build_connection(self) -> None:
        self.dialect_select = classes(
            widgets.Dropdown(options=list(DIALECT_NAMES), value=self.client.dialect, description="Dialect",
                             layout=widgets.Layout(width="14em"), style={"description_width": "4em"}),
            "mjnb-dialect",
        )
        self.base_url = classes(
            widgets.Text(value="" if self.client.embedded else self.client.base_url,
                         placeholder="base URL (empty: the embedded simulator)", layout=widgets.Layout(width="22em")),
            "mjnb-base-url",
        )
        self.api_key = classes(widgets.Password(placeholder=_KEY_PLACEHOLDER, layout=widgets.Layout(width="20em")),
                               "mjnb-api-key")
        self.connect_button = classes(widgets.Button(description="Connect", icon="plug", layout=widgets.Layout(width="auto")),
                                      "mjnb-connect")
        self.connect_button.on_click(lambda _: self._connect_clicked())
        self.dialect_select.observe(self._dialect_changed, names="value")
        self.connection_status = classes(widgets.HTML(""), "mjnb-connection-status")
        self.connection = classes(
            widgets.VBox([
                widgets.HBox([self.dialect_select, self.base_url, self.api_key, self.connect_button],
                             layout=widgets.Layout(flex_flow="row wrap", align_items="center")),
                self.connection_status,
            ]),
            "mjnb-connection",
        )

    def _show_connection(self, note: str = "") -> None:
        client = self.client
        where = "the embedded simulator (no key needed)" if client.embedded else html.escape(client.base_url, quote=False)
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

        Raises ValidationError (naming the field) when only one of base URL and key is given;
        the fields are then kept so the user can complete them.
        """
        import mjnb

        dialect = dialect or self.dialect_select.value
        url = (base_url if base_url is not None else self.base_url.value).strip()
        key = api_key if api_key is not None else (self.api_key.value.strip() or None)
        env_url = (os.environ.get("MJNB_BASE_URL") or "").strip().rstrip("/")
        env_dialect = (os.environ.get("MJNB_DIALECT") or "mjproxy").strip().lower()
        if not key and env_url and (url.rstrip("/") or env_url) != env_url:
            # The environment's key belongs to the environment's service: never send it elsewhere.
            raise ValidationError(f"api_key: type the key of the service at {url}", field="api_key")
        if not key and env_url and dialect != env_dialect and url.rstrip("/") in ("", env_url):
            raise ValidationError(
                f"base_url: the environment configures a {env_dialect} service at {env_url}; give the base URL "
                f"and key of your {dialect} service", field="base_url",
            )
        client = mjnb.AsyncClient(dialect, url or None, key)  # validates before anything is kept
        with ui_lock:
            self.api_key.value = ""  # the key lives in the client only, never in widget state
            self.api_key.placeholder = "key set (hidden) — type a new one to replace it" if key else _KEY_PLACEHOLDER
        self.use(client)
        return client

    def use(self, client: Any) -> None:
        """Point every part of the Studio at ``client`` (running jobs keep theirs)."""
        client = as_async_client(client)
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
        self.history.refresh(page=1)
        self._show_connection()

    # -- jobs --------------------------------------------------------------------------------
    def _submit(self, value: dict) -> Job:
        prompt, mode = value["prompt"], value["mode"]

        def imagine(client: Any) -> Any:
            return client.imagine(prompt, mode=mode) if mode else client.imagine(prompt)

        return self.progress.start(prompt, imagine, on_done=self.show)

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
        return self.gallery.show(task)

    def _refresh_history(self, task: Task) -> None:
        self.history.refresh()  # History lists the new task at once (not awaited: a job must not wait on it)

    def _open_from_history(self, task: Task) -> Handle:
        with ui_lock:
            self.tabs.selected_index = 0
        return self.gallery.show(task)

    def __repr__(self) -> str:
        where = "embedded simulator" if self.client.embedded else self.client.base_url
        return f"Studio(dialect={self.client.dialect!r}, base_url={where!r}, api_key='***')"
