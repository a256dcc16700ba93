"""The compiled median and bilateral kernels against the numpy engine, same inputs.

The median is exact: bit for bit (``assert_array_equal``; NaN equals NaN) for every
compiled size, border, channel count and awkward shape. The bilateral follows
numpy's float32 operations one by one, with numpy's SIMD exp transcribed: bit for
bit where that exp is the one numpy runs (``_bilateral.exact()``), else to float32
precision. Each reference runs with ``IMGFILTER_PURE=1``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imgfilter
from imgfilter import _native
from imgfilter.choices import BORDERS

median_kernels = _native.module("_median")
bilateral_kernels = _native.module("_bilateral")
needs_median = pytest.mark.skipif(median_kernels is None, reason="compiled median not built")
needs_bilateral = pytest.mark.skipif(
    bilateral_kernels is None, reason="compiled bilateral not built"
)
# The numpy bilateral warns (in its band threads) where NaN and inf meet.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
SIZES = (3, 5, 7, 9, 11)
SHAPES = [(23, 31), (17, 19, 3), (12, 14, 2), (1, 40), (40, 1), (1, 1), (4, 3, 3), (2, 30, 4)]


def reference(monkeypatch, image, method, **params):
    with monkeypatch.context() as m:
        m.setenv(_native.PURE_VARIABLE, "1")
        return imgfilter.denoise(image, method, **params)


def awkward(seed: int, shape, integral=False) -> np.ndarray:
    """Random values; integral ones are 0-255 integers (the kernels' 8-bit path),
    others normal with NaN, ±inf and -0 sprinkled in."""
    rng = np.random.default_rng(seed)
    if integral:
        return rng.integers(0, 256, shape).astype(np.float32)
    values = (rng.standard_normal(shape) * 60 + 100).astype(np.float32)
    flat = values.reshape(-1)
    for special in (np.nan, np.inf, -np.inf, -0.0):
        if flat.size > 8 and rng.random() < 0.7:
            flat[rng.integers(0, flat.size)] = special
    return values


def same_median(monkeypatch, image, size, border="reflect"):
    fast = imgfilter.denoise(image, "median", size=size, border=border)
    slow = reference(monkeypatch, image, "median", size=size, border=border)
    assert fast.dtype == slow.dtype == np.float32 and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)


# --- median -------------------------------------------------------------------------


@needs_median
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", SHAPES)
def test_the_compiled_median_equals_numpys(size, border, shape, monkeypatch):
    seed = size * 1000 + sum(shape) + len(border)
    same_median(monkeypatch, awkward(seed, shape), size, border)
    same_median(monkeypatch, awkward(seed, shape, integral=True), size, border)


@needs_median
@pytest.mark.parametrize("size", SIZES)
def test_median_nan_anywhere_in_a_window_gives_nan(size, monkeypatch):
    image = awkward(size, (30, 33, 3), integral=True)
    image[5, 7, 1] = np.nan
    image[20, 30, 0] = np.inf
    result = imgfilter.denoise(image, "median", size=size)
    r = size // 2
    assert np.isnan(result[5 - r : 5 + r + 1, 7 - r : 7 + r + 1, 1]).all()
    assert np.isnan(result[..., 1]).sum() == size * size
    same_median(monkeypatch, image, size)


@needs_median
@pytest.mark.parametrize("size", [3, 11])
def test_median_of_wide_rows_crosses_tiles(size, monkeypatch):
    # Rows longer than the kernel's 512-value tile, integral and not.
    same_median(monkeypatch, awkward(1, (9, 700, 3), integral=True), size)
    same_median(monkeypatch, awkward(2, (9, 700)), size, "wrap")


@needs_median
def test_median_of_one_band_with_non_integral_values_only(monkeypatch):
    # Bands choose the 8-bit path on their own: one band exact, the next not.
    image = awkward(3, (300, 200, 3), integral=True)
    image[250, 10, 0] = 0.5
    same_median(monkeypatch, image, 5)


@needs_median
@pytest.mark.parametrize("size", [3, 7, 9])
def test_median_takes_strided_and_negative_stride_views(size, monkeypatch):
    base = awkward(4, (40, 50, 3))
    for view in (base[::-1], base[:, ::-2], base[::2, 1::3, ::-1], base[..., 1]):
        same_median(monkeypatch, view, size)


@needs_median
@pytest.mark.parametrize("size", SIZES)
def test_median_of_constant_and_uint8_images(size, monkeypatch):
    same_median(monkeypatch, np.full((13, 17, 3), 77, np.float32), size)
    same_median(monkeypatch, np.full((13, 17), -3.25, np.float32), size, "constant")
    u8 = np.random.default_rng(size).integers(0, 256, (21, 19, 3), dtype=np.uint8)
    fast = imgfilter.denoise(u8, "median", size=size)
    np.testing.assert_array_equal(fast, reference(monkeypatch, u8, "median", size=size))


@needs_median
def test_sizes_above_the_compiled_ones_still_work(monkeypatch):
    same_median(monkeypatch, awkward(5, (20, 21, 3)), 13)


@needs_median
@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 24),
    width=st.integers(1, 24),
    channels=st.sampled_from([0, 1, 2, 3, 4]),
    size=st.sampled_from(SIZES),
    border=st.sampled_from(BORDERS),
    integral=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_median_property(height, width, channels, size, border, integral, seed):
    shape = (height, width) + ((channels,) if channels else ())
    image = awkward(seed, shape, integral)
    fast = imgfilter.denoise(image, "median", size=size, border=border)
    with pytest.MonkeyPatch.context() as m:
        m.setenv(_native.PURE_VARIABLE, "1")
        slow = imgfilter.denoise(image, "median", size=size, border=border)
    np.testing.assert_array_equal(fast, slow)


# --- bilateral -----------------------------------------------------------------------


def same_bilateral(monkeypatch, image, **params):
    fast = imgfilter.denoise(image, "bilateral", **params)
    slow = reference(monkeypatch, image, "bilateral", **params)
    assert fast.dtype == slow.dtype == np.float32 and fast.shape == slow.shape
    if bilateral_kernels.exact():
        np.testing.assert_array_equal(fast, slow)
    else:
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-4)


BILATERAL_PARAMS = [
    {"size": 9, "sigma": 2.0, "sigma_range": 25.0},
    {"sigma": 1.0},
    {"size": 3, "sigma": 0.001, "sigma_range": 0.01},  # weights underflow to 0
    {"size": 5, "sigma": 3.0, "sigma_range": 1e5},  # every weight near 1
]


@needs_bilateral
@pytest.mark.parametrize("params", BILATERAL_PARAMS)
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", SHAPES + [(30, 300, 3), (5, 6, 5)])
def test_the_compiled_bilateral_equals_numpys(params, border, shape, monkeypatch):
    seed = sum(shape) + len(border)
    for integral in (False, True):
        same_bilateral(monkeypatch, awkward(seed, shape, integral), border=border, **params)


@needs_bilateral
def test_bilateral_takes_strided_views_and_uint8(monkeypatch):
    base = awkward(6, (40, 45, 3), integral=True)
    for view in (base[::-1], base[:, ::-2], base[..., ::-1], base[..., 0]):
        same_bilateral(monkeypatch, view, size=7, sigma=2.0, sigma_range=20.0)
    same_bilateral(monkeypatch, base.astype(np.uint8), size=5, sigma=1.5)
    same_bilateral(monkeypatch, np.full((9, 8), 42, np.float32), size=5)


@needs_bilateral
def test_the_kernels_exp_is_numpys():
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            -rng.random(200_000, dtype=np.float32) * 110,  # into the denormal results
            rng.random(1000, dtype=np.float32) * 90,
            np.array([0, -0.0, np.nan, np.inf, -np.inf, 88.72283935546875, -103.97208], "f4"),
        ]
    ).astype(np.float32)
    ours = bilateral_kernels.numpy_exp(values)
    with np.errstate(all="ignore"):
        theirs = np.exp(values)
    if bilateral_kernels.exact():
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@needs_bilateral
@settings(max_examples=25, deadline=None)
@given(
    height=st.integers(1, 20),
    width=st.integers(1, 20),
    channels=st.sampled_from([0, 1, 3]),
    size=st.sampled_from([1, 3, 5, 9]),
    sigma=st.floats(0.3, 5.0),
    sigma_range=st.floats(1.0, 200.0),
    border=st.sampled_from(BORDERS),
    integral=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_bilateral_property(
    height, width, channels, size, sigma, sigma_range, border, integral, seed
):
    shape = (height, width) + ((channels,) if channels else ())
    image = awkward(seed, shape, integral)
    params = {"size": size, "sigma": sigma, "sigma_range": sigma_range, "border": border}
    fast = imgfilter.denoise(image, "bilateral", **params)
    with pytest.MonkeyPatch.context() as m:
        m.setenv(_native.PURE_VARIABLE, "1")
        slow = imgfilter.denoise(image, "bilateral", **params)
    if bilateral_kernels.exact():
        np.testing.assert_array_equal(fast, slow)
    else:
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-4)


def test_pure_runs_neither_kernel(monkeypatch):
    monkeypatch.setenv(_native.PURE_VARIABLE, "1")
    from imgfilter.ops import _denoise_native

    image = np.zeros((5, 5), np.float32)
    assert _denoise_native.median(image, 3, "reflect") is None
    assert _denoise_native.bilateral(image, 1, [(0, 1)], [-0.5], np.float32(-1), "edge") is None
