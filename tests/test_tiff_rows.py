"""Huge TIFFs by rows: the tile reader against Pillow's whole-image decode, and the
command line's streamed run against its whole-image run, for every layout we read."""

import struct

import numpy as np
import pytest
import tifffile

import imgfilter as imf
from imgfilter.io import _tiff_rows
from imgfilter.io._tiff_rows import TiffRows

LAYOUTS = [
    {"tile": (32, 48), "compression": "zlib"},
    {"tile": (16, 16)},
    {"rowsperstrip": 7},
    {"rowsperstrip": 5, "compression": "zlib", "predictor": True},
    {"rowsperstrip": 1000},
]


def write_tiff(path, values, **layout):
    photometric = "rgb" if values.ndim == 3 else "minisblack"
    tifffile.imwrite(path, values, photometric=photometric, **layout)
    return path


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return (rng.standard_normal(shape) * 60 + 100).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)


@pytest.fixture
def stream_all(monkeypatch):
    """Every TIFF goes by rows, however small; loading one whole is an error."""
    monkeypatch.setattr(_tiff_rows, "STREAM_MIN_PIXELS", 0)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda d: "-".join(f"{k}{v}" for k, v in d.items()))
@pytest.mark.parametrize(
    ("dtype", "shape"),
    [
        (np.uint8, (70, 53)),
        (np.uint8, (70, 53, 3)),
        (np.uint16, (41, 67, 3)),
        (np.float32, (33, 50)),
    ],
)
def test_rows_equal_the_whole_image_pillow_decodes(tmp_path, layout, dtype, shape):
    if dtype == np.float32 and layout.get("predictor"):
        layout = {**layout, "predictor": False}
    values = sample(dtype, shape)
    path = write_tiff(tmp_path / "in.tif", values, **layout)
    whole = imf.io.load(path)
    rows = TiffRows.open(path)
    try:
        assert rows.shape == whole.shape
        rng = np.random.default_rng(1)
        for _ in range(12):
            a = int(rng.integers(0, shape[0]))
            b = int(rng.integers(a, shape[0] + 1))
            c = int(rng.integers(0, shape[1]))
            np.testing.assert_array_equal(rows[a:b, c:], whole[a:b, c:])
        np.testing.assert_array_equal(rows[:], whole)
    finally:
        rows.close()


def test_files_it_does_not_cover_are_left_to_the_usual_reader(tmp_path):
    rgba = write_tiff(tmp_path / "rgba.tif", sample(np.uint8, (9, 9, 4)), extrasamples=[2])
    planar = tmp_path / "planar.tif"
    tifffile.imwrite(
        planar, sample(np.uint8, (3, 9, 9)), photometric="rgb", planarconfig="separate"
    )
    wide = write_tiff(tmp_path / "f64.tif", sample(np.uint8, (9, 9)).astype(np.float64))
    text = tmp_path / "not.tif"
    text.write_text("hello")
    for path in (rgba, planar, wide, text):
        assert TiffRows.open(path) is None, path


CHAINS = [
    "gaussian sigma=2",
    "gaussian sigma=1.4 | sobel | rescale mode=minmax",
    "convolve kernel=sobel-x stride=2 padding=1 | relu",
    "box size=5,3 border=symmetric | sharpen",
]


@pytest.mark.parametrize("chain", CHAINS)
@pytest.mark.parametrize(
    ("dtype", "shape", "layout"),
    [
        (np.uint8, (90, 61, 3), {"tile": (32, 32), "compression": "zlib"}),
        (np.uint16, (75, 40), {"rowsperstrip": 9}),
        (np.uint8, (64, 80), {"rowsperstrip": 64}),
    ],
)
def test_a_streamed_tiff_run_equals_the_whole_image_run(
    cli, tmp_path, monkeypatch, chain, dtype, shape, layout
):
    source = write_tiff(tmp_path / "in.tif", sample(dtype, shape, seed=5), **layout)
    whole = tmp_path / "whole.tif"
    assert cli("run", chain, source, "-o", whole).exit_code == 0
    monkeypatch.setattr(_tiff_rows, "STREAM_MIN_PIXELS", 0)

    def refuse(*args, **kwargs):
        raise AssertionError("the TIFF was read whole")

    monkeypatch.setattr("imgfilter.io.load", refuse)
    streamed = tmp_path / "streamed.tif"
    result = cli("run", chain, source, "-o", streamed)
    assert result.exit_code == 0, result.stderr
    monkeypatch.undo()
    got, want = imf.io.load(streamed, integer=True), imf.io.load(whole, integer=True)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_tiff_to_npy_and_npy_to_tiff_by_rows(cli, tmp_path, stream_all):
    values = sample(np.uint8, (50, 44, 3), seed=9)
    source = write_tiff(tmp_path / "in.tif", values, tile=(16, 16))
    pipe = imf.Pipeline.parse("gaussian sigma=1.5")
    assert cli("gaussian", source, "-o", tmp_path / "out.npy", "--sigma", 1.5).exit_code == 0
    expected = pipe.run(values.astype(np.float32))
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)

    np.save(tmp_path / "gray.npy", values[..., 0].astype(np.float32) / 3)
    out = tmp_path / "gray.tif"
    result = cli("run", "box size=3", tmp_path / "gray.npy", "-o", out, "--rescale", "none")
    assert result.exit_code == 0, result.stderr
    box = imf.Pipeline.parse("box size=3").run(values[..., 0].astype(np.float32) / 3)
    np.testing.assert_array_equal(tifffile.imread(out), box)


