"""Export as a dataset folder: loaded back by ``datasets`` (imagefolder) and pandas with the right
columns and row count, PNG text chunks, incremental re-export, split grids."""

from __future__ import annotations

import json

import pytest
from _exp import call, exp_client_fixture  # noqa: F401  (the fixture)

from mjnb import images
from mjnb._export import aexport, export, to_pandas


async def _sync_export(what, folder, client, **kw):
    import asyncio

    return await asyncio.to_thread(export, what, folder, client=client, progress=False, **kw)


async def test_export_loads_in_pandas_and_datasets_and_is_incremental(exp_client, tmp_path):
    pd = pytest.importorskip("pandas", reason="pandas is only a test dependency")
    client = exp_client("mjproxy")
    sweep = await call(client, "sweep", "a {red, blue} kite --ar 3:2", grid={"chaos": [0, 40]})
    await call(sweep, "wait", 60)
    folder = tmp_path / "data"
    first = await (
        aexport(sweep, folder, progress=False)
        if type(client).__name__ == "AsyncClient"
        else _sync_export(sweep, folder, client)
    )
    assert len(first.written) == 4 and not first.skipped

    frame = pd.read_json(folder / "metadata.jsonl", lines=True, dtype={"task_id": str, "root_id": str})
    assert len(frame) == 4
    for column in (
        "file_name",
        "prompt",
        "param_ar",
        "param_c",
        "dialect",
        "service",
        "task_id",
        "kind",
        "parent_id",
        "root_id",
        "axis_chaos",
        "axis_{red, blue}",
        "cost",
        "submitted_at",
        "width",
    ):
        assert column in frame.columns, column
    assert sorted(frame["axis_chaos"].astype(str)) == ["0", "0", "40", "40"]
    assert set(frame["param_ar"]) == {"3:2"}
    assert list(frame.columns[2:]) == list(to_pandas(sweep.tasks, client=client).columns)

    chunks = images.read_png_metadata(folder / frame["file_name"][0])
    assert chunks["task_id"] == frame["task_id"][0] and chunks["prompt"] == frame["prompt"][0]
    assert chunks["parameters"]["ar"] == "3:2"

    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.png")}
    again = await (
        aexport(sweep, folder, progress=False)
        if type(client).__name__ == "AsyncClient"
        else _sync_export(sweep, folder, client)
    )
    assert again.written == [] and len(again.already) == 4
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.png")} == stamps
    assert len((folder / "metadata.jsonl").read_text().splitlines()) == 4

    datasets = pytest.importorskip("datasets", reason="datasets is only a test dependency")
    loaded = datasets.load_dataset("imagefolder", data_dir=str(folder), split="train")
    assert loaded.num_rows == 4 and "image" in loaded.column_names and "axis_chaos" in loaded.column_names
    assert loaded[0]["image"].size == (frame["width"][0], frame["height"][0])


async def test_split_export_writes_four_images_per_grid(exp_client, tmp_path):
    client = exp_client("mjproxy")
    task = await call(client, "imagine", "a paper boat", wait=True, timeout=60)
    folder = tmp_path / "split"
    done = await (
        aexport([task], folder, split=True, progress=False, client=client)
        if type(client).__name__ == "AsyncClient"
        else _sync_export([task], folder, client, split=True)
    )
    assert done.written == [f"{task.id}-{i}.png" for i in range(1, 5)]
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    assert [r["image_index"] for r in rows] == [1, 2, 3, 4] and {r["task_id"] for r in rows} == {task.id}


def test_export_command_line(simulator, tmp_path, monkeypatch, capsys):
    import mjnb
    from mjnb._export import export_main

    monkeypatch.setenv("MJNB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MJNB_BASE_URL", simulator.url("mjproxy"))
    monkeypatch.setenv("MJNB_API_KEY", "sk-test-key")
    with mjnb.Client("mjproxy", poll_interval=0.05) as client:
        kept = [client.imagine(f"a {colour} umbrella", wait=True, timeout=60) for colour in ("red", "green")]
    folder = tmp_path / "cli"
    assert export_main([str(folder), "--dialect", "mjproxy"]) == 0
    assert "2 written, 0 already there, 0 skipped" in capsys.readouterr().out
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    assert sorted(r["task_id"] for r in rows) == sorted(t.id for t in kept)
    assert export_main([str(folder), "--dialect", "mjproxy", "--text", "green"]) == 0
    assert "0 written, 1 already there" in capsys.readouterr().out
    assert "sk-test-key" not in (folder / "metadata.jsonl").read_text()
