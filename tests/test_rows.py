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


@pytest.mark.parametrize(
    ("chain", "ext", "depth"),
    [
        ("gaussian sigma=2", "png", "auto"),
        ("box size=5 | sharpen", "tif", "auto"),
        ("gaussian sigma=1.4 | sobel | rescale mode=minmax", "png", "auto"),
        ("convolve kernel=sobel-x stride=2 padding=1", "jpg", "auto"),
        ("unsharp sigma=1.5 amount=2", "png", "16"),
    ],
)
@pytest.mark.parametrize("bits", [8, 16])
def test_8_and_16_bit_files_go_strip_by_strip_to_the_saved_pixels(
    cli, tmp_path, monkeypatch, chain, ext, depth, bits
):
    """The strip path writes what load, Pipeline.run and save give, at every depth."""
    from conftest import write_png

    import imgfilter as imf
    from imgfilter.io import _png16

    top = 255 if bits == 8 else 65535
    values = np.random.default_rng(bits).integers(0, top + 1, (45, 37, 3))
    source = tmp_path / "in.png"
    if bits == 8:
        write_png(source, values)
    else:
        source.write_bytes(_png16.encode(values.astype(np.uint16), 6))
    pixels, meta = imf.io.load(source, metadata=True)
    pipe = Pipeline.parse(chain)
    expected = tmp_path / f"expected.{ext}"
    options = {"depth": int(depth) if depth != "auto" else "auto", "metadata": meta}
    imf.save(pipe.run(pixels), expected, pipe.save_mapping, **options)

    def refuse(*args, **kwargs):
        raise AssertionError("the image went through a float32 copy")

    monkeypatch.setattr(Pipeline, "run", refuse)
    monkeypatch.setattr("imgfilter.io._read._scaled", refuse)
    out = tmp_path / f"out.{ext}"
    result = cli("run", chain, source, "-o", out, "--depth", depth)
    assert result.exit_code == 0, result.stderr
    got, want = imf.io.load(out, integer=True), imf.io.load(expected, integer=True)
    deep = ext != "jpg" and (bits == 16 or depth == "16")
    assert got.dtype == want.dtype == (np.uint16 if deep else np.uint8)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("ext", ["jpg", "png"])
@pytest.mark.parametrize("channels", [1, 3])
def test_8_bit_strips_read_the_decoded_file_without_copying_it_whole(
    cli, tmp_path, monkeypatch, ext, channels
):
    """The strips come straight out of Pillow's memory, and a JPEG's result goes to the
    encoder as it is: the bytes are those of save(Pipeline.run(load(...)))."""
    from conftest import write_png

    import imgfilter as imf
    from imgfilter.io import _pillow_rows

    shape = (70, 45, 3) if channels == 3 else (70, 45)
    source = write_png(tmp_path / "in.png", np.random.default_rng(channels).integers(0, 256, shape))
    chain = "gaussian sigma=2 | sharpen"
    expected = tmp_path / f"expected.{ext}"
    pixels, meta = imf.io.load(source, metadata=True)
    imf.save(Pipeline.parse(chain).run(pixels), expected, metadata=meta)

    def refuse(*args, **kwargs):
        raise AssertionError("the decoded image was copied out whole")

    monkeypatch.setattr(_pillow_rows, "copied_in_bands", refuse)
    monkeypatch.setattr(_pillow_rows.PillowRows, "__array__", refuse)
    monkeypatch.setattr("imgfilter.cli._rows.EIGHT_BIT_STRIP_BYTES", 45 * 4 * 3 * 8)
    out = tmp_path / f"out.{ext}"
    result = cli("run", chain, source, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == expected.read_bytes()


def test_16_bit_pixels_load_as_stored_with_integer(tmp_path):
    from conftest import write_png

    import imgfilter as imf

    source = write_png(tmp_path / "in.png", np.array([[0, 1, 257, 65535]], dtype=np.uint16))
    raw = imf.io.load(source, integer=True)
    assert raw.dtype == np.uint16 and raw.tolist() == [[0, 1, 257, 65535]]
    np.testing.assert_array_equal(imf.io.as_float(raw), imf.io.load(source))


def test_a_fortran_order_npy_goes_the_usual_way(cli, tmp_path):
    values = np.asfortranarray(np.random.default_rng(8).random((50, 40), np.float32) * 255)
    np.save(tmp_path / "f.npy", values)
    result = cli("gaussian", tmp_path / "f.npy", "-o", tmp_path / "out.npy")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(
        np.load(tmp_path / "out.npy"), Pipeline.parse("gaussian").run(values)
    )
