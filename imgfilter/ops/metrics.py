"""Image quality metrics: PSNR and SSIM between two images on the 0-255 scale.

>>> import numpy as np
>>> a = np.zeros((16, 16)); b = a + 1
>>> round(psnr(a, b), 2)
48.13
>>> round(ssim(a, a), 6)
1.0
"""

from __future__ import annotations

import numpy as np

from imgfilter import engine
from imgfilter._checks import image_array, size_text

PEAK = 255.0
# Wang et al. (2004): an 11-tap Gaussian window of sigma 1.5 (truncated at 3.5 sigma).
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def psnr(a, b) -> float:
    """Peak signal-to-noise ratio in dB, peak 255: ``10 log10(255² / MSE)``; inf if equal.

    >>> psnr(np.full((2, 2), 10.0), np.full((2, 2), 10.0))
    inf
    """
    a, b = _pair(a, b)
    mse = float(np.mean(np.square(a - b)))
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(PEAK * PEAK / mse))


def ssim(a, b) -> float:
    """Structural similarity (Wang et al. 2004), averaged over the image and its channels.

    Local means, variances and covariance come from a Gaussian window (sigma 1.5,
    11 taps); K1 = 0.01, K2 = 0.03, data range 255. As scikit-image does, the
    mean leaves out the 5-pixel frame where the window would leave the image,
    so the result equals ``skimage.metrics.structural_similarity(a, b,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=255)`` (with ``channel_axis=-1`` for colour).

    Parameters
    ----------
    a, b : arrays of one shape (H, W) or (H, W, C), at least 11×11

    Returns
    -------
    float, 1.0 for identical images

    Examples
    --------
    >>> flat = np.full((11, 11), 100.0)
    >>> round(ssim(flat, flat + 10), 4)  # luminance term (2·100·110 + C1) / (100² + 110² + C1)
    0.9955
    """
    a, b = _pair(a, b)
    height, width = a.shape[:2]
    window = 2 * SSIM_RADIUS + 1
    if height < window or width < window:
        raise ValueError(
            f"ssim needs images of at least {window}×{window} pixels, got {height}×{width}"
        )
    # Centring on a's mean keeps float32 variances accurate (SSIM is computed from
    # differences of large squares otherwise); it shifts both means alike.
    shift = a.mean()
    x, y = (a - shift).astype(np.float32), (b - shift).astype(np.float32)
    taps = np.exp(-0.5 * (np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1) / SSIM_SIGMA) ** 2)
    taps /= taps.sum()
    inner = (slice(SSIM_RADIUS, height - SSIM_RADIUS), slice(SSIM_RADIUS, width - SSIM_RADIUS))

    def local_mean(image):
        return engine.correlate_separable(image, taps, taps)[inner].astype(np.float64)

    mx, my = local_mean(x), local_mean(y)
    vx = local_mean(x * x) - mx * mx
    vy = local_mean(y * y) - my * my
    cxy = local_mean(x * y) - mx * my
    mx += shift
    my += shift
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(index.mean())


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = image_array(a, "a"), image_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(
            "images must have the same shape to be compared,"
            f" got {size_text(a.shape)} and {size_text(b.shape)}"
        )
    return a.astype(np.float64), b.astype(np.float64)
