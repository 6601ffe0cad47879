"""The AceData dialect, table-driven from PROTOCOLS.md §2 and §6 (requests, answers, stream lines, errors)."""

from __future__ import annotations

import base64
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
from mjnb._models import Action, Page, Task, TaskStatus
from mjnb.dialects import Response, acedata, get_dialect

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode()
TASK_ID = "27a1128f-14b5-440e-a82d-510c81e6fcd4"
IMAGE_ID = "1211290228438868029"
GRID_ACTIONS = [
    "upscale1",
    "upscale2",
    "upscale3",
    "upscale4",
    "reroll",
    "variation1",
    "variation2",
    "variation3",
    "variation4",
]
UPSCALED_ACTIONS = [
    "upscale_2x",
    "upscale_4x",
    "variation_subtle",
    "variation_strong",
    "zoom_out_2x",
    "zoom_out_1_5x",
    "pan_left",
    "pan_right",
    "pan_up",
    "pan_down",
]

# §2.2 success response, literal.
IMAGINE_SUCCESS = {
    "success": True,
    "task_id": TASK_ID,
    "image_id": IMAGE_ID,
    "progress": 100,
    "image_url": "https://midjourney.cdn.acedata.cloud/attachments/x.png?ex=1&width=1024&height=1024",
    "image_width": 1024,
    "image_height": 1024,
    "raw_image_url": "https://midjourney.cdn.acedata.cloud/attachments/x.png?ex=1&",
    "raw_image_width": 2048,
    "raw_image_height": 2048,
    "actions": GRID_ACTIONS,
}
# §2.3 edits response, literal.
EDITS_SUCCESS = {
    "sub_image_urls": [f"https://cdn.midjourney.com/88e16dab-ef48-43a5-af73-bf24065287bc/0_{i}.png" for i in range(4)],
    "image_url": "https://storage.fonedis.cc/attachments/cat_sitting_table_88e16dab.png?ex=1",
    "image_width": 960,
    "image_height": 1200,
    "raw_image_url": "https://storage.fonedis.cc/attachments/raw.png?ex=1",
    "raw_image_width": 960,
    "raw_image_height": 1200,
    "progress": 100,
    "image_id": "1391372193836826624",
    "task_id": "26c39859-f54a-4998-9e42-3da96eceee8c",
    "success": True,
}
# §2.6 single task document, literal.
TASK_DOC = {
    "_id": "668aae3f550a4144a540803b",
    "id": "7489df4c-ef03-4de0-b598-e9a590793434",
    "application_id": "9dec7b2a-1cad-41ff-8536-d4ddaf2525d4",
    "created_at": 1720364607.967,
    "credential_id": "68253cc8-505d-47f4-97ad-0050a62e4975",
    "request": {"mode": "fast", "prompt": "A cat sitting on a table", "action": "generate"},
    "type": "imagine",
    "hold": False,
    "image_id": "1259525319472185344",
    "job_id": "da317da6-f500-48e6-bf32-dd48b3e6f84f",
    "response": {
        "image_url": "https://platform.cdn.acedata.cloud/midjourney/7489df4c.png?imageMogr2/thumbnail/!50p",
        "image_width": 1024,
        "image_height": 1024,
        "actions": GRID_ACTIONS,
        "raw_image_url": "https://platform.cdn.acedata.cloud/midjourney/7489df4c.png",
        "raw_image_width": 2048,
        "raw_image_height": 2048,
        "progress": 100,
        "image_id": "1259525319472185344",
        "task_id": "7489df4c-ef03-4de0-b598-e9a590793434",
        "success": True,
        "job_id": "da317da6-f500-48e6-bf32-dd48b3e6f84f",
        "hold": False,
    },
    "duration": 29.437000036239624,
    "finished_at": 1720364637.404,
}


def answer(status: int = 200, body=None, *, text: str | None = None, headers: dict | None = None) -> Response:
    content = text.encode() if text is not None else (b"" if body is None else json.dumps(body).encode())
    return Response(status, headers or {}, content)


@pytest.fixture
def dialect():
    return acedata.make()


def fetched(dialect, body) -> Task:
    request = dialect.prepare("get", task_id=str(body.get("id") or body.get("task_id") or "x"))
    return dialect.parse("get", request, answer(200, body))


def grid_task(dialect) -> Task:
    return fetched(dialect, TASK_DOC)


def upscaled_task(dialect) -> Task:
    doc = {
        **TASK_DOC,
        "id": "u-1",
        "request": {"action": "upscale2", "image_id": "1259525319472185344"},
        "response": {**TASK_DOC["response"], "image_id": "222", "actions": UPSCALED_ACTIONS, "task_id": "u-1"},
    }
    return fetched(dialect, doc)


