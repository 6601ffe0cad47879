"""The Studio's modes beside Imagine, headless, on the embedded simulator: each one reached with an
upload, what it sends read back from the journal, and the reason shown where a dialect lacks it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import mjnb
from mjnb.widgets import Studio

from .test_editor import drag
from .test_studio import SECRET, widget_state_text


def png(color: str = "teal", size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def upload(field, *files: tuple[str, bytes]) -> None:
    """What the browser's FileUpload sends when the user picks ``files``."""
    field.upload.set_state(
        {
            "value": [
                {"name": name, "type": "image/png", "size": len(data), "content": memoryview(data), "last_modified": 0}
                for name, data in files
            ]
        }
    )


def journal_ops(client) -> list[str]:
    return [e.op for e in client.journal.entries()]


def sent(client, op: str) -> dict:
    return next(e.request for e in client.journal.entries() if e.op == op)


async def test_describe_an_upload_then_pick_a_prompt_into_the_form():
    studio = Studio()
    studio.mode_buttons.value = "describe"
    assert studio.mode == "describe" and studio.mode_area.children == (studio.panels["describe"],)
    panel = studio.panels["describe"]
    upload(panel.upload, ("harbour.png", png("navy")))
    assert panel.upload.count == 1 and panel.upload.upload.value == ()  # decoded in the kernel, not kept in state
    assert panel.upload.thumbs.children[0].children[1].value == "harbour.png · 320×240"
    panel.run_button.click()
    task = await panel.last_job.result()
    assert task.succeeded and len(task.texts) == 4
    choices = [b for b in panel.results.children if "mjnb-describe-choice" in getattr(b, "_dom_classes", ())]
    assert [b.description for b in choices] == list(task.texts)
    choices[2].click()
    assert studio.mode == "imagine" and studio.mode_area.children == (studio.imagine_panel,)
    assert studio.form.prompt == task.texts[2]
    assert sent(studio.client, "describe")["base64"].startswith("<")  # the upload itself went, as a data URL


async def test_a_file_that_is_not_an_image_is_refused_inline_and_nothing_is_sent():
    studio = Studio()
    panel = studio.panels["describe"]
    upload(panel.upload, ("notes.png", b"this is not a picture"))
    assert "notes.png" in panel.upload.error and panel.upload.message.layout.display is None
    assert panel.upload.count == 0
    assert panel.run() is None
    assert "image: give 1 image(s)" in panel.message.value
    assert studio.progress.jobs == [] and journal_ops(studio.client) == []


async def test_blend_takes_two_to_five_uploads_and_shows_the_result():
    studio = Studio()
    studio.mode = "blend"
    panel = studio.panels["blend"]
    assert panel.upload.url.layout.display == "none" and "upload 2 to 5 files" in panel.upload.note.value
    upload(panel.upload, ("a.png", png("red")))
    assert panel.run() is None and "give 2 to 5 image(s)" in panel.message.value
    upload(panel.upload, ("b.png", png("gold")), ("c.png", png("plum")))
    panel.dimensions.value = "LANDSCAPE"
    task = await panel.run().result()
    assert task.succeeded and task.kind == "BLEND"
    await studio.gallery.loading
    assert studio.gallery.task == task and studio.tabs.selected_index == 0
    body = sent(studio.client, "blend")
    assert len(body["base64Array"]) == 3 and body["dimensions"] == "LANDSCAPE"


async def test_shorten_prefills_from_the_form_and_a_choice_goes_back():
    studio = Studio()
    studio.form.prompt_text.value = "a very long prompt about a lighthouse at dusk with waves and gulls"
    studio.mode = "shorten"
    panel = studio.panels["shorten"]
    assert panel.text.value == studio.form.prompt
    task = await panel.run().result()
    choices = [b for b in panel.results.children if "mjnb-shorten-choice" in getattr(b, "_dom_classes", ())]
    assert [b.description for b in choices] == list(task.texts) and len(choices) >= 2
    choices[-1].click()
    assert studio.form.prompt == task.texts[-1] and studio.mode == "imagine"


