"""The EvoLink dialect, table-driven from PROTOCOLS.md §1 and §6 (requests, answers, errors, callback rules)."""

from __future__ import annotations

import json

import pytest

from mjnb._errors import (
    APIError,
    AuthenticationError,
    ModerationError,
    RateLimitError,
    ServerError,
    TaskNotFound,
    UnsupportedOperation,
    ValidationError,
)
from mjnb._models import Action, Task, TaskStatus
from mjnb.dialects import Response, evolink, get_dialect

SOURCE = "task-unified-1757165031-mjv7"
AREAS = [{"width": 200, "height": 200, "points": [50, 50, 50, 250, 250, 250, 250, 50]}]  # §1.3 mask schema
# §1.3 mj-v7-edit request, literal.
EDIT_LITERAL = {
    "model": "mj-v7-edit",
    "prompt": "Beautiful mountain scenery background",
    "model_params": {
        "task_id": SOURCE,
        "image_number": 0,
        "canvas": {"width": 1024, "height": 1024},
        "img_pos": {"width": 512, "height": 512, "x": 256, "y": 256},
        "speed": "fast",
    },
    "callback_url": "https://your-domain.com/webhooks/image-task-completed",
}
# §1.4 create-task response, literal.
CREATED = {
    "created": 1757165031,
    "id": SOURCE,
    "model": "mj-v7-edit",
    "object": "image.generation.task",
    "progress": 0,
    "status": "pending",
    "task_info": {"can_cancel": True, "estimated_time": 45},
    "type": "image",
    "usage": {"billing_rule": "per_call", "credits_reserved": 1.8, "user_group": "default"},
}
# §1.5 completed (generic) and failed, literal.
COMPLETED = {
    "created": 1756817821,
    "id": "task-unified-1756817821-4x3rx6ny",
    "model": "gpt-4o-image",
    "object": "image.generation.task",
    "progress": 100,
    "results": ["http://example.com/image.jpg"],
    "status": "completed",
    "task_info": {"can_cancel": False},
    "type": "image",
}
FAILED = {
    "id": "task-unified-1772618027-cmeisy8h",
    "object": "image.generation.task",
    "status": "failed",
    "model": "gemini-3.1-flash-image-preview",
    "progress": 0,
    "error": {
        "code": "content_policy_violation",
        "message": "Content policy violation.\nYour request was blocked by safety filters...",
    },
}
FOUR = [f"https://media.evolink.ai/mj/{i}.png" for i in range(4)]


def answer(status: int = 200, body=None, *, text: str | None = None, headers: dict | None = None) -> Response:
    content = text.encode() if text is not None else (b"" if body is None else json.dumps(body).encode())
    return Response(status, headers or {}, content)


@pytest.fixture
def dialect():
    return evolink.make()


def submitted(dialect, prompt: str = "a lighthouse at dusk", **kw) -> Task:
    request = dialect.prepare("imagine", prompt=prompt, **kw)
    return dialect.parse("imagine", request, answer(200, {**CREATED, "model": "mj-v7", "id": SOURCE}))


def fetched(dialect, body: dict, known: Task | None = None) -> Task:
    """A GET answer parsed with what the caller knows of the task (the dialect itself keeps nothing)."""
    return dialect.parse("get", dialect.prepare("get", task_id=body["id"], task=known), answer(200, body))


def grid(dialect, results=FOUR, *, task_id: str = SOURCE, model: str = "mj-v7", known: Task | None = None) -> Task:
    return fetched(
        dialect,
        {"id": task_id, "status": "completed", "progress": 100, "model": model, "results": list(results)},
        known,
    )


# -- the module contract ------------------------------------------------------------------------------
def test_registry_builds_the_dialect_with_its_declared_traits():
    d = get_dialect("evolink")
    assert (d.name, d.mask_format, d.poll_interval) == ("evolink", "polygons", 3.0)
    assert d.operations == {"imagine", "action", "inpaint", "reposition", "edit", "retexture", "remove_bg", "get"}
    assert get_dialect("evolink", allow_insecure_callbacks=True).allow_insecure_callbacks is True
    with pytest.raises(ValidationError) as err:
        get_dialect("evolink", mode="fast")
    assert err.value.field == "mode"


def test_auth_header_is_bearer_and_no_key_in_repr(dialect):
    request = dialect.prepare("get", task_id=SOURCE)
    assert dialect.auth_headers("sk-evo-secret", request) == {"Authorization": "Bearer sk-evo-secret"}
    assert "sk-evo-secret" not in repr(dialect) + repr(request)


