"""The verbs' logic, with no I/O: each flow is driven by a script of recorded answers.

A flow yields steps (Submit, Fetch, Update, Now, Download, Notify …); :class:`Script` answers each
with the next entry of a list, on a virtual clock, and records what the flow asked.  Nothing here
opens a socket or sleeps.  The wire itself is tested against the simulator in test_client*.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

import mjnb
from mjnb._flows import Download, Fetch, Flows, Notify, Now, Sleep, Stream, Submit, Update
from mjnb._models import Action, Task, TaskStatus
from mjnb.dialects import get_dialect


@dataclass
class Script:
    """Answers a flow's steps from ``answers`` (values, exceptions, or callables of the step)."""

    answers: list[Any]
    clock: float = 1000.0
    seen: list[Any] = field(default_factory=list)
    notified: list[Task] = field(default_factory=list)

    def run(self, flow: Any) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            self.seen.append(step)
            if isinstance(step, Now):
                value = self.clock
                continue
            if isinstance(step, Notify):
                self.notified.append(step.task)
                continue
            if isinstance(step, Sleep):
                self.clock += step.seconds
                continue
            if not self.answers:
                raise AssertionError(f"the flow asked for {step!r} but the script has no answer left")
            answer = self.answers.pop(0)
            if callable(answer) and not isinstance(answer, Task):
                answer = answer(step)
            if isinstance(answer, Advance):
                self.clock += answer.seconds
                answer = answer.then
            if isinstance(answer, BaseException):
                error = answer
            else:
                value = answer

    def kinds(self) -> list[str]:
        return [type(s).__name__ for s in self.seen if not isinstance(s, (Now, Notify))]


@dataclass
class Advance:
    """Answer ``then`` after ``seconds`` of virtual time (an Update that took that long)."""

    seconds: float
    then: Any


def flows(dialect: str = "mjproxy", **kw: Any) -> Flows:
    return Flows(get_dialect(dialect), poll_interval=1.0, journal=None, service="http://svc/", **kw)


def task(status: TaskStatus = TaskStatus.RUNNING, progress: int | None = None, **kw: Any) -> Task:
    kw.setdefault("id", "T1")
    kw.setdefault("dialect", "mjproxy")
    return Task(status=status, progress=progress, **kw)


def expect(kind: type, check: Callable[[Any], None] | None = None, answer: Any = None) -> Callable[[Any], Any]:
    def respond(step: Any) -> Any:
        assert isinstance(step, kind), f"expected {kind.__name__}, the flow asked for {step!r}"
        if check is not None:
            check(step)
        return answer

    return respond


# -- wait: progress clamp, notifications, timeout, failure ----------------------------------------
def test_wait_never_lets_progress_go_backwards_and_notifies_each_change_once():
    script = Script(
        [
            Advance(1, task(progress=40)),
            Advance(1, task(progress=20)),  # a regression: shown as 40
            Advance(1, task(progress=None)),  # a blank: still 40
            Advance(1, task(progress=70)),
            Advance(1, task(TaskStatus.SUCCEEDED, progress=100, image_url="http://img/1.png")),
        ]
    )
    done = script.run(flows().wait(task(progress=10), timeout=60, on_progress=lambda t: None))
    assert done.succeeded and done.progress == 100
    assert [t.progress for t in script.notified] == [10, 40, 70, 100]
    assert all(isinstance(s, Update) for s in script.seen if not isinstance(s, (Now, Notify)))


def test_wait_times_out_on_the_drivers_clock_with_the_last_state():
    script = Script([Advance(30, task(progress=50)), Advance(30, task(progress=60))])
    with pytest.raises(mjnb.TaskTimeout) as caught:
        script.run(flows().wait(task(progress=5), timeout=45))
    assert caught.value.task.progress == 60
    assert "after 45 s" in str(caught.value)
    assert script.kinds() == ["Update", "Update"]


def test_wait_asks_the_tracker_for_no_longer_than_the_time_left():
    asked: list[float] = []

    def record(step: Any) -> Any:
        asked.append(step.timeout)
        return Advance(step.timeout, task(progress=50))

    script = Script([record, record])
    with pytest.raises(mjnb.TaskTimeout):
        script.run(flows().wait(task(), timeout=10, poll_interval=2))
    assert asked == [10]
    assert [s.interval for s in script.seen if isinstance(s, Update)] == [2]


