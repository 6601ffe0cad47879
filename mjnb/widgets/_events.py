"""One callback convention for every mjnb widget: ``on_<event>(callback, remove=False)``.

As ``Button.on_click`` does, each event is an :class:`ipywidgets.CallbackDispatcher`; a widget's
``on_<event>`` method registers (or, with ``remove=True``, unregisters) a callback on it, and
constructor keywords of the same name register one.  What differs from a bare dispatcher: a
callback that raises is not only logged — the widget shows the error to the user (its message
line) and nothing it did is undone — and a callback may return an awaitable, which the widget
awaits when it fires the event from a job.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from ipywidgets import CallbackDispatcher

__all__ = ["Event"]


class Event(CallbackDispatcher):  # type: ignore[misc]  # ipywidgets ships no type information
    """The callbacks of one widget event.

    ``fire(*args)`` calls each callback in the order registered and returns what they returned
    (None for one that raised); ``on_error(exc)`` receives each exception: the widget says it
    to the user, so none is lost.  ``afire`` does the same from a coroutine and awaits the
    awaitables callbacks return.
    """

    def register(self, callback: Callable[..., Any], remove: bool = False) -> None:
        """Add ``callback`` (once; adding it again is a no-op) or, with ``remove``, take it away.

        Raises:
            TypeError: ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(f"callback: expected a function, got {type(callback).__name__}")
        self.register_callback(callback, remove=remove)

    def __len__(self) -> int:
        return len(self.callbacks)

    def __bool__(self) -> bool:  # an Event with no callbacks is falsy, as an empty list
        return bool(self.callbacks)

    def fire(self, *args: Any, on_error: Callable[[Exception], Any]) -> list[Any]:
        """Call every callback with ``args``; an exception goes to ``on_error`` and the others still run."""
        results: list[Any] = []
        for callback in list(self.callbacks):
            try:
                results.append(callback(*args))
            except Exception as exc:
                on_error(exc)
                results.append(None)
        return results

    async def afire(self, *args: Any, on_error: Callable[[Exception], Any]) -> list[Any]:
        """:meth:`fire`, awaiting what a callback returns when it is awaitable."""
        results: list[Any] = []
        for callback in list(self.callbacks):
            try:
                result = callback(*args)
                if inspect.isawaitable(result):
                    result = await result
                results.append(result)
            except Exception as exc:
                on_error(exc)
                results.append(None)
        return results
