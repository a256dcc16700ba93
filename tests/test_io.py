"""imgfilter.io: loading, saving, 16-bit precision, alpha, atomic writes and file errors."""

from __future__ import annotations

import io as bytes_io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageOps

from imgfilter import io as iio
from imgfilter.errors import ImageFileError, ImageWarning
from imgfilter.io import _pnm16, _read

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_image(rng, shape, top=255):
    return rng.integers(0, top + 1, shape).astype(np.float32)


def png_bytes(image: Image.Image, **options) -> bytes:
    buffer = bytes_io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def chunk(kind: bytes, payload: bytes) -> bytes:
    """A PNG chunk, written here independently of imgfilter._png16."""
    crc = struct.pack(">I", zlib.crc32(kind + payload))
    return struct.pack(">I", len(payload)) + kind + payload + crc


def insert_chunk(png: bytes, kind: bytes, payload: bytes) -> bytes:
    """Insert a chunk right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    return png[:33] + chunk(kind, payload) + png[33:]


def exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


# ---------------------------------------------------------------------------- loading


def test_load_gray_sample_matches_pillow_exactly():
    pixels = iio.load(SAMPLES / "camera.png")
    assert pixels.dtype == np.float32 and pixels.shape == (512, 512)
    np.testing.assert_array_equal(pixels, np.asarray(Image.open(SAMPLES / "camera.png")))


def test_load_rgb_sample_keeps_the_0_255_scale():
    pixels = iio.load(str(SAMPLES / "chelsea.png"))
    assert pixels.shape == (300, 451, 3) and pixels.dtype == np.float32
    assert pixels.max() > 200 and pixels.min() >= 0


def test_sixteen_bit_gray_png_is_divided_by_257(tmp_path):
    path = tmp_path / "g16.png"
    Image.fromarray(np.array([[0, 257], [32896, 65535]], np.uint16)).save(path)
    np.testing.assert_array_equal(iio.load(path), [[0, 1], [128, 255]])


def test_palette_image_becomes_rgb(tmp_path):
    picture = Image.new("P", (3, 1))
    picture.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    picture.putdata([0, 1, 2])
    picture.save(tmp_path / "p.png")
    expected = [[[255, 0, 0], [0, 255, 0], [0, 0, 255]]]
    np.testing.assert_array_equal(iio.load(tmp_path / "p.png"), expected)


def test_palette_with_transparency_becomes_rgba(tmp_path):
    picture = Image.new("P", (3, 1))
    picture.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    picture.putdata([0, 1, 2])
    picture.save(tmp_path / "p.png", transparency=1)
    pixels = iio.load(tmp_path / "p.png")
    assert pixels.shape == (1, 3, 4)
    np.testing.assert_array_equal(pixels[..., 3], [[255, 0, 255]])
    np.testing.assert_array_equal(pixels[0, 2], [0, 0, 255, 255])


def test_gray_palette_becomes_gray(tmp_path):
    Image.fromarray(np.array([[0, 100, 255]], np.uint8)).save(tmp_path / "g.gif")
    assert Image.open(tmp_path / "g.gif").mode == "P"
    np.testing.assert_array_equal(iio.load(tmp_path / "g.gif"), [[0, 100, 255]])


def test_gray_with_transparent_key_gets_alpha(tmp_path):
    Image.fromarray(np.array([[0, 7, 9]], np.uint8)).save(tmp_path / "k.png", transparency=7)
    np.testing.assert_array_equal(iio.load(tmp_path / "k.png"), [[[0, 255], [7, 0], [9, 255]]])


def test_cmyk_becomes_rgb(tmp_path):
    cmyk = np.array([[[0, 0, 0, 0], [255, 0, 0, 0], [0, 0, 0, 255]]], np.uint8)
    Image.frombytes("CMYK", (3, 1), cmyk.tobytes()).save(tmp_path / "c.tif")
    expected = [[[255, 255, 255], [0, 255, 255], [0, 0, 0]]]  # white, cyan, black
    np.testing.assert_array_equal(iio.load(tmp_path / "c.tif"), expected)


def test_cmyk_jpeg_loads_as_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    pixels = iio.load(tmp_path / "c.jpg")
    assert pixels.shape == (8, 8, 3)
    np.testing.assert_allclose(pixels[4, 4], [255, 0, 0], atol=3)  # red


def test_ycbcr_and_lab_become_rgb(tmp_path):
    Image.new("YCbCr", (2, 2), (128, 128, 128)).save(tmp_path / "y.tif")
    np.testing.assert_allclose(iio.load(tmp_path / "y.tif"), 128, atol=1)
    Image.new("LAB", (2, 2), (128, 128, 128)).save(tmp_path / "l.tif")  # L*=50, a*=b*=0
    lab = iio.load(tmp_path / "l.tif")
    assert lab.shape == (2, 2, 3)
    assert np.ptp(lab[0, 0]) <= 2 and 110 <= lab[0, 0, 0] <= 125  # neutral mid gray


def test_one_bit_image_becomes_0_and_255(tmp_path):
    picture = Image.new("1", (2, 1))
    picture.putdata([0, 1])
    picture.save(tmp_path / "b.png")
    np.testing.assert_array_equal(iio.load(tmp_path / "b.png"), [[0, 255]])
    assert iio.describe(tmp_path / "b.png")["bit_depth"] == 1


def test_float_tiff_loads_as_is(tmp_path):
    values = np.array([[-1020.0, 0.5], [255.0, 1e6]], np.float32)
    Image.fromarray(values).save(tmp_path / "f.tif")
    np.testing.assert_array_equal(iio.load(tmp_path / "f.tif"), values)


def test_32_bit_integer_tiff_loads_as_is(tmp_path):
    values = np.array([[-5, 70000]], np.int32)
    Image.fromarray(values).save(tmp_path / "i.tif")
    np.testing.assert_array_equal(iio.load(tmp_path / "i.tif"), values)


def test_16_bit_pgm_is_divided_by_257():
    data = b"P5\n2 1\n65535\n" + np.array([257, 65535], ">u2").tobytes()
    np.testing.assert_array_equal(iio.load_bytes(data), [[1, 255]])


@pytest.mark.parametrize(
    ("maxval", "samples", "expected"),
    [
        (65535, [0, 257, 65535], [0, 1, 255]),
        (1023, [0, 1023, 341], [0, 255, 85]),
    ],
)
def test_16_bit_ppm_keeps_precision(maxval, samples, expected):
    data = f"P6\n# comment\n1 1\n{maxval}\n".encode() + np.array(samples, ">u2").tobytes()
    np.testing.assert_allclose(iio.load_bytes(data), [[expected]], atol=0.002)


def test_16_bit_ppm_header_of_8_bit_file_is_left_to_pillow():
    assert _pnm16.header(b"P6\n1 1\n255\n\0\0\0") is None


def test_gif_loads_its_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((2, 2), v, np.uint8)) for v in (10, 200)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    np.testing.assert_array_equal(iio.load(tmp_path / "a.gif"), np.full((2, 2), 10))


# ---------------------------------------------------------------------------- EXIF orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path, orientation):
    picture = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4) * 20)
    exif = picture.getexif()
    exif[0x0112] = orientation
    picture.save(tmp_path / "o.png", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")))
    np.testing.assert_array_equal(iio.load(tmp_path / "o.png"), expected)


def test_exif_orientation_6_turns_the_picture_clockwise(tmp_path):
    picture = Image.fromarray(np.array([[10, 20], [30, 40]], np.uint8))
    exif = picture.getexif()
    exif[0x0112] = 6
    picture.save(tmp_path / "o.jpg", exif=exif, quality=100)
    np.testing.assert_allclose(iio.load(tmp_path / "o.jpg"), [[30, 10], [40, 20]], atol=4)


def test_exif_orientation_of_16_bit_png_is_applied():
    data = iio.encode(np.array([[1.0, 2.0], [3.0, 4.0]]), "png", depth=16)
    rotated = insert_chunk(data, b"eXIf", exif_orientation(8))  # 90 degrees anticlockwise
    np.testing.assert_array_equal(iio.load_bytes(rotated), [[2, 4], [1, 3]])


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff", ".bmp", ".webp", ".ppm", ".npy"])
def test_rgb_round_trip_is_exact(tmp_path, rng, ext):
    image = random_image(rng, (13, 17, 3))
    iio.save(image, tmp_path / f"x{ext}")
    np.testing.assert_array_equal(iio.load(tmp_path / f"x{ext}"), image)


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp", ".gif", ".pgm", ".pnm", ".npy"])
def test_gray_round_trip_is_exact(tmp_path, rng, ext):
    image = random_image(rng, (13, 17))
    iio.save(image, tmp_path / f"x{ext}")
    np.testing.assert_array_equal(iio.load(tmp_path / f"x{ext}"), image)


def test_gray_webp_round_trip_comes_back_as_equal_rgb_channels(tmp_path, rng):
    image = random_image(rng, (9, 11))
    iio.save(image, tmp_path / "g.webp")
    np.testing.assert_array_equal(iio.load(tmp_path / "g.webp"), np.dstack([image] * 3))


def test_gif_with_few_colours_round_trips_exactly(tmp_path, rng):
    palette = np.array([[255, 0, 0], [0, 128, 255], [10, 20, 30], [250, 250, 0]], np.float32)
    image = palette[rng.integers(0, 4, (12, 12))]
    iio.save(image, tmp_path / "few.gif")
    np.testing.assert_array_equal(iio.load(tmp_path / "few.gif"), image)


def test_jpeg_round_trip_is_close(tmp_path):
    image = iio.load(SAMPLES / "chelsea.png")[:96, :128]
    iio.save(image, tmp_path / "x.jpg")
    error = np.abs(iio.load(tmp_path / "x.jpg") - image)
    assert error.mean() < 2.0 and error.max() < 40


def test_jpeg_quality_changes_the_file(rng):
    image = iio.load(SAMPLES / "chelsea.png")[:64, :64]
    assert len(iio.encode(image, "jpg", quality=10)) < len(iio.encode(image, "jpg", quality=95))


def test_lossy_webp_with_quality(rng):
    image = iio.load(SAMPLES / "chelsea.png")[:64, :64]
    lossy = iio.encode(image, "webp", quality=50)
    assert len(lossy) < len(iio.encode(image, "webp"))
    assert np.abs(iio.load_bytes(lossy) - image).mean() < 6


@pytest.mark.parametrize(
    ("ext", "channels"),
    [
        (".png", 2),
        (".png", 4),
        (".tif", 2),
        (".tif", 4),
        (".webp", 4),
        (".npy", 2),
        (".npy", 4),
    ],
)
def test_alpha_survives_save_and_load(tmp_path, rng, ext, channels):
    image = random_image(rng, (10, 12, channels))
    iio.save(image, tmp_path / f"a{ext}")
    np.testing.assert_array_equal(iio.load(tmp_path / f"a{ext}"), image)


def test_npy_round_trip_keeps_floats_exactly(tmp_path, rng):
    image = rng.normal(0, 500, (7, 9, 3)).astype(np.float32)
    image[0, 0, 0] = np.nan
    iio.save(image, tmp_path / "f.npy")
    np.testing.assert_array_equal(iio.load(tmp_path / "f.npy"), image)


def test_npy_of_any_number_type_loads_as_float32(tmp_path):
    np.save(tmp_path / "i.npy", np.array([[-3, 1000]], np.int64))
    loaded = iio.load(tmp_path / "i.npy")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, [[-3, 1000]])


def test_npy_single_channel_is_squeezed_and_bool_is_0_255(tmp_path):
    np.save(tmp_path / "one.npy", np.ones((2, 3, 1)))
    assert iio.load(tmp_path / "one.npy").shape == (2, 3)
    np.save(tmp_path / "b.npy", np.array([[True, False]]))
    np.testing.assert_array_equal(iio.load(tmp_path / "b.npy"), [[255, 0]])


def test_float_tiff_with_rescale_none_keeps_values(tmp_path):
    image = np.array([[-1020.0, 0.25], [300.5, 7.0]], np.float32)
    iio.save(image, tmp_path / "f.tif", rescale="none")
    np.testing.assert_array_equal(iio.load(tmp_path / "f.tif"), image)


def test_boolean_image_saves_as_0_and_255(tmp_path):
    iio.save(np.array([[True, False]]), tmp_path / "edges.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "edges.png")), [[255, 0]])


def test_format_argument_overrides_the_extension(tmp_path):
    iio.save(np.zeros((2, 2)), tmp_path / "out.dat", format="PNG")
    assert (tmp_path / "out.dat").read_bytes().startswith(b"\x89PNG")


def test_content_not_name_decides_the_format(tmp_path):
    iio.save(np.full((2, 2), 9.0), tmp_path / "really_png.jpg", format=".png")
    np.testing.assert_array_equal(iio.load(tmp_path / "really_png.jpg"), np.full((2, 2), 9))


@settings(max_examples=25, deadline=None)
@given(
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4))),
    st.sampled_from(["png", "tif", "npy"]),
)
def test_property_8_bit_values_round_trip_exactly(pixels, fmt):
    image = pixels.astype(np.float32)
    expected = image[..., 0] if image.shape[2] == 1 else image
    np.testing.assert_array_equal(iio.load_bytes(iio.encode(image, fmt)), expected)


# ---------------------------------------------------------------------------- 16 bits


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_png_round_trip_is_exact(tmp_path, rng, channels):
    shape = (11, 13) if channels == 1 else (11, 13, channels)
    image = rng.integers(0, 65536, shape).astype(np.float32) / 257
    iio.save(image, tmp_path / "d.png", depth=16)
    np.testing.assert_array_equal(iio.load(tmp_path / "d.png"), image)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16_bit_tiff_round_trip_is_exact(tmp_path, rng, channels):
    shape = (11, 13) if channels == 1 else (11, 13, channels)
    image = rng.integers(0, 65536, shape).astype(np.float32) / 257
    iio.save(image, tmp_path / "d.tif", depth=16)
    np.testing.assert_array_equal(iio.load(tmp_path / "d.tif"), image)


@settings(max_examples=20, deadline=None)
@given(
    hnp.arrays(np.uint16, st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4))),
    st.sampled_from(["png", "tif"]),
)
def test_property_16_bit_values_round_trip_exactly(pixels, fmt):
    if fmt == "tif" and pixels.shape[2] == 2:
        pixels = pixels[..., :1]
    image = pixels.astype(np.float32) / 257
    expected = image[..., 0] if image.shape[2] == 1 else image
    np.testing.assert_array_equal(iio.load_bytes(iio.encode(image, fmt, depth=16)), expected)


def test_16_bit_save_multiplies_by_257_rounding_half_to_even(tmp_path):
    iio.save(np.array([[0.0, 1.0, 127.5, 255.0]]), tmp_path / "s.png", depth=16)
    stored = np.asarray(Image.open(tmp_path / "s.png"))
    np.testing.assert_array_equal(stored, [[0, 257, 32768, 65535]])  # 32767.5 -> even


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16_bit_files_agree_with_opencv_both_ways(tmp_path, rng, ext, channels):
    cv2 = pytest.importorskip("cv2")
    shape = (17, 19) if channels == 1 else (17, 19, channels)
    pixels = rng.integers(0, 65536, shape).astype(np.uint16)
    to_bgr = {1: [0], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]
    ours = tmp_path / f"ours{ext}"
    iio.save(pixels / 257, ours, depth=16)
    read = cv2.imread(str(ours), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(read if channels == 1 else read[..., to_bgr], pixels)

    bgr = pixels if channels == 1 else pixels[..., to_bgr]
    options = [[]] if ext == ".png" else [[cv2.IMWRITE_TIFF_COMPRESSION, c] for c in (1, 5, 8)]
    for option in options:  # TIFF: none, LZW and deflate (both with a predictor)
        theirs = tmp_path / f"theirs{ext}"
        cv2.imwrite(str(theirs), bgr, [v for pair in [option] for v in pair])
        np.testing.assert_array_equal(iio.load(theirs), pixels.astype(np.float32) / 257)


def _filter_row(row, prior, kind, bpp):
    """PNG filter of one scanline, a plain loop written for the test."""
    out = []
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        if kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        else:
            predictor = [0, a, b, (a + b) // 2][kind]
        out.append((x - predictor) % 256)
    return bytes([kind, *out])


def _png16(pixels, interlace=False, kinds=(0,)):
    """A 16-bit PNG built by hand: each row filtered with kinds[row % len(kinds)]."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    big = pixels.astype(">u2").reshape(height, width, -1)
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
    passes = [*passes, (0, 1, 1, 2)] if interlace else [(0, 0, 1, 1)]
    stream = b""
    for x0, y0, dx, dy in passes:
        sub = big[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        prior = bytes(sub.shape[1] * channels * 2)
        for r, row in enumerate(sub):
            raw = row.tobytes()
            stream += _filter_row(raw, prior, kinds[r % len(kinds)], channels * 2)
            prior = raw
    ihdr = struct.pack(">IIBBBBB", width, height, 16, ctype, 0, 0, int(interlace))
    idat = zlib.compress(stream)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_png_with_every_filter_type_decodes_exactly(rng, channels):
    shape = (10, 7) if channels == 1 else (10, 7, channels)
    pixels = rng.integers(0, 65536, shape).astype(np.uint16)
    pixels[3:6] = pixels[2]  # some smooth rows
    data = _png16(pixels, kinds=(0, 1, 2, 3, 4))
    np.testing.assert_array_equal(iio.load_bytes(data), pixels.astype(np.float32) / 257)


@pytest.mark.parametrize("channels", [1, 3])
def test_interlaced_16_bit_png_decodes_exactly(rng, channels):
    shape = (13, 11) if channels == 1 else (13, 11, channels)
    pixels = rng.integers(0, 65536, shape).astype(np.uint16)
    data = _png16(pixels, interlace=True, kinds=(4, 1))
    np.testing.assert_array_equal(iio.load_bytes(data), pixels.astype(np.float32) / 257)


def test_16_bit_png_colour_key_becomes_alpha():
    pixels = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint16)
    data = insert_chunk(_png16(pixels), b"tRNS", np.array([4, 5, 6], ">u2").tobytes())
    expected = [[[1 / 257, 2 / 257, 3 / 257, 255], [4 / 257, 5 / 257, 6 / 257, 0]]]
    np.testing.assert_allclose(iio.load_bytes(data), expected, rtol=1e-6)