# -- the module contract ------------------------------------------------------------------------------
def test_registry_builds_the_dialect_with_its_declared_traits():
    d = get_dialect("acedata")
    assert (d.name, d.mask_format, d.poll_interval, d.supports_stream) == ("acedata", "png_base64", 3.0, True)
    assert d.operations == {
        "imagine",
        "action",
        "inpaint",
        "edit",
        "blend",
        "describe",
        "shorten",
        "translate",
        "seed",
        "get",
        "get_many",
        "list",
    }
    assert (d.batch_size, d.max_concurrent, d.nonce_field) == (50, None, None)
    with pytest.raises(ValidationError) as err:
        get_dialect("acedata", mode="fast")
    assert err.value.field == "mode"


def test_auth_header_is_bearer_and_no_key_in_repr(dialect):
    request = dialect.prepare("get", task_id=TASK_ID)
    assert dialect.auth_headers("sk-secret", request) == {"authorization": "Bearer sk-secret"}
    assert "sk-secret" not in repr(dialect) and "sk-secret" not in repr(request)


@pytest.mark.parametrize("op", ["reposition", "cancel", "modal", "retexture", "remove_bg"])
def test_operations_acedata_lacks_are_unsupported(dialect, op):
    with pytest.raises(UnsupportedOperation) as err:
        dialect.prepare(op)
    assert err.value.dialect == "acedata" and err.value.operation == op
    assert "acedata" not in err.value.supported_by


def test_blend_is_an_imagine_with_the_image_urls(dialect):
    request = dialect.prepare(
        "blend",
        images=("https://a.example/1.png", "https://a.example/2.png"),
        dimensions="PORTRAIT",
        callback_url="https://hooks.example/ace",
    )
    assert (request.path, request.op, request.kind, request.submit) == ("/midjourney/imagine", "blend", "BLEND", True)
    assert request.json == {
        "action": "generate",
        "prompt": "https://a.example/1.png https://a.example/2.png --ar 2:3",
        "callback_url": "https://hooks.example/ace",
    }
    for images, allowed in [
        (("data:image/png;base64,AA", "https://a.example/2.png"), "http(s) URLs"),
        (("https://a.example/1.png",), "2 to 5"),
    ]:
        with pytest.raises(ValidationError) as err:
            dialect.prepare("blend", images=images, dimensions="SQUARE")
        assert err.value.field == "images" and allowed in str(err.value)


# -- requests -----------------------------------------------------------------------------------------
REQUESTS = [
    (
        "imagine plain",
        "imagine",
        dict(prompt="A cat sitting on a table"),
        "/midjourney/imagine",
        {"action": "generate", "prompt": "A cat sitting on a table", "async": True},
    ),
    (
        "imagine image URLs, mode, options",
        "imagine",
        dict(
            prompt="a cat",
            images=("https://a.example/1.png", "https://a.example/2.png"),
            mode="relax",
            options={
                "version": 6.1,
                "quality": 0.25,
                "split_images": True,
                "hd": False,
                "translation": True,
                "service_timeout": 300,
            },
        ),
        "/midjourney/imagine",
        {
            "action": "generate",
            "prompt": "https://a.example/1.png https://a.example/2.png a cat",
            "mode": "relax",
            "version": "6.1",
            "quality": ".25",
            "split_images": True,
            "hd": False,
            "translation": True,
            "timeout": 300,
            "async": True,
        },
    ),
    (
        "imagine with a callback needs no async flag",
        "imagine",
        dict(prompt="a cat", callback_url="https://hooks.example/ace"),
        "/midjourney/imagine",
        {"action": "generate", "prompt": "a cat", "callback_url": "https://hooks.example/ace"},
    ),
    (
        "imagine niji asks for it in the prompt",
        "imagine",
        dict(prompt="a fox", bot="niji"),
        "/midjourney/imagine",
        {"action": "generate", "prompt": "a fox --niji", "async": True},
    ),
    (
        "edit §2.3",
        "edit",
        dict(image="https://cdn.example/cat.png", prompt="a cat in a hat", mask=PNG_B64, options={"mode": "turbo"}),
        "/midjourney/edits",
        {
            "image_url": "https://cdn.example/cat.png",
            "prompt": "a cat in a hat",
            "mask": PNG_B64,
            "split_images": True,
            "mode": "turbo",
            "async": True,
        },
    ),
    (
        "edit without mask",
        "edit",
        dict(image="https://cdn.example/cat.png", prompt="brighter"),
        "/midjourney/edits",
        {"image_url": "https://cdn.example/cat.png", "prompt": "brighter", "split_images": True, "async": True},
    ),
    (
        "describe §2.4",
        "describe",
        dict(image="https://cdn.example/cat.png"),
        "/midjourney/describe",
        {"image_url": "https://cdn.example/cat.png"},
    ),
    (
        "shorten §2.4",
        "shorten",
        dict(prompt="a very long prompt about a cat"),
        "/midjourney/shorten",
        {"prompt": "a very long prompt about a cat"},
    ),
    (
        "translate §2.4",
        "translate",
        dict(text="精致，无暇，洁白的天使"),
        "/midjourney/translate",
        {"content": "精致，无暇，洁白的天使"},
    ),
    (
        "translate strips the text",
        "translate",
        dict(text="  bonjour le monde \n", options={}),
        "/midjourney/translate",
        {"content": "bonjour le monde"},
    ),
    ("get §2.6", "get", dict(task_id=TASK_ID), "/midjourney/tasks", {"action": "retrieve", "id": TASK_ID}),
    (
        "list page 3",
        "list",
        dict(page=3, page_size=12),
        "/midjourney/tasks",
        {"action": "retrieve_batch", "offset": 24, "limit": 12},
    ),
    (
        "list one id",
        "list",
        dict(page=1, page_size=20, task_id=TASK_ID),
        "/midjourney/tasks",
        {"action": "retrieve_batch", "offset": 0, "limit": 20, "ids": [TASK_ID]},
    ),
]


