"""Drive real Jupyter front ends in headless Debian Chromium: the code shared by tests and bench.

Used by ``tests/browser/conftest.py`` (pytest fixtures) and ``bench/canvas_latency.py``; it is
plain Python (no pytest), so that the benchmark measures exactly what the tests drive.

* :class:`JupyterServer` — JupyterLab, Notebook 7 or Voilà (as a jupyter_server extension) on
  127.0.0.1 with a random token, a free port and hermetic config / settings / runtime /
  IPython dirs; mjnb's TCP_NODELAY server extension switched on or off explicitly; stopped by
  PID (REST shutdown first, then signals to its process group, then its kernels' PIDs).
* :func:`launch_chromium` — Debian's ``/usr/bin/chromium`` through Playwright (never
  ``playwright install``: the network blocks browser downloads) with the flags that keep it
  off the internet.
* :class:`NotebookUI` — one browser tab on one notebook: open it, wait for the kernel, run all
  (or the first cells), evaluate Python in the notebook's kernel, find widgets by CSS class,
  map canvas pixels to page coordinates, drag, save a screenshot + console log.
* :data:`PROBE_JS` and :func:`brush_latency` — mouse-move → pixel-on-screen timing in the page
  (``performance.now()``), as ``../shared/browser/probe.py`` proved: a wrapped
  ``CanvasRenderingContext2D.drawImage`` marks the moment ipycanvas copies a batch of drawing
  onto the visible canvas.

Proven set-up and its reasons: ``/work/shared/BROWSER.md`` (copied from its probe).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable, Sequence

CHROMIUM = "/usr/bin/chromium"

# --no-sandbox: root; --disable-gpu: software canvases (cheap getImageData); the networking
# flags stop Chromium dialling Google hosts, which are refused here and slow it down;
# --disable-dev-shm-usage: what CI containers with a 64 MB /dev/shm need.  Never
# --user-data-dir in args (Playwright refuses it): launch_persistent_context gets a fresh dir.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: JupyterLab user settings written into the hermetic settings dir.
LAB_SETTINGS = {
    # Lab 4 virtualises long notebooks: an off-screen output may leave the DOM. Turn it off.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # No news / update checks (no internet; they would pop a toast over the notebook).
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}

#: The server extension that sets TCP_NODELAY on kernel websockets (mjnb._jupyter_server_ext).
NODELAY_EXTENSION = "mjnb._jupyter_server_ext"

#: Environment variables that would point a kernel at a real service: never passed on.
_REAL_SERVICE_VARS = ("MJNB_API_KEY", "MJNB_BASE_URL", "MJNB_DIALECT")


def log(*parts: Any) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: Iterable[float], p: float) -> float | None:
    xs = sorted(values)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (k - lo), 1)


def summary(values: Iterable[float | None]) -> dict[str, Any] | None:
    xs = [x for x in values if x is not None]
    if not xs:
        return None
    return {
        "n": len(xs),
        "p50": pct(xs, 50),
        "p95": pct(xs, 95),
        "min": round(min(xs), 1),
        "max": round(max(xs), 1),
        "mean": round(statistics.mean(xs), 1),
    }


def _http(url: str, method: str = "GET", timeout: float = 5) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def chromium_missing_reason() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright; no `playwright install`)"
    return None


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------
class JupyterServer:
    """A Jupyter server in hermetic dirs, tracked and stopped by PID.

    ``app``: "lab" (JupyterLab 4), "notebook" (Notebook 7) or "voila" (Voilà as a
    jupyter_server extension: ``/voila/render/<nb>``; unlike the standalone ``voila`` command
    it loads server extensions, so the TCP_NODELAY one applies too).
    ``nodelay``: True / False switches mjnb's TCP_NODELAY extension on / off in the hermetic
    config (it wins over whatever ``pip install`` enabled); None leaves the installed state.
    ``env``: extra environment for the server and therefore its kernels.
    """

    def __init__(
        self,
        root: Path,
        *,
        app: str = "lab",
        nodelay: bool | None = None,
        env: dict[str, str] | None = None,
        state_dir: Path | None = None,
    ) -> None:
        if app not in ("lab", "notebook", "voila"):
            raise ValueError(f"app: {app!r}; use lab, notebook or voila")
        self.root, self.app, self.nodelay = Path(root), app, nodelay
        self.extra_env = dict(env or {})
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix=f"mjnb-jupyter-{app}-"))
        self.port = free_port()
        self.token = "mjnb-" + os.urandom(12).hex()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = self.state_dir / f"server-{app}.log"
        self._logf = None
        self._kernel_pids: set[int] = set()

    # -- start ---------------------------------------------------------------------------------
    def _hermetic_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _REAL_SERVICE_VARS}
        for var, sub in [
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("IPYTHONDIR", "ipython"),
        ]:
            d = self.state_dir / sub
            d.mkdir(parents=True, exist_ok=True)
            env[var] = str(d)
        env.pop("JUPYTER_PATH", None)
        env.update(self.extra_env)
        return env

    def _write_config(self) -> None:
        config = self.state_dir / "config"
        if self.nodelay is not None:
            # An explicit jpserver_extensions entry wins over the config.d files of sys.prefix
            # (ServerApp.find_server_extensions only adds modules not named already).
            (config / "jupyter_server_config.json").write_text(
                json.dumps({"ServerApp": {"jpserver_extensions": {NODELAY_EXTENSION: bool(self.nodelay)}}})
            )
        for rel, content in LAB_SETTINGS.items():
            p = self.state_dir / "settings" / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(content))

    def command(self) -> list[str]:
        module = {"lab": "jupyterlab", "notebook": "notebook", "voila": "jupyter_server"}[self.app]
        cmd = [
            sys.executable,
            "-m",
            module,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.log_level=INFO",
        ]
        if self.app == "lab":
            cmd += [
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ]
        elif self.app == "notebook":
            cmd += ["--JupyterNotebookApp.expose_app_in_browser=True"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # as root the server exits rc=1 without it
        return cmd

    def start(self, timeout: float = 120) -> float:
        """Start and wait until ``/api/status`` answers; returns the seconds it took."""
        env = self._hermetic_env()
        self._write_config()
        self._logf = open(self.log_path, "w")
        t0 = time.time()
        # Its own session / process group: a Ctrl-C on pytest does not reach it before our
        # orderly shutdown, and stop() can signal the whole group.
        self.proc = subprocess.Popen(
            self.command(), cwd=self.root, env=env, stdout=self._logf, stderr=subprocess.STDOUT, start_new_session=True
        )
        while time.time() < t0 + timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter {self.app} exited rc={self.proc.returncode}; log: {self.log_path}\n" + self.log_tail()
                )
            try:
                if _http(self.api("/api/status"))[0] == 200:
                    return time.time() - t0
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"jupyter {self.app} did not answer /api/status in {timeout:g} s; log: {self.log_path}")

    def __enter__(self) -> JupyterServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- talking to it ---------------------------------------------------------------------------
    def api(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def url_for(self, notebook: str, *, reset: bool = True) -> str:
        """The page that shows ``notebook`` (a path relative to the root) in this front end."""
        path = {"lab": "/lab/tree/", "notebook": "/notebooks/", "voila": "/voila/render/"}[self.app] + notebook
        # ?reset: JupyterLab starts from an empty workspace instead of re-opening earlier tabs
        return self.api(path) + ("&reset" if reset and self.app == "lab" else "")

    def kernels(self) -> list[dict]:
        return json.loads(_http(self.api("/api/kernels"))[1])

    def shutdown_kernels(self) -> None:
        """Stop every kernel through the REST API (their PIDs are remembered for stop())."""
        self._remember_kernel_pids()
        for k in self.kernels():
            try:
                _http(self.api(f"/api/kernels/{k['id']}"), method="DELETE", timeout=20)
            except (OSError, urllib.error.URLError):
                pass

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _remember_kernel_pids(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        if self.proc is None:
            return
        try:
            self._kernel_pids |= {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass

    # -- stop ------------------------------------------------------------------------------------
    def stop(self) -> dict[str, Any]:
        """Kernels (REST), then the server (REST /api/shutdown), then SIGTERM / SIGKILL to its
        process group, then any kernel PID still alive. Returns what was done."""
        info: dict[str, Any] = {}
        if self.proc is None:
            return info
        self._remember_kernel_pids()
        if self.proc.poll() is None:
            try:
                self.shutdown_kernels()
                _http(self.api("/api/shutdown"), method="POST", timeout=15)
            except (OSError, urllib.error.URLError) as exc:
                info["rest_shutdown_error"] = repr(exc)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                    try:
                        os.killpg(self.proc.pid, sig)  # the group of the server we started
                    except ProcessLookupError:
                        break
                    try:
                        self.proc.wait(timeout=wait)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        info["server_rc"] = self.proc.returncode
        info["kernels_left_and_killed"] = _kill_pids(self._kernel_pids)
        if self._logf is not None:
            self._logf.close()
            self._logf = None
        self.proc = None
        return info


def _kill_pids(pids: Iterable[int]) -> list[int]:
    """SIGKILL the given PIDs that are still running (children we started); returns them."""
    try:
        import psutil
    except ImportError:
        return []
    left = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
                p.kill()
        except psutil.NoSuchProcess:
            pass
    return left


# ------------------------------------------------------------------------------------------------
# The browser
# ------------------------------------------------------------------------------------------------
class Chromium:
    """Playwright + Debian Chromium, one persistent context; ``close()`` stops them by PID."""

    def __init__(self, viewport: tuple[int, int] = (1400, 1600)) -> None:
        self.viewport = viewport
        self.profile = Path(tempfile.mkdtemp(prefix="mjnb-chromium-profile-"))
        self._pw_cm = None
        self.pw = None
        self.context = None
        self.pids: list[int] = []

    def start(self) -> Chromium:
        from playwright.sync_api import sync_playwright

        before = _child_pids()
        self._pw_cm = sync_playwright()
        self.pw = self._pw_cm.start()
        self.context = self.pw.chromium.launch_persistent_context(
            str(self.profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": self.viewport[0], "height": self.viewport[1]},
            device_scale_factor=1,
        )
        # Playwright's node driver is our child and Chromium its child: remember them.
        self.pids = sorted(_child_pids() - before)
        self.context.add_init_script(WS_HOOK_JS)
        return self

    def new_page(self):
        page = self.context.new_page()
        page.set_default_timeout(60_000)
        return page

    def close(self) -> list[int]:
        try:
            if self.context is not None:
                self.context.close()
        finally:
            self.context = None
            if self._pw_cm is not None:
                try:
                    self._pw_cm.__exit__(None, None, None)
                except Exception:  # noqa: BLE001 - the driver may already be gone
                    pass
                self._pw_cm = None
            left = _kill_pids(self.pids)
            shutil.rmtree(self.profile, ignore_errors=True)
        return left

    def __enter__(self) -> Chromium:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _child_pids() -> set[int]:
    try:
        import psutil
    except ImportError:
        return set()
    return {p.pid for p in psutil.Process().children(recursive=True)}


# ------------------------------------------------------------------------------------------------
# In-page helpers
# ------------------------------------------------------------------------------------------------
#: Timestamps every kernel websocket message as it reaches page JS (installed as an init
#: script, so it wraps WebSocket before the front end opens its kernel connection).
WS_HOOK_JS = r"""
(() => {
  if (window.__wsLog) return;
  const Orig = window.WebSocket;
  const log = window.__wsLog = [];
  const dec = new TextDecoder('utf-8', {fatal: false});
  class Hooked extends Orig {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', e => {
        if (!window.__wsLogOn) return;
        const t = performance.timeOrigin + performance.now();
        let head = '', n = 0;
        if (typeof e.data === 'string') { head = e.data.slice(0, 1500); n = e.data.length; }
        else if (e.data instanceof ArrayBuffer) { n = e.data.byteLength; head = dec.decode(new Uint8Array(e.data, 0, Math.min(n, 1500))); }
        const mt = (head.match(/"msg_type":\s*"(\w+)"/) || [])[1] || '';
        const meth = (head.match(/"method":\s*"(\w+)"/) || [])[1] || '';
        if (log.length < 50000) log.push([t, n, mt, meth]);
      });
    }
  }
  window.WebSocket = Hooked;
})();
"""

#: Installed on demand. ipycanvas views copy the model's offscreen canvas onto the visible
#: <canvas> with drawImage after each batch of commands: wrapping drawImage gives the moment
#: the visible canvas changed; the next animation frame approximates "on screen".
PROBE_JS = r"""
() => {
  if (window.__probe) return 'already';
  const now = () => performance.timeOrigin + performance.now();
  const P = window.__probe = {now, listeners: new Set()};
  const orig = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    const r = orig.apply(this, args);
    if (P.listeners.size) { const t = now(); for (const l of [...P.listeners]) l(this.canvas, t); }
    return r;
  };
  P.px = (c, x, y) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data);
  P.differs = (a, b, tol = 12) => a.some((v, i) => Math.abs(v - b[i]) > tol);
  P.waitChange = (c, x, y, base, timeoutMs = 10000) => new Promise(resolve => {
    let to;
    const check = (canvas, t) => {
      if (canvas !== c) return;
      const px = P.px(c, x, y);
      if (!P.differs(px, base)) return;
      P.listeners.delete(check); clearTimeout(to);
      requestAnimationFrame(() => resolve({tDraw: t, tFrame: now(), px}));
    };
    P.listeners.add(check);
    to = setTimeout(() => { P.listeners.delete(check); resolve({timeout: true, px: P.px(c, x, y)}); }, timeoutMs);
  });
  P.canvas = sel => document.querySelector(sel);
  P.toPage = (sel, cx, cy) => {
    const c = P.canvas(sel), r = c.getBoundingClientRect();
    return [r.left + (cx + 0.5) * r.width / c.width, r.top + (cy + 0.5) * r.height / c.height];
  };
  const evPx = (c, e) => { const r = c.getBoundingClientRect();
    return [Math.floor(c.width * (e.clientX - r.left) / r.width), Math.floor(c.height * (e.clientY - r.top) / r.height)]; };
  P.recording = [];
  P.startRecording = sel => {
    const c = P.canvas(sel);
    P.recording = [];
    window.__wsLogOn = true;
    P._onMove = e => {
      const tListener = now();
      const [x, y] = evPx(c, e);
      const base = P.px(c, x, y);
      const rec = {x, y, tListener, base};
      rec.done = P.waitChange(c, x, y, base).then(r => Object.assign(rec, r));
      P.recording.push(rec);
    };
    c.addEventListener('mousemove', P._onMove, true);
  };
  P.stopRecording = async sel => {
    P.canvas(sel).removeEventListener('mousemove', P._onMove, true);
    const out = await Promise.all(P.recording.map(r => r.done));
    window.__wsLogOn = false;
    return out.map(({done, ...r}) => r);
  };
  P.lastDone = () => P.recording.length ? P.recording[P.recording.length - 1].done.then(({done, ...r}) => r) : null;
  return 'installed';
}
"""

#: Run Python in the kernel of the notebook in the current tab (Lab / Notebook 7 expose the
#: app as window.jupyterapp) and collect what it prints, its value and any error.
_EXECUTE_JS = r"""
async ([code, timeoutMs]) => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel) return {err: 'no kernel in the current tab'};
  const fut = kernel.requestExecute({code, silent: false, store_history: false, allow_stdin: false, stop_on_error: false});
  const out = []; let value = null; let err = null;
  fut.onIOPub = msg => {
    const t = msg.header.msg_type, c = msg.content;
    if (t === 'stream') out.push(c.text);
    else if (t === 'execute_result') value = c.data['text/plain'];
    else if (t === 'error') err = c.ename + ': ' + c.evalue + '\n' + (c.traceback || []).join('\n');
  };
  const timer = new Promise(r => setTimeout(() => r(null), timeoutMs));
  const reply = await Promise.race([fut.done, timer]);
  if (!reply) return {out: out.join(''), err: `no reply from the kernel in ${timeoutMs} ms`};
  return {out: out.join(''), value, err, status: reply.content.status};
}
"""

KERNEL_STATUS_JS = """
() => {
  const app = window.jupyterapp;
  if (!app) return 'no-app';
  const w = app.shell.currentWidget;
  if (!w || !w.sessionContext) return 'no-panel';
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : 'no-kernel';
}
"""

_STDERR_MIME = "application/vnd.jupyter.stderr"  # stderr streams and tracebacks, in Lab 4 / Notebook 7
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class KernelError(AssertionError):
    """Code run in the notebook's kernel raised; the message carries the traceback."""