async def test_translate_on_acedata_and_its_reason_elsewhere():
    studio = Studio()
    panel = studio.panels["translate"]
    assert panel.run_button.disabled
    assert "'translate' is not supported by the mjproxy dialect; offered by: acedata" in panel.reason.value
    assert panel.run() is None and studio.progress.jobs == []
    studio.dialect_select.value = "acedata"
    assert not panel.run_button.disabled and panel.reason.layout.display == "none"
    panel.text.value = "un phare au crépuscule"
    task = await panel.run().result()
    assert task.succeeded and task.kind == "TRANSLATE"
    choice = panel.results.children[-1]
    assert "mjnb-translate-choice" in choice._dom_classes and choice.description == task.texts[0]
    choice.click()
    assert studio.form.prompt_text.value == task.texts[0]


@pytest.mark.parametrize("mode", ["retexture", "remove_bg"])
async def test_evolink_only_modes_say_so_elsewhere_and_run_on_evolink(mode):
    studio = Studio()
    panel = studio.panels[mode]
    assert panel.run_button.disabled and "offered by: evolink" in panel.reason.value
    tip = studio.mode_buttons.tooltips[list(studio.panels).index(mode) + 1]
    assert "not supported by the mjproxy dialect" in tip
    studio.dialect_select.value = "evolink"
    assert not panel.run_button.disabled
    upload(panel.upload, ("cat.png", png("orange")))
    if mode == "retexture":
        assert panel.run() is None and "prompt: retexture needs a prompt" in panel.message.value
        panel.prompt.value = "stained glass"
    task = await panel.run().result()
    assert task.succeeded
    await studio.gallery.loading
    assert studio.gallery.task == task and studio.gallery.main_image.value


@pytest.mark.parametrize("dialect", ["acedata", "evolink"])  # the edits that take a mask
async def test_edit_an_uploaded_image_on_the_canvas_shows_the_result(dialect):
    studio = Studio(dialect=dialect)
    studio.mode = "edit_image"
    panel = studio.panels["edit_image"]
    upload(panel.upload, ("room.png", png("beige", (512, 512))))
    panel.run_button.click()
    editor = panel.editor
    assert editor is not None and panel.editor_area.children == (editor,)
    assert editor.image.size == (512, 512)
    editor.controls.brush_size.value = 40
    drag(editor, [(100, 100), (200, 150), (300, 200)])
    task = await editor.submit("a red armchair").result()
    await studio.gallery.loading
    assert task.succeeded and panel.result == task and studio.gallery.task == task
    assert "edit" in journal_ops(studio.client)
    # the editor shows the result beside the source (its own result panel)
    assert editor.result == task and editor.controls.result_panel.layout.display != "none"


async def test_edit_on_canvas_of_an_upscale_opens_vary_region_in_the_edit_mode():
    studio = Studio()
    await studio.submit("a lighthouse at dusk").result()
    await studio.gallery.loading
    upscaled = await studio.gallery.run_action("U2").result()
    await studio.gallery.loading
    assert "vary_region" in upscaled.action_names
    studio.gallery.edit_button.click()
    panel = studio.panels["edit_image"]
    assert studio.mode == "edit_image" and panel.editor is not None
    assert panel.editor.task == upscaled and panel.editor.plan_for().operation == "inpaint"


async def test_niji_callback_url_and_uploaded_image_prompts_reach_the_imagine():
    studio = Studio()
    studio.form.prompt_text.value = "a fox in the snow"
    studio.bot.value = "niji"
    studio.callback_url.value = "https://hooks.example.com/mj"
    upload(studio.image_prompts, ("ref.png", png("white")))
    task = await studio.submit().result()
    assert task.succeeded
    body = sent(studio.client, "imagine")
    assert body["botType"] == "NIJI_JOURNEY" and body["notifyHook"] == "https://hooks.example.com/mj"
    assert len(body["base64Array"]) == 1


async def test_a_bad_callback_url_is_refused_before_anything_is_sent():
    studio = Studio()
    studio.callback_url.value = "https://hooks.example.com:99999/x"
    job = studio.submit("a fox")
    with pytest.raises(mjnb.ValidationError, match="callback_url"):
        await job.result()
    assert "callback_url" in job.error_widget.value and journal_ops(studio.client) == []