@pytest.mark.parametrize("label, op, kw, path, body", REQUESTS, ids=[r[0] for r in REQUESTS])
def test_requests(dialect, label, op, kw, path, body):
    request = dialect.prepare(op, **kw)
    assert (request.method, request.path, request.json) == ("POST", path, body)
    assert request.op == op
    assert request.submit is (op not in ("get", "list"))
    assert request.stream is False


def test_follow_up_requests_replay_the_native_action(dialect):
    grid, single = grid_task(dialect), upscaled_task(dialect)
    u2 = dialect.prepare("action", task=grid, action=grid.action("U2"))
    assert u2.json == {"action": "upscale2", "image_id": "1259525319472185344", "async": True}
    assert (u2.kind, u2.parent_id, u2.prompt) == ("UPSCALE", grid.id, "A cat sitting on a table")
    strong = dialect.prepare("action", task=single, action=single.action("vary_strong"), options={"mode": "fast"})
    assert strong.json == {"action": "variation_strong", "image_id": "222", "mode": "fast", "async": True}
    zoom = dialect.prepare("action", task=single, action=single.action("zoom_out_1.5x"))
    assert zoom.json["action"] == "zoom_out_1_5x"
    hand_built = dialect.prepare("action", task=single, action=Action("pan_up", "up"))
    assert hand_built.json == {"action": "pan_up", "image_id": "222", "async": True}


def test_inpaint_is_variation_region_with_the_mask(dialect):
    single = upscaled_task(dialect)
    request = dialect.prepare(
        "inpaint", task=single, index=None, mask=PNG_B64, prompt="a red hat", callback_url="https://hooks.example/x"
    )
    assert request.path == "/midjourney/imagine"
    assert request.json == {
        "action": "variation_region",
        "image_id": "222",
        "mask": PNG_B64,
        "prompt": "a red hat",
        "callback_url": "https://hooks.example/x",
    }
    assert request.kind == "INPAINT" and request.parent_id == "u-1"


def test_stream_requests_omit_async_and_ask_for_ndjson(dialect):
    request = dialect.prepare("imagine", prompt="a cat", stream=True)
    assert request.stream is True and request.submit is True
    assert request.headers["accept"] == "application/x-ndjson"
    assert request.json == {"action": "generate", "prompt": "a cat"}
    assert dialect.prepare("imagine", prompt="a cat").headers["accept"] == "application/json"
    assert dialect.prepare("describe", image="https://c.example/a.png", stream=False).stream is False


def test_seed_posts_the_image_id(dialect):
    request = dialect.prepare("seed", task=grid_task(dialect))
    assert (request.path, request.json, request.submit) == (
        "/midjourney/seed",
        {"image_id": "1259525319472185344"},
        False,
    )
    assert dialect.parse("seed", request, answer(200, {"seed": "1515630083539206144"})) == "1515630083539206144"


# -- refused before sending ------------------------------------------------------------------------------
def _running(dialect) -> Task:
    return fetched(dialect, {"id": "r-1", "request": {"action": "generate", "prompt": "x"}, "type": "imagine"})


