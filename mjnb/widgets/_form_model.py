"""What the PromptForm's controls mean in the prompt: read a control's value from a
:class:`~mjnb._prompt.Prompt`, and write a control's new value into one.

The typed prompt is the single source of truth (the form's controls are views of it): typing
moves the controls, and changing a control rewrites only that parameter of the text
(``Prompt.with_param`` / ``without``: everything else stays byte-identical).  No widgets here.
"""

from __future__ import annotations

from typing import Any

from .. import _prompt
from .._errors import ValidationError
from .._prompt import Prompt

__all__ = [
    "ASPECT_PRESETS",
    "CUSTOM",
    "VERSIONS",
    "SPEEDS",
    "SPEEDS_BY_DIALECT",
    "REFUSED_FLAGS",
    "TEXT_PARAMS",
    "controlled",
    "control_of",
    "read",
    "write",
    "other_text",
    "write_other",
    "write_images",
    "placeholder",
]

ASPECT_PRESETS = ("1:1", "4:3", "3:2", "16:9", "21:9", "3:4", "2:3", "9:16")
CUSTOM = "custom"
VERSIONS: tuple[tuple[str, str], ...] = (
    (("service default", ""),)
    + tuple((f"V{v}", f"v {v}") for v in ("7", "6.1", "6", "5.2", "5.1", "5", "4", "3", "2", "1", "8", "8.1", "8.2"))
    + tuple((f"Niji {n}", f"niji {n}") for n in ("7", "6", "5", "4"))
)
#: Speed is sent as the job's ``mode`` (the dialect places it: a prompt flag, a field, a path).
SPEEDS = ("fast", "relax", "turbo", "draft")
#: Speeds each dialect can take; PROTOCOLS.md §1.2 (EvoLink: draft|fast|turbo), §2 (AceData mode).
SPEEDS_BY_DIALECT = {"evolink": ("fast", "turbo", "draft"), "acedata": ("fast", "relax", "turbo")}
#: Speed flags a dialect refuses inside the prompt (EvoLink moves the others to its speed field).
REFUSED_FLAGS = {"evolink": frozenset({"relax"})}
#: Text controls: parameter -> label.
TEXT_PARAMS = {
    "s": "Stylize",
    "c": "Chaos",
    "w": "Weird",
    "seed": "Seed",
    "no": "Exclude (--no)",
    "exp": "Experimental",
    "stop": "Stop",
    "iw": "Image weight",
    "p": "Personalize (--p)",
    "sref": "Style ref",
    "sw": "Style weight",
    "sv": "Style version",
    "oref": "Omni ref",
    "ow": "Omni weight",
    "cref": "Character ref",
    "cw": "Char. weight",
}
_OWN_CONTROL = {
    "ar": "ar",
    "v": "version",
    "niji": "version",
    "q": "q",
    "tile": "tile",
    "raw": "raw",
    **{f: "speed" for f in SPEEDS},
    **{name: name for name in TEXT_PARAMS},
}


def placeholder(name: str) -> str:
    """A text control's hint: its range and default (``"0–1000 · default 100"``) or what it takes."""
    spec = _prompt.PARAMS[name]
    if spec.kind in ("int", "float") and spec.low is not None and spec.high is not None:

        def number(x: float) -> str:
            return str(int(x)) if spec.kind == "int" else f"{x:g}"

        default = f" · default {number(float(spec.default))}" if isinstance(spec.default, (int, float)) else ""
        return f"{number(spec.low)}–{number(spec.high)}{default}"
    return {"no": "words to leave out, comma-separated", "p": "profile code (optional)"}.get(name, "URL(s) or code")


def controlled(param: _prompt.Param) -> bool:
    """Whether a parameter of the prompt has a control of its own (else it shows in "Other")."""
    if param.canonical == "style":
        return (param.value or "").strip().lower() == "raw"
    return param.canonical in _OWN_CONTROL


def control_of(field: str | None, prompt: Prompt) -> str:
    """The control under which a message about ``field`` (``"--s"``, ``"prompt"``) shows."""
    name = (field or "prompt").lstrip("-—–")
    if name in ("prompt", "text"):
        return "text"
    if name in ("images", "other", "speed", "version", "ar"):
        return name
    found = prompt.find(name) if name else ()
    if found:
        return _OWN_CONTROL.get(found[0].canonical, "raw") if controlled(found[0]) else "other"
    return _OWN_CONTROL.get(name, "other")


