"""The convolution engine against a plain numpy loop, scipy.ndimage, and its own properties."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from imgfilter import engine
from imgfilter.engine import convolve, correlate_separable, output_shape, plan

BORDERS = ["constant", "reflect", "symmetric", "edge", "wrap"]
# numpy.pad's names (imgfilter's) -> scipy.ndimage's names for the same rule.
NDI_MODE = {
    "constant": "constant",
    "reflect": "mirror",
    "symmetric": "reflect",
    "edge": "nearest",
    "wrap": "grid-wrap",
}
TOL = {"rtol": 1e-5, "atol": 2e-3}


def reference_pads(padding, kernel_shape, dilation):
    """(top, bottom, left, right), written out independently of the engine."""
    (kh, kw), (dy, dx) = kernel_shape[:2], dilation
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        ty, tx = dy * (kh - 1), dx * (kw - 1)
        return (ty // 2, ty - ty // 2, tx // 2, tx - tx // 2)
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)


def reference(
    image,
    kernel,
    padding="same",
    border="reflect",
    cval=0.0,
    stride=(1, 1),
    dilation=(1, 1),
    flip=False,
):
    """The definition: a loop over output pixels of an np.pad-ed image, in float64."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if flip:
        kernel = kernel[::-1, ::-1]
    top, bottom, left, right = reference_pads(padding, kernel.shape, dilation)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (image.ndim - 2)
    if border == "constant":
        padded = np.pad(image, widths, mode="constant", constant_values=cval)
    else:
        padded = np.pad(image, widths, mode=border)
    (kh, kw), (sy, sx), (dy, dx) = kernel.shape[:2], stride, dilation
    out_h = (padded.shape[0] - (dy * (kh - 1) + 1)) // sy + 1
    out_w = (padded.shape[1] - (dx * (kw - 1) + 1)) // sx + 1
    sums_channels = kernel.ndim == 3
    out = np.zeros((out_h, out_w) + (() if sums_channels else image.shape[2:]))
    for y in range(out_h):
        for x in range(out_w):
            for i in range(kh):
                for j in range(kw):
                    pixel = padded[y * sy + i * dy, x * sx + j * dx]
                    weight = kernel[i, j]
                    out[y, x] += np.sum(pixel * weight) if sums_channels else pixel * weight
    return out


def random_image(rng, shape):
    return (rng.random(shape) * 255).astype(np.float32)


# --- against the plain loop --------------------------------------------------------------

paddings = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 3),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
)


@settings(max_examples=150, deadline=None)
@given(
    height=st.integers(2, 11),
    width=st.integers(2, 11),
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    channels=st.sampled_from([None, 3]),
    padding=paddings,
    border=st.sampled_from(BORDERS),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    flip=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_engine_matches_plain_loop(
    height, width, kh, kw, channels, padding, border, stride, dilation, flip, seed
):
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels is None else (height, width, channels)
    image = random_image(rng, shape)
    kernel = rng.uniform(-1, 1, (kh, kw))
    options = dict(padding=padding, border=border, cval=7.5, stride=stride, dilation=dilation)
    top, bottom, left, right = reference_pads(padding, (kh, kw), dilation)
    fits = (
        height + top + bottom >= dilation[0] * (kh - 1) + 1
        and width + left + right >= dilation[1] * (kw - 1) + 1
    )
    if not fits:
        with pytest.raises(ValueError, match="larger than the padded image"):
            convolve(image, kernel, flip=flip, **options)
        return
    expected = reference(image, kernel, flip=flip, **options)
    got = convolve(image, kernel, flip=flip, **options)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, **TOL)
    assert (
        output_shape(shape, (kh, kw), padding=padding, stride=stride, dilation=dilation)
        == got.shape
    )


@pytest.mark.parametrize("strategy", ["direct", "fft"])
@pytest.mark.parametrize("border", BORDERS)
def test_every_strategy_matches_plain_loop_on_rgb(strategy, border):
    rng = np.random.default_rng(1)
    image = random_image(rng, (9, 12, 3))
    kernel = rng.uniform(-1, 1, (4, 3))
    expected = reference(image, kernel, border=border, cval=3.0, stride=(2, 1), dilation=(1, 2))
    got = convolve(
        image, kernel, border=border, cval=3.0, stride=(2, 1), dilation=(1, 2), strategy=strategy
    )
    np.testing.assert_allclose(got, expected, **TOL)


