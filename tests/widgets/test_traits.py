"""The ipywidgets idiom: every widget's state is a trait that ``observe`` and ``link`` work on, and
every event is ``on_<event>(callback, remove=False)``; widgets close the clients they made."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

import mjnb
from mjnb.widgets import CanvasEditor, Gallery, History, ProgressView, PromptForm


def changes(owner, name: str) -> list:
    seen: list = []
    owner.observe(lambda change: seen.append(change["new"]), names=name)
    return seen


# -- PromptForm ------------------------------------------------------------------------------------
def test_form_prompt_and_value_are_observable_traits():
    form = PromptForm()
    prompts, values = changes(form, "prompt"), changes(form, "value")
    form.prompt_text.value = "a red fox"
    assert prompts == ["a red fox"] and values[-1]["prompt"] == "a red fox" and values[-1]["valid"]
    form.controls["s"].value = "250"
    assert prompts[-1] == "a red fox --s 250" and form.value["params"]["s"] == "250"


def test_form_prompt_links_both_ways_and_value_is_read_only():
    form, mirror = PromptForm(), widgets.Text()
    widgets.link((form, "prompt"), (mirror, "value"))
    form.prompt_text.value = "a lighthouse at dusk"
    assert mirror.value == "a lighthouse at dusk"
    mirror.value = "a harbour at night --s 300"  # assigning the trait loads it into the form
    assert form.prompt_text.value.startswith("a harbour at night") and form.prompt == "a harbour at night --s 300"
    with pytest.raises(mjnb.ValidationError, match="value: the form's value is read-only"):
        form.value = {"prompt": "x"}


def test_form_on_submit_registers_removes_and_takes_a_constructor_keyword():
    first, second = [], []
    form = PromptForm(prompt="a fox", on_submit=first.append)
    form.on_submit(second.append)
    form.submit_button.click()
    assert [v["prompt"] for v in first] == ["a fox"] and len(second) == 1
    form.on_submit(first.append, remove=True)
    form.submit_button.click()
    assert len(first) == 1 and len(second) == 2


def test_a_failing_submit_callback_is_shown_and_the_others_still_run():
    ran = []

    def broken(value):
        raise RuntimeError("the notebook's handler broke")

    form = PromptForm(prompt="a fox", on_submit=broken)
    form.on_submit(ran.append)
    form.submit_button.click()
    assert "the notebook&#x27;s handler broke" in form.message.value or "handler broke" in form.message.value
    assert "mjnb-error" in form.message.value and len(ran) == 1 and form.prompt_text.value == "a fox"


# -- ProgressView -----------------------------------------------------------------------------------
async def test_progress_tasks_trait_and_on_done(client):
    done, removed = [], []
    view = ProgressView(client, on_done=done.append)
    view.on_done(removed.append)
    view.on_done(removed.append, remove=True)
    seen = changes(view, "tasks")
    mirror = widgets.Label()
    widgets.dlink((view, "tasks"), (mirror, "value"), transform=lambda tasks: f"{len(tasks)} jobs")
    job = view.start("a fox", lambda c: c.imagine("a fox"))
    task = await job.result()
    assert view.tasks == (task,) and seen[-1] == (task,) and mirror.value == "1 jobs"
    assert all(isinstance(t, mjnb.Task) for step in seen for t in step)
    assert done == [task] and removed == []


async def test_a_failing_on_done_callback_is_shown_in_the_row(client):
    view = ProgressView(client)

    def broken(task):
        raise ValueError("cannot show it")

    view.on_done(broken)
    job = view.start("a fox", lambda c: c.imagine("a fox"))
    task = await job.result()
    assert task.succeeded and "Done, but showing the result failed: cannot show it" in job.message


# -- Gallery --------------------------------------------------------------------------------------------
async def test_gallery_task_and_selected_are_traits(client):
    task = await client.imagine("a lighthouse at dusk", wait=True)
    gallery = Gallery(client=client)
    tasks, picks = changes(gallery, "task"), changes(gallery, "selected")
    gallery.task = task  # assigning shows it, as show() does
    await gallery.loading
    assert tasks == [task] and gallery.image is not None and len(gallery.images) == 4
    label = widgets.Label()
    widgets.dlink((gallery, "selected"), (label, "value"), transform=lambda i: "all" if i is None else str(i + 1))
    gallery.thumbs.children[2].children[1].click()
    assert gallery.selected == 2 and picks[-1] == 2 and label.value == "3"
    with pytest.raises(mjnb.ValidationError, match="selected: 7 is not allowed; use 0–3 or None"):
        gallery.selected = 7
    assert gallery.selected == 2
    other = Gallery(client=client)
    widgets.link((gallery, "task"), (other, "task"))
    upscaled = await client.wait(await client.upscale(task, 1))
    gallery.show(upscaled)
    await other.loading
    assert other.task == upscaled and other.image is not None


async def test_gallery_events_register_and_remove(client):
    task = await client.imagine("a lighthouse at dusk", wait=True)
    acted, edited, lineage = [], [], []
    gallery = Gallery(
        task,
        client=client,
        on_action=lambda t, a: acted.append((t.id, a.name)),
        on_edit=lambda t, image: edited.append(t.id),
    )
    await gallery.loading
    assert gallery.lineage_button.layout.display == "none"  # nobody listens: no button
    gallery.on_lineage(lineage.append)
    assert gallery.lineage_button.layout.display is None and not gallery.lineage_button.disabled
    assert "mjnb-lineage-button" in gallery.lineage_button._dom_classes
    gallery.lineage_button.click()
    gallery.edit_button.click()
    next(b for b in gallery.actions.children if "mjnb-action-U2" in b._dom_classes).click()
    assert lineage == [task] and edited == [task.id] and acted == [(task.id, "U2")]
    await gallery.progress.jobs[-1].result()
    gallery.on_lineage(lineage.append, remove=True)
    assert gallery.lineage_button.layout.display == "none"


async def test_with_no_on_edit_callback_left_the_editor_opens(client):
    task = await client.imagine("a lighthouse at dusk", wait=True)
    calls = []
    callback = calls.append
    gallery = Gallery(task, client=client)
    await gallery.loading
    gallery.on_edit(lambda t, image: callback(t))
    gallery.edit_button.click()
    assert calls == [task] and gallery.editor_area.children == ()
    gallery.on_edit(gallery._edit_event.callbacks[0], remove=True)
    gallery.edit_button.click()
    assert type(gallery.editor_area.children[0]).__name__ == "CanvasEditor" and calls == [task]


# -- History -------------------------------------------------------------------------------------------
async def test_history_selected_links_to_a_gallery_and_on_open_removes(client):
    task = await client.imagine("a lighthouse at dusk", wait=True)
    opened = []
    history = History(client, on_open=opened.append)
    await history.loading
    gallery = Gallery(client=client)
    widgets.dlink((history, "selected"), (gallery, "task"))
    seen = changes(history, "selected")
    history.table.children[0].click()
    await history.opening
    await gallery.loading
    assert [t.id for t in opened] == [task.id] and seen[-1].id == task.id
    assert gallery.task.id == task.id and gallery.image is not None
    assert "mjnb-history-selected" in history.table.children[0]._dom_classes
    history.on_open(opened.append, remove=True)
    history.table.children[0].click()
    await history.opening
    assert len(opened) == 1 and history.gallery_area.children  # no callback left: the default Gallery


# -- CanvasEditor ----------------------------------------------------------------------------------------
def test_editor_mode_and_tool_are_traits_linked_to_controls():
    from PIL import Image

    editor = CanvasEditor(Image.new("RGB", (64, 48), "white"), client=mjnb.AsyncClient("evolink"), display_size=128)
    modes, tools = changes(editor, "mode"), changes(editor, "tool")
    picker = widgets.ToggleButtons(options=["inpaint", "reposition"])
    widgets.link((editor, "mode"), (picker, "value"))
    picker.value = "reposition"
    assert editor.mode == "reposition" and editor.tool == "move" and editor.controls.mode_reposition.value
    assert modes == ["reposition"] and tools[-1] == "move"
    editor.tool = "lasso"  # a painting tool takes the editor back to inpaint
    assert editor.mode == "inpaint" and picker.value == "inpaint" and editor.controls.tools["lasso"].value
    with pytest.raises(mjnb.ValidationError, match="tool: 'spray' is not allowed"):
        editor.tool = "spray"
    with pytest.raises(mjnb.ValidationError, match="mode: 'paint' is not allowed"):
        editor.mode = "paint"
    assert (editor.mode, editor.tool) == ("inpaint", "lasso")


async def test_editor_result_trait_and_on_result(make_client):
    client = make_client("evolink")
    grid = await client.imagine("a sailing boat at sunrise", wait=True)
    first, second = [], []
    editor = CanvasEditor(grid, index=0, client=client, display_size=256, mode="reposition", on_result=first.append)
    await editor.loading
    editor.on_result(second.append)
    editor.on_result(second.append, remove=True)
    results = changes(editor, "result")
    editor.set_canvas("16:9")
    task = await editor.submit("a wide harbour").result()
    assert editor.result == task and results == [task] and first == [task] and second == []


# -- closing ---------------------------------------------------------------------------------------------
async def test_closing_a_widget_closes_the_clients_it_made_and_only_those(client):
    task = await client.imagine("a fox", wait=True)
    gallery = Gallery(task)  # no client given: it makes one for the task's dialect
    await gallery.loading
    made = gallery.client
    assert made is not client
    gallery.close()
    for handle in gallery.closing:
        await handle
    assert made._transport._client.is_closed
    shared = Gallery(task, client=client)
    await shared.loading
    shared.close()
    assert shared.closing == [] and not client._transport._client.is_closed  # the user's client stays open
    assert (await client.get(task.id)).id == task.id
