"""Hostile and unusual picture files, each generated here: a PNG header claiming a gigapixel, 16-bit and float
grey levels, transparency, palettes, a phone JPEG lying on its side, folders and text files."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile

from spikingnn.encoding import MAX_PIXELS, load_grayscale
from spikingnn.preprocess import prepare_digit


def png_claiming(width, height):
    """A well-formed 8-bit grey PNG whose IHDR claims ``width`` x ``height`` but whose IDAT holds one row."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)       # 8-bit grey, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1)))
            + chunk(b"IEND", b""))


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if pillow decodes pixels: the size must be refused from the header alone."""
    def refuse(self):
        raise AssertionError("the picture was decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize("width, height", [(30000, 30000), (9000, 9000)])
def test_a_header_claiming_too_many_pixels_is_refused_without_decoding(tmp_path, width, height):
    """30000^2 is past pillow's own bomb limit (refused by pillow at open); 9000^2 is past ours only."""
    assert width * height > MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(width, height))
    with pytest.raises(ValueError) as err:
        load_grayscale(path)
    message = str(err.value)
    assert str(path) in message and f"{MAX_PIXELS:,}" in message and "\n" not in message


def test_the_crafted_png_is_valid_when_its_size_is_small(tmp_path):
    """The same construction with a small size decodes (to its one black row): the refusals above are for the
    size alone, not for a broken file."""
    path = tmp_path / "small.png"
    path.write_bytes(png_claiming(7, 1))
    np.testing.assert_array_equal(load_grayscale(path), np.zeros((1, 7), np.float32))


def stroke(levels, paper, ink, size=(60, 48)):
    """A uint array of ``paper`` with a thick diagonal stroke of ``ink``."""
    picture = np.full(size, paper, levels)
    for k in range(10, 40):
        picture[k + 5, k - 5:k + 3] = ink
    return picture


def test_16_bit_grey_png_keeps_its_levels(tmp_path):
    """A grey stroke (level 20000 of 65535) on white paper: 8-bit conversion would clip both to 255."""
    picture = stroke(np.uint16, 65535, 20000)
    Image.fromarray(picture).save(tmp_path / "deep.png")
    gray = load_grayscale(tmp_path / "deep.png")
    np.testing.assert_allclose(gray, picture / 65535.0, atol=1e-6)
    # the same drawing at 8 bits gives the same digit (levels 78 / 255 vs 20000 / 65535: within one step)
    shallow = prepare_digit(stroke(np.uint8, 255, 78)).astype(int)
    assert np.abs(prepare_digit(tmp_path / "deep.png").astype(int) - shallow).max() <= 2


@pytest.mark.parametrize("mode, top", [("I", 65535.0), ("F", 1.0)])
def test_32_bit_integer_and_float_grey_are_scaled_by_their_range(tmp_path, mode, top):
    stored = np.linspace(0.0, top, 24).reshape(4, 6).round(0 if mode == "I" else 6)
    Image.fromarray(stored.astype(np.int32 if mode == "I" else np.float32), mode).save(tmp_path / "deep.tif")
    np.testing.assert_allclose(load_grayscale(tmp_path / "deep.tif"), stored / top, atol=1e-6)
    Image.fromarray(np.full((4, 6), 2 * top, np.int32 if mode == "I" else np.float32), mode).save(tmp_path / "x.tif")
    with pytest.raises(ValueError, match=r"x\.tif.*must lie in 0\.\."):
        load_grayscale(tmp_path / "x.tif")


def black_on_white(size=(60, 48)):
    return Image.fromarray(stroke(np.uint8, 255, 0, size))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_background_is_white_paper(tmp_path, mode):
    """Black ink on a transparent background (what drawing apps export) reads as black ink on white paper."""
    ink = stroke(np.uint8, 0, 255)                               # 255 where the stroke is
    if mode == "P":
        picture = Image.fromarray(np.where(ink > 0, 1, 0).astype(np.uint8), "P")
        picture.putpalette([0, 0, 0, 0, 0, 0])                   # both colours black, colour 0 transparent
        picture.info["transparency"] = 0
    else:
        black = np.zeros_like(ink)
        channels = [black, black, black, ink] if mode == "RGBA" else [black, ink]
        picture = Image.fromarray(np.stack(channels, axis=-1), mode)
    picture.save(tmp_path / "drawn.png")
    np.testing.assert_array_equal(load_grayscale(tmp_path / "drawn.png"), (255 - ink) / np.float32(255))
    np.testing.assert_array_equal(prepare_digit(tmp_path / "drawn.png"), prepare_digit(black_on_white()))


def test_half_transparent_ink_is_blended_with_the_paper():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 3] = 51                                            # 20 % opaque black
    assert load_grayscale(rgba) == pytest.approx(np.full((2, 2), 0.8), abs=1e-6)


def test_phone_jpeg_with_exif_orientation_is_read_upright(tmp_path):
    """The camera stores the sensor's pixels and an Orientation tag 6: shown rotated 90 degrees clockwise.
    An upright 60x40 picture, bright block top-left, stored turned the other way, reads back upright."""
    upright = np.zeros((60, 40), np.uint8)
    upright[:20, :15] = 255
    stored = np.rot90(upright)                                   # counter-clockwise: what the sensor recorded
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    gray = load_grayscale(tmp_path / "phone.jpg")
    assert gray.shape == upright.shape
    assert np.abs(gray - upright / 255.0).mean() < 0.02         # JPEG is lossy
    plain = tmp_path / "plain.jpg"
    Image.fromarray(stored).save(plain, quality=95)              # without the tag the pixels are as stored
    assert load_grayscale(plain).shape == stored.shape


def test_exif_orientation_of_a_pil_image_is_applied_too(tmp_path):
    upright = np.zeros((30, 20), np.uint8)
    upright[:5] = 255
    exif = Image.Exif()
    exif[0x0112] = 3                                             # rotated 180 degrees
    Image.fromarray(upright[::-1, ::-1].copy()).save(tmp_path / "turned.png", exif=exif)
    with Image.open(tmp_path / "turned.png") as image:
        np.testing.assert_array_equal(load_grayscale(image), upright / np.float32(255))


def test_folder_text_file_and_missing_file_say_what_they_are(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder, not a picture"):
        load_grayscale(tmp_path)
    (tmp_path / "notes.txt").write_text("hello, not a picture")
    with pytest.raises(ValueError, match=r"notes\.txt is not a picture pillow can read"):
        prepare_digit(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError, match=r"no such picture: .*missing\.png"):
        load_grayscale(tmp_path / "missing.png")


def test_truncated_png_is_a_value_error_naming_it(tmp_path):
    black_on_white().save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.png"):
        load_grayscale(tmp_path / "cut.png")


def test_drawn_digit_survives_every_encoding_of_the_same_picture(tmp_path):
    """One drawing saved as 8-bit PNG, RGB JPEG and 16-bit PNG gives nearly the same prepared digit."""
    image = Image.new("L", (120, 160), 255)
    ImageDraw.Draw(image).line([(20, 25), (95, 25), (50, 140)], fill=0, width=10)
    reference = prepare_digit(image).astype(float)
    image.save(tmp_path / "a.png")
    image.convert("RGB").save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(np.asarray(image).astype(np.uint16) * 257).save(tmp_path / "a16.png")
    for name in ("a.png", "a.jpg", "a16.png"):
        digit = prepare_digit(tmp_path / name).astype(float)
        assert np.corrcoef(reference.ravel(), digit.ravel())[0, 1] > 0.98, name
