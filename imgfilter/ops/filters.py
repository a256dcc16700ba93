"""Everyday filters built on the engine: blur, edges, sharpening, colour and activation.

Each takes an image (H, W) or (H, W, C) on the 0-255 scale and returns float32
of the same size. Colour images are filtered per channel.

>>> import numpy as np
>>> step = np.zeros((4, 4)); step[:, 2:] = 255
>>> sobel(step, "x")[1]
array([   0., 1020., 1020.,    0.], dtype=float32)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imgfilter import engine
from imgfilter.choices import LAPLACIAN_KINDS, SOBEL_DIRECTIONS
from imgfilter.engine import BORDER, CVAL
from imgfilter.kernels import gaussian_1d, get_kernel
from imgfilter.params import MAX_SIGMA, MAX_WINDOW, Param, takes

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601-2, as Pillow's "L" mode
SIGMA = Param(
    "float",
    low=0,
    low_open=True,
    high=MAX_SIGMA,
    why="a standard deviation in pixels; at 1000 the Gaussian spans 8001 pixels",
)
"""A Gaussian standard deviation in pixels."""
WINDOW = Param(
    "pair", high=MAX_WINDOW, why="a window side; larger windows cost more than the image"
)
"""A window side, N or (h, w)."""


@takes(reads_bytes=True, sigma=SIGMA, size=replace(WINDOW, odd=True), border=BORDER, cval=CVAL)
def gaussian(
    image, sigma: float = 1.0, *, size=None, border: str = "reflect", cval: float = 0.0
) -> np.ndarray:
    """Gaussian blur: two 1-D passes of sampled, normalised Gaussian taps.

    ``size`` (odd, int or (h, w)) fixes the window; without it the radius is
    ``int(4 * sigma + 0.5)`` as in scipy.ndimage. An even size would shift the image
    by half a pixel and is refused, as OpenCV does (the ``gaussian`` kernel allows it).

    >>> float(gaussian(np.full((3, 3), 7.0), sigma=2)[1, 1].round(4))
    7.0
    """
    size_y, size_x = (None, None) if size is None else size
    col = gaussian_1d(sigma=sigma, size=size_y)
    row = gaussian_1d(sigma=sigma, size=size_x)
    return engine.separable_filter(image, col, row, border, cval)


@takes(reads_bytes=True, size=WINDOW, border=BORDER, cval=CVAL)
def box(image, size=3, *, border: str = "reflect", cval: float = 0.0) -> np.ndarray:
    """Mean over a ``size`` × ``size`` (or (h, w)) window.

    >>> box(np.array([[0.0, 9.0, 0.0]]), size=(1, 3), border="constant")
    array([[3., 3., 3.]], dtype=float32)
    """
    size_y, size_x = size
    return engine.separable_filter(
        image, np.full(size_y, 1.0 / size_y), np.full(size_x, 1.0 / size_x), border, cval
    )


MAGNITUDE_BAND_BYTES = 1 << 20  # 4096² RGB: 120 -> 98-103 ms against one whole-image pass each


@takes(direction=Param("choice", choices=SOBEL_DIRECTIONS), border=BORDER, cval=CVAL)
def sobel(
    image, direction: str = "magnitude", *, border: str = "reflect", cval: float = 0.0
) -> np.ndarray:
    """Sobel response: ``x`` (the catalog's sobel-x), ``y`` (sobel-y) or their L2 ``magnitude``.

    ``x`` and ``y`` are signed (map them with ``abs`` or ``minmax`` to save);
    the magnitude is ``sqrt(x² + y²)``.
    """
    options = {"border": border, "cval": cval}
    if direction != "magnitude":
        return engine.convolve(image, get_kernel(f"sobel-{direction}"), **options)
    gx = engine.convolve(image, get_kernel("sobel-x"), **options)
    gy = engine.convolve(image, get_kernel("sobel-y"), **options)

    def magnitude(r0: int, r1: int) -> None:
        # In place, without np.hypot's overflow guard (needless on the 0-255 scale): 2x
        # faster; a band at a time, so the four passes read the band from the cache.
        x, y = gx[r0:r1], gy[r0:r1]
        np.multiply(x, x, out=x)
        np.multiply(y, y, out=y)
        np.add(x, y, out=x)
        np.sqrt(x, out=x)

    engine.in_bands(gx.shape[0], gx[:1].nbytes, magnitude, band_bytes=MAGNITUDE_BAND_BYTES)
    return gx


@takes(reads_bytes=True, kind=Param("int", choices=LAPLACIAN_KINDS), border=BORDER, cval=CVAL)
def laplacian(image, kind: int = 4, *, border: str = "reflect", cval: float = 0.0) -> np.ndarray:
    """Laplacian with the 4-neighbour kernel (``kind=4``, centre +4) or 8-neighbour (``kind=8``).

    >>> laplacian(np.pad([[9.0]], 1), border="constant")
    array([[ 0., -9.,  0.],
           [-9., 36., -9.],
           [ 0., -9.,  0.]], dtype=float32)
    """
    name = "laplacian" if kind == 4 else "laplacian8"
    return engine.convolve(image, get_kernel(name), border=border, cval=cval)


@takes(reads_bytes=True, border=BORDER, cval=CVAL)
def sharpen(image, *, border: str = "reflect", cval: float = 0.0) -> np.ndarray:
    """The seeds' sharpening kernel [0 -1 0; -1 5 -1; 0 -1 0]: image plus its Laplacian."""
    return engine.convolve(image, get_kernel("sharpen"), border=border, cval=cval)


@takes(
    sigma=SIGMA,
    amount=Param("float", low=0, high=1e6, why="a multiple of the detail"),
    threshold=Param("float", low=0),
    border=BORDER,
)
def unsharp(
    image,
    sigma: float = 1.0,
    amount: float = 1.0,
    threshold: float = 0.0,
    *,
    border: str = "reflect",
) -> np.ndarray:
    """Unsharp mask: ``image + amount * (image - gaussian(image, sigma))``.

    Where ``|image - blurred|`` is below ``threshold`` (0-255 units) the pixel is
    left as it was, so flat noisy areas are not sharpened.

    >>> float(unsharp(np.full((3, 3), 50.0), sigma=1, amount=2)[1, 1].round(4))
    50.0
    """
    detail = image - gaussian(image, sigma, border=border)
    if threshold > 0:
        detail[np.abs(detail) < threshold] = 0
    detail *= np.float32(amount)
    return np.add(image, detail, out=detail)


@takes(reads_bytes=True)
def grayscale(image) -> np.ndarray:
    """Luminance ``0.299 R + 0.587 G + 0.114 B`` (ITU-R 601-2, Pillow's "L"), float32,
    of float32 or 8-bit pixels, computed a band of rows at a time (no full-size
    temporaries).

    A grayscale image is returned as it is (as float32); a 4th (alpha) channel is
    ignored.

    >>> grayscale(np.array([[[255.0, 0.0, 0.0]]])).round(3)
    array([[76.245]], dtype=float32)
    """
    if image.ndim == 2:
        return image.astype(np.float32, copy=False)
    if image.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"image needs 1-4 channels for grayscale, got shape {image.shape}")
    if image.shape[2] <= 2:
        return image[..., 0].astype(np.float32)
    gray = np.empty(image.shape[:2], np.float32)
    red, green, blue = (np.float32(weight) for weight in LUMA_WEIGHTS)

    def luma(r0: int, r1: int) -> None:  # (r*wr + g*wg) + b*wb, in float32, a band at a time
        band, out = image[r0:r1], gray[r0:r1]
        term = np.empty_like(out)
        np.multiply(band[..., 0], red, out=out)
        out += np.multiply(band[..., 1], green, out=term)
        out += np.multiply(band[..., 2], blue, out=term)

    engine.in_bands(len(gray), gray[:1].nbytes, luma)
    return gray


@takes()
def relu(image) -> np.ndarray:
    """max(x, 0), the CNN activation.

    >>> relu(np.array([[-2.0, 3.0]]))
    array([[0., 3.]], dtype=float32)
    """
    return np.maximum(image, np.float32(0))


@takes(slope=Param("float", low=0))
def leaky_relu(image, slope: float = 0.01) -> np.ndarray:
    """x where x > 0, else ``slope * x``.

    >>> leaky_relu(np.array([[-2.0, 3.0]]), slope=0.5)
    array([[-1.,  3.]], dtype=float32)
    """
    return np.where(image > 0, image, image * np.float32(slope))
