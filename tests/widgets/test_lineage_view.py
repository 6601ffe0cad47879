"""LineageView headless on the embedded simulator: imagine → U2 and imagine → V1 → U3 from the
journal (``mjnb.lineage``), thumbnails, edge captions, a click into the Gallery, the Studio's tab."""

from __future__ import annotations

import io

from PIL import Image

from mjnb.widgets import Gallery, LineageView, Studio
from mjnb.widgets._lineage_view import edge_label


async def family(client):
    root = await client.wait(await client.imagine("a paper boat on a pond"))
    u2 = await client.wait(await client.action(root, "U2"))
    v1 = await client.wait(await client.action(root, "V1"))
    u3 = await client.wait(await client.action(v1, "U3"))
    return root, u2, v1, u3


def edges(view) -> list[str]:
    found, todo = [], [view.tree_box]
    while todo:
        w = todo.pop(0)
        if "mjnb-lineage-edge" in getattr(w, "_dom_classes", ()):
            found.append(w.value)
        todo.extend(getattr(w, "children", ()))
    return found


async def test_the_tree_from_the_root_with_thumbnails_and_edge_captions(client):
    root, u2, v1, u3 = await family(client)
    view = LineageView(u3, client=client)
    tree = await view.loading
    assert tree.task.id == root.id
    assert set(view.nodes) == {root.id, u2.id, v1.id, u3.id}
    assert all("mjnb-lineage-node" in card._dom_classes for card in view.nodes.values())
    assert "mjnb-lineage-current" in view.nodes[u3.id]._dom_classes
    assert "mjnb-lineage" in view._dom_classes
    assert sorted(edges(view)) == sorted(f"<span>→ {a} →</span>" for a in ("U2", "V1", "U3"))
    for card in view.nodes.values():
        picture = Image.open(io.BytesIO(card.children[0].value))
        assert max(picture.size) <= 192
    assert "4 tasks from the root" in view.message.value


async def test_a_click_on_a_node_opens_it_in_the_gallery(client):
    root, u2, v1, u3 = await family(client)
    gallery = Gallery(client=client)
    view = LineageView(root, client=client, gallery=gallery)
    await view.loading
    opened = []
    view.on_open(opened.append)
    view.nodes[v1.id].children[1].click()
    await gallery.loading
    assert gallery.task.id == v1.id and view.selected.id == v1.id and [t.id for t in opened] == [v1.id]


def test_edge_captions_are_text_without_emoji():
    assert [edge_label(a) for a in ("U2", "vary_region", "reposition", "pan_left", None)] == [
        "U2",
        "Vary (Region)",
        "Reposition",
        "Pan ←",
        "follow-up",
    ]


async def test_the_studio_opens_a_lineage_in_its_tab():
    studio = Studio()
    task = await studio.submit("a paper boat on a pond").result()
    await studio.gallery.loading
    upscaled = await studio.gallery.run_action("U1").result()
    view = studio.open_lineage(upscaled)
    await view.loading
    assert studio.tabs.selected_index == 3 and studio.lineage_area.children == (view,)
    assert set(view.nodes) == {task.id, upscaled.id}
    view.nodes[task.id].children[1].click()
    await studio.gallery.loading
    assert studio.gallery.task.id == task.id


async def test_the_gallery_lineage_button_opens_the_view_in_the_studio():
    studio = Studio()
    shown = []
    studio.on_result(shown.append)
    task = await studio.submit("a paper boat on a pond").result()
    await studio.gallery.loading
    assert shown == [task]
    assert studio.gallery.lineage_button.layout.display != "none"  # the Studio registered for it
    studio.gallery.lineage_button.click()
    view = studio.lineage_area.children[0]
    assert isinstance(view, LineageView) and view.task == task and studio.tabs.selected_index == 3
    await view.loading
    assert list(view.nodes) == [task.id]
