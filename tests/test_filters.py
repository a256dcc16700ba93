"""Everyday filters against scipy.ndimage, Pillow and their defining formulas."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from PIL import Image

import imgfilter as imf
from imgfilter.ops import filters

TOL = {"rtol": 1e-5, "atol": 2e-3}


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    return (rng.random((37, 29, 3)) * 255).astype(np.float32)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5])
def test_gaussian_matches_scipy_gaussian_filter(photo, sigma):
    expected = ndi.gaussian_filter(
        photo.astype(np.float64), (sigma, sigma, 0), mode="mirror", truncate=4.0
    )
    np.testing.assert_allclose(filters.gaussian(photo, sigma), expected, **TOL)


def test_gaussian_with_size_uses_that_window():
    impulse = np.zeros((9, 9))
    impulse[4, 4] = 1
    response = filters.gaussian(impulse, sigma=5, size=3, border="constant")
    assert np.count_nonzero(response) == 9
    assert response.sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("size", [1, 3, 5, (3, 5)])
def test_box_matches_scipy_uniform_filter(photo, size):
    sizes = (size, size) if isinstance(size, int) else size
    expected = ndi.uniform_filter(photo.astype(np.float64), sizes + (1,), mode="mirror")
    np.testing.assert_allclose(filters.box(photo, size), expected, **TOL)


@pytest.mark.parametrize("direction", ["x", "y"])
def test_sobel_components_match_scipy_correlate(photo, direction):
    kernel = imf.get_kernel(f"sobel-{direction}").matrix
    expected = ndi.correlate(photo.astype(np.float64), kernel[..., None], mode="mirror")
    np.testing.assert_allclose(filters.sobel(photo, direction), expected, **TOL)


@pytest.mark.parametrize("band_bytes", [1 << 20, 1000])  # one band; bands of a few rows
def test_sobel_magnitude_is_l2_of_components(photo, band_bytes, monkeypatch):
    monkeypatch.setattr(filters, "MAGNITUDE_BAND_BYTES", band_bytes)
    gx, gy = filters.sobel(photo, "x"), filters.sobel(photo, "y")
    np.testing.assert_allclose(filters.sobel(photo), np.hypot(gx, gy), **TOL)


def test_sobel_of_a_vertical_step_is_exact():
    step = np.zeros((5, 6))
    step[:, 3:] = 255
    assert filters.sobel(step, "x")[2].tolist() == [0, 0, 1020, 1020, 0, 0]
    assert filters.sobel(step, "y").tolist() == np.zeros((5, 6)).tolist()


@pytest.mark.parametrize(("kind", "name"), [(4, "laplacian"), (8, "laplacian8")])
def test_laplacian_matches_scipy_correlate(photo, kind, name):
    kernel = imf.get_kernel(name).matrix
    expected = ndi.correlate(photo.astype(np.float64), kernel[..., None], mode="mirror")
    np.testing.assert_allclose(filters.laplacian(photo, kind), expected, **TOL)


def test_sharpen_is_image_plus_laplacian(photo):
    np.testing.assert_allclose(filters.sharpen(photo), photo + filters.laplacian(photo), **TOL)


def test_unsharp_follows_its_formula(photo):
    blurred = filters.gaussian(photo, 2.0)
    expected = photo + 1.5 * (photo - blurred)
    np.testing.assert_allclose(filters.unsharp(photo, sigma=2.0, amount=1.5), expected, **TOL)


def test_unsharp_threshold_leaves_small_differences_alone(photo):
    detail = photo - filters.gaussian(photo, 1.0)
    result = filters.unsharp(photo, sigma=1.0, amount=2.0, threshold=20.0)
    small = np.abs(detail) < 20
    np.testing.assert_allclose(result[small], photo[small], **TOL)
    np.testing.assert_allclose(result[~small], (photo + 2 * detail)[~small], **TOL)


def test_grayscale_matches_pillow_luminance():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32)
    got = filters.grayscale(rgb.astype(np.float32))
    assert got.shape == (20, 30)
    assert np.abs(got - expected).max() <= 0.5 + 1e-3


def test_grayscale_keeps_gray_and_ignores_alpha():
    gray = np.full((2, 2), 9.0, dtype=np.float32)
    assert filters.grayscale(gray) is gray
    rgba = np.dstack([np.full((2, 2), 100.0)] * 3 + [np.zeros((2, 2))])
    np.testing.assert_allclose(filters.grayscale(rgba), 100.0, rtol=1e-6)


def test_relu_and_leaky_relu():
    x = np.array([[-4.0, 0.0, 3.0]])
    assert filters.relu(x).tolist() == [[0, 0, 3]]
    assert filters.leaky_relu(x, slope=0.25).tolist() == [[-1, 0, 3]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: filters.gaussian(x, 0), "sigma must be > 0, got 0"),
        (lambda x: filters.gaussian(x, -1), "sigma must be > 0, got -1"),
        (lambda x: filters.box(x, 0), "size must be >= 1, got 0"),
        (lambda x: filters.sobel(x, "z"), "direction must be one of x, y, magnitude; got 'z'"),
        (lambda x: filters.laplacian(x, 5), "kind must be one of 4, 8; got 5"),
        (lambda x: filters.unsharp(x, threshold=-1), "threshold must be >= 0"),
        (lambda x: filters.leaky_relu(x, slope=-1), "slope must be >= 0"),
        (lambda x: filters.grayscale(np.zeros((2, 2, 5))), "image needs 1-4 channels"),
    ],
)
def test_bad_parameters_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.zeros((5, 5)))
