"""Wire dialects: one sans-IO module per API family (see ``_base`` for the contract)."""

from __future__ import annotations

import importlib
from typing import Any

from ._base import ALL_OPS, SUBMIT_OPS, Dialect, Request, Response

__all__ = ["DIALECT_NAMES", "get_dialect", "offered_by", "Dialect", "Request", "Response", "SUBMIT_OPS", "ALL_OPS"]

DIALECT_NAMES = ("mjproxy", "newapi", "acedata", "evolink")


def get_dialect(name: str, **settings: Any) -> Dialect:
    """The dialect called ``name``; ``settings`` go to its constructor (e.g. new-api ``mode``)."""
    key = (name or "").strip().lower().replace("-", "").replace("_", "")
    if key not in DIALECT_NAMES:
        from .._errors import ValidationError

        raise ValidationError(
            f"dialect: unknown dialect {name!r}; allowed: {', '.join(DIALECT_NAMES)}", field="dialect"
        )
    module = importlib.import_module(f".{key}", __name__)
    return module.make(**settings)


def offered_by(op: str) -> tuple[str, ...]:
    """Names of the dialects that offer ``op`` (for UnsupportedOperation messages)."""
    names = []
    for name in DIALECT_NAMES:
        try:
            if op in get_dialect(name).operations:
                names.append(name)
        except ImportError:  # a dialect module not written yet offers nothing
            continue
    return tuple(names)
