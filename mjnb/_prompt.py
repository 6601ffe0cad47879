"""Midjourney prompt parameters (PROTOCOLS.md §5): parse, build and validate ``--param value``.

``parse_prompt("cat --ar 3:2 --s 250")`` gives the text, the leading image URLs and the
parameters; ``build_prompt`` writes them back in a stable order; ``validate_prompt`` raises a
ValidationError naming the parameter and what is allowed, before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._errors import ValidationError

__all__ = ["Param", "PARAMS", "ParsedPrompt", "parse_prompt", "build_prompt", "validate_prompt", "param_errors"]


@dataclass(frozen=True)
class Param:
    name: str  # canonical flag without dashes: "ar", "s", "v" …
    kind: str  # ratio | int | float | choice | flag | text
    label: str
    aliases: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    default: Any = None
    not_on: tuple[str, ...] = ()  # dialects that refuse it
    note: str = ""

    def describe_allowed(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "int":
            return f"a whole number from {int(self.low)} to {int(self.high)}"  # type: ignore[arg-type]
        if self.kind == "float":
            return f"a number from {self.low:g} to {self.high:g}"
        if self.kind == "ratio":
            return "W:H with positive whole numbers, e.g. 3:2"
        if self.kind == "flag":
            return "no value"
        return "text"


_NOT_ON_EVOLINK = ("evolink",)
PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("ar", "ratio", "Aspect ratio", ("aspect",), default="1:1"),
        Param("v", "choice", "Version", ("version",),
              choices=("1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7", "8", "8.1", "8.2"),
              not_on=_NOT_ON_EVOLINK, note="EvoLink's mj-v7 is locked to V7"),
        Param("niji", "choice", "Niji", choices=("4", "5", "6", "7"), not_on=_NOT_ON_EVOLINK,
              note="EvoLink does not offer niji"),
        Param("s", "int", "Stylize", ("stylize",), 0, 1000, default=100),
        Param("c", "int", "Chaos", ("chaos",), 0, 100, default=0),
        Param("w", "int", "Weird", ("weird",), 0, 3000, default=0),
        Param("q", "choice", "Quality", ("quality",), choices=(".25", ".5", "1", "2", "4"), default="1"),
        Param("seed", "int", "Seed", (), 0, 4294967295),
        Param("no", "text", "Exclude"),
        Param("tile", "flag", "Tile"),
        Param("raw", "flag", "Raw"),
        Param("style", "choice", "Style", choices=("raw",)),
        Param("exp", "int", "Experimental", (), 0, 100, default=0),
        Param("iw", "float", "Image weight", (), 0, 3, default=1),
        Param("sref", "text", "Style reference"),
        Param("sw", "int", "Style weight", (), 0, 1000, default=100),
        Param("sv", "int", "Style version", (), 1, 6, default=4),
        Param("oref", "text", "Omni reference"),
        Param("ow", "int", "Omni weight", (), 1, 1000, default=100),
        Param("cref", "text", "Character reference"),
        Param("cw", "int", "Character weight", (), 0, 100, default=100),
        Param("draft", "flag", "Draft"),
        Param("fast", "flag", "Fast"),
        Param("relax", "flag", "Relax"),
        Param("turbo", "flag", "Turbo"),
        Param("p", "text", "Personalization"),
        Param("stop", "int", "Stop", (), 10, 100, default=100),
        Param("zoom", "float", "Zoom (custom zoom)", (), 1, 2),
        Param("video", "text", "Video"),
        Param("motion", "choice", "Motion", choices=("low", "high")),
    )
}
_ALIASES = {alias: p.name for p in PARAMS.values() for alias in (p.name, *p.aliases)}
_OPTIONAL_VALUE = {"p"}  # `--p` alone uses the default profile


@dataclass(frozen=True)
class ParsedPrompt:
    text: str
    image_urls: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)  # canonical name -> str value, or True for flags


def parse_prompt(prompt: str) -> ParsedPrompt:
    """Split a prompt into leading image URLs, text and ``--`` parameters (values as written)."""
    tokens = prompt.split()
    urls: list[str] = []
    while tokens and re.match(r"^https?://", tokens[0]):
        urls.append(tokens.pop(0))
    text: list[str] = []
    while tokens and not tokens[0].startswith("--"):
        text.append(tokens.pop(0))
    params: dict[str, Any] = {}
    while tokens:
        flag = tokens.pop(0)
        raw_name = flag[2:].lower()
        name = _ALIASES.get(raw_name)
        if name is None:
            allowed = ", ".join(f"--{n}" for n in PARAMS)
            raise ValidationError(f"prompt: unknown parameter --{raw_name}; allowed: {allowed}", field=f"--{raw_name}")
        values = []
        while tokens and not tokens[0].startswith("--"):
            values.append(tokens.pop(0))
        if PARAMS[name].kind == "flag":
            if values:
                raise ValidationError(f"--{name}: takes no value, got {' '.join(values)!r}", field=f"--{name}")
            params[name] = True
        elif not values and name not in _OPTIONAL_VALUE:
            raise ValidationError(f"--{name}: needs a value ({PARAMS[name].describe_allowed()})", field=f"--{name}")
        else:
            params[name] = " ".join(values) if values else True
    return ParsedPrompt(" ".join(text), tuple(urls), params)


def _value_error(param: Param, value: Any) -> str | None:
    if param.kind == "flag" or (value is True and param.name in _OPTIONAL_VALUE):
        return None
    text = str(value).strip()
    if param.kind == "ratio":
        m = re.fullmatch(r"(\d+):(\d+)", text)
        return None if m and int(m[1]) > 0 and int(m[2]) > 0 else f"{text!r} is not allowed"
    if param.kind == "choice":
        normal = text[1:] if text.startswith("0.") and "." + text[2:] in param.choices else text
        return None if normal in param.choices or text in param.choices else f"{text!r} is not allowed"
    if param.kind in ("int", "float"):
        try:
            number = float(text)
        except ValueError:
            return f"{text!r} is not a number"
        if param.kind == "int" and not number.is_integer():
            return f"{text!r} is not a whole number"
        if not (param.low <= number <= param.high):  # type: ignore[operator]
            return f"{text} is out of range"
    return None


def param_errors(params: dict[str, Any], dialect: str | None = None) -> dict[str, str]:
    """Each invalid parameter with a message naming what is allowed (empty when all is well)."""
    errors: dict[str, str] = {}
    for name, value in params.items():
        param = PARAMS[name]
        if dialect and dialect in param.not_on:
            errors[name] = f"--{name}: not accepted by {dialect} ({param.note})"
            continue
        problem = _value_error(param, value)
        if problem:
            errors[name] = f"--{name}: {problem}; allowed: {param.describe_allowed()}"
    if "oref" in params and str(params.get("q")) == "4":
        errors["q"] = "--q: 4 cannot be combined with --oref; allowed: .25, .5, 1, 2"
    if "v" in params and "niji" in params:
        errors["niji"] = "--niji: cannot be combined with --v; choose one"
    return errors


def validate_prompt(prompt: str, dialect: str | None = None) -> ParsedPrompt:
    """Parse and check ``prompt``; raise ValidationError naming the first bad parameter."""
    parsed = parse_prompt(prompt)
    if not parsed.text and len(parsed.image_urls) == 1:
        raise ValidationError("prompt: one image URL needs some text too (or give two or more images)", field="prompt")
    errors = param_errors(parsed.params, dialect)
    if errors:
        name, message = next(iter(errors.items()))
        raise ValidationError(message, field=f"--{name}")
    return parsed


def build_prompt(text: str, params: dict[str, Any], image_urls: tuple[str, ...] | list[str] = ()) -> str:
    """``[urls…] text --param value …`` with parameters in PARAMS order; False/None/"" are left out."""
    parts = [*image_urls, text.strip()]
    for name in PARAMS:
        value = params.get(name)
        if value is None or value is False or value == "":
            continue
        parts.append(f"--{name}" if value is True else f"--{name} {value}")
    return " ".join(p for p in parts if p)
