"""8-bit images go into the convolution engine as they are, with the same result.

The engine's filters (``reads_bytes``: convolve, correlate_separable, gaussian, box,
sharpen, laplacian) take a uint8 image without converting it whole: the compiled tap
loop reads the bytes, the numpy loop converts the rows it reads. Either way the result
must have the bits of the same call on the image converted to float32 first, for
every strategy, border (a fractional ``cval`` included), padding, stride and dilation,
and through the strip runner. CI runs this file on both engines.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imgfilter as imf
from imgfilter import _native, engine, tiles
from imgfilter.choices import BORDERS
from imgfilter.pipeline import Pipeline


def same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def image(seed: int, shape) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


@pytest.mark.parametrize("strategy", ["direct", "separable", "fft"])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("channels", [1, 3])
def test_convolve_reads_bytes_as_their_values(strategy, border, channels):
    pixels = image(1, (23, 17, channels) if channels > 1 else (23, 17))
    weights = np.outer([1.0, -2.5, 0.75], [0.5, 1.0, 0.25, -1.0])  # rank 1: separable too
    call = dict(kernel=weights, border=border, cval=7.5, strategy=strategy)
    same_bits(imf.convolve(pixels, **call), imf.convolve(pixels.astype(np.float32), **call))


@given(
    seed=st.integers(0, 2**16),
    shape=st.tuples(st.integers(1, 20), st.integers(1, 20), st.sampled_from([1, 3])),
    kernel_shape=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    padding=st.sampled_from(["same", "valid", 0, 2, (3, 0, 1, 4)]),
    border=st.sampled_from(BORDERS),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
)
@settings(max_examples=150, deadline=None)
def test_any_convolution_of_bytes(seed, shape, kernel_shape, padding, border, stride, dilation):
    pixels = image(seed, shape)
    weights = np.random.default_rng(seed).choice([-2.0, -1.0, 0.0, 0.3, 1.0, 2.0], kernel_shape)
    call = dict(
        kernel=weights, padding=padding, border=border, cval=0.5, stride=stride, dilation=dilation
    )
    try:
        expected = imf.convolve(pixels.astype(np.float32), **call)
    except ValueError as error:  # the kernel does not fit: the same error either way
        with pytest.raises(ValueError, match=re.escape(str(error))):
            imf.convolve(pixels, **call)
        return
    same_bits(imf.convolve(pixels, **call), expected)


@pytest.mark.parametrize(
    "run",
    [
        lambda x: imf.gaussian(x, sigma=2),
        lambda x: imf.gaussian(x, sigma=1.3, border="constant", cval=200.25),
        lambda x: imf.box(x, size=(3, 5), border="edge"),
        lambda x: imf.sharpen(x, border="symmetric"),
        lambda x: imf.laplacian(x),
        lambda x: engine.correlate_separable(x, [1, 2, 1], [-1, 0, 1], stride=2, dilation=2),
    ],
)
def test_the_engine_filters(run):
    pixels = image(2, (31, 29, 3))
    same_bits(run(pixels), run(pixels.astype(np.float32)))


@pytest.mark.parametrize(
    "chain",
    [
        "gaussian sigma=2",
        "convolve kernel=sobel-x stride=2",
        "box size=3 | sharpen",
        "sharpen | relu | gaussian sigma=1",
        "convolve kernel=emboss padding=valid dilation=2",
    ],
)
@pytest.mark.parametrize("strip_rows", [1, 4, 64])
def test_strips_of_bytes_equal_strips_of_floats(chain, strip_rows):
    steps = Pipeline.parse(chain).steps
    pixels = image(3, (37, 21, 3))
    fast, _ = tiles.run_steps(steps, pixels, None, strip_rows=strip_rows)
    slow, _ = tiles.run_steps(steps, pixels.astype(np.float32), None, strip_rows=strip_rows)
    same_bits(fast, slow)


def test_only_the_engine_filters_read_bytes():
    """An operation whose arithmetic would differ on uint8 (8-bit sums wrap) converts first."""
    assert imf.gaussian.reads_bytes and imf.convolve.reads_bytes
    assert not imf.unsharp.reads_bytes and not imf.denoise.reads_bytes
    pixels = np.full((4, 4), 200, np.uint8)
    assert float(imf.unsharp(pixels, sigma=1, amount=1)[0, 0]) == 200.0


@pytest.mark.skipif(_native.module("_taps") is None, reason="compiled kernels not built")
def test_the_compiled_loop_reads_bytes():
    taps = _native.module("_taps")
    acc = np.empty((1, 3), np.float32)
    source = np.array([[250, 251, 252, 253, 254]], np.uint8)
    assert taps.accumulate(acc, source, [(2.0, [(0, 0), (0, 2)])], 1, 1, 1)
    assert acc.tolist() == [[1004.0, 1008.0, 1012.0]]  # 250+252 in more than 8 bits
    assert not taps.accumulate(acc, source.astype(np.int16), [(1.0, [(0, 0)])], 1, 1, 1)
