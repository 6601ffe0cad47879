"""What each Midjourney parameter accepts, by model version: the table behind ``mjnb._prompt``.

Sources (searched, cited per rule below):

- MJ-PARAMS: Midjourney's parameter pages (docs.midjourney.com: Parameter List, Version, Quality,
  Style, Style Reference, Character Reference, Omni Reference, Image Weight, Weird, Tile, Niji),
  as mirrored by its translations (w3cschool "Midjourney 完整参数列表", limi.gitbook.io mj-doc).
- EVO-V7 / EVO-V81: EvoLink's "Midjourney V7 Prompt Parameter Guide" and "V8.1 Prompt Parameter
  Guide" (docs.evolink.ai …/midjourney-v7-prompt-guide, …/midjourney-v8-1-prompt-guide), the primary
  source of PROTOCOLS.md §5 for V7 ranges; EvoLink's mj-v7 route locks ``--v`` and refuses ``--niji``.
- NIJI5: the niji・journey 5 announcement of ``--style cute|expressive|original|scenic``.
- NIJI-P: nijijourney.com "Introducing Personalization" (``--p`` and shortcodes on niji 6).
- ACE-MCP: AceData's Midjourney MCP ``imagine`` tool (``hd``: "HD mode (V8/V8.1)"; versions up to 8.1).
- CREF: Midjourney's Character Reference announcement (MJ6 and Niji 6 only; ``--cw`` 0–100) and
  prompt-faqs' "cref (V6)" / "oref (V7)" pages (``--oref`` replaces ``--cref`` in V7; ``--ow`` 1–1000).

A rule refuses a value only where a source says it is wrong; what no source covers (a version
newer than this table, an unknown parameter) passes with a :class:`MjnbPromptWarning`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from ._errors import ValidationError

if TYPE_CHECKING:
    from ._prompt import Param, Prompt

__all__ = [
    "MjnbPromptWarning",
    "ParamSpec",
    "PARAMS",
    "Model",
    "canonical_name",
    "parse_model",
    "judge",
    "named_model",
    "model_from_text",
    "value_problem",
    "version_problem",
    "choices_for",
    "unavailable",
    "DIALECT_REFUSED",
    "REPEATABLE",
]


class MjnbPromptWarning(UserWarning):
    """A prompt is sent as written although mjnb cannot vouch for part of it (``field`` names the part)."""

    def __init__(self, message: str, field: str = "prompt") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ParamSpec:
    """One Midjourney parameter: ``name`` is its canonical (shortest documented) flag without dashes.

    ``kind``: ratio | int | float | choice | flag | text; ``optional`` means it may stand without a
    value (``--p``, ``--niji``, ``--video``).  ``not_on`` lists dialects that refuse it, with ``note``.
    """

    name: str
    kind: str
    label: str
    aliases: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    default: str | int | float | None = None
    not_on: tuple[str, ...] = ()
    note: str = ""
    optional: bool = False

    def describe_allowed(self) -> str:
        """What a value may be, in words (e.g. "a whole number from 0 to 1000")."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "int":
            return f"a whole number from {_format_number(self.low)} to {_format_number(self.high)}"
        if self.kind == "float":
            return f"a number from {_format_number(self.low)} to {_format_number(self.high)}"
        if self.kind == "ratio":
            return "W:H with positive whole numbers, e.g. 3:2"
        if self.kind == "flag":
            return "no value"
        return "text" + (" (optional)" if self.optional else "")