def test_three_d_kernel_sums_over_channels():
    rng = np.random.default_rng(2)
    image = random_image(rng, (8, 7, 3))
    kernel = rng.uniform(-1, 1, (3, 3, 3))
    got = convolve(image, kernel, padding="valid")
    assert got.shape == (6, 5)
    np.testing.assert_allclose(got, reference(image, kernel, padding="valid"), **TOL)
    per_channel = sum(convolve(image[..., c], kernel[..., c], padding="valid") for c in range(3))
    np.testing.assert_allclose(got, per_channel, **TOL)


def test_bank_gives_one_feature_map_per_kernel():
    rng = np.random.default_rng(3)
    image = random_image(rng, (10, 10))
    bank = [rng.uniform(-1, 1, (3, 3)) for _ in range(4)]
    got = convolve(image, bank, padding="valid", stride=2)
    assert got.shape == (4, 4, 4)
    for k, kernel in enumerate(bank):
        np.testing.assert_allclose(
            got[..., k], reference(image, kernel, "valid", stride=(2, 2)), **TOL
        )


# --- against scipy.ndimage -------------------------------------------------------------


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", [(3, 3), (5, 5), (4, 4), (2, 5), (1, 7), (15, 15)])
def test_same_padding_matches_scipy_correlate(border, kshape):
    rng = np.random.default_rng(4)
    image = random_image(rng, (40, 33, 3))
    kernel = rng.uniform(-1, 1, kshape)
    # scipy centres an even kernel one pixel later than "same" (odd pixel at the end).
    origin = tuple(-1 if k % 2 == 0 else 0 for k in kshape) + (0,)
    expected = ndi.correlate(
        image.astype(np.float64), kernel[..., None], mode=NDI_MODE[border], cval=5.0, origin=origin
    )
    np.testing.assert_allclose(convolve(image, kernel, border=border, cval=5.0), expected, **TOL)


def test_flip_matches_scipy_convolve():
    rng = np.random.default_rng(5)
    image = random_image(rng, (20, 30))
    kernel = rng.uniform(-1, 1, (5, 3))
    expected = ndi.convolve(image.astype(np.float64), kernel, mode="mirror")
    np.testing.assert_allclose(convolve(image, kernel, flip=True), expected, **TOL)


# --- properties -----------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.sampled_from([1, 3, 5]),
    border=st.sampled_from(BORDERS),
    seed=st.integers(0, 1000),
    channels=st.sampled_from([None, 3]),
)
def test_identity_kernel_returns_the_input(size, border, seed, channels):
    rng = np.random.default_rng(seed)
    image = random_image(rng, (7, 9) if channels is None else (7, 9, channels))
    identity = np.zeros((size, size))
    identity[size // 2, size // 2] = 1
    np.testing.assert_array_equal(convolve(image, identity, border=border), image)


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(-3, 3),
    b=st.floats(-3, 3),
    seed=st.integers(0, 1000),
    strategy=st.sampled_from(["direct", "fft"]),
)
def test_convolution_is_linear(a, b, seed, strategy):
    rng = np.random.default_rng(seed)
    x, y = random_image(rng, (12, 10)), random_image(rng, (12, 10))
    kernel = rng.uniform(-1, 1, (3, 4))
    left = convolve(a * x + b * y, kernel, strategy=strategy)
    right = a * convolve(x, kernel, strategy=strategy) + b * convolve(y, kernel, strategy=strategy)
    np.testing.assert_allclose(left, right, rtol=1e-4, atol=0.05)


