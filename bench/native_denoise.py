"""Compiled median and bilateral against the numpy engine and OpenCV (not a test).

Runs each row at 4096² and 1024² (RGB, and gray for the bilateral): imgfilter with
the compiled kernels, imgfilter with ``IMGFILTER_PURE=1``, OpenCV on the same
float32 image (what ``bench/run.py`` compares) and on its uint8 copy; rounds
interleave the implementations, and each cell is the median of ``--runs`` runs.
The image is a photo from ``../shared/images`` resized with grain (or random values
when none is there), integral 0-255 values held as float32, as images read from
8-bit files are.

    python bench/native_denoise.py [--runs 5] [--sizes 4096 1024] [--pure-max 1024]

The numpy engine is slow on the large windows: ``--pure-max`` is the largest side
it runs at for median 11×11 (blank cells above it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

import imgfilter
from imgfilter import _native

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "images"
BILATERAL = {"size": 9, "sigma": 2.0, "sigma_range": 25.0}


def image(side: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    photo = PHOTOS / "astronaut.png"
    if photo.exists():
        picture = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
        smooth = cv2.resize(picture, (side, side), interpolation=cv2.INTER_CUBIC)
        grain = rng.normal(0, 8, smooth.shape)
        return np.clip(np.rint(smooth + grain), 0, 255).astype(np.float32)
    return rng.integers(0, 256, (side, side, 3)).astype(np.float32)


def pure(function):
    def run(x):
        os.environ[_native.PURE_VARIABLE] = "1"
        try:
            return function(x)
        finally:
            del os.environ[_native.PURE_VARIABLE]

    return run


def rows(pure_max: int, side: int):
    def cv_bilateral(x):
        return cv2.bilateralFilter(x, 9, 25.0, 2.0, borderType=cv2.BORDER_REFLECT_101)

    for size in (3, 5, 11):

        def ours(x, n=size):
            return imgfilter.denoise(x, "median", size=n)

        cells = {"compiled": ours, "numpy": pure(ours) if size < 11 or side <= pure_max else None}
        cells["opencv f32"] = (lambda x, n=size: cv2.medianBlur(x, n)) if size <= 5 else None
        cells["opencv u8"] = lambda x, n=size: cv2.medianBlur(x, n)
        yield f"median {size}×{size}", "rgb", cells
    for kind in ("gray", "rgb"):

        def ours(x):
            return imgfilter.denoise(x, "bilateral", **BILATERAL)

        cells = {"compiled": ours, "numpy": pure(ours), "opencv f32": cv_bilateral}
        cells["opencv u8"] = cv_bilateral
        yield f"bilateral d=9 {kind}", kind, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 1024])
    parser.add_argument("--pure-max", type=int, default=1024)
    args = parser.parse_args()
    print(f"engine: {_native.engine()}; cv2 {cv2.__version__}, {cv2.getNumThreads()} threads")
    print("median ms of", args.runs, "runs; ratio = compiled / OpenCV (f32 | u8 input)")
    for side in args.sizes:
        rgb = image(side)
        images = {"rgb": rgb, "gray": np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))}
        images["gray"] = np.rint(images["gray"]).astype(np.float32)
        for name, kind, cells in rows(args.pure_max, side):
            x = images[kind]
            inputs = {k: (x.astype(np.uint8) if k == "opencv u8" else x) for k in cells}
            live = {k: f for k, f in cells.items() if f is not None}
            for k, f in live.items():  # warm-up
                f(inputs[k])
            times = {k: [] for k in live}
            for _ in range(args.runs):
                for k, f in live.items():
                    start = time.perf_counter()
                    f(inputs[k])
                    times[k].append(time.perf_counter() - start)
            ms = {k: 1000 * statistics.median(v) for k, v in times.items()}
            text = "  ".join(f"{k} {ms[k]:8.1f}" if k in ms else f"{k} {'-':>8}" for k in cells)
            ratios = [
                f"{ms['compiled'] / ms[k]:.2f}x" for k in ("opencv f32", "opencv u8") if k in ms
            ]
            print(f"{side}² {name:22s} {text}  ratio {' | '.join(ratios)}")


if __name__ == "__main__":
    main()
