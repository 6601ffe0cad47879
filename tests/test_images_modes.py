"""Every image helper × every Pillow mode, EXIF orientation, the CMYK field case, bad input.

What a user sees is checked: the pixels that would be sent (decoded back from the PNG, JPEG
or data URL), the mask that would be painted, the error and the field it names.
"""

from __future__ import annotations

import base64
import io
import mmap
import os
import pathlib
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mjnb import images
from mjnb._errors import ValidationError

CMYK_CASE = pathlib.Path("/work/shared/cases/cmyk_photo.jpg")
SIZE = (16, 12)
DARK, BRIGHT = (0, 0, 0), (255, 255, 255)
RED, SKY = (200, 0, 0), (150, 200, 255)  # luminance 60 (kept) and 192 (painted)


def reference() -> Image.Image:
    """Left half dark (a red square in it), right half bright (a sky-blue square in it)."""
    img = Image.new("RGB", SIZE, DARK)
    img.paste(BRIGHT, (8, 0, 16, 12))
    img.paste(RED, (2, 3, 6, 7))
    img.paste(SKY, (10, 3, 14, 7))
    return img


REF = reference()
REF_L = REF.convert("L")
#: What every helper must see as the mask: luminance ≥ 128, i.e. the right half.
PAINTED = np.zeros((SIZE[1], SIZE[0]), dtype=bool)
PAINTED[:, 8:] = True


def grey_levels(bits: int) -> np.ndarray:
    """REF's luminance written with ``bits`` bits per pixel (16: v × 257)."""
    levels = np.asarray(REF_L).astype(np.int64)
    return levels * 257 if bits == 16 else levels


def make(mode: str) -> Image.Image:
    """REF in ``mode``, opaque, the way a user's Pillow code would have it."""
    if mode.startswith("I;16"):
        order = ">u2" if mode == "I;16B" else "<u2"
        raw = grey_levels(16).astype(order).tobytes()
        return Image.frombytes(mode, SIZE, raw)
    if mode == "I":
        return Image.fromarray(grey_levels(16).astype(np.int32))  # 16-bit data in a 32-bit mode
    if mode == "F":
        return Image.fromarray((grey_levels(8) / 255).astype(np.float32))  # 0..1
    if mode == "1":
        return REF_L.point(lambda v: 255 if v >= 128 else 0).convert("1")
    if mode in ("L", "LA", "La"):
        return REF_L.convert("LA").convert(mode) if mode != "L" else REF_L
    if mode == "P":
        return REF.quantize(colors=8)
    if mode == "PA":
        return REF.quantize(colors=8).convert("PA")
    if mode in ("RGBA", "RGBa"):
        return REF.convert("RGBA").convert(mode)
    return REF.convert(mode)  # CMYK, LAB, HSV, YCbCr, RGBX, RGB


