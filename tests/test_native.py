"""The compiled kernels' frame: which engine runs, IMGFILTER_PURE, and the quantiser.

Each compiled kernel is held against the numpy routine it replaces, on the same
random inputs (the kernels' own test files do the same for theirs). The suite runs
once with the kernels and once with ``IMGFILTER_PURE=1`` (see .ci/run).
"""

import subprocess
import sys

import numpy as np
import pytest

from imgfilter import _native
from imgfilter.io import _save

built = _native._load("_quantise")  # whether the kernels exist, IMGFILTER_PURE aside
compiled = _native.module("_quantise")
needs_compiled = pytest.mark.skipif(
    compiled is None, reason="compiled kernels not built, or IMGFILTER_PURE=1"
)


def awkward_values(seed: int, shape) -> np.ndarray:
    """Values around and beyond 0-255, exact halves, NaN, ±inf and -0."""
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal(shape) * 150 + 128).astype(np.float32)
    flat = values.reshape(-1)
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.5, 1.5, 2.5, 254.5, 255.5, 65535 / 257]
    halves = np.arange(64) / 2  # halves round to even
    sixteen = (np.arange(64) + 0.5) / 257  # halves of the 16-bit scale
    special = np.concatenate([specials, halves, sixteen]).astype(np.float32)
    flat[: min(flat.size, special.size)] = special[: flat.size]
    return values


@needs_compiled
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("shape", [(1,), (7, 5), (12, 13), (64, 33, 3), (300, 301)])
def test_the_compiled_quantiser_equals_numpys_bit_for_bit(depth, shape, monkeypatch):
    values = awkward_values(sum(shape), shape)
    fast = compiled.quantise(values, depth)
    monkeypatch.setenv(_native.PURE_VARIABLE, "1")
    slow = _save.quantise(values, depth)
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)


@needs_compiled
def test_the_quantiser_takes_strided_views():
    values = awkward_values(3, (40, 50, 3))
    view = values[::-2, 1::3]
    np.testing.assert_array_equal(compiled.quantise(view, 8), compiled.quantise(view.copy(), 8))


@needs_compiled
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (12, 13, 3), (30, 31, 2)])
def test_the_compiled_quantiser_writes_into_out(depth, shape):
    values = awkward_values(sum(shape) + depth, shape)
    out = np.zeros(shape, np.uint8 if depth == 8 else np.uint16)
    assert compiled.quantise(values, depth, out) is out
    np.testing.assert_array_equal(out, compiled.quantise(values, depth))


@needs_compiled
@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 5, 3), (9, 7, 3), (33, 64, 3)])
def test_the_compiled_quantiser_writes_rgbx_with_an_opaque_fourth_byte(shape, monkeypatch):
    values = awkward_values(sum(shape), shape)
    rgbx = np.zeros((*shape[:2], 4), np.uint8)
    compiled.quantise(values, 8, rgbx)
    monkeypatch.setenv(_native.PURE_VARIABLE, "1")
    np.testing.assert_array_equal(rgbx[..., :3], _save.quantise(values, 8))
    assert (rgbx[..., 3] == 255).all()


@needs_compiled
@pytest.mark.parametrize(
    "out",
    [
        np.zeros((4, 5, 3), np.uint16),  # wrong dtype for depth 8
        np.zeros((4, 6, 3), np.uint8),  # wrong shape
        np.zeros((4, 5, 4), np.uint8)[:, :, :3],  # not contiguous
        np.zeros((4, 5, 4), np.uint16),  # RGBX is 8-bit only
    ],
)
def test_the_compiled_quantiser_refuses_an_unfit_out(out):
    with pytest.raises(ValueError, match="out must be"):
        compiled.quantise(awkward_values(1, (4, 5, 3)), 8, out)


@pytest.mark.parametrize("pure", ["", "1"])
@pytest.mark.parametrize("rows", [(0, 9), (2, 7), (8, 9)])
def test_quantise_into_rows_of_a_jpeg_pixel_buffer(pure, rows, monkeypatch):
    monkeypatch.setenv(_native.PURE_VARIABLE, pure)
    values = awkward_values(5, (9, 11, 3))
    buffer = _save.pixel_buffer((9, 11, 3), "JPEG")
    assert buffer.shape == (9, 11, 3) and buffer.dtype == np.uint8
    if compiled is not None and not pure:  # RGBX only where the quantiser writes it in one pass
        assert buffer.base.shape == (9, 11, 4)
    a, b = rows
    _save.quantise(values[a:b], 8, buffer[a:b])
    np.testing.assert_array_equal(buffer[a:b], _save.quantise(values[a:b], 8))


def test_rgbx_base_finds_only_whole_rgbx_rows():
    rgbx = np.zeros((6, 5, 4), np.uint8)
    assert _save._rgbx_base(rgbx[..., :3]) is not None
    assert _save._rgbx_base(rgbx[2:4, :, :3]).shape == (2, 5, 4)
    assert np.shares_memory(_save._rgbx_base(rgbx[2:4, :, :3]), rgbx[2:4])
    assert _save._rgbx_base(rgbx[:, 1:, :3]) is None  # not whole rows
    assert _save._rgbx_base(rgbx[:, :, 1:]) is None  # starts at G
    assert _save._rgbx_base(rgbx[::2, :, :3]) is None  # every other row
    assert _save._rgbx_base(np.zeros((6, 5, 3), np.uint8)) is None
    assert _save._rgbx_base(rgbx[:0, :, :3]) is None


def test_a_jpeg_from_an_rgbx_buffer_is_the_jpeg_of_its_rgb(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(4).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    rgbx = np.empty((37, 53, 4), np.uint8)
    rgbx[..., :3], rgbx[..., 3] = rgb, 17
    shared = _save._pillow_image(rgbx[..., :3], "JPEG")
    assert shared.mode == "RGBX"
    rgbx[0, 0, 0] ^= 1  # the image is the buffer, not a copy
    assert shared.getpixel((0, 0))[0] == rgbx[0, 0, 0]
    rgbx[0, 0, 0] ^= 1
    _save.save(rgbx[..., :3], tmp_path / "shared.jpg")
    _save.save(rgb, tmp_path / "plain.jpg")
    assert (tmp_path / "shared.jpg").read_bytes() == (tmp_path / "plain.jpg").read_bytes()
    assert _save._pillow_image(rgbx[..., :3], "PNG").mode == "RGB"
    with Image.open(tmp_path / "shared.jpg") as image:
        assert image.mode == "RGB" and image.size == (53, 37)


def test_pure_turns_every_kernel_off(monkeypatch):
    monkeypatch.setenv(_native.PURE_VARIABLE, "1")
    assert all(_native.module(name) is None for name in _native.MODULES)
    assert "IMGFILTER_PURE=1" in _native.engine()
    monkeypatch.setenv(_native.PURE_VARIABLE, "0")
    assert _native.pure() is False


def test_the_engine_line_names_what_runs():
    line = _native.engine()
    if compiled is None:  # not built, or IMGFILTER_PURE=1
        assert line.startswith("numpy")
    else:
        assert line.startswith("compiled") and "quantise" in line


@pytest.mark.parametrize("pure", ["", "1"])
def test_version_names_the_engine(pure, tmp_path):
    env = {"PATH": "/usr/bin:/bin", _native.PURE_VARIABLE: pure}
    done = subprocess.run(  # away from the checkout: the installed package, kernels and all
        [sys.executable, "-m", "imgfilter", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    first, engine = done.stdout.splitlines()
    assert first.startswith("imgfilter, version ")
    expected = "numpy" if pure or built is None else "compiled"
    assert engine.startswith(f"engine: {expected}")
