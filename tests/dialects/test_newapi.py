"""The new-api dialect, table-driven from PROTOCOLS.md §4 (relay, rewrites, envelope errors, dashboard)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mjnb._errors import (
    APIError,
    AuthenticationError,
    RateLimitError,
    ServerError,
    TaskNotFound,
    UnsupportedOperation,
    ValidationError,
)
from mjnb._models import Page, Task, TaskStatus
from mjnb.dialects import Response, get_dialect, newapi

DATA = Path(__file__).parent / "data"
PNG = "data:image/png;base64,iVBORw0KGgo="


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def answer(status: int = 200, body=None, *, headers: dict | None = None) -> Response:
    return Response(status, headers or {}, b"" if body is None else json.dumps(body, ensure_ascii=False).encode())


@pytest.fixture
def dialect():
    return newapi.make()


def finished(dialect) -> Task:
    body = recorded("newapi_fetch_success.json")
    return dialect.parse("get", dialect.prepare("get", task_id=body["id"]), answer(200, body))


# -- the dialect object -------------------------------------------------------------------------
def test_registry_builds_it_with_the_documented_defaults():
    made = get_dialect("new-api")
    assert (made.name, made.mask_format, made.poll_interval) == ("newapi", "png_data_url", 5.0)
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
    }
    assert (made.batch_size, made.max_concurrent, made.nonce_field, made.user_id) == (100, 3, "state", "1")


def test_there_is_no_cancel(dialect):
    with pytest.raises(UnsupportedOperation) as caught:
        dialect.prepare("cancel", task_id="1")
    assert (caught.value.dialect, caught.value.operation) == ("newapi", "cancel")


@pytest.mark.parametrize(
    "mode, prefix", [(None, ""), ("fast", "/mj-fast"), ("relax", "/mj-relax"), ("Turbo", "/mj-turbo")]
)
def test_mode_prefixes_every_relay_path(mode, prefix):
    dialect = newapi.make(mode=mode)
    task = finished(dialect)
    assert dialect.prepare("imagine", prompt="a cat").path == f"{prefix}/mj/submit/imagine"
    assert dialect.prepare("action", task=task, action=task.action("U1")).path == f"{prefix}/mj/submit/action"
    assert dialect.prepare("get", task_id="17").path == f"{prefix}/mj/task/17/fetch"
    assert dialect.prepare("seed", task=task).path == f"{prefix}/mj/task/1726667730xxxxx0/image-seed"
    assert dialect.prepare("list").path == "/api/mj/self"  # the dashboard has no mode


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"mode": "slow"}, "mode"),
        ({"mode": 3}, "mode"),
        ({"user_id": "admin"}, "user_id"),
        ({"user_id": True}, "user_id"),
    ],
)
def test_bad_settings_name_the_field(settings, field):
    with pytest.raises(ValidationError) as caught:
        newapi.make(**settings)
    assert caught.value.field == field and field in str(caught.value)


def test_relay_and_dashboard_auth(dialect):
    relay = dialect.prepare("imagine", prompt="a cat")
    dashboard = dialect.prepare("list")
    assert dialect.auth_headers("sk-abc", relay) == {"Authorization": "Bearer sk-abc"}
    assert dialect.auth_headers("Bearer sk-abc", relay) == {"Authorization": "Bearer sk-abc"}
    assert dialect.auth_headers("tok123", dashboard) == {"Authorization": "tok123", "New-Api-User": "1"}
    # user_id=None: no header, for a server that names the user from an (administrator) token
    assert newapi.make(user_id=None).auth_headers("tok123", dashboard) == {"Authorization": "tok123"}
    assert newapi.make(user_id=42).auth_headers("tok123", dashboard) == {
        "Authorization": "tok123",
        "New-Api-User": "42",
    }
    assert "tok123" not in repr(newapi.make(user_id=42))


# -- relay requests are the proxy's ------------------------------------------------------------------
def test_relay_request_bodies(dialect):
    imagine = dialect.prepare(
        "imagine",
        prompt="a cat",
        images=(PNG,),
        bot="niji",
        mode="fast",
        callback_url="https://hook.example/x",
        options={"state": "s"},
    )
    assert (imagine.method, imagine.path, imagine.submit) == ("POST", "/mj/submit/imagine", True)
    assert imagine.json == {
        "prompt": "a cat --fast",
        "base64Array": [PNG],
        "botType": "NIJI_JOURNEY",
        "notifyHook": "https://hook.example/x",
        "state": "s",
    }
    task = finished(dialect)
    action = dialect.prepare("action", task=task, action=task.action("U1"))
    assert action.json == {"taskId": "1726667730xxxxx0", "customId": "MJ::JOB::upsample::1::bab70970-…"}
    edit = dialect.prepare("edit", image=PNG, mask=None, prompt="make it blue")
    assert (edit.path, edit.json) == ("/mj/submit/edits", {"prompt": "make it blue", "image": PNG})


# -- submit answers and new-api's rewrites (§4.3) -------------------------------------------------------
REWRITES = [
    (
        "22 rewritten to 1",
        {
            "code": 1,
            "description": "排队中，前面还有1个任务",
            "result": "1748339029401900",
            "properties": {"numberOfQueues": 1},
        },
        TaskStatus.QUEUED,
        None,
    ),
    (
        "existing finished task: 21 rewritten to 1",
        {
            "code": 1,
            "description": "任务已存在",
            "result": "1748339029401901",
            "properties": {"status": "SUCCESS", "imageUrl": "https://x.example/mj/image/1"},
        },
        TaskStatus.SUCCEEDED,
        "https://x.example/mj/image/1",
    ),
    (
        "remix modal: 21 rewritten to 1",
        {
            "code": 1,
            "description": "Waiting for window confirm",
            "result": "1748339029401902",
            "properties": {"finalPrompt": "a cat", "remix": True},
        },
        TaskStatus.AWAITING_INPUT,
        None,
    ),
    (
        "inpaint / custom zoom keep 21",
        {
            "code": 21,
            "description": "Waiting for window confirm",
            "result": "1748339029401903",
            "properties": {"finalPrompt": "a cat", "remix": True},
        },
        TaskStatus.AWAITING_INPUT,
        None,
    ),
]


@pytest.mark.parametrize("body, status, image", [r[1:] for r in REWRITES], ids=[r[0] for r in REWRITES])
def test_accepted_after_rewrites(dialect, body, status, image):
    parent = finished(dialect)
    request = dataclasses.replace(dialect.prepare("action", task=parent, action=parent.action("U1")), op="action")
    task = dialect.parse("action", request, answer(200, body))
    assert (task.id, task.dialect, task.status, task.image_url, task.parent_id) == (
        body["result"],
        "newapi",
        status,
        image,
        "1726667730xxxxx0",
    )


ENVELOPES = [
    (
        "parent not found",
        400,
        {"description": "task_not_found ", "type": "upstream_error", "code": 4},
        {},
        TaskNotFound,
        "the parent task is not known to new-api: task_not_found",
        None,
        None,
    ),
    (
        "quota",
        400,
        {"description": "quota_not_enough ", "type": "upstream_error", "code": 4},
        {},
        RateLimitError,
        "quota_not_enough",
        None,
        None,
    ),
    (
        "group saturated",
        429,
        {"description": "当前分组负载已饱和 ", "type": "upstream_error", "code": 30},
        {"retry-after": "12"},
        RateLimitError,
        "当前分组负载已饱和",
        None,
        12.0,
    ),
    (
        "code 30 without 429",
        400,
        {"description": "rate limited ", "type": "upstream_error", "code": 30},
        {"retry-after": "3"},
        RateLimitError,
        "rate limited",
        None,
        3.0,
    ),
    (
        "prompt missing",
        400,
        {"description": "prompt_is_required ", "type": "upstream_error", "code": 4},
        {},
        ValidationError,
        "prompt_is_required",
        "prompt",
        None,
    ),
    (
        "unknown action",
        400,
        {"description": "unknown_action:MJ::JOB::animate_low::1::h::SOLO ", "type": "upstream_error", "code": 4},
        {},
        ValidationError,
        "unknown_action:MJ::JOB::animate_low::1::h::SOLO",
        "action",
        None,
    ),
    (
        "parent unfinished",
        400,
        {"description": "task_status_not_success ", "type": "upstream_error", "code": 4},
        {},
        ValidationError,
        "task_status_not_success",
        "task",
        None,
    ),
    (
        "bad body",
        400,
        {"description": "bind_request_body_failed ", "type": "upstream_error", "code": 4},
        {},
        ValidationError,
        "bind_request_body_failed",
        None,
        None,
    ),
    (
        "upstream unreachable",
        400,
        {"description": "do_request_failed ", "type": "upstream_error", "code": 4},
        {},
        ServerError,
        "do_request_failed",
        None,
        None,
    ),
    (
        "unknown gateway error",
        400,
        {"description": "something_odd ", "type": "new_api_error", "code": 5},
        {},
        ServerError,
        "something_odd",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    "status, body, headers, error, message, field, retry", [e[1:] for e in ENVELOPES], ids=[e[0] for e in ENVELOPES]
)
def test_envelope_errors(dialect, status, body, headers, error, message, field, retry):
    with pytest.raises(APIError) as caught:
        dialect.parse("imagine", dialect.prepare("imagine", prompt="a cat"), answer(status, body, headers=headers))
    exc = caught.value
    assert type(exc) is error
    assert (exc.message, exc.code, exc.status_code, exc.dialect, exc.body) == (
        message,
        body["code"],
        status,
        "newapi",
        body,
    )
    if error is ValidationError:
        assert exc.field == field
    if error is RateLimitError:
        assert exc.retry_after == retry


def test_upstream_codes_pass_through(dialect):
    """Codes other than 1/21/22 reach the client unchanged (new-api only records them)."""
    with pytest.raises(RateLimitError) as caught:
        dialect.parse(
            "imagine",
            dialect.prepare("imagine", prompt="a cat"),
            answer(200, {"code": 23, "description": "队列已满，请稍后尝试", "result": ""}),
        )
    assert (caught.value.code, caught.value.dialect) == (23, "newapi")


@pytest.mark.parametrize(
    "status, body, message",
    [
        (401, {"error": {"message": "无效的令牌", "type": "new_api_error"}}, "无效的令牌"),
        (401, None, "HTTP 401"),
    ],
)
def test_relay_key_refused(dialect, status, body, message):
    with pytest.raises(AuthenticationError) as caught:
        dialect.parse("imagine", dialect.prepare("imagine", prompt="a cat"), answer(status, body))
    assert message in str(caught.value)
    assert (caught.value.status_code, caught.value.dialect) == (status, "newapi")


# -- task objects (§4.5) -------------------------------------------------------------------------------
def test_the_recorded_fetch_example(dialect):
    task = finished(dialect)
    assert (task.id, task.dialect, task.status, task.kind, task.progress) == (
        "1726667730xxxxx0",
        "newapi",
        TaskStatus.SUCCEEDED,
        "IMAGINE",
        100,
    )
    assert task.image_url == "https://<server>/mj/image/1726667730xxxxx0"
    assert (task.prompt, task.final_prompt, task.fail_reason) == (
        "cute cat girl --niji 5",
        "cute cat girl --niji 5",
        None,
    )
    assert (task.submitted_at, task.started_at, task.finished_at) == (1726667730.879, 1726667732.086, 1726667765.372)
    assert task.action_names == ("U1",)  # the "…" placeholder in buttons is skipped
    assert task.raw["buttons"][1] == "…"


def test_in_progress_keeps_the_cache_busting_preview(dialect):
    body = {
        "id": "17",
        "action": "IMAGINE",
        "status": "IN_PROGRESS",
        "progress": "62%",
        "imageUrl": "https://gw.example/mj/image/17?rand=1726667740000000000",
        "buttons": [],
        "properties": {},
    }
    task = dialect.parse("get", dialect.prepare("get", task_id="17"), answer(200, body))
    assert (task.status, task.progress, task.preview_url, task.image_url) == (
        TaskStatus.RUNNING,
        62,
        "https://gw.example/mj/image/17?rand=1726667740000000000",
        None,
    )


def test_failure_at_100_percent_is_a_failure(dialect):
    body = {
        "id": "18",
        "action": "IMAGINE",
        "status": "FAILURE",
        "progress": "100%",
        "failReason": "上游任务超时（超过1小时）",
    }
    task = dialect.parse("get", dialect.prepare("get", task_id="18"), answer(200, body))
    assert (task.status, task.progress, task.fail_reason) == (TaskStatus.FAILED, 100, "上游任务超时（超过1小时）")


def test_just_inserted_task_is_queued(dialect):
    body = {"id": "19", "action": "IMAGINE", "status": "", "progress": "0%"}
    task = dialect.parse("get", dialect.prepare("get", task_id="19"), answer(200, body))
    assert (task.status, task.progress) == (TaskStatus.QUEUED, 0)


def test_unknown_task_on_fetch(dialect):
    with pytest.raises(TaskNotFound) as caught:
        dialect.parse(
            "get",
            dialect.prepare("get", task_id="404"),
            answer(400, {"description": "task_no_found ", "type": "upstream_error", "code": 4}),
        )
    assert (caught.value.message, caught.value.code, caught.value.status_code) == ("task_no_found", 4, 400)


# -- dashboard listing (§4.6) ----------------------------------------------------------------------------
def test_list_request(dialect):
    request = dialect.prepare(
        "list", page=2, page_size=50, task_id="1748339029401828", since=1748339000.5, until=1748339100, admin=False
    )
    assert (request.method, request.path, request.json, request.submit) == ("GET", "/api/mj/self", None, False)
    assert dict(request.params) == {
        "p": 2,
        "page_size": 50,
        "mj_id": "1748339029401828",
        "start_timestamp": 1748339000500,
        "end_timestamp": 1748339100000,
    }
    admin = dialect.prepare("list", page=1, page_size=10, admin=True, channel_id=3)
    # page 1 is p=0: the first page on NA-OLD (0-based) and on NA-NEW (which reads p < 1 as 1)
    assert (admin.path, dict(admin.params)) == ("/api/mj/", {"p": 0, "page_size": 10, "channel_id": 3})


def test_list_new_format(dialect):
    item = recorded("newapi_list_item.json")
    request = dataclasses.replace(dialect.prepare("list", page=1, page_size=10), op="list")
    body = {"success": True, "message": "", "data": {"page": 1, "page_size": 10, "total": 123, "items": [item]}}
    page = dialect.parse("list", request, answer(200, body))
    assert (page.page, page.page_size, page.total, len(page.items)) == (1, 10, 123, 1)
    task = page.items[0]
    assert (task.id, task.status, task.kind, task.progress) == (
        "1748339029401828",
        TaskStatus.SUCCEEDED,
        "IMAGINE",
        100,
    )
    assert (task.prompt, task.final_prompt) == ("dog playing ball --v 7", "dog playing ball --v 7.0")
    assert task.image_url == "https://example.com/mj/image/1748339029401828"
    assert task.submitted_at == 1748339029.401 and task.finished_at == 1748339072.775
    assert task.action("U1").native == {"customId": "MJ::JOB::upsample::1::…"}
    assert task.raw == item


def test_list_old_format_and_its_zero_based_pages(dialect):
    item = recorded("newapi_list_item.json")
    failed = {
        **item,
        "id": 43,
        "mj_id": "",
        "status": "FAILURE",
        "progress": "100%",
        "fail_reason": "无可用的账号实例",
        "buttons": "",
        "properties": "",
    }
    first = dialect.prepare("list", page=1, page_size=20)
    assert first.params["p"] == 0
    page = dialect.parse("list", first, answer(200, {"success": True, "message": "", "data": [item, failed]}))
    assert (page.page, page.page_size, page.total) == (1, 10, None)
    assert [t.id for t in page.items] == ["1748339029401828", "row-43"]
    assert (page.items[1].status, page.items[1].fail_reason, page.items[1].actions) == (
        TaskStatus.FAILED,
        "无可用的账号实例",
        (),
    )
    second = dialect.prepare("list", page=2, page_size=20)
    assert second.params["p"] == 2
    # an old server read p=2 as its third page of ten: say so instead of pretending
    assert dialect.parse("list", second, answer(200, {"success": True, "message": "", "data": []})) == Page(
        (), 3, 10, None
    )
    assert dialect.prepare("list", page=1).params["p"] == 0  # nothing learnt: the dialect keeps no state


@pytest.mark.parametrize(
    "status, message",
    [
        (200, "无权进行此操作，权限不足"),
        (401, "无权进行此操作，未提供 New-Api-User"),
        (401, "无权进行此操作，New-Api-User 不匹配"),
    ],
)
def test_dashboard_refusals(dialect, status, message):
    with pytest.raises(AuthenticationError) as caught:
        dialect.parse("list", dialect.prepare("list"), answer(status, {"success": False, "message": message}))
    assert (caught.value.message, caught.value.status_code, caught.value.dialect) == (message, status, "newapi")


def test_dashboard_answer_without_data(dialect):
    with pytest.raises(ServerError, match="dashboard"):
        dialect.parse("list", dialect.prepare("list"), answer(200, {"success": True, "message": ""}))


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(page=0), "page"),
        (dict(page_size=0), "page_size"),
        (dict(since="yesterday"), "since"),
        (dict(task_id="1 2"), "task_id"),
        (dict(admin="yes"), "admin"),
    ],
)
def test_bad_list_input(dialect, kw, field):
    with pytest.raises(ValidationError) as caught:
        dialect.prepare("list", **kw)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "op, offered_by", [("translate", ("acedata",)), ("retexture", ("evolink",)), ("remove_bg", ("evolink",))]
)
def test_acedata_and_evolink_only_ops_name_who_offers_them(dialect, op, offered_by):
    with pytest.raises(UnsupportedOperation) as caught:
        dialect.prepare(op, text="hola", image="https://c.example/a.png", prompt="jade", options={})
    assert (caught.value.dialect, caught.value.operation, caught.value.supported_by) == ("newapi", op, offered_by)
    assert offered_by[0] in str(caught.value)


def test_a_refusal_for_a_missing_user_id_says_what_to_pass():
    dialect = newapi.make(user_id=None)
    body = {"success": False, "message": "无权进行此操作，未提供 New-Api-User"}
    with pytest.raises(AuthenticationError) as caught:
        dialect.parse("list", dialect.prepare("list"), answer(401, body))
    assert "pass user_id=" in caught.value.message