@pytest.mark.parametrize("op", ["list", "blend", "describe", "shorten", "translate", "seed", "cancel", "modal"])
def test_operations_evolink_lacks_are_unsupported(dialect, op):
    with pytest.raises(UnsupportedOperation) as err:
        dialect.prepare(op)
    assert (err.value.dialect, err.value.operation) == ("evolink", op)
    assert "evolink" not in err.value.supported_by


# -- requests -----------------------------------------------------------------------------------------
IMAGINES = [
    ("plain", dict(prompt="a lighthouse at dusk"), {"model": "mj-v7", "prompt": "a lighthouse at dusk"}),
    (
        "image URLs first, mode",
        dict(prompt="in watercolour", images=("https://i.example/a.png", "https://i.example/b.png"), mode="turbo"),
        {
            "model": "mj-v7",
            "prompt": "https://i.example/a.png https://i.example/b.png in watercolour",
            "model_params": {"speed": "turbo"},
        },
    ),
    (
        "--fast moves into speed",
        dict(prompt="a cat --fast --ar 3:2"),
        {"model": "mj-v7", "prompt": "a cat --ar 3:2", "model_params": {"speed": "fast"}},
    ),
    (
        "mode wins over a prompt flag",
        dict(prompt="a cat --turbo", mode="draft"),
        {"model": "mj-v7", "prompt": "a cat", "model_params": {"speed": "draft"}},
    ),
    (
        "options speed",
        dict(prompt="a cat", options={"speed": "draft"}),
        {"model": "mj-v7", "prompt": "a cat", "model_params": {"speed": "draft"}},
    ),
    (
        "two images and no text",
        dict(prompt="--ar 1:1", images=("https://i.example/a.png", "https://i.example/b.png")),
        {"model": "mj-v7", "prompt": "https://i.example/a.png https://i.example/b.png --ar 1:1"},
    ),
    (
        "callback",
        dict(prompt="a cat", callback_url="https://hooks.example.com/evo?token=abc"),
        {"model": "mj-v7", "prompt": "a cat", "callback_url": "https://hooks.example.com/evo?token=abc"},
    ),
]


@pytest.mark.parametrize("label, kw, body", IMAGINES, ids=[i[0] for i in IMAGINES])
def test_imagine_requests(dialect, label, kw, body):
    request = dialect.prepare("imagine", **kw)
    assert (request.method, request.path, request.json, request.submit) == (
        "POST",
        "/v1/images/generations",
        body,
        True,
    )
    assert request.kind == "mj-v7"


def test_reposition_is_mj_v7_edit_exactly_as_1_3(dialect):
    request = dialect.prepare(
        "reposition",
        task=grid(dialect),
        index=0,
        canvas=(1024, 1024),
        image_box=(256, 256, 512, 512),
        prompt="Beautiful mountain scenery background",
        callback_url="https://your-domain.com/webhooks/image-task-completed",
        options={"speed": "fast"},
    )
    assert (request.method, request.path, request.json) == ("POST", "/v1/images/generations", EDIT_LITERAL)
    assert request.parent_id == SOURCE
    plain = dialect.prepare(
        "reposition", task=grid(dialect), canvas=(1024, 768), image_box=(-10, 0, 600, 450), prompt="sea"
    )
    assert plain.json["model_params"] == {
        "task_id": SOURCE,
        "image_number": 0,
        "canvas": {"width": 1024, "height": 768},
        "img_pos": {"width": 600, "height": 450, "x": -10, "y": 0},
    }


def test_inpaint_sends_mask_areas(dialect):
    request = dialect.prepare("inpaint", task=grid(dialect), index=2, mask=AREAS, prompt="a red boat")
    assert request.json == {
        "model": "mj-v7-inpaint",
        "prompt": "a red boat",
        "model_params": {"task_id": SOURCE, "image_number": 2, "mask": {"areas": AREAS}},
    }
    wrapped = dialect.prepare("inpaint", task=grid(dialect), mask={"areas": AREAS}, prompt="x")
    assert wrapped.json["model_params"]["image_number"] == 0 and wrapped.json["model_params"]["mask"] == {
        "areas": AREAS
    }


def test_edit_is_upload_paint(dialect):
    request = dialect.prepare(
        "edit",
        image="https://i.example/room.png",
        mask=AREAS,
        prompt="a sofa",
        options={"canvas": (1024, 1024), "image_box": (0, 128, 1024, 768), "speed": "turbo"},
    )
    assert request.json == {
        "model": "mj-v7-upload-paint",
        "prompt": "a sofa",
        "image_urls": ["https://i.example/room.png"],
        "model_params": {
            "canvas": {"width": 1024, "height": 1024},
            "img_pos": {"width": 1024, "height": 768, "x": 0, "y": 128},
            "mask": {"areas": AREAS},
            "speed": "turbo",
        },
    }
    defaulted = dialect.prepare("edit", image="https://i.example/room.png", mask=AREAS, prompt="a sofa")
    assert defaulted.json["model_params"]["canvas"] == {"width": 200, "height": 200}  # the mask's reference size
    assert defaulted.json["model_params"]["img_pos"] == {"width": 200, "height": 200, "x": 0, "y": 0}


