"""Immutable value classes without ``@dataclass(frozen=True)``'s cost at import.

``dataclasses`` compiles every method of every class with ``exec`` when the class is created (about
a millisecond a class, most of ``import mjnb`` beyond httpx).  A subclass of :class:`Frozen` names
its fields as annotations and writes its ``__init__`` by hand, ending with ``_assign(self,
locals())`` (so that help(), inspect and mypy see the real keywords); repr, equality and hashing
follow the fields in order as a frozen dataclass's do, and assigning or deleting an attribute
raises ``dataclasses.FrozenInstanceError``.  A public model also keeps ``@dataclass(init=False,
repr=False, eq=False)`` on top, which is cheap and keeps ``dataclasses.fields``/``replace``/``asdict``.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from operator import attrgetter
from typing import Any, Callable, ClassVar

__all__ = ["Frozen", "_assign"]

_set = object.__setattr__


class Frozen:
    """Base of the hand-written frozen value classes (see the module docstring)."""

    __slots__ = ()
    #: The fields, in order: the class's annotations (``ClassVar`` ones excepted), its bases' first.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Fields left out of repr, equality and hashing (a dataclass's ``compare=False, repr=False``).
    _hidden: ClassVar[tuple[str, ...]] = ()
    _key: ClassVar[Callable[[Any], tuple[Any, ...]]]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        own = cls.__dict__.get("__annotations__", {})
        cls._fields = cls._fields + tuple(n for n, hint in own.items() if not str(hint).startswith("ClassVar"))
        shown = tuple(n for n in cls._fields if n not in cls._hidden)
        # attrgetter of one name returns the value itself, not a 1-tuple: hash it as a dataclass does.
        cls._key = attrgetter(*shown) if len(shown) > 1 else (lambda self: tuple(getattr(self, n) for n in shown))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields if n not in self._hidden)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            key = type(self)._key
            return bool(key(self) == key(other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(type(self)._key(self))


def _assign(obj: Frozen, values: dict[str, Any]) -> None:
    """Set ``obj``'s fields from ``values`` (its ``__init__``'s ``locals()``)."""
    for name in type(obj)._fields:
        _set(obj, name, values[name])
