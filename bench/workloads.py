"""Issue 5's Python-API workloads: imgfilter and each competitor doing the same work.

Every competitor call below is written to compute what imgfilter computes: the
same kernel, cross-correlation (not convolution), numpy's ``reflect`` border
(OpenCV ``BORDER_REFLECT_101``, scipy ``mirror``), float32 in and out. Where a
library cannot do that, the ``note`` says how it differs and the check either
ignores the border pixels (``margin``) or is marked as an approximation.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from checks import Close, EdgeF1
from PIL import Image, ImageFilter
from scipy import ndimage as ndi


def _optional(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


cv2 = _optional("cv2")
skimage = _optional("skimage")
if skimage is not None:
    import skimage.feature
    import skimage.filters
    import skimage.measure
    import skimage.restoration

LIBRARIES = {"opencv": cv2, "scipy": ndi, "skimage": skimage, "pillow": Image}
REFLECT = cv2.BORDER_REFLECT_101 if cv2 is not None else None

EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64)
CANNY = {"sigma": 1.4, "low": 30.0, "high": 90.0}
BILATERAL = {"diameter": 9, "sigma_color": 25.0, "sigma_space": 2.0}


class Missing(Exception):
    """The imgfilter function a workload needs is not written yet."""


def imf(name: str) -> Callable:
    """``imgfilter.<name>``, or Missing if that module or function does not exist yet."""
    import imgfilter

    try:
        return getattr(imgfilter, name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("imgfilter"):
            raise Missing(f"module {exc.name} not found") from None
        raise
    except AttributeError:
        raise Missing(f"imgfilter.{name} not found") from None


@dataclass
class Impl:
    """One library's way to do a workload; ``run`` is the only part that is timed."""

    library: str
    run: Callable[[Any], Any]
    prepare: Callable[[np.ndarray], Any] = lambda x: x
    result: Callable[[Any], np.ndarray] = np.asarray
    check: Callable[[np.ndarray, np.ndarray], tuple[bool, str]] | None = None
    note: str = ""


@dataclass
class Workload:
    """A row of the table: imgfilter first, then its competitors, and the issue's targets.

    ``targets`` maps a competitor to the highest allowed imgfilter/competitor
    time ratio; ``relative`` = (other workload, limit) compares imgfilter with
    itself (stride 2 against stride 1). ``small`` rows run on the 1024² image too,
    ``tiny`` ones on the 256² image, timed per call over 50 calls in a row.
    """

    name: str
    image: str
    impls: list[Impl]
    targets: dict[str, float] = field(default_factory=dict)
    relative: tuple[str, float] | None = None
    small: bool = False
    tiny: bool = False


def gaussian_size(sigma: float) -> int:
    """The window imgfilter and scipy use: radius int(4 sigma + 0.5)."""
    return 2 * int(4 * sigma + 0.5) + 1


def dilate_kernel(kernel: np.ndarray, rate: int) -> np.ndarray:
    """The kernel with rate - 1 zeros between taps, for libraries without dilation."""
    kh, kw = kernel.shape
    out = np.zeros(((kh - 1) * rate + 1, (kw - 1) * rate + 1))
    out[::rate, ::rate] = kernel
    return out


