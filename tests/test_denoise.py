"""Denoising filters against OpenCV, scipy.ndimage and plain loops; synthetic noise."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

from imgfilter.ops.denoise import bilateral, denoise, median, nl_means
from imgfilter.ops.metrics import psnr
from imgfilter.ops.noise import add_noise

REPO = Path(__file__).resolve().parent.parent
CAMERA = REPO / "samples" / "camera.png"


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 256×256 crop of the camera photo, float32 0-255."""
    return np.asarray(Image.open(CAMERA).convert("L"), dtype=np.float32)[128:384, 128:384]


# --- median --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.sampled_from([1, 3, 5, 7, 9, 11, 13]),
    height=st.integers(1, 14),
    width=st.integers(1, 14),
    channels=st.sampled_from([0, 3]),
    integral=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_median_equals_scipy_median_filter(size, height, width, channels, integral, seed):
    rng = np.random.default_rng(seed)
    shape = (height, width) + ((channels,) if channels else ())
    image = rng.integers(0, 256, shape) if integral else rng.normal(100, 80, shape)
    image = image.astype(np.float32)
    window = (size, size) + (1,) * (image.ndim - 2)
    expected = ndimage.median_filter(image, size=window, mode="mirror")  # numpy's reflect
    result = median(image, size)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("border, mode", [("edge", "nearest"), ("constant", "constant")])
def test_median_border_modes_match_scipy(border, mode):
    image = np.random.default_rng(4).integers(0, 256, (9, 12)).astype(np.float32)
    expected = ndimage.median_filter(image, size=5, mode=mode)
    np.testing.assert_array_equal(denoise(image, "median", size=5, border=border), expected)


@pytest.mark.parametrize("fraction", [0.05, 0.10])
@pytest.mark.parametrize("size", [3, 5])
def test_median_on_salt_and_pepper_reaches_opencv_median_blur_psnr(photo, fraction, size):
    noisy = add_noise(photo, "salt-and-pepper", amount=fraction, seed=7)
    ours = psnr(denoise(noisy, "median", size=size), photo)
    opencv = psnr(cv2.medianBlur(noisy.astype(np.uint8), size).astype(np.float32), photo)
    assert ours >= opencv - 0.2
    assert ours > psnr(noisy, photo) + 5


@pytest.mark.parametrize(
    "method, params",
    [
        ("mean", {}),
        ("gaussian", {"sigma": 1.0}),
        ("bilateral", {"sigma": 2.0, "sigma_range": 40.0}),
        ("nlm", {"h": 20.0}),
        ("median", {}),
    ],
)
def test_each_method_raises_psnr_on_gaussian_noise(photo, method, params):
    noisy = add_noise(photo, "gaussian", amount=20, seed=1)
    before = psnr(noisy, photo)
    after = psnr(denoise(noisy, method, **params), photo)
    assert after > before + 2


# --- mean and gaussian ---------------------------------------------------------------


def test_mean_is_the_window_average():
    image = np.random.default_rng(2).random((10, 11, 3)).astype(np.float32) * 255
    expected = ndimage.uniform_filter(image, size=(5, 5, 1), mode="mirror")
    np.testing.assert_allclose(denoise(image, "mean", size=5), expected, atol=1e-3)


def test_gaussian_matches_scipy_gaussian_filter():
    image = np.random.default_rng(3).random((20, 17)).astype(np.float32) * 255
    expected = ndimage.gaussian_filter(image.astype(np.float64), 1.5, mode="mirror", truncate=4)
    np.testing.assert_allclose(denoise(image, "gaussian", sigma=1.5), expected, atol=1e-3)


# --- bilateral -----------------------------------------------------------------------


def test_bilateral_matches_opencv_on_grayscale(photo):
    for sigma, sigma_range, size in [(2.0, 30.0, None), (3.0, 50.0, 9)]:
        expected = cv2.bilateralFilter(photo, size or -1, sigma_range, sigma)
        result = bilateral(photo, sigma, sigma_range, size)
        np.testing.assert_allclose(result, expected, atol=2e-3)


def reference_weighted_mean(image, pad, offsets, weight):
    """Per-pixel loop: sum over offsets of weight(p, q) * image[q] / sum of weights."""
    padded = np.pad(
        image.astype(np.float64),
        [(pad, pad), (pad, pad)] + [(0, 0)] * (image.ndim - 2),
        mode="reflect",
    )
    out = np.zeros(image.shape, dtype=np.float64)
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            py, px = y + pad, x + pad
            total = weights = 0.0
            for dy, dx in offsets:
                w = weight(padded, (py, px), (py + dy, px + dx))
                total = total + w * padded[py + dy, px + dx]
                weights += w
            out[y, x] = total / weights
    return out


def test_colour_bilateral_weighs_the_euclidean_colour_distance():
    image = np.random.default_rng(5).integers(0, 256, (6, 7, 3)).astype(np.float32)
    sigma, sigma_range, radius = 1.5, 60.0, 2
    offsets = [
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy * dy + dx * dx <= radius * radius
    ]

    def weight(padded, p, q):
        space = ((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) / (2 * sigma**2)
        colour = np.sum((padded[p] - padded[q]) ** 2) / 3 / (2 * sigma_range**2)
        return np.exp(-space - colour)

    expected = reference_weighted_mean(image, radius, offsets, weight)
    result = bilateral(image, sigma, sigma_range, size=5)
    np.testing.assert_allclose(result, expected, atol=1e-3)


def test_bilateral_keeps_a_step_edge():
    step = np.zeros((10, 12), dtype=np.float32)
    step[:, 6:] = 200
    result = bilateral(step, sigma=3, sigma_range=20)
    np.testing.assert_allclose(result, step, atol=1e-3)


# --- non-local means -----------------------------------------------------------------


def test_nl_means_equals_a_per_pixel_loop():
    image = np.random.default_rng(6).integers(0, 256, (7, 9)).astype(np.float32)
    h, patch, search = 40.0, 3, 5
    r, pr = search // 2, patch // 2
    offsets = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)]

    def weight(padded, p, q):
        a = padded[p[0] - pr : p[0] + pr + 1, p[1] - pr : p[1] + pr + 1]
        b = padded[q[0] - pr : q[0] + pr + 1, q[1] - pr : q[1] + pr + 1]
        return np.exp(-np.mean((a - b) ** 2) / h**2)

    expected = reference_weighted_mean(image, r + pr, offsets, weight)
    result = nl_means(image, h=h, patch=patch, search=search)
    np.testing.assert_allclose(result, expected, atol=1e-3)