def _native(dialect, task, name, **kw):
    action = task.action(name) if isinstance(name, str) else name
    return dialect.prepare("action", task=task, action=action, **kw).json


def test_follow_up_models(dialect):
    task = grid(dialect)
    upscale = {"model": "mj-v7-upscale", "model_params": {"task_id": SOURCE, "image_number": 2, "type": "standard"}}
    assert _native(dialect, task, "U3") == upscale
    assert _native(dialect, task, "V2") == {
        "model": "mj-v7-variation",
        "model_params": {"task_id": SOURCE, "image_number": 1, "type": "strong"},
    }
    assert _native(dialect, task, Action("upscale_creative", "c", index=3))["model_params"]["type"] == "creative"
    assert _native(dialect, task, Action("vary_subtle", "s"))["model_params"] == {
        "task_id": SOURCE,
        "image_number": 0,
        "type": "subtle",
    }
    assert _native(dialect, task, "pan_right", options={"scale": 2, "image_number": 1}) == {
        "model": "mj-v7-pan",
        "model_params": {"task_id": SOURCE, "image_number": 1, "direction": "right", "scale": 2},
    }
    assert _native(dialect, task, "pan_up")["model_params"]["scale"] == 1.5
    assert _native(dialect, task, "zoom_out_2x") == {
        "model": "mj-v7-outpaint",
        "model_params": {"task_id": SOURCE, "image_number": 0, "scale": 2},
    }
    assert _native(dialect, task, "zoom_out_1.5x", prompt="more sky")["prompt"] == "more sky"
    assert _native(dialect, task, "custom_zoom", prompt="a lighthouse --zoom 1.3") == {
        "model": "mj-v7-outpaint",
        "prompt": "a lighthouse",
        "model_params": {"task_id": SOURCE, "image_number": 0, "scale": 1.3},
    }
    assert _native(dialect, task, "remix", prompt="at dawn", options={"speed": "turbo"}) == {
        "model": "mj-v7-remix",
        "prompt": "at dawn",
        "model_params": {"task_id": SOURCE, "image_number": 0, "mode": "strong", "speed": "turbo"},
    }
    edit = _native(
        dialect, task, "edit", prompt="sea", options={"canvas": (1024, 1024), "image_box": (256, 256, 512, 512)}
    )
    assert edit["model"] == "mj-v7-edit" and edit["model_params"]["img_pos"]["x"] == 256


def test_reroll_and_enhance_use_what_the_submit_knew(dialect):
    task = grid(dialect, known=submitted(dialect, "https://i.example/a.png a lighthouse --draft"))
    assert task.prompt == "https://i.example/a.png a lighthouse --draft"  # the speed kept as its flag
    assert "enhance" in task.action_names and "reroll" in task.action_names
    reroll = dialect.prepare("action", task=task, action=task.action("reroll"))
    assert reroll.json == {
        "model": "mj-v7",
        "prompt": "https://i.example/a.png a lighthouse",
        "model_params": {"speed": "draft"},
    }
    assert reroll.parent_id == SOURCE
    assert _native(dialect, task, "enhance", options={"image_number": 3}) == {
        "model": "mj-v7-enhance",
        "model_params": {"task_id": SOURCE, "image_number": 3},
    }


def test_get_request(dialect):
    request = dialect.prepare("get", task_id=SOURCE)
    assert (request.method, request.path, request.json, request.submit) == ("GET", f"/v1/tasks/{SOURCE}", None, False)


# -- refused before sending ------------------------------------------------------------------------------
BAD_IMAGINE = [
    ("--v", dict(prompt="a cat --v 7"), "prompt", "locked to version 7"),
    ("--version", dict(prompt="a cat --version 6.1"), "prompt", "--version"),
    ("--niji", dict(prompt="a cat --niji 6"), "prompt", "no niji"),
    ("8193 characters", dict(prompt="a" * 8193), "prompt", "at most 8192"),
    ("empty", dict(prompt=" "), "prompt", "non-empty"),
    ("only parameters", dict(prompt="--ar 3:2"), "prompt", "must contain text"),
    (
        "one image and no text",
        dict(prompt="--ar 1:1", images=("https://i.example/a.png",)),
        "prompt",
        "one image and no text",
    ),
    (
        "one image URL in the prompt and no text",
        dict(prompt="https://i.example/a.png"),
        "prompt",
        "one image and no text",
    ),
    (
        "21 images",
        dict(prompt="x", images=tuple(f"https://i.example/{i}.png" for i in range(21))),
        "images",
        "at most 20",
    ),
    ("data URL image", dict(prompt="x", images=("data:image/png;base64,AAAA",)), "images", "http(s) URLs"),
    ("--relax", dict(prompt="a cat --relax"), "prompt", "draft, fast and turbo"),
    ("two speeds", dict(prompt="a cat --fast --turbo"), "prompt", "keep one"),
    ("mode relax", dict(prompt="a cat", mode="relax"), "mode", "draft, fast, turbo"),
    ("mode contradicts options", dict(prompt="a cat", mode="fast", options={"speed": "turbo"}), "mode", "keep one"),
    ("unknown option", dict(prompt="a cat", options={"quality": "hd"}), "quality", "allowed: speed"),
    ("niji bot", dict(prompt="a cat", bot="niji"), "bot", "no niji"),
]