BAD_INPUT = [
    ("mode draft", "imagine", dict(prompt="a cat", mode="draft"), "mode", "fast, relax, turbo"),
    (
        "mode contradicts options",
        "imagine",
        dict(prompt="a cat", mode="fast", options={"mode": "relax"}),
        "mode",
        "keep one",
    ),
    ("version", "imagine", dict(prompt="a cat", options={"version": "5"}), "version", "5.2, 6, 6.1, 7, 8, 8.1, 8.2"),
    ("quality", "imagine", dict(prompt="a cat", options={"quality": "3"}), "quality", ".25, .5, 1, 2, 4"),
    ("hd not bool", "imagine", dict(prompt="a cat", options={"hd": "yes"}), "hd", "true or false"),
    (
        "split_images not bool",
        "imagine",
        dict(prompt="a cat", options={"split_images": 1}),
        "split_images",
        "true or false",
    ),
    (
        "service_timeout",
        "imagine",
        dict(prompt="a cat", options={"service_timeout": 0}),
        "service_timeout",
        "from 1 to 480",
    ),
    (
        "timeout is wait's, not the service's",
        "imagine",
        dict(prompt="a cat", options={"timeout": 300}),
        "timeout",
        "service_timeout=",
    ),
    ("unknown option", "imagine", dict(prompt="a cat", options={"async": False}), "async", "allowed: mode"),
    ("empty prompt", "imagine", dict(prompt="  "), "prompt", "non-empty"),
    (
        "data URL image",
        "imagine",
        dict(prompt="a cat", images=("data:image/png;base64,AAAA",)),
        "images",
        "http(s) URLs",
    ),
    (
        "six image URLs",
        "imagine",
        dict(prompt="a cat", images=tuple(f"https://a.example/{i}.png" for i in range(6))),
        "images",
        "at most 5",
    ),
    ("bot", "imagine", dict(prompt="a cat", bot="dalle"), "bot", "'mj', 'niji'"),
    ("callback not a URL", "imagine", dict(prompt="a cat", callback_url="ftp://x/y"), "callback_url", "http(s) URL"),
    (
        "edit mask as data URL",
        "edit",
        dict(image="https://c.example/a.png", prompt="x", mask="data:image/png;base64," + PNG_B64),
        "mask",
        "no data: prefix",
    ),
    (
        "edit mask not a PNG",
        "edit",
        dict(image="https://c.example/a.png", prompt="x", mask=base64.b64encode(b"GIF89a" * 4).decode()),
        "mask",
        "PNG",
    ),
    ("edit image", "edit", dict(image="/tmp/a.png", prompt="x"), "image", "http(s) URL"),
    (
        "edit option",
        "edit",
        dict(image="https://c.example/a.png", prompt="x", options={"version": "7"}),
        "version",
        "allowed: mode, split_images, service_timeout, timeout, action",
    ),
    (
        "edit action other than generate",
        "edit",
        dict(image="https://c.example/a.png", prompt="x", options={"action": "upscale1"}),
        "action",
        "generate",
    ),
    (
        "shorten callback",
        "shorten",
        dict(prompt="a very long prompt", callback_url="https://h.example/"),
        "callback_url",
        "answers at once",
    ),
    (
        "describe callback",
        "describe",
        dict(image="https://c.example/a.png", callback_url="https://h.example/"),
        "callback_url",
        "answers at once",
    ),
    ("stream describe", "describe", dict(image="https://c.example/a.png", stream=True), "stream", "cannot stream"),
    ("translate empty text", "translate", dict(text="  "), "text", "non-empty"),
    ("translate text not a string", "translate", dict(text=["hola"]), "text", "non-empty"),
    ("translate option", "translate", dict(text="hola", options={"mode": "fast"}), "mode", "allowed: none"),
    ("stream translate", "translate", dict(text="hola", stream=True), "stream", "cannot stream"),
    ("get id with space", "get", dict(task_id="a b"), "task_id", "not a task id"),
    ("list page", "list", dict(page=0, page_size=10), "page", "≥ 1"),
    ("list page_size", "list", dict(page=1, page_size=500), "page_size", "1 to 100"),
    ("list admin", "list", dict(page=1, page_size=10, admin=True), "admin", "key owner"),
]