@pytest.mark.parametrize("dialect", ["acedata", "evolink"])
async def test_url_only_services_say_so_for_image_prompt_uploads(dialect):
    studio = Studio(dialect=dialect)
    assert studio.image_prompts.upload.disabled
    assert f"{dialect} takes image prompts only as http(s) URLs" in studio.image_prompts.note.value
    if dialect == "evolink":
        assert studio.bot.disabled and studio.bot.value == "mj"
    studio.dialect_select.value = "mjproxy"
    assert not studio.image_prompts.upload.disabled and not studio.bot.disabled
    assert "--sref, --oref, --cref" in studio.image_prompts.note.value


def test_every_mode_has_its_css_class():
    studio = Studio()
    expected = {
        "describe": "mjnb-describe",
        "blend": "mjnb-blend",
        "shorten": "mjnb-shorten",
        "translate": "mjnb-translate",
        "edit_image": "mjnb-edit-image",
        "retexture": "mjnb-retexture",
        "remove_bg": "mjnb-remove-bg",
    }
    assert {name: p.css for name, p in studio.panels.items()} == expected
    for name, css in expected.items():
        assert css in studio.panels[name]._dom_classes
    assert "mjnb-upload" in studio.panels["describe"].upload.upload._dom_classes
    assert "mjnb-modes" in studio.mode_buttons._dom_classes


async def test_the_key_field_is_empty_after_a_failed_connect():
    studio = Studio()
    before = studio.client
    studio.api_key.value = SECRET
    studio.connect_button.click()  # a key with no base URL: refused
    assert studio.client is before and "base_url" in studio.connection_status.value
    assert studio.api_key.value == ""  # the key is gone all the same
    assert SECRET not in widget_state_text(studio) and SECRET not in repr(studio)
    studio.api_key.value = SECRET
    with pytest.raises(mjnb.ValidationError):
        studio.connect(base_url="", api_key="sk-another")  # from code, while a key is typed
    assert studio.api_key.value == "" and SECRET not in widget_state_text(studio)


def test_the_mode_is_a_trait_that_observe_and_link_work_on():
    studio = Studio()
    seen = []
    studio.observe(lambda change: seen.append(change["new"]), names="mode")
    studio.mode_buttons.value = "blend"
    studio.mode = "imagine"
    assert seen == ["blend", "imagine"] and studio.mode_buttons.value == "imagine"


async def test_the_walk_headless_describe_pick_submit_v1_edit_paint_submit_compare():
    """Issue 13 §7's walk, without a browser (the browser test repeats it in JupyterLab)."""
    studio = Studio(dialect="acedata")
    studio.mode = "describe"
    describe = studio.panels["describe"]
    upload(describe.upload, ("harbour.png", png("navy", (512, 512))))
    await describe.run().result()
    [b for b in describe.results.children if "mjnb-describe-choice" in getattr(b, "_dom_classes", ())][0].click()
    grid = await studio.submit().result()
    await studio.gallery.loading
    variation = await studio.gallery.run_action("V1").result()
    await studio.gallery.loading
    assert studio.gallery.task == variation
    studio.gallery.select(0)
    studio.gallery.edit_button.click()
    panel = studio.panels["edit_image"]
    editor = panel.editor
    assert studio.mode == "edit_image" and editor.image.size == studio.gallery.images[0].size
    assert editor.plan_for().operation == "edit"  # a grid has no Vary (Region): its image is edited
    editor.controls.brush_size.value = 40
    drag(editor, [(100, 100), (200, 150), (300, 200)])
    edited = await editor.submit("a red lighthouse").result()
    await studio.gallery.loading
    assert edited.succeeded and panel.result == edited and editor.controls.result_panel.layout.display != "none"
    assert [e.op for e in studio.client.journal.entries()][::-1] == ["describe", "imagine", "action", "edit"]
    assert grid.id != variation.id != edited.id


async def test_closing_the_studio_closes_the_clients_it_made_and_only_those(client):
    studio = Studio()
    first = studio.client
    studio.dialect_select.value = "acedata"  # Connect makes a second one
    second = studio.client
    assert first is not second
    studio.close()
    for handle in studio.closing:
        await handle
    assert first._transport._client.is_closed and second._transport._client.is_closed
    given = Studio(client)
    given.close()
    assert given.closing == [] and not client._transport._client.is_closed  # the user's client stays open
