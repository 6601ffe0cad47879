"""The simulator core: server lifecycle, stored files, image fetching, faults, callbacks, rendering."""

from __future__ import annotations

import asyncio
import base64
import io
import socket
import threading

import httpx
import numpy as np
import pytest
from PIL import Image

from mjnb.sim import SimConfig, Simulator, render
from mjnb.sim._cli import main as cli_main
from mjnb.sim._state import BadImage, FetchFailed

PROXY = {"mj-api-secret": "test-key"}


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int16)


def _run(sim: Simulator, coro):
    return asyncio.run_coroutine_threadsafe(coro, sim.state.loop).result(timeout=30)


@pytest.fixture
def http():
    """One kept-alive client per test (a new httpx client per request costs ~80 ms of TLS setup)."""
    with httpx.Client(timeout=30) as client:
        yield client


# ---- lifecycle and configuration ------------------------------------------------------------------


def test_start_serves_health_and_stop_frees_the_port(http):
    sim = Simulator(duration=0.3)
    assert sim.start() is sim and sim.start() is sim  # idempotent
    port = sim.port
    assert http.get(f"{sim.base_url}/healthz").json() == {"ok": True}
    assert sim.url("evolink") == f"http://127.0.0.1:{port}/evolink"
    sim.stop()
    sim.stop()  # twice is fine
    with pytest.raises(httpx.ConnectError):
        http.get(f"http://127.0.0.1:{port}/healthz")


def test_restart_after_stop_runs_jobs_again(http):
    sim = Simulator(duration=0.05)
    try:
        for _ in range(2):
            sim.start()
            task_id = http.post(
                sim.url("mjproxy") + "/mj/submit/imagine", json={"prompt": "again"}, headers=PROXY
            ).json()["result"]
            for _ in range(500):
                task = http.get(sim.url("mjproxy") + f"/mj/task/{task_id}/fetch", headers=PROXY).json()
                if task["status"] == "SUCCESS":
                    break
                threading.Event().wait(0.02)
            assert task["status"] == "SUCCESS"
            sim.stop()
    finally:
        sim.stop()


def test_context_manager_and_unknown_dialect():
    with Simulator(SimConfig(duration=0.1)) as sim:
        assert sim.config.duration == 0.1
        with pytest.raises(ValueError, match="dialect must be one of"):
            sim.url("openai")


def test_config_repr_hides_keys_and_bad_values_name_the_field():
    config = SimConfig(api_key="sk-very-secret", admin_key="admin-secret")
    text = repr(config) + str(Simulator(config))
    assert "sk-very-secret" not in text and "admin-secret" not in text and "api_key='***'" in text
    with pytest.raises(ValueError, match="duration"):
        SimConfig(duration=-1)
    with pytest.raises(ValueError, match="api_key"):
        SimConfig(api_key="  ")
    with pytest.raises(ValueError, match="port"):
        SimConfig(port=70000)


def test_all_four_mounts_answer(sim, http):
    # Each mount is reachable on its real path; without a key each answers its own auth refusal.
    assert http.post(sim.url("mjproxy") + "/mj/submit/imagine", json={"prompt": "x"}).status_code == 401
    assert http.post(sim.url("newapi") + "/mj/submit/imagine", json={"prompt": "x"}).status_code == 401
    assert http.post(sim.url("acedata") + "/midjourney/imagine", json={"prompt": "x"}).status_code == 401
    assert http.post(sim.url("evolink") + "/v1/images/generations", json={"prompt": "x"}).status_code == 401


# ---- stored files and image fetching ------------------------------------------------------------