def test_describe_reports_16_bits_for_a_48_bit_png(tmp_path):
    iio.save(np.full((3, 5, 3), 100.0), tmp_path / "d.png", depth=16)
    info = iio.describe(tmp_path / "d.png")
    assert (info["format"], info["mode"], info["bit_depth"], info["channels"]) == (
        "PNG",
        "RGB",
        16,
        3,
    )
    assert (info["width"], info["height"]) == (5, 3)


# ---------------------------------------------------------------------------- saving rules


def test_8_bit_save_clips_rounds_half_to_even_and_writes_nan_as_0(tmp_path):
    image = np.array([[-5.0, 0.5, 1.5, 2.5, 254.5, 300.0, np.nan]])
    iio.save(image, tmp_path / "r.png")
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "r.png")), [[0, 0, 2, 2, 254, 255, 0]]
    )


def test_rescale_modes_apply_once_before_writing(tmp_path):
    image = np.array([[0.0, -1020.0], [-510.0, 0.0]])
    iio.save(image, tmp_path / "m.png", rescale="minmax")
    np.testing.assert_array_equal(iio.load(tmp_path / "m.png"), [[255, 0], [128, 255]])
    iio.save(image, tmp_path / "a.png", rescale="abs")
    np.testing.assert_array_equal(iio.load(tmp_path / "a.png"), [[0, 255], [255, 0]])


