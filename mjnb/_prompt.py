"""Midjourney prompts as one lossless, version-aware model (PROTOCOLS.md §5; rules in ``_prompt_rules``).

A :class:`Prompt` is the text as typed, cut into ordered segments (leading image URLs, the text with
its ``::`` weights and ``{permutation, braces}``, then each ``--parameter value``).  Nothing is dropped
or rewritten: ``Prompt.parse(s).build() == s`` for any ``s``, and ``with_param``/``without`` change only
the parameter they name.  Phones' em and en dashes (``—ar 16:9``) are read as ``--``.

>>> p = Prompt.parse("a fox::2 {red, blue} —ar 16:9 --no trees --no rivers --v 6.0")
>>> p.text, p.version, p.get_all("no")
('a fox::2 {red, blue}', '6', ('trees', 'rivers'))
>>> p.with_param("ar", "3:2").build()
'a fox::2 {red, blue} —ar 3:2 --no trees --no rivers --v 6.0'

``validate(dialect)`` checks every parameter against the model version the prompt names and what
the dialect refuses, raising :class:`~mjnb.ValidationError` (``field="--s"`` …) for what is certainly
wrong and returning :class:`MjnbPromptWarning` s for what it passes through unchecked.

The older names (``parse_prompt``, ``build_prompt``, ``param_errors``, ``validate_prompt``) remain as
thin functions over the model.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ._errors import ValidationError
from ._prompt_rules import (
    PARAMS,
    MjnbPromptWarning,
    Model,
    ParamSpec,
    canonical_name,
    choices_for,
    judge,
    named_model,
    unavailable,
)

__all__ = [
    "Prompt",
    "Param",
    "Segment",
    "ParamSpec",
    "PARAMS",
    "MjnbPromptWarning",
    "canonical_name",
    "choices_for",
    "unavailable",
    "ParsedPrompt",
    "parse_prompt",
    "build_prompt",
    "param_errors",
    "validate_prompt",
]

# A parameter starts after whitespace with "--" (or the em/en dash a phone makes of it) and a letter;
# braces are tracked so that "{--ar 1:1, --ar 2:3}" stays one permutation group.
_PARAM_OR_BRACE = re.compile(r"[{}]|(?<!\S)(?:--|[—–])(?=[A-Za-z])")
_NAME = re.compile(r"[A-Za-z][^\s{}]*")
_TOKEN = re.compile(r"\S+")
_IMAGE_URL = re.compile(r"<?https?://\S+")
_WEIGHT = re.compile(r"\s*(-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))(?=\s|$)")


@dataclass(frozen=True)
class Param:
    """One ``--name value`` as typed.

    ``name`` is the flag as typed without its dashes (``"stylize"``), ``canonical`` its canonical
    form (``"s"``; the lower-cased name when mjnb does not know it), ``value`` the text after it
    (stripped, None when there is none), ``span`` the ``[start, end)`` offsets of the whole
    parameter in the prompt and ``value_span`` those of the value (empty at the name's end when None).
    """

    name: str
    canonical: str
    value: str | None
    span: tuple[int, int]
    value_span: tuple[int, int]

    @property
    def known(self) -> bool:
        """True when mjnb knows this parameter (and so checks its value)."""
        return self.canonical in PARAMS


@dataclass(frozen=True)
class Segment:
    """A piece of the prompt: ``kind`` is "image", "text", "param" or "space"; ``raw`` is exact."""

    kind: str
    raw: str
    span: tuple[int, int]


class Prompt:
    """A Midjourney prompt, parsed without loss.  Immutable: the ``with_*`` methods return new prompts.

    ``Prompt.parse(text)`` never raises: reading is separate from judging (see :meth:`validate`).
    """

    __slots__ = ("_source", "_segments", "_params", "_urls", "_text")

    def __init__(self, source: str) -> None:
        if not isinstance(source, str):
            raise ValidationError(f"prompt: expected text, got {type(source).__name__}", field="prompt")
        self._source = source
        segments, params = _split(source)
        self._segments = tuple(segments)
        self._params = tuple(params)
        self._urls = tuple(s.raw for s in segments if s.kind == "image")
        self._text = next((s.raw for s in segments if s.kind == "text"), "")

    @classmethod
    def parse(cls, source: str) -> Prompt:
        """Read ``source`` (any string) into a Prompt; ``.build()`` gives ``source`` back unchanged."""
        return cls(source)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The prompt exactly as given."""
        return self._source

    @property
    def segments(self) -> tuple[Segment, ...]:
        """Ordered pieces whose ``raw`` texts concatenate to :attr:`source`."""
        return self._segments

    @property
    def image_urls(self) -> tuple[str, ...]:
        """The image-prompt URLs at the start, as typed (``<…>`` kept)."""
        return self._urls

    @property
    def text(self) -> str:
        """The words between the image URLs and the first parameter, as typed (``::`` and braces kept)."""
        return self._text

    @property
    def params(self) -> tuple[Param, ...]:
        """Every parameter in order, repeated ones included."""
        return self._params

    @property
    def multi_prompts(self) -> tuple[tuple[str, str | None], ...]:
        """The text cut at ``::`` into ``(part, weight as typed or None)`` pairs (one pair without ``::``)."""
        parts = self._text.split("::")
        if len(parts) == 1:
            return ((self._text, None),)
        out: list[tuple[str, str | None]] = []
        chunk = parts[0]
        for following in parts[1:]:
            m = _WEIGHT.match(following)
            out.append((chunk.strip(), m[1] if m else None))
            chunk = following[m.end() :] if m else following
        if chunk.strip():
            out.append((chunk.strip(), None))
        return tuple(out)

    def get(self, name: str) -> str | None:
        """The value of the first ``--name`` (any alias; None when absent or given without a value)."""
        found = self.find(name)
        return found[0].value if found else None

    def get_all(self, name: str) -> tuple[str | None, ...]:
        """Values of every ``--name`` in order (``--no a --no b`` -> ``("a", "b")``)."""
        return tuple(p.value for p in self.find(name))

    def find(self, name: str) -> tuple[Param, ...]:
        """Every occurrence of ``--name`` (any alias or dash form)."""
        key = _canonical(name)
        return tuple(p for p in self._params if p.canonical == key)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as data (e.g. for PNG metadata): canonical name -> value, True for one without
        a value, or a list of those when it is repeated (``--no a --no b`` -> ``["a", "b"]``)."""
        params: dict[str, Any] = {}
        for param in self._params:
            value: Any = True if param.value is None else param.value
            if param.canonical in params:
                before = params[param.canonical]
                params[param.canonical] = [*before, value] if isinstance(before, list) else [before, value]
            else:
                params[param.canonical] = value
        return params

    def has(self, name: str) -> bool:
        """True when ``--name`` occurs (with or without a value)."""
        return bool(self.find(name))

    @property
    def version(self) -> str | None:
        """The model the prompt names: ``"7"``, ``"6.1"`` (``6.0`` reads as ``"6"``), ``"niji 6"``, ``"niji"``.

        None when it names none (the account's default applies) or names it unreadably.
        """
        model = self._model()
        return None if model is None else str(model)

    def build(self) -> str:
        """The prompt text: the segments joined, i.e. exactly what was parsed or edited."""
        return "".join(s.raw for s in self._segments)

    def __str__(self) -> str:
        return self.build()

    def __repr__(self) -> str:
        return f"Prompt({self._source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prompt) and other._source == self._source

    def __hash__(self) -> int:
        return hash(self._source)

    # -- editing -----------------------------------------------------------------------------------
    def with_param(self, name: str, value: str | None = None) -> Prompt:
        """A prompt with ``--name value`` set (``value`` None for a flag); everything else byte-identical.

        The first occurrence keeps its place, dash and spelling; later repeats are removed; an absent
        parameter is appended after the last one, written with its canonical name.
        Raises ValidationError (field ``--name``) when ``value`` would not read back as itself.
        """
        key = _canonical(name)
        value = None if value is None else str(value).strip() or None
        found = self.find(key)
        if found:
            first = found[0]
            start, end = first.value_span
            if first.value is None and value is not None:
                new = f"{self._source[:start]} {value}{self._source[start:]}"
            elif value is None:
                new = (
                    self._source[: first.span[0] + len(first.name) + _dash_len(self._source, first.span[0])]
                    + self._source[first.span[1] :]
                )
            else:
                new = self._source[:start] + value + self._source[end:]
            edited = Prompt(new)._without_occurrences(key, keep_first=True)
        else:
            edited = self._appended(key, value)
        if edited.get_all(key) != (value,):
            raise ValidationError(f"--{key}: {value!r} cannot be written as one value in a prompt", field=f"--{key}")
        return edited

    def with_added(self, name: str, value: str | None = None) -> Prompt:
        """A prompt with one more ``--name value`` after the last parameter (for ``--no a --no b``)."""
        key = _canonical(name)
        edited = self._appended(key, None if value is None else str(value).strip() or None)
        if len(edited.find(key)) != len(self.find(key)) + 1:
            raise ValidationError(f"--{key}: {value!r} cannot be written as one value in a prompt", field=f"--{key}")
        return edited

    def without(self, name: str) -> Prompt:
        """A prompt without any ``--name`` (with the space before each); everything else byte-identical."""
        return self._without_occurrences(_canonical(name), keep_first=False)

    def with_text(self, text: str) -> Prompt:
        """A prompt whose text (between image URLs and parameters) is ``text``; the rest byte-identical."""
        text = text.strip()
        current = next((seg for seg in self._segments if seg.kind == "text"), None)
        if current is not None:
            edited = self._source[: current.span[0]] + text + self._source[current.span[1] :]
        elif self._urls:
            cut = max(seg.span[1] for seg in self._segments if seg.kind == "image")
            edited = f"{self._source[:cut]} {text}{self._source[cut:]}"
        else:
            edited = f"{text} {self._source.lstrip()}" if self._params else text
        result = Prompt(edited)
        if result.text != text or len(result.params) != len(self._params):
            raise ValidationError(
                "prompt: the text may not contain --parameters; set them with with_param", field="prompt"
            )
        return result

    def _appended(self, key: str, value: str | None) -> Prompt:
        end = max((s.span[1] for s in self._segments if s.kind != "space"), default=0)
        piece = f"--{key}" + ("" if value is None else f" {value}")
        sep = " " if end else ""
        return Prompt(self._source[:end] + sep + piece + self._source[end:])

    def _without_occurrences(self, key: str, keep_first: bool) -> Prompt:
        found = self.find(key)[1:] if keep_first else self.find(key)
        source = self._source
        for param in reversed(found):
            start, end = param.span
            before = start
            while before > 0 and source[before - 1].isspace():
                before -= 1
            if before == 0:  # nothing before it: drop the space after instead
                while end < len(source) and source[end].isspace():
                    end += 1
                before = start
            source = source[:before] + source[end:]
        return Prompt(source)

    # -- judging -------------------------------------------------------------------------------------
    def _model(self) -> Model | None:
        return named_model(self._params)

    def problems(
        self, dialect: str | None = None, *, version: str | None = None
    ) -> tuple[list[ValidationError], list[MjnbPromptWarning]]:
        """Every refusal and every warning for this prompt, without raising or warning.

        ``dialect``: "mjproxy", "newapi", "acedata", "evolink" or None (Midjourney's own rules only).
        ``version``: the model to judge by when the prompt names none (``"7"``, ``"niji 6"``; e.g. a
        service's default or a ``botType``).  Refusals come in prompt order.
        """
        return judge(self, dialect, version)

    def validate(
        self, dialect: str | None = None, *, version: str | None = None, warn: bool = True
    ) -> list[MjnbPromptWarning]:
        """Check the prompt before it is sent (see :meth:`problems` for the arguments).

        Returns the warnings (also issued with ``warnings.warn`` unless ``warn=False``, which the
        PromptForm uses on every keystroke).  Raises ValidationError naming the first refused
        parameter, the version and what is allowed, e.g. ``--oref: not available in version 6.1;
        allowed from 7``.
        """
        errors, notes = self.problems(dialect, version=version)
        if errors:
            raise errors[0]
        if warn:
            for note in notes:
                warnings.warn(note, stacklevel=2)
        return notes


def _canonical(name: str) -> str:
    if not isinstance(name, str) or not name.strip("-—– "):
        raise ValidationError(f"parameter name: expected a name such as 'ar', got {name!r}", field="name")
    return canonical_name(name) or name.strip().lstrip("-—–").lower()


def _dash_len(source: str, start: int) -> int:
    return 2 if source.startswith("--", start) else 1


def _split(source: str) -> tuple[list[Segment], list[Param]]:
    """Cut ``source`` into segments covering it exactly, and the parameters among them."""
    segments: list[Segment] = []
    pos = 0

    def add(kind: str, start: int, end: int) -> None:
        if end > start:
            segments.append(Segment(kind, source[start:end], (start, end)))

    for token in _TOKEN.finditer(source):
        if not _IMAGE_URL.fullmatch(token.group()):
            break
        add("space", pos, token.start())
        add("image", token.start(), token.end())
        pos = token.end()
    starts: list[int] = []
    depth = 0
    for m in _PARAM_OR_BRACE.finditer(source, pos):
        mark = m.group()
        if mark == "{":
            depth += 1
        elif mark == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            starts.append(m.start())
    text_end = starts[0] if starts else len(source)
    body = source[pos:text_end]
    lead = len(body) - len(body.lstrip())
    trail = len(body.rstrip())
    add("space", pos, pos + lead)
    add("text", pos + lead, pos + max(lead, trail))
    add("space", pos + max(lead, trail), text_end)
    params: list[Param] = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else len(source)
        raw = source[start:stop]
        end = start + len(raw.rstrip())
        name_start = start + _dash_len(source, start)
        name = _NAME.match(source, name_start)
        name_end = name.end() if name else name_start
        typed = source[name_start:name_end]
        rest = source[name_end:end]
        value_start = name_end + (len(rest) - len(rest.lstrip()))
        value = source[value_start:end] or None
        params.append(
            Param(
                typed,
                canonical_name(typed) or typed.lower(),
                value,
                (start, end),
                (value_start, end) if value else (name_end, name_end),
            )
        )
        add("param", start, end)
        add("space", end, stop)
    return segments, params


# -- the older names, kept as thin functions over the model ------------------------------------------
@dataclass(frozen=True)
class ParsedPrompt:
    """What ``parse_prompt`` returned before :class:`Prompt`: text, image URLs and a parameter dict.

    ``params`` maps a canonical name to its value, ``True`` for a parameter without one, or a list
    of those when it is repeated (``--no a --no b`` -> ``["a", "b"]``): nothing is lost.
    """

    text: str
    image_urls: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)


def parse_prompt(prompt: str) -> ParsedPrompt:
    """Split ``prompt`` into URLs, text (whitespace collapsed) and a dict of parameters.

    Raises ValidationError for a flag given a value (``--tile yes``) or a parameter missing its
    value (``--ar``).  Prefer ``Prompt.parse``, which keeps the text byte for byte.
    """
    parsed = Prompt(prompt)
    for param in parsed.params:
        spec = PARAMS.get(param.canonical)
        if spec is not None and spec.kind == "flag" and param.value is not None:
            raise ValidationError(f"--{spec.name}: takes no value, got {param.value!r}", field=f"--{spec.name}")
        if spec is not None and param.value is None and spec.kind != "flag" and not spec.optional:
            raise ValidationError(f"--{spec.name}: needs a value ({spec.describe_allowed()})", field=f"--{spec.name}")
    return ParsedPrompt(" ".join(parsed.text.split()), parsed.image_urls, parsed.as_dict())


def build_prompt(text: str, params: Mapping[str, Any], image_urls: Sequence[str] = ()) -> str:
    """``[urls…] text --param value …``: known parameters in table order, then the others as given.

    A value of True writes a flag, a list writes the parameter once per item; False, None and ""
    are left out.
    """
    parts = [*image_urls, text.strip()]
    order = [name for name in PARAMS if name in params] + [name for name in params if name not in PARAMS]
    for name in order:
        raw = params[name]
        for value in raw if isinstance(raw, list) else [raw]:
            if value is None or value is False or value == "":
                continue
            parts.append(f"--{name}" if value is True else f"--{name} {value}")
    return " ".join(p for p in parts if p)


def param_errors(params: Mapping[str, Any], dialect: str | None = None) -> dict[str, str]:
    """Each refused parameter of ``params`` (as ``build_prompt`` takes them) -> the message saying why."""
    errors, _ = Prompt(build_prompt("x", params)).problems(dialect)
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault((error.field or "prompt").lstrip("-"), str(error))
    return found


def validate_prompt(prompt: str, dialect: str | None = None, *, version: str | None = None) -> Prompt:
    """Parse and check ``prompt`` for ``dialect`` before it is sent; warn about what passes unchecked.

    Returns the :class:`Prompt`.  Raises ValidationError naming the first refused parameter.
    """
    parsed = Prompt(prompt)
    for note in parsed.validate(dialect, version=version, warn=False):
        warnings.warn(note, stacklevel=2)
    return parsed