@settings(max_examples=40, deadline=None)
@given(
    kh=st.integers(1, 7),
    kw=st.integers(1, 7),
    seed=st.integers(0, 1000),
    border=st.sampled_from(BORDERS),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    channels=st.sampled_from([None, 3]),
)
def test_separable_kernel_equals_its_full_matrix_under_every_strategy(
    kh, kw, seed, border, stride, dilation, channels
):
    rng = np.random.default_rng(seed)
    image = random_image(rng, (16, 15) if channels is None else (16, 15, channels))
    col, row = rng.uniform(-1, 1, kh), rng.uniform(-1, 1, kw)
    full = np.outer(col, row)
    options = dict(border=border, stride=stride, dilation=dilation)
    expected = reference(image, full, "same", border, 0.0, (stride,) * 2, (dilation,) * 2)
    strategies = ["direct", "fft"] + (["separable"] if min(kh, kw) > 1 else [])
    for strategy in strategies:
        np.testing.assert_allclose(
            convolve(image, full, strategy=strategy, **options), expected, **TOL
        )
    np.testing.assert_allclose(correlate_separable(image, col, row, **options), expected, **TOL)


@settings(max_examples=30, deadline=None)
@given(
    stride=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    seed=st.integers(0, 1000),
    kshape=st.sampled_from([(3, 3), (2, 2), (1, 5), (5, 5)]),
)
def test_stride_equals_subsampled_stride_one(stride, seed, kshape):
    rng = np.random.default_rng(seed)
    image = random_image(rng, (17, 14, 3))
    kernel = rng.uniform(-1, 1, kshape)
    full = convolve(image, kernel)
    np.testing.assert_allclose(
        convolve(image, kernel, stride=stride), full[:: stride[0], :: stride[1]], **TOL
    )


@pytest.mark.parametrize("route", ["every column", "phases"])
@pytest.mark.parametrize(("kshape", "stride", "dilation"), [((3, 3), 2, 1), ((2, 5), 3, 2)])
@pytest.mark.parametrize("strategy", ["direct", "separable"])
def test_a_column_stride_by_either_route(route, kshape, stride, dilation, strategy, monkeypatch):
    """Both ways of a column stride (``_compute.EVERY_COLUMN_TAPS`` chooses) equal a plain
    loop; summing every column first gives exactly stride 1's sums."""
    from imgfilter import _compute

    taps = 10**6 if route == "every column" else -1
    monkeypatch.setattr(_compute, "EVERY_COLUMN_TAPS", taps)
    rng = np.random.default_rng(kshape[1] + stride)
    image = random_image(rng, (23, 31, 3))
    if strategy == "separable":
        col, row = rng.uniform(-1, 1, kshape[0]), rng.uniform(-1, 1, kshape[1])
        kernel = np.outer(col, row)
        got = correlate_separable(image, col, row, stride=stride, dilation=dilation)
        ones = correlate_separable(image, col, row, dilation=dilation)
    else:
        kernel = rng.uniform(-1, 1, kshape)
        got = convolve(image, kernel, stride=stride, dilation=dilation, strategy="direct")
        ones = convolve(image, kernel, dilation=dilation, strategy="direct")
    expected = reference(image, kernel, stride=(stride,) * 2, dilation=(dilation,) * 2)
    np.testing.assert_allclose(got, expected, **TOL)
    if route == "every column":
        np.testing.assert_array_equal(got, ones[::stride, ::stride])