@pytest.mark.parametrize("label, kw, field, allowed", BAD_IMAGINE, ids=[b[0] for b in BAD_IMAGINE])
def test_prompt_rules(dialect, label, kw, field, allowed):
    with pytest.raises(ValidationError) as err:
        dialect.prepare("imagine", **kw)
    assert (err.value.field, err.value.status_code) == (field, None)
    assert allowed in str(err.value)


REFUSED_CALLBACKS = [
    "http://hooks.example.com/evo",
    "https://10.1.2.3/hook",
    "https://127.0.0.1/hook",
    "https://[::1]/hook",
    "https://localhost/hook",
    "https://api.localhost:8443/hook",
    "https://192.168.1.20/hook",
    "https://172.16.0.5/hook",
    "https://169.254.169.254/latest",
    "https://0.0.0.0/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[fe80::1]/hook",
    "https://2130706433/hook",
    "https://hooks.example.com/" + "a" * (2049 - len("https://hooks.example.com/")),
    "not a url",
]


@pytest.mark.parametrize("url", REFUSED_CALLBACKS)
def test_callback_rules_refuse(dialect, url):
    with pytest.raises(ValidationError) as err:
        dialect.prepare("imagine", prompt="a cat", callback_url=url + "?secret=s3cr3t")
    assert err.value.field == "callback_url" and "https URL of at most 2048 characters" in str(err.value)
    assert "s3cr3t" not in str(err.value)  # the host only is echoed


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/evo",
        "https://8.8.8.8/hook",
        "https://[2001:4860:4860::8888]/hook",
        "https://hooks.example.com/" + "a" * (2048 - len("https://hooks.example.com/")),
    ],
)
def test_callback_rules_allow_public_https(dialect, url):
    assert dialect.prepare("imagine", prompt="a cat", callback_url=url).json["callback_url"] == url


def test_insecure_callbacks_only_with_the_opt_out():
    relaxed = evolink.make(allow_insecure_callbacks=True)
    request = relaxed.prepare("imagine", prompt="a cat", callback_url="http://127.0.0.1:8765/cb")
    assert request.json["callback_url"] == "http://127.0.0.1:8765/cb"
    with pytest.raises(ValidationError):
        relaxed.prepare("imagine", prompt="a cat", callback_url="ftp://127.0.0.1/cb")


def _queued(dialect) -> Task:
    return submitted(dialect)


