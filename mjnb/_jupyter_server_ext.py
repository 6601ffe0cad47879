"""A Jupyter server extension that turns TCP_NODELAY on for kernel websockets.

jupyter_server never calls ``set_nodelay(True)`` on the kernel websocket, so Nagle's algorithm
holds each small message (a canvas draw command right after the kernel's "busy" status) until
the browser acknowledges the previous one, and Linux delays that acknowledgement by up to
40 ms.  Painting on the canvas editor then lags by 30–40 ms for nothing.  This extension wraps
the kernel websocket handler's ``open`` so that every kernel connection sets the option first.

``pip install mjnb`` enables it (``jupyter-config/jupyter_server_config.d/mjnb.json``); check
with ``jupyter server extension list``, turn it off with
``jupyter server extension disable mjnb._jupyter_server_ext``.  JupyterLab, Notebook 7 and
Voilà served by ``jupyter server`` all load it; the standalone ``voila`` command loads no
server extensions.
"""

from __future__ import annotations

import functools
import importlib
import socket
from typing import Any

__all__ = ["enable_nodelay"]

#: Where the kernel websocket handler lives, newest jupyter_server first (2.x, then 1.x).
_HANDLER_PATHS = (
    ("jupyter_server.services.kernels.websocket", "KernelWebsocketHandler"),
    ("jupyter_server.services.kernels.handlers", "ZMQChannelsHandler"),
)
_MARK = "_mjnb_nodelay"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mjnb._jupyter_server_ext"}]


def _handler_classes() -> list[type]:
    found: list[type] = []
    for module_name, class_name in _HANDLER_PATHS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        if cls not in found:
            found.append(cls)
    return found


def _socket_nodelay(handler: Any) -> int | None:
    """The option as the socket now has it (None when the socket cannot be reached)."""
    try:
        sock = handler.ws_connection.stream.socket
        return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    except Exception:  # noqa: BLE001 - a closed or non-TCP stream: nothing to report
        return None


def _wrap_open(original: Any) -> Any:
    @functools.wraps(original)
    async def open(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            self.set_nodelay(True)
        except Exception as exc:  # noqa: BLE001 - never break a kernel connection over latency
            self.log.warning("mjnb: could not set TCP_NODELAY on the kernel websocket: %s", exc)
        else:
            self.log.debug(
                "mjnb: kernel websocket %s TCP_NODELAY=%s", getattr(self, "kernel_id", "?"), _socket_nodelay(self)
            )
        result = original(self, *args, **kwargs)
        if hasattr(result, "__await__"):
            result = await result
        return result

    setattr(open, _MARK, True)
    return open


def enable_nodelay() -> list[str]:
    """Patch every kernel websocket handler class found; returns their names (idempotent)."""
    patched = []
    for cls in _handler_classes():
        current = cls.__dict__.get("open") or getattr(cls, "open", None)
        if current is None:
            continue
        if not getattr(current, _MARK, False):
            setattr(cls, "open", _wrap_open(current))  # noqa: B010 - the handler classes vary
        patched.append(f"{cls.__module__}.{cls.__qualname__}")
    return patched


def _load_jupyter_server_extension(serverapp: Any) -> None:
    patched = enable_nodelay()
    if patched:
        serverapp.log.info("mjnb: TCP_NODELAY on kernel websockets (%s)", ", ".join(patched))
    else:
        serverapp.log.warning("mjnb: no kernel websocket handler found; TCP_NODELAY not set")


# jupyter_server < 2 and notebook-shim look for the older name
load_jupyter_server_extension = _load_jupyter_server_extension
