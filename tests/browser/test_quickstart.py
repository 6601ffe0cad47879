"""01-quickstart in JupyterLab + Chromium: Submit in the Studio, watch progress, U1, History.

Issue 4's "Real-browser tests": open the notebook, run it, click Submit in the Studio, see the
progress bar move and reach done and the result image appear, click U1 and see the upscale
arrive, open History and find both tasks.  Everything is read from the page, as a user sees it.
"""

from __future__ import annotations

import os
import re

import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = "01-quickstart.ipynb"
STUDIO = ".mjnb-studio"

# Records every state of every progress row of the Studio, from a MutationObserver, so that no
# intermediate value is missed between two Playwright polls.
RECORD_PROGRESS_JS = r"""
([sel]) => {
  const root = document.querySelector(sel);
  const samples = window.__mjnbProgress = [];
  const snap = () => {
    for (const row of root.querySelectorAll('.mjnb-progress-row')) {
      const bar = row.querySelector('.mjnb-progress-bar');
      const inner = bar && bar.querySelector('.progress-bar');
      samples.push({
        label: (row.querySelector('.mjnb-progress-label') || {}).textContent || '',
        status: ((row.querySelector('.mjnb-progress-status') || {}).textContent || '').trim(),
        width: inner ? parseFloat(inner.style.width) : null,
        indeterminate: !!bar && bar.classList.contains('mjnb-progress-indeterminate'),
        success: !!inner && inner.classList.contains('progress-bar-success'),
      });
    }
  };
  snap();
  new MutationObserver(snap).observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
  return true;
}
"""

# The gallery's main image: loaded (natural size > 0) and shown.
GALLERY_IMAGE_JS = r"""
([sel]) => {
  const img = document.querySelector(sel + ' .mjnb-gallery img.mjnb-gallery-image')
           || document.querySelector(sel + ' .mjnb-gallery .mjnb-gallery-image img');
  if (!img) return null;
  const r = img.getBoundingClientRect();
  return {src: img.src, w: img.naturalWidth, h: img.naturalHeight, complete: img.complete,
          shownW: r.width, shownH: r.height};
}
"""


def _gallery_info(ui) -> dict:
    """What the gallery says about the shown task: its text and the codes (dialect, task id)."""
    return ui.page.evaluate(
        """([sel]) => { const e = document.querySelector(sel + ' .mjnb-gallery-info');
        return e ? {text: e.innerText, codes: Array.from(e.querySelectorAll('code')).map(c => c.textContent)} : null; }""",
        [STUDIO],
    )


def _wait_gallery_shows(ui, not_id: str | None, text: str = "", timeout: float = 60) -> tuple[dict, dict]:
    """Until the Studio's gallery shows a task other than ``not_id`` whose info contains
    ``text``, with its image loaded and shown; returns (info, image)."""
    ui.page.wait_for_function(
        """([sel, notId, text]) => {
        const info = document.querySelector(sel + ' .mjnb-gallery-info');
        const img = document.querySelector(sel + ' .mjnb-gallery img.mjnb-gallery-image')
                 || document.querySelector(sel + ' .mjnb-gallery .mjnb-gallery-image img');
        if (!info || !img) return false;
        const codes = Array.from(info.querySelectorAll('code')).map(c => c.textContent);
        if (codes.length < 2 || (notId && codes.includes(notId)) || !info.innerText.includes(text)) return false;
        const shown = img.getBoundingClientRect().width > 0;
        return img.complete && img.naturalWidth > 0 && shown;
    }""",
        arg=[STUDIO, not_id, text],
        timeout=timeout * 1000,
    )
    return _gallery_info(ui), ui.page.evaluate(GALLERY_IMAGE_JS, [STUDIO])


def _wait_job_ends(ui, *label_parts: str, timeout: float = 60) -> None:
    """Until the Studio's progress row whose label contains every one of ``label_parts`` ends;
    it must end done, at 100 %, green — otherwise the row's own words (status, reason) are the
    message."""
    row = ui.page.wait_for_function(
        """([sel, parts]) => {
        const ended = ['done', 'failed', 'error', 'cancelled', 'stopped'];
        for (const r of document.querySelectorAll(sel + ' .mjnb-progress-row')) {
            const label = r.querySelector('.mjnb-progress-label').textContent;
            if (!parts.every(p => label.includes(p))) continue;
            const status = r.querySelector('.mjnb-progress-status').textContent.trim();
            const bar = r.querySelector('.mjnb-progress-bar .progress-bar');
            const green = bar && parseFloat(bar.style.width) === 100 && bar.classList.contains('progress-bar-success');
            if ((status === 'done' && green) || (status !== 'done' && ended.includes(status)))
                return {status, text: r.innerText};
        }
        return null;
    }""",
        arg=[STUDIO, list(label_parts)],
        timeout=timeout * 1000,
    ).json_value()
    ui.expect(row["status"] == "done", f"the job {' … '.join(label_parts)!r} ended {row['status']!r}: {row['text']!r}")


def _samples_for(ui, label_part: str) -> list[dict]:
    samples = ui.page.evaluate("() => window.__mjnbProgress || []")
    return [s for s in samples if label_part in s["label"]]