BAD_FOLLOW_UPS = [
    (
        "follow-up of a queued task",
        "action",
        lambda d: dict(task=_queued(d), action=Action("U1", "U1", index=0)),
        "task",
        "wait for it first",
    ),
    (
        "image beyond the results",
        "action",
        lambda d: dict(task=grid(d, FOUR[:2]), action=Action("U4", "U4", index=3)),
        "image_number",
        "has 2 image(s)",
    ),
    (
        "index and option disagree",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("U1"), options={"image_number": 2}),
        "image_number",
        "disagree",
    ),
    (
        "prompt on an upscale",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("U1"), prompt="x"),
        "prompt",
        "takes no prompt",
    ),
    (
        "remix without prompt",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("remix")),
        "prompt",
        "non-empty",
    ),
    (
        "remix mode",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("remix"), prompt="x", options={"mode": "wild"}),
        "mode",
        "strong, subtle",
    ),
    (
        "custom zoom without --zoom",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("custom_zoom"), prompt="x"),
        "prompt",
        "--zoom N",
    ),
    (
        "custom zoom too far",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("custom_zoom"), prompt="x --zoom 2.5"),
        "prompt",
        "1.1 to 2",
    ),
    (
        "pan scale",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("pan_left"), options={"scale": 5}),
        "scale",
        "1.1 to 3",
    ),
    (
        "option of another model",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("U2"), options={"scale": 2}),
        "scale",
        "allowed: image_number",
    ),
    (
        "vary_region through action",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("vary_region")),
        "mask",
        "inpaint",
    ),
    (
        "edit without canvas",
        "action",
        lambda d: dict(task=grid(d), action=grid(d).action("edit"), prompt="x"),
        "canvas",
        "reposition",
    ),
    (
        "reroll with unknown prompt",
        "action",
        lambda d: dict(task=grid(evolink.make()), action=Action("reroll", "r")),
        "prompt",
        "pass prompt=",
    ),
    (
        "foreign task",
        "action",
        lambda d: dict(task=Task("1", "mjproxy", TaskStatus.SUCCEEDED), action=Action("U1", "U1")),
        "task",
        "evolink",
    ),
    (
        "inpaint mask shape",
        "inpaint",
        lambda d: dict(task=grid(d), mask=[{"width": 10, "height": 10, "points": [1, 2]}], prompt="x"),
        "mask",
        "at least 3 points",
    ),
    ("inpaint without prompt", "inpaint", lambda d: dict(task=grid(d), mask=AREAS, prompt=None), "prompt", "non-empty"),
    (
        "canvas too small",
        "reposition",
        lambda d: dict(task=grid(d), canvas=(63, 512), image_box=(0, 0, 10, 10), prompt="x"),
        "canvas",
        "64 to 4096",
    ),
    (
        "canvas too large",
        "reposition",
        lambda d: dict(task=grid(d), canvas=(4097, 1024), image_box=(0, 0, 10, 10), prompt="x"),
        "canvas",
        "64 to 4096",
    ),
    (
        "canvas floats",
        "reposition",
        lambda d: dict(task=grid(d), canvas=(512.0, 512), image_box=(0, 0, 10, 10), prompt="x"),
        "canvas",
        "whole numbers",
    ),
    (
        "image box empty",
        "reposition",
        lambda d: dict(task=grid(d), canvas=(512, 512), image_box=(0, 0, 0, 10), prompt="x"),
        "image_box",
        "at least 1",
    ),
    (
        "image box shape",
        "reposition",
        lambda d: dict(task=grid(d), canvas=(512, 512), image_box=(0, 0, 10), prompt="x"),
        "image_box",
        "(x, y, width, height)",
    ),
    (
        "edit prompt length",
        "reposition",
        lambda d: dict(task=grid(d), canvas=(512, 512), image_box=(0, 0, 10, 10), prompt="p" * 8193),
        "prompt",
        "at most 8192",
    ),
    (
        "edit speed draft",
        "reposition",
        lambda d: dict(
            task=grid(d), canvas=(512, 512), image_box=(0, 0, 10, 10), prompt="x", options={"speed": "draft"}
        ),
        "speed",
        "fast, turbo",
    ),
    (
        "upload-paint without canvas or mask",
        "edit",
        lambda d: dict(image="https://i.example/a.png", prompt="x"),
        "canvas",
        "canvas=(width, height)",
    ),
    ("upload-paint local image", "edit", lambda d: dict(image="a.png", prompt="x", mask=AREAS), "image", "http(s)"),
    ("get id without prefix", "get", lambda d: dict(task_id="1757165031-mjv7"), "task_id", "task-unified-"),
    ("stream", "imagine", lambda d: dict(prompt="a cat", stream=True), "stream", "followed by polling"),
]


@pytest.mark.parametrize("label, op, make_kw, field, allowed", BAD_FOLLOW_UPS, ids=[b[0] for b in BAD_FOLLOW_UPS])
def test_follow_up_rules(dialect, label, op, make_kw, field, allowed):
    with pytest.raises(ValidationError) as err:
        dialect.prepare(op, **make_kw(dialect))
    assert err.value.field == field
    assert allowed in str(err.value)


# -- answers ------------------------------------------------------------------------------------------
def test_create_answer_literal_1_4(dialect):
    request = dialect.prepare(
        "reposition",
        task=grid(dialect),
        canvas=(1024, 1024),
        image_box=(256, 256, 512, 512),
        prompt="Beautiful mountain scenery background",
    )
    task = dialect.parse("reposition", request, answer(200, {**CREATED, "id": "task-unified-1757165099-edit0001"}))
    assert (task.id, task.status, task.kind, task.raw_status, task.progress) == (
        "task-unified-1757165099-edit0001",
        TaskStatus.QUEUED,
        "mj-v7-edit",
        "pending",
        0,
    )
    assert task.submitted_at == 1757165031.0 and task.parent_id == SOURCE
    assert task.prompt == "Beautiful mountain scenery background" and task.raw["usage"]["credits_reserved"] == 1.8


