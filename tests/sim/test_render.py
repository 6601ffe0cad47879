"""The simulator's pictures (issue 13 §3): anti-aliased, varied, more detail in an upscale; PNGs; off the loop."""

from __future__ import annotations

import io
import threading

import httpx
import numpy as np
import pytest
from PIL import Image, ImageFilter

from mjnb.sim import Simulator, _scene, render


def _edges(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float64).mean())


def _intermediate_share(image: Image.Image) -> float:
    """Of the pixels on a hard vertical edge, the share whose value lies strictly between its neighbours'."""
    px = np.asarray(image.convert("L"), dtype=np.int16)
    above, here, below = px[:-2], px[1:-1], px[2:]
    edge = np.abs(below - above) > 40
    between = (np.minimum(above, below) < here) & (here < np.maximum(above, below))
    return float(between[edge].mean())


@pytest.mark.parametrize("prompt", ["a lighthouse at dusk", "a red fox", "x"])
def test_shapes_are_anti_aliased(monkeypatch, prompt):
    smooth = _scene.draw_scene(prompt, 3, (256, 256))
    monkeypatch.setattr(_scene, "SUPERSAMPLE", 1)
    jagged = _scene.draw_scene(prompt, 3, (256, 256))
    # Hard edges drawn without supersampling jump from one colour to the next (about 5 % of edge
    # pixels fall between); supersampled, a third or more do.
    assert _intermediate_share(smooth) > 0.3
    assert _intermediate_share(smooth) > 4 * _intermediate_share(jagged)


@pytest.mark.parametrize("prompt", ["a red fox in snow", "cyberpunk city at night", "x"])
def test_an_upscale_tile_is_the_same_picture_with_more_detail(prompt):
    grid = render.render_grid(prompt, 5, (1024, 1024))
    for index0 in range(4):
        tile = render.grid_tile(grid, index0)
        up = render.upscale_tile(grid, index0, (prompt, 5))
        assert up.size == tile.size == (512, 512)
        assert np.abs(np.asarray(up, dtype=np.int16) - np.asarray(tile, dtype=np.int16)).mean() < 8
        assert _edges(up) > 1.15 * _edges(tile)
    # Without the grid's recipe (a blended grid) the tile itself is sharpened, still at its size.
    assert render.upscale_tile(grid, 0, None).size == (512, 512)


def test_seeds_give_different_compositions():
    pictures = [
        np.asarray(render.render_image("the same prompt", seed, (128, 128)), dtype=np.int16) for seed in range(6)
    ]
    for i in range(6):
        for j in range(i + 1, 6):
            assert np.abs(pictures[i] - pictures[j]).mean() > 8, (i, j)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "I;16"])
def test_to_png_round_trips_every_mode(mode):
    source = render.render_image("png modes", 1, (37, 23)).convert("RGBA")
    source.putalpha(Image.linear_gradient("L").resize((37, 23)))
    image = source.convert(mode) if mode != "I;16" else source.convert("L").convert("I;16")
    decoded = Image.open(io.BytesIO(render.to_png(image)))
    decoded.load()
    assert decoded.mode == image.mode and decoded.size == image.size
    assert np.array_equal(np.asarray(decoded), np.asarray(image))


def test_the_event_loop_never_draws_or_encodes(monkeypatch):
    """Pictures render in worker processes; the server's loop thread only moves bytes."""
    calls: list[str] = []
    for name in ("to_png", "render_grid", "render_image", "preview"):
        original = getattr(render, name)

        def spy(*args, __original=original, **kwargs):
            calls.append(threading.current_thread().name)
            return __original(*args, **kwargs)

        monkeypatch.setattr(render, name, spy)
    with Simulator(duration=0.2) as sim, httpx.Client(timeout=30) as http:
        loop_thread = sim._thread.name
        proxy = http.post(
            f"{sim.url('mjproxy')}/mj/submit/imagine", headers={"mj-api-secret": "k"}, json={"prompt": "off the loop"}
        ).json()["result"]
        ace = http.post(
            f"{sim.url('acedata')}/midjourney/imagine",
            headers={"authorization": "Bearer k"},
            json={"prompt": "off the loop"},
        )
        evo = http.post(
            f"{sim.url('evolink')}/v1/images/generations",
            headers={"authorization": "Bearer k"},
            json={"model": "mj-v7", "prompt": "off the loop"},
        ).json()["id"]
        assert ace.json()["success"] is True
        for _ in range(3000):
            done_proxy = (
                http.get(f"{sim.url('mjproxy')}/mj/task/{proxy}/fetch", headers={"mj-api-secret": "k"}).json()["status"]
                == "SUCCESS"
            )
            done_evo = (
                http.get(f"{sim.url('evolink')}/v1/tasks/{evo}", headers={"authorization": "Bearer k"}).json()["status"]
                == "completed"
            )
            if done_proxy and done_evo:
                break
    assert done_proxy and done_evo
    assert loop_thread not in calls


def test_2x_upscales_draw_the_picture_again_at_the_larger_size():
    """Proxy's Upscale (Subtle) after U1 and EvoLink's mj-v7-upscale: twice the size, more detail than a blow-up."""
    with Simulator(duration=0.1) as sim, httpx.Client(timeout=30) as http:
        proxy, key = sim.url("mjproxy"), {"mj-api-secret": "k"}

        def run(endpoint: str, body: dict) -> dict:
            task_id = http.post(f"{proxy}/mj/submit/{endpoint}", json=body, headers=key).json()["result"]
            for _ in range(3000):
                task = http.get(f"{proxy}/mj/task/{task_id}/fetch", headers=key).json()
                if task["status"] in ("SUCCESS", "FAILURE"):
                    return task
            raise AssertionError("never finished")

        def button(task: dict, start: str) -> str:
            return next(b["customId"] for b in task["buttons"] if b["customId"].startswith(start))

        grid = run("imagine", {"prompt": "a valley with pines"})
        up = run("action", {"taskId": grid["id"], "customId": button(grid, "MJ::JOB::upsample::1")})
        hd = run("action", {"taskId": up["id"], "customId": button(up, "MJ::JOB::upsample_v7_2x_subtle")})
        small = Image.open(io.BytesIO(http.get(up["imageUrl"]).content)).convert("RGB")
        big = Image.open(io.BytesIO(http.get(hd["imageUrl"]).content)).convert("RGB")
        assert big.size == (small.width * 2, small.height * 2)
        assert _edges(big) > 1.1 * _edges(small.resize(big.size, Image.Resampling.LANCZOS))

        evo, auth = sim.url("evolink"), {"authorization": "Bearer k"}

        def evo_run(body: dict) -> dict:
            task_id = http.post(f"{evo}/v1/images/generations", json=body, headers=auth).json()["id"]
            for _ in range(3000):
                task = http.get(f"{evo}/v1/tasks/{task_id}", headers=auth).json()
                if task["status"] in ("completed", "failed"):
                    return task
            raise AssertionError("never finished")

        made = evo_run({"model": "mj-v7", "prompt": "a valley with pines"})
        upscaled = evo_run(
            {
                "model": "mj-v7-upscale",
                "prompt": "",
                "model_params": {"task_id": made["id"], "image_number": 2, "type": "standard"},
            }
        )
        source = Image.open(io.BytesIO(http.get(made["results"][2]).content)).convert("RGB")
        result = Image.open(io.BytesIO(http.get(upscaled["results"][0]).content)).convert("RGB")
        assert result.size == (source.width * 2, source.height * 2)
        assert _edges(result) > 1.1 * _edges(source.resize(result.size, Image.Resampling.LANCZOS))
