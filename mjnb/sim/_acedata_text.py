"""The synchronous text endpoints of AceData (§2.4): translate, shorten, describe.

No language model here: translation uses a small glossary (enough for the documented
example and common subjects), shortening keeps the leading content words, and a
description is built from the image's real colours and aspect ratio.
"""

from __future__ import annotations

import math
import re

from PIL import Image, ImageStat

# Longest entries are matched first, so "洁白的" wins over "白".
_GLOSSARY = {
    "精致": "exquisite",
    "无暇": "flawless",
    "洁白的": "pure white",
    "洁白": "pure white",
    "天使": "angel",
    "一只": "a",
    "猫": "cat",
    "狗": "dog",
    "坐在": "sitting on",
    "桌子上": "the table",
    "桌子": "table",
    "美丽的": "beautiful",
    "美丽": "beautiful",
    "山": "mountain",
    "风景": "landscape",
    "日落": "sunset",
    "城市": "city",
    "夜晚": "night",
    "的": "",
    "和": "and",
    "花": "flower",
    "海": "sea",
    "森林": "forest",
    "女孩": "girl",
    "男孩": "boy",
    "红色": "red",
    "蓝色": "blue",
    "白": "white",
    "黑": "black",
}
_PUNCTUATION = {"，": ",", "。": ".", "、": ",", "！": "!", "？": "?", "：": ":", "；": ";"}
_STOP_WORDS = {"a", "an", "the", "of", "in", "on", "with", "and", "at", "by", "for", "to", "very"}
_COLOURS = {
    "red": (200, 40, 40),
    "orange": (230, 140, 30),
    "yellow": (230, 210, 50),
    "green": (50, 160, 70),
    "teal": (40, 150, 150),
    "blue": (40, 80, 200),
    "purple": (130, 60, 170),
    "pink": (230, 130, 170),
    "brown": (120, 80, 40),
    "grey": (128, 128, 128),
    "white": (240, 240, 240),
    "black": (20, 20, 20),
}


def translate(content: str) -> str:
    """English for a prompt: ASCII text is returned unchanged."""
    if content.isascii():
        return content
    words: list[str] = []
    i = 0
    keys = sorted(_GLOSSARY, key=len, reverse=True)
    while i < len(content):
        char = content[i]
        if char in _PUNCTUATION:
            if words:
                words[-1] += _PUNCTUATION[char]
            i += 1
            continue
        match = next((k for k in keys if content.startswith(k, i)), None)
        if match is not None:
            if _GLOSSARY[match]:
                words.append(_GLOSSARY[match])
            i += len(match)
            continue
        # ASCII runs and unknown characters pass through as they are.
        j = i + 1
        if char.isascii():
            while j < len(content) and content[j].isascii():
                j += 1
        chunk = content[i:j].strip()
        if chunk:
            words.append(chunk)
        i = j
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def shorten(prompt: str) -> list[str]:
    """Up to five shorter prompts: parameters dropped, fewer content words each time."""
    text = re.sub(r"\s--\S+(\s+[^-\s]\S*)?", "", " " + prompt).strip()
    words = [w for w in re.findall(r"[\w'-]+", text) if w.lower() not in _STOP_WORDS]
    if not words:
        return [text] if text else []
    prompts: list[str] = []
    for fraction in (1.0, 0.8, 0.6, 0.45, 0.3):
        candidate = " ".join(words[: max(1, math.ceil(len(words) * fraction))])
        if candidate not in prompts:
            prompts.append(candidate)
    return prompts[:5]


def aspect_ratio(width: int, height: int) -> str:
    divisor = math.gcd(width, height) or 1
    return f"{width // divisor}:{height // divisor}"


def describe(image: Image.Image) -> list[str]:
    """Four candidate prompts, each ending with the image's own ``--ar W:H``."""
    rgb = image.convert("RGB")
    small = rgb.resize((32, 32))
    mean = ImageStat.Stat(small).mean
    brightness = sum(mean) / 3
    spread = sum(ImageStat.Stat(small).stddev) / 3
    colour = min(_COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(_COLOURS[name], mean)))
    light = "bright" if brightness > 150 else "dark" if brightness < 90 else "softly lit"
    texture = "busy, detailed" if spread > 60 else "smooth, minimal"
    ar = f" --ar {aspect_ratio(*rgb.size)}"
    return [
        f"a {light} {colour} composition, {texture} shapes, digital art{ar}",
        f"abstract {colour} tones with {texture} gradients, studio lighting{ar}",
        f"{texture} illustration dominated by {colour}, {light} atmosphere, high detail{ar}",
        f"minimalist poster in shades of {colour}, {light}, clean background{ar}",
    ]