def test_wait_raises_task_failed_with_the_task_or_returns_it():
    failed = task(TaskStatus.FAILED, fail_reason="finished without an image (moderated?)")
    with pytest.raises(mjnb.TaskFailed) as caught:
        Script([failed]).run(flows().wait(task(), timeout=5))
    assert caught.value.task.fail_reason == "finished without an image (moderated?)"
    assert Script([failed]).run(flows().wait(task(), timeout=5, raise_on_failure=False)) == failed


def test_wait_keeps_what_the_server_does_not_echo():
    script = Script([task(TaskStatus.SUCCEEDED, progress=100)])
    done = script.run(flows().wait(task(prompt="a kite", parent_id="P0"), timeout=5))
    assert (done.prompt, done.parent_id) == ("a kite", "P0")


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "5", True])
def test_wait_refuses_a_bad_timeout_before_any_step(bad):
    script = Script([])
    with pytest.raises(mjnb.ValidationError) as caught:
        script.run(flows().wait(task(), timeout=bad))
    assert caught.value.field == "timeout" and script.seen == []


# -- imagine: everything is checked before the paid submit ----------------------------------------
@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"timeout": -1, "wait": True}, "timeout"),
        ({"timeout": float("nan"), "wait": True}, "timeout"),
        ({"on_progress": 5}, "on_progress"),
        ({"tags": {"a": 1}}, "tags"),
        ({"bot": "dalle"}, "bot"),
    ],
)
def test_imagine_checks_every_argument_before_sending(kw, field):
    script = Script([])
    with pytest.raises(mjnb.ValidationError) as caught:
        script.run(flows().imagine("a red kite", **kw))
    assert caught.value.field == field
    assert script.seen == []


def test_a_lone_surrogate_is_refused_naming_the_field():
    script = Script([])
    with pytest.raises(mjnb.ValidationError) as caught:
        script.run(flows().imagine("cat \ud800"))
    assert caught.value.field == "prompt" and "surrogate" in str(caught.value)
    assert script.seen == []


def test_imagine_with_wait_submits_once_then_follows_the_task():
    submitted = task(TaskStatus.QUEUED)
    script = Script(
        [
            expect(Submit, lambda s: s.request.op == "imagine" and s.fingerprint, submitted),
            Advance(2, task(TaskStatus.SUCCEEDED, progress=100)),
        ]
    )
    done = script.run(flows().imagine("a red kite --ar 3:2", wait=True, timeout=30))
    assert done.succeeded
    assert script.kinds() == ["Submit", "Update"]


def test_fingerprints_tell_cells_apart_and_match_on_a_rerun():
    def fp(prompt: str, tags: dict[str, str]) -> str:
        script = Script([expect(Submit, answer=task())])
        script.run(flows().imagine(prompt, tags=tags))
        return script.seen[0].fingerprint

    assert fp("a kite", {"cell": "1"}) == fp("a kite", {"cell": "1"})
    assert fp("a kite", {"cell": "1"}) != fp("a kite", {"cell": "2"})
    assert fp("a kite", {"cell": "1"}) != fp("a kite --s 50", {"cell": "1"})


def test_a_stream_that_ends_early_is_followed_by_polling():
    known = task(TaskStatus.RUNNING, progress=30, dialect="acedata")
    script = Script(
        [
            expect(Stream, lambda s: s.timeout == 60 and s.fallback is not None, known),
            Advance(3, task(TaskStatus.SUCCEEDED, progress=100, dialect="acedata")),
        ]
    )
    done = script.run(flows("acedata").imagine("a red kite", wait=True, timeout=60))
    assert done.succeeded
    assert script.kinds() == ["Stream", "Update"]


def test_a_failed_streamed_job_raises_task_failed_with_the_task():
    failed = task(TaskStatus.FAILED, dialect="acedata", fail_reason="banned prompt")
    with pytest.raises(mjnb.TaskFailed) as caught:
        Script([failed]).run(flows("acedata").imagine("a red kite", wait=True))
    assert caught.value.task is failed


def test_submit_uncertain_from_the_driver_reaches_the_caller_untouched():
    uncertain = mjnb.SubmitUncertain("lost", operation="imagine", journal_id=7)
    with pytest.raises(mjnb.SubmitUncertain) as caught:
        Script([uncertain]).run(flows().imagine("a red kite", wait=True))
    assert caught.value.journal_id == 7


# -- follow-ups --------------------------------------------------------------------------------------
def _grid(**kw: Any) -> Task:
    actions = (
        Action("U1", "U1", index=0, native={"customId": "MJ::JOB::upsample::1::abc"}),
        Action("vary_region", "Vary (Region)", native={"customId": "MJ::Inpaint::1::abc::SOLO"}, needs_input=True),
    )
    return task(TaskStatus.SUCCEEDED, progress=100, actions=actions, size=(64, 64), image_url="http://img/g.png", **kw)


