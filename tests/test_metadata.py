"""What a file carries besides pixels (ICC profile, EXIF, resolution) and its bit depth,
kept from input to output by the command line and the library; Pillow is the oracle."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from conftest import write_png
from PIL import Image, ImageCms

import imgfilter as imf
from imgfilter import io as iio
from imgfilter.errors import ImageWarning

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
MAKE, MODEL, ORIENTATION, EXIF_IFD = 0x010F, 0x0110, 0x0112, 0x8769
TAKEN, LENS = 0x9003, 0xA434
EXTENSIONS = ["png", "jpg", "tif", "webp"]
PILLOW = {"png": "PNG", "jpg": "JPEG", "tif": "TIFF", "webp": "WEBP"}


def exif(orientation: int = 6, make: str = "Canon", extra: dict | None = None) -> bytes:
    tags = Image.Exif()
    tags[MAKE], tags[MODEL], tags[ORIENTATION] = make, "EOS 5D", orientation
    tags[EXIF_IFD] = {TAKEN: "2024:05:06 07:08:09", LENS: "EF 50mm", **(extra or {})}
    return tags.tobytes()


def photo(path, *, orientation=6, dpi=(200, 200), make="Canon", icc=SRGB, size=(24, 16)):
    """An RGB photo written by Pillow with a profile, EXIF and a resolution."""
    pixels = np.random.default_rng(1).integers(0, 256, (*size, 3)).astype(np.uint8)
    options = {"exif": exif(orientation, make)}
    if icc is not None:
        options["icc_profile"] = icc
    if dpi is not None and not str(path).endswith(".webp"):
        options["dpi"] = dpi
    if str(path).endswith(".webp"):
        options["lossless"] = True
    Image.fromarray(pixels).save(path, **options)
    return path


def opened(path) -> Image.Image:
    picture = Image.open(path)
    picture.load()
    return picture


def tags_of(picture: Image.Image) -> tuple[dict, dict]:
    found = picture.getexif()
    return dict(found), dict(found.get_ifd(EXIF_IFD))


def assert_exif_kept(out: Image.Image, make: str = "Canon") -> None:
    top, inner = tags_of(out)
    assert top[MAKE] == make and top[MODEL] == "EOS 5D"
    assert top[ORIENTATION] == 1
    assert inner[TAKEN] == "2024:05:06 07:08:09" and inner[LENS] == "EF 50mm"


def run_ok(cli, *args):
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    return result


# --- round trips from the command line ---------------------------------------------------


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_the_installed_command_keeps_profile_exif_and_resolution(tmp_path, ext, run_subprocess):
    source = photo(tmp_path / f"in.{ext}")
    out = tmp_path / f"out.{ext}"
    done = run_subprocess("gaussian", source, "-o", out, "--sigma", "1")
    assert done.returncode == 0, done.stderr
    before, after = opened(source), opened(out)
    assert after.info["icc_profile"] == SRGB
    assert after.info.get("dpi") == before.info.get("dpi")
    assert_exif_kept(after)
    assert after.size == (24, 16)  # 16 x 24 turned by orientation 6, then reset to 1


@pytest.mark.parametrize("source_ext", EXTENSIONS)
@pytest.mark.parametrize(("ext", "depth"), [("png", "8"), ("png", "16"), ("tif", "16"), *[
    (e, "8") for e in ("jpg", "tif", "webp")]])  # fmt: skip
def test_metadata_crosses_formats_and_depths(cli, tmp_path, source_ext, ext, depth):
    source = photo(tmp_path / f"in.{source_ext}", dpi=(300, 300))
    out = tmp_path / f"out.{ext}"
    run_ok(cli, "sharpen", source, "-o", out, "--depth", depth)
    after = opened(out)
    assert after.info["icc_profile"] == SRGB
    assert_exif_kept(after)
    if source_ext != "webp" and ext != "webp":  # WebP has no resolution field
        assert [round(d) for d in after.info["dpi"]] == [300, 300]
    if depth == "16":
        assert after.mode.startswith("I") or iio.describe(out)["bit_depth"] == 16


def test_a_quarter_turn_swaps_the_resolution_axes(cli, tmp_path):
    source = photo(tmp_path / "in.jpg", dpi=(300, 150), orientation=6)
    run_ok(cli, "relu", source, "-o", tmp_path / "out.png")
    assert [round(d) for d in opened(tmp_path / "out.png").info["dpi"]] == [150, 300]


def test_strip_drops_profile_exif_and_resolution(cli, tmp_path):
    source = photo(tmp_path / "in.jpg")
    for ext in ("png", "jpg", "tif", "webp"):
        out = tmp_path / f"out.{ext}"
        run_ok(cli, "relu", source, "-o", out, "--strip")
        after = opened(out)
        assert "icc_profile" not in after.info and "exif" not in after.info
        assert after.getexif().get(MAKE) is None
        if ext == "tif":
            assert 282 not in after.tag_v2 and 34675 not in after.tag_v2
        elif ext != "jpg":  # Pillow says 72 dpi for a JPEG with no density
            assert "dpi" not in after.info


def test_a_batch_gives_each_output_its_own_metadata(cli, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    photo(folder / "a.jpg", make="Alpha", dpi=(100, 100))
    photo(folder / "b.png", make="Beta", dpi=(240, 240), icc=None)
    photo(folder / "c.tif", make="Gamma", dpi=(600, 600))
    run_ok(cli, "gaussian", folder, "-o", tmp_path / "out", "--jobs", "3", "--format", "png")
    for stem, make, dpi, icc in [("a", "Alpha", 100, SRGB), ("b", "Beta", 240, None),
                                 ("c", "Gamma", 600, SRGB)]:  # fmt: skip
        after = opened(tmp_path / "out" / f"{stem}.png")
        assert_exif_kept(after, make)
        assert [round(d) for d in after.info["dpi"]] == [dpi, dpi]
        assert after.info.get("icc_profile") == icc


def test_a_gray_result_does_not_carry_the_colour_profile(cli, tmp_path):
    """An RGB profile on gray pixels makes an invalid PNG (libpng refuses it)."""
    source = photo(tmp_path / "in.png")
    run_ok(cli, "canny", source, "-o", tmp_path / "edges.png")
    after = opened(tmp_path / "edges.png")
    assert after.mode == "L" and "icc_profile" not in after.info
    assert_exif_kept(after)


def test_16_bit_png_in_keeps_its_metadata_and_depth(cli, tmp_path):
    """The input is a 48-bit PNG written by OpenCV, with chunks added here."""
    cv2 = pytest.importorskip("cv2")
    values = np.random.default_rng(2).integers(0, 65536, (9, 7, 3)).astype(np.uint16)
    ok, encoded = cv2.imencode(".png", values[..., ::-1])
    assert ok
    extra = [
        (b"iCCP", b"sRGB\0\0" + zlib.compress(SRGB)),
        (b"pHYs", struct.pack(">IIB", 11811, 11811, 1)),
        (b"eXIf", exif(orientation=1)),
    ]
    data = encoded.tobytes()
    for kind, payload in extra:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        data = data[:33] + struct.pack(">I", len(payload)) + kind + payload + crc + data[33:]
    source = tmp_path / "deep.png"
    source.write_bytes(data)
    run_ok(cli, "relu", source, "-o", tmp_path / "out.png")
    after = opened(tmp_path / "out.png")
    assert after.info["icc_profile"] == SRGB and after.info["dpi"] == opened(source).info["dpi"]
    assert_exif_kept(after)
    back = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    np.testing.assert_array_equal(back, values)


# --- bit depth -----------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16_bit_gray_in_16_bit_out_by_default_8_bit_stays_8(cli, tmp_path, ext):
    deep = np.random.default_rng(3).integers(0, 65536, (12, 10)).astype(np.uint16)
    source = write_png(tmp_path / "deep.png", deep)
    run_ok(cli, "relu", source, "-o", tmp_path / f"deep-out.{ext}")
    out = opened(tmp_path / f"deep-out.{ext}")
    assert out.mode.startswith("I;16")
    np.testing.assert_array_equal(np.asarray(out), deep)
    shallow = write_png(tmp_path / "shallow.png", (deep >> 8).astype(np.uint8))
    run_ok(cli, "relu", shallow, "-o", tmp_path / f"shallow-out.{ext}")
    assert opened(tmp_path / f"shallow-out.{ext}").mode == "L"


def test_depth_overrides_both_ways(cli, tmp_path):
    deep = write_png(tmp_path / "deep.png", np.full((4, 4), 40000, np.uint16))
    run_ok(cli, "relu", deep, "-o", tmp_path / "eight.png", "--depth", "8")
    assert opened(tmp_path / "eight.png").mode == "L"
    shallow = write_png(tmp_path / "shallow.png", np.full((4, 4), 100, np.uint8))
    run_ok(cli, "relu", shallow, "-o", tmp_path / "sixteen.png", "--depth", "16")
    out = opened(tmp_path / "sixteen.png")
    assert out.mode.startswith("I") and np.asarray(out).max() == 100 * 257


def test_16_bit_colour_into_a_format_of_8_bits_is_8_bit_without_complaint(cli, tmp_path):
    deep = iio.encode(np.full((4, 4, 3), 100.5), "png", depth=16)
    (tmp_path / "deep.png").write_bytes(deep)
    for ext in ("jpg", "webp", "bmp"):
        result = run_ok(cli, "relu", tmp_path / "deep.png", "-o", tmp_path / f"o.{ext}")
        assert result.stderr == ""
        assert opened(tmp_path / f"o.{ext}").mode == "RGB"


def test_16_bit_gray_alpha_into_tiff_falls_back_to_8_bits(cli, tmp_path):
    (tmp_path / "la.png").write_bytes(iio.encode(np.full((4, 4, 2), 100.0), "png", depth=16))
    run_ok(cli, "relu", tmp_path / "la.png", "-o", tmp_path / "la.tif")
    assert iio.describe(tmp_path / "la.tif")["bit_depth"] == 8


@pytest.mark.parametrize("ext", ["jpg", "webp", "bmp", "gif"])
def test_depth_16_is_refused_up_front_for_8_bit_formats(cli, tmp_path, ext):
    result = cli("relu", tmp_path / "never-read.png", "-o", tmp_path / f"x.{ext}", "--depth", "16")
    assert result.exit_code == 2
    assert "depth 16 needs PNG or TIFF" in result.stderr and "never-read" not in result.stderr


def test_depth_auto_is_the_default_in_help(cli):
    assert "auto keeps the input's" in " ".join(cli("relu", "--help").stdout.split())


# --- bad metadata: warn, write the pixels ------------------------------------------------


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_a_corrupt_profile_is_dropped_with_a_warning(cli, tmp_path, ext):
    source = photo(tmp_path / f"in.{ext}", icc=SRGB[:300])  # says 588 bytes, holds 300
    out = tmp_path / f"out.{ext}"
    result = run_ok(cli, "relu", source, "-o", out)
    assert f"imgfilter: warning: {source}: corrupt ICC profile (" in result.stderr
    after = opened(out)
    assert "icc_profile" not in after.info
    assert_exif_kept(after)


@pytest.mark.parametrize("ext", ["png", "jpg", "webp"])
@pytest.mark.parametrize("block", [b"Exif\0\0II*\0\x08\0\0\0\xff\xff", b"Exif\0\0garbage!"])
def test_a_corrupt_exif_block_is_dropped_with_a_warning(cli, tmp_path, ext, block):
    source = tmp_path / f"in.{ext}"
    Image.new("RGB", (5, 3), (9, 99, 199)).save(source, exif=block, icc_profile=SRGB)
    out = tmp_path / f"out.{ext}"
    result = run_ok(cli, "relu", source, "-o", out)
    assert f"imgfilter: warning: {source}: corrupt EXIF block (" in result.stderr
    after = opened(out)
    assert "exif" not in after.info and after.info["icc_profile"] == SRGB
    assert after.size == (5, 3)


def test_a_corrupt_profile_in_a_16_bit_png_is_dropped_with_a_warning(cli, tmp_path):
    data = iio.encode(np.full((3, 4, 3), 10.0), "png", depth=16)
    bad = b"ICC Profile\0\0" + b"not zlib at all"
    crc = struct.pack(">I", zlib.crc32(b"iCCP" + bad))
    data = data[:33] + struct.pack(">I", len(bad)) + b"iCCP" + bad + crc + data[33:]
    (tmp_path / "in.png").write_bytes(data)
    result = run_ok(cli, "relu", tmp_path / "in.png", "-o", tmp_path / "out.png")
    assert "corrupt ICC profile" in result.stderr
    assert iio.describe(tmp_path / "out.png")["bit_depth"] == 16


def test_exif_too_large_for_jpeg_is_dropped_with_a_warning(cli, tmp_path):
    source = tmp_path / "in.png"
    big = exif(orientation=1, extra={0x9286: b"ASCII\0\0\0" + b"x" * 70_000})  # UserComment
    Image.new("RGB", (6, 4), (1, 2, 3)).save(source, exif=big, icc_profile=SRGB, dpi=(96, 96))
    result = run_ok(cli, "relu", source, "-o", tmp_path / "out.jpg")
    assert "JPEG cannot store an EXIF block of" in result.stderr
    assert "the EXIF was dropped" in result.stderr
    after = opened(tmp_path / "out.jpg")
    assert after.info["icc_profile"] == SRGB and after.info["dpi"] == (96, 96)
    assert "exif" not in after.info
    run_ok(cli, "relu", source, "-o", tmp_path / "out.png")  # PNG holds it
    assert tags_of(opened(tmp_path / "out.png"))[1][0x9286].endswith(b"x" * 100)


def test_a_profile_too_large_for_jpeg_is_dropped_with_a_warning(tmp_path):
    huge = bytearray(SRGB + bytes(17_000_000))
    huge[:4] = len(huge).to_bytes(4, "big")
    meta = iio.Metadata(icc_profile=bytes(huge), dpi=(72.0, 72.0))
    with pytest.warns(ImageWarning, match=r"out\.jpg: JPEG cannot store an ICC profile of"):
        iio.save(np.zeros((2, 2, 3)), tmp_path / "out.jpg", metadata=meta)
    assert "icc_profile" not in opened(tmp_path / "out.jpg").info


def test_a_profile_over_pillows_1_mb_limit_still_loads_and_is_kept(tmp_path):
    big = bytearray(SRGB + bytes(3 << 20))
    big[:4] = len(big).to_bytes(4, "big")
    Image.new("RGB", (4, 4), (5, 6, 7)).save(tmp_path / "in.png", icc_profile=bytes(big))
    pixels, meta = iio.load(tmp_path / "in.png", metadata=True)
    assert pixels.shape == (4, 4, 3) and meta.icc_profile == bytes(big)
    iio.save(pixels, tmp_path / "out.tif", metadata=meta)
    assert opened(tmp_path / "out.tif").info["icc_profile"] == bytes(big)


@pytest.mark.parametrize(
    "pixels",
    [
        np.dstack([np.zeros((5, 5)), np.linspace(0, 255, 25).reshape(5, 5)]),  # alpha only
        np.zeros((5, 5, 4)),  # all transparent
        np.array([[[10.0, 20.0, 30.0, 128.0]]]),  # 1x1 RGBA
    ],
    ids=["alpha-only", "all-transparent", "1x1-rgba"],
)
def test_odd_alpha_images_keep_their_metadata(cli, tmp_path, pixels):
    source = tmp_path / "in.png"
    mode = "LA" if pixels.shape[2] == 2 else "RGBA"
    picture = Image.fromarray(pixels.astype(np.uint8), mode)
    picture.save(source, exif=exif(1), dpi=(150, 150), icc_profile=SRGB if mode == "RGBA" else None)
    for ext in ("png", "tif", "webp"):
        run_ok(cli, "relu", source, "-o", tmp_path / f"out.{ext}")
        after = opened(tmp_path / f"out.{ext}")
        assert_exif_kept(after)
        np.testing.assert_array_equal(np.asarray(after.convert(mode)), pixels.astype(np.uint8))


# --- the library surface --------------------------------------------------------------


def test_load_returns_the_array_and_metadata_only_when_asked(tmp_path):
    source = photo(tmp_path / "in.jpg", dpi=(300, 300))
    assert isinstance(imf.load(source), np.ndarray)
    pixels, meta = iio.load(source, metadata=True)
    assert isinstance(meta, iio.Metadata) and pixels.shape == (16, 24, 3)
    assert meta.icc_profile == SRGB and meta.dpi == (300.0, 300.0) and meta.bit_depth == 8
    parsed = Image.Exif()
    parsed.load(meta.exif)
    assert parsed[ORIENTATION] == 1 and parsed[MAKE] == "Canon"
    assert repr(meta).startswith("Metadata(icc_profile=<588 bytes>, exif=<")
    assert meta.stripped() == iio.Metadata(bit_depth=8)


def test_save_writes_metadata_only_when_given(tmp_path):
    pixels, meta = iio.load(photo(tmp_path / "in.png"), metadata=True)
    imf.save(pixels, tmp_path / "plain.png")
    assert "icc_profile" not in opened(tmp_path / "plain.png").info
    imf.save(pixels, tmp_path / "kept.png", metadata=meta)
    assert opened(tmp_path / "kept.png").info["icc_profile"] == SRGB
    with pytest.raises(TypeError, match="metadata must be an imgfilter.io.Metadata"):
        imf.save(pixels, tmp_path / "x.png", metadata={"icc_profile": SRGB})


def test_encode_and_load_bytes_carry_metadata_too(tmp_path):
    meta = iio.Metadata(icc_profile=SRGB, exif=exif(1)[6:], dpi=(120.0, 120.0), bit_depth=16)
    data = iio.encode(np.full((3, 3, 3), 7.0), "tif", metadata=meta)
    pixels, back = iio.load_bytes(data, "x.tif", metadata=True)
    assert back.icc_profile == SRGB and back.dpi == (120.0, 120.0) and back.bit_depth == 16
    assert Image.open(io.BytesIO(data)).getexif()[MAKE] == "Canon"
