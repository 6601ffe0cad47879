"""The inputs of the fuzz suite (``tests/test_fuzz.py``, ``bench/fuzz.py``): hypothesis strategies for
prompts, parameters, URLs, images, masks, numbers, task ids and action names, and :func:`cases`, which
draws one call of one verb on one dialect through one client, with ``Case.bad`` saying why the input
must be refused when it is built to be bad (an issue-9 value, a malformed URL, a NaN mask…).

``h`` is the suite's ``Harness``: its finished tasks, their image sizes and a few files on disk.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from mjnb._flows import VERBS  # every public verb, as both clients expose them

DIALECTS = ("mjproxy", "newapi", "acedata", "evolink")
MODES = ("sync", "async")


@dataclass
class Case:
    mode: str
    dialect: str
    verb: str
    args: tuple[Any, ...] = ()
    kw: dict[str, Any] = field(default_factory=dict)
    bad: str | None = None  # why this input must be refused before anything is sent

    def __repr__(self) -> str:
        text = f"{self.mode} {self.dialect}.{self.verb}(*{_short(self.args)}, **{_short(self.kw)})"
        return text + (f" [must refuse: {self.bad}]" if self.bad else "")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + f"…({len(text)} chars)"


# -- inputs -------------------------------------------------------------------------------------
def png_bytes(size: tuple[int, int], mode: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, 128).save(buf, "PNG")
    return buf.getvalue()


PIL_MODES = (
    "1",
    "L",
    "P",
    "RGB",
    "RGBA",
    "CMYK",
    "YCbCr",
    "LAB",
    "HSV",
    "I",
    "F",
    "LA",
    "PA",
    "RGBX",
    "RGBa",
    "La",
    "I;16",
    "I;16B",
    "I;16L",
)
DASHES = ("--", "—", "–", "−", "-", "---")
PARAMS = (
    "s",
    "stylize",
    "ar",
    "aspect",
    "c",
    "chaos",
    "q",
    "v",
    "niji",
    "seed",
    "no",
    "w",
    "weird",
    "iw",
    "sref",
    "cref",
    "p",
    "tile",
    "r",
    "repeat",
    "zoom",
    "hd",
    "style",
    "draft",
    "relax",
    "fast",
    "stop",
    "x",
)
#: Values of numeric parameters that Python's float()/\d accept but no service does (issue 9 item 6).
BAD_NUMBERS = ("1_000", "١٠٠", "+5", "nan", "inf", "-inf", "1e3", "0x10", "１００", "٣", "²", "5.", ".5e1")
BAD_RATIOS = ("３:２", "3：2", "3:2:1", "nan:1", "1_6:9", "+3:2", "٣:٢", "0:1", "-3:2")
ODD_VALUES = (
    "100",
    "0",
    "-0",
    "1000",
    "1001",
    "-1",
    "16:9",
    "1:1",
    "",
    "{1, 2}",
    "{",
    "}",
    "6.1",
    "7",
    "99999999999999999999",
    "a",
    "🙂",
)
NUMERIC = {"s", "stylize", "c", "chaos", "q", "seed", "w", "weird", "iw", "r", "repeat", "stop", "zoom"}
SURROGATES = ("\ud800", "\udfff", "\udc00x")
_SURROGATE = "a lone surrogate cannot be sent as UTF-8"
#: Wire field names passed as **options (checked by name and type by each dialect) and odd values.
OPTION_NAMES = (
    "notifyHook",
    "callback_url",
    "state",
    "base64Array",
    "image_urls",
    "speed",
    "split_images",
    "chooseSameChannel",
    "accountFilter",
    "botType",
    "translation",
    "mode",
    "prompt_extra",
    "n",
)

GOOD_URLS = ("https://example.com/a.png", "https://cdn.example.org:8443/i/1.png?x=1")
#: URLs no service may be sent: refused on every dialect (issue 9 item 6).
BAD_URLS = (
    "https://example.com/a b.png",
    "https://example.com/a\r\nX-Evil: 1",
    "https://example.com/\x00.png",
    "https://example.com:99999/a.png",
    "https://example.com\n/a.png",
    "https:///a.png",
    "https://example.com/\t",
    "http://exa mple.com/",
    "https://example.com:-1/",
    "javascript:alert(1)",
    "ftp://example.com/a.png",
)
#: Hosts a resolver reads as private or loopback: refused for EvoLink's callbacks (issue 9 item 6).
PRIVATE_HOSTS = (
    "https://127.1/",
    "https://0x7f000001/",
    "https://0177.0.0.1/",
    "https://2130706433/",
    "https://127.0.0.1/",
    "https://10.0.0.1/cb",
    "https://[::1]/cb",
    "https://localhost/cb",
    "https://192.168.0.1/",
    "https://169.254.169.254/latest",
)
TASK_IDS_BAD = (
    ".",
    "..",
    "/",
    "a/b",
    "../x",
    "a" * 100_000,
    "",
    " ",
    "\n",
    "x\r\ny",
    "\x00",
    "a b",
    "a\tb",
    "\ud800",
    "?x=1",
    "#frag",
    "a" * 257,
)
TASK_IDS_ODD = ("1234567890", "task-unified-1-x", "%2e%2e", "ünïcödé", "0", "-1", "a" * 256)
ACTIONS_BAD: tuple[Any, ...] = (
    None,
    5,
    ["U1"],
    "",
    " ",
    "U9",
    "u0",
    "V5",
    "zoom_out_3x",
    b"U1",
    1.5,
    {"U1": 1},
    "U1\x00",
    "pan_diagonal",
)
ACTIONS_MAYBE = (
    "U1",
    "U2",
    "V1",
    "reroll",
    "vary_subtle",
    "vary_strong",
    "zoom_out_2x",
    "zoom_out_1.5x",
    "pan_left",
    "pan_up",
    "custom_zoom",
    "upscale_2x",
    "u1",
    "U1 ",
)


@st.composite
def prompts(draw: Any) -> tuple[str, str | None]:
    """A prompt and, when it is built to be bad, why."""
    words = draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
    base = (words.strip() or "a kite") if draw(st.booleans()) else "a kite over the sea"
    bad = None
    parts = [base]
    for _ in range(draw(st.integers(0, 3))):
        dash = draw(st.sampled_from(DASHES))
        name = draw(st.sampled_from(PARAMS))
        choice = draw(st.integers(0, 3))
        if choice == 0 and name in NUMERIC:
            value = draw(st.sampled_from(BAD_NUMBERS))
            if dash == "--":
                bad = bad or f"--{name} {value!r} is not a plain ASCII number"
        elif choice == 1 and name in ("ar", "aspect"):
            value = draw(st.sampled_from(BAD_RATIOS))
            if dash == "--":
                bad = bad or f"--{name} {value!r} is not a ratio of ASCII integers"
        else:
            value = draw(st.sampled_from(ODD_VALUES))
        parts.append(f"{dash}{name} {value}".rstrip())
    text = " ".join(parts)
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(SURROGATES)) + text[at:]
        bad = _SURROGATE
    if draw(st.integers(0, 19)) == 0:
        text, bad = draw(st.sampled_from(("", "   ", "\n\t"))), "an empty prompt"
    return text, bad


def urls(dialect: str, *, callback: bool) -> st.SearchStrategy[tuple[str | None, str | None]]:
    good = st.sampled_from(GOOD_URLS).map(lambda u: (u, None))
    bad = st.sampled_from(BAD_URLS).map(lambda u: (u, f"malformed URL {u!r}"))
    hosts = st.sampled_from(PRIVATE_HOSTS).map(
        lambda u: (
            u,
            f"EvoLink refuses callbacks to private hosts ({u})" if callback and dialect == "evolink" else None,
        )
    )
    insecure = st.just(
        ("http://example.com/hook", "EvoLink callbacks must be HTTPS" if callback and dialect == "evolink" else None)
    )
    return st.one_of(st.just((None, None)), good, bad, hosts, insecure)


def images(h: Any) -> st.SearchStrategy[tuple[Any, str | None]]:
    from PIL import Image

    mode_images = st.sampled_from(PIL_MODES).map(lambda m: (Image.new(m, (40, 30)), None))
    return st.one_of(
        st.just((h.png, None)),
        st.just((str(h.files / "ok.png"), None)),
        st.just((h.files / "ok.png", None)),
        st.just(("data:image/png;base64," + base64.b64encode(h.png).decode(), None)),
        mode_images,
        st.sampled_from(GOOD_URLS).map(lambda u: (u, None)),
        st.sampled_from(BAD_URLS[:7]).map(lambda u: (u, f"malformed image URL {u!r}")),
        st.sampled_from(
            [
                (b"", "empty bytes"),
                (b"not an image", "undecodable bytes"),
                (str(h.files / "a directory"), "a directory"),
                (str(h.files), "a directory"),
                ("/tmp", "a directory"),
                (str(h.files / "missing.png"), "a missing file"),
                (str(h.files / "not-an-image.png"), "an undecodable file"),
                ("data:image/png;base64,@@@", "bad base64"),
                ("data:text/plain;base64,aGk=", "not an image data URL"),
                (None, "no image"),
                (5, "not an image"),
                ("", "empty path"),
                ("\x00", "NUL path"),
            ]
        ),
    )


def masks(size: tuple[int, int]) -> st.SearchStrategy[tuple[Any, str | None]]:
    import numpy as np
    from PIL import Image

    w, h = size

    def array(args: tuple[str, str, str]) -> tuple[Any, str | None]:
        shape_kind, dtype, fill = args
        shape = {
            "ok": (h, w),
            "swapped": (w, h),
            "small": (h // 2, w),
            "3d": (h, w, 3),
            "1d": (w * h,),
            "empty": (0, 0),
        }[shape_kind]
        arr = np.zeros(shape, dtype=dtype)
        if arr.ndim >= 2 and arr.size:
            arr[: shape[0] // 2] = 1 if dtype != "uint8" else 255
        bad = None if shape_kind in ("ok", "3d") else f"a mask of shape {shape} for a {w}x{h} image"
        if fill in ("nan", "inf") and arr.dtype.kind in "fc" and arr.size:
            arr.flat[0] = float(fill)
            bad = bad or f"a mask holding {fill}"
        if fill == "blank":
            arr[...] = 0
            bad = bad or "an empty mask"
        if arr.dtype.kind == "c":
            bad = bad or "a complex mask"
        return arr, bad

    arrays = st.tuples(
        st.sampled_from(("ok", "ok", "swapped", "small", "3d", "1d", "empty")),
        st.sampled_from(("bool", "uint8", "float32", "float64", "int64", "complex64", "uint16")),
        st.sampled_from(("", "", "nan", "inf", "blank")),
    ).map(array)

    def pil(mode: str) -> tuple[Any, str | None]:
        img = Image.new(mode, size)
        img.paste(Image.new(mode, (w // 2 or 1, h), 1.0 if mode == "F" else 255), (0, 0))
        return img, None

    return st.one_of(
        arrays,
        st.sampled_from(PIL_MODES).map(pil),
        st.just((Image.new("L", (w + 1, h), 255), "a mask of another size")),
        st.sampled_from(
            [
                (None, "no mask"),
                (b"junk", "undecodable mask"),
                ("nope", "not a mask"),
                ([], "no polygons"),
                (5, "not a mask"),
            ]
        ),
    )


def numbers() -> st.SearchStrategy[Any]:
    return st.sampled_from((math.nan, math.inf, -math.inf, -1, 0, 1e-9, 1, 2, 1.5, 4, 5, True, "2", None, 10**20))


def _task(h: Any, dialect: str, draw: Any) -> tuple[Any, str | None, str]:
    """A task to act on: a finished one, its id, or a bad id."""
    which = draw(st.sampled_from(("grid", "upscaled")))
    choice = draw(st.integers(0, 5))
    task = h.tasks[dialect][which]
    if choice <= 3:
        return task, None, which
    if choice == 4:
        return task.id, None, which
    return draw(st.sampled_from(TASK_IDS_BAD)), "a malformed task id", which


@st.composite
def cases(draw: Any, h: Any, modes: tuple[str, ...] = MODES) -> Case:
    mode = draw(st.sampled_from(modes))
    dialect = draw(st.sampled_from(DIALECTS))
    verb = draw(st.sampled_from(VERBS))
    case = Case(mode, dialect, verb)
    reasons: list[str] = []

    def note(reason: str | None) -> None:
        if reason:
            reasons.append(reason)

    if verb in ("imagine", "shorten", "translate", "retexture"):
        prompt, why = draw(prompts())
        # shorten and translate read the text as text: only what cannot be sent at all is bad there.
        note(why if verb in ("imagine", "retexture") or why in (_SURROGATE, "an empty prompt") else None)
        if verb == "retexture":
            image, why = draw(images(h))
            note(why)
            case.args = (image, prompt)
        else:
            case.args = (prompt,)
        if verb == "imagine":
            if draw(st.booleans()):
                refs = draw(st.lists(images(h), max_size=2))
                case.kw["images"] = [r for r, _ in refs]
                for _, why in refs:
                    note(why)
            if draw(st.integers(0, 3)) == 0:
                timeout = draw(numbers())
                case.kw.update(wait=True, timeout=timeout)
                ok = (
                    isinstance(timeout, (int, float))
                    and not isinstance(timeout, bool)
                    and math.isfinite(timeout)
                    and timeout > 0
                )
                note(None if ok else f"wait=True with timeout={timeout!r}")
                if ok:
                    case.kw["timeout"] = 1e-9  # a valid timeout: the job is followed briefly, then TaskTimeout
            if draw(st.integers(0, 3)) == 0:
                name = draw(st.sampled_from(OPTION_NAMES))
                value = draw(
                    st.sampled_from(
                        (*BAD_URLS[:4], *GOOD_URLS, "\ud800", True, 5, None, [], ["x"], {"a": 1}, "fast", "relax")
                    )
                )
                case.kw[name] = value
                note(f"option {name}={value!r} is a malformed URL" if value in BAD_URLS else None)
            if draw(st.integers(0, 4)) == 0:
                mode_ = draw(st.sampled_from(("fast", "relax", "turbo", "draft", "FAST", "", 5)))
                case.kw["mode"] = mode_
            if draw(st.integers(0, 4)) == 0:
                bot = draw(st.sampled_from(("mj", "niji", None, "MJ", "", 5)))
                case.kw["bot"] = bot
                note(None if bot in ("mj", "niji", None) else f"bot={bot!r}")
    elif verb in ("describe", "remove_bg"):
        image, why = draw(images(h))
        note(why)
        case.args = (image,)
    elif verb == "blend":
        refs = draw(st.lists(images(h), min_size=0, max_size=6))
        case.args = ([r for r, _ in refs],)
        if not 2 <= len(refs) <= 5:
            note(f"{len(refs)} images to blend")
        for _, why in refs:
            note(why)
        if draw(st.booleans()):
            dims = draw(st.sampled_from(("SQUARE", "PORTRAIT", "LANDSCAPE", "square", "", None)))
            case.kw["dimensions"] = dims
            note(None if dims in ("SQUARE", "PORTRAIT", "LANDSCAPE") else f"dimensions={dims!r}")
    elif verb == "edit":
        image, why = draw(images(h))
        note(why)
        prompt, pwhy = draw(prompts())
        note(pwhy)
        mask, mwhy = draw(masks((40, 30)) if not isinstance(image, bytes) else masks((64, 48)))
        case.args = (image, mask, prompt)
        if mask is None:
            mwhy = None  # no mask: the service repaints freely
        note(mwhy if isinstance(image, (bytes,)) or mwhy in ("undecodable mask", "not a mask", "no polygons") else None)
    elif verb in ("get", "wait", "cancel", "seed", "download", "download_video"):
        if draw(st.integers(0, 2)) == 0:
            case.args = (draw(st.sampled_from(TASK_IDS_BAD)),)
            note("a malformed task id")
        elif draw(st.booleans()):
            case.args = (draw(st.sampled_from(TASK_IDS_ODD)),)
        else:
            task, why, _ = _task(h, dialect, draw)
            note(why)
            case.args = (task,)
        if verb == "wait" and draw(st.booleans()):
            timeout = draw(numbers())
            case.kw["timeout"] = timeout
            if not (
                isinstance(timeout, (int, float))
                and not isinstance(timeout, bool)
                and math.isfinite(timeout)
                and timeout > 0
            ):
                note(f"timeout={timeout!r}")
    elif verb == "tasks":
        page, size = draw(numbers()), draw(st.sampled_from((1, 20, 100, 0, 101, -1, "10", True, None)))
        case.kw.update(page=page if draw(st.booleans()) else 1, page_size=size)
        if not (isinstance(case.kw["page"], int) and not isinstance(case.kw["page"], bool) and case.kw["page"] >= 1):
            note(f"page={case.kw['page']!r}")
        if not (isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 100):
            note(f"page_size={size!r}")
    else:  # follow-ups of a finished task
        task, why, which = _task(h, dialect, draw)
        note(why)
        size = h.sizes[(dialect, which)]
        if verb == "action":
            if draw(st.booleans()):
                action = draw(st.sampled_from(ACTIONS_BAD))
                note(f"action={action!r}")
            else:
                action = draw(st.sampled_from(ACTIONS_MAYBE))
            case.args = (task, action)
            if draw(st.integers(0, 2)) == 0:  # Remix / Custom Zoom prompt
                prompt, pwhy = draw(prompts())
                case.kw["prompt"] = prompt
                note(pwhy)
        elif verb in ("upscale", "vary"):
            n = draw(numbers() | st.sampled_from(("subtle", "strong", "medium")))
            case.args = (task, n)
            ok = (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 4) or (
                verb == "vary" and n in ("subtle", "strong")
            )
            note(None if ok else f"n={n!r}")
        elif verb == "reroll":
            case.args = (task,)
        elif verb == "zoom_out":
            factor = draw(numbers())
            case.args = (task, factor)
            ok = isinstance(factor, (int, float)) and not isinstance(factor, bool) and 1 <= factor <= 2
            note(None if ok else f"factor={factor!r}")
        elif verb == "pan":
            direction = draw(st.sampled_from(("left", "right", "up", "down", "LEFT", "", None, 5, "diagonal")))
            case.args = (task, direction)
            note(None if direction in ("left", "right", "up", "down") else f"direction={direction!r}")
        elif verb == "inpaint":
            mask, mwhy = draw(masks(size))
            case.args = (task, mask)
            note(mwhy if not isinstance(task, str) or why else None)
            if draw(st.booleans()):
                prompt, pwhy = draw(prompts())
                case.kw["prompt"] = prompt
                note(pwhy)
            if draw(st.booleans()):
                index = draw(st.sampled_from((0, 3, 4, -1, True, 1.0, None)))
                case.kw["index"] = index
                note(
                    None
                    if index is None or (isinstance(index, int) and not isinstance(index, bool) and 0 <= index <= 3)
                    else f"index={index!r}"
                )
        elif verb == "reposition":
            canvas = draw(
                st.sampled_from(
                    (
                        (1024, 1024),
                        (2048, 1024),
                        (0, 0),
                        (-5, 100),
                        (math.nan, 10),
                        (10**9, 10**9),
                        (100,),
                        "1024x1024",
                        None,
                    )
                )
            )
            box = draw(
                st.sampled_from(
                    (
                        (0, 0, 512, 512),
                        (512, 0, 512, 512),
                        (-1, 0, 10, 10),
                        (0, 0, 4096, 4096),
                        (0, 0, math.inf, 1),
                        (0, 0, 0, 0),
                        None,
                    )
                )
            )
            prompt, pwhy = draw(prompts())
            note(pwhy)
            case.args = (task, canvas, box, prompt)
            # A box may reach past the canvas's edges (that part is cropped): see mjnb.images.check_canvas.
            if (
                canvas in ((0, 0), (-5, 100), (100,), "1024x1024", None)
                or box in ((0, 0, 0, 0), None)
                or canvas[0] != canvas[0]
                or canvas == (10**9, 10**9)
                or (isinstance(box, tuple) and len(box) == 4 and box[2] == math.inf)
            ):
                note(f"canvas={canvas!r} image_box={box!r}")
        if verb in ("action", "upscale", "vary", "reroll", "zoom_out", "pan", "inpaint") and draw(st.booleans()):
            url, uwhy = draw(urls(dialect, callback=True))
            if url is not None:
                case.kw["callback_url"] = url
                note(uwhy)
    if verb in ("imagine", "describe", "shorten", "blend", "edit", "retexture", "remove_bg") and draw(st.booleans()):
        url, why = draw(urls(dialect, callback=True))
        if url is not None:
            case.kw["callback_url"] = url
            note(why)
    case.bad = reasons[0] if reasons else None
    return case
