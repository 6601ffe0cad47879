"""Wire dialects: one sans-IO module per API family (see ``_base`` for the contract)."""

from __future__ import annotations

import importlib
from typing import Any

from ._base import ALL_OPS, SUBMIT_OPS, Dialect, DialectBase, Request, Response, retry_after

__all__ = [
    "DIALECT_NAMES",
    "get_dialect",
    "offered_by",
    "Dialect",
    "DialectBase",
    "Request",
    "Response",
    "SUBMIT_OPS",
    "ALL_OPS",
    "retry_after",
]

DIALECT_NAMES = ("mjproxy", "newapi", "acedata", "evolink")


def get_dialect(name: str, **settings: Any) -> DialectBase:
    """The dialect called ``name`` ("mjproxy", "newapi", "acedata" or "evolink"; case, ``-`` and ``_``
    are ignored); ``settings`` go to its ``make`` (e.g. new-api ``mode``, ``user_id``).

    Raises:
        ValidationError: an unknown name or setting.
    """
    key = (name or "").strip().lower().replace("-", "").replace("_", "") if isinstance(name, str) else ""
    if key not in DIALECT_NAMES:
        from .._errors import ValidationError

        raise ValidationError(
            f"dialect: unknown dialect {name!r}; allowed: {', '.join(DIALECT_NAMES)}", field="dialect"
        )
    module = importlib.import_module(f".{key}", __name__)
    dialect: DialectBase = module.make(**settings)
    return dialect


def offered_by(op: str) -> tuple[str, ...]:
    """Names of the dialects that offer ``op`` (for UnsupportedOperation messages)."""
    return tuple(name for name in DIALECT_NAMES if op in get_dialect(name).operations)
