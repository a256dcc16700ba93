"""The compiled Canny (``_canny``) and pooling (``_pool``) kernels against the numpy path.

Every case runs the public call twice on the same input, once as it is and once
with ``IMGFILTER_PURE=1`` (the numpy engine), and asks for the same result bit for
bit: the same edge map, the same float32 bit patterns (±inf and -0 included) and
NaN in the same places. The sign and payload of a NaN are not compared: which of
two NaN operands an addition returns is the compiler's choice (a + b = b + a).
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imgfilter
from imgfilter import _native
from imgfilter.ops import canny as canny_module

compiled_canny = _native.module("_canny")
compiled_pool = _native.module("_pool")
needs_canny = pytest.mark.skipif(
    compiled_canny is None, reason="_canny not built, or IMGFILTER_PURE=1"
)
needs_pool = pytest.mark.skipif(
    compiled_pool is None, reason="_pool not built, or IMGFILTER_PURE=1"
)


def both(function, monkeypatch, *args, **kwargs):
    """(compiled result, numpy result) of ``function(*args, **kwargs)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # [0, 1] images, overflowing casts: both paths alike
        fast = function(*args, **kwargs)
        with monkeypatch.context() as patch:
            patch.setenv(_native.PURE_VARIABLE, "1")
            slow = function(*args, **kwargs)
    return fast, slow


def assert_identical(fast, slow):
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)
    if fast.dtype == np.float32:  # the bit patterns too (-0), NaN where NaN
        nan = np.isnan(slow)
        np.testing.assert_array_equal(np.isnan(fast), nan)
        np.testing.assert_array_equal(fast[~nan].view(np.uint32), slow[~nan].view(np.uint32))


def smooth_noise(seed: int, shape, scale: float = 255.0) -> np.ndarray:
    """Random values blurred a little (so edges have some extent), float32."""
    rng = np.random.default_rng(seed)
    values = rng.random(shape) * scale
    for axis in (0, 1):
        values = (np.roll(values, 1, axis) + 2 * values + np.roll(values, -1, axis)) / 4
    return values.astype(np.float32)


def with_specials(image: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = image.copy()
    flat = image.reshape(-1)
    spots = rng.choice(flat.size, size=min(flat.size, 6), replace=False)
    flat[spots] = [np.nan, np.inf, -np.inf, -0.0, np.nan, 1e30][: spots.size]
    return image


# --- Canny --------------------------------------------------------------------------------

THRESHOLDS = [
    {},
    {"low": 5.0, "high": 10.0},
    {"low": 40.0},
    {"high": 120.0},
    {"quantiles": (0.7, 0.9)},
    {"low": 0.1, "high": 0.1},
]


@needs_canny
@pytest.mark.parametrize("sigma", [0, 0.7, 1.5, 3.0])
@pytest.mark.parametrize("thresholds", THRESHOLDS, ids=str)
def test_canny_gray_equals_numpy(sigma, thresholds, monkeypatch):
    image = smooth_noise(int(sigma * 10), (70, 83))
    fast, slow = both(imgfilter.canny, monkeypatch, image, sigma, **thresholds)
    assert_identical(fast, slow)


@needs_canny
@pytest.mark.parametrize("thresholds", THRESHOLDS[:3], ids=str)
def test_canny_rgb_equals_numpy(thresholds, monkeypatch):
    image = smooth_noise(4, (41, 57, 3))
    fast, slow = both(imgfilter.canny, monkeypatch, image, 1.0, **thresholds)
    assert_identical(fast, slow)


@needs_canny
@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 2), (2, 1), (1, 37), (37, 1), (2, 2), (2, 9), (9, 2), (3, 3), (5, 4)]
)
@pytest.mark.parametrize("sigma", [0, 1.0])
@pytest.mark.parametrize("thresholds", THRESHOLDS[:2], ids=str)
def test_canny_tiny_and_one_pixel_wide(shape, sigma, thresholds, monkeypatch):
    image = smooth_noise(sum(shape), shape)
    fast, slow = both(imgfilter.canny, monkeypatch, image, sigma, **thresholds)
    assert_identical(fast, slow)