GREY_MODES = {"1", "L", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"}
#: Round trips through these colour spaces are not exact in 8 bits.
TOLERANCE = {"LAB": 8, "HSV": 3, "YCbCr": 3}
ALL_MODES = sorted(Image.MODES)


def expected(mode: str) -> np.ndarray:
    if mode == "1":
        return np.where(np.asarray(REF_L) >= 128, 255, 0)
    return np.asarray(REF_L if mode in GREY_MODES else REF).astype(int)


def as_seen(img: Image.Image, mode: str) -> np.ndarray:
    """The picture as the user compares it: greyscale for grey modes, RGB otherwise."""
    return np.asarray(img.convert("L" if mode in GREY_MODES else "RGB")).astype(int)


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def from_url(url: str) -> Image.Image:
    return decode(base64.b64decode(url.split(",", 1)[1]))


# Each helper → the picture a user would get from it (an image of SIZE, or None for masks).
PICTURE_HELPERS: dict[str, Callable[[Any], Image.Image]] = {
    "load_image": images.load_image,
    "to_png": lambda img: decode(images.to_png(img, metadata={"prompt": "a cat"})),
    "to_jpeg": lambda img: decode(images.to_jpeg(img, quality=100)),
    "to_data_url png": lambda img: from_url(images.to_data_url(img)),
    "to_data_url jpeg": lambda img: from_url(images.to_data_url(img, fmt="jpeg")),
    "to_base64_png": lambda img: decode(base64.b64decode(images.to_base64_png(img))),
    "thumbnail_png": lambda img: decode(images.thumbnail_png(img, max_side=16)),
    "split_grid": lambda img: _reassemble(images.split_grid(img)),
    "compose_reposition": lambda img: images.compose_reposition(img, (64, 64), (8, 8, *SIZE))[0].crop(
        (8, 8, 8 + SIZE[0], 8 + SIZE[1])
    ),
}


def _raster(areas: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray(images.polygons_to_mask(areas, (areas[0]["width"], areas[0]["height"]))) >= 128


def _png_bits(data: bytes) -> np.ndarray:
    return np.asarray(decode(data)) >= 128


MASK_HELPERS: dict[str, Callable[[Any], np.ndarray]] = {
    "as_mask": lambda img: np.asarray(images.as_mask(img)) >= 128,
    "encode_mask png_data_url": lambda img: _png_bits(base64.b64decode(images.encode_mask(img, "png_data_url")[22:])),
    "encode_mask png_base64": lambda img: _png_bits(base64.b64decode(images.encode_mask(img, "png_base64"))),
    "encode_mask polygons": lambda img: _raster(images.encode_mask(img, "polygons")),
    "mask_to_polygons": lambda img: _raster(images.mask_to_polygons(img)),
    "feather_mask": lambda img: np.asarray(images.feather_mask(img, 0)) >= 128,
    "grow_mask": lambda img: np.asarray(images.grow_mask(img, 0)) >= 128,
    "invert_mask": lambda img: ~(np.asarray(images.invert_mask(img)) >= 128),
}


def _reassemble(tiles: list[Image.Image]) -> Image.Image:
    out = Image.new(tiles[0].mode, SIZE)
    for tile, at in zip(tiles, [(0, 0), (8, 0), (0, 6), (8, 6)]):
        out.paste(tile, at)
    return out


def test_the_mode_list_is_pillows_own():
    assert len(ALL_MODES) >= 20 and {"CMYK", "LAB", "HSV", "I;16B", "RGBa", "La", "PA"} <= set(ALL_MODES)


@pytest.mark.parametrize("helper", sorted(PICTURE_HELPERS))
@pytest.mark.parametrize("mode", ALL_MODES)
def test_every_picture_helper_takes_every_pillow_mode(mode, helper):
    source = make(mode)
    assert source.mode == mode
    out = PICTURE_HELPERS[helper](source)
    assert out.size == SIZE
    tolerance = TOLERANCE.get(mode, 0) + (6 if "jpeg" in helper else 0)
    diff = np.abs(as_seen(out, mode) - expected(mode))
    # JPEG rings at the sharp edges of this tiny picture: judge it by its median error.
    worst = np.median(diff) if "jpeg" in helper else diff.max()
    assert worst <= tolerance, f"{mode} through {helper}: off by up to {diff.max()}"


@pytest.mark.parametrize("helper", sorted(MASK_HELPERS))
@pytest.mark.parametrize("mode", ALL_MODES)
def test_every_mask_helper_takes_every_pillow_mode(mode, helper):
    painted = MASK_HELPERS[helper](make(mode))
    assert painted.shape == PAINTED.shape
    assert (painted == PAINTED).all(), f"{mode} through {helper}: {int((painted != PAINTED).sum())} pixels differ"


NORMALISED_MODE = {"1": "L", "L": "L", "I": "L", "F": "L", "I;16": "L", "I;16B": "L", "I;16L": "L", "I;16N": "L"}
NORMALISED_MODE |= dict.fromkeys(["LA", "La", "PA", "RGBA", "RGBa"], "RGBA")


@pytest.mark.parametrize("mode", ALL_MODES)
def test_load_image_gives_rgb_rgba_or_l(mode):
    assert images.load_image(make(mode)).mode == NORMALISED_MODE.get(mode, "RGB")


def file_keeping(mode: str) -> bytes | None:
    """``make(mode)`` written by the first accepted format that reads back in the same mode."""
    for fmt in ("PNG", "TIFF", "JPEG"):
        buf = io.BytesIO()
        try:
            make(mode).save(buf, fmt)
        except (OSError, ValueError, KeyError):
            continue
        if Image.open(io.BytesIO(buf.getvalue())).mode == mode:
            return buf.getvalue()
    return None


FILE_MODES = [mode for mode in ALL_MODES if file_keeping(mode) is not None]


def test_most_modes_can_come_from_a_file():
    assert {"1", "CMYK", "F", "I", "I;16", "I;16B", "LA", "LAB", "P", "PA", "YCbCr"} <= set(FILE_MODES)


@pytest.mark.parametrize("mode", FILE_MODES)
def test_a_file_gives_the_same_pixels_as_bytes_as_a_path_and_opened_by_the_user(mode, tmp_path):
    data = file_keeping(mode)
    assert data is not None
    path = tmp_path / "in.img"
    path.write_bytes(data)
    from_bytes = images.load_image(data)
    with Image.open(path) as opened:
        assert opened.mode == mode
        from_image = images.load_image(opened)
    for other in (from_image, images.load_image(path)):
        assert other.mode == from_bytes.mode
        assert np.array_equal(np.asarray(other), np.asarray(from_bytes)), mode


# -- alpha ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RGBA", "RGBa", "LA", "La", "PA"])
def test_transparency_survives_into_the_mask_and_is_flattened_on_white_in_jpeg(mode):
    rgba = REF.convert("RGBA")
    alpha = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    alpha[:, 8:] = 255  # opaque right half: the painted strokes
    rgba.putalpha(Image.fromarray(alpha))
    source = rgba.convert("LA").convert(mode) if mode in ("LA", "La") else rgba.convert(mode)
    assert (np.asarray(images.as_mask(source)) >= 128).tolist() == PAINTED.tolist()
    flat = np.asarray(decode(images.to_jpeg(source, quality=100)).convert("L")).astype(int)
    assert np.median(np.abs(flat[:, :6] - 255)) <= 4  # the transparent half is white, not black


def test_a_palette_image_with_a_transparent_index_becomes_rgba():
    img = Image.new("P", (4, 2), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (2, 0, 4, 2))
    img.info["transparency"] = 0
    out = images.load_image(img)
    assert out.mode == "RGBA"
    assert np.asarray(out)[:, :2, 3].tolist() == [[0, 0], [0, 0]]
    assert np.asarray(out)[0, 3].tolist() == [255, 0, 0, 255]


# -- 16-bit and float: scaled, not clipped to white -------------------------------------------
@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I;16L", "I;16N", "I"])
def test_sixteen_bit_grey_is_scaled_not_clipped(mode):
    levels = np.array([[0, 257 * 64, 32896, 65535]])
    if mode == "I":
        img = Image.fromarray(levels.astype(np.int32))
    else:
        img = Image.frombytes(mode, (4, 1), levels.astype(">u2" if mode == "I;16B" else "<u2").tobytes())
    assert np.asarray(images.load_image(img)).tolist() == [[0, 64, 128, 255]]


def test_a_sixteen_bit_png_file_is_scaled_from_bytes_and_from_the_users_image(tmp_path):
    path = tmp_path / "scan.png"
    Image.fromarray(np.array([[0, 16448, 65535]], np.uint16)).save(path)
    assert images.load_image(path).getpixel((1, 0)) == 64
    with Image.open(path) as opened:
        assert np.asarray(images.load_image(opened)).tolist() == [[0, 64, 255]]
        assert np.asarray(decode(images.to_png(opened))).tolist() == [[0, 64, 255]]


@pytest.mark.parametrize(
    ("values", "levels"),
    [([0.0, 0.5, 1.0], [0, 128, 255]), ([0.0, 100.0, 255.0], [0, 100, 255]), ([0.0, 32896.0, 65535.0], [0, 128, 255])],
)
def test_float_pixels_are_scaled_by_their_range(values, levels):
    arr = np.array([values], np.float32)
    assert np.asarray(images.load_image(Image.fromarray(arr))).tolist() == [levels]
    assert np.asarray(images.load_image(arr)).tolist() == [levels]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -5.0, 1e6])
