"""The compiled tap loop (``_native/_taps.pyx``) equals the numpy engine bit for bit.

Every case runs twice on the same inputs: once with the compiled kernels and once
with ``IMGFILTER_PURE=1`` (the numpy engine, the reference), and the two float32
results must have the same bits (NaN where the other has NaN, -0 where it has -0).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgfilter import _compute, _native, engine, gaussian
from imgfilter.choices import BORDERS

compiled = _native.module("_taps")
needs_compiled = pytest.mark.skipif(compiled is None, reason="compiled kernels not built")
# The numpy engine warns of overflow on the extreme inputs; the compiled loop does not.
pytestmark = [needs_compiled, pytest.mark.filterwarnings("ignore::RuntimeWarning")]


def same_bits(fast: np.ndarray, slow: np.ndarray) -> None:
    """Equal shapes, dtypes, NaN positions, and the bits of every other value."""
    assert fast.dtype == slow.dtype == np.float32 and fast.shape == slow.shape
    nan = np.isnan(slow)
    np.testing.assert_array_equal(np.isnan(fast), nan)
    np.testing.assert_array_equal(fast[~nan].view(np.uint32), slow[~nan].view(np.uint32))


def both(run, monkeypatch):
    """``run()`` with the compiled kernels, then with the numpy engine."""
    monkeypatch.delenv(_native.PURE_VARIABLE, raising=False)
    fast = run()
    monkeypatch.setenv(_native.PURE_VARIABLE, "1")
    slow = run()
    monkeypatch.delenv(_native.PURE_VARIABLE)
    return fast, slow


def pixels(seed: int, shape, specials: bool = False) -> np.ndarray:
    """Random 0-255 float32 pixels; with ``specials``, NaN, ±inf, -0 and huge values."""
    rng = np.random.default_rng(seed)
    image = (rng.random(shape) * 255).astype(np.float32)
    if specials:
        flat = image.reshape(-1)
        where = rng.choice(flat.size, size=min(flat.size, 6), replace=False)
        flat[where] = np.array([np.nan, np.inf, -np.inf, -0.0, 3e38, -3e38])[: where.size]
    return image


def kernel(name: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shapes = {"1x1": (1, 1), "1x5": (1, 5), "5x1": (5, 1), "3x3": (3, 3), "5x7": (5, 7)}
    if name in shapes:
        return rng.standard_normal(shapes[name])
    if name == "15x15":
        return rng.random((15, 15)) - 0.3
    if name == "sparse":  # zeros are skipped, not multiplied
        weights = rng.standard_normal((5, 5))
        weights[rng.random((5, 5)) < 0.6] = 0
        weights[2, 2] = 1.5
        return weights
    if name == "symmetric":  # shared weights: one multiply per group
        g = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
        return np.outer(g, g)
    if name == "negative":  # every weight negative: the first product may be -0
        return -rng.random((3, 4)) - 0.1
    if name == "units":  # ±1 single taps, added and subtracted directly
        return np.array([[1.0, 0, -1.0], [2.0, 0, -2.0], [1.0, 0.5, -1.0]])
    if name == "sobel":
        return np.array([[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]])
    if name == "box":
        return np.full((4, 6), 1 / 24)
    if name == "many":  # groups of more than four taps, and runs of one-tap groups
        weights = np.round(rng.standard_normal((7, 9)) * 2) / 2
        weights[0] = np.arange(9) + 0.25
        return weights
    raise KeyError(name)


KERNELS = ["1x1", "1x5", "5x1", "3x3", "5x7", "15x15", "sparse", "symmetric", "negative"]
KERNELS += ["units", "sobel", "box", "many"]


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("channels", [None, 1, 2, 3])
def test_kernels_on_gray_and_colour_images(name, channels, monkeypatch):
    shape = (37, 41) if channels is None else (37, 41, channels)
    image, weights = pixels(len(name), shape), kernel(name)
    fast, slow = both(lambda: engine.convolve(image, weights, strategy="direct"), monkeypatch)
    same_bits(fast, slow)


@pytest.mark.parametrize("name", ["3x3", "symmetric", "many"])
@pytest.mark.parametrize("shape", [(4, 2731, 3), (3, 8192), (3, 8195), (2, 16390)])
def test_rows_longer_than_one_chunk_of_the_loop(name, shape, monkeypatch):
    """Rows of more values than the loop's chunk (IMF_CHUNK, 8192 floats): whole
    chunks, a remainder, and exactly one or two chunks."""
    image, weights = pixels(sum(shape), shape), kernel(name)
    same_bits(*both(lambda: engine.convolve(image, weights, strategy="direct"), monkeypatch))
    if name == "symmetric":  # rank 1: the two 1-D passes too
        run = lambda: engine.convolve(image, weights, strategy="separable")  # noqa: E731
        same_bits(*both(run, monkeypatch))


@pytest.mark.parametrize("stride", [1, 2, 3, (1, 3), (3, 2)])
@pytest.mark.parametrize("dilation", [1, 2, 3, (3, 1)])
@pytest.mark.parametrize("name", ["3x3", "5x7", "symmetric", "units"])
def test_strides_and_dilations(stride, dilation, name, monkeypatch):
    image, weights = pixels(7, (45, 52, 3)), kernel(name)

    def run():
        return engine.convolve(image, weights, stride=stride, dilation=dilation, strategy="direct")

    same_bits(*both(run, monkeypatch))


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("padding", ["same", "valid", 0, 2, (1, 3), (0, 2, 4, 1)])
def test_every_border_and_padding(border, padding, monkeypatch):
    image, weights = pixels(3, (23, 29, 3)), kernel("5x7", 4)

    def run():
        return engine.convolve(image, weights, padding=padding, border=border, cval=17.5)

    same_bits(*both(run, monkeypatch))


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("stride", [1, 2, (1, 3)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_the_separable_strategy(border, stride, dilation, monkeypatch):
    image = pixels(5, (40, 47, 3))
    col, row = np.array([1.0, 2, 3, 2, 1]) / 9, np.array([-1.0, 0, 1, 0.5])

    def run():
        return engine.correlate_separable(
            image, col, row, border=border, cval=3.0, stride=stride, dilation=dilation
        )

    same_bits(*both(run, monkeypatch))


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 4.5])
@pytest.mark.parametrize("shape", [(64, 80), (33, 50, 3), (1, 40), (40, 1, 3)])
def test_gaussian(sigma, shape, monkeypatch):
    image = pixels(int(sigma * 10), shape)
    same_bits(*both(lambda: gaussian(image, sigma=sigma), monkeypatch))


@pytest.mark.parametrize("shape", [(1, 60), (60, 1), (1, 60, 3), (60, 1, 3), (1, 1), (2, 2, 2)])
@pytest.mark.parametrize("name", ["1x5", "5x1", "3x3", "15x15"])
@pytest.mark.parametrize("border", ["reflect", "constant", "wrap"])
def test_thin_images(shape, name, border, monkeypatch):
    image, weights = pixels(11, shape), kernel(name)
    if border == "reflect" and min(shape[:2]) < max(weights.shape):
        border = "symmetric"  # reflect needs an image wider than the padding
    same_bits(*both(lambda: engine.convolve(image, weights, border=border), monkeypatch))


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[::-1],
        lambda a: a[:, ::-1],
        lambda a: a[::-2, 1::3],
        lambda a: a[5:-3, 2:-7],
        lambda a: a.transpose(1, 0, 2),
        lambda a: a[..., ::-1],
        lambda a: np.asfortranarray(a),
    ],
)
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_views_of_an_image(view, padding, monkeypatch):
    image = view(pixels(2, (50, 61, 3)))
    for weights in (kernel("3x3"), kernel("symmetric")):
        same_bits(*both(lambda w=weights: engine.convolve(image, w, padding=padding), monkeypatch))


@pytest.mark.parametrize("name", ["3x3", "symmetric", "units", "negative", "many"])
@pytest.mark.parametrize("border", ["reflect", "constant", "edge"])
def test_nan_inf_and_extremes(name, border, monkeypatch):
    image = pixels(9, (30, 34, 3), specials=True)
    same_bits(*both(lambda: engine.convolve(image, kernel(name), border=border), monkeypatch))
    same_bits(*both(lambda: gaussian(image, sigma=1.5, border=border), monkeypatch))


def test_a_banded_image_on_several_threads(monkeypatch):
    image = pixels(13, (300, 401, 3))  # above PARALLEL_MIN_BYTES: bands on the pool
    assert image.nbytes > _compute.PARALLEL_MIN_BYTES
    monkeypatch.setattr(_compute, "TILE_BYTES", 1 << 14)
    same_bits(*both(lambda: engine.convolve(image, kernel("5x7")), monkeypatch))
    same_bits(*both(lambda: gaussian(image, sigma=2), monkeypatch))


def test_a_bank_and_a_3d_kernel(monkeypatch):
    image = pixels(4, (20, 25, 3))
    bank = [kernel("3x3", 1), kernel("3x3", 2)]
    same_bits(*both(lambda: engine.convolve(image[..., 0], bank), monkeypatch))
    depth = np.random.default_rng(5).standard_normal((3, 3, 3))
    same_bits(*both(lambda: engine.convolve(image, depth), monkeypatch))


# --- the loop itself ----------------------------------------------------------------------


def taps_of(weights: np.ndarray) -> _compute.Taps:
    return [(i, j, float(weights[i, j])) for i, j in zip(*np.nonzero(weights), strict=True)]


def test_the_loop_takes_views_with_row_strides(monkeypatch):
    """A column slice of a wider accumulator, a view of a taller source (the engine's
    usual arguments) run compiled, not through the fallback."""
    source = pixels(1, (40, 70, 3))[3:, 5:]
    groups = _compute._group_by_weight(taps_of(kernel("3x3")))
    wide = np.full((20, 90, 3), 7, np.float32)
    assert compiled.accumulate(wide[:, 10:70], source, groups, 1, 2, 1) is True
    reference = wide.copy()
    monkeypatch.setenv(_native.PURE_VARIABLE, "1")
    _compute._accumulate_phase(reference[:, 10:70], source, taps_of(kernel("3x3")), 1, 2, 1)
    same_bits(wide, reference)  # the columns beside the slice are untouched


def test_the_loop_declines_what_it_cannot_run():
    groups = [(1.0, [(0, 0), (1, 1)])]
    source = pixels(1, (10, 10))
    assert compiled.accumulate(np.empty((9, 9)), source, groups, 1, 1, 1) is False  # float64
    assert compiled.accumulate(np.empty((9, 9), np.float32)[:, ::2], source, groups, 1, 1, 1) is (
        False
    )
    assert compiled.accumulate(np.empty((10, 9), np.float32), source, groups, 1, 1, 1) is False
    assert compiled.accumulate(np.empty((9, 10), np.float32), source, groups, 1, 1, 1) is False
    assert compiled.accumulate(source[:9, :9], source, groups, 1, 1, 1) is False  # overlap
    assert compiled.accumulate(np.empty((0, 9), np.float32), source, groups, 1, 1, 1) is True


@pytest.mark.parametrize("channels", [None, 3])
@pytest.mark.parametrize("every_column_taps", [-1, 10**6])  # phases, or every column first
def test_column_phases_of_a_stride(channels, every_column_taps, monkeypatch):
    monkeypatch.setattr(_compute, "EVERY_COLUMN_TAPS", every_column_taps)
    shape = (30, 50) if channels is None else (30, 50, channels)
    source, taps = pixels(8, shape), taps_of(kernel("many", 3))

    def run():
        acc = np.empty((6, 14) + shape[2:], np.float32)
        _compute.accumulate(acc, source, taps, (3, 3), (2, 1))
        return acc

    same_bits(*both(run, monkeypatch))


weights_strategy = st.lists(
    st.sampled_from([0.0, 0.0, 1.0, -1.0, 0.5, 0.25, -2.0, 1 / 3, 0.1, 3.75, -0.7]),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    kh=st.integers(1, 6),
    kw=st.integers(1, 7),
    values=weights_strategy,
    height=st.integers(1, 24),
    width=st.integers(1, 30),
    channels=st.sampled_from([None, 1, 2, 3, 4]),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    border=st.sampled_from(BORDERS),
    seed=st.integers(0, 2**16),
)
def test_any_kernel_any_image(
    kh, kw, values, height, width, channels, stride, dilation, border, seed
):
    weights = np.resize(np.array(values), (kh, kw))
    shape = (height, width) if channels is None else (height, width, channels)
    image = pixels(seed, shape, specials=seed % 5 == 0)
    if border == "reflect" and min(height, width) < 2 * max(kh * dilation[0], kw * dilation[1]):
        border = "symmetric"

    def run():
        arguments = dict(stride=stride, dilation=dilation, border=border, cval=-4.5)
        return engine.convolve(image, weights, strategy="direct", **arguments)

    with pytest.MonkeyPatch.context() as monkeypatch:
        same_bits(*both(run, monkeypatch))
