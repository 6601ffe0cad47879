"""``Task._repr_html_`` gives the details the short repr leaves out; follow-ups read as text."""

from __future__ import annotations

import mjnb
from mjnb._display import action_text, task_html
from mjnb._models import ACTION_LABELS


def task(**changes) -> mjnb.Task:
    base = mjnb.Task(
        "t-1",
        "mjproxy",
        mjnb.TaskStatus.SUCCEEDED,
        kind="IMAGINE",
        prompt="a fox <b>at dusk</b>",
        image_url="https://cdn.example.com/t-1.png",
    )
    return base.evolve(**changes)


def test_the_details_status_progress_prompt_follow_ups():
    running = task(status=mjnb.TaskStatus.RUNNING, progress=42, image_url=None)
    shown = task_html(running)
    assert "running · 42%" in shown and "<code>t-1</code>" in shown and "<code>mjproxy</code>" in shown
    assert "a fox &lt;b&gt;at dusk&lt;/b&gt;" in shown and "<b>at dusk</b>" not in shown  # escaped
    done = task(
        actions=(
            mjnb.Action("U1", "U1", index=0),
            mjnb.Action("reroll", "🔄 Reroll"),
            mjnb.Action("pan_left", "⬅️ Pan left"),
        ),
        final_prompt="a fox at dusk --v 7",
    )
    shown = task_html(done)
    assert "42%" not in shown and "Reroll</code>" in shown and "Pan ←</code>" in shown and "🔄" not in shown
    assert "<b>final prompt</b> a fox at dusk --v 7" in shown
    assert "client.download(task)" in shown and "https://cdn.example.com" not in shown  # no provider URL shown


def test_cost_only_when_the_service_says_it():
    assert "cost" not in task_html(task())
    assert "cost 12 credits" in task_html(task(cost=12.0, cost_unit="credits"))
    assert "cost 0.5" in task_html(task(cost=0.5))


def test_a_video_task_says_it_is_a_video_and_how_to_get_it():
    video = task(
        kind="VIDEO",
        image_url=None,
        video_urls=("https://cdn.example.com/a.mp4",),
        thumbnail_urls=("https://cdn.example.com/a.png",),
    )
    shown = task_html(video)
    assert "<b>video</b> 1 MP4 with thumbnails" in shown and "client.download_video(task)" in shown
    assert "image ready" not in shown


def test_a_failure_says_why_with_its_code():
    failed = task(status=mjnb.TaskStatus.FAILED, image_url=None, fail_reason="Banned prompt", error_code=24)
    assert "Banned prompt (code 24)" in task_html(failed)
    assert "no reason given" in task_html(task(status=mjnb.TaskStatus.CANCELLED, image_url=None))
    assert task(status=mjnb.TaskStatus.FAILED)._repr_html_() == task_html(task(status=mjnb.TaskStatus.FAILED))


def test_action_text_for_every_unified_name_reads_without_emoji():
    for name in mjnb.ACTION_NAMES:
        text = action_text(mjnb.Action(name, ACTION_LABELS.get(name, name)))
        assert text and not any(ord(ch) >= 0x1F000 or ord(ch) == 0xFE0F for ch in text), name
