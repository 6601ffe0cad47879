"""The new-api mount over real HTTP (PROTOCOLS §4): relay auth, rewriting, errors, DTO, dashboard."""

from __future__ import annotations

import base64
import io
import time

import httpx
import pytest
from PIL import Image

FINAL = ("SUCCESS", "FAILURE")
DTO_FIELDS = {
    "id",
    "action",
    "customId",
    "botType",
    "prompt",
    "promptEn",
    "description",
    "state",
    "submitTime",
    "startTime",
    "finishTime",
    "imageUrl",
    "videoUrl",
    "videoUrls",
    "status",
    "progress",
    "failReason",
    "buttons",
    "maskBase64",
    "properties",
}
ITEM_FIELDS = {
    "id",
    "code",
    "user_id",
    "action",
    "mj_id",
    "prompt",
    "prompt_en",
    "description",
    "state",
    "submit_time",
    "start_time",
    "finish_time",
    "image_url",
    "video_url",
    "video_urls",
    "status",
    "progress",
    "fail_reason",
    "channel_id",
    "quota",
    "buttons",
    "properties",
}


class Relay:
    def __init__(self, sim, token: str = "sk-alice", headers: dict | None = None) -> None:
        self.sim = sim
        self.http = httpx.Client(
            base_url=sim.url("newapi"), headers=headers or {"Authorization": f"Bearer {token}"}, timeout=30
        )

    def post(self, endpoint: str, body: dict) -> httpx.Response:
        return self.http.post(f"/mj/submit/{endpoint}", json=body)

    def submit(self, endpoint: str, body: dict) -> dict:
        response = self.post(endpoint, body)
        assert response.status_code == 200, response.text
        return response.json()

    def fetch(self, task_id: str) -> dict:
        response = self.http.get(f"/mj/task/{task_id}/fetch")
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, task_id: str) -> dict:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            task = self.fetch(task_id)
            if task["status"] in FINAL:
                return task
            time.sleep(0.02)
        pytest.fail(f"task {task_id} never finished")

    def run(self, endpoint: str, body: dict) -> dict:
        answer = self.submit(endpoint, body)
        assert answer["code"] == 1, answer
        return self.wait(answer["result"])


@pytest.fixture
def relay(sim):
    client = Relay(sim)
    yield client
    client.http.close()