def test_studio_submit_progress_upscale_history(ui):
    ui.open(NOTEBOOK)
    ui.run_all()
    ui.wait_for_widget(f"{STUDIO} button.mjnb-submit", timeout=120)
    ui.wait_cells_done(timeout=120)  # every cell done: the kernel is free for the widgets' jobs
    ui.expect(not ui.errors_shown(), f"{NOTEBOOK} printed errors when run: {ui.errors_shown()[:2]}")

    # -- Submit a prompt in the Studio -------------------------------------------------------------
    prompt = f"a lighthouse in the fog, browser test {os.urandom(3).hex()}"
    ui.page.locator(f"{STUDIO} .mjnb-prompt-text textarea").fill(prompt)
    submit = ui.page.locator(f"{STUDIO} button.mjnb-submit")
    ui.page.wait_for_selector(f"{STUDIO} button.mjnb-submit:not([disabled])", timeout=15_000)
    before = _gallery_info(ui)  # the notebook's own cells may have shown a task already
    before_id = before["codes"][-1] if before and len(before["codes"]) >= 2 else None
    ui.page.evaluate(RECORD_PROGRESS_JS, [f"{STUDIO} .mjnb-progress"])
    submit.click()

    # -- the progress bar moves, then reaches done (100 %) --------------------------------------------
    _wait_job_ends(ui, prompt[-20:])
    samples = _samples_for(ui, prompt[-20:])
    ui.expect(samples, "no progress row for the submitted prompt was seen")
    # values the bar showed while running: a figure, not the striped "unknown" bar, not the end
    running = [s for s in samples if s["status"] != "done" and not s["indeterminate"] and s["width"] is not None]
    values = sorted({s["width"] for s in running} - {100})
    ui.expect(
        len(values) >= 2,
        f"the progress bar did not move before done: values seen {values}; statuses "
        f"{sorted({s['status'] for s in samples})}",
    )
    final = samples[-1]
    ui.expect(
        final["status"] == "done" and final["width"] == 100 and final["success"],
        f"the row did not end done at 100 %: {final}",
    )

    # -- the result image appears in the gallery ----------------------------------------------------------
    info, img = _wait_gallery_shows(ui, before_id, text=prompt)
    ui.expect(img and img["w"] > 0 and img["h"] > 0, f"no result image in the gallery: {img}")
    grid_id = info["codes"][-1]

    # -- U1: the upscale arrives ----------------------------------------------------------------------
    u1 = ui.page.locator(f"{STUDIO} .mjnb-gallery button.mjnb-action-U1")
    ui.expect(
        u1.count() == 1,
        f"no U1 button under the result (actions: {ui.page.locator(f'{STUDIO} .mjnb-action').all_inner_texts()})",
    )
    u1.click()
    _wait_job_ends(ui, "U1 ·", prompt[-20:])
    info2, img2 = _wait_gallery_shows(ui, grid_id)
    upscale_id = info2["codes"][-1]
    ui.expect(
        img2 and img2["w"] > 0 and img2["src"] != img["src"],
        f"the upscale's image did not replace the grid's: before {img}, after {img2}",
    )
    ui.expect(re.search(r"upscal", info2["text"], re.I), f"the gallery does not show an upscale: {info2['text']!r}")
    rows = ui.page.locator(f"{STUDIO} .mjnb-progress-row").all_inner_texts()
    ui.expect(sum("done" in r for r in rows) >= 2, f"the Studio's progress rows do not show both jobs done: {rows}")

    # -- History lists both tasks ---------------------------------------------------------------------
    ui.page.locator(f"{STUDIO} .mjnb-tabs .lm-TabBar-tab", has_text="History").click()
    history = f"{STUDIO} .mjnb-history"
    ui.page.wait_for_selector(f"{history} .mjnb-history-row", state="visible", timeout=30_000)
    found = {}
    for _ in range(2):  # the list refreshes when a result is shown; Refresh once if it lags
        try:
            ui.page.wait_for_function(
                """([sel, ids]) => { const rows = Array.from(document.querySelectorAll(sel + ' .mjnb-history-row'));
                return ids.every(id => rows.some(r => (r.title + ' ' + r.innerText).includes(id))); }""",
                arg=[history, [grid_id, upscale_id]],
                timeout=10_000,
            )
            break
        except Exception:  # noqa: BLE001 - press Refresh, then look once more
            ui.page.locator(f"{history} button.mjnb-history-refresh").click()
    rows = ui.page.evaluate(
        """([sel]) => Array.from(document.querySelectorAll(sel + ' .mjnb-history-row'))
        .map(r => ({text: r.innerText, title: r.title, visible: r.getBoundingClientRect().height > 0}))""",
        [history],
    )
    for task_id in (grid_id, upscale_id):
        found[task_id] = [r for r in rows if task_id in r["title"] or task_id in r["text"]]
    ui.expect(all(found.values()), f"History does not list both tasks {grid_id}, {upscale_id}: {rows}")
    grid_row = found[grid_id][0]
    ui.expect(
        grid_row["visible"] and prompt in grid_row["text"],
        f"the grid's History row does not show its prompt: {grid_row}",
    )
    ui.expect(found[upscale_id][0]["visible"], f"the upscale's History row is not visible: {found[upscale_id][0]}")