_NOT_ON_EVOLINK = ("evolink",)
_SPECS = (
    ParamSpec("ar", "ratio", "Aspect ratio", ("aspect",), default="1:1"),
    ParamSpec(
        "v",
        "choice",
        "Version",
        ("version",),
        choices=("1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7", "8", "8.1", "8.2"),
        not_on=_NOT_ON_EVOLINK,
        note="EvoLink's mj-v7 is locked to V7",
    ),
    ParamSpec(
        "niji",
        "choice",
        "Niji",
        choices=("4", "5", "6", "7"),
        not_on=_NOT_ON_EVOLINK,
        note="EvoLink does not offer niji",
        optional=True,
    ),
    ParamSpec("s", "int", "Stylize", ("stylize",), 0, 1000, default=100),
    ParamSpec("c", "int", "Chaos", ("chaos",), 0, 100, default=0),
    ParamSpec("w", "int", "Weird", ("weird",), 0, 3000, default=0),
    ParamSpec("q", "choice", "Quality", ("quality",), choices=(".25", ".5", "1", "2", "4"), default="1"),
    ParamSpec("seed", "int", "Seed", (), 0, 4294967295),
    ParamSpec("no", "text", "Exclude"),
    ParamSpec("tile", "flag", "Tile"),
    ParamSpec("raw", "flag", "Raw"),
    ParamSpec(
        "style", "choice", "Style", choices=("raw", "cute", "expressive", "original", "scenic", "4a", "4b", "4c")
    ),
    ParamSpec("exp", "int", "Experimental", (), 0, 100, default=0),
    ParamSpec("iw", "float", "Image weight", (), 0, 3, default=1),
    ParamSpec("sref", "text", "Style reference"),
    ParamSpec("sw", "int", "Style weight", (), 0, 1000, default=100),
    ParamSpec("sv", "int", "Style version", (), 1, 6, default=4),
    ParamSpec("oref", "text", "Omni reference"),
    ParamSpec("ow", "int", "Omni weight", (), 1, 1000, default=100),
    ParamSpec("cref", "text", "Character reference"),
    ParamSpec("cw", "int", "Character weight", (), 0, 100, default=100),
    ParamSpec("draft", "flag", "Draft"),
    ParamSpec("fast", "flag", "Fast"),
    ParamSpec("relax", "flag", "Relax"),
    ParamSpec("turbo", "flag", "Turbo"),
    ParamSpec("p", "text", "Personalization", ("personalize", "profile"), optional=True),
    ParamSpec("stop", "int", "Stop", (), 10, 100, default=100),
    ParamSpec("zoom", "float", "Zoom (custom zoom)", (), 1, 2),
    ParamSpec("video", "text", "Video", optional=True),
    ParamSpec("motion", "choice", "Motion", choices=("low", "high")),
    ParamSpec("r", "int", "Repeat", ("repeat",), 1, 40),
    ParamSpec("hd", "flag", "HD"),
    ParamSpec("sameseed", "int", "Same seed", (), 0, 4294967295),
    ParamSpec("loop", "flag", "Loop (video)"),
    ParamSpec("public", "flag", "Public"),
    ParamSpec("stealth", "flag", "Stealth"),
)
PARAMS: dict[str, ParamSpec] = {spec.name: spec for spec in _SPECS}
_ALIASES = {alias: spec.name for spec in _SPECS for alias in (spec.name, *spec.aliases)}
#: Parameters Midjourney itself repeats in final prompts (``--no a --no b``); others given twice get a warning.
REPEATABLE = frozenset({"no"})

#: What a dialect documents as refused in the prompt: canonical name -> reason (PROTOCOLS.md §1.2).
#: (``--relax`` on EvoLink is a speed, which the EvoLink dialect and the form's speed control judge.)
DIALECT_REFUSED: dict[str, dict[str, str]] = {
    "evolink": {
        "v": "EvoLink's mj-v7 is locked to version 7; remove it",
        "niji": "EvoLink's mj-v7 has no niji",
    },
}


def canonical_name(name: str) -> str | None:
    """The canonical flag for ``name`` as typed (``"stylize"`` -> ``"s"``, ``"--AR"`` -> ``"ar"``); None if unknown."""
    return _ALIASES.get(name.lstrip("-—–").lower())


# -- model versions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    """A model as a prompt names it: ``family`` "mj" or "niji", ``number`` None for a bare ``--niji``."""

    family: str
    number: Decimal | None

    def __str__(self) -> str:
        number = "" if self.number is None else format(self.number.normalize(), "f")
        return f"niji {number}".strip() if self.family == "niji" else number


_MJ_VERSIONS = tuple(Decimal(v) for v in ("1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7", "8", "8.1", "8.2"))
_NIJI_VERSIONS = tuple(Decimal(v) for v in ("4", "5", "6", "7"))
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")  # ASCII only: no "1_000", "١٠٠", "+5", "1e3", "nan"
_INTEGER = re.compile(r"-?[0-9]+")
_RATIO = re.compile(r"([0-9]+):([0-9]+)")


def strict_decimal(text: str) -> Decimal | None:
    """``text`` as a number when written with ASCII digits, an optional '-' and '.', else None."""
    return Decimal(text) if _DECIMAL.fullmatch(text) else None


