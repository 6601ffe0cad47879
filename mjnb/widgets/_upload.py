"""ImageUpload: images from the user's disk (``ipywidgets.FileUpload``) or by URL, validated at once.

Every upload goes through :func:`mjnb.images.load_image` (size limits, decompression-bomb
guard, non-images refused) the moment it arrives, so a bad file is named inline under the
control, before anything is sent.  The decoded images stay in the kernel; the FileUpload's
own value is emptied after reading, so a saved notebook does not carry the uploaded bytes.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import traitlets

from .._errors import ValidationError
from ._runner import ui_lock
from ._style import classes

__all__ = ["ImageUpload", "uploaded_files"]

_THUMB_PX = 72


def uploaded_files(value: Any) -> list[tuple[str, bytes]]:
    """``(name, content)`` of each file in a FileUpload ``value`` (ipywidgets 8: a tuple of dicts)."""
    found: list[tuple[str, bytes]] = []
    for item in value or ():
        if not isinstance(item, dict) or "content" not in item:
            raise ValidationError(
                "upload: unexpected FileUpload value; ipywidgets 8 gives a tuple of dicts", field="upload"
            )
        found.append((str(item.get("name") or "upload"), bytes(item["content"])))
    return found


class ImageUpload(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Upload ``min_count``–``max_count`` images, or type their http(s) URLs.

    Args:
        label: what the images are for ("Image to describe", "Images to blend" …).
        field: the argument name used in error messages (``image``, ``images``).
        min_count, max_count: how many images the verb takes (blend: 2–5).
        urls: whether a URL field is offered next to the upload.

    Traits: ``count`` (images and URLs given so far), ``error`` (the inline message, "" when fine).
    ``sources()`` returns the images (PIL) then the URLs, or raises ``ValidationError``.
    """

    count = traitlets.Int(0)
    error = traitlets.Unicode("")

    def __init__(
        self, label: str, *, field: str = "image", min_count: int = 1, max_count: int = 1, urls: bool = True, **kw: Any
    ) -> None:
        self.field = field
        self.min_count, self.max_count = min_count, max_count
        self.images: list[Any] = []  # decoded PIL images, kernel-side only
        self.names: list[str] = []
        self.upload = classes(
            widgets.FileUpload(
                accept="image/*",
                multiple=max_count > 1,
                description="Upload",
                tooltip=f"{label}: PNG, JPEG or WebP from your disk",
            ),
            "mjnb-upload",
        )
        self.url = widgets.Text(
            placeholder=("or image URLs, space-separated" if max_count > 1 else "or an image URL"),
            layout=widgets.Layout(width="24em", display=None if urls else "none"),
        )
        self.clear_button = widgets.Button(
            description="Clear", icon="times", layout=widgets.Layout(width="auto"), tooltip="Forget the uploaded images"
        )
        self.clear_button.on_click(lambda _: self.clear())
        self.thumbs = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap"))
        self.message = classes(widgets.HTML("", layout=widgets.Layout(display="none")), "mjnb-field-error")
        self.note = classes(widgets.HTML(""), "mjnb-message")
        row = widgets.HBox(
            [widgets.Label(label), self.upload, self.url, self.clear_button],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        super().__init__([row, self.thumbs, self.message, self.note], **kw)
        classes(self, "mjnb-upload-field")
        self.upload.observe(self._uploaded, names="value")
        self.url.observe(lambda _: self._recount(), names="value")

    # -- reacting --------------------------------------------------------------------------------
    def _uploaded(self, change: Any) -> None:
        files = uploaded_files(change["new"])
        if not files:
            return  # our own reset below
        from .. import images as image_tools

        problems: list[str] = []
        for name, content in files:
            try:
                image = image_tools.load_image(content, field=f"{self.field} {name!r}")
            except ValidationError as exc:
                problems.append(str(exc))
                continue
            if len(self.images) >= self.max_count:
                problems.append(f"{self.field}: at most {self.max_count} image(s); {name!r} was left out")
                continue
            self.images.append(image)
            self.names.append(name)
            self.thumbs.children += (self._thumb(name, image),)
        with ui_lock:
            self.upload.value = ()  # the bytes live in the kernel only: not in the saved widget state
        self._recount(problems[0] if problems else "")

    def _thumb(self, name: str, image: Any) -> widgets.Widget:
        from .. import images as image_tools

        picture = widgets.Image(
            value=image_tools.thumbnail_png(image, _THUMB_PX),
            format="png",
            layout=widgets.Layout(width=f"{_THUMB_PX}px", height=f"{_THUMB_PX}px", object_fit="contain"),
        )
        caption = widgets.Label(f"{name} · {image.width}×{image.height}", layout=widgets.Layout(max_width="12em"))
        caption.tooltip = name
        return widgets.VBox([picture, caption], layout=widgets.Layout(align_items="center"))

    def _recount(self, problem: str = "") -> None:
        with ui_lock:
            self.count = len(self.images) + len(self.url_list())
            self._show_error(problem)

    def _show_error(self, text: str) -> None:
        self.error = text
        self.message.value = html.escape(text, quote=False)
        self.message.layout.display = None if text else "none"

    # -- reading ---------------------------------------------------------------------------------
    def url_list(self) -> list[str]:
        """The URLs typed in the URL field (unchecked)."""
        return self.url.value.split() if self.url.layout.display != "none" else []

    def sources(self) -> list[Any]:
        """The uploaded images (PIL) followed by the typed URLs, checked for count and form.

        Raises:
            ValidationError: a typed URL is not http(s), or the count is outside ``min_count``–``max_count``.
        """
        urls = self.url_list()
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise self._refuse(
                    f"{self.field}: {url[:80]!r} is not an image URL; allowed: http(s):// URLs or an uploaded file"
                )
        found: list[Any] = [*self.images, *urls]
        if not self.min_count <= len(found) <= self.max_count:
            low, high = self.min_count, self.max_count
            wanted = str(low) if low == high else f"{low} to {high}"
            raise self._refuse(f"{self.field}: give {wanted} image(s) (uploads or URLs); got {len(found)}")
        self._show_error("")
        return found

    def _refuse(self, text: str) -> ValidationError:
        with ui_lock:
            self._show_error(text)
        return ValidationError(text, field=self.field)

    def clear(self) -> None:
        """Forget the uploaded images and the typed URLs."""
        with ui_lock:
            self.images, self.names = [], []
            self.thumbs.children = ()
            self.url.value = ""
            self._recount()

    def allow_urls(self, allowed: bool, why: str = "") -> None:
        """Offer the URL field or not; ``why`` is shown under the control either way."""
        with ui_lock:
            self.url.layout.display = None if allowed else "none"
            self.note.value = html.escape(why, quote=False)
            self._recount(self.error)

    def allow_uploads(self, allowed: bool, why: str = "") -> None:
        """Offer the FileUpload or not (a service that takes only URLs); ``why`` says so."""
        with ui_lock:
            self.upload.disabled = not allowed
            self.upload.tooltip = why or self.upload.tooltip
            self.note.value = html.escape(why, quote=False)

    def __repr__(self) -> str:
        return f"ImageUpload(field={self.field!r}, images={len(self.images)}, urls={len(self.url_list())})"
