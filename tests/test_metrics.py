"""PSNR and SSIM against scikit-image and hand-worked values."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from imgfilter.ops.metrics import psnr, ssim

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / name), dtype=np.float64)[:200, :240]


def degraded(image: np.ndarray, noise: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, noise, image.shape), 0, 255)


def skimage_ssim(a, b):
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=-1 if a.ndim == 3 else None,
    )


@pytest.mark.parametrize("name", ["camera.png", "chelsea.png", "coins.png"])
@pytest.mark.parametrize("noise", [3, 25, 80])
def test_psnr_and_ssim_equal_skimage(name, noise):
    a = photo(name)
    b = degraded(a, noise)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-3)
    assert ssim(a, b) == pytest.approx(skimage_ssim(a, b), abs=1e-3)


def test_ssim_equals_skimage_on_uint8_and_float32_inputs():
    a = photo("camera.png").astype(np.uint8)
    b = degraded(a, 10).astype(np.uint8)
    expected = skimage_ssim(a, b)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-3)
    assert ssim(a.astype(np.float32), b.astype(np.float32)) == pytest.approx(expected, abs=1e-3)


def test_ssim_of_a_smallest_image_equals_skimage():
    rng = np.random.default_rng(1)
    a, b = rng.random((11, 13)) * 255, rng.random((11, 13)) * 255
    assert ssim(a, b) == pytest.approx(skimage_ssim(a, b), abs=1e-3)


def test_psnr_by_hand():
    a = np.zeros((4, 4))
    b = a.copy()
    b[0, 0] = 16  # MSE = 256 / 16 = 16
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 16))
    assert psnr(a, a) == float("inf")


def test_ssim_luminance_term_by_hand():
    # Flat images: no variance, so SSIM is the luminance term alone.
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert ssim(np.full((12, 12), 100.0), np.full((12, 12), 110.0)) == pytest.approx(expected)


def test_ssim_is_one_for_identical_images_and_symmetric():
    a = photo("coins.png")
    b = degraded(a, 15)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, b) == pytest.approx(ssim(b, a))
    assert ssim(a, degraded(a, 40)) < ssim(a, b) < 1


def test_different_shapes_are_a_clear_error_naming_both():
    with pytest.raises(ValueError, match="same shape .* got 16×16 and 16×17"):
        psnr(np.zeros((16, 16)), np.zeros((16, 17)))
    with pytest.raises(ValueError, match="got 16×16×3 and 16×16"):
        ssim(np.zeros((16, 16, 3)), np.zeros((16, 16)))


def test_ssim_refuses_images_smaller_than_its_window():
    with pytest.raises(ValueError, match="at least 11×11 pixels, got 10×30"):
        ssim(np.zeros((10, 30)), np.zeros((10, 30)))


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((0, 3)), np.zeros((2, 2, 2, 2))])
def test_bad_shapes_are_refused(bad):
    with pytest.raises(ValueError, match="must be a non-empty"):
        psnr(bad, bad)


def test_non_numeric_input_is_refused():
    with pytest.raises(TypeError, match="real numbers"):
        psnr(np.array([["a"]]), np.array([["b"]]))
