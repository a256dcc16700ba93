"""Compiled Canny and pooling against the numpy engine and OpenCV, at 4096² and 1024².

    python bench/native_canny_pool.py [--sizes 4096 1024] [--repeats 5]

The image is the benchmark's (bench/run.py): the sample photo upscaled with mild
seeded grain, 8-bit values; gray for Canny, RGB float32 for pooling. Each row
times its columns round-robin after one warm-up call each and prints medians (ms)
and the ratios compiled / OpenCV and compiled / numpy. ``numpy`` is the same
public call with IMGFILTER_PURE=1. Every row checks first that compiled and numpy
results are identical.

What each column computes:

- canny (σ=1.4, 30/90): imgfilter smooths in float32 and interpolates the
  suppression between neighbours; OpenCV blurs 8-bit data (GaussianBlur, same
  window) and suppresses along 4 quantised directions (Canny, L2 gradient).
- canny σ=0 on the blurred image: both start from OpenCV's 8-bit blurred image,
  so the row isolates the gradient, suppression and hysteresis.
- canny auto: median-based automatic thresholds (no OpenCV counterpart).
- max-pool 2×2: OpenCV ``dilate`` with a 2×2 window anchored at (0, 0), then a
  [::2, ::2] view (it computes every full-resolution maximum, then skips 3 of 4);
  numpy: a reshape to (H/2, 2, W/2, 2, C) and max over the window axes.
- avg-pool 2×2: OpenCV ``resize`` by INTER_AREA to half size (the 2×2 mean).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import imgfilter  # noqa: E402
from imgfilter import _native  # noqa: E402

PHOTO = REPO / "samples" / "rocket.jpg"
SIGMA, LOW, HIGH = 1.4, 30.0, 90.0


def images(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(gray uint8, RGB float32) n × n, as bench/run.py builds them."""
    with Image.open(PHOTO) as photo:
        smooth = np.asarray(photo.convert("RGB").resize((n, n), Image.Resampling.BICUBIC))
    grain = np.random.default_rng(0).normal(0.0, 2.0, smooth.shape)
    rgb = np.clip(np.rint(smooth + grain), 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(rgb).convert("L")), rgb.astype(np.float32)


def pure(function):
    """``function`` run with IMGFILTER_PURE=1 (the numpy engine)."""

    def run(*args, **kwargs):
        os.environ[_native.PURE_VARIABLE] = "1"
        try:
            return function(*args, **kwargs)
        finally:
            del os.environ[_native.PURE_VARIABLE]

    return run


def timed(columns: dict, repeats: int) -> dict[str, float]:
    """Median milliseconds of each column, timed round-robin after a warm-up."""
    for run in columns.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(repeats):
        for name, run in columns.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def rows(n: int) -> list[tuple[str, dict, dict]]:
    """(name, {column: call}, {"compiled": ..., "numpy": ...} results) per row."""
    gray, rgb = images(n)
    size = 2 * int(4 * SIGMA + 0.5) + 1
    blurred = cv2.GaussianBlur(gray, (size, size), SIGMA, borderType=cv2.BORDER_REFLECT_101)
    k2 = np.ones((2, 2), np.uint8)
    table = []

    def canny(image, sigma, **kw):
        return lambda: imgfilter.canny(image, sigma, **kw)

    given = {"low": LOW, "high": HIGH}
    table.append(
        (
            f"canny σ={SIGMA} {LOW:g}/{HIGH:g}",
            {
                "compiled": canny(gray, SIGMA, **given),
                "numpy": pure(canny(gray, SIGMA, **given)),
                "opencv": lambda: cv2.Canny(
                    cv2.GaussianBlur(gray, (size, size), SIGMA, borderType=cv2.BORDER_REFLECT_101),
                    LOW,
                    HIGH,
                    L2gradient=True,
                ),
            },
        )
    )
    table.append(
        (
            "canny σ=0 on the blurred 8-bit image",
            {
                "compiled": canny(blurred, 0, **given),
                "numpy": pure(canny(blurred, 0, **given)),
                "opencv": lambda: cv2.Canny(blurred, LOW, HIGH, L2gradient=True),
            },
        )
    )
    table.append(
        (
            f"canny σ={SIGMA} automatic thresholds",
            {"compiled": canny(gray, SIGMA), "numpy": pure(canny(gray, SIGMA))},
        )
    )
    half = (n // 2, n // 2)
    table.append(
        (
            "max-pool 2×2 RGB",
            {
                "compiled": lambda: imgfilter.pool(rgb, 2, mode="max"),
                "numpy": pure(lambda: imgfilter.pool(rgb, 2, mode="max")),
                "opencv": lambda: cv2.dilate(rgb, k2, anchor=(0, 0))[::2, ::2],
                "numpy reshape": lambda: rgb.reshape(n // 2, 2, n // 2, 2, 3).max(axis=(1, 3)),
            },
        )
    )
    table.append(
        (
            "avg-pool 2×2 RGB",
            {
                "compiled": lambda: imgfilter.pool(rgb, 2, mode="avg"),
                "numpy": pure(lambda: imgfilter.pool(rgb, 2, mode="avg")),
                "opencv": lambda: cv2.resize(rgb, half, interpolation=cv2.INTER_AREA),
            },
        )
    )
    table.append(
        (
            "max-pool 3×3 stride 2, same padding, RGB",
            {
                "compiled": lambda: imgfilter.pool(rgb, 3, 2, padding="same"),
                "numpy": pure(lambda: imgfilter.pool(rgb, 3, 2, padding="same")),
                "opencv": lambda: cv2.dilate(rgb, np.ones((3, 3), np.uint8))[::2, ::2],
            },
        )
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"engine: {_native.engine()}; cv2 {cv2.__version__}, {cv2.getNumThreads()} threads")
    print(
        f"{'row':44} {'size':>5} " + " ".join(f"{c:>14}" for c in ("compiled", "numpy", "opencv"))
    )
    for n in args.sizes:
        for name, columns in rows(n):
            same = np.array_equal(columns["compiled"](), columns["numpy"](), equal_nan=True)
            times = timed(columns, args.repeats)
            cells = [f"{times['compiled']:9.1f} ms", f"{times['numpy']:9.1f} ms"]
            if "opencv" in times:
                cells.append(f"{times['opencv']:9.1f} ms")
            ratios = f"  compiled/numpy {times['compiled'] / times['numpy']:.2f}"
            if "opencv" in times:
                ratios += f", compiled/opencv {times['compiled'] / times['opencv']:.2f}"
            if "numpy reshape" in times:
                ratios += f", numpy reshape {times['numpy reshape']:.1f} ms"
            flag = "" if same else "  MISMATCH compiled vs numpy"
            print(f"{name:44} {n:5} " + " ".join(f"{c:>14}" for c in cells) + ratios + flag)


if __name__ == "__main__":
    main()
