"""The midjourney-proxy mount over real HTTP (PROTOCOLS §3)."""

from __future__ import annotations

import base64
import io
import re
import time

import httpx
import numpy as np
import pytest
from PIL import Image, ImageFilter

from mjnb.sim import render
from mjnb.sim.mjproxy import BANNED_WORDS

KEY = {"mj-api-secret": "any-key"}
FINAL = ("SUCCESS", "FAILURE")


class Proxy:
    def __init__(self, sim, headers=KEY) -> None:
        self.sim = sim
        self.http = httpx.Client(base_url=sim.url("mjproxy"), headers=headers, timeout=30)

    def submit(self, endpoint: str, body: dict) -> dict:
        response = self.http.post(f"/mj/submit/{endpoint}", json=body)
        assert response.status_code in (200, 404), response.text
        return response.json()

    def fetch(self, task_id: str) -> dict:
        return self.http.get(f"/mj/task/{task_id}/fetch").json()

    def wait(self, task_id: str) -> dict:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            task = self.fetch(task_id)
            if task["status"] in FINAL:
                return task
            time.sleep(0.02)
        pytest.fail(f"task {task_id} never finished")

    def run(self, endpoint: str, body: dict) -> dict:
        submitted = self.submit(endpoint, body)
        assert submitted["code"] == 1, submitted
        task = self.wait(submitted["result"])
        assert task["status"] == "SUCCESS", task
        return task

    def image(self, url: str) -> Image.Image:
        response = self.http.get(url)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        return Image.open(io.BytesIO(response.content)).convert("RGB")

    def button(self, task: dict, label: str) -> str:
        return next(b["customId"] for b in task["buttons"] if label in (b["label"], b["emoji"]))


@pytest.fixture
def proxy(sim):
    client = Proxy(sim)
    yield client
    client.http.close()


def _px(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int16)


def _edges(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float64).mean())


def _distance(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(_px(a) - _px(b.resize(a.size))).mean())


