"""Painting latency of the CanvasEditor in a real browser: mouse move → pixel on screen.

    .venv/bin/python bench/canvas_latency.py [--apps lab,notebook,voila] [--moves 50]
                                             [--paced 60] [--no-plain] [--json OUT]

For each front end (JupyterLab 4, Notebook 7, Voilà) and each state of mjnb's TCP_NODELAY
server extension (off / on, switched in the hermetic server config), it starts a Jupyter
server on 127.0.0.1, opens a generated notebook holding a ``CanvasEditor`` (1024² photo shown
at 768², default brush) in headless Chromium, and drags the brush:

* sequential — 50 single-step moves, each awaited until the pixel under it changes (one event
  in flight: the pure round trip);
* paced — 60 moves sent at up to 60 Hz without waiting (a real drag; the achieved rate is
  printed, each Playwright move being itself a ~10–20 ms CDP call).

Times are taken in the page (``performance.now()``): from the DOM ``mousemove`` to the moment
ipycanvas copies the drawing onto the visible canvas (``drawImage`` wrapped), and to the next
animation frame.  The break-down splits one sequential round trip into browser → kernel
handler start, the editor's handler, handler end → websocket message in the page, and
message → canvas.  With ``--plain`` (default on) the plain ipycanvas stroke handler of
``/work/shared/browser/probe_canvas.ipynb`` is measured the same way, for comparison.

The issue's target: p95 ≤ 35 ms in JupyterLab.  Nothing is asserted; figures are printed.
The server / browser / timing code is ``tests/browser/_harness.py``, the same the browser
tests use.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser._harness import (  # noqa: E402
    Chromium,
    JupyterServer,
    NotebookUI,
    breakdown,
    brush_latency,
    chromium_missing_reason,
    log,
)

PLAIN_NOTEBOOK = Path("/work/shared/browser/probe_canvas.ipynb")
EDITOR_NB = "editor_latency.ipynb"
CANVAS = "canvas.mjnb-canvas"

# The notebook the bench opens. The editor gets a client that is never called (painting does
# not touch the network), so the figures do not depend on the simulator.  Two callbacks are
# slipped around the editor's own mouse-move handler to time it for the break-down.
EDITOR_CELLS = [
    r"""
import json
import time

import ipywidgets as widgets
import numpy as np
from PIL import Image

import mjnb
from mjnb.widgets import CanvasEditor

side = 1024
y, x = np.mgrid[0:side, 0:side] / side
rgb = np.stack([0.5 + 0.5 * np.sin(6 * x + 3 * y), 0.5 + 0.5 * np.cos(5 * y - 2 * x),
                0.5 + 0.4 * np.sin(9 * x * y)], axis=-1)
photo = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
offline = mjnb.AsyncClient("mjproxy", "http://127.0.0.1:9", "sk-bench-never-sent")
editor = CanvasEditor(photo, client=offline, display_size=768)

kernel_events = []   # [x, y, handler start, handler end], display px, epoch s
_pending = {}
_moves = editor.layers.multi._canvases[-1]._mouse_move_callbacks
_moves.callbacks.insert(0, lambda x, y: _pending.__setitem__("t", time.time()))
_moves.callbacks.append(lambda x, y: kernel_events.append([x, y, _pending.pop("t", time.time()), time.time()]))

stats = widgets.Textarea()
stats.add_class("bench-stats")
dump = widgets.Button(description="dump")
dump.add_class("bench-dump")
dump.on_click(lambda _: setattr(stats, "value", json.dumps({"kernel_events": kernel_events,
                                                             "strokes": len(editor.strokes)})))