def parse_model(flag: str, value: str | None) -> Model | None:
    """The model ``--v value`` / ``--niji value`` names (``6.0`` is 6, as Midjourney echoes it); None if invalid."""
    if flag == "niji" and value is None:
        return Model("niji", None)
    number = strict_decimal(value or "")
    known = _NIJI_VERSIONS if flag == "niji" else _MJ_VERSIONS
    return Model("niji" if flag == "niji" else "mj", number) if number in known else None


def _versions(*names: str) -> frozenset[Model]:
    out = set()
    for name in names:
        family, _, number = name.rpartition(" ")
        out.add(Model("niji" if family else "mj", Decimal(number)))
    return frozenset(out)


_OLD_MJ = ("1", "2", "3", "4", "5", "5.1", "5.2")
_OLD_NIJI = ("niji 4", "niji 5")
_BEFORE_7 = _versions(*_OLD_MJ, "6", "6.1", *_OLD_NIJI, "niji 6")
_BEFORE_6 = _versions(*_OLD_MJ, *_OLD_NIJI)
# Where a parameter is documented as absent, and the words that say where it exists.
_ABSENT: dict[str, tuple[frozenset[Model], str]] = {
    "oref": (_BEFORE_7, "from 7"),  # CREF, EVO-V7: V7 exclusive, replaces --cref
    "ow": (_BEFORE_7, "from 7"),
    "exp": (_BEFORE_7, "from 7"),  # EVO-V7: "V7 exclusive"
    "draft": (_BEFORE_7, "from 7"),  # EVO-V7: draft mode is V7
    "cref": (_versions(*_OLD_MJ, *_OLD_NIJI, "7", "8", "8.1", "8.2"), "in 6, 6.1 and niji 6"),  # CREF
    "cw": (_versions(*_OLD_MJ, *_OLD_NIJI, "7", "8", "8.1", "8.2"), "in 6, 6.1 and niji 6"),
    "sref": (_BEFORE_6, "from 6 and niji 6"),  # MJ-PARAMS Style Reference: "Midjourney and Niji Version 6"
    "sw": (_BEFORE_6, "from 6 and niji 6"),
    "sv": (_BEFORE_6, "from 6 and niji 6"),
    "p": (_BEFORE_6, "from 6 and niji 6"),  # personalization came with V6; NIJI-P: niji 6 from Sep 2024
    # ACE-MCP: HD mode is V8/V8.1 (EVO-V81: native 2K); V1–V3 had the older --hd of MJ-PARAMS
    "hd": (_versions("4", "5", "5.1", "5.2", "6", "6.1", "7", *_OLD_NIJI, "niji 6"), "in 1–3 and from 8"),
    "w": (_versions("1", "2", "3", "4", "niji 4"), "from 5"),  # MJ-PARAMS Weird
    "tile": (_versions("4"), "in 1–3 and from 5"),  # MJ-PARAMS Tile: not in V4
    "iw": (_versions("4", "niji 4"), "in 3 and from 5"),  # MJ-PARAMS parameter list: no image weight in V4
    "raw": (_versions("1", "2", "3", "4", "5", *_OLD_NIJI), "from 5.1 and niji 6"),
}
# Values by version where the documents list them: canonical -> [(versions, allowed values)].
_Q_OLD = (".25", ".5", "1")
_CHOICES: dict[str, list[tuple[frozenset[Model], tuple[str, ...]]]] = {
    "q": [  # MJ-PARAMS Quality; EVO-V7: V7 takes 1, 2, 4
        (_versions("4", "5", "5.1", "5.2", "niji 4", "niji 5"), _Q_OLD),
        (_versions("6", "6.1", "niji 6"), (*_Q_OLD, "2")),
        (_versions("7"), ("1", "2", "4")),
    ],
    "style": [  # MJ-PARAMS Style / Version; NIJI5
        (_versions("4"), ("4a", "4b", "4c")),
        (_versions("5"), ()),
        (_versions("5.1", "5.2", "6", "6.1", "7", "8", "8.1", "8.2", "niji 6"), ("raw",)),
        (_versions("niji 5"), ("cute", "expressive", "original", "scenic")),
    ],
    "sv": [  # MJ-PARAMS Style Reference: --sv 1–4 in V6; EVO-V7: 1–6
        (_versions("6", "6.1", "niji 6"), ("1", "2", "3", "4")),
    ],
}
# Numeric ranges that differ from the table's by version.
_RANGES: dict[str, list[tuple[frozenset[Model], float, float]]] = {
    "iw": [(_versions("5", "5.1", "5.2", "niji 5"), 0, 2), (_versions("3"), -10000, 10000)],  # MJ-PARAMS Image Weight
    "s": [(_versions("3"), 625, 60000)],  # MJ-PARAMS Stylize: V3 625–60000
}