def test_files_are_served_with_absolute_urls(sim, http):
    png = render.to_png(render.render_image("files test", 1, (64, 48)))
    name = sim.state.images.put(png)
    assert name.endswith(".png") and sim.state.images.put(png) == name  # content-addressed
    response = http.get(f"{sim.base_url}/files/{name}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content == png
    assert http.get(f"{sim.base_url}/files/0000000000000000.png").status_code == 404


def test_fetch_image_decodes_data_urls_base64_and_own_files(sim):
    img = render.render_image("fetch me", 3, (40, 30))
    png = _png(img)
    b64 = base64.b64encode(png).decode()
    own = f"{sim.base_url}/files/{sim.state.images.put(png)}"
    for reference in (f"data:image/png;base64,{b64}", b64, own):
        fetched = sim.state.fetch_image(reference)
        assert fetched.size == (40, 30)
        assert np.array_equal(_pixels(fetched), _pixels(img))


def test_fetch_image_draws_foreign_urls_or_refuses_them_when_strict(sim, sim_factory):
    url = "https://cdn.example.com/cat.png"
    drawn = sim.state.fetch_image(url)
    assert _png(drawn) == _png(render.picture_from_url(url))
    strict = sim_factory(strict_fetch=True)
    with pytest.raises(FetchFailed):
        strict.state.fetch_image(url)
    with pytest.raises(BadImage):
        sim.state.fetch_image("data:image/png;base64,bm90IGFuIGltYWdl")
    with pytest.raises(BadImage):
        sim.state.fetch_image("not base64 at all!")


# ---- faults -----------------------------------------------------------------------------------------


def test_status_fault_uses_the_mounts_error_body_and_retry_after(sim, http):
    sim.state.faults.add("status", path="/mjproxy/mj/task", status=503, message="maintenance")
    sim.state.faults.add("status", path="/newapi/mj/task", status=429, retry_after=2)
    proxy = http.get(sim.url("mjproxy") + "/mj/task/list", headers=PROXY)
    assert proxy.status_code == 503 and proxy.json()["description"] == "maintenance"
    relay = http.get(sim.url("newapi") + "/mj/task/1/fetch", headers={"Authorization": "Bearer sk-a"})
    assert relay.status_code == 429 and relay.headers["retry-after"] == "2"
    assert relay.json()["type"] == "upstream_error" and relay.json()["code"] == 30
    # Consumed: the next requests are served normally.
    assert http.get(sim.url("mjproxy") + "/mj/task/list", headers=PROXY).status_code == 200


def test_status_fault_on_401_gives_the_proxy_empty_body(sim, http):
    sim.state.faults.add("status", path="/mjproxy/", status=401, times=2)
    for _ in range(2):
        response = http.get(sim.url("mjproxy") + "/mj/task/list", headers=PROXY)
        assert response.status_code == 401 and response.content == b""
    assert http.get(sim.url("mjproxy") + "/mj/task/list", headers=PROXY).status_code == 200


def test_latency_fault_then_normal_answer(sim, http):
    fault = sim.state.faults.add("latency", path="/healthz", delay=0.05)
    assert http.get(f"{sim.base_url}/healthz").json() == {"ok": True}
    assert fault not in sim.state.faults.pending()


def test_drop_before_raises_and_creates_nothing(sim):
    before = sim.state.jobs_created
    sim.state.faults.add("drop_before", path="/mjproxy/mj/submit/imagine")
    with httpx.Client(headers=PROXY) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(sim.url("mjproxy") + "/mj/submit/imagine", json={"prompt": "dropped before"})
        assert sim.state.jobs_created == before
        listed = client.get(sim.url("mjproxy") + "/mj/task/list").json()
        assert all(t["prompt"] != "dropped before" for t in listed)


def test_drop_after_raises_but_the_job_exists(sim):
    before = sim.state.jobs_created
    sim.state.faults.add("drop_after", path="/mjproxy/mj/submit/imagine")
    with httpx.Client(headers=PROXY) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(sim.url("mjproxy") + "/mj/submit/imagine", json={"prompt": "dropped after"})
        assert sim.state.jobs_created == before + 1
        listed = client.get(sim.url("mjproxy") + "/mj/task/list").json()
        assert any(t["prompt"] == "dropped after" for t in listed)  # the paid job is real


def test_latency_after_creates_the_job_before_the_held_answer(sim):
    before = sim.state.jobs_created
    sim.state.faults.add("latency_after", path="/mjproxy/mj/submit/imagine", delay=0.5)
    with httpx.Client(headers=PROXY) as client:
        with pytest.raises(httpx.ReadTimeout):  # a client that gives up (or dies) while the answer is held
            client.post(sim.url("mjproxy") + "/mj/submit/imagine", json={"prompt": "held answer"}, timeout=0.2)
        assert sim.state.jobs_created == before + 1
        listed = client.get(sim.url("mjproxy") + "/mj/task/list").json()
        assert any(t["prompt"] == "held answer" for t in listed)
    sim.state.faults.add("latency_after", path="/mjproxy/mj/submit/imagine", delay=0.05)
    with httpx.Client(headers=PROXY) as client:  # a patient client gets the usual answer
        answer = client.post(sim.url("mjproxy") + "/mj/submit/imagine", json={"prompt": "late answer"})
        assert answer.json()["code"] == 1 and answer.json()["result"]


def test_fault_path_prefix_only_matches_its_paths(sim, http):
    sim.state.faults.add("status", path="/evolink/", status=500)
    assert http.get(f"{sim.base_url}/healthz").status_code == 200
    assert len(sim.state.faults.pending()) == 1
    sim.state.faults.clear()
    with pytest.raises(ValueError, match="kind must be one of"):
        sim.state.faults.add("explode")
    with pytest.raises(ValueError, match="times"):
        sim.state.faults.add("latency", times=0)


def test_fail_job_fault_fails_the_next_job(sim):
    sim.state.faults.add("fail_job", path="/mjproxy/mj/submit/imagine", message="[Invalid parameter] boom")
    with httpx.Client(base_url=sim.url("mjproxy"), headers=PROXY) as client:
        task_id = client.post("/mj/submit/imagine", json={"prompt": "will fail"}).json()["result"]
        for _ in range(400):
            task = client.get(f"/mj/task/{task_id}/fetch").json()
            if task["status"] in ("SUCCESS", "FAILURE"):
                break
            threading.Event().wait(0.02)
    assert task["status"] == "FAILURE" and task["failReason"] == "[Invalid parameter] boom"


# ---- callbacks --------------------------------------------------------------------------------------


def test_post_callback_delivers_and_records(sim, receiver):
    _run(sim, sim.state.post_callback(receiver.url, {"hello": "world"}))
    assert receiver.wait_for(lambda bodies: bodies) == [{"hello": "world"}]
    entry = [e for e in sim.state.callback_log if e["url"] == receiver.url][-1]
    assert entry == {"url": receiver.url, "status": 200, "attempt": 1, "error": None}


def test_post_callback_retries_and_never_raises(sim):
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    _run(sim, sim.state.post_callback(dead, {"x": 1}, retries=(0.01, 0.01)))
    attempts = [e for e in sim.state.callback_log if e["url"] == dead]
    assert [e["attempt"] for e in attempts] == [1, 2, 3]
    assert all(e["status"] is None and "ConnectError" in e["error"] for e in attempts)


def test_post_callback_retries_a_non_2xx(sim, receiver_factory):
    failing = receiver_factory(status=500)
    _run(sim, sim.state.post_callback(failing.url, {"n": 1}, retries=(0.01,)))
    attempts = [e for e in sim.state.callback_log if e["url"] == failing.url]
    assert [(e["attempt"], e["status"]) for e in attempts] == [(1, 500), (2, 500)]


# ---- rendering ----------------------------------------------------------------------------------------


def test_render_is_deterministic_and_differs_per_prompt():
    a1 = render.to_png(render.render_grid("a red fox in snow", 7))
    a2 = render.to_png(render.render_grid("a red fox in snow", 7))
    assert a1 == a2
    fox, whale = render.render_image("a red fox", 0, (256, 256)), render.render_image("a blue whale", 0, (256, 256))
    assert np.abs(_pixels(fox) - _pixels(whale)).mean() > 20
    other_seed = render.render_image("a red fox", 1, (256, 256))
    assert np.abs(_pixels(fox) - _pixels(other_seed)).mean() > 20


def test_grid_has_four_different_tiles_and_aspect_sizes():
    grid = render.render_grid("four tiles", 0, (512, 512))
    tiles = [_pixels(render.grid_tile(grid, i)) for i in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.abs(tiles[i] - tiles[j]).mean() > 10
    assert render.aspect_size("cat --ar 16:9") == (1024, 576)
    assert render.aspect_size("cat --aspect 2:3", base=512) == (344, 512)
    assert render.aspect_size("cat") == (1024, 1024)
    assert all(side % 8 == 0 for side in render.aspect_size("x --ar 7:5"))


def test_repaint_masked_changes_only_masked_pixels():
    image = render.render_image("keep me", 0, (200, 120))
    mask = Image.new("L", image.size, 0)
    mask.paste(255, (50, 20, 120, 90))
    out = render.repaint_masked(image, mask, "new content", 5)
    diff = np.abs(_pixels(out) - _pixels(image)).sum(axis=2)
    inside = np.asarray(mask) >= 128
    assert (diff[~inside] == 0).all()
    assert (diff[inside] > 0).mean() > 0.5
    with pytest.raises(ValueError, match="mask size"):
        render.repaint_masked(image, Image.new("L", (10, 10)), "x", 0)


def test_compose_canvas_puts_src_where_the_box_says():
    src = render.render_image("the source", 2, (100, 80))
    out = render.compose_canvas(src, (300, 200), (40, 30, 100, 80), "filler", 1)
    assert out.size == (300, 200)
    assert np.array_equal(_pixels(out.crop((40, 30, 140, 110))), _pixels(src))
    scaled = render.compose_canvas(src, (300, 200), (0, 0, 200, 160), "filler", 1)
    expected = src.resize((200, 160), Image.LANCZOS)
    assert np.array_equal(_pixels(scaled.crop((0, 0, 200, 160))), _pixels(expected))
    cropped = render.compose_canvas(src, (300, 200), (-50, -40, 100, 80), "filler", 1)
    assert np.array_equal(_pixels(cropped.crop((0, 0, 50, 40))), _pixels(src.crop((50, 40, 100, 80))))


def test_outpaint_pan_and_preview_shapes():
    src = render.render_image("centre", 0, (160, 160))
    zoomed = render.outpaint(src, 2, "around", 0)
    assert zoomed.size == (160, 160)
    assert np.array_equal(_pixels(zoomed.crop((40, 40, 120, 120))), _pixels(src.resize((80, 80), Image.LANCZOS)))
    left = render.pan(src, "left", "more", 0)
    assert left.size == (240, 160) and np.array_equal(_pixels(left.crop((80, 0, 240, 160))), _pixels(src))
    assert render.pan(src, "down", "more", 0).size == (160, 240)
    with pytest.raises(ValueError, match="direction"):
        render.pan(src, "sideways", "x", 0)
    early, late = render.preview(src, 10), render.preview(src, 90)
    assert early.size == late.size == src.size
    assert np.abs(_pixels(late) - _pixels(src)).mean() < np.abs(_pixels(early) - _pixels(src)).mean()


def test_cli_prints_the_urls_but_never_the_key(capsys):
    stop = threading.Event()
    stop.set()  # serve, print, and stop at once
    assert cli_main(["--port", "0", "--api-key", "cli-secret-key", "--duration", "0.2"], stop=stop) == 0
    out = capsys.readouterr().out
    for dialect in ("mjproxy", "newapi", "acedata", "evolink"):
        assert f"/{dialect}" in out
    assert "cli-secret-key" not in out