@pytest.mark.parametrize(
    "status, progress, expected, shown",
    [
        ("pending", 0, TaskStatus.QUEUED, 0),
        ("processing", 42, TaskStatus.RUNNING, 42),
        ("processing", 150, TaskStatus.RUNNING, 100),
        ("processing", -5, TaskStatus.RUNNING, 0),
        ("processing", None, TaskStatus.RUNNING, None),
        ("something-new", 10, TaskStatus.RUNNING, 10),
    ],
)
def test_status_and_progress(dialect, status, progress, expected, shown):
    body = {"id": SOURCE, "status": status, "model": "mj-v7", **({} if progress is None else {"progress": progress})}
    task = fetched(dialect, body)
    assert (task.status, task.progress, task.raw_status) == (expected, shown, status)
    assert task.actions == () and task.image_urls == ()


def test_completed_literal_1_5(dialect):
    task = fetched(dialect, COMPLETED)
    assert (task.status, task.progress, task.kind) == (TaskStatus.SUCCEEDED, 100, "gpt-4o-image")
    assert task.image_url == "http://example.com/image.jpg" and task.image_urls == ("http://example.com/image.jpg",)
    assert task.actions == ()  # not a Midjourney model
    assert task.submitted_at == 1756817821.0


def test_a_four_image_grid_has_no_grid_image(dialect):
    task = grid(dialect, known=submitted(dialect))
    assert task.image_url is None and task.image_urls == tuple(FOUR)
    assert task.prompt == "a lighthouse at dusk"
    assert task.action_names == (
        "U1",
        "U2",
        "U3",
        "U4",
        "V1",
        "V2",
        "V3",
        "V4",
        "reroll",
        "vary_region",
        "zoom_out_2x",
        "zoom_out_1.5x",
        "custom_zoom",
        "pan_left",
        "pan_right",
        "pan_up",
        "pan_down",
        "remix",
        "edit",
    )  # fast: no enhance
    u2 = task.action("U2")
    assert (u2.index, dict(u2.native)) == (
        1,
        {"model": "mj-v7-upscale", "model_params": {"task_id": SOURCE, "image_number": 1, "type": "standard"}},
    )
    assert task.action("pan_left").index is None and task.action("remix").needs_input
    assert task.action("custom_zoom").needs_input and not task.action("U1").needs_input


def test_moderation_may_leave_fewer_images(dialect):
    task = grid(dialect, FOUR[:1])
    assert task.image_url == FOUR[0] and task.action_names[:2] == ("U1", "V1") and "U2" not in task.action_names
    assert task.action("pan_left").index == 0


def test_an_upscale_offers_no_second_upscale(dialect):
    task = grid(dialect, FOUR[:1], task_id="task-unified-1757165040-upsc0001", model="mj-v7-upscale")
    assert task.image_url == FOUR[0]
    assert task.action_names == (
        "vary_region",
        "zoom_out_2x",
        "zoom_out_1.5x",
        "custom_zoom",
        "pan_left",
        "pan_right",
        "pan_up",
        "pan_down",
        "remix",
        "edit",
    )
    pan = dialect.prepare("action", task=task, action=task.action("pan_down"))
    assert pan.json["model_params"] == {
        "task_id": "task-unified-1757165040-upsc0001",
        "image_number": 0,
        "direction": "down",
        "scale": 1.5,
    }


def test_a_task_fetched_without_its_submit_lacks_what_only_the_request_knew():
    task = grid(evolink.make())
    assert task.prompt is None and "reroll" not in task.action_names and "enhance" not in task.action_names


def test_failed_literal_and_cancelled(dialect):
    task = fetched(dialect, FAILED)
    assert (task.status, task.error_code) == (TaskStatus.FAILED, "content_policy_violation")
    assert task.fail_reason.startswith("Content policy violation.") and task.progress == 0
    cancelled = fetched(dialect, {**FAILED, "error": {"code": "request_cancelled", "message": "cancelled"}})
    assert (cancelled.status, cancelled.error_code) == (TaskStatus.CANCELLED, "request_cancelled")
    bare = fetched(dialect, {"id": SOURCE, "status": "failed"})
    assert bare.fail_reason == "the task failed with no reason given" and bare.error_code is None
    assert fetched(dialect, {"id": SOURCE, "status": "cancelled"}).status is TaskStatus.CANCELLED


def test_follow_up_task_remembers_its_parent(dialect):
    task = grid(dialect)
    request = dialect.prepare("action", task=task, action=task.action("U1"))
    child = dialect.parse(
        "action", request, answer(200, {**CREATED, "id": "task-unified-1757165050-up000001", "model": "mj-v7-upscale"})
    )
    assert child.parent_id == SOURCE and child.kind == "mj-v7-upscale"
    later = fetched(dialect, {"id": child.id, "status": "processing", "progress": 50}, child)
    assert later.parent_id == SOURCE and later.kind == "mj-v7-upscale"  # model from the request when not echoed


