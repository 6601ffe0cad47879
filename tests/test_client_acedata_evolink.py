"""The AceData and EvoLink dialects through Client and AsyncClient, against the simulator over HTTP."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

import mjnb
from mjnb import TaskStatus


def _rect_mask(size, box):
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle(box, fill=255)
    return mask


def _changed_only_inside(before: Image.Image, after: Image.Image, box) -> None:
    a = np.asarray(before.convert("RGB").resize(after.size), dtype=float)
    b = np.asarray(after.convert("RGB"), dtype=float)
    sx, sy = after.width / before.width, after.height / before.height
    x0, y0, x1, y1 = (int(box[0] * sx), int(box[1] * sy), int(box[2] * sx), int(box[3] * sy))
    diff = np.abs(a - b).mean(axis=2)
    inside = diff[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4]
    outside = diff.copy()
    outside[max(0, y0 - 8) : y1 + 8, max(0, x0 - 8) : x1 + 8] = 0
    assert inside.mean() > 10 and outside.mean() < 2


async def test_acedata_streamed_imagine_upscale_and_vary_region(make_client):
    client = make_client("acedata")
    seen = []
    task = await client.imagine("a glass teapot on a desk", wait=True, on_progress=seen.append)
    assert task.succeeded and task.image_id and task.action_names[:4] == ("U1", "U2", "U3", "U4")
    progresses = [t.progress for t in seen if t.progress is not None]
    assert len(set(progresses)) >= 2 and progresses == sorted(progresses)  # live progress, one request

    up = await client.wait(await client.upscale(task, 3))
    assert up.succeeded and "vary_region" in up.action_names
    before = await client.download(up)
    box = (before.width // 4, before.height // 4, before.width // 2, before.height // 2)
    region = await client.wait(await client.inpaint(up, _rect_mask(before.size, box), "a red lid"))
    after = await client.download(region, split=True)
    _changed_only_inside(before, after[0], box)


async def test_acedata_polled_task_describe_shorten_seed_and_listing(make_client):
    client = make_client("acedata")
    task = await client.imagine("a polled cat")
    assert task.status is TaskStatus.QUEUED  # async submit answers with the task id at once
    done = await client.wait(task)
    assert done.succeeded and done.size is not None
    described = await client.describe(Image.new("RGB", (300, 200), (10, 120, 30)))
    assert described.succeeded and len(described.texts) == 4 and "--ar 3:2" in described.texts[0]
    shortened = await client.shorten("an extremely long prompt about a castle, towers, flags, dawn light and mist")
    assert shortened.succeeded and shortened.texts
    assert (await client.seed(done)).isdigit()
    page = await client.tasks(page=1, page_size=50)
    assert done.id in [t.id for t in page.items]
    # AceData blends by imagining with the images' URLs: local images are refused before sending.
    with pytest.raises(mjnb.ValidationError) as info:
        await client.blend([Image.new("RGB", (64, 64)), Image.new("RGB", (64, 64))])
    assert info.value.field == "images" and "URL" in str(info.value)
    urls = [done.image_url, "https://example.com/forest.png"]  # the simulator draws what it cannot fetch
    blended = await client.wait(await client.blend(urls, "LANDSCAPE"), timeout=60)
    assert blended.succeeded


async def test_acedata_edit_with_mask_changes_only_the_mask(make_client):
    client = make_client("acedata")
    source = Image.new("RGB", (512, 512), (200, 200, 200))
    box = (128, 128, 384, 384)
    edited = await client.wait(await client.edit(source, _rect_mask(source.size, box), "a yellow star"))
    assert edited.succeeded and len(edited.image_urls) == 4
    _changed_only_inside(source, (await client.download(edited, split=True))[0], box)


async def test_evolink_imagine_upscale_inpaint_and_reposition(make_client):
    client = make_client("evolink")
    task = await client.wait(await client.imagine("a paper boat on a pond"))
    assert task.succeeded and len(task.image_urls) == 4 and task.image_url is None
    images = await client.download(task)
    assert len(images) == 4

    up = await client.wait(await client.upscale(task, 2))
    assert up.succeeded and "U1" not in up.action_names
    before = await client.download(up)
    if isinstance(before, list):
        before = before[0]
    box = (before.width // 4, before.height // 4, 3 * before.width // 4, 3 * before.height // 4)
    painted = await client.wait(await client.inpaint(up, _rect_mask(before.size, box), "a small frog"))
    after = await client.download(painted)
    _changed_only_inside(before, after[0] if isinstance(after, list) else after, box)

    canvas, image_box = (1024, 768), (100, 50, 512, 512)
    moved = await client.wait(await client.reposition(task, canvas, image_box, "a wide pond at sunset", index=0))
    result = (await client.download(moved))[0]
    assert result.size == canvas
    source = images[0].convert("RGB").resize((512, 512))
    placed = result.convert("RGB").crop((100, 50, 612, 562))
    assert np.abs(np.asarray(placed, float) - np.asarray(source, float)).mean() < 3


async def test_evolink_rules_checked_before_sending(make_client, simulator):
    client = make_client("evolink")
    before = simulator.state.jobs_created
    with pytest.raises(mjnb.ValidationError) as info:
        await client.imagine("a cat", callback_url="http://127.0.0.1/hook")
    assert info.value.field == "callback_url"
    with pytest.raises(mjnb.ValidationError) as info:
        await client.imagine("a cat --niji 6")
    assert info.value.field == "--niji"
    with pytest.raises(mjnb.UnsupportedOperation):
        await client.describe(Image.new("RGB", (64, 64)))
    with pytest.raises(mjnb.TaskNotFound):
        await client.get("task-unified-1700000000-abcdefgh")
    assert simulator.state.jobs_created == before


async def test_evolink_callback_delivered_to_a_loopback_receiver(simulator, tmp_path):
    import asyncio
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    bodies = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            bodies.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        async with mjnb.AsyncClient(
            "evolink",
            simulator.url("evolink"),
            "sk-test",
            journal=tmp_path / "j.sqlite",
            poll_interval=0.05,
            allow_insecure_callbacks=True,
        ) as client:
            task = await client.imagine(
                "a called-back kite", callback_url=f"http://127.0.0.1:{server.server_port}/hook"
            )
            await client.wait(task)
            for _ in range(100):
                if bodies:
                    break
                await asyncio.sleep(0.05)
        assert bodies and bodies[-1]["id"] == task.id and bodies[-1]["status"] == "completed"
    finally:
        server.shutdown()


async def test_acedata_translate_returns_english(make_client):
    client = make_client("acedata")
    translated = await client.translate("精致，无暇，洁白的天使")  # the §2.4 example
    assert translated.succeeded and translated.kind == "TRANSLATE"
    assert translated.texts == ("Exquisite, flawless, pure white angel",)
    assert translated.id.startswith("translate-") and translated.prompt == "精致，无暇，洁白的天使"
    with pytest.raises(mjnb.ValidationError) as info:
        await client.translate("   ")
    assert info.value.field == "text"


async def test_evolink_retexture_completes_with_four_images(make_client):
    client = make_client("evolink")
    photo = Image.new("RGB", (256, 256), (180, 90, 40))
    submitted = await client.retexture(photo, "carved in green jade", speed="turbo")
    # The chosen speed stays in the prompt as Midjourney writes it, so a reroll after a restart keeps it.
    assert submitted.kind == "mj-v7-retexture" and submitted.prompt == "carved in green jade --turbo"
    done = await client.wait(submitted)
    assert done.succeeded and done.kind == "mj-v7-retexture" and len(done.image_urls) == 4
    assert done.action_names[:4] == ("U1", "U2", "U3", "U4")
    images = await client.download(done, split=True)
    assert len(images) == 4 and all(i.width > 0 for i in images)
    with pytest.raises(mjnb.ValidationError) as info:
        await client.retexture(photo, "  ")
    assert info.value.field == "prompt"


async def test_evolink_remove_bg_completes_with_one_transparent_cutout(make_client):
    client = make_client("evolink")
    subject = Image.new("RGB", (256, 256), (235, 235, 235))
    ImageDraw.Draw(subject).ellipse((64, 64, 192, 192), fill=(200, 30, 30))
    cut = await client.wait(await client.remove_bg(subject))
    assert cut.succeeded and cut.kind == "mj-v7-remove-bg" and len(cut.image_urls) == 1
    assert cut.image_url == cut.image_urls[0] and cut.actions == ()
    image = await client.download(cut)  # one result: one image
    assert image.mode == "RGBA"
    alpha = np.asarray(image)[:, :, 3]
    assert alpha.min() == 0 and alpha.max() == 255  # a real cut-out: some pixels transparent, some kept


@pytest.mark.parametrize(
    "dialect, verb, args, offered",
    [
        ("mjproxy", "translate", ("bonjour",), "acedata"),
        ("newapi", "translate", ("bonjour",), "acedata"),
        ("mjproxy", "retexture", ("https://c.example/a.png", "jade"), "evolink"),
        ("acedata", "remove_bg", ("https://c.example/a.png",), "evolink"),
    ],
)
async def test_other_dialects_refuse_and_name_who_offers(make_client, dialect, verb, args, offered):
    client = make_client(dialect)
    with pytest.raises(mjnb.UnsupportedOperation) as info:
        await getattr(client, verb)(*args)
    assert info.value.dialect == dialect and offered in str(info.value)
