"""The simulator's pictures: a layered landscape per prompt and seed, drawn anti-aliased.

Every choice (palette, time of day, sun, ridges, clouds or stars) comes from a hash of prompt and
seed, so the same input gives the same pixels and another prompt a visibly different picture.
Shapes are drawn at ``SUPERSAMPLE``× the size and reduced: box-filtering an integer supersample
is the classic anti-aliasing and costs a fifteenth of a LANCZOS resize of the same factor, which
matters with hundreds of jobs on two cores. ``detail=1`` (an upscale) draws the same composition
with finer ridge octaves, trees, birds and more stars, so it shows more than its grid tile.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import random

import numpy as np
from PIL import Image, ImageDraw

SUPERSAMPLE = 2
Colour = tuple[int, int, int]


def rng_for(*parts: object) -> random.Random:
    """A random generator seeded from ``parts`` (stable across runs and platforms)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _hsv(h: float, s: float, v: float) -> Colour:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, max(0.0, min(1.0, s)), max(0.0, min(1.0, v)))
    return int(r * 255), int(g * 255), int(b * 255)


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


class _Look:
    """The palette and layout of one picture, drawn from its generator."""

    def __init__(self, rng: random.Random) -> None:
        self.hue = rng.random()
        self.time = rng.choice(("day", "dusk", "night", "dawn", "dusk"))
        warm = self.hue + rng.choice((0.5, 0.08, -0.08, 0.33))
        if self.time == "day":
            self.sky_top, self.horizon = _hsv(self.hue, 0.55, 0.85), _hsv(self.hue + 0.03, 0.2, 1.0)
            self.sun = _hsv(warm, 0.15, 1.0)
        elif self.time == "night":
            self.sky_top, self.horizon = _hsv(self.hue, 0.7, 0.12), _hsv(self.hue + 0.05, 0.55, 0.35)
            self.sun = _hsv(self.hue, 0.05, 0.95)  # a moon
        else:
            self.sky_top, self.horizon = _hsv(self.hue, 0.6, 0.45), _hsv(warm, 0.55, 1.0)
            self.sun = _hsv(warm + 0.03, 0.35, 1.0)
        self.land = _hsv(self.hue + rng.uniform(-0.15, 0.15), rng.uniform(0.35, 0.8), rng.uniform(0.08, 0.22))
        self.sun_xy = (rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.45))
        self.sun_r = rng.uniform(0.05, 0.11)
        self.layers = rng.randint(3, 5)
        self.top = rng.uniform(0.38, 0.58)  # where the farthest ridge stands (share of the height)
        self.rough = rng.uniform(0.4, 1.0)
        self.clouds = rng.randint(0, 4) if self.time != "night" else 0


