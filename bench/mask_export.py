"""Timings of the mask pipeline on large brush-stroke masks: as_mask, encode_mask (each
format) and mask_to_polygons, at 2048² and 4096².  Prints figures; asserts nothing.

    .venv/bin/python bench/mask_export.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image, ImageDraw

from mjnb import images


def brush_mask(side: int, strokes: int, radius: int, seed: int) -> Image.Image:
    """Round-capped polyline strokes, as a canvas brush leaves them."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(img)
    for _ in range(strokes):
        points = [tuple(rng.uniform(0, side, 2))]
        for _ in range(12):
            step = rng.normal(0, side / 12, 2)
            points.append(tuple(np.clip(np.array(points[-1]) + step, 0, side - 1)))
        draw.line(points, fill=255, width=2 * radius, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    return img


def dots_mask(side: int, count: int, radius: int, seed: int) -> Image.Image:
    """Many small separate components: the worst case for per-component overhead."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(img)
    for x, y in rng.uniform(radius, side - radius, (count, 2)):
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    return img


def best_of(repeat: int, fn, *args, **kwargs) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is printed")
    args = parser.parse_args()
    cases = []
    for side in (2048, 4096):
        scale = side // 1024
        cases.append((f"{side}² strokes r={12 * scale}", brush_mask(side, 12, 12 * scale, seed=side)))
        cases.append((f"{side}² one huge blob", brush_mask(side, 3, 200 * scale, seed=side + 1)))
        cases.append((f"{side}² 1500 dots r=6", dots_mask(side, 1500, 6, seed=side + 2)))
        frame = np.full((side, side), 255, np.uint8)
        frame[side // 4 : 3 * side // 4, side // 5 : 4 * side // 5] = 0
        cases.append((f"{side}² reposition frame", Image.fromarray(frame)))

    print("as_mask: from an L image / from an RGBA stroke layer (alpha); IoU: polygons rasterised back vs the mask")
    print(
        f"{'mask':28} {'as_mask L/RGBA':>15} {'png_data_url':>13} {'png_base64':>11} {'polygons':>9}  areas  points   IoU    PNG KB"
    )
    for name, img in cases:
        layer = Image.new("RGBA", img.size, (255, 64, 64, 0))
        layer.putalpha(img)
        t_mask, mask = best_of(args.repeat, images.as_mask, img, img.size)
        t_layer, _ = best_of(args.repeat, images.as_mask, layer, img.size)
        t_url, url = best_of(args.repeat, images.encode_mask, mask, "png_data_url")
        t_b64, _ = best_of(args.repeat, images.encode_mask, mask, "png_base64")
        t_poly, areas = best_of(args.repeat, images.encode_mask, mask, "polygons")
        back = np.asarray(images.polygons_to_mask(areas, mask.size)) > 0
        points = sum(len(a["points"]) // 2 for a in areas)
        print(
            f"{name:28} {t_mask * 1e3:5.0f}/{t_layer * 1e3:3.0f} ms {t_url * 1e3:10.0f} ms {t_b64 * 1e3:8.0f} ms {t_poly * 1e3:6.0f} ms"
            f"  {len(areas):5d} {points:7d}  {iou(back, np.asarray(mask) > 0):.4f} {len(url) * 3 / 4 / 1024:7.0f}"
        )


if __name__ == "__main__":
    main()