ready = widgets.Label("READY")
ready.add_class("bench-ready")
display(editor, widgets.HBox([dump, stats]), ready)
""",
]


def make_editor_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.strip("\n")) for src in EDITOR_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)


def run_one(browser: Chromium, root: Path, app: str, nodelay: bool, kind: str, n_seq: int, n_paced: int) -> dict:
    """One front end, one TCP_NODELAY state, one notebook ("editor" or "plain")."""
    nb, sel, ready = (
        (EDITOR_NB, CANVAS, ".bench-ready")
        if kind == "editor"
        else ("probe.ipynb", "canvas.mask-canvas", ".probe-ready")
    )
    spacing = 40 if kind == "editor" else 20  # > the brush diameter (32 px editor, 16 px probe)
    server = JupyterServer(root, app=app, nodelay=nodelay, env={"MJNB_SIM_DURATION": "1.5"})
    res: dict = {"app": app, "nodelay": nodelay, "kind": kind}
    try:
        res["server_start_s"] = round(server.start(), 1)
        ui = NotebookUI(browser.new_page(), server, REPO / "test-artifacts" / "bench")
        t0 = time.time()
        ui.open(nb)
        if app != "voila":
            ui.run_all()
        ui.page.wait_for_selector(ready, state="visible", timeout=120_000)
        ui.page.wait_for_selector(sel, state="visible")
        # the photo is painted (a separately decoded image): wait for an opaque pixel
        ui.page.wait_for_function(
            """([s]) => { const c = document.querySelector(s);
            return c.getContext('2d').getImageData(c.width >> 1, c.height - 20, 1, 1).data[3] > 0; }""",
            arg=[sel],
        )
        if app != "voila":
            ui.wait_idle()
        time.sleep(0.5)
        res["ready_s"] = round(time.time() - t0, 1)
        r = brush_latency(ui, sel, n_seq=n_seq, n_paced=n_paced, spacing=spacing)
        res.update({k: v for k, v in r.items() if k not in ("seq", "paced_raw", "ws")})
        if kind == "editor":
            ui.page.locator(".bench-dump").click()
            ui.page.wait_for_function("() => document.querySelector('.bench-stats textarea').value.length > 0")
            kstats = json.loads(ui.page.eval_on_selector(".bench-stats textarea", "e => e.value"))
            res["breakdown"] = breakdown(r["seq"], kstats["kernel_events"], r["ws"])
            res["kernel_strokes"] = kstats["strokes"]
        res["nodelay_loaded"] = "TCP_NODELAY on kernel websockets" in server.log_text()
        ui.close()
    except Exception as exc:  # noqa: BLE001 - one front end failing must not hide the others
        res["error"] = f"{type(exc).__name__}: {exc}"[:400]
        log(f"{app} nodelay={nodelay} {kind}: {res['error']}")
    finally:
        res["shutdown"] = server.stop()
    return res


def fmt(s: dict | None, key: str = "p50", digits: int = 0) -> str:
    return "—" if not s else f"{s[key]:.{digits}f}"


def print_table(results: list[dict]) -> None:
    print()
    print("Mouse move → pixel on the visible canvas, ms (in-page clock; sequential = one move in flight,")
    print("paced = a drag at up to 60 Hz; 'frame' = next animation frame after the draw)")
    print()
    head = (
        "| notebook | front end | TCP_NODELAY | seq p50 | seq p95 | seq frame p95 | paced p50 | paced p95 "
        "| paced Hz | timeouts |"
    )
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    names = {"lab": "JupyterLab 4", "notebook": "Notebook 7", "voila": "Voilà"}
    for r in results:
        kind = "CanvasEditor" if r["kind"] == "editor" else "plain ipycanvas"
        onoff = ("on" if r["nodelay"] else "off") + ("" if r.get("nodelay_loaded") == r["nodelay"] else " (?)")
        if "error" in r:
            print(f"| {kind} | {names[r['app']]} | {onoff} | error: {r['error'][:60]} |||||||")
            continue
        s, p = r["sequential"], r["paced"]
        print(
            f"| {kind} | {names[r['app']]} | {onoff} | {fmt(s['event_to_canvas_ms'])} | "
            f"{fmt(s['event_to_canvas_ms'], 'p95')} | {fmt(s['event_to_next_frame_ms'], 'p95')} | "
            f"{fmt(p['event_to_canvas_ms'])} | {fmt(p['event_to_canvas_ms'], 'p95')} | {p['achieved_hz']} | "
            f"{s['timeouts'] + p['timeouts']} |"
        )
    editor = [r for r in results if r["kind"] == "editor" and "breakdown" in r]
    if editor:
        print()
        print(
            "Break-down of a sequential move, CanvasEditor, p50 ms: browser → handler start | handler | "
            "handler end → ws message in page | message → canvas"
        )
        print()
        print("| front end | TCP_NODELAY | → handler | handler | → ws msg | → canvas |")
        print("|---|---|---|---|---|---|")
        for r in editor:
            b = r["breakdown"]
            print(
                f"| {names[r['app']]} | {'on' if r['nodelay'] else 'off'} | {fmt(b['browser_to_kernel_handler_ms'], digits=1)} | "
                f"{fmt(b['kernel_handler_ms'], digits=1)} | {fmt(b['handler_end_to_ws_message_in_page_ms'], digits=1)} | "
                f"{fmt(b['ws_message_to_canvas_ms'], digits=1)} |"
            )
    lab_on = [r for r in editor if r["app"] == "lab" and r["nodelay"]]
    if lab_on:
        p95 = lab_on[0]["sequential"]["event_to_canvas_ms"]["p95"]
        print(f"\nTarget (issue 5): p95 ≤ 35 ms in JupyterLab with the extension — measured {p95:.0f} ms (sequential).")


def versions() -> str:
    import importlib.metadata as md
    import subprocess

    parts = []
    for pkg in (
        "jupyterlab",
        "notebook",
        "voila",
        "jupyter_server",
        "ipykernel",
        "ipywidgets",
        "ipycanvas",
        "playwright",
    ):
        try:
            parts.append(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            parts.append(f"{pkg} -")
    try:
        parts.append(
            subprocess.run(
                ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
        )
    except OSError:
        pass
    return ", ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apps", default="lab,notebook,voila")
    ap.add_argument("--moves", type=int, default=50, help="sequential moves")
    ap.add_argument("--paced", type=int, default=60, help="paced moves")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain ipycanvas comparison")
    ap.add_argument("--json", help="write every figure (without raw records) to this file")
    args = ap.parse_args()
    reason = chromium_missing_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="mjnb-bench-latency-"))
    make_editor_notebook(root / EDITOR_NB)
    kinds = ["editor"] + ([] if args.no_plain or not PLAIN_NOTEBOOK.exists() else ["plain"])
    if "plain" in kinds:
        shutil.copy(PLAIN_NOTEBOOK, root / "probe.ipynb")
    results = []
    t0 = time.time()
    try:
        with Chromium() as browser:
            for kind in kinds:
                for app in args.apps.split(","):
                    for nodelay in (False, True):
                        log(f"{kind} on {app}, TCP_NODELAY {'on' if nodelay else 'off'} …")
                        results.append(run_one(browser, root, app, nodelay, kind, args.moves, args.paced))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_table(results)
    print(f"\n{versions()}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    print(f"({time.time() - t0:.0f} s in all)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
