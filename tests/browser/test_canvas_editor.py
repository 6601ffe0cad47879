"""The CanvasEditor in JupyterLab + Chromium: a real mouse paints the mask and moves the image.

Issue 5's real-browser test.  ``04-inpaint`` (midjourney-proxy on the embedded simulator):
drag the brush across the canvas, check in the kernel that ``editor.mask()`` has paint where
the mouse went and none away from it, Submit, and check that the simulator's result changed
only there.  ``05-reposition`` (EvoLink): enlarge the canvas with a preset, drag the image,
check the ``image_box`` the kernel holds and sends, Submit, and check that the result carries
the source pixels in that box.  Each notebook runs up to its editor; the cells that paint from
code are left out: the mouse does that here.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

CANVAS = "canvas.mjnb-canvas"

PAINTED_JS = r"""
([s]) => { const c = document.querySelector(s);
  if (!c || !c.width) return false;
  const d = c.getContext('2d').getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
  return d[3] > 0; }
"""

# Keep the visible canvas's pixels to compare with later.
SNAPSHOT_JS = r"""
([s, key]) => { const c = document.querySelector(s);
  window[key] = {w: c.width, h: c.height, d: c.getContext('2d').getImageData(0, 0, c.width, c.height).data}; return true; }
"""

# Pixels that changed since the snapshot, split by distance to the mouse path (display px).
CHANGED_NEAR_PATH_JS = r"""
([s, key, path, near, far, tol]) => {
  const c = document.querySelector(s), b = window[key];
  const a = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const dist = (x, y) => { let best = Infinity;
    for (let i = 0; i + 1 < path.length; i++) {
      const [x0, y0] = path[i], [x1, y1] = path[i + 1], dx = x1 - x0, dy = y1 - y0;
      const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy || 1)));
      best = Math.min(best, Math.hypot(x - x0 - t * dx, y - y0 - t * dy)); }
    return best; };
  let changed = 0, changedFar = 0, onPath = 0, onPathChanged = 0;
  for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
    const i = 4 * (y * c.width + x);
    const diff = Math.max(Math.abs(a[i] - b.d[i]), Math.abs(a[i + 1] - b.d[i + 1]), Math.abs(a[i + 2] - b.d[i + 2]));
    const d = dist(x, y);
    if (d <= near) { onPath++; if (diff > tol) onPathChanged++; }
    if (diff > tol) { changed++; if (d > far) changedFar++; }
  }
  return {changed, changedFar, onPath, onPathChanged};
}
"""

# Mean difference between the canvas now and the snapshot shifted by (dx, dy), over a box.
SHIFTED_DIFF_JS = r"""
([s, key, box, dx, dy]) => {
  const c = document.querySelector(s), b = window[key];
  const a = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let sum = 0, sumStill = 0, n = 0;
  const [x0, y0, x1, y1] = box;
  for (let y = y0; y < y1; y += 2) for (let x = x0; x < x1; x += 2) {
    const i = 4 * (y * c.width + x), j = 4 * ((y - dy) * b.w + (x - dx));
    for (let k = 0; k < 3; k++) { sum += Math.abs(a[i + k] - b.d[j + k]); sumStill += Math.abs(a[i + k] - b.d[i + k]); }
    n += 3;
  }
  return {shifted: sum / n, unshifted: sumStill / n};
}
"""


def _open_editor(ui, notebook: str, first_cell_left_out: str) -> dict:
    """Open ``notebook``, run its cells up to (not including) the one containing
    ``first_cell_left_out``, wait for the editor's canvas to show the photo; returns geometry."""
    ui.open(notebook)
    ui.run_cells_before(ui.cell_index(first_cell_left_out))
    ui.wait_for_widget(CANVAS, timeout=120)
    ui.wait_cells_done(timeout=120)
    ui.expect(not ui.errors_shown(), f"{notebook} printed errors: {ui.errors_shown()[:2]}")
    ui.page.wait_for_function(PAINTED_JS, arg=[CANVAS], timeout=30_000)
    return ui.kernel_json(
        "{'image': list(editor.image_size), 'canvas_size': list(editor.canvas_size),"
        " 'image_box': list(editor.image_box), 'display': [editor.layers.multi.width,"
        " editor.layers.multi.height], 'brush': editor.controls.brush_size.value,"
        " 'strokes': len(editor.strokes), 'mode': editor.mode}"
    )