def test_float_pixels_that_fit_no_range_are_refused(value):
    arr = np.array([[0.0, value]], np.float32)
    for source in (arr, Image.fromarray(arr)):
        with pytest.raises(ValidationError, match="NaN or infinite|must lie in") as err:
            images.to_png(source)
        assert err.value.field == "image"


def test_a_uint16_array_is_sixteen_bit_and_other_integers_stay_strict():
    assert np.asarray(images.load_image(np.array([[0, 32896, 65535]], np.uint16))).tolist() == [[0, 128, 255]]
    with pytest.raises(ValidationError, match="0..255") as err:
        images.load_image(np.array([[0, 300]], np.int64), field="photo")
    assert err.value.field == "photo"


# -- EXIF orientation ---------------------------------------------------------------------------
def rotated_jpeg(orientation: int = 6) -> bytes:
    """40×20 stored: left half red, right half blue; orientation 6 shows it turned 90° clockwise."""
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif)
    return buf.getvalue()


def is_upright(img: Image.Image) -> bool:
    """Displayed 20×40, red on top (the stored left), blue below."""
    rgb = np.asarray(img.convert("RGB")).astype(int)
    return img.size == (20, 40) and rgb[5, 10, 0] > 200 > rgb[5, 10, 2] and rgb[35, 10, 2] > 200 > rgb[35, 10, 0]