class NotebookUI:
    """One tab on one notebook, in JupyterLab / Notebook 7 (``window.jupyterapp``) or Voilà."""

    def __init__(self, page: Any, server: JupyterServer, artifacts: Path | None = None) -> None:
        self.page, self.server = page, server
        self.artifacts = Path(artifacts) if artifacts else None
        self.console: list[str] = []
        self.last_artifact: Path | None = None
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"[:500]))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"[:500]))

    # -- opening and running ------------------------------------------------------------------------
    def open(self, notebook: str, *, wait_kernel: bool = True) -> None:
        self.page.goto(self.server.url_for(notebook), wait_until="domcontentloaded")
        if self.server.app == "voila":
            return  # Voilà runs the notebook itself: wait for its outputs instead
        self.page.wait_for_function("() => !!window.jupyterapp")
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached")
        if wait_kernel:
            self.wait_idle(timeout=90)

    def kernel_status(self) -> str:
        return self.page.evaluate(f"({KERNEL_STATUS_JS})()")

    def wait_idle(self, timeout: float = 90) -> None:
        """Until the notebook's kernel reports idle (it is started by the page itself)."""
        self.page.wait_for_function(f"() => ({KERNEL_STATUS_JS})() === 'idle'", polling=100, timeout=timeout * 1000)

    def run_all(self) -> str:
        """Run > Run All Cells, as a user would; falls back to the command. Returns how."""
        try:
            self.page.get_by_role("menuitem", name="Run", exact=True).first.click(timeout=10_000)
            self.page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click(timeout=10_000)
            return "menu"
        except Exception:  # noqa: BLE001 - a menu that moved: the command does the same
            self.page.keyboard.press("Escape")
            self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            return "command"

    def wait_cells_done(self, timeout: float = 180) -> None:
        """Until no cell is running or queued (no ``[*]`` prompt) and the kernel is idle.

        A sentinel execution goes through the kernel's queue after the cells sent before it,
        so the kernel is not merely idle between two queued cells."""
        deadline = time.time() + timeout
        while True:
            self.execute("None", timeout=max(5.0, deadline - time.time()))
            busy = self.page.evaluate("""() => Array.from(document.querySelectorAll('.jp-InputPrompt'))
                .some(p => p.textContent.includes('*'))""")
            if not busy and self.kernel_status() == "idle":
                return
            if time.time() > deadline:
                raise AssertionError(f"cells still running after {timeout:g} s")
            time.sleep(0.3)

    def cell_count(self) -> int:
        return self.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")

    def run_cells_before(self, index: int) -> None:
        """Run every cell above cell ``index`` (0-based), as "Run All Above Selected Cell" does."""
        self.page.evaluate(
            """async ([i]) => {
            const app = window.jupyterapp, panel = app.shell.currentWidget;
            panel.content.activeCellIndex = i;
            await app.commands.execute('notebook:run-all-above');
        }""",
            [index],
        )

    def cell_index(self, text: str) -> int:
        """The index of the first cell whose source contains ``text``."""
        i = self.page.evaluate(
            """([t]) => window.jupyterapp.shell.currentWidget.content.widgets
            .findIndex(c => c.model.sharedModel.getSource().includes(t))""",
            [text],
        )
        if i < 0:
            raise AssertionError(f"no cell of the notebook contains {text!r}")
        return i

    def errors_shown(self) -> list[str]:
        """Tracebacks the notebook shows in its outputs."""
        texts = self.page.locator(f".jp-OutputArea-output[data-mime-type='{_STDERR_MIME}']").all_inner_texts()
        return [t for t in texts if "Traceback" in t or "Error" in t]

    def wait_for_widget(self, selector: str, timeout: float = 120) -> None:
        """Until ``selector`` is visible; fails at once, with the traceback, if a cell errs first."""
        self.page.wait_for_function(
            """([s, mime]) => {
            const e = document.querySelector(s);
            if (e && e.getBoundingClientRect().width > 0) return true;
            return Array.from(document.querySelectorAll(`.jp-OutputArea-output[data-mime-type="${mime}"]`))
                .some(o => /Traceback|Error/.test(o.innerText));
        }""",
            arg=[selector, _STDERR_MIME],
            timeout=timeout * 1000,
        )
        errors = self.errors_shown()
        self.expect(
            not errors, f"a cell failed before {selector} appeared:\n" + "\n".join(e[-1500:] for e in errors[:2])
        )
        self.page.wait_for_selector(selector, state="visible", timeout=10_000)

    def cell_outputs_text(self) -> str:
        return self.page.evaluate("""() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
            .map(e => e.innerText).join('\\n---\\n')""")

    # -- the kernel -------------------------------------------------------------------------------
    def execute(self, code: str, timeout: float = 60) -> str:
        """Run ``code`` in the notebook's kernel; returns what it printed (+ the value's repr).
        Raises KernelError with the traceback if it raised."""
        r = self.page.evaluate(_EXECUTE_JS, [code, int(timeout * 1000)])
        if r.get("err") or r.get("status") not in ("ok", None):
            raise KernelError(f"kernel error running:\n{code}\n{_ANSI.sub('', r.get('err') or str(r))}")
        return (r.get("out") or "") + (r.get("value") or "")

    def kernel_json(self, expr: str, timeout: float = 60) -> Any:
        """The value of a Python expression evaluated in the kernel, through JSON."""
        out = self.execute(f"import json as __j\nprint('@@' + __j.dumps({expr}))", timeout=timeout)
        line = [ln for ln in out.splitlines() if ln.startswith("@@")][-1]
        return json.loads(line[2:])

    def wait_kernel(self, expr: str, timeout: float = 60, interval: float = 0.25) -> Any:
        """Poll a Python expression in the kernel until it is truthy; returns its value."""
        deadline = time.time() + timeout
        while True:
            value = self.kernel_json(expr)
            if value:
                return value
            if time.time() > deadline:
                raise AssertionError(f"kernel: {expr} still {value!r} after {timeout:g} s")
            time.sleep(interval)

    # -- the page ----------------------------------------------------------------------------------
    def widget(self, css: str):
        """A Playwright locator for the widget(s) with CSS class ``css`` (dot optional)."""
        return self.page.locator(css if css[:1] in ".#[" or " " in css else f".{css}")

    def install_probe(self) -> None:
        self.page.evaluate(PROBE_JS)

    def to_page(self, selector: str, cx: float, cy: float) -> tuple[float, float]:
        """Canvas pixel → viewport CSS coordinates (the canvas may be CSS-scaled)."""
        self.install_probe()
        return tuple(self.page.evaluate("([s, x, y]) => __probe.toPage(s, x, y)", [selector, cx, cy]))

    def canvas_box(self, selector: str) -> dict[str, float]:
        """Size of the canvas in pixels and on the page (getBoundingClientRect)."""
        return self.page.evaluate(
            """([s]) => { const c = document.querySelector(s), r = c.getBoundingClientRect();
            return {width: c.width, height: c.height, left: r.left, top: r.top, cssWidth: r.width, cssHeight: r.height}; }""",
            [selector],
        )

    def drag(self, selector: str, points: Sequence[tuple[float, float]], steps: int = 4) -> None:
        """Press at the first canvas pixel, move through the others (``steps`` DOM moves per
        segment), release at the last."""
        self.install_probe()
        self.page.locator(selector).scroll_into_view_if_needed()
        pts = self.page.evaluate(
            "([s, pts]) => pts.map(([x, y]) => __probe.toPage(s, x, y))", [selector, [list(p) for p in points]]
        )
        mouse = self.page.mouse
        mouse.move(*pts[0])
        mouse.down()
        for x, y in pts[1:]:
            mouse.move(x, y, steps=steps)
        mouse.up()

    def canvas_pixels(self, selector: str) -> Any:
        """The visible canvas's pixels (H×W×4 uint8 numpy array)."""
        import numpy as np

        data = self.page.evaluate(
            """([s]) => { const c = document.querySelector(s);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
            return {w: d.width, h: d.height, b: Array.from(d.data)}; }""",
            [selector],
        )
        return np.array(data["b"], dtype=np.uint8).reshape(data["h"], data["w"], 4)

    def save_artifacts(self, name: str) -> Path | None:
        """Screenshot (full page) + console log + server log tail; returns the screenshot path."""
        if self.artifacts is None:
            return None
        self.artifacts.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]
        shot = self.artifacts / f"{safe}.png"
        try:
            self.page.screenshot(path=str(shot), full_page=True, timeout=20_000)
        except Exception as exc:  # noqa: BLE001 - a crashed page: keep the logs at least
            shot.with_suffix(".screenshot-error.txt").write_text(repr(exc))
        (self.artifacts / f"{safe}.console.log").write_text("\n".join(self.console) + "\n")
        (self.artifacts / f"{safe}.server.log").write_text(self.server.log_tail(200) + "\n")
        self.last_artifact = shot
        return shot

    def expect(self, condition: Any, message: str, name: str | None = None) -> None:
        """Assert; on failure save the artifacts and put their path in the message."""
        if condition:
            return
        if name is None:  # the running test's name, as pytest announces it
            name = os.environ.get("PYTEST_CURRENT_TEST", "failure").split("::")[-1].split(" ")[0]
        shot = self.save_artifacts(name)
        raise AssertionError(
            f"{message}\n  screenshot: {shot}\n  console log: {shot.with_suffix('.console.log') if shot else None}"
        )

    def close(self) -> None:
        try:
            self.page.close()
        except Exception:  # noqa: BLE001
            pass