def _submit(ui, prompt: str, timeout: float = 90) -> str:
    """Type the prompt, press the editor's Submit, wait until the result is in; returns its id."""
    ui.page.locator(".mjnb-editor .mjnb-edit-prompt textarea").fill(prompt)
    ui.page.wait_for_function(
        "() => document.querySelector('.mjnb-editor .mjnb-edit-prompt textarea').value.length > 0"
    )
    button = ui.page.locator(".mjnb-editor button.mjnb-edit-submit")
    ui.expect(
        button.is_enabled(), f"Submit is disabled: {ui.page.locator('.mjnb-editor .mjnb-edit-reason').inner_text()}"
    )
    ui.wait_kernel(f"editor.controls.prompt.value == {prompt!r}", timeout=10)
    button.click()
    ui.wait_kernel(
        "editor.result is not None or (editor.last_job is not None and editor.last_job.error is not None)",
        timeout=timeout,
    )
    state = ui.kernel_json(
        "{'id': editor.result.id if editor.result else None, 'status': editor.result.status.value "
        "if editor.result else None, 'error': str(editor.last_job.error) if editor.last_job.error else None}"
    )
    ui.expect(state["id"] and state["status"] == "succeeded", f"the edit did not succeed: {state}")
    # what the user sees: the editor's progress row done, the status line saying so
    ui.page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.mjnb-editor .mjnb-progress-status'))
        .some(e => e.textContent.trim() === 'done')""",
        timeout=15_000,
    )
    return state["id"]


def test_brush_drag_becomes_the_mask_and_the_edit_changes_only_there(ui):
    geo = _open_editor(ui, "04-inpaint.ipynb", "editor.fill_rect")
    ui.expect(
        geo["strokes"] == 0 and geo["mode"] == "inpaint", f"the editor did not start empty in inpaint mode: {geo}"
    )
    (dw, dh), radius = geo["display"], geo["brush"] / 2
    box = ui.canvas_box(CANVAS)
    ui.expect(abs(box["width"] - dw) <= 1 and box["height"] > 0, f"canvas element vs kernel display size: {box}, {geo}")

    # a stroke across the image, in canvas (display) pixels
    path = [
        (round(0.2 * dw), round(0.45 * dh)),
        (round(0.5 * dw), round(0.55 * dh)),
        (round(0.75 * dw), round(0.45 * dh)),
    ]
    ui.page.evaluate(SNAPSHOT_JS, [CANVAS, "__beforeStroke"])
    ui.drag(CANVAS, path, steps=10)
    ui.wait_kernel("len(editor.strokes) >= 1 and editor.event_counts['mouse_up'] >= 1", timeout=15)

    # the kernel's mask, at source resolution: painted along the path, nothing away from it
    (iw, ih) = geo["image"]
    check = f"""
import numpy as _np
_m = _np.asarray(editor.mask(grow=0, feather=0)) > 127
_s = {iw} / {dw}
_path = [(x * _s, y * _s) for x, y in {path!r}]
_r = {radius} * _s
_yy, _xx = _np.mgrid[0:_m.shape[0], 0:_m.shape[1]]
_d = _np.full(_m.shape, _np.inf)
for (_x0, _y0), (_x1, _y1) in zip(_path, _path[1:]):
    _dx, _dy = _x1 - _x0, _y1 - _y0
    _t = _np.clip(((_xx - _x0) * _dx + (_yy - _y0) * _dy) / (_dx * _dx + _dy * _dy), 0, 1)
    _d = _np.minimum(_d, _np.hypot(_xx - _x0 - _t * _dx, _yy - _y0 - _t * _dy))