# -- errors (§1.7) ------------------------------------------------------------------------------------
def _envelope(code, message, param=None, kind="invalid_request_error"):
    error = {"code": code, "message": message, "type": kind}
    if param:
        error["param"] = param
    return {"error": error}


ERRORS = [
    (
        "400 literal",
        400,
        _envelope("invalid_task_id", "Invalid task ID format, must start with 'task-unified-'", "task_id"),
        ValidationError,
        "invalid_task_id",
    ),
    (
        "400 numeric code",
        400,
        _envelope(400, "Invalid task ID format, must start with 'task-unified-'", "task_id"),
        ValidationError,
        400,
    ),
    ("401", 401, _envelope(401, "Invalid API key", kind="authentication_error"), AuthenticationError, 401),
    ("403", 403, _envelope("forbidden", "access denied"), AuthenticationError, "forbidden"),
    ("402", 402, _envelope(402, "insufficient balance", kind="insufficient_quota"), RateLimitError, 402),
    ("404", 404, _envelope("not_found", "task not found"), TaskNotFound, "not_found"),
    ("413", 413, _envelope(413, "Request too large. Compress images to under 4MB"), ValidationError, 413),
    ("429", 429, _envelope("rate_limit_exceeded", "slow down"), RateLimitError, "rate_limit_exceeded"),
    ("500", 500, _envelope(500, "internal error"), ServerError, 500),
    ("502", 502, _envelope(502, "upstream unavailable"), ServerError, 502),
    ("503", 503, _envelope(503, "temporarily unavailable", kind="model_unavailable"), ServerError, 503),
    (
        "400 content policy",
        400,
        _envelope("content_policy_violation", "blocked", kind="content_policy_violation"),
        ModerationError,
        "content_policy_violation",
    ),
    ("409 other", 409, _envelope("conflict", "odd"), APIError, "conflict"),
]


@pytest.mark.parametrize("label, status, body, error, code", ERRORS, ids=[e[0] for e in ERRORS])
def test_http_errors(dialect, label, status, body, error, code):
    with pytest.raises(APIError) as err:
        dialect.parse("get", dialect.prepare("get", task_id=SOURCE), answer(status, body))
    assert type(err.value) is error
    assert (err.value.status_code, err.value.code, err.value.dialect) == (status, code, "evolink")
    assert err.value.message == body["error"]["message"] and err.value.body == body


def test_error_details(dialect):
    request = dialect.prepare("get", task_id=SOURCE)
    with pytest.raises(ValidationError) as err:
        dialect.parse("get", request, answer(400, ERRORS[0][2]))
    assert err.value.field == "task_id"
    with pytest.raises(RateLimitError) as err:
        dialect.parse("get", request, answer(429, _envelope(429, "slow"), headers={"retry-after": "7"}))
    assert err.value.retry_after == 7.0
    with pytest.raises(ServerError) as err:
        dialect.parse("get", request, answer(502, text="<html>bad gateway</html>"))
    assert err.value.body == "<html>bad gateway</html>"
    with pytest.raises(ServerError):  # a 200 that carries only an error envelope
        dialect.parse(
            "imagine", dialect.prepare("imagine", prompt="x"), answer(200, _envelope("service_error", "boom"))
        )
    with pytest.raises(ServerError):
        dialect.parse("get", request, answer(200, {"status": "completed"}))


# -- §1.2 retexture and remove-bg: uploaded-image models, no source task ---------------------------------
PHOTO = "https://cdn.example.com/photo.png"
DATA_URL = "data:image/png;base64,iVBORw0KGgo="
UPLOADS = [
    (
        "retexture",
        "retexture",
        dict(image=PHOTO, prompt="carved in green jade"),
        {"model": "mj-v7-retexture", "prompt": "carved in green jade", "image_urls": [PHOTO]},
    ),
    (
        "retexture speed",
        "retexture",
        dict(image=PHOTO, prompt="jade", options={"speed": "turbo"}),
        {"model": "mj-v7-retexture", "prompt": "jade", "image_urls": [PHOTO], "model_params": {"speed": "turbo"}},
    ),
    (
        "retexture draft, callback, data URL",
        "retexture",
        dict(image=DATA_URL, prompt="jade", callback_url="https://hooks.example.com/evo", options={"speed": "draft"}),
        {
            "model": "mj-v7-retexture",
            "prompt": "jade",
            "image_urls": [DATA_URL],
            "model_params": {"speed": "draft"},
            "callback_url": "https://hooks.example.com/evo",
        },
    ),
    ("remove_bg", "remove_bg", dict(image=PHOTO), {"model": "mj-v7-remove-bg", "image_urls": [PHOTO]}),
    (
        "remove_bg callback, data URL",
        "remove_bg",
        dict(image=DATA_URL, callback_url="https://hooks.example.com/evo", options={}),
        {"model": "mj-v7-remove-bg", "image_urls": [DATA_URL], "callback_url": "https://hooks.example.com/evo"},
    ),
]