@needs_canny
@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[::2, ::3],
        lambda a: a[::-1],
        lambda a: a[:, ::-1],
        lambda a: a[::-2, ::-1],
        lambda a: a.T,
        lambda a: np.asfortranarray(a),
    ],
    ids=["step", "flip-rows", "flip-columns", "both", "transposed", "fortran"],
)
@pytest.mark.parametrize("sigma", [0, 1.2])
def test_canny_strided_views(view, sigma, monkeypatch):
    image = view(smooth_noise(9, (64, 58)))
    fast, slow = both(imgfilter.canny, monkeypatch, image, sigma, low=20.0, high=40.0)
    assert_identical(fast, slow)
    fast, slow = both(imgfilter.canny, monkeypatch, image, sigma)
    assert_identical(fast, slow)


@needs_canny
@pytest.mark.parametrize("sigma", [0, 1.0])
@pytest.mark.parametrize("thresholds", THRESHOLDS[:2] + THRESHOLDS[4:5], ids=str)
def test_canny_nan_and_inf_pixels(sigma, thresholds, monkeypatch):
    image = with_specials(smooth_noise(11, (40, 45)), 3)
    fast, slow = both(imgfilter.canny, monkeypatch, image, sigma, **thresholds)
    assert_identical(fast, slow)


@needs_canny
@pytest.mark.parametrize("value", [0.0, 100.0, -5.0, np.inf])
@pytest.mark.parametrize("thresholds", THRESHOLDS[:2], ids=str)
def test_canny_constant_images(value, thresholds, monkeypatch):
    image = np.full((20, 31), value, dtype=np.float32)
    fast, slow = both(imgfilter.canny, monkeypatch, image, 0, **thresholds)
    assert_identical(fast, slow)


@needs_canny
def test_canny_several_bands_on_several_threads(monkeypatch):
    # 700 x 520 floats: above the one-thread limit, six bands of 128 rows.
    image = smooth_noise(5, (700, 520))
    for thresholds in THRESHOLDS[:2]:
        fast, slow = both(imgfilter.canny, monkeypatch, image, 1.0, **thresholds)
        assert_identical(fast, slow)


@needs_canny
def test_canny_automatic_thresholds_on_a_sampled_large_image(monkeypatch):
    # Above SAMPLE_ABOVE pixels the median is taken over every second row and column.
    image = smooth_noise(6, (2050, 2050))
    fast, slow = both(imgfilter.canny, monkeypatch, image, 0)
    assert_identical(fast, slow)