_near, _far = _d <= 0.7 * _r, _d >= 1.3 * _r + 2 * _s
_mask_check = {{'shape': list(_m.shape), 'painted': int(_m.sum()), 'near': int(_near.sum()),
                'near_painted': int((_m & _near).sum()), 'far_painted': int((_m & _far).sum()),
                'expected_band': float(sum(_np.hypot(_x1 - _x0, _y1 - _y0) for (_x0, _y0), (_x1, _y1)
                                              in zip(_path, _path[1:])) * 2 * _r)}}
"""
    ui.execute(check)
    m = ui.kernel_json("_mask_check")
    ui.expect(m["shape"] == [ih, iw], f"mask size {m['shape']} is not the image's {iw}×{ih}")
    ui.expect(
        m["near"] > 0 and m["near_painted"] == m["near"],
        f"the mask misses where the mouse went: {m['near_painted']} of {m['near']} pixels on the path painted",
    )
    ui.expect(m["far_painted"] == 0, f"the mask has {m['far_painted']} painted pixels away from the mouse path: {m}")
    ui.expect(
        0.8 * m["expected_band"] < m["painted"] < 1.3 * m["expected_band"] + 3.2 * (radius * iw / dw) ** 2,
        f"painted area {m['painted']} px does not match a brush band of ~{m['expected_band']:.0f} px: {m}",
    )

    # what the user saw: the overlay appeared along the path, nowhere else
    seen = ui.page.evaluate(CHANGED_NEAR_PATH_JS, [CANVAS, "__beforeStroke", path, 0.7 * radius, radius + 3, 24])
    ui.expect(
        seen["onPath"] > 0 and seen["onPathChanged"] >= 0.98 * seen["onPath"],
        f"the canvas does not show the stroke along the mouse path: {seen}",
    )
    ui.expect(seen["changedFar"] == 0, f"the canvas changed away from the mouse path: {seen}")

    # Submit, and the simulator's result changed only in the painted region
    result_id = _submit(ui, "a red kite in the sky")
    ui.execute("""
_res = client.download(client.get(editor.result.id), split=True)
_res = _res if isinstance(_res, list) else [_res]
_before = _np.asarray(editor.image.convert('RGB'), dtype=int)
from PIL import ImageFilter as _IF
_mimg = editor.mask(grow=0, feather=0)
_margin = max(3, int(0.02 * max(_mimg.size))) | 1
_inside = _np.asarray(_mimg.filter(_IF.MinFilter(_margin))) > 127      # well inside the paint
_outside = _np.asarray(_mimg.filter(_IF.MaxFilter(_margin))) <= 127    # well away from it
_changes = []
for _v in _res:
    _a = _np.asarray(_v.convert('RGB').resize(editor.image.size), dtype=int)
    _c = _np.abs(_a - _before).max(axis=-1) > 32
    _changes.append({'inside': float(_c[_inside].mean()), 'outside': float(_c[_outside].mean()), 'size': list(_v.size)})