def test_rescale_maps_colour_but_only_clips_alpha(tmp_path):
    image = np.array([[[0.0, 100.0], [50.0, 300.0]]])  # gray + alpha
    iio.save(image, tmp_path / "la.png", rescale="minmax")
    np.testing.assert_array_equal(iio.load(tmp_path / "la.png"), [[[0, 100], [255, 255]]])


@pytest.mark.parametrize("ext", [".jpg", ".bmp", ".ppm", ".gif"])
def test_alpha_is_dropped_with_a_warning_naming_the_file(tmp_path, ext):
    colour = np.broadcast_to(np.array([200.0, 100.0, 50.0]), (4, 4, 3))
    image = np.dstack([colour, np.full((4, 4), 10.0)])
    with pytest.warns(ImageWarning, match=rf"^.*x{ext}: .* cannot store alpha"):
        iio.save(image, tmp_path / f"x{ext}")
    loaded = iio.load(tmp_path / f"x{ext}")
    assert loaded.shape == (4, 4, 3)
    np.testing.assert_allclose(loaded, colour, atol=3)


def test_saved_file_gets_ordinary_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    iio.save(np.zeros((2, 2)), tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_replaces_an_existing_file(tmp_path):
    iio.save(np.zeros((2, 2)), tmp_path / "x.png")
    iio.save(np.full((3, 3), 50.0), tmp_path / "x.png")
    np.testing.assert_array_equal(iio.load(tmp_path / "x.png"), np.full((3, 3), 50))
    assert os.listdir(tmp_path) == ["x.png"]


def test_encode_matches_the_saved_file(tmp_path, rng):
    image = random_image(rng, (6, 5, 3))
    iio.save(image, tmp_path / "x.png")
    assert iio.encode(image, ".PNG") == (tmp_path / "x.png").read_bytes()


@pytest.mark.parametrize(
    ("fmt", "magic"),
    [
        ("png", b"\x89PNG"),
        ("jpeg", b"\xff\xd8"),
        ("TIFF", b"II*\0"),
        ("bmp", b"BM"),
        ("webp", b"RIFF"),
        ("gif", b"GIF8"),
        ("pgm", b"P5"),
        ("npy", b"\x93NUMPY"),
    ],
)
def test_encode_accepts_names_and_extensions(fmt, magic):
    assert iio.encode(np.zeros((2, 2)), fmt).startswith(magic)


# ---------------------------------------------------------------------------- atomic writes


def _fail_midway(error):
    def save(self, fp, *args, **kwargs):
        fp.write(b"half an image")
        raise error

    return save


@pytest.mark.parametrize("error", [OSError("disk full"), ValueError("encoder broke")])
def test_failed_encoder_leaves_target_untouched_and_no_temp_file(tmp_path, monkeypatch, error):
    target = tmp_path / "out.png"
    target.write_bytes(b"the old picture")
    monkeypatch.setattr(Image.Image, "save", _fail_midway(error))
    with pytest.raises(ImageFileError, match=r"out\.png: cannot (write|encode) PNG"):
        iio.save(np.zeros((4, 4)), target)
    assert target.read_bytes() == b"the old picture"
    assert os.listdir(tmp_path) == ["out.png"]


def test_interrupt_midway_removes_the_temp_file(tmp_path, monkeypatch):
    monkeypatch.setattr(Image.Image, "save", _fail_midway(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        iio.save(np.zeros((4, 4)), tmp_path / "out.png")
    assert os.listdir(tmp_path) == []


@pytest.fixture(params=["unnamed", "named"])
def temp_kind(request, monkeypatch):
    """Both ways to a complete file: Linux's unnamed O_TMPFILE, and a named temporary."""
    from imgfilter.io import _write

    if request.param == "unnamed" and not _write._UNNAMED:
        pytest.skip("no O_TMPFILE here")
    monkeypatch.setattr(_write, "_UNNAMED", request.param == "unnamed")
    return request.param


def test_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch, temp_kind):
    target = tmp_path / "out.npy"
    target.write_bytes(b"the old array")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ImageFileError, match="out.npy: cannot write NPY: No space left"):
        iio.save(np.zeros((4, 4)), target)
    assert os.listdir(tmp_path) == ["out.npy"]
    assert target.read_bytes() == b"the old array"


def test_interrupt_midway_leaves_no_temp_file_either_way(tmp_path, monkeypatch, temp_kind):
    (tmp_path / "out.png").write_bytes(b"the old picture")
    monkeypatch.setattr(Image.Image, "save", _fail_midway(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        iio.save(np.zeros((4, 4)), tmp_path / "out.png")
    assert os.listdir(tmp_path) == ["out.png"]
    assert (tmp_path / "out.png").read_bytes() == b"the old picture"


def _listing_while_writing(tmp_path, monkeypatch):
    seen = []
    real_save = Image.Image.save

    def spy(self, fp, *args, **kwargs):
        seen.extend(os.listdir(tmp_path))
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", spy)
    iio.save(np.zeros((4, 4)), tmp_path / "out.png")
    assert os.listdir(tmp_path) == ["out.png"]
    return seen


def test_data_goes_to_a_hidden_temp_file_in_the_target_folder(tmp_path, monkeypatch):
    from imgfilter.io import _write

    monkeypatch.setattr(_write, "_UNNAMED", False)
    seen = _listing_while_writing(tmp_path, monkeypatch)
    assert len(seen) == 1 and seen[0].startswith(".out.png.") and seen[0].endswith(".tmp")


def test_on_linux_the_data_goes_to_an_unnamed_file(tmp_path, monkeypatch):
    from imgfilter.io import _write

    if not _write._UNNAMED:
        pytest.skip("no O_TMPFILE here")
    assert _listing_while_writing(tmp_path, monkeypatch) == []  # nothing for SIGKILL to leave


def test_save_replaces_an_existing_file_either_way(tmp_path, temp_kind):
    iio.save(np.zeros((2, 2)), tmp_path / "x.png")
    iio.save(np.full((3, 3), 50.0), tmp_path / "x.png")
    np.testing.assert_array_equal(iio.load(tmp_path / "x.png"), np.full((3, 3), 50))
    assert os.listdir(tmp_path) == ["x.png"]


# ---------------------------------------------------------------------------- save errors


def test_save_into_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(ImageFileError, match=r"^.*nowhere.*x\.png: folder .* does not exist"):
        iio.save(np.zeros((2, 2)), tmp_path / "nowhere" / "x.png")


def test_save_onto_a_folder_is_an_error(tmp_path):
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageFileError, match=r"dir\.png: is a directory"):
        iio.save(np.zeros((2, 2)), tmp_path / "dir.png")


def test_save_into_a_read_only_folder_is_an_error(tmp_path, monkeypatch):
    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(ImageFileError, match=r"x\.png: permission denied"):
        iio.save(np.zeros((2, 2)), tmp_path / "x.png")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_save_into_a_really_read_only_folder_is_an_error(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(ImageFileError, match="permission denied"):
        iio.save(np.zeros((2, 2)), tmp_path / "ro" / "x.png")


@pytest.mark.parametrize("name", ["x.xyz", "noextension"])
def test_unknown_extension_lists_the_supported_ones(tmp_path, name):
    with pytest.raises(ImageFileError, match=rf"{name}: cannot tell .*\.png.*\.webp"):
        iio.save(np.zeros((2, 2)), tmp_path / name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "xyz"}, "format must be one of .*png.*; got 'xyz'"),
        ({"depth": 12}, "depth must be 8, 16 or auto, got 12"),
        ({"depth": 16, "format": "jpg"}, "depth 16 needs PNG or TIFF; JPEG"),
        ({"quality": 80}, "quality applies to JPEG and WebP only, not PNG"),
        ({"quality": 0, "format": "jpg"}, r"quality must be in \[1, 100\], got 0"),
        ({"quality": 101, "format": "webp"}, r"quality must be in \[1, 100\], got 101"),
        ({"rescale": "bogus"}, "rescale must be one of clip, minmax, abs, none; got 'bogus'"),
        ({"rescale": "none"}, "rescale 'none' keeps floats, which PNG cannot store"),
        ({"rescale": "none", "format": "tif", "depth": 16}, "cannot be combined with depth 16"),
    ],
)
def test_bad_save_arguments_are_refused_before_writing(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        iio.save(np.zeros((2, 2)), tmp_path / "x.png", **kwargs)
    assert os.listdir(tmp_path) == []


def test_float_tiff_must_be_gray(tmp_path):
    with pytest.raises(ValueError, match="float TIFF holds one gray channel"):
        iio.save(np.zeros((2, 2, 3)), tmp_path / "x.tif", rescale="none")


def test_16_bit_gray_alpha_tiff_is_refused(tmp_path):
    with pytest.raises(ValueError, match="16-bit TIFF cannot hold gray\\+alpha"):
        iio.save(np.zeros((2, 2, 2)), tmp_path / "x.tif", depth=16)


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        (np.zeros(5), ValueError, r"shape \(H, W\) or \(H, W, C\) with 1-4 channels, got \(5,\)"),
        (np.zeros((2, 2, 2, 2)), ValueError, "1-4 channels"),
        (np.zeros((2, 2, 5)), ValueError, "1-4 channels"),
        (np.zeros((0, 3)), ValueError, "must not be empty"),
        (np.array([["a", "b"]]), TypeError, "image must be an array of numbers, got dtype <U1"),
    ],
)
def test_bad_images_are_refused(tmp_path, image, error, message):
    with pytest.raises(error, match=message):
        iio.save(image, tmp_path / "x.png")


