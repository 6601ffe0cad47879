"""The simulator's EvoLink mount, over real HTTP (PROTOCOLS §1)."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from mjnb.sim import Simulator

KEY = "evo-secret-key-456"
ID_RE = re.compile(r"task-unified-\d{10}-[a-z0-9]{8}")


@pytest.fixture(scope="module")
def sim():
    with Simulator(duration=0.3, allow_insecure_callbacks=True, api_key=KEY) as simulator:
        yield simulator
        assert simulator.state.background_errors == [], "a job crashed in the background"


@pytest.fixture(scope="module")
def api(sim):
    with httpx.Client(base_url=sim.url("evolink"), headers={"authorization": f"Bearer {KEY}"}, timeout=30) as client:
        yield client


def create(api: httpx.Client, **body) -> dict:
    answer = api.post("/v1/images/generations", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait(api: httpx.Client, task_id: str, timeout: float = 15.0) -> list[dict]:
    """Every query answer until the task ends."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api.get(f"/v1/tasks/{task_id}")
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
        if seen[-1]["status"] in ("completed", "failed"):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{task_id} never ended: {seen[-1]!r}")


def run(api: httpx.Client, **body) -> dict:
    return wait(api, create(api, **body)["id"])[-1]


def download(api: httpx.Client, url: str) -> Image.Image:
    answer = api.get(url)
    assert answer.status_code == 200, url
    return Image.open(io.BytesIO(answer.content))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def generated(api) -> dict:
    final = run(api, model="mj-v7", prompt="a tidal pool with starfish --ar 1:1")
    assert final["status"] == "completed", final
    return final


