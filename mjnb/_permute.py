"""Midjourney permutation prompts, expanded on the client.

Midjourney expands ``{…}`` in a prompt into one job per combination (docs.midjourney.com,
"Permutation Prompts"); the APIs mjnb speaks do not, so a sweep expands them here:

* ``a {red, green, yellow} bird`` → three prompts; several groups multiply
  (``a {red, blue} bird --ar {1:1, 16:9}`` → four);
* groups nest (``a {seagull {on a pier, on a beach}, poodle}`` → three);
* ``\\,`` is a literal comma inside a group (``{red, pink \\, yellow}`` → "red", "pink, yellow");
  ``\\{``, ``\\}`` and ``\\\\`` are literal too;
* braces work inside parameters (``--ar {3:2, 1:1}``, ``--{v 6, niji 6}``).

An empty group ``{}`` and unbalanced braces are refused with the position of the brace.
Expansion order is Midjourney's: the leftmost group varies slowest.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Union

from ._errors import ValidationError

__all__ = ["Expansion", "expand_permutations", "count_permutations", "axis_values", "is_permutation"]


@dataclass(frozen=True)
class _Group:
    """``{a, b, …}`` at ``position`` (0-based index of its ``{``); each option is a sequence of parts."""

    position: int
    source: str
    options: tuple[tuple[_Part, ...], ...]
    axis: str


_Part = Union[str, _Group]


@dataclass(frozen=True)
class Expansion:
    """One prompt of a permutation, with the value chosen on each axis.

    ``axes`` maps each top-level group to its chosen (expanded) option, in prompt order: a
    group that is a parameter's value is named by the parameter (``"ar"`` for
    ``--ar {1:1, 16:9}``), any other group by its source text (``"{red, blue}"``).
    """

    prompt: str
    axes: dict[str, str] = field(default_factory=dict)


_PARAM_BEFORE = re.compile(r"--([A-Za-z][\w.]*)\s*$")


def _axis_name(text_before: str, source: str, taken: set[str]) -> str:
    """The parameter name when the group is a parameter's value, else the group's own text."""
    match = _PARAM_BEFORE.search(text_before)
    name = match.group(1).lower() if match else source
    unique, n = name, 2
    while unique in taken:  # ``--no {a, b} --no {c, d}``: keep both axes
        unique, n = f"{name} ({n})", n + 1
    taken.add(unique)
    return unique


class _Parser:
    def __init__(self, prompt: str) -> None:
        self.text = prompt
        self.pos = 0

    def parse(self) -> tuple[_Part, ...]:
        parts = self._sequence(top=True)
        if self.pos < len(self.text):  # only a stray "}" stops the top level early
            raise ValidationError(
                f"prompt: unbalanced braces: '}}' at position {self.pos} closes no '{{'; use \\}} for a literal brace",
                field="prompt",
            )
        return parts

    def _sequence(self, *, top: bool) -> tuple[_Part, ...]:
        parts: list[_Part] = []
        literal: list[str] = []
        taken: set[str] = set()
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text) and self.text[self.pos + 1] in ",{}\\":
                if self.text[self.pos + 1] == ",":  # "pink \\, yellow" means "pink, yellow"
                    while literal and literal[-1] == " ":
                        literal.pop()
                literal.append(self.text[self.pos + 1])
                self.pos += 2
            elif char == "{":
                before = "".join(literal)
                if before:
                    parts.append(before)
                    literal = []
                group = self._group()
                if top:
                    prior = "".join(p for p in parts if isinstance(p, str))
                    group = _Group(group.position, group.source, group.options, _axis_name(prior, group.source, taken))
                parts.append(group)
            elif char == "}" or (char == "," and not top):
                break
            else:
                literal.append(char)
                self.pos += 1
        if literal:
            parts.append("".join(literal))
        return tuple(parts)

    def _group(self) -> _Group:
        start = self.pos
        self.pos += 1  # past "{"
        options: list[tuple[_Part, ...]] = []
        while True:
            options.append(self._sequence(top=False))
            if self.pos >= len(self.text):
                raise ValidationError(
                    f"prompt: unbalanced braces: '{{' at position {start} is never closed; "
                    "use \\{ for a literal brace",
                    field="prompt",
                )
            if self.text[self.pos] == "}":
                self.pos += 1
                break
            self.pos += 1  # past ","
        if all(not _flatten(option).strip() for option in options):
            raise ValidationError(
                f"prompt: empty permutation group {{}} at position {start}; "
                "list the options separated by commas, e.g. {red, blue}",
                field="prompt",
            )
        return _Group(start, self.text[start : self.pos], tuple(options), "")


def _flatten(parts: tuple[_Part, ...]) -> str:
    return "".join(p if isinstance(p, str) else p.source for p in parts)


def _expand(parts: tuple[_Part, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """Every (text, chosen option of each top-level group) of ``parts``, leftmost group slowest."""
    choices: list[list[tuple[str, str]]] = []
    for part in parts:
        if isinstance(part, str):
            choices.append([(part, "")])
        else:
            values = [_tidy(text) for option in part.options for text, _ in _expand(option)]
            choices.append([(value, value) for value in values])
    result = []
    for combo in itertools.product(*choices):
        text = "".join(piece for piece, _ in combo)
        chosen = tuple(value for (_, value), part in zip(combo, parts) if not isinstance(part, str))
        result.append((text, chosen))
    return result


def _count(parts: tuple[_Part, ...]) -> int:
    total = 1
    for part in parts:
        if not isinstance(part, str):
            total *= sum(_count(option) for option in part.options)
    return total


def _tidy(text: str) -> str:
    """Collapse the runs of spaces an empty option or a trimmed one leaves behind."""
    return re.sub(r" {2,}", " ", text).strip()


def count_permutations(prompt: str) -> int:
    """How many prompts ``prompt`` expands to, without expanding them (1 with no braces).

    Raises:
        ValidationError: an empty group or unbalanced braces (field ``prompt``, with the position).
    """
    return _count(_Parser(prompt).parse())


def expand_permutations(prompt: str, *, limit: int | None = None) -> list[Expansion]:
    """Expand Midjourney's permutation syntax into one prompt per combination.

    Args:
        prompt: a Midjourney prompt, possibly with ``{a, b}`` groups (see the module docstring).
        limit: refuse (before expanding) a prompt that expands to more than this many prompts.

    Returns:
        The expansions in Midjourney's order, each with its axis values; a prompt without
        braces gives one expansion with no axes (escapes are still resolved).

    Raises:
        ValidationError: an empty ``{}``, unbalanced braces (naming the position), or more
        expansions than ``limit``.
    """
    parts = _Parser(prompt).parse()
    if limit is not None:
        total = _count(parts)
        if total > limit:
            raise ValidationError(f"prompt: expands to {total} prompts, more than the limit of {limit}", field="prompt")
    names = [part.axis for part in parts if isinstance(part, _Group)]
    return [Expansion(_tidy(text), dict(zip(names, chosen))) for text, chosen in _expand(parts)]


def axis_values(prompt: str) -> dict[str, list[str]]:
    """Each top-level axis of ``prompt`` with its values in order (empty for a plain prompt)."""
    parts = _Parser(prompt).parse()
    return {
        part.axis: [_tidy(text) for option in part.options for text, _ in _expand(option)]
        for part in parts
        if isinstance(part, _Group)
    }


def is_permutation(prompt: str) -> bool:
    """True when ``prompt`` has at least one unescaped ``{…}`` group."""
    return any(isinstance(part, _Group) for part in _Parser(prompt).parse())
