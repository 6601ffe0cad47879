"""The Studio walked in a real browser (issue 13 §7, issue 11 §2): JupyterLab + Chromium, and Voilà.

* The walk: upload an image → Describe → pick a prompt → Submit → V1 → Edit on canvas → paint →
  Submit → the result shown beside the source.  The screenshot is kept under
  ``test-artifacts/browser/`` whether the test passes or not.
* A 2×2 sweep typed in the Studio shows four labelled images.
* ``notebooks/voila-studio.ipynb`` served by Voilà: submit a prompt, see the image.

Everything is done with the mouse and keyboard on the page and read back from the page; the
kernel is only asked where the page cannot say (which task an id is).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ._harness import JupyterServer, NotebookUI
from .conftest import ARTIFACTS, NOTEBOOKS, SIM_DURATION

pytestmark = pytest.mark.browser

NOTEBOOK = "voila-studio.ipynb"
STUDIO = ".mjnb-studio"
CANVAS = f"{STUDIO} .mjnb-edit-image canvas.mjnb-canvas"

# An <img> under ``sel`` that has loaded and is on screen.
IMAGE_SHOWN_JS = r"""
([sel]) => { const img = document.querySelector(sel);
  return !!img && img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0; }
"""


def _sample_png(path: Path) -> Path:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (512, 384), "#1e3a5f")
    draw = ImageDraw.Draw(picture)
    draw.ellipse((180, 90, 330, 240), fill="#f5c542")
    draw.rectangle((0, 300, 512, 384), fill="#0f766e")
    picture.save(path)
    return path


def _open_studio(ui: NotebookUI) -> None:
    ui.open(NOTEBOOK)
    # the file browser closed, as a user makes room for a wide app
    ui.page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    ui.run_all()
    ui.wait_for_widget(f"{STUDIO} button.mjnb-submit", timeout=120)
    ui.wait_cells_done(timeout=120)
    ui.expect(not ui.errors_shown(), f"{NOTEBOOK} printed errors: {ui.errors_shown()[:2]}")


def _click_mode(ui: NotebookUI, title: str) -> None:
    ui.page.locator(f"{STUDIO} .mjnb-modes button", has_text=title).first.click()


def _gallery_shows(ui: NotebookUI, text: str, timeout: float = 90) -> None:
    """Until the Studio's gallery info contains ``text`` and its image is loaded and shown."""
    ui.page.wait_for_function(
        """([sel, text]) => {
        const info = document.querySelector(sel + ' .mjnb-gallery-info');
        const img = document.querySelector(sel + ' .mjnb-gallery img.mjnb-gallery-image');
        return !!info && info.innerText.includes(text) && !!img && img.complete && img.naturalWidth > 0
               && img.getBoundingClientRect().width > 0; }""",
        arg=[STUDIO, text],
        timeout=timeout * 1000,
    )