# ---------------------------------------------------------------------------- load errors


def test_missing_file(tmp_path):
    with pytest.raises(ImageFileError, match=r"^.*missing\.png: no such file$"):
        iio.load(tmp_path / "missing.png")


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(ImageFileError, match="is a directory"):
        iio.load(tmp_path)


def test_unreadable_file(tmp_path, monkeypatch):
    (tmp_path / "secret.png").write_bytes(b"x")

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("imgfilter.io._read.open", deny, raising=False)
    with pytest.raises(ImageFileError, match=r"secret\.png: permission denied"):
        iio.load(tmp_path / "secret.png")


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageFileError, match=r"empty\.png: empty file \(0 bytes\)"):
        iio.load(tmp_path / "empty.png")


def test_text_named_png_is_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("shopping list: eggs, milk\n")
    with pytest.raises(ImageFileError, match=r"notes\.png: not a recognised image"):
        iio.load(tmp_path / "notes.png")


def test_png_cut_in_half_is_truncated(tmp_path):
    data = (SAMPLES / "camera.png").read_bytes()
    (tmp_path / "half.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageFileError, match=r"half\.png: truncated or corrupt"):
        iio.load(tmp_path / "half.png")


def test_png_with_damaged_data_is_corrupt(tmp_path):
    data = bytearray((SAMPLES / "camera.png").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match=r"bad\.png: truncated or corrupt"):
        iio.load(tmp_path / "bad.png")


def test_16_bit_png_cut_in_half_is_truncated(rng):
    data = iio.encode(random_image(rng, (20, 20, 3)), "png", depth=16)
    with pytest.raises(ImageFileError, match="^<stdin>: truncated PNG data"):
        iio.load_bytes(data[: len(data) // 2])


def test_16_bit_png_with_bad_crc_is_corrupt(rng):
    data = bytearray(iio.encode(random_image(rng, (20, 20, 3)), "png", depth=16))
    data[50] ^= 0x01
    with pytest.raises(ImageFileError, match="bad CRC in IDAT"):
        iio.load_bytes(bytes(data), "d.png")


def test_16_bit_png_with_undecodable_pixel_stream_is_corrupt():
    ihdr = struct.pack(">IIBBBBB", 4, 4, 16, 2, 0, 0, 0)
    idat = chunk(b"IDAT", bytes(40))  # zeros, not a zlib stream
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")
    with pytest.raises(ImageFileError, match=r"^z\.png: truncated or corrupt PNG data"):
        iio.load_bytes(data, "z.png")


def test_16_bit_ppm_cut_short_is_truncated():
    data = b"P6\n2 2\n65535\n" + bytes(10)
    with pytest.raises(ImageFileError, match="truncated PPM data"):
        iio.load_bytes(data, "cut.ppm")


@pytest.mark.parametrize("depth", [8, 16])
def test_decompression_bomb_guard_says_the_size(monkeypatch, depth):
    data = iio.encode(np.zeros((30, 40, 3)), "png", depth=depth)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(
        ImageFileError, match=r"big\.png: image too large: .*1200 pixels.*limit of 200 "
    ):
        iio.load_bytes(data, "big.png")


def test_unsupported_mode_is_named(tmp_path):
    picture = Image.new("L", (2, 2))
    picture._mode = "BGR;24"  # no file decodes to this; the branch guards against new modes
    with pytest.raises(ImageFileError, match="x.bmp: unsupported image mode 'BGR;24'"):
        _read._pillow_pixels(picture, "x.bmp", 8)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([["a"]]), "non-numeric dtype <U1"),
        (np.array([1 + 2j]).reshape(1, 1), "non-numeric dtype complex128"),
        (
            np.zeros(4),
            r"must be 2-D \(H, W\) or 3-D \(H, W, C\) with 1-4 channels, got shape \(4,\)",
        ),
        (np.zeros((2, 2, 2, 2)), "got shape"),
        (np.zeros((2, 2, 5)), r"got shape \(2, 2, 5\)"),
        (np.zeros((0, 4)), "empty"),
    ],
)
def test_bad_npy_contents_are_refused(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(ImageFileError, match=rf"bad\.npy: .*{message}"):
        iio.load(tmp_path / "bad.npy")


def test_npy_of_python_objects_is_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([[{"a": 1}]], dtype=object), allow_pickle=True)
    with pytest.raises(ImageFileError, match=r"obj\.npy: .*non-numeric"):
        iio.load(tmp_path / "obj.npy")