""")
    changes = ui.kernel_json("_changes")
    ui.expect(changes, f"result {result_id} has no image")
    for i, c in enumerate(changes):
        ui.expect(c["inside"] > 0.5, f"result {result_id} image {i + 1} did not change where painted: {changes}")
        ui.expect(
            c["outside"] < 0.02, f"result {result_id} image {i + 1} changed outside the painted region: {changes}"
        )


def test_preset_and_image_drag_set_the_box_that_reposition_sends(ui):
    geo = _open_editor(ui, "05-reposition.ipynb", 'editor.set_canvas("16:9")')
    iw, ih = geo["image"]
    ui.expect(geo["mode"] == "reposition" and geo["canvas_size"] == [iw, ih], f"unexpected start: {geo}")

    # 1. enlarge the canvas with the 16:9 preset
    ui.page.locator(".mjnb-editor .mjnb-canvas-preset select").select_option("16:9")
    canvas_size = ui.wait_kernel(f"list(editor.canvas_size) != [{iw}, {ih}] and list(editor.canvas_size)", timeout=15)
    cw, ch = canvas_size
    ui.expect(
        cw >= iw and ch >= ih and abs(cw / ch - 16 / 9) < 0.01, f"16:9 preset gave canvas {cw}×{ch} for {iw}×{ih}"
    )
    ui.page.wait_for_function(
        """([s, r]) => { const c = document.querySelector(s);
        return c && Math.abs(c.width / c.height - r) < 0.02; }""",
        arg=[CANVAS, 16 / 9],
        timeout=15_000,
    )
    geo = ui.kernel_json(
        "(lambda v, b: {'display': [editor.layers.multi.width, editor.layers.multi.height],"
        " 'image_box': list(b), 'per_display_px': v.to_source(1, 0)[0],"
        " 'shown': [*v.to_display(b[0], b[1]), *v.to_display(b[0] + b[2], b[1] + b[3])]})"
        "(editor.view, editor.image_box)"
    )
    x0, y0, w0, h0 = geo["image_box"]
    s = geo["per_display_px"]  # source px per display px
    sx, sy, sx1, sy1 = geo["shown"]
    sw, sh = sx1 - sx, sy1 - sy
    ui.page.wait_for_timeout(300)  # the redraw of the preset lands
    ui.page.evaluate(SNAPSHOT_JS, [CANVAS, "__beforeMove"])

    # 2. drag the image halfway to the left edge (away from every snap line)
    shift = round(sx / 2)
    ui.expect(shift > 20, f"the image fills the canvas; nothing to drag: {geo}")
    grab = (round(sx + sw / 2), round(sy + sh / 2))
    ui.drag(CANVAS, [grab, (grab[0] - shift, grab[1])], steps=12)
    box = ui.wait_kernel(
        f"editor.event_counts['mouse_up'] >= 1 and list(editor.image_box) != {[x0, y0, w0, h0]}"
        " and list(editor.image_box)",
        timeout=15,
    )
    bx, by, bw, bh = box
    ui.expect((bw, bh) == (w0, h0) and by == y0, f"a move changed size or height: {box} (was {[x0, y0, w0, h0]})")
    ui.expect(
        abs(bx - (x0 - shift * s)) <= max(2, s),
        f"image_box x {bx} after a {shift} display px drag (× {s:.3f}) from {x0}; expected ≈ {x0 - shift * s:.0f}",
    )

    # what the user saw: the picture moved with the mouse
    inner = [round(sx - shift) + 12, round(sy) + 12, round(sx - shift + sw) - 12, round(sy + sh) - 12]
    diff = ui.page.evaluate(SHIFTED_DIFF_JS, [CANVAS, "__beforeMove", inner, -shift, 0])
    ui.expect(diff["shifted"] < 10, f"the canvas does not show the image moved by {shift} px: {diff}")

    # 3. what Submit sends: EvoLink's canvas and img_pos, from the same box
    sent = ui.kernel_json("editor.payload('evolink')")
    ui.expect(
        sent == {"canvas": {"width": cw, "height": ch}, "img_pos": {"width": bw, "height": bh, "x": bx, "y": by}},
        f"payload {sent} does not carry the canvas {cw}×{ch} and image_box {box}",
    )

    # 4. the result has the source pixels in the box
    result_id = _submit(ui, "a wide harbour at sunrise, boats and gulls")
    ui.execute(f"""
import numpy as _np
_after = client.download(client.get({result_id!r}))
_after = _after if isinstance(_after, list) else [_after]   # EvoLink may send up to four images
_x, _y, _w, _h = editor.image_box
_placed = _np.asarray(editor.image.convert('RGB').resize((_w, _h)), dtype=int)
_placement = [{{'size': list(_a.size),
                'in_box': float(_np.abs(_np.asarray(_a.convert('RGB'), dtype=int)[_y:_y + _h, _x:_x + _w] - _placed).mean())}}
              for _a in _after]
""")
    placed = ui.kernel_json("_placement")
    ui.expect(placed, f"result {result_id} has no image")
    for i, p in enumerate(placed):
        ui.expect(p["size"] == [cw, ch], f"result {result_id} image {i + 1} is {p['size']}, not the canvas {cw}×{ch}")
        ui.expect(
            p["in_box"] < 12,
            f"result {result_id} image {i + 1} does not carry the source pixels in image_box {box}: {placed}",
        )