def _data_url(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _button(task: dict, label: str) -> str:
    return next(b["customId"] for b in task["buttons"] if label in (b["label"], b["emoji"]))


@pytest.fixture
def http():
    """One kept-alive client per test (a new httpx client per request costs ~80 ms of TLS setup)."""
    with httpx.Client(timeout=30) as client:
        yield client


# ---- auth -------------------------------------------------------------------------------------------------


def test_both_auth_ways_and_the_401_envelope(sim_factory, http):
    sim = sim_factory(api_key="sk-gooduser")
    base = sim.url("newapi") + "/mj/submit/imagine"
    ways = [
        {"Authorization": "Bearer sk-gooduser"},
        {"Authorization": "Bearer sk-gooduser-7"},  # a channel pin after the token
        {"mj-api-secret": "sk-gooduser"},
        {"Authorization": "midjourney-proxy", "mj-api-secret": "Bearer sk-gooduser"},
    ]
    for headers in ways:
        assert http.post(base, json={"prompt": "auth"}, headers=headers).json()["code"] == 1, headers
    for headers in ({}, {"Authorization": "Bearer sk-intruder"}, {"mj-api-secret": "sk-intruder"}):
        refused = http.post(base, json={"prompt": "auth"}, headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "new_api_error"
        assert refused.json()["error"]["message"]


# ---- errors and rewriting ----------------------------------------------------------------------------------


def test_relay_errors_have_the_upstream_error_envelope(relay):
    missing = relay.post("imagine", {"prompt": ""})
    assert missing.status_code == 400
    assert missing.json() == {"description": "prompt_is_required ", "type": "upstream_error", "code": 4}
    assert (
        relay.post("change", {"taskId": "nope", "action": "UPSCALE", "index": 1}).json()["description"]
        == "task_not_found "
    )
    assert relay.post("change", {"action": "UPSCALE"}).json()["description"] == "task_id_is_required "
    assert relay.post("action", {"taskId": "x"}).json()["description"] == "custom_id_is_required "
    odd = relay.post("action", {"taskId": "x", "customId": "MJ::Job::PicReader::1"})
    assert odd.status_code == 400 and odd.json()["description"] == "unknown_action:MJ::Job::PicReader::1 "
    bad_json = relay.http.post("/mj/submit/imagine", content=b"{not json", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["description"] == "bind_request_body_failed "
    running = relay.submit("imagine", {"prompt": "busy"})["result"]
    early = relay.post("change", {"taskId": running, "action": "UPSCALE", "index": 1})
    assert early.status_code == 400 and early.json()["description"] == "task_status_not_success "
    unknown = relay.http.get("/mj/task/0000000000000000/fetch")
    assert unknown.status_code == 400
    assert unknown.json() == {"description": "task_no_found ", "type": "upstream_error", "code": 4}


def test_upstream_refusals_pass_through_and_are_not_charged(sim_factory):
    relay = Relay(sim_factory(), token="sk-carol")  # the first token a simulator sees is user 1
    answer = relay.post("describe", {"base64": "data:image/png;base64,@@@"})
    assert answer.status_code == 200 and answer.json()["code"] == 4 and answer.json()["description"] == "base64格式错误"
    listing = relay.http.get("/api/mj/self", headers={"Authorization": "sk-carol", "New-Api-User": "1"})
    item = listing.json()["data"]["items"][0]
    assert item["fail_reason"] == "base64格式错误" and item["quota"] == 0 and item["mj_id"] == ""
    assert item["status"] == "FAILURE" and item["progress"] == "100%"


def test_inpaint_keeps_21_but_remix_and_queue_codes_become_1(relay):
    grid = relay.run("imagine", {"prompt": "a garden path"})
    up = relay.run("action", {"taskId": grid["id"], "customId": _button(grid, "U1")})
    inpaint = relay.submit("action", {"taskId": up["id"], "customId": _button(up, "Vary (Region)")})
    assert inpaint["code"] == 21 and inpaint["properties"]["remix"] is True
    assert relay.fetch(inpaint["result"])["status"] == "MODAL"
    remix = relay.submit("action", {"taskId": grid["id"], "customId": _button(grid, "V2"), "enableRemix": True})
    assert remix["code"] == 1  # upstream answered 21 (remix modal): new-api rewrites it
    assert relay.fetch(remix["result"])["status"] == "MODAL"
    size = Image.open(io.BytesIO(relay.http.get(up["imageUrl"]).content)).size  # the DTO carries no size
    mask = Image.new("L", size, 0)
    mask.paste(255, (0, 0, 300, 300))
    done = relay.submit("modal", {"taskId": inpaint["result"], "prompt": "a fountain", "maskBase64": _data_url(mask)})
    assert done["code"] == 1
    assert relay.wait(inpaint["result"])["status"] == "SUCCESS"


def test_queued_code_22_is_rewritten_to_1(sim_factory, http):
    sim = sim_factory(duration=3, proxy_core_size=1, proxy_queue_size=5)
    relay = Relay(sim)
    codes = [relay.submit("imagine", {"prompt": f"queue {i}"})["code"] for i in range(4)]
    assert codes == [1, 1, 1, 1]
    upstream = http.get(sim.url("mjproxy") + "/mj/task/list", headers={"mj-api-secret": "k"}).json()
    assert upstream == []  # the relay's upstream channel is its own proxy


# ---- fetch DTO and the image route --------------------------------------------------------------------------


def test_fetch_dto_and_image_url_rewrite(sim_factory, http):
    # Slower jobs than the module's, so a running task with its preview is seen before the end.
    sim = sim_factory(duration=1.5)
    relay = Relay(sim)
    task_id = relay.submit("imagine", {"prompt": "a dto test --ar 16:9", "state": "s1"})["result"]
    preview = None
    while True:
        task = relay.fetch(task_id)
        assert set(task) == DTO_FIELDS
        if task["status"] == "IN_PROGRESS" and task["imageUrl"]:
            preview = task["imageUrl"]
        if task["status"] in FINAL:
            break
        time.sleep(0.01)
    server = sim.url("newapi")
    assert preview.startswith(f"{server}/mj/image/{task_id}?rand=")
    assert task["imageUrl"] == f"{server}/mj/image/{task_id}"
    assert task["customId"] == task["botType"] == task["maskBase64"] == "" and task["videoUrls"] is None
    assert task["description"] == "Submit success" and task["state"] == "s1"
    assert set(task["properties"]) == {"finalPrompt", "finalZhPrompt"}
    image = http.get(task["imageUrl"])  # no auth on the image route
    assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).size == (1024, 576)
    decoded = sim.state.fetch_image(task["imageUrl"])  # the gateway's image URL works as an image prompt
    assert decoded.size == (1024, 576)
    missing = http.get(f"{server}/mj/image/1234")
    assert missing.status_code == 400 and missing.json() == {"error": "midjourney_task_not_found"}


def test_failed_task_shows_100_percent_and_tasks_are_scoped(sim):
    alice, bob = Relay(sim, "sk-alice"), Relay(sim, "sk-bob")
    sim.state.faults.add("fail_job", path="/newapi/mj/submit/imagine", message="upstream exploded")
    failed = alice.run("imagine", {"prompt": "doomed"})
    assert (
        failed["status"] == "FAILURE" and failed["progress"] == "100%" and failed["failReason"] == "upstream exploded"
    )
    assert bob.http.get(f"/mj/task/{failed['id']}/fetch").status_code == 400
    assert bob.http.post("/mj/task/list-by-condition", json={"ids": [failed["id"]]}).json() == []
    mine = alice.http.post("/mj/task/list-by-condition", json={"ids": [failed["id"], "nope"]}).json()
    assert [t["id"] for t in mine] == [failed["id"]]


def test_mode_prefix_and_image_seed_relay(relay):
    answer = relay.http.post("/mj-fast/mj/submit/imagine", json={"prompt": "fast one --seed 77"}).json()
    assert answer["code"] == 1
    relay.wait(answer["result"])
    seed = relay.http.get(f"/mj-fast/mj/task/{answer['result']}/image-seed")
    assert seed.json()["result"] == "77"
    assert relay.http.get("/mj/task/42/image-seed").json()["description"] == "task_not_found "


# ---- dashboard ---------------------------------------------------------------------------------------------


def test_self_listing_pages_filters_and_refusals(sim_factory, http):
    sim = sim_factory(duration=0.1)
    relay = Relay(sim, "sk-dave")
    ids = [relay.submit("imagine", {"prompt": f"page {i}"})["result"] for i in range(3)]
    for task_id in ids:
        relay.wait(task_id)
    headers = {"Authorization": "sk-dave", "New-Api-User": "1"}
    base = sim.url("newapi") + "/api/mj/self"
    first = http.get(base, params={"p": 1, "page_size": 2}, headers=headers).json()
    assert first["success"] is True and first["data"]["total"] == 3 and first["data"]["page_size"] == 2
    items = first["data"]["items"]
    assert [i["mj_id"] for i in items] == [ids[2], ids[1]] and set(items[0]) == ITEM_FIELDS
    assert items[0]["buttons"].startswith('[{"customId":"MJ::JOB::upsample::1::')
    assert items[0]["properties"] == '{"finalPrompt":"page 2","finalZhPrompt":""}'
    assert items[0]["image_url"] == f"{sim.url('newapi')}/mj/image/{ids[2]}"
    second = http.get(base, params={"p": 2, "ps": 2}, headers=headers).json()["data"]
    assert [i["mj_id"] for i in second["items"]] == [ids[0]] and second["page"] == 2
    assert http.get(base, params={"size": 500}, headers=headers).json()["data"]["page_size"] == 100
    by_id = http.get(base, params={"mj_id": ids[1]}, headers=headers).json()["data"]
    assert by_id["total"] == 1 and by_id["items"][0]["mj_id"] == ids[1]
    middle = by_id["items"][0]["submit_time"]
    later = http.get(base, params={"start_timestamp": middle}, headers=headers).json()["data"]["items"]
    assert ids[0] not in [i["mj_id"] for i in later] and ids[1] in [i["mj_id"] for i in later]
    earlier = http.get(base, params={"end_timestamp": middle}, headers=headers).json()["data"]["items"]
    assert ids[2] not in [i["mj_id"] for i in earlier]
    no_user = http.get(base, headers={"Authorization": "sk-dave"})
    assert no_user.status_code == 401
    assert no_user.json() == {"success": False, "message": "无权进行此操作，未提供 New-Api-User"}
    assert http.get(base, headers={"Authorization": "sk-dave", "New-Api-User": "2"}).status_code == 401
    assert http.get(base, headers={"New-Api-User": "1"}).status_code == 401


def test_legacy_listing_is_a_plain_array_with_zero_based_pages(sim_factory, http):
    sim = sim_factory(duration=0.1, newapi_legacy_listing=True)
    relay = Relay(sim, "sk-erin")
    ids = [relay.submit("imagine", {"prompt": f"old {i}"})["result"] for i in range(12)]
    headers = {"Authorization": "sk-erin", "New-Api-User": "1"}
    base = sim.url("newapi") + "/api/mj/self"
    page0 = http.get(base, params={"p": 0}, headers=headers).json()
    assert page0["success"] is True and isinstance(page0["data"], list) and len(page0["data"]) == 10
    assert page0["data"][0]["mj_id"] == ids[-1] and "video_url" not in page0["data"][0]
    page1 = http.get(base, params={"p": 1}, headers=headers).json()["data"]
    assert [i["mj_id"] for i in page1] == [ids[1], ids[0]]


def test_admin_listing_needs_the_admin_key(sim_factory, http):
    sim = sim_factory(duration=0.1, admin_key="root-token")
    Relay(sim, "sk-frank").submit("imagine", {"prompt": "frank's"})
    Relay(sim, "sk-grace").submit("imagine", {"prompt": "grace's"})
    base = sim.url("newapi") + "/api/mj/"
    refused = http.get(base, headers={"Authorization": "sk-frank", "New-Api-User": "1"})
    assert refused.status_code == 200 and refused.json() == {"success": False, "message": "无权进行此操作，权限不足"}
    admin = {"Authorization": "root-token", "New-Api-User": "3"}
    listing = http.get(base, headers=admin).json()["data"]
    assert listing["total"] == 2 and {i["prompt"] for i in listing["items"]} == {"frank's", "grace's"}
    assert http.get(base, params={"channel_id": 9}, headers=admin).json()["data"]["total"] == 0
