"""Lineage: the tree from the root imagine through every follow-up and edit the journal knows, with
the action on each edge, through Client and AsyncClient against the simulator."""

from __future__ import annotations

import pytest
from _exp import call, exp_client_fixture  # noqa: F401  (the fixture)
from PIL import Image, ImageDraw

import mjnb
from mjnb import ValidationError
from mjnb._lineage import lineage
from mjnb._records import records


def _mask(size):
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle((10, 10, size[0] // 2, size[1] // 2), fill=255)
    return mask


async def test_imagine_u2_vary_region_reposition(exp_client):
    pd = pytest.importorskip("pandas", reason="pandas is only a test dependency")
    client = exp_client("evolink")
    root = await call(client, "imagine", "a cabin in the woods", wait=True, timeout=60)
    up = await call(client, "wait", await call(client, "upscale", root, 2), timeout=60)
    picture = await call(client, "download", up)
    region = await call(
        client, "wait", await call(client, "inpaint", up, _mask(picture.size), "a red door"), timeout=60
    )
    w, h = picture.size
    moved = await call(
        client, "wait", await call(client, "reposition", region, (w * 2, h), (0, 0, w, h), "more forest"), timeout=60
    )
    side = await call(client, "wait", await call(client, "vary", root, 3), timeout=60)

    tree = lineage(moved, client)
    assert [(depth, node.action, node.task.id) for depth, node in tree.walk()] == [
        (0, "imagine", root.id),
        (1, "U2", up.id),
        (2, "vary_region", region.id),
        (3, "reposition", moved.id),
        (1, "V3", side.id),
    ]
    assert tree.find(moved.id).task.prompt == "more forest"  # EvoLink does not echo it: the journal does
    assert lineage(side, client).find(moved.id) is not None  # any node gives the same tree
    assert "  U2 -> " in repr(tree)
    frame = pd.DataFrame(records([(moved, None), (up, None)], journal=client.journal))
    assert list(frame["root_id"]) == [root.id, root.id]


@pytest.mark.parametrize("dialect", ["mjproxy", "acedata"])
async def test_proxy_and_acedata_edges_are_named(exp_client, dialect):
    client = exp_client(dialect)
    root = await call(client, "imagine", "a stone bridge", wait=True, timeout=60)
    up = await call(client, "wait", await call(client, "upscale", root, 2), timeout=60)
    picture = await call(client, "download", up)
    region = await call(client, "wait", await call(client, "inpaint", up, _mask(picture.size), "moss"), timeout=60)
    tree = lineage(region, client)
    assert [(d, n.action, n.task.id) for d, n in tree.walk()] == [
        (0, "imagine", root.id),
        (1, "U2", up.id),
        (2, "vary_region", region.id),
    ]


async def test_a_parent_known_only_from_the_server(exp_client):
    client = exp_client("mjproxy")
    orphan = mjnb.Task(
        id="child-1",
        dialect="mjproxy",
        status=mjnb.TaskStatus.SUCCEEDED,
        kind="UPSCALE",
        parent_id="not-in-this-journal",
    )
    tree = lineage(orphan, client)
    assert tree.task.id == "not-in-this-journal" and tree.action == "?"
    assert [n.task.id for n in tree.children] == ["child-1"]
    with pytest.raises(ValidationError, match="takes a Task"):
        lineage("child-1", client)  # type: ignore[arg-type]
