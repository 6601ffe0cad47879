"""Gallery against the embedded simulator: the image from bytes, sub-images, follow-ups, Save, Edit."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import mjnb
from mjnb.images import read_png_metadata
from mjnb.widgets import Gallery, ProgressView
from mjnb.widgets._gallery import action_class
from mjnb.widgets._style import action_text


def decoded(image_widget) -> Image.Image:
    return Image.open(io.BytesIO(image_widget.value))


async def imagined(client, prompt: str = "a lighthouse at dusk --ar 3:2 --s 250"):
    return await client.imagine(prompt, wait=True)


async def test_a_grid_shows_from_bytes_with_four_selectable_sub_images(client):
    task = await imagined(client)
    whole = await client.download(task)
    gallery = Gallery(client=client)
    await gallery.show(task)
    shown = decoded(gallery.main_image)
    assert shown.size == whole.size  # full resolution, fetched by the kernel
    assert task.image_url not in str(gallery.get_state())  # the browser never gets the provider URL
    subs = [c for c in gallery.thumbs.children if "mjnb-subimage" in c._dom_classes]
    assert len(subs) == 4
    gallery.select(2)
    assert gallery.selected == 2
    assert decoded(gallery.main_image).size == (whole.width // 2, whole.height // 2)
    assert "mjnb-subimage-selected" in subs[2]._dom_classes
    assert "mjnb-subimage-selected" not in subs[0]._dom_classes
    subs[1].children[1].click()  # the "2" button under the second thumbnail
    assert gallery.selected == 1
    all_button = gallery.thumbs.children[-1]
    assert all_button.description == "All"
    all_button.click()
    assert gallery.selected is None and decoded(gallery.main_image).size == whole.size


async def test_one_button_per_follow_up_the_task_allows(client):
    task = await imagined(client)
    gallery = Gallery(task, client=client)
    await gallery.loading
    buttons = list(gallery.actions.children)
    assert [b.description for b in buttons] == [action_text(a) for a in task.actions]
    for button, action in zip(buttons, task.actions):
        assert {"mjnb-action", action_class(action.name)} <= set(button._dom_classes)
    assert {"U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"} <= set(task.action_names)


async def test_clicking_u1_submits_the_upscale_and_shows_it(client):
    task = await imagined(client)
    progress = ProgressView(client)
    gallery = Gallery(task, client=client, progress=progress)
    await gallery.loading
    next(b for b in gallery.actions.children if b.description == task.action("U1").label).click()
    assert len(progress.jobs) == 1
    job = progress.jobs[0]
    upscaled = await job.result()  # on_done awaited the gallery: the image is in
    assert upscaled.succeeded and upscaled.id != task.id
    assert job.status_text == "done" and job.bar.value == 100
    assert gallery.task == upscaled
    assert gallery.images == [] and gallery.thumbs.children == ()  # a single image: nothing to choose
    assert decoded(gallery.main_image).size == (await client.download(upscaled)).size
    assert [b.description for b in gallery.actions.children] == [action_text(a) for a in upscaled.actions]
    gallery.back_button.click()  # back to the grid
    await gallery.loading
    assert gallery.task == task


async def test_save_writes_a_png_with_prompt_parameters_and_task_id(client, tmp_path):
    task = await imagined(client)
    gallery = Gallery(task, client=client)
    await gallery.loading
    assert gallery.save_path.value == f"./mjnb-{task.id}.png"
    target = tmp_path / "lighthouse.png"
    gallery.save_path.value = str(target)
    gallery.select(1)
    gallery.save_button.click()
    meta = read_png_metadata(target)
    assert meta["task_id"] == task.id and meta["prompt"] == task.prompt
    assert meta["parameters"] == {"ar": "3:2", "s": "250"}
    assert meta["image_index"] == 1
    assert Image.open(target).size == gallery.images[1].size
    assert f"Saved {target}" in gallery.message.value
    before = target.read_bytes()
    gallery.select(None)
    gallery.save_button.click()  # the same name again: refused, nothing overwritten
    assert "already exists" in gallery.message.value and target.read_bytes() == before
    gallery.save_path.value = str(tmp_path / "lighthouse.jpg")
    gallery.save_button.click()
    assert "must end with .png" in gallery.message.value
    gallery.save_path.value = str(tmp_path / "no-such-folder" / "x.png")
    gallery.save_button.click()
    assert "does not exist" in gallery.message.value


async def test_edit_on_canvas_hands_over_the_task_and_the_chosen_image(client):
    task = await imagined(client)
    gallery = Gallery(task, client=client)
    await gallery.loading
    calls = []
    gallery.on_edit(lambda t, image: calls.append((t, image.size)))
    assert "mjnb-edit" in gallery.edit_button._dom_classes
    gallery.edit_button.click()
    gallery.select(3)
    gallery.edit_button.click()
    whole = gallery.image.size
    assert calls == [(task, whole), (task, (whole[0] // 2, whole[1] // 2))]


async def test_edit_on_canvas_opens_the_canvas_editor_by_default(client):
    task = await imagined(client)
    gallery = Gallery(task, client=client)
    await gallery.loading
    gallery.select(0)
    gallery.edit_button.click()
    editor = gallery.editor_area.children[0]
    assert type(editor).__name__ == "CanvasEditor"
    assert editor.image.size == gallery.images[0].size


async def test_vary_region_opens_the_editor_instead_of_submitting(client):
    task = await imagined(client)
    upscaled = await client.wait(await client.upscale(task, 1))
    if "vary_region" not in upscaled.action_names:
        pytest.skip("this dialect offers no vary_region on an upscale")
    progress = ProgressView(client)
    gallery = Gallery(upscaled, client=client, progress=progress)
    await gallery.loading
    calls = []
    gallery.on_edit(lambda t, image: calls.append(t.id))
    gallery.actions.children[upscaled.action_names.index("vary_region")].click()
    assert calls == [upscaled.id] and progress.jobs == []


async def test_a_follow_up_that_needs_a_prompt_asks_for_it_first(client):
    task = await imagined(client)
    upscaled = await client.wait(await client.upscale(task, 1))
    asking = [a for a in upscaled.actions if a.needs_input and a.name != "vary_region"]
    if not asking:
        pytest.skip("no prompt-asking follow-up on this task")
    action = asking[0]
    progress = ProgressView(client)
    gallery = Gallery(upscaled, client=client, progress=progress)
    await gallery.loading
    gallery.actions.children[upscaled.action_names.index(action.name)].click()
    assert progress.jobs == [] and gallery.action_prompt_box.layout.display != "none"
    assert gallery.action_prompt.value.startswith(upscaled.prompt or "")
    gallery.action_send.click()
    result = await progress.jobs[0].result()
    assert result.succeeded and gallery.task == result


async def test_separate_images_show_as_four_choices(make_client):
    client = make_client("evolink")
    task = await client.imagine("a lighthouse at dusk", wait=True)
    assert task.image_url is None and len(task.image_urls) > 1
    gallery = Gallery(task, client=client)
    await gallery.loading
    assert len(gallery.images) == len(task.image_urls)
    first = await client.download(task)
    gallery.select(0)
    assert decoded(gallery.main_image).size == first[0].size


async def test_a_task_without_an_image_says_so(client):
    view = ProgressView(client)
    job = view.start("a fox", lambda c: c.imagine("a fox"))
    await job.result()
    gallery = Gallery(client=client)
    failed = job.task.evolve(status=mjnb.TaskStatus.FAILED, image_url=None, fail_reason="Banned prompt", actions=())
    await gallery.show(failed)
    assert "The job failed: Banned prompt" in gallery.message.value
    assert gallery.save_button.disabled and gallery.edit_button.disabled


async def test_a_running_task_is_followed_and_its_image_shown_when_done(slow_client):
    progress = ProgressView(slow_client)
    gallery = Gallery(client=slow_client, progress=progress)
    running = await slow_client.imagine("a slow lighthouse")  # submitted, not waited for
    assert not running.done
    await gallery.show(running)
    assert "no image yet" in gallery.message.value
    assert len(progress.jobs) == 1 and progress.jobs[0].label.startswith("following")
    final = await progress.jobs[0].result()
    assert final.succeeded and gallery.task == final
    await gallery.loading
    assert gallery.main_image.value and len(gallery.images) == 4
    gallery.show(running)  # reopening the old snapshot: a new follow starts, not a duplicate row
    assert len(progress.jobs) == 2
    await progress.jobs[1].result()


@pytest.fixture
async def video_client(tmp_path):
    """A client on a simulator whose next imagine ends as a VIDEO task (the trueai proxy fork)."""
    from mjnb.sim import Simulator

    with Simulator(duration=0.3) as sim:
        sim.state.faults.add("video_result", path="/mjproxy/mj/submit/imagine")
        made = mjnb.AsyncClient(
            "mjproxy",
            base_url=sim.url("mjproxy"),
            api_key="sk-widgets-test",
            journal=tmp_path / "journal.sqlite",
            poll_interval=0.1,
        )
        yield made
        await made.aclose()


async def test_a_video_task_plays_from_bytes_with_its_thumbnail(video_client):
    task = await video_client.imagine("a quiet harbour --video 1", wait=True)
    assert task.is_video and task.thumbnail_urls
    gallery = Gallery(task, client=video_client)
    await gallery.loading
    data = await video_client.download_video(task)
    assert gallery.video_player.value == data and gallery.video_player.format == "mp4" and data[4:8] == b"ftyp"
    assert gallery.video_box.layout.display is None and gallery.main_image.layout.display == "none"
    assert gallery.video_thumbnail.layout.display is None and decoded(gallery.video_thumbnail).width > 0
    assert {"mjnb-gallery-video"} <= set(gallery.video_player._dom_classes)
    state = str(gallery.get_state()) + str(gallery.video_player.get_state(key="layout"))
    assert all(url not in state for url in (*task.video_urls, *task.thumbnail_urls))  # bytes, never URLs
    assert gallery.message.value == ""
