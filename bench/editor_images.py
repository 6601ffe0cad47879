"""Kernel-side costs of the canvas editor: image load, mask export, per-event handling.

    .venv/bin/python bench/editor_images.py [--repeat 7]

Prints medians (and min) in milliseconds:
  * image load to the canvas — ``editor.load(image)``: resize to the display, JPEG (q 92),
    and the draw batch handed to the comm, for 1024² and 2048² photos (target 2048² ≤ 200 ms);
  * mask export — rasterising the recorded commands from scratch at source resolution, then
    ``mask()``, ``mask_png()``, ``polygons()`` and each dialect's payload, for 2048² and
    4096² sources (target 4096² ≤ 100 ms for the mask);
  * one mouse move while painting — the handler's own time (point + one draw batch).
No browser here: what the browser spends decoding and drawing is measured by the browser
latency bench. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PIL import Image

import mjnb
from mjnb.widgets import CanvasEditor
from mjnb.widgets._strokes import Lasso, MaskCommands, Rect, Stroke


def photo(side: int) -> Image.Image:
    """A photo-like test image: smooth gradients, shapes and mild noise (JPEG sizes like a real one)."""
    y, x = np.mgrid[0:side, 0:side] / side
    rng = np.random.default_rng(side)
    rgb = np.stack(
        [
            0.5 + 0.5 * np.sin(6 * x + 3 * y),
            0.5 + 0.5 * np.cos(5 * y - 2 * x),
            0.5 + 0.4 * np.sin(9 * x * y),
        ],
        axis=-1,
    )
    rgb += rng.normal(0, 0.03, rgb.shape)
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))


def timed(fn, repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), min(runs)


def realistic_commands(side: int) -> list:
    """A mask as a user paints one: 12 brush strokes of 60 points, a rectangle, a lasso, an eraser pass."""
    rng = np.random.default_rng(1)
    k = side / 768  # brush sizes are chosen on a 768 px display
    commands: list = []
    for _ in range(12):
        start = rng.uniform(0.1, 0.9, 2) * side
        steps = rng.normal(0, 6 * k, (60, 2)).cumsum(axis=0)
        commands.append(Stroke(tuple(map(tuple, start + steps)), radius=float(rng.uniform(8, 30) * k)))
    commands.append(Rect(0.1 * side, 0.7 * side, 0.3 * side, 0.9 * side))
    angles = np.linspace(0, 2 * np.pi, 80, endpoint=False)
    ring = np.stack([0.7 + 0.15 * np.cos(angles), 0.3 + 0.12 * np.sin(angles)], axis=-1) * side
    commands.append(Lasso(tuple(map(tuple, ring))))
    commands.append(Stroke(((0.2 * side, 0.2 * side), (0.8 * side, 0.25 * side)), radius=10 * k, erase=True))
    return commands


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    client = mjnb.Client("mjproxy", base_url="http://127.0.0.1:9/mjproxy", api_key="sk-bench", journal=False)

    print("image load to the canvas (kernel: resize + JPEG q92 + draw batch), display 768")
    editor = CanvasEditor(photo(512), client=client)
    for side in (1024, 2048):
        image = photo(side)
        median, best = timed(lambda: editor.load(image), args.repeat)
        print(
            f"  {side}²: median {median:6.1f} ms   min {best:6.1f} ms   JPEG {editor.layers.photo_bytes / 1024:6.1f} KiB"
        )

    print("mask export (source resolution, from the recorded commands)")
    for side in (2048, 4096):
        commands = realistic_commands(side)
        editor = CanvasEditor(Image.new("RGB", (side, side), (90, 120, 160)), client=client)
        editor.history = MaskCommands((side, side), commands)

        def rebuild():
            editor.history = MaskCommands((side, side), commands)  # a cold cache, as after an undo
            editor.history.array()

        rows = {
            "rasterise all commands": rebuild,
            "mask() (cached)": lambda: editor.mask(),
            "mask(grow=8, feather=4)": lambda: editor.mask(grow=8, feather=4),
            "mask_png()": lambda: editor.mask_png(),
            "polygons()": lambda: editor.polygons(),
            "payload mjproxy (data URL)": lambda: editor.payload("mjproxy"),
            "payload evolink (areas)": lambda: editor.payload("evolink"),
        }
        coverage = editor.history.array().mean() * 100
        print(f"  {side}² ({len(commands)} commands, {coverage:.1f} % painted)")
        for name, fn in rows.items():
            median, best = timed(fn, args.repeat)
            print(f"    {name:28s} median {median:7.1f} ms   min {best:7.1f} ms")

    print("one mouse move while painting (kernel handler: point + one draw batch)")
    editor = CanvasEditor(photo(2048), client=client)
    move = editor.layers.multi[-1]._handle_frontend_event
    move(None, {"event": "mouse_down", "x": 10.0, "y": 10.0}, [])
    runs = []
    for i in range(2000):
        t0 = time.perf_counter()
        move(None, {"event": "mouse_move", "x": 10.0 + (i % 700), "y": 10.0 + i // 700}, [])
        runs.append((time.perf_counter() - t0) * 1e6)
    move(None, {"event": "mouse_up", "x": 10.0, "y": 10.0}, [])
    runs.sort()
    print(f"  p50 {runs[len(runs) // 2]:.0f} µs   p95 {runs[int(len(runs) * 0.95)]:.0f} µs   (n={len(runs)})")


if __name__ == "__main__":
    main()