def test_resolution_and_profile_are_carried_unless_stripped(cli, tmp_path, stream_all):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / "in.tif"
    tifffile.imwrite(
        source,
        sample(np.uint8, (40, 30)),
        photometric="minisblack",
        resolution=(300, 300),
        resolutionunit="INCH",
        iccprofile=icc,
    )
    kept, stripped = tmp_path / "kept.tif", tmp_path / "stripped.tif"
    assert cli("gaussian", source, "-o", kept).exit_code == 0
    assert cli("gaussian", source, "-o", stripped, "--strip").exit_code == 0
    with tifffile.TiffFile(kept) as tiff:
        tags = tiff.pages.first.tags
        assert tags[282].value == (300, 1) and bytes(tags[34675].value) == icc
    with tifffile.TiffFile(stripped) as tiff:
        assert 34675 not in tiff.pages.first.tags


def test_a_truncated_tiled_tiff_is_one_line_and_exit_1(cli, tmp_path, stream_all):
    source = write_tiff(tmp_path / "in.tif", sample(np.uint8, (64, 64)), tile=(16, 16))
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2] + data[-200:])  # tiles cut, directory kept
    with tifffile.TiffFile(source) as tiff:
        assert max(tiff.pages.first.dataoffsets) > 0
    out = tmp_path / "out.tif"
    result = cli("gaussian", source, "-o", out)
    assert result.exit_code == 1
    assert not out.exists()
    assert "Traceback" not in result.stderr


def test_a_codec_that_is_not_installed_is_named_past_the_pixel_limit(cli, tmp_path, stream_all):
    source = write_tiff(
        tmp_path / "in.tif", sample(np.uint8, (40, 40)), tile=(16, 16), compression="zlib"
    )
    with tifffile.TiffFile(source) as tiff:
        where = tiff.pages.first.tags[259].valueoffset
    data = bytearray(source.read_bytes())
    data[where : where + 2] = struct.pack("<H", 5)  # LZW: tifffile needs imagecodecs
    source.write_bytes(bytes(data))
    try:
        import imagecodecs  # noqa: F401

        pytest.skip("imagecodecs is installed: every codec decodes")
    except ImportError:
        pass
    out = tmp_path / "out.tif"
    result = cli("gaussian", source, "-o", out, "--max-pixels", 1000)  # too big to read whole
    assert result.exit_code == 1, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "in.tif" in line and "LZW" in line and "imagecodecs" in line
    assert not out.exists()


def test_corrupted_tiffs_fail_cleanly(cli, tmp_path, stream_all):
    """Seeded byte flips in a tiled TIFF: a file written or one line and exit 1."""
    values = sample(np.uint8, (48, 40, 3))
    clean = write_tiff(tmp_path / "clean.tif", values, tile=(16, 16), compression="zlib")
    original = clean.read_bytes()
    rng = np.random.default_rng(2026)
    for trial in range(25):
        data = bytearray(original)
        for spot in rng.integers(0, len(data), int(rng.integers(1, 6))):
            data[spot] = int(rng.integers(0, 256))
        source = tmp_path / f"bad{trial}.tif"
        source.write_bytes(bytes(data))
        result = cli("gaussian", source, "-o", tmp_path / f"out{trial}.tif")
        assert result.exit_code in (0, 1), (trial, result.stderr)
        assert "Traceback" not in result.stderr, (trial, result.stderr)


def test_info_describes_a_huge_tiff_by_rows(tmp_path, monkeypatch):
    values = sample(np.uint16, (70, 45, 3), seed=4)
    path = write_tiff(tmp_path / "in.tif", values, tile=(16, 16), compression="zlib")
    whole = imf.io.describe(path)
    monkeypatch.setattr(_tiff_rows, "STREAM_MIN_PIXELS", 0)
    monkeypatch.setattr("imgfilter.io._read.decode", None)  # a whole decode would fail
    by_rows = imf.io.describe(path)
    for key in ("width", "height", "channels", "bit_depth", "min", "max", "format"):
        assert by_rows[key] == whole[key], key
    np.testing.assert_allclose(by_rows["mean"], whole["mean"], rtol=1e-12)


def test_a_disk_that_fills_midway_leaves_the_old_file(cli, tmp_path, monkeypatch, stream_all):
    import os

    source = write_tiff(tmp_path / "in.tif", sample(np.uint8, (3000, 1000)), rowsperstrip=64)
    target = tmp_path / "out.tif"
    target.write_bytes(b"the old picture")
    real, calls = os.pwrite, []

    def fill_up(descriptor, data, offset):
        calls.append(offset)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real(descriptor, data, offset)

    monkeypatch.setattr(os, "pwrite", fill_up)
    result = cli("gaussian", source, "-o", target)
    assert result.exit_code == 1
    assert "No space left" in result.stderr and "out.tif" in result.stderr
    assert len(calls) > 1
    assert sorted(os.listdir(tmp_path)) == ["in.tif", "out.tif"]
    assert target.read_bytes() == b"the old picture"
