"""What every dialect shares: the base's checks, refused input, batched reads, nonces, and the
answers seen in the field (/work/shared/cases), table-driven across the four dialects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mjnb._errors import (
    APIError,
    ModerationError,
    RateLimitError,
    ServerError,
    TaskNotFound,
    UnsupportedOperation,
    ValidationError,
)
from mjnb._models import Action, Task, TaskStatus
from mjnb.dialects import DialectBase, Request, Response, get_dialect
from mjnb.dialects._validate import host_address, unix_seconds

CASES = Path("/work/shared/cases")
NO_IMAGE = "finished without an image (moderated?)"
ALL = ("mjproxy", "newapi", "acedata", "evolink")
EVO_ID = "task-unified-1757165031-mjv7"


def answer(status: int, body: object) -> Response:
    return Response(status, {}, b"" if body is None else json.dumps(body).encode())


def case(name: str) -> object:
    return json.loads((CASES / name).read_text(encoding="utf-8"))


# -- the base ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_every_dialect_extends_the_base_and_declares_its_traits(name):
    d = get_dialect(name)
    assert isinstance(d, DialectBase)
    assert isinstance(d.expected_seconds, float) and d.expected_seconds > 0
    assert d.batch_size is None or d.batch_size >= 1
    assert ("get_many" in d.operations) is (d.batch_size is not None)
    assert not hasattr(d, "_origins")  # no memory of past requests: a dialect is pure
    with pytest.raises(UnsupportedOperation) as err:
        d.parse("fly", Request("GET", "/"), answer(200, {}))
    assert (err.value.dialect, err.value.operation) == (name, "fly")


# -- refused before sending -------------------------------------------------------------------------
BAD_IDS = [".", "..", "a/b", "a?b", "a#b", "a b", "a\tb", "a\nb", "a\x00b", "x" * 201, "", 5, None]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("task_id", BAD_IDS, ids=[repr(i)[:12] for i in BAD_IDS])
def test_task_ids_that_leave_the_route_are_refused(name, task_id):
    with pytest.raises(ValidationError) as err:
        get_dialect(name).prepare("get", task_id=task_id)
    assert err.value.field == "task_id"


BAD_IMAGES = [
    "https://a.example/a cat.png",
    "https://a.example/a.png\r\nX-Injected: 1",
    "https://a.example/\x00.png",
    "https://a.example:99999/a.png",
    "ftp://a.example/a.png",
    "/tmp/a.png",
    "https:///a.png",
]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("image", BAD_IMAGES, ids=range(len(BAD_IMAGES)))
def test_image_urls_a_server_would_misread_are_refused(name, image):
    with pytest.raises(ValidationError) as err:
        get_dialect(name).prepare("imagine", prompt="a lighthouse", images=(image,))
    assert err.value.field == "images"


BAD_CALLBACKS = [
    "https://hooks.example/x\r\nHost: evil",
    "https://hooks.example:99999/x",
    "ftp://hooks.example/x",
    "https://hooks.example/x y",
    "javascript:alert(1)",
    "https://hooks.example:0/x",
]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("url", BAD_CALLBACKS, ids=range(len(BAD_CALLBACKS)))
def test_bad_callback_urls_are_refused_on_every_dialect(name, url):
    with pytest.raises(ValidationError) as err:
        get_dialect(name).prepare("imagine", prompt="a lighthouse", callback_url=url)
    assert err.value.field == "callback_url"


PRIVATE = [
    "https://127.1/",
    "https://0x7f000001/",
    "https://0177.0.0.1/",
    "https://2130706433/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::1]/",
    "https://10.1.2.3/",
    "https://0/",
    "https://169.254.169.254/latest",
    "https://192.168.0.1./",
    "https://localhost/",
    "https://a.localhost/",
    "https://[::ffff:7f00:1]/",
    "https://0x0a.1/",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_evolink_private_addresses_are_read_as_a_resolver_reads_them(url):
    with pytest.raises(ValidationError) as err:
        get_dialect("evolink").prepare("imagine", prompt="a lighthouse", callback_url=url)
    assert err.value.field == "callback_url" and "not allowed" in str(err.value)


def test_public_callbacks_pass_and_hosts_parse_like_inet_aton():
    assert (
        get_dialect("evolink").prepare("imagine", prompt="a cat", callback_url="https://8.8.8.8/h").json["callback_url"]
        == "https://8.8.8.8/h"
    )
    assert str(host_address("127.1")) == str(host_address("2130706433")) == str(host_address("0x7f.1")) == "127.0.0.1"
    assert str(host_address("0177.0.0.1")) == "127.0.0.1" and host_address("hooks.example.com") is None
    assert host_address("1.2.3.256") is None  # not an address: a name for the resolver


# -- batched reads (issue 10) -----------------------------------------------------------------------
PROXY_TASK = {
    "id": "1748339029401828",
    "action": "IMAGINE",
    "status": "IN_PROGRESS",
    "progress": "40%",
    "submitTime": 1748339029401,
    "state": "n-1",
}


@pytest.mark.parametrize(
    "name, path", [("mjproxy", "/mj/task/list-by-condition"), ("newapi", "/mj/task/list-by-condition")]
)
def test_get_many_on_the_proxies_is_list_by_condition(name, path):
    d = get_dialect(name)
    request = d.prepare("get_many", task_ids=("1748339029401828", "1748339029401829", "1748339029401828"))
    assert (request.method, request.path, request.json, request.submit, request.op) == (
        "POST",
        path,
        {"ids": ["1748339029401828", "1748339029401829"]},
        False,
        "get_many",
    )
    tasks = d.parse("get_many", request, answer(200, [PROXY_TASK]))
    assert [(t.id, t.status, t.progress) for t in tasks] == [("1748339029401828", TaskStatus.RUNNING, 40)]
    assert d.parse("get_many", request, answer(200, [])) == []  # unknown ids are absent, not an error


def test_get_many_on_acedata_is_retrieve_batch():
    d = get_dialect("acedata")
    request = d.prepare("get_many", task_ids=("a-1", "a-2"))
    assert (request.path, request.json) == (
        "/midjourney/tasks",
        {"action": "retrieve_batch", "ids": ["a-1", "a-2"], "offset": 0, "limit": 2},
    )
    body = {
        "items": [
            {
                "id": "a-1",
                "response": {
                    "success": True,
                    "progress": 100,
                    "image_url": "https://i.example/1.png",
                    "image_id": "9",
                    "task_id": "a-1",
                },
            },
            {"id": "a-2"},
        ],
        "count": 2,
    }
    tasks = d.parse("get_many", request, answer(200, body))
    assert [(t.id, t.status) for t in tasks] == [("a-1", TaskStatus.SUCCEEDED), ("a-2", TaskStatus.QUEUED)]


@pytest.mark.parametrize("name", ["mjproxy", "newapi", "acedata"])
@pytest.mark.parametrize("ids", [(), "1748339029401828", None, ("ok", "..")], ids=["empty", "str", "none", "dotdot"])
def test_get_many_refuses_bad_id_lists(name, ids):
    with pytest.raises(ValidationError) as err:
        get_dialect(name).prepare("get_many", task_ids=ids)
    assert err.value.field == "task_ids"


def test_get_many_refuses_more_ids_than_a_batch():
    d = get_dialect("acedata")
    with pytest.raises(ValidationError) as err:
        d.prepare("get_many", task_ids=tuple(f"id-{i}" for i in range(d.batch_size + 1)))
    assert "1 to 50" in str(err.value)


def test_evolink_has_no_batch_read():
    d = get_dialect("evolink")
    assert (d.batch_size, d.max_concurrent) == (None, None)
    with pytest.raises(UnsupportedOperation):
        d.prepare("get_many", task_ids=(EVO_ID,))


# -- nonce (issue 14) -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mjproxy", "newapi"])
def test_the_nonce_travels_in_state_and_comes_back_in_raw(name):
    d = get_dialect(name)
    request = d.prepare("imagine", prompt="a cat", nonce="mjnb-7f3a")
    assert (request.nonce, request.json["state"], d.nonce_field) == ("mjnb-7f3a", "mjnb-7f3a", "state")
    task = d.parse("get", d.prepare("get", task_id=PROXY_TASK["id"]), answer(200, {**PROXY_TASK, "state": "mjnb-7f3a"}))
    assert task.raw.get("state") == "mjnb-7f3a"
    # a state the user set is kept on the wire and becomes the nonce: what is matched is what was sent
    own = d.prepare("imagine", prompt="a cat", nonce="n", options={"state": "mine"})
    assert (own.json["state"], own.nonce) == ("mine", "mine")


@pytest.mark.parametrize("name", ["acedata", "evolink"])
def test_dialects_without_a_free_field_keep_the_nonce_off_the_wire(name):
    d = get_dialect(name)
    request = d.prepare("imagine", prompt="a cat", nonce="mjnb-7f3a")
    assert d.nonce_field is None and request.nonce == "mjnb-7f3a" and "mjnb-7f3a" not in json.dumps(request.json)


@pytest.mark.parametrize("nonce", ["", "a\nb", "x" * 256, 5])
def test_bad_nonces_and_nonces_on_reads_are_refused(nonce):
    with pytest.raises(ValidationError) as err:
        get_dialect("mjproxy").prepare("imagine", prompt="a cat", nonce=nonce)
    assert err.value.field == "nonce"
    with pytest.raises(ValidationError):
        get_dialect("mjproxy").prepare("get", task_id="1", nonce="n")


# -- the same code by operation (issue 12 §2.1) ------------------------------------------------------
CODE3 = case("submit_code3_no_account.json")


@pytest.mark.parametrize("name", ["mjproxy", "newapi"])
def test_code_3_on_a_submit_is_no_free_account_and_on_a_read_an_unknown_task(name):
    d = get_dialect(name)
    with pytest.raises(ServerError) as err:
        d.parse("imagine", d.prepare("imagine", prompt="a cat"), answer(200, CODE3))
    assert "no account available, try later" in str(err.value) and err.value.code == 3
    assert not isinstance(err.value, TaskNotFound) and err.value.job_may_exist is False
    with pytest.raises(TaskNotFound):
        d.parse("get", d.prepare("get", task_id="1"), answer(404, CODE3))


def test_code_3_naming_the_parent_on_an_action_is_a_missing_parent():
    d = get_dialect("mjproxy")
    with pytest.raises(TaskNotFound) as err:
        d.parse(
            "action",
            Request("POST", "/mj/submit/action", submit=True),
            answer(404, {"code": 3, "description": "关联任务不存在或已失效"}),
        )
    assert "parent task" in str(err.value)


SUBMIT_404 = [
    ("mjproxy", b"<html>Whitelabel Error Page</html>"),
    ("newapi", b"404 page not found"),
    ("acedata", b'{"detail": "Not Found"}'),
    ("evolink", b"Not Found"),
]


@pytest.mark.parametrize("name, body", SUBMIT_404, ids=[s[0] for s in SUBMIT_404])
def test_a_404_on_a_submit_path_says_the_base_url_is_wrong(name, body):
    d = get_dialect(name)
    with pytest.raises(APIError) as err:
        d.parse("imagine", d.prepare("imagine", prompt="a lighthouse"), Response(404, {}, body))
    assert "base URL is probably wrong" in str(err.value) and not isinstance(err.value, TaskNotFound)


# -- a finished job without an image (issue 12 §2.2) --------------------------------------------------
def _got(name: str, body: object, task_id: str) -> Task:
    d = get_dialect(name)
    return d.parse("get", d.prepare("get", task_id=task_id), answer(200, body))


NO_IMAGES = [
    ("evolink", case("evolink_completed_without_results.json"), EVO_ID, "completed"),
    (
        "mjproxy",
        {"id": "1", "action": "IMAGINE", "status": "SUCCESS", "progress": "100%", "imageUrl": ""},
        "1",
        "SUCCESS",
    ),
    ("newapi", {"id": "1", "action": "UPSCALE", "status": "SUCCESS", "progress": "100%"}, "1", "SUCCESS"),
    ("acedata", {"id": "a-1", "response": {"success": True, "progress": 100, "task_id": "a-1"}}, "a-1", None),
]


@pytest.mark.parametrize("name, body, task_id, raw_status", NO_IMAGES, ids=[n[0] for n in NO_IMAGES])
def test_a_finished_job_without_an_image_is_a_failure_with_a_reason(name, body, task_id, raw_status):
    task = _got(name, body, task_id)
    assert (task.status, task.fail_reason, task.raw_status) == (TaskStatus.FAILED, NO_IMAGE, raw_status)
    assert task.image_url is None and task.image_urls == ()


def test_texts_without_an_image_are_still_a_success():
    shorten = {"id": "2", "action": "SHORTEN", "status": "SUCCESS", "properties": {"finalPrompt": "1️⃣ a cat\n2️⃣ cat"}}
    assert _got("mjproxy", shorten, "2").status is TaskStatus.SUCCEEDED


# -- video results (issue 12 §2.4) --------------------------------------------------------------------
def test_a_proxy_video_task_keeps_its_videos_as_videos():
    task = _got("mjproxy", case("proxy_video_task.json"), "1757000000000009")
    base = "https://cdn.midjourney.example.invalid"
    uuid = "0a0a0a0a-1111-2222-3333-444455556666"
    assert task.status is TaskStatus.SUCCEEDED and task.is_video
    assert task.video_urls == (f"{base}/video/{uuid}/0_0.mp4", f"{base}/video/{uuid}/0_1.mp4")
    assert task.thumbnail_urls == (f"{base}/{uuid}/0_0_640_N.webp", f"{base}/{uuid}/0_1_640_N.webp")
    assert task.image_url is None and task.image_urls == () and task.preview_url is None
    assert task.submitted_at == 1757000000.0 and task.finished_at == 1757000090.0


def test_new_api_rows_carry_video_fields_and_quota():
    d = get_dialect("newapi")
    row = {
        "id": 42,
        "mj_id": "17",
        "action": "VIDEO",
        "status": "SUCCESS",
        "progress": "100%",
        "quota": 50000,
        "submit_time": 1748339029401,
        "video_url": "https://x.example/mj/video/17.mp4",
        "video_urls": '[{"url": "https://x.example/v/0.mp4"}, {"url": "https://x.example/v/1.mp4"}]',
    }
    page = d.parse("list", d.prepare("list"), answer(200, {"success": True, "message": "", "data": [row]}))
    task = page.items[0]
    assert task.video_urls == (
        "https://x.example/v/0.mp4",
        "https://x.example/v/1.mp4",
        "https://x.example/mj/video/17.mp4",
    )
    assert (task.image_url, task.cost, task.cost_unit, task.submitted_at) == (None, 50000.0, "quota", 1748339029.401)


def test_an_acedata_video_answer():
    body = {
        "image_url": "https://s.example/first.png",
        "progress": 100,
        "video_id": "175",
        "video_urls": ["https://s.example/v/0_0.mp4", "https://s.example/v/0_1.mp4"],
        "task_id": "v-1",
        "success": True,
    }
    task = _got("acedata", body, "v-1")
    assert (task.status, task.video_urls, task.thumbnail_urls, task.image_url) == (
        TaskStatus.SUCCEEDED,
        ("https://s.example/v/0_0.mp4", "https://s.example/v/0_1.mp4"),
        ("https://s.example/first.png",),
        None,
    )


# -- timestamps and cost (issue 12 §2.5, issue 14) ----------------------------------------------------
@pytest.mark.parametrize(
    "value, seconds",
    [
        (1757165031, 1757165031.0),
        (1757165031123, 1757165031.123),
        ("1720364607.967", 1720364607.967),
        (0, None),
        (None, None),
        (True, None),
    ],
)
def test_timestamps_in_seconds_or_milliseconds(value, seconds):
    assert unix_seconds(value) == seconds


def test_times_in_milliseconds_arrive_where_seconds_are_documented_and_back():
    assert (
        _got("evolink", {"id": EVO_ID, "status": "pending", "created": 1757165031000}, EVO_ID).submitted_at
        == 1757165031.0
    )
    ace = _got("acedata", {"id": "a-1", "created_at": 1720364607967}, "a-1")
    assert ace.submitted_at == 1720364607.967
    d = get_dialect("newapi")
    for since in (1748339000.5, 1748339000500):  # seconds or milliseconds in: milliseconds out, as the server compares
        assert d.prepare("list", since=since).params["start_timestamp"] == 1748339000500


def test_evolink_cost_is_the_credits_it_reserved_and_none_when_unreported():
    d = get_dialect("evolink")
    created = {
        "id": EVO_ID,
        "status": "pending",
        "model": "mj-v7",
        "created": 1757165031,
        "usage": {"billing_rule": "per_call", "credits_reserved": 1.8, "user_group": "default"},
    }
    task = d.parse("imagine", d.prepare("imagine", prompt="a cat"), answer(200, created))
    assert (task.cost, task.cost_unit) == (1.8, "credits")
    assert _got("evolink", {"id": EVO_ID, "status": "processing"}, EVO_ID).cost is None
    assert _got("mjproxy", PROXY_TASK, PROXY_TASK["id"]).cost is None


# -- AceData streams (issue 9 item 8, issue 12 §2.3) -------------------------------------------------
def test_a_stream_that_ends_early_leaves_a_running_task_to_poll():
    d = get_dialect("acedata")
    request = d.prepare("imagine", prompt="a cat", stream=True)
    lines = [line for line in (CASES / "acedata_stream_ends_early.ndjson").read_bytes().splitlines() if line.strip()]
    tasks = [d.parse_stream_line(request, line) for line in lines]
    last = tasks[-1]
    assert (last.id, last.status, last.progress) == ("a1b2c3d4-0000-1111-2222-333344445555", TaskStatus.RUNNING, 45)
    poll = d.prepare("get", task_id=last.id, task=last)
    assert (poll.path, poll.json, poll.prompt) == ("/midjourney/tasks", {"action": "retrieve", "id": last.id}, "a cat")


def test_a_failure_line_with_a_task_id_is_a_failed_task_not_a_bare_error():
    d = get_dialect("acedata")
    request = d.prepare("imagine", prompt="a cat", stream=True)
    line = {
        "success": False,
        "task_id": "t-9",
        "error": {"code": "forbidden", "message": "banned prompt"},
        "trace_id": "tr-1",
    }
    task = d.parse_stream_line(request, json.dumps(line).encode())
    assert (task.id, task.status, task.fail_reason, task.error_code) == (
        "t-9",
        TaskStatus.FAILED,
        "banned prompt",
        "forbidden",
    )


# -- options users could not reach (issue 12 §3) ------------------------------------------------------
def test_proxy_options_and_bot_on_every_submit():
    d = get_dialect("mjproxy")
    task = _got(
        "mjproxy",
        {
            **PROXY_TASK,
            "status": "SUCCESS",
            "imageUrl": "https://c.example/1.png",
            "buttons": [{"customId": "MJ::JOB::upsample::1::h"}],
        },
        PROXY_TASK["id"],
    )
    action = d.prepare("action", task=task, action=task.action("U1"), options={"chooseSameChannel": True})
    assert action.json["chooseSameChannel"] is True
    assert d.prepare("shorten", prompt="a long prompt", bot="niji", callback_url="https://h.example/x").json == {
        "prompt": "a long prompt",
        "botType": "NIJI_JOURNEY",
        "notifyHook": "https://h.example/x",
    }
    assert d.prepare("describe", image="https://c.example/1.png", bot="niji").json["botType"] == "NIJI_JOURNEY"
    assert d.prepare("blend", images=("data:image/png;base64,AA==",) * 2, bot="niji").json["botType"] == "NIJI_JOURNEY"


def test_new_api_channel_filter_is_for_the_admin_listing_only():
    d = get_dialect("newapi")
    with pytest.raises(ValidationError) as err:
        d.prepare("list", channel_id=3)
    assert err.value.field == "channel_id"


def test_acedata_edit_takes_action_generate_and_service_timeout():
    d = get_dialect("acedata")
    request = d.prepare(
        "edit", image="https://c.example/a.png", prompt="a hat", options={"action": "generate", "service_timeout": 120}
    )
    assert (request.json["action"], request.json["timeout"]) == ("generate", 120)


def test_a_paid_result_whose_url_has_a_space_is_kept_not_lost():
    spaced = "https://media.evolink.ai/mj/a b.png"
    task = _got("evolink", {"id": EVO_ID, "status": "completed", "model": "mj-v7", "results": [spaced]}, EVO_ID)
    assert (task.status, task.image_urls) == (TaskStatus.SUCCEEDED, (spaced,))
    ace = _got(
        "acedata",
        {
            "id": "a-1",
            "response": {
                "success": True,
                "image_url": "https://i.example/x.png",
                "sub_image_urls": [spaced],
                "task_id": "a-1",
            },
        },
        "a-1",
    )
    assert ace.image_urls == (spaced,)


# -- every SubmitResultVO code and new-api error, by operation (issue 12 §2.1) -------------------------
def _vo(code: int, description: str) -> dict:
    return {"code": code, "description": description, "result": None, "properties": {}}


def _seed_request(name: str) -> Request:
    return Request("GET", "/mj/task/1/image-seed", op="seed", task_id="1")


VO_CODES = [
    # code, description, on a submit, on a read (seed)
    (3, "无可用的账号实例", ServerError, TaskNotFound),
    (3, "关联任务不存在或已失效", TaskNotFound, TaskNotFound),
    (4, "prompt不能为空", ValidationError, ValidationError),
    (9, "提交失败，系统异常", ServerError, ServerError),
    (9, "提交失败，队列已满，请稍后重试", RateLimitError, RateLimitError),
    (23, "队列已满，请稍后尝试", RateLimitError, RateLimitError),
    (24, "可能包含敏感词", ModerationError, ModerationError),
    (99, "新的错误", APIError, APIError),
]


@pytest.mark.parametrize("name", ["mjproxy", "newapi"])
@pytest.mark.parametrize(
    "code, description, on_submit, on_read", VO_CODES, ids=[f"{c[0]}-{c[2].__name__}" for c in VO_CODES]
)
def test_every_return_code_by_operation(name, code, description, on_submit, on_read):
    d = get_dialect(name)
    for request, error in ((d.prepare("imagine", prompt="a cat"), on_submit), (_seed_request(name), on_read)):
        with pytest.raises(APIError) as err:
            d.parse(request.op, request, answer(200, _vo(code, description)))
        assert type(err.value) is error and err.value.code == code and description in str(err.value)


@pytest.mark.parametrize("code", [1, 21, 22])
def test_accepted_codes_give_a_task(code):
    d = get_dialect("mjproxy")
    task = d.parse("imagine", d.prepare("imagine", prompt="a cat"), answer(200, {**_vo(code, "ok"), "result": "17"}))
    assert task.id == "17"


NEWAPI_ENVELOPES = [
    # description, code, HTTP status, on a submit, on a read
    ("task_not_found ", 4, 400, TaskNotFound, TaskNotFound),
    ("task_no_found ", 4, 400, TaskNotFound, TaskNotFound),
    ("quota_not_enough ", 4, 400, RateLimitError, RateLimitError),
    ("get_channel_info_failed ", 5, 400, ServerError, ServerError),
    ("group saturated", 30, 429, RateLimitError, RateLimitError),
    ("prompt_is_required ", 4, 400, ValidationError, ValidationError),
]


@pytest.mark.parametrize(
    "description, code, status, on_submit, on_read", NEWAPI_ENVELOPES, ids=[e[0].strip() for e in NEWAPI_ENVELOPES]
)
def test_new_api_errors_by_operation(description, code, status, on_submit, on_read):
    d = get_dialect("newapi")
    body = {"description": description, "type": "upstream_error", "code": code}
    submit = d.prepare(
        "action",
        task=_got(
            "newapi",
            {
                **PROXY_TASK,
                "status": "SUCCESS",
                "imageUrl": "https://c.example/1.png",
                "buttons": [{"customId": "MJ::JOB::upsample::1::h"}],
            },
            PROXY_TASK["id"],
        ),
        action=Action("U1", "U1", 0, {}, {"customId": "MJ::JOB::upsample::1::h"}),
    )
    read = d.prepare("get", task_id="1")
    for request, error in ((submit, on_submit), (read, on_read)):
        with pytest.raises(APIError) as err:
            d.parse(request.op, request, answer(status, body))
        assert type(err.value) is error and description.strip() in str(err.value)
        if error is TaskNotFound:
            assert ("parent task" in str(err.value)) is request.submit
