"""Studio end to end on the embedded simulator: Submit → progress → gallery → U1 → History."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

import mjnb
from mjnb._display import action_text
from mjnb.widgets import Studio

SECRET = "sk-live-DO-NOT-LEAK-4242"


def every_widget(root):
    """``root`` and all widgets below it (children, tabs, accordions)."""
    seen, todo = [], [root]
    while todo:
        w = todo.pop()
        if any(w is s for s in seen):
            continue
        seen.append(w)
        todo.extend(getattr(w, "children", ()) or ())
    return seen


def widget_state_text(root) -> str:
    """Everything the front end (and a saved notebook's widget state) could ever see."""
    parts = []
    for w in every_widget(root):
        state = {k: v for k, v in w.get_state().items() if not isinstance(v, (bytes, memoryview))}
        parts.append(json.dumps(state, default=str))
    return "\n".join(parts)


async def test_submit_progress_result_upscale_and_history():
    studio = Studio()  # no arguments: the embedded simulator
    assert studio.client.embedded and studio.client.dialect == "mjproxy"
    assert "embedded simulator" in studio.connection_status.value
    studio.form.prompt_text.value = "a lighthouse at dusk"
    studio.form.aspect.value = "3:2"
    studio.form.submit_button.click()
    job = studio.progress.jobs[0]
    assert job.label == "a lighthouse at dusk --ar 3:2"
    task = await job.result()
    assert task.succeeded and job.status_text == "done" and job.bar.value == 100
    assert studio.tabs.selected_index == 0 and studio.gallery.task == task
    image = Image.open(io.BytesIO(studio.gallery.main_image.value))
    assert image.size == (await studio.client.download(task)).size
    assert [b.description for b in studio.gallery.actions.children] == [action_text(a) for a in task.actions]

    u1 = next(b for b in studio.gallery.actions.children if "mjnb-action-U1" in b._dom_classes)
    u1.click()
    upscale_job = studio.progress.jobs[1]
    upscaled = await upscale_job.result()
    assert upscaled.succeeded and upscaled.kind == "UPSCALE" and studio.gallery.task == upscaled
    assert [r for r in studio.progress.rows.children][:2] == [upscale_job.row, job.row]

    page = await studio.history.loading
    assert [t.id for t in page.items] == [upscaled.id, task.id]
    studio.tabs.selected_index = 1
    studio.history.table.children[1].click()  # reopen the grid from History
    await studio.history.opening
    await studio.gallery.loading
    assert studio.tabs.selected_index == 0 and studio.gallery.task.id == task.id


async def test_an_invalid_form_cannot_be_submitted():
    studio = Studio()
    studio.form.prompt_text.value = "a fox --c 500"
    assert studio.form.submit_button.disabled
    assert studio.submit() is None and studio.progress.jobs == []
    assert "--c: 500 is out of range" in studio.form.message.value


@pytest.mark.parametrize("dialect", ["newapi", "acedata", "evolink"])
async def test_switching_dialect_uses_the_simulator_for_it(dialect):
    studio = Studio()
    studio.dialect_select.value = dialect
    assert studio.client.dialect == dialect and studio.client.embedded
    assert studio.form.dialect == dialect
    assert studio.progress.client is studio.client and studio.history.client is studio.client
    assert studio.history.source.disabled == ("list" not in studio.client.operations)
    task = await studio.submit("a lighthouse at dusk").result()
    assert task.succeeded and task.dialect == dialect
    await studio.gallery.loading
    assert studio.gallery.main_image.value


async def test_evolink_disables_version_in_the_form():
    studio = Studio(dialect="evolink")
    version = studio.form.controls["version"]
    assert version.disabled and "not accepted by evolink" in version.tooltip


async def test_a_key_is_never_shown_back():
    import mjnb._config

    url = mjnb._config.embedded_simulator().url("mjproxy")
    studio = Studio()
    studio.base_url.value = url
    studio.api_key.value = SECRET
    studio.connect_button.click()
    assert not studio.client.embedded and studio.client.base_url == url
    assert studio.api_key.value == ""  # gone from the widget at once
    assert "key set (hidden)" in studio.connection_status.value
    for text in (repr(studio), repr(studio.client), str(studio.connection_status.value), widget_state_text(studio)):
        assert SECRET not in text
    task = await studio.submit("a lighthouse at dusk").result()  # the embedded simulator takes any key
    assert task.succeeded
    assert SECRET not in widget_state_text(studio)


async def test_a_refused_key_is_said_in_plain_words_without_the_key(strict_simulator):
    studio = Studio()
    studio.base_url.value = strict_simulator.url("mjproxy")
    studio.api_key.value = SECRET
    studio.connect_button.click()
    job = studio.submit("a lighthouse at dusk")
    with pytest.raises(mjnb.AuthenticationError):
        await job.result()
    assert "The service refused the API key" in job.error_widget.value
    assert job.status_text == "error"
    assert SECRET not in job.error_widget.value and SECRET not in widget_state_text(studio)


async def test_half_a_connection_names_the_missing_field_keeps_the_url_and_forgets_the_key():
    studio = Studio()
    before = studio.client
    studio.api_key.value = SECRET
    studio.connect_button.click()
    assert "base_url" in studio.connection_status.value and SECRET not in studio.connection_status.value
    assert studio.api_key.value == ""  # a key is never left in widget state, even after a failed Connect
    assert SECRET not in widget_state_text(studio)
    assert studio.client is before
    studio.api_key.value = ""
    studio.base_url.value = "https://api.example.com"
    studio.connect_button.click()
    assert "api_key" in studio.connection_status.value
    assert studio.base_url.value == "https://api.example.com" and studio.client is before


async def test_a_sync_client_is_accepted():
    with mjnb.Client("acedata") as client:
        studio = Studio(client)
        assert isinstance(studio.client, mjnb.AsyncClient) and studio.client.dialect == "acedata"
        task = await studio.submit("a fox").result()
        assert task.succeeded


def test_css_classes_of_the_main_parts():
    studio = Studio()
    for widget, name in [
        (studio, "mjnb-studio"),
        (studio.form, "mjnb-prompt"),
        (studio.form.submit_button, "mjnb-submit"),
        (studio.progress, "mjnb-progress"),
        (studio.gallery, "mjnb-gallery"),
        (studio.history, "mjnb-history"),
        (studio.gallery.save_button, "mjnb-save"),
        (studio.gallery.edit_button, "mjnb-edit"),
        (studio.api_key, "mjnb-api-key"),
        (studio.dialect_select, "mjnb-dialect"),
        (studio.tabs, "mjnb-tabs"),
    ]:
        assert name in widget._dom_classes, name
    assert isinstance(studio.api_key, __import__("ipywidgets").Password)


async def test_a_service_from_the_environment_is_used_and_never_sent_another_dialect(strict_simulator, monkeypatch):
    monkeypatch.setenv("MJNB_DIALECT", "acedata")
    monkeypatch.setenv("MJNB_BASE_URL", strict_simulator.url("acedata"))
    monkeypatch.setenv("MJNB_API_KEY", "sk-the-right-key")
    studio = Studio()
    assert studio.client.dialect == "acedata" and not studio.client.embedded
    assert "key set (hidden)" in studio.connection_status.value and "sk-the-right-key" not in widget_state_text(studio)
    task = await studio.submit("a lighthouse at dusk").result()
    assert task.succeeded
    before = studio.client
    studio.dialect_select.value = "evolink"
    assert studio.client is before and "Press Connect to use evolink" in studio.connection_status.value
    studio.connect_button.click()  # the acedata URL and key must not be used to speak evolink
    assert studio.client is before
    assert "base_url: the environment configures a acedata service" in studio.connection_status.value
    studio.base_url.value = "https://api.evolink.example"
    studio.connect_button.click()  # nor the acedata key sent to another host
    assert studio.client is before
    assert "api_key: type the key of the service at https://api.evolink.example" in studio.connection_status.value