def per_channel(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Apply a 2-D-only function to each channel (for functions that would mix channels)."""

    def run(x: np.ndarray) -> np.ndarray:
        if x.ndim == 2:
            return fn(x)
        out = np.empty(x.shape, dtype=np.float32)
        for c in range(x.shape[2]):
            out[..., c] = fn(x[..., c])
        return out

    return run


def to_pil(x: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(x), 0, 255).astype(np.uint8))


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def pillow_kernel(kernel: np.ndarray) -> ImageFilter.Kernel:
    # Pillow applies its kernel upside down (rows bottom-up): flip it so it correlates.
    return ImageFilter.Kernel(kernel.shape[::-1], kernel[::-1].ravel().tolist(), scale=1)


# --- competitors ----------------------------------------------------------------------


def cv_filter(kernel: np.ndarray) -> Callable:
    return lambda x: cv2.filter2D(x, -1, kernel, borderType=REFLECT)


def ndi_correlate(kernel: np.ndarray) -> Callable:
    return lambda x: ndi.correlate(x, kernel, mode="mirror", axes=(0, 1))


def sk_correlate(kernel: np.ndarray) -> Callable:
    kernel3 = kernel[:, :, None]
    return lambda x: skimage.filters.correlate_sparse(x, kernel3 if x.ndim == 3 else kernel)


def cv_gaussian(sigma: float, x: np.ndarray) -> np.ndarray:
    size = gaussian_size(sigma)
    return cv2.GaussianBlur(x, (size, size), sigma, sigma, borderType=REFLECT)


def ndi_gaussian(sigma: float, x: np.ndarray) -> np.ndarray:
    return ndi.gaussian_filter(x, sigma, mode="mirror", truncate=4.0, axes=(0, 1))


def sk_gaussian(sigma: float, x: np.ndarray) -> np.ndarray:
    channel_axis = -1 if x.ndim == 3 else None
    return skimage.filters.gaussian(
        x, sigma, mode="mirror", truncate=4.0, preserve_range=True, channel_axis=channel_axis
    )


def cv_sobel(x: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3, borderType=REFLECT)
    gy = cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3, borderType=REFLECT)
    return cv2.magnitude(gx, gy)


def ndi_sobel_2d(x: np.ndarray) -> np.ndarray:
    return np.hypot(ndi.sobel(x, axis=1, mode="mirror"), ndi.sobel(x, axis=0, mode="mirror"))


def cv_median(size: int) -> Callable:
    return lambda x: cv2.medianBlur(x, size)


def ndi_median(size: int) -> Callable:
    return lambda x: ndi.median_filter(x, size, mode="mirror", axes=(0, 1))


def sk_median(size: int) -> Callable:
    def run(x: np.ndarray) -> np.ndarray:
        footprint = np.ones((size, size) + (1,) * (x.ndim - 2), dtype=bool)
        return skimage.filters.median(x, footprint, mode="mirror")

    return run


def cv_unsharp(x: np.ndarray) -> np.ndarray:
    return cv2.addWeighted(x, 2.0, cv_gaussian(2.0, x), -1.0, 0.0)


def ndi_unsharp(x: np.ndarray) -> np.ndarray:
    return x + (x - ndi_gaussian(2.0, x))


def cv_canny(u8: np.ndarray) -> np.ndarray:
    size = gaussian_size(CANNY["sigma"])
    blurred = cv2.GaussianBlur(u8, (size, size), CANNY["sigma"], borderType=REFLECT)
    return cv2.Canny(blurred, CANNY["low"], CANNY["high"], L2gradient=True)


def sk_canny(x: np.ndarray) -> np.ndarray:
    return skimage.feature.canny(x, CANNY["sigma"], CANNY["low"], CANNY["high"], mode="mirror")


def cv_bilateral(x: np.ndarray) -> np.ndarray:
    b = BILATERAL
    return cv2.bilateralFilter(
        x, b["diameter"], b["sigma_color"], b["sigma_space"], borderType=REFLECT
    )


def sk_bilateral(x: np.ndarray) -> np.ndarray:
    b = BILATERAL
    return skimage.restoration.denoise_bilateral(
        x,
        b["diameter"],
        b["sigma_color"],
        b["sigma_space"],
        mode="reflect",
        channel_axis=2 if x.ndim == 3 else None,
    )


# --- the table ------------------------------------------------------------------------

EXACT = Close()
SUBSAMPLED = "filters at stride 1, then keeps every 2nd pixel (no strided filter)"
PILLOW_8BIT = "8-bit in and out (rounded, clipped)"


def random_kernel_workload(kernel: np.ndarray, wide) -> Workload:
    """A random (non-separable, FFT-sized) kernel: OpenCV's filter2D switches to the DFT too."""
    size = kernel.shape[0]
    return Workload(
        f"random {size}×{size}",
        "rgb",
        [
            Impl("imgfilter", lambda x: imf("convolve")(x, kernel)),
            Impl("opencv", cv_filter(kernel), check=wide, note="filter2D switches to the DFT"),
            Impl("scipy", ndi_correlate(kernel), check=wide),
            Impl(
                "skimage",
                sk_correlate(kernel),
                check=Close(rtol=2e-4, margin=size // 2),
                note="correlate_sparse; its border differs",
            ),
        ],
        {"opencv": 1.5, "scipy": 1, "skimage": 1},
    )


def convolution_rows(k15: np.ndarray, k31: np.ndarray) -> list[Workload]:
    wide = Close(rtol=2e-4)
    zeros = dilate_kernel(EMBOSS, 2)
    return [
        Workload(
            "3×3 kernel",
            "rgb",
            [
                Impl("imgfilter", lambda x: imf("convolve")(x, EMBOSS)),
                Impl("opencv", cv_filter(EMBOSS), check=EXACT),
                Impl("scipy", ndi_correlate(EMBOSS), check=EXACT),
                Impl(
                    "skimage",
                    sk_correlate(EMBOSS),
                    check=Close(margin=1),
                    note="correlate_sparse: one shifted slice per tap; its border differs",
                ),
                Impl(
                    "pillow",
                    lambda p: p.filter(pillow_kernel(EMBOSS)),
                    prepare=to_pil,
                    check=Close(atol=1, to_uint8=True, margin=1),
                    note=PILLOW_8BIT + "; leaves the 1-px border unfiltered",
                ),
            ],
            {"opencv": 3, "scipy": 1, "skimage": 1},
            small=True,
            tiny=True,
        ),
        Workload(
            "3×3 stride 2",
            "rgb",
            [
                Impl("imgfilter", lambda x: imf("convolve")(x, EMBOSS, stride=2)),
                Impl(
                    "opencv", lambda x: cv_filter(EMBOSS)(x)[::2, ::2], check=EXACT, note=SUBSAMPLED
                ),
                Impl(
                    "scipy",
                    lambda x: ndi_correlate(EMBOSS)(x)[::2, ::2],
                    check=EXACT,
                    note=SUBSAMPLED,
                ),
            ],
            {"scipy": 1},
            relative=("3×3 kernel", 0.35),
        ),
        Workload(
            "3×3 dilation 2",
            "rgb",
            [
                Impl("imgfilter", lambda x: imf("convolve")(x, EMBOSS, dilation=2)),
                Impl(
                    "opencv",
                    cv_filter(zeros),
                    check=EXACT,
                    note="5×5 kernel with zeros between the taps",
                ),
                Impl(
                    "scipy",
                    ndi_correlate(zeros),
                    check=EXACT,
                    note="5×5 kernel with zeros between the taps",
                ),
                Impl(
                    "skimage",
                    sk_correlate(zeros),
                    check=Close(margin=2),
                    note="correlate_sparse skips the zero taps; its border differs",
                ),
                Impl(
                    "pillow",
                    lambda p: p.filter(pillow_kernel(zeros)),
                    prepare=to_pil,
                    check=Close(atol=1, to_uint8=True, margin=2),
                    note=PILLOW_8BIT + "; 5×5 kernel with zeros; border unfiltered",
                ),
            ],
            {"opencv": 3, "scipy": 1, "skimage": 1},
        ),
        random_kernel_workload(k15, wide),
        random_kernel_workload(k31, wide),
    ]


def filter_rows() -> list[Workload]:
    rows = [
        Workload(
            "box 5×5",
            "rgb",
            [
                Impl("imgfilter", lambda x: imf("box")(x, 5)),
                Impl("opencv", lambda x: cv2.blur(x, (5, 5), borderType=REFLECT), check=EXACT),
                Impl(
                    "scipy",
                    lambda x: ndi.uniform_filter(x, 5, mode="mirror", axes=(0, 1)),
                    check=EXACT,
                ),
                Impl(
                    "pillow",
                    lambda p: p.filter(ImageFilter.BoxBlur(2)),
                    prepare=to_pil,
                    check=Close(atol=1, to_uint8=True, margin=2),
                    note=PILLOW_8BIT + "; repeats the edge pixel at the border",
                ),
            ],
            {"opencv": 3, "scipy": 1},
        ),
    ]
    for sigma in (2.0, 8.0):
        rows.append(
            Workload(
                f"gaussian σ={sigma:g}",
                "rgb",
                [
                    Impl("imgfilter", lambda x, s=sigma: imf("gaussian")(x, s)),
                    Impl(
                        "opencv",
                        lambda x, s=sigma: cv_gaussian(s, x),
                        check=EXACT,
                        note="window size set to scipy's truncate=4",
                    ),
                    Impl("scipy", lambda x, s=sigma: ndi_gaussian(s, x), check=EXACT),
                    Impl("skimage", lambda x, s=sigma: sk_gaussian(s, x), check=EXACT),
                    Impl(
                        "pillow",
                        lambda p, s=sigma: p.filter(ImageFilter.GaussianBlur(s)),
                        prepare=to_pil,
                        check=Close(to_uint8=True, margin=int(4 * sigma), approx=True),
                        note=PILLOW_8BIT + "; three box blurs approximate the Gaussian",
                    ),
                ],
                {"opencv": 3, "scipy": 0.2, "skimage": 1},
                small=sigma == 2.0,
                tiny=sigma == 2.0,
            )
        )
    rows += [
        Workload(
            "sobel magnitude",
            "rgb",
            [
                Impl("imgfilter", lambda x: imf("sobel")(x, "magnitude")),
                Impl("opencv", cv_sobel, check=EXACT),
                Impl(
                    "scipy",
                    per_channel(ndi_sobel_2d),
                    check=EXACT,
                    note="ndi.sobel per channel (on 3-D it would smooth across channels)",
                ),
                Impl(
                    "skimage",
                    per_channel(lambda c: skimage.filters.sobel(c, mode="mirror")),
                    check=Close(scale=4 * np.sqrt(2)),
                    note="per channel; its magnitude is scaled by 1/(4·√2)",
                ),
            ],
            {"opencv": 3, "scipy": 1, "skimage": 1},
            small=True,
        ),
        Workload(
            "laplacian",
            "rgb",
            [
                Impl("imgfilter", lambda x: imf("laplacian")(x)),
                Impl(
                    "opencv",
                    lambda x: cv2.Laplacian(x, cv2.CV_32F, ksize=1, borderType=REFLECT),
                    check=Close(scale=-1),
                    note="opposite sign (centre -4)",
                ),
                Impl(
                    "scipy",
                    lambda x: ndi.laplace(x, mode="mirror", axes=(0, 1)),
                    check=Close(scale=-1),
                    note="opposite sign (centre -4)",
                ),
                Impl(
                    "skimage",
                    per_channel(skimage.filters.laplace) if skimage else None,
                    check=Close(margin=1),
                    note="per channel; border fixed to scipy 'reflect'",
                ),
            ],
            {"opencv": 3, "scipy": 1, "skimage": 1},
        ),
        Workload(
            "unsharp σ=2",
            "rgb",
            [
                Impl("imgfilter", lambda x: imf("unsharp")(x, 2.0, 1.0)),
                Impl("opencv", cv_unsharp, check=EXACT, note="GaussianBlur + addWeighted"),
                Impl("scipy", ndi_unsharp, check=EXACT, note="gaussian_filter + numpy"),
                Impl(
                    "skimage",
                    lambda x: skimage.filters.unsharp_mask(
                        x, 2.0, 1.0, preserve_range=True, channel_axis=2
                    ),
                    check=Close(margin=8),
                    note="border fixed to scipy 'reflect'; channel_axis=2, "
                    "as -1 is broken in skimage 0.26 (it filters rows 0-2, the rest is garbage)",
                ),
                Impl(
                    "pillow",
                    lambda p: p.filter(ImageFilter.UnsharpMask(2, 100, 0)),
                    prepare=to_pil,
                    check=Close(to_uint8=True, margin=8, approx=True),
                    note=PILLOW_8BIT + "; box-approximated Gaussian",
                ),
            ],
            {"opencv": 3, "scipy": 1, "skimage": 1},
        ),
    ]
    return rows


def denoise_rows() -> list[Workload]:
    rows = []
    for size in (3, 5):
        rows.append(
            Workload(
                f"median {size}×{size}",
                "rgb",
                [
                    Impl("imgfilter", lambda x, n=size: imf("denoise")(x, "median", size=n)),
                    Impl(
                        "opencv",
                        cv_median(size),
                        check=Close(margin=size // 2),
                        note="repeats the edge pixel at the border",
                    ),
                    Impl("scipy", ndi_median(size), check=EXACT),
                    Impl("skimage", sk_median(size), check=EXACT, note="calls scipy.ndimage"),
                    Impl(
                        "pillow",
                        lambda p, n=size: p.filter(ImageFilter.MedianFilter(n)),
                        prepare=to_pil,
                        check=Close(atol=0.5, margin=size // 2),
                        note="8-bit; repeats the edge pixel at the border",
                    ),
                ],
                {"opencv": 10, "scipy": 1, "skimage": 1},
                small=size == 3,
            )
        )
    b = BILATERAL
    colour = "OpenCV's colour distance is the L1 sum over channels; imgfilter's the mean square"
    square = "square window (imgfilter and OpenCV: round); a 10000-bin range table"
    for image in ("rgb", "gray"):
        rows.append(
            Workload(
                "bilateral d=9" + (" gray" if image == "gray" else ""),
                image,
                [
                    Impl(
                        "imgfilter",
                        lambda x: imf("denoise")(
                            x,
                            "bilateral",
                            size=b["diameter"],
                            sigma=b["sigma_space"],
                            sigma_range=b["sigma_color"],
                        ),
                    ),
                    Impl(
                        "opencv",
                        cv_bilateral,
                        check=Close(atol=0.01, approx=image == "rgb"),
                        note=colour if image == "rgb" else "",
                    ),
                    Impl("skimage", sk_bilateral, check=Close(margin=4, approx=True), note=square),
                ],
                {"opencv": 10, "skimage": 1},
            )
        )
    return rows


def edge_and_pool_rows() -> list[Workload]:
    c = CANNY
    return [
        Workload(
            "canny",
            "gray",
            [
                Impl(
                    "imgfilter",
                    lambda x: imf("canny")(x, sigma=c["sigma"], low=c["low"], high=c["high"]),
                ),
                Impl(
                    "opencv",
                    cv_canny,
                    prepare=to_uint8,
                    check=EdgeF1(minimum=0.85),
                    note="GaussianBlur on 8 bits, then Canny (L2 gradient): it needs 8-bit input. "
                    "It also suppresses non-maxima along 4 quantised directions where imgfilter "
                    "interpolates: F1 about 0.9 on this grainy image, so the check asks 0.85",
                ),
                Impl("skimage", sk_canny, check=EdgeF1()),
            ],
            {"opencv": 5, "skimage": 1},
            small=True,
        ),
        Workload(
            "max-pool 2×2",
            "rgb",
            [
                Impl("imgfilter", lambda x: imf("pool")(x, 2, mode="max")),
                Impl(
                    "opencv",
                    lambda x: cv2.dilate(x, np.ones((2, 2), np.uint8), anchor=(0, 0))[::2, ::2],
                    check=EXACT,
                    note="dilate with a 2×2 window, then subsample",
                ),
                Impl(
                    "scipy",
                    lambda x: ndi.maximum_filter(x, 2, axes=(0, 1))[1::2, 1::2],
                    check=EXACT,
                    note="maximum_filter, then subsample",
                ),
                Impl(
                    "skimage",
                    lambda x: skimage.measure.block_reduce(x, (2, 2, 1)[: x.ndim], np.max),
                    check=EXACT,
                    note="block_reduce",
                ),
            ],
            {"scipy": 1, "skimage": 1},
        ),
    ]


def workloads() -> list[Workload]:
    """Every API row, in the table's order."""
    rng = np.random.default_rng(5)
    k15 = rng.standard_normal((15, 15)) / 15
    k31 = rng.standard_normal((31, 31)) / 31
    return convolution_rows(k15, k31) + filter_rows() + denoise_rows() + edge_and_pool_rows()
