"""mjnb.images: uploads, encodings, grids, masks, polygons and reposition composites."""

from __future__ import annotations

import ast
import base64
import io
import json
import pathlib
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile

from mjnb import images
from mjnb._errors import ValidationError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- helpers ------------------------------------------------------------------------------
def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def noise(width: int, height: int, channels: int = 3, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, channels), dtype=np.uint8))


def bits(mask: Image.Image) -> np.ndarray:
    return np.asarray(mask) >= 128


def rasterise(areas: list[dict], size: tuple[int, int]) -> np.ndarray:
    return bits(images.polygons_to_mask(areas, size))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def rect_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A bool mask painted on x0 <= x < x1, y0 <= y < y1."""
    x0, y0, x1, y1 = box
    out = np.zeros((size[1], size[0]), dtype=bool)
    out[y0:y1, x0:x1] = True
    return out


def brush_strokes(side: int, strokes: int, radius: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(img)
    for _ in range(strokes):
        points = [tuple(rng.uniform(radius, side - radius, 2))]
        for _ in range(6):
            points.append(tuple(np.clip(np.array(points[-1]) + rng.normal(0, side / 8, 2), 0, side - 1)))
        draw.line(points, fill=255, width=2 * radius, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    return bits(img)


def shoelace(points: list[int]) -> float:
    xs, ys = np.array(points[0::2], float), np.array(points[1::2], float)
    return float((xs * np.roll(ys, -1) - np.roll(xs, -1) * ys).sum())


def png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG header claiming width×height, with a few bytes of pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# -- layering -----------------------------------------------------------------------------
def test_images_modules_import_only_pillow_numpy_stdlib_and_errors():
    package = pathlib.Path(images.__file__).parent
    allowed_internal = {"_errors"} | {p.stem for p in package.glob("_images_*.py")}
    for path in [package / "images.py", *package.glob("_images_*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.module in allowed_internal, f"{path.name} imports .{node.module}"
            elif isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] in {"PIL", "numpy", "__future__", "typing"} | _stdlib(), path.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in {"PIL", "numpy"} | _stdlib(), f"{path.name}: {alias.name}"


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names)


# -- load_image ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_load_image_keeps_rgb_rgba_and_l(mode):
    img = Image.new(mode, (5, 4))
    assert images.load_image(png_bytes(img)).mode == mode
    assert images.load_image(img).mode == mode


@pytest.mark.parametrize(
    ("mode", "expected"), [("1", "L"), ("LA", "RGBA"), ("P", "RGB"), ("CMYK", "RGB"), ("I;16", "L")]
)
def test_load_image_normalises_other_modes(mode, expected):
    assert images.load_image(Image.new(mode, (3, 3))).mode == expected


def test_load_image_accepts_every_source_type(tmp_path):
    src = noise(7, 5)
    data = png_bytes(src)
    path = tmp_path / "in.png"
    path.write_bytes(data)
    expected = np.asarray(src)
    for source in (src, data, bytearray(data), memoryview(data), str(path), path, images.to_data_url(data), expected):
        loaded = images.load_image(source)
        assert loaded.size == (7, 5)
        assert np.array_equal(np.asarray(loaded), expected)


def test_load_image_from_arrays():
    assert images.load_image(np.zeros((4, 6), np.uint8)).mode == "L"
    assert images.load_image(np.zeros((4, 6, 1), np.uint8)).size == (6, 4)
    assert images.load_image(np.zeros((4, 6, 4), np.uint8)).mode == "RGBA"
    flags = np.array([[True, False]])
    assert np.asarray(images.load_image(flags)).tolist() == [[255, 0]]
    soft = np.array([[0.0, 0.5, 1.0]])
    assert np.asarray(images.load_image(soft)).tolist() == [[0, 128, 255]]
    with pytest.raises(ValidationError, match=r"shape \(4, 6, 2\)") as err:
        images.load_image(np.zeros((4, 6, 2), np.uint8), field="photo")
    assert err.value.field == "photo"
    with pytest.raises(ValidationError, match="0..255"):
        images.load_image(np.full((2, 2), 300, np.int32))


def test_load_image_applies_exif_orientation():
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.new("RGB", (40, 20), "red").save(buf, "JPEG", exif=exif)
    assert images.load_image(buf.getvalue()).size == (20, 40)


def test_load_image_refuses_oversized_bytes():
    with pytest.raises(ValidationError, match=r"over the 20\.0 MB upload limit") as err:
        images.load_image(b"\0" * (images.MAX_UPLOAD_BYTES + 1), field="image")
    assert err.value.field == "image"


def test_load_image_refuses_an_oversized_file_before_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    with open(path, "wb") as fh:
        fh.truncate(images.MAX_UPLOAD_BYTES + 1)  # sparse: no disk used
    opened = []
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or pytest.fail("file was opened"))
    with pytest.raises(ValidationError, match="upload limit"):
        images.load_image(path)
    assert opened == []


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (9000, 8000, r"9000×8000 is 72,000,000 pixels, over the 64,000,000 pixel limit"),  # our guard
        (100_000, 100_000, r"refused before decoding: over Pillow's pixel limit"),  # Pillow's, at open
    ],
)
def test_load_image_refuses_a_bomb_header_without_decoding(monkeypatch, width, height, message):
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    with pytest.raises(ValidationError, match=message) as err:
        images.load_image(png_claiming(width, height), field="upload")
    assert err.value.field == "upload"
    assert decoded == []
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's own guard stays on


def test_load_image_refuses_too_many_pixels_from_an_array_or_image():
    with pytest.raises(ValidationError, match="pixel limit"):
        images.load_image(np.broadcast_to(np.uint8(0), (8001, 8000)))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"", "empty"),
        (b"GIF89a but not really" * 3, "accepted formats: PNG, JPEG"),
        (b"hello, world", "not an image"),
        (42, "got int"),
        ("https://example.com/cat.png", "URL is not fetched here"),
        ("/no/such/file.png", "cannot read"),
        ("data:text/plain;base64,aGVsbG8=", "expected image/png or image/jpeg"),
        ("data:image/png;base64,@@@", "not valid base64"),
    ],
)
def test_load_image_refuses_bad_input_naming_the_field(source, message):
    with pytest.raises(ValidationError, match=message) as err:
        images.load_image(source, field="reference")
    assert err.value.field == "reference"
    assert str(err.value).startswith("reference:")


def test_load_image_refuses_a_truncated_png():
    data = png_bytes(noise(64, 64))
    with pytest.raises(ValidationError, match="could not be decoded"):
        images.load_image(data[: len(data) // 2])


# -- encodings ----------------------------------------------------------------------------
def test_png_metadata_round_trip(tmp_path):
    metadata = {
        "prompt": "a cat in a hat --ar 16:9",
        "task_id": "1712345678",
        "seed": 42,
        "numeric_text": "42",
        "params": {"ar": "16:9", "stylize": 250, "tags": ["a", "b"]},
        "unicode": "猫 ☃",
    }
    src = noise(9, 6)
    data = images.to_png(src, metadata=metadata)
    assert images.read_png_metadata(data) == metadata
    path = tmp_path / "out.png"
    path.write_bytes(data)
    assert images.read_png_metadata(path) == metadata
    assert np.array_equal(np.asarray(images.load_image(data)), np.asarray(src))


def test_png_metadata_refuses_bad_keys_and_non_png():
    with pytest.raises(ValidationError, match="1 to 79") as err:
        images.to_png(noise(2, 2), metadata={"": "x"})
    assert err.value.field == "metadata"
    with pytest.raises(ValidationError, match="not JSON-serialisable"):
        images.to_png(noise(2, 2), metadata={"k": object()})
    with pytest.raises(ValidationError, match="not a PNG"):
        images.read_png_metadata(images.to_jpeg(noise(2, 2)))


def test_to_jpeg_flattens_transparency_on_white():
    rgba = Image.new("RGBA", (16, 16), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 8, 16))
    out = Image.open(io.BytesIO(images.to_jpeg(rgba)))
    assert out.format == "JPEG" and out.mode == "RGB"
    pixels = np.asarray(out).astype(int)
    assert (np.abs(pixels[:, 12:] - 255) <= 6).all()  # transparent red became white
    assert (pixels[:, :4, 2] >= 240).all() and (pixels[:, :4, 0] <= 15).all()
    with pytest.raises(ValidationError, match="1 to 100"):
        images.to_jpeg(rgba, quality=0)


def test_data_url_round_trip():
    src = noise(5, 3, channels=4)
    data = png_bytes(src)
    url = images.to_data_url(data)
    assert url.startswith("data:image/png;base64,")
    assert images.from_data_url(url) == data  # PNG bytes are sent as they are
    assert np.array_equal(np.asarray(images.load_image(images.to_data_url(src))), np.asarray(src))
    jpeg_url = images.to_data_url(noise(5, 3), fmt="jpeg")
    assert jpeg_url.startswith("data:image/jpeg;base64,")
    assert images.load_image(jpeg_url).size == (5, 3)
    with pytest.raises(ValidationError, match="png") as err:
        images.to_data_url(src, fmt="gif")
    assert err.value.field == "fmt"


def test_base64_png_is_bare():
    src = noise(4, 4)
    text = images.to_base64_png(src)
    raw = base64.b64decode(text, validate=True)
    assert raw.startswith(PNG_SIGNATURE)
    assert np.array_equal(np.asarray(images.load_image(raw)), np.asarray(src))


def test_from_data_url_refuses_oversized_payload_before_decoding():
    payload = "A" * ((images.MAX_UPLOAD_BYTES // 3 + 1) * 4)
    with pytest.raises(ValidationError, match="upload limit"):
        images.from_data_url("data:image/png;base64," + payload)
    with pytest.raises(ValidationError, match="base64 data URLs"):
        images.from_data_url("data:image/png,rawbytes")


def test_thumbnail_png_fits_the_longest_side():
    thumb = Image.open(io.BytesIO(images.thumbnail_png(noise(1000, 500), max_side=256)))
    assert thumb.size == (256, 128)
    with pytest.raises(ValidationError, match="max_side"):
        images.thumbnail_png(noise(4, 4), max_side=0)


# -- split_grid ---------------------------------------------------------------------------
@pytest.mark.parametrize(("width", "height"), [(100, 80), (101, 77)])
def test_split_grid_returns_the_four_tiles_in_order(width, height):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    grid = Image.new("RGB", (width, height))
    mid_x, mid_y = width // 2, height // 2
    grid.paste(colours[0], (0, 0, mid_x, mid_y))
    grid.paste(colours[1], (mid_x, 0, width, mid_y))
    grid.paste(colours[2], (0, mid_y, mid_x, height))
    grid.paste(colours[3], (mid_x, mid_y, width, height))
    tiles = images.split_grid(png_bytes(grid))
    assert len(tiles) == 4
    for tile, colour in zip(tiles, colours):
        assert tile.getcolors() == [(tile.width * tile.height, colour)]
    assert tiles[0].width + tiles[1].width == width and tiles[0].height + tiles[2].height == height
    assert sum(t.width * t.height for t in tiles) == width * height


# -- as_mask ------------------------------------------------------------------------------
SIZE = (64, 48)
BOX = (10, 8, 30, 40)  # x0, y0, x1, y1
EXPECTED = rect_mask(SIZE, BOX)


def _mask_inputs(tmp_path):
    gray = Image.fromarray(EXPECTED.astype(np.uint8) * 200)  # 200 ≥ 128: paint
    strokes = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    strokes.paste((255, 0, 0, 255), BOX)  # red paint on a transparent layer: alpha decides
    opaque = Image.new("RGBA", SIZE, (0, 0, 0, 255))
    opaque.paste((255, 255, 255, 255), BOX)  # fully opaque: brightness decides
    path = tmp_path / "mask.png"
    path.write_bytes(png_bytes(gray))
    x0, y0, x1, y1 = BOX
    corners = [(x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1), (x0, y1 - 1)]
    area = {"width": SIZE[0], "height": SIZE[1], "points": [v for p in corners for v in p]}
    return {
        "L image": gray,
        "1 image": Image.fromarray(EXPECTED),
        "RGBA strokes": strokes,
        "opaque RGBA": opaque,
        "RGB": opaque.convert("RGB"),
        "bool array": EXPECTED,
        "0/1 array": EXPECTED.astype(np.int64),
        "0/255 array": EXPECTED.astype(np.uint8) * 255,
        "soft float array": EXPECTED * 0.9 + 0.05,
        "RGBA array": np.asarray(strokes),
        "PNG bytes": png_bytes(gray),
        "path": path,
        "path str": str(path),
        "data URL": images.to_data_url(gray),
        "areas": [area],
        "areas object": {"areas": [area]},
        "point lists": [corners],
    }


def test_as_mask_accepts_every_input_type(tmp_path):
    for name, value in _mask_inputs(tmp_path).items():
        mask = images.as_mask(value, SIZE)
        assert mask.mode == "L" and mask.size == SIZE, name
        assert set(np.unique(np.asarray(mask))) <= {0, 255}, name
        assert np.array_equal(bits(mask), EXPECTED), name


def test_as_mask_binarises_at_128():
    mask = images.as_mask(Image.fromarray(np.array([[0, 127, 128, 255]], np.uint8)))
    assert np.asarray(mask).tolist() == [[0, 0, 255, 255]]


def test_as_mask_size_mismatch_names_both_sizes():
    with pytest.raises(ValidationError, match="mask is 512×512 but the image is 1024×1024") as err:
        images.as_mask(np.ones((512, 512), bool), (1024, 1024))
    assert err.value.field == "mask"


def test_as_mask_refuses_an_empty_mask():
    with pytest.raises(ValidationError, match="mask is empty: paint the region to regenerate"):
        images.as_mask(np.zeros((8, 8), bool))
    with pytest.raises(ValidationError, match="empty"):
        images.as_mask(Image.new("RGBA", (8, 8), (255, 255, 255, 0)))  # transparent everywhere


def test_as_mask_refuses_polygons_without_a_size_and_bad_points():
    with pytest.raises(ValidationError, match="need the image size"):
        images.as_mask([[(0, 0), (5, 0), (5, 5)]])
    with pytest.raises(ValidationError, match="at least 3 points"):
        images.as_mask([[(0, 0), (5, 0)]], (8, 8))
    with pytest.raises(ValidationError, match="even count"):
        images.as_mask([{"width": 8, "height": 8, "points": [0, 0, 5, 0, 5]}])
    with pytest.raises(ValidationError, match="got set"):
        images.as_mask({1, 2})
    with pytest.raises(ValidationError, match="pixel limit"):  # refused before allocating 10 GB
        images.as_mask([{"width": 100_000, "height": 100_000, "points": [0, 0, 9, 0, 9, 9]}])


# -- encode_mask --------------------------------------------------------------------------
def test_encode_mask_formats():
    mask = images.as_mask(EXPECTED)
    url = images.encode_mask(mask, "png_data_url")
    assert url.startswith("data:image/png;base64,")
    from_url = Image.open(io.BytesIO(images.from_data_url(url)))
    assert from_url.mode == "L" and np.array_equal(bits(from_url), EXPECTED)
    raw = base64.b64decode(images.encode_mask(mask, "png_base64"), validate=True)
    from_b64 = Image.open(io.BytesIO(raw))
    assert from_b64.format == "PNG" and from_b64.mode == "L" and np.array_equal(bits(from_b64), EXPECTED)
    assert images.encode_mask(mask, "polygons") == images.mask_to_polygons(mask)
    json.dumps(images.encode_mask(EXPECTED, "polygons"))  # plain ints and lists: ready for the wire


def test_encode_mask_refuses_an_unknown_format():
    with pytest.raises(ValidationError, match="png_data_url, png_base64, polygons") as err:
        images.encode_mask(EXPECTED, "svg")
    assert err.value.field == "fmt"


# -- polygons -----------------------------------------------------------------------------
def test_rectangle_round_trips_to_identical_polygon_and_pixels():
    mask = rect_mask((200, 100), (20, 10, 120, 60))
    areas = images.mask_to_polygons(mask)
    assert areas == [{"width": 200, "height": 100, "points": [20, 10, 119, 10, 119, 59, 20, 59]}]
    assert np.array_equal(rasterise(areas, (200, 100)), mask)
    assert images.mask_to_polygons(images.polygons_to_mask(areas, (200, 100))) == areas


def test_full_and_single_pixel_masks():
    assert images.mask_to_polygons(np.ones((5, 7), bool))[0]["points"] == [0, 0, 6, 0, 6, 4, 0, 4]
    dot = np.zeros((5, 5), bool)
    dot[2, 3] = True
    areas = images.mask_to_polygons(dot)
    assert areas[0]["points"] == [3, 2, 3, 2, 3, 2]  # EvoLink wants at least 3 points
    assert np.array_equal(rasterise(areas, (5, 5)), dot)


@pytest.mark.parametrize(
    "boxes",
    [
        [(10, 10, 60, 20), (10, 10, 20, 70)],  # L
        [(30, 10, 40, 90), (10, 40, 90, 50)],  # cross
        [(10, 10, 50, 50), (30, 30, 80, 70)],  # overlapping
        [(0, 0, 100, 100)],  # touches every edge
        [(10, 10, 30, 30), (30, 30, 50, 50)],  # meet at a corner only: two areas
    ],
)
def test_unions_of_rectangles_are_exact(boxes):
    mask = np.zeros((100, 100), bool)
    for box in boxes:
        mask |= rect_mask((100, 100), box)
    areas = images.mask_to_polygons(mask)
    assert np.array_equal(rasterise(areas, (100, 100)), mask)
    for area in areas:
        assert all(isinstance(v, int) for v in area["points"])
        assert len(area["points"]) % 2 == 0 and len(area["points"]) >= 6


def test_random_unions_of_rectangles_are_exact():
    rng = np.random.default_rng(7)
    for _ in range(60):
        mask = np.zeros((120, 160), bool)
        for _ in range(rng.integers(1, 7)):
            x0, y0 = rng.integers(0, 78), rng.integers(0, 58)  # on an even grid: sides ≥ 2 px
            mask[2 * y0 : 2 * rng.integers(y0 + 1, 61), 2 * x0 : 2 * rng.integers(x0 + 1, 81)] = True
        assert np.array_equal(rasterise(images.mask_to_polygons(mask), (160, 120)), mask)


def test_holes_are_kept():
    frame = np.ones((90, 120), bool)
    frame[20:70, 30:100] = False
    inner = rect_mask((120, 90), (50, 35, 80, 55))  # an island inside the hole
    for mask in (frame, frame | inner):
        areas = images.mask_to_polygons(mask)
        assert np.array_equal(rasterise(areas, (120, 90)), mask)
    assert len(images.mask_to_polygons(frame | inner)) == 2


def test_two_components_give_two_areas_top_left_first():
    mask = rect_mask((100, 100), (60, 50, 90, 90)) | rect_mask((100, 100), (5, 5, 25, 25))
    areas = images.mask_to_polygons(mask)
    assert [a["points"][:2] for a in areas] == [[5, 5], [60, 50]]


def test_points_run_clockwise_from_the_top_left():
    disc = np.hypot(*np.mgrid[-40:41, -40:41]) <= 30
    for area in images.mask_to_polygons(disc):
        pts = area["points"]
        xs, ys = pts[0::2], pts[1::2]
        assert (ys[0], xs[0]) == min(zip(ys, xs))
        assert shoelace(pts) > 0  # positive with y pointing down: clockwise on screen


@pytest.mark.parametrize("radius", [6, 12, 30, 120])
def test_disc_iou(radius):
    yy, xx = np.mgrid[0 : 2 * radius + 9, 0 : 2 * radius + 9]
    disc = (xx - radius - 4.3) ** 2 + (yy - radius - 4.1) ** 2 <= radius**2
    areas = images.mask_to_polygons(disc)
    assert len(areas) == 1
    assert iou(rasterise(areas, disc.shape[::-1]), disc) >= 0.97
    corners = int((np.diff(disc.astype(int), axis=0) != 0).sum() + (np.diff(disc.astype(int), axis=1) != 0).sum())
    assert len(areas[0]["points"]) // 2 < corners  # simplified, not a copy of every step


@pytest.mark.parametrize("radius", [4, 10, 25])
def test_brush_strokes_iou(radius):
    strokes = brush_strokes(400, 4, radius, seed=radius)
    areas = images.mask_to_polygons(strokes)
    assert iou(rasterise(areas, (400, 400)), strokes) >= 0.97


def test_tolerance_zero_is_exact_for_any_mask():
    rng = np.random.default_rng(3)
    for _ in range(40):
        h, w = rng.integers(1, 40, 2)
        speckle = rng.random((h, w)) < rng.uniform(0.2, 0.8)
        if speckle.any():
            areas = images.mask_to_polygons(speckle, tolerance=0, max_points=10**6)
            assert np.array_equal(rasterise(areas, (w, h)), speckle)


def test_max_points_falls_back_to_a_coarser_tolerance_then_refuses():
    disc = np.hypot(*np.mgrid[-300:301, -300:301]) <= 290
    fine = sum(len(a["points"]) for a in images.mask_to_polygons(disc)) // 2
    coarse = sum(len(a["points"]) for a in images.mask_to_polygons(disc, tolerance=2)) // 2
    assert coarse < fine
    fallback = images.mask_to_polygons(disc, max_points=coarse)
    assert sum(len(a["points"]) for a in fallback) // 2 == coarse
    with pytest.raises(ValidationError, match="too detailed") as err:
        images.mask_to_polygons(disc, max_points=coarse - 1)
    assert err.value.field == "mask"
    with pytest.raises(ValidationError, match="tolerance"):
        images.mask_to_polygons(disc, tolerance=-1)


def test_polygons_to_mask_scales_areas_of_another_size():
    area = {"width": 100, "height": 50, "points": [10, 10, 59, 10, 59, 29, 10, 29]}
    ideal = rect_mask((200, 100), (20, 20, 120, 60))  # the same part of the picture at twice the size
    assert np.array_equal(rasterise([area], (200, 100)), ideal)
    counter_clockwise = {**area, "points": [10, 10, 10, 29, 59, 29, 59, 10]}
    assert np.array_equal(rasterise([counter_clockwise], (200, 100)), ideal)
    halved = images.mask_to_polygons(ideal)
    assert np.array_equal(rasterise(halved, (100, 50)), rect_mask((100, 50), (10, 10, 60, 30)))
    disc = np.hypot(*np.mgrid[-128:128, -128:128]) <= 100
    big_disc = np.hypot(*(np.mgrid[-256:256, -256:256] + 0.5)) <= 200
    assert iou(rasterise(images.mask_to_polygons(disc), (512, 512)), big_disc) >= 0.97


def test_reposition_mask_exports_exactly():
    _, mask = images.compose_reposition(noise(50, 40), (256, 192), (60, 40, 100, 80))
    areas = images.mask_to_polygons(mask)
    assert len(areas) == 1 and len(areas[0]["points"]) // 2 <= 12
    assert np.array_equal(rasterise(areas, (256, 192)), bits(mask))


# -- editing helpers ----------------------------------------------------------------------
def test_grow_shrink_invert():
    square = rect_mask((40, 40), (10, 10, 20, 20))
    assert np.array_equal(bits(images.grow_mask(square, 3)), rect_mask((40, 40), (7, 7, 23, 23)))
    assert np.array_equal(bits(images.grow_mask(square, -3)), rect_mask((40, 40), (13, 13, 17, 17)))
    assert not bits(images.grow_mask(square, -5)).any()
    assert np.array_equal(bits(images.grow_mask(square, 0)), square)
    assert np.array_equal(bits(images.invert_mask(square)), ~square)
    edge = rect_mask((40, 40), (0, 0, 40, 10))  # touches three image edges
    assert np.array_equal(bits(images.grow_mask(edge, -2)), rect_mask((40, 40), (0, 0, 40, 8)))
    with pytest.raises(ValidationError, match="px"):
        images.grow_mask(square, 1.5)


def test_feather_mask_softens_the_edge_only():
    square = rect_mask((60, 60), (20, 20, 40, 40))
    soft = np.asarray(images.feather_mask(square, 3))
    assert soft[30, 30] == 255 and soft[0, 0] == 0
    assert ((soft > 0) & (soft < 255)).sum() > 0
    with pytest.raises(ValidationError, match="radius"):
        images.feather_mask(square, -1)


# -- reposition ---------------------------------------------------------------------------
def test_compose_reposition_places_pixels_exactly():
    src = noise(100, 80, seed=1)
    composite, mask = images.compose_reposition(src, (300, 200), (50, 40, 100, 80))
    assert composite.mode == "RGBA" and composite.size == (300, 200)
    pixels = np.asarray(composite)
    assert np.array_equal(pixels[40:120, 50:150, :3], np.asarray(src))
    covered = rect_mask((300, 200), (50, 40, 150, 120))
    assert np.array_equal(pixels[:, :, 3] == 255, covered)
    assert not pixels[~covered].any()  # transparent elsewhere
    assert mask.mode == "L" and np.array_equal(bits(mask), ~covered)


def test_compose_reposition_crops_negative_offsets_and_boxes_past_the_edge():
    src = noise(100, 80, seed=2)
    composite, mask = images.compose_reposition(src, (128, 96), (-30, -20, 100, 80))
    assert np.array_equal(np.asarray(composite)[:60, :70, :3], np.asarray(src)[20:, 30:])
    assert np.array_equal(bits(mask), ~rect_mask((128, 96), (0, 0, 70, 60)))
    composite, mask = images.compose_reposition(src, (128, 96), (90, 50, 100, 80))
    assert np.array_equal(np.asarray(composite)[50:, 90:, :3], np.asarray(src)[:46, :38])
    assert np.array_equal(bits(mask), ~rect_mask((128, 96), (90, 50, 128, 96)))


def test_compose_reposition_scales_the_source_to_the_box():
    src = Image.new("RGB", (50, 40), (10, 200, 30))
    composite, mask = images.compose_reposition(src, (256, 256), (-100, 28, 400, 200))
    region = np.asarray(composite)[28:228, :, :]
    assert (np.abs(region[:, :, :3].astype(int) - (10, 200, 30)) <= 1).all() and (region[:, :, 3] == 255).all()
    assert np.array_equal(bits(mask), ~rect_mask((256, 256), (0, 28, 256, 228)))


@pytest.mark.parametrize(
    ("canvas", "box", "field", "message"),
    [
        ((63, 100), (0, 0, 10, 10), "canvas", "64 to 8192"),
        ((8193, 100), (0, 0, 10, 10), "canvas", "64 to 8192"),
        ((100,), (0, 0, 10, 10), "canvas", "width, height"),
        ((100.5, 100), (0, 0, 10, 10), "canvas", "whole pixels"),
        ((100, 100), (0, 0, 0, 10), "image_box", "1 to"),
        ((100, 100), (100, 0, 10, 10), "image_box", "outside"),
        ((100, 100), (-10, 0, 10, 10), "image_box", "outside"),
        ((100, 100), (0, 0, 10), "image_box", "x, y, width, height"),
    ],
)
def test_reposition_validation(canvas, box, field, message):
    with pytest.raises(ValidationError, match=message) as err:
        images.compose_reposition(noise(8, 8), canvas, box)
    assert err.value.field == field


def test_check_canvas_returns_ints():
    assert images.check_canvas((100.0, np.int64(80)), [-5, 0, 50, 40]) == ((100, 80), (-5, 0, 50, 40))


def test_checkerboard():
    board = images.checkerboard((40, 20), cell=10)
    assert board.mode == "RGB" and board.size == (40, 20)
    pixels = np.asarray(board)[:, :, 0]
    assert pixels[0, 0] != pixels[0, 10] and pixels[0, 0] == pixels[10, 10] == pixels[0, 20]
    assert set(np.unique(pixels)) == {204, 255}
