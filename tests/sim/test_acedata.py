"""The simulator's AceData Cloud mount, over real HTTP (PROTOCOLS §2)."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from mjnb.sim import Simulator

KEY = "ace-secret-key-123"
GRID_ACTIONS = [
    "upscale1",
    "upscale2",
    "upscale3",
    "upscale4",
    "reroll",
    "variation1",
    "variation2",
    "variation3",
    "variation4",
]
UPSCALED_ACTIONS = [
    "upscale_2x",
    "upscale_4x",
    "variation_subtle",
    "variation_strong",
    "zoom_out_2x",
    "zoom_out_1_5x",
    "pan_left",
    "pan_right",
    "pan_up",
    "pan_down",
]


@pytest.fixture(scope="module")
def sim():
    with Simulator(duration=0.3, allow_insecure_callbacks=True, api_key=KEY) as simulator:
        yield simulator
        assert simulator.state.background_errors == [], "a job crashed in the background"


@pytest.fixture(scope="module")
def api(sim):
    with httpx.Client(base_url=sim.url("acedata"), headers={"authorization": f"Bearer {KEY}"}, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def grid(api):
    """One finished blocking imagine shared by the follow-up tests."""
    answer = api.post("/midjourney/imagine", json={"prompt": "a lighthouse at dusk", "split_images": True})
    assert answer.status_code == 200, answer.text
    return answer.json()


def edge_energy(image: Image.Image) -> float:
    """Mean edge strength: finer detail gives a larger value."""
    return float(np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float64).mean())


class Receiver:
    """A real loopback HTTP server that records callback POSTs; it can refuse the first ones."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.attempts += 1
                if receiver.attempts <= fail_first:
                    self.send_response(500)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, predicate, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.bodies):
                return list(self.bodies)
            time.sleep(0.02)
        raise AssertionError(f"callbacks never satisfied the condition; got {self.bodies!r}")


def download(client: httpx.Client, url: str) -> Image.Image:
    answer = client.get(url)
    assert answer.status_code == 200, url
    return Image.open(io.BytesIO(answer.content))


def png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def square_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle(box, fill=255)
    return mask


def assert_only_masked_changed(before: Image.Image, after: Image.Image, mask: Image.Image) -> None:
    a = np.asarray(before.convert("RGB"), dtype=np.int16)
    b = np.asarray(after.convert("RGB"), dtype=np.int16)
    inside = np.asarray(mask) >= 128
    assert a.shape == b.shape
    assert np.array_equal(a[~inside], b[~inside]), "pixels outside the mask changed"
    assert np.abs(a[inside] - b[inside]).mean() > 5, "the masked region was not repainted"


def poll(api: httpx.Client, task_id: str, until, timeout: float = 15.0) -> list[dict]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api.post("/midjourney/tasks", json={"action": "retrieve", "id": task_id})
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
        if until(seen[-1]):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} never reached the state; last {seen[-1]!r}")


# --- the three ways of waiting ------------------------------------------------------------