def test_nl_means_of_a_colour_image_keeps_its_shape():
    image = np.random.default_rng(8).random((12, 10, 3)).astype(np.float32) * 255
    result = denoise(image, "nlm", patch=3, search=5)
    assert result.shape == image.shape and result.dtype == np.float32


# --- add_noise -----------------------------------------------------------------------


def test_noise_is_reproducible_with_a_seed():
    image = np.full((20, 30, 3), 128.0)
    for kind in ("gaussian", "salt-and-pepper"):
        first = add_noise(image, kind, seed=11)
        assert np.array_equal(first, add_noise(image, kind, seed=11))
        assert not np.array_equal(first, add_noise(image, kind, seed=12))


def test_salt_and_pepper_changes_exactly_the_fraction_of_pixels_all_channels_alike():
    image = np.full((40, 50, 3), 128.0)
    noisy = add_noise(image, "salt-and-pepper", amount=0.1, seed=0)
    changed = (noisy != 128).any(axis=2)
    assert changed.sum() == 200
    assert np.isin(noisy[changed], [0, 255]).all()
    assert (noisy[changed] == noisy[changed][:, :1]).all()  # salt and pepper are grey
    salt = (noisy[..., 0] == 255).sum()
    assert 60 < salt < 140


def test_gaussian_noise_has_the_requested_sigma_and_is_clipped():
    noisy = add_noise(np.full((200, 200), 128.0), "gaussian", amount=10, seed=0)
    assert abs(float(noisy.std()) - 10) < 0.3
    assert abs(float(noisy.mean()) - 128) < 0.3
    bright = add_noise(np.full((50, 50), 250.0), "gaussian", amount=30, seed=0)
    assert bright.max() == 255 and bright.min() >= 0
    assert bright.dtype == np.float32


def test_zero_amount_leaves_the_image_unchanged():
    image = np.random.default_rng(0).random((5, 6)).astype(np.float32) * 255
    assert np.array_equal(add_noise(image, "gaussian", 0, seed=1), image)
    assert np.array_equal(add_noise(image, "salt-and-pepper", 0, seed=1), image)


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, params, error, message",
    [
        ("median", {"size": 4}, ValueError, "size must be odd .* got 4"),
        ("median", {"size": 0}, ValueError, "size must be >= 1, got 0"),
        ("median", {"size": -3}, ValueError, "size must be >= 1, got -3"),
        ("median", {"size": 2.5}, ValueError, "size must be an integer"),
        ("gaussian", {"sigma": -1}, ValueError, "sigma must be > 0, got -1.0"),
        ("bilateral", {"sigma_range": 0}, ValueError, "sigma_range must be > 0"),
        ("bilateral", {"size": 6}, ValueError, "size must be odd"),
        ("nlm", {"h": -2}, ValueError, "h must be > 0"),
        ("nlm", {"patch": 4}, ValueError, "patch must be odd"),
        ("median", {"sigma": 2}, ValueError, "'median' takes size, border; got sigma=2"),
        ("wiener", {}, ValueError, "method must be one of mean, median, gaussian"),
        ("median", {"border": "mirror"}, ValueError, "border must be one of"),
        ("mean", {"size": "big"}, ValueError, "size must be an integer, got .big."),
    ],
)
def test_bad_denoise_arguments_are_refused(method, params, error, message):
    with pytest.raises(error, match=message):
        denoise(np.zeros((8, 8)), method, **params)


@pytest.mark.parametrize(
    "kind, amount, message",
    [
        ("salt-and-pepper", 1.5, r"amount must be in \[0, 1\], got 1.5"),
        ("salt-and-pepper", -0.1, "amount must be >= 0, got -0.1"),
        ("gaussian", -3, "amount must be >= 0, got -3.0"),
        ("speckle", 0.1, "kind must be one of gaussian, salt-and-pepper"),
    ],
)
def test_bad_noise_arguments_are_refused(kind, amount, message):
    with pytest.raises(ValueError, match=message):
        add_noise(np.zeros((4, 4)), kind, amount)


@pytest.mark.parametrize("image", [np.zeros(5), np.zeros((3, 0)), np.zeros((2, 2, 2, 2))])
def test_bad_images_are_refused(image):
    with pytest.raises(ValueError, match="image must be"):
        denoise(image, "median")
    with pytest.raises(ValueError, match="image must be"):
        add_noise(image, "gaussian")


def test_median_bands_mixing_integer_and_float_values_stay_exact(monkeypatch):
    import imgfilter.ops.denoise as module

    monkeypatch.setattr(module, "MEDIAN_WORKING_SET", 1600)  # bands of one row
    rng = np.random.default_rng(9)
    image = rng.integers(0, 256, (40, 16)).astype(np.float32)
    image[20:] += 0.5
    expected = ndimage.median_filter(image, size=5, mode="mirror")
    np.testing.assert_array_equal(median(image, 5), expected)