@pytest.mark.parametrize("helper", sorted(set(PICTURE_HELPERS) - {"compose_reposition", "split_grid"}))
@pytest.mark.parametrize("given_as", ["pil", "bytes", "path", "data_url"])
def test_exif_orientation_is_applied_whatever_form_the_photo_comes_in(helper, given_as, tmp_path):
    data = rotated_jpeg()
    path = tmp_path / "phone.jpg"
    path.write_bytes(data)
    source: Any = {
        "pil": Image.open(path),
        "bytes": data,
        "path": path,
        "data_url": "data:image/jpeg;base64," + base64.b64encode(data).decode(),
    }[given_as]
    helper_fn = PICTURE_HELPERS[helper]
    out = helper_fn(source) if helper != "thumbnail_png" else decode(images.thumbnail_png(source, max_side=40))
    assert is_upright(out), f"{helper} given {given_as}: {out.size}"


def test_exif_orientation_in_grids_masks_and_composites():
    photo = Image.open(io.BytesIO(rotated_jpeg()))
    tiles = images.split_grid(photo)
    assert [t.size for t in tiles] == [(10, 20)] * 4
    assert np.asarray(tiles[0])[5, 5, 0] > 200 and np.asarray(tiles[2])[5, 5, 2] > 200
    composite, _ = images.compose_reposition(photo, (64, 64), (0, 0, 20, 40))
    assert is_upright(composite.crop((0, 0, 20, 40)))
    # A mask photographed the same way lines up with the upright image: the size is 20×40.
    assert images.invert_mask(Image.open(io.BytesIO(rotated_jpeg()))).size == (20, 40)
    with pytest.raises(ValidationError, match="mask is 20×40 but the image is 40×20"):
        images.as_mask(1 - np.asarray(images.invert_mask(Image.open(io.BytesIO(rotated_jpeg())))), (40, 20))


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_all_eight_orientations_match_pillows_own_transpose(orientation):
    from PIL import ImageOps

    data = rotated_jpeg(orientation)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    for source in (data, Image.open(io.BytesIO(data))):
        out = images.load_image(source)
        assert out.size == upright.size
        assert np.array_equal(np.asarray(out), np.asarray(upright.convert("RGB")))


def test_to_data_url_names_the_callers_field_and_keeps_good_png_bytes():
    with pytest.raises(ValidationError, match="^images: empty") as err:
        images.to_data_url(b"", field="images")
    assert err.value.field == "images"
    png = images.to_png(REF)
    assert images.to_data_url(png, field="images") == "data:image/png;base64," + base64.b64encode(png).decode()