def test_npy_name_without_npy_content_is_refused(tmp_path):
    (tmp_path / "fake.npy").write_text("1 2 3")
    with pytest.raises(ImageFileError, match=r"fake\.npy: not a \.npy file"):
        iio.load(tmp_path / "fake.npy")


def test_truncated_npy_is_refused(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((20, 20)))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:300])
    with pytest.raises(ImageFileError, match=r"t\.npy: truncated or corrupt"):
        iio.load(tmp_path / "t.npy")


def test_load_bytes_names_its_source_in_errors():
    with pytest.raises(ImageFileError, match="^<stdin>: empty input"):
        iio.load_bytes(b"")
    with pytest.raises(ImageFileError, match="^upload: not a recognised image"):
        iio.load_bytes(b"hello", name="upload")


def test_every_load_error_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        iio.load(tmp_path / "missing.png")


# ------------------------------------------------------------------------------ describe


def test_describe_gives_size_mode_depth_and_channel_statistics(tmp_path):
    pixels = np.array([[[0, 10, 20, 255], [100, 30, 40, 0]]], np.uint8)
    Image.fromarray(pixels).save(tmp_path / "d.png")
    info = iio.describe(tmp_path / "d.png")
    assert info == {
        "path": str(tmp_path / "d.png"),
        "format": "PNG",
        "width": 2,
        "height": 1,
        "channels": 4,
        "mode": "RGBA",
        "bit_depth": 8,
        "channel_names": ["R", "G", "B", "A"],
        "min": [0.0, 10.0, 20.0, 0.0],
        "max": [100.0, 30.0, 40.0, 255.0],
        "mean": [50.0, 20.0, 30.0, 127.5],
    }