def version_problem(name: str, model: Model | None) -> str | None:
    """Why ``--name`` is not available in ``model`` (e.g. "not available in version 6.1; allowed from 7")."""
    absent = _ABSENT.get(name)
    if model is None or absent is None or model not in absent[0]:
        return None
    return f"not available in {_where(model)}; allowed {absent[1]}"


def _where(model: Model) -> str:
    return str(model) if model.family == "niji" else f"version {model}"


def _format_number(number: float | None) -> str:
    """``4294967295`` and ``0.5`` as written, never ``4.29497e+09``."""
    value = float(number or 0)
    return str(int(value)) if value.is_integer() else repr(value)


def value_problem(spec: ParamSpec, value: str, model: Model | None) -> str | None:
    """What is wrong with ``value`` for ``spec`` in ``model`` (None when it is accepted).

    The message reads ``"<what was given> …; allowed: <what is allowed>"``.
    """
    if spec.kind == "ratio":
        m = _RATIO.fullmatch(value)
        if m and int(m[1]) > 0 and int(m[2]) > 0:
            return None
        return f"{value!r} is not allowed; allowed: {spec.describe_allowed()}"
    if spec.kind in ("int", "float"):
        return _number_problem(spec, value, model)
    if spec.kind == "choice":
        return _choice_problem(spec, value, model)
    return _CHECKS[spec.name](value) if spec.name in _CHECKS else None


def _number_problem(spec: ParamSpec, value: str, model: Model | None) -> str | None:
    low, high = float(spec.low or 0), float(spec.high or 0)
    where = ""
    for versions, lo, hi in _RANGES.get(spec.name, ()):
        if model is not None and model in versions:
            low, high, where = lo, hi, f" in {_where(model)}"
    allowed = f"a {'whole ' if spec.kind == 'int' else ''}number from {_format_number(low)} to {_format_number(high)}"
    if strict_decimal(value) is None:
        return f"{value!r} is not a number; allowed: {allowed} (ASCII digits)"
    if spec.kind == "int" and not _INTEGER.fullmatch(value):
        return f"{value!r} is not a whole number; allowed: {allowed}"
    choices = _version_choices(spec.name, model)
    if choices is not None and not any(Decimal(value) == Decimal(c) for c in choices):
        return (
            f"{value} is not available in {_where(model) if model else 'this version'}; allowed: {', '.join(choices)}"
        )
    if not low <= float(Decimal(value)) <= high:
        return f"{value} is out of range{where}; allowed: {allowed}"
    return None


def _version_choices(name: str, model: Model | None) -> tuple[str, ...] | None:
    for versions, choices in _CHOICES.get(name, ()):
        if model in versions:
            return choices
    return None


def _choice_problem(spec: ParamSpec, value: str, model: Model | None) -> str | None:
    if spec.name in ("v", "niji"):
        if parse_model(spec.name, value) is None:
            return f"{value!r} is not allowed; allowed: {spec.describe_allowed()} (6.0 is read as 6)"
        return None
    numeric = spec.name == "q"
    if numeric and strict_decimal(value) is None:
        return f"{value!r} is not a number; allowed: {spec.describe_allowed()} (ASCII digits)"

    def same(a: str, b: str) -> bool:
        return Decimal(a) == Decimal(b) if numeric else a.lower() == b

    choices = _version_choices(spec.name, model)
    if choices is not None and not any(same(value, c) for c in choices):
        allowed = ", ".join(choices) if choices else "none (it has no styles)"
        return f"{value} is not available in {_where(model) if model else ''}; allowed: {allowed}"
    if not any(same(value, c) for c in spec.choices):
        return f"{value!r} is not allowed; allowed: {spec.describe_allowed()}"
    return None


_URL = re.compile(r"<?https?://[^\s<>]+>?")
_WEIGHTED = re.compile(r"(.+?)(?:::(-?[0-9]+(?:\.[0-9]+)?|-?\.[0-9]+))?")


def _reference_problem(kind: str, value: str, codes: bool) -> str | None:
    for token in value.split():
        m = _WEIGHTED.fullmatch(token)
        body = m[1] if m else token
        if not (_URL.fullmatch(body) or (codes and (body.isascii() and body.isalnum() or body == "random"))):
            return f"{token!r} is not {kind}"
    return None