@settings(max_examples=60, deadline=None)
@given(
    n=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    k=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    padding=paddings,
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
)
def test_output_shape_equals_the_real_shape(n, k, padding, stride, dilation):
    options = dict(padding=padding, stride=stride, dilation=dilation)
    try:
        predicted = output_shape(n, k, **options)
    except ValueError:
        with pytest.raises(ValueError):
            convolve(np.zeros(n), np.ones(k), **options)
        return
    assert convolve(np.zeros(n), np.ones(k), **options).shape == predicted
    if padding == "same":
        assert predicted == tuple(-(-size // stride) for size in n)  # ceil(N / s)


def test_same_with_even_kernel_puts_the_odd_pixel_at_the_end():
    assert engine.resolve_padding("same", (4, 2)) == (1, 2, 0, 1)
    assert engine.resolve_padding("same", (3, 3), dilation=2) == (2, 2, 2, 2)


@pytest.mark.parametrize(
    ("border", "expected"),
    [
        ("constant", [9, 9, 9, 1, 2, 3, 4]),
        ("reflect", [4, 3, 2, 1, 2, 3, 4]),
        ("symmetric", [3, 2, 1, 1, 2, 3, 4]),
        ("edge", [1, 1, 1, 1, 2, 3, 4]),
        ("wrap", [2, 3, 4, 1, 2, 3, 4]),
    ],
)
def test_border_modes_fill_as_documented(border, expected):
    row = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert engine.pad(row, (0, 0, 3, 0), border, cval=9).tolist() == [expected]


def test_single_pixel_image_reflects_as_a_repeat():
    np.testing.assert_array_equal(convolve(np.array([[5.0]]), np.ones((3, 3))), [[45.0]])


def test_dilated_kernel_equals_kernel_with_zeros_between_taps():
    rng = np.random.default_rng(6)
    image = random_image(rng, (20, 20))
    kernel = rng.uniform(-1, 1, (3, 3))
    spread = np.zeros((5, 5))
    spread[::2, ::2] = kernel
    np.testing.assert_allclose(
        convolve(image, kernel, dilation=2, padding="valid"),
        convolve(image, spread, padding="valid"),
        **TOL,
    )


def test_plan_explains_formula_and_strategy():
    p = plan((6, 6), np.ones((3, 3)), padding=1, stride=2)
    assert p.output_shape == (3, 3)
    text = p.explain()
    assert "floor((6 + 1 + 1 - (1*(3-1)+1)) / 2) + 1 = floor(5 / 2) + 1 = 3" in text
    assert "strategy: separable" in text


def test_strategy_choice():
    rng = np.random.default_rng(7)
    assert engine.choose_strategy(np.ones((5, 5))) == "separable"
    assert engine.choose_strategy(rng.random((3, 3))) == "direct"
    assert engine.choose_strategy(rng.random((31, 31))) == "fft"
    # Stride makes direct cheaper, FFT not.
    assert engine.choose_strategy(rng.random((11, 11)), (4, 4)) == "direct"


def test_kernel_by_catalog_name():
    image = np.arange(25.0).reshape(5, 5)
    np.testing.assert_allclose(
        convolve(image, "gaussian3", padding="valid"),
        reference(image, np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16, padding="valid"),
        **TOL,
    )


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"stride": 0}, ValueError, "stride must be >= 1, got 0"),
        ({"stride": -2}, ValueError, "stride must be >= 1"),
        ({"stride": 1.5}, ValueError, "stride must be an integer"),
        ({"dilation": 0}, ValueError, "dilation must be >= 1"),
        ({"padding": -1}, ValueError, "padding must be >= 0, got -1"),
        ({"padding": (1, -1)}, ValueError, r"padding\[1\] must be >= 0"),
        ({"padding": (1, 1, 1)}, ValueError, "padding must be 'valid', 'same', an integer"),
        (
            {"padding": "full"},
            ValueError,
            "padding must be 'valid', 'same', an integer, py,px or top,bottom,left,right;"
            " got 'full'",
        ),
        (
            {"border": "bogus"},
            ValueError,
            "border must be one of constant, reflect, symmetric, edge, wrap; got 'bogus'",
        ),
        ({"cval": float("nan")}, ValueError, "cval must be finite"),
        ({"strategy": "gpu"}, ValueError, "strategy must be one of"),
    ],
)
def test_bad_options_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        convolve(np.zeros((5, 5)), np.ones((3, 3)), **kwargs)


def test_kernel_larger_than_padded_image_names_the_sizes():
    with pytest.raises(
        ValueError,
        match=r"kernel 7×7 \(dilated 13×13\) is larger than the "
        r"padded image 10×12",
    ):
        convolve(np.zeros((10, 12)), np.ones((7, 7)), padding="valid", dilation=2)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((0, 5)), "must be a non-empty 2-D"),
        (np.zeros(5), r"\(H, W, C\) array, got 1-D"),
        (np.zeros((2, 2, 2, 2)), "got 4-D"),
    ],
)
def test_bad_image_shapes_are_refused(image, message):
    with pytest.raises(ValueError, match=message):
        convolve(image, np.ones((1, 1)))