class Receiver:
    """A real loopback HTTP server that records callback POSTs; it can refuse the first ones."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                status = 500 if len(receiver.statuses) < fail_first else 200
                receiver.statuses.append(status)
                receiver.bodies.append(body)
                self.send_response(status)
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

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.bodies) < count:
            time.sleep(0.02)
        assert len(self.bodies) >= count, f"only {len(self.bodies)} callbacks: {self.statuses}"
        return list(self.bodies)


# --- lifecycle ----------------------------------------------------------------------------


def test_create_answers_the_pending_task(api):
    body = create(api, model="mj-v7", prompt="a glass teapot --turbo", model_params={"speed": "turbo"})
    assert list(body) == ["created", "id", "model", "object", "progress", "status", "task_info", "type", "usage"]
    assert ID_RE.fullmatch(body["id"]) and body["id"].startswith(f"task-unified-{body['created']}-")
    assert type(body["created"]) is int
    assert (body["model"], body["object"], body["progress"], body["status"], body["type"]) == (
        "mj-v7",
        "image.generation.task",
        0,
        "pending",
        "image",
    )
    assert body["task_info"]["can_cancel"] is True and type(body["task_info"]["estimated_time"]) is int
    assert set(body["usage"]) == {"billing_rule", "credits_reserved", "user_group"}
    assert body["usage"]["billing_rule"] == "per_call"


def test_lifecycle_pending_processing_completed(api):
    created = create(api, model="mj-v7", prompt="a hot air balloon over fields")
    seen = wait(api, created["id"])
    statuses = [s["status"] for s in seen]
    order = ["pending", "processing", "completed"]
    assert statuses == sorted(statuses, key=order.index), statuses
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress) and all(type(p) is int for p in progress)
    assert all(0 < s["progress"] < 100 for s in seen if s["status"] == "processing")
    assert all("results" not in s for s in seen[:-1])
    final = seen[-1]
    assert final["status"] == "completed" and final["progress"] == 100
    assert final["task_info"] == {"can_cancel": False}
    assert len(final["results"]) == 4
    images = [download(api, url) for url in final["results"]]
    assert len({img.tobytes() for img in images}) == 4, "the four results should differ"


def test_upscale_gives_one_image_twice_the_size_and_cannot_be_repeated(api, generated):
    source = download(api, generated["results"][2])
    upscaled = run(api, model="mj-v7-upscale", model_params={"task_id": generated["id"], "image_number": 2})
    assert upscaled["status"] == "completed" and len(upscaled["results"]) == 1
    assert download(api, upscaled["results"][0]).size == (source.width * 2, source.height * 2)
    again = api.post(
        "/v1/images/generations", json={"model": "mj-v7-upscale", "model_params": {"task_id": upscaled["id"]}}
    )
    assert_error(again, 400, "invalid_parameters", "model_params.task_id")
    assert "upscaled" in again.json()["error"]["message"]


def test_follow_ups_need_a_completed_task_of_the_same_key(sim, api):
    running = create(api, model="mj-v7", prompt="a cactus in bloom")
    early = api.post(
        "/v1/images/generations", json={"model": "mj-v7-variation", "model_params": {"task_id": running["id"]}}
    )
    assert_error(early, 400, "invalid_parameters", "model_params.task_id")
    wait(api, running["id"])
    unknown = api.post(
        "/v1/images/generations",
        json={"model": "mj-v7-upscale", "model_params": {"task_id": "task-unified-1-zzzzzzzz"}},
    )
    assert_error(unknown, 404, "resource_not_found", "model_params.task_id")
    malformed = api.post("/v1/images/generations", json={"model": "mj-v7-upscale", "model_params": {"task_id": "abc"}})
    assert_error(malformed, 400, "invalid_task_id", "model_params.task_id")
    # with any key accepted, another key is another user
    with Simulator(duration=0.2) as open_sim, httpx.Client(base_url=open_sim.url("evolink"), timeout=30) as client:
        client.headers["authorization"] = "Bearer alice"
        mine = create(client, model="mj-v7", prompt="a lemon")
        assert client.get(f"/v1/tasks/{mine['id']}").status_code == 200
        answer = client.get(f"/v1/tasks/{mine['id']}", headers={"authorization": "Bearer bob"})
        assert_error(answer, 404, "resource_not_found", "task_id")


def test_variation_remix_pan_outpaint_enhance(api, generated):
    source = download(api, generated["results"][0])
    w, h = source.size
    for model, params, size in (
        ("mj-v7-variation", {"type": "subtle"}, (w, h)),
        ("mj-v7-pan", {"direction": 1, "scale": 1.5}, (round(w * 1.5), h)),  # LEGNEXT int: 1 = right
        ("mj-v7-outpaint", {"scale": 2.0}, (w * 2, h * 2)),
    ):
        final = run(
            api, model=model, prompt="more sea", model_params={"task_id": generated["id"], "image_number": 0, **params}
        )
        assert final["status"] == "completed" and len(final["results"]) == 4, final
        result = download(api, final["results"][0])
        assert result.size == size, model
    # pan right keeps the source on the left; outpaint keeps it centred
    panned = download(
        api, run(api, model="mj-v7-pan", model_params={"task_id": generated["id"], "direction": "right"})["results"][1]
    )
    assert np.array_equal(pixels(panned)[:, :w], pixels(source))
    remix = run(
        api,
        model="mj-v7-remix",
        prompt="the same pool at night",
        model_params={"task_id": generated["id"], "mode": "strong"},
    )
    assert remix["status"] == "completed"
    refused = api.post(
        "/v1/images/generations", json={"model": "mj-v7-enhance", "model_params": {"task_id": generated["id"]}}
    )
    assert_error(refused, 400, "invalid_parameters", "model_params.task_id")
    draft = run(api, model="mj-v7", prompt="a quick sketch of a fox", model_params={"speed": "draft"})
    draft_image = download(api, draft["results"][0])
    enhanced = run(api, model="mj-v7-enhance", model_params={"task_id": draft["id"], "image_number": 0})
    assert download(api, enhanced["results"][0]).size == (draft_image.width * 2, draft_image.height * 2)


# --- canvas geometry ---------------------------------------------------------------------


def test_edit_places_the_source_at_img_pos(api, generated):
    source = download(api, generated["results"][1])
    w, h = source.size
    final = run(
        api,
        model="mj-v7-edit",
        prompt="Beautiful mountain scenery background",
        model_params={
            "task_id": generated["id"],
            "image_number": 1,
            "canvas": {"width": 2 * w, "height": 2 * h},
            "img_pos": {"width": w, "height": h, "x": w // 2, "y": h // 3},
        },
    )
    assert final["status"] == "completed" and len(final["results"]) == 4
    result = download(api, final["results"][0])
    assert result.size == (2 * w, 2 * h)
    placed = pixels(result)[h // 3 : h // 3 + h, w // 2 : w // 2 + w]
    assert np.array_equal(placed, pixels(source)), "the source was not drawn 1:1 at img_pos"
    assert pixels(result)[: h // 3].std() > 5, "the blank band above the image was not filled"

    # scaled: half size in the top-left corner
    final = run(
        api,
        model="mj-v7-edit",
        prompt="a wide beach",
        model_params={
            "task_id": generated["id"],
            "image_number": 1,
            "canvas": {"width": w, "height": h},
            "img_pos": {"width": w // 2, "height": h // 2, "x": 0, "y": 0},
        },
    )
    result = pixels(download(api, final["results"][0]))
    expected = pixels(source.convert("RGB").resize((w // 2, h // 2), Image.LANCZOS))
    assert np.abs(result[: h // 2, : w // 2] - expected).mean() < 6


def test_edit_validates_canvas_and_required_fields(api, generated):
    base = {
        "task_id": generated["id"],
        "image_number": 0,
        "canvas": {"width": 1024, "height": 1024},
        "img_pos": {"width": 512, "height": 512, "x": 0, "y": 0},
    }
    for change, param in (
        ({"canvas": {"width": 32, "height": 1024}}, "model_params.canvas.width"),
        ({"canvas": {"width": 1024, "height": 5000}}, "model_params.canvas.height"),
        ({"img_pos": None}, "model_params.img_pos"),
        ({"img_pos": {"width": 512, "height": 512, "x": 0}}, "model_params.img_pos.y"),
        ({"image_number": None}, "model_params.image_number"),
        ({"image_number": 4}, "model_params.image_number"),
    ):
        params = {k: v for k, v in {**base, **change}.items() if v is not None}
        answer = api.post("/v1/images/generations", json={"model": "mj-v7-edit", "prompt": "x", "model_params": params})
        assert_error(answer, 400, "invalid_parameters", param)
    no_prompt = api.post("/v1/images/generations", json={"model": "mj-v7-edit", "model_params": base})
    assert_error(no_prompt, 400, "invalid_parameters", "prompt")


def test_inpaint_changes_only_inside_the_polygons(api, generated):
    source = download(api, generated["results"][3])
    w, h = source.size
    # points refer to a 1000×1000 reference: a square in the middle third, scaled to the source
    area = {"width": 1000, "height": 1000, "points": [333, 333, 666, 333, 666, 666, 333, 666]}
    final = run(
        api,
        model="mj-v7-inpaint",
        prompt="a red crab",
        model_params={"task_id": generated["id"], "image_number": 3, "mask": {"areas": [area]}},
    )
    assert final["status"] == "completed" and len(final["results"]) == 4
    before, after = pixels(source), pixels(download(api, final["results"][0]))
    inside = np.zeros((h, w), bool)
    inside[round(h * 0.34) : round(h * 0.66), round(w * 0.34) : round(w * 0.66)] = True
    outside = np.ones((h, w), bool)
    outside[round(h * 0.32) : round(h * 0.68), round(w * 0.32) : round(w * 0.68)] = False
    assert np.array_equal(before[outside], after[outside]), "pixels outside the polygon changed"
    assert np.abs(before[inside] - after[inside]).mean() > 5, "the polygon was not repainted"


def test_upload_paint_and_remove_bg_and_retexture(api):
    picture = Image.new("RGB", (200, 200), (255, 255, 255))
    ImageDraw.Draw(picture).rectangle((60, 60, 140, 140), fill=(220, 20, 20))
    cut = run(api, model="mj-v7-remove-bg", image_urls=[data_url(picture)])
    assert cut["status"] == "completed" and len(cut["results"]) == 1
    alpha = download(api, cut["results"][0])
    assert alpha.mode == "RGBA"
    assert alpha.getpixel((5, 5))[3] == 0 and alpha.getpixel((100, 100))[3] == 255

    painted = run(
        api,
        model="mj-v7-upload-paint",
        prompt="a garden",
        image_urls=[data_url(picture)],
        model_params={
            "canvas": {"width": 400, "height": 400},
            "img_pos": {"width": 200, "height": 200, "x": 0, "y": 0},
            "mask": {"areas": [{"width": 400, "height": 400, "points": [250, 250, 390, 250, 390, 390, 250, 390]}]},
        },
    )
    assert painted["status"] == "completed"
    result = pixels(download(api, painted["results"][0]))
    assert result.shape == (400, 400, 3)
    assert np.array_equal(result[:200, :200], pixels(picture))

    retextured = run(api, model="mj-v7-retexture", prompt="made of moss", image_urls=[data_url(picture)])
    assert retextured["status"] == "completed" and len(retextured["results"]) == 4
    two = api.post(
        "/v1/images/generations",
        json={"model": "mj-v7-retexture", "prompt": "x", "image_urls": [data_url(picture), data_url(picture)]},
    )
    assert_error(two, 400, "invalid_parameters", "image_urls")


# --- prompts and failures ------------------------------------------------------------------


def test_prompt_rules(api):
    for prompt in ("a cat --v 6", "a cat --version 7", "a cat --niji 6"):
        answer = api.post("/v1/images/generations", json={"model": "mj-v7", "prompt": prompt})
        assert_error(answer, 400, "invalid_parameters", "prompt")
        assert prompt.split()[2] in answer.json()["error"]["message"]
    lone = api.post("/v1/images/generations", json={"model": "mj-v7", "prompt": "https://example.com/a.png"})
    assert_error(lone, 400, "invalid_parameters", "prompt")
    assert (
        run(api, model="mj-v7", prompt="https://example.com/a.png https://example.com/b.png")["status"] == "completed"
    )
    assert_error(
        api.post("/v1/images/generations", json={"model": "mj-v7", "prompt": "x" * 8193}),
        400,
        "invalid_parameters",
        "prompt",
    )
    assert_error(api.post("/v1/images/generations", json={"model": "mj-v7"}), 400, "invalid_parameters", "prompt")
    speed = api.post(
        "/v1/images/generations", json={"model": "mj-v7", "prompt": "x", "model_params": {"speed": "relax"}}
    )
    assert_error(speed, 400, "invalid_parameters", "model_params.speed")
    assert create(api, model="mj-v7", prompt="a cat --draft --fast")["status"] == "pending"


def test_task_failures(sim, api):
    blocked = run(api, model="mj-v7", prompt="a nude statue")
    assert blocked["status"] == "failed" and blocked["error"]["code"] == "content_policy_violation"
    assert "results" not in blocked
    sim.state.faults.add(path="/evolink/v1/images/generations", kind="fail_job", message="nothing came out")
    failed = run(api, model="mj-v7", prompt="a bowl of soup")
    assert failed["error"] == {"code": "generation_failed_no_content", "message": "nothing came out"}
    sim.state.faults.add(
        path="/evolink/v1/images/generations", kind="fail_job", message="resource_exhausted: upstream busy"
    )
    assert run(api, model="mj-v7", prompt="a bowl of soup")["error"] == {
        "code": "resource_exhausted",
        "message": "upstream busy",
    }


def test_strict_fetch_fails_the_task():
    with (
        Simulator(duration=0.2, strict_fetch=True) as strict,
        httpx.Client(base_url=strict.url("evolink"), headers={"authorization": "Bearer k"}, timeout=30) as client,
    ):
        final = run(client, model="mj-v7-retexture", prompt="x", image_urls=["https://example.com/photo.jpg"])
    assert final["status"] == "failed" and final["error"]["code"] == "image_processing_error"


# --- callbacks (§1.8) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.20/hook",
        "https://172.16.3.4/hook",
        "https://[::1]/hook",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_callback_urls_refused_without_the_insecure_flag(url):
    with Simulator(duration=0.2) as strict:
        answer = httpx.post(
            strict.url("evolink") + "/v1/images/generations",
            json={"model": "mj-v7", "prompt": "x", "callback_url": url},
            headers={"authorization": "Bearer k"},
        )
    assert_error(answer, 400, "invalid_parameters", "callback_url")


def test_callback_is_retried_after_a_failure(api):
    with Receiver(fail_first=1) as receiver:
        created = create(api, model="mj-v7", prompt="a lantern", callback_url=receiver.url)
        bodies = receiver.wait_for(2)
        final = api.get(f"/v1/tasks/{created['id']}").json()
    assert receiver.statuses[:2] == [500, 200]
    assert bodies[0] == bodies[1] == final and final["status"] == "completed"


def test_failed_task_is_called_back_too(sim, api):
    sim.state.faults.add(path="/evolink/v1/images/generations", kind="fail_job", message="service_error: boom")
    with Receiver() as receiver:
        create(api, model="mj-v7", prompt="a lantern", callback_url=receiver.url)
        body = receiver.wait_for(1)[0]
    assert body["status"] == "failed" and body["error"] == {"code": "service_error", "message": "boom"}


# --- HTTP errors (§1.7) --------------------------------------------------------------------


def assert_error(answer: httpx.Response, status: int, code: str, param: str | None = None) -> dict:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"] and error["type"], error
    if param is not None:
        assert error.get("param") == param, error
    assert KEY not in answer.text
    return error


def test_auth_and_request_errors(sim, api):
    url = sim.url("evolink") + "/v1/images/generations"
    assert (
        assert_error(httpx.post(url, json={"model": "mj-v7", "prompt": "x"}), 401, "invalid_api_key")["type"]
        == "authentication_error"
    )
    assert_error(
        httpx.post(url, json={"model": "mj-v7", "prompt": "x"}, headers={"authorization": "Bearer nope"}),
        401,
        "invalid_api_key",
    )
    assert_error(api.post("/v1/images/generations", content=b"[1,2"), 400, "invalid_parameters")
    assert_error(
        api.post("/v1/images/generations", json={"model": "dall-e", "prompt": "x"}), 400, "invalid_parameters", "model"
    )
    assert_error(api.post("/v1/images/generations", content=b"x" * (4 * 1024 * 1024 + 1)), 413, "request_too_large")
    assert_error(api.get("/v1/tasks/task-unified-1700000000-abcdefgh"), 404, "resource_not_found", "task_id")
    bad_id = api.get("/v1/tasks/12345")
    assert bad_id.status_code == 400
    assert bad_id.json() == {
        "error": {
            "code": "invalid_task_id",
            "message": "Invalid task ID format, must start with 'task-unified-'",
            "type": "invalid_request_error",
            "param": "task_id",
        }
    }


@pytest.mark.parametrize(
    "status,code",
    [
        (402, "insufficient_quota"),
        (403, "access_denied"),
        (429, "rate_limit_exceeded"),
        (500, "internal_error"),
        (502, "upstream_error"),
        (503, "service_unavailable"),
    ],
)
def test_injected_status_faults_use_the_envelope(sim, api, status, code):
    sim.state.faults.add(path="/evolink/v1/images/generations", kind="status", status=status, message="")
    assert_error(api.post("/v1/images/generations", json={"model": "mj-v7", "prompt": "x"}), status, code)
