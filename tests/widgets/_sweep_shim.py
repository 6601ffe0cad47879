"""Until ``client.sweep`` is wired into the clients (``mjnb/_experiments.py``), give one AsyncClient
the verb exactly as the experiments mixin defines it, so the Studio's sweep path can be tested.

Used by ``test_studio_sweep.py`` and, as source text run in the notebook's kernel, by the browser
test.  Remove once ``hasattr(mjnb.AsyncClient, "sweep")``.
"""

from __future__ import annotations

from typing import Any


def install_sweep(client: Any) -> bool:
    """Give ``client`` a ``sweep`` coroutine method if its class has none; True when installed."""
    if hasattr(type(client), "sweep"):
        return False
    from mjnb._sweep import AsyncSweep, _adrive, start_sweep

    async def sweep(
        prompt: str,
        *,
        grid: Any = None,
        repeat: int = 1,
        max_jobs: int = 16,
        dry_run: bool = False,
        force: bool = False,
        budget: float | None = None,
        **options: Any,
    ) -> Any:
        planned = start_sweep(
            client,
            prompt,
            grid=grid,
            repeat=repeat,
            max_jobs=max_jobs,
            dry_run=dry_run,
            force=force,
            budget=budget,
            options=options,
            cls=AsyncSweep,
        )
        if not dry_run:
            await _adrive(planned._launch(), client)
        return planned

    client.sweep = sweep
    return True