def test_non_numeric_images_are_refused():
    with pytest.raises(TypeError, match="image must hold real numbers"):
        convolve(np.zeros((3, 3), dtype=complex), np.ones((1, 1)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_kernel_is_refused(bad):
    kernel = np.ones((3, 3))
    kernel[1, 2] = bad
    with pytest.raises(ValueError, match=r"\[1\]\[2\]|\(1, 2\)"):
        convolve(np.zeros((5, 5)), kernel)


def test_three_d_kernel_with_wrong_depth_is_refused():
    with pytest.raises(ValueError, match="depth 2 needs an image with 2 channels, got 3"):
        convolve(np.zeros((5, 5, 3)), np.ones((3, 3, 2)))


def test_bank_of_2d_kernels_on_colour_is_refused():
    with pytest.raises(ValueError, match="needs a grayscale image"):
        convolve(np.zeros((5, 5, 3)), [np.ones((3, 3)), np.ones((3, 3))])


def test_bank_with_mixed_shapes_is_refused():
    with pytest.raises(ValueError, match="all must have one shape"):
        convolve(np.zeros((5, 5)), [np.ones((3, 3)), np.ones((5, 5))])


@pytest.mark.parametrize("channels", [None, 3])
def test_fft_tiles_agree_with_plain_loop(monkeypatch, channels):
    monkeypatch.setattr("imgfilter._compute.FFT_TILE", 16)
    rng = np.random.default_rng(8)
    image = random_image(rng, (45, 52) if channels is None else (45, 52, channels))
    kernel = rng.uniform(-1, 1, (7, 6))
    for options in ({}, {"stride": (2, 3), "dilation": (1, 2), "border": "wrap"}):
        expected = reference(
            image,
            kernel,
            **{
                **options,
                "stride": options.get("stride", (1, 1)),
                "dilation": options.get("dilation", (1, 1)),
            },
        )
        got = convolve(image, kernel, strategy="fft", **options)
        np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize(
    ("height", "band_rows", "min_rows"), [(1024, 341, 1), (7, 100, 1), (40, 5, 9)]
)
def test_bands_cover_the_rows_once(height, band_rows, min_rows):
    """Every row in exactly one band, none longer than ``band_bytes`` or ``min_rows`` asks."""
    from imgfilter import _compute

    seen = []
    _compute.in_bands(
        height,
        10,
        lambda r0, r1: seen.append((r0, r1)),
        band_bytes=band_rows * 10,
        min_rows=min_rows,
    )
    seen.sort()
    assert [r for r0, r1 in seen for r in range(r0, r1)] == list(range(height))
    assert max(r1 - r0 for r0, r1 in seen) == min(height, max(min_rows, band_rows))


def test_bands_run_on_the_caller_and_the_pool_at_most_one_a_core():
    """The calling thread takes bands too; three callers at once never run more bands
    at a time than there are cores (``--jobs`` shares the cores, it does not add)."""
    import threading
    import time

    from imgfilter import _compute

    lock, running, most, names = threading.Lock(), [0], [0], set()

    def band(r0: int, r1: int) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            names.add(threading.current_thread().name)
        time.sleep(0.005)
        with lock:
            running[0] -= 1

    def call() -> None:
        _compute.in_bands(24, 1 << 20, band, band_bytes=1 << 20)

    callers = [threading.Thread(target=call, name=f"caller{i}") for i in range(3)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    assert most[0] <= _compute.cores()
    assert any(name.startswith("caller") for name in names)
    if _compute.cores() > 1:
        assert any(name.startswith("imgfilter") for name in names)


def test_a_failing_band_is_raised_and_stops_the_bands_not_started():
    from imgfilter import _compute

    done = []

    def band(r0: int, r1: int) -> None:
        if r0 == 0:
            raise ValueError("band 0 failed")
        done.append(r0)

    with pytest.raises(ValueError, match="band 0 failed"):
        _compute.in_bands(64, 1 << 20, band, band_bytes=1 << 20)
    assert len(done) < 63  # the caller's own first band failed: the rest stopped early