def test_describe_of_npy_reports_its_dtype(tmp_path):
    np.save(tmp_path / "f.npy", np.array([[-1020.0, 3.0]]))
    info = iio.describe(tmp_path / "f.npy")
    assert (info["format"], info["mode"], info["bit_depth"]) == ("NPY", "float64", 64)
    assert (info["min"], info["max"], info["mean"]) == ([-1020.0], [3.0], [-508.5])


def test_describe_of_a_jpeg_sample():
    info = iio.describe(SAMPLES / "rocket.jpg")
    assert (info["format"], info["mode"], info["channels"]) == ("JPEG", "RGB", 3)
    assert (info["width"], info["height"]) == (640, 427)


def test_describe_fails_like_load(tmp_path):
    with pytest.raises(ImageFileError, match="no such file"):
        iio.describe(tmp_path / "nope.png")


def test_npy_with_clip_rescale_is_clipped(tmp_path):
    target = tmp_path / "clipped.npy"
    iio.save(np.array([[-5.0, 300.0, 7.5]], dtype=np.float32), target, rescale="clip")
    assert np.load(target).tolist() == [[0.0, 255.0, 7.5]]


def test_eight_bit_save_clips_and_rounds_half_to_even(tmp_path):
    target = tmp_path / "rounded.png"
    iio.save(np.array([[-5.0, 300.0, 2.5, 3.5, np.nan]], dtype=np.float32), target)
    assert iio.load(target).tolist() == [[0.0, 255.0, 2.0, 4.0, 0.0]]