# ------------------------------------------------------------------------------------------------
# Latency (bench only; tests never measure time)
# ------------------------------------------------------------------------------------------------
def brush_latency(
    ui: NotebookUI,
    selector: str,
    *,
    n_seq: int = 50,
    n_paced: int = 60,
    hz: float = 60,
    spacing: int = 40,
    margin: int = 30,
) -> dict[str, Any]:
    """Mouse-move → visible-canvas-pixel latency of a brush on ``selector``, timed in the page.

    Sequential: a stroke of ``n_seq`` single-step moves, each awaited until the pixel under it
    changes (one event in flight).  Paced: a second stroke of ``n_paced`` moves sent at up to
    ``hz`` without waiting (a real drag).  Points lie on a serpentine grid ``spacing`` px apart,
    which must exceed the brush diameter: the brush draws segments between successive points,
    and each target pixel must stay untouched until the kernel's segment for *that* event
    arrives.  Returns summaries plus the raw records (``seq``, ``paced_raw``, ``ws``).
    """
    page = ui.page
    ui.install_probe()
    page.locator(selector).scroll_into_view_if_needed()
    box = ui.canvas_box(selector)
    cols = max(1, (int(box["width"]) - 2 * margin) // spacing + 1)

    def snake(n: int, row0: int) -> list[tuple[int, int]]:
        pts = []
        for i in range(n):
            r, c = divmod(i, cols)
            c = c if r % 2 == 0 else cols - 1 - c
            pts.append((margin + c * spacing, margin + (row0 + r) * spacing))
        return pts

    seq_rows = -(-(n_seq + 1) // cols)
    seq_pts, paced_pts = snake(n_seq + 1, 0), snake(n_paced, seq_rows + 1)
    if paced_pts[-1][1] > box["height"] - margin:
        raise ValueError(
            f"{n_seq} + {n_paced} moves {spacing} px apart do not fit a {box['width']}x{box['height']} canvas"
        )

    # 1. sequential stroke
    page.mouse.move(*ui.to_page(selector, *seq_pts[0]))
    page.mouse.down()
    page.evaluate("s => __probe.startRecording(s)", selector)
    seq = []
    for cx, cy in seq_pts[1:]:
        x, y = ui.to_page(selector, cx, cy)
        t_py = time.time() * 1000
        page.mouse.move(x, y)  # one step: exactly one mousemove
        rec = page.evaluate("() => __probe.lastDone()")
        if rec:
            rec["tPy"] = t_py
            seq.append(rec)
    seq_dom = page.evaluate("s => __probe.stopRecording(s)", selector)
    page.mouse.up()

    # 2. paced stroke. Page coordinates are computed up front: one evaluate per point (~20 ms)
    # would cap the rate; each mouse.move is itself a CDP round trip, so the rate is reported.
    pts = page.evaluate("([s, pts]) => pts.map(([x, y]) => __probe.toPage(s, x, y))", [selector, paced_pts])
    page.mouse.move(*pts[0])
    page.mouse.down()
    time.sleep(0.3)  # let the press's own drawing land before recording
    page.evaluate("s => __probe.startRecording(s)", selector)
    t_start = time.time()
    for i, (x, y) in enumerate(pts[1:]):
        page.mouse.move(x, y)
        delay = t_start + (i + 1) / hz - time.time()
        if delay > 0:
            time.sleep(delay)
    t_sent = time.time()
    paced = page.evaluate("s => __probe.stopRecording(s)", selector)
    page.mouse.up()
    ws = page.evaluate("() => { const l = window.__wsLog || []; const out = l.slice(); l.length = 0; return out; }")

    def lat(recs: list[dict]) -> dict[str, Any]:
        ok = [r for r in recs if not r.get("timeout")]
        return {
            "event_to_canvas_ms": summary(r["tDraw"] - r["tListener"] for r in ok),
            "event_to_next_frame_ms": summary(r["tFrame"] - r["tListener"] for r in ok),
            "n": len(recs),
            "timeouts": len(recs) - len(ok),
        }

    return {
        "sequential": lat(seq_dom),
        "paced": dict(lat(paced), achieved_hz=round(len(paced) / max(t_sent - t_start, 1e-9), 1)),
        "playwright_move_to_canvas_ms": summary(r["tDraw"] - r["tPy"] for r in seq if not r.get("timeout")),
        "seq": seq_dom,
        "paced_raw": paced,
        "ws": ws,
    }


def breakdown(records: list[dict], kernel_events: list[list[float]], ws: list[list]) -> dict[str, Any]:
    """Split event → canvas into browser → kernel handler, handler time, handler → websocket
    message in the page, message → canvas.  ``kernel_events``: [x, y, t_start_s, t_end_s] in
    display pixels, epoch seconds, as recorded by the kernel's handler (same clock: loopback)."""
    customs = [w[0] for w in ws if w[2] == "comm_msg" and w[3] == "custom"]
    up, dur, k2ws, ws2c = [], [], [], []
    for r in records:
        if r.get("timeout"):
            continue
        e = next(
            (e for e in kernel_events if abs(e[0] - r["x"] - 0.5) <= 1.5 and abs(e[1] - r["y"] - 0.5) <= 1.5), None
        )
        if e is None:
            continue
        tk, tk_end = e[2] * 1000, e[3] * 1000
        up.append(tk - r["tListener"])
        dur.append(tk_end - tk)
        tws = next((t for t in customs if t >= tk - 1), None)
        if tws is not None and tws <= r["tDraw"]:
            k2ws.append(tws - tk_end)
            ws2c.append(r["tDraw"] - tws)
    return {
        "browser_to_kernel_handler_ms": summary(up),
        "kernel_handler_ms": summary(dur),
        "handler_end_to_ws_message_in_page_ms": summary(k2ws),
        "ws_message_to_canvas_ms": summary(ws2c),
    }