def spiral(size: int, gap: int = 4) -> np.ndarray:
    """A square spiral: one 1-pixel line walked inwards, its turns ``gap`` apart."""
    picture = np.zeros((size, size), dtype=bool)
    y = x = 1
    picture[y, x] = True
    n = size - 3
    lengths = [n, n] + [n - gap * (i // 2) for i in range(2, 2 * size)]
    for turn, length in enumerate(lengths):
        if length <= 0:
            break
        dy, dx = [(0, 1), (1, 0), (0, -1), (-1, 0)][turn % 4]
        for _ in range(length):
            y, x = y + dy, x + dx
            picture[y, x] = True
    return picture


@needs_canny
def test_hysteresis_follows_a_long_spiral_from_one_strong_pixel(monkeypatch):
    image = spiral(121).astype(np.float32) * 100
    image[1, 1:4] = 300  # the one strong stretch, at the spiral's outer end
    fast, slow = both(imgfilter.canny, monkeypatch, image, 0, low=100.0, high=1000.0)
    assert_identical(fast, slow)
    everything, _ = both(imgfilter.canny, monkeypatch, image, 0, low=100.0, high=100.0)
    # From that one seed the fill reaches every candidate, thousands of pixels away.
    assert fast.sum() > 5000
    np.testing.assert_array_equal(fast, everything)


@needs_canny
@pytest.mark.parametrize("density", [0.3, 0.45, 0.6])
@pytest.mark.parametrize("seed", range(3))
def test_flood_fill_equals_labelling(density, seed):
    rng = np.random.default_rng(seed)
    candidates = rng.random((150, 170)) < density  # near percolation: long, winding clusters
    strong = candidates & (rng.random(candidates.shape) < 0.002)
    classes = np.zeros((152, 172), dtype=np.uint8)
    classes[1:-1, 1:-1] = candidates.astype(np.uint8) + strong
    expected = canny_module._hysteresis(candidates, strong)
    np.testing.assert_array_equal(compiled_canny.hysteresis(classes.copy()), expected)
    for band_rows in (1, 2, 7, 64):  # floods in bands, then joined across their boundaries
        found = canny_module._compiled_hysteresis(compiled_canny, classes.copy(), band_rows)
        np.testing.assert_array_equal(found, expected)


@needs_canny
@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (7, 1), (33, 40), (41, 40)])
@pytest.mark.parametrize("specials", ["none", "one", "infinite"])
def test_median_by_selection_equals_numpys(shape, specials):
    values = np.abs(smooth_noise(len(shape) + shape[0], shape, 50))
    values[0, 0] = 0.0
    if specials == "one":
        values.reshape(-1)[-1] = np.inf if shape[1] % 2 else np.nan
    elif specials == "infinite":
        values[:, ::2] = np.inf
    for sample in (values, values[::2, ::2], values[::-1, 1::3]):
        if sample.size:
            expected = np.median(sample)
            found = canny_module._median(sample, compiled_canny)
            assert np.asarray(found).tobytes() == np.asarray(expected).tobytes()


@needs_canny
@pytest.mark.parametrize("thresholds", [{}, {"low": 10.0}, {"quantiles": (0.5, 0.8)}], ids=str)
def test_thresholds_equal_numpys(thresholds, monkeypatch):
    image = smooth_noise(8, (50, 60))
    fast, slow = both(imgfilter.ops.canny.thresholds, monkeypatch, image, 1.0, **thresholds)
    assert fast == slow


finite = st.floats(-1e4, 1e4, width=32)
pixel = st.one_of(finite, finite, finite, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))


@needs_canny
@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 14),
    width=st.integers(1, 14),
    data=st.data(),
    sigma=st.sampled_from([0, 0.6, 1.0]),
    low=st.one_of(st.none(), st.floats(0, 500)),
)
def test_canny_property(height, width, data, sigma, low):
    values = data.draw(st.lists(pixel, min_size=height * width, max_size=height * width))
    image = np.array(values, dtype=np.float32).reshape(height, width)
    with pytest.MonkeyPatch.context() as patch:
        fast, slow = both(imgfilter.canny, patch, image, sigma, low)
    assert_identical(fast, slow)


# --- pooling ------------------------------------------------------------------------------

POOL_MODES = ["max", "avg", "min"]


def pool_image(seed: int, shape, specials: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = (rng.standard_normal(shape) * 80).astype(np.float32)
    return with_specials(image, seed) if specials else image


@needs_pool
@pytest.mark.parametrize("mode", POOL_MODES)
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, (2, 3), (5, 1)])
@pytest.mark.parametrize("channels", [None, 1, 2, 3])
def test_pool_windows_equal_numpy(mode, size, channels, monkeypatch):
    shape = (23, 19) if channels is None else (23, 19, channels)
    image = pool_image(sum(shape), shape)
    for stride in (None, 1, 2, (3, 1)):
        fast, slow = both(imgfilter.pool, monkeypatch, image, size, stride, mode)
        assert_identical(fast, slow)


@needs_pool
@pytest.mark.parametrize("mode", POOL_MODES)
@pytest.mark.parametrize("border", ["constant", "reflect", "symmetric", "edge", "wrap"])
@pytest.mark.parametrize("padding", ["same", 1, (2, 1), (0, 3, 4, 1)], ids=str)
def test_pool_padding_equals_numpy(mode, border, padding, monkeypatch):
    image = pool_image(7, (9, 11, 3))
    for size, stride in ((3, 2), (2, 1), (5, 3)):
        fast, slow = both(
            imgfilter.pool, monkeypatch, image, size, stride, mode,
            padding=padding, border=border, cval=-3.25,
        )  # fmt: skip
        assert_identical(fast, slow)