def test_to_data_url_does_not_pass_a_rotated_jpeg_through_unrotated():
    url = images.to_data_url(rotated_jpeg(), fmt="jpeg")
    assert is_upright(from_url(url))
    plain = rotated_jpeg(1)
    assert base64.b64decode(images.to_data_url(plain, fmt="jpeg").split(",", 1)[1]) == plain  # as it was


# -- the CMYK field case ------------------------------------------------------------------------
def test_cmyk_case_file_is_what_the_readme_says():
    with Image.open(CMYK_CASE) as img:
        assert img.mode == "CMYK"


@pytest.mark.parametrize("helper", sorted(PICTURE_HELPERS))
def test_cmyk_photo_opened_by_the_user_gives_what_its_path_gives(helper):
    with Image.open(CMYK_CASE) as opened:
        from_image = PICTURE_HELPERS[helper](opened)
    from_path = PICTURE_HELPERS[helper](CMYK_CASE)
    assert from_image.mode in ("RGB", "RGBA")
    assert np.array_equal(np.asarray(from_image), np.asarray(from_path))
    # The photo is pure red in CMYK (0, 255, 255, 0): red it stays, not cyan, black or white.
    seen = np.asarray(from_image.convert("RGB"))[10, 10].astype(int)
    assert np.abs(seen - [255, 0, 0]).max() <= (6 if "jpeg" in helper else 0)


def test_cmyk_photo_as_a_mask_reads_as_red_whatever_form_it_comes_in():
    """Red (luminance 76) is below the paint threshold: the whole photo says "keep"."""
    for source in (Image.open(CMYK_CASE), CMYK_CASE, CMYK_CASE.read_bytes()):
        assert (np.asarray(images.invert_mask(source)) == 255).all()
        assert not np.asarray(images.grow_mask(source, 3)).any()
        assert images.mask_to_polygons(source) == []
        with pytest.raises(ValidationError, match="mask is empty"):
            images.encode_mask(source, "png_base64")


def test_cmyk_photo_metadata_round_trip():
    with Image.open(CMYK_CASE) as opened:
        data = images.to_png(opened, metadata={"prompt": "a red barn", "seed": 7})
    assert images.read_png_metadata(data) == {"prompt": "a red barn", "seed": 7}
    assert decode(data).mode == "RGB"


# -- bad input ---------------------------------------------------------------------------------
IMAGE_TAKERS: dict[str, Callable[[Any], Any]] = {
    "load_image": lambda src: images.load_image(src, field="photo"),
    "to_png": images.to_png,
    "to_jpeg": images.to_jpeg,
    "to_data_url": images.to_data_url,
    "to_base64_png": images.to_base64_png,
    "thumbnail_png": images.thumbnail_png,
    "split_grid": images.split_grid,
    "compose_reposition": lambda src: images.compose_reposition(src, (64, 64), (0, 0, 8, 8)),
    "as_mask": images.as_mask,
    "encode_mask": lambda src: images.encode_mask(src, "png_base64"),
    "mask_to_polygons": images.mask_to_polygons,
    "feather_mask": lambda src: images.feather_mask(src, 2),
    "grow_mask": lambda src: images.grow_mask(src, 1),
    "invert_mask": images.invert_mask,
    "read_png_metadata": images.read_png_metadata,
}
FIELD = {"load_image": "photo", "read_png_metadata": "png"}
MASK_TAKERS = {"as_mask", "encode_mask", "mask_to_polygons", "feather_mask", "grow_mask", "invert_mask"}


def field_of(name: str) -> str:
    return FIELD.get(name, "mask" if name in MASK_TAKERS else "image")


def refused(name: str, source: Any, match: str) -> ValidationError:
    with pytest.raises(ValidationError, match=match) as err:
        IMAGE_TAKERS[name](source)
    assert err.value.field == field_of(name), f"{name}: field {err.value.field!r}"
    assert str(err.value).startswith(field_of(name) + ":")
    return err.value


