"""Pixels read straight out of a decoded Pillow image (``PillowRows``, ``load_rows``).

The oracle is ``np.asarray`` of the same Pillow image: every block the strip runner
may ask for, and the whole, must be those pixels exactly.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from imgfilter.io import _read
from imgfilter.io._pillow_rows import PillowRows, copied_in_bands


def picture(mode: str, height: int, width: int, seed: int = 0) -> Image.Image:
    channels = 3 if mode == "RGB" else 1
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), np.uint8)
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels)


@settings(max_examples=60, deadline=None)
@given(
    mode=st.sampled_from(["L", "RGB"]),
    height=st.integers(1, 20),
    width=st.integers(1, 20),
    bounds=st.lists(st.integers(-25, 25), min_size=4, max_size=4),
)
def test_every_block_is_the_pillow_images_pixels(mode, height, width, bounds):
    image = picture(mode, height, width, seed=height * 31 + width)
    whole = np.asarray(image)
    rows = PillowRows(image)
    a, b, c, d = bounds
    assert rows.shape == whole.shape and rows.dtype == whole.dtype and rows.ndim == whole.ndim
    for key in (
        (slice(a, b), slice(c, d)),
        slice(a, b),
        (slice(a, b),),
        (slice(None), slice(c, d)),
    ):
        block = rows[key]
        assert block.dtype == np.uint8
        np.testing.assert_array_equal(block, whole[key])


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_other_keys_and_the_whole_read_the_whole_image(mode):
    image = picture(mode, 9, 7)
    whole = np.asarray(image)
    rows = PillowRows(image)
    np.testing.assert_array_equal(np.asarray(rows), whole)
    np.testing.assert_array_equal(np.asarray(rows, dtype=np.float32), whole.astype(np.float32))
    np.testing.assert_array_equal(rows[::2, 1::3], whole[::2, 1::3])
    np.testing.assert_array_equal(rows[4], whole[4])
    assert len(rows) == 9
    with pytest.raises(ValueError, match="copy=False"):
        rows.__array__(copy=False)  # numpy 2's np.asarray(rows, copy=False)


def test_copied_in_bands_crosses_band_edges(monkeypatch):
    from imgfilter.io import _pillow_rows

    image = picture("RGB", 23, 5, seed=2)
    monkeypatch.setattr(_pillow_rows, "BAND_BYTES", 4 * 5 * 3)  # four rows a band
    np.testing.assert_array_equal(copied_in_bands(image), np.asarray(image))


def test_only_gray_and_rgb_are_read_by_rows():
    with pytest.raises(ValueError, match="mode 'RGBA'"):
        PillowRows(Image.new("RGBA", (2, 2)))


@pytest.mark.parametrize(
    ("mode", "lazy"), [("L", True), ("RGB", True), ("RGBA", False), ("LA", False), ("P", False)]
)
def test_load_rows_keeps_8_bit_gray_and_rgb_in_pillow(tmp_path, mode, lazy):
    source = picture("RGB", 6, 5, seed=7).convert(mode)
    path = tmp_path / "in.png"
    source.save(path)
    pixels, meta = _read.load_rows(path)
    assert isinstance(pixels, PillowRows) == lazy
    np.testing.assert_array_equal(np.asarray(pixels), _read.load(path, integer=True))
    assert meta.bit_depth == 8


def test_load_rows_applies_the_exif_orientation(tmp_path):
    source = picture("RGB", 4, 6, seed=1)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    source.save(tmp_path / "turned.png", exif=exif)
    pixels, _ = _read.load_rows(tmp_path / "turned.png")
    assert not isinstance(pixels, PillowRows) and pixels.shape == (6, 4, 3)
    np.testing.assert_array_equal(pixels, _read.load(tmp_path / "turned.png", integer=True))
