"""new-api's task rows (PROTOCOLS §4.4) and their two client views: the MidjourneyDto of
/mj/task/…/fetch (§4.5) and the snake_case storage JSON of the dashboard listing (§4.6).

A row keeps what new-api stores at submit; the rest is read live from the upstream proxy task
(the real gateway copies it every 15 s).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ._proxy_engine import ProxyEngine
from ._proxy_tasks import FAILURE, SUCCESS, ProxyTask

# Quota charged per action (new-api bills INPAINT and CUSTOM_ZOOM through mj_modal, so they are 0).
PRICES = {
    "IMAGINE": 50000,
    "UPSCALE": 25000,
    "VARIATION": 50000,
    "REROLL": 50000,
    "DESCRIBE": 25000,
    "BLEND": 50000,
    "SHORTEN": 25000,
    "MODAL": 50000,
    "ZOOM": 50000,
    "PAN": 50000,
    "EDITS": 50000,
    "LOW_VARIATION": 50000,
    "HIGH_VARIATION": 50000,
    "INPAINT": 0,
    "CUSTOM_ZOOM": 0,
}
CHANNEL_ID = 1


@dataclass
class Row:
    id: int
    code: int
    user_id: int
    action: str
    mj_id: str
    prompt: str
    description: str
    state: str
    submit_time: int
    quota: int
    fail_reason: str = ""
    channel_id: int = CHANNEL_ID


class NewApiStore:
    """Rows in insert order, and the user id of each token (1, 2, … in order of first use)."""

    def __init__(self, engine: ProxyEngine) -> None:
        self.engine = engine
        self.rows: list[Row] = []
        self.users: dict[str, int] = {}

    def user_id(self, token: str) -> int:
        return self.users.setdefault(token, len(self.users) + 1)

    def insert(
        self,
        user_id: int,
        action: str,
        mj_id: str,
        code: int,
        prompt: str,
        description: str,
        state: Any,
        fail_reason: str,
    ) -> Row:
        charged = code in (1, 21, 22)
        row = Row(
            id=len(self.rows) + 1,
            code=code,
            user_id=user_id,
            action=action,
            mj_id=mj_id or "",
            prompt=prompt,
            description=description,
            state=state if isinstance(state, str) else "",
            submit_time=int(time.time() * 1000),
            quota=PRICES.get(action, 50000) if charged else 0,
            fail_reason=fail_reason,
        )
        self.rows.append(row)
        return row

    def find(self, user_id: int, mj_id: str) -> Row | None:
        """The first row of this user with this upstream id (GORM ``First`` orders by id)."""
        return next((r for r in self.rows if r.user_id == user_id and r.mj_id and r.mj_id == mj_id), None)

    def find_any(self, mj_id: str) -> Row | None:
        return next((r for r in self.rows if r.mj_id and r.mj_id == mj_id), None)

    def upstream(self, row: Row) -> ProxyTask | None:
        return self.engine.get(row.mj_id) if row.mj_id else None

    def live(self, row: Row) -> dict[str, Any]:
        """Status fields as new-api's poller would have copied them from upstream."""
        task = self.upstream(row)
        if task is None:
            # A submit that created nothing: the poller marks rows without mj_id FAILURE at 100%.
            return {
                "status": FAILURE,
                "progress": "100%",
                "fail_reason": row.fail_reason or "task not found upstream",
                "prompt_en": "",
                "start_time": 0,
                "finish_time": 0,
                "submit_time": row.submit_time,
                "image_name": None,
                "buttons": None,
                "properties": None,
                "video_url": "",
                "video_urls": None,
            }
        progress = "100%" if task.status == FAILURE else task.progress
        videos = task.video_json()["videoUrls"] if task.videos else None
        return {
            "status": task.status,
            "progress": progress,
            "fail_reason": task.fail_reason or "",
            "prompt_en": task.prompt_en,
            "start_time": task.start_time or 0,
            "finish_time": task.finish_time or 0,
            "submit_time": task.submit_time,
            "image_name": task.image_name,
            "buttons": task.buttons,
            "properties": {"finalPrompt": task.properties.get("finalPrompt", ""), "finalZhPrompt": ""},
            # The poller copies videoUrl/videoUrls from upstream (§4.4); stored as [{"url": …}].
            "video_url": videos[0]["url"] if videos else "",
            "video_urls": [{"url": v["url"]} for v in videos] if videos else None,
        }


def image_route_url(server: str, row: Row, status: str, *, cache_buster: bool) -> str:
    url = f"{server}/mj/image/{row.mj_id}"
    if cache_buster and status != SUCCESS:
        url += f"?rand={time.time_ns()}"
    return url


def dto(store: NewApiStore, row: Row, server: str) -> dict[str, Any]:
    """The MidjourneyDto of §4.5; ``server`` is new-api's address (``…/newapi``)."""
    live = store.live(row)
    image_url = image_route_url(server, row, live["status"], cache_buster=True) if live["image_name"] else ""
    return {
        "id": row.mj_id,
        "action": row.action,
        "customId": "",
        "botType": "",
        "prompt": row.prompt,
        "promptEn": live["prompt_en"],
        "description": row.description,
        "state": row.state,
        "submitTime": live["submit_time"],
        "startTime": live["start_time"],
        "finishTime": live["finish_time"],
        "imageUrl": image_url,
        "videoUrl": live["video_url"],
        "videoUrls": live["video_urls"],
        "status": live["status"],
        "progress": live["progress"],
        "failReason": live["fail_reason"],
        "buttons": live["buttons"],
        "maskBase64": "",
        "properties": live["properties"],
    }


def storage_json(store: NewApiStore, row: Row, server: str, *, legacy: bool) -> dict[str, Any]:
    """A dashboard item: the snake_case model with ``buttons``/``properties`` as JSON strings (§4.6)."""
    live = store.live(row)
    item = {
        "id": row.id,
        "code": row.code,
        "user_id": row.user_id,
        "action": row.action,
        "mj_id": row.mj_id,
        "prompt": row.prompt,
        "prompt_en": live["prompt_en"],
        "description": row.description,
        "state": row.state,
        "submit_time": live["submit_time"],
        "start_time": live["start_time"],
        "finish_time": live["finish_time"],
        "image_url": image_route_url(server, row, live["status"], cache_buster=False) if live["image_name"] else "",
        "status": live["status"],
        "progress": live["progress"],
        "fail_reason": live["fail_reason"],
        "channel_id": row.channel_id,
        "quota": row.quota,
        "buttons": json.dumps(live["buttons"], ensure_ascii=False, separators=(",", ":"))
        if live["buttons"] is not None
        else "",
        "properties": json.dumps(live["properties"], ensure_ascii=False, separators=(",", ":"))
        if live["properties"] is not None
        else "",
    }
    if not legacy:
        urls = live["video_urls"]
        item["video_url"] = live["video_url"]
        item["video_urls"] = json.dumps(urls, separators=(",", ":")) if urls else ""
    return item
