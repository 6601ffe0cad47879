"""The typed view of CanvasEditor that its mixins share (``_editor_pointer``, ``_editor_place`` …).

Each mixin reads state the editor's constructor sets and calls methods the editor or another
mixin defines.  :class:`EditorHost` declares them, so the type checker can follow a mixin's
``self``; every mixin inherits from it and CanvasEditor combines them.

At runtime the class is empty: the attributes are bare annotations (a class-level value would
shadow the editor's traits, ``mode``/``tool``/``result``), and the methods and properties are
declared only for the type checker, so the real ones on CanvasEditor and the mixins are the
only ones that exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from collections import Counter

    from PIL import Image

    from .._client import AsyncClient
    from .._models import Task
    from ._editor_controls import Controls
    from ._editor_layers import Layers
    from ._editor_submit import Plan
    from ._events import Event
    from ._geometry import Box, View
    from ._progress import Job, ProgressView
    from ._runner import Handle
    from ._strokes import Command, MaskCommands

__all__ = ["EditorHost"]


class EditorHost:
    """What the editor's mixins use from CanvasEditor and from each other (declarations only)."""

    # -- state set in CanvasEditor.__init__ ----------------------------------------------------------
    display_size: int
    client: AsyncClient
    progress: ProgressView
    task: Task | None
    index: int | None
    image: Image.Image | None
    history: MaskCommands
    event_counts: Counter[str]
    last_job: Job | None
    controls: Controls
    layers: Layers
    _result_event: Event
    _canvas: tuple[int, int]
    _box: Box
    _undo_log: list[tuple[Any, ...]]
    _redo_log: list[tuple[Any, ...]]
    _gesture: dict[str, Any] | None
    _last_pos: tuple[float, float] | None
    _syncing: bool

    # -- the editor's traits (traitlets descriptors on CanvasEditor) -----------------------------------
    mode: str
    tool: str
    result: Task | None

    if TYPE_CHECKING:
        # -- CanvasEditor ---------------------------------------------------------------------------
        @property
        def image_size(self) -> tuple[int, int]: ...

        @property
        def view(self) -> View: ...

        def load(self, image_or_task: Any, *, image: Any = None, index: int | None = None) -> Handle | None: ...

        def _require_image(self) -> Image.Image: ...

        def _guarded(self, action: Callable[..., Any], *args: Any) -> Any: ...

        def to_image(self, x: float, y: float) -> tuple[float, float]: ...

        def _radius_to_image(self, radius: float) -> float: ...

        def set_tool(self, name: str) -> None: ...

        def _push(self, command: Command) -> None: ...

        def invert(self) -> None: ...

        def mask(self, *, grow: int | None = None, feather: float | None = None) -> Image.Image: ...

        def _logged(self, entry: tuple[Any, ...]) -> None: ...

        def undo(self) -> bool: ...

        def redo(self) -> bool: ...

        def _redraw(self, all_layers: bool = False, overlay: bool = False, interaction: bool = False) -> None: ...

        # -- PlacementMixin -------------------------------------------------------------------------
        @property
        def canvas_size(self) -> tuple[int, int]: ...

        @property
        def image_box(self) -> tuple[int, int, int, int]: ...

        @property
        def scale(self) -> float: ...

        @property
        def max_canvas_side(self) -> int: ...

        def set_scale(self, scale: float) -> None: ...

        def composite(self) -> Image.Image: ...

        def fill_mask(self) -> Image.Image: ...

        # -- SubmitMixin ----------------------------------------------------------------------------
        def plan_for(self, mode: str | None = None) -> Plan: ...

        # -- ControlsMixin --------------------------------------------------------------------------
        def _sync_controls(self) -> None: ...

        def _say(self, text: str, error: bool = False) -> None: ...