def test_blocking_imagine_returns_the_final_object(api, grid):
    assert grid["success"] is True and grid["progress"] == 100
    uuid.UUID(grid["task_id"], version=4)
    assert re.fullmatch(r"\d{19}", grid["image_id"])
    assert grid["actions"] == GRID_ACTIONS
    raw = download(api, grid["raw_image_url"])
    assert raw.size == (grid["raw_image_width"], grid["raw_image_height"])
    thumb = download(api, grid["image_url"])
    assert thumb.size == (grid["image_width"], grid["image_height"])
    assert thumb.width < raw.width
    assert len(grid["sub_image_urls"]) == 4
    tile = download(api, grid["sub_image_urls"][3])
    raw_pixels = np.asarray(raw.convert("RGB"))
    # sub-image 4 is the bottom-right quarter of the grid
    assert np.array_equal(np.asarray(tile.convert("RGB")), raw_pixels[raw.height // 2 :, raw.width // 2 :])


@pytest.fixture(scope="module")
def slow_api():
    """A slower simulator, so that polling sees a running job for certain."""
    with (
        Simulator(duration=1.2, api_key=KEY) as slow,
        httpx.Client(base_url=slow.url("acedata"), headers={"authorization": f"Bearer {KEY}"}, timeout=30) as client,
    ):
        yield client


def test_async_submit_then_tasks_shows_running_then_finished(slow_api):
    api = slow_api
    submitted = api.post("/midjourney/imagine", json={"prompt": "a paper boat", "async": True})
    assert submitted.status_code == 200
    assert list(submitted.json()) == ["task_id"]
    task_id = submitted.json()["task_id"]
    seen = poll(api, task_id, lambda doc: "finished_at" in doc)
    running = [d for d in seen if "response" in d and "finished_at" not in d]
    assert running, "never saw the running shape"
    for doc in running:
        assert "success" not in doc["response"]
        assert 0 < doc["response"]["progress"] < 100
        assert doc["response"]["image_url"].startswith("http://127.0.0.1")
    queued = [d for d in seen if "response" not in d]
    assert all("finished_at" not in d for d in queued)
    final = seen[-1]
    assert final["id"] == task_id and final["type"] == "imagine"
    assert final["response"]["success"] is True and final["response"]["progress"] == 100
    for name in ("created_at", "started_at", "finished_at", "duration"):
        assert isinstance(final[name], float), name
    assert final["created_at"] <= final["started_at"] <= final["finished_at"]
    assert final["request"] == {"prompt": "a paper boat", "async": True}
    assert re.fullmatch(r"\d{19}", final["image_id"]) and final["image_id"] == final["response"]["image_id"]
    uuid.UUID(final["job_id"], version=4)
    progress = [d["response"]["progress"] for d in seen if "response" in d]
    assert progress == sorted(progress)


def test_streaming_reports_increasing_progress_in_one_request(api):
    lines = []
    with api.stream(
        "POST", "/midjourney/imagine", json={"prompt": "a koi pond"}, headers={"accept": "application/x-ndjson"}
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/x-ndjson")
        for line in answer.iter_lines():
            if line.strip():
                lines.append(json.loads(line))
    progress = [line["progress"] for line in lines]
    assert len(lines) >= 3 and progress == sorted(set(progress)) and progress[-1] == 100
    assert all(line["actions"] == [] for line in lines[:-1])
    assert lines[-1]["actions"] == GRID_ACTIONS and lines[-1]["success"] is True
    assert len({line["task_id"] for line in lines}) == 1
    preview = download(api, lines[0]["image_url"])
    assert preview.size == (lines[0]["image_width"], lines[0]["image_height"])


def test_blocking_call_times_out_with_504_and_the_job_goes_on(api):
    answer = api.post("/midjourney/imagine", json={"prompt": "a slow snail", "timeout": 0.05})
    assert answer.status_code == 504
    body = answer.json()
    assert body["success"] is False
    assert body["error"] == {"code": "timeout", "message": "Timeout to generate the image."}
    assert body["trace_id"]
    finished = poll(api, body["task_id"], lambda doc: "finished_at" in doc)[-1]
    assert finished["response"]["success"] is True


def test_an_unfinished_image_cannot_be_acted_on(slow_api):
    task_id = slow_api.post("/midjourney/imagine", json={"prompt": "a snowy owl", "async": True}).json()["task_id"]
    doc = slow_api.post("/midjourney/tasks", json={"action": "retrieve", "id": task_id}).json()
    assert "finished_at" not in doc
    early = slow_api.post("/midjourney/imagine", json={"action": "upscale1", "image_id": doc["image_id"]})
    assert "not finished" in error_of(early, 400, "bad_request")


def test_hd_doubles_the_grid(api):
    hd = api.post("/midjourney/imagine", json={"prompt": "a snowy owl", "hd": True}).json()
    assert (hd["raw_image_width"], hd["raw_image_height"]) == (2048, 2048)
    assert download(api, hd["raw_image_url"]).size == (2048, 2048)


# --- callbacks ----------------------------------------------------------------------------


def test_callback_receives_the_final_object(api):
    with Receiver() as receiver:
        submitted = api.post("/midjourney/imagine", json={"prompt": "a red kite", "callback_url": receiver.url})
        assert list(submitted.json()) == ["task_id"]
        bodies = receiver.wait_for(lambda b: len(b) >= 1)
        final = api.post("/midjourney/tasks", json={"action": "retrieve", "id": submitted.json()["task_id"]}).json()
    assert bodies == [final["response"]]
    assert bodies[0]["success"] is True and bodies[0]["actions"] == GRID_ACTIONS


def test_streaming_with_callback_posts_every_line(api):
    with Receiver() as receiver:
        with api.stream(
            "POST",
            "/midjourney/imagine",
            json={"prompt": "a windmill", "callback_url": receiver.url},
            headers={"accept": "application/x-ndjson"},
        ) as answer:
            lines = [json.loads(line) for line in answer.iter_lines() if line.strip()]
        bodies = receiver.wait_for(lambda b: len(b) >= len(lines))
    assert sorted(b["progress"] for b in bodies) == [line["progress"] for line in lines]
    assert len(bodies) >= 3


def test_failed_job_reaches_callback_tasks_and_blocking_caller(sim, api):
    sim.state.faults.add(
        path="/acedata/midjourney/imagine", kind="fail_job", message="bad_request: Unrecognized argument(s): `-c`"
    )
    with Receiver() as receiver:
        task_id = api.post("/midjourney/imagine", json={"prompt": "a vase", "callback_url": receiver.url}).json()[
            "task_id"
        ]
        body = receiver.wait_for(lambda b: len(b) == 1)[0]
    assert body == {
        "success": False,
        "task_id": task_id,
        "error": {"code": "bad_request", "message": "Unrecognized argument(s): `-c`"},
    }
    doc = api.post("/midjourney/tasks", json={"action": "retrieve", "id": task_id}).json()
    assert doc["response"] == body and "finished_at" in doc

    sim.state.faults.add(path="/acedata/midjourney/imagine", kind="fail_job", message="upstream exploded")
    answer = api.post("/midjourney/imagine", json={"prompt": "a vase"})
    assert answer.status_code == 500
    assert answer.json()["error"] == {"code": "api_error", "message": "upstream exploded"}
    assert answer.json()["success"] is False


# --- follow-ups and masks ------------------------------------------------------------------


def test_upscale_then_its_actions(api, grid):
    upscaled = api.post("/midjourney/imagine", json={"action": "upscale2", "image_id": grid["image_id"]}).json()
    assert upscaled["success"] is True and upscaled["actions"] == UPSCALED_ACTIONS
    raw = download(api, upscaled["raw_image_url"])
    grid_image = download(api, grid["raw_image_url"]).convert("RGB")
    top_right = grid_image.crop((grid_image.width // 2, 0, grid_image.width, grid_image.height // 2))
    # The tile at the tile's resolution, the same picture drawn with more detail (not a crop, not a blow-up).
    assert raw.size == top_right.size == (grid_image.width // 2, grid_image.height // 2)
    tile, up = np.asarray(top_right, dtype=np.int16), np.asarray(raw.convert("RGB"), dtype=np.int16)
    assert 0 < np.abs(up - tile).mean() < 12
    assert edge_energy(raw) > 1.1 * edge_energy(top_right)

    bigger = api.post("/midjourney/imagine", json={"action": "upscale_2x", "image_id": upscaled["image_id"]}).json()
    assert (bigger["raw_image_width"], bigger["raw_image_height"]) == (raw.width * 2, raw.height * 2)
    refused = api.post("/midjourney/imagine", json={"action": "upscale1", "image_id": upscaled["image_id"]})
    assert refused.status_code == 400
    assert "upscale1" in refused.json()["error"]["message"] and "zoom_out_2x" in refused.json()["error"]["message"]

    for action in ("variation_subtle", "zoom_out_1_5x", "pan_left"):
        answer = api.post("/midjourney/imagine", json={"action": action, "image_id": upscaled["image_id"]})
        assert answer.status_code == 200 and answer.json()["actions"] == GRID_ACTIONS, action


def test_variation_region_changes_only_the_masked_region(api, grid):
    upscaled = api.post("/midjourney/imagine", json={"action": "upscale1", "image_id": grid["image_id"]}).json()
    original = download(api, upscaled["raw_image_url"])
    mask = square_mask(
        original.size, (original.width // 4, original.height // 4, original.width // 2, original.height // 2)
    )
    answer = api.post(
        "/midjourney/imagine",
        json={
            "action": "variation_region",
            "image_id": upscaled["image_id"],
            "mask": png_base64(mask),
            "prompt": "a golden door",
            "split_images": True,
        },
    )
    assert answer.status_code == 200, answer.text
    for url in answer.json()["sub_image_urls"][:2]:
        assert_only_masked_changed(original, download(api, url), mask)

    wrong_size = png_base64(square_mask((64, 64), (0, 0, 10, 10)))
    refused = api.post(
        "/midjourney/imagine", json={"action": "variation_region", "image_id": upscaled["image_id"], "mask": wrong_size}
    )
    assert refused.status_code == 400
    assert (
        "mask" in refused.json()["error"]["message"]
        and f"{original.width}x{original.height}" in refused.json()["error"]["message"]
    )


def test_edits_with_a_mask_changes_only_the_masked_region(api):
    source = Image.new("RGB", (240, 160))
    ImageDraw.Draw(source).ellipse((40, 20, 200, 140), fill=(20, 120, 220))
    data_url = "data:image/png;base64," + png_base64(source)
    mask = square_mask(source.size, (100, 40, 180, 120))
    answer = api.post(
        "/midjourney/edits", json={"image_url": data_url, "mask": png_base64(mask), "prompt": "a red cat"}
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["raw_image_width"], result["raw_image_height"]) == (480, 320)
    for url in result["sub_image_urls"]:
        assert_only_masked_changed(source, download(api, url), mask)


def test_the_documented_edits_example_answers_the_literal_shape(api):
    answer = api.post(
        "/midjourney/edits",
        json={
            "prompt": "A cat sitting on a table",
            "split_images": True,
            "image_url": "https://cdn.acedata.cloud/v1/example-cat.png",
            "action": "generate",
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body) == [
        "sub_image_urls",
        "image_url",
        "image_width",
        "image_height",
        "raw_image_url",
        "raw_image_width",
        "raw_image_height",
        "progress",
        "image_id",
        "task_id",
        "success",
    ]
    assert len(body["sub_image_urls"]) == 4 and all(isinstance(u, str) for u in body["sub_image_urls"])
    for name in ("image_width", "image_height", "raw_image_width", "raw_image_height", "progress"):
        assert type(body[name]) is int, name
    assert body["progress"] == 100 and body["success"] is True
    assert re.fullmatch(r"\d{19}", body["image_id"])
    uuid.UUID(body["task_id"], version=4)
    assert download(api, body["raw_image_url"]).size == (body["raw_image_width"], body["raw_image_height"])
    doc = api.post("/midjourney/tasks", json={"action": "retrieve", "id": body["task_id"]}).json()
    assert doc["type"] == "edits" and doc["response"] == body


# --- synchronous endpoints ------------------------------------------------------------------


def test_describe_translate_shorten_seed(api, grid):
    picture = Image.new("RGB", (300, 200), (200, 40, 40))
    described = api.post("/midjourney/describe", json={"image_url": "data:image/png;base64," + png_base64(picture)})
    assert described.status_code == 200
    descriptions = described.json()["descriptions"]
    assert len(descriptions) == 4 and all(d.endswith(" --ar 3:2") for d in descriptions)

    translated = api.post("/midjourney/translate", json={"content": "精致，无暇，洁白的天使"}).json()
    assert translated == {"content": "Exquisite, flawless, pure white angel"}

    long_prompt = "a very detailed portrait of an old fisherman with a pipe, dramatic lighting, oil painting --ar 2:3"
    prompts = api.post("/midjourney/shorten", json={"prompt": long_prompt}).json()["prompts"]
    assert 1 <= len(prompts) <= 5 and all(len(p) < len(long_prompt) for p in prompts)

    seed = api.post("/midjourney/seed", json={"image_id": grid["image_id"]}).json()
    assert isinstance(seed["seed"], str) and seed["seed"].isdigit()
    assert api.post("/midjourney/seed", json={"image_id": "1"}).status_code == 400


def test_tasks_batch_lists_recent_and_by_ids(api):
    ids = [
        api.post("/midjourney/imagine", json={"prompt": f"batch item {i}", "async": True}).json()["task_id"]
        for i in range(3)
    ]
    trace = str(uuid.uuid4())
    traced = api.post("/midjourney/imagine", json={"prompt": "traced", "async": True, "trace_id": trace}).json()[
        "task_id"
    ]
    by_ids = api.post("/midjourney/tasks", json={"action": "retrieve_batch", "ids": ids}).json()
    assert by_ids["count"] == 3 and {item["id"] for item in by_ids["items"]} == set(ids)
    page = api.post("/midjourney/tasks", json={"action": "retrieve_batch", "ids": ids, "offset": 1, "limit": 1}).json()
    assert page["count"] == 3 and len(page["items"]) == 1
    recent = api.post("/midjourney/tasks", json={"action": "retrieve_batch"}).json()
    assert len(recent["items"]) == min(12, recent["count"]) and recent["items"][0]["id"] == traced
    by_trace = api.post("/midjourney/tasks", json={"action": "retrieve", "trace_id": trace}).json()
    assert by_trace["id"] == traced and by_trace["trace_id"] == trace
    batch_trace = api.post("/midjourney/tasks", json={"action": "retrieve_batch", "trace_ids": [trace]}).json()
    assert [item["id"] for item in batch_trace["items"]] == [traced]


# --- errors (§2.7) --------------------------------------------------------------------------


def error_of(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False and body["error"]["code"] == code and body["trace_id"]
    assert KEY not in answer.text
    return body["error"]["message"]


def test_auth_errors(sim):
    with httpx.Client(base_url=sim.url("acedata"), timeout=30) as anonymous:
        assert "token" in error_of(anonymous.post("/midjourney/imagine", json={"prompt": "x"}), 401, "no_token")
        wrong = anonymous.post("/midjourney/imagine", json={"prompt": "x"}, headers={"authorization": "Bearer wrong"})
        assert error_of(wrong, 401, "invalid_token") == "The specified token is invalid or wrong."
        no_scheme = anonymous.post(
            "/midjourney/tasks", json={"action": "retrieve_batch"}, headers={"authorization": KEY}
        )
        assert error_of(no_scheme, 401, "invalid_token")


def test_request_errors(api):
    assert (
        error_of(api.post("/midjourney/imagine", content=b"{not json"), 400, "bad_request")
        == "The json payload is not valid to request the API"
    )
    assert error_of(api.post("/midjourney/imagine", json={}), 400, "bad_request") == "prompt is required"
    for field, value in (("mode", "slow"), ("version", "9"), ("quality", "3"), ("action", "upscale9")):
        message = error_of(api.post("/midjourney/imagine", json={"prompt": "x", field: value}), 400, "bad_request")
        assert message.startswith(field) and repr(value) in message, message
    assert "split_images" in error_of(
        api.post("/midjourney/imagine", json={"prompt": "x", "split_images": "yes"}), 400, "bad_request"
    )
    assert "image_id" in error_of(
        api.post("/midjourney/imagine", json={"action": "upscale1", "image_id": "123"}), 400, "bad_request"
    )
    assert "image_url" in error_of(api.post("/midjourney/edits", json={"prompt": "x"}), 400, "bad_request")
    assert error_of(
        api.post("/midjourney/tasks", json={"action": "retrieve", "id": str(uuid.uuid4())}), 400, "bad_request"
    )
    assert (
        error_of(api.post("/midjourney/videos", json={"prompt": "x"}), 400, "api_not_implemented")
        == "The API is not implemented."
    )


def test_moderation_refuses_with_403(api):
    message = error_of(api.post("/midjourney/imagine", json={"prompt": "an NSFW poster"}), 403, "forbidden")
    assert "moderators" in message


def test_injected_status_faults_use_the_envelope(sim, api):
    sim.state.faults.add(
        path="/acedata/midjourney/imagine", kind="status", status=429, message="You have exceeded the rate limit."
    )
    assert (
        error_of(api.post("/midjourney/imagine", json={"prompt": "x"}), 429, "too_many_requests")
        == "You have exceeded the rate limit."
    )
    sim.state.faults.add(
        path="/acedata/midjourney/imagine", kind="status", status=500, message="Internal server error."
    )
    assert error_of(api.post("/midjourney/imagine", json={"prompt": "x"}), 500, "api_error") == "Internal server error."


def test_strict_fetch_answers_fetch_failed():
    with Simulator(duration=0.2, strict_fetch=True) as strict:
        answer = httpx.post(
            strict.url("acedata") + "/midjourney/edits",
            json={"prompt": "x", "image_url": "https://example.com/cat.png"},
            headers={"authorization": "Bearer any-key"},
        )
    assert error_of(answer, 500, "api_error") == "fetch failed"
