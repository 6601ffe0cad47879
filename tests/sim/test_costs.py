"""Costs as the services report them (issue 14 §4): EvoLink ``usage.credits_reserved`` on the created
task (PROTOCOLS §1.4, §1.9), new-api ``quota`` on its dashboard items (§4.4, §4.6). AceData and
midjourney-proxy document no cost field, so the simulator sends none."""

from __future__ import annotations

import httpx
import pytest

from mjnb.sim import Simulator


@pytest.fixture(scope="module")
def sim():
    with Simulator(duration=0.1) as running:
        yield running


@pytest.mark.parametrize("speed, credits", [("fast", 5.4), ("turbo", 10.8), ("draft", 2.7)])
def test_evolink_reserves_credits_by_speed(sim, speed, credits):
    created = httpx.post(
        f"{sim.url('evolink')}/v1/images/generations",
        headers={"authorization": "Bearer k"},
        json={"model": "mj-v7", "prompt": "a kite", "model_params": {"speed": speed}},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    assert created.json()["usage"] == {"billing_rule": "per_call", "credits_reserved": credits, "user_group": "default"}


def test_newapi_items_carry_the_quota_charged_per_action(sim):
    headers = {"authorization": "Bearer sk-cost"}
    with httpx.Client(base_url=sim.url("newapi"), headers=headers, timeout=30) as http:
        imagine = http.post("/mj/submit/imagine", json={"prompt": "a kite"}).json()["result"]
        refused = http.post("/mj/submit/imagine", json={"prompt": "   "})
        assert refused.json().get("code") != 1
        me = http.get("/api/mj/self", headers={"new-api-user": "1"}).json()["data"]["items"]
    by_id = {item["mj_id"]: item for item in me}
    assert by_id[imagine]["quota"] == 50000  # new-api's default IMAGINE price (§4.6 example)
    assert all(isinstance(item["quota"], int) for item in me)


@pytest.mark.parametrize(
    "dialect, path, body, headers",
    [
        ("mjproxy", "/mj/submit/imagine", {"prompt": "a kite"}, {"mj-api-secret": "k"}),
        ("acedata", "/midjourney/imagine", {"prompt": "a kite"}, {"authorization": "Bearer k"}),
    ],
)
def test_services_without_a_documented_cost_send_none(sim, dialect, path, body, headers):
    answer = httpx.post(f"{sim.url(dialect)}{path}", json=body, headers=headers, timeout=30).json()
    text = str(answer).lower()
    assert "quota" not in text and "credit" not in text and "cost" not in text
