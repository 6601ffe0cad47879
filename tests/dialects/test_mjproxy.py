"""The midjourney-proxy dialect, table-driven from PROTOCOLS.md §3 and §6 (requests, answers, errors)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

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
from mjnb._models import ACTION_NAMES, Action, Page, Task, TaskStatus
from mjnb.dialects import Response, get_dialect, mjproxy

DATA = Path(__file__).parent / "data"
PNG = "data:image/png;base64,iVBORw0KGgo="
JPEG = "data:image/jpeg;base64,/9j/4AAQ"
HASH = "0ddb91a0-af46-4ae9-8e8e-c271074eb6e6"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def answer(status: int = 200, body=None, *, text: str | None = None, headers: dict | None = None) -> Response:
    content = text.encode() if text is not None else (b"" if body is None else json.dumps(body).encode())
    return Response(status, headers or {}, content)


@pytest.fixture
def dialect():
    return mjproxy.make()


def fetched(dialect, body: dict) -> Task:
    return dialect.parse("get", dialect.prepare("get", task_id=str(body["id"])), answer(200, body))


def grid_task(dialect) -> Task:
    return fetched(dialect, recorded("proxy_fetch_imagine_success.json"))


def upscaled_task(dialect) -> Task:
    """A finished UPSCALE with the single-image button set of §3.7 (V7)."""
    buttons = [
        f"MJ::JOB::upsample_v7_2x_subtle::1::{HASH}::SOLO",
        f"MJ::JOB::upsample_v7_2x_creative::1::{HASH}::SOLO",
        f"MJ::JOB::low_variation::1::{HASH}::SOLO",
        f"MJ::JOB::high_variation::1::{HASH}::SOLO",
        f"MJ::Inpaint::1::{HASH}::SOLO",
        f"MJ::Outpaint::50::1::{HASH}::SOLO",
        f"MJ::Outpaint::75::1::{HASH}::SOLO",
        f"MJ::CustomZoom::1::{HASH}",
        f"MJ::JOB::pan_left::1::{HASH}::SOLO",
        f"MJ::JOB::pan_right::1::{HASH}::SOLO",
        f"MJ::JOB::pan_up::1::{HASH}::SOLO",
        f"MJ::JOB::pan_down::1::{HASH}::SOLO",
        f"MJ::JOB::animate_high::1::{HASH}::SOLO",
        f"MJ::JOB::animate_low::1::{HASH}::SOLO",
        f"MJ::JOB::reroll::0::{HASH}::SOLO",
    ]
    body = {
        "id": "1748339100000123",
        "action": "UPSCALE",
        "status": "SUCCESS",
        "progress": "100%",
        "prompt": "dog playing ball --v 7",
        "imageUrl": "https://cdn.example/up.png",
        "buttons": [{"customId": c, "emoji": "", "label": "", "type": 2, "style": 2} for c in buttons],
    }
    return fetched(dialect, body)


# -- the dialect object -------------------------------------------------------------------------
def test_registry_builds_it_with_the_documented_defaults():
    made = get_dialect("mjproxy")
    assert made.name == "mjproxy"
    assert made.mask_format == "png_data_url"
    assert made.poll_interval == 2.0
    assert made.operations == {
        "imagine",
        "action",
        "modal",
        "blend",
        "describe",
        "shorten",
        "edit",
        "get",
        "get_many",
        "list",
        "seed",
        "cancel",
    }
    assert (made.batch_size, made.max_concurrent, made.nonce_field, made.supports_stream) == (100, 3, "state", False)


def test_the_key_travels_in_mj_api_secret_only(dialect):
    request = dialect.prepare("get", task_id="1")
    assert dialect.auth_headers("s3cret", request) == {"mj-api-secret": "s3cret"}
    assert dialect.auth_headers("", request) == {}
    assert "s3cret" not in repr(dialect) and "s3cret" not in repr(request)


@pytest.mark.parametrize("op", ["inpaint", "reposition"])
def test_single_step_canvas_ops_are_not_offered(dialect, op):
    with pytest.raises(UnsupportedOperation) as caught:
        dialect.prepare(op, task=grid_task(dialect))
    assert caught.value.dialect == "mjproxy" and caught.value.operation == op
    with pytest.raises(UnsupportedOperation):
        dialect.parse(op, dialect.prepare("get", task_id="1"), answer(200, {}))


# -- requests --------------------------------------------------------------------------------------
REQUESTS = [
    (
        "imagine plain",
        {},
        "imagine",
        dict(prompt="a cat --ar 3:2"),
        "POST",
        "/mj/submit/imagine",
        {"prompt": "a cat --ar 3:2"},
    ),
    (
        "imagine with images, niji, hook and state",
        {},
        "imagine",
        dict(
            prompt="a cat",
            images=("https://img.example/a.png", PNG, JPEG),
            bot="niji",
            callback_url="https://hook.example/mj",
            options={"state": "run-7"},
        ),
        "POST",
        "/mj/submit/imagine",
        {
            "prompt": "https://img.example/a.png a cat",
            "base64Array": [PNG, JPEG],
            "botType": "NIJI_JOURNEY",
            "notifyHook": "https://hook.example/mj",
            "state": "run-7",
        },
    ),
    (
        "imagine bot mj",
        {},
        "imagine",
        dict(prompt="a cat", bot="mj"),
        "POST",
        "/mj/submit/imagine",
        {"prompt": "a cat", "botType": "MID_JOURNEY"},
    ),
    (
        "imagine relax mode as prompt flag",
        {},
        "imagine",
        dict(prompt="a cat", mode="relax"),
        "POST",
        "/mj/submit/imagine",
        {"prompt": "a cat --relax"},
    ),
    (
        "imagine draft mode",
        {},
        "imagine",
        dict(prompt="a cat --fast", mode="draft"),
        "POST",
        "/mj/submit/imagine",
        {"prompt": "a cat --fast --draft"},
    ),
    (
        "imagine mode already in prompt",
        {},
        "imagine",
        dict(prompt="a cat --fast", mode="fast"),
        "POST",
        "/mj/submit/imagine",
        {"prompt": "a cat --fast"},
    ),
    (
        "imagine under the turbo prefix (trueai-org)",
        {"mode": "turbo"},
        "imagine",
        dict(prompt="a cat"),
        "POST",
        "/mj-turbo/mj/submit/imagine",
        {"prompt": "a cat"},
    ),
    (
        "blend",
        {},
        "blend",
        dict(images=(PNG, JPEG), dimensions="PORTRAIT", callback_url="http://hook.local/x"),
        "POST",
        "/mj/submit/blend",
        {"base64Array": [PNG, JPEG], "dimensions": "PORTRAIT", "notifyHook": "http://hook.local/x"},
    ),
    ("describe a data URL", {}, "describe", dict(image=PNG), "POST", "/mj/submit/describe", {"base64": PNG}),
    (
        "describe a link",
        {},
        "describe",
        dict(image="https://img.example/a.png", options={"language": "zh"}),
        "POST",
        "/mj/submit/describe",
        {"link": "https://img.example/a.png", "language": "zh"},
    ),
    (
        "shorten",
        {},
        "shorten",
        dict(prompt="a very very long prompt about a cat"),
        "POST",
        "/mj/submit/shorten",
        {"prompt": "a very very long prompt about a cat"},
    ),
    (
        "edit (trueai-org edits)",
        {},
        "edit",
        dict(image="https://img.example/a.png", mask=None, prompt="make it blue"),
        "POST",
        "/mj/submit/edits",
        {"prompt": "make it blue", "image": "https://img.example/a.png"},
    ),
    ("get", {}, "get", dict(task_id="1689231405853400"), "GET", "/mj/task/1689231405853400/fetch", None),
    (
        "seed under the fast prefix",
        {"mode": "fast"},
        "seed",
        None,
        "GET",
        "/mj-fast/mj/task/1748339029401828/image-seed",
        None,
    ),
    ("cancel", {}, "cancel", dict(task_id="1689231405853400"), "POST", "/mj/task/1689231405853400/cancel", None),
    (
        "list everything",
        {},
        "list",
        dict(page=1, page_size=20, task_id=None, since=None, until=None, admin=False),
        "GET",
        "/mj/task/list",
        None,
    ),
    (
        "list one id",
        {},
        "list",
        dict(page=1, page_size=20, task_id="1748339029401828", since=None, until=None, admin=False),
        "POST",
        "/mj/task/list-by-condition",
        {"ids": ["1748339029401828"]},
    ),
]


@pytest.mark.parametrize(
    "settings, op, kw, method, path, body", [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS]
)
def test_requests(settings, op, kw, method, path, body):
    dialect = mjproxy.make(**settings)
    if kw is None:  # ops that take the task itself
        kw = dict(task=grid_task(dialect))
    request = dialect.prepare(op, **kw)
    assert (request.method, request.path, request.json) == (method, path, body)
    assert request.submit is (op not in ("get", "list", "seed", "cancel"))
    assert dict(request.params) == {}


def test_action_sends_the_buttons_custom_id(dialect):
    task = grid_task(dialect)
    request = dialect.prepare(
        "action", task=task, action=task.action("U2"), prompt=None, callback_url=None, options={"enableRemix": True}
    )
    assert (request.method, request.path) == ("POST", "/mj/submit/action")
    assert request.json == {
        "taskId": "1748339029401828",
        "customId": f"MJ::JOB::upsample::2::{HASH}",
        "enableRemix": True,
    }
    accepted = dialect.parse(
        "action", request, answer(200, {"code": 1, "description": "提交成功", "result": "1748339100000123"})
    )
    assert (accepted.id, accepted.status, accepted.kind, accepted.parent_id) == (
        "1748339100000123",
        TaskStatus.QUEUED,
        "UPSCALE",
        "1748339029401828",
    )
    assert accepted.prompt == "dog playing ball --v 7 --p m7318879261434052637"


@pytest.mark.parametrize("name, kind", [("V3", "VARIATION"), ("reroll", "IMAGINE")])
def test_action_predicts_the_kind_of_the_new_task(dialect, name, kind):
    task = grid_task(dialect)
    request = dialect.prepare("action", task=task, action=task.action(name))
    assert (
        dialect.parse("action", request, answer(200, {"code": 22, "description": "排队中", "result": "9"})).kind == kind
    )


def test_vary_region_is_an_action_then_a_modal(dialect):
    """§3.8: Inpaint answers 21 (a task awaiting input); the modal carries the mask."""
    parent = upscaled_task(dialect)
    region = parent.action("vary_region")
    opened = dialect.parse(
        "action",
        dataclasses.replace(dialect.prepare("action", task=parent, action=region, prompt="a red ball"), op="action"),
        answer(
            200,
            {
                "code": 21,
                "description": "Waiting for window confirm",
                "result": "1748339200000456",
                "properties": {"finalPrompt": "dog playing ball --v 7", "remix": True},
            },
        ),
    )
    assert (opened.id, opened.status, opened.kind, opened.final_prompt) == (
        "1748339200000456",
        TaskStatus.AWAITING_INPUT,
        "VARIATION",
        "dog playing ball --v 7",
    )
    modal = dialect.prepare("modal", task=opened, prompt="a red ball", mask=PNG, callback_url=None, options=None)
    assert (modal.method, modal.path, modal.submit) == ("POST", "/mj/submit/modal", True)
    assert modal.json == {"taskId": "1748339200000456", "prompt": "a red ball", "maskBase64": PNG}
    running = dialect.parse(
        "modal", modal, answer(200, {"code": 1, "description": "提交成功", "result": "1748339200000456"})
    )
    assert (running.status, running.kind, running.prompt) == (TaskStatus.QUEUED, "VARIATION", "a red ball")


def test_a_modal_without_mask_or_prompt_keeps_the_parents_prompt(dialect):
    waiting = Task(id="77", dialect="mjproxy", status=TaskStatus.AWAITING_INPUT, kind="ZOOM", prompt="old")
    request = dialect.prepare("modal", task=waiting, prompt=None, mask=None)
    assert request.json == {"taskId": "77", "prompt": ""}


BAD_INPUT = [
    ("imagine", dict(prompt="  "), "prompt"),
    ("imagine", dict(prompt="a cat", images=("ftp://x/a.png",)), "images"),
    ("imagine", dict(prompt="a cat", images=("data:text/plain;base64,aGk=",)), "images"),
    ("imagine", dict(prompt="a cat", bot="dalle"), "bot"),
    ("imagine", dict(prompt="a cat", mode="slow"), "mode"),
    ("imagine", dict(prompt="a cat --relax", mode="fast"), "mode"),
    ("imagine", dict(prompt="a cat", callback_url="ftp://hook"), "callback_url"),
    ("imagine", dict(prompt="a cat", options={"seedless": 1}), "seedless"),
    ("imagine", dict(prompt="a cat", options={"state": "x" * 256}), "state"),
    ("imagine", dict(prompt="a cat", options={"state": 5}), "state"),
    ("blend", dict(images=(PNG,)), "images"),
    ("blend", dict(images=(PNG,) * 6), "images"),
    ("blend", dict(images=(PNG, "https://img.example/a.png")), "images"),
    ("blend", dict(images=(PNG, PNG), dimensions="WIDE"), "dimensions"),
    ("blend", dict(images=(PNG, PNG), options={"botType": "DALL_E"}), "botType"),
    ("describe", dict(image="cat.png"), "image"),
    ("shorten", dict(prompt=""), "prompt"),
    ("edit", dict(image=PNG, mask=PNG, prompt="blue"), "mask"),
    ("edit", dict(image="cat.png", mask=None, prompt="blue"), "image"),
    ("edit", dict(image=PNG, mask=None, prompt=" "), "prompt"),
    ("get", dict(task_id=""), "task_id"),
    ("get", dict(task_id="12/../34"), "task_id"),
    ("cancel", dict(task_id="a b"), "task_id"),
    ("list", dict(page=0, page_size=20), "page"),
    ("list", dict(page=1, page_size=101), "page_size"),
    ("list", dict(page=1, page_size=20, since=-1), "since"),
    ("list", dict(page=1, page_size=20, since=200.0, until=100.0), "until"),
    ("seed", dict(task="1748339029401828"), "task"),
]


@pytest.mark.parametrize(
    "op, kw, field", BAD_INPUT, ids=[f"{op}-{field}-{i}" for i, (op, _, field) in enumerate(BAD_INPUT)]
)
def test_bad_input_names_the_field(dialect, op, kw, field):
    with pytest.raises(ValidationError) as caught:
        dialect.prepare(op, **kw)
    assert caught.value.field == field
    assert field in str(caught.value)
    assert caught.value.status_code is None


def test_bad_follow_ups_name_the_field(dialect):
    task = grid_task(dialect)
    with pytest.raises(ValidationError, match="action") as caught:
        dialect.prepare("action", task=task, action=Action("U1", "U1"))
    assert caught.value.field == "action"
    foreign = task.evolve(dialect="acedata")
    with pytest.raises(ValidationError, match="acedata") as caught:
        dialect.prepare("action", task=foreign, action=task.action("U1"))
    assert caught.value.field == "task"
    with pytest.raises(ValidationError) as caught:
        dialect.prepare("action", task=task, action=task.action("U1"), options={"strong": "yes"})
    assert caught.value.field == "strong"
    with pytest.raises(ValidationError, match="awaiting input") as caught:
        dialect.prepare("modal", task=task, prompt="x", mask=PNG)
    assert caught.value.field == "task"
    waiting = task.evolve(status=TaskStatus.AWAITING_INPUT)
    with pytest.raises(ValidationError) as caught:
        dialect.prepare("modal", task=waiting, prompt="x", mask=JPEG)
    assert caught.value.field == "mask"


def test_an_unknown_mode_setting_is_refused():
    with pytest.raises(ValidationError) as caught:
        mjproxy.make(mode="warp")
    assert caught.value.field == "mode"


# -- submit answers (§3.4) ---------------------------------------------------------------------------
ANSWERS = recorded("proxy_submit_answers.json")
ACCEPTED = [(a["case"], a["body"], TaskStatus[a["status"]], a["image_url"]) for a in ANSWERS["accepted"]]


@pytest.mark.parametrize("body, status, image", [a[1:] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_accepted_submits(dialect, body, status, image):
    request = dialect.prepare("imagine", prompt="a cat")
    task = dialect.parse("imagine", request, answer(200, body))
    assert (task.id, task.dialect, task.status, task.kind, task.prompt) == (
        body["result"],
        "mjproxy",
        status,
        "IMAGINE",
        "a cat",
    )
    assert task.image_url == image
    assert task.progress == (100 if status is TaskStatus.SUCCEEDED else None)
    assert task.raw == body


ERRORS = {
    cls.__name__: cls for cls in (APIError, TaskNotFound, ValidationError, ServerError, RateLimitError, ModerationError)
}
REFUSED = [(r["case"], r["http_status"], r["body"], ERRORS[r["error"]], r["code"]) for r in ANSWERS["refused"]]


@pytest.mark.parametrize("status, body, error, code", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused_submits(dialect, status, body, error, code):
    with pytest.raises(APIError) as caught:
        dialect.parse("imagine", dialect.prepare("imagine", prompt="a cat"), answer(status, body))
    exc = caught.value
    assert type(exc) is error
    assert (exc.dialect, exc.status_code, exc.code, exc.body) == ("mjproxy", status, code, body)
    assert body["description"] in exc.message
    if error is ModerationError:
        assert exc.banned_word == "nude"


HTTP_ERRORS = [
    ("401 empty (novicezk)", 401, b"", {}, AuthenticationError, None),
    (
        "401 text (trueai-org)",
        401,
        b"Authorization header missing.",
        {},
        AuthenticationError,
        "Authorization header missing.",
    ),
    ("403 text", 403, "账号不可用".encode(), {}, AuthenticationError, "账号不可用"),
    ("429 with seconds", 429, b"", {"retry-after": "7"}, RateLimitError, None),
    (
        "429 with a past date",
        429,
        b"slow down",
        {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
        RateLimitError,
        "slow down",
    ),
    ("500", 500, b'{"code":9,"description":"boom"}', {}, ServerError, "boom"),
    ("502 html", 502, b"<html>Bad Gateway</html>", {}, ServerError, "<html>Bad Gateway</html>"),
    ("200 not json", 200, b"<html>login</html>", {}, ServerError, "HTTP 200"),
    ("200 empty", 200, b"", {}, ServerError, "submit result"),
    ("accepted without id", 200, b'{"code":1,"description":"ok","result":""}', {}, ServerError, "task id"),
    (
        "404 without a code (no such endpoint)",
        404,
        b'{"status":404,"error":"Not Found","path":"/mj/submit/imagine"}',
        {},
        APIError,
        "/mj/submit/imagine",
    ),
]


@pytest.mark.parametrize(
    "status, content, headers, error, text", [h[1:] for h in HTTP_ERRORS], ids=[h[0] for h in HTTP_ERRORS]
)
def test_http_errors(dialect, status, content, headers, error, text):
    with pytest.raises(APIError) as caught:
        dialect.parse("imagine", dialect.prepare("imagine", prompt="a cat"), Response(status, headers, content))
    exc = caught.value
    assert type(exc) is error
    assert (exc.dialect, exc.status_code) == ("mjproxy", status)
    if text:
        assert text in str(exc)
    if status == 429:
        assert exc.retry_after == (7.0 if headers["retry-after"] == "7" else 0.0)


# -- task objects (§3.5, §6.2–§6.6) --------------------------------------------------------------------
def test_the_recorded_fetch_example(dialect):
    body = recorded("proxy_fetch_imagine_success.json")
    task = fetched(dialect, body)
    assert (task.id, task.dialect, task.status, task.raw_status, task.kind) == (
        "1748339029401828",
        "mjproxy",
        TaskStatus.SUCCEEDED,
        "SUCCESS",
        "IMAGINE",
    )
    assert task.progress == 100
    assert task.prompt == "dog playing ball --v 7 --p m7318879261434052637"
    assert task.final_prompt == "dog playing ball --v 7.0 --p 77724z8"
    assert task.image_url == body["imageUrl"] and task.preview_url is None
    assert task.size == (2048, 2048)
    assert (task.submitted_at, task.started_at, task.finished_at) == (1748339029.401, 1748339030.665, 1748339072.775)
    assert task.fail_reason is None and task.texts == () and task.image_urls == ()
    assert task.action_names == ("U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4", "reroll")
    u2 = task.action("U2")
    assert (u2.label, u2.index, dict(u2.native), u2.needs_input) == (
        "U2",
        1,
        {"customId": f"MJ::JOB::upsample::2::{HASH}"},
        False,
    )
    v4 = task.action("V4")
    assert (v4.index, v4.native["customId"]) == (3, f"MJ::JOB::variation::4::{HASH}")
    assert task.action("reroll").native["customId"] == f"MJ::JOB::reroll::0::{HASH}::SOLO"
    assert task.raw == body


def test_the_upscaled_button_set_in_unified_order(dialect):
    task = upscaled_task(dialect)
    expected = (
        "upscale_subtle",
        "upscale_creative",
        "vary_subtle",
        "vary_strong",
        "vary_region",
        "zoom_out_2x",
        "zoom_out_1.5x",
        "custom_zoom",
        "pan_left",
        "pan_right",
        "pan_up",
        "pan_down",
        "reroll",
    )
    assert set(task.action_names) == set(expected)
    assert list(task.action_names) == sorted(expected, key=ACTION_NAMES.index)
    assert sum("animate" in b["customId"] for b in task.raw["buttons"]) == 2
    assert "animate" not in " ".join(task.action_names)


BUTTON_TABLE = recorded("proxy_buttons.json")
BUTTONS = [
    (b["customId"], b["name"], b["label"], b["index"], b["params"], b["needs_input"]) for b in BUTTON_TABLE["unified"]
]
IGNORED_BUTTONS = BUTTON_TABLE["ignored"]


@pytest.mark.parametrize(
    "custom_id, name, label, index, params, needs_input", BUTTONS, ids=[b[1] + ":" + b[0][:28] for b in BUTTONS]
)
def test_buttons_become_actions(dialect, custom_id, name, label, index, params, needs_input):
    task = fetched(
        dialect,
        {
            "id": "5",
            "status": "SUCCESS",
            "imageUrl": "https://cdn.example/5.png",
            "buttons": [{"customId": custom_id, "label": "", "emoji": ""}],
        },
    )
    assert task.actions == (Action(name, label, index, params, {"customId": custom_id}, needs_input),)


@pytest.mark.parametrize("custom_id", IGNORED_BUTTONS)
def test_other_buttons_stay_in_raw_only(dialect, custom_id):
    task = fetched(dialect, {"id": "5", "status": "SUCCESS", "buttons": [{"customId": custom_id}]})
    assert task.actions == ()
    assert task.raw["buttons"] == [{"customId": custom_id}]


STATES = [
    ("not started", {"status": "NOT_START", "progress": ""}, TaskStatus.QUEUED, None),
    ("submitted", {"status": "SUBMITTED", "progress": "0%"}, TaskStatus.QUEUED, 0),
    ("blank status", {"status": "", "progress": "0%"}, TaskStatus.QUEUED, 0),
    ("missing status", {}, TaskStatus.QUEUED, None),
    (
        "running",
        {"status": "IN_PROGRESS", "progress": "45%", "imageUrl": "https://cdn.example/p.webp"},
        TaskStatus.RUNNING,
        45,
    ),
    ("running with text progress", {"status": "IN_PROGRESS", "progress": "Waiting to start"}, TaskStatus.RUNNING, None),
    ("running fractional", {"status": "IN_PROGRESS", "progress": "12.5%"}, TaskStatus.RUNNING, 12),
    ("modal", {"status": "MODAL", "progress": "0%"}, TaskStatus.AWAITING_INPUT, 0),
    (
        "success without progress",
        {"status": "SUCCESS", "progress": "", "imageUrl": "https://cdn.example/1.png"},
        TaskStatus.SUCCEEDED,
        100,
    ),
    (
        "failure (novicezk blanks progress)",
        {"status": "FAILURE", "progress": "", "failReason": "任务超时"},
        TaskStatus.FAILED,
        None,
    ),
    (
        "failure at 100% is still a failure",
        {"status": "FAILURE", "progress": "100%", "failReason": "[Invalid parameter] Invalid value"},
        TaskStatus.FAILED,
        100,
    ),
    (
        "cancelled by trueai-org's endpoint",
        {"status": "FAILURE", "progress": "", "failReason": "取消任务"},
        TaskStatus.CANCELLED,
        None,
    ),
    ("cancel status", {"status": "CANCEL", "progress": "30%"}, TaskStatus.CANCELLED, 30),
]


@pytest.mark.parametrize("fields, status, progress", [s[1:] for s in STATES], ids=[s[0] for s in STATES])
def test_status_and_progress(dialect, fields, status, progress):
    task = fetched(dialect, {"id": "1689231405853400", "action": "IMAGINE", **fields})
    assert (task.status, task.progress) == (status, progress)
    assert task.raw_status == fields.get("status")
    assert task.fail_reason == (fields.get("failReason") or None)
    if fields.get("imageUrl") and not status.is_final:
        assert (task.preview_url, task.image_url) == (fields["imageUrl"], None)


def test_a_failed_task_keeps_no_result_image(dialect):
    task = fetched(
        dialect, {"id": "8", "status": "FAILURE", "imageUrl": "https://cdn.example/p.webp", "failReason": "boom"}
    )
    assert (task.image_url, task.preview_url) == (None, None)


def test_trueai_separate_images_and_size(dialect):
    task = fetched(
        dialect,
        {
            "id": "9",
            "action": "IMAGINE",
            "status": "SUCCESS",
            "imageUrl": "https://cdn.example/grid.png",
            "imageUrls": [
                {"url": f"https://cdn.example/{i}.png", "thumbnail": f"https://cdn.example/t{i}.png"} for i in range(4)
            ],
            "imageWidth": 1024,
            "imageHeight": 1536,
            "parentId": "8",
        },
    )
    assert task.image_urls == tuple(f"https://cdn.example/{i}.png" for i in range(4))
    assert (task.size, task.parent_id, task.image_url) == ((1024, 1536), "8", "https://cdn.example/grid.png")


def test_describe_result_texts(dialect):
    task = fetched(dialect, recorded("proxy_fetch_describe_success.json"))
    assert (task.kind, task.status) == ("DESCRIBE", TaskStatus.SUCCEEDED)
    assert task.texts == ("Cat --ar 5:4", "Cat2 --ar 5:4", "Cat3 --ar 5:4", "Cat4 --ar 5:4")


def test_describe_texts_from_trueai_prompt_en(dialect):
    task = fetched(
        dialect,
        {
            "id": "3",
            "action": "DESCRIBE",
            "status": "SUCCESS",
            "properties": {"finalPrompt": ""},
            "promptEn": "a cat on a mat\r\na cat in a hat\r\na dog\r\na bird",
        },
    )
    assert task.texts == ("a cat on a mat", "a cat in a hat", "a dog", "a bird")


def test_shorten_result_texts(dialect):
    final = (
        "## Important tokens\nlong, **cat**, hat\n\n## Shortened prompts\n1️⃣ cat hat\n\n2️⃣ cat in hat\n\n"
        "3️⃣ a cat wearing a hat\n\n4️⃣ cat, hat, long\n\n5️⃣ hat cat\n"
    )
    task = fetched(
        dialect,
        {
            "id": "4",
            "action": "SHORTEN",
            "status": "SUCCESS",
            "properties": {"finalPrompt": final},
            "buttons": [{"customId": "MJ::Job::PromptAnalyzer::1"}],
        },
    )
    assert task.texts == ("cat hat", "cat in hat", "a cat wearing a hat", "cat, hat, long", "hat cat")
    assert task.actions == ()


def test_an_imagine_prompt_with_keycaps_is_no_text_result(dialect):
    task = fetched(
        dialect, {"id": "4", "action": "IMAGINE", "status": "SUCCESS", "properties": {"finalPrompt": "1️⃣ cat"}}
    )
    assert task.texts == ()


@pytest.mark.parametrize("status, content", [(200, b""), (204, b""), (200, b"null")])
def test_an_unknown_task_is_an_empty_answer(dialect, status, content):
    with pytest.raises(TaskNotFound, match="1689231405853999") as caught:
        dialect.parse("get", dialect.prepare("get", task_id="1689231405853999"), Response(status, {}, content))
    assert (caught.value.status_code, caught.value.dialect) == (status, "mjproxy")


def test_get_refused_key(dialect):
    with pytest.raises(AuthenticationError):
        dialect.parse("get", dialect.prepare("get", task_id="1"), answer(401))


# -- seed, cancel, list --------------------------------------------------------------------------------
def test_seed(dialect):
    request = dialect.prepare("seed", task=grid_task(dialect))
    assert (
        dialect.parse("seed", request, answer(200, {"code": 1, "description": "成功", "result": "636646138"}))
        == "636646138"
    )


@pytest.mark.parametrize(
    "status, body, error",
    [
        (400, {"code": 4, "description": "关联任务状态错误"}, ValidationError),
        (404, {"code": 3, "description": "关联任务不存在或已失效"}, TaskNotFound),
    ],
)
def test_seed_errors(dialect, status, body, error):
    with pytest.raises(error) as caught:
        dialect.parse("seed", dialect.prepare("seed", task=grid_task(dialect)), answer(status, body))
    assert (caught.value.code, caught.value.status_code, caught.value.message) == (
        body["code"],
        status,
        body["description"],
    )


def test_cancel_answers_nothing(dialect):
    assert dialect.parse("cancel", dialect.prepare("cancel", task_id="1"), answer(200)) is None


def _listed(n: int) -> list[dict]:
    return [
        {
            "id": str(1000 + i),
            "action": "IMAGINE",
            "status": "SUCCESS",
            "prompt": f"cat {i}",
            "submitTime": (1_700_000_000 + i * 100) * 1000,
        }
        for i in range(n)
    ]


def test_list_pages_on_our_side(dialect):
    request = dialect.prepare("list", page=2, page_size=2, task_id=None, since=None, until=None, admin=False)
    request = dataclasses.replace(request, op="list")  # what the client does; the paging survives it
    page = dialect.parse("list", request, answer(200, _listed(5)))
    assert isinstance(page, Page)
    assert ([t.id for t in page.items], page.page, page.page_size, page.total) == (["1002", "1003"], 2, 2, 5)


def test_list_filters_by_submit_time(dialect):
    request = dialect.prepare("list", page=1, page_size=10, since=1_700_000_100, until=1_700_000_300)
    page = dialect.parse("list", request, answer(200, _listed(5)))
    assert ([t.id for t in page.items], page.total) == (["1001", "1002", "1003"], 3)


def test_list_by_condition_with_no_match(dialect):
    request = dialect.prepare("list", page=1, page_size=20, task_id="42")
    assert dialect.parse("list", request, answer(200, [])) == Page((), 1, 20, 0)


def test_list_must_be_an_array(dialect):
    with pytest.raises(ServerError, match="list of tasks"):
        dialect.parse("list", dialect.prepare("list"), answer(200, {"code": 1}))


@pytest.mark.parametrize(
    "op, offered_by", [("translate", ("acedata",)), ("retexture", ("evolink",)), ("remove_bg", ("evolink",))]
)
def test_acedata_and_evolink_only_ops_name_who_offers_them(dialect, op, offered_by):
    with pytest.raises(UnsupportedOperation) as caught:
        dialect.prepare(op, text="hola", image="https://c.example/a.png", prompt="jade", options={})
    assert (caught.value.dialect, caught.value.operation, caught.value.supported_by) == ("mjproxy", op, offered_by)
    assert offered_by[0] in str(caught.value)