def _data_url(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def http():
    """One kept-alive client per test (a new httpx client per request costs ~80 ms of TLS setup)."""
    with httpx.Client(timeout=30) as client:
        yield client


# ---- lifecycle ------------------------------------------------------------------------------------------


def test_imagine_lifecycle_reports_rising_progress_and_a_grid(sim_factory):
    # Slower jobs than the module's: progress steps 0.3 s apart leave every step time to be seen.
    proxy = Proxy(sim_factory(duration=1.5))
    submitted = proxy.submit("imagine", {"prompt": "a lighthouse at dusk --ar 3:2", "state": "mine"})
    assert submitted["code"] == 1 and submitted["description"] == "Submit success"
    task_id = submitted["result"]
    assert re.fullmatch(r"\d{16}", task_id)
    seen, previews = [], []
    while True:
        task = proxy.fetch(task_id)
        seen.append((task["status"], task["progress"]))
        if task["status"] == "IN_PROGRESS" and task["imageUrl"]:
            previews.append(task["imageUrl"])
        if task["status"] in FINAL:
            break
        time.sleep(0.01)
    statuses = [s for s, _ in seen]
    assert statuses[-1] == "SUCCESS" and "IN_PROGRESS" in statuses
    assert statuses.index("IN_PROGRESS") > 0 and statuses[0] in ("NOT_START", "SUBMITTED")
    percents = [int(p[:-1]) for s, p in seen if s == "IN_PROGRESS"]
    assert len(set(percents)) >= 2 and percents == sorted(percents) and 0 < percents[0] < 100
    assert proxy.image(previews[-1]).size[0] > 0  # the preview is a real picture
    assert task["progress"] == "100%" and task["description"] == "/imagine a lighthouse at dusk --ar 3:2"
    assert task["state"] == "mine" and task["action"] == "IMAGINE"
    grid = proxy.image(task["imageUrl"])
    assert grid.size == (task["imageWidth"], task["imageHeight"]) == (1024, 680)
    assert task["submitTime"] <= task["startTime"] <= task["finishTime"] and task["submitTime"] > 10**12


def test_grid_buttons_follow_the_customid_grammar(proxy):
    task = proxy.run("imagine", {"prompt": "buttons please"})
    job_hash = task["properties"]["messageHash"]
    assert re.fullmatch(r"[0-9a-f-]{36}", job_hash)
    assert [b["customId"] for b in task["buttons"]] == [
        *(f"MJ::JOB::upsample::{i}::{job_hash}" for i in range(1, 5)),
        f"MJ::JOB::reroll::0::{job_hash}::SOLO",
        *(f"MJ::JOB::variation::{i}::{job_hash}" for i in range(1, 5)),
    ]
    assert [b["label"] for b in task["buttons"]] == ["U1", "U2", "U3", "U4", "", "V1", "V2", "V3", "V4"]
    assert all(b["type"] == 2 and b["style"] == 2 for b in task["buttons"])


def test_upscale_is_tile_two_at_the_tiles_size_with_more_detail(proxy):
    grid_task = proxy.run("imagine", {"prompt": "four pictures of a garden"})
    grid = proxy.image(grid_task["imageUrl"])
    upscale = proxy.run("action", {"taskId": grid_task["id"], "customId": proxy.button(grid_task, "U2")})
    assert upscale["action"] == "UPSCALE" and upscale["description"] == f"/up {grid_task['id']} U2"
    single = proxy.image(upscale["imageUrl"])
    tiles = [render.grid_tile(grid, i) for i in range(4)]
    # A grid of four is twice the tile's size per side: the 1024² grid gives 512² upscales.
    assert single.size == tiles[1].size == (grid.width // 2, grid.height // 2)
    distances = [_distance(tile, single) for tile in tiles]
    assert 0 < distances[1] < 3 and min(distances[0], distances[2], distances[3]) > 15
    assert _edges(single) > 1.1 * _edges(tiles[1])  # drawn again with detail, not cropped or blown up
    hash_ = upscale["properties"]["messageHash"]
    custom_ids = [b["customId"] for b in upscale["buttons"]]
    assert custom_ids == [
        f"MJ::JOB::upsample_v7_2x_subtle::1::{hash_}::SOLO",
        f"MJ::JOB::upsample_v7_2x_creative::1::{hash_}::SOLO",
        f"MJ::JOB::low_variation::1::{hash_}::SOLO",
        f"MJ::JOB::high_variation::1::{hash_}::SOLO",
        f"MJ::Inpaint::1::{hash_}::SOLO",
        f"MJ::Outpaint::50::1::{hash_}::SOLO",
        f"MJ::Outpaint::75::1::{hash_}::SOLO",
        f"MJ::CustomZoom::1::{hash_}",
        *(f"MJ::JOB::pan_{d}::1::{hash_}::SOLO" for d in ("left", "right", "up", "down")),
        f"MJ::JOB::reroll::0::{hash_}::SOLO",
    ]


def test_variation_resembles_its_tile_and_reroll_differs(proxy):
    grid_task = proxy.run("imagine", {"prompt": "variations of a bridge"})
    grid = proxy.image(grid_task["imageUrl"])
    varied = proxy.image(
        proxy.run("change", {"taskId": grid_task["id"], "action": "VARIATION", "index": 3})["imageUrl"]
    )
    tile3 = render.grid_tile(grid, 2)
    for i in range(4):
        assert _distance(render.grid_tile(varied, i), tile3) < _distance(
            render.grid_tile(varied, i), render.grid_tile(grid, 0)
        )
    reroll = proxy.run("simple-change", {"content": f"{grid_task['id']} R"})
    assert reroll["action"] == "REROLL" and reroll["description"] == f"/up {grid_task['id']} R"
    assert _distance(proxy.image(reroll["imageUrl"]), grid) > 15


def test_vary_region_modal_changes_only_the_masked_area(proxy):
    grid_task = proxy.run("imagine", {"prompt": "a quiet harbour"})
    up = proxy.run("action", {"taskId": grid_task["id"], "customId": proxy.button(grid_task, "U1")})
    parent = proxy.image(up["imageUrl"])
    handshake = proxy.submit("action", {"taskId": up["id"], "customId": proxy.button(up, "Vary (Region)")})
    assert handshake["code"] == 21 and handshake["description"] == "Waiting for window confirm"
    assert handshake["properties"] == {"finalPrompt": "a quiet harbour", "remix": True}
    modal_task = proxy.fetch(handshake["result"])
    assert modal_task["status"] == "MODAL" and modal_task["prompt"] == ""
    wrong = Image.new("L", (parent.width // 2, parent.height // 2), 0)
    refused = proxy.submit("modal", {"taskId": handshake["result"], "maskBase64": _data_url(wrong)})
    assert refused["code"] == 4 and f"{parent.width}x{parent.height}" in refused["description"]
    mask = Image.new("L", parent.size, 0)
    mask.paste(255, (100, 150, 400, 500))
    accepted = proxy.submit(
        "modal", {"taskId": handshake["result"], "prompt": "a red boat", "maskBase64": _data_url(mask)}
    )
    assert accepted["code"] == 1 and accepted["result"] == handshake["result"]
    done = proxy.wait(handshake["result"])
    assert done["status"] == "SUCCESS" and done["prompt"] == "a red boat" and done["action"] == "VARIATION"
    result = proxy.image(done["imageUrl"])
    inside = np.asarray(mask) >= 128
    for i in range(4):
        tile = render.grid_tile(result, i)
        assert tile.size == parent.size
        diff = np.abs(_px(tile) - _px(parent)).sum(axis=2)
        assert (diff[~inside] == 0).all() and (diff[inside] > 0).mean() > 0.5


def test_custom_zoom_zoom_out_and_pan(proxy):
    grid_task = proxy.run("imagine", {"prompt": "a mountain hut"})
    up = proxy.run("action", {"taskId": grid_task["id"], "customId": proxy.button(grid_task, "U3")})
    handshake = proxy.submit("action", {"taskId": up["id"], "customId": proxy.button(up, "Custom Zoom")})
    assert handshake["code"] == 21 and "--zoom 2" in handshake["properties"]["finalPrompt"]
    too_far = proxy.submit("modal", {"taskId": handshake["result"], "prompt": "a mountain hut --zoom 3"})
    assert too_far["code"] == 4 and "--zoom" in too_far["description"]
    assert proxy.submit("modal", {"taskId": handshake["result"], "prompt": "a mountain hut --zoom 1.5"})["code"] == 1
    zoomed = proxy.wait(handshake["result"])
    assert zoomed["status"] == "SUCCESS" and zoomed["action"] == "ZOOM"
    out = proxy.run("action", {"taskId": up["id"], "customId": proxy.button(up, "Zoom Out 2x")})
    assert out["action"] == "ZOOM" and out["imageWidth"] == 2 * up["imageWidth"]
    panned = proxy.run("action", {"taskId": up["id"], "customId": proxy.button(up, "⬅️")})
    assert panned["action"] == "PAN" and panned["imageWidth"] > panned["imageHeight"]
    assert [b["label"] for b in panned["buttons"]][:4] == ["U1", "U2", "U3", "U4"]


# ---- return codes ------------------------------------------------------------------------------------------


def test_validation_codes(proxy):
    assert proxy.submit("imagine", {"prompt": "  "}) == {
        "code": 4,
        "description": "prompt不能为空",
        "result": None,
        "properties": {},
    }
    bad = proxy.submit("imagine", {"prompt": "x", "base64Array": ["data:image/png;base64,!!!"]})
    assert bad["code"] == 4 and bad["description"] == "base64格式错误"
    running = proxy.submit("imagine", {"prompt": "still running"})["result"]
    early = proxy.submit("change", {"taskId": running, "action": "UPSCALE", "index": 1})
    assert early["code"] == 4 and early["description"] == "关联任务状态错误"
    done = proxy.wait(running)
    unknown = proxy.submit("action", {"taskId": done["id"], "customId": "MJ::JOB::teleport::1::nope"})
    assert unknown["code"] == 4 and unknown["description"] == "未知的 Action 类型"
    assert proxy.submit("simple-change", {"content": f"{done['id']} X9"})["code"] == 4


def test_unknown_parent_is_code_3_and_404_on_action(proxy):
    response = proxy.http.post(
        "/mj/submit/action", json={"taskId": "1234567890123456", "customId": "MJ::JOB::upsample::1::x"}
    )
    assert response.status_code == 404 and response.json()["code"] == 3
    assert response.json()["description"] == "关联任务不存在或已失效"
    assert proxy.http.post("/mj/submit/modal", json={"taskId": "1234567890123456"}).status_code == 404
    change = proxy.http.post("/mj/submit/change", json={"taskId": "1234567890123456", "action": "REROLL"})
    assert change.status_code == 200 and change.json()["code"] == 3


def test_banned_word_is_code_24_and_creates_nothing(proxy, sim):
    before = sim.state.jobs_created
    word = BANNED_WORDS[0]
    answer = proxy.submit("imagine", {"prompt": f"a {word.upper()} statue"})
    assert answer["code"] == 24 and answer["description"] == "可能包含敏感词"
    assert answer["properties"] == {"promptEn": f"a {word.upper()} statue", "bannedWord": word}
    assert sim.state.jobs_created == before


def test_system_error_is_code_9(proxy, sim):
    # A "status" fault answered with HTTP 200 yields the proxy's own error body: code 9.
    sim.state.faults.add("status", path="/mjproxy/mj/submit/imagine", status=200, message="提交失败，系统异常")
    before = sim.state.jobs_created
    response = proxy.http.post("/mj/submit/imagine", json={"prompt": "unlucky"})
    assert response.status_code == 200
    assert response.json() == {"code": 9, "description": "提交失败，系统异常", "result": None, "properties": {}}
    assert sim.state.jobs_created == before


def test_repeated_upscale_is_code_21_existing(proxy):
    grid_task = proxy.run("imagine", {"prompt": "upscale me twice"})
    first = proxy.run("change", {"taskId": grid_task["id"], "action": "UPSCALE", "index": 4})
    again = proxy.submit("change", {"taskId": grid_task["id"], "action": "UPSCALE", "index": 4})
    assert again["code"] == 21 and again["result"] == first["id"]
    assert again["properties"] == {"status": "SUCCESS", "imageUrl": first["imageUrl"]}


def test_queue_codes_22_and_23_and_cancel(sim_factory):
    sim = sim_factory(duration=3, proxy_core_size=1, proxy_queue_size=2)
    proxy = Proxy(sim)
    answers = [proxy.submit("imagine", {"prompt": f"queued {i}"}) for i in range(4)]
    assert [a["code"] for a in answers] == [1, 1, 22, 23]  # NZK: only tasks already waiting count as "ahead"
    assert answers[2]["properties"]["numberOfQueues"] == 1 and answers[2]["description"] == "排队中，前面还有1个任务"
    assert answers[3]["description"] == "队列已满，请稍后尝试" and answers[3]["result"] is None
    assert sim.state.jobs_created == 3
    queue = proxy.http.get("/mj/task/queue").json()
    assert [t["id"] for t in queue] == [a["result"] for a in answers[:3]]
    assert proxy.fetch(answers[2]["result"])["status"] == "NOT_START"
    cancel = proxy.http.post(f"/mj/task/{answers[2]['result']}/cancel")
    assert cancel.status_code == 200 and cancel.content == b""
    cancelled = proxy.fetch(answers[2]["result"])
    assert cancelled["status"] == "FAILURE" and cancelled["failReason"] == "取消任务" and cancelled["progress"] == ""


# ---- auth and reads ---------------------------------------------------------------------------------------


def test_auth_401_has_an_empty_body(sim_factory, http):
    sim = sim_factory(api_key="the-secret")
    base = sim.url("mjproxy")
    for headers in ({}, {"mj-api-secret": "wrong"}):
        response = http.get(f"{base}/mj/task/list", headers=headers)
        assert response.status_code == 401 and response.content == b""
    assert http.get(f"{base}/mj/task/list", headers={"mj-api-secret": "the-secret"}).json() == []
    assert http.get(f"{base}/mj/task/list", headers={"Authorization": "the-secret"}).status_code == 200


def test_unknown_fetch_is_an_empty_200_and_lists(proxy):
    response = proxy.http.get("/mj/task/9999999999999999/fetch")
    assert response.status_code == 200 and response.content == b""
    first = proxy.submit("imagine", {"prompt": "list one"})["result"]
    second = proxy.submit("imagine", {"prompt": "list two"})["result"]
    found = proxy.http.post("/mj/task/list-by-condition", json={"ids": [second, "missing", first]}).json()
    assert [t["id"] for t in found] == [second, first]
    assert proxy.http.post("/mj/task/list-by-condition", json={}).json() == []
    newest = proxy.http.get("/mj/task/list").json()
    assert [t["id"] for t in newest[:2]] == [second, first]


# ---- blend, describe, shorten, seed, edits ------------------------------------------------------------------


def test_blend_validation_and_portrait_grid(proxy):
    a, b = render.render_image("one", 0, (64, 64)), render.render_image("two", 0, (64, 64))
    assert proxy.submit("blend", {"base64Array": [_data_url(a)]})["description"] == "base64List参数错误"
    assert proxy.submit("blend", {"base64Array": [_data_url(a)] * 6})["code"] == 4
    assert proxy.submit("blend", {"base64Array": [_data_url(a)] * 2, "dimensions": "WIDE"})["code"] == 4
    task = proxy.run("blend", {"base64Array": [_data_url(a), _data_url(b)], "dimensions": "PORTRAIT"})
    assert task["action"] == "BLEND" and task["description"] == f"/blend {task['id']} 2"
    assert task["imageWidth"] < task["imageHeight"] and task["imageWidth"] / task["imageHeight"] == pytest.approx(
        2 / 3, abs=0.01
    )


def test_describe_gives_four_deterministic_prompts(proxy):
    picture = _data_url(render.render_image("describe this", 4, (300, 200)))
    first = proxy.run("describe", {"base64": picture})
    second = proxy.run("describe", {"base64": picture})
    text = first["properties"]["finalPrompt"]
    assert text == second["properties"]["finalPrompt"]
    lines = text.split("\n\n")
    assert [line[:3] for line in lines] == ["1️⃣", "2️⃣", "3️⃣", "4️⃣"][: len(lines)] and len(lines) == 4
    assert all("--ar 3:2" in line for line in lines)
    assert first["promptEn"].split("\r\n") == [line.split(" ", 1)[1] for line in lines]
    assert first["description"] == f"/describe {first['id']}.png"
    assert [b["customId"] for b in first["buttons"]][:4] == [f"MJ::Job::PicReader::{i}" for i in range(1, 5)]
    picked = proxy.submit("action", {"taskId": first["id"], "customId": "MJ::Job::PicReader::2"})
    assert picked["code"] == 21 and picked["properties"]["finalPrompt"] == lines[1].split(" ", 1)[1]
    assert proxy.submit("describe", {})["code"] == 4


def test_describe_link_fails_when_fetch_is_strict(sim_factory):
    proxy = Proxy(sim_factory(strict_fetch=True))
    refused = proxy.submit("describe", {"link": "https://example.com/cat.png"})
    assert refused["code"] == 4 and "link" in refused["description"]


def test_shorten_and_image_seed(proxy):
    short = proxy.run(
        "shorten", {"prompt": "a very detailed portrait of an old sailor with a pipe, cinematic lighting --ar 2:3"}
    )
    text = short["properties"]["finalPrompt"]
    assert "## Shortened prompts" in text and all(emoji in text for emoji in ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"))
    seeded = proxy.run("imagine", {"prompt": "seeded --seed 1234"})
    assert proxy.http.get(f"/mj/task/{seeded['id']}/image-seed").json() == {
        "code": 1,
        "description": "成功",
        "result": "1234",
        "properties": {},
    }
    other = proxy.run("imagine", {"prompt": "no seed given"})
    seed1 = proxy.http.get(f"/mj/task/{other['id']}/image-seed").json()["result"]
    assert seed1.isdigit() and seed1 == proxy.http.get(f"/mj/task/{other['id']}/image-seed").json()["result"]
    missing = proxy.http.get("/mj/task/1111111111111111/image-seed")
    assert missing.status_code == 404 and missing.json()["code"] == 3
    running = proxy.submit("imagine", {"prompt": "not yet"})["result"]
    assert proxy.http.get(f"/mj/task/{running}/image-seed").status_code == 400


def test_edits_reworks_an_image(proxy):
    source = render.render_image("edit source", 1, (256, 256))
    task = proxy.run("edits", {"prompt": "make it blue", "image": _data_url(source)})
    assert task["action"] == "EDIT" and len(task["buttons"]) == 9
    assert proxy.submit("edits", {"prompt": "no image"})["code"] == 4


def test_mode_prefix_paths(proxy):
    response = proxy.http.post("/mj-relax/mj/submit/imagine", json={"prompt": "relaxed"})
    assert response.json()["code"] == 1
    assert proxy.http.post("/mj-slow/mj/submit/imagine", json={"prompt": "x"}).status_code == 404


# ---- notifyHook -------------------------------------------------------------------------------------------


def test_notify_hook_posts_every_change_once(proxy, receiver):
    task_id = proxy.submit("imagine", {"prompt": "tell me", "notifyHook": receiver.url})["result"]
    bodies = receiver.wait_for(lambda got: any(b["status"] == "SUCCESS" for b in got))
    assert all(b["id"] == task_id for b in bodies)
    keys = [f"{b['status']}:{b['progress']}" for b in bodies]
    assert len(keys) == len(set(keys)) >= 4
    assert keys[0] == "SUBMITTED:0%" and keys[-1] == "SUCCESS:100%"
    assert bodies[-1]["buttons"] and bodies[-1]["properties"]["notifyHook"] == receiver.url
    in_progress = [int(b["progress"][:-1]) for b in bodies if b["status"] == "IN_PROGRESS"]
    assert in_progress == sorted(in_progress) and len(in_progress) >= 2