@pytest.mark.parametrize("name", sorted(IMAGE_TAKERS))
def test_a_directory_is_refused_naming_the_field(name, tmp_path):
    refused(name, "/tmp", "'/tmp' is a directory, expected an image file")
    refused(name, tmp_path, "is a directory")


@pytest.mark.parametrize("name", sorted(IMAGE_TAKERS))
def test_missing_empty_and_unreadable_files_are_refused(name, tmp_path):
    refused(name, tmp_path / "no-such.png", "cannot read .*No such file")
    (tmp_path / "empty.png").write_bytes(b"")
    refused(name, tmp_path / "empty.png", r"empty \(0 bytes\)")
    (tmp_path / "junk.png").write_bytes(os.urandom(64))
    refused(name, tmp_path / "junk.png", "not an image|not a PNG")
    refused(name, "bad\0path.png", "cannot read")


@pytest.mark.parametrize("name", sorted(IMAGE_TAKERS))
def test_empty_and_unreadable_bytes_are_refused(name):
    refused(name, b"", r"empty \(0 bytes\)")
    refused(name, memoryview(b""), r"empty \(0 bytes\)")
    refused(name, b"\x89PNG\r\n\x1a\n" + os.urandom(40), "not an image|could not be read")
    jpeg = rotated_jpeg(1)
    refused(name, jpeg[: len(jpeg) // 2], "could not be decoded|not an image|not a PNG")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    refused("load_image", fifo, "not a regular file")
    refused("as_mask", fifo, "not a regular file")


@pytest.fixture(scope="module")
def upload_200mb(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("big") / "upload.png"
    with open(path, "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: no disk or memory used
    return path


@pytest.mark.parametrize("name", sorted(IMAGE_TAKERS))
def test_a_200_mb_upload_is_refused_before_it_is_read_or_copied(name, upload_200mb):
    refused(name, upload_200mb, r"200\.0 MB is over the 20\.0 MB upload limit")
    with open(upload_200mb, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            refused(name, view, r"200\.0 MB is over the 20\.0 MB upload limit")
        finally:
            view.release()


@pytest.mark.parametrize("name", sorted(set(IMAGE_TAKERS) - {"read_png_metadata"}))
def test_a_decompression_bomb_is_refused(name):
    from test_images import png_claiming

    refused(name, png_claiming(20_000, 20_000), "pixel limit")
    refused(name, Image.new("1", (9000, 8000)), "pixel limit")  # a Pillow image too


def test_pillows_own_lower_limit_is_kept_and_its_warning_becomes_a_validation_error(monkeypatch):
    import warnings

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a user's stricter limit: 100 warns, 200 refuses
    data = images.to_png(REF)  # 192 pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refused("load_image", data, "over Pillow's pixel limit")
    refused("load_image", images.to_png(Image.new("L", (20, 20))), "over Pillow's pixel limit")


def test_an_image_whose_file_was_closed_unread_is_a_validation_error(tmp_path):
    path = tmp_path / "closed.png"
    path.write_bytes(images.to_png(REF))
    with Image.open(path) as opened:
        pass
    err = refused("load_image", opened, "file was closed before its pixels were read")
    assert "pass the path" in str(err)


def test_a_png_text_bomb_is_refused():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", "a" * (PngImagePlugin.MAX_TEXT_CHUNK + 1), zip=True)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG", pnginfo=info)
    assert len(buf.getvalue()) < 100_000  # small on disk, megabytes once inflated
    for name in ("load_image", "read_png_metadata", "as_mask"):
        refused(name, buf.getvalue(), "not an image|could not be read")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("name", sorted(MASK_TAKERS))
def test_a_float_mask_with_nan_or_inf_is_refused(name, value):
    mask = np.zeros((SIZE[1], SIZE[0]), np.float32)
    mask[:, 8:] = 1.0
    mask[0, 0] = value
    refused(name, mask, "NaN or infinite")


@pytest.mark.parametrize("name", sorted(MASK_TAKERS))
def test_float_masks_in_0_255_are_read_as_0_255_and_out_of_range_refused(name):
    mask = PAINTED.astype(np.float64) * 255.0
    mask[0, 0] = 100.0  # below half of 255: kept, though ≥ 0.5
    if name == "as_mask":
        assert (np.asarray(images.as_mask(mask)) >= 128).tolist() == PAINTED.tolist()
    refused(name, mask - 1.0, "must lie in 0..1 or 0..255")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("data:image/png,rawbytes", "only base64 data URLs"),
        ("data:image/gif;base64,R0lGODlhAQABAAAAACw=", "'image/gif'; expected image/png or image/jpeg"),
        ("data:image/svg+xml;base64,PHN2Zy8+", "expected image/png or image/jpeg"),
        ("data:;base64,iVBORw0KGgo=", "'no media type'"),
        ("data:image/png;base64,/9j/4AAQSkZJRgABAQ==", "says image/png but its bytes are not one"),
        ("data:image/jpeg;base64,iVBORw0KGgoAAAANSUhEUg==", "says image/jpeg but its bytes are not one"),
        ("data:image/png;base64,iVBORw0KGgo===x", "not valid base64"),
        ("data:image/png;base64,", r"empty \(0 bytes\)"),
    ],
)
@pytest.mark.parametrize("name", sorted(IMAGE_TAKERS))
def test_a_data_url_that_is_not_base64_png_or_jpeg_is_refused(name, url, message):
    refused(name, url, message)


def test_read_png_metadata_refuses_what_is_not_a_path_and_reads_an_opened_png(tmp_path):
    refused("read_png_metadata", 3, "expected a file path, got int")  # not the file descriptor 3
    path = tmp_path / "meta.png"
    path.write_bytes(images.to_png(REF, metadata={"task_id": "42", "seed": 1}))
    with Image.open(path) as opened:
        assert images.read_png_metadata(opened) == {"task_id": "42", "seed": 1}
    with Image.open(io.BytesIO(images.to_jpeg(REF))) as jpeg:
        refused("read_png_metadata", jpeg, "not read from a PNG file")


def test_a_damaged_json_keys_chunk_is_a_validation_error():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("mjnb:json-keys", "[not json")
    buf = io.BytesIO()
    REF.save(buf, "PNG", pnginfo=info)
    refused("read_png_metadata", buf.getvalue(), "metadata is damaged")


def test_a_wrong_size_mask_names_both_sizes():
    with pytest.raises(ValidationError, match="mask is 16×12 but the image is 32×24") as err:
        images.as_mask(make("CMYK"), (32, 24))
    assert err.value.field == "mask"


# -- import cost ----------------------------------------------------------------------------------
def test_importing_mjnb_images_imports_neither_numpy_nor_pillow():
    """Only this module and its own helpers: the package's __init__ is not run, so the test
    measures mjnb.images itself, whatever the rest of the package imports."""
    package = pathlib.Path(images.__file__).parent
    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('mjnb'); pkg.__path__ = [sys.argv[1]]; sys.modules['mjnb'] = pkg\n"
        "import mjnb.images\n"
        "mjnb.images.check_canvas((64, 64), (0, 0, 8, 8)); mjnb.images.to_data_url  # usable\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'PIL')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(package)], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- damaged files -------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP"])
def test_damaged_files_of_every_accepted_format_give_validation_errors_only(fmt):
    """Bytes flipped, cut or inserted (seeded, 60 per format): either an image or ValidationError.
    ``bench``-sized runs of the same (4200 inputs × 3 helpers) gave 0 other exceptions."""
    import random

    buf = io.BytesIO()
    REF.save(buf, fmt)
    rng = random.Random(fmt)
    outcomes = {"image": 0, "refused": 0}
    for _ in range(60):
        data = bytearray(buf.getvalue())
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.6:
                data[at] = rng.randrange(256)
            elif roll < 0.8:
                del data[at : at + rng.randint(1, 16)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        for helper in (images.load_image, images.to_data_url, images.invert_mask):
            try:
                helper(bytes(data))
                outcomes["image"] += 1
            except ValidationError as exc:
                assert exc.field in ("image", "mask")
                outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and sum(outcomes.values()) == 180
