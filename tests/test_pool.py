"""Pooling: the seeds' example, skimage's block_reduce, and a numpy reference loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.measure import block_reduce

from imgfilter.engine import output_shape
from imgfilter.ops.pool import pool

SEEDS = np.array([[3, 2, 0, 0], [0, 7, 1, 3], [5, 2, 3, 0], [0, 9, 2, 3]])
REDUCERS = {"max": np.max, "avg": np.mean, "min": np.min}


def reference_pool(image, size, stride, mode, pads=(0, 0, 0, 0), border="edge"):
    """Plain loop over output positions on an np.pad-ed image."""
    widths = [pads[:2], pads[2:]] + [(0, 0)] * (image.ndim - 2)
    padded = np.pad(image.astype(np.float64), widths, mode=border)
    (kh, kw), (sy, sx) = size, stride
    rows = (padded.shape[0] - kh) // sy + 1
    cols = (padded.shape[1] - kw) // sx + 1
    out = np.zeros((rows, cols) + image.shape[2:])
    for i in range(rows):
        for j in range(cols):
            window = padded[i * sy : i * sy + kh, j * sx : j * sx + kw]
            out[i, j] = REDUCERS[mode](window, axis=(0, 1))
    return out


def test_seeds_example_max_and_average():
    np.testing.assert_array_equal(pool(SEEDS, 2, 2, "max"), [[7, 3], [9, 3]])
    np.testing.assert_array_equal(pool(SEEDS, 2, 2, "avg"), [[3, 1], [4, 2]])
    np.testing.assert_array_equal(pool(SEEDS, 2, 2, "min"), [[0, 0], [0, 0]])


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
@pytest.mark.parametrize("block", [(2, 2), (3, 3), (2, 4), (1, 5)])
def test_non_overlapping_pooling_equals_skimage_block_reduce(mode, block):
    image = np.random.default_rng(0).random((12, 60, 3)) * 255
    expected = block_reduce(image, block + (1,), REDUCERS[mode])
    np.testing.assert_allclose(pool(image, block, mode=mode), expected, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
def test_ragged_edge_equals_block_reduce_with_zero_padding(mode):
    image = np.random.default_rng(1).random((13, 10)) * 255
    expected = block_reduce(image, (3, 4), REDUCERS[mode], cval=0)
    result = pool(image, (3, 4), mode=mode, padding=(0, 2, 0, 2), border="constant")
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
@pytest.mark.parametrize("shape", [(11, 14), (9, 12, 3)])
def test_overlapping_3x3_stride_2_equals_a_numpy_loop(mode, shape):
    image = np.random.default_rng(2).random(shape) * 255
    expected = reference_pool(image, (3, 3), (2, 2), mode)
    np.testing.assert_allclose(pool(image, 3, 2, mode), expected, rtol=1e-6, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sy=st.integers(1, 3),
    sx=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same", 1, (0, 2), (1, 0, 2, 1)]),
    border=st.sampled_from(["constant", "reflect", "symmetric", "edge", "wrap"]),
    mode=st.sampled_from(["max", "avg", "min"]),
)
def test_any_window_stride_and_padding_equal_the_loop(
    height, width, kh, kw, sy, sx, padding, border, mode
):
    from imgfilter.engine import resolve_padding

    image = np.random.default_rng(height * 13 + width).random((height, width)) * 255
    pads = resolve_padding(padding, (kh, kw))
    if height + pads[0] + pads[1] < kh or width + pads[2] + pads[3] < kw:
        with pytest.raises(ValueError, match="larger than the padded image"):
            pool(image, (kh, kw), (sy, sx), mode, padding=padding, border=border)
        return
    if border == "reflect" and min(height, width) == 1 and any(pads):
        return  # numpy cannot reflect a single row or column
    result = pool(image, (kh, kw), (sy, sx), mode, padding=padding, border=border)
    expected = reference_pool(image, (kh, kw), (sy, sx), mode, pads, border)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-4)
    assert result.shape == output_shape(image.shape, (kh, kw), padding=padding, stride=(sy, sx))


def test_same_padding_gives_ceil_of_size_over_stride():
    assert pool(np.ones((5, 7)), 2, padding="same").shape == (3, 4)
    assert pool(np.ones((6, 6)), 3, 2, padding="same").shape == (3, 3)


def test_edge_border_makes_max_ignore_the_padding():
    image = np.random.default_rng(3).random((5, 5)) - 10  # all negative: zero padding would win
    result = pool(image, 2, padding="same")
    expected = [[image[i : i + 2, j : j + 2].max() for j in range(0, 5, 2)] for i in range(0, 5, 2)]
    np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_global_pooling_gives_one_value_per_channel():
    image = np.random.default_rng(4).random((6, 7, 3)) * 255
    np.testing.assert_allclose(pool(image, "global", mode="max"), image.max(axis=(0, 1)), 1e-6)
    np.testing.assert_allclose(pool(image, "global", mode="avg"), image.mean(axis=(0, 1)), 1e-6)
    np.testing.assert_allclose(
        pool(image[..., 0], "global", mode="min"), [image[..., 0].min()], 1e-6
    )


def test_output_is_float32():
    assert pool(SEEDS, 2).dtype == np.float32


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((5,), {}, ValueError, r"pool window 5×5 is larger than the padded image 4×4"),
        ((0,), {}, ValueError, "size must be >= 1, got 0"),
        ((2, 0), {}, ValueError, "stride must be >= 1, got 0"),
        ((2, (1, -1)), {}, ValueError, r"stride\[1\] must be >= 1"),
        ((2, None, "median"), {}, ValueError, "mode must be one of max, avg, min"),
        ((2,), {"padding": -1}, ValueError, "padding must be >= 0, got -1"),
        ((2,), {"padding": "full"}, ValueError, "padding must be .valid., .same., an integer"),
        ((2,), {"border": "mirror"}, ValueError, "border must be one of"),
        (("all",), {}, ValueError, "size must be one of global"),
        (("global", 2), {}, ValueError, "global pooling takes no stride or padding"),
        ((2.5,), {}, ValueError, "size must be an integer"),
    ],
)
def test_bad_arguments_are_refused(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        pool(SEEDS, *args, **kwargs)


@pytest.mark.parametrize("image", [np.zeros(4), np.zeros((0, 4)), np.zeros((2, 2, 2, 2))])
def test_bad_images_are_refused(image):
    with pytest.raises(ValueError, match="image must be"):
        pool(image)