def draw_scene(prompt: str, seed: int, size: tuple[int, int], detail: int = 0) -> Image.Image:
    """An RGB picture of ``size`` (w, h in px) for ``prompt``/``seed``; ``detail`` 0 (grid) or 1 (upscale)."""
    w, h = size
    s = SUPERSAMPLE
    W, H = w * s, h * s
    rng = rng_for("scene", prompt, seed)
    look = _Look(rng)
    img = _sky(look, W, H)
    draw = ImageDraw.Draw(img)
    unit = min(W, H)
    sx, sy, sr = look.sun_xy[0] * W, look.sun_xy[1] * H, look.sun_r * unit
    sky_at_sun = _mix(look.sky_top, look.horizon, min(1.0, look.sun_xy[1] / 0.6))
    extra = rng_for("detail", prompt, seed)  # detail draws from its own stream: the base stays the same
    if look.time == "night":
        stars = rng.randint(15, 40) + (80 if detail else 0)
        for _ in range(stars):
            x, y, r = extra.uniform(0, W), extra.uniform(0, H * look.top), extra.uniform(0.6, 1.8) * s
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_mix(look.sky_top, (255, 255, 255), extra.uniform(0.5, 1)))
    for k in range(10, 0, -1):  # glow: rings fading into the sky
        r = sr * (1 + 0.12 * k)
        draw.ellipse((sx - r, sy - r, sx + r, sy + r), fill=_mix(sky_at_sun, look.sun, 0.6 * (1 - k / 11) ** 2))
    draw.ellipse((sx - sr, sy - sr, sx + sr, sy + sr), fill=look.sun)
    for _ in range(look.clouds):
        cx, cy, cw = rng.uniform(0, W), rng.uniform(0.08, 0.35) * H, rng.uniform(0.12, 0.3) * W
        colour = _mix(look.horizon, (255, 255, 255), 0.5)
        for j in range(5):
            dx, r = (j - 2) * cw / 6, cw / 6 * (1.3 - abs(j - 2) * 0.2)
            draw.ellipse((cx + dx - r, cy - r * 0.55, cx + dx + r, cy + r * 0.55), fill=colour)
    for i in range(look.layers):
        depth = i / max(1, look.layers - 1)  # 0 = farthest
        colour = _mix(_mix(look.horizon, look.sky_top, 0.25), look.land, 0.35 + 0.65 * depth)
        base = (look.top + (0.92 - look.top) * depth) * H
        points = _ridge(rng, extra, W, H, base, look.rough * (0.16 - 0.06 * depth) * H, detail)
        draw.polygon([*points, (W, H), (0, H)], fill=colour)
        if detail:
            _strata(draw, extra, points, colour, look.horizon, H)
            if i >= look.layers - 2:
                _trees(draw, extra, points, colour, unit)
    if detail:
        for _ in range(extra.randint(3, 7)):  # birds
            bx, by, span = extra.uniform(0.1, 0.9) * W, extra.uniform(0.1, 0.35) * H, extra.uniform(0.006, 0.014) * unit
            draw.line(
                [(bx - span, by - span * 0.5), (bx, by), (bx + span, by - span * 0.5)],
                fill=_mix(look.land, look.sky_top, 0.2),
                width=max(1, s),
            )
    return img.reduce(s)


def _sky(look: _Look, W: int, H: int) -> Image.Image:
    t = np.minimum(1.0, np.arange(H, dtype=np.float32) / max(1, int(H * 0.6))) ** 1.4
    top, bottom = np.array(look.sky_top, dtype=np.float32), np.array(look.horizon, dtype=np.float32)
    column = (top + (bottom - top) * t[:, None]).round().astype(np.uint8).reshape(H, 1, 3)
    return Image.fromarray(column, "RGB").resize((W, H), Image.Resampling.NEAREST)


def _ridge(
    rng: random.Random, extra: random.Random, W: int, H: int, base: float, amplitude: float, detail: int
) -> list[tuple[float, float]]:
    waves = [(rng.uniform(0.6, 1.6) * 2**k, rng.uniform(0, math.tau), 0.5**k) for k in range(3)]
    if detail:  # finer octaves: crags and bumps a grid tile does not show
        waves += [(extra.uniform(0.8, 1.4) * 2**k, extra.uniform(0, math.tau), 0.45**k) for k in range(3, 7)]
    steps = 96 + 160 * detail
    t = np.linspace(0.0, math.tau, steps + 1)
    y = base - amplitude * sum(a * np.sin(f * t + p) for f, p, a in waves)
    x = np.linspace(0.0, W, steps + 1)
    return list(zip(x.tolist(), y.tolist()))


def _strata(
    draw: ImageDraw.ImageDraw,
    extra: random.Random,
    ridge: list[tuple[float, float]],
    colour: Colour,
    light: Colour,
    H: int,
) -> None:
    """Contour lines under a crest, the rock texture an upscale shows."""
    for k in range(1, extra.randint(3, 5)):
        drop = k * extra.uniform(0.02, 0.035) * H
        wobble = extra.uniform(0, math.tau)
        line = [(x, y + drop + 0.006 * H * math.sin(x / H * 40 + wobble)) for x, y in ridge]
        draw.line(line, fill=_mix(colour, light, 0.12), width=max(1, H // 700))


def _trees(
    draw: ImageDraw.ImageDraw, extra: random.Random, ridge: list[tuple[float, float]], colour: Colour, unit: int
) -> None:
    dark = _mix(colour, (0, 0, 0), 0.25)
    for _ in range(extra.randint(16, 36)):
        x, y = ridge[extra.randrange(len(ridge))]
        tall, wide = extra.uniform(0.02, 0.05) * unit, extra.uniform(0.006, 0.012) * unit
        draw.polygon([(x - wide, y + wide), (x, y - tall), (x + wide, y + wide)], fill=dark)