@pytest.mark.parametrize("label, op, kw, body", UPLOADS, ids=[u[0] for u in UPLOADS])
def test_retexture_and_remove_bg_requests(dialect, label, op, kw, body):
    request = dialect.prepare(op, **kw)
    assert (request.method, request.path, request.json) == ("POST", "/v1/images/generations", body)
    assert (request.op, request.submit, request.stream, request.parent_id) == (op, True, False, None)
    assert request.kind == body["model"]
    speed = body.get("model_params", {}).get("speed")
    assert request.prompt == (body.get("prompt") and " ".join([body["prompt"], *([f"--{speed}"] if speed else [])]))


BAD_UPLOADS = [
    ("retexture empty prompt", "retexture", dict(image=PHOTO, prompt=" "), "prompt", "non-empty"),
    ("retexture --v", "retexture", dict(image=PHOTO, prompt="jade --v 6"), "prompt", "locked to version 7"),
    ("retexture 8193 characters", "retexture", dict(image=PHOTO, prompt="a" * 8193), "prompt", "at most 8192"),
    (
        "retexture speed relax",
        "retexture",
        dict(image=PHOTO, prompt="jade", options={"speed": "relax"}),
        "speed",
        "draft, fast, turbo",
    ),
    (
        "retexture unknown option",
        "retexture",
        dict(image=PHOTO, prompt="jade", options={"quality": "hd"}),
        "quality",
        "allowed: speed",
    ),
    ("retexture image path", "retexture", dict(image="/tmp/a.png", prompt="jade"), "image", "http(s) URL"),
    ("retexture image list", "retexture", dict(image=[PHOTO, PHOTO], prompt="jade"), "image", "http(s) URL"),
    (
        "retexture http callback",
        "retexture",
        dict(image=PHOTO, prompt="jade", callback_url="http://h.example.com/x"),
        "callback_url",
        "https",
    ),
    ("remove_bg speed", "remove_bg", dict(image=PHOTO, options={"speed": "fast"}), "speed", "allowed: none"),
    ("remove_bg image path", "remove_bg", dict(image="/tmp/a.png"), "image", "http(s) URL"),
]


@pytest.mark.parametrize("label, op, kw, field, allowed", BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_retexture_and_remove_bg_rules(dialect, label, op, kw, field, allowed):
    with pytest.raises(ValidationError) as err:
        dialect.prepare(op, **kw)
    assert (err.value.field, err.value.status_code) == (field, None)
    assert allowed in str(err.value)


def test_remove_bg_takes_no_prompt(dialect):
    with pytest.raises(TypeError):
        dialect.prepare("remove_bg", image=PHOTO, prompt="x")


UPLOAD_ANSWERS = [
    # op, kw, model, results, image_url, prompt, first actions
    (
        "retexture",
        dict(image=PHOTO, prompt="jade", options={"speed": "fast"}),
        "mj-v7-retexture",
        FOUR,
        None,
        "jade --fast",
        ("U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"),
    ),
    ("remove_bg", dict(image=PHOTO), "mj-v7-remove-bg", FOUR[:1], FOUR[0], None, ()),
]


@pytest.mark.parametrize(
    "op, kw, model, results, image_url, prompt, actions", UPLOAD_ANSWERS, ids=[a[0] for a in UPLOAD_ANSWERS]
)
def test_retexture_and_remove_bg_answers(dialect, op, kw, model, results, image_url, prompt, actions):
    created = dialect.parse(op, dialect.prepare(op, **kw), answer(200, {**CREATED, "model": model}))
    assert (created.id, created.status, created.kind, created.prompt) == (SOURCE, TaskStatus.QUEUED, model, prompt)
    done = fetched(
        dialect,
        {"id": SOURCE, "status": "completed", "progress": 100, "model": model, "results": list(results)},
        created,
    )
    assert (done.status, done.kind, done.image_urls, done.image_url) == (
        TaskStatus.SUCCEEDED,
        model,
        tuple(results),
        image_url,
    )
    assert done.prompt == prompt and done.parent_id is None
    assert done.action_names[: len(actions)] == actions
    if not actions:
        assert done.actions == ()  # a cut-out offers no follow-ups
    else:
        assert "reroll" not in done.action_names and "enhance" not in done.action_names  # mj-v7 only