def _keep_screenshot(ui: NotebookUI, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    ui.page.screenshot(path=str(shot), full_page=True, timeout=30_000)
    return shot


def test_walk_upload_describe_pick_submit_v1_edit_paint_submit(ui, tmp_path):
    _open_studio(ui)
    # AceData: it describes, and its edit takes a mask (a V1 grid has no Vary Region to paint on).
    ui.page.locator(f"{STUDIO} .mjnb-dialect select").select_option("acedata")
    ui.page.wait_for_function(
        """([sel]) => document.querySelector(sel + ' .mjnb-connection-status')
        .innerText.includes('acedata')""",
        arg=[STUDIO],
        timeout=30_000,
    )

    # -- upload an image and describe it ----------------------------------------------------------
    _click_mode(ui, "Describe")
    # ipywidgets' FileUpload opens the browser's file chooser from a detached <input type=file>
    with ui.page.expect_file_chooser(timeout=30_000) as chooser:
        ui.page.locator(f"{STUDIO} .mjnb-describe button.mjnb-upload").click()
    chooser.value.set_files(str(_sample_png(tmp_path / "harbour.png")))
    ui.page.wait_for_selector(f"{STUDIO} .mjnb-describe .mjnb-upload-field img", timeout=30_000)
    ui.page.locator(f"{STUDIO} .mjnb-describe button.mjnb-mode-run").click()
    ui.page.wait_for_selector(f"{STUDIO} button.mjnb-describe-choice", timeout=90_000)
    choices = ui.page.locator(f"{STUDIO} button.mjnb-describe-choice")
    ui.expect(choices.count() == 4, f"Describe offered {choices.count()} prompts, not 4")
    chosen = choices.nth(1).get_attribute("title") or choices.nth(1).inner_text()
    choices.nth(1).click()

    # -- the prompt is in the form: Submit ----------------------------------------------------------
    ui.page.wait_for_function(
        """([sel, text]) => {
        const t = document.querySelector(sel + ' .mjnb-prompt-text textarea');
        return !!t && t.value.includes(text.split(' --')[0]); }""",
        arg=[STUDIO, chosen],
        timeout=15_000,
    )
    ui.page.wait_for_selector(f"{STUDIO} .mjnb-imagine button.mjnb-submit:not([disabled])", timeout=15_000)
    ui.page.locator(f"{STUDIO} .mjnb-imagine button.mjnb-submit").click()
    _gallery_shows(ui, "IMAGINE")

    # -- V1, then Edit on canvas of its first image ---------------------------------------------------
    ui.page.locator(f"{STUDIO} .mjnb-gallery button.mjnb-action-V1").click()
    _gallery_shows(ui, "VARIATION")
    ui.page.locator(f"{STUDIO} .mjnb-gallery button.mjnb-select", has_text="1").first.click()
    ui.page.locator(f"{STUDIO} .mjnb-gallery button.mjnb-edit:not([disabled])").click()
    ui.wait_for_widget(CANVAS, timeout=60)
    ui.page.wait_for_function(
        """([s]) => { const c = document.querySelector(s);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4000) if (d[i] + d[i + 1] + d[i + 2] > 0) return true; return false; }""",
        arg=[CANVAS],
        timeout=30_000,
    )

    # -- paint, prompt, Submit -----------------------------------------------------------------------
    box = ui.canvas_box(CANVAS)
    w, h = box["width"], box["height"]
    ui.drag(CANVAS, [(0.3 * w, 0.3 * h), (0.5 * w, 0.4 * h), (0.7 * w, 0.5 * h)], steps=10)
    ui.expect(
        ui.wait_kernel("len(studio.panels['edit_image'].editor.strokes) > 0", timeout=15),
        "the stroke did not reach the kernel",
    )
    ui.page.locator(f"{STUDIO} .mjnb-editor .mjnb-edit-prompt textarea").fill("a red sailing boat")
    ui.wait_kernel("studio.panels['edit_image'].editor.controls.prompt.value == 'a red sailing boat'", timeout=10)
    submit = ui.page.locator(f"{STUDIO} .mjnb-editor button.mjnb-edit-submit")
    ui.expect(
        submit.is_enabled(),
        "the editor's Submit is disabled: " + ui.page.locator(f"{STUDIO} .mjnb-editor .mjnb-edit-reason").inner_text(),
    )
    submit.click()

    # -- the result beside the source (the editor's result panel, right of its canvas) ------------------
    result_img = f"{STUDIO} .mjnb-edit-image .mjnb-result img"
    ui.page.wait_for_function(IMAGE_SHOWN_JS, arg=[result_img], timeout=120_000)
    ui.page.locator(CANVAS).scroll_into_view_if_needed()
    source = ui.page.locator(CANVAS).bounding_box()
    result = ui.page.locator(result_img).first.bounding_box()
    shot = _keep_screenshot(ui, "studio-walk.png")
    ui.expect(
        result["x"] >= source["x"] + source["width"] - 1 and result["y"] < source["y"] + source["height"],
        f"the result is not beside the source: source {source}, result {result} (screenshot {shot})",
    )
    _gallery_shows(ui, "acedata", timeout=30)
    kinds = ui.kernel_json("[e.op for e in studio.client.journal.entries()][::-1]")
    # The journal is shared by the session's browser tests: the walk's own submits are the last four.
    ui.expect(kinds[-4:] == ["describe", "imagine", "action", "edit"], f"what was sent, in order: {kinds}")


def test_a_two_by_two_sweep_shows_four_labelled_images(ui):
    _open_studio(ui)
    ui.page.locator(f"{STUDIO} .mjnb-prompt-text textarea").fill("a {red, blue} kite --s {50, 500}")
    ui.page.wait_for_function(
        """([sel]) => (document.querySelector(sel + ' .mjnb-sweep-count') || {innerText: ''})
        .innerText.includes('4 jobs')""",
        arg=[STUDIO],
        timeout=30_000,
    )
    ui.page.locator(f"{STUDIO} button.mjnb-sweep-submit").click()
    ui.page.wait_for_function(
        """([sel]) => {
        const imgs = Array.from(document.querySelectorAll(sel + ' .mjnb-sweep-cell img.mjnb-sweep-image'));
        return imgs.length === 4 && imgs.every(i => i.complete && i.naturalWidth > 0
            && i.getBoundingClientRect().width > 0); }""",
        arg=[STUDIO],
        timeout=120_000,
    )
    headers = ui.page.locator(f"{STUDIO} .mjnb-sweep .mjnb-sweep-header").all_inner_texts()
    # a group in the text is named by its own text, a parameter's by the parameter
    ui.expect(
        sorted(h.strip() for h in headers) == ["s = 50", "s = 500", "{red, blue} = blue", "{red, blue} = red"],
        f"headers: {headers}",
    )
    labels = ui.page.locator(f"{STUDIO} .mjnb-sweep-cell").all_inner_texts()
    ui.expect(len(labels) == 4 and all("=" in text for text in labels), f"cell labels: {labels}")
    ui.page.locator(f"{STUDIO} .mjnb-sweep").scroll_into_view_if_needed()
    _keep_screenshot(ui, "studio-sweep-2x2.png")


@pytest.fixture(scope="module")
def voila(_chromium_ok, tmp_path_factory):
    root = tmp_path_factory.mktemp("voila-root")
    shutil.copy(NOTEBOOKS / NOTEBOOK, root / NOTEBOOK)
    server = JupyterServer(
        root,
        app="voila",
        nodelay=True,
        state_dir=tmp_path_factory.mktemp("voila-state"),
        env={"MJNB_SIM_DURATION": SIM_DURATION, "MJNB_HOME": str(tmp_path_factory.mktemp("voila-home"))},
    )
    server.start()
    yield server
    server.stop()


def test_voila_dashboard_submits_a_prompt_and_shows_the_image(voila, browser):
    tab = NotebookUI(browser.new_page(), voila, ARTIFACTS)
    try:
        tab.open(NOTEBOOK)
        tab.page.wait_for_selector(f"{STUDIO} button.mjnb-submit", state="visible", timeout=180_000)
        prompt = f"a lighthouse at dusk, voila {os.urandom(3).hex()}"
        tab.page.locator(f"{STUDIO} .mjnb-prompt-text textarea").fill(prompt)
        tab.page.wait_for_selector(f"{STUDIO} button.mjnb-submit:not([disabled])", timeout=15_000)
        tab.page.locator(f"{STUDIO} button.mjnb-submit").click()
        tab.page.wait_for_function(
            """([sel, text]) => {
            const info = document.querySelector(sel + ' .mjnb-gallery-info');
            const img = document.querySelector(sel + ' .mjnb-gallery img.mjnb-gallery-image');
            return !!info && info.innerText.includes(text) && !!img && img.complete && img.naturalWidth > 0; }""",
            arg=[STUDIO, prompt],
            timeout=120_000,
        )
        _keep_screenshot(tab, "voila-studio.png")
        page_text = tab.page.locator("body").inner_text()
        tab.expect("mjnb.Studio()" not in page_text, "Voilà shows the notebook's code")
    except Exception:
        tab.save_artifacts("test_voila_dashboard")
        raise
    finally:
        tab.close()
