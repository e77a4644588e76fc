"""prepare_digit follows the MNIST recipe: bright ink on black, longer side 20 px with the aspect ratio kept,
centre of mass at (14, 14) in a 28x28 field; polarity, position and paper colour do not matter."""
import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from spikingnn.preprocess import MNIST_BOX, MNIST_CENTRE, prepare_digit


def draw_digit(rng, size=(240, 180), scale=1.0, offset=(0, 0), ink=0, paper=255):
    """A random stroke (a 'digit') drawn with pillow: ``ink`` on ``paper``, 8-bit grey."""
    img = Image.new("L", (int(size[0] * scale), int(size[1] * scale)), paper)
    points = [(float(x * scale + offset[0]), float(y * scale + offset[1]))
              for x, y in zip(rng.uniform(40, 120, 5), rng.uniform(30, 110, 5))]
    ImageDraw.Draw(img).line(points, fill=ink, width=int(9 * scale), joint="curve")
    return img


def ink_box(field):
    rows, cols = np.nonzero(field)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def centre_of_mass(field):
    field = field.astype(float)
    return (field.sum(axis=1) @ np.arange(28) / field.sum(), field.sum(axis=0) @ np.arange(28) / field.sum())


@pytest.mark.parametrize("seed", range(5))
def test_dark_ink_on_paper_and_light_ink_on_black_give_the_same_digit(seed):
    rng = np.random.default_rng(seed)
    on_paper = draw_digit(rng)
    on_black = Image.eval(on_paper, lambda p: 255 - p)
    digit = prepare_digit(on_paper)
    assert digit.dtype == np.uint8 and digit.shape == (28, 28)
    assert digit.max() == 255 and digit[0].max() == 0, "ink must be bright, the background black"
    np.testing.assert_array_equal(digit, prepare_digit(on_black))


@pytest.mark.parametrize("seed", range(5))
def test_longer_side_is_20_pixels_and_centre_of_mass_is_the_field_centre(seed):
    digit = prepare_digit(draw_digit(np.random.default_rng(seed)))
    assert max(ink_box(digit)) == MNIST_BOX
    row, col = centre_of_mass(digit)
    # the shift is a whole number of pixels: the centre of mass lands within half a pixel
    assert abs(row - MNIST_CENTRE) <= 0.5 + 1e-9 and abs(col - MNIST_CENTRE) <= 0.5 + 1e-9


@pytest.mark.parametrize("height, width", [(60, 30), (30, 90), (50, 50)])
def test_aspect_ratio_is_kept(height, width):
    """A filled rectangle of height x width becomes 20 px on its longer side, 20 * short / long on the other."""
    picture = np.zeros((200, 200))
    picture[50:50 + height, 70:70 + width] = 1.0
    box = ink_box(prepare_digit(picture))
    expected = (MNIST_BOX * height / max(height, width), MNIST_BOX * width / max(height, width))
    assert max(box) == MNIST_BOX
    assert abs(box[0] - expected[0]) <= 1 and abs(box[1] - expected[1]) <= 1


def test_position_on_the_page_does_not_matter():
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(prepare_digit(draw_digit(rng_a)),
                                  prepare_digit(draw_digit(rng_b, size=(300, 260), offset=(60, 70))))


def test_size_of_the_drawing_hardly_matters():
    """The same stroke drawn 3x larger differs only by resampling: pixel correlation above 0.9."""
    small = prepare_digit(draw_digit(np.random.default_rng(8))).astype(float)
    large = prepare_digit(draw_digit(np.random.default_rng(8), scale=3.0)).astype(float)
    assert np.corrcoef(small.ravel(), large.ravel())[0, 1] > 0.9


def test_grey_paper_and_faint_noise_count_as_background():
    """A photo: light-grey paper with texture, dark-grey ink -> the same as clean black on white."""
    rng = np.random.default_rng(9)
    clean = np.asarray(draw_digit(np.random.default_rng(10)), dtype=float) / 255.0
    photo = 0.78 - 0.55 * (1.0 - clean) + rng.normal(0.0, 0.02, clean.shape)
    a, b = prepare_digit(clean).astype(float), prepare_digit(np.clip(photo, 0, 1)).astype(float)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95
    assert b[:3].max() == 0 and b[-3:].max() == 0, "paper texture must not survive as ink"


def test_png_file_path_is_read(tmp_path):
    rng = np.random.default_rng(11)
    image = draw_digit(rng)
    image.convert("RGB").save(tmp_path / "digit.png")
    np.testing.assert_array_equal(prepare_digit(tmp_path / "digit.png"), prepare_digit(image))


def test_uniform_picture_and_non_image_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="uniform"):
        prepare_digit(np.full((40, 40), 0.7))
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(ValueError, match="notes.png"):
        prepare_digit(tmp_path / "notes.png")


def _mnist_test_images():
    folder = Path(os.environ.get("SPIKINGNN_DATA", "/work/shared/datasets")) / "mnist"
    path = folder / "t10k-images-idx3-ubyte.gz"
    if not path.is_file():
        pytest.skip(f"MNIST test images not found at {path} (set SPIKINGNN_DATA)")
    with gzip.open(path) as handle:
        return np.frombuffer(handle.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)


def test_mnist_digits_are_already_in_the_format():
    """Running MNIST's own digits through the recipe changes them little (it is the recipe that made them)."""
    images = _mnist_test_images()[:200]
    correlations = [np.corrcoef(im.ravel(), prepare_digit(im).ravel().astype(float))[0, 1] for im in images]
    assert np.median(correlations) > 0.98, f"median correlation {np.median(correlations):.3f}"
