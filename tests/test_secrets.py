"""A canary key through every failure path: it must appear nowhere (issue 9, items 1, 2 and 9).

Where we look, as a user's notebook would show or keep it: every exception of the chain (message,
repr, attributes) and every frame's local variables, rendered as ``traceback`` does with
``capture_locals=True`` and as IPython's ``%xmode Verbose`` does in a real kernel (nbclient); the
records of every logger at DEBUG (httpx and httpcore included); the journal's files, byte for byte;
the state of every live widget after the Studio's Connect; PNG metadata and an exported dataset.

The canary is a module global and each call receives it as an argument expression, so no frame of
this file holds it in a local: any occurrence found comes from mjnb or the libraries under it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

import mjnb

sys.path.insert(0, os.path.dirname(__file__))
from _recording import canary_key  # noqa: E402

CANARY = canary_key()
DIALECTS = ("mjproxy", "newapi", "acedata", "evolink")
#: A well-formed task id of each dialect (so that a read gets as far as the network).
TASK_ID = {
    "mjproxy": "1234567890",
    "newapi": "1234567890",
    "acedata": "0c1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
    "evolink": "task-unified-1757165031-mjv7",
}
SUBMIT_PATH = {
    "mjproxy": "/mjproxy/mj/submit/imagine",
    "newapi": "/newapi/mj/submit/imagine",
    "acedata": "/acedata/midjourney/imagine",
    "evolink": "/evolink/v1/images/generations",
}


# -- where the canary could show ------------------------------------------------------------------
def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a half-built library object: its repr is what fails, not our search
        return f"<repr failed: {type(exc).__name__}>"


def exposure(exc: BaseException, *, with_locals: bool = True) -> str:
    """Everything a traceback printed with local variables shows of ``exc`` and its chain (without
    ``with_locals``: what a plain traceback, the exceptions' attributes and their reprs show)."""
    parts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        parts += [
            type(item).__name__,
            str(item),
            _safe_repr(item),
            _safe_repr(item.args),
            _safe_repr(getattr(item, "__dict__", {})),
            *getattr(item, "__notes__", []),
        ]
        tb: types.TracebackType | None = item.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            # This file's frames hold no canary by construction: only library frames are searched.
            if with_locals and frame.f_code.co_filename != __file__:
                where = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
                parts += [f"[{where}] {k} = {_safe_repr(v)}" for k, v in frame.f_locals.items()]
            tb = tb.tb_next
        todo += [item.__cause__, item.__context__]
    return "\n".join(parts)


class Watch:
    """Logs of every logger at DEBUG, the exceptions seen and the files written during one test."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.records: list[str] = []
        self.exposures: list[str] = []
        self.plain: list[str] = []
        self.render_errors: list[str] = []

    def catch(self, call: Callable[[], Any], *expected: type[BaseException]) -> BaseException:
        """Run ``call``; it must raise an mjnb error (of ``expected`` when given); keep what it exposes."""
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - classified just below
            self.exposures.append(exposure(exc))
            self.plain.append(exposure(exc, with_locals=False))
            try:  # as the standard library prints it: every local's repr() must work
                self.exposures.append(
                    "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
                )
            except Exception as failed:  # noqa: BLE001 - a finding, reported by assert_clean
                self.render_errors.append(f"{type(failed).__name__}: {failed}")
            assert isinstance(exc, mjnb.MjnbError), f"untyped {type(exc).__name__}: {exc}"
            if expected:
                assert isinstance(exc, expected), f"{type(exc).__name__} ({exc}); wanted {expected}"
            return exc
        raise AssertionError("the call was expected to fail")

    def files(self) -> Iterator[tuple[Path, bytes]]:
        for path in sorted(self.home.rglob("*")):
            if path.is_file():
                yield path, path.read_bytes()

    def assert_clean(self, *, with_locals: bool = True) -> None:
        assert self.exposures or self.records, "nothing was observed: the test exercised no failure path"
        assert not self.render_errors, f"traceback.TracebackException(capture_locals=True) failed: {self.render_errors}"
        for text in self.exposures if with_locals else self.plain:
            at = text.find(CANARY)
            assert at < 0, f"the key is shown in a traceback with locals: …{text[max(0, at - 300) : at + 40]}…"
        for line in self.records:
            assert CANARY not in line, f"the key is in a log record: {line[:300]}"
        for path, data in self.files():
            assert CANARY.encode() not in data, f"the key is written in {path.name}"


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record) + " " + _safe_repr(record.args) + " " + _safe_repr(record.__dict__))


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Watch]:
    w = Watch(tmp_path)
    handler = _Collect(w.records)
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore", "mjnb", "mjnb.sim", "h11")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield w
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module")
def strict_sim() -> Iterator[Any]:
    """A simulator that knows one key only: the canary is refused with 401/403."""
    from mjnb.sim import Simulator

    with Simulator(duration=0.2, api_key="sk-the-only-right-key") as sim:
        yield sim


def _client(dialect: str, base_url: str, home: Path, **kw: Any) -> mjnb.Client:
    kw.setdefault("max_retries", 0)
    return mjnb.Client(dialect, base_url, CANARY, journal=home / "journal.sqlite", **kw)


# -- the failure paths ----------------------------------------------------------------------------
@pytest.mark.parametrize("dialect", DIALECTS)
def test_refused_connection_timeout_lost_answer_and_401(
    dialect: str, simulator: Any, strict_sim: Any, watch: Watch
) -> None:
    home = watch.home
    with _client(dialect, "http://127.0.0.1:9/x", home) as nowhere:
        watch.catch(lambda: nowhere.imagine("a refused cat"), mjnb.TransportError, mjnb.SubmitUncertain)
        watch.catch(lambda: nowhere.get(TASK_ID[dialect]), mjnb.TransportError)
        assert CANARY not in repr(nowhere)
    with _client(dialect, simulator.url(dialect), home, timeout=0.3) as slow:
        simulator.state.faults.add("latency", path=SUBMIT_PATH[dialect], delay=1.0)
        watch.catch(lambda: slow.imagine("a slow cat"), mjnb.SubmitUncertain)
        simulator.state.faults.add("drop_after", path=SUBMIT_PATH[dialect])
        watch.catch(lambda: slow.imagine("a cat whose answer is lost"), mjnb.SubmitUncertain)
        simulator.state.faults.add("drop_before", path=f"/{dialect}/", times=4)
        watch.catch(lambda: slow.get(TASK_ID[dialect]), mjnb.TransportError)
    with _client(dialect, strict_sim.url(dialect), home) as refused:
        watch.catch(lambda: refused.imagine("a cat with the wrong key"), mjnb.AuthenticationError)
    watch.assert_clean()


async def test_async_client_failure_paths(simulator: Any, watch: Watch) -> None:
    client = mjnb.AsyncClient(
        "newapi", "http://127.0.0.1:9/x", CANARY, max_retries=0, journal=watch.home / "journal.sqlite"
    )
    try:
        try:
            await client.imagine("an async refused cat")
        except BaseException as exc:  # noqa: BLE001
            watch.exposures.append(exposure(exc))
            assert isinstance(exc, mjnb.MjnbError)
    finally:
        await client.aclose()
    slow = mjnb.AsyncClient(
        "acedata", simulator.url("acedata"), CANARY, max_retries=0, timeout=0.3, journal=watch.home / "journal.sqlite"
    )
    simulator.state.faults.add("latency", path=SUBMIT_PATH["acedata"], delay=1.0)
    try:
        try:
            await slow.imagine("an async slow cat", wait=True, timeout=5)
        except BaseException as exc:  # noqa: BLE001
            watch.exposures.append(exposure(exc))
            assert isinstance(exc, mjnb.SubmitUncertain)
    finally:
        await slow.aclose()
    watch.assert_clean()


def _echo(request: httpx.Request) -> str:
    """What a careless server quotes back: every request header, the key's among them."""
    return "; ".join(f"{k}: {v}" for k, v in request.headers.items())


def _echoing_500(request: httpx.Request) -> httpx.Response:
    echo = _echo(request)
    body = {
        "code": 500,
        "description": f"upstream failed, headers were {echo}",
        "message": echo,
        "error": {"code": "internal", "message": echo},
        "result": None,
    }
    return httpx.Response(500, json=body)


def _echo_500_failures(dialect: str, watch: Watch) -> None:
    transport = httpx.MockTransport(_echoing_500)
    with _client(dialect, "https://api.example.com", watch.home, http_client=httpx.Client(transport=transport)) as c:
        err = watch.catch(lambda: c.imagine("a cat on an echoing server"), mjnb.SubmitUncertain, mjnb.APIError)
        assert "upstream failed" in str(err) or "500" in str(err)  # the server's words are kept, only the key goes
        watch.catch(lambda: c.get(TASK_ID[dialect]), mjnb.APIError, mjnb.TransportError)
        assert c.journal is not None
        rows = [e for e in c.journal.entries(limit=10)]
        assert rows and all(CANARY not in json.dumps(vars(e), default=str) for e in rows)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_500_that_echoes_the_key_header(dialect: str, watch: Watch) -> None:
    """Messages, attributes (``APIError.body``), the journal's rows and files, the logs: no key."""
    _echo_500_failures(dialect, watch)
    watch.assert_clean(with_locals=False)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_500_that_echoes_the_key_header_shows_no_key_in_locals(dialect: str, watch: Watch) -> None:
    _echo_500_failures(dialect, watch)
    watch.assert_clean()


def _mjproxy_echoing_success(request: httpx.Request) -> httpx.Response:
    """A midjourney-proxy that quotes the key in the task it returns (prompt, description, fail reason)."""
    echo = _echo(request)
    path = request.url.path
    if path.endswith("/submit/imagine"):
        return httpx.Response(200, json={"code": 1, "description": f"ok {echo}", "result": "1796", "properties": {}})
    if path.endswith(".png"):
        from mjnb.images import to_png

        return httpx.Response(
            200,
            content=to_png(__import__("PIL.Image").Image.new("RGB", (64, 64), "teal")),
            headers={"content-type": "image/png"},
        )
    task = {
        "id": "1796",
        "action": "IMAGINE",
        "status": "SUCCESS",
        "progress": "100%",
        "prompt": f"a cat {echo}",
        "promptEn": f"a cat {echo}",
        "description": echo,
        "failReason": "",
        "imageUrl": "https://api.example.com/files/1796.png",
        "submitTime": 1,
        "startTime": 2,
        "finishTime": 3,
        "properties": {"finalPrompt": f"a cat {echo}"},
        "buttons": [],
    }
    return httpx.Response(200, json=[task] if path.endswith("/list-by-condition") else task)


def test_a_task_that_quotes_the_key_is_stored_and_saved_without_it(watch: Watch) -> None:
    from mjnb.images import read_png_metadata, to_png

    transport = httpx.MockTransport(_mjproxy_echoing_success)
    with _client("mjproxy", "https://api.example.com", watch.home, http_client=httpx.Client(transport=transport)) as c:
        task = c.wait(c.imagine("a cat"), timeout=10)
        assert task.succeeded and "a cat" in (task.prompt or "")
        shown = repr(task) + json.dumps(task.raw, default=str) + str(task.prompt) + str(task.final_prompt)
        assert CANARY not in shown
        image = c.download(task)
        png = to_png(image, metadata={"prompt": task.prompt, "task_id": task.id, "raw": task.raw})
        (watch.home / "saved.png").write_bytes(png)
        assert read_png_metadata(png)["task_id"] == "1796"
        exported = mjnb.export([task], watch.home / "dataset", client=c, progress=False)
        metadata = (watch.home / "dataset" / "metadata.jsonl").read_bytes()
        assert exported.written and b"mj-api-secret: ***" in metadata  # the echo got there, blanked
    watch.records.append(shown)
    watch.assert_clean()


def _acedata_stream_with_a_bad_line(request: httpx.Request) -> httpx.Response:
    first = {"success": True, "task_id": "t-1", "trace_id": "tr-1", "progress": 10}
    lines = [json.dumps(first), '{"success": false, "error": {"code": "api_error", "message": "upstream broke"}}']
    return httpx.Response(
        200, content="\n".join(lines).encode() + b"\n", headers={"content-type": "application/x-ndjson"}
    )


def test_a_failing_acedata_stream_line_shows_no_key(watch: Watch) -> None:
    transport = httpx.MockTransport(_acedata_stream_with_a_bad_line)
    with _client("acedata", "https://api.example.com", watch.home, http_client=httpx.Client(transport=transport)) as c:
        watch.catch(lambda: c.imagine("a streamed cat", wait=True, timeout=10))
    watch.assert_clean()


@pytest.mark.parametrize("tail", ["\r\nX-Injected: 1", "\x00", "\u200b", "é"])
def test_a_key_no_header_can_carry_is_refused_when_given(tail: str, simulator: Any, watch: Watch) -> None:
    sent_before = simulator.state.requests.count()

    def build_and_submit() -> None:
        client = mjnb.Client(
            "mjproxy", simulator.url("mjproxy"), CANARY + tail, max_retries=0, journal=watch.home / "journal.sqlite"
        )
        try:
            client.imagine("a cat")
        finally:
            client.close()

    err = watch.catch(build_and_submit, mjnb.ValidationError)
    assert getattr(err, "field", None) == "api_key"
    assert simulator.state.requests.count() == sent_before
    watch.assert_clean()


@pytest.mark.parametrize("bad", [{"timeout": -1}, {"max_retries": 99}, {"poll_interval": math.nan}])
def test_a_refused_client_argument_renders_with_capture_locals(bad: dict[str, Any], watch: Watch) -> None:
    watch.catch(
        lambda: mjnb.Client("mjproxy", "https://api.example.com", CANARY, journal=False, **bad), mjnb.ValidationError
    )
    watch.assert_clean()


# -- widget state ---------------------------------------------------------------------------------
def _all_widget_state() -> str:
    from ipywidgets.widgets.widget import _instances

    parts = []
    for widget in list(_instances.values()):
        state = {k: v for k, v in widget.get_state().items() if not isinstance(v, (bytes, memoryview))}
        parts.append(json.dumps(state, default=str))
    return "\n".join(parts)


async def test_studio_keeps_no_typed_key_after_connect(simulator: Any, watch: Watch) -> None:
    studio = mjnb.Studio()
    try:
        studio.base_url.value = ""
        studio.api_key.value = CANARY  # a key with no base URL: Connect fails
        studio.connect_button.click()
        assert "base_url" in studio.connection_status.value and studio.api_key.value == ""
        studio.base_url.value = simulator.url("evolink")
        studio.dialect_select.value = "evolink"
        studio.api_key.value = CANARY
        studio.connect_button.click()  # succeeds: the key now lives in the client only
        assert studio.client.dialect == "evolink" and studio.api_key.value == ""
        watch.records.append(_all_widget_state() + repr(studio) + repr(studio.client))
    finally:
        studio.close()
    watch.assert_clean()


# -- IPython verbose tracebacks in a real kernel --------------------------------------------------
_SETUP = ["%xmode Verbose", "import httpx, mjnb\nfrom mjnb.sim import Simulator\nsim = Simulator(duration=0.2).start()"]
# The key comes from the environment: no cell's source holds it.
_FAILING = {
    "refused": 'mjnb.Client("mjproxy", "http://127.0.0.1:9/x", max_retries=0, journal=False).imagine("a cat")',
    "timeout": 'sim.state.faults.add("latency", path="/newapi/mj/submit/imagine", delay=1.0)\n'
    'mjnb.Client("newapi", sim.url("newapi"), timeout=0.3, max_retries=0, journal=False).imagine("a cat")',
    "lost-answer": 'sim.state.faults.add("drop_after", path="/evolink/v1/images/generations")\n'
    'mjnb.Client("evolink", sim.url("evolink"), max_retries=0, journal=False).imagine("a lost cat")',
    "async-refused": 'await mjnb.AsyncClient("acedata", "http://127.0.0.1:9/x", max_retries=0, journal=False)'
    '.get("0c1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8")',
    "echoing-500": "def echo(request):\n"
    "    return httpx.Response(500, json={'message': str(dict(request.headers)), 'code': 500})\n"
    'mjnb.Client("acedata", "https://api.example.com", journal=False,\n'
    "            http_client=httpx.Client(transport=httpx.MockTransport(echo))).imagine('a cat')",
}


@pytest.fixture(scope="module")
def verbose_notebook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Runs the failing cells in a real kernel under ``%xmode Verbose``: each cell's error output, ANSI stripped."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    home = tmp_path_factory.mktemp("kernel")
    cells = [*_SETUP, *_FAILING.values()]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    saved = {k: os.environ.get(k) for k in ("MJNB_API_KEY", "MJNB_HOME")}
    os.environ.update(MJNB_API_KEY=CANARY, MJNB_HOME=str(home))
    try:
        nbclient.NotebookClient(
            nb, timeout=120, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(home)}}
        ).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert "Verbose" in nb.cells[0].outputs[0].text
    shown = {}
    for name, cell in zip(_FAILING, nb.cells[len(_SETUP) :]):
        errors = [out for out in cell.outputs if out.output_type == "error"]
        assert len(errors) == 1, (name, cell.outputs)
        shown[name] = re.sub(
            r"\x1b\[[0-9;]*m", "", "\n".join([errors[0].ename, errors[0].evalue, *errors[0].traceback])
        )
    return shown


@pytest.mark.parametrize(
    "name",
    [
        *_FAILING,
    ],
)
def test_ipython_verbose_tracebacks_in_a_kernel_show_no_key(name: str, verbose_notebook: dict[str, str]) -> None:
    shown = verbose_notebook[name]
    assert shown.split("\n", 1)[0] in ("SendFailed", "SubmitUncertain", "TransportError", "ServerError"), shown[:200]
    assert "self = " in shown  # verbose mode did print the frames' local variables
    at = shown.find(CANARY)
    assert at < 0, f"the key is in a verbose traceback: …{shown[max(0, at - 300) : at + 40]}…"


def test_exposure_finds_a_key_held_in_a_local() -> None:
    """The search must be able to fail: a key in a library frame's local is found."""
    library: dict[str, Any] = {}
    exec(
        compile("def library_code(secret):\n    raise ValueError('no key in the message')\n", "<lib>", "exec"), library
    )
    try:
        library["library_code"](canary_key())
    except ValueError as exc:
        assert "sk-canary-" in exposure(exc)