def _one_url(value: str) -> str | None:
    if len(value.split()) > 1:
        return "takes one image URL; allowed: one http(s) URL"
    return None if _URL.fullmatch(value) else f"{value!r} is not an image URL; allowed: one http(s) URL"


_CHECKS: dict[str, Callable[[str], str | None]] = {
    "oref": _one_url,  # EVO-V7 / legnext: "Only one image can be used in object reference"
}
#: Checks whose failure is only a warning: a reference Midjourney may still resolve.
SOFT_CHECKS: dict[str, Callable[[str], str | None]] = {
    "sref": lambda v: _reference_problem("an image URL, a style code or 'random'", v, codes=True),
    "cref": lambda v: _reference_problem("an image URL", v, codes=False),
    "p": lambda v: _reference_problem("a profile code", v, codes=True),
}


def choices_for(name: str, version: str | None = None) -> tuple[str, ...]:
    """The values ``--name`` takes in ``version`` (``"7"``, ``"niji 5"``, None for any), for a dropdown.

    ``choices_for("q", "7")`` -> ``("1", "2", "4")``; ``choices_for("style", "niji 5")`` -> the four niji 5
    styles.  Raises ValidationError for an unknown parameter without fixed values, or a bad version.
    """
    key = canonical_name(name)
    spec = PARAMS.get(key or "")
    if spec is None or (spec.kind != "choice" and key not in _CHOICES):
        raise ValidationError(f"--{name}: has no fixed list of values", field=f"--{name}")
    model = model_from_text(version) if version is not None else None
    found = _version_choices(spec.name, model)
    if found is not None:
        return found
    if spec.kind == "int":  # --sv outside the versions that list its values: the whole range
        return tuple(str(n) for n in range(int(spec.low or 0), int(spec.high or 0) + 1))
    return spec.choices


def unavailable(name: str, version: str | None) -> str | None:
    """Why ``--name`` cannot be used in ``version`` (e.g. "not available in version 6.1; allowed from 7"), or None."""
    key = canonical_name(name)
    if key is None or version is None:
        return None
    return version_problem(key, model_from_text(version))


# -- judging a whole prompt ---------------------------------------------------------------------------
_SPEEDS = ("fast", "relax", "turbo", "draft")


def named_model(params: Sequence[Param]) -> Model | None:
    """The model the last ``--v``/``--niji`` names (None when none does, or it is unreadable)."""
    named = [p for p in params if p.canonical in ("v", "niji")]
    return parse_model(named[-1].canonical, named[-1].value) if named else None


def model_from_text(version: str) -> Model:
    """``"7"``, ``"6.0"``, ``"v 6.1"``, ``"niji 6"``, ``"niji"`` -> Model; ValidationError(field="version") otherwise."""
    words = str(version).strip().lower().split()
    flag = words[0] if words and words[0] in ("v", "version", "niji") else "v"
    number = words[1:] if words and words[0] in ("v", "version", "niji") else words
    model = (
        parse_model("niji" if flag == "niji" else "v", number[0] if len(number) == 1 else None)
        if len(number) <= 1
        else None
    )
    if model is None:
        raise ValidationError(
            f"version: {version!r} is not a Midjourney version; allowed: "
            f"{', '.join(PARAMS['v'].choices)}, or niji {', '.join(PARAMS['niji'].choices)}",
            field="version",
        )
    return model


def judge(
    prompt: Prompt, dialect: str | None, version: str | None
) -> tuple[list[ValidationError], list[MjnbPromptWarning]]:
    """Refusals and warnings for ``prompt`` (see ``Prompt.problems``)."""
    fallback = model_from_text(version) if version is not None else None
    if dialect == "evolink":
        model: Model | None = Model("mj", Decimal(7))  # PROTOCOLS.md §1.2: mj-v7 is locked to V7
    else:
        model = named_model(prompt.params) or fallback
    errors: list[ValidationError] = []
    notes: list[MjnbPromptWarning] = []
    for param in prompt.params:
        problem, soft = _param_problem(param, model, dialect)
        if problem and soft:
            notes.append(MjnbPromptWarning(f"--{param.canonical}: {problem}", f"--{param.canonical}"))
        elif problem:
            errors.append(ValidationError(f"--{param.canonical}: {problem}", field=f"--{param.canonical}"))
    errors.extend(_combination_errors(prompt))
    notes.extend(_combination_notes(prompt, dialect))
    return errors, notes