def _version_option(prompt: Prompt) -> str:
    named = [p for p in prompt.params if p.canonical in ("v", "niji")]
    if not named:
        return ""
    last = named[-1]
    return f"{last.canonical} {last.value}".strip() if last.value else last.canonical


def read(name: str, prompt: Prompt) -> Any:
    """The value control ``name`` shows for ``prompt`` ("" / False when the prompt does not set it).

    ``ar`` gives the ratio as typed, ``version`` ``"v 6.1"`` / ``"niji 6"``, ``speed`` the first
    speed flag, ``tile`` / ``raw`` booleans, ``no`` every ``--no`` joined with ", ".
    """
    if name == "ar":
        return prompt.get("ar") or ""
    if name == "version":
        return _version_option(prompt)
    if name == "speed":
        return next((p.canonical for p in prompt.params if p.canonical in SPEEDS), "")
    if name == "tile":
        return prompt.has("tile")
    if name == "raw":
        return prompt.has("raw") or (prompt.get("style") or "").strip().lower() == "raw"
    if name == "no":
        return ", ".join(v for v in prompt.get_all("no") if v)
    if name == "images":
        return " ".join(prompt.image_urls)
    if name == "other":
        return other_text(prompt)
    return prompt.get(name) or ""


def write(name: str, value: Any, prompt: Prompt) -> Prompt:
    """``prompt`` with control ``name`` set to ``value`` (the user changed that control).

    Raises:
        ValidationError: the value cannot stand in a prompt (names the control and what is allowed).
    """
    if name == "version":
        text = str(value or "").strip()
        edited = prompt.without("v").without("niji")
        if not text:
            return edited
        flag, _, number = text.partition(" ")
        return edited.with_param(flag, number or None)
    if name == "speed":  # the speed is sent as the job's mode: a typed speed flag gives way
        for flag in SPEEDS:
            prompt = prompt.without(flag)
        return prompt
    if name == "tile":
        return prompt.with_param("tile") if value else prompt.without("tile")
    if name == "raw":
        edited = prompt.without("raw")
        if (edited.get("style") or "").strip().lower() == "raw":
            edited = edited.without("style")
        return edited.with_param("style", "raw") if value else edited
    if name == "images":
        return write_images(str(value), prompt)
    if name == "other":
        return write_other(str(value), prompt)
    text = str(value if value is not None else "").strip()
    return prompt.with_param(name, text) if text else prompt.without(name)


def other_text(prompt: Prompt) -> str:
    """The parameters without a control of their own, exactly as typed, space-separated."""
    source = prompt.source
    return " ".join(source[p.span[0] : p.span[1]] for p in prompt.params if not controlled(p))


def write_other(text: str, prompt: Prompt) -> Prompt:
    """Replace the parameters without a control by those typed in "Other".

    Raises:
        ValidationError: "Other" holds words or URLs, not only ``--parameters``.
    """
    given = Prompt.parse(text.strip())
    stray = given.text or (given.image_urls[0] if given.image_urls else "")
    if stray:
        raise ValidationError(f"other: only --parameters go here, not {stray!r}", field="other")
    kept = prompt
    for param in prompt.params:
        if not controlled(param):
            kept = kept.without(param.canonical)
    for param in given.params:
        kept = kept.with_added(param.canonical, param.value)
    return kept


def write_images(text: str, prompt: Prompt) -> Prompt:
    """``prompt`` whose leading image URLs are those in ``text`` (space-separated); the rest byte-identical.

    Raises:
        ValidationError: a word is not an http(s) URL.
    """
    urls = text.split()
    bad = [u for u in urls if not u.startswith(("http://", "https://", "<http://", "<https://"))]
    if bad:
        raise ValidationError(
            f"images: {bad[0]!r} is not an image URL; allowed: http(s):// URLs, space-separated", field="images"
        )
    cut = max((s.span[1] for s in prompt.segments if s.kind == "image"), default=0)
    rest = prompt.source[cut:].lstrip() if cut else prompt.source
    return Prompt.parse(" ".join([*urls, rest]) if rest else " ".join(urls))
