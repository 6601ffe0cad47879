"""CPU cost of the simulator's pictures (prints figures, asserts nothing).

    .venv/bin/python bench/sim_render.py [--repeat 8]

CPU milliseconds (``time.process_time``, so other load on the machine does not count) per grid,
upscale, preview set and PNG, and per imagine job of each dialect as its render process does it.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

from mjnb.sim import _acedata_jobs, _acedata_render, _evolink_jobs, _proxy_render, render
from mjnb.sim._evolink_params import Order
from mjnb.sim._proxy_tasks import Recipe


def _cpu_ms(work: Callable[[int], object], repeat: int) -> float:
    work(-1)  # warm caches (fonts, captions) as a running simulator has them
    started = time.process_time()
    for i in range(repeat):
        work(i)
    return (time.process_time() - started) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=8)
    repeat = parser.parse_args().repeat

    def prompt(i: int) -> str:
        return f"picture {i} of a valley at dusk --ar 3:2"

    size = render.aspect_size(prompt(0))
    grid = render.render_grid(prompt(0), 0, size)
    rows = {
        f"grid {size[0]}x{size[1]} (4 tiles, 2x supersampled)": lambda i: render.render_grid(prompt(i), i, size),
        f"upscale tile {size[0] // 2}x{size[1] // 2} with detail": lambda i: render.upscale_tile(
            grid, i % 4, (prompt(0), 0)
        ),
        f"PNG of the grid ({len(render.to_png(grid)) // 1024} KiB)": lambda i: render.to_png(grid),
        "mjproxy job: grid + PNG": lambda i: _proxy_render.produce(Recipe("imagine", prompt(i), i), {}),
        "mjproxy job: 4 previews": lambda i: _proxy_render.preview_pngs(
            Recipe("imagine", prompt(i), i), {}, 256, [9, 31, 56, 84]
        ),
        "acedata job: grid + PNGs": lambda i: _acedata_jobs._render_output(
            functools.partial(_acedata_render.generate, prompt(i), i, [], False), False
        ),
        "evolink job: 4 images as PNGs": lambda i: _evolink_jobs._produce_pngs(
            Order("mj-v7", prompt(i), "fast", None), i, prompt(i), [], 4
        ),
    }
    print(f"CPU ms per item (mean of {repeat})")
    for name, work in rows.items():
        print(f"  {name:44} {_cpu_ms(work, repeat):7.1f}")


if __name__ == "__main__":
    main()