def _param_problem(param: Param, model: Model | None, dialect: str | None) -> tuple[str | None, bool]:
    """``(problem, soft)``: soft problems are warnings, the others refusals."""
    spec = PARAMS.get(param.canonical)
    if spec is None:
        return "unknown parameter; sent as written, mjnb does not check it", True
    refused = DIALECT_REFUSED.get(dialect or "", {}).get(spec.name)
    if refused:
        return f"not accepted by {dialect} ({refused})", False
    absent = version_problem(spec.name, model)
    if absent:
        return absent, False
    if spec.kind == "flag":
        return (f"takes no value, got {param.value!r}", False) if param.value is not None else (None, False)
    if param.value is None:
        return (None, False) if spec.optional else (f"needs a value ({spec.describe_allowed()})", False)
    for value in _alternatives(param.value):
        problem = value_problem(spec, value, model)
        if problem:
            return problem, False
        soft = SOFT_CHECKS.get(spec.name)
        problem = soft(value) if soft else None
        if problem:
            return f"{problem}; sent as written", True
    return None, False


def _alternatives(value: str) -> list[str]:
    """The values to check: a permutation group ``{a, b}`` option by option; other braces not at all
    (they are expanded by ``_permute`` before anything is sent)."""
    if "{" not in value and "}" not in value:
        return [value]
    m = re.fullmatch(r"\{([^{}]*)\}", value)
    if not m:
        return []
    return [option.strip() for option in re.split(r"(?<!\\),", m[1]) if option.strip()]


def _is_number(text: str | None, number: str) -> bool:
    value = strict_decimal(text or "")
    return value is not None and value == Decimal(number)


def _combination_errors(prompt: Prompt) -> Iterator[ValidationError]:
    versions = [p for p in prompt.params if p.canonical in ("v", "niji")]
    if len({p.canonical for p in versions}) > 1:
        yield ValidationError("--niji: cannot be combined with --v; choose one", field="--niji")
    elif len({parse_model(p.canonical, p.value) or p.value for p in versions}) > 1:
        named = ", ".join(p.value or "(none)" for p in versions)
        yield ValidationError(
            f"--{versions[0].canonical}: given more than once ({named}); keep one", field=f"--{versions[0].canonical}"
        )
    if prompt.has("oref") and any(_is_number(v, "4") for v in prompt.get_all("q")):
        # EVO-V7: "--q 4 is incompatible with --oref"
        yield ValidationError("--q: 4 cannot be combined with --oref; allowed: 1, 2", field="--q")
    if len(prompt.image_urls) == 1 and not prompt.text.strip():
        yield ValidationError("prompt: one image URL needs some text too (or give two or more images)", field="prompt")
    weights = [w for _, w in prompt.multi_prompts]
    if len(weights) > 1:
        # MJ-PARAMS Multi Prompts: the weights are normalised, so their sum must be positive.
        total = sum((strict_decimal(w) or Decimal(0)) if w is not None else Decimal(1) for w in weights)
        if total <= 0:
            yield ValidationError(
                f"prompt: the :: weights add up to {total}; Midjourney needs a positive sum", field="prompt"
            )


def _combination_notes(prompt: Prompt, dialect: str | None) -> Iterator[MjnbPromptWarning]:
    seen: dict[str, int] = {}
    for param in prompt.params:
        seen[param.canonical] = seen.get(param.canonical, 0) + 1
    for name, count in seen.items():
        if count > 1 and name in PARAMS and name not in REPEATABLE and name not in ("v", "niji"):
            yield MjnbPromptWarning(f"--{name} is given {count} times; Midjourney may use only one", f"--{name}")
    speeds = [s for s in _SPEEDS if s in seen]
    if len(speeds) > 1:
        yield MjnbPromptWarning(f"several speeds ({', '.join(speeds)}); keep one", f"--{speeds[0]}")
    for weight, ref in (("cw", "cref"), ("ow", "oref"), ("sw", "sref"), ("sv", "sref")):
        if weight in seen and ref not in seen:
            yield MjnbPromptWarning(f"--{weight}: has no effect without --{ref}", f"--{weight}")
    if "iw" in seen and not prompt.image_urls:
        yield MjnbPromptWarning("--iw: has no effect without an image prompt (image URLs first)", "--iw")
    if dialect == "evolink" and "::" in prompt.text:
        yield MjnbPromptWarning("prompt: EvoLink documents no :: multi-prompts for V7; sent as written", "prompt")
