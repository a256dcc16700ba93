""".npy to .npy runs by rows, never loading the array whole, with the in-memory result."""

import numpy as np
import pytest

from imgfilter.pipeline import Pipeline


@pytest.fixture
def no_whole_load(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the array was loaded whole")

    monkeypatch.setattr("imgfilter.io.load", refuse)


@pytest.mark.parametrize(
    ("chain", "dtype", "shape"),
    [
        ("gaussian sigma=2 | convolve kernel=sobel-x stride=2 padding=1", np.uint8, (83, 41)),
        ("box size=5,3 border=symmetric | relu", np.float32, (64, 30, 3)),
        ("pool size=3 stride=2 mode=avg", np.uint16, (50, 21)),
        ("convolve kernel=gaussian5 dilation=2 border=constant cval=7", np.bool_, (40, 40)),
    ],
)
def test_npy_by_rows_equals_the_in_memory_run(cli, tmp_path, no_whole_load, chain, dtype, shape):
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2 if dtype is np.bool_ else 256, shape).astype(dtype)
    np.save(tmp_path / "in.npy", values)
    result = cli("run", chain, tmp_path / "in.npy", "-o", tmp_path / "out.npy")
    assert result.exit_code == 0, result.stderr
    scale = 255 if dtype is np.bool_ else 1
    expected = Pipeline.parse(chain).run(values.astype(np.float32) * scale)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_a_clip_mapping_is_applied_strip_by_strip(cli, tmp_path, no_whole_load):
    values = np.random.default_rng(1).uniform(-300, 600, (30, 20)).astype(np.float32)
    np.save(tmp_path / "in.npy", values)
    result = cli("sharpen", tmp_path / "in.npy", "-o", tmp_path / "out.npy", "--rescale", "clip")
    assert result.exit_code == 0, result.stderr
    expected = np.clip(Pipeline.parse("sharpen").run(values), 0, 255)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_whole_image_steps_and_alpha_go_the_usual_way(cli, tmp_path):
    rgba = np.random.default_rng(2).uniform(0, 255, (16, 16, 4)).astype(np.float32)
    np.save(tmp_path / "rgba.npy", rgba)
    for chain in ("gaussian sigma=1", "canny | box"):
        out = tmp_path / "out.npy"
        assert cli("run", chain, tmp_path / "rgba.npy", "-o", out).exit_code == 0
        np.testing.assert_array_equal(np.load(out), Pipeline.parse(chain).run(rgba))


@pytest.mark.parametrize(
    ("chain", "ext"),
    [
        ("gaussian sigma=2", "png"),
        ("convolve kernel=sobel-x stride=2 padding=1", "png"),
        ("box size=5 | sharpen", "bmp"),
        ("unsharp sigma=1.5 amount=2", "tif"),
        ("gaussian sigma=1.4 | sobel | rescale mode=minmax", "png"),
        ("convolve kernel=sobel-y | rescale mode=minmax per-channel=true", "png"),
    ],
)
def test_8_bit_files_go_strip_by_strip_to_the_same_pixels(cli, tmp_path, monkeypatch, chain, ext):
    from conftest import write_png
    from PIL import Image

    from imgfilter.image import rescale

    values = np.random.default_rng(3).integers(0, 256, (45, 37, 3))
    source = write_png(tmp_path / "in.png", values)
    pipe = Pipeline.parse(chain)
    expected = np.rint(rescale(pipe.run(values.astype(np.float32)), pipe.output_mapping))

    def refuse(*args, **kwargs):
        raise AssertionError("the image went through a float32 copy")

    monkeypatch.setattr(Pipeline, "run", refuse)
    out = tmp_path / f"out.{ext}"
    result = cli("run", chain, source, "-o", out)
    assert result.exit_code == 0, result.stderr
    with Image.open(out) as picture:
        np.testing.assert_array_equal(np.asarray(picture), expected.astype(np.uint8))
