"""Field outcomes on demand (issue 12 §2): jobs without an image, no free account, streams that end early,
VIDEO tasks; the per-route request log; the listing's time filters in seconds or milliseconds."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from mjnb.sim import Simulator

FINAL = ("SUCCESS", "FAILURE")


@pytest.fixture(scope="module")
def sim():
    with Simulator(duration=0.2) as running:
        yield running
        assert running.state.background_errors == []


@pytest.fixture
def faults(sim):
    yield sim.state.faults
    sim.state.faults.clear()


def _client(sim: Simulator, dialect: str) -> httpx.Client:
    headers = {
        "mjproxy": {"mj-api-secret": "k"},
        "newapi": {"authorization": "Bearer sk-k"},
        "acedata": {"authorization": "Bearer k"},
        "evolink": {"authorization": "Bearer k"},
    }[dialect]
    return httpx.Client(base_url=sim.url(dialect), headers=headers, timeout=30)


def _until(read, done, limit: int = 2000) -> dict:
    """Poll ``read()`` until ``done(answer)``; bounded by a count of reads, not by time."""
    for _ in range(limit):
        answer = read()
        if done(answer):
            return answer
        time.sleep(0.01)
    raise AssertionError(f"never finished: {answer}")


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi"])
def test_proxy_success_without_an_image(sim, faults, dialect):
    faults.add("no_image", path=f"/{dialect}/mj/submit/imagine")
    with _client(sim, dialect) as http:
        task_id = http.post("/mj/submit/imagine", json={"prompt": "a quiet harbour"}).json()["result"]
        task = _until(lambda: http.get(f"/mj/task/{task_id}/fetch").json(), lambda t: t["status"] in FINAL)
        assert task["status"] == "SUCCESS" and task["progress"] == "100%"
        assert not task["imageUrl"] and not task["buttons"]
        # The next job is normal again: the fault was used once.
        other = http.post("/mj/submit/imagine", json={"prompt": "a quiet harbour"}).json()["result"]
        again = _until(lambda: http.get(f"/mj/task/{other}/fetch").json(), lambda t: t["status"] in FINAL)
        assert again["imageUrl"]


def test_evolink_completed_with_empty_results(sim, faults):
    faults.add("no_image", path="/evolink/v1/images/generations")
    with _client(sim, "evolink") as http:
        created = http.post("/v1/images/generations", json={"model": "mj-v7", "prompt": "a quiet harbour"}).json()
        task = _until(
            lambda: http.get(f"/v1/tasks/{created['id']}").json(),
            lambda t: t["status"] != "pending" and t["status"] != "processing",
        )
    assert task["status"] == "completed" and task["progress"] == 100 and task["results"] == []


def test_acedata_success_without_an_image(sim, faults):
    faults.add("no_image", path="/acedata/midjourney/imagine")
    with _client(sim, "acedata") as http:
        answer = http.post("/midjourney/imagine", json={"prompt": "a quiet harbour"}).json()
    assert answer["success"] is True and answer["progress"] == 100
    assert "image_url" not in answer and "raw_image_url" not in answer and "sub_image_urls" not in answer


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi"])
def test_submit_answered_code_3_creates_nothing(sim, faults, dialect):
    faults.add("no_account", path=f"/{dialect}/mj/submit/")
    before = sim.state.jobs_created
    with _client(sim, dialect) as http:
        refused = http.post("/mj/submit/imagine", json={"prompt": "a quiet harbour"})
        accepted = http.post("/mj/submit/imagine", json={"prompt": "a quiet harbour"}).json()
    assert refused.status_code == 200
    assert refused.json()["code"] == 3 and refused.json()["description"] == "无可用的账号实例"
    assert not refused.json()["result"]
    assert accepted["code"] == 1 and sim.state.jobs_created == before + 1


def _ndjson_submit(http: httpx.Client) -> tuple[list[dict], Exception | None]:
    lines: list[dict] = []
    error: Exception | None = None
    try:
        with http.stream(
            "POST",
            "/midjourney/imagine",
            json={"prompt": "a quiet harbour"},
            headers={"accept": "application/x-ndjson"},
        ) as response:
            for line in response.iter_lines():
                if line.strip():
                    lines.append(json.loads(line))
    except httpx.HTTPError as exc:
        error = exc
    return lines, error


@pytest.mark.parametrize("kind", ["stream_end", "stream_cut"])
def test_acedata_stream_ends_after_the_task_id_and_the_job_goes_on(sim, faults, kind):
    faults.add(kind, path="/acedata/midjourney/imagine")
    with _client(sim, "acedata") as http:
        lines, error = _ndjson_submit(http)
        assert len(lines) == 1 and lines[0]["task_id"] and lines[0]["progress"] < 100
        if kind == "stream_end":
            assert error is None
        else:
            assert isinstance(error, httpx.RemoteProtocolError)
        task_id = lines[0]["task_id"]
        final = _until(
            lambda: http.post("/midjourney/tasks", json={"action": "retrieve", "id": task_id}).json(),
            lambda t: (t.get("response") or {}).get("success") is not None,
        )
        assert final["response"]["success"] is True and final["response"]["image_url"]
        # A stream without a fault runs to its end.
        full, none = _ndjson_submit(http)
        assert none is None and full[-1]["progress"] == 100


@pytest.mark.parametrize("dialect", ["mjproxy", "newapi"])
def test_video_task_like_the_trueai_fork(sim, faults, dialect):
    faults.add("video_result", path=f"/{dialect}/mj/submit/imagine")
    with _client(sim, dialect) as http:
        task_id = http.post("/mj/submit/imagine", json={"prompt": "a quiet harbour --video 1"}).json()["result"]
        task = _until(lambda: http.get(f"/mj/task/{task_id}/fetch").json(), lambda t: t["status"] in FINAL)
        assert task["status"] == "SUCCESS"
        assert task["videoUrl"].endswith(".mp4") and [v["url"] for v in task["videoUrls"]][0] == task["videoUrl"]
        video = httpx.get(task["videoUrl"])
        assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
        if dialect == "mjproxy":
            assert task["action"] == "VIDEO" and task["imageUrl"] == task["videoUrl"]
            assert len(task["imageUrls"]) == 2
            thumb = httpx.get(task["imageUrls"][0]["thumbnail"])
            assert thumb.headers["content-type"] == "image/png" and thumb.content[:4] == b"\x89PNG"
            assert any("animate" in b["customId"] for b in task["buttons"])


def test_the_request_log_counts_per_route(sim_factory):
    sim = sim_factory()
    with _client(sim, "mjproxy") as http:
        task_id = http.post("/mj/submit/imagine", json={"prompt": "a quiet harbour"}).json()["result"]
        for _ in range(3):
            http.get(f"/mj/task/{task_id}/fetch")
        http.post("/mj/task/list-by-condition", json={"ids": [task_id]})
    log = sim.state.requests
    assert log.count("/mjproxy/mj/submit/") == 1
    assert log.count(f"/mjproxy/mj/task/{task_id}/fetch", method="GET") == 3
    assert log.count("/mjproxy/mj/task/list-by-condition", method="POST") == 1
    assert log.count("/mjproxy/") == 5 and log.count("/evolink/") == 0
    assert [r.status for r in log.records("/mjproxy/mj/task/")] == [200] * 4
    # The same log for a client in another process.
    summary = httpx.get(f"{sim.base_url}/_sim/requests", params={"prefix": "/mjproxy/mj/task/"}).json()
    assert summary["requests"] == 4 and summary["by_route"][f"GET /mjproxy/mj/task/{task_id}/fetch"] == 3
    assert 0 < summary["ms"]["p50"] <= summary["ms"]["p95"] <= summary["ms"]["max"]


def test_newapi_listing_time_filters_take_seconds_or_milliseconds(sim_factory):
    sim = sim_factory()
    with _client(sim, "newapi") as http:
        for prompt in ("first", "second"):
            http.post("/mj/submit/imagine", json={"prompt": prompt})
        base = f"{sim.base_url}/newapi/api/mj/self"
        headers = {"authorization": "Bearer sk-k", "new-api-user": "1"}
        items = http.get(base, headers=headers).json()["data"]["items"]
        assert len(items) == 2
        first_ms = min(i["submit_time"] for i in items)
        for start in (first_ms, first_ms // 1000):
            found = http.get(base, params={"start_timestamp": start}, headers=headers).json()["data"]["items"]
            assert len(found) == 2, start
        last_ms = max(i["submit_time"] for i in items)
        for end in (last_ms, last_ms // 1000):
            found = http.get(base, params={"end_timestamp": end}, headers=headers).json()["data"]["items"]
            assert len(found) == 2, end
        later = http.get(base, params={"start_timestamp": last_ms // 1000 + 1}, headers=headers).json()
        assert later["data"]["items"] == []
        assert all("quota" in item for item in items)


def test_unknown_fault_kind_names_the_allowed_ones(sim):
    with pytest.raises(ValueError, match="no_image.*stream_cut"):
        sim.state.faults.add("no_images")