@pytest.mark.parametrize("label, op, kw, field, allowed", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_names_the_field_and_what_is_allowed(dialect, label, op, kw, field, allowed):
    with pytest.raises(ValidationError) as err:
        dialect.prepare(op, **kw)
    assert err.value.field == field
    assert allowed in str(err.value)
    assert err.value.status_code is None


def test_follow_ups_are_refused_on_unfinished_grids_and_wrong_images(dialect):
    with pytest.raises(ValidationError) as err:
        dialect.prepare("action", task=_running(dialect), action=Action("U1", "U1", index=0))
    assert err.value.field == "task" and "wait" in str(err.value)
    grid = grid_task(dialect)
    with pytest.raises(ValidationError) as err:
        dialect.prepare("inpaint", task=grid, index=2, mask=PNG_B64, prompt="x")
    assert err.value.field == "task" and "upscale first (U3)" in str(err.value)
    with pytest.raises(ValidationError) as err:
        dialect.prepare("inpaint", task=upscaled_task(dialect), index=1, mask=PNG_B64, prompt="x")
    assert err.value.field == "index"
    with pytest.raises(ValidationError) as err:
        dialect.prepare("action", task=grid, action=Action("remix", "remix"))
    assert err.value.field == "action" and "upscale1" not in str(err.value) and "U1" in str(err.value)
    single = upscaled_task(dialect)
    with pytest.raises(ValidationError) as err:
        dialect.prepare("action", task=single, action=single.action("vary_region"))
    assert err.value.field == "mask" and "inpaint" in str(err.value)


# -- answers ------------------------------------------------------------------------------------------
def test_async_submit_answer_is_queued_with_no_fake_progress(dialect):
    request = dialect.prepare("imagine", prompt="a cat")
    task = dialect.parse("imagine", request, answer(200, {"task_id": "b8b7fdc2-628e-40dd-bc0c-671c3ddac9e9"}))
    assert (task.id, task.status, task.progress, task.kind, task.prompt) == (
        "b8b7fdc2-628e-40dd-bc0c-671c3ddac9e9",
        TaskStatus.QUEUED,
        None,
        "IMAGINE",
        "a cat",
    )
    assert task.dialect == "acedata" and not task.actions


def test_blocking_success_answer_literal_2_2(dialect):
    task = dialect.parse("imagine", dialect.prepare("imagine", prompt="a cat"), answer(200, IMAGINE_SUCCESS))
    assert task.status is TaskStatus.SUCCEEDED and task.progress == 100
    assert task.image_url == IMAGINE_SUCCESS["raw_image_url"]  # full resolution
    assert task.preview_url == IMAGINE_SUCCESS["image_url"]  # the thumbnail
    assert task.size == (2048, 2048) and task.image_id == IMAGE_ID and task.image_urls == ()
    assert task.action_names == ("U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4", "reroll")
    u3 = task.action("U3")
    assert (u3.index, dict(u3.native)) == (2, {"action": "upscale3", "image_id": IMAGE_ID})
    assert task.action("V1").kind == "variation" and "vary_region" not in task.action_names


def test_edits_answer_literal_2_3(dialect):
    request = dialect.prepare("edit", image="https://cdn.example/cat.png", prompt="cat")
    task = dialect.parse("edit", request, answer(200, EDITS_SUCCESS))
    assert task.status is TaskStatus.SUCCEEDED and task.kind == "EDIT" and task.prompt == "cat"
    assert task.image_urls == tuple(EDITS_SUCCESS["sub_image_urls"])
    assert task.image_url == EDITS_SUCCESS["raw_image_url"] and task.size == (960, 1200)
    assert task.image_id == "1391372193836826624" and task.actions == ()


def test_task_document_literal_2_6(dialect):
    task = grid_task(dialect)
    assert (task.id, task.status, task.kind, task.prompt) == (
        "7489df4c-ef03-4de0-b598-e9a590793434",
        TaskStatus.SUCCEEDED,
        "IMAGINE",
        "A cat sitting on a table",
    )
    assert (task.submitted_at, task.finished_at, task.started_at) == (1720364607.967, 1720364637.404, None)
    assert task.image_url.endswith("7489df4c.png") and task.preview_url.endswith("thumbnail/!50p")
    assert task.size == (2048, 2048) and task.image_id == "1259525319472185344"
    assert len(task.actions) == 9 and task.raw["_id"] == "668aae3f550a4144a540803b"


def test_an_upscaled_image_offers_vary_region_though_not_listed(dialect):
    task = upscaled_task(dialect)
    assert task.kind == "UPSCALE"
    assert task.action_names == (
        "upscale_2x",
        "upscale_4x",
        "vary_subtle",
        "vary_strong",
        "vary_region",
        "zoom_out_2x",
        "zoom_out_1.5x",
        "pan_left",
        "pan_right",
        "pan_up",
        "pan_down",
    )
    assert dict(task.action("vary_region").native) == {"action": "variation_region", "image_id": "222"}
    assert dict(task.action("pan_left").params) == {"direction": "left"}
    assert task.action("zoom_out_1.5x").native["action"] == "zoom_out_1_5x"


DOCS = [
    (
        "record without response",
        {"id": "p1", "created_at": 1720364607.5, "type": "imagine", "request": {"action": "generate", "prompt": "a"}},
        TaskStatus.QUEUED,
        None,
        None,
        None,
    ),
    ("ACE-MCP pending shape", {"id": "p2", "state": "", "response": {"data": []}}, TaskStatus.QUEUED, None, None, None),
    ("started, no progress", {"id": "p3", "started_at": 1720364608.0}, TaskStatus.RUNNING, None, None, None),
    (
        "response with progress, no success",
        {"id": "p4", "response": {"progress": 40, "image_url": "https://p.example/40.webp"}},
        TaskStatus.RUNNING,
        40,
        None,
        None,
    ),
    (
        "success with progress below 100",
        {"id": "p5", "response": {"success": True, "progress": 75, "actions": []}},
        TaskStatus.RUNNING,
        75,
        None,
        None,
    ),
    (
        "failure object",
        {
            "id": "f1",
            "response": {
                "success": False,
                "task_id": "f1",
                "error": {"code": "bad_request", "message": "Unrecognized argument(s): `-c`, `x`"},
            },
        },
        TaskStatus.FAILED,
        None,
        "bad_request",
        "Unrecognized argument(s): `-c`, `x`",
    ),
    (
        "failure as a plain string",
        {"id": "f2", "response": {"success": False, "error": "fetch failed"}},
        TaskStatus.FAILED,
        None,
        None,
        "fetch failed",
    ),
    (
        "error without success",
        {"id": "f3", "response": {"error": {"code": "forbidden", "message": "banned"}}},
        TaskStatus.FAILED,
        None,
        "forbidden",
        "banned",
    ),
    (
        "state failed",
        {"id": "f4", "state": "failed"},
        TaskStatus.FAILED,
        None,
        None,
        "the task failed with no reason given",
    ),
    ("state cancelled", {"id": "c1", "state": "cancelled"}, TaskStatus.CANCELLED, None, None, "the task was cancelled"),
    (
        "state canceled",
        {"id": "c2", "state": "canceled", "response": {"progress": 30}},
        TaskStatus.CANCELLED,
        30,
        None,
        "the task was cancelled",
    ),
    (
        "state complete",
        {"id": "s1", "state": "complete", "response": {"image_url": "https://i.example/a.png"}},
        TaskStatus.SUCCEEDED,
        100,
        None,
        None,
    ),
    (
        "state complete without an image",
        {"id": "s3", "state": "complete"},
        TaskStatus.FAILED,
        100,
        None,
        "finished without an image (moderated?)",
    ),
    (
        "success without an image",
        {"id": "s4", "response": {"success": True, "progress": 100, "actions": []}},
        TaskStatus.FAILED,
        100,
        None,
        "finished without an image (moderated?)",
    ),
    (
        "finished_at with an image, no success",
        {"id": "s2", "finished_at": 1720364637.4, "response": {"image_url": "https://i.example/a.png"}},
        TaskStatus.SUCCEEDED,
        100,
        None,
        None,
    ),
    (
        "finished_at and nothing else",
        {"id": "f5", "finished_at": 1720364637.4},
        TaskStatus.FAILED,
        None,
        None,
        "the task finished without a result or an error",
    ),
]


@pytest.mark.parametrize("label, doc, status, progress, code, reason", DOCS, ids=[d[0] for d in DOCS])
def test_derived_states_of_task_documents(dialect, label, doc, status, progress, code, reason):
    task = fetched(dialect, doc)
    assert (task.id, task.status, task.progress, task.error_code, task.fail_reason) == (
        doc["id"],
        status,
        progress,
        code,
        reason,
    )
    if status is not TaskStatus.SUCCEEDED:
        assert task.image_url is None and task.actions == ()


def test_a_running_document_shows_its_preview(dialect):
    task = fetched(dialect, {"id": "p4", "response": {"progress": 40, "image_url": "https://p.example/40.webp"}})
    assert task.preview_url == "https://p.example/40.webp" and task.size is None


def test_describe_and_shorten_answer_at_once_with_a_derived_id(dialect):
    request = dialect.prepare("describe", image="https://cdn.example/cat.png")
    body = {"descriptions": ["a cat --ar 75:44", "a kitten", "a feline", "a pet"]}
    first = dialect.parse("describe", request, answer(200, body))
    again = dialect.parse("describe", request, answer(200, body))
    other = dialect.parse("describe", request, answer(200, {"descriptions": ["a dog"]}))
    assert first.status is TaskStatus.SUCCEEDED and first.kind == "DESCRIBE" and first.progress == 100
    assert first.texts == tuple(body["descriptions"])
    assert first.id.startswith("describe-") and len(first.id) == len("describe-") + 16
    assert first.id == again.id != other.id
    traced = dialect.parse("describe", request, answer(200, {**body, "trace_id": "2cf86e86"}))
    assert traced.id == "2cf86e86"
    shorten = dialect.prepare("shorten", prompt="long prompt")
    short = dialect.parse("shorten", shorten, answer(200, {"prompts": ["a", "b", "c", "d", "e"]}))
    assert (
        short.texts == ("a", "b", "c", "d", "e") and short.id.startswith("shorten-") and short.prompt == "long prompt"
    )
    with pytest.raises(ServerError):
        dialect.parse("describe", request, answer(200, {"descriptions": "a cat"}))


def test_list_answer_is_a_page_with_the_server_count(dialect):
    request = dialect.prepare("list", page=2, page_size=2)
    page = dialect.parse("list", request, answer(200, {"items": [TASK_DOC, {"id": "p1"}], "count": 7}))
    assert isinstance(page, Page) and (page.page, page.page_size, page.total) == (2, 2, 7)
    assert [t.status for t in page.items] == [TaskStatus.SUCCEEDED, TaskStatus.QUEUED]
    window = dialect.prepare("list", page=1, page_size=10, since=1720364600.0, until=1720364700.0)
    filtered = dialect.parse("list", window, answer(200, {"items": [TASK_DOC, {"id": "p1"}], "count": 2}))
    assert [t.id for t in filtered.items] == [TASK_DOC["id"]] and filtered.total is None


@pytest.mark.parametrize(
    "response",
    [answer(200, {}), answer(200, text=""), answer(404, {"error": {"code": "not_found", "message": "no such task"}})],
)
def test_unknown_task_is_task_not_found(dialect, response):
    with pytest.raises(TaskNotFound):
        dialect.parse("get", dialect.prepare("get", task_id="missing"), response)


# -- NDJSON streaming (§2.2) ---------------------------------------------------------------------------
def _line(progress: int, actions: list, **extra) -> bytes:
    body = {
        "image_url": f"https://p.example/grid_0.webp?width=256&progress={progress}",
        "image_width": 256,
        "image_height": 256,
        "image_id": "1234558451443699803",
        "raw_image_url": f"https://p.example/raw_{progress}.png",
        "raw_image_width": 512,
        "raw_image_height": 512,
        "progress": progress,
        "actions": actions,
        "task_id": "49589d2c-0000",
        "success": True,
        **extra,
    }
    return json.dumps(body).encode()


def test_stream_lines_run_then_succeed(dialect):
    request = dialect.prepare("imagine", prompt="a cat", stream=True)
    first = dialect.parse_stream_line(request, _line(35, []))
    assert (first.status, first.progress, first.id, first.prompt) == (TaskStatus.RUNNING, 35, "49589d2c-0000", "a cat")
    assert first.preview_url.endswith("progress=35") and first.image_url is None and first.actions == ()
    second = dialect.parse_stream_line(request, _line(75, []))
    assert (second.status, second.progress) == (TaskStatus.RUNNING, 75)
    last = dialect.parse_stream_line(request, _line(100, GRID_ACTIONS))
    assert (last.status, last.progress, last.image_url) == (TaskStatus.SUCCEEDED, 100, "https://p.example/raw_100.png")
    assert last.size == (512, 512) and len(last.actions) == 9


@pytest.mark.parametrize(
    "line, error, code",
    [
        (
            {"success": False, "error": {"code": "forbidden", "message": "Sorry! Our AI moderators…"}},
            ModerationError,
            "forbidden",
        ),
        (
            {"success": False, "error": {"code": "bad_request", "message": "prompt is required"}},
            ValidationError,
            "bad_request",
        ),
        (
            {"success": False, "error": {"code": "timeout", "message": "Timeout to generate the image."}},
            ServerError,
            "timeout",
        ),
    ],
)
def test_a_failure_line_before_any_task_id_raises_its_error(dialect, line, error, code):
    request = dialect.prepare("imagine", prompt="a cat", stream=True)
    with pytest.raises(error) as err:
        dialect.parse_stream_line(request, json.dumps(line).encode())
    assert err.value.code == code and err.value.body == line
    assert err.value.job_may_exist is (code == "timeout")


def test_a_blocking_or_buffered_answer_to_a_stream_parses_too(dialect):
    request = dialect.prepare("imagine", prompt="a cat", stream=True)
    final = dialect.parse("imagine", request, answer(200, IMAGINE_SUCCESS))
    assert final.status is TaskStatus.SUCCEEDED and final.id == TASK_ID
    buffered = Response(200, {}, _line(35, []) + b"\n" + _line(100, GRID_ACTIONS) + b"\n")
    assert dialect.parse("imagine", request, buffered).status is TaskStatus.SUCCEEDED
    with pytest.raises(ServerError):
        dialect.parse_stream_line(request, b"<html>")


# -- errors (§2.7) ------------------------------------------------------------------------------------
TRACE = "2cf86e86-22a4-46e1-ac2f-032c0f2a4e89"
ERRORS = [
    (400, "bad_request", "The json payload is not valid to request the API", ValidationError),
    (400, "bad_request", "prompt is required", ValidationError),
    (400, "token_mismatched", "The specified token is not matched with API.", ValidationError),
    (400, "api_not_implemented", "The API is not implemented.", ValidationError),
    (401, "invalid_token", "The specified token is invalid or wrong.", AuthenticationError),
    (401, "token_expired", "token expired", AuthenticationError),
    (401, "no_token", "no token", AuthenticationError),
    (403, "disabled", "resource disabled", AuthenticationError),
    (
        403,
        "forbidden",
        "Sorry! Our Al moderators feel your prompt might be against our community standards.",
        ModerationError,
    ),
    (403, "used_up", "insufficient balance", RateLimitError),
    (429, "too_many_requests", "You have exceeded the rate limit.", RateLimitError),
    (500, "api_error", "Internal server error.", ServerError),
    (500, "api_error", "fetch failed", ServerError),
    (504, "timeout", "Timeout to generate the image.", ServerError),
    (418, "teapot", "odd", APIError),
]


@pytest.mark.parametrize("status, code, message, error", ERRORS, ids=[f"{e[0]}-{e[1]}" for e in ERRORS])
def test_error_envelopes(dialect, status, code, message, error):
    body = {"success": False, "error": {"code": code, "message": message}, "trace_id": TRACE}
    with pytest.raises(APIError) as err:
        dialect.parse("imagine", dialect.prepare("imagine", prompt="a cat"), answer(status, body))
    assert type(err.value) is error
    # the trace id AceData's support asks for: an attribute, and in the message a user pastes
    assert (err.value.status_code, err.value.code, err.value.message) == (status, code, f"{message} (trace_id {TRACE})")
    assert err.value.trace_id == TRACE and TRACE in str(err.value)
    assert err.value.dialect == "acedata" and err.value.body["trace_id"] == TRACE
    assert err.value.job_may_exist is (status == 504)


def test_error_details(dialect):
    request = dialect.prepare("imagine", prompt="a cat")
    with pytest.raises(ValidationError) as err:
        dialect.parse(
            "imagine",
            request,
            answer(400, {"success": False, "error": {"code": "bad_request", "message": "prompt is required"}}),
        )
    assert err.value.field == "prompt"
    with pytest.raises(RateLimitError) as err:
        dialect.parse(
            "imagine",
            request,
            answer(429, {"error": {"code": "too_many_requests", "message": "slow"}}, headers={"retry-after": "12"}),
        )
    assert err.value.retry_after == 12.0
    with pytest.raises(ValidationError) as err:  # error as a plain string (ACE-SDK tolerates it)
        dialect.parse("imagine", request, answer(400, {"success": False, "error": "prompt is required"}))
    assert err.value.message == "prompt is required" and err.value.code is None
    with pytest.raises(ServerError) as err:
        dialect.parse("imagine", request, answer(502, text="<html>Bad gateway</html>"))
    assert err.value.body == "<html>Bad gateway</html>"
    with pytest.raises(ModerationError):  # a 200 that refuses the job outright
        dialect.parse(
            "imagine", request, answer(200, {"success": False, "error": {"code": "forbidden", "message": "no"}})
        )
    with pytest.raises(ServerError):
        dialect.parse("imagine", request, answer(200, ["not", "an", "object"]))


def test_a_failed_job_answered_with_its_task_id_is_a_failed_task(dialect):
    request = dialect.prepare("imagine", prompt="a cat", callback_url="https://h.example/cb")
    body = {
        "success": False,
        "task_id": "7ba0feaf-d20b-4c22-a35a-31ec30fc7715",
        "error": {"code": "bad_request", "message": "Unrecognized argument(s): `-c`, `x`"},
    }
    task = dialect.parse("imagine", request, answer(200, body))
    assert (task.status, task.error_code, task.fail_reason) == (
        TaskStatus.FAILED,
        "bad_request",
        "Unrecognized argument(s): `-c`, `x`",
    )


# §2.4 translate answers at once with one string; a Task gets it as its only text.
TRANSLATE_ANSWERS = [
    (
        "literal §2.4",
        {"content": "Exquisite, flawless, pure white angel"},
        ("Exquisite, flawless, pure white angel",),
        "translate-",
    ),
    ("padded text is stripped", {"content": "  A white angel \n"}, ("A white angel",), "translate-"),
    ("a trace id is the task id", {"content": "An angel", "trace_id": "2cf86e86"}, ("An angel",), "2cf86e86"),
    ("a list is taken as it is", {"content": ["An angel"]}, ("An angel",), "translate-"),
]


@pytest.mark.parametrize("label, body, texts, id_prefix", TRANSLATE_ANSWERS, ids=[t[0] for t in TRANSLATE_ANSWERS])
def test_translate_answers_at_once_with_one_text(dialect, label, body, texts, id_prefix):
    request = dialect.prepare("translate", text="精致，无暇，洁白的天使", options={})
    task = dialect.parse("translate", request, answer(200, body))
    assert (task.status, task.kind, task.progress, task.texts) == (TaskStatus.SUCCEEDED, "TRANSLATE", 100, texts)
    assert task.id.startswith(id_prefix) and task.prompt == "精致，无暇，洁白的天使"
    assert task.dialect == "acedata" and task.image_url is None and task.actions == ()
    if id_prefix == "translate-":  # derived from the exchange: stable, and distinct per answer
        assert len(task.id) == len("translate-") + 16
        assert dialect.parse("translate", request, answer(200, body)).id == task.id


@pytest.mark.parametrize(
    "label, status, body, error",
    [
        ("no content", 200, {}, ServerError),
        ("content not text", 200, {"content": 42}, ServerError),
        (
            "§2.7 bad_request",
            400,
            {"success": False, "error": {"code": "bad_request", "message": "content is required"}},
            ValidationError,
        ),
        ("§2.7 used_up", 403, {"success": False, "error": {"code": "used_up", "message": "balance"}}, RateLimitError),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_translate_bad_answers_raise(dialect, label, status, body, error):
    request = dialect.prepare("translate", text="hola")
    with pytest.raises(error):
        dialect.parse("translate", request, answer(status, body))