@needs_pool
@pytest.mark.parametrize("mode", POOL_MODES)
def test_pool_nan_and_signed_zero(mode, monkeypatch):
    image = np.zeros((6, 8), dtype=np.float32)
    image[::2, 1::2] = -0.0
    image[1, 1] = image[4, 6] = np.nan
    image[3, 3] = np.inf
    image[0, 7] = -np.inf
    for size, stride in ((2, None), (3, 1), (1, 1)):
        fast, slow = both(imgfilter.pool, monkeypatch, image, size, stride, mode)
        assert_identical(fast, slow)
    fast, slow = both(
        imgfilter.pool, monkeypatch, image, 2, 1, mode, padding=1, border="constant", cval=-0.0
    )
    assert_identical(fast, slow)


@needs_pool
@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[::-1],
        lambda a: a[:, ::-2],
        lambda a: a[1::2, ::3],
        lambda a: a.transpose(1, 0, 2),
        lambda a: a[..., ::2],
        lambda a: a[..., 1],
        lambda a: a[::-1, :, 0],
    ],
    ids=[
        "flip-rows",
        "flip-columns",
        "steps",
        "transposed",
        "channel-step",
        "one-channel",
        "gray-flip",
    ],
)
@pytest.mark.parametrize("mode", POOL_MODES)
def test_pool_strided_views(view, mode, monkeypatch):
    image = view(pool_image(3, (30, 28, 4)))
    for size, stride, padding in ((2, None, "valid"), (3, 2, "same")):
        fast, slow = both(imgfilter.pool, monkeypatch, image, size, stride, mode, padding=padding)
        assert_identical(fast, slow)


@needs_pool
@pytest.mark.parametrize("mode", POOL_MODES)
def test_pool_several_bands_and_channels(mode, monkeypatch):
    image = pool_image(2, (700, 300, 5), specials=False)  # 4 MB: bands on every core
    for size, stride in ((2, None), (3, 2), (4, 1)):
        fast, slow = both(imgfilter.pool, monkeypatch, image, size, stride, mode)
        assert_identical(fast, slow)


@needs_pool
def test_pool_refusals_are_the_same(monkeypatch):
    image = pool_image(1, (4, 4))
    for kwargs in ({"size": 5}, {"size": 3, "padding": 10**6, "border": "edge"}):
        messages = []
        for pure in ("", "1"):
            monkeypatch.setenv(_native.PURE_VARIABLE, pure)
            with pytest.raises(ValueError) as caught:
                imgfilter.pool(image, **kwargs)
            messages.append(str(caught.value))
        assert messages[0] == messages[1]


@needs_pool
@settings(max_examples=80, deadline=None)
@given(
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    channels=st.sampled_from([0, 1, 2, 3]),
    size=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    mode=st.sampled_from(POOL_MODES),
    padding=st.sampled_from(["valid", "same", 1, 2]),
    border=st.sampled_from(["constant", "reflect", "symmetric", "edge", "wrap"]),
    data=st.data(),
)
def test_pool_property(height, width, channels, size, stride, mode, padding, border, data):
    shape = (height, width) if channels == 0 else (height, width, channels)
    count = int(np.prod(shape))
    values = data.draw(st.lists(pixel, min_size=count, max_size=count))
    image = np.array(values, dtype=np.float32).reshape(shape)
    with pytest.MonkeyPatch.context() as patch:
        try:
            fast, slow = both(
                imgfilter.pool, patch, image, size, stride, mode, padding=padding, border=border
            )
        except ValueError:  # a window larger than the padded image: both paths refuse
            patch.setenv(_native.PURE_VARIABLE, "1")
            with pytest.raises(ValueError):
                imgfilter.pool(image, size, stride, mode, padding=padding, border=border)
            return
    assert_identical(fast, slow)