@pytest.mark.parametrize("bad", [None, 5, ["U1"], ""])
def test_action_refuses_a_name_that_is_not_a_string_before_anything(bad):
    script = Script([])
    with pytest.raises(mjnb.ValidationError) as caught:
        script.run(flows().action(_grid(), bad))
    assert caught.value.field == "action" and script.seen == []


def test_action_not_offered_lists_what_is():
    with pytest.raises(mjnb.ValidationError, match="allowed: U1, vary_region"):
        Script([]).run(flows().action(_grid(), "V3"))


def test_vary_region_opens_the_modal_then_sends_the_mask():
    opened = task(TaskStatus.AWAITING_INPUT, id="M1")
    mask = bytearray(64 * 64)
    for y in range(10, 20):
        for x in range(10, 30):
            mask[y * 64 + x] = 255
    from PIL import Image

    image = Image.frombytes("L", (64, 64), bytes(mask))
    sent: list[Submit] = []

    def keep(answer: Task) -> Callable[[Any], Task]:
        def respond(step: Any) -> Task:
            assert isinstance(step, Submit)
            sent.append(step)
            return answer

        return respond

    script = Script([keep(opened), keep(task(TaskStatus.QUEUED, id="M1"))])
    result = script.run(flows().inpaint(_grid(), image, "a red balloon"))
    assert result.id == "M1"
    assert [s.request.op for s in sent] == ["action", "modal"]
    assert all(s.parent_id == "T1" for s in sent)
    modal_body = sent[1].request.json
    assert modal_body["taskId"] == "M1" and modal_body["maskBase64"].startswith("data:image/png;base64,")


def test_a_mask_of_another_size_is_refused_before_the_modal_opens():
    from PIL import Image

    script = Script([])
    with pytest.raises(mjnb.ValidationError, match="64"):
        script.run(flows().inpaint(_grid(), Image.new("L", (32, 32), 255), "x"))
    assert script.seen == []


def test_an_image_size_unknown_to_the_server_is_downloaded_once():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (48, 32), "white").save(buf, "PNG")
    grid = _grid().evolve(size=None)
    script = Script([expect(Download, lambda s: s.url == "http://img/g.png", buf.getvalue())])
    with pytest.raises(mjnb.ValidationError, match="48"):
        script.run(flows().inpaint(grid, Image.new("L", (10, 10), 255), "x"))
    assert script.kinds() == ["Download"]


def test_download_of_a_video_task_says_it_is_a_video():
    video = task(TaskStatus.SUCCEEDED, progress=100, video_urls=("http://cdn/v.mp4",))
    with pytest.raises(mjnb.ValidationError, match="download_video"):
        Script([]).run(flows().download(video))
    data = Script([expect(Download, lambda s: s.url == "http://cdn/v.mp4", b"\x00\x00\x00\x18ftypmp42")]).run(
        flows().download_video(video)
    )
    assert data.startswith(b"\x00\x00\x00\x18ftyp")


def test_download_split_fetches_the_four_images_of_a_grid():
    from PIL import Image

    def png(colour: str) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), colour).save(buf, "PNG")
        return buf.getvalue()

    urls = tuple(f"http://img/{i}.png" for i in range(4))
    grid = task(TaskStatus.SUCCEEDED, image_urls=urls)
    colours = ["red", "green", "blue", "white"]
    script = Script([expect(Download, answer=png(c)) for c in colours])
    images = script.run(flows().download(grid, split=True))
    assert [im.getpixel((0, 0)) for im in images] == [(255, 0, 0), (0, 128, 0), (0, 0, 255), (255, 255, 255)]
    assert [s.url for s in script.seen] == list(urls)


def test_get_refuses_an_overlong_id_before_sending():
    script = Script([])
    with pytest.raises(mjnb.ValidationError) as caught:
        script.run(flows().get("a" * 100_000))
    assert caught.value.field == "task_id" and script.seen == []


def test_zoom_out_with_a_custom_factor_adds_zoom_to_the_prompt():
    with pytest.raises(mjnb.ValidationError, match="factor"):
        Script([]).run(flows().zoom_out(_grid(), 3))
    with pytest.raises(mjnb.ValidationError, match="factor"):
        Script([]).run(flows().zoom_out(_grid(), True))


def test_fetch_is_used_for_reads():
    script = Script([expect(Fetch, lambda s: s.request.op == "get", task(TaskStatus.SUCCEEDED))])
    assert script.run(flows().get("T1")).succeeded
